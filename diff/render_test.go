package diff

import (
	"bytes"
	"encoding/json"
	"flag"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/model"
	"github.com/flowsync/flowsync/internal/secrets"
	"github.com/flowsync/flowsync/internal/testgolden"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden plans under testdata/plans")

// goldenDir is the repository's top-level testdata/plans.
var goldenDir = filepath.Join("..", "testdata", "plans")

// samplePlan is a promotion with one of everything: a create with an
// auto-mapped connection, an update of several parts, a rename found by a
// stored link, an unchanged flow, an extra, a warning, problems and a cost.
func samplePlan(t *testing.T) Plan {
	t.Helper()
	create := srcFlow(1, "Invoice approval")
	create.Permissions = append(create.Permissions, perm(viewers, "Group", api.RoleCanView))

	upd := flow(srcEnv, src(2), "Escalate overdue invoices", childCall(src(1)))
	upd.Permissions = append(upd.Permissions, perm(bob, "User", api.RoleCanEdit))
	tUpd := targetOf(flow(srcEnv, src(2), "Escalate overdue invoices",
		`{"actions":{"Scope":{"type":"Scope","actions":{"Call_child":{"type":"Workflow","inputs":{"host":{"workflowReferenceName":"`+string(dst(9))+`"},"body":{"x":0}}}}}},"triggers":{"manual":{"kind":"Button","type":"Request"}}}`), 2)
	tUpd.Meta.State = api.StateStopped
	tUpd.Permissions = append(tUpd.Permissions, perm(carol, "User", api.RoleCanEdit))

	renamed := srcFlow(3, "Weekly report")
	tRenamed := targetOf(srcFlow(3, "Weekly report (old name)"), 3)

	same := srcFlow(4, "Daily digest")
	tSame := targetOf(same, 4)

	secret := flow(srcEnv, src(5), "Call partner API", `{"actions":{"HTTP":{"inputs":{"authentication":{"password":"`+
		secrets.Placeholder("actions.HTTP.inputs.authentication.password")+`","type":"Basic","username":"svc"}},"type":"Http"}}}`)

	extra := targetOf(srcFlow(6, "Prod-only cleanup"), 6)

	bind := staticBindings{
		create.Key: {{Key: "shared_office365", API: "shared_office365", To: "shared-office365-dst1", How: "auto"}},
		upd.Key:    {{Key: "shared_office365", API: "shared_office365", To: "shared-office365-dst2", How: "byConnector"}},
	}
	updMapped := upd
	updMapped.Connections = []model.ConnectionRef{{Key: "shared_office365", API: "shared_office365", Source: "Embedded", Connection: "shared-office365-dst2"}}
	p := Make(Input{
		Source:   Side{Env: srcEnv, Rev: "4f1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c"},
		Target:   Side{Env: dstEnv, Live: true},
		Desired:  []model.Flow{mapped(create), updMapped, mapped(renamed), mapped(same), mapped(secret)},
		Actual:   []model.Flow{tUpd, tRenamed, tSame, extra},
		Links:    map[api.FlowName]api.FlowName{src(3): dst(3)},
		Keep:     me,
		Bindings: bind,
		Problems: []Problem{{Code: "unknown-key", Where: "map.yaml:7", Message: `unknown key "conections" in the mapping file: allowed are connections, principals`}},
	})
	p.Cost = &Cost{Reads: 12, Writes: 9, ETASeconds: 137.2}
	return p
}

func TestRenderGolden(t *testing.T) {
	p := samplePlan(t)
	cases := []struct {
		file   string
		format string
		opts   RenderOptions
	}{
		{"promote.txt", FormatText, RenderOptions{}},
		{"promote-all.txt", FormatText, RenderOptions{Unchanged: true}},
		{"promote.json", FormatJSON, RenderOptions{}},
		{"promote.md", FormatMarkdown, RenderOptions{}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Render(&buf, p, c.format, c.opts); err != nil {
				t.Fatal(err)
			}
			golden(t, c.file, buf.Bytes())
		})
	}
	// A plan between two trees with nothing to do.
	empty := Make(Input{Source: Side{Env: srcEnv, Rev: "aaaa"}, Target: Side{Env: srcEnv, Rev: "bbbb"}, SameEnv: true,
		Desired: []model.Flow{srcFlow(1, "A")}, Actual: []model.Flow{srcFlow(1, "A")}})
	for _, f := range []string{FormatText, FormatJSON, FormatMarkdown} {
		var buf bytes.Buffer
		if err := Render(&buf, empty, f, RenderOptions{}); err != nil {
			t.Fatal(err)
		}
		golden(t, "nothing."+map[string]string{FormatText: "txt", FormatJSON: "json", FormatMarkdown: "md"}[f], buf.Bytes())
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	testgolden.Check(t, filepath.Join(goldenDir, name), got, *update)
}

func TestRenderJSONShape(t *testing.T) {
	var buf bytes.Buffer
	if err := Render(&buf, samplePlan(t), FormatJSON, RenderOptions{}); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Version    int            `json:"version"`
		Applicable bool           `json:"applicable"`
		Summary    map[string]int `json:"summary"`
		Changes    []struct {
			Action string `json:"action"`
			Source *struct {
				Env  string `json:"env"`
				Flow string `json:"flow"`
			} `json:"source"`
			Bindings []ConnectionChange `json:"bindings"`
		} `json:"changes"`
		Problems []struct {
			Code  string `json:"code"`
			Where string `json:"where"`
		} `json:"problems"`
		Cost *Cost `json:"cost"`
	}
	dec := json.NewDecoder(&buf)
	dec.DisallowUnknownFields()
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Version != JSONVersion || doc.Applicable || doc.Cost == nil || doc.Cost.Writes != 9 {
		t.Errorf("header: %+v", doc)
	}
	if doc.Summary["create"] != 2 || doc.Summary["update"] != 2 || doc.Summary["extra"] != 1 || doc.Summary["unchanged"] != 1 {
		t.Errorf("summary: %v", doc.Summary)
	}
	if len(doc.Changes) == 0 || doc.Changes[0].Source == nil || doc.Changes[0].Source.Env != string(srcEnv) {
		t.Errorf("changes: %+v", doc.Changes)
	}
}

func TestRenderColor(t *testing.T) {
	p := samplePlan(t)
	var plain, color bytes.Buffer
	if err := Render(&plain, p, FormatText, RenderOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := Render(&color, p, FormatText, RenderOptions{Color: true}); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(plain.Bytes(), []byte("\x1b")) {
		t.Errorf("plain text has escape sequences")
	}
	if !bytes.Contains(color.Bytes(), []byte(ansiGreen)) {
		t.Errorf("colour text has no colour")
	}
	ansi := regexp.MustCompile("\x1b\\[[0-9;]*m")
	if got := ansi.ReplaceAllString(color.String(), ""); got != plain.String() {
		t.Errorf("colour changes the text:\n%s", cmp.Diff(plain.String(), got))
	}
	if err := Render(&plain, p, "yaml", RenderOptions{}); err == nil {
		t.Errorf("unknown format accepted")
	}
}

// hostile display names, action names and connection names: terminal
// control, bidirectional overrides, Markdown and HTML injection, mentions.
var hostile = []string{
	"\x1b[2J\x1b[31mPWNED\x1b[0m",
	"line one\r\nline two\x07\x08",
	"evil\u202Egnp.exe",
	"<script>alert(1)</script><img src=x onerror=alert(1)>",
	"| col | [click](https://evil.example) ![x](https://evil.example/x.png) **bold** `code` @everyone #1",
	"</details><!-- -->&lt;",
}

func TestRenderHostileNames(t *testing.T) {
	var desired, actual []model.Flow
	for i, name := range hostile {
		n := i + 1
		d := flow(srcEnv, src(n), name, `{"actions":{"`+strings.ReplaceAll(jsonEscape(name), `"`, `\"`)+`":{"type":"Compose","inputs":1}}}`)
		d.Connections[0].Connection = api.ConnectionName(name)
		desired = append(desired, d)
		if i%2 == 0 {
			a := targetOf(flow(srcEnv, src(n), name, `{"actions":{"`+strings.ReplaceAll(jsonEscape(name), `"`, `\"`)+`":{"type":"Compose","inputs":2}}}`), n)
			actual = append(actual, a)
		}
	}
	extra := targetOf(srcFlow(50, hostile[0]+" extra"), 50)
	actual = append(actual, extra)
	p := Make(Input{Source: Side{Env: srcEnv, Rev: "r"}, Target: Side{Env: dstEnv, Live: true}, Desired: desired, Actual: actual,
		Problems: []Problem{{Code: "x", Where: hostile[3], Message: "about " + hostile[0] + hostile[4]}}})
	p.Warnings = append(p.Warnings, Problem{Code: "y", Message: hostile[1]})

	t.Run("text", func(t *testing.T) {
		var buf bytes.Buffer
		if err := Render(&buf, p, FormatText, RenderOptions{Unchanged: true}); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		for _, r := range out {
			if r != '\n' && (unicode.IsControl(r) || unicode.Is(unicode.Cf, r)) {
				t.Fatalf("text output holds control or format character %U:\n%s", r, out)
			}
		}
		if !strings.Contains(out, `\x1b[2J`) || !strings.Contains(out, `\u202e`) {
			t.Errorf("escapes not visible in text:\n%s", out)
		}
	})
	t.Run("json", func(t *testing.T) {
		var buf bytes.Buffer
		if err := Render(&buf, p, FormatJSON, RenderOptions{}); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		if i := strings.IndexAny(out, "\x1b\r\x07<>\u202e"); i >= 0 {
			t.Errorf("at %d: %q", i, out[max(0, i-40):i+5])
			t.Errorf("JSON output holds raw control or HTML characters:\n%s", out)
		}
		var doc struct {
			Changes []struct {
				DisplayName string `json:"displayName"`
			} `json:"changes"`
		}
		if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		names := map[string]bool{}
		for _, c := range doc.Changes {
			names[c.DisplayName] = true
		}
		for _, h := range hostile {
			if !names[h] {
				t.Errorf("display name %q did not survive JSON exactly", h)
			}
		}
	})
	t.Run("markdown", func(t *testing.T) {
		var buf bytes.Buffer
		if err := Render(&buf, p, FormatMarkdown, RenderOptions{Unchanged: true}); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		for _, r := range out {
			if r != '\n' && (unicode.IsControl(r) || unicode.Is(unicode.Cf, r)) {
				t.Fatalf("Markdown holds control or format character %U", r)
			}
		}
		// Every < that is not our own <br> and every markup character a
		// name carries must be backslash-escaped.
		rest := strings.ReplaceAll(out, "<br>", "")
		for _, bad := range []string{"<script", "<img", "</details", "<!--", "](", "![", "**bold", "@everyone", "`code`", "&lt;", "#1"} {
			if regexp.MustCompile(`(^|[^\\])` + regexp.QuoteMeta(bad)).MatchString(rest) {
				t.Errorf("Markdown holds unescaped %q", bad)
			}
		}
		unescapedPipe := regexp.MustCompile(`(^|[^\\])\|`)
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(line, "| ") && !strings.HasPrefix(line, "| |") {
				if n := len(unescapedPipe.FindAllStringIndex(" "+line, -1)); n != 7 {
					t.Errorf("table row has %d cell separators, want 7: %s", n, line)
				}
			}
		}
	})
}

func jsonEscape(s string) string {
	b, _ := json.Marshal(s)
	return strings.ReplaceAll(string(b[1:len(b)-1]), `\"`, `"`)
}

func TestMdSafe(t *testing.T) {
	for in, want := range map[string]string{
		"plain name":   "plain name",
		"a|b":          `a\|b`,
		"<b>x</b>":     `\<b\>x\<\/b\>`,
		"line\nbreak":  "line break",
		"bell\x07":     `bell\\a`,
		"ünïcødé 🎉":    "ünïcødé 🎉",
		"[x](y)":       `\[x\]\(y\)`,
		"rtl\u202eexe": `rtl\\u202eexe`,
	} {
		if got := mdSafe(in); got != want {
			t.Errorf("mdSafe(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEtaText(t *testing.T) {
	for sec, want := range map[float64]string{0: "0s", 59.1: "1m00s", 137.2: "2m18s", 3600: "1h00m", 7322: "2h02m"} {
		if got := etaText(sec); got != want {
			t.Errorf("etaText(%v) = %q, want %q", sec, got, want)
		}
	}
}

// TestRenderUnmappedConnection: a reference the mapping could not bind
// still names its source connection in the desired flow; text and
// Markdown say it is not mapped instead of showing "-> <source connection>"
// as if that were its binding in the target.
func TestRenderUnmappedConnection(t *testing.T) {
	p := Plan{
		Source: Side{Env: srcEnv, Rev: "4f1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c"},
		Target: Side{Env: dstEnv, Live: true},
		Changes: []Change{{
			Action: Create, Source: model.Key{Env: srcEnv, Flow: src(1)}, DisplayName: "Timesheet reminder",
			Parts:    Parts{Connections: []ConnectionChange{{Key: "shared_teams", API: "shared_teams", To: "shared-teams-src1"}}},
			Bindings: []ConnectionChange{{Key: "shared_teams", API: "shared_teams"}},
		}},
	}
	for _, format := range []string{"text", "markdown"} {
		var buf bytes.Buffer
		if err := Render(&buf, p, format, RenderOptions{}); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		if strings.Contains(out, "-> shared-teams-src1") || strings.Contains(out, "→ shared-teams-src1") {
			t.Errorf("%s shows the source connection as the binding:\n%s", format, out)
		}
		if !strings.Contains(out, "not mapped") {
			t.Errorf("%s does not say the reference is not mapped:\n%s", format, out)
		}
	}
}
