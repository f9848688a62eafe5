package repo

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowsync/flowsync/internal/testgit"
	"github.com/google/go-cmp/cmp"
)

func gitStatus(t *testing.T, dir string) string {
	t.Helper()
	return testgit.Run(t, dir, "status", "--porcelain", "--untracked-files=all")
}

func TestWorktreeFollowsCommits(t *testing.T) {
	dir := t.TempDir()
	r := openRepo(t, dir, OpenOptions{})

	steps := []struct {
		name    string
		replace []string
		files   map[string]string
		want    map[string]string
	}{
		{
			name:  "first commit checks files out",
			files: map[string]string{"envs/e1/f1/def.json": "1", "envs/e1/f2/def.json": "2", "envs/e2/g/def.json": "g", "README.md": "r"},
			want:  map[string]string{"envs/e1/f1/def.json": "1", "envs/e1/f2/def.json": "2", "envs/e2/g/def.json": "g", "README.md": "r"},
		},
		{
			name:    "modify, add and remove (empty dirs pruned)",
			replace: []string{"envs/e1"},
			files:   map[string]string{"envs/e1/f1/def.json": "1b", "envs/e1/f3/def.json": "3"},
			want:    map[string]string{"envs/e1/f1/def.json": "1b", "envs/e1/f3/def.json": "3", "envs/e2/g/def.json": "g", "README.md": "r"},
		},
		{
			name:    "file becomes a directory",
			replace: []string{"README.md"},
			files:   map[string]string{"README.md/inner": "i"},
			want:    map[string]string{"envs/e1/f1/def.json": "1b", "envs/e1/f3/def.json": "3", "envs/e2/g/def.json": "g", "README.md/inner": "i"},
		},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			commitFiles(t, r, st.replace, st.files, st.name)
			if got := gitStatus(t, dir); got != "" {
				t.Errorf("git status --porcelain:\n%s", got)
			}
			if diff := cmp.Diff(st.want, testgit.WorkingFiles(t, dir)); diff != "" {
				t.Errorf("working files (-want +got):\n%s", diff)
			}
			if _, err := os.Stat(filepath.Join(dir, "envs", "e1", "f2")); !errors.Is(err, os.ErrNotExist) && st.replace != nil {
				t.Errorf("emptied directory envs/e1/f2 still exists: %v", err)
			}
			testgit.FsckStrict(t, dir)
		})
	}
}

func TestWorktreeKeepsUnrelatedLocalChanges(t *testing.T) {
	dir := t.TempDir()
	testgit.Run(t, t.TempDir(), "init", "-q", "-b", "main", dir)
	writeFile(t, filepath.Join(dir, "notes.md"), "mine")
	writeFile(t, filepath.Join(dir, "envs/e1/a.json"), "a")
	testgit.Run(t, dir, "add", "-A")
	testgit.Run(t, dir, "commit", "-q", "-m", "by git")

	writeFile(t, filepath.Join(dir, "notes.md"), "edited, not committed")
	writeFile(t, filepath.Join(dir, "scratch.txt"), "untracked")
	r := openRepo(t, dir, OpenOptions{})
	commitFiles(t, r, []string{"envs/e1"}, map[string]string{"envs/e1/a.json": "a2", "envs/e1/b.json": "b"}, "export")

	want := " M notes.md\n?? scratch.txt\n"
	if got := gitStatus(t, dir); got != want {
		t.Errorf("git status = %q, want %q", got, want)
	}
	if got := testgit.Run(t, dir, "log", "--format=%s"); got != "export\nby git\n" {
		t.Errorf("git log = %q", got)
	}
}

func TestWorktreeRefusesLocalChanges(t *testing.T) {
	tests := []struct {
		name    string
		local   func(t *testing.T, dir string)
		conflit string
	}{
		{
			name:    "modified file the commit changes",
			local:   func(t *testing.T, dir string) { writeFile(t, filepath.Join(dir, "envs/e1/a.json"), "user edit") },
			conflit: "envs/e1/a.json (modified)",
		},
		{
			name:    "modified file the commit deletes",
			local:   func(t *testing.T, dir string) { writeFile(t, filepath.Join(dir, "envs/e1/gone.json"), "user edit") },
			conflit: "envs/e1/gone.json (modified)",
		},
		{
			name:    "deleted file the commit changes",
			local:   func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "envs/e1/a.json")) },
			conflit: "envs/e1/a.json (deleted locally)",
		},
		{
			name:    "untracked file where a new file goes",
			local:   func(t *testing.T, dir string) { writeFile(t, filepath.Join(dir, "envs/e1/new.json"), "mine") },
			conflit: "envs/e1/new.json (untracked file would be overwritten)",
		},
		{
			name: "staged change",
			local: func(t *testing.T, dir string) {
				writeFile(t, filepath.Join(dir, "envs/e1/a.json"), "staged")
				testgit.Run(t, dir, "add", "envs/e1/a.json")
				writeFile(t, filepath.Join(dir, "envs/e1/a.json"), "a") // worktree back to HEAD's content
			},
			conflit: "envs/e1/a.json (staged change)",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			r := openRepo(t, dir, OpenOptions{})
			first := commitFiles(t, r, nil, map[string]string{"envs/e1/a.json": "a", "envs/e1/gone.json": "g", "other.json": "o"}, "first")
			tc.local(t, dir)
			statusBefore := gitStatus(t, dir)

			b, err := r.NewBuilder(ctx, first.Commit)
			if err != nil {
				t.Fatal(err)
			}
			_ = b.ReplaceSubtree("envs/e1")
			_ = b.Put("envs/e1/a.json", []byte("a2"))
			_ = b.Put("envs/e1/new.json", []byte("new"))
			_, err = b.Commit(ctx, commitOpts("second"))
			if !errors.Is(err, ErrWorktreeConflict) {
				t.Fatalf("Commit = %v, want ErrWorktreeConflict", err)
			}
			if !strings.Contains(err.Error(), tc.conflit) {
				t.Errorf("error %q does not name %q", err, tc.conflit)
			}
			if head, _ := r.Head(ctx, "main"); head != first.Commit {
				t.Errorf("branch moved to %s despite the conflict", head)
			}
			if got := gitStatus(t, dir); got != statusBefore {
				t.Errorf("local state changed: status %q, was %q", got, statusBefore)
			}
			if _, err := os.Stat(filepath.Join(dir, ".git", "index.lock")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("index.lock left behind: %v", err)
			}
		})
	}
}

func TestWorktreeOtherBranchCheckedOut(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	r := openRepo(t, dir, OpenOptions{InitialBranch: "work"})
	// Committing to main while HEAD is on "work" leaves the worktree alone.
	b, _ := r.NewBuilder(ctx, [20]byte{})
	_ = b.Put("f.json", []byte("x"))
	if _, err := b.Commit(ctx, commitOpts("main only")); err != nil {
		t.Fatal(err)
	}
	if got := testgit.WorkingFiles(t, dir); len(got) != 0 {
		t.Errorf("worktree of another branch got files: %v", got)
	}
	if got := testgit.Run(t, dir, "ls-tree", "-r", "--name-only", "main"); got != "f.json\n" {
		t.Errorf("main = %q", got)
	}
}
