package repo

import (
	"fmt"
	"path"
	"strings"
)

// ValidatePath reports whether p may name a file in a stored tree: relative,
// slash-separated, clean, without "..", "." or empty components, without a
// component that some file system would take for ".git" (see isDotGit), and
// without NUL or backslash. Git
// itself (and fsck --strict) would reject or misinterpret such names, and a
// ".git" component could plant hooks in a clone.
func ValidatePath(p string) error {
	if err := checkPath(p); err != nil {
		return fmt.Errorf("path %q: %w: %s", p, ErrInvalidPath, err.Error())
	}
	return nil
}

type pathError string

func (e pathError) Error() string { return string(e) }

func checkPath(p string) error {
	switch {
	case p == "":
		return pathError("empty")
	case strings.HasPrefix(p, "/"):
		return pathError("absolute")
	case strings.ContainsRune(p, 0):
		return pathError("contains NUL")
	case strings.ContainsRune(p, '\\'):
		return pathError("contains a backslash")
	case path.Clean(p) != p:
		return pathError("not clean (empty, '.' or '..' components, or a trailing slash)")
	}
	for _, c := range strings.Split(p, "/") {
		if c == ".." || c == "." {
			return pathError("contains a '" + c + "' component")
		}
		if isDotGit(c) {
			return pathError("contains a .git component")
		}
	}
	return nil
}

// isDotGit reports whether a path component would name the .git directory
// on some file system, as Git's own checks (and fsck) see it: any letter
// case, NTFS's trailing dots and spaces and its 8.3 short name "git~1", and
// HFS+'s ignored Unicode code points.
func isDotGit(c string) bool {
	c = strings.Map(func(r rune) rune {
		if hfsIgnorable(r) {
			return -1
		}
		return r
	}, c)
	c = strings.TrimRight(c, ". ")
	return strings.EqualFold(c, ".git") || strings.EqualFold(c, "git~1")
}

func hfsIgnorable(r rune) bool {
	switch {
	case r >= 0x200c && r <= 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x206a && r <= 0x206f, r == 0xfeff:
		return true
	}
	return false
}

// validatePrefix accepts "" (the whole tree) or a valid path.
func validatePrefix(p string) error {
	if p == "" {
		return nil
	}
	return ValidatePath(p)
}
