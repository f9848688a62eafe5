package model

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/canon"
	"github.com/flowsync/flowsync/internal/secrets"
	"github.com/flowsync/flowsync/internal/testgolden"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// goldenInput is a test case: a flow as Get Flow returns it, its
// environment and its permissions.
type goldenInput struct {
	Environment api.EnvName      `json:"environment"`
	Flow        api.Flow         `json:"flow"`
	Permissions []api.Permission `json:"permissions"`
}

const reportFileName = "report.json"

func loadInput(t testing.TB, dir string) goldenInput {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "input.json"))
	if err != nil {
		t.Fatal(err)
	}
	var in goldenInput
	if err := json.Unmarshal(b, &in); err != nil {
		t.Fatalf("%s: %v", dir, err)
	}
	return in
}

func goldenCases(t testing.TB) []string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join("testdata", "normalize", "*", "input.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) < 4 {
		t.Fatalf("found %d golden cases, want at least 4", len(dirs))
	}
	for i := range dirs {
		dirs[i] = filepath.Dir(dirs[i])
	}
	slices.Sort(dirs)
	return dirs
}

func TestNormalizeGolden(t *testing.T) {
	var flows []Flow
	for _, dir := range goldenCases(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			in := loadInput(t, dir)
			f, rep, err := Normalize(in.Environment, in.Flow, in.Permissions, NormalizeOptions{KeepSecretValues: true})
			if err != nil {
				t.Fatalf("Normalize: %v", err)
			}
			files, err := Files(f)
			if err != nil {
				t.Fatalf("Files: %v", err)
			}
			findings := rep.Findings
			if findings == nil {
				findings = []secrets.Finding{}
			}
			report, err := canon.Marshal(findings)
			if err != nil {
				t.Fatal(err)
			}
			files[reportFileName] = report
			for name, b := range files {
				testgolden.Check(t, filepath.Join(dir, name), b, *update)
			}
			if !*update {
				entries, err := os.ReadDir(dir)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range entries {
					if _, ok := files[e.Name()]; !ok && e.Name() != "input.json" {
						t.Errorf("stale golden file %s", e.Name())
					}
				}
			}
			assertNoSecretValues(t, rep.Values, files)
			delete(files, reportFileName)
			assertFilesRoundTrip(t, f, files)
			flows = append(flows, f)
		})
	}
	t.Run("README", func(t *testing.T) {
		env := Environment{Name: testEnv, DisplayName: "Contoso | default", Sku: "Default", Location: "europe", IsDefault: true}
		var inEnv []Flow
		for _, f := range flows {
			if f.Key.Env == env.Name {
				inEnv = append(inEnv, f)
			}
		}
		testgolden.Check(t, filepath.Join("testdata", "normalize", "README.md"), EnvReadme(env, inEnv), *update)
	})
}

// assertNoSecretValues fails if any redacted value, or its JSON spelling,
// appears in any file. Values are never printed.
func assertNoSecretValues(t *testing.T, values secrets.Values, files map[string][]byte) {
	t.Helper()
	for path, raw := range values {
		needles := [][]byte{raw}
		var s string
		if json.Unmarshal(raw, &s) == nil {
			needles = append(needles, []byte(s))
		}
		for name, b := range files {
			for _, n := range needles {
				if len(n) > 0 && bytes.Contains(b, n) {
					t.Errorf("the value redacted at %s appears in %s", path, name)
				}
			}
		}
	}
}

// assertFilesRoundTrip checks ParseFiles(Files(f)) == f and that writing
// the parsed flow again gives the same bytes.
func assertFilesRoundTrip(t *testing.T, f Flow, files map[string][]byte) {
	t.Helper()
	withSecrets := map[string][]byte{SecretsFileName: []byte("ignored")}
	for k, v := range files {
		withSecrets[k] = v
	}
	back, err := ParseFiles(f.Key, withSecrets)
	if err != nil {
		t.Fatalf("ParseFiles: %v", err)
	}
	if diff := cmp.Diff(f, back, rawJSON, emptyMapsEqual); diff != "" {
		t.Errorf("ParseFiles(Files(f)) (-want +got):\n%s", diff)
	}
	again, err := Files(back)
	if err != nil {
		t.Fatalf("Files(ParseFiles): %v", err)
	}
	if diff := cmp.Diff(files, again); diff != "" {
		t.Errorf("Files(ParseFiles(Files(f))) (-want +got):\n%s", diff)
	}
}

func TestNormalizeDeterministic(t *testing.T) {
	for _, dir := range goldenCases(t) {
		in := loadInput(t, dir)
		// Reverse the permissions: order of the service's answers must not matter.
		perms := slices.Clone(in.Permissions)
		slices.Reverse(perms)
		a, _, err := Normalize(in.Environment, in.Flow, in.Permissions, NormalizeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		b, _, err := Normalize(in.Environment, in.Flow, perms, NormalizeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		fa, err := Files(a)
		if err != nil {
			t.Fatal(err)
		}
		fb, err := Files(b)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(fa, fb); diff != "" {
			t.Errorf("%s: two normalizations differ (-a +b):\n%s", dir, diff)
		}
	}
}

func TestNormalizeReportWithoutValues(t *testing.T) {
	in := loadInput(t, filepath.Join("testdata", "normalize", "secrets"))
	_, rep, err := Normalize(in.Environment, in.Flow, in.Permissions, NormalizeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Values != nil {
		t.Errorf("Values kept without KeepSecretValues")
	}
	if len(rep.Findings) == 0 {
		t.Errorf("no findings for the secrets case")
	}
}

func TestFromAPIToAPIRoundTrip(t *testing.T) {
	for _, dir := range goldenCases(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			in := loadInput(t, dir)
			f1, err := FromAPI(in.Environment, in.Flow, in.Permissions)
			if err != nil {
				t.Fatal(err)
			}
			props, err := f1.ToAPI()
			if err != nil {
				t.Fatal(err)
			}
			// The wire body keeps every reference key and its connector.
			if len(props.ConnectionReferences) != len(in.Flow.Properties.ConnectionReferences) {
				t.Errorf("ToAPI has %d references, source %d", len(props.ConnectionReferences), len(in.Flow.Properties.ConnectionReferences))
			}
			for k, r := range in.Flow.Properties.ConnectionReferences {
				got, ok := props.ConnectionReferences[k]
				if !ok {
					t.Errorf("reference %s lost", k)
					continue
				}
				if apiName(got) != apiName(r) {
					t.Errorf("reference %s: api %s, source %s", k, apiName(got), apiName(r))
				}
				if got.ConnectionName != r.ConnectionName || got.ConnectionReferenceLogicalName != r.ConnectionReferenceLogicalName {
					t.Errorf("reference %s: connection or logical name changed", k)
				}
			}
			// Unredacted, the definition reaches the wire as it came.
			if !rawJSONEqual(props.Definition, in.Flow.Properties.Definition) {
				t.Errorf("definition changed through FromAPI/ToAPI")
			}
			wire, err := json.Marshal(api.Flow{Name: in.Flow.Name, Properties: props})
			if err != nil {
				t.Fatal(err)
			}
			var back api.Flow
			if err := json.Unmarshal(wire, &back); err != nil {
				t.Fatal(err)
			}
			f2, err := FromAPI(in.Environment, back, in.Permissions)
			if err != nil {
				t.Fatal(err)
			}
			// What ToAPI carries survives; the rest is metadata the service sets.
			want := Flow{Key: f1.Key, Meta: Meta{DisplayName: f1.Meta.DisplayName, State: f1.Meta.State, TriggerKind: f1.Meta.TriggerKind},
				Definition: f1.Definition, Connections: f1.Connections, Permissions: f1.Permissions}
			if diff := cmp.Diff(want, f2, rawJSON, emptyMapsEqual); diff != "" {
				t.Errorf("FromAPI(ToAPI(FromAPI(x))) (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNormalizeErrors(t *testing.T) {
	base := loadInput(t, filepath.Join("testdata", "normalize", "button"))
	tests := []struct {
		name   string
		env    api.EnvName
		mutate func(*api.Flow)
		want   string
	}{
		{"invalid env", "..", func(*api.Flow) {}, "environment name"},
		{"invalid flow name", testEnv, func(f *api.Flow) { f.Name = "../../etc" }, "flow name"},
		{"duplicate key in definition", testEnv, func(f *api.Flow) {
			f.Properties.Definition = json.RawMessage(`{"actions":{"A":{"type":"Compose"},"A":{"type":"Http"}}}`)
		}, `duplicate object key "A" in object at /actions`},
		{"definition not an object", testEnv, func(f *api.Flow) { f.Properties.Definition = json.RawMessage(`[1]`) }, "want an object"},
		{"reference without connector", testEnv, func(f *api.Flow) {
			f.Properties.ConnectionReferences = map[string]api.ConnectionReference{"x": {ConnectionName: "c"}}
		}, `reference "x": names no connector`},
		{"bad extra", testEnv, func(f *api.Flow) {
			f.Properties.Extra = map[string]json.RawMessage{"odd": json.RawMessage(`{"a":1,"a":2}`)}
		}, "odd"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := base.Flow
			f.Properties.Extra = nil
			tt.mutate(&f)
			_, _, err := Normalize(tt.env, f, nil, NormalizeOptions{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Normalize error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestNormalizeWithoutDefinition(t *testing.T) {
	in := loadInput(t, filepath.Join("testdata", "normalize", "button"))
	in.Flow.Properties.Definition = nil
	f, _, err := Normalize(in.Environment, in.Flow, nil, NormalizeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if f.Definition != nil || f.Meta.TriggerKind != "" {
		t.Errorf("definition %q, trigger kind %q; want none", f.Definition, f.Meta.TriggerKind)
	}
	if _, err := Files(f); err == nil || !strings.Contains(err.Error(), "no definition") {
		t.Errorf("Files without definition: %v", err)
	}
}

func TestTriggerKind(t *testing.T) {
	tests := []struct {
		name, def, want string
	}{
		{"button", `{"triggers":{"manual":{"type":"Request","kind":"Button"}}}`, "Request/Button"},
		{"recurrence", `{"triggers":{"Recurrence":{"type":"Recurrence"}}}`, "Recurrence"},
		{"webhook", `{"triggers":{"t":{"type":"OpenApiConnectionWebhook","kind":""}}}`, "OpenApiConnectionWebhook"},
		{"first by name", `{"triggers":{"b":{"type":"Recurrence"},"a":{"type":"Request","kind":"Http"}}}`, "Request/Http"},
		{"none", `{"triggers":{}}`, ""},
		{"no triggers member", `{"actions":{}}`, ""},
		{"type not a string", `{"triggers":{"t":{"type":1}}}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := canon.Parse([]byte(tt.def))
			if err != nil {
				t.Fatal(err)
			}
			if got := TriggerKind(v); got != tt.want {
				t.Errorf("TriggerKind = %q, want %q", got, tt.want)
			}
		})
	}
}
