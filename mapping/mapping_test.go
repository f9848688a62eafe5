package mapping

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowsync/flowsync/diff"
	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/model"
	"github.com/flowsync/flowsync/internal/testgolden"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/mapping")

const (
	srcEnv = api.EnvName("dev-0001")
	alice  = api.PrincipalID("aaaaaaaa-0000-4000-8000-000000000001")
	bob    = api.PrincipalID("bbbbbbbb-0000-4000-8000-000000000002")
	bobDst = api.PrincipalID("b0b0b0b0-0000-4000-8000-000000000002")
	ghost  = api.PrincipalID("99999999-0000-4000-8000-000000000009")
	group  = api.PrincipalID("dddddddd-0000-4000-8000-000000000004")
)

func TestParse(t *testing.T) {
	data := `# promotion dev -> prod
connections:
  byConnector:
    shared_office365: shared-office365-8f3c
    shared_teams: "shared-teams-1"
  byConnection:
    shared-sharepointonl-1a2b: shared-sharepointonl-77d0
principals:
  aaaaaaaa-0000-4000-8000-000000000001: "a1a1a1a1-0000-4000-8000-000000000001"
`
	f, err := Parse("map.yaml", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	want := &File{
		Name: "map.yaml",
		ByConnector: []ConnectorEntry{
			{API: "shared_office365", Connection: "shared-office365-8f3c", Line: 4},
			{API: "shared_teams", Connection: "shared-teams-1", Line: 5},
		},
		ByConnection: []ConnectionEntry{{From: "shared-sharepointonl-1a2b", To: "shared-sharepointonl-77d0", Line: 7}},
		Principals:   []PrincipalEntry{{From: alice, To: "a1a1a1a1-0000-4000-8000-000000000001", Line: 9}},
	}
	if diff := cmp.Diff(want, f); diff != "" {
		t.Errorf("Parse (-want +got):\n%s", diff)
	}
	for _, empty := range []string{"", "# nothing\n", "connections:\nprincipals:\n", "connections:\n  byConnector:\n  byConnection: {}\n"} {
		f, err := Parse("e.yaml", []byte(empty))
		if err != nil || len(f.ByConnector)+len(f.ByConnection)+len(f.Principals) != 0 {
			t.Errorf("Parse(%q) = %+v, %v", empty, f, err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		data string
		want []diff.Problem // Where and Code; Message must contain Message
	}{
		{"bad yaml", "connections:\n  byConnector: [\n", []diff.Problem{{Code: CodeBadYAML, Where: "m.yaml:2", Message: "not valid YAML"}}},
		{"tab indentation", "connections:\n\tbyConnector: {}\n", []diff.Problem{{Code: CodeBadYAML, Where: "m.yaml:2", Message: "not valid YAML"}}},
		{"unknown keys everywhere at once", "conections: {}\nconnections:\n  byConnecter: {}\n  byConnector:\n    a: b\nprincipal: {}\n", []diff.Problem{
			{Code: CodeUnknownKey, Where: "m.yaml:1", Message: `unknown key "conections" in the mapping file`},
			{Code: CodeUnknownKey, Where: "m.yaml:3", Message: `unknown key "byConnecter" in connections: allowed are byConnector, byConnection`},
			{Code: CodeUnknownKey, Where: "m.yaml:6", Message: `unknown key "principal"`},
		}},
		{"values must be names", "connections:\n  byConnector:\n    a:\n    b: [x]\n    c: {d: e}\n    e: two words\n", []diff.Problem{
			{Code: CodeBadYAML, Where: "m.yaml:3", Message: "connections.byConnector.a: must be a name, found nothing"},
			{Code: CodeBadYAML, Where: "m.yaml:4", Message: "found a list"},
			{Code: CodeBadYAML, Where: "m.yaml:5", Message: "found a mapping"},
			{Code: CodeBadYAML, Where: "m.yaml:6", Message: `"two words" is not a name`},
		}},
		{"keys must be names", "principals:\n  \"a\\eb\": c\n  \"\": d\n", []diff.Problem{
			{Code: CodeBadYAML, Where: "m.yaml:2", Message: `principals (key): "a\x1bb" is not a name`},
			{Code: CodeBadYAML, Where: "m.yaml:3", Message: "principals (key): must be a name, found nothing"},
		}},
		{"repeated key", "principals:\n  X: y\n  x: z\n", []diff.Problem{{Code: CodeBadYAML, Where: "m.yaml:3", Message: "repeats the one at line 2"}}},
		{"not a mapping", "- a\n- b\n", []diff.Problem{{Code: CodeBadYAML, Where: "m.yaml:1", Message: "must be a mapping"}}},
		{"section not a mapping", "connections: yes\n", []diff.Problem{{Code: CodeBadYAML, Where: "m.yaml:1", Message: "connections must be a mapping"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse("m.yaml", []byte(tt.data))
			var me *Error
			if !errors.As(err, &me) || f != nil {
				t.Fatalf("Parse = %+v, %v; want *Error", f, err)
			}
			if len(me.Problems) != len(tt.want) {
				t.Fatalf("problems = %+v, want %d", me.Problems, len(tt.want))
			}
			for i, w := range tt.want {
				g := me.Problems[i]
				if g.Code != w.Code || g.Where != w.Where || !strings.Contains(g.Message, w.Message) {
					t.Errorf("problem %d = %+v, want %+v", i, g, w)
				}
			}
			if !strings.Contains(err.Error(), tt.want[0].Where+": ") {
				t.Errorf("Error() does not name file:line: %s", err)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	f, err := Load("")
	if err != nil || f == nil || len(f.ByConnector) != 0 {
		t.Errorf(`Load("") = %+v, %v`, f, err)
	}
	dir := t.TempDir()
	if _, err := Load(filepath.Join(dir, "nope.yaml")); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("missing file: %v", err)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("directory: %v", err)
	}
	path := filepath.Join(dir, "map.yaml")
	if err := os.WriteFile(path, []byte("principals:\n  a: b\n  c: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Load(path)
	var me *Error
	if !errors.As(err, &me) || !strings.HasPrefix(me.Problems[0].Where, path+":") {
		t.Errorf("Load of bad file: %v", err)
	}
	if err := os.WriteFile(path, []byte("principals:\n  a: b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if f, err := Load(path); err != nil || len(f.Principals) != 1 || f.Name != path {
		t.Errorf("Load = %+v, %v", f, err)
	}
}

// inventory: office365 has one Connected and one failed connection; sharepoint
// has two Connected ones; teams has only an unauthenticated one; excel is a
// connector without connections; there is no custom connector.
func testInventory() Inventory {
	conn := func(name, apiName, status string) api.Connection {
		c := api.Connection{Name: api.ConnectionName(name), Properties: api.ConnectionProperties{
			APIID: "/providers/Microsoft.PowerApps/apis/" + apiName, DisplayName: name + " display"}}
		if status != "" {
			c.Properties.Statuses = []api.ConnectionStatus{{Status: status}}
		}
		return c
	}
	failed := conn("shared-office365-broken", "shared_office365", "Error")
	failed.Properties.Statuses[0].Error = &api.ErrorEntry{Code: "Unauthorized"}
	return Inventory{
		Connectors: []api.Connector{{Name: "shared_office365"}, {Name: "shared_sharepointonline"}, {Name: "shared_teams"}, {Name: "shared_excelonlinebusiness"}},
		Connections: []api.Connection{
			conn("shared-office365-good", "shared_office365", "Connected"),
			failed,
			conn("shared-sharepointonl-1", "shared_sharepointonline", "Connected"),
			conn("shared-sharepointonl-2", "shared_sharepointonline", "Connected"),
			conn("shared-teams-unauth", "shared_teams", "Unauthenticated"),
			conn("shared-teams-nostatus", "shared_teams", ""),
		},
		Principals: map[api.PrincipalID]api.Principal{alice: {ID: alice}, bobDst: {ID: bobDst}, group: {ID: group}},
	}
}

func ref(key, apiName, conn string) model.ConnectionRef {
	return model.ConnectionRef{Key: key, API: api.APIName(apiName), Connection: api.ConnectionName(conn), Source: "Embedded"}
}

func testFlow(n int, display string, refs ...model.ConnectionRef) model.Flow {
	return model.Flow{
		Key:         model.Key{Env: srcEnv, Flow: api.FlowName("a0000000-0000-4000-8000-00000000000" + string(rune('0'+n)))},
		Meta:        model.Meta{DisplayName: display, State: api.StateStarted},
		Connections: refs,
		Permissions: []model.Permission{{Principal: alice, Type: "User", Role: api.RoleOwner}},
	}
}

func TestResolveBindings(t *testing.T) {
	f, err := Parse("map.yaml", []byte(`connections:
  byConnector:
    shared_sharepointonline: shared-sharepointonl-2
  byConnection:
    src-sp-special: shared-sharepointonl-1
`))
	if err != nil {
		t.Fatal(err)
	}
	fl := testFlow(1, "Mixed",
		ref("shared_office365", "shared_office365", "src-o365"),
		ref("shared_sharepointonline", "shared_sharepointonline", "src-sp-special"),
		ref("shared_sharepointonline_1", "shared_sharepointonline", "src-sp-other"),
	)
	res, probs := Resolve(f, []model.Flow{fl}, testInventory())
	if len(probs) != 0 {
		t.Fatalf("problems: %+v", probs)
	}
	want := []diff.ConnectionChange{
		{Key: "shared_office365", API: "shared_office365", To: "shared-office365-good", How: HowAuto},
		{Key: "shared_sharepointonline", API: "shared_sharepointonline", To: "shared-sharepointonl-1", How: HowByConnection},
		{Key: "shared_sharepointonline_1", API: "shared_sharepointonline", To: "shared-sharepointonl-2", How: HowByConnector},
	}
	if diff := cmp.Diff(want, res.Connections(fl.Key)); diff != "" {
		t.Errorf("bindings (-want +got):\n%s", diff)
	}
	got := res.Apply(fl)
	var conns []api.ConnectionName
	for _, c := range got.Connections {
		conns = append(conns, c.Connection)
	}
	if diff := cmp.Diff([]api.ConnectionName{"shared-office365-good", "shared-sharepointonl-1", "shared-sharepointonl-2"}, conns); diff != "" {
		t.Errorf("Apply connections (-want +got):\n%s", diff)
	}
	if fl.Connections[0].Connection != "src-o365" {
		t.Errorf("Apply modified its input")
	}
}

func TestResolveSameEnv(t *testing.T) {
	inv := testInventory()
	inv.SameEnv = true
	fl := testFlow(1, "Own connections",
		ref("shared_sharepointonline", "shared_sharepointonline", "shared-sharepointonl-2"),
		ref("shared_office365", "shared_office365", "shared-office365-broken"),
		ref("shared_office365_1", "shared_office365", "gone-since"),
	)
	res, probs := Resolve(nil, []model.Flow{fl}, inv)
	if diff := cmp.Diff([]string{CodeConnectionNotConnected}, problemCodes(probs)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	want := []diff.ConnectionChange{
		{Key: "shared_office365", API: "shared_office365", To: "shared-office365-broken", How: HowSame},
		{Key: "shared_office365_1", API: "shared_office365", To: "shared-office365-good", How: HowAuto},
		{Key: "shared_sharepointonline", API: "shared_sharepointonline", To: "shared-sharepointonl-2", How: HowSame},
	}
	if diff := cmp.Diff(want, res.Connections(fl.Key)); diff != "" {
		t.Errorf("bindings (-want +got):\n%s", diff)
	}
}

func problemCodes(ps []diff.Problem) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Code)
	}
	return out
}

// TestResolveProblems makes every validation failure at once and checks
// each is reported with a clear message and, for the file's lines, file:line.
func TestResolveProblems(t *testing.T) {
	f, err := Parse("prod.yaml", []byte(`connections:
  byConnector:
    shared_custom-5fwidgets: shared-custom-1
    shared_teams: shared-teams-unauth
    shared_office365: shared-sharepointonl-1
  byConnection:
    src-x: no-such-connection
    src-y: shared-office365-broken
principals:
  bbbbbbbb-0000-4000-8000-000000000002: b0b0b0b0-0000-4000-8000-000000000002
  cccccccc-0000-4000-8000-000000000003: 99999999-0000-4000-8000-000000000009
`))
	if err != nil {
		t.Fatal(err)
	}
	flows := []model.Flow{
		testFlow(1, "Needs sharepoint", ref("shared_sharepointonline", "shared_sharepointonline", "src-sp")),
		testFlow(2, "Needs a missing connector", ref("shared_sql", "shared_sql", "src-sql")),
		testFlow(3, "Teams without sign-in", ref("shared_teams_1", "shared_teams", "")),
		testFlow(4, "Ghost owner"),
		testFlow(5, "Fine and mapped", ref("shared_office365", "shared_office365", "src-o365")),
	}
	flows[2].Connections = []model.ConnectionRef{ref("shared_teams", "shared_teams", "src-teams")} // mapped, though not Connected: reported at the line
	flows[3].Permissions = append(flows[3].Permissions,
		model.Permission{Principal: ghost, Type: "User", Role: api.RoleCanEdit},
		model.Permission{Principal: bob, Type: "User", Role: api.RoleCanView},
		model.Permission{Principal: "tenant-id", Type: api.PrincipalTenant, Role: api.RoleCanView},
	)
	flows = append(flows, testFlow(7, "Excel unmapped", ref("x", "shared_excelonlinebusiness", "")))

	res, probs := Resolve(f, flows, testInventory())
	type pv struct{ Code, Where, Contains string }
	want := []pv{
		{CodeMissingConnector, "prod.yaml:3", "the target has no connector shared_custom-5fwidgets"},
		{CodeConnectionNotConnected, "prod.yaml:4", `"shared-teams-unauth" is not Connected (Unauthenticated)`},
		{CodeConnectorMismatch, "prod.yaml:5", "belongs to connector shared_sharepointonline, not shared_office365"},
		{CodeUnknownConnection, "prod.yaml:7", `the target has no connection "no-such-connection"`},
		{CodeConnectionNotConnected, "prod.yaml:8", "is not Connected (Error (Unauthorized))"},
		{CodeUnknownPrincipal, "prod.yaml:11", "principal 99999999-0000-4000-8000-000000000009 does not exist in the target directory"},
		{CodeUnmappedConnection, "environments/dev-0001/flows/a0000000-0000-4000-8000-000000000001/connections.json", "2 Connected connections of shared_sharepointonline (shared-sharepointonl-1, shared-sharepointonl-2): choose one under connections.byConnector.shared_sharepointonline or connections.byConnection.src-sp"},
		{CodeMissingConnector, "environments/dev-0001/flows/a0000000-0000-4000-8000-000000000002/connections.json", "the target has no connector shared_sql"},
		{CodeUnknownPrincipal, "environments/dev-0001/flows/a0000000-0000-4000-8000-000000000004/permissions.json", "User 99999999-0000-4000-8000-000000000009 (CanEdit) of flow \"Ghost owner\" does not exist"},
		{CodeUnmappedConnection, "environments/dev-0001/flows/a0000000-0000-4000-8000-000000000007/connections.json", "no Connected connection of shared_excelonlinebusiness (0 in all)"},
	}
	var got []pv
	for i, p := range probs {
		g := pv{p.Code, p.Where, ""}
		if i < len(want) && strings.Contains(p.Message, want[i].Contains) {
			g.Contains = want[i].Contains
		} else {
			g.Contains = p.Message
		}
		got = append(got, g)
	}
	// bob has an entry (to bobDst, which exists), so bob in flow 4 is no problem.
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	for _, p := range probs {
		if strings.HasPrefix(p.Where, "environments/") && p.Flow == nil {
			t.Errorf("flow problem without its flow: %+v", p)
		}
	}
	applied := res.Apply(flows[3])
	var principals []api.PrincipalID
	for _, p := range applied.Permissions {
		principals = append(principals, p.Principal)
	}
	if diff := cmp.Diff([]api.PrincipalID{alice, ghost, bobDst, "tenant-id"}, principals); diff != "" {
		t.Errorf("Apply principals (-want +got):\n%s", diff)
	}
}

func TestResolveUnreadDirectory(t *testing.T) {
	inv := testInventory()
	inv.Principals = nil
	fl := testFlow(1, "Someone", ref("shared_office365", "shared_office365", "c"))
	fl.Permissions = append(fl.Permissions, model.Permission{Principal: ghost, Type: "User", Role: api.RoleCanView})
	if _, probs := Resolve(nil, []model.Flow{fl}, inv); len(probs) != 0 {
		t.Errorf("principals checked without a directory: %+v", probs)
	}
}

func TestInitGolden(t *testing.T) {
	inv := testInventory()
	inv.Connections = append(inv.Connections, api.Connection{Name: "shared-office365-second", Properties: api.ConnectionProperties{
		APIID: "/providers/Microsoft.PowerApps/apis/shared_office365", DisplayName: "Evil\nprincipals:\n  x: y # \x1b[31m",
		Statuses: []api.ConnectionStatus{{Status: "Connected"}}}})
	inv.Connections = append(inv.Connections, api.Connection{Name: "shared-planner-1", Properties: api.ConnectionProperties{
		APIID: "/providers/Microsoft.PowerApps/apis/shared_planner", DisplayName: "Planner: \"ops\" 📋",
		Statuses: []api.ConnectionStatus{{Status: "Connected"}}}})
	inv.Connectors = append(inv.Connectors, api.Connector{Name: "shared_planner"})
	flows := []model.Flow{
		testFlow(1, "A", ref("shared_office365", "shared_office365", "src-o365-a"), ref("shared_planner", "shared_planner", "src-planner")),
		testFlow(2, "B", ref("shared_office365", "shared_office365", "src-o365-b"), ref("shared_sql", "shared_sql", "src-sql"),
			ref("shared_teams", "shared_teams", "src-teams")),
		testFlow(3, "C", ref("shared_sharepointonline", "shared_sharepointonline", "src-sp")),
	}
	flows[1].Permissions = append(flows[1].Permissions,
		model.Permission{Principal: ghost, Type: "User", Role: api.RoleCanEdit},
		model.Permission{Principal: group, Type: "Group", Role: api.RoleCanView},
		model.Permission{Principal: "tenant", Type: api.PrincipalTenant, Role: api.RoleCanView})
	deleted := testFlow(4, "Deleted", ref("shared_deleted_only", "shared_deleted_only", "x"))
	deleted.Meta.State = api.StateDeleted
	flows = append(flows, deleted)

	out := Init(flows, inv)
	path := filepath.Join("..", "testdata", "mapping", "init.yaml")
	testgolden.Check(t, path, out, *update)
	if string(Init(flows, inv)) != string(out) {
		t.Errorf("Init is not deterministic")
	}

	// The starter file parses, holds only the unique matches and found
	// principals, and no display name escaped its comment.
	f, err := Parse("init.yaml", out)
	if err != nil {
		t.Fatalf("Init output does not parse: %v\n%s", err, out)
	}
	wantFile := &File{Name: "init.yaml",
		ByConnector: []ConnectorEntry{{API: "shared_planner", Connection: "shared-planner-1"}},
		Principals:  []PrincipalEntry{{From: alice, To: alice}, {From: group, To: group}},
	}
	if diff := cmp.Diff(wantFile, f, cmpIgnoreLines()); diff != "" {
		t.Errorf("parsed Init (-want +got):\n%s", diff)
	}
	if strings.ContainsAny(string(out), "\x1b\r") {
		t.Errorf("control characters in Init output")
	}
}

func cmpIgnoreLines() cmp.Option {
	return cmp.FilterPath(func(p cmp.Path) bool {
		return p.Last().String() == ".Line"
	}, cmp.Ignore())
}

func TestYAMLKey(t *testing.T) {
	for in, want := range map[string]string{
		"shared_office365":       "shared_office365",
		"0b1c-2d":                `"0b1c-2d"`,
		"yes":                    `"yes"`,
		"a b":                    `"a b"`,
		"x\"y\\z":                `"x\"y\\z"`,
		"new\nline":              `"new\u000aline"`,
		"emoji🎉":                 `"emoji\U0001f389"`,
		"shared-office365-8f3c0": "shared-office365-8f3c0",
	} {
		if got := yamlKey(in); got != want {
			t.Errorf("yamlKey(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestResolveNeverChoosesAFailedConnection(t *testing.T) {
	// teams has only an unauthenticated connection and one without status.
	fl := testFlow(1, "Teams", ref("shared_teams", "shared_teams", "src-teams"))
	res, probs := Resolve(nil, []model.Flow{fl}, testInventory())
	if len(probs) != 1 || probs[0].Code != CodeUnmappedConnection ||
		!strings.Contains(probs[0].Message, "no Connected connection of shared_teams (2 in all)") {
		t.Fatalf("problems: %+v", probs)
	}
	if b := res.Connections(fl.Key); len(b) != 1 || b[0].To != "" {
		t.Errorf("bound to %+v", b)
	}
	if got := res.Apply(fl); got.Connections[0].Connection != "src-teams" {
		t.Errorf("an unbound reference changed: %+v", got.Connections[0])
	}
}
