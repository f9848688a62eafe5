// Package testrepo reads what flowsync wrote to a backup repository, for
// tests of the commands and engines that write it.
//
// It reads through the repository's own API (repo.Repo); tests check the
// same repository with the git CLI through package testgit as well. The
// tree layout (FlowDir) is written out here on purpose rather than taken
// from the code under test, so that a change of layout fails the tests.
package testrepo

import (
	"context"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/repo"
)

// Head is the commit branch points at; an error fails tb.
func Head(tb testing.TB, rp *repo.Repo, branch string) plumbing.Hash {
	tb.Helper()
	h, err := rp.Head(context.Background(), branch)
	if err != nil {
		tb.Fatal(err)
	}
	return h
}

// TreeFiles reads every file of commit: path → content.
func TreeFiles(tb testing.TB, rp *repo.Repo, commit plumbing.Hash) map[string][]byte {
	tb.Helper()
	ctx := context.Background()
	tr, err := rp.ReadTree(ctx, commit)
	if err != nil {
		tb.Fatal(err)
	}
	files := map[string][]byte{}
	err = tr.Walk("", func(p string, h plumbing.Hash) error {
		b, err := rp.ReadBlob(ctx, h)
		if err != nil {
			return err
		}
		files[p] = b
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return files
}

// FlowDir is the tree directory of a flow, with its trailing slash.
func FlowDir(env api.EnvName, flow api.FlowName) string {
	return "environments/" + string(env) + "/flows/" + strings.ToLower(string(flow)) + "/"
}

// FlowFiles picks a flow's files out of a tree: file name → content.
func FlowFiles(files map[string][]byte, env api.EnvName, flow api.FlowName) map[string][]byte {
	dir := FlowDir(env, flow)
	out := map[string][]byte{}
	for p, b := range files {
		if name, ok := strings.CutPrefix(p, dir); ok {
			out[name] = b
		}
	}
	return out
}
