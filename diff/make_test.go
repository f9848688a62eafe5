package diff

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/model"
	"github.com/flowsync/flowsync/internal/secrets"
	"github.com/google/go-cmp/cmp"
)

func childCall(ref api.FlowName) string {
	return `{"actions":{"Scope":{"type":"Scope","actions":{"Call_child":{"type":"Workflow","inputs":{"host":{"workflowReferenceName":"` +
		string(ref) + `"},"body":{"x":1}}}}}},"triggers":{"manual":{"kind":"Button","type":"Request"}}}`
}

func TestChildRefs(t *testing.T) {
	def := mustCanon(t, `{"actions":{
		"A":{"type":"Workflow","inputs":{"host":{"workflowReferenceName":"C73E0DFD-99A2-45C7-96D4-5866938F47DA"}}},
		"If":{"type":"If","actions":{},"else":{"actions":{"B":{"type":"Workflow","inputs":{"host":{"workflowReferenceName":"11111111-2222-4333-8444-555555555555"}}}}}},
		"Loop":{"type":"Foreach","actions":{"Again":{"type":"Workflow","inputs":{"host":{"workflowReferenceName":"c73e0dfd-99a2-45c7-96d4-5866938f47da"}}}}},
		"Dynamic":{"type":"Workflow","inputs":{"host":{"workflowReferenceName":"@variables('child')"}}},
		"NotAChild":{"type":"Http","inputs":{"host":{"workflowReferenceName":"99999999-0000-4000-8000-000000000000"}}}}}`)
	want := []api.FlowName{"11111111-2222-4333-8444-555555555555", "c73e0dfd-99a2-45c7-96d4-5866938f47da"}
	if diff := cmp.Diff(want, ChildRefs(def)); diff != "" {
		t.Errorf("ChildRefs (-want +got):\n%s", diff)
	}
	if got := ChildRefs(json.RawMessage(`not json`)); got != nil {
		t.Errorf("ChildRefs(garbage) = %v", got)
	}

	out, err := RewriteChildRefs(def, map[api.FlowName]api.FlowName{"c73e0dfd-99a2-45c7-96d4-5866938f47da": "dddddddd-0000-4000-8000-000000000001"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]api.FlowName{"11111111-2222-4333-8444-555555555555", "dddddddd-0000-4000-8000-000000000001"}, ChildRefs(out)); diff != "" {
		t.Errorf("after rewrite (-want +got):\n%s", diff)
	}
	if !strings.Contains(string(out), `"99999999-0000-4000-8000-000000000000"`) || !strings.Contains(string(out), `@variables('child')`) {
		t.Errorf("rewrite touched what is not a child reference:\n%s", out)
	}
	if _, err := RewriteChildRefs(json.RawMessage(`{`), nil); err == nil {
		t.Errorf("RewriteChildRefs of bad JSON: no error")
	}
}

// change finds the change for a source flow (or, with src 0, a target flow).
func change(t *testing.T, p Plan, s api.FlowName, d api.FlowName) Change {
	t.Helper()
	for _, c := range p.Changes {
		if (s != "" && c.Source.Flow == s) || (s == "" && c.Target.Flow == d) {
			return c
		}
	}
	t.Fatalf("no change for %s/%s in %+v", s, d, p.Changes)
	return Change{}
}

func TestMakeChildFlows(t *testing.T) {
	child := srcFlow(1, "Child")
	newChild := srcFlow(2, "New child")
	parent := flow(srcEnv, src(3), "Parent", childCall(src(1)))
	parent2 := flow(srcEnv, src(4), "Parent 2", childCall(src(2)))
	orphan := flow(srcEnv, src(5), "Orphan caller", childCall("ffffffff-0000-4000-8000-000000000000"))
	linked := flow(srcEnv, src(6), "Calls a linked child", childCall("fffffff1-0000-4000-8000-000000000000"))
	tChild := targetOf(child, 1)
	tLinked := targetOf(srcFlow(9, "Linked child"), 9)
	in := Input{
		Desired: []model.Flow{mapped(child), mapped(newChild), mapped(parent), mapped(parent2), mapped(orphan), mapped(linked)},
		Actual:  []model.Flow{tChild, tLinked},
		Links:   map[api.FlowName]api.FlowName{"fffffff1-0000-4000-8000-000000000000": dst(9)},
	}
	p := Make(in)

	c := change(t, p, src(3), "")
	if got := ChildRefs(c.Desired.Definition); !cmp.Equal(got, []api.FlowName{dst(1)}) {
		t.Errorf("parent of a paired child calls %v, want the target flow %s", got, dst(1))
	}
	if diff := cmp.Diff([]model.Key{child.Key}, c.Children); diff != "" {
		t.Errorf("Children (-want +got):\n%s", diff)
	}
	c2 := change(t, p, src(4), "")
	if got := ChildRefs(c2.Desired.Definition); !cmp.Equal(got, []api.FlowName{src(2)}) {
		t.Errorf("a child to be created is left for the importer: %v", got)
	}
	if diff := cmp.Diff([]model.Key{newChild.Key}, c2.Children); diff != "" {
		t.Errorf("Children of parent 2 (-want +got):\n%s", diff)
	}
	if got := ChildRefs(change(t, p, src(6), "").Desired.Definition); !cmp.Equal(got, []api.FlowName{dst(9)}) {
		t.Errorf("a child known by a stored link only: %v", got)
	}
	co := change(t, p, src(5), "")
	if diff := cmp.Diff([]string{CodeUnknownChild}, codes(co.Warnings)); diff != "" {
		t.Errorf("orphan warnings (-want +got):\n%s", diff)
	}
	if !p.Applicable() {
		t.Errorf("child warnings made the plan inapplicable: %v", p.Problems)
	}
	if diff := cmp.Diff([]string{CodeUnknownChild}, codes(p.Warnings)); diff != "" {
		t.Errorf("plan warnings (-want +got):\n%s", diff)
	}

	// Not selected: a child that would need creating is not being imported.
	sel := in
	sel.Selected = []string{"Parent 2"}
	ps := Make(sel)
	if len(ps.Changes) != 1 || ps.Changes[0].Source.Flow != src(4) {
		t.Fatalf("selection: %+v", ps.Changes)
	}
	if diff := cmp.Diff([]string{CodeUnknownChild}, codes(ps.Changes[0].Warnings)); diff != "" {
		t.Errorf("unselected new child (-want +got):\n%s", diff)
	}
}

func TestMakeValidation(t *testing.T) {
	a, b := srcFlow(1, "Alpha"), srcFlow(2, "Beta")
	deletedRec := srcFlow(3, "Gone")
	deletedRec.Meta.State = api.StateDeleted
	deletedRec.Definition = nil
	ta := targetOf(a, 1)
	managed := targetOf(b, 2)
	managed.Meta.IsManaged = true
	managed.Meta.DisplayName = "Beta"
	managedSame := targetOf(srcFlow(4, "Delta"), 4)
	managedSame.Meta.IsManaged = true
	withSecret := flow(srcEnv, src(5), "Secretive", `{"actions":{"HTTP":{"inputs":{"authentication":{"password":"`+
		secrets.Placeholder("actions.HTTP.inputs.authentication.password")+`","type":"Basic"}},"type":"Http"}}}`)

	a.Meta.DisplayName = "Alpha"
	v2 := `{"actions":{"Compose":{"inputs":"v2","type":"Compose"}}}`
	aChanged := a
	aChanged.Definition = mustCanon(t, v2)
	bChanged := b
	bChanged.Meta.DisplayName = "Beta"
	bChanged.Definition = mustCanon(t, v2)

	base := Input{
		Desired: []model.Flow{mapped(aChanged), mapped(bChanged), deletedRec, mapped(srcFlow(4, "Delta")), mapped(withSecret)},
		Actual:  []model.Flow{ta, managed, managedSame},
	}
	p := Make(base)
	if p.Applicable() {
		t.Fatalf("plan with a managed flow update and a missing secret is applicable")
	}
	if diff := cmp.Diff([]string{CodeManagedFlow, CodeUnresolvedSecret}, codes(p.Problems)); diff != "" {
		t.Errorf("problems (-want +got):\n%s\n%v", diff, p.Problems)
	}
	if diff := cmp.Diff([]string{CodeDeletedRecord}, codes(p.Warnings)); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	for _, c := range p.Changes {
		if c.Source.Flow == src(3) {
			t.Errorf("a deleted record got a change: %+v", c)
		}
	}
	if c := change(t, p, src(4), ""); c.Action != Unchanged || len(c.Problems) != 0 {
		t.Errorf("an unchanged managed flow is no problem: %v %v", c.Action, c.Problems)
	}
	sec := change(t, p, src(5), "")
	if sec.Action != Create || len(sec.Problems) != 1 || !strings.Contains(sec.Problems[0].Message, "actions.HTTP.inputs.authentication.password") ||
		!strings.Contains(sec.Problems[0].Message, "--secrets") {
		t.Errorf("unresolved secret: %v %+v", sec.Action, sec.Problems)
	}

	// With the value supplied the secret problem goes, and the plan carries it.
	withVals := base
	withVals.Secrets = map[api.FlowName]secrets.Values{src(5): {"actions.HTTP.inputs.authentication.password": json.RawMessage(`"pw"`)}}
	withVals.Desired = []model.Flow{mapped(aChanged), mapped(withSecret)}
	pv := Make(withVals)
	if !pv.Applicable() {
		t.Errorf("supplied secret still a problem: %v", pv.Problems)
	}
	if d := change(t, pv, src(5), "").Desired; d == nil || !strings.Contains(string(d.Definition), `"pw"`) {
		t.Errorf("Desired does not carry the supplied secret")
	}

	// Selecting a deleted record is a problem; selecting nothing that exists too.
	sel := base
	sel.Selected = []string{string(src(3)), "No such flow"}
	ps := Make(sel)
	if diff := cmp.Diff([]string{CodeUnknownFlow, CodeDeletedRecord}, codes(ps.Problems)); diff != "" {
		t.Errorf("selection problems (-want +got):\n%s", diff)
	}

	// Problems from the mapping are carried and attached to their flow.
	mp := base
	mp.Desired = []model.Flow{mapped(aChanged)}
	mp.Problems = []Problem{{Code: "unmapped-connection", Flow: &aChanged.Key, Message: "m"}, {Code: "unknown-key", Where: "map.yaml:3", Message: "k"}}
	pm := Make(mp)
	if diff := cmp.Diff([]string{"unknown-key", "unmapped-connection"}, codes(pm.Problems)); diff != "" {
		t.Errorf("carried problems (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"unmapped-connection"}, codes(change(t, pm, src(1), "").Problems)); diff != "" {
		t.Errorf("flow problems (-want +got):\n%s", diff)
	}

	bad := base
	bad.State = "sometimes"
	if pb := Make(bad); !strings.Contains(strings.Join(codes(pb.Problems), ","), CodeBadStateMode) {
		t.Errorf("bad state mode accepted: %v", pb.Problems)
	}
}

func TestMakePruneAndExtras(t *testing.T) {
	a := srcFlow(1, "Alpha")
	ta := targetOf(a, 1)
	extra := targetOf(srcFlow(2, "Only in prod"), 2)
	managedExtra := targetOf(srcFlow(3, "Managed in prod"), 3)
	managedExtra.Meta.IsManaged = true
	deletedExtra := targetOf(srcFlow(4, "Deleted in prod"), 4)
	deletedExtra.Meta.State = api.StateDeleted
	in := Input{Desired: []model.Flow{mapped(a)}, Actual: []model.Flow{ta, extra, managedExtra, deletedExtra}}

	actions := func(p Plan) map[api.FlowName]Action {
		m := map[api.FlowName]Action{}
		for _, c := range p.Changes {
			k := c.Target.Flow
			if k == "" {
				k = c.Source.Flow
			}
			m[k] = c.Action
		}
		return m
	}
	if diff := cmp.Diff(map[api.FlowName]Action{dst(1): Unchanged, dst(2): Extra, dst(3): Extra}, actions(Make(in))); diff != "" {
		t.Errorf("without prune (-want +got):\n%s", diff)
	}
	in.Prune = true
	pp := Make(in)
	if diff := cmp.Diff(map[api.FlowName]Action{dst(1): Unchanged, dst(2): Delete, dst(3): Extra}, actions(pp)); diff != "" {
		t.Errorf("with prune (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{CodeManagedFlow}, codes(pp.Warnings)); diff != "" {
		t.Errorf("prune warnings (-want +got):\n%s", diff)
	}
	in.Selected = []string{"Alpha"}
	if diff := cmp.Diff(map[api.FlowName]Action{dst(1): Unchanged}, actions(Make(in))); diff != "" {
		t.Errorf("a selection reports no extras (-want +got):\n%s", diff)
	}
}

func TestMakeStateModes(t *testing.T) {
	a := srcFlow(1, "Alpha")
	a.Meta.State = api.StateStopped
	b := srcFlow(2, "Beta") // Started, new
	ta := targetOf(srcFlow(1, "Alpha"), 1)
	tests := []struct {
		mode  StateMode
		wantA *StateChange
		wantB *StateChange
	}{
		{StateSource, &StateChange{api.StateStarted, api.StateStopped}, &StateChange{"", api.StateStarted}},
		{StateOn, nil, &StateChange{"", api.StateStarted}},
		{StateOff, &StateChange{api.StateStarted, api.StateStopped}, &StateChange{"", api.StateStopped}},
		{StatePreserve, nil, &StateChange{"", api.StateStopped}},
	}
	for _, tt := range tests {
		t.Run(string(tt.mode), func(t *testing.T) {
			p := Make(Input{Desired: []model.Flow{mapped(a), mapped(b)}, Actual: []model.Flow{ta}, State: tt.mode})
			ca, cb := change(t, p, src(1), ""), change(t, p, src(2), "")
			if diff := cmp.Diff(tt.wantA, ca.Parts.State); diff != "" {
				t.Errorf("update state (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantB, cb.Parts.State); diff != "" {
				t.Errorf("create state (-want +got):\n%s", diff)
			}
			wantAction := Update
			if tt.wantA == nil {
				wantAction = Unchanged
			}
			if ca.Action != wantAction {
				t.Errorf("action = %s, want %s", ca.Action, wantAction)
			}
		})
	}
}

func TestMakeRestoreSameEnv(t *testing.T) {
	a := srcFlow(1, "Alpha")
	gone := a
	gone.Meta.State = api.StateDeleted
	p := Make(Input{SameEnv: true, Desired: []model.Flow{a}, Actual: []model.Flow{gone}})
	c := change(t, p, src(1), "")
	if c.Action != Restore || c.Link != LinkSame || c.Target != a.Key {
		t.Errorf("restore: %+v", c)
	}
}

func TestMakeBindingsAndOrder(t *testing.T) {
	z, a, n := srcFlow(1, "Zeta"), srcFlow(2, "alpha"), srcFlow(3, "New")
	tz, ta := targetOf(z, 1), targetOf(a, 2)
	ta.Meta.DisplayName = "alpha"
	tz.Connections[0].Connection = "shared-office365-old"
	bind := staticBindings{z.Key: {{Key: "shared_office365", API: "shared_office365", To: "shared-office365-dst1", How: "auto"}}}
	p := Make(Input{Desired: []model.Flow{mapped(z), mapped(a), mapped(n)}, Actual: []model.Flow{tz, ta}, Bindings: bind})
	var order []string
	for _, c := range p.Changes {
		order = append(order, string(c.Action)+" "+c.DisplayName)
	}
	if diff := cmp.Diff([]string{"create New", "update Zeta", "unchanged alpha"}, order); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	cz := change(t, p, src(1), "")
	want := []ConnectionChange{{Key: "shared_office365", API: "shared_office365", From: "shared-office365-old", To: "shared-office365-dst1", How: "auto"}}
	if diff := cmp.Diff(want, cz.Bindings); diff != "" {
		t.Errorf("Bindings (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, cz.Parts.Connections); diff != "" {
		t.Errorf("Parts.Connections (-want +got):\n%s", diff)
	}
}

func TestMakeSolutionChildByEntityID(t *testing.T) {
	const srcEntity, dstEntity = "33a0af05-b43b-ec11-b6e5-00224809b791", "44b0af05-b43b-ec11-b6e5-00224809b792"
	child := srcFlow(1, "Solution child")
	child.Meta.WorkflowEntityID = srcEntity
	tChild := targetOf(child, 1)
	tChild.Meta.WorkflowEntityID = dstEntity
	parent := flow(srcEnv, src(2), "Solution parent", childCall(srcEntity))
	p := Make(Input{Desired: []model.Flow{mapped(child), mapped(parent)}, Actual: []model.Flow{tChild}})
	c := change(t, p, src(2), "")
	if got := ChildRefs(c.Desired.Definition); !cmp.Equal(got, []api.FlowName{dstEntity}) {
		t.Errorf("reference by entity id became %v, want the target's entity id", got)
	}
	if len(c.Warnings) != 0 || !cmp.Equal(c.Children, []model.Key{child.Key}) {
		t.Errorf("warnings %v, children %v", c.Warnings, c.Children)
	}
}

func TestMakeUnresolvedSecretInConnectionExtra(t *testing.T) {
	f := mapped(srcFlow(1, "Extra secret"))
	f.Connections[0].Extra = map[string]json.RawMessage{"x": json.RawMessage(`"` + secrets.Placeholder("connections.json.shared_office365.extra.x") + `"`)}
	p := Make(Input{Desired: []model.Flow{f}})
	if len(p.Problems) != 1 || !strings.HasSuffix(p.Problems[0].Where, "/connections.json") || !strings.Contains(p.Problems[0].Message, "connections.json.shared_office365.extra.x") {
		t.Errorf("problems: %+v", p.Problems)
	}
}
