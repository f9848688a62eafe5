package repo

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowsync/flowsync/internal/testgit"
	"github.com/go-git/go-git/v5/plumbing"
)

func TestFirstParentLogMatchesGit(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "r")
	r := openRepo(t, dir, OpenOptions{})
	commitFiles(t, r, nil, map[string]string{"a": "1"}, "one")
	commitFiles(t, r, nil, map[string]string{"a": "2"}, "two")
	// A side branch merged by hand: the first-parent walk must not enter it.
	testgit.Run(t, dir, "checkout", "-q", "-b", "side")
	writeFile(t, filepath.Join(dir, "b"), "side\n")
	testgit.Run(t, dir, "add", "b")
	testgit.Run(t, dir, "commit", "-q", "-m", "side work")
	testgit.Run(t, dir, "checkout", "-q", "main")
	commitFiles(t, r, nil, map[string]string{"a": "3"}, "three")
	testgit.Run(t, dir, "merge", "-q", "--no-ff", "-m", "merge side", "side")
	commitFiles(t, r, nil, map[string]string{"a": "4"}, "four")

	head, err := r.Head(ctx, "main")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	var subjects []string
	if err := r.FirstParentLog(ctx, head, func(c CommitInfo) error {
		got = append(got, c.Hash.String())
		subjects = append(subjects, strings.TrimSpace(c.Message))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := strings.Fields(testgit.Run(t, dir, "rev-list", "--first-parent", "main"))
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("walk = %v\ngit rev-list --first-parent = %v", got, want)
	}
	if wantSubjects := "four|merge side|three|two|one"; strings.Join(subjects, "|") != wantSubjects {
		t.Errorf("subjects = %q, want %q", strings.Join(subjects, "|"), wantSubjects)
	}

	c, err := r.Commit(ctx, head)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Committer.When.Equal(fixedTime) || c.Author.Name != "Flow Sync" || len(c.Parents) != 1 {
		t.Errorf("commit info = %+v", c)
	}
	merge, err := r.Commit(ctx, c.FirstParent())
	if err != nil {
		t.Fatal(err)
	}
	if len(merge.Parents) != 2 {
		t.Errorf("merge has %d parents, want 2", len(merge.Parents))
	}
}

func TestFirstParentLogStops(t *testing.T) {
	ctx := context.Background()
	r := openRepo(t, filepath.Join(t.TempDir(), "r"), OpenOptions{Bare: true})
	for _, v := range []string{"1", "2", "3"} {
		commitFiles(t, r, nil, map[string]string{"a": v}, "c"+v)
	}
	head, err := r.Head(ctx, "main")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	err = r.FirstParentLog(ctx, head, func(CommitInfo) error {
		n++
		if n == 2 {
			return ErrStopWalk
		}
		return nil
	})
	if err != nil || n != 2 {
		t.Fatalf("stopped walk: %d commits, err %v; want 2, nil", n, err)
	}
	boom := errors.New("boom")
	if err := r.FirstParentLog(ctx, head, func(CommitInfo) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("callback error = %v, want boom", err)
	}
	if err := r.FirstParentLog(ctx, plumbing.ZeroHash, func(CommitInfo) error { t.Error("called for zero"); return nil }); err != nil {
		t.Error(err)
	}
	if _, err := r.Commit(ctx, plumbing.NewHash("0123456789012345678901234567890123456789")); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown commit: %v, want ErrNotFound", err)
	}
}
