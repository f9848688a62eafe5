package odb

import (
	"fmt"
	"slices"

	"github.com/go-git/go-git/v5/plumbing"
)

const (
	// PackThreshold is the number of new objects from which a Batch writes a
	// pack instead of loose objects (Git's fetch.unpackLimit default).
	// Creating one file per object is what made a first export of 10,000
	// flows (about 60,000 objects) slow: the kernel's file creation
	// dominated.
	PackThreshold = 100
	// packMemLimit caps the bytes a Batch holds in memory before the
	// threshold is reached; past it the pack is started early.
	packMemLimit = 8 << 20
)

// Batch holds the objects of one build that are not yet visible in the
// store. Flush makes them visible together; Discard drops them.
type Batch struct {
	s        *Store
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

// Begin starts a batch. It first reloads the list of packs, so objects that
// another writer packed meanwhile are not written again.
func (s *Store) Begin() *Batch {
	s.refresh()
	return &Batch{s: s, seen: map[plumbing.Hash]struct{}{}}
}

// Has reports whether the batch holds h (it may also be in the store).
func (b *Batch) Has(h plumbing.Hash) bool {
	_, ok := b.seen[h]
	return ok
}

// Add stores an object of type t (h its hash) unless the batch or the store
// has it. content is copied or written out before Add returns. After an
// error the batch is empty and every later call fails with that error.
func (b *Batch) Add(t plumbing.ObjectType, content []byte, h plumbing.Hash) error {
	if b.err != nil {
		return b.err
	}
	if b.Has(h) || b.s.mayHave(h) {
		return nil
	}
	b.seen[h] = struct{}{}
	if b.pw == nil {
		b.mem = append(b.mem, pendingObject{t: t, content: slices.Clone(content), h: h})
		b.memBytes += len(content)
		if len(b.mem) < PackThreshold && b.memBytes < packMemLimit {
			return nil
		}
		pw, err := newPackWriter(b.s.packDir())
		if err != nil {
			return b.fail(err)
		}
		b.pw = pw
		for _, o := range b.mem {
			if err := pw.add(o.t, o.content, o.h); err != nil {
				return b.fail(err)
			}
		}
		b.mem, b.memBytes = nil, 0
		return nil
	}
	if err := b.pw.add(t, content, h); err != nil {
		return b.fail(err)
	}
	return nil
}

// fail drops what the batch holds and makes err sticky.
func (b *Batch) fail(err error) error {
	b.Discard()
	b.err = fmt.Errorf("%w (nothing of this build was committed; fix the cause and run again)", err)
	return b.err
}

// Flush makes every object of the batch visible in the store: loose objects
// for a small batch, a finished pack otherwise. For a pack it returns a
// reader of it (the caller closes it), nil otherwise; readers that cache the
// list of packs (go-git's storage) must reload it. The batch is empty
// afterwards and may be used again.
func (b *Batch) Flush() (*Pack, error) {
	if b.err != nil {
		return nil, b.err
	}
	defer func() { b.seen = map[plumbing.Hash]struct{}{} }()
	if b.pw == nil {
		for _, o := range b.mem {
			if err := b.s.Write(o.t, o.content, o.h); err != nil {
				return nil, b.fail(err)
			}
		}
		b.mem, b.memBytes = nil, 0
		return nil, nil
	}
	pw := b.pw
	b.pw = nil
	p, err := pw.finish()
	if err != nil {
		return nil, b.fail(err)
	}
	b.s.refresh()
	return p, nil
}

// Discard drops the batch; a started pack file is removed.
func (b *Batch) Discard() {
	if b.pw != nil {
		b.pw.abort()
		b.pw = nil
	}
	b.mem, b.memBytes = nil, 0
	b.seen = map[plumbing.Hash]struct{}{}
}
