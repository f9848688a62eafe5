package repo

import (
	"context"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// fileState is a path's entry on one side of a diff; a zero Hash means absent.
type fileState struct {
	Hash plumbing.Hash
	Mode filemode.FileMode
}

func (s fileState) exists() bool { return !s.Hash.IsZero() }

// change is one file that differs between two trees.
type change struct {
	Path     string
	From, To fileState
}

// diffTrees calls fn for every file that differs between trees a and b (zero
// hashes are empty trees). Directories with equal hashes are skipped without
// being read, so the cost follows the size of the change, not of the tree.
// Calls are in no particular order.
func (r *Repo) diffTrees(ctx context.Context, a, b plumbing.Hash, fn func(change) error) error {
	return r.diffDir(ctx, "", a, b, fn)
}

func (r *Repo) diffDir(ctx context.Context, dir string, a, b plumbing.Hash, fn func(change) error) error {
	if a == b {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	ea, err := r.entriesOrNone(a)
	if err != nil {
		return err
	}
	eb, err := r.entriesOrNone(b)
	if err != nil {
		return err
	}
	old := make(map[string]object.TreeEntry, len(ea))
	for _, e := range ea {
		old[e.Name] = e
	}
	for _, e := range eb {
		p := join(dir, e.Name)
		x, ok := old[e.Name]
		delete(old, e.Name)
		xDir, eDir := ok && x.Mode == filemode.Dir, e.Mode == filemode.Dir
		var err error
		switch {
		case xDir && eDir:
			err = r.diffDir(ctx, p, x.Hash, e.Hash, fn)
		case xDir: // directory became a file
			if err = r.diffDir(ctx, p, x.Hash, plumbing.ZeroHash, fn); err == nil {
				err = fn(change{Path: p, To: fileState{e.Hash, e.Mode}})
			}
		case ok && eDir: // file became a directory
			if err = fn(change{Path: p, From: fileState{x.Hash, x.Mode}}); err == nil {
				err = r.diffDir(ctx, p, plumbing.ZeroHash, e.Hash, fn)
			}
		case ok:
			if x.Hash != e.Hash || x.Mode != e.Mode {
				err = fn(change{Path: p, From: fileState{x.Hash, x.Mode}, To: fileState{e.Hash, e.Mode}})
			}
		case eDir:
			err = r.diffDir(ctx, p, plumbing.ZeroHash, e.Hash, fn)
		default:
			err = fn(change{Path: p, To: fileState{e.Hash, e.Mode}})
		}
		if err != nil {
			return err
		}
	}
	for _, x := range ea {
		if _, gone := old[x.Name]; !gone {
			continue
		}
		p := join(dir, x.Name)
		if x.Mode == filemode.Dir {
			if err := r.diffDir(ctx, p, x.Hash, plumbing.ZeroHash, fn); err != nil {
				return err
			}
			continue
		}
		if err := fn(change{Path: p, From: fileState{x.Hash, x.Mode}}); err != nil {
			return err
		}
	}
	return nil
}

func (r *Repo) entriesOrNone(h plumbing.Hash) ([]object.TreeEntry, error) {
	if h.IsZero() || h == emptyTree {
		return nil, nil
	}
	return r.treeEntries(h)
}

func (r *Repo) diffStats(ctx context.Context, a, b plumbing.Hash) (Stats, error) {
	var s Stats
	err := r.diffTrees(ctx, a, b, func(c change) error {
		switch {
		case !c.From.exists():
			s.Added++
		case !c.To.exists():
			s.Deleted++
		default:
			s.Modified++
		}
		return nil
	})
	return s, err
}
