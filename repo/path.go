package repo

import (
	"fmt"
	"path"
	"strings"
)

// ValidatePath reports whether p may name a file in a stored tree: relative,
// slash-separated, clean, without "..", "." or empty components, without a
// ".git" component in any letter case, and without NUL or backslash. Git
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
		if strings.EqualFold(c, ".git") {
			return pathError("contains a .git component")
		}
	}
	return nil
}

// validatePrefix accepts "" (the whole tree) or a valid path.
func validatePrefix(p string) error {
	if p == "" {
		return nil
	}
	return ValidatePath(p)
}
