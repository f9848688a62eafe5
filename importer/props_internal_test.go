package importer

import (
	"encoding/json"
	"errors"
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

func TestFlowResultJSON(t *testing.T) {
	r := Result{Flows: []FlowResult{
		{Action: "create", DisplayName: "a", Steps: []string{"created"}},
		{Action: "update", DisplayName: "b", Err: errors.New("update flow x: 400 InvalidTemplate")},
	}, Writes: 1}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Flows []map[string]any `json:"flows"`
	}
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if _, ok := back.Flows[0]["error"]; ok || back.Flows[1]["error"] != "update flow x: 400 InvalidTemplate" || back.Flows[0]["displayName"] != "a" {
		t.Errorf("JSON %s: want the error as text on the failed flow only, and the other fields", b)
	}
}
