package cli

import (
	"context"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/emulator"
	"github.com/flowsync/flowsync/internal/emulator/embedded"
	"github.com/flowsync/flowsync/internal/emulator/seed"
	"github.com/flowsync/flowsync/internal/testemu"
	"github.com/flowsync/flowsync/repo"
)

// startSnapshot runs an emulator loaded with snap (nil: the demo tenant) on
// loopback, without throttling and on the wall clock (the CLI reads it for
// tokens), and returns it with an environment holding tokens for the demo
// tenant's admin and a private pacer cache.
func startSnapshot(t *testing.T, snap *emulator.Snapshot) (*embedded.Instance, map[string]string) {
	t.Helper()
	e := testemu.Start(t, testemu.Options{Snapshot: snap, WallClock: true})
	return e.Inst, map[string]string{
		"FLOWSYNC_TOKEN":           e.Token(seed.DemoAdmin, tokenAudiences["flow"]),
		"FLOWSYNC_POWERAPPS_TOKEN": e.Token(seed.DemoAdmin, tokenAudiences["powerapps"]),
		"FLOWSYNC_CACHE_DIR":       t.TempDir(),
	}
}

func head(t *testing.T, rp *repo.Repo, branch string) plumbing.Hash {
	t.Helper()
	h, err := rp.Head(context.Background(), branch)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// treeFiles reads every file of commit: path → content.
func treeFiles(t *testing.T, rp *repo.Repo, commit plumbing.Hash) map[string][]byte {
	t.Helper()
	ctx := context.Background()
	tr, err := rp.ReadTree(ctx, commit)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	err = tr.Walk("", func(p string, h plumbing.Hash) error {
		b, err := rp.ReadBlob(ctx, h)
		files[p] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func flowDirOf(env api.EnvName, flow api.FlowName) string {
	return "environments/" + string(env) + "/flows/" + strings.ToLower(string(flow)) + "/"
}

// flowFiles picks a flow's files out of a tree: file name → content.
func flowFiles(files map[string][]byte, env api.EnvName, flow api.FlowName) map[string][]byte {
	dir := flowDirOf(env, flow)
	out := map[string][]byte{}
	for p, b := range files {
		if strings.HasPrefix(p, dir) {
			out[strings.TrimPrefix(p, dir)] = b
		}
	}
	return out
}
