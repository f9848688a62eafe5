package repo

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/flowsync/flowsync/repo/internal/odb"
)

// emptyTree is the hash of the tree with no entries.
var emptyTree = plumbing.NewHash("4b825dc642cb6eb9a060e54bf8d69288fbee4904")

// Signature names an author or committer. A zero When means "now".
type Signature struct {
	Name  string
	Email string
	When  time.Time
}

// CommitOptions describe the commit a Builder makes.
type CommitOptions struct {
	Branch    string // required; the branch to move (e.g. "main")
	Message   string // a trailing newline is added when missing
	Author    Signature
	Committer *Signature // nil: same as Author
	// AllowEmpty makes a commit even when the tree did not change.
	AllowEmpty bool
}

// Stats counts files changed by a commit relative to its parent.
type Stats struct {
	Added, Modified, Deleted int
}

// Result is what Commit did. When nothing changed, Commit is the branch tip
// (the Builder's base) and Changed is false.
type Result struct {
	Commit  plumbing.Hash
	Changed bool
	Stats   Stats
}

// Builder accumulates changes to the tree of a base commit and commits them
// once. It records operations as data (path → blob hash, deletions, replaced
// prefixes) rather than bytes, so Rebase can replay them onto another base.
//
// A Builder is used by one goroutine and has no internal locking. After Commit
// or Rebase it takes no further operations (ErrBuilderDone).
type Builder struct {
	r        *Repo
	base     plumbing.Hash // parent of the commit; zero makes a root commit
	baseTree plumbing.Hash
	// expect is what the branch must point to when Commit moves it: the base,
	// or, for a rebased builder, the commit the previous builder made.
	expect plumbing.Hash
	root   *node
	done   bool
	after  plumbing.Hash // branch value after a successful Commit
	// batch holds the objects written by this build until Commit makes them
	// visible (loose, or one pack for a large build; see the odb package).
	batch *odb.Batch
}

// node is one path of the operation trie.
type node struct {
	children map[string]*node
	blob     plumbing.Hash // non-zero: a file is Put here
	// dropBase: whatever the base has at this path is discarded (Delete,
	// ReplaceSubtree); only what was Put below remains.
	dropBase bool
}

func (n *node) child(name string) *node {
	if n.children == nil {
		n.children = map[string]*node{}
	}
	c, ok := n.children[name]
	if !ok {
		c = &node{}
		n.children[name] = c
	}
	return c
}

func (n *node) hasPuts() bool {
	if !n.blob.IsZero() {
		return true
	}
	for _, c := range n.children {
		if c.hasPuts() {
			return true
		}
	}
	return false
}

// NewBuilder starts a build on base, a commit (zero for a first commit).
func (r *Repo) NewBuilder(ctx context.Context, base plumbing.Hash) (*Builder, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	tree, err := r.commitTree(base)
	if err != nil {
		return nil, fmt.Errorf("new builder: base %w", err)
	}
	return &Builder{r: r, base: base, baseTree: tree, expect: base, root: &node{}, batch: r.objects.Begin()}, nil
}

// Base is the commit the build starts from (zero for none).
func (b *Builder) Base() plumbing.Hash { return b.base }

// Put stores content as a regular file (mode 0100644) at path. The blob is
// copied or written out before Put returns, so the caller may reuse or drop
// content at once; only path → hash is kept. Blobs become visible in the
// object store when Commit writes the build's objects (loose, or one pack for
// a large build); Discard drops them.
func (b *Builder) Put(path string, content []byte) error {
	if err := b.checkPut(path); err != nil {
		return err
	}
	h := plumbing.ComputeHash(plumbing.BlobObject, content)
	if err := b.batch.Add(plumbing.BlobObject, content, h); err != nil {
		return fmt.Errorf("put %s: %w", path, err)
	}
	b.setFile(path, h)
	return nil
}

// PutBlob records an existing blob (for example an unchanged file of the base
// tree) at path without reading or rewriting it. hash must name a blob.
func (b *Builder) PutBlob(path string, hash plumbing.Hash) error {
	if err := b.checkPut(path); err != nil {
		return err
	}
	if !b.batch.Has(hash) && !b.r.hasObject(hash) {
		return fmt.Errorf("put %s: blob %s: %w", path, hash, ErrNotFound)
	}
	b.setFile(path, hash)
	return nil
}

// ReplaceSubtree declares that, after this build, the directory prefix holds
// exactly the files Put under it during the build (before or after this
// call); everything else the base had there disappears. "" means the whole
// tree. A prefix with nothing Put under it is removed.
func (b *Builder) ReplaceSubtree(prefix string) error {
	if b.done {
		return ErrBuilderDone
	}
	if err := validatePrefix(prefix); err != nil {
		return fmt.Errorf("replace subtree: %w", err)
	}
	b.walk(prefix).dropBase = true
	return nil
}

// Delete removes the file or directory at path, including anything Put at or
// under it earlier in this build. Later Puts under path still apply.
func (b *Builder) Delete(path string) error {
	if b.done {
		return ErrBuilderDone
	}
	if err := ValidatePath(path); err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	n := b.walk(path)
	n.blob = plumbing.ZeroHash
	n.children = nil
	n.dropBase = true
	return nil
}

// walk returns the trie node for a valid path, creating it ("" is the root).
func (b *Builder) walk(path string) *node {
	n := b.root
	if path == "" {
		return n
	}
	for _, name := range strings.Split(path, "/") {
		n = n.child(name)
	}
	return n
}

// checkPut validates path and that it does not cross a file Put earlier
// (a/b after a, or a after a/b).
func (b *Builder) checkPut(path string) error {
	if b.done {
		return ErrBuilderDone
	}
	if err := ValidatePath(path); err != nil {
		return fmt.Errorf("put: %w", err)
	}
	n := b.root
	parts := strings.Split(path, "/")
	for i, name := range parts[:len(parts)-1] {
		c, ok := n.children[name]
		if !ok {
			return nil
		}
		if !c.blob.IsZero() {
			return fmt.Errorf("put %s: %w: %s was put as a file", path, ErrPathConflict, strings.Join(parts[:i+1], "/"))
		}
		n = c
	}
	if c, ok := n.children[parts[len(parts)-1]]; ok {
		for _, g := range c.children {
			if g.hasPuts() {
				return fmt.Errorf("put %s: %w: files were put under it", path, ErrPathConflict)
			}
		}
	}
	return nil
}

func (b *Builder) setFile(path string, h plumbing.Hash) {
	n := b.walk(path)
	n.blob = h
	n.children = nil
}

// Rebase returns a Builder holding the same operations on newBase. The
// receiver is done afterwards. When the receiver had committed, the new
// Builder's Commit replaces that commit on the branch (the branch must still
// point to it); otherwise it expects the branch where the receiver did.
// Push uses this to rebuild a run's commit on a remote tip that moved.
func (b *Builder) Rebase(ctx context.Context, newBase plumbing.Hash) (*Builder, error) {
	nb, err := b.r.NewBuilder(ctx, newBase)
	if err != nil {
		return nil, fmt.Errorf("rebase onto %s: %w", short(newBase), err)
	}
	nb.root = b.root
	nb.batch, b.batch = b.batch, nb.batch // objects not yet committed go along
	nb.expect = b.expect
	if !b.after.IsZero() {
		nb.expect = b.after
	}
	b.done = true
	return nb, nil
}

// Rebuilder returns a function for PushOptions.Rebuild: each call rebases the
// latest builder (initially b, which must have committed) onto the new tip and
// commits it with opts, returning the new branch tip.
func (b *Builder) Rebuilder(opts CommitOptions) func(ctx context.Context, newTip plumbing.Hash) (plumbing.Hash, error) {
	cur := b
	return func(ctx context.Context, newTip plumbing.Hash) (plumbing.Hash, error) {
		nb, err := cur.Rebase(ctx, newTip)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		cur = nb
		res, err := nb.Commit(ctx, opts)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		return res.Commit, nil
	}
}

// Commit builds the new tree (writing only directories on changed paths),
// makes a commit unless the tree is unchanged (or AllowEmpty), and moves the
// branch from the expected tip to it with a compare-and-swap. In a non-bare
// repository whose HEAD is the branch, the changed working files and their
// index entries are updated too; local changes to those files make Commit
// fail with ErrWorktreeConflict before anything is committed.
func (b *Builder) Commit(ctx context.Context, opts CommitOptions) (res Result, err error) {
	if b.done {
		return Result{}, ErrBuilderDone
	}
	if opts.Branch == "" {
		return Result{}, errors.New("commit: no branch given")
	}
	defer func() {
		if err != nil {
			err = fmt.Errorf("commit to %s: %w", opts.Branch, err)
		}
	}()
	name, err := b.r.branchRef(opts.Branch)
	if err != nil {
		return Result{}, err
	}
	author, committer, err := b.signatures(opts)
	if err != nil {
		return Result{}, err
	}
	// From here on the new trees are read back (diff, working tree) through
	// the pack just written, if any, until Commit returns.
	defer b.r.forgetFresh()
	newTree, err := b.writeTrees(ctx)
	if err != nil {
		return Result{}, err
	}

	target, targetTree := b.base, b.baseTree
	if b.treeChanged(newTree) || opts.AllowEmpty {
		if res.Stats, err = b.r.diffStats(ctx, b.baseTree, newTree); err != nil {
			return Result{}, err
		}
		res.Changed = true
		targetTree = newTree
	}
	if !res.Changed && b.base == b.expect {
		b.done, b.after = true, b.base
		return Result{Commit: b.base}, nil
	}

	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	move, err := b.r.prepareMove(ctx, name, b.expect, targetTree)
	if err != nil {
		return Result{}, err
	}
	defer move.release()

	if res.Changed {
		if target, err = b.writeCommit(newTree, author, committer, opts.Message); err != nil {
			return Result{}, err
		}
	}
	if err := b.r.casRef(name, b.expect, target); err != nil {
		return Result{}, err
	}
	b.done, b.after = true, target
	res.Commit = target
	if err := move.apply(); err != nil {
		return res, fmt.Errorf("commit %s is on branch %s, but %w: %v; run 'git reset --hard' in %s to resync (it discards local changes)",
			short(target), opts.Branch, ErrWorktreeSync, err, b.r.workDir)
	}
	return res, nil
}

// writeTrees builds the new root tree and makes every object of the build
// visible in the store. A pack it writes is kept open as the Repo's fresh
// pack until forgetFresh.
func (b *Builder) writeTrees(ctx context.Context) (plumbing.Hash, error) {
	newTree, err := b.build(ctx, b.root, "", b.baseTree)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	fresh, err := b.batch.Flush()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if fresh != nil {
		// go-git loads pack indexes once; make it see the new pack.
		b.r.st.Reindex()
		b.r.fresh = fresh
	}
	if newTree.IsZero() {
		return b.r.writeTree(nil)
	}
	return newTree, nil
}

// forgetFresh closes the pack a commit just wrote; later reads find it
// through go-git.
func (r *Repo) forgetFresh() {
	if r.fresh != nil {
		r.fresh.Close() // read-only: nothing to report
		r.fresh = nil
	}
}

// treeChanged reports whether newTree differs from the base's tree; an empty
// tree on no base is no change.
func (b *Builder) treeChanged(newTree plumbing.Hash) bool {
	return newTree != b.baseTree && !(b.baseTree.IsZero() && newTree == emptyTree)
}

// writeCommit stores the commit of newTree on the builder's base.
func (b *Builder) writeCommit(newTree plumbing.Hash, author, committer object.Signature, msg string) (plumbing.Hash, error) {
	var parents []plumbing.Hash
	if !b.base.IsZero() {
		parents = []plumbing.Hash{b.base}
	}
	if msg != "" && !strings.HasSuffix(msg, "\n") {
		msg += "\n"
	}
	return b.r.writeCommit(&object.Commit{
		Author: author, Committer: committer, Message: msg,
		TreeHash: newTree, ParentHashes: parents,
	})
}

func (b *Builder) signatures(opts CommitOptions) (author, committer object.Signature, err error) {
	sig := func(role string, s Signature) (object.Signature, error) {
		for _, f := range []struct{ field, v string }{{"name", s.Name}, {"email", s.Email}} {
			if strings.TrimSpace(f.v) == "" {
				return object.Signature{}, fmt.Errorf("%s %s is empty", role, f.field)
			}
			if strings.ContainsAny(f.v, "<>\n\x00") {
				return object.Signature{}, fmt.Errorf("%s %s %q contains '<', '>', a newline or NUL", role, f.field, f.v)
			}
		}
		when := s.When
		if when.IsZero() {
			when = b.r.now()
		}
		return object.Signature{Name: s.Name, Email: s.Email, When: when}, nil
	}
	if author, err = sig("author", opts.Author); err != nil {
		return
	}
	committer = author
	if opts.Committer != nil {
		committer, err = sig("committer", *opts.Committer)
	}
	return
}

// build returns the tree for trie node n applied to the base tree (zero: no
// base). Subtrees without operations are never visited, so their hashes are
// reused; a directory that ends up empty yields the zero hash.
func (b *Builder) build(ctx context.Context, n *node, dir string, base plumbing.Hash) (plumbing.Hash, error) {
	if err := ctx.Err(); err != nil {
		return plumbing.ZeroHash, err
	}
	entries := map[string]object.TreeEntry{}
	if !n.dropBase && !base.IsZero() {
		list, err := b.r.treeEntries(base)
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("base directory %q: %w", dir, err)
		}
		for _, e := range list {
			entries[e.Name] = e
		}
	}
	names := make([]string, 0, len(n.children))
	for name := range n.children {
		names = append(names, name)
	}
	slices.Sort(names) // deterministic error messages
	for _, name := range names {
		c := n.children[name]
		p := join(dir, name)
		cur, has := entries[name]
		if !c.blob.IsZero() {
			if has && cur.Mode == filemode.Dir && !c.dropBase {
				return plumbing.ZeroHash, fmt.Errorf("put %s: %w: it is a directory in the base tree", p, ErrPathConflict)
			}
			entries[name] = object.TreeEntry{Name: name, Mode: filemode.Regular, Hash: c.blob}
			continue
		}
		var childBase plumbing.Hash
		if has && !c.dropBase {
			if cur.Mode != filemode.Dir {
				if c.hasPuts() {
					return plumbing.ZeroHash, fmt.Errorf("put under %s: %w: it is a file in the base tree", p, ErrPathConflict)
				}
				continue // only deletions below a file: nothing to do
			}
			childBase = cur.Hash
		}
		h, err := b.build(ctx, c, p, childBase)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		if h.IsZero() {
			delete(entries, name)
		} else {
			entries[name] = object.TreeEntry{Name: name, Mode: filemode.Dir, Hash: h}
		}
	}
	if len(entries) == 0 {
		return plumbing.ZeroHash, nil
	}
	list := make([]object.TreeEntry, 0, len(entries))
	for _, e := range entries {
		list = append(list, e)
	}
	t, content, h, err := encodeTree(list)
	if err == nil {
		err = b.batch.Add(t, content, h)
	}
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("write directory %q: %w", dir, err)
	}
	return h, nil
}

// Discard drops the objects this build wrote that Commit has not made
// visible yet (a large build's temporary pack file). A Builder that has not
// committed takes no further operations afterwards; after Commit, Discard
// does nothing, so it can be deferred right after NewBuilder.
func (b *Builder) Discard() {
	if b.batch != nil {
		b.batch.Discard()
	}
	if b.after.IsZero() {
		b.done = true
	}
}

// compareEntries orders tree entries as Git does: by name bytes, with a
// directory compared as if its name ended in '/'. So "a.b" < "a/" < "a0",
// while the file "a" sorts before "a.b".
func compareEntries(a, b object.TreeEntry) int {
	n := min(len(a.Name), len(b.Name))
	if c := strings.Compare(a.Name[:n], b.Name[:n]); c != 0 {
		return c
	}
	return cmp.Compare(sortByte(a, n), sortByte(b, n))
}

func sortByte(e object.TreeEntry, i int) int {
	switch {
	case i < len(e.Name):
		return int(e.Name[i])
	case e.Mode == filemode.Dir:
		return '/'
	}
	return -1
}

// encodeTree sorts entries in Git order and encodes the tree.
func encodeTree(entries []object.TreeEntry) (plumbing.ObjectType, []byte, plumbing.Hash, error) {
	slices.SortFunc(entries, compareEntries)
	t := object.Tree{Entries: entries}
	return encodeObject(&t)
}

// writeTree encodes a tree and stores it as a loose object unless the store
// has it already.
func (r *Repo) writeTree(entries []object.TreeEntry) (plumbing.Hash, error) {
	return r.store(encodeTree(entries))
}

func (r *Repo) writeCommit(c *object.Commit) (plumbing.Hash, error) {
	return r.store(encodeObject(c))
}

func (r *Repo) store(t plumbing.ObjectType, content []byte, h plumbing.Hash, err error) (plumbing.Hash, error) {
	if err != nil {
		return plumbing.ZeroHash, err
	}
	return h, r.objects.Write(t, content, h)
}

// encodeObject returns the type, encoded content and hash of a tree or commit.
func encodeObject(e interface {
	Encode(plumbing.EncodedObject) error
}) (plumbing.ObjectType, []byte, plumbing.Hash, error) {
	o := &plumbing.MemoryObject{}
	if err := e.Encode(o); err != nil {
		return 0, nil, plumbing.ZeroHash, err
	}
	rd, err := o.Reader()
	if err != nil {
		return 0, nil, plumbing.ZeroHash, err
	}
	content, err := io.ReadAll(rd)
	if err != nil {
		return 0, nil, plumbing.ZeroHash, err
	}
	return o.Type(), content, o.Hash(), nil
}
