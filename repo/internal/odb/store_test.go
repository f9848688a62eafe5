package odb

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowsync/flowsync/internal/testgit"
	"github.com/go-git/go-git/v5/plumbing"
)

// newGitDir makes an empty bare repository with the git CLI and returns its
// objects directory.
func newGitDir(t *testing.T) (gitDir, objects string) {
	t.Helper()
	gitDir = filepath.Join(t.TempDir(), "r.git")
	testgit.Run(t, "", "init", "-q", "--bare", gitDir)
	return gitDir, filepath.Join(gitDir, "objects")
}

func blob(i int) (plumbing.Hash, []byte) {
	c := []byte(fmt.Sprintf("{\"i\": %d}\n", i))
	return plumbing.ComputeHash(plumbing.BlobObject, c), c
}

// TestBatch: below PackThreshold a batch ends as loose objects, at it as
// one pack with its index; Git reads both, the Store finds every object
// afterwards, and the returned Pack and a Reader read the contents back.
func TestBatch(t *testing.T) {
	for _, tc := range []struct {
		n        int
		wantPack bool
	}{{PackThreshold - 1, false}, {PackThreshold, true}, {3 * PackThreshold, true}} {
		t.Run(fmt.Sprint(tc.n), func(t *testing.T) {
			gitDir, objects := newGitDir(t)
			s := New(objects, nil)
			b := s.Begin()
			for i := range tc.n {
				h, c := blob(i)
				if err := b.Add(plumbing.BlobObject, c, h); err != nil {
					t.Fatal(err)
				}
				if err := b.Add(plumbing.BlobObject, c, h); err != nil { // a duplicate is kept once
					t.Fatal(err)
				}
				if !b.Has(h) {
					t.Fatalf("batch lost %s", h)
				}
			}
			if h, _ := blob(0); s.Has(h) {
				t.Error("an object is visible before Flush")
			}
			p, err := b.Flush()
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			if (p != nil) != tc.wantPack {
				t.Fatalf("Flush returned pack %v, want a pack = %v", p != nil, tc.wantPack)
			}
			packs, _ := filepath.Glob(filepath.Join(objects, "pack", "pack-*.idx"))
			if got := len(packs) == 1; got != tc.wantPack {
				t.Errorf("pack indexes %v, want a pack = %v", packs, tc.wantPack)
			}
			if tc.wantPack {
				out := testgit.Run(t, gitDir, "verify-pack", "-v", packs[0])
				if !strings.Contains(out, fmt.Sprintf("non delta: %d objects", tc.n)) {
					t.Errorf("git verify-pack -v: want %d whole objects:\n%s", tc.n, out)
				}
			}
			var rd Reader
			fresh := New(objects, nil) // another Store sees what was written
			for i := range tc.n {
				h, c := blob(i)
				if !s.Has(h) || !fresh.Has(h) {
					t.Fatalf("object %d (%s) not found after Flush", i, h)
				}
				if i == 0 || i == tc.n-1 { // every object: fsck below
					if got := testgit.Run(t, gitDir, "cat-file", "blob", h.String()); got != string(c) {
						t.Fatalf("git cat-file %s = %q, want %q", h, got, c)
					}
				}
				got, ok, err := rd.ReadPacked(p, h, plumbing.BlobObject)
				if !ok {
					got, ok, err = rd.ReadLoose(s.LoosePath(h), plumbing.BlobObject)
				}
				if err != nil || !ok || !bytes.Equal(got, c) {
					t.Fatalf("read back %s: %q, %v, %v; want %q", h, got, ok, err, c)
				}
			}
			testgit.FsckStrict(t, gitDir)
		})
	}
}

// TestBatchDiscard: a discarded batch leaves nothing behind, pack or loose.
func TestBatchDiscard(t *testing.T) {
	_, objects := newGitDir(t)
	s := New(objects, nil)
	b := s.Begin()
	for i := range 2 * PackThreshold {
		h, c := blob(i)
		if err := b.Add(plumbing.BlobObject, c, h); err != nil {
			t.Fatal(err)
		}
	}
	b.Discard()
	var left []string
	filepath.WalkDir(objects, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			left = append(left, p)
		}
		return err
	})
	if len(left) != 0 {
		t.Errorf("files left after Discard: %v", left)
	}
}

// TestWriteAndLookup: Write stores a loose object Git reads, once; Has asks
// the repository's own lookup only for what the store itself lacks.
func TestWriteAndLookup(t *testing.T) {
	gitDir, objects := newGitDir(t)
	elsewhere, _ := blob(99)
	asked := 0
	s := New(objects, func(h plumbing.Hash) bool { asked++; return h == elsewhere })
	h, c := blob(1)
	if err := s.Write(plumbing.BlobObject, c, h); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(s.LoosePath(h))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write(plumbing.BlobObject, c, h); err != nil { // present: nothing to do
		t.Fatal(err)
	}
	if fi2, _ := os.Stat(s.LoosePath(h)); !fi2.ModTime().Equal(fi.ModTime()) || fi.Mode().Perm()&0o222 != 0 {
		t.Errorf("object rewritten or writable: %v %v", fi2.ModTime(), fi.Mode())
	}
	if got := testgit.Run(t, gitDir, "cat-file", "blob", h.String()); got != string(c) {
		t.Errorf("git cat-file = %q", got)
	}
	if !s.Has(h) || asked != 0 {
		t.Errorf("Has(stored) = %v after %d lookups, want true without asking", s.Has(h), asked)
	}
	if !s.Has(elsewhere) || asked != 1 {
		t.Errorf("Has(elsewhere) = %v after %d lookups, want true after one", s.Has(elsewhere), asked)
	}
	if missing, _ := blob(7); s.Has(missing) {
		t.Error("Has(missing) = true")
	}
	if _, ok, err := new(Reader).ReadLoose(s.LoosePath(elsewhere), plumbing.BlobObject); ok || err != nil {
		t.Errorf("ReadLoose of an absent object: ok %v, err %v", ok, err)
	}
	if _, _, err := new(Reader).ReadLoose(s.LoosePath(h), plumbing.TreeObject); err == nil {
		t.Error("ReadLoose with the wrong type: no error")
	}
}

// TestWriteFailureIsSticky: a batch whose pack cannot be created fails, and
// keeps failing, so a build with missing objects cannot commit.
func TestWriteFailureIsSticky(t *testing.T) {
	_, objects := newGitDir(t)
	if err := os.RemoveAll(filepath.Join(objects, "pack")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(objects, "pack"), []byte("in the way"), 0o644); err != nil {
		t.Fatal(err)
	}
	b := New(objects, nil).Begin()
	var err error
	for i := 0; err == nil && i < PackThreshold; i++ {
		h, c := blob(i)
		err = b.Add(plumbing.BlobObject, c, h)
	}
	if err == nil {
		t.Fatal("no error with no pack directory")
	}
	h, c := blob(1000)
	if err2 := b.Add(plumbing.BlobObject, c, h); !errors.Is(err2, b.err) {
		t.Errorf("Add after a failure: %v, want the first error", err2)
	}
	if _, err2 := b.Flush(); err2 == nil {
		t.Error("Flush after a failure: no error")
	}
}
