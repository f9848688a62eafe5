//go:build !linux

package repo

import (
	"os"

	"github.com/go-git/go-git/v5/plumbing/format/index"
)

// fillStat records size and mtime only; Git refreshes the other stat fields
// (re-reading the file once) on its next status.
func fillStat(e *index.Entry, fi os.FileInfo) {
	e.ModifiedAt = fi.ModTime()
	e.Size = uint32(fi.Size())
}

// sameInode cannot tell without platform stat data, so callers fall back to
// comparing content.
func sameInode(*index.Entry, os.FileInfo) bool { return false }
