package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/flowsync/flowsync/diff"
	"github.com/flowsync/flowsync/internal/safetext"
)

// printJSON writes v as indented JSON. Hostile runes that encoding/json
// leaves raw (BiDi formatting, C1 controls) are written as \u escapes, so
// the document means the same and is inert on a terminal.
func printJSON(w io.Writer, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := w.Write(safetext.JSON(buf.Bytes()))
	return err
}

// planDocument is a plan inside the JSON document of import or restore,
// written as diff --format json writes it (docs/PLAN.md: version, summary,
// lower-case env and flow keys), so one reader serves all three commands.
type planDocument struct{ diff.Plan }

func (p planDocument) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	if err := diff.Render(&buf, p.Plan, "json", diff.RenderOptions{}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// table writes rows aligned in columns under a header. Cells come from the
// service (display names typed by makers): each is written as one safe line,
// tabs included, so no cell can start an escape sequence, a new row or a
// new column.
func table(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		clean := make([]string, len(r))
		for i, c := range r {
			clean[i] = safetext.Line(c)
		}
		fmt.Fprintln(tw, strings.Join(clean, "\t"))
	}
	return tw.Flush()
}
