package repo

import (
	"path/filepath"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/flowsync/flowsync/repo/internal/odb"
)

// objectStore is what Repo and Builder need of the object layer; odb.Store
// writes loose objects and packs straight into objects/ (see the odb
// package). Reading goes through go-git, except for the objects a commit
// has just written (Repo.fresh).
type objectStore interface {
	// Has reports whether the repository has h, by any means.
	Has(h plumbing.Hash) bool
	// Write stores one object now, unless the store has it.
	Write(t plumbing.ObjectType, content []byte, h plumbing.Hash) error
	// Begin starts a batch of objects made visible together by its Flush.
	Begin() *odb.Batch
	// LoosePath is where h is stored when it is a loose object.
	LoosePath(h plumbing.Hash) string
}

var _ objectStore = (*odb.Store)(nil)

func newObjectStore(commonDir string, has func(plumbing.Hash) bool) objectStore {
	return odb.New(filepath.Join(commonDir, "objects"), has)
}

func (r *Repo) hasObject(h plumbing.Hash) bool { return r.objects.Has(h) }

func (r *Repo) loosePath(h plumbing.Hash) string { return r.objects.LoosePath(h) }

// objectReader reads the objects a commit just wrote, loose or in its fresh
// pack, for one goroutine (the working tree writers each have one).
type objectReader struct{ rd odb.Reader }

func (or *objectReader) readPacked(p *odb.Pack, h plumbing.Hash, t plumbing.ObjectType) ([]byte, bool, error) {
	return or.rd.ReadPacked(p, h, t)
}

func (or *objectReader) readLoose(path string, t plumbing.ObjectType) ([]byte, bool, error) {
	return or.rd.ReadLoose(path, t)
}
