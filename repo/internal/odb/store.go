package odb

import (
	"bufio"
	"compress/zlib"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/idxfile"
)

// Store is the objects directory of one repository.
type Store struct {
	dir string // the objects directory
	// lookup is the repository's general object lookup (go-git's), asked
	// for what the pack indexes loaded here cannot answer: alternates, a
	// pack whose index could not be read.
	lookup func(plumbing.Hash) bool
	dirs   [256]bool // objects/xx directories known to exist

	// packs holds the index of each pack (by index file name), for
	// existence checks without a system call; see refresh.
	packs       map[string]*idxfile.MemoryIndex
	packsLoaded bool
	// packsPartial: some pack index could not be loaded, so existence
	// checks also ask lookup.
	packsPartial bool

	// The compressor and buffer are reused across loose objects: a fresh
	// zlib writer allocates about a megabyte.
	zw  *zlib.Writer
	bw  *bufio.Writer
	hdr []byte
}

// New returns the Store of the objects directory dir. lookup reports whether
// the repository has an object by any means (nil: never); it is asked only
// when the store's own view (pack indexes, loose files) says no.
func New(dir string, lookup func(plumbing.Hash) bool) *Store {
	if lookup == nil {
		lookup = func(plumbing.Hash) bool { return false }
	}
	return &Store{dir: dir, lookup: lookup}
}

// Dir is the objects directory.
func (s *Store) Dir() string { return s.dir }

// Has reports whether the store has h: in a pack (by the indexes loaded),
// loose, or anywhere else lookup finds it.
func (s *Store) Has(h plumbing.Hash) bool { return s.find(h, true) }

// mayHave is Has for writers, without asking lookup when every pack index
// was loaded: a pack appearing since (a concurrent 'git gc') or an object in
// an alternate store only makes a writer store a second copy of an object
// the repository already has, which Git tolerates.
func (s *Store) mayHave(h plumbing.Hash) bool { return s.find(h, s.packsPartial) }

func (s *Store) find(h plumbing.Hash, askLookup bool) bool {
	if !s.packsLoaded {
		s.refresh()
	}
	if s.inPacks(h) {
		return true
	}
	if _, err := os.Lstat(s.LoosePath(h)); err == nil {
		return true
	}
	return askLookup && s.lookup(h)
}

// LoosePath is where h is (or would be) stored as a loose object.
func (s *Store) LoosePath(h plumbing.Hash) string {
	hex := h.String()
	return filepath.Join(s.dir, hex[:2], hex[2:])
}

func (s *Store) packDir() string { return filepath.Join(s.dir, "pack") }

// Write stores an object of type t with the given content (h its hash,
// already computed) as a loose object, unless the store has it. It bypasses
// go-git's object writer for speed (one hash instead of two, zlib level 1);
// go-git keeps no state about loose objects that this would invalidate.
func (s *Store) Write(t plumbing.ObjectType, content []byte, h plumbing.Hash) error {
	if s.mayHave(h) {
		return nil
	}
	final := s.LoosePath(h)
	dir := filepath.Dir(final)
	idx, _ := strconv.ParseUint(h.String()[:2], 16, 8)
	if !s.dirs[idx] {
		if err := os.MkdirAll(dir, 0o777); err != nil {
			return fmt.Errorf("store %s %s: %w", t, h, err)
		}
		s.dirs[idx] = true
	}
	// Created read-only, as Git makes objects, so no chmod is needed; the
	// write works on the descriptor already open.
	tmp := filepath.Join(dir, "tmp_obj_"+randomName())
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if err != nil {
		return fmt.Errorf("store %s %s: %w", t, h, err)
	}
	if err := s.writeZlib(f, t, content); err != nil {
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

// writeZlib compresses one loose object into f, at zlib level 1 (Git's own
// default for loose objects, core.looseCompression).
func (s *Store) writeZlib(f *os.File, t plumbing.ObjectType, content []byte) error {
	if s.zw == nil {
		s.bw = bufio.NewWriterSize(f, 32*1024)
		zw, err := zlib.NewWriterLevel(s.bw, zlib.BestSpeed)
		if err != nil {
			return err
		}
		s.zw = zw
	} else {
		s.bw.Reset(f)
		s.zw.Reset(s.bw)
	}
	s.hdr = fmt.Appendf(s.hdr[:0], "%s %d\x00", t, len(content))
	if _, err := s.zw.Write(s.hdr); err != nil {
		return err
	}
	if _, err := s.zw.Write(content); err != nil {
		return err
	}
	if err := s.zw.Close(); err != nil {
		return err
	}
	return s.bw.Flush()
}

// refresh loads the index of every pack in objects/pack that it has not
// loaded yet and forgets those gone. It runs when a Batch begins and after
// one writes a pack. An index it cannot read sets packsPartial.
func (s *Store) refresh() {
	s.packsLoaded, s.packsPartial = true, false
	ents, err := os.ReadDir(s.packDir())
	if errors.Is(err, fs.ErrNotExist) {
		s.packs = nil
		return
	}
	if err != nil {
		s.packsPartial = true
		return
	}
	next := map[string]*idxfile.MemoryIndex{}
	for _, e := range ents {
		name := e.Name()
		base, ok := strings.CutSuffix(name, ".idx")
		if !ok || !strings.HasPrefix(name, "pack-") {
			continue
		}
		if _, err := os.Stat(filepath.Join(s.packDir(), base+".pack")); err != nil {
			continue // an index without its pack is not in use
		}
		if p, ok := s.packs[name]; ok {
			next[name] = p
			continue
		}
		p, err := readIndex(filepath.Join(s.packDir(), name))
		if err != nil {
			s.packsPartial = true
			continue
		}
		next[name] = p
	}
	s.packs = next
}

func (s *Store) inPacks(h plumbing.Hash) bool {
	for _, p := range s.packs {
		if ok, _ := p.Contains(h); ok {
			return true
		}
	}
	return false
}

func randomName() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}
