package repo

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-billy/v5/osfs"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/go-git/go-git/v5/storage/filesystem/dotgit"
)

// DefaultBranch is the initial branch of repositories created by Open.
const DefaultBranch = "main"

// objectCacheSize bounds go-git's decoded-object cache. Its default (96 MiB)
// would let reading every blob of a large export grow the heap by that much.
const objectCacheSize = 16 * cache.MiByte

// maxOpenPacks is how many pack files go-git keeps open between reads.
// Without it every packed object read opens and closes its pack, which made
// reading back 20,000 stored files of an incremental export cost about a
// second; bounded so that a repository of many packs stays far from the
// descriptor limit. Close releases them.
const maxOpenPacks = 16

// OpenOptions says how Open creates a repository that does not exist yet.
// Existing repositories are opened as they are (bare or not).
type OpenOptions struct {
	Bare          bool
	InitialBranch string // default DefaultBranch
}

// Repo is one local Git repository. It is owned by one goroutine (see the
// package documentation).
type Repo struct {
	dir    string // absolute path given to Open
	gitDir string // the directory holding HEAD, the index and the lock
	// commonDir holds objects and shared refs: gitDir, except for a linked
	// worktree.
	commonDir string
	workDir   string    // "" for a bare repository
	objDirs   [256]bool // objects/xx directories known to exist
	// packs holds the object names of each pack (by index file name), for
	// existence checks without a system call; see refreshPacks.
	packs       map[string]*packNames
	packsLoaded bool
	// packsPartial: some pack index could not be loaded, so existence checks
	// also ask go-git.
	packsPartial bool
	zw           *zlib.Writer
	bw           *bufio.Writer
	hdr          []byte
	// fresh is the pack a Builder's commit just wrote, read directly (with
	// freshReader, by the goroutine owning the Repo) until the commit is
	// done; nil otherwise.
	fresh       *packReader
	freshReader objectReader
	st          *filesystem.Storage
	git         *git.Repository

	// Injected for tests; set by Open.
	now      func() time.Time
	pid      int
	hostname func() (string, error)
	alive    func(pid int) bool
	getenv   func(string) string
	// beforePush, when set (tests), runs just before each push attempt.
	beforePush func()

	// created: Open created the repository (RemoveCreated may undo it).
	// createdDir: Open also created its directory.
	created, createdDir bool
	// tookOverStaleLock: Lock removed the lock of a dead flowsync run, which
	// may have left index.lock behind (RepairWorktree).
	tookOverStaleLock bool
}

// Open opens the repository at dir, creating it (and dir) when dir does not
// exist or is an empty directory. A directory holding a .git entry is a
// non-bare repository; one laid out as a Git directory (HEAD, objects/, refs/)
// is bare. Any other non-empty directory is refused with ErrNotRepository.
func Open(ctx context.Context, dir string, opts OpenOptions) (*Repo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("open repository %s: %w", dir, err)
	}
	fi, err := os.Stat(abs)
	switch {
	case errors.Is(err, os.ErrNotExist):
		r, err := create(abs, opts)
		if err == nil {
			r.createdDir = true
		}
		return r, err
	case err != nil:
		return nil, fmt.Errorf("open repository %s: %w", abs, err)
	case !fi.IsDir():
		return nil, fmt.Errorf("open repository %s: %w: it is a file, not a directory", abs, ErrNotRepository)
	}

	if _, err := os.Lstat(filepath.Join(abs, ".git")); err == nil {
		gitDir, err := resolveDotGit(abs)
		if err != nil {
			return nil, fmt.Errorf("open repository %s: %w", abs, err)
		}
		return openAt(abs, gitDir, abs)
	}
	if isGitDir(abs) {
		return openAt(abs, abs, "")
	}
	empty, err := isEmptyDir(abs)
	if err != nil {
		return nil, fmt.Errorf("open repository %s: %w", abs, err)
	}
	if empty {
		return create(abs, opts)
	}
	return nil, fmt.Errorf("open repository %s: %w: the directory is not empty and has no .git; "+
		"use a new or empty directory, or run 'git init' there first", abs, ErrNotRepository)
}

func create(abs string, opts OpenOptions) (*Repo, error) {
	branch := opts.InitialBranch
	if branch == "" {
		branch = DefaultBranch
	}
	ref := plumbing.NewBranchReferenceName(branch)
	if err := ref.Validate(); err != nil {
		return nil, fmt.Errorf("create repository %s: initial branch %q: %w", abs, branch, err)
	}
	if err := os.MkdirAll(abs, 0o777); err != nil {
		return nil, fmt.Errorf("create repository %s: %w", abs, err)
	}
	_, err := git.PlainInitWithOptions(abs, &git.PlainInitOptions{
		InitOptions: git.InitOptions{DefaultBranch: ref},
		Bare:        opts.Bare,
	})
	if err != nil {
		return nil, fmt.Errorf("create repository %s: %w", abs, err)
	}
	var r *Repo
	if opts.Bare {
		r, err = openAt(abs, abs, "")
	} else {
		r, err = openAt(abs, filepath.Join(abs, ".git"), abs)
	}
	if r != nil {
		r.created = true
	}
	return r, err
}

// Created reports whether Open created the repository.
func (r *Repo) Created() bool { return r.created }

// RemoveCreated undoes what Open created when no branch has a commit yet:
// a run that failed before committing (unknown environment, unreachable
// service, bad token) leaves no empty repository behind. It removes the
// directory when Open made it, else only the repository files Open put into
// the empty directory. It reports whether it removed anything; a repository
// Open did not create, or one with commits, is never touched. Call it after
// releasing the lock and closing nothing else.
func (r *Repo) RemoveCreated() (bool, error) {
	if !r.created {
		return false, nil
	}
	refs, err := r.st.IterReferences()
	if err != nil {
		return false, fmt.Errorf("remove %s: %w", r.dir, err)
	}
	hasCommit := false
	_ = refs.ForEach(func(ref *plumbing.Reference) error {
		if ref.Type() == plumbing.HashReference {
			hasCommit = true
		}
		return nil
	})
	refs.Close()
	if hasCommit {
		return false, nil
	}
	if err := r.st.Close(); err != nil {
		return false, fmt.Errorf("remove %s: %w", r.dir, err)
	}
	if r.createdDir {
		if err := os.RemoveAll(r.dir); err != nil {
			return false, fmt.Errorf("remove %s: %w", r.dir, err)
		}
		return true, nil
	}
	// The directory was empty before Open: remove what is in it now.
	ents, err := os.ReadDir(r.dir)
	if err != nil {
		return false, fmt.Errorf("remove %s: %w", r.dir, err)
	}
	for _, e := range ents {
		if err := os.RemoveAll(filepath.Join(r.dir, e.Name())); err != nil {
			return false, fmt.Errorf("remove %s: %w", r.dir, err)
		}
	}
	return true, nil
}

// HasRemote reports whether the repository configures a remote by that name
// with at least one URL.
func (r *Repo) HasRemote(name string) bool {
	rem, err := r.git.Remote(name)
	return err == nil && len(rem.Config().URLs) > 0
}

func openAt(dir, gitDir, workDir string) (*Repo, error) {
	var fs billy.Filesystem = osfs.New(gitDir)
	commonDir := gitDir
	// A linked worktree's git directory keeps objects and refs in a common dir.
	if b, err := os.ReadFile(filepath.Join(gitDir, "commondir")); err == nil {
		commonDir = strings.TrimSpace(string(b))
		if !filepath.IsAbs(commonDir) {
			commonDir = filepath.Join(gitDir, commonDir)
		}
		fs = dotgit.NewRepositoryFilesystem(fs, osfs.New(commonDir))
	}
	st := filesystem.NewStorageWithOptions(fs, cache.NewObjectLRU(objectCacheSize), filesystem.Options{MaxOpenDescriptors: maxOpenPacks})
	var wt billy.Filesystem
	if workDir != "" {
		wt = osfs.New(workDir)
	}
	g, err := git.Open(st, wt)
	if err != nil {
		return nil, fmt.Errorf("open repository %s: %w", dir, err)
	}
	return &Repo{
		dir:       dir,
		gitDir:    gitDir,
		commonDir: commonDir,
		workDir:   workDir,
		st:        st,
		git:       g,
		now:       time.Now,
		pid:       os.Getpid(),
		hostname:  os.Hostname,
		alive:     processAlive,
		getenv:    os.Getenv,
	}, nil
}

// resolveDotGit returns the git directory of a non-bare repository: dir/.git,
// or the directory a ".git" file ("gitdir: …") points to.
func resolveDotGit(dir string) (string, error) {
	p := filepath.Join(dir, ".git")
	fi, err := os.Stat(p)
	if err != nil {
		return "", err
	}
	if fi.IsDir() {
		return p, nil
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return "", err
	}
	line := strings.TrimSpace(string(b))
	target, ok := strings.CutPrefix(line, "gitdir:")
	if !ok {
		return "", fmt.Errorf("%s: %w: .git file has no gitdir line", p, ErrNotRepository)
	}
	target = strings.TrimSpace(target)
	if !filepath.IsAbs(target) {
		target = filepath.Join(dir, target)
	}
	return target, nil
}

// isGitDir reports whether dir looks like a Git directory (what a bare
// repository is): HEAD, objects/ and refs/.
func isGitDir(dir string) bool {
	for _, name := range []string{"objects", "refs"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || !fi.IsDir() {
			return false
		}
	}
	fi, err := os.Stat(filepath.Join(dir, "HEAD"))
	return err == nil && fi.Mode().IsRegular()
}

func isEmptyDir(dir string) (bool, error) {
	f, err := os.Open(dir)
	if err != nil {
		return false, err
	}
	defer f.Close()
	_, err = f.Readdirnames(1)
	if errors.Is(err, io.EOF) {
		return true, nil
	}
	return false, err
}

// Close releases the pack files kept open for reading. The Repo stays
// usable (they are reopened when needed), so a deferred Close is always safe.
func (r *Repo) Close() error {
	if err := r.st.Close(); err != nil {
		return fmt.Errorf("close repository %s: %w", r.dir, err)
	}
	return nil
}

// Dir is the absolute directory given to Open.
func (r *Repo) Dir() string { return r.dir }

// GitDir is the repository's git directory (.git, or the bare repository
// itself), where the lock file lives.
func (r *Repo) GitDir() string { return r.gitDir }

// Bare reports whether the repository has no working tree.
func (r *Repo) Bare() bool { return r.workDir == "" }

// CurrentBranch is the branch HEAD points to (it need not exist yet), or ""
// when HEAD is detached.
func (r *Repo) CurrentBranch() (string, error) {
	head, err := r.st.Reference(plumbing.HEAD)
	if err != nil {
		return "", fmt.Errorf("read HEAD of %s: %w", r.dir, err)
	}
	if head.Type() != plumbing.SymbolicReference || !head.Target().IsBranch() {
		return "", nil
	}
	return head.Target().Short(), nil
}

// Head returns the commit the branch points to, or plumbing.ZeroHash when the
// branch does not exist. An empty branch means the branch HEAD points to.
func (r *Repo) Head(ctx context.Context, branch string) (plumbing.Hash, error) {
	if err := ctx.Err(); err != nil {
		return plumbing.ZeroHash, err
	}
	name, err := r.branchRef(branch)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	ref, err := r.st.Reference(name)
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return plumbing.ZeroHash, nil
	}
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("read branch %s: %w", branch, err)
	}
	if ref.Type() != plumbing.HashReference {
		return plumbing.ZeroHash, fmt.Errorf("read branch %s: is a symbolic reference", branch)
	}
	return ref.Hash(), nil
}

func (r *Repo) branchRef(branch string) (plumbing.ReferenceName, error) {
	if branch == "" {
		cur, err := r.CurrentBranch()
		if err != nil {
			return "", err
		}
		if cur == "" {
			return "", fmt.Errorf("repository %s: HEAD is detached; name a branch", r.dir)
		}
		branch = cur
	}
	name := plumbing.NewBranchReferenceName(branch)
	if err := name.Validate(); err != nil {
		return "", fmt.Errorf("branch %q: %w", branch, err)
	}
	return name, nil
}

// ResolveCommit turns a revision (a full or abbreviated hash, a branch or tag
// name, or an expression such as "main~2") into a commit hash; an unknown
// revision gives an error wrapping ErrNotFound.
func (r *Repo) ResolveCommit(ctx context.Context, rev string) (plumbing.Hash, error) {
	if err := ctx.Err(); err != nil {
		return plumbing.ZeroHash, err
	}
	h, err := r.git.ResolveRevision(plumbing.Revision(rev))
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("resolve %q: %w (%v)", rev, ErrNotFound, err)
	}
	c, err := object.GetCommit(r.st, *h)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("resolve %q: %s is not a commit: %w", rev, h, ErrNotFound)
	}
	return c.Hash, nil
}

// ReadBlob returns the content of a blob.
func (r *Repo) ReadBlob(ctx context.Context, hash plumbing.Hash) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	o, err := r.st.EncodedObject(plumbing.BlobObject, hash)
	if err != nil {
		if errors.Is(err, plumbing.ErrObjectNotFound) {
			return nil, fmt.Errorf("read blob %s: %w", hash, ErrNotFound)
		}
		return nil, fmt.Errorf("read blob %s: %w", hash, err)
	}
	rd, err := o.Reader()
	if err != nil {
		return nil, fmt.Errorf("read blob %s: %w", hash, err)
	}
	defer rd.Close()
	var buf bytes.Buffer
	buf.Grow(int(o.Size()) + bytes.MinRead)
	if _, err := buf.ReadFrom(rd); err != nil {
		return nil, fmt.Errorf("read blob %s: %w", hash, err)
	}
	return buf.Bytes(), nil
}

// ReadFile returns the content of the file at path in commit. A missing path
// (or one naming a directory) gives an error wrapping ErrNotFound.
func (r *Repo) ReadFile(ctx context.Context, commit plumbing.Hash, path string) ([]byte, error) {
	t, err := r.ReadTree(ctx, commit)
	if err != nil {
		return nil, err
	}
	h, err := t.Lookup(path)
	if err != nil {
		return nil, err
	}
	b, err := r.ReadBlob(ctx, h)
	if err != nil {
		return nil, fmt.Errorf("read %s at %s: %w", path, short(commit), err)
	}
	return b, nil
}

// commitTree returns the root tree of a commit; the zero commit has no tree
// (zero hash).
func (r *Repo) commitTree(commit plumbing.Hash) (plumbing.Hash, error) {
	if commit.IsZero() {
		return plumbing.ZeroHash, nil
	}
	c, err := object.GetCommit(r.st, commit)
	if err != nil {
		if errors.Is(err, plumbing.ErrObjectNotFound) {
			return plumbing.ZeroHash, fmt.Errorf("commit %s: %w", commit, ErrNotFound)
		}
		return plumbing.ZeroHash, fmt.Errorf("commit %s: %w", commit, err)
	}
	return c.TreeHash, nil
}

func short(h plumbing.Hash) string { return h.String()[:12] }
