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
			p := v.Str[len(PlaceholderPrefix) : len(v.Str)-len(PlaceholderSuffix)]
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

// splice replaces placeholders inside a longer string by their string values.
func splice(s string, values Values) (string, []string, error) {
	if !strings.Contains(s, PlaceholderPrefix) {
		return s, nil, nil
	}
	var out strings.Builder
	var missing []string
	for {
		i := strings.Index(s, PlaceholderPrefix)
		if i < 0 {
			break
		}
		j := strings.Index(s[i:], PlaceholderSuffix)
		if j < 0 {
			break
		}
		p := s[i+len(PlaceholderPrefix) : i+j]
		out.WriteString(s[:i])
		raw, ok := values[p]
		if !ok {
			missing = append(missing, p)
			out.WriteString(s[i : i+j+len(PlaceholderSuffix)])
		} else {
			var val string
			if err := json.Unmarshal(raw, &val); err != nil {
				return "", nil, fmt.Errorf("restore secret %s: a placeholder inside a string needs a string value", p)
			}
			out.WriteString(val)
		}
		s = s[i+j+len(PlaceholderSuffix):]
	}
	out.WriteString(s)
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
		s := v.Str
		for {
			i := strings.Index(s, PlaceholderPrefix)
			if i < 0 {
				break
			}
			j := strings.Index(s[i:], PlaceholderSuffix)
			if j < 0 {
				break
			}
			paths = append(paths, s[i+len(PlaceholderPrefix):i+j])
			s = s[i+j+len(PlaceholderSuffix):]
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
