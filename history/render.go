package history

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/flowsync/flowsync/internal/safetext"

	"github.com/flowsync/flowsync/internal/model"
)

// RenderLogText writes a log for people: one block per commit, one line per
// flow. Everything somebody typed (display names, action names, commit
// subjects, author names) goes through safetext, so no name can move the
// cursor, clear the screen, reorder the line or fake a new one.
func RenderLogText(w io.Writer, l *Log) error {
	var b strings.Builder
	fmt.Fprintf(&b, "environment %s", l.Env)
	if l.EnvDisplayName != "" {
		fmt.Fprintf(&b, " %s", safetext.Quote(l.EnvDisplayName))
	}
	if l.Flow != "" {
		fmt.Fprintf(&b, ", flow %s %s", l.Flow, safetext.Quote(l.FlowDisplayName))
	}
	fmt.Fprintf(&b, ", history up to %s\n", short(l.Commit))
	if len(l.Entries) == 0 {
		b.WriteString("no changes in the range asked for\n")
	}
	for _, e := range l.Entries {
		fmt.Fprintf(&b, "\ncommit %s  %s  %s\n", short(e.Commit), e.Time.UTC().Format("2006-01-02T15:04:05Z"), safetext.Line(e.Author))
		if e.Subject != "" {
			fmt.Fprintf(&b, "    %s\n", safetext.Line(e.Subject))
		}
		if ec := e.Environment; ec != nil {
			if ec.Added {
				b.WriteString("  environment: first backup\n")
			} else {
				fmt.Fprintf(&b, "  environment: %s changed\n", cleanList(ec.Fields))
			}
		}
		for _, c := range e.Flows {
			fmt.Fprintf(&b, "  %s (%s): %s\n", safetext.Quote(c.DisplayName), c.Flow, describe(c))
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
				s += " (" + safetext.Line(c.State.To) + ")"
			}
			parts = append(parts, s)
		case Renamed:
			parts = append(parts, "renamed from "+safetext.Quote(c.FormerName))
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
			parts = append(parts, "unreadable: "+safetext.Line(c.Error))
		}
	}
	return strings.Join(parts, "; ")
}

func describeDelta(d *Delta) string {
	var s []string
	one := func(sign string, p model.Permission) {
		s = append(s, fmt.Sprintf("%s%s (%s)", sign, safetext.Line(string(p.Principal)), safetext.Line(p.Role)))
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
	return safetext.Line(s)
}

func cleanList(items []string) string {
	out := make([]string, len(items))
	for i, s := range items {
		out[i] = safetext.Line(s)
	}
	return strings.Join(out, ", ")
}

// RenderLogJSON writes the log as one JSON document (docs/HISTORY.md).
func RenderLogJSON(w io.Writer, l *Log) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(l); err != nil {
		return err
	}
	// BiDi and C1 runes stay escaped, so the document is inert on a terminal.
	_, err := w.Write(safetext.JSON(buf.Bytes()))
	return err
}
