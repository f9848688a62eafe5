package repo

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// CommitInfo is what readers of the history need from one commit: who made
// it, when, why, and where it came from. Its tree is read with ReadTree.
type CommitInfo struct {
	Hash      plumbing.Hash
	Parents   []plumbing.Hash
	Author    Signature
	Committer Signature
	Message   string
}

// FirstParent is the commit's first parent, or the zero hash for a root commit.
func (c CommitInfo) FirstParent() plumbing.Hash {
	if len(c.Parents) == 0 {
		return plumbing.ZeroHash
	}
	return c.Parents[0]
}

// ErrStopWalk, returned by a FirstParentLog callback, ends the walk without
// an error.
var ErrStopWalk = errors.New("stop walk")

// Commit reads one commit's metadata; an unknown hash gives an error wrapping
// ErrNotFound.
func (r *Repo) Commit(ctx context.Context, h plumbing.Hash) (CommitInfo, error) {
	if err := ctx.Err(); err != nil {
		return CommitInfo{}, err
	}
	c, err := object.GetCommit(r.st, h)
	if err != nil {
		if errors.Is(err, plumbing.ErrObjectNotFound) {
			return CommitInfo{}, fmt.Errorf("commit %s: %w", h, ErrNotFound)
		}
		return CommitInfo{}, fmt.Errorf("commit %s: %w", h, err)
	}
	return CommitInfo{
		Hash:      c.Hash,
		Parents:   append([]plumbing.Hash(nil), c.ParentHashes...),
		Author:    Signature{Name: c.Author.Name, Email: c.Author.Email, When: c.Author.When},
		Committer: Signature{Name: c.Committer.Name, Email: c.Committer.Email, When: c.Committer.When},
		Message:   c.Message,
	}, nil
}

// FirstParentLog calls fn for from and then for each first parent, newest
// first, until the root commit, an error, or fn returning ErrStopWalk. The
// first parent is the line a branch moved along: backups and promotions only
// ever add one commit on top of the tip (a push that lost a race rebuilds the
// commit rather than merging), and a merge someone made by hand is seen as
// one step whose change is against its first parent, as `git log
// --first-parent` shows it. A zero from walks nothing.
func (r *Repo) FirstParentLog(ctx context.Context, from plumbing.Hash, fn func(CommitInfo) error) error {
	for h := from; !h.IsZero(); {
		c, err := r.Commit(ctx, h)
		if err != nil {
			return err
		}
		if err := fn(c); err != nil {
			if errors.Is(err, ErrStopWalk) {
				return nil
			}
			return err
		}
		h = c.FirstParent()
	}
	return nil
}
