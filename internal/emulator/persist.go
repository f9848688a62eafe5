package emulator

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// persist writes the state file when the state changed since the last
// write. Writes are serialized and versioned, so a slow writer never puts
// an older state over a newer one.
func (s *Server) persist() error {
	if s.opts.StateFile == "" {
		return nil
	}
	s.persistMu.Lock()
	defer s.persistMu.Unlock()
	s.mu.RLock()
	v := s.version
	if v == s.persisted {
		s.mu.RUnlock()
		return nil
	}
	snap := s.st.dump(s.Now())
	s.mu.RUnlock()
	b, err := json.MarshalIndent(snap, "", "  ")
	if err != nil {
		return fmt.Errorf("encode emulator state: %w", err)
	}
	if err := writeAtomic(s.opts.StateFile, append(b, '\n')); err != nil {
		return err
	}
	s.persisted = v
	return nil
}

// Flush writes any state change not yet in the state file. The server
// writes after every mutation already; Flush is for shutdown paths.
func (s *Server) Flush() error { return s.persist() }

// writeAtomic replaces path with data through a temporary file in the same
// directory and a rename, so that readers see the old or the new state,
// never half of one. There is no fsync: the rename protects against the
// emulator dying mid-write, and an emulator's state is not worth a disk
// flush on every mutation.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write emulator state %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write emulator state %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write emulator state %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write emulator state %s: %w", path, err)
	}
	return nil
}
