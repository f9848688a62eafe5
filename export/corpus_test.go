package export_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/emulator"
	"github.com/flowsync/flowsync/internal/emulator/seed"
	"github.com/flowsync/flowsync/internal/model"
	"github.com/flowsync/flowsync/internal/secrets"
	"github.com/flowsync/flowsync/internal/testcorpus"
	"github.com/flowsync/flowsync/internal/testrepo"
)

// corpusEnv is the environment the corpus flows are loaded into.
const corpusEnv = api.EnvName("7d6c5b4a-3928-4716-8a5b-4c3d2e1f0a9b")

// corpusFlowOfRow loads one manifest row on its own, through FromCorpus
// with a one-row manifest in a temporary directory, to learn which flow
// the row became.
func corpusFlowOfRow(t *testing.T, dir string, header, row []string, fileCol int) emulator.Flow {
	t.Helper()
	tmp := t.TempDir()
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Comma = '\t'
	_ = w.Write(header)
	_ = w.Write(row)
	w.Flush()
	if err := os.WriteFile(filepath.Join(tmp, testcorpus.Manifest), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, row[fileCol]), filepath.Join(tmp, row[fileCol])); err != nil {
		t.Fatal(err)
	}
	snap, err := seed.FromCorpus(tmp, corpusEnv, seed.Empty())
	if err != nil || len(snap.Flows) != 1 {
		t.Fatalf("load %s alone: %v (%d flows)", row[fileCol], err, len(snap.Flows))
	}
	return snap.Flows[0]
}

// secretStrings returns the string leaves of redacted values: what must
// never be found in the tree.
func secretStrings(t *testing.T, vals secrets.Values) []string {
	t.Helper()
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			out = append(out, x)
		case map[string]any:
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	for p, raw := range vals {
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatalf("redacted value at %s: %v", p, err)
		}
		walk(v)
	}
	return out
}

// refAPI is the connector a wire connection reference names, read
// independently of the normalizer: the id's segment after /apis/, else apiName.
func refAPI(ref json.RawMessage) string {
	var r struct {
		ID      string `json:"id"`
		APIName string `json:"apiName"`
	}
	_ = json.Unmarshal(ref, &r)
	if i := strings.LastIndex(r.ID, "/apis/"); i >= 0 {
		name, _, _ := strings.Cut(r.ID[i+len("/apis/"):], "/")
		return name
	}
	return r.APIName
}

// TestCorpusRoundTrip loads every corpus flow into the emulator, exports the
// environment through the API client and reads the tree back: each flow's
// definition equals its source modulo canonical form and redaction (the
// source redacted the same way, so placeholders match), every connection
// reference keeps its key and connector, the display name is the
// manifest's, and no redacted value appears anywhere in the repository, the
// commit messages or the run result.
func TestCorpusRoundTrip(t *testing.T) {
	dir := testcorpus.Dir(t)
	t.Parallel()
	header, rows := testcorpus.Table(t, dir)
	fileCol, nameCol := testcorpus.Column(t, header, "file"), testcorpus.Column(t, header, "display_name")

	snap, err := seed.FromCorpus(dir, corpusEnv, seed.Empty())
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Flows) != len(rows) {
		t.Fatalf("%d manifest rows became %d flows", len(rows), len(snap.Flows))
	}
	byName := map[api.FlowName]emulator.Flow{}
	for _, f := range snap.Flows {
		byName[f.Name] = f
	}

	e := startEmu(t, snap, emuOptions{})
	rp := newRepo(t, true)
	res := mustExport(t, e.src, rp, exportOpts(corpusEnv))
	if len(res.Failed) != 0 {
		for _, f := range res.Failed {
			t.Errorf("not exported: %s %q: %s", f.Flow, f.DisplayName, f.Err)
		}
	}
	if len(res.Added) != len(rows) {
		t.Errorf("%d flows added, want %d", len(res.Added), len(rows))
	}
	ctx := context.Background()
	tip := testrepo.Head(t, rp, "main")
	tr, err := rp.ReadTree(ctx, tip)
	if err != nil {
		t.Fatal(err)
	}

	var needles []string
	for _, row := range rows {
		file := row[fileCol]
		one := corpusFlowOfRow(t, dir, header, row, fileCol)
		src, ok := byName[one.Name]
		if !ok {
			t.Errorf("%s: flow %s not loaded with the others", file, one.Name)
			continue
		}
		t.Run(file, func(t *testing.T) {
			key := model.Key{Env: corpusEnv, Flow: src.Name}
			fdir := strings.TrimSuffix(testrepo.FlowDir(corpusEnv, src.Name), "/")
			paths, err := tr.Files(fdir)
			if err != nil {
				t.Fatal(err)
			}
			files := map[string][]byte{}
			for _, p := range paths {
				b, err := rp.ReadFile(ctx, tip, p)
				if err != nil {
					t.Fatal(err)
				}
				files[strings.TrimPrefix(p, fdir+"/")] = b
			}
			got, err := model.ParseFiles(key, files)
			if err != nil {
				t.Fatalf("read back: %v", err)
			}
			again, err := model.Files(got)
			if err != nil {
				t.Fatal(err)
			}
			for name, b := range again {
				if !bytes.Equal(b, files[name]) {
					t.Errorf("%s is not in the canonical form the reader writes back", name)
				}
			}

			// Definition: the source, canonical and redacted alike.
			redacted, findings, vals, err := secrets.RedactWithValues(src.Definition, "")
			if err != nil {
				t.Fatal(err)
			}
			assertSameJSON(t, "definition", redacted, got.Definition)
			needles = append(needles, secretStrings(t, vals)...)
			for _, fd := range findings {
				if !strings.Contains(string(got.Definition), secrets.Placeholder(fd.Path)) {
					t.Errorf("no placeholder for %s", fd.Path)
				}
			}
			// Unknown properties are redacted too; collect their values.
			if len(src.Extra) > 0 {
				raw, _ := json.Marshal(src.Extra)
				_, _, extraVals, err := secrets.RedactWithValues(raw, "")
				if err != nil {
					t.Fatal(err)
				}
				needles = append(needles, secretStrings(t, extraVals)...)
			}

			// Connection references: every key, with its connector.
			var refs map[string]json.RawMessage
			if len(src.ConnectionReferences) > 0 {
				if err := json.Unmarshal(src.ConnectionReferences, &refs); err != nil {
					t.Fatal(err)
				}
			}
			wantRefs := map[string]string{}
			for k, r := range refs {
				wantRefs[k] = refAPI(r)
			}
			gotRefs := map[string]string{}
			for _, c := range got.Connections {
				gotRefs[c.Key] = string(c.API)
			}
			if diff := cmp.Diff(wantRefs, gotRefs); diff != "" {
				t.Errorf("connection references (key → api) (-source +tree):\n%s", diff)
			}

			// The manifest names most flows; the loader names the rest.
			wantName := row[nameCol]
			if wantName == "" {
				wantName = src.DisplayName
			}
			if got.Meta.DisplayName != wantName || wantName == "" {
				t.Errorf("display name %q, want %q (manifest %q)", got.Meta.DisplayName, wantName, row[nameCol])
			}
			for _, fd := range findings {
				t.Logf("redacted %s (%s)", fd.Path, fd.Kind)
			}
		})
	}

	// The secrets found above appear nowhere.
	slices.Sort(needles)
	needles = compactStrings(needles)
	t.Logf("%d flows, %d redacted secret values checked", len(rows), len(needles))
	assertNoSecrets(t, rp, needles, map[string]string{"result": resultJSON(t, res)})
}

func compactStrings(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if v == "" || (i > 0 && v == s[i-1]) {
			continue
		}
		out = append(out, v)
	}
	return out
}
