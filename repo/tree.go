package repo

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Tree is a read-only view of a commit's files: path → blob hash. Directories
// are decoded on first use and kept, so looking up many paths under one
// prefix reads each tree object once. Like Repo, a Tree belongs to one
// goroutine.
type Tree struct {
	r    *Repo
	root plumbing.Hash // zero for the empty tree of "no commit"
	dirs map[string]*treeDir
}

// treeDir is one decoded directory with a name index for lookups (a flow
// store directory may hold thousands of entries).
type treeDir struct {
	entries []object.TreeEntry
	byName  map[string]int
}

func newTreeDir(entries []object.TreeEntry) *treeDir {
	d := &treeDir{entries: entries, byName: make(map[string]int, len(entries))}
	for i, e := range entries {
		d.byName[e.Name] = i
	}
	return d
}

func (d *treeDir) find(name string) (object.TreeEntry, bool) {
	i, ok := d.byName[name]
	if !ok {
		return object.TreeEntry{}, false
	}
	return d.entries[i], true
}

// ReadTree returns the files of commit. The zero commit gives an empty Tree,
// so a branch that does not exist yet reads as empty.
func (r *Repo) ReadTree(ctx context.Context, commit plumbing.Hash) (*Tree, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	root, err := r.commitTree(commit)
	if err != nil {
		return nil, fmt.Errorf("read tree: %w", err)
	}
	return &Tree{r: r, root: root, dirs: map[string]*treeDir{}}, nil
}

// Hash is the root tree hash (zero for the empty tree of the zero commit).
func (t *Tree) Hash() plumbing.Hash { return t.root }

// Lookup returns the blob hash of the file at path; an absent path, or one
// naming a directory, gives an error wrapping ErrNotFound.
func (t *Tree) Lookup(path string) (plumbing.Hash, error) {
	e, err := t.entry(path)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if !isFile(e.Mode) {
		return plumbing.ZeroHash, fmt.Errorf("file %s: %w (it is a directory or submodule)", path, ErrNotFound)
	}
	return e.Hash, nil
}

// SubtreeHash returns the tree hash of the directory prefix ("" for the root),
// or the zero hash when there is no such directory. Equal hashes mean equal
// contents, which lets callers skip whole unchanged directories.
func (t *Tree) SubtreeHash(prefix string) (plumbing.Hash, error) {
	if prefix == "" {
		if t.root == emptyTree {
			return plumbing.ZeroHash, nil
		}
		return t.root, nil
	}
	e, err := t.entry(prefix)
	if errors.Is(err, ErrNotFound) {
		return plumbing.ZeroHash, nil
	}
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if e.Mode != filemode.Dir {
		return plumbing.ZeroHash, nil
	}
	return e.Hash, nil
}

// Entry is one immediate child of a directory in a Tree.
type Entry struct {
	Name  string
	IsDir bool
	Hash  plumbing.Hash // blob hash for files, tree hash for directories
}

// List returns the immediate children of directory dir ("" for the root) in
// Git order; an absent directory gives none. Submodule entries are skipped.
func (t *Tree) List(dir string) ([]Entry, error) {
	h, err := t.SubtreeHash(dir)
	if err != nil || h.IsZero() {
		return nil, err
	}
	d, err := t.dir(dir, h)
	if err != nil {
		return nil, err
	}
	out := make([]Entry, 0, len(d.entries))
	for _, e := range d.entries {
		switch {
		case e.Mode == filemode.Dir:
			out = append(out, Entry{Name: e.Name, IsDir: true, Hash: e.Hash})
		case isFile(e.Mode):
			out = append(out, Entry{Name: e.Name, Hash: e.Hash})
		}
	}
	return out, nil
}

// Files returns the paths of all files under the directory prefix ("" for
// all), sorted bytewise (which is Git's order). A prefix naming a file gives
// just that file; an absent prefix gives none.
func (t *Tree) Files(prefix string) ([]string, error) {
	var out []string
	err := t.Walk(prefix, func(p string, _ plumbing.Hash) error {
		out = append(out, p)
		return nil
	})
	return out, err
}

// Walk calls fn for every file under the directory prefix ("" for all) in
// bytewise path order. Submodule entries are skipped. An error from fn stops
// the walk and is returned.
func (t *Tree) Walk(prefix string, fn func(path string, blob plumbing.Hash) error) error {
	if err := validatePrefix(prefix); err != nil {
		return err
	}
	if prefix == "" {
		if t.root.IsZero() {
			return nil
		}
		return t.walk("", t.root, fn)
	}
	e, err := t.entry(prefix)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	switch {
	case e.Mode == filemode.Dir:
		return t.walk(prefix, e.Hash, fn)
	case isFile(e.Mode):
		return fn(prefix, e.Hash)
	}
	return nil
}

func (t *Tree) walk(dir string, h plumbing.Hash, fn func(string, plumbing.Hash) error) error {
	d, err := t.dir(dir, h)
	if err != nil {
		return err
	}
	for _, e := range d.entries {
		p := join(dir, e.Name)
		switch {
		case e.Mode == filemode.Dir:
			if err := t.walk(p, e.Hash, fn); err != nil {
				return err
			}
		case isFile(e.Mode):
			if err := fn(p, e.Hash); err != nil {
				return err
			}
		}
	}
	return nil
}

// entry finds the tree entry at path.
func (t *Tree) entry(path string) (object.TreeEntry, error) {
	if err := ValidatePath(path); err != nil {
		return object.TreeEntry{}, err
	}
	if t.root.IsZero() {
		return object.TreeEntry{}, fmt.Errorf("%s: %w", path, ErrNotFound)
	}
	dir, h := "", t.root
	parts := strings.Split(path, "/")
	for i, name := range parts {
		d, err := t.dir(dir, h)
		if err != nil {
			return object.TreeEntry{}, err
		}
		e, ok := d.find(name)
		if !ok {
			return object.TreeEntry{}, fmt.Errorf("%s: %w", path, ErrNotFound)
		}
		if i == len(parts)-1 {
			return e, nil
		}
		if e.Mode != filemode.Dir {
			return object.TreeEntry{}, fmt.Errorf("%s: %w (%s is a file)", path, ErrNotFound, join(dir, name))
		}
		dir, h = join(dir, name), e.Hash
	}
	panic("unreachable")
}

func (t *Tree) dir(path string, h plumbing.Hash) (*treeDir, error) {
	if d, ok := t.dirs[path]; ok {
		return d, nil
	}
	entries, err := t.r.treeEntries(h)
	if err != nil {
		return nil, fmt.Errorf("read directory %q: %w", path, err)
	}
	d := newTreeDir(entries)
	t.dirs[path] = d
	return d, nil
}

// treeEntries decodes one tree object.
func (r *Repo) treeEntries(h plumbing.Hash) ([]object.TreeEntry, error) {
	if r.fresh != nil {
		// Trees just packed by a Builder's commit: read them directly.
		content, ok, err := r.freshReader.readPacked(r.fresh, h, plumbing.TreeObject)
		if err != nil {
			return nil, fmt.Errorf("tree %s: %w", h, err)
		}
		if ok {
			o := &plumbing.MemoryObject{}
			o.SetType(plumbing.TreeObject)
			o.Write(content)
			var tr object.Tree
			if err := tr.Decode(o); err != nil {
				return nil, fmt.Errorf("tree %s: %w", h, err)
			}
			return tr.Entries, nil
		}
	}
	o, err := r.st.EncodedObject(plumbing.TreeObject, h)
	if err != nil {
		if errors.Is(err, plumbing.ErrObjectNotFound) {
			return nil, fmt.Errorf("tree %s: %w", h, ErrNotFound)
		}
		return nil, fmt.Errorf("tree %s: %w", h, err)
	}
	var tr object.Tree
	if err := tr.Decode(o); err != nil {
		return nil, fmt.Errorf("tree %s: %w", h, err)
	}
	return tr.Entries, nil
}

func isFile(m filemode.FileMode) bool {
	return m == filemode.Regular || m == filemode.Executable || m == filemode.Symlink || m == filemode.Deprecated
}

func join(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}
