package repo

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/index"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Working tree repair.
//
// Commit moves the branch first and then writes the working files and the
// index (see worktree.go). A run killed in between, or one whose files could
// not be written (read-only files, a full disk), leaves the branch ahead of
// the working tree: index.lock stays behind, the index still describes the
// old tip, and some files are new, some old, some missing. Git then shows
// staged changes nobody made, and the next Commit refuses because of the
// lock. RepairWorktree, run at the start of the next export, brings such
// paths back in step with the branch.
//
// It only rewrites what an export wrote: a path whose working file and index
// entry hold content the branch itself had (at its tip or in its recent
// history) or nothing. A file with content the branch never had is someone's
// local work and is left alone (Commit then refuses to overwrite it, as
// before).

// repairHistory is how many first-parent commits back RepairWorktree looks
// for a file's content to decide that an export wrote it. A failed working
// tree update leaves the content of the commit before the tip; a few more
// cover runs that failed in a row.
const repairHistory = 16

// WorktreeRepair says what RepairWorktree did.
type WorktreeRepair struct {
	// RemovedIndexLock: an index.lock left by a killed run was removed.
	RemovedIndexLock bool `json:"removedIndexLock,omitempty"`
	// Restored lists the paths whose working file or index entry was brought
	// back in step with the branch, sorted.
	Restored []string `json:"restored,omitempty"`
	// Local lists paths under the given prefixes that hold local changes
	// (content the branch never had); they were left alone.
	Local []string `json:"local,omitempty"`
}

// Repaired reports whether anything was changed.
func (w WorktreeRepair) Repaired() bool { return w.RemovedIndexLock || len(w.Restored) > 0 }

// RepairWorktree brings the working files and index entries under prefixes
// (paths such as "environments" or "flowsync.json") back in step with branch
// when the working tree has it checked out; otherwise it does nothing. The
// caller holds the repository lock (Lock).
//
// An index.lock is removed only when Lock took over the lock of a flowsync
// run that died: that run may have been killed while it held index.lock.
// Otherwise a git command may be running, and the error says which file to
// delete once none is.
func (r *Repo) RepairWorktree(ctx context.Context, branch string, prefixes []string) (WorktreeRepair, error) {
	var rep WorktreeRepair
	if r.workDir == "" {
		return rep, nil
	}
	name, err := r.branchRef(branch)
	if err != nil {
		return rep, err
	}
	head, err := r.st.Reference(plumbing.HEAD)
	if err != nil || head.Type() != plumbing.SymbolicReference || head.Target() != name {
		return rep, nil // another branch (or a detached HEAD) is checked out
	}
	tip, err := r.refHash(name)
	if err != nil {
		return rep, err
	}

	lockPath := filepath.Join(r.gitDir, "index.lock")
	lock, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
	if errors.Is(err, fs.ErrExist) {
		if !r.tookOverStaleLock {
			return rep, fmt.Errorf("%w: %s exists: a git command is running in %s, or one was killed; "+
				"when none is running, delete the file and run again", ErrWorktreeSync, lockPath, r.workDir)
		}
		// The flowsync run that held the repository lock died; the index
		// lock is its leftover.
		if err := os.Remove(lockPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return rep, fmt.Errorf("remove stale %s: %w", lockPath, err)
		}
		rep.RemovedIndexLock = true
		lock, err = os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
	}
	if err != nil {
		return rep, fmt.Errorf("lock index of %s: %w", r.workDir, err)
	}
	m := &branchMove{r: r, lock: lock}
	defer m.release()
	if m.idx, err = r.readIndex(); err != nil {
		return rep, err
	}

	want, err := r.filesUnder(ctx, tip, prefixes)
	if err != nil {
		return rep, fmt.Errorf("read branch %s: %w", branch, err)
	}
	var history []plumbing.Hash // trees of the tip's recent first parents
	historyRead := false
	generated := func(p string, h plumbing.Hash) (bool, error) {
		if h == want[p].Hash {
			return true, nil
		}
		if !historyRead {
			historyRead = true
			if history, err = r.firstParentTrees(tip, repairHistory); err != nil {
				return false, err
			}
		}
		for _, t := range history {
			if e, err := r.lookupEntry(t, p); err == nil && e.Hash == h {
				return true, nil
			} else if err != nil && !errors.Is(err, ErrNotFound) {
				return false, err
			}
		}
		return false, nil
	}

	stage0 := map[string]*index.Entry{}
	unmerged := map[string]bool{}
	paths := make([]string, 0, len(want))
	for p := range want {
		paths = append(paths, p)
	}
	for _, e := range m.idx.Entries {
		if !underAny(e.Name, prefixes) {
			continue
		}
		if e.Stage != 0 {
			unmerged[e.Name] = true
		} else {
			stage0[e.Name] = e
		}
		if _, ok := want[e.Name]; !ok {
			paths = append(paths, e.Name)
		}
	}
	slices.Sort(paths)
	paths = slices.Compact(paths)

	parentOK := map[string]bool{}
	for _, p := range paths {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		if unmerged[p] {
			rep.Local = append(rep.Local, p) // a merge in progress is someone's work
			continue
		}
		t, e := want[p], stage0[p]
		if throughLink(r.workDir, p, parentOK) {
			// A parent replaced by a symlink (or a file): writing there would
			// follow the link out of the working tree. Git refuses such paths
			// too ("beyond a symbolic link"); Commit then names the conflict.
			rep.Local = append(rep.Local, p)
			continue
		}
		full := filepath.Join(r.workDir, filepath.FromSlash(p))
		fi, err := os.Lstat(full)
		missing := errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
		if err != nil && !missing {
			return rep, fmt.Errorf("check %s: %w", full, err)
		}
		if !missing && fi.IsDir() {
			rep.Local = append(rep.Local, p)
			continue
		}
		inStep := t.exists() && e != nil && e.Hash == t.Hash && e.Mode == t.Mode && !missing
		if inStep && !statClean(e, fi, m.idx.ModTime) {
			h, err := hashWorkFile(full, fi)
			if err != nil {
				return rep, fmt.Errorf("check %s: %w", full, err)
			}
			inStep = h == t.Hash
		}
		if inStep {
			continue
		}
		// Out of step: repair only what an export wrote.
		ours := true
		if e != nil {
			if ours, err = generated(p, e.Hash); err != nil {
				return rep, err
			}
		}
		if ours && !missing {
			h, err := hashWorkFile(full, fi)
			if err != nil {
				return rep, fmt.Errorf("check %s: %w", full, err)
			}
			if ours, err = generated(p, h); err != nil {
				return rep, err
			}
		}
		if !ours {
			rep.Local = append(rep.Local, p)
			continue
		}
		// From stays empty: writeFile replaces a file that is there anyway.
		m.changes = append(m.changes, change{Path: p, To: t})
		rep.Restored = append(rep.Restored, p)
	}
	if len(m.changes) == 0 && !rep.RemovedIndexLock {
		return rep, nil
	}
	m.removeTempFiles()
	if err := m.apply(); err != nil {
		return rep, fmt.Errorf("%w: bring %s back in step with branch %s: %v; fix the cause (file permissions, disk space) and run again",
			ErrWorktreeSync, r.workDir, branch, err)
	}
	return rep, nil
}

// throughLink reports whether a parent directory of p in the working tree
// workDir is a symlink or another non-directory. It checks from the top
// down, since Lstat follows symlinks in every component but the last.
// Absent parents are fine (they are created). ok caches the directories
// found to be real ones, with real parents.
func throughLink(workDir, p string, ok map[string]bool) bool {
	parts := strings.Split(parentDir(p), "/")
	for i := range parts {
		dir := strings.Join(parts[:i+1], "/")
		if dir == "" || ok[dir] {
			continue
		}
		fi, err := os.Lstat(filepath.Join(workDir, filepath.FromSlash(dir)))
		switch {
		case err != nil:
			return false // absent (or unreadable: the write will say so): nothing below it to follow
		case !fi.IsDir():
			return true
		}
		ok[dir] = true
	}
	return false
}

// removeTempFiles deletes the temporary files a killed working tree update
// left beside the files it was replacing (writeFile's rename source).
func (m *branchMove) removeTempFiles() {
	seen := map[string]bool{}
	for _, c := range m.changes {
		dir := filepath.Join(m.r.workDir, filepath.FromSlash(parentDir(c.Path)))
		if seen[dir] {
			continue
		}
		seen[dir] = true
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), tempFilePrefix) && e.Type().IsRegular() {
				os.Remove(filepath.Join(dir, e.Name()))
			}
		}
	}
}

// filesUnder lists the files of commit under the prefixes, with their blob
// and mode. The zero commit has none.
func (r *Repo) filesUnder(ctx context.Context, commit plumbing.Hash, prefixes []string) (map[string]fileState, error) {
	out := map[string]fileState{}
	tree, err := r.commitTree(commit)
	if err != nil || tree.IsZero() {
		return out, err
	}
	for _, p := range prefixes {
		e, err := r.lookupEntry(tree, p)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if e.Mode != filemode.Dir {
			out[p] = fileState{Hash: e.Hash, Mode: e.Mode}
			continue
		}
		if err := r.walkFiles(ctx, p, e.Hash, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (r *Repo) walkFiles(ctx context.Context, dir string, tree plumbing.Hash, out map[string]fileState) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	entries, err := r.treeEntries(tree)
	if err != nil {
		return err
	}
	for _, e := range entries {
		p := join(dir, e.Name)
		if e.Mode == filemode.Dir {
			if err := r.walkFiles(ctx, p, e.Hash, out); err != nil {
				return err
			}
			continue
		}
		out[p] = fileState{Hash: e.Hash, Mode: e.Mode}
	}
	return nil
}

// lookupEntry finds the entry at path p in tree (ErrNotFound when absent).
func (r *Repo) lookupEntry(tree plumbing.Hash, p string) (object.TreeEntry, error) {
	cur := object.TreeEntry{Hash: tree, Mode: filemode.Dir}
	for _, name := range strings.Split(p, "/") {
		if cur.Mode != filemode.Dir {
			return object.TreeEntry{}, fmt.Errorf("%s: %w", p, ErrNotFound)
		}
		entries, err := r.treeEntries(cur.Hash)
		if err != nil {
			return object.TreeEntry{}, err
		}
		i := slices.IndexFunc(entries, func(e object.TreeEntry) bool { return e.Name == name })
		if i < 0 {
			return object.TreeEntry{}, fmt.Errorf("%s: %w", p, ErrNotFound)
		}
		cur = entries[i]
	}
	return cur, nil
}

// firstParentTrees returns the root trees of up to n first-parent ancestors
// of commit (not commit itself).
func (r *Repo) firstParentTrees(commit plumbing.Hash, n int) ([]plumbing.Hash, error) {
	var out []plumbing.Hash
	for cur := commit; !cur.IsZero() && len(out) < n; {
		c, err := object.GetCommit(r.st, cur)
		if err != nil {
			return nil, fmt.Errorf("commit %s: %w", cur, err)
		}
		if len(c.ParentHashes) == 0 {
			break
		}
		cur = c.ParentHashes[0]
		t, err := r.commitTree(cur)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// underAny reports whether p is one of the prefixes or below one.
func underAny(p string, prefixes []string) bool {
	for _, pre := range prefixes {
		if p == pre || strings.HasPrefix(p, pre+"/") {
			return true
		}
	}
	return false
}
