package diff

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/flowsync/flowsync/internal/canon"
	"github.com/flowsync/flowsync/internal/model"
	"github.com/flowsync/flowsync/internal/secrets"
)

// resolveFlow replaces the placeholders of d that an import writes
// (definition, connection reference extras; flow.json extra members are
// never sent) in place: by a supplied value when
// values has the placeholder's path, else by what the target holds at the
// same spot, so that an import keeps the target's current secret. It
// returns the paths of placeholders left without a value.
func resolveFlow(d *model.Flow, actual *model.Flow, values secrets.Values) []string {
	var missing []string
	var aDef json.RawMessage
	aConns := map[string]model.ConnectionRef{}
	if actual != nil {
		aDef = actual.Definition
		for _, c := range actual.Connections {
			aConns[c.Key] = c
		}
	}
	d.Definition, missing = resolveDoc(d.Definition, aDef, values, missing)
	for i := range d.Connections {
		c := &d.Connections[i]
		if len(c.Extra) == 0 {
			continue
		}
		extra := make(map[string]json.RawMessage, len(c.Extra))
		for k, v := range c.Extra {
			extra[k], missing = resolveDoc(v, aConns[c.Key].Extra[k], values, missing)
		}
		c.Extra = extra
	}
	slices.Sort(missing)
	return slices.Compact(missing)
}

// resolveDoc resolves one JSON document; a document without placeholders is
// returned unchanged (not even re-encoded).
func resolveDoc(doc, actual json.RawMessage, values secrets.Values, missing []string) (json.RawMessage, []string) {
	if !strings.Contains(string(doc), secrets.PlaceholderPrefix) {
		return doc, missing
	}
	root, err := canon.Parse(doc)
	if err != nil {
		// Not JSON (trees hold canonical JSON, so this is a hand edit gone
		// wrong): nothing can be resolved, and every placeholder is
		// reported rather than written.
		_, paths := splitPlaceholders(string(doc))
		return doc, append(missing, paths...)
	}
	var a *canon.Value
	if len(actual) > 0 {
		a, _ = canon.Parse(actual)
	}
	resolved := resolveValue(root, a, values, nil)
	out, err := root.Encode()
	if err != nil {
		_, paths := splitPlaceholders(string(doc))
		return doc, append(missing, paths...)
	}
	return out, append(missing, resolved...)
}

// resolveValue walks d and a in parallel (a may be nil where the target has
// nothing at that spot).
func resolveValue(d, a *canon.Value, values secrets.Values, missing []string) []string {
	switch d.Kind {
	case canon.Object:
		for _, m := range d.Members {
			missing = resolveValue(m.Value, a.Get(m.Key), values, missing)
		}
	case canon.Array:
		for i, e := range d.Elems {
			var ae *canon.Value
			if a != nil && a.Kind == canon.Array && i < len(a.Elems) {
				ae = a.Elems[i]
			}
			missing = resolveValue(e, ae, values, missing)
		}
	case canon.String:
		if !strings.Contains(d.Str, secrets.PlaceholderPrefix) {
			return missing
		}
		if secrets.IsPlaceholder(d.Str) {
			p := d.Str[len(secrets.PlaceholderPrefix) : len(d.Str)-len(secrets.PlaceholderSuffix)]
			if raw, ok := values[p]; ok {
				if v, err := canon.Parse(raw); err == nil {
					*d = *v
					return missing
				}
			}
			if a != nil {
				*d = *a
				return missing
			}
			return append(missing, p)
		}
		return resolveInString(d, a, values, missing)
	}
	return missing
}

// resolveInString handles placeholders inside a longer string (a sig= in a
// URL): supplied values are spliced in; the rest are taken from the
// target's string when it has the same text around them.
func resolveInString(d, a *canon.Value, values secrets.Values, missing []string) []string {
	lits, paths := splitPlaceholders(d.Str)
	var fromTarget []string
	if a != nil && a.Kind == canon.String {
		fromTarget = matchPattern(lits, a.Str)
	}
	var sb strings.Builder
	sb.WriteString(lits[0])
	for i, p := range paths {
		switch raw, ok := values[p]; {
		case ok && json.Unmarshal(raw, new(string)) == nil:
			var s string
			_ = json.Unmarshal(raw, &s)
			sb.WriteString(s)
		case fromTarget != nil:
			sb.WriteString(fromTarget[i])
		default:
			missing = append(missing, p)
			sb.WriteString(secrets.Placeholder(p))
		}
		sb.WriteString(lits[i+1])
	}
	d.Str = sb.String()
	return missing
}

// splitPlaceholders splits s into len(paths)+1 literal pieces around its
// placeholders.
func splitPlaceholders(s string) (lits, paths []string) {
	for {
		i := strings.Index(s, secrets.PlaceholderPrefix)
		if i < 0 {
			break
		}
		j := strings.Index(s[i:], secrets.PlaceholderSuffix)
		if j < 0 {
			break
		}
		lits = append(lits, s[:i])
		paths = append(paths, s[i+len(secrets.PlaceholderPrefix):i+j])
		s = s[i+j+len(secrets.PlaceholderSuffix):]
	}
	return append(lits, s), paths
}

// matchPattern matches target against the literal pieces with any text in
// each gap and returns the gaps' texts, or nil when target does not have
// the same text around the placeholders. Gaps match as little as possible,
// except the last, which ends where the final literal begins; two adjacent
// placeholders (an empty literal between gaps) cannot be told apart and
// never match.
func matchPattern(lits []string, target string) []string {
	if !strings.HasPrefix(target, lits[0]) {
		return nil
	}
	last := lits[len(lits)-1]
	if !strings.HasSuffix(target, last) || len(target) < len(lits[0])+len(last) {
		return nil
	}
	rest := target[len(lits[0]) : len(target)-len(last)]
	gaps := make([]string, 0, len(lits)-1)
	for _, lit := range lits[1 : len(lits)-1] {
		if lit == "" {
			return nil
		}
		k := strings.Index(rest, lit)
		if k < 0 {
			return nil
		}
		gaps = append(gaps, rest[:k])
		rest = rest[k+len(lit):]
	}
	return append(gaps, rest)
}
