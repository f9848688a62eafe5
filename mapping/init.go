package mapping

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/model"
)

// Init writes a starter mapping file for importing flows into the target
// described by inv: each connector the flows use gets its target connection
// when the target has exactly one Connected connection of it; otherwise the
// candidates (or why there are none) are listed as comments, with the
// source connections that could be mapped one by one. Every principal of
// the flows is listed: those found in the target map to themselves, the
// others are comments to fill in. The output parses with Parse and is
// deterministic. Names from the service are quoted when YAML could read
// them as something else, and display names appear only inside quoted
// comments, so no name can add a key.
func Init(flows []model.Flow, inv Inventory) []byte {
	ix := indexInventory(inv)
	var b strings.Builder
	b.WriteString("# flowsync mapping file (docs/MAPPING.md): how the source's connections and\n")
	b.WriteString("# principals translate into the target environment's. Written by\n")
	b.WriteString("# `flowsync mapping init`; review it, fill in what is commented out.\n")

	// Connectors and the source connections that use each, sorted.
	type use struct {
		conns []api.ConnectionName
		refs  int
	}
	uses := map[api.APIName]*use{}
	principals := map[string]model.Permission{}
	for _, f := range flows {
		if f.Meta.State == api.StateDeleted {
			continue
		}
		for _, r := range f.Connections {
			u := uses[r.API]
			if u == nil {
				u = &use{}
				uses[r.API] = u
			}
			u.refs++
			if r.Connection != "" && !slices.Contains(u.conns, r.Connection) {
				u.conns = append(u.conns, r.Connection)
			}
		}
		for _, p := range f.Permissions {
			if p.Type == api.PrincipalTenant {
				continue
			}
			k := strings.ToLower(string(p.Principal))
			if _, ok := principals[k]; !ok {
				principals[k] = p
			}
		}
	}
	apis := make([]api.APIName, 0, len(uses))
	for a := range uses {
		apis = append(apis, a)
	}
	slices.Sort(apis)

	b.WriteString("connections:\n  byConnector:\n")
	var byConnection []string
	for _, a := range apis {
		u := uses[a]
		slices.Sort(u.conns)
		ok, all := ix.connectedOf(a)
		switch {
		case !ix.hasConnector(a):
			fmt.Fprintf(&b, "    # %s: the target has no such connector; install or create it first\n", yamlKey(string(a)))
		case len(ok) == 1:
			fmt.Fprintf(&b, "    %s: %s%s\n", yamlKey(string(a)), yamlKey(string(ok[0].Name)), displayComment(ok[0]))
		case len(ok) == 0:
			fmt.Fprintf(&b, "    # %s: no Connected connection in the target (%d in all); create one, sign in, then name it here\n", yamlKey(string(a)), all)
		default:
			fmt.Fprintf(&b, "    # %s: %d Connected connections in the target; pick one:\n", yamlKey(string(a)), len(ok))
			for _, c := range ok {
				fmt.Fprintf(&b, "    # %s: %s%s\n", yamlKey(string(a)), yamlKey(string(c.Name)), displayComment(c))
			}
			for _, sc := range u.conns {
				byConnection = append(byConnection, fmt.Sprintf("    # %s: <one of the %s connections listed above>\n", yamlKey(string(sc)), yamlKey(string(a))))
			}
		}
	}
	b.WriteString("  byConnection:\n")
	if len(byConnection) > 0 {
		b.WriteString("    # or map source connections one by one:\n")
		for _, l := range byConnection {
			b.WriteString(l)
		}
	}

	ids := make([]string, 0, len(principals))
	for k := range principals {
		ids = append(ids, k)
	}
	slices.Sort(ids)
	b.WriteString("principals:\n")
	for _, k := range ids {
		p := principals[k]
		switch {
		case ix.principals == nil:
			fmt.Fprintf(&b, "  # %s: %s   # %s; the target directory was not read\n", yamlKey(string(p.Principal)), yamlKey(string(p.Principal)), p.Type)
		case ix.principals[k]:
			fmt.Fprintf(&b, "  %s: %s   # %s, found in the target\n", yamlKey(string(p.Principal)), yamlKey(string(p.Principal)), p.Type)
		default:
			fmt.Fprintf(&b, "  # %s: <target object id>   # %s, not found in the target directory\n", yamlKey(string(p.Principal)), p.Type)
		}
	}
	return []byte(b.String())
}

// displayComment names a connection's display name (typed by whoever
// created it) in a trailing comment, quoted so it stays on one line.
func displayComment(c api.Connection) string {
	if c.Properties.DisplayName == "" {
		return ""
	}
	return "   # " + strconv.QuoteToASCII(c.Properties.DisplayName)
}

// yamlKey writes a name as a YAML scalar: plain when it starts with a
// letter and holds only letters, digits, '-', '_' and '.', and is not a
// word YAML reads as a boolean or null; double-quoted otherwise (ids that
// start with a digit could read as numbers).
func yamlKey(s string) string {
	plain := s != "" && s[0] < 0x80 && unicode.IsLetter(rune(s[0]))
	for _, r := range s {
		if !(r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_' || r == '.')) {
			plain = false
		}
	}
	switch strings.ToLower(s) {
	case "true", "false", "yes", "no", "on", "off", "null", "y", "n":
		plain = false
	}
	if plain {
		return s
	}
	return yamlQuote(s)
}

// yamlQuote writes a YAML double-quoted scalar: backslash and quote
// escaped, anything not printable ASCII as \u or \U escapes (YAML and JSON
// agree on those), so the result is one line of ASCII.
func yamlQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r >= 0x20 && r < 0x7f:
			b.WriteRune(r)
		case r <= 0xffff:
			fmt.Fprintf(&b, "\\u%04x", r)
		default:
			fmt.Fprintf(&b, "\\U%08x", r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
