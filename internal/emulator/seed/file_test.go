package seed

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/emulator"
	"github.com/flowsync/flowsync/internal/textenc"
)

const testDefinition = `{"$schema":"https://schema.management.azure.com/providers/Microsoft.Logic/schemas/2016-06-01/workflowdefinition.json#",
  "contentVersion": "1.0.0.0",
  "parameters": {"$connections": {"defaultValue": {}, "type": "Object"}},
  "triggers": {"manual": {"type": "Request", "kind": "Button", "inputs": {"schema": {}}}},
  "actions": {"Note": {"type": "Compose", "inputs": "caf\u00e9 \u2013 ok", "runAfter": {}}}}`

const packageFile = `{
  "name": "1E768A80-7778-4C66-89D6-46FD55E8A6FA",
  "id": "/providers/Microsoft.Flow/flows/1e768a80-7778-4c66-89d6-46fd55e8a6fa",
  "type": "Microsoft.Flow/flows",
  "properties": {
    "apiId": "/providers/Microsoft.PowerApps/apis/shared_logicflows",
    "displayName": "Package flow",
    "definition": ` + testDefinition + `,
    "connectionReferences": {
      "shared_sharepointonline": {"connectionName": "shared-sharepointonl-6ef6f5d4", "source": "Embedded", "id": "/providers/Microsoft.PowerApps/apis/shared_sharepointonline", "tier": "NotSpecified"},
      "shared_office365_1": {"connectionName": "ead2b0f73ff844c7b605de5f4eb400dc", "source": "Invoker", "id": "/providers/Microsoft.PowerApps/apis/shared_office365", "tier": "NotSpecified"}
    },
    "flowFailureAlertSubscribed": false,
    "isManaged": false
  }
}`

const solutionFile = `{
  "properties": {
    "connectionReferences": {
      "shared_commondataserviceforapps_1": {"impersonation": {"source": "invoker"}, "runtimeSource": "embedded",
        "connection": {"connectionReferenceLogicalName": "cat_Dataverse"}, "api": {"name": "shared_commondataserviceforapps"}},
      "shared_teams": {"api": {"name": "shared_teams"}, "connection": {"connectionReferenceLogicalName": "pnp_teams", "name": "shared-teams-0bb64221"}, "runtimeSource": "invoker"},
      "shared_cat-5fgraph-5f21dec655d73f3a8c_1": {"runtimeSource": "embedded", "connection": {"connectionReferenceLogicalName": "cat_Graph"},
        "api": {"name": "shared_cat-5fgraph-5f21dec655d73f3a8c", "logicalName": "cat_5Fgraph"}},
      "shared_office365": {"runtimeSource": "embedded", "connection": {}, "api": {"name": "shared_office365"}},
      "shared_rss": {"api": {"name": "shared_rss"}}
    },
    "definition": ` + testDefinition + `,
    "templateName": ""
  },
  "schemaVersion": "1.0.0.0"
}`

func TestLoadFlowFilePackage(t *testing.T) {
	now := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	f, refs, err := LoadFlowFile([]byte(packageFile), FileOptions{FileName: "flows/x.json", Environment: "env1", Creator: "u1", Time: now, Name: "ignored"})
	if err != nil {
		t.Fatalf("LoadFlowFile: %v", err)
	}
	want := emulator.Flow{
		Environment: "env1", Name: "1e768a80-7778-4c66-89d6-46fd55e8a6fa", DisplayName: "Package flow",
		State: "Started", CreatedTime: now, LastModifiedTime: now, Creator: "u1",
		Definition: json.RawMessage(testDefinition),
		Extra: map[string]json.RawMessage{
			"apiId":                      json.RawMessage(`"/providers/Microsoft.PowerApps/apis/shared_logicflows"`),
			"flowFailureAlertSubscribed": json.RawMessage(`false`),
			"isManaged":                  json.RawMessage(`false`),
		},
	}
	// References already in the service shape are kept byte-for-byte.
	wantRefs := packageFile[strings.Index(packageFile, `{
      "shared_sharepointonline"`):strings.Index(packageFile, `,
    "flowFailureAlertSubscribed"`)]
	if diff := cmp.Diff(wantRefs, string(f.ConnectionReferences)); diff != "" {
		t.Errorf("references (-want +got):\n%s", diff)
	}
	f.ConnectionReferences = nil
	if diff := cmp.Diff(want, f); diff != "" {
		t.Errorf("flow (-want +got):\n%s", diff)
	}
	wantInfo := []RefInfo{
		{Key: "shared_office365_1", API: "shared_office365", ConnectionName: "ead2b0f73ff844c7b605de5f4eb400dc", Source: "Invoker"},
		{Key: "shared_sharepointonline", API: "shared_sharepointonline", ConnectionName: "shared-sharepointonl-6ef6f5d4", Source: "Embedded"},
	}
	if diff := cmp.Diff(wantInfo, refs); diff != "" {
		t.Errorf("RefInfo (-want +got):\n%s", diff)
	}
}

func TestLoadFlowFileSolution(t *testing.T) {
	f, refs, err := LoadFlowFile([]byte(solutionFile), FileOptions{
		FileName: "Workflows/Sync-Logs-8A1B2C3D-0E0F-4A1B-9C8D-7E6F5A4B3C2D.json", Environment: "env1", Creator: "u1"})
	if err != nil {
		t.Fatalf("LoadFlowFile: %v", err)
	}
	if f.Name != "8a1b2c3d-0e0f-4a1b-9c8d-7e6f5a4b3c2d" || f.WorkflowEntityID != string(f.Name) {
		t.Errorf("name %q workflowEntityId %q, want the GUID of the file name for both", f.Name, f.WorkflowEntityID)
	}
	if f.DisplayName != "Sync-Logs" {
		t.Errorf("display name %q, want the file name without its GUID", f.DisplayName)
	}
	if string(f.Definition) != testDefinition {
		t.Errorf("definition changed:\n%s", f.Definition)
	}
	if diff := cmp.Diff(map[string]json.RawMessage{"templateName": json.RawMessage(`""`)}, f.Extra); diff != "" {
		t.Errorf("extra (-want +got):\n%s", diff)
	}
	wantRefs := `{` +
		`"shared_commondataserviceforapps_1":{"id":"/providers/Microsoft.PowerApps/apis/shared_commondataserviceforapps","connectionReferenceLogicalName":"cat_Dataverse","source":"Embedded","impersonation":{"source": "invoker"}},` +
		`"shared_teams":{"id":"/providers/Microsoft.PowerApps/apis/shared_teams","connectionName":"shared-teams-0bb64221","connectionReferenceLogicalName":"pnp_teams","source":"Invoker"},` +
		`"shared_cat-5fgraph-5f21dec655d73f3a8c_1":{"id":"/providers/Microsoft.PowerApps/apis/shared_cat-5fgraph-5f21dec655d73f3a8c","connectionReferenceLogicalName":"cat_Graph","source":"Embedded","api":{"name": "shared_cat-5fgraph-5f21dec655d73f3a8c", "logicalName": "cat_5Fgraph"}},` +
		`"shared_office365":{"id":"/providers/Microsoft.PowerApps/apis/shared_office365","source":"Embedded"},` +
		`"shared_rss":{"id":"/providers/Microsoft.PowerApps/apis/shared_rss","source":"Embedded"}}`
	if diff := cmp.Diff(wantRefs, string(f.ConnectionReferences)); diff != "" {
		t.Errorf("references (-want +got):\n%s", diff)
	}
	wantInfo := []RefInfo{
		{Key: "shared_cat-5fgraph-5f21dec655d73f3a8c_1", API: "shared_cat-5fgraph-5f21dec655d73f3a8c", LogicalName: "cat_Graph", Source: "Embedded"},
		{Key: "shared_commondataserviceforapps_1", API: "shared_commondataserviceforapps", LogicalName: "cat_Dataverse", Source: "Embedded"},
		{Key: "shared_office365", API: "shared_office365", Source: "Embedded"},
		{Key: "shared_rss", API: "shared_rss", Source: "Embedded"},
		{Key: "shared_teams", API: "shared_teams", ConnectionName: "shared-teams-0bb64221", LogicalName: "pnp_teams", Source: "Invoker"},
	}
	if diff := cmp.Diff(wantInfo, refs); diff != "" {
		t.Errorf("RefInfo (-want +got):\n%s", diff)
	}
	// The converted references read back as the service shape.
	var typed map[string]api.ConnectionReference
	if err := json.Unmarshal(f.ConnectionReferences, &typed); err != nil {
		t.Fatalf("references do not decode as api.ConnectionReference: %v", err)
	}
	if r := typed["shared_teams"]; r.ConnectionName != "shared-teams-0bb64221" || r.Source != "Invoker" || r.ConnectionReferenceLogicalName != "pnp_teams" {
		t.Errorf("shared_teams decodes as %+v", r)
	}
}

func TestLoadFlowFileEncodings(t *testing.T) {
	for _, enc := range []textenc.Encoding{textenc.UTF8, textenc.UTF8BOM, textenc.UTF16LE, textenc.UTF16BE} {
		t.Run(enc.String(), func(t *testing.T) {
			f, refs, err := LoadFlowFile(textenc.Encode([]byte(packageFile), enc), FileOptions{FileName: "x.json"})
			if err != nil {
				t.Fatalf("LoadFlowFile: %v", err)
			}
			if string(f.Definition) != testDefinition || len(refs) != 2 || f.DisplayName != "Package flow" {
				t.Errorf("got definition %q, %d refs, display %q", f.Definition, len(refs), f.DisplayName)
			}
		})
	}
}

func TestLoadFlowFileNames(t *testing.T) {
	body := func(top, props string) string {
		return `{` + top + `"properties":{` + props + `"definition":{}}}`
	}
	tests := []struct {
		name        string
		file        string
		opts        FileOptions
		wantName    api.FlowName
		wantDisplay string
		wantState   string
		wantManaged bool
		wantTmpl    string
	}{
		{name: "top-level GUID wins over options", file: body(`"name":"2ED6657D-E927-568B-95E1-2665A8AEA6A2",`, `"displayName":"A",`),
			opts: FileOptions{Name: "opt", DisplayName: "B"}, wantName: "2ed6657d-e927-568b-95e1-2665a8aea6a2", wantDisplay: "A", wantState: "Started"},
		{name: "non-GUID top-level name falls back to options", file: body(`"name":"my-flow",`, ``),
			opts: FileOptions{Name: "opt-name", DisplayName: "From options"}, wantName: "opt-name", wantDisplay: "From options", wantState: "Started"},
		{name: "empty display name falls back", file: body(``, `"displayName":"",`),
			opts:     FileOptions{FileName: `C:\exports\Approve invoice-2ed6657d-e927-568b-95e1-2665a8aea6a2.json`},
			wantName: "2ed6657d-e927-568b-95e1-2665a8aea6a2", wantDisplay: "Approve invoice", wantState: "Started"},
		{name: "derived from base name", file: body(``, ``), opts: FileOptions{FileName: "dir/my-flow.json"},
			wantName: "4755f086-c0d9-526d-832f-1fb775806cf7", wantDisplay: "my-flow", wantState: "Started"},
		{name: "state from file wins", file: body(``, `"state":"Suspended",`), opts: FileOptions{FileName: "a.json", State: "Stopped"},
			wantName: api.FlowName(nameGUID("flow-file\x00a")), wantDisplay: "a", wantState: "Suspended"},
		{name: "state from options", file: body(``, ``), opts: FileOptions{FileName: "a.json", State: "Stopped"},
			wantName: api.FlowName(nameGUID("flow-file\x00a")), wantDisplay: "a", wantState: "Stopped"},
		{name: "mapped properties", file: body(``, `"isManaged":true,"templateName":"tmpl-1",`), opts: FileOptions{FileName: "a.json"},
			wantName: api.FlowName(nameGUID("flow-file\x00a")), wantDisplay: "a", wantState: "Started", wantManaged: true, wantTmpl: "tmpl-1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, _, err := LoadFlowFile([]byte(tc.file), tc.opts)
			if err != nil {
				t.Fatalf("LoadFlowFile: %v", err)
			}
			got := []any{f.Name, f.DisplayName, f.State, f.IsManaged, f.TemplateName, len(f.Extra)}
			want := []any{tc.wantName, tc.wantDisplay, tc.wantState, tc.wantManaged, tc.wantTmpl, 0}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("name, display, state, managed, template, extras (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadFlowFileTimes(t *testing.T) {
	file := `{"properties":{"createdTime":"2024-05-01T10:00:00.1234567Z","lastModifiedTime":"not a time","definition":{}}}`
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	f, _, err := LoadFlowFile([]byte(file), FileOptions{FileName: "t.json", Time: now})
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2024, 5, 1, 10, 0, 0, 123456700, time.UTC); !f.CreatedTime.Equal(want) {
		t.Errorf("created %v, want %v", f.CreatedTime, want)
	}
	if !f.LastModifiedTime.Equal(f.CreatedTime) {
		t.Errorf("modified %v, want the created time when the file's is unreadable", f.LastModifiedTime)
	}
	if string(f.Extra["lastModifiedTime"]) != `"not a time"` {
		t.Errorf("unreadable lastModifiedTime not kept in Extra: %v", f.Extra)
	}
}

func TestLoadFlowFileErrors(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		opts FileOptions
		want []string // substrings of the error
	}{
		{name: "syntax error", in: []byte(`{"properties": {"definition": {]}}`), want: []string{"bad.json", "offset 32"}},
		{name: "truncated", in: []byte(`{"properties": {"definition": {}`), want: []string{"bad.json", "offset", "unexpected end"}},
		{name: "top level array", in: []byte(`[1,2]`), want: []string{"bad.json", "top level is a JSON array"}},
		{name: "empty file", in: nil, want: []string{"bad.json", "invalid JSON"}},
		{name: "no properties", in: []byte(`{"name":"x"}`), want: []string{"no top-level properties"}},
		{name: "properties not an object", in: []byte(`{"properties":[]}`), want: []string{"properties: not a JSON object"}},
		{name: "no definition", in: []byte(`{"properties":{"displayName":"x"}}`), want: []string{"bad.json", "no properties.definition"}},
		{name: "null definition", in: []byte(`{"properties":{"definition":null}}`), want: []string{"no properties.definition"}},
		{name: "definition not an object", in: []byte(`{"properties":{"definition":"x"}}`), want: []string{"not a JSON object"}},
		{name: "references not an object", in: []byte(`{"properties":{"definition":{},"connectionReferences":[]}}`), want: []string{"connectionReferences: not a JSON object"}},
		{name: "reference not an object", in: []byte(`{"properties":{"definition":{},"connectionReferences":{"a":1}}}`), want: []string{`reference "a"`, "not a JSON object"}},
		{name: "reference without id", in: []byte(`{"properties":{"definition":{},"connectionReferences":{"a":{"connectionName":"c"}}}}`), want: []string{`reference "a"`, "no connector id"}},
		{name: "reference with bad id", in: []byte(`{"properties":{"definition":{},"connectionReferences":{"a":{"id":"/providers/x"}}}}`), want: []string{`reference "a"`, `"/providers/x"`}},
		{name: "solution reference without api name", in: []byte(`{"properties":{"definition":{},"connectionReferences":{"a":{"api":{}}}}}`), want: []string{`reference "a"`, "api.name"}},
		{name: "solution api not an object", in: []byte(`{"properties":{"definition":{},"connectionReferences":{"a":{"api":"x"}}}}`), want: []string{`reference "a"`, "api: not a JSON object"}},
		{name: "runtimeSource not a string", in: []byte(`{"properties":{"definition":{},"connectionReferences":{"a":{"api":{"name":"shared_x"},"runtimeSource":1}}}}`), want: []string{"runtimeSource 1"}},
		{name: "invalid utf-8", in: []byte("{\"properties\":{\"definition\":{\"x\":\"\xff\"}}}"), want: []string{"bad.json", "invalid UTF-8", "offset 34"}},
		{name: "odd utf-16", in: []byte("\xff\xfe{\x00}"), want: []string{"bad.json", "odd number of bytes"}},
		{name: "no name source", in: []byte(`{"properties":{"definition":{}}}`), opts: FileOptions{FileName: "-"}, want: []string{"no flow name"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts
			if opts.FileName == "" {
				opts.FileName = "dir/bad.json"
			} else if opts.FileName == "-" {
				opts.FileName = ""
			}
			_, _, err := LoadFlowFile(tc.in, opts)
			if err == nil {
				t.Fatalf("LoadFlowFile succeeded, want an error containing %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestCustomDisplayName(t *testing.T) {
	tests := []struct {
		in   api.APIName
		want string
	}{
		{"shared_contoso-5finvoice-20api-5f0123456789abcdef", "contoso_invoice api"},
		{"shared_cat-5fmicrosoft-20graph-20mailboxsetting-5f21dec655d73f3a8c", "cat_microsoft graph mailboxsetting"},
		{"shared_powerplatformbilliinpolicy-5fcb336cc1377ded3a-5fe4caae088dbe83f8", "powerplatformbilliinpolicy"},
		{"shared_my-connector", "my-connector"},
		{"shared_weird-zz", "weird-zz"},
	}
	for _, tc := range tests {
		t.Run(string(tc.in), func(t *testing.T) {
			if got := customDisplayName(tc.in); got != tc.want {
				t.Errorf("customDisplayName(%s) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestConnectorFor(t *testing.T) {
	tests := []struct {
		name api.APIName
		want emulator.Connector
	}{
		{"shared_office365", emulator.Connector{Name: "shared_office365", DisplayName: "Office 365 Outlook", Tier: "Standard", OAuth: true, Publisher: "Microsoft"}},
		{"shared_approvals", emulator.Connector{Name: "shared_approvals", DisplayName: "Approvals", Tier: "Standard", Publisher: "Microsoft"}},
		{"shared_graphapi-5f04d5eb22c34423fb-5f448e0b83a75acf03", emulator.Connector{Name: "shared_graphapi-5f04d5eb22c34423fb-5f448e0b83a75acf03", DisplayName: "graphapi", Tier: "Premium", Custom: true, Environment: "env1"}},
		{"shared_unknownthing", emulator.Connector{Name: "shared_unknownthing", DisplayName: "unknownthing", Tier: "Premium", Custom: true, Environment: "env1"}},
	}
	for _, tc := range tests {
		t.Run(string(tc.name), func(t *testing.T) {
			if diff := cmp.Diff(tc.want, connectorFor(tc.name, "env1")); diff != "" {
				t.Errorf("connectorFor (-want +got):\n%s", diff)
			}
		})
	}
}

func TestInventConnectionName(t *testing.T) {
	a := inventConnectionName("env1", "shared_sharepointonline", "pnp_sp")
	if !strings.HasPrefix(string(a), "shared-sharepointonl-") || !isGUID(string(a)[len("shared-sharepointonl-"):]) {
		t.Errorf("name %q, want shared-sharepointonl-<guid>", a)
	}
	if b := inventConnectionName("env1", "shared_sharepointonline", "pnp_sp"); a != b {
		t.Errorf("not deterministic: %q vs %q", a, b)
	}
	for _, other := range []api.ConnectionName{
		inventConnectionName("env2", "shared_sharepointonline", "pnp_sp"),
		inventConnectionName("env1", "shared_sharepointonline", "pnp_other"),
	} {
		if other == a {
			t.Errorf("different inputs gave the same name %q", a)
		}
	}
	if got := inventConnectionName("e", "shared_rss", ""); !strings.HasPrefix(string(got), "shared-rss-") {
		t.Errorf("short api: %q", got)
	}
}
