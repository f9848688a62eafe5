package diff

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/model"
	"github.com/flowsync/flowsync/internal/secrets"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func perm(p api.PrincipalID, typ, role string) model.Permission {
	return model.Permission{Principal: p, Type: typ, Role: role}
}

// TestCompareParts changes one part of a desired flow at a time against its
// target and checks that exactly that part is reported, under the import rules.
func TestCompareParts(t *testing.T) {
	base := mapped(srcFlow(1, "Alpha"))
	actual := targetOf(srcFlow(1, "Alpha"), 1)
	tests := []struct {
		name   string
		mutate func(d, a *model.Flow)
		want   Parts
	}{
		{"unchanged across environments", func(d, a *model.Flow) {}, Parts{}},
		{"service-set fields are not compared", func(d, a *model.Flow) {
			d.Meta.Creator = &model.Creator{ObjectID: alice}
			d.Meta.CreatedTime, d.Meta.LastModifiedTime = "2020-01-01T00:00:00Z", "2020-01-02T00:00:00Z"
			d.Meta.WorkflowEntityID, a.Meta.WorkflowEntityID = "1111", "2222"
			d.Meta.TriggerKind = "Recurrence"
			a.Meta.FlowSuspensionReason = "None"
		}, Parts{}},
		{"display name", func(d, a *model.Flow) { d.Meta.DisplayName = "Alpha v2" }, Parts{Meta: []string{"displayName"}}},
		{"fields an import cannot write are not compared", func(d, a *model.Flow) {
			f := false
			d.Meta.FlowFailureAlertSubscribed = &f
			d.Meta.TemplateName, d.Meta.ProvisioningMethod = "t", "FromDefinition"
			d.Meta.Extra = map[string]json.RawMessage{"x": json.RawMessage(`1`)}
			a.Meta.Extra = map[string]json.RawMessage{"y": json.RawMessage(`2`)}
		}, Parts{}},
		{"definition paths", func(d, a *model.Flow) {
			d.Definition = mustCanon(t, `{"actions":{"Compose":{"inputs":"bye","type":"Compose"},"New":{"type":"Compose"}},"triggers":{"manual":{"kind":"Button","type":"Request"}}}`)
		}, Parts{Definition: []string{"actions.Compose.inputs", "actions.New"}}},
		{"definition array length and odd keys", func(d, a *model.Flow) {
			d.Definition = mustCanon(t, `{"actions":{"a.b[c]":{"runAfter":{"X":["Succeeded","Failed"]}}}}`)
			a.Definition = mustCanon(t, `{"actions":{"a.b[c]":{"runAfter":{"X":["Succeeded"]}}}}`)
		}, Parts{Definition: []string{"actions.a%2Eb%5Bc%5D.runAfter.X"}}},
		{"definition element and type change", func(d, a *model.Flow) {
			d.Definition = mustCanon(t, `{"p":[1,{"q":true}],"r":"1"}`)
			a.Definition = mustCanon(t, `{"p":[1,{"q":false}],"r":1}`)
		}, Parts{Definition: []string{"p[1].q", "r"}}},
		{"definition indentation only", func(d, a *model.Flow) {
			a.Definition = json.RawMessage(`{"actions":{"Compose":{"inputs":"hello","type":"Compose"}},"triggers":{"manual":{"kind":"Button","type":"Request"}}}`)
		}, Parts{}},
		{"connection rebound", func(d, a *model.Flow) { d.Connections[0].Connection = "shared-office365-dst2" }, Parts{Connections: []ConnectionChange{
			{Key: "shared_office365", API: "shared_office365", From: "shared-office365-dst1", To: "shared-office365-dst2", How: "byConnector"}}}},
		{"connection name case is not a change", func(d, a *model.Flow) { d.Connections[0].Connection = "Shared-Office365-DST1" }, Parts{}},
		{"connection added and removed", func(d, a *model.Flow) {
			d.Connections = []model.ConnectionRef{{Key: "shared_teams", API: "shared_teams", Connection: "shared-teams-dst"}}
		}, Parts{Connections: []ConnectionChange{
			{Key: "shared_office365", API: "shared_office365", From: "shared-office365-dst1"},
			{Key: "shared_teams", API: "shared_teams", To: "shared-teams-dst"}}}},
		{"source Owner is met by target CanEdit; target Owner stays", func(d, a *model.Flow) {}, Parts{}},
		{"new co-owner and run-only group", func(d, a *model.Flow) {
			d.Permissions = append(d.Permissions, perm(bob, "User", api.RoleCanEdit), perm(viewers, "Group", api.RoleCanView))
		}, Parts{Owners: PrincipalDelta{Add: []model.Permission{perm(bob, "User", api.RoleCanEdit)}},
			RunOnly: PrincipalDelta{Add: []model.Permission{perm(viewers, "Group", api.RoleCanView)}}}},
		{"source Owner missing in target is added as CanEdit", func(d, a *model.Flow) {
			d.Permissions = []model.Permission{perm(carol, "User", api.RoleOwner)}
		}, Parts{Owners: PrincipalDelta{Add: []model.Permission{perm(carol, "User", api.RoleCanEdit)},
			Remove: []model.Permission{perm(alice, "User", api.RoleCanEdit)}}}},
		{"target-only co-owner and viewer removed, Keep and Owner never", func(d, a *model.Flow) {
			a.Permissions = append(a.Permissions, perm(bob, "User", api.RoleCanEdit), perm(viewers, "Group", api.RoleCanViewWithShare),
				perm(api.PrincipalID(strings.ToUpper(string(carol))), "User", api.RoleCanEdit))
		}, Parts{Owners: PrincipalDelta{Remove: []model.Permission{perm(bob, "User", api.RoleCanEdit)}},
			RunOnly: PrincipalDelta{Remove: []model.Permission{perm(viewers, "Group", api.RoleCanViewWithShare)}}}},
		{"role change is one grant", func(d, a *model.Flow) {
			d.Permissions = append(d.Permissions, perm(bob, "User", api.RoleCanEdit))
			a.Permissions = append(a.Permissions, perm(bob, "User", api.RoleCanView))
		}, Parts{Owners: PrincipalDelta{Add: []model.Permission{perm(bob, "User", api.RoleCanEdit)}}}},
		{"state", func(d, a *model.Flow) { a.Meta.State = api.StateStopped }, Parts{State: &StateChange{From: api.StateStopped, To: api.StateStarted}}},
		{"suspended target turned on", func(d, a *model.Flow) { a.Meta.State = api.StateSuspended }, Parts{State: &StateChange{From: api.StateSuspended, To: api.StateStarted}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, a := cloneFlow(base), cloneFlow(actual)
			tt.mutate(&d, &a)
			got := Compare(d, &a, CompareOptions{Keep: carol, Bindings: []ConnectionChange{{Key: "shared_office365", How: "byConnector"}}})
			if diff := cmp.Diff(tt.want, got.Parts, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Parts (-want +got):\n%s", diff)
			}
			if len(got.Unresolved) != 0 {
				t.Errorf("Unresolved = %v", got.Unresolved)
			}
		})
	}
}

func TestCompareCreate(t *testing.T) {
	d := mapped(srcFlow(1, "Alpha"))
	d.Permissions = append(d.Permissions, perm(me, "User", api.RoleCanEdit), perm(viewers, "Group", api.RoleCanView))
	got := Compare(d, nil, CompareOptions{Keep: me})
	want := Parts{
		Meta:        []string{"displayName"},
		Definition:  []string{""},
		Connections: []ConnectionChange{{Key: "shared_office365", API: "shared_office365", To: "shared-office365-dst1"}},
		Owners:      PrincipalDelta{Add: []model.Permission{perm(alice, "User", api.RoleCanEdit)}},
		RunOnly:     PrincipalDelta{Add: []model.Permission{perm(viewers, "Group", api.RoleCanView)}},
		State:       &StateChange{To: api.StateStarted},
	}
	if diff := cmp.Diff(want, got.Parts, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("create Parts (-want +got):\n%s", diff)
	}
}

func TestCompareStateModes(t *testing.T) {
	tests := []struct {
		mode          StateMode
		source        string
		actual        string // "" = create
		want          *StateChange
		wantDesiredSt string
	}{
		{StateSource, api.StateStarted, api.StateStopped, &StateChange{api.StateStopped, api.StateStarted}, api.StateStarted},
		{StateSource, api.StateStopped, api.StateStopped, nil, api.StateStopped},
		{StateSource, api.StateSuspended, api.StateStarted, &StateChange{api.StateStarted, api.StateStopped}, api.StateStopped},
		{"", api.StateStopped, "", &StateChange{"", api.StateStopped}, api.StateStopped},
		{StateOn, api.StateStopped, api.StateStopped, &StateChange{api.StateStopped, api.StateStarted}, api.StateStarted},
		{StateOff, api.StateStarted, api.StateStarted, &StateChange{api.StateStarted, api.StateStopped}, api.StateStopped},
		{StatePreserve, api.StateStarted, api.StateStopped, nil, api.StateStopped},
		{StatePreserve, api.StateStarted, "", &StateChange{"", api.StateStopped}, api.StateStopped},
	}
	for _, tt := range tests {
		t.Run(string(tt.mode)+"/"+tt.source+"/"+tt.actual, func(t *testing.T) {
			d := mapped(srcFlow(1, "Alpha"))
			d.Meta.State = tt.source
			var a *model.Flow
			if tt.actual != "" {
				af := targetOf(srcFlow(1, "Alpha"), 1)
				af.Meta.State = tt.actual
				a = &af
			}
			got := Compare(d, a, CompareOptions{State: tt.mode})
			if diff := cmp.Diff(tt.want, got.Parts.State); diff != "" {
				t.Errorf("State (-want +got):\n%s", diff)
			}
			if got.Desired.Meta.State != tt.wantDesiredSt {
				t.Errorf("Desired state = %q, want %q", got.Desired.Meta.State, tt.wantDesiredSt)
			}
		})
	}
}

func TestComparePlaceholders(t *testing.T) {
	ph := secrets.Placeholder
	pw := "actions.HTTP.inputs.authentication.password"
	sig := "actions.Call.inputs.uri#sig"
	desiredDef := `{"actions":{"Call":{"inputs":{"uri":"https://x.example/api?sv=1&sig=` + ph(sig) + `&se=2"}},` +
		`"HTTP":{"inputs":{"authentication":{"password":"` + ph(pw) + `","type":"Basic","username":"svc"}}}}}`
	targetDef := `{"actions":{"Call":{"inputs":{"uri":"https://x.example/api?sv=1&sig=TARGETSIG&se=2"}},` +
		`"HTTP":{"inputs":{"authentication":{"password":"target-pw","type":"Basic","username":"svc"}}}}}`
	tests := []struct {
		name       string
		target     string // "" = create
		values     secrets.Values
		wantPaths  []string
		unresolved []string
		wantDef    string // the resolved desired definition
	}{
		{name: "placeholders equal what the target holds", target: targetDef, wantDef: targetDef},
		{name: "supplied values win", target: targetDef,
			values:    secrets.Values{pw: json.RawMessage(`"new-pw"`), sig: json.RawMessage(`"NEWSIG"`)},
			wantPaths: []string{"actions.Call.inputs.uri", "actions.HTTP.inputs.authentication.password"},
			wantDef:   strings.NewReplacer("TARGETSIG", "NEWSIG", "target-pw", "new-pw").Replace(targetDef)},
		{name: "create without values", unresolved: []string{sig, pw}, wantPaths: []string{""}, wantDef: desiredDef},
		{name: "create with values", values: secrets.Values{pw: json.RawMessage(`"p"`), sig: json.RawMessage(`"S"`)}, wantPaths: []string{""},
			wantDef: strings.NewReplacer("TARGETSIG", "S", "target-pw", "p").Replace(targetDef)},
		{name: "spot missing in the target",
			target:     `{"actions":{"Call":{"inputs":{"uri":"https://other.example/?sig=Z"}}}}`,
			unresolved: []string{sig, pw},
			wantPaths:  []string{"actions.Call.inputs.uri", "actions.HTTP"},
			wantDef:    desiredDef},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := mapped(srcFlow(1, "Alpha"))
			d.Definition = mustCanon(t, desiredDef)
			var a *model.Flow
			if tt.target != "" {
				af := targetOf(srcFlow(1, "Alpha"), 1)
				af.Definition = mustCanon(t, tt.target)
				a = &af
			}
			got := Compare(d, a, CompareOptions{Secrets: tt.values})
			if diff := cmp.Diff(tt.wantPaths, got.Parts.Definition); diff != "" {
				t.Errorf("Definition paths (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.unresolved, got.Unresolved); diff != "" {
				t.Errorf("Unresolved (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(string(mustCanon(t, tt.wantDef)), string(got.Desired.Definition)); diff != "" {
				t.Errorf("resolved definition (-want +got):\n%s", diff)
			}
			if !strings.Contains(string(d.Definition), ph(pw)) {
				t.Errorf("Compare modified its input")
			}
		})
	}
}

func TestComparePlaceholderInConnectionExtra(t *testing.T) {
	d := mapped(srcFlow(1, "Alpha"))
	d.Connections[0].Extra = map[string]json.RawMessage{"key": json.RawMessage(`"` + secrets.Placeholder("connections.json.shared_office365.extra.key") + `"`)}
	a := targetOf(srcFlow(1, "Alpha"), 1)
	a.Connections[0].Extra = map[string]json.RawMessage{"key": json.RawMessage(`"live"`)}
	got := Compare(d, &a, CompareOptions{})
	if !got.Parts.Empty() || len(got.Unresolved) > 0 {
		t.Errorf("Parts = %+v, Unresolved = %v", got.Parts, got.Unresolved)
	}
	if !jsonEqual(got.Desired.Connections[0].Extra["key"], json.RawMessage(`"live"`)) {
		t.Errorf("the target's value is not kept: %s", got.Desired.Connections[0].Extra["key"])
	}
	// flow.json extra members are never written: their placeholders need no value.
	d.Meta.Extra = map[string]json.RawMessage{"x": json.RawMessage(`"` + secrets.Placeholder("flow.json.extra.x") + `"`)}
	if got := Compare(d, nil, CompareOptions{}); len(got.Unresolved) != 1 || got.Unresolved[0] != "connections.json.shared_office365.extra.key" {
		t.Errorf("Unresolved on create = %v", got.Unresolved)
	}
}

func TestComparePlaceholderInBrokenDefinition(t *testing.T) {
	d := mapped(srcFlow(1, "Alpha"))
	d.Definition = json.RawMessage(`{"a":"` + secrets.Placeholder("a") + `",`)
	a := targetOf(srcFlow(1, "Alpha"), 1)
	got := Compare(d, &a, CompareOptions{})
	if diff := cmp.Diff([]string{"a"}, got.Unresolved); diff != "" {
		t.Errorf("Unresolved (-want +got):\n%s", diff)
	}
}

func TestMatchPattern(t *testing.T) {
	tests := []struct {
		lits   []string
		target string
		want   []string
	}{
		{[]string{"a?sig=", "&b"}, "a?sig=XYZ&b", []string{"XYZ"}},
		{[]string{"a?sig=", ""}, "a?sig=XYZ", []string{"XYZ"}},
		{[]string{"?x=", "&y=", "&z"}, "?x=1&y=2&z", []string{"1", "2"}},
		{[]string{"?x=", "&y=", "&z"}, "?x=1&q&z", nil},
		{[]string{"a", "", "b"}, "a12b", nil},
		{[]string{"abc", "abc"}, "abc", nil},
		{[]string{"pre", "post"}, "other", nil},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, matchPattern(tt.lits, tt.target)); diff != "" {
			t.Errorf("matchPattern(%q, %q) (-want +got):\n%s", tt.lits, tt.target, diff)
		}
	}
}

// TestDiff is the strict comparison of two states of one environment (the
// export's history), moved here from the model package.
func TestDiff(t *testing.T) {
	a, b, c := srcFlow(1, "A"), srcFlow(2, "B"), srcFlow(3, "C")
	a2 := srcFlow(1, "A renamed")
	a2.Meta.LastModifiedTime = "2025-02-01T00:00:00Z"
	a3 := srcFlow(1, "A")
	a3.Permissions = append(a3.Permissions, perm(viewers, "Group", api.RoleCanView))
	a3.Meta.State = api.StateStopped
	a4 := srcFlow(1, "A")
	a4.Permissions = append(a4.Permissions, perm(bob, "User", "CustomRole"))
	tests := []struct {
		name     string
		old, new []model.Flow
		want     []Change
	}{
		{"nothing", nil, nil, nil},
		{"all same", []model.Flow{a, b}, []model.Flow{b, a}, nil},
		{"added, removed, renamed", []model.Flow{a, b}, []model.Flow{c, a2}, []Change{
			{Action: Update, Source: a.Key, Target: a.Key, DisplayName: "A renamed", Link: LinkSame, Parts: Parts{Meta: []string{"displayName", "lastModifiedTime"}}},
			{Action: Delete, Target: b.Key, DisplayName: "B"},
			{Action: Create, Source: c.Key, DisplayName: "C", Parts: Parts{Meta: []string{"displayName", "triggerKind"}, Definition: []string{""},
				Connections: []ConnectionChange{{Key: "shared_office365", API: "shared_office365", To: "shared-office365-src1"}},
				Owners:      PrincipalDelta{Add: []model.Permission{perm(alice, "User", api.RoleOwner)}},
				State:       &StateChange{To: api.StateStarted}}},
		}},
		{"strict keeps Owner and compares state", []model.Flow{a}, []model.Flow{a3}, []Change{
			{Action: Update, Source: a.Key, Target: a.Key, DisplayName: "A", Link: LinkSame, Parts: Parts{
				RunOnly: PrincipalDelta{Add: []model.Permission{perm(viewers, "Group", api.RoleCanView)}},
				State:   &StateChange{From: api.StateStarted, To: api.StateStopped}}},
		}},
		{"strict keeps unknown roles", []model.Flow{a}, []model.Flow{a4}, []Change{
			{Action: Update, Source: a.Key, Target: a.Key, DisplayName: "A", Link: LinkSame, Parts: Parts{
				RunOnly: PrincipalDelta{Add: []model.Permission{perm(bob, "User", "CustomRole")}}}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Diff(tt.old, tt.new)
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty(), cmpopts.IgnoreFields(Change{}, "Desired", "Actual")); diff != "" {
				t.Errorf("Diff (-want +got):\n%s", diff)
			}
		})
	}
}
