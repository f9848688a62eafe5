package model

import (
	"encoding/json"
	"testing"

	"github.com/flowsync/flowsync/internal/api"
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

func TestCompare(t *testing.T) {
	base := flowFixture(flowA, "Flow A")
	tests := []struct {
		name   string
		mutate func(*Flow)
		want   []string
	}{
		{"unchanged", func(*Flow) {}, nil},
		{"indentation only", func(f *Flow) { f.Definition = json.RawMessage(`{"actions":{}}`) }, nil},
		{"display name", func(f *Flow) { f.Meta.DisplayName = "Renamed" }, []string{"displayName"}},
		{"state and time", func(f *Flow) {
			f.Meta.State = api.StateStopped
			f.Meta.LastModifiedTime = "2025-02-01T00:00:00Z"
		}, []string{"state", "lastModifiedTime"}},
		{"alert flag", func(f *Flow) { v := false; f.Meta.FlowFailureAlertSubscribed = &v }, []string{"flowFailureAlertSubscribed"}},
		{"extra added", func(f *Flow) { f.Meta.Extra = map[string]json.RawMessage{"x": json.RawMessage(`1`)} }, []string{"extra.x"}},
		{"definition", func(f *Flow) { f.Definition = json.RawMessage(`{"actions":{"A":{}}}`) }, []string{"definition"}},
		{"connection changed", func(f *Flow) {
			f.Connections = []ConnectionRef{{Key: "shared_office365", API: "shared_office365", Source: "Invoker", Connection: "c1"}}
		}, []string{"connections.shared_office365"}},
		{"connection added", func(f *Flow) {
			f.Connections = append(f.Connections, ConnectionRef{Key: "shared_teams", API: "shared_teams"})
		}, []string{"connections.shared_teams"}},
		{"connection removed", func(f *Flow) { f.Connections = nil }, []string{"connections.shared_office365"}},
		{"empty extra equals nil", func(f *Flow) { f.Connections[0].Extra = map[string]json.RawMessage{} }, nil},
		{"permission added", func(f *Flow) {
			f.Permissions = append(f.Permissions, Permission{Principal: "2", Type: "Group", Role: api.RoleCanView})
		}, []string{"permissions"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next := flowFixture(flowA, "Flow A")
			tt.mutate(&next)
			got := Compare(base, next)
			wantAction := Unchanged
			if len(tt.want) > 0 {
				wantAction = Update
			}
			if got.Action != wantAction {
				t.Errorf("Action = %v, want %v", got.Action, wantAction)
			}
			if diff := cmp.Diff(tt.want, got.Fields); diff != "" {
				t.Errorf("Fields (-want +got):\n%s", diff)
			}
			if got.DisplayName != next.Meta.DisplayName || got.Key != next.Key {
				t.Errorf("Change names %v %q", got.Key, got.DisplayName)
			}
		})
	}
}

func TestComparePermissionOrder(t *testing.T) {
	viewer := Permission{Principal: "2", Type: "Group", Role: api.RoleCanView}
	old, next := flowFixture(flowA, "A"), flowFixture(flowA, "A")
	old.Permissions = append(old.Permissions, viewer)
	next.Permissions = []Permission{viewer, next.Permissions[0]}
	if ch := Compare(old, next); ch.Action != Unchanged {
		t.Errorf("reordered permissions: %v %v", ch.Action, ch.Fields)
	}
}

func TestPair(t *testing.T) {
	a, b, c := flowFixture(flowA, "A"), flowFixture(flowB, "B"), flowFixture(flowC, "C")
	other := flowFixture(flowA, "A elsewhere")
	other.Key.Env = "Contoso"
	got := Pair([]Flow{c, a, other}, []Flow{b, a})
	var keys []Key
	for _, p := range got {
		keys = append(keys, p.Key)
	}
	wantKeys := []Key{other.Key, a.Key, b.Key, c.Key}
	if diff := cmp.Diff(wantKeys, keys); diff != "" {
		t.Fatalf("keys (-want +got):\n%s", diff)
	}
	sides := func(p Pairing) string {
		s := ""
		if p.Desired != nil {
			s += "D"
		}
		if p.Live != nil {
			s += "L"
		}
		return s
	}
	var gotSides []string
	for _, p := range got {
		gotSides = append(gotSides, sides(p))
	}
	if diff := cmp.Diff([]string{"D", "DL", "L", "D"}, gotSides); diff != "" {
		t.Errorf("sides (-want +got):\n%s", diff)
	}
	if got[1].Desired.Meta.DisplayName != "A" || got[2].Live.Meta.DisplayName != "B" {
		t.Errorf("pairs point at the wrong flows")
	}
	if len(Pair(nil, nil)) != 0 {
		t.Errorf("Pair(nil, nil) not empty")
	}
}

func TestDiff(t *testing.T) {
	a, b, c := flowFixture(flowA, "A"), flowFixture(flowB, "B"), flowFixture(flowC, "C")
	a2 := flowFixture(flowA, "A renamed")
	tests := []struct {
		name     string
		old, new []Flow
		want     []Change
	}{
		{"nothing", nil, nil, nil},
		{"all same", []Flow{a, b}, []Flow{b, a}, nil},
		{"added, removed, renamed", []Flow{a, b}, []Flow{c, a2}, []Change{
			{Key: a.Key, Action: Update, DisplayName: "A renamed", Fields: []string{"displayName"}},
			{Key: b.Key, Action: Delete, DisplayName: "B"},
			{Key: c.Key, Action: Create, DisplayName: "C"},
		}},
		{"first export", nil, []Flow{b, a}, []Change{
			{Key: a.Key, Action: Create, DisplayName: "A"},
			{Key: b.Key, Action: Create, DisplayName: "B"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Diff(tt.old, tt.new)); diff != "" {
				t.Errorf("Diff (-want +got):\n%s", diff)
			}
		})
	}
}

func TestActionString(t *testing.T) {
	for a, want := range map[Action]string{Unchanged: "unchanged", Create: "create", Update: "update", Delete: "delete", Action(9): "Action(?)"} {
		if got := a.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(a), got, want)
		}
	}
}

func TestOwnersAndRunOnlyUsers(t *testing.T) {
	f := Flow{Permissions: []Permission{
		{Principal: "o", Type: "User", Role: api.RoleOwner},
		{Principal: "e", Type: "User", Role: api.RoleCanEdit},
		{Principal: "v", Type: "Group", Role: api.RoleCanView},
		{Principal: "s", Type: "User", Role: api.RoleCanViewWithShare},
		{Principal: "x", Type: "User", Role: "Custom"},
	}}
	owners := []Permission{f.Permissions[0], f.Permissions[1]}
	if diff := cmp.Diff(owners, f.Owners()); diff != "" {
		t.Errorf("Owners (-want +got):\n%s", diff)
	}
	runOnly := []Permission{f.Permissions[2], f.Permissions[3]}
	if diff := cmp.Diff(runOnly, f.RunOnlyUsers()); diff != "" {
		t.Errorf("RunOnlyUsers (-want +got):\n%s", diff)
	}
	shuffled := []Permission{f.Permissions[4], f.Permissions[2], f.Permissions[0], f.Permissions[3], f.Permissions[1]}
	SortPermissions(shuffled)
	if diff := cmp.Diff(f.Permissions, shuffled); diff != "" {
		t.Errorf("SortPermissions (-want +got):\n%s", diff)
	}
}
