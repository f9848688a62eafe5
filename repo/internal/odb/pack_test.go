package odb

import (
	"bytes"
	"crypto/sha1"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/idxfile"
)

// TestPackIndexFormat: the index decodes with go-git's reader, including
// offsets past 2 GiB (the 64-bit table), with the right CRCs and checksum.
func TestPackIndexFormat(t *testing.T) {
	var entries []packEntry
	for i := range 300 {
		e := packEntry{h: plumbing.ComputeHash(plumbing.BlobObject, []byte(strconv.Itoa(i))), off: 12 + int64(i)*1000, crc: uint32(i * 7919)}
		if i%50 == 49 {
			e.off = 1<<31 + int64(i) // large offsets
		}
		entries = append(entries, e)
	}
	packSum := plumbing.ComputeHash(plumbing.BlobObject, []byte("pack"))
	path := filepath.Join(t.TempDir(), "x.idx")
	if err := writeIndex(path, entries, packSum); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	idx := idxfile.NewMemoryIndex()
	if err := idxfile.NewDecoder(bytes.NewReader(raw)).Decode(idx); err != nil {
		t.Fatalf("decode: %v", err)
	}
	if n, _ := idx.Count(); n != int64(len(entries)) {
		t.Errorf("count %d, want %d", n, len(entries))
	}
	if !bytes.Equal(idx.PackfileChecksum[:], packSum[:]) {
		t.Errorf("pack checksum %x, want %s", idx.PackfileChecksum, packSum)
	}
	for _, e := range entries {
		off, err := idx.FindOffset(e.h)
		if err != nil || off != e.off {
			t.Errorf("offset of %s = %d, %v; want %d", e.h, off, err, e.off)
		}
		crc, err := idx.FindCRC32(e.h)
		if err != nil || crc != e.crc {
			t.Errorf("crc of %s = %d, %v; want %d", e.h, crc, err, e.crc)
		}
	}
	// The last 20 bytes are the SHA-1 of the rest.
	if got, want := raw[len(raw)-20:], sha1Sum(raw[:len(raw)-20]); !bytes.Equal(got, want) {
		t.Errorf("index checksum %x, want %x", got, want)
	}
}

// TestEntryHeader: the type+size varint round-trips at the byte boundaries.
func TestEntryHeader(t *testing.T) {
	for _, size := range []int{0, 1, 15, 16, 2047, 2048, 1 << 20, 1<<31 + 5, 1 << 40} {
		for code := byte(1); code <= 4; code++ {
			b := appendEntryHeader(nil, code, size)
			gotCode, gotSize, n := parseEntryHeader(append(b, 0x78)) // followed by data
			if gotCode != code || gotSize != size || n != len(b) {
				t.Errorf("size %d code %d: encoded % x, parsed code %d size %d len %d", size, code, b, gotCode, gotSize, n)
			}
		}
	}
	if _, _, n := parseEntryHeader([]byte{0x95, 0x80}); n != 0 {
		t.Errorf("truncated header parsed as %d bytes", n)
	}
}

func sha1Sum(b []byte) []byte {
	s := sha1.Sum(b)
	return s[:]
}

// TestPackNames: the names read back from an index written by this package are
// exactly its objects.
func TestPackNames(t *testing.T) {
	var entries []packEntry
	in := map[plumbing.Hash]bool{}
	for i := range 500 {
		h := plumbing.ComputeHash(plumbing.BlobObject, []byte(strconv.Itoa(i)))
		if i%2 == 0 {
			entries = append(entries, packEntry{h: h, off: int64(12 + i)})
			in[h] = true
		} else {
			in[h] = false
		}
	}
	path := filepath.Join(t.TempDir(), "pack-x.idx")
	if err := writeIndex(path, entries, plumbing.ZeroHash); err != nil {
		t.Fatal(err)
	}
	p, err := readIndex(path)
	if err != nil {
		t.Fatal(err)
	}
	for h, want := range in {
		if got, _ := p.Contains(h); got != want {
			t.Errorf("Contains(%s) = %v, want %v", h, got, want)
		}
	}
	for _, h := range []plumbing.Hash{plumbing.ZeroHash, plumbing.NewHash("ffffffffffffffffffffffffffffffffffffffff")} {
		if ok, _ := p.Contains(h); ok {
			t.Errorf("Contains(%s) = true", h)
		}
	}
	if err := os.WriteFile(path, []byte("not an index"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readIndex(path); err == nil {
		t.Error("readIndex of a non-index: no error")
	}
}
