package importer

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/flowsync/flowsync/internal/api"
)

// TestCheckNoPlaceholder is the last check before a write, on its own:
// whatever the steps before it did, a body with a placeholder is refused.
func TestCheckNoPlaceholder(t *testing.T) {
	ref := func(r api.ConnectionReference) map[string]api.ConnectionReference {
		return map[string]api.ConnectionReference{"shared_office365": r}
	}
	for _, tc := range []struct {
		name  string
		props api.FlowProperties
		bad   bool
	}{
		{"clean", api.FlowProperties{DisplayName: "a", Definition: json.RawMessage(`{"a":"<redacted>"}`), ConnectionReferences: ref(api.ConnectionReference{ConnectionName: "c"})}, false},
		{"definition", api.FlowProperties{DisplayName: "a", Definition: json.RawMessage(`{"a":"<redacted:flowsync:a>"}`)}, true},
		{"escaped definition", api.FlowProperties{DisplayName: "a", Definition: json.RawMessage(`{"a":"\u003credacted:flowsync:a\u003e"}`)}, true},
		{"inside a string", api.FlowProperties{DisplayName: "a", Definition: json.RawMessage(`{"u":"https://x/?sig=<redacted:flowsync:u#sig>&a=b"}`)}, true},
		{"display name", api.FlowProperties{DisplayName: "<redacted:flowsync:n>"}, true},
		{"connection name", api.FlowProperties{DisplayName: "a", ConnectionReferences: ref(api.ConnectionReference{ConnectionName: "<redacted:flowsync:c>"})}, true},
		{"reference extra", api.FlowProperties{DisplayName: "a", ConnectionReferences: ref(api.ConnectionReference{
			ConnectionName: "c", Extra: map[string]json.RawMessage{"k": json.RawMessage(`"<redacted:flowsync:k>"`)}})}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkNoPlaceholder(tc.props)
			if tc.bad != (err != nil) {
				t.Fatalf("bad=%v, got %v", tc.bad, err)
			}
			if err != nil && !strings.Contains(err.Error(), "placeholder") {
				t.Errorf("unclear error: %v", err)
			}
		})
	}
}

func TestRewriteChildRefs(t *testing.T) {
	def := json.RawMessage(`{"actions":{"Scope":{"type":"Scope","actions":{
		"Run":{"type":"Workflow","inputs":{"host":{"workflowReferenceName":"C73E0DFD-99A2-45C7-96D4-5866938F47DA"}}},
		"Other":{"type":"Workflow","inputs":{"host":{"workflowReferenceName":"11111111-1111-1111-1111-111111111111"}}},
		"NotAChild":{"type":"Compose","inputs":{"host":{"workflowReferenceName":"c73e0dfd-99a2-45c7-96d4-5866938f47da"}}}}}}}`)
	out, err := rewriteChildRefs(def, map[api.FlowName]api.FlowName{"c73e0dfd-99a2-45c7-96d4-5866938f47da": "22222222-2222-2222-2222-222222222222"})
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	if strings.Count(s, "22222222-2222-2222-2222-222222222222") != 1 {
		t.Errorf("want exactly the Workflow action rewritten:\n%s", s)
	}
	if !strings.Contains(s, "11111111-1111-1111-1111-111111111111") || !strings.Contains(s, `"c73e0dfd-99a2-45c7-96d4-5866938f47da"`) {
		t.Errorf("references to other flows, or in other actions, changed:\n%s", s)
	}
}
