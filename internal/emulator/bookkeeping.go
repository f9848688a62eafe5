package emulator

import (
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// requestLogSize bounds the request log (a ring buffer).
const requestLogSize = 2048

// logEntry is one request as GET /_emulator/requests shows it. Query holds
// only parameters known to be harmless; other values are replaced, since a
// URL may carry a signature or a token.
type logEntry struct {
	Seq      uint64    `json:"seq"`
	Time     time.Time `json:"time"`
	Kind     string    `json:"kind"` // api or identity
	Method   string    `json:"method"`
	Path     string    `json:"path"`
	Query    string    `json:"query,omitempty"`
	Identity string    `json:"identity,omitempty"`
	Status   int       `json:"status"` // 0: connection dropped
	// Fault is the injected fault, if any; AppliedStatus is what the
	// operation answered before the fault replaced it.
	Fault         string `json:"fault,omitempty"`
	AppliedStatus int    `json:"appliedStatus,omitempty"`
}

// Stats counts one identity's calls: Calls admitted by the throttle
// (NonGet of them were writes), Throttled refused, and Applied the writes
// whose operation answered 2xx (what OnWrite reports; a write refused with
// 400 counts in NonGet, not here).
type Stats struct {
	Calls     int `json:"calls"`
	NonGet    int `json:"nonGet"`
	Throttled int `json:"throttled"`
	Applied   int `json:"applied"`
}

// bookkeeper holds the request log and per-identity counts under its own
// mutex, so that bookkeeping never takes the state lock.
type bookkeeper struct {
	mu    sync.Mutex
	ring  []logEntry
	next  int
	seq   uint64
	stats map[string]*Stats
}

func newBookkeeper(size int) *bookkeeper {
	return &bookkeeper{ring: make([]logEntry, 0, size), stats: map[string]*Stats{}}
}

func (b *bookkeeper) record(e logEntry) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.seq++
	e.Seq = b.seq
	if len(b.ring) < cap(b.ring) {
		b.ring = append(b.ring, e)
		return
	}
	b.ring[b.next] = e
	b.next = (b.next + 1) % len(b.ring)
}

func (b *bookkeeper) count(identity string, write, throttled bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.stats[identity]
	if s == nil {
		s = &Stats{}
		b.stats[identity] = s
	}
	switch {
	case throttled:
		s.Throttled++
	case write:
		s.Calls++
		s.NonGet++
	default:
		s.Calls++
	}
}

// applied counts a write the operation applied.
func (b *bookkeeper) applied(identity string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.stats[identity]
	if s == nil {
		s = &Stats{}
		b.stats[identity] = s
	}
	s.Applied++
}

// entries returns the log oldest first.
func (b *bookkeeper) entries() []logEntry {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]logEntry, 0, len(b.ring))
	out = append(out, b.ring[b.next:]...)
	out = append(out, b.ring[:b.next]...)
	return out
}

func (b *bookkeeper) snapshotStats() map[string]Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make(map[string]Stats, len(b.stats))
	for k, v := range b.stats {
		out[k] = *v
	}
	return out
}

// Stats returns the per-identity counts GET /_emulator/stats shows, keyed
// "user:<oid>" or "app:<appid>", for in-process tests.
func (s *Server) Stats() map[string]Stats { return s.book.snapshotStats() }

func (b *bookkeeper) reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.ring = b.ring[:0]
	b.next = 0
	b.stats = map[string]*Stats{}
}

// safeParams are query parameters whose values are never secret.
var safeParams = map[string]bool{
	"api-version": true, "$top": true, "$filter": true, "include": true, "$expand": true,
	"includeflowdefinition": true, "$select": true,
}

// safeQuery renders a query with unknown parameters' values replaced.
func safeQuery(q url.Values) string {
	if len(q) == 0 {
		return ""
	}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		for _, v := range q[k] {
			if !safeParams[strings.ToLower(k)] {
				v = "REDACTED"
			}
			parts = append(parts, url.QueryEscape(k)+"="+url.QueryEscape(v))
		}
	}
	return strings.Join(parts, "&")
}
