package odb

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"

	"github.com/go-git/go-git/v5/plumbing"
)

// Pack reads back the objects of a pack this process just wrote (whole
// objects, known offsets), for the working tree update and the diff that
// follow a commit, without going through go-git's generic pack reader.
// ReadAt makes it safe for concurrent use; each goroutine brings its own
// Reader.
type Pack struct {
	f    *os.File
	pos  map[plumbing.Hash]int // index into offs
	offs []int64               // entry offsets in pack order, then the trailer's
}

func newPack(f *os.File, entries []packEntry, end int64) *Pack {
	p := &Pack{f: f, pos: make(map[plumbing.Hash]int, len(entries)), offs: make([]int64, 0, len(entries)+1)}
	for i, e := range entries {
		p.pos[e.h] = i
		p.offs = append(p.offs, e.off)
	}
	p.offs = append(p.offs, end)
	return p
}

// Close closes the pack file. A nil Pack is fine.
func (p *Pack) Close() error {
	if p == nil {
		return nil
	}
	return p.f.Close()
}

// Reader decompresses objects for one goroutine, reusing its buffers. The
// content it returns is valid until its next read. The zero Reader is ready
// to use.
type Reader struct {
	zr  io.ReadCloser
	src bytes.Reader
	raw []byte
	buf bytes.Buffer
}

func (rd *Reader) inflate(compressed []byte) ([]byte, error) {
	rd.src.Reset(compressed)
	if rd.zr == nil {
		zr, err := zlib.NewReader(&rd.src)
		if err != nil {
			return nil, err
		}
		rd.zr = zr
	} else if err := rd.zr.(zlib.Resetter).Reset(&rd.src, nil); err != nil {
		return nil, err
	}
	rd.buf.Reset()
	if _, err := rd.buf.ReadFrom(rd.zr); err != nil {
		return nil, err
	}
	return rd.buf.Bytes(), nil
}

// ReadPacked returns the content of object h of type t from p. ok is false
// (with a nil error) when p is nil or does not hold h.
func (rd *Reader) ReadPacked(p *Pack, h plumbing.Hash, t plumbing.ObjectType) (content []byte, ok bool, err error) {
	if p == nil {
		return nil, false, nil
	}
	i, found := p.pos[h]
	if !found {
		return nil, false, nil
	}
	n := int(p.offs[i+1] - p.offs[i])
	if cap(rd.raw) < n {
		rd.raw = make([]byte, n)
	}
	rd.raw = rd.raw[:n]
	if _, err := p.f.ReadAt(rd.raw, p.offs[i]); err != nil {
		return nil, false, fmt.Errorf("read %s %s from pack: %w", t, h, err)
	}
	code, size, hl := parseEntryHeader(rd.raw)
	if hl == 0 || code != packTypeCodes[t] {
		return nil, false, fmt.Errorf("read %s %s from pack: bad entry header", t, h)
	}
	data, err := rd.inflate(rd.raw[hl:])
	if err != nil || len(data) != size {
		return nil, false, fmt.Errorf("read %s %s from pack: corrupt entry (%v)", t, h, err)
	}
	return data, true, nil
}

// parseEntryHeader decodes a pack entry header; n is 0 when it is truncated.
func parseEntryHeader(b []byte) (code byte, size, n int) {
	if len(b) == 0 {
		return 0, 0, 0
	}
	code = (b[0] >> 4) & 0x07
	size = int(b[0] & 0x0f)
	shift, i := 4, 0
	for b[i]&0x80 != 0 {
		i++
		if i >= len(b) || shift > 56 {
			return 0, 0, 0
		}
		size |= int(b[i]&0x7f) << shift
		shift += 7
	}
	return code, size, i + 1
}

// ReadLoose returns the content of the loose object file at path, which must
// have type t. ok is false (with a nil error) when there is no such file.
func (rd *Reader) ReadLoose(path string, t plumbing.ObjectType) (content []byte, ok bool, err error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read %s: %w", path, err)
	}
	data, err := rd.inflate(raw)
	if err != nil {
		return nil, false, fmt.Errorf("read %s: %w", path, err)
	}
	nul := bytes.IndexByte(data, 0)
	if nul < 0 {
		return nil, false, fmt.Errorf("read %s: no object header", path)
	}
	typ, size, found := bytes.Cut(data[:nul], []byte{' '})
	n, err := strconv.Atoi(string(size))
	if !found || err != nil || string(typ) != t.String() || n != len(data)-nul-1 {
		return nil, false, fmt.Errorf("read %s: bad header %q for a %s", path, data[:nul], t)
	}
	return data[nul+1:], true, nil
}
