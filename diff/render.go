package diff

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"unicode"

	"github.com/flowsync/flowsync/internal/model"
	"github.com/flowsync/flowsync/internal/safetext"
)

// RenderOptions tune Render.
type RenderOptions struct {
	// Color adds ANSI colours to the text format; set it only when the
	// output is a terminal.
	Color bool
	// Unchanged lists unchanged flows one by one in text and Markdown
	// (otherwise they are counted only).
	Unchanged bool
}

// Formats Render knows.
const (
	FormatText     = "text"
	FormatJSON     = "json"
	FormatMarkdown = "markdown"
)

// JSONVersion is the version of the JSON plan format (docs/PLAN.md). It
// grows only when a field changes meaning or is removed.
const JSONVersion = 1

// Render writes p in format "text" (people, a terminal), "json" (scripts;
// docs/PLAN.md) or "markdown" (pull-request comments). Every string that
// came from the service or a maker (display names, paths inside
// definitions, connection names, messages quoting them) is escaped for the
// format, so none can move the cursor, recolour a terminal, or inject
// Markdown or HTML.
func Render(w io.Writer, p Plan, format string, opts RenderOptions) error {
	var err error
	switch format {
	case FormatText, "":
		err = renderText(w, p, opts)
	case FormatJSON:
		err = renderJSON(w, p)
	case FormatMarkdown, "md":
		err = renderMarkdown(w, p, opts)
	default:
		return fmt.Errorf("plan format %q: want text, json or markdown", format)
	}
	if err != nil {
		return fmt.Errorf("render plan as %s: %w", format, err)
	}
	return nil
}

// jsonPlan is the JSON document: the plan with a version and a summary.
type jsonPlan struct {
	Version  int            `json:"version"`
	Summary  map[Action]int `json:"summary"`
	Applies  bool           `json:"applicable"`
	Source   Side           `json:"source"`
	Target   Side           `json:"target"`
	Changes  []jsonChange   `json:"changes"`
	Problems []jsonProblem  `json:"problems"`
	Warnings []jsonProblem  `json:"warnings"`
	Cost     *Cost          `json:"cost,omitempty"`
}

type jsonKey struct {
	Env  string `json:"env"`
	Flow string `json:"flow"`
}

func toJSONKey(k model.Key) *jsonKey {
	if k == (model.Key{}) {
		return nil
	}
	return &jsonKey{Env: string(k.Env), Flow: string(k.Flow)}
}

type jsonChange struct {
	Action      Action             `json:"action"`
	Source      *jsonKey           `json:"source,omitempty"`
	Target      *jsonKey           `json:"target,omitempty"`
	DisplayName string             `json:"displayName"`
	Link        LinkKind           `json:"link,omitempty"`
	Parts       Parts              `json:"parts"`
	Bindings    []ConnectionChange `json:"bindings,omitempty"`
	Children    []jsonKey          `json:"children,omitempty"`
	Problems    []jsonProblem      `json:"problems,omitempty"`
	Warnings    []jsonProblem      `json:"warnings,omitempty"`
}

type jsonProblem struct {
	Code    string   `json:"code"`
	Flow    *jsonKey `json:"flow,omitempty"`
	Where   string   `json:"where,omitempty"`
	Message string   `json:"message"`
}

func toJSONProblems(ps []Problem) []jsonProblem {
	out := make([]jsonProblem, 0, len(ps))
	for _, p := range ps {
		jp := jsonProblem{Code: p.Code, Where: p.Where, Message: p.Message}
		if p.Flow != nil {
			jp.Flow = toJSONKey(*p.Flow)
		}
		out = append(out, jp)
	}
	return out
}

func renderJSON(w io.Writer, p Plan) error {
	doc := jsonPlan{Version: JSONVersion, Summary: p.Counts(), Applies: p.Applicable(),
		Source: p.Source, Target: p.Target, Changes: []jsonChange{},
		Problems: toJSONProblems(p.Problems), Warnings: toJSONProblems(p.Warnings), Cost: p.Cost}
	for _, c := range p.Changes {
		jc := jsonChange{Action: c.Action, Source: toJSONKey(c.Source), Target: toJSONKey(c.Target),
			DisplayName: c.DisplayName, Link: c.Link, Parts: c.Parts, Bindings: c.Bindings}
		for _, k := range c.Children {
			jc.Children = append(jc.Children, *toJSONKey(k))
		}
		if len(c.Problems) > 0 {
			jc.Problems = toJSONProblems(c.Problems)
		}
		if len(c.Warnings) > 0 {
			jc.Warnings = toJSONProblems(c.Warnings)
		}
		doc.Changes = append(doc.Changes, jc)
	}
	// encoding/json escapes control characters and, with HTML escaping on
	// (the default), <, > and &; safetext.JSON escapes the hostile runes it
	// leaves raw (C1 controls, BiDi formatting), so the document shows every
	// name as it is even on a terminal.
	var buf strings.Builder
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := w.Write(safetext.JSON([]byte(buf.String())))
	return err
}

// ---- text ----

const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiCyan   = "\x1b[36m"
	ansiDim    = "\x1b[2m"
)

var actionSymbol = map[Action]string{
	Create: "+", Update: "~", Restore: "^", Delete: "-", Extra: "?", Unchanged: "=",
}

var actionColor = map[Action]string{
	Create: ansiGreen, Update: ansiYellow, Restore: ansiCyan, Delete: ansiRed, Extra: ansiDim, Unchanged: ansiDim,
}

// errWriter keeps the first write error so rendering code stays linear.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}

// textName quotes a display name, so that leading or trailing spaces and
// an empty name are visible and escapes stay unambiguous.
func textName(s string) string { return safetext.Quote(s) }

func sideText(s Side) string {
	out := safetext.Line(string(s.Env))
	switch {
	case s.Rev != "":
		out += " @ " + safetext.Line(shortRev(s.Rev))
	case s.Live:
		out += " (live)"
	}
	return out
}

func shortRev(r string) string {
	if len(r) > 12 {
		return r[:12]
	}
	return r
}

func renderText(w io.Writer, p Plan, opts RenderOptions) error {
	ew := &errWriter{w: w}
	col := func(c, s string) string {
		if !opts.Color {
			return s
		}
		return c + s + ansiReset
	}
	ew.printf("%s %s -> %s\n", col(ansiBold, "Plan:"), sideText(p.Source), sideText(p.Target))
	ew.printf("%s\n", summaryLine(p))
	unchanged := 0
	for _, c := range p.Changes {
		if c.Action == Unchanged && !opts.Unchanged {
			unchanged++
			continue
		}
		ew.printf("\n%s %s\n", col(actionColor[c.Action], fmt.Sprintf("%s %-9s", actionSymbol[c.Action], c.Action)), textName(c.DisplayName))
		ew.printf("    %s\n", flowIDsText(c))
		for _, line := range partLines(c, safetext.Line) {
			ew.printf("    %s\n", line)
		}
		for _, pr := range c.Problems {
			ew.printf("    %s %s: %s\n", col(ansiRed, "problem"), safetext.Line(pr.Code), safetext.Line(pr.Message))
		}
		for _, pr := range c.Warnings {
			ew.printf("    %s %s: %s\n", col(ansiYellow, "warning"), safetext.Line(pr.Code), safetext.Line(pr.Message))
		}
	}
	if unchanged > 0 {
		ew.printf("\n%d unchanged flow%s not listed.\n", unchanged, plural(unchanged))
	}
	if auto := autoMapped(p); len(auto) > 0 {
		ew.printf("\n%s\n", col(ansiBold, "Auto-mapped connections (the only Connected connection of the connector in the target):"))
		for _, a := range auto {
			ew.printf("  %s\n", safetext.Line(a))
		}
	}
	general := func(title, color string, ps []Problem) {
		if len(ps) == 0 {
			return
		}
		ew.printf("\n%s\n", col(color, title))
		for _, pr := range ps {
			ew.printf("  %s%s%s: %s\n", safetext.Line(pr.Code), flowSuffix(pr, safetext.Line), whereSuffix(pr, safetext.Line), safetext.Line(pr.Message))
		}
	}
	general("Warnings:", ansiYellow, p.Warnings)
	general("Problems (nothing will be written until they are fixed):", ansiRed, p.Problems)
	if p.Cost != nil {
		ew.printf("\nCost: %s\n", costText(*p.Cost))
	}
	return ew.err
}

func flowSuffix(pr Problem, esc func(string) string) string {
	if pr.Flow == nil {
		return ""
	}
	return " [" + esc(string(pr.Flow.Flow)) + "]"
}

func whereSuffix(pr Problem, esc func(string) string) string {
	if pr.Where == "" {
		return ""
	}
	return " (" + esc(pr.Where) + ")"
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func summaryLine(p Plan) string {
	n := p.Counts()
	s := fmt.Sprintf("%d to create, %d to update, %d to restore, %d to delete, %d extra in target, %d unchanged",
		n[Create], n[Update], n[Restore], n[Delete], n[Extra], n[Unchanged])
	if !p.Applicable() {
		s += fmt.Sprintf("; %d problem%s", len(p.Problems), plural(len(p.Problems)))
	}
	if len(p.Warnings) > 0 {
		s += fmt.Sprintf("; %d warning%s", len(p.Warnings), plural(len(p.Warnings)))
	}
	return s
}

func flowIDsText(c Change) string {
	var parts []string
	if c.Source != (model.Key{}) {
		parts = append(parts, "source "+safetext.Line(string(c.Source.Flow)))
	}
	if c.Target != (model.Key{}) {
		parts = append(parts, "target "+safetext.Line(string(c.Target.Flow)))
	}
	if c.Link != LinkNone {
		parts = append(parts, "paired by "+linkText(c.Link))
	}
	return strings.Join(parts, ", ")
}

func linkText(k LinkKind) string {
	switch k {
	case LinkSame:
		return "same flow name"
	case LinkStored:
		return "stored link"
	case LinkExplicit:
		return "--link"
	case LinkName:
		return "display name"
	}
	return string(k)
}

// partLines describes a change's parts, one line each, with esc applied to
// every string from the service or a maker.
func partLines(c Change, esc func(string) string) []string {
	var out []string
	pt := c.Parts
	if c.Action == Extra {
		return []string{"left alone (--prune deletes it)"}
	}
	if c.Action == Delete {
		return []string{"deleted (--prune)"}
	}
	if len(pt.Meta) > 0 {
		out = append(out, "properties: "+joinEsc(pt.Meta, esc))
	}
	if len(pt.Definition) > 0 {
		if len(pt.Definition) == 1 && pt.Definition[0] == "" {
			out = append(out, "definition: whole document")
		} else {
			const max = 20
			shown := pt.Definition
			more := ""
			if len(shown) > max {
				more = fmt.Sprintf(" (and %d more)", len(shown)-max)
				shown = shown[:max]
			}
			out = append(out, "definition: "+joinEsc(shown, esc)+more)
		}
	}
	for _, cc := range pt.Connections {
		if unbound(c, cc.Key) {
			// The desired flow still names its source connection; showing
			// it as "-> connection" would read as a binding that exists.
			out = append(out, "connection "+esc(cc.Key)+" ("+esc(string(cc.API))+"): not mapped to a target connection (source connection "+esc(string(cc.To))+"; see the problem)")
			continue
		}
		out = append(out, "connection "+connText(cc, esc))
	}
	for _, g := range []struct {
		name string
		d    PrincipalDelta
	}{{"owners", pt.Owners}, {"run-only users", pt.RunOnly}} {
		for _, a := range g.d.Add {
			out = append(out, fmt.Sprintf("%s: + %s %s %s", g.name, esc(a.Role), esc(a.Type), esc(string(a.Principal))))
		}
		for _, r := range g.d.Remove {
			out = append(out, fmt.Sprintf("%s: - %s %s %s", g.name, esc(r.Role), esc(r.Type), esc(string(r.Principal))))
		}
	}
	if pt.State != nil {
		from := pt.State.From
		if from == "" {
			from = "(new)"
		}
		out = append(out, fmt.Sprintf("state: %s -> %s", esc(from), esc(pt.State.To)))
	}
	for _, k := range c.Children {
		out = append(out, "calls child flow "+esc(string(k.Flow))+" (imported first)")
	}
	return out
}

// unbound reports whether the change's binding of reference key found no
// target connection (Bindings are set for plans against a live target).
func unbound(c Change, key string) bool {
	for _, b := range c.Bindings {
		if b.Key == key {
			return b.To == ""
		}
	}
	return false
}

func connText(cc ConnectionChange, esc func(string) string) string {
	s := esc(cc.Key) + " (" + esc(string(cc.API)) + "): "
	switch {
	case cc.To == "":
		s += esc(string(cc.From)) + " -> removed"
	case cc.From == "":
		s += "-> " + esc(string(cc.To))
	case strings.EqualFold(string(cc.From), string(cc.To)):
		s += esc(string(cc.To)) + " (reference properties change)"
	default:
		s += esc(string(cc.From)) + " -> " + esc(string(cc.To))
	}
	if cc.How != "" {
		s += " [" + esc(cc.How) + "]"
	}
	return s
}

func joinEsc(ss []string, esc func(string) string) string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = esc(s)
	}
	return strings.Join(out, ", ")
}

// autoMapped lists the auto-mapped bindings of the plan's flows as
// "flow: reference (api) -> connection", unescaped.
func autoMapped(p Plan) []string {
	var out []string
	for _, c := range p.Changes {
		for _, b := range c.Bindings {
			if b.How == "auto" {
				out = append(out, fmt.Sprintf("%s: %s (%s) -> %s", c.DisplayName, b.Key, b.API, b.To))
			}
		}
	}
	return out
}

func costText(c Cost) string {
	return fmt.Sprintf("%d read%s, %d write%s, about %s", c.Reads, plural(c.Reads), c.Writes, plural(c.Writes), etaText(c.ETASeconds))
}

func etaText(sec float64) string {
	s := int64(math.Ceil(sec))
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	}
	return fmt.Sprintf("%dh%02dm", s/3600, (s%3600)/60)
}

// ---- Markdown ----

// mdSafe makes a string inert in GitHub-flavoured Markdown, in a table cell
// or in running text: line breaks and tabs become spaces, other hostile
// runes (controls, BiDi formatting) are written as escapes the way every
// other output shows them (safetext.Line), and every ASCII punctuation
// character (the escapes' backslashes included, so they render as written) is
// backslash-escaped (CommonMark allows it for all of them), which also
// defuses HTML tags, links, emphasis, table pipes, @mentions, #references
// and autolinked URLs.
func mdSafe(s string) string {
	s = safetext.Line(strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == '\u2028' || r == '\u2029' || r == '\t' {
			return ' '
		}
		return r
	}, s))
	var sb strings.Builder
	for _, r := range s {
		switch {
		case r < 0x80 && unicode.IsPunct(r) || r < 0x80 && unicode.IsSymbol(r):
			sb.WriteByte('\\')
			sb.WriteRune(r)
		default:
			sb.WriteRune(r)
		}
	}
	return sb.String()
}

var actionEmoji = map[Action]string{
	Create: "➕", Update: "✏️", Restore: "♻️", Delete: "🗑️", Extra: "❔", Unchanged: "✔️",
}

func sideMarkdown(s Side) string {
	out := "`" + mdCodeSafe(string(s.Env)) + "`"
	switch {
	case s.Rev != "":
		out += " @ `" + mdCodeSafe(shortRev(s.Rev)) + "`"
	case s.Live:
		out += " (live)"
	}
	return out
}

// mdCodeSafe is for text inside a code span: only service names that are
// validated elsewhere go there; anything but letters, digits, '-', '_' and
// '.' is dropped so a backtick can never end the span.
func mdCodeSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_' || r == '.') {
			return r
		}
		return -1
	}, s)
}

func renderMarkdown(w io.Writer, p Plan, opts RenderOptions) error {
	ew := &errWriter{w: w}
	ew.printf("### flowsync plan: %s → %s\n\n", sideMarkdown(p.Source), sideMarkdown(p.Target))
	ew.printf("**%s**\n", mdSafe(summaryLine(p)))
	if !p.Applicable() {
		ew.printf("\n> [!CAUTION]\n> This plan has problems: nothing will be written until they are fixed.\n")
	}
	var rows []Change
	unchanged := 0
	for _, c := range p.Changes {
		if c.Action == Unchanged && !opts.Unchanged {
			unchanged++
			continue
		}
		rows = append(rows, c)
	}
	if len(rows) > 0 {
		ew.printf("\n| | Flow | Source | Target | Paired by | Changes |\n|---|---|---|---|---|---|\n")
		for _, c := range rows {
			lines := partLines(c, mdSafe)
			for _, pr := range c.Problems {
				lines = append(lines, "**problem** "+mdSafe(pr.Code)+": "+mdSafe(pr.Message))
			}
			for _, pr := range c.Warnings {
				lines = append(lines, "*warning* "+mdSafe(pr.Code)+": "+mdSafe(pr.Message))
			}
			ew.printf("| %s %s | %s | %s | %s | %s | %s |\n", actionEmoji[c.Action], c.Action, mdName(c.DisplayName),
				mdFlow(c.Source), mdFlow(c.Target), mdLink(c.Link), strings.Join(lines, "<br>"))
		}
	}
	if unchanged > 0 {
		ew.printf("\n%d unchanged flow%s not listed.\n", unchanged, plural(unchanged))
	}
	if auto := autoMapped(p); len(auto) > 0 {
		ew.printf("\n#### Auto-mapped connections\n\nThe only `Connected` connection of the connector in the target:\n\n")
		for _, a := range auto {
			ew.printf("- %s\n", mdSafe(a))
		}
	}
	list := func(title string, ps []Problem) {
		if len(ps) == 0 {
			return
		}
		ew.printf("\n#### %s\n\n", title)
		for _, pr := range ps {
			flow := ""
			if pr.Flow != nil {
				flow = " " + mdFlow(*pr.Flow)
			}
			ew.printf("- **%s**%s%s: %s\n", mdSafe(pr.Code), flow, whereSuffix(pr, mdSafe), mdSafe(pr.Message))
		}
	}
	list("Problems", p.Problems)
	list("Warnings", p.Warnings)
	if p.Cost != nil {
		ew.printf("\n**Cost:** %s\n", mdSafe(costText(*p.Cost)))
	}
	return ew.err
}

func mdLink(k LinkKind) string {
	if k == LinkNone {
		return "—"
	}
	return mdSafe(linkText(k))
}

func mdName(s string) string {
	if strings.TrimSpace(s) == "" {
		return "*(no name)*"
	}
	return mdSafe(s)
}

func mdFlow(k model.Key) string {
	if k == (model.Key{}) {
		return "—"
	}
	return "`" + mdCodeSafe(string(k.Flow)) + "`"
}
