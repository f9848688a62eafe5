package repo

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
)

// Batched object writing.
//
// Creating one file per object is what made a first export of 10,000 flows
// (about 60,000 objects) slow: the kernel's file creation dominated. So a
// Builder collects the objects it writes. A small build (fewer than
// packThreshold objects, the usual nightly run that changed a few flows)
// still ends as loose objects, as Git itself unpacks small fetches
// (fetch.unpackLimit). A large one is streamed into one temporary packfile in
// objects/pack, finished with its version 2 index when the Builder's trees
// are built, and only then renamed into place: readers never see a partial
// pack, and an abandoned build leaves only a tmp_pack_* file, which
// Builder.Discard removes (and 'git gc' would).
//
// The pack holds whole objects (no deltas), compressed with zlib level 1 as
// the loose objects are. Layout (Git's pack format, version 2):
//
//	"PACK" | version 2 | object count      (12 bytes, count patched at the end)
//	per object: type+size varint | zlib(content)
//	SHA-1 of everything before
//
// and the index: magic, version 2, 256-entry fan-out, sorted names, CRC-32 of
// each packed entry, 31-bit offsets (with a 64-bit table for the rest), the
// pack's checksum and the index's own SHA-1.

const (
	// packThreshold is the number of new objects from which a build writes a
	// pack instead of loose objects (Git's fetch.unpackLimit default).
	packThreshold = 100
	// packMemLimit caps the bytes held in memory before the threshold is
	// reached; past it the pack is started early.
	packMemLimit = 8 << 20
)

// objectBatch holds the objects a Builder has written and not yet made
// visible in the object store.
type objectBatch struct {
	r        *Repo
	seen     map[plumbing.Hash]struct{} // everything in mem or pw
	mem      []pendingObject            // before the pack is started
	memBytes int
	pw       *packWriter
	// err, once set, is returned by every later call: after a failed write
	// the batch no longer holds every object the build refers to, so the
	// build must not commit.
	err error
}

type pendingObject struct {
	t       plumbing.ObjectType
	content []byte
	h       plumbing.Hash
}

func newObjectBatch(r *Repo) *objectBatch {
	return &objectBatch{r: r, seen: map[plumbing.Hash]struct{}{}}
}

func (ob *objectBatch) has(h plumbing.Hash) bool {
	_, ok := ob.seen[h]
	return ok
}

// add stores an object of type t (h its hash) unless the batch or the store
// has it. content is copied or written before add returns.
func (ob *objectBatch) add(t plumbing.ObjectType, content []byte, h plumbing.Hash) error {
	if ob.err != nil {
		return ob.err
	}
	if ob.has(h) || ob.r.mayHaveObject(h) {
		return nil
	}
	ob.seen[h] = struct{}{}
	if ob.pw == nil {
		ob.mem = append(ob.mem, pendingObject{t: t, content: slices.Clone(content), h: h})
		ob.memBytes += len(content)
		if len(ob.mem) < packThreshold && ob.memBytes < packMemLimit {
			return nil
		}
		pw, err := newPackWriter(ob.r.packDir())
		if err != nil {
			return ob.fail(err)
		}
		ob.pw = pw
		for _, o := range ob.mem {
			if err := pw.add(o.t, o.content, o.h); err != nil {
				return ob.fail(err)
			}
		}
		ob.mem, ob.memBytes = nil, 0
		return nil
	}
	if err := ob.pw.add(t, content, h); err != nil {
		return ob.fail(err)
	}
	return nil
}

// fail drops what the batch holds and makes err sticky.
func (ob *objectBatch) fail(err error) error {
	ob.discard()
	ob.err = fmt.Errorf("%w (nothing of this build was committed; fix the cause and run again)", err)
	return ob.err
}

// flush makes every object of the batch visible in the object store: loose
// objects for a small batch, a finished pack otherwise. For a pack it returns
// a reader of it (the caller closes it), nil otherwise. The batch is empty
// afterwards.
func (ob *objectBatch) flush() (*packReader, error) {
	if ob.err != nil {
		return nil, ob.err
	}
	defer func() { ob.seen = map[plumbing.Hash]struct{}{} }()
	if ob.pw == nil {
		for _, o := range ob.mem {
			if err := ob.r.storeRaw(o.t, o.content, o.h); err != nil {
				return nil, ob.fail(err)
			}
		}
		ob.mem, ob.memBytes = nil, 0
		return nil, nil
	}
	pw := ob.pw
	ob.pw = nil
	pr, err := pw.finish()
	if err != nil {
		return nil, ob.fail(err)
	}
	// go-git loads pack indexes once; make it see the new pack.
	ob.r.st.Reindex()
	ob.r.refreshPacks()
	return pr, nil
}

// discard drops the batch; a started pack file is removed.
func (ob *objectBatch) discard() {
	if ob.pw != nil {
		ob.pw.abort()
		ob.pw = nil
	}
	ob.mem, ob.memBytes = nil, 0
	ob.seen = map[plumbing.Hash]struct{}{}
}

func (r *Repo) packDir() string { return filepath.Join(r.commonDir, "objects", "pack") }

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
	tmp := filepath.Join(dir, "tmp_pack_"+randomToken())
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
func (pw *packWriter) finish() (_ *packReader, err error) {
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

	idxTmp := filepath.Join(pw.dir, "tmp_idx_"+randomToken())
	if err := writePackIndex(idxTmp, pw.entries, packSum); err != nil {
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
	return newPackReader(pw.f, pw.entries, pw.off), nil
}

func (pw *packWriter) abort() {
	pw.f.Close()
	if pw.tmp != "" {
		os.Remove(pw.tmp)
	}
}

// writePackIndex writes a version 2 pack index for entries to path.
func writePackIndex(path string, entries []packEntry, packSum plumbing.Hash) error {
	sorted := slices.Clone(entries)
	slices.SortFunc(sorted, func(a, b packEntry) int { return bytes.Compare(a.h[:], b.h[:]) })

	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if err != nil {
		return fmt.Errorf("write pack index: %w", err)
	}
	sum := sha1.New()
	bw := bufio.NewWriterSize(io.MultiWriter(f, sum), 256*1024)
	u32 := func(v uint32) { bw.Write(binary.BigEndian.AppendUint32(nil, v)) }

	bw.Write([]byte{0xff, 't', 'O', 'c'})
	u32(2)
	var fanout [256]uint32
	for _, e := range sorted {
		fanout[e.h[0]]++
	}
	var total uint32
	for i := range fanout {
		total += fanout[i]
		u32(total)
	}
	for _, e := range sorted {
		bw.Write(e.h[:])
	}
	for _, e := range sorted {
		u32(e.crc)
	}
	var large []int64
	for _, e := range sorted {
		if e.off < 1<<31 {
			u32(uint32(e.off))
			continue
		}
		u32(1<<31 | uint32(len(large)))
		large = append(large, e.off)
	}
	for _, off := range large {
		bw.Write(binary.BigEndian.AppendUint64(nil, uint64(off)))
	}
	bw.Write(packSum[:])
	if err := bw.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("write pack index: %w", err)
	}
	if _, err := f.Write(sum.Sum(nil)); err != nil {
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

// packReader reads back the objects of a pack this process just wrote
// (whole objects, known offsets), for the working tree update and the diff
// that follow a commit, without going through go-git's generic pack reader.
// ReadAt makes it safe for concurrent use; each goroutine brings its own
// objectReader.
type packReader struct {
	f    *os.File
	pos  map[plumbing.Hash]int // index into offs
	offs []int64               // entry offsets in pack order, then the trailer's
}

func newPackReader(f *os.File, entries []packEntry, end int64) *packReader {
	pr := &packReader{f: f, pos: make(map[plumbing.Hash]int, len(entries)), offs: make([]int64, 0, len(entries)+1)}
	for i, e := range entries {
		pr.pos[e.h] = i
		pr.offs = append(pr.offs, e.off)
	}
	pr.offs = append(pr.offs, end)
	return pr
}

func (pr *packReader) close() error {
	if pr == nil {
		return nil
	}
	return pr.f.Close()
}

// objectReader decompresses objects for one goroutine, reusing its buffers.
// The content it returns is valid until its next read.
type objectReader struct {
	zr  io.ReadCloser
	src bytes.Reader
	raw []byte
	buf bytes.Buffer
}

func (or *objectReader) inflate(compressed []byte) ([]byte, error) {
	or.src.Reset(compressed)
	if or.zr == nil {
		zr, err := zlib.NewReader(&or.src)
		if err != nil {
			return nil, err
		}
		or.zr = zr
	} else if err := or.zr.(zlib.Resetter).Reset(&or.src, nil); err != nil {
		return nil, err
	}
	or.buf.Reset()
	if _, err := or.buf.ReadFrom(or.zr); err != nil {
		return nil, err
	}
	return or.buf.Bytes(), nil
}

// readPacked returns the content of object h of type t from pr. ok is false
// (with a nil error) when pr is nil or does not hold h.
func (or *objectReader) readPacked(pr *packReader, h plumbing.Hash, t plumbing.ObjectType) (content []byte, ok bool, err error) {
	if pr == nil {
		return nil, false, nil
	}
	i, found := pr.pos[h]
	if !found {
		return nil, false, nil
	}
	n := int(pr.offs[i+1] - pr.offs[i])
	if cap(or.raw) < n {
		or.raw = make([]byte, n)
	}
	or.raw = or.raw[:n]
	if _, err := pr.f.ReadAt(or.raw, pr.offs[i]); err != nil {
		return nil, false, fmt.Errorf("read %s %s from pack: %w", t, h, err)
	}
	code, size, hl := parseEntryHeader(or.raw)
	if hl == 0 || code != packTypeCodes[t] {
		return nil, false, fmt.Errorf("read %s %s from pack: bad entry header", t, h)
	}
	data, err := or.inflate(or.raw[hl:])
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

// packNames are the sorted object names of one pack, read from its index,
// for existence checks: a binary search instead of go-git's lookup, which
// first tries to open a loose object file.
type packNames struct {
	fanout [256]uint32 // number of names whose first byte is <= i
	names  []byte      // 20 bytes each, sorted
}

var packIndexMagic = []byte{0xff, 't', 'O', 'c'}

// loadPackNames reads the names of a version 2 pack index.
func loadPackNames(path string) (*packNames, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	const namesAt = 8 + 256*4
	if len(b) < namesAt || !bytes.Equal(b[:4], packIndexMagic) || binary.BigEndian.Uint32(b[4:8]) != 2 {
		return nil, fmt.Errorf("%s: not a version 2 pack index", path)
	}
	p := &packNames{}
	for i := range p.fanout {
		p.fanout[i] = binary.BigEndian.Uint32(b[8+4*i:])
		if i > 0 && p.fanout[i] < p.fanout[i-1] {
			return nil, fmt.Errorf("%s: corrupt fan-out table", path)
		}
	}
	n := int(p.fanout[255])
	if len(b) < namesAt+20*n {
		return nil, fmt.Errorf("%s: truncated", path)
	}
	p.names = slices.Clone(b[namesAt : namesAt+20*n])
	return p, nil
}

func (p *packNames) has(h plumbing.Hash) bool {
	var lo uint32
	if h[0] > 0 {
		lo = p.fanout[h[0]-1]
	}
	hi := p.fanout[h[0]]
	for lo < hi {
		mid := lo + (hi-lo)/2
		switch c := bytes.Compare(p.names[mid*20:mid*20+20], h[:]); {
		case c == 0:
			return true
		case c < 0:
			lo = mid + 1
		default:
			hi = mid
		}
	}
	return false
}

// refreshPacks loads the names of every pack in objects/pack that it has
// not loaded yet and forgets those gone. It runs when a Builder starts and
// after one writes a pack. An index it cannot read sets packsPartial.
func (r *Repo) refreshPacks() {
	r.packsLoaded, r.packsPartial = true, false
	ents, err := os.ReadDir(r.packDir())
	if errors.Is(err, fs.ErrNotExist) {
		r.packs = nil
		return
	}
	if err != nil {
		r.packsPartial = true
		return
	}
	next := map[string]*packNames{}
	for _, e := range ents {
		name := e.Name()
		base, ok := strings.CutSuffix(name, ".idx")
		if !ok || !strings.HasPrefix(name, "pack-") {
			continue
		}
		if _, err := os.Stat(filepath.Join(r.packDir(), base+".pack")); err != nil {
			continue // an index without its pack is not in use
		}
		if p, ok := r.packs[name]; ok {
			next[name] = p
			continue
		}
		p, err := loadPackNames(filepath.Join(r.packDir(), name))
		if err != nil {
			r.packsPartial = true
			continue
		}
		next[name] = p
	}
	r.packs = next
}

func (r *Repo) inPacks(h plumbing.Hash) bool {
	for _, p := range r.packs {
		if p.has(h) {
			return true
		}
	}
	return false
}

// readLoose returns the content of the loose object at path, which must have
// type t. ok is false (with a nil error) when there is no such file.
func (or *objectReader) readLoose(path string, t plumbing.ObjectType) (content []byte, ok bool, err error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read %s: %w", path, err)
	}
	data, err := or.inflate(raw)
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
