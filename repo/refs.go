package repo

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/storage"
)

// refHash reads a branch; zero when absent.
func (r *Repo) refHash(name plumbing.ReferenceName) (plumbing.Hash, error) {
	ref, err := r.st.Reference(name)
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return plumbing.ZeroHash, nil
	}
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("read %s: %w", name, err)
	}
	return ref.Hash(), nil
}

// casRef moves name from old to new only if it still points to old (zero:
// only if it does not exist). go-git compares under an exclusive file lock
// (flock) on the ref file, so two writers through go-git cannot both win;
// creation uses link(2), which fails when the ref appeared meanwhile.
func (r *Repo) casRef(name plumbing.ReferenceName, old, new plumbing.Hash) error {
	conflict := func(cur string) error {
		return fmt.Errorf("%w: %s moved (expected %s, now %s); read the branch again and rebuild",
			ErrConcurrentUpdate, name.Short(), hashOrNone(old), cur)
	}
	if old.IsZero() {
		cur, err := r.refHash(name)
		if err != nil {
			return err
		}
		if !cur.IsZero() {
			return conflict(short(cur))
		}
		err = createExclusive(r.commonDir, filepath.Join(r.commonDir, filepath.FromSlash(name.String())), new.String()+"\n")
		if errors.Is(err, os.ErrExist) {
			return conflict("created")
		}
		if err != nil {
			return fmt.Errorf("create %s: %w", name, err)
		}
		return nil
	}
	// go-git would leave an empty ref file behind if the ref vanished.
	if cur, err := r.refHash(name); err != nil {
		return err
	} else if cur != old {
		return conflict(hashOrNone(cur))
	}
	err := r.st.CheckAndSetReference(plumbing.NewHashReference(name, new), plumbing.NewHashReference(name, old))
	if errors.Is(err, storage.ErrReferenceHasChanged) || errors.Is(err, plumbing.ErrReferenceNotFound) {
		cur, _ := r.refHash(name)
		return conflict(hashOrNone(cur))
	}
	if err != nil {
		return fmt.Errorf("update %s: %w", name, err)
	}
	return nil
}

func hashOrNone(h plumbing.Hash) string {
	if h.IsZero() {
		return "nothing"
	}
	return short(h)
}

// createExclusive creates path with content atomically: readers see either no
// file or the whole content, and it fails with os.ErrExist when path exists.
// The content goes to a temporary file in tmpDir (same file system, outside
// any directory Git scans for refs) that is then hard-linked into place.
func createExclusive(tmpDir, path, content string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o777); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(tmpDir, "flowsync-tmp-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(content); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Link(tmp.Name(), path)
}

func randomToken() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}
