package emulator_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/emulator"
	"github.com/flowsync/flowsync/internal/testcorpus"
	"github.com/flowsync/flowsync/internal/textenc"
)

type corpusFlow struct {
	file string
	name string
	def  json.RawMessage
	refs json.RawMessage
	apis []string          // every api the references name
	conn map[string]string // connection name → api, for package-format references
}

func readCorpus(t *testing.T, dir string) []corpusFlow {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus files in %s: %v", dir, err)
	}
	var out []corpusFlow
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		text, _, err := textenc.Decode(raw)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		var doc struct {
			Properties struct {
				DisplayName          string          `json:"displayName"`
				Definition           json.RawMessage `json:"definition"`
				ConnectionReferences map[string]struct {
					ConnectionName string `json:"connectionName"`
					ID             string `json:"id"`
					API            *struct {
						Name string `json:"name"`
					} `json:"api"`
				} `json:"connectionReferences"`
			} `json:"properties"`
		}
		if err := json.Unmarshal(text, &doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		cf := corpusFlow{file: filepath.Base(f), name: doc.Properties.DisplayName, def: doc.Properties.Definition, conn: map[string]string{}}
		if cf.name == "" {
			cf.name = cf.file
		}
		var rawRefs struct {
			Properties struct {
				ConnectionReferences json.RawMessage `json:"connectionReferences"`
			} `json:"properties"`
		}
		_ = json.Unmarshal(text, &rawRefs)
		cf.refs = rawRefs.Properties.ConnectionReferences
		if len(cf.refs) == 0 || string(cf.refs) == "null" {
			cf.refs = json.RawMessage(`{}`)
		}
		apis := map[string]bool{}
		for _, r := range doc.Properties.ConnectionReferences {
			a := ""
			switch {
			case r.ID != "":
				a = r.ID[strings.LastIndex(r.ID, "/")+1:]
			case r.API != nil:
				a = r.API.Name
			}
			if a != "" {
				apis[a] = true
			}
			if r.ConnectionName != "" {
				cf.conn[r.ConnectionName] = a
			}
		}
		for a := range apis {
			cf.apis = append(cf.apis, a)
		}
		slices.Sort(cf.apis)
		out = append(out, cf)
	}
	return out
}

// withDeclaredParameters adds the $connections/$authentication declarations
// that some exported definitions lack (the emulator requires both on save).
func withDeclaredParameters(t *testing.T, def json.RawMessage) json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(def, &m); err != nil {
		t.Fatal(err)
	}
	var params map[string]json.RawMessage
	_ = json.Unmarshal(m["parameters"], &params)
	if params == nil {
		params = map[string]json.RawMessage{}
	}
	if _, ok := params["$connections"]; !ok {
		params["$connections"] = json.RawMessage(`{"defaultValue":{},"type":"Object"}`)
	}
	if _, ok := params["$authentication"]; !ok {
		params["$authentication"] = json.RawMessage(`{"defaultValue":{},"type":"SecureObject"}`)
	}
	m["parameters"], _ = json.Marshal(params)
	if _, ok := m["actions"]; !ok {
		m["actions"] = json.RawMessage(`{}`)
	}
	out, _ := json.Marshal(m)
	return out
}

// corpusRefusals are the corpus flows a save must refuse, with the code.
var corpusRefusals = map[string]string{
	// Its references carry an empty "connection": {} (corpus README).
	"056-admin-compliance-detail-request-v2-teams.json": api.CodeConnectionNotFound,
}

// TestCorpusFlows loads every real flow as seed data and creates it again
// through the API: nothing the service stores should be refused or altered.
func TestCorpusFlows(t *testing.T) {
	flows := readCorpus(t, testcorpus.Dir(t))
	snap := fixture()
	seenAPI := map[string]bool{}
	for _, c := range snap.Connectors {
		seenAPI[string(c.Name)] = true
	}
	seenConn := map[string]bool{}
	for i, cf := range flows {
		for _, a := range cf.apis {
			if !seenAPI[a] {
				seenAPI[a] = true
				snap.Connectors = append(snap.Connectors, emulator.Connector{Name: api.APIName(a), DisplayName: a})
			}
		}
		for c, a := range cf.conn {
			if !seenConn[c] {
				seenConn[c] = true
				snap.Connections = append(snap.Connections, emulator.Connection{Environment: devEnv, API: api.APIName(a), Name: api.ConnectionName(c), Status: "Connected"})
			}
		}
		snap.Flows = append(snap.Flows, emulator.Flow{
			Environment: devEnv, Name: api.FlowName(fmt.Sprintf("f%07d-0000-4000-8000-000000000000", i)), DisplayName: cf.name,
			State: "Stopped", Creator: aliceID, CreatedTime: t0, LastModifiedTime: t0, Definition: cf.def, ConnectionReferences: cf.refs,
		})
	}
	e := newEnv(t, emulator.Options{})
	if err := e.s.Load(snap); err != nil {
		t.Fatalf("Load corpus as seed: %v", err)
	}
	for i, cf := range flows {
		t.Run(cf.file, func(t *testing.T) {
			name := fmt.Sprintf("f%07d-0000-4000-8000-000000000000", i)
			r := e.call("GET", aliceID, flowPath(devEnv, name, "?"+v), nil)
			wantStatus(t, r, 200)
			var got struct {
				Properties struct {
					Definition           any `json:"definition"`
					ConnectionReferences any `json:"connectionReferences"`
				} `json:"properties"`
			}
			if err := json.Unmarshal(r.body, &got); err != nil {
				t.Fatal(err)
			}
			var wantDef, wantRefs any
			_ = json.Unmarshal(cf.def, &wantDef)
			_ = json.Unmarshal(cf.refs, &wantRefs)
			if diff := cmp.Diff(wantDef, got.Properties.Definition); diff != "" {
				t.Errorf("definition (-seed +served):\n%s", diff)
			}
			if diff := cmp.Diff(wantRefs, got.Properties.ConnectionReferences); diff != "" {
				t.Errorf("references (-seed +served):\n%s", diff)
			}

			r = e.call("POST", aliceID, flowPath(devEnv, "", "?"+v), createBody(cf.name, "Stopped", withDeclaredParameters(t, cf.def), cf.refs))
			if code, refused := corpusRefusals[cf.file]; refused {
				wantError(t, r, 400, code)
				return
			}
			wantStatus(t, r, 201)
		})
	}
}
