package pacer

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// historyVersion is the format version of history files.
const historyVersion = 1

// history is the on-disk form of a pacer's recent sends.
type history struct {
	Version     int         `json:"version"`
	Identity    string      `json:"identity"`
	Saved       time.Time   `json:"saved"`
	PausedUntil *time.Time  `json:"pausedUntil,omitempty"`
	Calls       []time.Time `json:"calls"`
	Writes      []time.Time `json:"writes"`
}

// HistoryFileName is the base name of an identity's history file: a hash,
// so the identity never appears in a path.
func HistoryFileName(identity string) string {
	sum := sha256.Sum256([]byte(identity))
	return hex.EncodeToString(sum[:])[:16] + ".json"
}

// DefaultHistoryFile is where an identity's history lives:
// <user cache dir>/flowsync/pacer/<HistoryFileName(identity)>.
func DefaultHistoryFile(identity string) (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("pacer history file: %w", err)
	}
	return filepath.Join(dir, "flowsync", "pacer", HistoryFileName(identity)), nil
}

// load reads cfg.HistoryFile into the windows. Sends older than their
// window or later than now (the clock of the process that wrote them ran
// ahead) are dropped; so is a pause longer than the longest window, which
// no server would ask for.
func (p *Pacer) load() error {
	name := p.cfg.HistoryFile
	if name == "" {
		return nil
	}
	data, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("load pacer history: %w", err)
	}
	var h history
	if err := json.Unmarshal(data, &h); err != nil {
		return fmt.Errorf("load pacer history %s: %w", name, err)
	}
	if h.Version != historyVersion {
		return fmt.Errorf("load pacer history %s: version %d, want %d", name, h.Version, historyVersion)
	}
	if h.Identity != p.cfg.Identity {
		return fmt.Errorf("load pacer history %s: written for another identity", name)
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.clock.Now()
	fill := func(w *window, ts []time.Time) {
		ts = slices.Clone(ts)
		slices.SortFunc(ts, time.Time.Compare)
		for _, t := range ts {
			if !t.After(now) && t.Add(w.span()).After(now) {
				w.add(t)
			}
		}
	}
	fill(&p.calls, h.Calls)
	fill(&p.writes, h.Writes)
	if h.PausedUntil != nil {
		longest := max(p.calls.span(), p.writes.span())
		if u := *h.PausedUntil; u.After(now) && !u.After(now.Add(longest)) {
			p.pausedUntil = u
		}
	}
	return nil
}

// Save writes the sends that still occupy a window to cfg.HistoryFile
// (nothing if it is empty), atomically: a temporary file in the same
// directory, mode 0600, renamed over the old one.
//
// Two processes sharing an identity at the same time do not see each
// other's calls: each paces only its own, the last Save wins, and the
// server's 429 with Retry-After (Pause) is the backstop. Run one flowsync
// per identity at a time to stay under the limits.
func (p *Pacer) Save() error {
	name := p.cfg.HistoryFile
	if name == "" {
		return nil
	}
	p.mu.Lock()
	now := p.clock.Now()
	h := history{
		Version:  historyVersion,
		Identity: p.cfg.Identity,
		Saved:    now.Round(0),
		// Calls still in flight are saved as finishing now; Save normally
		// runs after the last response anyway.
		Calls:  stripMonotonic(p.calls.live(now)),
		Writes: stripMonotonic(p.writes.live(now)),
	}
	if p.pausedUntil.After(now) {
		u := p.pausedUntil.Round(0)
		h.PausedUntil = &u
	}
	p.mu.Unlock()

	data, err := json.MarshalIndent(h, "", "  ")
	if err != nil {
		return fmt.Errorf("save pacer history %s: %w", name, err)
	}
	if err := writeFileAtomic(name, append(data, '\n')); err != nil {
		return fmt.Errorf("save pacer history: %w", err)
	}
	return nil
}

func stripMonotonic(ts []time.Time) []time.Time {
	out := make([]time.Time, len(ts))
	for i, t := range ts {
		out[i] = t.Round(0)
	}
	return out
}

func writeFileAtomic(name string, data []byte) (err error) {
	dir := filepath.Dir(name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".pacer-*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), name)
}
