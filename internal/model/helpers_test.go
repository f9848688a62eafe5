package model

import (
	"bytes"
	"encoding/json"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/canon"
	"github.com/google/go-cmp/cmp"
)

func flowFixture(flow api.FlowName, name string) Flow {
	return Flow{
		Key:        Key{Env: testEnv, Flow: flow},
		Meta:       Meta{DisplayName: name, State: api.StateStarted, LastModifiedTime: "2025-01-01T00:00:00Z"},
		Definition: json.RawMessage("{\n  \"actions\": {}\n}\n"),
		Connections: []ConnectionRef{
			{Key: "shared_office365", API: "shared_office365", Source: "Embedded", Connection: "c1"},
		},
		Permissions: []Permission{{Principal: "11111111-1111-1111-1111-111111111111", Type: "User", Role: api.RoleOwner}},
	}
}

const (
	flowA = api.FlowName("00000000-0000-4000-8000-00000000000a")
	flowB = api.FlowName("00000000-0000-4000-8000-00000000000b")
	flowC = api.FlowName("00000000-0000-4000-8000-00000000000c")
)

// rawJSON compares JSON values by meaning in canonical form, so that a value
// read back from an indented file equals the one normalized from the service.
var rawJSON = cmp.Comparer(rawJSONEqual)

func rawJSONEqual(a, b json.RawMessage) bool {
	if bytes.Equal(a, b) {
		return true
	}
	ca, errA := canon.Canonicalize(a)
	cb, errB := canon.Canonicalize(b)
	return errA == nil && errB == nil && bytes.Equal(ca, cb)
}

// emptyMapsEqual treats a nil and an empty Extra alike.
var emptyMapsEqual = cmp.FilterValues(func(a, b map[string]json.RawMessage) bool {
	return len(a) == 0 && len(b) == 0
}, cmp.Comparer(func(a, b map[string]json.RawMessage) bool { return true }))
