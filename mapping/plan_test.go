package mapping

import (
	"bytes"
	"strings"
	"testing"

	"github.com/flowsync/flowsync/diff"
	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/model"
)

// TestResolveIntoPlan runs the promotion's pure half end to end: resolve a
// mapping, apply it to the source flows, plan against the target, render.
// The auto-mapping must be visible in the plan and a mapping problem must
// make the plan inapplicable.
func TestResolveIntoPlan(t *testing.T) {
	f, err := Parse("prod.yaml", []byte("connections:\n  byConnector:\n    shared_sharepointonline: shared-sharepointonl-2\nprincipals:\n  bbbbbbbb-0000-4000-8000-000000000002: b0b0b0b0-0000-4000-8000-000000000002\n"))
	if err != nil {
		t.Fatal(err)
	}
	fl := testFlow(1, "Invoice approval",
		ref("shared_office365", "shared_office365", "src-o365"),
		ref("shared_sharepointonline", "shared_sharepointonline", "src-sp"))
	fl.Permissions = append(fl.Permissions, model.Permission{Principal: bob, Type: "User", Role: api.RoleCanEdit})
	inv := testInventory()
	res, probs := Resolve(f, []model.Flow{fl}, inv)
	if len(probs) != 0 {
		t.Fatalf("problems: %+v", probs)
	}
	plan := diff.Make(diff.Input{
		Source:   diff.Side{Env: srcEnv, Rev: "abc"},
		Target:   diff.Side{Env: "prod", Live: true},
		Desired:  []model.Flow{res.Apply(fl)},
		Bindings: res,
		Keep:     alice,
	})
	if !plan.Applicable() || len(plan.Changes) != 1 || plan.Changes[0].Action != diff.Create {
		t.Fatalf("plan: %+v", plan)
	}
	c := plan.Changes[0]
	if len(c.Bindings) != 2 || c.Bindings[0].How != HowAuto || c.Bindings[1].How != HowByConnector {
		t.Errorf("bindings: %+v", c.Bindings)
	}
	if len(c.Parts.Owners.Add) != 1 || c.Parts.Owners.Add[0].Principal != bobDst {
		t.Errorf("owners to add: %+v (alice is the importer, bob maps to bobDst)", c.Parts.Owners.Add)
	}
	var buf bytes.Buffer
	if err := diff.Render(&buf, plan, diff.FormatText, diff.RenderOptions{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "Auto-mapped connections") || !strings.Contains(buf.String(), "shared_office365 (shared_office365) -> shared-office365-good") {
		t.Errorf("auto-mapping not shown:\n%s", buf.String())
	}

	// The same flow with a mapping that names a failed connection: the
	// problem reaches the plan and forbids the apply.
	bad, err := Parse("prod.yaml", []byte("connections:\n  byConnector:\n    shared_office365: shared-office365-broken\n"))
	if err != nil {
		t.Fatal(err)
	}
	res, probs = Resolve(bad, []model.Flow{fl}, inv)
	plan = diff.Make(diff.Input{Desired: []model.Flow{res.Apply(fl)}, Bindings: res, Problems: probs})
	if plan.Applicable() {
		t.Errorf("a failed connection in the mapping left the plan applicable")
	}
}
