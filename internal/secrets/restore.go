package secrets

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/flowsync/flowsync/internal/canon"
)

// Restore puts values back in place of their placeholders and returns the
// document in canonical form, with the paths of placeholders values has no
// entry for (those stay as they are). It is the inverse of RedactWithValues.
func Restore(doc json.RawMessage, values Values) (json.RawMessage, []string, error) {
	root, err := canon.Parse(doc)
	if err != nil {
		return nil, nil, fmt.Errorf("restore secrets: %w", err)
	}
	missing, err := RestoreValue(root, values)
	if err != nil {
		return nil, nil, err
	}
	out, err := root.Encode()
	if err != nil {
		return nil, nil, fmt.Errorf("restore secrets: %w", err)
	}
	return out, missing, nil
}

// RestoreValue is Restore on a parsed tree, in place.
func RestoreValue(root *canon.Value, values Values) ([]string, error) {
	var missing []string
	err := eachString(root, func(v *canon.Value) error {
		if IsPlaceholder(v.Str) {
			p := placeholderSpans(v.Str)[0].path
			raw, ok := values[p]
			if !ok {
				missing = append(missing, p)
				return nil
			}
			nv, err := canon.Parse(raw)
			if err != nil {
				return fmt.Errorf("restore secret %s: %w", p, err)
			}
			*v = *nv
			return nil
		}
		s, miss, err := splice(v.Str, values)
		if err != nil {
			return err
		}
		v.Str = s
		missing = append(missing, miss...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(missing)
	return slices.Compact(missing), nil
}

// span is a placeholder in a string: s[start:end], naming path.
type span struct {
	start, end int
	path       string
}

// placeholderSpans finds the placeholders in s. A placeholder is the prefix,
// a path and the first '>' after it; when the prefix occurs again before
// that '>', the later one starts the placeholder (paths never hold '<'), so
// text a maker typed that merely starts like one (<redacted:flowsync:abc
// without a '>') cannot swallow a real placeholder after it. Redaction,
// Restore and Placeholders all read placeholders this way.
func placeholderSpans(s string) []span {
	var out []span
	off := 0
	for {
		i := strings.Index(s[off:], PlaceholderPrefix)
		if i < 0 {
			return out
		}
		i += off
		j := strings.Index(s[i+len(PlaceholderPrefix):], PlaceholderSuffix)
		if j < 0 {
			return out
		}
		j += i + len(PlaceholderPrefix)
		if k := strings.LastIndex(s[i:j], PlaceholderPrefix); k > 0 {
			i += k
		}
		out = append(out, span{start: i, end: j + len(PlaceholderSuffix), path: s[i+len(PlaceholderPrefix) : j]})
		off = j + len(PlaceholderSuffix)
	}
}

// splice replaces placeholders inside a longer string by their string values.
func splice(s string, values Values) (string, []string, error) {
	spans := placeholderSpans(s)
	if len(spans) == 0 {
		return s, nil, nil
	}
	var out strings.Builder
	var missing []string
	last := 0
	for _, sp := range spans {
		out.WriteString(s[last:sp.start])
		last = sp.end
		raw, ok := values[sp.path]
		if !ok {
			missing = append(missing, sp.path)
			out.WriteString(s[sp.start:sp.end])
			continue
		}
		var val string
		if err := json.Unmarshal(raw, &val); err != nil {
			return "", nil, fmt.Errorf("restore secret %s: a placeholder inside a string needs a string value", sp.path)
		}
		out.WriteString(val)
	}
	out.WriteString(s[last:])
	return out.String(), missing, nil
}

// Placeholders returns the sorted paths of the placeholders in doc, which is
// how an export learns what a previous export redacted without decrypting
// anything.
func Placeholders(doc json.RawMessage) ([]string, error) {
	root, err := canon.Parse(doc)
	if err != nil {
		return nil, fmt.Errorf("list placeholders: %w", err)
	}
	return PlaceholdersValue(root), nil
}

// PlaceholdersValue is Placeholders on a parsed tree.
func PlaceholdersValue(root *canon.Value) []string {
	var paths []string
	_ = eachString(root, func(v *canon.Value) error {
		for _, sp := range placeholderSpans(v.Str) {
			paths = append(paths, sp.path)
		}
		return nil
	})
	slices.Sort(paths)
	return slices.Compact(paths)
}

func eachString(v *canon.Value, fn func(*canon.Value) error) error {
	switch v.Kind {
	case canon.String:
		return fn(v)
	case canon.Array:
		for _, e := range v.Elems {
			if err := eachString(e, fn); err != nil {
				return err
			}
		}
	case canon.Object:
		for _, m := range v.Members {
			if err := eachString(m.Value, fn); err != nil {
				return err
			}
		}
	}
	return nil
}
