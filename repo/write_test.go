package repo

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowsync/flowsync/internal/testgit"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/google/go-cmp/cmp"
)

// TestWriteIntoPackedRepo: objects already in a pack are not written again as
// loose objects, new ones are, and Git finds everything consistent.
func TestWriteIntoPackedRepo(t *testing.T) {
	dir := t.TempDir()
	r := openRepo(t, dir, OpenOptions{Bare: true})
	commitFiles(t, r, nil, map[string]string{"a/x.json": "x", "b/y.json": "y"}, "first")
	testgit.Run(t, dir, "gc", "-q", "--prune=now")
	if got := looseObjects(t, dir); len(got) != 0 {
		t.Fatalf("loose objects after git gc: %v", got)
	}

	r = openRepo(t, dir, OpenOptions{}) // a fresh Repo sees the pack
	commitFiles(t, r, nil, map[string]string{"a/x.json": "x", "c/z.json": "z"}, "second")

	var want []string
	for _, o := range []struct {
		t plumbing.ObjectType
		c string
	}{{plumbing.BlobObject, "x"}, {plumbing.BlobObject, "z"}} {
		h := plumbing.ComputeHash(o.t, []byte(o.c))
		if o.c == "z" {
			want = append(want, h.String())
		}
		if _, err := os.Stat(r.loosePath(h)); (o.c == "z") != (err == nil) {
			t.Errorf("blob %q loose = %v, want %v", o.c, err == nil, o.c == "z")
		}
	}
	got := looseObjects(t, dir)
	for _, h := range want {
		if !got[h] {
			t.Errorf("new blob %s not stored loose", h)
		}
	}
	for h := range got {
		if strings.HasPrefix(filepath.Base(h), "tmp_") || strings.Contains(h, "tmp_obj_") {
			t.Errorf("temporary file left: %s", h)
		}
	}
	testgit.FsckStrict(t, dir)
	head, err := r.Head(t.Context(), "main")
	if err != nil {
		t.Fatal(err)
	}
	wantFiles := map[string]string{"a/x.json": "x", "b/y.json": "y", "c/z.json": "z"}
	if diff := cmp.Diff(wantFiles, readAllFiles(t, r, head)); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	if got := testgit.Run(t, dir, "show", "main:c/z.json"); got != "z" {
		t.Errorf("git show main:c/z.json = %q", got)
	}
}

// TestStoredObjectsReadOnly: loose objects are created read-only and no
// temporary files stay behind.
func TestStoredObjectsReadOnly(t *testing.T) {
	dir := t.TempDir()
	r := openRepo(t, dir, OpenOptions{Bare: true})
	commitFiles(t, r, nil, map[string]string{"a.json": "a", "d/b.json": "b"}, "first")
	err := filepath.WalkDir(filepath.Join(dir, "objects"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if strings.HasPrefix(d.Name(), "tmp_") {
			t.Errorf("temporary file left: %s", p)
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o222 != 0 {
			t.Errorf("%s mode %v, want read-only", p, fi.Mode())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	testgit.FsckStrict(t, dir)
}

// TestWorktreeWritesAroundExistingEntries: pre-existing directories, an
// untracked file identical to the one committed, a removed directory, and
// many files (so the writers run in parallel) all end as Git
// expects, with a clean status and no temporary files.
func TestWorktreeWritesAroundExistingEntries(t *testing.T) {
	dir := t.TempDir()
	r := openRepo(t, dir, OpenOptions{})
	commitFiles(t, r, nil, map[string]string{"old/dir/f.json": "f", "keep.md": "k"}, "first")

	mkdir(t, filepath.Join(dir, "envs", "e1", "empty"))
	writeFile(t, filepath.Join(dir, "envs", "e1", "same.json"), "same")

	files := map[string]string{"envs/e1/same.json": "same", "olds/f.json": "f"}
	want := map[string]string{"envs/e1/same.json": "same", "olds/f.json": "f", "keep.md": "k"}
	for i := range 50 {
		p := filepath.ToSlash(filepath.Join("envs", "e2", "f"+string(rune('a'+i%26))+strings.Repeat("x", i/26), "def.json"))
		files[p] = p
		want[p] = p
	}
	commitFiles(t, r, []string{"old"}, files, "second")

	if got := gitStatus(t, dir); got != "" {
		t.Errorf("git status --porcelain:\n%s", got)
	}
	if diff := cmp.Diff(want, testgit.WorkingFiles(t, dir)); diff != "" {
		t.Errorf("working files (-want +got):\n%s", diff)
	}
	if _, err := os.Lstat(filepath.Join(dir, "old")); !os.IsNotExist(err) {
		t.Errorf("directory of removed files not pruned: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "envs", "e1", "empty")); err != nil {
		t.Errorf("pre-existing empty directory: %v", err)
	}
	testgit.FsckStrict(t, dir)
}

// TestWorktreeIndexStatMatchesDisk: the index records the stat data of the
// files as they are on disk, both for files created in place and for files
// replaced through a rename, so later conflict checks need not re-hash them.
func TestWorktreeIndexStatMatchesDisk(t *testing.T) {
	dir := t.TempDir()
	r := openRepo(t, dir, OpenOptions{})
	commitFiles(t, r, nil, map[string]string{"a/new.json": "1", "a/mod.json": "1"}, "first")
	commitFiles(t, r, nil, map[string]string{"a/mod.json": "2", "b/new.json": "3"}, "second")

	m := &branchMove{r: r}
	idx, err := r.readIndex()
	if err != nil {
		t.Fatal(err)
	}
	m.idx = idx
	for _, e := range idx.Entries {
		fi, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(e.Name)))
		if err != nil {
			t.Fatal(err)
		}
		if !e.ModifiedAt.Equal(fi.ModTime()) || int64(e.Size) != fi.Size() || !sameInode(e, fi) {
			t.Errorf("%s: index stat (mtime %v size %d) differs from disk (mtime %v size %d) or inode/ctime differ",
				e.Name, e.ModifiedAt, e.Size, fi.ModTime(), fi.Size())
		}
	}
	if len(idx.Entries) != 3 {
		t.Errorf("index has %d entries, want 3", len(idx.Entries))
	}
}
