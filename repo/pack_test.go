package repo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/google/go-cmp/cmp"

	"github.com/flowsync/flowsync/internal/testgit"
	"github.com/flowsync/flowsync/repo/internal/odb"
)

// packFiles lists the file names in objects/pack of a git directory.
func packFiles(t testing.TB, gitDir string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(gitDir, "objects", "pack"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// packsOf returns the pack base names (pack-<hash>) of a git directory and
// fails on anything else in objects/pack (temporary files, an index without
// its pack).
func packsOf(t testing.TB, gitDir string) []string {
	t.Helper()
	files := packFiles(t, gitDir)
	var packs []string
	seen := map[string]int{}
	for _, n := range files {
		base, ext, _ := strings.Cut(n, ".")
		if !strings.HasPrefix(base, "pack-") || (ext != "pack" && ext != "idx") {
			t.Errorf("unexpected file in objects/pack: %s", n)
			continue
		}
		seen[base]++
		if seen[base] == 2 {
			packs = append(packs, base)
		}
	}
	if len(packs)*2 != len(files) {
		t.Errorf("objects/pack holds %v: every pack needs its index", files)
	}
	return packs
}

// manyFiles returns n distinct files spread over directories of ten.
func manyFiles(prefix string, n int) map[string]string {
	files := map[string]string{}
	for i := range n {
		p := fmt.Sprintf("%s/d%03d/f%03d.json", prefix, i/10, i)
		files[p] = fmt.Sprintf("{\n  \"i\": %d,\n  \"prefix\": %q\n}\n", i, prefix)
	}
	return files
}

// putAll Puts files into b in path order.
func putAll(t *testing.T, b *Builder, files map[string]string) {
	t.Helper()
	for _, p := range sortedKeys(files) {
		if err := b.Put(p, []byte(files[p])); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLargeBuildWritesOnePack: a build of more than odb.PackThreshold new
// objects ends as one pack (with its index) and a loose commit, which Git
// (fsck, verify-pack, cat-file, status) and this package both read; small
// builds on top of it stay loose; another large one adds a second pack.
func TestLargeBuildWritesOnePack(t *testing.T) {
	for _, bare := range []bool{false, true} {
		t.Run(fmt.Sprintf("bare=%v", bare), func(t *testing.T) {
			dir := t.TempDir()
			gitDir := dir
			if !bare {
				gitDir = filepath.Join(dir, ".git")
			}
			r := openRepo(t, dir, OpenOptions{Bare: bare})
			files := manyFiles("envs/a", 150)
			res := commitFiles(t, r, nil, files, "large")
			if !res.Changed || res.Stats.Added != 150 {
				t.Fatalf("result %+v, want 150 files added", res)
			}

			packs := packsOf(t, gitDir)
			if len(packs) != 1 {
				t.Fatalf("packs after a large build: %v, want one", packs)
			}
			if loose := looseObjects(t, gitDir); len(loose) != 1 || !loose[res.Commit.String()] {
				t.Errorf("loose objects %v, want only the commit %s", loose, res.Commit)
			}
			// 150 blobs, 15 d### trees, envs/a, envs, the root.
			out := testgit.Run(t, gitDir, "verify-pack", "-v", filepath.Join(gitDir, "objects", "pack", packs[0]+".idx"))
			if !strings.Contains(out, "non delta: 168 objects") {
				t.Errorf("git verify-pack -v: want 168 whole objects, got:\n%s", out)
			}
			testgit.FsckStrict(t, gitDir)
			if got := testgit.Run(t, gitDir, "cat-file", "-p", "main:envs/a/d004/f042.json"); got != files["envs/a/d004/f042.json"] {
				t.Errorf("git cat-file = %q", got)
			}
			if diff := cmp.Diff(files, readAllFiles(t, r, res.Commit)); diff != "" {
				t.Errorf("files read back (-want +got):\n%s", diff)
			}
			// Close releases the open pack; the Repo reopens it when needed.
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(files, readAllFiles(t, r, res.Commit)); diff != "" {
				t.Errorf("files read back after Close (-want +got):\n%s", diff)
			}
			if !bare {
				if got := gitStatus(t, dir); got != "" {
					t.Errorf("git status --porcelain:\n%s", got)
				}
				if diff := cmp.Diff(files, testgit.WorkingFiles(t, dir)); diff != "" {
					t.Errorf("working files (-want +got):\n%s", diff)
				}
			}

			// Putting the same files again writes nothing: every object is
			// found in the pack (on this Repo and on a fresh one).
			for _, rr := range []*Repo{r, openRepo(t, dir, OpenOptions{})} {
				again := commitFiles(t, rr, nil, files, "again")
				if again.Changed || again.Commit != res.Commit {
					t.Errorf("same files again: %+v, want no commit", again)
				}
				if got := packsOf(t, gitDir); len(got) != 1 {
					t.Errorf("same files again wrote a pack: %v", got)
				}
				if got := looseObjects(t, gitDir); len(got) != 1 {
					t.Errorf("same files again wrote loose objects: %v", got)
				}
			}

			// A small change on the same Repo (its view of the packs refreshed)
			// and on a fresh one.
			for i, rr := range []*Repo{r, openRepo(t, dir, OpenOptions{})} {
				p := fmt.Sprintf("envs/a/d%03d/f%03d.json", i, i*10)
				files[p] = "changed " + strconv.Itoa(i)
				small := commitFiles(t, rr, nil, map[string]string{p: files[p]}, "small")
				if !small.Changed || small.Stats.Modified != 1 {
					t.Fatalf("small commit %d: %+v", i, small)
				}
				if got := packsOf(t, gitDir); len(got) != 1 {
					t.Errorf("small commit %d wrote a pack: %v", i, got)
				}
				// blob, d00i, envs/a, envs, root, commit
				if got := len(looseObjects(t, gitDir)); got != 1+6*(i+1) {
					t.Errorf("after small commit %d: %d loose objects, want %d", i, got, 1+6*(i+1))
				}
			}

			more := manyFiles("envs/b", 120)
			res = commitFiles(t, r, nil, more, "second large")
			for p, c := range more {
				files[p] = c
			}
			if got := packsOf(t, gitDir); len(got) != 2 {
				t.Errorf("packs after a second large build: %v, want two", got)
			}
			testgit.FsckStrict(t, gitDir)
			if diff := cmp.Diff(files, readAllFiles(t, r, res.Commit)); diff != "" {
				t.Errorf("files read back (-want +got):\n%s", diff)
			}
			if !bare {
				if got := gitStatus(t, dir); got != "" {
					t.Errorf("git status --porcelain:\n%s", got)
				}
			}
			// A clone reads the packs as any Git repository's.
			clone := filepath.Join(t.TempDir(), "clone")
			testgit.Run(t, t.TempDir(), "clone", "-q", "--no-local", dir, clone)
			if diff := cmp.Diff(files, testgit.WorkingFiles(t, clone)); diff != "" {
				t.Errorf("cloned files (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPackThreshold: below odb.PackThreshold new objects a build stays loose; at
// it, everything goes into a pack.
func TestPackThreshold(t *testing.T) {
	for _, tc := range []struct {
		files    int // in one directory: files + its tree + the root tree
		wantPack bool
	}{
		{files: odb.PackThreshold - 3, wantPack: false},
		{files: odb.PackThreshold - 2, wantPack: true},
	} {
		t.Run(strconv.Itoa(tc.files), func(t *testing.T) {
			dir := t.TempDir()
			r := openRepo(t, dir, OpenOptions{Bare: true})
			files := map[string]string{}
			for i := range tc.files {
				files[fmt.Sprintf("d/%03d", i)] = strconv.Itoa(i)
			}
			res := commitFiles(t, r, nil, files, "threshold")
			packs := packsOf(t, dir)
			if got := len(packs) == 1; got != tc.wantPack || len(packs) > 1 {
				t.Errorf("%d files: packs %v, want a pack = %v", tc.files, packs, tc.wantPack)
			}
			wantLoose := 1
			if !tc.wantPack {
				wantLoose = tc.files + 3
			}
			if got := len(looseObjects(t, dir)); got != wantLoose {
				t.Errorf("%d loose objects, want %d", got, wantLoose)
			}
			testgit.FsckStrict(t, dir)
			if diff := cmp.Diff(files, readAllFiles(t, r, res.Commit)); diff != "" {
				t.Errorf("files (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDiscardRemovesPendingPack: a large build that is abandoned leaves no
// pack, no temporary file and no loose object, and the branch is untouched.
func TestDiscardRemovesPendingPack(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	r := openRepo(t, dir, OpenOptions{Bare: true})
	first := commitFiles(t, r, nil, map[string]string{"a.json": "a"}, "first")
	looseBefore := looseObjects(t, dir)

	b, err := r.NewBuilder(ctx, first.Commit)
	if err != nil {
		t.Fatal(err)
	}
	files := manyFiles("big", 150)
	putAll(t, b, files)
	tmp := packFiles(t, dir)
	if len(tmp) != 1 || !strings.HasPrefix(tmp[0], "tmp_pack_") {
		t.Fatalf("objects/pack during the build: %v, want one tmp_pack_ file", tmp)
	}
	// A blob Put in this build counts as present for PutBlob.
	h := plumbing.ComputeHash(plumbing.BlobObject, []byte(files["big/d000/f000.json"]))
	if err := b.PutBlob("copy.json", h); err != nil {
		t.Errorf("PutBlob of a blob pending in the build: %v", err)
	}
	b.Discard()

	if got := packFiles(t, dir); len(got) != 0 {
		t.Errorf("objects/pack after Discard: %v", got)
	}
	if diff := cmp.Diff(looseBefore, looseObjects(t, dir)); diff != "" {
		t.Errorf("loose objects changed (-before +after):\n%s", diff)
	}
	if err := b.Put("x.json", []byte("x")); !errors.Is(err, ErrBuilderDone) {
		t.Errorf("Put after Discard: %v, want ErrBuilderDone", err)
	}
	if _, err := b.Commit(ctx, commitOpts("no")); !errors.Is(err, ErrBuilderDone) {
		t.Errorf("Commit after Discard: %v, want ErrBuilderDone", err)
	}
	if head, _ := r.Head(ctx, "main"); head != first.Commit {
		t.Errorf("branch moved to %s", head)
	}
	testgit.FsckStrict(t, dir)

	// Discard after a successful Commit changes nothing.
	b2, res := buildAndCommit(t, r, nil, manyFiles("big", 150), "committed")
	b2.Discard()
	if got := packsOf(t, dir); len(got) != 1 {
		t.Errorf("packs after Commit then Discard: %v", got)
	}
	files["a.json"] = "a"
	if diff := cmp.Diff(files, readAllFiles(t, r, res.Commit)); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	testgit.FsckStrict(t, dir)
}

// TestRebaseCarriesPendingObjects: rebasing a large build before it commits
// moves its pending objects to the new builder.
func TestRebaseCarriesPendingObjects(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	r := openRepo(t, dir, OpenOptions{Bare: true})
	first := commitFiles(t, r, nil, map[string]string{"a.json": "a"}, "first")

	b, err := r.NewBuilder(ctx, first.Commit)
	if err != nil {
		t.Fatal(err)
	}
	files := manyFiles("big", 150)
	putAll(t, b, files)
	// Another line of history (a branch "other") to rebase onto; main,
	// which the rebased builder moves, stays where the first builder found it.
	testgit.Run(t, dir, "branch", "other", "main")
	ob, err := r.NewBuilder(ctx, first.Commit)
	if err != nil {
		t.Fatal(err)
	}
	if err := ob.Put("b.json", []byte("b")); err != nil {
		t.Fatal(err)
	}
	opts := commitOpts("other")
	opts.Branch = "other"
	second, err := ob.Commit(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	nb, err := b.Rebase(ctx, second.Commit)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Put("late.json", []byte("late")); !errors.Is(err, ErrBuilderDone) {
		t.Errorf("Put on the builder rebased away: %v, want ErrBuilderDone", err)
	}
	res, err := nb.Commit(ctx, commitOpts("rebased"))
	if err != nil {
		t.Fatal(err)
	}
	files["a.json"], files["b.json"] = "a", "b"
	if diff := cmp.Diff(files, readAllFiles(t, r, res.Commit)); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	if got := packsOf(t, dir); len(got) != 1 {
		t.Errorf("packs: %v, want one", got)
	}
	testgit.FsckStrict(t, dir)
}

// TestPackWriteFailureStopsTheBuild: when the pack cannot be written, Put
// says so, and the build can neither go on nor commit (its earlier objects
// are gone); a new build works once the cause is fixed.
func TestPackWriteFailureStopsTheBuild(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	r := openRepo(t, dir, OpenOptions{Bare: true})
	packDir := filepath.Join(dir, "objects", "pack")
	if err := os.RemoveAll(packDir); err != nil {
		t.Fatal(err)
	}
	writeFile(t, packDir, "in the way") // a file where the pack directory goes

	b, err := r.NewBuilder(ctx, plumbing.ZeroHash)
	if err != nil {
		t.Fatal(err)
	}
	files := manyFiles("big", 150)
	var putErr error
	puts := 0
	for _, p := range sortedKeys(files) {
		if putErr = b.Put(p, []byte(files[p])); putErr != nil {
			break
		}
		puts++
	}
	if putErr == nil || !strings.Contains(putErr.Error(), "pack") {
		t.Fatalf("Put with no pack directory: %v, want an error about the pack", putErr)
	}
	if puts != odb.PackThreshold-1 {
		t.Errorf("%d Puts succeeded, want %d (the one reaching the threshold fails)", puts, odb.PackThreshold-1)
	}
	if err := b.Put("other.json", []byte("other")); err == nil {
		t.Error("Put after a failed write: no error")
	}
	if _, err := b.Commit(ctx, commitOpts("broken")); err == nil {
		t.Error("Commit after a failed write: no error")
	}
	if head, _ := r.Head(ctx, "main"); !head.IsZero() {
		t.Errorf("branch created at %s", head)
	}
	if got := looseObjects(t, dir); len(got) != 0 {
		t.Errorf("loose objects written: %v", got)
	}

	if err := os.Remove(packDir); err != nil {
		t.Fatal(err)
	}
	res := commitFiles(t, r, nil, files, "fixed")
	if diff := cmp.Diff(files, readAllFiles(t, r, res.Commit)); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	testgit.FsckStrict(t, dir)
}
