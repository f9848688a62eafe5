package repo

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowsync/flowsync/internal/testgit"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/google/go-cmp/cmp"
)

// TestUnpushedRebuilder: a commit that never reached the remote (its push
// failed) is brought onto a remote that moved by a later run that committed
// nothing itself: its environment directory, deletions included, comes as
// at the local tip, the other environment as on the remote.
func TestUnpushedRebuilder(t *testing.T) {
	ctx := context.Background()
	remote := newBareRemote(t)
	dir := t.TempDir()
	a := openRepo(t, dir, OpenOptions{})
	commitFiles(t, a, nil, map[string]string{
		"flowsync.json": "v1", "environments/a/x.json": "1", "environments/a/z.json": "z",
	}, "first")
	if _, err := a.Push(ctx, PushOptions{Remote: remote, Branch: "main"}); err != nil {
		t.Fatal(err)
	}

	// Another job, from its own clone, pushes environment b and touches
	// environment a too (its version of a must lose: a is this job's).
	other := filepath.Join(t.TempDir(), "other")
	testgit.Run(t, filepath.Dir(other), "clone", "-q", remote, other)
	b := openRepo(t, other, OpenOptions{})
	commitFiles(t, b, nil, map[string]string{"environments/b/y.json": "1", "environments/a/w.json": "theirs"}, "other job")
	if _, err := b.Push(ctx, PushOptions{Remote: remote, Branch: "main"}); err != nil {
		t.Fatal(err)
	}
	otherTip := strings.TrimSpace(testgit.Run(t, remote, "rev-parse", "main"))

	// This job commits a change to a (x changed, z removed) but its push
	// never happens; a later run has nothing new to commit.
	commitFiles(t, a, []string{"environments/a"}, map[string]string{"environments/a/x.json": "2"}, "second")
	if _, err := a.Push(ctx, PushOptions{Remote: remote, Branch: "main"}); !errors.Is(err, ErrPushRejected) {
		t.Fatalf("push without a rebuild: %v, want ErrPushRejected", err)
	}

	pr, err := a.Push(ctx, PushOptions{Remote: remote, Branch: "main",
		Rebuild: a.UnpushedRebuilder("main", 2, commitOpts("replay of unpushed exports"))})
	if err != nil {
		t.Fatal(err)
	}
	if pr.Rebuilds != 1 {
		t.Errorf("push result %+v, want one rebuild", pr)
	}
	head, err := a.Head(ctx, "main")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(testgit.Run(t, remote, "rev-parse", "main")); got != head.String() {
		t.Errorf("remote main = %s, local %s", got, head)
	}
	if got := strings.TrimSpace(testgit.Run(t, remote, "rev-parse", "main^")); got != otherTip {
		t.Errorf("rebuilt commit's parent = %s, want the other job's %s", got, otherTip)
	}
	want := map[string]string{"flowsync.json": "v1", "environments/a/x.json": "2", "environments/b/y.json": "1"}
	if diff := cmp.Diff(want, readAllFiles(t, a, head)); diff != "" {
		t.Errorf("rebuilt tree (-want +got):\n%s", diff)
	}
	if got := gitStatus(t, dir); got != "" {
		t.Errorf("git status after the rebuild:\n%s", got)
	}
	if diff := cmp.Diff(want, testgit.WorkingFiles(t, dir)); diff != "" {
		t.Errorf("working files (-want +got):\n%s", diff)
	}
	msg := testgit.Run(t, remote, "log", "-1", "--format=%B", "main")
	if !strings.HasPrefix(msg, "replay of unpushed exports\n\n") || !strings.Contains(msg, " second\n") || strings.Contains(msg, " first\n") {
		t.Errorf("rebuilt commit message does not list exactly the unpushed commit:\n%s", msg)
	}
	testgit.FsckStrict(t, remote)
	testgit.FsckStrict(t, dir)

	// Unrelated histories (the local repository was started on its own):
	// every unit of the local tip is replayed.
	fresh := openRepo(t, t.TempDir(), OpenOptions{Bare: true})
	commitFiles(t, fresh, nil, map[string]string{"flowsync.json": "v1", "environments/c/q.json": "q"}, "own start")
	if _, err := fresh.Push(ctx, PushOptions{Remote: remote, Branch: "main",
		Rebuild: fresh.UnpushedRebuilder("main", 2, commitOpts("replay"))}); err != nil {
		t.Fatal(err)
	}
	tip := plumbing.NewHash(strings.TrimSpace(testgit.Run(t, remote, "rev-parse", "main")))
	want["environments/c/q.json"] = "q"
	if diff := cmp.Diff(want, readAllFiles(t, fresh, tip)); diff != "" {
		t.Errorf("tree after replaying an unrelated history (-want +got):\n%s", diff)
	}
	testgit.FsckStrict(t, remote)
}

func TestUnitOf(t *testing.T) {
	for _, tc := range []struct {
		path  string
		depth int
		want  string
	}{
		{"environments/a/flows/f/flow.json", 2, "environments/a"},
		{"environments/a", 2, "environments/a"},
		{"flowsync.json", 2, "flowsync.json"},
		{"environments/a/x.json", 1, "environments"},
		{"a/b/c", 3, "a/b/c"},
	} {
		if got := unitOf(tc.path, tc.depth); got != tc.want {
			t.Errorf("unitOf(%q, %d) = %q, want %q", tc.path, tc.depth, got, tc.want)
		}
	}
}

func TestIsAncestor(t *testing.T) {
	ctx := context.Background()
	r := openRepo(t, t.TempDir(), OpenOptions{Bare: true})
	first := commitFiles(t, r, nil, map[string]string{"a": "1"}, "first").Commit
	second := commitFiles(t, r, nil, map[string]string{"a": "2"}, "second").Commit
	for _, tc := range []struct {
		anc, desc plumbing.Hash
		want      bool
	}{
		{plumbing.ZeroHash, first, true},
		{first, first, true},
		{first, second, true},
		{second, first, false},
		{plumbing.NewHash("1111111111111111111111111111111111111111"), second, false},
	} {
		got, err := r.IsAncestor(ctx, tc.anc, tc.desc)
		if err != nil || got != tc.want {
			t.Errorf("IsAncestor(%s, %s) = %v, %v; want %v", short(tc.anc), short(tc.desc), got, err, tc.want)
		}
	}
}
