package odb

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"crypto/sha1"
	"encoding/binary"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/idxfile"
)

// Pack writing.
//
// A pack holds whole objects (no deltas), compressed with zlib level 1 as
// the loose objects are. Layout (Git's pack format, version 2):
//
//	"PACK" | version 2 | object count      (12 bytes, count patched at the end)
//	per object: type+size varint | zlib(content)
//	SHA-1 of everything before
//
// The pack is written as objects/pack/tmp_pack_*, so an abandoned build
// leaves only a temporary file (which Discard removes, and 'git gc' would);
// its index (go-git's idxfile encoding of version 2) is written next to it
// and both are renamed into place at the end.

// packWriter streams objects into a temporary pack file.
type packWriter struct {
	dir     string
	tmp     string
	f       *os.File
	bw      *bufio.Writer
	zw      *zlib.Writer
	crc     hash.Hash32
	off     int64 // bytes written so far
	entries []packEntry
	hdr     []byte
}

type packEntry struct {
	h   plumbing.Hash
	off int64
	crc uint32
}

func newPackWriter(dir string) (*packWriter, error) {
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return nil, fmt.Errorf("create pack: %w", err)
	}
	tmp := filepath.Join(dir, "tmp_pack_"+randomName())
	// Read-only once closed, as Git makes packs; this descriptor may still
	// write and read it.
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o444)
	if err != nil {
		return nil, fmt.Errorf("create pack: %w", err)
	}
	pw := &packWriter{dir: dir, tmp: tmp, f: f, crc: crc32.NewIEEE()}
	pw.bw = bufio.NewWriterSize(f, 256*1024)
	// The count is patched in finish.
	if _, err := pw.bw.Write([]byte{'P', 'A', 'C', 'K', 0, 0, 0, 2, 0, 0, 0, 0}); err != nil {
		pw.abort()
		return nil, fmt.Errorf("create pack: %w", err)
	}
	pw.off = 12
	if pw.zw, err = zlib.NewWriterLevel(pw, zlib.BestSpeed); err != nil {
		pw.abort()
		return nil, fmt.Errorf("create pack: %w", err)
	}
	return pw, nil
}

// Write is the sink of the compressor and of entry headers: it counts bytes
// and feeds the current entry's CRC-32.
func (pw *packWriter) Write(p []byte) (int, error) {
	n, err := pw.bw.Write(p)
	pw.off += int64(n)
	pw.crc.Write(p[:n])
	return n, err
}

// packTypeCodes are the object type numbers of the pack format.
var packTypeCodes = map[plumbing.ObjectType]byte{
	plumbing.CommitObject: 1, plumbing.TreeObject: 2, plumbing.BlobObject: 3, plumbing.TagObject: 4,
}

// appendEntryHeader appends a pack entry header: type and size, the size in
// little-endian groups of 4 then 7 bits, the high bit of each byte saying
// another follows.
func appendEntryHeader(dst []byte, code byte, size int) []byte {
	c := code<<4 | byte(size&0x0f)
	size >>= 4
	for size > 0 {
		dst = append(dst, c|0x80)
		c = byte(size & 0x7f)
		size >>= 7
	}
	return append(dst, c)
}

func (pw *packWriter) add(t plumbing.ObjectType, content []byte, h plumbing.Hash) error {
	code, ok := packTypeCodes[t]
	if !ok {
		return fmt.Errorf("pack %s %s: unsupported object type", t, h)
	}
	start := pw.off
	pw.crc.Reset()
	pw.hdr = appendEntryHeader(pw.hdr[:0], code, len(content))
	if _, err := pw.Write(pw.hdr); err != nil {
		return fmt.Errorf("pack %s %s: %w", t, h, err)
	}
	pw.zw.Reset(pw)
	if _, err := pw.zw.Write(content); err != nil {
		return fmt.Errorf("pack %s %s: %w", t, h, err)
	}
	if err := pw.zw.Close(); err != nil {
		return fmt.Errorf("pack %s %s: %w", t, h, err)
	}
	pw.entries = append(pw.entries, packEntry{h: h, off: start, crc: pw.crc.Sum32()})
	return nil
}

// finish completes the pack (count, checksum), writes its index and renames
// both into place, the pack first: Git and go-git find packs through their
// index, so a reader sees both or neither.
func (pw *packWriter) finish() (_ *Pack, err error) {
	defer func() {
		if err != nil {
			pw.abort()
		}
	}()
	if err := pw.bw.Flush(); err != nil {
		return nil, fmt.Errorf("write pack: %w", err)
	}
	var count [4]byte
	binary.BigEndian.PutUint32(count[:], uint32(len(pw.entries)))
	if _, err := pw.f.WriteAt(count[:], 8); err != nil {
		return nil, fmt.Errorf("write pack: %w", err)
	}
	sum := sha1.New()
	if _, err := io.Copy(sum, io.NewSectionReader(pw.f, 0, pw.off)); err != nil {
		return nil, fmt.Errorf("write pack: %w", err)
	}
	var packSum plumbing.Hash
	copy(packSum[:], sum.Sum(nil))
	if _, err := pw.f.WriteAt(packSum[:], pw.off); err != nil {
		return nil, fmt.Errorf("write pack: %w", err)
	}
	// As Git does for packs: the branch will point into this file, so its
	// data must be on disk before the rename makes it part of the store.
	if err := pw.f.Sync(); err != nil {
		return nil, fmt.Errorf("write pack: %w", err)
	}

	idxTmp := filepath.Join(pw.dir, "tmp_idx_"+randomName())
	if err := writeIndex(idxTmp, pw.entries, packSum); err != nil {
		os.Remove(idxTmp)
		return nil, err
	}
	base := filepath.Join(pw.dir, "pack-"+packSum.String())
	if err := os.Rename(pw.tmp, base+".pack"); err != nil {
		os.Remove(idxTmp)
		return nil, fmt.Errorf("write pack: %w", err)
	}
	pw.tmp = ""
	if err := os.Rename(idxTmp, base+".idx"); err != nil {
		os.Remove(idxTmp)
		return nil, fmt.Errorf("write pack index: %w", err)
	}
	return newPack(pw.f, pw.entries, pw.off), nil
}

func (pw *packWriter) abort() {
	pw.f.Close()
	if pw.tmp != "" {
		os.Remove(pw.tmp)
	}
}

// writeIndex writes the version 2 index of a pack holding entries to path,
// with go-git's index builder and encoder.
func writeIndex(path string, entries []packEntry, packSum plumbing.Hash) error {
	var iw idxfile.Writer
	if err := iw.OnHeader(uint32(len(entries))); err != nil {
		return fmt.Errorf("write pack index: %w", err)
	}
	for _, e := range entries {
		iw.Add(e.h, uint64(e.off), e.crc)
	}
	if err := iw.OnFooter(packSum); err != nil {
		return fmt.Errorf("write pack index: %w", err)
	}
	idx, err := iw.Index()
	if err != nil {
		return fmt.Errorf("write pack index: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if err != nil {
		return fmt.Errorf("write pack index: %w", err)
	}
	// The encoder writes field by field; buffer it.
	bw := bufio.NewWriterSize(f, 256*1024)
	if _, err := idxfile.NewEncoder(bw).Encode(idx); err != nil {
		f.Close()
		return fmt.Errorf("write pack index: %w", err)
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("write pack index: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write pack index: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write pack index: %w", err)
	}
	return nil
}

// readIndex decodes a pack index with go-git's decoder, which checks its
// format and checksum. The file is read whole: the decoder reads field by
// field.
func readIndex(path string) (*idxfile.MemoryIndex, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	idx := idxfile.NewMemoryIndex()
	if err := idxfile.NewDecoder(bytes.NewReader(b)).Decode(idx); err != nil {
		return nil, fmt.Errorf("pack index %s: %w", path, err)
	}
	return idx, nil
}
