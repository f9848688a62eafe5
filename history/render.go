package history

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/flowsync/flowsync/internal/model"
)

// RenderLogText writes a log for people: one block per commit, one line per
// flow. Everything somebody typed (display names, action names, commit
// subjects, author names) has its control and formatting characters escaped,
// so no name can move the cursor, clear the screen or fake a line.
func RenderLogText(w io.Writer, l *Log) error {
	var b strings.Builder
	fmt.Fprintf(&b, "environment %s", l.Env)
	if l.EnvDisplayName != "" {
		fmt.Fprintf(&b, " %s", strconv.Quote(l.EnvDisplayName))
	}
	if l.Flow != "" {
		fmt.Fprintf(&b, ", flow %s %s", l.Flow, strconv.Quote(l.FlowDisplayName))
	}
	fmt.Fprintf(&b, ", history up to %s\n", short(l.Commit))
	if len(l.Entries) == 0 {
		b.WriteString("no changes in the range asked for\n")
	}
	for _, e := range l.Entries {
		fmt.Fprintf(&b, "\ncommit %s  %s  %s\n", short(e.Commit), e.Time.UTC().Format("2006-01-02T15:04:05Z"), Clean(e.Author))
		if e.Subject != "" {
			fmt.Fprintf(&b, "    %s\n", Clean(e.Subject))
		}
		if ec := e.Environment; ec != nil {
			if ec.Added {
				b.WriteString("  environment: first backup\n")
			} else {
				fmt.Fprintf(&b, "  environment: %s changed\n", cleanList(ec.Fields))
			}
		}
		for _, c := range e.Flows {
			fmt.Fprintf(&b, "  %s (%s): %s\n", strconv.Quote(c.DisplayName), c.Flow, describe(c))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// describe says what a FlowChange did, in one line.
func describe(c FlowChange) string {
	var parts []string
	for _, k := range c.Changes {
		switch k {
		case Created:
			parts = append(parts, "created")
		case Restored:
			s := "restored from the recycle bin"
			if c.State != nil && c.State.To != "" {
				s += " (" + Clean(c.State.To) + ")"
			}
			parts = append(parts, s)
		case Renamed:
			parts = append(parts, "renamed from "+strconv.Quote(c.FormerName))
		case Definition:
			if len(c.Definition) == 0 {
				parts = append(parts, "definition")
			} else {
				parts = append(parts, "definition: "+cleanList(c.Definition))
			}
		case References:
			parts = append(parts, "references: "+cleanList(c.References))
		case Owners:
			parts = append(parts, "owners: "+describeDelta(c.Owners))
		case RunOnlyUsers:
			parts = append(parts, "run-only users: "+describeDelta(c.RunOnlyUsers))
		case State:
			parts = append(parts, fmt.Sprintf("state: %s -> %s", orNone(c.State.From), orNone(c.State.To)))
		case Properties:
			parts = append(parts, "properties: "+cleanList(c.Properties))
		case Deleted:
			if c.Deletion == DeletedToRecycleBin {
				parts = append(parts, "deleted (to the recycle bin)")
			} else {
				parts = append(parts, "deleted (gone from the environment)")
			}
		case Unreadable:
			parts = append(parts, "unreadable: "+Clean(c.Error))
		}
	}
	return strings.Join(parts, "; ")
}

func describeDelta(d *Delta) string {
	var s []string
	one := func(sign string, p model.Permission) {
		s = append(s, fmt.Sprintf("%s%s (%s)", sign, Clean(string(p.Principal)), Clean(p.Role)))
	}
	for _, p := range d.Added {
		one("+", p)
	}
	for _, p := range d.Removed {
		one("-", p)
	}
	return strings.Join(s, ", ")
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return Clean(s)
}

func cleanList(items []string) string {
	out := make([]string, len(items))
	for i, s := range items {
		out[i] = Clean(s)
	}
	return strings.Join(out, ", ")
}

// Clean makes text from the service or a commit safe to print on a
// terminal: characters that are not printable (control characters, escape
// sequences, bidirectional overrides, zero-width and other format
// characters, line and paragraph separators) become \u escapes, and bytes
// that are not UTF-8 become \x escapes. Printable text, emoji and non-Latin
// scripts stay as they are.
func Clean(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unicode.IsPrint(r) || r == ' ':
			b.WriteString(s[i : i+n])
		case r > 0xffff:
			fmt.Fprintf(&b, `\U%08x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
		i += n
	}
	return b.String()
}

// RenderLogJSON writes the log as one JSON document (docs/HISTORY.md).
func RenderLogJSON(w io.Writer, l *Log) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(l)
}
