package testrepo

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/flowsync/flowsync/repo"
)

// TestReadBack: files committed through the repository read back by
// TreeFiles, and FlowFiles picks one flow's files by its lower-cased name.
func TestReadBack(t *testing.T) {
	ctx := context.Background()
	rp, err := repo.Open(ctx, filepath.Join(t.TempDir(), "r"), repo.OpenOptions{Bare: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rp.Close() })
	dir := FlowDir("env1", "ABC-1")
	if dir != "environments/env1/flows/abc-1/" {
		t.Fatalf("FlowDir = %q", dir)
	}
	b, err := rp.NewBuilder(ctx, plumbing.ZeroHash)
	if err != nil {
		t.Fatal(err)
	}
	for p, c := range map[string]string{dir + "flow.json": "{}", "environments/env1/flows/other/flow.json": "[]"} {
		if err := b.Put(p, []byte(c)); err != nil {
			t.Fatal(err)
		}
	}
	res, err := b.Commit(ctx, repo.CommitOptions{Branch: "main", Message: "m", Author: repo.Signature{Name: "T", Email: "t@example.invalid", When: time.Unix(0, 0)}})
	if err != nil {
		t.Fatal(err)
	}
	if h := Head(t, rp, "main"); h != res.Commit {
		t.Fatalf("Head = %s, want %s", h, res.Commit)
	}
	got := FlowFiles(TreeFiles(t, rp, res.Commit), "env1", "ABC-1")
	if len(got) != 1 || string(got["flow.json"]) != "{}" {
		t.Errorf("flow files %q", got)
	}
}
