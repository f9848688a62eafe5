package seed

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/emulator"
	"github.com/flowsync/flowsync/internal/testcorpus"
	"github.com/flowsync/flowsync/internal/textenc"
)

// packageNoConnection is a package flow whose only reference names no connection.
const packageNoConnection = `{"name":"0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d","type":"Microsoft.Flow/flows","properties":{
  "displayName":"No connection","definition":{"triggers":{},"actions":{}},
  "connectionReferences":{"shared_planner_1":{"id":"/providers/Microsoft.PowerApps/apis/shared_planner","source":"Embedded","tier":"NotSpecified"}}}}`

func writeFiles(t *testing.T, files map[string][]byte) (string, []string) {
	t.Helper()
	dir := t.TempDir()
	var paths []string
	for name, b := range files {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	slices.Sort(paths)
	return dir, paths
}

func TestFromFiles(t *testing.T) {
	_, paths := writeFiles(t, map[string][]byte{
		"a-package.json":  textenc.Encode([]byte(packageFile), textenc.UTF8BOM),
		"b-solution.json": textenc.Encode([]byte(solutionFile), textenc.UTF16LE),
		"c-noconn.json":   []byte(packageNoConnection),
	})
	base := Demo()
	const env api.EnvName = "3f9a8b7c-6d5e-4f40-8a1b-2c3d4e5f6a7b"
	out, err := FromFiles(env, paths, base)
	if err != nil {
		t.Fatalf("FromFiles: %v", err)
	}
	if diff := cmp.Diff(Demo(), base, rawBytes()); diff != "" {
		t.Fatalf("FromFiles changed its base (-want +got):\n%s", diff)
	}
	checkConsistent(t, out, false)

	e := out.Environments[slices.IndexFunc(out.Environments, func(e emulator.Environment) bool { return e.Name == env })]
	if !e.Dataverse || e.CreatedTime != base.Now {
		t.Errorf("created environment %+v, want Dataverse and created at Now", e)
	}

	var loaded []emulator.Flow
	for _, f := range out.Flows {
		if f.Environment == env {
			loaded = append(loaded, f)
		}
	}
	if len(loaded) != 3 || len(out.Flows) != len(base.Flows)+3 {
		t.Fatalf("got %d flows in %s (%d in all), want 3 (%d)", len(loaded), env, len(out.Flows), len(base.Flows)+3)
	}
	for _, f := range loaded {
		if f.Creator != DemoAdmin || f.CreatedTime != base.Now {
			t.Errorf("flow %s: creator %s created %v, want the first user %s at Now", f.Name, f.Creator, f.CreatedTime, DemoAdmin)
		}
	}
	solution := loaded[1]
	if solution.WorkflowEntityID == "" || loaded[0].WorkflowEntityID != "" {
		t.Errorf("workflowEntityId: package %q, solution %q; want only the solution flow to have one", loaded[0].WorkflowEntityID, solution.WorkflowEntityID)
	}

	// Invented connection names are written into references that had none,
	// and nothing else changes.
	var refs map[string]map[string]any
	if err := json.Unmarshal(solution.ConnectionReferences, &refs); err != nil {
		t.Fatal(err)
	}
	dataverse := inventConnectionName(env, "shared_commondataserviceforapps", "cat_Dataverse")
	want := map[string]any{
		"id":                             "/providers/Microsoft.PowerApps/apis/shared_commondataserviceforapps",
		"connectionName":                 string(dataverse),
		"connectionReferenceLogicalName": "cat_Dataverse",
		"source":                         "Embedded",
		"impersonation":                  map[string]any{"source": "invoker"},
	}
	if diff := cmp.Diff(want, refs["shared_commondataserviceforapps_1"]); diff != "" {
		t.Errorf("converted reference (-want +got):\n%s", diff)
	}
	if got := refs["shared_teams"]["connectionName"]; got != "shared-teams-0bb64221" {
		t.Errorf("shared_teams connectionName %v, want the file's own", got)
	}
	if !strings.Contains(string(loaded[2].ConnectionReferences), `"id":"/providers/Microsoft.PowerApps/apis/shared_planner","connectionName":"shared-planner-`) {
		t.Errorf("package reference without a connection: %s", loaded[2].ConnectionReferences)
	}
	if string(loaded[0].ConnectionReferences) == "" || !bytes.Contains([]byte(packageFile), loaded[0].ConnectionReferences) {
		t.Errorf("package references that name connections must stay byte-for-byte: %s", loaded[0].ConnectionReferences)
	}

	var conns []string
	for _, c := range out.Connections {
		if c.Environment == env {
			if c.Status != "Connected" || c.CreatedBy != DemoAdmin {
				t.Errorf("connection %s: status %s creator %s", c.Name, c.Status, c.CreatedBy)
			}
			conns = append(conns, string(c.API)+" "+string(c.Name))
		}
	}
	slices.Sort(conns)
	wantConns := []string{
		"shared_cat-5fgraph-5f21dec655d73f3a8c " + string(inventConnectionName(env, "shared_cat-5fgraph-5f21dec655d73f3a8c", "cat_Graph")),
		"shared_commondataserviceforapps " + string(dataverse),
		"shared_office365 ead2b0f73ff844c7b605de5f4eb400dc",
		"shared_office365 " + string(inventConnectionName(env, "shared_office365", "")),
		"shared_planner " + string(inventConnectionName(env, "shared_planner", "")),
		"shared_rss " + string(inventConnectionName(env, "shared_rss", "")),
		"shared_sharepointonline shared-sharepointonl-6ef6f5d4",
		"shared_teams shared-teams-0bb64221",
	}
	if diff := cmp.Diff(wantConns, conns); diff != "" {
		t.Errorf("connections in %s (-want +got):\n%s", env, diff)
	}

	added := out.Connectors[len(base.Connectors):]
	wantAdded := []emulator.Connector{
		{Name: "shared_cat-5fgraph-5f21dec655d73f3a8c", DisplayName: "cat_graph", Tier: "Premium", Custom: true, Environment: env},
		connectorFor("shared_rss", ""),
		connectorFor("shared_planner", ""),
	}
	if diff := cmp.Diff(wantAdded, added); diff != "" {
		t.Errorf("added connectors (-want +got):\n%s", diff)
	}
}

func TestFromFilesNilBase(t *testing.T) {
	_, paths := writeFiles(t, map[string][]byte{"p.json": []byte(packageFile)})
	out, err := FromFiles(DemoEnvDefault, paths, nil)
	if err != nil {
		t.Fatalf("FromFiles: %v", err)
	}
	checkConsistent(t, out, false)
	if len(out.Flows) != 1 || len(out.Environments) != 1 || out.Flows[0].Creator != DemoAdmin {
		t.Errorf("got %d flows in %d environments, creator %v", len(out.Flows), len(out.Environments), out.Flows)
	}
}

func TestFromFilesErrors(t *testing.T) {
	clash := strings.Replace(packageFile, "ead2b0f73ff844c7b605de5f4eb400dc", string(connDevTeams), 1)
	tests := []struct {
		name  string
		files map[string][]byte
		env   api.EnvName
		base  *emulator.Snapshot
		want  string
	}{
		{name: "same flow twice", files: map[string][]byte{"a.json": []byte(packageFile), "b.json": []byte(packageFile)},
			env: "e", want: "already exists in environment e"},
		{name: "flow already in base", files: map[string][]byte{"a.json": []byte(strings.Replace(packageFile,
			"1E768A80-7778-4C66-89D6-46FD55E8A6FA", string(DemoFlowInvoiceApproval), 1))},
			env: DemoEnvDev, base: Demo(), want: "already exists"},
		{name: "connection of another api", files: map[string][]byte{"a.json": []byte(clash)},
			env: DemoEnvDev, base: Demo(), want: "belongs to shared_teams, not shared_office365"},
		{name: "malformed file", files: map[string][]byte{"bad.json": []byte("{")}, env: "e", want: "bad.json"},
		{name: "no user", files: map[string][]byte{"a.json": []byte(packageFile)}, env: "e",
			base: &emulator.Snapshot{Tenant: DemoTenant}, want: "no user"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, paths := writeFiles(t, tc.files)
			_, err := FromFiles(tc.env, paths, tc.base)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		_, err := FromFiles("e", []string{filepath.Join(t.TempDir(), "nope.json")}, nil)
		if err == nil || !strings.Contains(err.Error(), "nope.json") {
			t.Errorf("err = %v, want one naming nope.json", err)
		}
	})
}

func TestFromCorpusManifest(t *testing.T) {
	manifest := "file\tsource_path\tformat\tdisplay_name\n" +
		"a.json\tsolution/Workflows/Nice-Name-8A1B2C3D-0E0F-4A1B-9C8D-7E6F5A4B3C2D.json\tsolution\tNice Name\n" +
		"b.json\tpkg/Microsoft.Flow/flows/2ed6657d-e927-568b-95e1-2665a8aea6a2/definition.json\tpackage\t\n"
	dir, _ := writeFiles(t, map[string][]byte{
		"MANIFEST.tsv": []byte(manifest),
		"a.json":       []byte(`{"properties":{"definition":{}},"schemaVersion":"1.0.0.0"}`),
		"b.json":       []byte(packageFile),
	})
	out, err := FromCorpus(dir, "e", Empty())
	if err != nil {
		t.Fatalf("FromCorpus: %v", err)
	}
	var got []string
	for _, f := range out.Flows {
		got = append(got, string(f.Name)+" "+f.DisplayName+" "+f.WorkflowEntityID)
	}
	want := []string{
		"8a1b2c3d-0e0f-4a1b-9c8d-7e6f5a4b3c2d Nice Name 8a1b2c3d-0e0f-4a1b-9c8d-7e6f5a4b3c2d",
		"1e768a80-7778-4c66-89d6-46fd55e8a6fa Package flow ",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("flows (-want +got):\n%s", diff)
	}

	for name, m := range map[string]string{
		"no file column": "name\tx\na.json\tb\n",
		"empty file":     "file\tdisplay_name\n\tx\n",
		"path as file":   "file\n../a.json\n",
		"missing file":   "file\nnope.json\n",
	} {
		t.Run(name, func(t *testing.T) {
			dir, _ := writeFiles(t, map[string][]byte{"MANIFEST.tsv": []byte(m), "a.json": []byte(packageFile)})
			if _, err := FromCorpus(dir, "e", nil); err == nil {
				t.Error("FromCorpus succeeded, want an error")
			}
		})
	}
	if _, err := FromCorpus(t.TempDir(), "e", nil); err == nil || !strings.Contains(err.Error(), "MANIFEST.tsv") {
		t.Errorf("no manifest: err = %v, want one naming MANIFEST.tsv", err)
	}
}

var operationGroup = regexp.MustCompile(`"apiId"\s*:\s*"/?providers/Microsoft\.ProcessSimple/operationGroups/([^"/]+)"`)

func TestCorpusFiles(t *testing.T) {
	dir := testcorpus.Dir(t)
	rows := testcorpus.Rows(t, dir) // read independently of readManifest
	if len(rows) != 69 {
		t.Errorf("manifest lists %d files, want 69", len(rows))
	}
	encodings := map[string]textenc.Encoding{"utf-8": textenc.UTF8, "utf-8-bom": textenc.UTF8BOM, "utf-16": textenc.UTF16LE}
	for _, row := range rows {
		t.Run(row["file"], func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(dir, row["file"]))
			if err != nil {
				t.Fatal(err)
			}
			text, enc, err := textenc.Decode(b)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if want, ok := encodings[row["encoding"]]; !ok || enc != want {
				t.Errorf("encoding %v, manifest says %q", enc, row["encoding"])
			}
			f, refs, err := LoadFlowFile(b, FileOptions{FileName: row["file"], DisplayName: row["display_name"]})
			if err != nil {
				t.Fatalf("LoadFlowFile: %v", err)
			}

			// Connectors: the references' apis, plus the operation groups
			// (e.g. AI Builder) the manifest also counts, which are not connectors.
			got := map[string]bool{}
			for _, r := range refs {
				got[string(r.API)] = true
			}
			for _, m := range operationGroup.FindAllSubmatch(f.Definition, -1) {
				got[string(m[1])] = true
			}
			want := map[string]bool{}
			for _, c := range strings.Split(row["connectors"], ",") {
				if c != "" {
					want[c] = true
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("connectors (-manifest +loaded):\n%s", diff)
			}

			var src struct {
				Properties struct {
					Definition any `json:"definition"`
				} `json:"properties"`
			}
			if err := json.Unmarshal(text, &src); err != nil {
				t.Fatal(err)
			}
			var loaded any
			if err := json.Unmarshal(f.Definition, &loaded); err != nil {
				t.Fatalf("loaded definition: %v", err)
			}
			if diff := cmp.Diff(src.Properties.Definition, loaded); diff != "" {
				t.Errorf("definition differs from the source (-source +loaded):\n%s", diff)
			}
			if !bytes.Contains(text, f.Definition) {
				t.Error("definition bytes are not a slice of the decoded file")
			}

			if (row["format"] == "solution") != (f.WorkflowEntityID != "") {
				t.Errorf("format %s but workflowEntityId %q", row["format"], f.WorkflowEntityID)
			}
			if d := row["display_name"]; d != "" && f.DisplayName != d {
				t.Errorf("display name %q, manifest says %q", f.DisplayName, d)
			}
			var typed map[string]api.ConnectionReference
			if err := json.Unmarshal(f.ConnectionReferences, &typed); err != nil {
				t.Fatalf("references do not decode in the service shape: %v", err)
			}
			for key, r := range typed {
				if !strings.HasPrefix(r.ID, apiIDPrefix) || (r.Source != "Embedded" && r.Source != "Invoker") {
					t.Errorf("reference %s: id %q source %q", key, r.ID, r.Source)
				}
			}
		})
	}
}

func TestFromCorpus(t *testing.T) {
	dir := testcorpus.Dir(t)
	const env api.EnvName = "7d6c5b4a-3928-4716-8a5b-4c3d2e1f0a9b"
	out, err := FromCorpus(dir, env, Demo())
	if err != nil {
		t.Fatalf("FromCorpus: %v", err)
	}
	checkConsistent(t, out, false)
	n := 0
	for _, f := range out.Flows {
		if f.Environment == env {
			n++
		}
	}
	if n != 69 {
		t.Errorf("loaded %d flows into %s, want 69", n, env)
	}
	again, err := FromCorpus(dir, env, Demo())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(out, again, rawBytes()); diff != "" {
		t.Errorf("FromCorpus is not deterministic (-first +second):\n%s", diff)
	}
}
