package export_test

import (
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flowsync/flowsync/export"
	"github.com/flowsync/flowsync/internal/emulator/seed"
	"github.com/flowsync/flowsync/internal/testrepo"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden from this run")

const (
	goldenTreeDir   = "testdata/golden/tree"
	goldenCommitTxt = "testdata/golden/commit.txt"
)

// TestGoldenTree exports every environment of the demo seed (soft-deleted
// flows included) with a fixed author and time, and compares the whole
// tree, path by path, with testdata/golden/tree, and the tree hash, commit
// hash and message with testdata/golden/commit.txt. Run with -update to
// accept a deliberate format change, and review the diff.
func TestGoldenTree(t *testing.T) {
	t.Parallel()
	e := startEmu(t, seed.Demo(), emuOptions{})
	src := export.ClientSource{Client: e.client, Admin: true, IncludeDeleted: true}
	rp := newRepo(t, true)
	res := mustExport(t, src, rp, exportOpts())
	tip := testrepo.Head(t, rp, "main")
	files := testrepo.TreeFiles(t, rp, tip)
	summary := fmt.Sprintf("tree %s\ncommit %s\n\n%s", treeHash(t, rp, tip), res.Commit, commitMessage(t, rp.GitDir(), res.Commit))

	if *update {
		if err := os.RemoveAll(goldenTreeDir); err != nil {
			t.Fatal(err)
		}
		for p, b := range files {
			dst := filepath.Join(goldenTreeDir, filepath.FromSlash(p))
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(dst, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(goldenCommitTxt, []byte(summary), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("golden files rewritten: %d files", len(files))
		return
	}

	want := map[string]string{}
	err := filepath.WalkDir(goldenTreeDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(goldenTreeDir, p)
		want[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	if err != nil {
		t.Fatalf("read golden tree (run go test ./export -run TestGoldenTree -update to create it): %v", err)
	}
	got := map[string]string{}
	for p, b := range files {
		got[p] = string(b)
	}
	if diff := cmp.Diff(sortedKeys(want), sortedKeys(got)); diff != "" {
		t.Errorf("tree paths (-golden +got):\n%s", diff)
	}
	for _, p := range sortedKeys(want) {
		if g, ok := got[p]; ok && g != want[p] {
			t.Errorf("%s (-golden +got):\n%s", p, cmp.Diff(want[p], g))
		}
	}
	wantSummary, err := os.ReadFile(goldenCommitTxt)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(wantSummary), summary); diff != "" {
		t.Errorf("tree hash, commit hash and message (-golden +got):\n%s", diff)
	}
}
