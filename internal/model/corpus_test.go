package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/secrets"
	"github.com/flowsync/flowsync/internal/testcorpus"
	"github.com/google/go-cmp/cmp"
)

// corpusEntry is one row of MANIFEST.tsv.
type corpusEntry struct {
	File, SourcePath, Format, Connectors, Encoding, DisplayName string
}

func readManifest(t *testing.T, dir string) []corpusEntry {
	t.Helper()
	var out []corpusEntry
	for _, r := range testcorpus.Rows(t, dir, "file", "source_path", "format", "connectors", "encoding", "display_name") {
		out = append(out, corpusEntry{
			File: r["file"], SourcePath: r["source_path"], Format: r["format"],
			Connectors: r["connectors"], Encoding: r["encoding"], DisplayName: r["display_name"],
		})
	}
	return out
}

// solutionFile is the solution format: a Dataverse workflow's clientdata.
type solutionFile struct {
	Properties struct {
		Definition           json.RawMessage              `json:"definition"`
		TemplateName         string                       `json:"templateName"`
		ConnectionReferences map[string]solutionReference `json:"connectionReferences"`
	} `json:"properties"`
}

type solutionReference struct {
	RuntimeSource string `json:"runtimeSource"`
	Connection    struct {
		Name        string `json:"name"`
		LogicalName string `json:"connectionReferenceLogicalName"`
	} `json:"connection"`
	API struct {
		Name string `json:"name"`
	} `json:"api"`
}

// corpusFlow builds the api.Flow Get Flow would return for a corpus file
// and the connector each reference must keep.
func corpusFlow(t *testing.T, e corpusEntry, i int, text []byte) (api.Flow, map[string]api.APIName) {
	t.Helper()
	wantAPIs := map[string]api.APIName{}
	switch e.Format {
	case "package":
		var f api.Flow
		if err := json.Unmarshal(text, &f); err != nil {
			t.Fatalf("decode package flow: %v", err)
		}
		for k, r := range f.Properties.ConnectionReferences {
			wantAPIs[k] = api.APIName(r.ID[strings.LastIndex(r.ID, "/")+1:])
		}
		return f, wantAPIs
	case "solution":
		var s solutionFile
		if err := json.Unmarshal(text, &s); err != nil {
			t.Fatalf("decode solution flow: %v", err)
		}
		f := api.Flow{Name: solutionFlowName(e.SourcePath, i)}
		f.Properties = api.FlowProperties{
			DisplayName:  e.DisplayName,
			State:        api.StateStarted,
			TemplateName: s.Properties.TemplateName,
			Definition:   s.Properties.Definition,
		}
		f.Properties.ConnectionReferences = map[string]api.ConnectionReference{}
		for k, r := range s.Properties.ConnectionReferences {
			f.Properties.ConnectionReferences[k] = api.ConnectionReference{
				ID:                             apiIDPrefix + r.API.Name,
				ConnectionReferenceLogicalName: r.Connection.LogicalName,
				ConnectionName:                 api.ConnectionName(r.Connection.Name),
				Source:                         r.RuntimeSource,
			}
			wantAPIs[k] = api.APIName(r.API.Name)
		}
		return f, wantAPIs
	}
	t.Fatalf("unknown format %q", e.Format)
	return api.Flow{}, nil
}

// solutionFlowName takes the GUID that ends Workflows/<Name>-<GUID>.json,
// or makes one up from the row number.
func solutionFlowName(sourcePath string, i int) api.FlowName {
	base := strings.TrimSuffix(filepath.Base(sourcePath), ".json")
	if len(base) >= 36 {
		if g := api.FlowName(base[len(base)-36:]); ValidateFlowName(g) == nil {
			return g
		}
	}
	return api.FlowName(fmt.Sprintf("00000000-0000-4000-8000-%012d", i))
}

func TestCorpusRoundTrip(t *testing.T) {
	dir := testcorpus.Dir(t)
	entries := readManifest(t, dir)
	if len(entries) == 0 {
		t.Fatal("empty manifest")
	}
	findings := 0
	for i, e := range entries {
		t.Run(e.File, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(dir, e.File))
			if err != nil {
				t.Fatal(err)
			}
			src, wantAPIs := corpusFlow(t, e, i, testcorpus.Text(t, raw))
			f, rep, err := Normalize(testEnv, src, nil, NormalizeOptions{KeepSecretValues: true})
			if err != nil {
				t.Fatalf("Normalize: %v", err)
			}
			findings += len(rep.Findings)
			files, err := Files(f)
			if err != nil {
				t.Fatalf("Files: %v", err)
			}

			// Nothing is lost from the definition but the redacted values,
			// and those come back with Restore.
			restored, missing, err := secrets.Restore(files[DefinitionFileName], rep.Values)
			if err != nil || len(missing) != 0 {
				t.Fatalf("Restore: %v, missing %v", err, missing)
			}
			if diff := cmp.Diff(decodeAny(t, src.Properties.Definition), decodeAny(t, restored)); diff != "" {
				t.Errorf("definition differs from the source beyond redaction (-source +restored):\n%s", diff)
			}
			// The tree's definition is the source with the same redaction applied.
			redacted, _, err := secrets.Redact(src.Properties.Definition, "")
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(redacted, files[DefinitionFileName]) {
				t.Errorf("definition.json is not the redacted source")
			}
			assertNoSecretValues(t, rep.Values, files)

			// Every reference key and its connector survive the files.
			back, err := ParseFiles(f.Key, files)
			if err != nil {
				t.Fatalf("ParseFiles: %v", err)
			}
			gotAPIs := map[string]api.APIName{}
			for _, c := range back.Connections {
				gotAPIs[c.Key] = c.API
			}
			if diff := cmp.Diff(wantAPIs, gotAPIs); diff != "" {
				t.Errorf("connection references (-source +tree):\n%s", diff)
			}
			// The manifest's connector column is a cross-check: it also names
			// built-in action kinds (aibuilder) that have no reference.
			manifest := map[string]bool{}
			for _, c := range strings.Split(e.Connectors, ",") {
				if c != "" {
					manifest[c] = true
				}
			}
			tree := map[string]bool{}
			for _, a := range back.APIs() {
				tree[string(a)] = true
				if !manifest[string(a)] {
					t.Errorf("connector %s is not in the manifest", a)
				}
			}
			for c := range manifest {
				if strings.HasPrefix(c, "shared_") && !tree[c] {
					t.Errorf("manifest connector %s has no reference in the tree", c)
				}
			}
			if back.Meta.DisplayName != src.Properties.DisplayName {
				t.Errorf("display name %q, source %q", back.Meta.DisplayName, src.Properties.DisplayName)
			}

			again, err := Files(back)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(files, again); diff != "" {
				t.Errorf("Files(ParseFiles(Files(x))) != Files(x) (-first +second):\n%s", diff)
			}
		})
	}
	t.Logf("%d flows, %d secrets redacted", len(entries), findings)
}

func decodeAny(t *testing.T, b []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return v
}
