package importer_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flowsync/flowsync/diff"
	"github.com/flowsync/flowsync/importer"
	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/emulator"
	"github.com/flowsync/flowsync/internal/emulator/seed"
	"github.com/flowsync/flowsync/internal/model"
	"github.com/flowsync/flowsync/internal/pacer"
)

// reporter records what the importer reports.
type reporter struct {
	started []model.Key
	done    []importer.FlowResult
	summary *importer.Result
}

func (r *reporter) FlowStarted(ch diff.Change)      { r.started = append(r.started, ch.Source) }
func (r *reporter) FlowDone(fr importer.FlowResult) { r.done = append(r.done, fr) }
func (r *reporter) Summary(res importer.Result)     { r.summary = &res }
func (r *reporter) resultFor(src api.FlowName) *importer.FlowResult {
	for i := range r.done {
		if r.done[i].Source.Flow == src {
			return &r.done[i]
		}
	}
	return nil
}

// perms returns a flow's permissions as principal -> role (the creator as Owner).
func perms(f emulator.Flow) map[api.PrincipalID]string {
	out := map[api.PrincipalID]string{f.Creator: api.RoleOwner}
	for _, p := range f.Permissions {
		out[p.Principal] = p.Role
	}
	return out
}

func TestApplyPromotesDevToProd(t *testing.T) {
	e := startEmu(t, "")
	e.edit(dev, flowInvoice, "approved in Dev")
	p := newPromotion(t, e, flowInvoice, flowOrder, flowChild, flowParent, flowLaptop, flowArchive)
	ctx := context.Background()
	plan := p.plan()
	if got := changesBy(plan); got[diff.Create] != 4 || got[diff.Update] != 1 {
		t.Fatalf("test plan: want 4 creates and 1 update, got %v", got)
	}
	rep := &reporter{}
	opts := p.options()
	opts.Reporter = rep
	before := e.Total().NonGet
	res, err := importer.Apply(ctx, guard{t: e.Client(p.id.ID), tb: t}, plan, opts)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	for _, fr := range res.Flows {
		if fr.Err != nil {
			t.Errorf("flow %s (%q): %v", fr.Source, fr.DisplayName, fr.Err)
		}
	}
	if got := e.Total().NonGet - before; got != res.Writes {
		t.Errorf("the emulator counted %d writes, the result says %d", got, res.Writes)
	}
	if rep.summary == nil || len(rep.done) != len(res.Flows) || len(rep.started) != len(rep.done) {
		t.Errorf("reporter: %d started, %d done, summary %v; want one of each per flow (%d)", len(rep.started), len(rep.done), rep.summary != nil, len(res.Flows))
	}

	// Every created flow is linked, exactly one target flow per source.
	got := p.links.get()
	for _, src := range []api.FlowName{flowChild, flowParent, flowLaptop, flowArchive} {
		dst, ok := got[src]
		if !ok {
			t.Fatalf("no link recorded for created flow %s", src)
		}
		name := e.flow(dev, src).DisplayName
		if n := len(e.flowsNamed(prod, name)); n != 1 {
			t.Errorf("Prod has %d flows named %q, want 1", n, name)
		}
		if e.flow(prod, dst).Creator != seed.DemoAdmin {
			t.Errorf("flow %s: creator %s, want the importing identity", dst, e.flow(prod, dst).Creator)
		}
	}

	// The child came first and the parent calls Prod's child.
	childAt := slices.Index(rep.started, model.Key{Env: dev, Flow: flowChild})
	parentAt := slices.Index(rep.started, model.Key{Env: dev, Flow: flowParent})
	if childAt < 0 || parentAt < 0 || childAt > parentAt {
		t.Errorf("child imported at %d, parent at %d: want the child first", childAt, parentAt)
	}
	parent := e.flow(prod, got[flowParent])
	if !strings.Contains(string(parent.Definition), string(got[flowChild])) || strings.Contains(string(parent.Definition), string(flowChild)) {
		t.Errorf("the parent's child reference was not rewritten to %s:\n%s", got[flowChild], parent.Definition)
	}
	if parent.State != api.StateStarted || e.flow(prod, got[flowChild]).State != api.StateStarted {
		t.Errorf("parent %s and child %s: want both on", parent.State, e.flow(prod, got[flowChild]).State)
	}
	// A Stopped source flow stays off; its connections are Prod's.
	archive := e.flow(prod, got[flowArchive])
	if archive.State != api.StateStopped {
		t.Errorf("archive flow is %s, want Stopped", archive.State)
	}
	if !strings.Contains(string(archive.ConnectionReferences), string(prodConnections()["shared_sharepointonline"])) {
		t.Errorf("archive flow's references are not Prod's: %s", archive.ConnectionReferences)
	}

	// Owners and run-only users: source Owner becomes CanEdit; run-only users carried.
	laptop := perms(e.flow(prod, got[flowLaptop]))
	wantLaptop := map[api.PrincipalID]string{
		seed.DemoAdmin: api.RoleOwner, seed.DemoPriya: api.RoleCanEdit,
		seed.DemoSofia: api.RoleCanView, seed.DemoFieldStaff: api.RoleCanView,
	}
	if !mapsEqual(laptop, wantLaptop) {
		t.Errorf("laptop flow permissions %v, want %v", laptop, wantLaptop)
	}

	// The existing Prod flow: Dana (admin, only CanViewWithShare) granted
	// herself CanEdit to update it, then got her old role back.
	inv := e.flow(prod, prodInvoice)
	if jsonString(t, inv.Definition, "description") != "approved in Dev" {
		t.Errorf("Prod invoice approval was not updated: %s", inv.Definition)
	}
	wantInv := map[api.PrincipalID]string{
		seed.DemoPriya: api.RoleOwner, seed.DemoMarcus: api.RoleCanEdit, seed.DemoFinanceApprovers: api.RoleCanEdit,
		seed.DemoAdmin: api.RoleCanViewWithShare,
	}
	if !mapsEqual(perms(inv), wantInv) {
		t.Errorf("Prod invoice approval permissions %v, want %v", perms(inv), wantInv)
	}
	ir := rep.resultFor(flowInvoice)
	if ir == nil || !slices.ContainsFunc(ir.Steps, func(s string) bool { return strings.Contains(s, "granted CanEdit to "+string(seed.DemoAdmin)) }) ||
		!slices.ContainsFunc(ir.Steps, func(s string) bool { return strings.Contains(s, "back its CanViewWithShare") }) {
		t.Errorf("invoice approval steps do not show the admin grant and its removal: %+v", ir)
	}
	if journalExists(t, p.journal) {
		t.Errorf("a finished import left its journal %s", p.journal)
	}

	// Nothing left to do, and a second run writes nothing.
	mustConverge(t, p)
	before = e.Total().NonGet
	res2, err := p.apply(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := e.Total().NonGet - before; n != 0 || res2.Writes != 0 {
		t.Errorf("second apply: %d non-GET calls (result %d), want 0", n, res2.Writes)
	}
}

func mapsEqual[K comparable, V comparable](a, b map[K]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestApplyStateModes(t *testing.T) {
	for _, tc := range []struct {
		mode    string
		archive string // the Stopped source flow, created
		order   string // Prod's Started flow, updated
	}{
		{"source", api.StateStopped, api.StateStarted},
		{"on", api.StateStarted, api.StateStarted},
		{"off", api.StateStopped, api.StateStopped},
		{"preserve", api.StateStopped, api.StateStarted},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			e := startEmu(t, "")
			p := newPromotion(t, e, flowArchive, flowOrder)
			p.state = tc.mode
			res, err := p.apply(context.Background(), nil)
			if err != nil || res.Failed() > 0 {
				t.Fatalf("apply: %v %+v", err, res.Flows)
			}
			if got := e.flow(prod, p.links.get()[flowArchive]).State; got != tc.archive {
				t.Errorf("created flow: %s, want %s", got, tc.archive)
			}
			if got := e.flow(prod, "4327c805-6d4e-4c5d-bf70-79f649cd3c61").State; got != tc.order {
				t.Errorf("updated flow: %s, want %s", got, tc.order)
			}
			mustConverge(t, p)
		})
	}
}

func TestApplyPrune(t *testing.T) {
	e := startEmu(t, "")
	// Promote only the invoice flow: Prod's other flows are extra.
	p := newPromotion(t, e, flowInvoice)
	extra := api.FlowName("4327c805-6d4e-4c5d-bf70-79f649cd3c61")
	if _, err := p.apply(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if e.flow(prod, extra).DeletedTime != nil {
		t.Fatal("an extra flow was deleted without prune")
	}
	p.prune = true
	plan := p.plan()
	// The managed solution flow cannot be deleted this way; the test plan
	// leaves it out, as the real planner refuses it (managed-flow).
	var kept []diff.Change
	for _, ch := range plan.Changes {
		if ch.Action == diff.Delete && ch.Target.Flow == seed.DemoFlowAccountOnboard {
			continue
		}
		kept = append(kept, ch)
	}
	plan.Changes = kept
	res, err := importer.Apply(context.Background(), e.Client(p.id.ID), plan, p.options())
	if err != nil || res.Failed() > 0 {
		t.Fatalf("apply: %v %+v", err, res.Flows)
	}
	if e.flow(prod, extra).DeletedTime == nil {
		t.Error("with prune, the extra flow was not deleted")
	}
	if e.flow(prod, prodInvoice).DeletedTime != nil {
		t.Error("the linked flow was deleted")
	}
}

func TestApplyRefusesApplicationToken(t *testing.T) {
	e := startEmu(t, "")
	p := newPromotion(t, e, flowInvoice, flowArchive)
	p.id = importer.Identity{ID: seed.DemoBackupSP, App: true, Admin: true}
	before := e.Total().NonGet
	_, err := importer.Apply(context.Background(), e.Client(seed.DemoBackupSP), p.plan(), p.options())
	if !errors.Is(err, importer.ErrAppIdentity) {
		t.Fatalf("want ErrAppIdentity, got %v", err)
	}
	if !strings.Contains(err.Error(), "sign in as a user") {
		t.Errorf("the error does not say what to use instead: %v", err)
	}
	if n := e.Total().NonGet - before; n != 0 {
		t.Errorf("%d writes made with an application token", n)
	}
	if journalExists(t, p.journal) {
		t.Error("a refused import wrote a journal")
	}
}

// TestApplyAppTokenNotDeclared: a caller that does not say its token is an
// application's still gets the advice, from the service's 403.
func TestApplyAppTokenNotDeclared(t *testing.T) {
	e := startEmu(t, "")
	p := newPromotion(t, e, flowArchive)
	p.id = importer.Identity{ID: seed.DemoBackupSP, Admin: true}
	res, err := importer.Apply(context.Background(), e.Client(seed.DemoBackupSP), p.plan(), p.options())
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed() != 1 || !errors.Is(res.Flows[0].Err, api.ErrForbidden) || !strings.Contains(res.Flows[0].Err.Error(), "sign in as a user") {
		t.Fatalf("want a 403 with advice, got %+v", res.Flows)
	}
	if len(e.flowsNamed(prod, "Archive old files")) != 0 {
		t.Error("a flow was created")
	}
}

func TestApplyRefusesPlanWithProblems(t *testing.T) {
	e := startEmu(t, "")
	p := newPromotion(t, e, flowArchive)
	plan := p.plan()
	plan.Problems = []diff.Problem{{Code: "unmapped-connection", Message: "x"}}
	before := e.Total().NonGet
	_, err := importer.Apply(context.Background(), e.Client(p.id.ID), plan, p.options())
	if !errors.Is(err, importer.ErrPlanProblems) || !strings.Contains(err.Error(), "unmapped-connection") {
		t.Fatalf("want ErrPlanProblems naming the code, got %v", err)
	}
	if n := e.Total().NonGet - before; n != 0 {
		t.Errorf("%d writes for a plan with problems", n)
	}
}

func TestApplyNotOwnerNotAdmin(t *testing.T) {
	e := startEmu(t, "")
	// Sofia may create flows in Prod but owns nothing there and is no admin.
	e.edit(dev, flowInvoice, "approved in Dev")
	p := newPromotion(t, e, flowInvoice, flowArchive)
	p.id = importer.Identity{ID: seed.DemoSofia}
	res, err := p.apply(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed() != 1 {
		t.Fatalf("want one failed flow, got %+v", res.Flows)
	}
	for _, fr := range res.Flows {
		switch fr.Source.Flow {
		case flowInvoice:
			if fr.Err == nil || !strings.Contains(fr.Err.Error(), "not an owner") || !strings.Contains(fr.Err.Error(), "co-owner") {
				t.Errorf("invoice approval: want a not-an-owner error saying what to do, got %v", fr.Err)
			}
			if fr.Writes != 0 {
				t.Errorf("invoice approval: %d writes", fr.Writes)
			}
		case flowArchive:
			if fr.Err != nil {
				t.Errorf("the other flow failed too: %v", fr.Err)
			}
		}
	}
	if len(e.flowsNamed(prod, "Archive old files")) != 1 {
		t.Error("the other flow was not created")
	}
}

func TestPreviewWritesNothing(t *testing.T) {
	e := startEmu(t, "")
	e.edit(dev, flowInvoice, "approved in Dev")
	p := newPromotion(t, e, flowInvoice, flowChild, flowParent, flowArchive)
	before := e.Total().NonGet
	res, calls, err := importer.Preview(context.Background(), e.Client(p.id.ID), p.plan(), p.options())
	if err != nil || res.Failed() > 0 {
		t.Fatalf("preview: %v %+v", err, res.Flows)
	}
	if n := e.Total().NonGet - before; n != 0 {
		t.Errorf("a dry run made %d writes", n)
	}
	if len(p.links.get()) != 0 || journalExists(t, p.journal) {
		t.Error("a dry run recorded links or wrote a journal")
	}
	ops := map[string]int{}
	for _, c := range calls {
		ops[c.Op]++
	}
	if ops["create"] != 3 || ops["update"] != 1 || ops["start"] != 2 || len(calls) != res.Writes {
		t.Errorf("recorded %v (%d calls, result %d writes): want 3 creates, 1 update, 2 starts", ops, len(calls), res.Writes)
	}
	if len(e.flowsNamed(prod, "Archive old files")) != 0 {
		t.Error("a dry run created a flow")
	}
}

func TestApplyCostMatchesWrites(t *testing.T) {
	e := startEmu(t, "")
	e.edit(dev, flowInvoice, "approved in Dev")
	p := newPromotion(t, e, flowInvoice, flowOrder, flowChild, flowParent, flowLaptop, flowArchive)
	plan := p.plan()
	cost, err := importer.Cost(plan, p.id, importer.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := importer.Apply(context.Background(), e.Client(p.id.ID), plan, p.options())
	if err != nil || res.Failed() > 0 {
		t.Fatalf("apply: %v %+v", err, res.Flows)
	}
	if cost.Writes != res.Writes {
		t.Errorf("Cost said %d writes, Apply made %d", cost.Writes, res.Writes)
	}
}

func jsonString(t *testing.T, raw json.RawMessage, path ...string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("no %s in %s", p, strings.Join(path, "."))
		}
		v = m[p]
	}
	s, _ := v.(string)
	return s
}

func TestApplyAdminGrant(t *testing.T) {
	for _, tc := range []struct {
		name       string
		danaInDev  string // Dana's role on Dev's flow ("" none)
		keepAccess bool
		want       string // Dana's role on Prod's flow afterwards
	}{
		{"removed afterwards", "", false, api.RoleCanViewWithShare},
		{"kept with KeepAccess", "", true, api.RoleCanEdit},
		{"the source makes her co-owner", api.RoleCanEdit, false, api.RoleCanEdit},
		{"the source makes her run-only", api.RoleCanView, false, api.RoleCanView},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := startEmu(t, "")
			ctx := context.Background()
			e.edit(dev, flowInvoice, "approved in Dev")
			if tc.danaInDev != "" {
				err := e.Client(seed.DemoPriya).ModifyPermissions(ctx, dev, flowInvoice, false, api.ModifyPermissionsRequest{Put: []api.PermissionPut{{
					Properties: api.PermissionPutProperties{Principal: api.Principal{ID: seed.DemoAdmin, Type: api.PrincipalUser}, RoleName: tc.danaInDev}}}})
				if err != nil {
					t.Fatal(err)
				}
			}
			p := newPromotion(t, e, flowInvoice)
			plan := p.plan()
			if err := importer.Annotate(&plan, p.id, importer.Limits{}, tc.keepAccess); err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(plan.Warnings, func(w diff.Problem) bool { return w.Code == "admin-access" }) {
				t.Errorf("the plan does not show the admin grant: %+v", plan.Warnings)
			}
			opts := p.options()
			opts.KeepAccess = tc.keepAccess
			res, err := importer.Apply(ctx, guard{t: e.Client(p.id.ID), tb: t}, plan, opts)
			if err != nil || res.Failed() > 0 {
				t.Fatalf("apply: %v %+v", err, res.Flows)
			}
			if got := perms(e.flow(prod, prodInvoice))[seed.DemoAdmin]; got != tc.want {
				t.Errorf("Dana's role on Prod's flow: %q, want %q", got, tc.want)
			}
			if jsonString(t, e.flow(prod, prodInvoice).Definition, "description") != "approved in Dev" {
				t.Error("the flow was not updated")
			}
			if journalExists(t, p.journal) {
				t.Error("journal left behind")
			}
			if !tc.keepAccess {
				mustConverge(t, p)
			}
		})
	}
}

// TestApplyRestoresDeletedFlow: a restore (the tree of Prod itself against
// Prod) brings a soft-deleted flow back with its id, saves it and turns it
// on as the tree has it.
func TestApplyRestoresDeletedFlow(t *testing.T) {
	e := startEmu(t, "")
	ctx := context.Background()
	order := api.FlowName("4327c805-6d4e-4c5d-bf70-79f649cd3c61")
	tree := e.read(prod, nil, order) // what the backup holds
	if _, err := e.Client(seed.DemoAdmin).DeleteFlow(ctx, prod, order, true); err != nil {
		t.Fatal(err)
	}
	// The admin list with deleted flows shows it with state Deleted.
	deleted := tree[0]
	deleted.Meta.State = api.StateDeleted
	plan := diff.Make(diff.Input{
		Source: diff.Side{Env: prod, Rev: "test"}, Target: diff.Side{Env: prod, Live: true},
		Desired: tree, Actual: []model.Flow{deleted}, SameEnv: true, Keep: seed.DemoAdmin,
	})
	if got := changesBy(plan); got[diff.Restore] != 1 || len(plan.Problems) > 0 {
		t.Fatalf("test setup: want a restore, got %v %+v", got, plan.Problems)
	}
	opts := importer.Options{Identity: importer.Identity{ID: seed.DemoAdmin, Admin: true}}
	res, err := importer.Apply(ctx, guard{t: e.Client(seed.DemoAdmin), tb: t}, plan, opts)
	if err != nil || res.Failed() > 0 {
		t.Fatalf("apply: %v %+v", err, res.Flows)
	}
	f := e.flow(prod, order)
	if f.DeletedTime != nil || f.State != api.StateStarted {
		t.Errorf("flow deleted=%v state=%s, want restored and on", f.DeletedTime != nil, f.State)
	}
	if len(e.flowsNamed(prod, "Order intake webhook")) != 1 {
		t.Error("a second flow was made instead of the restore")
	}
	if !slices.Contains(res.Flows[0].Steps, "restored (Stopped)") {
		t.Errorf("steps %q do not show the restore", res.Flows[0].Steps)
	}
}

func TestCost(t *testing.T) {
	admin := importer.Identity{ID: "a", Admin: true}
	create := func(state string, grants int) diff.Change {
		ch := diff.Change{Action: diff.Create, Parts: diff.Parts{Definition: []string{""}}}
		if state != "" {
			ch.Parts.State = &diff.StateChange{To: state}
		}
		for i := 0; i < grants; i++ {
			ch.Parts.Owners.Add = append(ch.Parts.Owners.Add, model.Permission{Principal: api.PrincipalID(fmt.Sprint("p", i)), Role: api.RoleCanEdit})
		}
		return ch
	}
	owned := &model.Flow{Permissions: []model.Permission{{Principal: "a", Role: api.RoleOwner}}}
	notOwned := &model.Flow{Definition: json.RawMessage(`{}`), Permissions: []model.Permission{{Principal: "b", Role: api.RoleOwner}}}
	secretDef := &model.Flow{Definition: json.RawMessage(`{"p":"<redacted:flowsync:p>"}`)}
	for _, tc := range []struct {
		name          string
		changes       []diff.Change
		reads, writes int
		limits        importer.Limits
		minETA        float64
	}{
		{"create stopped", []diff.Change{create(api.StateStopped, 0)}, 0, 1, importer.Limits{}, 0},
		{"create on with owners", []diff.Change{create(api.StateStarted, 2)}, 0, 3, importer.Limits{}, 0},
		{"update as owner", []diff.Change{{Action: diff.Update, Actual: owned, Parts: diff.Parts{Definition: []string{"a"}}}}, 0, 1, importer.Limits{}, 0},
		{"update as admin, not owner, with secrets", []diff.Change{{Action: diff.Update, Actual: notOwned, Desired: secretDef, Parts: diff.Parts{Definition: []string{"a"}}}}, 1, 3, importer.Limits{}, 0},
		{"permissions only", []diff.Change{{Action: diff.Update, Actual: notOwned, Parts: diff.Parts{RunOnly: diff.PrincipalDelta{Add: []model.Permission{{Principal: "c", Role: api.RoleCanView}}}}}}, 0, 1, importer.Limits{}, 0},
		{"unsettable meta only", []diff.Change{{Action: diff.Update, Actual: notOwned, Parts: diff.Parts{Meta: []string{"flowFailureAlertSubscribed"}}}}, 0, 0, importer.Limits{}, 0},
		{"delete, unchanged, extra", []diff.Change{{Action: diff.Delete}, {Action: diff.Unchanged}, {Action: diff.Extra}}, 0, 1, importer.Limits{}, 0},
		// 301 writes at 300 an hour: the last one waits for the window.
		{"hours at the write limit", slices.Repeat([]diff.Change{create(api.StateStopped, 0)}, 301), 0, 301,
			importer.Limits{Calls: pacer.Limit{N: 1000, Per: time.Second}, Writes: pacer.Limit{N: 300, Per: time.Hour}}, 3600},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := importer.Cost(diff.Plan{Changes: tc.changes}, admin, tc.limits)
			if err != nil {
				t.Fatal(err)
			}
			if c.Reads != tc.reads || c.Writes != tc.writes {
				t.Errorf("reads %d writes %d, want %d and %d", c.Reads, c.Writes, tc.reads, tc.writes)
			}
			if c.ETASeconds < tc.minETA || (tc.minETA == 0 && tc.writes <= 5 && c.ETASeconds != 0) {
				t.Errorf("ETA %.0fs, want at least %.0fs", c.ETASeconds, tc.minETA)
			}
		})
	}
}
