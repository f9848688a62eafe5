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
	"github.com/flowsync/flowsync/internal/emulator"
	"github.com/flowsync/flowsync/internal/emulator/seed"
	"github.com/flowsync/flowsync/internal/model"
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
	before := e.nonGet()
	res, err := importer.Apply(ctx, guard{t: e.client(p.id.ID), tb: t}, plan, opts)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	for _, fr := range res.Flows {
		if fr.Err != nil {
			t.Errorf("flow %s (%q): %v", fr.Source, fr.DisplayName, fr.Err)
		}
	}
	if got := e.nonGet() - before; got != res.Writes {
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
	before = e.nonGet()
	res2, err := p.apply(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := e.nonGet() - before; n != 0 || res2.Writes != 0 {
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
	res, err := importer.Apply(context.Background(), e.client(p.id.ID), plan, p.options())
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
	before := e.nonGet()
	_, err := importer.Apply(context.Background(), e.client(seed.DemoBackupSP), p.plan(), p.options())
	if !errors.Is(err, importer.ErrAppIdentity) {
		t.Fatalf("want ErrAppIdentity, got %v", err)
	}
	if !strings.Contains(err.Error(), "sign in as a user") {
		t.Errorf("the error does not say what to use instead: %v", err)
	}
	if n := e.nonGet() - before; n != 0 {
		t.Errorf("%d writes made with an application token", n)
	}
	if journalExists(t, p.journal) {
		t.Error("a refused import wrote a journal")
	}
}

func TestApplyRefusesPlanWithProblems(t *testing.T) {
	e := startEmu(t, "")
	p := newPromotion(t, e, flowArchive)
	plan := p.plan()
	plan.Problems = []diff.Problem{{Code: "unmapped-connection", Message: "x"}}
	before := e.nonGet()
	_, err := importer.Apply(context.Background(), e.client(p.id.ID), plan, p.options())
	if !errors.Is(err, importer.ErrPlanProblems) || !strings.Contains(err.Error(), "unmapped-connection") {
		t.Fatalf("want ErrPlanProblems naming the code, got %v", err)
	}
	if n := e.nonGet() - before; n != 0 {
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
	before := e.nonGet()
	res, calls, err := importer.Preview(context.Background(), e.client(p.id.ID), p.plan(), p.options())
	if err != nil || res.Failed() > 0 {
		t.Fatalf("preview: %v %+v", err, res.Flows)
	}
	if n := e.nonGet() - before; n != 0 {
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
	res, err := importer.Apply(context.Background(), e.client(p.id.ID), plan, p.options())
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
