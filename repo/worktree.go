package repo

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/index"
)

// Working tree update.
//
// When Commit moves the branch HEAD points to in a non-bare repository, the
// files that differ between the old and the new tip are written (or removed)
// and only their index entries are replaced, with fresh stat data so Git does
// not need to re-hash them. Files the commit does not touch are never read:
// committing 10 changed files in a 50,000-file tree costs 10 file writes plus
// one decode and encode of the index. go-git's Worktree.Reset(HardReset)
// instead compares the whole worktree with the index; measured on 10,000
// flows × 5 files with 10 changed (see bench_test.go), it took about 3 s per
// update, while this way adds about 0.2 s to Commit. The index is locked with index.lock, as Git itself does, from the
// conflict check until the new index is in place, so a concurrent git command
// fails instead of racing.

// tempFilePrefix starts the name of the temporary file a replaced working
// file is written to before it is renamed into place.
const tempFilePrefix = ".flowsync-tmp-"

// maxConflictsListed bounds the file names an ErrWorktreeConflict lists.
const maxConflictsListed = 20

// branchMove is a prepared branch update: the working tree changes (if any)
// and the held index lock.
type branchMove struct {
	r        *Repo
	changes  []change
	idx      *index.Index
	lock     *os.File // index.lock, nil when there is no worktree to update
	released bool
}

// prepareMove checks that the branch still points to old and, when the
// working tree follows the branch, locks the index and verifies that none of
// the files differing between old and the target tree has local changes.
func (r *Repo) prepareMove(ctx context.Context, name plumbing.ReferenceName, old, targetTree plumbing.Hash) (*branchMove, error) {
	m := &branchMove{r: r}
	cur, err := r.refHash(name)
	if err != nil {
		return nil, err
	}
	if cur != old {
		return nil, fmt.Errorf("%w: %s moved (expected %s, now %s); read the branch again and rebuild",
			ErrConcurrentUpdate, name.Short(), hashOrNone(old), hashOrNone(cur))
	}
	if r.workDir == "" {
		return m, nil
	}
	head, err := r.st.Reference(plumbing.HEAD)
	if err != nil || head.Type() != plumbing.SymbolicReference || head.Target() != name {
		return m, nil // the worktree has another branch (or a detached HEAD) checked out
	}
	oldTree, err := r.commitTree(old)
	if err != nil {
		return nil, err
	}
	if err := r.diffTrees(ctx, oldTree, targetTree, func(c change) error {
		m.changes = append(m.changes, c)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("compare trees for the working tree: %w", err)
	}
	if len(m.changes) == 0 {
		return m, nil
	}
	slices.SortFunc(m.changes, func(a, b change) int { return strings.Compare(a.Path, b.Path) })

	lockPath := filepath.Join(r.gitDir, "index.lock")
	m.lock, err = os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
	if errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("%s exists: another git process seems to be running in %s; if not, remove the file", lockPath, r.workDir)
	}
	if err != nil {
		return nil, fmt.Errorf("lock index: %w", err)
	}
	if m.idx, err = r.readIndex(); err != nil {
		m.release()
		return nil, err
	}
	if err := m.checkConflicts(); err != nil {
		m.release()
		return nil, err
	}
	return m, nil
}

func (r *Repo) readIndex() (*index.Index, error) {
	p := filepath.Join(r.gitDir, "index")
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return &index.Index{Version: 2}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read index: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read index: %w", err)
	}
	idx := &index.Index{ModTime: fi.ModTime()}
	if err := index.NewDecoder(bufio.NewReader(f)).Decode(idx); err != nil {
		return nil, fmt.Errorf("read index %s: %w", p, err)
	}
	return idx, nil
}

// checkConflicts refuses when a path the move touches has staged or unstaged
// changes, or when an untracked file stands where a new file goes.
func (m *branchMove) checkConflicts() error {
	entries := make(map[string]*index.Entry, len(m.idx.Entries))
	for _, e := range m.idx.Entries {
		if e.Stage != 0 {
			entries[e.Name] = &index.Entry{Name: e.Name, Stage: e.Stage} // unmerged: never matches
			continue
		}
		entries[e.Name] = e
	}
	deleted := map[string]bool{}
	for _, c := range m.changes {
		if !c.To.exists() {
			deleted[c.Path] = true
		}
	}
	var conflicts []string
	dirOK := map[string]bool{}
	for _, c := range m.changes {
		why, err := m.conflict(c, entries[c.Path])
		if err != nil {
			return err
		}
		if why == "" && c.To.exists() {
			why = m.parentConflict(c.Path, deleted, dirOK)
		}
		if why != "" {
			conflicts = append(conflicts, c.Path+" ("+why+")")
		}
	}
	if len(conflicts) == 0 {
		return nil
	}
	more := ""
	if len(conflicts) > maxConflictsListed {
		more = fmt.Sprintf(" and %d more", len(conflicts)-maxConflictsListed)
		conflicts = conflicts[:maxConflictsListed]
	}
	return fmt.Errorf("%w in %s that this commit would overwrite: %s%s; commit, stash or revert them first",
		ErrWorktreeConflict, m.r.workDir, strings.Join(conflicts, ", "), more)
}

// conflict says why change c would clobber local work ("" if it would not).
func (m *branchMove) conflict(c change, e *index.Entry) (string, error) {
	switch {
	case e != nil && e.Stage != 0:
		return "unmerged", nil
	case c.From.exists() && (e == nil || (e.Hash != c.From.Hash && e.Hash != c.To.Hash)):
		return "staged change", nil
	case !c.From.exists() && e != nil && e.Hash != c.To.Hash:
		return "staged new file", nil
	}
	full := filepath.Join(m.r.workDir, filepath.FromSlash(c.Path))
	fi, err := os.Lstat(full)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		if c.From.exists() && c.To.exists() {
			return "deleted locally", nil
		}
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("check %s: %w", full, err)
	}
	if fi.IsDir() {
		return "is a directory", nil
	}
	if e != nil && c.From.exists() && e.Hash == c.From.Hash && statClean(e, fi, m.idx.ModTime) {
		return "", nil
	}
	h, err := hashWorkFile(full, fi)
	if err != nil {
		return "", fmt.Errorf("check %s: %w", full, err)
	}
	switch {
	case h == c.To.Hash && c.To.exists():
		return "", nil
	case h == c.From.Hash && c.From.exists():
		return "", nil
	case !c.From.exists():
		return "untracked file would be overwritten", nil
	}
	return "modified", nil
}

// parentConflict reports a non-directory standing where a parent directory of
// p must go, unless the move deletes it.
func (m *branchMove) parentConflict(p string, deleted, dirOK map[string]bool) string {
	for dir := parentDir(p); dir != ""; dir = parentDir(dir) {
		if dirOK[dir] {
			return ""
		}
		fi, err := os.Lstat(filepath.Join(m.r.workDir, filepath.FromSlash(dir)))
		switch {
		case err != nil:
			// absent (or unreadable: the write will say so); check higher up
		case fi.IsDir():
			dirOK[dir] = true
			return ""
		case !deleted[dir]:
			return dir + " is a local file"
		}
	}
	return ""
}

func parentDir(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return ""
	}
	return p[:i]
}

// statClean trusts an index entry's stat data, as Git does, only when the
// file was last modified before the index was written (otherwise the entry is
// "racily clean" and the content must be compared).
func statClean(e *index.Entry, fi os.FileInfo, indexTime time.Time) bool {
	if !fi.Mode().IsRegular() || int64(e.Size) != fi.Size()&0xffffffff {
		return false
	}
	if !e.ModifiedAt.Equal(fi.ModTime()) || !fi.ModTime().Before(indexTime) {
		return false
	}
	return sameInode(e, fi)
}

func hashWorkFile(full string, fi os.FileInfo) (plumbing.Hash, error) {
	if fi.Mode()&fs.ModeSymlink != 0 {
		target, err := os.Readlink(full)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		return plumbing.ComputeHash(plumbing.BlobObject, []byte(filepath.ToSlash(target))), nil
	}
	b, err := os.ReadFile(full)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	return plumbing.ComputeHash(plumbing.BlobObject, b), nil
}

// apply writes the changed files and the index; it runs after the branch
// moved.
func (m *branchMove) apply() error {
	if m.lock == nil {
		return nil
	}
	byName := make(map[string]*index.Entry, len(m.idx.Entries))
	for _, e := range m.idx.Entries {
		byName[e.Name] = e
	}
	removed := map[string]bool{}
	for _, c := range m.changes {
		if c.To.exists() {
			continue
		}
		full := filepath.Join(m.r.workDir, filepath.FromSlash(c.Path))
		if err := os.Remove(full); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove %s: %w", full, err)
		}
		m.pruneEmptyDirs(parentDir(c.Path))
		removed[c.Path] = true
	}
	writes := make([]change, 0, len(m.changes))
	for _, c := range m.changes {
		if c.To.exists() {
			writes = append(writes, c)
		}
	}
	stats, err := m.writeFiles(writes)
	if err != nil {
		return err
	}
	for i, c := range writes {
		e := byName[c.Path] // never unmerged: checkConflicts refused those
		if e == nil {
			e = &index.Entry{Name: c.Path}
			byName[c.Path] = e
			m.idx.Entries = append(m.idx.Entries, e)
		}
		e.Hash, e.Mode = c.To.Hash, c.To.Mode
		fillStat(e, stats[i])
	}
	m.idx.Entries = slices.DeleteFunc(m.idx.Entries, func(e *index.Entry) bool { return removed[e.Name] })
	m.idx.Cache = nil // the cached-tree extension would be stale (and is not written anyway)
	return m.writeIndex()
}

// fileWriters is how many goroutines write working files. File creation is
// syscall-bound, so a few writers overlap it even on two cores; the index
// update stays in one goroutine, in path order.
const fileWriters = 4

// writeFiles writes the files of writes (sorted by path) and returns their
// stat data in the same order. Parent directories are created first, in this
// goroutine, each once; the files are then written concurrently.
func (m *branchMove) writeFiles(writes []change) ([]os.FileInfo, error) {
	made := map[string]bool{"": true}
	for _, c := range writes {
		dir := parentDir(c.Path)
		if made[dir] {
			continue
		}
		full := filepath.Join(m.r.workDir, filepath.FromSlash(dir))
		if err := os.MkdirAll(full, 0o777); err != nil {
			return nil, fmt.Errorf("write %s: %w", filepath.Join(m.r.workDir, filepath.FromSlash(c.Path)), err)
		}
		for ; !made[dir]; dir = parentDir(dir) {
			made[dir] = true
		}
	}

	stats := make([]os.FileInfo, len(writes))
	errs := make([]error, len(writes))
	jobs := make(chan int)
	var failed atomic.Bool
	var readMu sync.Mutex // go-git's storage is not safe for concurrent use
	var wg sync.WaitGroup
	for range min(fileWriters, len(writes)) {
		wg.Go(func() {
			var or objectReader
			for i := range jobs {
				if failed.Load() {
					continue
				}
				c := writes[i]
				stats[i], errs[i] = m.writeFile(c.Path, c.From.exists(), c.To, func(h plumbing.Hash) ([]byte, error) {
					if b, ok, err := or.readPacked(m.r.fresh, h, plumbing.BlobObject); ok || err != nil {
						return b, err
					}
					if b, ok, err := or.readLoose(m.r.loosePath(h), plumbing.BlobObject); ok || err != nil {
						return b, err
					}
					readMu.Lock()
					defer readMu.Unlock()
					return m.r.ReadBlob(context.Background(), h)
				})
				if errs[i] != nil {
					failed.Store(true)
				}
			}
		})
	}
	for i := range writes {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return stats, nil
}

// writeFile writes one file of the new tree, whose parent directory exists,
// and returns its stat data. A path that was not tracked before is created
// directly (nothing can observe a partial file where none was expected);
// one that replaces a tracked file is written to a temporary file that is
// renamed into place, so readers see either the old or the new content.
func (m *branchMove) writeFile(p string, tracked bool, s fileState, read func(plumbing.Hash) ([]byte, error)) (os.FileInfo, error) {
	full := filepath.Join(m.r.workDir, filepath.FromSlash(p))
	if s.Mode == filemode.Submodule {
		if err := os.MkdirAll(full, 0o777); err != nil {
			return nil, fmt.Errorf("write %s: %w", full, err)
		}
		return os.Lstat(full)
	}
	content, err := read(s.Hash)
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", full, err)
	}
	if s.Mode == filemode.Symlink {
		_ = os.Remove(full)
		if err := os.Symlink(string(content), full); err != nil {
			return nil, fmt.Errorf("write %s: %w", full, err)
		}
		return os.Lstat(full)
	}
	perm := os.FileMode(0o666)
	if s.Mode == filemode.Executable {
		perm = 0o777
	}
	// OpenFile (not CreateTemp) so the process umask applies to perm, as
	// for files Git checks out.
	if !tracked {
		f, err := os.OpenFile(full, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
		if err == nil {
			fi, err := writeAndStat(f, content)
			if err != nil {
				os.Remove(full)
				return nil, fmt.Errorf("write %s: %w", full, err)
			}
			return fi, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("write %s: %w", full, err)
		}
		// An untracked file with the same content (checkConflicts allowed
		// it): replace it like a tracked one.
	}
	tmp := filepath.Join(filepath.Dir(full), tempFilePrefix+randomToken())
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", full, err)
	}
	_, err = f.Write(content)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, full)
	}
	if err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("write %s: %w", full, err)
	}
	// Stat again: rename may change the ctime the index records.
	fi, err := os.Lstat(full)
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", full, err)
	}
	return fi, nil
}

// writeAndStat writes content to f, closes it and returns its stat data,
// taken from the open file after the last write (as Git does), which saves
// a second lookup of the path when the file is created in place.
func writeAndStat(f *os.File, content []byte) (os.FileInfo, error) {
	if _, err := f.Write(content); err != nil {
		f.Close()
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	return fi, nil
}

// pruneEmptyDirs removes dir and its parents while they are empty, as Git
// does when a directory's last tracked file goes.
func (m *branchMove) pruneEmptyDirs(dir string) {
	for ; dir != ""; dir = parentDir(dir) {
		if os.Remove(filepath.Join(m.r.workDir, filepath.FromSlash(dir))) != nil {
			return // not empty (or already gone)
		}
	}
}

// writeIndex encodes the index into the held index.lock and renames it into
// place, which also releases the lock.
func (m *branchMove) writeIndex() error {
	w := bufio.NewWriter(m.lock)
	if err := index.NewEncoder(w).Encode(m.idx); err != nil {
		return fmt.Errorf("write index: %w", err)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write index: %w", err)
	}
	if err := m.lock.Close(); err != nil {
		return fmt.Errorf("write index: %w", err)
	}
	if err := os.Rename(m.lock.Name(), filepath.Join(m.r.gitDir, "index")); err != nil {
		return fmt.Errorf("write index: %w", err)
	}
	m.released = true
	return nil
}

// release drops the index lock if the move did not complete.
func (m *branchMove) release() {
	if m == nil || m.lock == nil || m.released {
		return
	}
	m.released = true
	m.lock.Close()
	os.Remove(m.lock.Name())
}
