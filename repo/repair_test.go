package repo

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowsync/flowsync/internal/testgit"
	"github.com/google/go-cmp/cmp"
)

// TestRepairWorktree: paths the branch is ahead of (index and file of the
// previous commit, a missing file, a stale index entry of a removed file)
// are brought back in step; a local edit with content the branch never had,
// and files outside the prefixes, are left alone and reported.
func TestRepairWorktree(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	testgit.Run(t, t.TempDir(), "init", "-q", "-b", "main", dir)
	r := openRepo(t, dir, OpenOptions{})
	commitFiles(t, r, nil, map[string]string{
		"flowsync.json": "{}", "envs/e1/a.json": "a1", "envs/e1/b.json": "b1", "envs/e1/c.json": "c1", "envs/e1/gone.json": "g",
	}, "first")
	old := strings.TrimSpace(testgit.Run(t, dir, "rev-parse", "main"))
	commitFiles(t, r, []string{"envs/e1"}, map[string]string{
		"envs/e1/a.json": "a2", "envs/e1/b.json": "b2", "envs/e1/c.json": "c2", "envs/e1/new.json": "n",
	}, "second")
	tip := strings.TrimSpace(testgit.Run(t, dir, "rev-parse", "main"))

	// The working tree and index as the first commit left them, the branch
	// at the second (a run whose working-tree update failed), then: a local
	// edit of c.json, a missing b.json and a note outside the prefixes.
	testgit.Run(t, dir, "reset", "-q", "--hard", old)
	testgit.Run(t, dir, "update-ref", "refs/heads/main", tip, old)
	writeFile(t, filepath.Join(dir, "envs/e1/c.json"), "edited by hand")
	if err := os.Remove(filepath.Join(dir, "envs/e1/b.json")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "notes.md"), "mine")

	rep, err := r.RepairWorktree(ctx, "main", []string{"flowsync.json", "envs"})
	if err != nil {
		t.Fatal(err)
	}
	want := WorktreeRepair{
		Restored: []string{"envs/e1/a.json", "envs/e1/b.json", "envs/e1/gone.json", "envs/e1/new.json"},
		Local:    []string{"envs/e1/c.json"},
	}
	if diff := cmp.Diff(want, rep); diff != "" {
		t.Errorf("RepairWorktree (-want +got):\n%s", diff)
	}
	// c.json keeps the edit (and its index entry of the first commit shows
	// as staged against the branch); everything else follows the branch.
	if got, want := gitStatus(t, dir), "MM envs/e1/c.json\n?? notes.md\n"; got != want {
		t.Errorf("git status = %q, want %q", got, want)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "envs/e1/c.json")); string(b) != "edited by hand" {
		t.Errorf("the local edit was overwritten: %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "envs/e1/a.json")); string(b) != "a2" {
		t.Errorf("a.json = %q, want the branch's a2", b)
	}

	// In step: nothing to do, and no lock is left.
	testgit.Run(t, dir, "checkout", "-q", "main", "--", "envs/e1/c.json")
	rep, err = r.RepairWorktree(ctx, "main", []string{"flowsync.json", "envs"})
	if err != nil || rep.Repaired() || len(rep.Local) != 0 {
		t.Errorf("second RepairWorktree = %+v, %v; want nothing done", rep, err)
	}
	if _, err := os.Stat(filepath.Join(dir, ".git", "index.lock")); err == nil {
		t.Error("index.lock left behind")
	}
	if got := gitStatus(t, dir); got != "?? notes.md\n" {
		t.Errorf("git status = %q", got)
	}
	testgit.FsckStrict(t, dir)
}

// TestRepairWorktreeNeverFollowsSymlinks: a flow directory replaced by a
// symlink to a directory outside the working tree is left alone (its paths
// are local changes), never written through.
func TestRepairWorktreeNeverFollowsSymlinks(t *testing.T) {
	ctx := context.Background()
	for _, link := range []string{"envs/e1", "envs"} {
		t.Run(link, func(t *testing.T) {
			dir := t.TempDir()
			testgit.Run(t, t.TempDir(), "init", "-q", "-b", "main", dir)
			r := openRepo(t, dir, OpenOptions{})
			commitFiles(t, r, nil, map[string]string{"flowsync.json": "{}", "envs/e1/a.json": "a1", "envs/e2/b.json": "b1"}, "first")
			old := strings.TrimSpace(testgit.Run(t, dir, "rev-parse", "main"))
			commitFiles(t, r, []string{"envs"}, map[string]string{"envs/e1/a.json": "a2", "envs/e2/b.json": "b2"}, "second")
			tip := strings.TrimSpace(testgit.Run(t, dir, "rev-parse", "main"))
			testgit.Run(t, dir, "reset", "-q", "--hard", old)
			testgit.Run(t, dir, "update-ref", "refs/heads/main", tip, old)

			outside := t.TempDir()
			if err := os.RemoveAll(filepath.Join(dir, filepath.FromSlash(link))); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(outside, filepath.Join(dir, filepath.FromSlash(link))); err != nil {
				t.Fatal(err)
			}
			rep, err := r.RepairWorktree(ctx, "main", []string{"flowsync.json", "envs"})
			if err != nil {
				t.Fatal(err)
			}
			var written []string
			filepath.WalkDir(outside, func(p string, d fs.DirEntry, err error) error {
				if err == nil && p != outside {
					written = append(written, p)
				}
				return nil
			})
			if len(written) > 0 {
				t.Errorf("RepairWorktree wrote through the symlink %s: %v", link, written)
			}
			wantLocal := []string{"envs/e1/a.json"}
			if link == "envs" {
				wantLocal = []string{"envs/e1/a.json", "envs/e2/b.json"}
			}
			if diff := cmp.Diff(wantLocal, rep.Local); diff != "" {
				t.Errorf("Local (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRemoveCreated: a repository Open created is removed while it has no
// commit; one with a commit, or one Open did not create, never is.
func TestRemoveCreated(t *testing.T) {
	ctx := context.Background()
	for _, bare := range []bool{false, true} {
		dir := filepath.Join(t.TempDir(), "new")
		r, err := Open(ctx, dir, OpenOptions{Bare: bare})
		if err != nil {
			t.Fatal(err)
		}
		if !r.Created() {
			t.Fatal("Created() = false for a new repository")
		}
		if removed, err := r.RemoveCreated(); err != nil || !removed {
			t.Fatalf("RemoveCreated = %v, %v", removed, err)
		}
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("bare %v: %s still exists", bare, dir)
		}
	}

	empty := t.TempDir()
	r, err := Open(ctx, empty, OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if removed, err := r.RemoveCreated(); err != nil || !removed {
		t.Fatalf("RemoveCreated in an empty directory = %v, %v", removed, err)
	}
	if ents, err := os.ReadDir(empty); err != nil || len(ents) != 0 {
		t.Errorf("the empty directory is gone or not empty: %v, %v", ents, err)
	}

	withCommit := openRepo(t, filepath.Join(t.TempDir(), "repo"), OpenOptions{})
	commitFiles(t, withCommit, nil, map[string]string{"a": "a"}, "first")
	if removed, err := withCommit.RemoveCreated(); err != nil || removed {
		t.Errorf("RemoveCreated with a commit = %v, %v", removed, err)
	}
	testgit.FsckStrict(t, withCommit.Dir())

	existing := openRepo(t, withCommit.Dir(), OpenOptions{})
	if existing.Created() {
		t.Error("Created() = true for an existing repository")
	}
}
