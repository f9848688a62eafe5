package importer_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/flowsync/flowsync/diff"
	"github.com/flowsync/flowsync/importer"
	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/client"
	"github.com/flowsync/flowsync/internal/secrets"
)

const (
	devPassword  = "DEMO-ONLY-not-a-real-password" // the demo seed's value in Dev
	passwordPath = "actions.Check_partner_API.inputs.authentication.password"
)

func password(t *testing.T, def json.RawMessage) string {
	t.Helper()
	return jsonString(t, def, "actions", "Check_partner_API", "inputs", "authentication", "password")
}

func TestApplySecrets(t *testing.T) {
	e := startEmu(t, "")
	ctx := context.Background()
	p := newPromotion(t, e, flowSecrets)

	// A create takes the caller's values (here: Dev's, as from secrets.age).
	res, err := p.apply(ctx, nil)
	if err != nil || res.Failed() > 0 {
		t.Fatalf("apply: %v %+v", err, res.Flows)
	}
	if len(p.secrets[flowSecrets]) == 0 {
		t.Fatal("test setup: Dev's flow has no redacted secrets")
	}
	target := p.links.get()[flowSecrets]
	created := e.flow(prod, target)
	if got := password(t, created.Definition); got != devPassword {
		t.Errorf("created flow's password is %q, want the supplied value", got)
	}
	if strings.Contains(string(created.Definition), secrets.PlaceholderPrefix) {
		t.Errorf("the created flow holds a placeholder:\n%s", created.Definition)
	}

	// Prod gets its own password; Dev changes elsewhere.
	c := e.Client(p.id.ID)
	live, err := c.GetFlow(ctx, prod, target, client.GetFlowOptions{})
	if err != nil {
		t.Fatal(err)
	}
	def := strings.Replace(string(live.Properties.Definition), devPassword, "prod-only-password", 1)
	if _, err := c.UpdateFlow(ctx, prod, target, api.FlowProperties{Definition: json.RawMessage(def), ConnectionReferences: live.Properties.ConnectionReferences}); err != nil {
		t.Fatal(err)
	}
	// Without supplied values an update keeps the target's values; with
	// them, they are written (the plan shows them as supplied).
	for _, supplied := range []bool{false, true} {
		description, want := "checked every 15 minutes", "prod-only-password"
		if supplied {
			description, want = "checked again", devPassword
		}
		e.edit(dev, flowSecrets, description)
		p.noSecrets = !supplied
		plan := p.plan()
		if len(plan.Problems) > 0 {
			t.Fatalf("supplied %v: plan problems %+v", supplied, plan.Problems)
		}
		res, err := importer.Apply(ctx, guard{t: c, tb: t}, plan, p.options())
		if err != nil || res.Failed() > 0 {
			t.Fatalf("apply (supplied %v): %v %+v", supplied, err, res.Flows)
		}
		updated := e.flow(prod, target)
		if got := password(t, updated.Definition); got != want {
			t.Errorf("supplied %v: the password is %q, want %q", supplied, got, want)
		}
		if jsonString(t, updated.Definition, "description") != description {
			t.Errorf("supplied %v: the update did not happen", supplied)
		}
	}
}

func TestApplyRefusesUnresolvedSecrets(t *testing.T) {
	e := startEmu(t, "")
	p := newPromotion(t, e, flowSecrets, flowArchive)
	p.noSecrets = true // no --identity, no --secrets
	plan := p.plan()
	if !slices.ContainsFunc(plan.Problems, func(pr diff.Problem) bool { return pr.Code == diff.CodeUnresolvedSecret }) {
		t.Fatalf("the planner did not flag the unresolved secret: %+v", plan.Problems)
	}
	if _, err := importer.Apply(context.Background(), e.Client(p.id.ID), plan, p.options()); !errors.Is(err, importer.ErrPlanProblems) {
		t.Fatalf("a plan with an unresolved secret: want ErrPlanProblems, got %v", err)
	}
	// A planner that missed it: the importer refuses the flow on its own.
	plan.Problems = nil
	for i := range plan.Changes {
		plan.Changes[i].Problems = nil
	}
	before := e.Total().NonGet
	res, err := importer.Apply(context.Background(), guard{t: e.Client(p.id.ID), tb: t}, plan, p.options())
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed() != 1 {
		t.Fatalf("want one failed flow, got %+v", res.Flows)
	}
	for _, fr := range res.Flows {
		if fr.Source.Flow != flowSecrets {
			continue
		}
		msg := fr.Err.Error()
		if !strings.Contains(msg, passwordPath) || !strings.Contains(msg, "--secrets") {
			t.Errorf("the error does not name the path and how to supply it: %v", msg)
		}
		if strings.Contains(msg, devPassword) {
			t.Error("the error shows a secret value")
		}
		if fr.Writes != 0 {
			t.Errorf("%d writes for the refused flow", fr.Writes)
		}
	}
	other := 0
	for _, fr := range res.Flows {
		if fr.Source.Flow == flowArchive {
			other = fr.Writes
		}
	}
	if n := e.Total().NonGet - before; n != other || other == 0 {
		t.Errorf("%d writes, want only the other flow's (%d)", n, other)
	}
	if len(e.flowsNamed(prod, "Partner API health check")) != 0 {
		t.Error("the refused flow was created")
	}
}

// TestApplyNeverWritesPlaceholder feeds plans that carry placeholders where
// no secret restore looks (a planner bug, a hand-edited tree): the last
// check before the write refuses them.
func TestApplyNeverWritesPlaceholder(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spoil func(ch *diff.Change)
		want  string
	}{
		{"connection reference", func(ch *diff.Change) {
			ch.Desired.Connections[0].Extra = map[string]json.RawMessage{"note": json.RawMessage(`"` + secrets.Placeholder("connections.json.x") + `"`)}
		}, "refusing to write a redaction placeholder"},
		{"display name", func(ch *diff.Change) {
			ch.Desired.Meta.DisplayName = "Archive " + secrets.Placeholder("flow.json.displayName")
		}, "refusing to write a redaction placeholder"},
		{"escaped in the definition", func(ch *diff.Change) {
			def := strings.Replace(string(ch.Desired.Definition), `"triggers"`, `"x":"\u003credacted:flowsync:x\u003e","triggers"`, 1)
			ch.Desired.Definition = json.RawMessage(def)
		}, "no value for the redacted secrets at x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := startEmu(t, "")
			p := newPromotion(t, e, flowArchive)
			plan := p.plan()
			for i := range plan.Changes {
				if plan.Changes[i].Action == diff.Create {
					d := *plan.Changes[i].Desired
					plan.Changes[i].Desired = &d
					tc.spoil(&plan.Changes[i])
				}
			}
			// No guard here: the importer alone must refuse.
			before := e.Total().NonGet
			res, err := importer.Apply(context.Background(), e.Client(p.id.ID), plan, p.options())
			if err != nil {
				t.Fatal(err)
			}
			if res.Failed() != 1 || !strings.Contains(res.Flows[0].Err.Error(), tc.want) {
				t.Fatalf("want the flow refused for a placeholder, got %+v", res.Flows)
			}
			if n := e.Total().NonGet - before; n != 0 {
				t.Errorf("%d writes", n)
			}
		})
	}
}

func TestParseSecretsFile(t *testing.T) {
	const flow = "E364E500-D758-49A2-BF7D-97650064D0A8"
	for _, tc := range []struct {
		name, in string
		want     map[string]string // path -> JSON value
		err      string
	}{
		{"yaml", flow + ":\n  actions.A.inputs.authentication.password: s3cret\n  actions.B.inputs.uri#sig: \"abc\"\n  parameters.p.defaultValue: {a: 1}\n",
			map[string]string{"actions.A.inputs.authentication.password": `"s3cret"`, "actions.B.inputs.uri#sig": `"abc"`, "parameters.p.defaultValue": `{"a":1}`}, ""},
		{"json", `{"` + flow + `": {"<redacted:flowsync:actions.A.x>": "v"}}`, map[string]string{"actions.A.x": `"v"`}, ""},
		{"empty", "", nil, ""},
		{"not a guid", "invoice:\n  a: b\n", nil, "x.yaml:1: \"invoice\" is not a flow GUID"},
		{"string part", flow + ":\n  actions.B.inputs.uri#sig: 12\n", nil, "x.yaml:2: flow e364e500-d758-49a2-bf7d-97650064d0a8: path actions.B.inputs.uri#sig is part of a string"},
		{"list", "- a\n", nil, "x.yaml:1: want a map"},
		{"duplicate path", flow + ":\n  a: hunter2\n  a: hunter3\n", nil, "x.yaml:3"},
		{"bad yaml", flow + ":\n  a: \"hunter2\n", nil, "x.yaml: not YAML or JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := importer.ParseSecretsFile("x.yaml", []byte(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("want error containing %q, got %v", tc.err, err)
				}
				if strings.Contains(err.Error(), "hunter") {
					t.Errorf("the error shows a value: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			vals := got["e364e500-d758-49a2-bf7d-97650064d0a8"]
			if len(vals) != len(tc.want) {
				t.Fatalf("got %d values, want %d", len(vals), len(tc.want))
			}
			for p, w := range tc.want {
				if string(vals[p]) != w {
					t.Errorf("%s = %s, want %s", p, vals[p], w)
				}
			}
		})
	}
}
