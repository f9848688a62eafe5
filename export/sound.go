package export

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"

	"github.com/go-git/go-git/v5/plumbing"
)

// soundFile names the cache of definition.json blobs an incremental run has
// found sound, in the repository's Git directory beside flowsync's other
// local state (the import journals).
const soundFile = "flowsync/sound-definitions"

// soundCache remembers, by blob hash, the stored definitions that passed
// storedSound. A blob's hash names its bytes, so a definition found sound
// once is sound for good, and the next incremental run need not inflate and
// re-render it: on a large backup that check is most of an incremental
// run's work. A hand edit or a corruption makes a new blob, which is checked
// in full. The cache is local and only a shortcut: a missing or damaged file
// is an empty cache, and a file that cannot be written costs the next run
// time, never correctness.
type soundCache struct {
	path  string
	known map[plumbing.Hash]bool
	// seen are the hashes found sound in this run: the next file holds
	// these only, so it never grows beyond the flows of the backup.
	seen map[plumbing.Hash]bool
}

// loadSoundCache reads the cache of the repository whose Git directory is
// gitDir.
func loadSoundCache(gitDir string) *soundCache {
	c := &soundCache{path: filepath.Join(gitDir, filepath.FromSlash(soundFile)), known: map[plumbing.Hash]bool{}, seen: map[plumbing.Hash]bool{}}
	data, err := os.ReadFile(c.path)
	if err != nil {
		return c
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if _, err := hex.DecodeString(line); err == nil && len(line) == 2*len(plumbing.ZeroHash) {
			c.known[plumbing.NewHash(line)] = true
		}
	}
	return c
}

// has reports whether h was found sound by an earlier run, and keeps it for
// the next one.
func (c *soundCache) has(h plumbing.Hash) bool {
	if c.known[h] {
		c.seen[h] = true
		return true
	}
	return false
}

// add records that h was found sound in this run.
func (c *soundCache) add(h plumbing.Hash) { c.seen[h] = true }

// save writes the hashes seen in this run, atomically (temporary file and
// rename), so a killed run leaves the previous cache or the new one.
func (c *soundCache) save() error {
	hashes := make([]string, 0, len(c.seen))
	for h := range c.seen {
		hashes = append(hashes, h.String())
	}
	slices.Sort(hashes)
	var buf bytes.Buffer
	for _, h := range hashes {
		buf.WriteString(h)
		buf.WriteByte('\n')
	}
	if err := os.MkdirAll(filepath.Dir(c.path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(c.path), ".sound-*")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(buf.Bytes())
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), c.path)
	}
	if werr != nil {
		os.Remove(tmp.Name())
	}
	return werr
}
