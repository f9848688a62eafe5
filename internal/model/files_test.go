package model

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/google/go-cmp/cmp"
)

func TestRootFile(t *testing.T) {
	if got, want := string(RootFile()), "{\n  \"format\": 1\n}\n"; got != want {
		t.Errorf("RootFile = %q, want %q", got, want)
	}
	if v, err := ParseRootFile(RootFile()); err != nil || v != FormatVersion {
		t.Errorf("ParseRootFile(RootFile()) = %d, %v", v, err)
	}
	for name, in := range map[string]string{
		"newer format":  `{"format":2}`,
		"unknown field": `{"format":1,"exportedAt":"2025-01-01"}`,
		"not json":      `format=1`,
		"missing":       `{}`,
	} {
		if _, err := ParseRootFile([]byte(in)); err == nil {
			t.Errorf("%s: ParseRootFile(%s) succeeded", name, in)
		}
	}
}

func TestEnvironmentFile(t *testing.T) {
	var e api.Environment
	in := `{"name":"Default-00000000-0000-0000-0000-0000000000aa","location":"europe","type":"Microsoft.ProcessSimple/environments",
		"properties":{"displayName":"Contoso (default)","isDefault":true,"environmentSku":"Default","provisioningState":"Succeeded",
		"createdTime":"2020-01-01T00:00:00Z","lastModifiedTime":"2025-03-03T03:03:03Z","runtimeEndpoints":{"microsoft.Flow":"https://europe.api.flow.microsoft.com"},
		"linkedEnvironmentMetadata":{"instanceUrl":"https://contoso.crm4.example.invalid/","uniqueName":"unq0001"},"capacity":[{"actualConsumption":1.5}]}}`
	if err := json.Unmarshal([]byte(in), &e); err != nil {
		t.Fatal(err)
	}
	env := EnvironmentFromAPI(e)
	b, err := EnvironmentFile(env)
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "createdTime": "2020-01-01T00:00:00Z",
  "dataverse": {
    "instanceUrl": "https://contoso.crm4.example.invalid/",
    "uniqueName": "unq0001"
  },
  "displayName": "Contoso (default)",
  "isDefault": true,
  "location": "europe",
  "name": "Default-00000000-0000-0000-0000-0000000000aa",
  "sku": "Default"
}
`
	if diff := cmp.Diff(want, string(b)); diff != "" {
		t.Errorf("EnvironmentFile (-want +got):\n%s", diff)
	}
	back, err := ParseEnvironmentFile(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(env, back); diff != "" {
		t.Errorf("ParseEnvironmentFile (-want +got):\n%s", diff)
	}
	if _, err := EnvironmentFile(Environment{Name: ".git"}); err == nil {
		t.Errorf("EnvironmentFile accepted name .git")
	}
	if _, err := ParseEnvironmentFile([]byte(`{"name":"../x"}`)); err == nil {
		t.Errorf("ParseEnvironmentFile accepted name ../x")
	}
}

func TestParseFilesErrors(t *testing.T) {
	good, err := Files(flowFixture(flowA, "A"))
	if err != nil {
		t.Fatal(err)
	}
	key := Key{Env: testEnv, Flow: flowA}
	tests := []struct {
		name   string
		key    Key
		mutate func(map[string][]byte)
		want   string
	}{
		{"invalid flow key", Key{Env: testEnv, Flow: "x"}, func(map[string][]byte) {}, "flow name"},
		{"invalid env key", Key{Env: "a/b", Flow: flowA}, func(map[string][]byte) {}, "environment name"},
		{"missing permissions", key, func(m map[string][]byte) { delete(m, PermissionsFileName) }, "permissions.json: missing"},
		{"unexpected file", key, func(m map[string][]byte) { m["notes.txt"] = []byte("x") }, "notes.txt: unexpected file"},
		{"duplicate key in flow.json", key, func(m map[string][]byte) { m[FlowFileName] = []byte(`{"displayName":"a","displayName":"b"}`) }, "duplicate object key"},
		{"unknown field in flow.json", key, func(m map[string][]byte) { m[FlowFileName] = []byte(`{"displayName":"a","color":"red"}`) }, `unknown field "color"`},
		{"definition not json", key, func(m map[string][]byte) { m[DefinitionFileName] = []byte(`{`) }, "definition.json"},
		{"reference without api", key, func(m map[string][]byte) { m[ConnectionsFileName] = []byte(`{"shared_x":{"source":"Embedded"}}`) }, `reference "shared_x" names no api`},
		{"permissions not a list", key, func(m map[string][]byte) { m[PermissionsFileName] = []byte(`{"permissions":{}}`) }, "permissions.json"},
		{"flow.json alone for a live flow", key, func(m map[string][]byte) {
			for n := range m {
				if n != FlowFileName {
					delete(m, n)
				}
			}
		}, "definition.json: missing"},
		{"missing flow.json", key, func(m map[string][]byte) { delete(m, FlowFileName) }, "flow.json: missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string][]byte{}
			for k, v := range good {
				files[k] = v
			}
			tt.mutate(files)
			_, err := ParseFiles(tt.key, files)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ParseFiles error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestParseFilesDeletedRecord(t *testing.T) {
	f := flowFixture(flowA, "A")
	f.Meta.State = api.StateDeleted
	files, err := Files(f)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseFiles(f.Key, map[string][]byte{FlowFileName: files[FlowFileName]})
	if err != nil {
		t.Fatalf("a deleted flow's record (flow.json alone) was refused: %v", err)
	}
	if got.Definition != nil || len(got.Connections) != 0 || len(got.Permissions) != 0 || got.Meta.DisplayName != "A" || got.Meta.State != api.StateDeleted {
		t.Errorf("record parsed as %+v", got)
	}
}

func TestParseFilesAcceptsHandEditedJSON(t *testing.T) {
	f := flowFixture(flowA, "A")
	files := map[string][]byte{
		FlowFileName:        []byte(`{"state":"Started","displayName":"A","lastModifiedTime":"2025-01-01T00:00:00Z"}`),
		DefinitionFileName:  []byte("\xef\xbb\xbf{\"actions\":{}}"),
		ConnectionsFileName: []byte(`{"shared_office365":{"api":"shared_office365","source":"Embedded","connectionName":"c1"}}`),
		PermissionsFileName: []byte(`{"permissions":[{"principal":"11111111-1111-1111-1111-111111111111","type":"User","role":"Owner"}]}`),
	}
	got, err := ParseFiles(Key{Env: testEnv, Flow: api.FlowName(strings.ToUpper(string(flowA)))}, files)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(f, got, rawJSON, emptyMapsEqual); diff != "" {
		t.Errorf("ParseFiles (-want +got):\n%s", diff)
	}
	canonical, err := Files(got)
	if err != nil {
		t.Fatal(err)
	}
	want, err := Files(f)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, canonical); diff != "" {
		t.Errorf("Files of hand-edited input (-want +got):\n%s", diff)
	}
}

func TestFilesEmptyPermissionsAndConnections(t *testing.T) {
	f := flowFixture(flowA, "A")
	f.Connections, f.Permissions = nil, nil
	files, err := Files(f)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(files[PermissionsFileName]); got != "{\n  \"permissions\": []\n}\n" {
		t.Errorf("permissions.json = %q", got)
	}
	if got := string(files[ConnectionsFileName]); got != "{}\n" {
		t.Errorf("connections.json = %q", got)
	}
	dup := flowFixture(flowA, "A")
	dup.Connections = append(dup.Connections, dup.Connections[0])
	if _, err := Files(dup); err == nil {
		t.Errorf("Files accepted a duplicate reference key")
	}
	if _, err := dup.ToAPI(); err == nil {
		t.Errorf("ToAPI accepted a duplicate reference key")
	}
}

func TestEnvReadme(t *testing.T) {
	env := Environment{Name: testEnv}
	mk := func(flow api.FlowName, name string) Flow {
		f := flowFixture(flow, name)
		f.Meta.TriggerKind = "Request/Button"
		return f
	}
	t.Run("no flows", func(t *testing.T) {
		got := string(EnvReadme(env, nil))
		if !strings.HasPrefix(got, "# "+string(testEnv)+"\n") || !strings.Contains(got, "- Flows: 0\n") || strings.Contains(got, "| Flow |") {
			t.Errorf("EnvReadme without flows:\n%s", got)
		}
	})
	t.Run("escaping", func(t *testing.T) {
		tests := []struct {
			name, display, want string
		}{
			{"pipe", "a | b", `[a \| b]`},
			{"newline", "line1\nline2\r\nline3", `[line1\\nline2\\r\\nline3]`},
			{"link injection", "x](https://evil.invalid) [y", `[x\](https://evil.invalid) \[y]`},
			{"html", "<img src=x onerror=alert(1)>", `[\<img src=x onerror=alert(1)\>]`},
			{"emphasis and code", "*bold* _it_ `code` ~~s~~", "[\\*bold\\* \\_it\\_ \\`code\\` \\~\\~s\\~\\~]"},
			{"entities", "&amp; &#60;", `[\&amp; \&#60;]`},
			{"backslash", `a\|b`, `[a\\\|b]`},
			{"control characters", "a\x00b\x1bc", `[a\\x00b\\x1bc]`},
			{"bidi override", "invoice\u202Etxt.exe", `[invoice\\u202etxt.exe]`},
			{"empty", "", "[(no name)]"},
			{"spaces only", "   ", "[(no name)]"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got := string(EnvReadme(env, []Flow{mk(flowA, tt.display)}))
				row := got[strings.LastIndex(strings.TrimRight(got, "\n"), "\n")+1:]
				if !strings.HasPrefix(row, "| "+tt.want+"(flows/"+string(flowA)+"/) |") {
					t.Errorf("row = %q, want it to start with the link %q", row, tt.want)
				}
				if strings.Count(row, "\n") != 1 {
					t.Errorf("row spans several lines: %q", row)
				}
			})
		}
	})
	t.Run("sorted by name then guid", func(t *testing.T) {
		flows := []Flow{mk(flowC, "beta"), mk(flowB, "Alpha"), mk(flowA, "beta"), mk(flowA, "alpha")}
		flows[3].Key.Flow = "00000000-0000-4000-8000-00000000000d"
		got := string(EnvReadme(env, flows))
		order := []string{
			"[Alpha](flows/" + string(flowB),
			"[alpha](flows/00000000-0000-4000-8000-00000000000d",
			"[beta](flows/" + string(flowA),
			"[beta](flows/" + string(flowC),
		}
		last := -1
		for _, o := range order {
			i := strings.Index(got, o)
			if i <= last {
				t.Fatalf("%q out of order in:\n%s", o, got)
			}
			last = i
		}
		// Input order does not matter.
		reversed := []Flow{flows[3], flows[2], flows[1], flows[0]}
		if again := string(EnvReadme(env, reversed)); again != got {
			t.Errorf("EnvReadme depends on input order")
		}
	})
}
