package pacer

import (
	"errors"
	"fmt"
	"slices"
	"sync"
)

// Registry hands out one shared Pacer per identity for the whole process,
// so that every client acting as an identity counts against the same
// windows. It is safe for concurrent use.
type Registry struct {
	base        Config
	historyFile func(identity string) (string, error)

	mu     sync.Mutex
	pacers map[string]*Pacer
	errs   []error
}

// NewRegistry checks base (whose Identity and HistoryFile are ignored) and
// returns an empty registry. historyFile names each identity's history file
// (DefaultHistoryFile, or a test directory); nil disables persistence.
func NewRegistry(base Config, historyFile func(identity string) (string, error)) (*Registry, error) {
	base.Identity, base.HistoryFile = "", ""
	if _, err := base.withDefaults(); err != nil {
		return nil, err
	}
	return &Registry{base: base, historyFile: historyFile, pacers: map[string]*Pacer{}}, nil
}

// For returns the identity's pacer, creating it on first use. A history
// that cannot be found or read is not fatal — the pacer starts empty, as on
// a first run, and the server's 429s correct it — but it is reported by Err.
func (r *Registry) For(identity string) *Pacer {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p, ok := r.pacers[identity]; ok {
		return p
	}
	cfg := r.base
	cfg.Identity = identity
	if r.historyFile != nil {
		name, err := r.historyFile(identity)
		if err != nil {
			r.errs = append(r.errs, fmt.Errorf("pacer history file: %w", err))
		}
		cfg.HistoryFile = name
	}
	p, err := newPacer(cfg)
	if err != nil {
		panic(err) // base was validated by NewRegistry
	}
	if err := p.load(); err != nil {
		r.errs = append(r.errs, err)
	}
	r.pacers[identity] = p
	return p
}

// Err joins the history problems met by For so far, or is nil.
func (r *Registry) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return errors.Join(r.errs...)
}

// SaveAll saves every pacer's history, in identity order, and joins the
// errors.
func (r *Registry) SaveAll() error {
	r.mu.Lock()
	ids := make([]string, 0, len(r.pacers))
	for id := range r.pacers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	ps := make([]*Pacer, len(ids))
	for i, id := range ids {
		ps[i] = r.pacers[id]
	}
	r.mu.Unlock()

	var errs []error
	for _, p := range ps {
		if err := p.Save(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
