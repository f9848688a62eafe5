package sync_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowsync/flowsync/export"
	"github.com/flowsync/flowsync/internal/emulator/seed"
	"github.com/flowsync/flowsync/internal/testgit"
	"github.com/flowsync/flowsync/repo"
	fsync "github.com/flowsync/flowsync/sync"
)

// TestBackupExportsPushesAndKeepsLinks: the nightly job commits and
// pushes; an import's links, committed beside it, survive the next backup
// and reach the remote.
func TestBackupExportsPushesAndKeepsLinks(t *testing.T) {
	ctx := context.Background()
	e := startEmu(t, nil)
	remote := filepath.Join(t.TempDir(), "remote.git")
	testgit.Run(t, "", "init", "-q", "--bare", "-b", "main", remote)
	rp := openRepo(t, false)
	backup := func() *fsync.BackupResult {
		t.Helper()
		res, err := e.engine(rp).Backup(ctx, fsync.BackupOptions{
			Options: export.Options{Envs: []string{string(seed.DemoEnvDev)}, Author: testAuthor(), Now: func() time.Time { return fixedWhen }},
			Admin:   true,
			Push:    &repo.PushOptions{Remote: "file://" + remote},
		})
		if err != nil {
			t.Fatalf("backup: %v", err)
		}
		return res
	}
	first := backup()
	if !first.Committed || first.Pushed == nil || first.Pushed.Commit.String() != first.Commit {
		t.Fatalf("first backup: committed %v, pushed %+v", first.Committed, first.Pushed)
	}
	e.promote(rp, devToProd(devProdMap(t)))
	// Nothing changed in Dev: no commit, but the links commits are pushed.
	second := backup()
	if second.Committed {
		t.Errorf("an unchanged environment made a commit")
	}
	head, _ := rp.Head(ctx, "main")
	if got := strings.TrimSpace(testgit.Run(t, remote, "rev-parse", "main")); got != head.String() {
		t.Errorf("remote main = %s, want the local head %s with the links", got, head)
	}
	files := testgit.Run(t, remote, "ls-tree", "-r", "--name-only", "main")
	if !strings.Contains(files, "links/"+string(seed.DemoEnvDev)+"/"+string(seed.DemoEnvProd)+".json") {
		t.Errorf("the remote has no links file:\n%s", files)
	}
	testgit.FsckStrict(t, remote)

	// A push that cannot reach its remote keeps the commit and says so.
	_, err := e.engine(rp).Backup(ctx, fsync.BackupOptions{
		Options: export.Options{Envs: []string{string(seed.DemoEnvDev)}, Author: testAuthor()},
		Admin:   true,
		Push:    &repo.PushOptions{Remote: "file://" + filepath.Join(t.TempDir(), "missing.git")},
	})
	if !errors.Is(err, fsync.ErrPush) {
		t.Errorf("unreachable remote: err = %v, want ErrPush", err)
	}
}
