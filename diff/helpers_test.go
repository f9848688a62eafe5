package diff

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/canon"
	"github.com/flowsync/flowsync/internal/model"
)

const (
	srcEnv = api.EnvName("dev-0001")
	dstEnv = api.EnvName("prod-0002")

	alice   = api.PrincipalID("aaaaaaaa-0000-4000-8000-000000000001")
	bob     = api.PrincipalID("bbbbbbbb-0000-4000-8000-000000000002")
	carol   = api.PrincipalID("cccccccc-0000-4000-8000-000000000003")
	viewers = api.PrincipalID("dddddddd-0000-4000-8000-000000000004")
	me      = api.PrincipalID("eeeeeeee-0000-4000-8000-000000000005")
)

// guid returns a distinct flow GUID for a small number, with a prefix per side.
func guid(side byte, n int) api.FlowName {
	return api.FlowName(fmt.Sprintf("%c0000000-0000-4000-8000-%012d", side, n))
}

func src(n int) api.FlowName { return guid('a', n) }
func dst(n int) api.FlowName { return guid('b', n) }

// flow builds a normalized flow with a definition made of the given JSON.
func flow(env api.EnvName, name api.FlowName, display string, def string) model.Flow {
	if def == "" {
		def = `{"actions":{"Compose":{"inputs":"hello","type":"Compose"}},"triggers":{"manual":{"kind":"Button","type":"Request"}}}`
	}
	c, err := canon.Canonicalize([]byte(def))
	if err != nil {
		panic(err)
	}
	return model.Flow{
		Key:        model.Key{Env: env, Flow: name},
		Meta:       model.Meta{DisplayName: display, State: api.StateStarted, TriggerKind: "Request/Button"},
		Definition: json.RawMessage(c),
		Connections: []model.ConnectionRef{
			{Key: "shared_office365", API: "shared_office365", Source: "Embedded", Connection: "shared-office365-src1"},
		},
		Permissions: []model.Permission{{Principal: alice, Type: "User", Role: api.RoleOwner}},
	}
}

func srcFlow(n int, display string) model.Flow { return flow(srcEnv, src(n), display, "") }

// targetOf returns f as it would look after an earlier import into the
// target: other key, its own creator and times, the target connection.
func targetOf(f model.Flow, n int) model.Flow {
	t := f
	t.Key = model.Key{Env: dstEnv, Flow: dst(n)}
	t.Meta.Creator = &model.Creator{ObjectID: me}
	t.Meta.CreatedTime = "2025-03-01T00:00:00Z"
	t.Meta.LastModifiedTime = "2025-03-02T00:00:00Z"
	t.Connections = []model.ConnectionRef{
		{Key: "shared_office365", API: "shared_office365", Source: "Embedded", Connection: "shared-office365-dst1"},
	}
	t.Permissions = []model.Permission{
		{Principal: me, Type: "User", Role: api.RoleOwner},
		{Principal: alice, Type: "User", Role: api.RoleCanEdit},
	}
	return t
}

// mapped returns f with its office365 reference bound to the target connection.
func mapped(f model.Flow) model.Flow {
	f.Connections = []model.ConnectionRef{
		{Key: "shared_office365", API: "shared_office365", Source: "Embedded", Connection: "shared-office365-dst1"},
	}
	return f
}

func mustCanon(t *testing.T, s string) json.RawMessage {
	t.Helper()
	c, err := canon.Canonicalize([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func codes(ps []Problem) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Code)
	}
	return out
}

// staticBindings is a Bindings for tests.
type staticBindings map[model.Key][]ConnectionChange

func (s staticBindings) Connections(k model.Key) []ConnectionChange { return s[k] }
