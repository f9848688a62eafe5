package repo

import (
	"bufio"
	"compress/zlib"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/go-git/go-git/v5/plumbing"
)

// Loose object writing.
//
// Objects are written as Git writes loose objects: zlib("<type> <size>\0" +
// content) in objects/xx/yyyy…, created as a temporary file in the same
// directory and renamed into place, so readers never see a partial object.
// This bypasses go-git's object writer for speed (one hash instead of two,
// and zlib level 1, which is Git's own default for loose objects,
// core.looseCompression); go-git keeps no state about loose objects that
// this would invalidate. Packed objects are found through go-git. A Builder
// writes loose objects only for a small build; a large one becomes a pack
// (pack.go).

// hasObject reports whether the object store has h: in a pack (by the
// indexes refreshPacks loaded), loose, or anywhere else go-git looks
// (alternates, a pack whose index this package cannot read).
func (r *Repo) hasObject(h plumbing.Hash) bool { return r.findObject(h, true) }

// mayHaveObject is hasObject for storeRaw, without go-git's lookups when
// every pack index was loaded: a pack appearing since (a concurrent git gc)
// or an object in an alternate store only makes storeRaw write a copy of an
// object the repository already has, which Git tolerates.
func (r *Repo) mayHaveObject(h plumbing.Hash) bool { return r.findObject(h, r.packsPartial) }

func (r *Repo) findObject(h plumbing.Hash, askGoGit bool) bool {
	if !r.packsLoaded {
		r.refreshPacks()
	}
	if r.inPacks(h) {
		return true
	}
	if _, err := os.Lstat(r.loosePath(h)); err == nil {
		return true
	}
	return askGoGit && r.st.HasEncodedObject(h) == nil
}

func (r *Repo) loosePath(h plumbing.Hash) string {
	hex := h.String()
	return filepath.Join(r.commonDir, "objects", hex[:2], hex[2:])
}

// storeRaw stores an object of type t with the given content (its hash h
// already computed) unless the store has it.
func (r *Repo) storeRaw(t plumbing.ObjectType, content []byte, h plumbing.Hash) error {
	if r.mayHaveObject(h) {
		return nil
	}
	final := r.loosePath(h)
	dir := filepath.Dir(final)
	idx, _ := strconv.ParseUint(h.String()[:2], 16, 8)
	if !r.objDirs[idx] {
		if err := os.MkdirAll(dir, 0o777); err != nil {
			return fmt.Errorf("store %s %s: %w", t, h, err)
		}
		r.objDirs[idx] = true
	}
	// Created read-only, as Git makes objects, so no chmod is needed; the
	// write works on the descriptor already open.
	tmp := filepath.Join(dir, "tmp_obj_"+randomToken())
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if err != nil {
		return fmt.Errorf("store %s %s: %w", t, h, err)
	}
	if err := r.writeZlib(f, t, content); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("store %s %s: %w", t, h, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("store %s %s: %w", t, h, err)
	}
	if err := os.Rename(tmp, final); err != nil {
		os.Remove(tmp)
		if !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("store %s %s: %w", t, h, err)
		}
	}
	return nil
}

// writeZlib compresses one object into f. The compressor and buffer are
// reused across objects: a fresh zlib writer allocates about a megabyte.
func (r *Repo) writeZlib(f *os.File, t plumbing.ObjectType, content []byte) error {
	if r.zw == nil {
		r.bw = bufio.NewWriterSize(f, 32*1024)
		zw, err := zlib.NewWriterLevel(r.bw, zlib.BestSpeed)
		if err != nil {
			return err
		}
		r.zw = zw
	} else {
		r.bw.Reset(f)
		r.zw.Reset(r.bw)
	}
	r.hdr = fmt.Appendf(r.hdr[:0], "%s %d\x00", t, len(content))
	if _, err := r.zw.Write(r.hdr); err != nil {
		return err
	}
	if _, err := r.zw.Write(content); err != nil {
		return err
	}
	if err := r.zw.Close(); err != nil {
		return err
	}
	return r.bw.Flush()
}
