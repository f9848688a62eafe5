package repo

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// UnpushedRebuilder returns a function for PushOptions.Rebuild for a run
// that made no commit of its own while the local branch still holds commits
// of earlier runs that never reached the remote (their push failed), so no
// Builder is left to replay.
//
// Each call finds where the local branch and the remote tip newTip diverged,
// collects the units the local commits changed since then (a unit is a path
// cut to its first depth segments: with depth 2, "environments/<env>" for
// anything below it, or a top-level file), and commits on newTip a tree in
// which every such unit is exactly as at the local tip (files come back as
// regular files, mode 0100644, as Builder.Put makes them); everything else is
// the remote's. The branch moves from the local tip to that commit, which is
// returned. The commit's message is opts.Message followed by the list of
// the local commits it replays (first-parent line, newest first).
func (r *Repo) UnpushedRebuilder(branch string, depth int, opts CommitOptions) func(ctx context.Context, newTip plumbing.Hash) (plumbing.Hash, error) {
	return func(ctx context.Context, newTip plumbing.Hash) (plumbing.Hash, error) {
		if depth < 1 {
			return plumbing.ZeroHash, fmt.Errorf("rebuild unpushed commits: depth %d, want at least 1", depth)
		}
		name, err := r.branchRef(branch)
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("rebuild unpushed commits: %w", err)
		}
		local, err := r.refHash(name)
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("rebuild unpushed commits: %w", err)
		}
		base, err := r.mergeBase(local, newTip)
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("rebuild unpushed commits of %s on %s: %w", branch, short(newTip), err)
		}
		baseTree, err := r.commitTree(base)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		localTree, err := r.ReadTree(ctx, local)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		units := map[string]bool{}
		err = r.diffTrees(ctx, baseTree, localTree.Hash(), func(c change) error {
			units[unitOf(c.Path, depth)] = true
			return nil
		})
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("rebuild unpushed commits of %s: %w", branch, err)
		}

		replayed, err := r.firstParentLine(local, base, maxReplayListed)
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("rebuild unpushed commits of %s: %w", branch, err)
		}
		opts.Message = strings.TrimRight(opts.Message, "\n") + "\n\nReplays local commits that were not pushed:\n" + replayed

		b, err := r.NewBuilder(ctx, newTip)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		defer b.Discard()
		b.expect = local
		for _, u := range slices.Sorted(maps.Keys(units)) {
			if err := b.Delete(u); err != nil {
				return plumbing.ZeroHash, err
			}
			err := localTree.Walk(u, func(p string, h plumbing.Hash) error { return b.PutBlob(p, h) })
			if err != nil {
				return plumbing.ZeroHash, fmt.Errorf("rebuild unpushed commits: %s: %w", u, err)
			}
		}
		res, err := b.Commit(ctx, opts)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		return res.Commit, nil
	}
}

// maxReplayListed bounds the commits a replay's message lists.
const maxReplayListed = 20

// firstParentLine lists "- <hash> <subject>" for the commits from tip back
// along first parents until stop (excluded) or the root, at most max of them.
func (r *Repo) firstParentLine(tip, stop plumbing.Hash, max int) (string, error) {
	var sb strings.Builder
	for h, n := tip, 0; !h.IsZero() && h != stop; n++ {
		c, err := object.GetCommit(r.st, h)
		if err != nil {
			return "", fmt.Errorf("commit %s: %w", short(h), err)
		}
		if n == max {
			sb.WriteString("- …\n")
			break
		}
		subject, _, _ := strings.Cut(c.Message, "\n")
		fmt.Fprintf(&sb, "- %s %s\n", short(h), subject)
		h = plumbing.ZeroHash
		if len(c.ParentHashes) > 0 {
			h = c.ParentHashes[0]
		}
	}
	return sb.String(), nil
}

// unitOf cuts a slash-separated path to its first depth segments.
func unitOf(p string, depth int) string {
	i := 0
	for range depth {
		j := strings.IndexByte(p[i:], '/')
		if j < 0 {
			return p
		}
		i += j + 1
	}
	return p[:i-1]
}

// mergeBase returns a best common ancestor of two commits, or the zero hash
// when their histories are unrelated.
func (r *Repo) mergeBase(a, b plumbing.Hash) (plumbing.Hash, error) {
	ca, err := object.GetCommit(r.st, a)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("commit %s: %w", short(a), err)
	}
	cb, err := object.GetCommit(r.st, b)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("commit %s: %w", short(b), err)
	}
	bases, err := ca.MergeBase(cb)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("merge base of %s and %s: %w", short(a), short(b), err)
	}
	if len(bases) == 0 {
		return plumbing.ZeroHash, nil
	}
	// Several best bases (criss-cross history) are equally good here; take
	// the smallest hash so the choice is deterministic.
	best := bases[0].Hash
	for _, c := range bases[1:] {
		if c.Hash.String() < best.String() {
			best = c.Hash
		}
	}
	return best, nil
}
