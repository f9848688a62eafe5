package diff

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/canon"
	"github.com/flowsync/flowsync/internal/testcorpus"
)

// corpusDocs reads every corpus file as canonical JSON, by file name.
func corpusDocs(t *testing.T) map[string]json.RawMessage {
	t.Helper()
	dir := testcorpus.Dir(t)
	names, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no corpus files in %s: %v", dir, err)
	}
	out := map[string]json.RawMessage{}
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		c, err := canon.Canonicalize(testcorpus.Text(t, b))
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		out[filepath.Base(n)] = c
	}
	return out
}

// refsByDecoding finds child references with encoding/json, independently
// of the canon walk ChildRefs uses.
func refsByDecoding(v any, out *[]string) {
	switch x := v.(type) {
	case map[string]any:
		if typ, _ := x["type"].(string); strings.EqualFold(typ, "Workflow") {
			in, _ := x["inputs"].(map[string]any)
			host, _ := in["host"].(map[string]any)
			if ref, ok := host["workflowReferenceName"].(string); ok && ref != "" && !strings.HasPrefix(ref, "@") {
				*out = append(*out, strings.ToLower(ref))
			}
		}
		for _, e := range x {
			refsByDecoding(e, out)
		}
	case []any:
		for _, e := range x {
			refsByDecoding(e, out)
		}
	}
}

// TestCorpusChildRefs checks child-flow discovery and rewriting on every
// real flow: the references found are those a plain decoding finds, a
// rewrite changes exactly them, and a flow compared with itself differs
// nowhere.
func TestCorpusChildRefs(t *testing.T) {
	withChildren := 0
	for name, doc := range corpusDocs(t) {
		var v any
		if err := json.Unmarshal(doc, &v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var want []string
		refsByDecoding(v, &want)
		slices.Sort(want)
		want = slices.Compact(want)
		got := ChildRefs(doc)
		if len(got) != len(want) {
			t.Errorf("%s: ChildRefs = %v, want %v", name, got, want)
			continue
		}
		if p := definitionPaths(doc, doc); len(p) != 0 {
			t.Errorf("%s: a definition differs from itself at %v", name, p)
		}
		if len(got) == 0 {
			continue
		}
		withChildren++
		m := map[api.FlowName]api.FlowName{}
		for i, r := range got {
			if string(r) != want[i] {
				t.Errorf("%s: reference %s, want %s", name, r, want[i])
			}
			m[api.FlowName(strings.ToUpper(string(r)))] = api.FlowName(fmt.Sprintf("f0000000-0000-4000-8000-%012d", i))
		}
		out, err := RewriteChildRefs(doc, m)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		after := ChildRefs(out)
		if len(after) != len(got) || !strings.HasPrefix(string(after[0]), "f0000000-") {
			t.Errorf("%s: after rewrite %v", name, after)
		}
		for _, p := range definitionPaths(doc, out) {
			if !strings.HasSuffix(p, ".inputs.host.workflowReferenceName") {
				t.Errorf("%s: rewrite changed %s", name, p)
			}
		}
	}
	if withChildren == 0 {
		t.Errorf("no corpus flow calls a child flow: the test checked nothing")
	}
}
