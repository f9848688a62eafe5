package repo

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
)

var fixedTime = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)

func testSig() Signature {
	return Signature{Name: "Flow Sync", Email: "flowsync@example.invalid", When: fixedTime}
}

func commitOpts(msg string) CommitOptions {
	return CommitOptions{Branch: "main", Message: msg, Author: testSig()}
}

func openRepo(t testing.TB, dir string, opts OpenOptions) *Repo {
	t.Helper()
	r, err := Open(context.Background(), dir, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Errorf("close %s: %v", dir, err)
		}
	})
	return r
}

// commitFiles builds on the branch tip: ReplaceSubtree for each prefix, then
// Put files, then Commit.
func commitFiles(t testing.TB, r *Repo, replace []string, files map[string]string, msg string) Result {
	t.Helper()
	_, res := buildAndCommit(t, r, replace, files, msg)
	return res
}

// buildAndCommit is commitFiles that also returns the builder (for Rebuilder).
func buildAndCommit(t testing.TB, r *Repo, replace []string, files map[string]string, msg string) (*Builder, Result) {
	t.Helper()
	ctx := context.Background()
	base, err := r.Head(ctx, "main")
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.NewBuilder(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range replace {
		if err := b.ReplaceSubtree(p); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range sortedKeys(files) {
		if err := b.Put(p, []byte(files[p])); err != nil {
			t.Fatal(err)
		}
	}
	res, err := b.Commit(ctx, commitOpts(msg))
	if err != nil {
		t.Fatalf("commit %q: %v", msg, err)
	}
	return b, res
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// readAllFiles returns path → content of a commit, through the package API.
func readAllFiles(t testing.TB, r *Repo, commit plumbing.Hash) map[string]string {
	t.Helper()
	ctx := context.Background()
	tr, err := r.ReadTree(ctx, commit)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	err = tr.Walk("", func(p string, h plumbing.Hash) error {
		b, err := r.ReadBlob(ctx, h)
		got[p] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// looseObjects lists the loose object hashes of a git directory.
func looseObjects(t testing.TB, gitDir string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	dirs, err := filepath.Glob(filepath.Join(gitDir, "objects", "[0-9a-f][0-9a-f]"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		ents, err := os.ReadDir(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			out[filepath.Base(d)+e.Name()] = true
		}
	}
	return out
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
