package export

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/safetext"
)

// ResolveEnvironments picks the environments named in wanted out of the
// listing. Each entry may be an environment name (Default-<tenant>, a GUID)
// or a display name (case-insensitive). A name that matches nothing, or a
// display name that matches more than one environment, is an error that
// lists what there is. The result is sorted by name and has no duplicates.
func ResolveEnvironments(all []api.Environment, wanted []string) ([]api.Environment, error) {
	byName := make(map[api.EnvName]api.Environment, len(all))
	byDisplay := make(map[string][]api.Environment)
	for _, e := range all {
		byName[e.Name] = e
		k := strings.ToLower(strings.TrimSpace(e.Properties.DisplayName))
		byDisplay[k] = append(byDisplay[k], e)
	}
	seen := map[api.EnvName]bool{}
	var out []api.Environment
	for _, w := range wanted {
		e, ok := byName[api.EnvName(w)]
		if !ok {
			// Names are case-insensitive GUIDs in practice; try that before display names.
			for n, cand := range byName {
				if strings.EqualFold(string(n), w) {
					e, ok = cand, true
					break
				}
			}
		}
		if !ok {
			matches := byDisplay[strings.ToLower(strings.TrimSpace(w))]
			switch len(matches) {
			case 0:
				return nil, fmt.Errorf("environment %s not found: the identity can see %s", safetext.Quote(w), describeEnvs(all))
			case 1:
				e = matches[0]
			default:
				names := make([]string, len(matches))
				for i, m := range matches {
					names[i] = safetext.Line(string(m.Name))
				}
				slices.Sort(names)
				return nil, fmt.Errorf("environment display name %s is ambiguous: name one of %s instead", safetext.Quote(w), strings.Join(names, ", "))
			}
		}
		if !seen[e.Name] {
			seen[e.Name] = true
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b api.Environment) int { return cmp.Compare(a.Name, b.Name) })
	return out, nil
}

func describeEnvs(all []api.Environment) string {
	if len(all) == 0 {
		return "no environments"
	}
	parts := make([]string, 0, len(all))
	for _, e := range all {
		parts = append(parts, fmt.Sprintf("%s (%s)", safetext.Line(string(e.Name)), safetext.Quote(e.Properties.DisplayName)))
	}
	slices.Sort(parts)
	if len(parts) > 10 {
		parts = append(parts[:10], fmt.Sprintf("and %d more", len(parts)-10))
	}
	return strings.Join(parts, ", ")
}
