package importer_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowsync/flowsync/diff"
	"github.com/flowsync/flowsync/importer"
	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/emulator/seed"
	"github.com/flowsync/flowsync/internal/model"
)

// createPath is the path of Create Flow in Prod (and of every call under it:
// the rules below pick the first POST, which is a create in these runs).
var createPath = "/environments/" + string(prod) + "/flows"

func TestApplyAmbiguousCreate(t *testing.T) {
	for _, fault := range []string{"5xx-after-write", "reset-after-write"} {
		t.Run(fault, func(t *testing.T) {
			e := startEmu(t, "")
			p := newPromotion(t, e, flowArchive, flowLaptop)
			plan := p.plan()
			// The first Create Flow is applied, then answered 502 (or cut).
			e.SetFaults(fault + ":method=POST:path=" + createPath + ":count=1")
			res, err := importer.Apply(context.Background(), guard{t: e.Client(p.id.ID), tb: t}, plan, p.options())
			if err != nil || res.Failed() > 0 {
				t.Fatalf("apply: %v %+v", err, res.Flows)
			}
			for _, name := range []string{"Archive old files", "Request a laptop"} {
				if n := len(e.flowsNamed(prod, name)); n != 1 {
					t.Errorf("Prod has %d flows named %q, want 1", n, name)
				}
			}
			first := res.Flows[0]
			if !slices.ContainsFunc(first.Notes, func(n string) bool {
				return strings.Contains(n, "found it by display name as "+string(first.Target.Flow))
			}) {
				t.Errorf("the result does not say how the ambiguous create was resolved: %+v", first)
			}
			if got := p.links.get()[first.Source.Flow]; got != first.Target.Flow {
				t.Errorf("link %s, want the flow found (%s)", got, first.Target.Flow)
			}
			if journalExists(t, p.journal) {
				t.Error("journal left behind")
			}
			mustConverge(t, p)
		})
	}
}

// TestApplyAmbiguousCreateNotApplied: the create is refused before it runs
// (reset with no write): the lookup finds nothing and the flow is created
// once.
func TestApplyAmbiguousCreateNotApplied(t *testing.T) {
	e := startEmu(t, "")
	p := newPromotion(t, e, flowArchive)
	plan := p.plan()
	e.SetFaults("reset:method=POST:path=" + createPath + ":count=1")
	res, err := importer.Apply(context.Background(), e.Client(p.id.ID), plan, p.options())
	if err != nil || res.Failed() > 0 {
		t.Fatalf("apply: %v %+v", err, res.Flows)
	}
	if n := len(e.flowsNamed(prod, "Archive old files")); n != 1 {
		t.Errorf("Prod has %d flows named %q, want 1", n, "Archive old files")
	}
	if !slices.ContainsFunc(res.Flows[0].Notes, func(n string) bool { return strings.Contains(n, "was not created") }) {
		t.Errorf("notes do not say the lookup found nothing: %+v", res.Flows[0].Notes)
	}
}

// TestApplyAmbiguousCreateKeepsOtherFlowsWithTheName: a same-named flow
// that existed before is never taken for the one being created.
func TestApplyAmbiguousCreateKeepsOtherFlowsWithTheName(t *testing.T) {
	e := startEmu(t, "")
	ctx := context.Background()
	// Dana already has a flow called "Archive old files" in Prod.
	c := e.Client(seed.DemoAdmin)
	old, err := c.CreateFlow(ctx, prod, api.FlowProperties{DisplayName: "Archive old files", State: api.StateStopped,
		Definition: e.flow(dev, flowOrder).Definition, ConnectionReferences: map[string]api.ConnectionReference{}})
	if err != nil {
		t.Fatal(err)
	}
	p := newPromotion(t, e, flowArchive)
	plan := unpair(p.plan(), flowArchive)
	e.SetFaults("5xx-after-write:method=POST:path=" + createPath + ":count=1")
	res, err := importer.Apply(ctx, e.Client(p.id.ID), plan, p.options())
	if err != nil || res.Failed() > 0 {
		t.Fatalf("apply: %v %+v", err, res.Flows)
	}
	if n := len(e.flowsNamed(prod, "Archive old files")); n != 2 {
		t.Fatalf("Prod has %d flows named %q, want 2 (the old one and the import)", n, "Archive old files")
	}
	if got := p.links.get()[flowArchive]; got == "" || strings.EqualFold(string(got), string(old.Name)) {
		t.Errorf("linked to %q: the pre-existing flow was adopted", got)
	}
}

// killer is a Target that stops the run at its nth write: before sending it
// (the process died first) or after the service applied it (the process
// died before reading the answer). Either way ctx is cancelled, as a kill
// ends everything.
type killer struct {
	importer.Target
	n      int
	after  bool
	cancel context.CancelFunc

	mu     sync.Mutex
	writes int
	// late counts writes asked for after the kill: a dead process makes none.
	late int
}

func (k *killer) hit(ctx context.Context, do func() error) error {
	k.mu.Lock()
	k.writes++
	now := k.writes == k.n
	late := k.writes > k.n
	if late {
		k.late++
	}
	k.mu.Unlock()
	if late {
		return fmt.Errorf("write after the kill: %w", context.Canceled)
	}
	if !now {
		return do()
	}
	if k.after {
		_ = do()
	}
	k.cancel()
	return fmt.Errorf("killed at write %d: %w", k.n, ctx.Err())
}

func (k *killer) CreateFlow(ctx context.Context, env api.EnvName, p api.FlowProperties) (f api.Flow, err error) {
	err = k.hit(ctx, func() error { f, err = k.Target.CreateFlow(context.WithoutCancel(ctx), env, p); return err })
	return f, err
}
func (k *killer) UpdateFlow(ctx context.Context, env api.EnvName, fl api.FlowName, p api.FlowProperties) (f api.Flow, err error) {
	err = k.hit(ctx, func() error { f, err = k.Target.UpdateFlow(context.WithoutCancel(ctx), env, fl, p); return err })
	return f, err
}
func (k *killer) DeleteFlow(ctx context.Context, env api.EnvName, fl api.FlowName, admin bool) (d bool, err error) {
	err = k.hit(ctx, func() error { d, err = k.Target.DeleteFlow(context.WithoutCancel(ctx), env, fl, admin); return err })
	return d, err
}
func (k *killer) StartFlow(ctx context.Context, env api.EnvName, fl api.FlowName, admin bool) error {
	return k.hit(ctx, func() error { return k.Target.StartFlow(context.WithoutCancel(ctx), env, fl, admin) })
}
func (k *killer) StopFlow(ctx context.Context, env api.EnvName, fl api.FlowName, admin bool) error {
	return k.hit(ctx, func() error { return k.Target.StopFlow(context.WithoutCancel(ctx), env, fl, admin) })
}
func (k *killer) RestoreFlow(ctx context.Context, env api.EnvName, fl api.FlowName) error {
	return k.hit(ctx, func() error { return k.Target.RestoreFlow(context.WithoutCancel(ctx), env, fl) })
}
func (k *killer) ModifyPermissions(ctx context.Context, env api.EnvName, fl api.FlowName, admin bool, r api.ModifyPermissionsRequest) error {
	return k.hit(ctx, func() error { return k.Target.ModifyPermissions(context.WithoutCancel(ctx), env, fl, admin, r) })
}

// TestApplyResumesAfterKill interrupts a promotion at every one of its
// writes, before and after the write reached the service, then runs it
// again with the journal and the links recorded so far (what a new process
// would have): the target converges, with no duplicate flow, no lost
// owner, the admin's temporary access removed, and no journal left.
func TestApplyResumesAfterKill(t *testing.T) {
	flows := []api.FlowName{flowInvoice, flowChild, flowParent, flowLaptop, flowArchive}
	// Count the writes of an uninterrupted run.
	total := func() int {
		e := startEmu(t, "")
		e.edit(dev, flowInvoice, "approved in Dev")
		res, err := newPromotion(t, e, flows...).apply(context.Background(), nil)
		if err != nil || res.Failed() > 0 {
			t.Fatalf("uninterrupted run: %v %+v", err, res.Flows)
		}
		return res.Writes
	}()
	if total < 10 {
		t.Fatalf("test setup: only %d writes", total)
	}
	for n := 1; n <= total; n++ {
		for _, after := range []bool{false, true} {
			t.Run(fmt.Sprintf("write%d/applied=%v", n, after), func(t *testing.T) {
				e := startEmu(t, "")
				e.edit(dev, flowInvoice, "approved in Dev")
				p := newPromotion(t, e, flows...)
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				k := &killer{Target: guard{t: e.Client(p.id.ID), tb: t}, n: n, after: after, cancel: cancel}
				_, err := importer.Apply(ctx, k, p.plan(), p.options())
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("the interrupted run returned %v, want context.Canceled", err)
				}
				if k.late > 0 {
					t.Errorf("%d writes were attempted after the context ended", k.late)
				}
				// A new process: settles the journal, plans again, applies.
				_, res, err := p.resume(context.Background())
				if err != nil || res.Failed() > 0 {
					t.Fatalf("rerun: %v %+v", err, res.Flows)
				}
				checkConverged(t, e, p)
				before := e.Total().NonGet
				res, err = p.apply(context.Background(), nil)
				if err != nil || res.Writes != 0 || e.Total().NonGet != before {
					t.Errorf("third run: %v, %d writes (emulator %d), want none", err, res.Writes, e.Total().NonGet-before)
				}
			})
		}
	}
}

// TestApplyResumesCreateFromJournal: a run killed right after Create Flow
// was applied, in a target where the display name is not unique (so no plan
// pairs the new flow by name): the rerun finds the flow through the
// journal's intent, never the flow that was there before, and creates
// nothing.
func TestApplyResumesCreateFromJournal(t *testing.T) {
	e := startEmu(t, "")
	ctx := context.Background()
	old, err := e.Client(seed.DemoAdmin).CreateFlow(ctx, prod, api.FlowProperties{DisplayName: "Archive old files", State: api.StateStopped,
		Definition: e.flow(dev, flowOrder).Definition, ConnectionReferences: map[string]api.ConnectionReference{}})
	if err != nil {
		t.Fatal(err)
	}
	p := newPromotion(t, e, flowArchive)
	// The old flow is someone else's concern: the first plan creates anew
	// (as with --link to nothing); after the kill the name is not unique.
	first := unpair(p.plan(), flowArchive)
	kctx, cancel := context.WithCancel(ctx)
	defer cancel()
	k := &killer{Target: e.Client(p.id.ID), n: 1, after: true, cancel: cancel}
	if _, err := importer.Apply(kctx, k, first, p.options()); !errors.Is(err, context.Canceled) {
		t.Fatalf("the interrupted run returned %v", err)
	}
	if n := len(e.flowsNamed(prod, "Archive old files")); n != 2 || !journalExists(t, p.journal) {
		t.Fatalf("test setup: %d flows, journal %v; want 2 and a journal", n, journalExists(t, p.journal))
	}
	// Planning at once finds the name twice and refuses.
	if plan := p.plan(); !slices.ContainsFunc(plan.Problems, func(pr diff.Problem) bool { return pr.Code == diff.CodeAmbiguousName }) {
		t.Fatalf("test setup: want an ambiguous-name plan without Recover, got %+v", plan.Problems)
	}
	notes, res, err := p.resume(ctx)
	if err != nil || res.Failed() > 0 {
		t.Fatalf("resume: %v %+v", err, res.Flows)
	}
	if n := len(e.flowsNamed(prod, "Archive old files")); n != 2 {
		t.Errorf("Prod has %d flows named %q, want 2", n, "Archive old files")
	}
	got := p.links.get()[flowArchive]
	if got == "" || strings.EqualFold(string(got), string(old.Name)) {
		t.Errorf("linked to %q (the flow that was there before is %s)", got, old.Name)
	}
	if !slices.ContainsFunc(notes, func(n string) bool {
		return strings.Contains(n, "an interrupted create: found it by display name as "+string(got))
	}) {
		t.Errorf("Recover does not say the flow was found from the journal: %q", notes)
	}
	if res.Writes == 0 {
		t.Error("the resumed import wrote nothing: the interrupted one had not granted the owners yet")
	}
	if journalExists(t, p.journal) {
		t.Error("journal left behind")
	}
}

func checkConverged(t *testing.T, e *emu, p *promotion) {
	t.Helper()
	mustConverge(t, p)
	for _, f := range p.flows {
		name := e.flow(dev, f).DisplayName
		if n := len(e.flowsNamed(prod, name)); n != 1 {
			t.Errorf("Prod has %d flows named %q, want 1", n, name)
		}
	}
	inv := perms(e.flow(prod, prodInvoice))
	if inv[seed.DemoAdmin] != api.RoleCanViewWithShare || inv[seed.DemoMarcus] != api.RoleCanEdit {
		t.Errorf("Prod invoice approval permissions %v: the admin's grant or an owner is wrong", inv)
	}
	for src, dst := range p.links.get() {
		f := e.flow(prod, dst)
		if f.State == api.StateStarted {
			for _, c := range diff.ChildRefs(f.Definition) {
				if c == flowChild {
					t.Errorf("flow %s (from %s) still calls Dev's child", dst, src)
				}
			}
		}
	}
	if journalExists(t, p.journal) {
		data, _ := os.ReadFile(p.journal)
		t.Errorf("the journal is still there:\n%s", data)
	}
}

func TestJournalFromAnotherImportIsRefused(t *testing.T) {
	e := startEmu(t, "")
	p := newPromotion(t, e, flowArchive)
	j := map[string]any{"version": 1, "source": map[string]any{"env": string(seed.DemoEnvTest)}, "target": map[string]any{"env": string(prod), "live": true},
		"creates": []any{map[string]any{"source": map[string]any{"Env": string(seed.DemoEnvTest), "Flow": "81c68f43-04c4-4a6f-8660-608dd846fd3a"}, "displayName": "Invoice approval"}}}
	data, _ := json.Marshal(j)
	if err := os.WriteFile(p.journal, data, 0o600); err != nil {
		t.Fatal(err)
	}
	before := e.Total().NonGet
	_, err := importer.Apply(context.Background(), e.Client(p.id.ID), p.plan(), p.options())
	if !errors.Is(err, importer.ErrJournalMismatch) {
		t.Fatalf("want ErrJournalMismatch, got %v", err)
	}
	for _, want := range []string{p.journal, string(seed.DemoEnvTest), string(dev)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not name %s: %v", want, err)
		}
	}
	if e.Total().NonGet != before {
		t.Error("writes made despite a foreign journal")
	}
	if got, _ := os.ReadFile(p.journal); string(got) != string(data) {
		t.Error("the foreign journal was changed")
	}
}

func TestJournalUnreadable(t *testing.T) {
	e := startEmu(t, "")
	p := newPromotion(t, e, flowArchive)
	if err := os.WriteFile(p.journal, []byte(`{"version":1,`), 0o600); err != nil {
		t.Fatal(err)
	}
	// What a kill during a save leaves beside it is ignored.
	if err := os.WriteFile(p.journal+".tmp", []byte(`{"vers`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := importer.Apply(context.Background(), e.Client(p.id.ID), p.plan(), p.options())
	if err == nil || !strings.Contains(err.Error(), "unreadable") || !strings.Contains(err.Error(), "move it aside") {
		t.Fatalf("want a clear unreadable-journal error, got %v", err)
	}
}

func TestApplyLinkFailureKeepsJournal(t *testing.T) {
	e := startEmu(t, "")
	p := newPromotion(t, e, flowArchive)
	p.links.fail = errors.New("disk full")
	res, err := p.apply(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed() != 1 || !strings.Contains(res.Flows[0].Err.Error(), "run the import again") {
		t.Fatalf("want the flow failed with advice, got %+v", res.Flows)
	}
	if !journalExists(t, p.journal) {
		t.Fatal("the journal was removed although a link is not recorded")
	}
	p.links.fail = nil
	// What a kill during a journal save leaves beside it is ignored.
	if err := os.WriteFile(p.journal+".tmp", []byte(`{"vers`), 0o600); err != nil {
		t.Fatal(err)
	}
	res, err = p.apply(context.Background(), nil)
	if err != nil || res.Failed() > 0 {
		t.Fatalf("rerun: %v %+v", err, res.Flows)
	}
	if n := len(e.flowsNamed(prod, "Archive old files")); n != 1 {
		t.Errorf("Prod has %d flows named %q, want 1", n, "Archive old files")
	}
	if p.links.get()[flowArchive] == "" || journalExists(t, p.journal) || journalExists(t, p.journal+".tmp") {
		t.Error("the rerun did not record the link and finish")
	}
}

// unpair turns the change of src into a create beside its target flow,
// which becomes extra: a plan that does not pair the two.
func unpair(p diff.Plan, src api.FlowName) diff.Plan {
	for i, ch := range p.Changes {
		if ch.Source.Flow != src || ch.Action == diff.Create {
			continue
		}
		p.Changes = append(p.Changes, diff.Change{Action: diff.Extra, Target: ch.Target, DisplayName: ch.Actual.Meta.DisplayName, Actual: ch.Actual})
		ch.Action, ch.Target, ch.Actual = diff.Create, model.Key{}, nil
		ch.Parts.State = &diff.StateChange{To: ch.Desired.Meta.State}
		ch.Parts.Owners.Add = append(ch.Parts.Owners.Add, ch.Desired.Owners()...)
		p.Changes[i] = ch
	}
	return p
}

// TestApplyUnderThrottlingAndFaults: 429 storms and 5xx answers (retried by
// the client), and creates answered 502 after they were applied, all over
// one promotion: it converges with no duplicate.
func TestApplyUnderThrottlingAndFaults(t *testing.T) {
	for _, seed := range []int{1, 2, 3} {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			e := startEmu(t, "")
			e.edit(dev, flowInvoice, "approved in Dev")
			p := newPromotion(t, e, flowInvoice, flowChild, flowParent, flowLaptop, flowArchive)
			plan := p.plan()
			e.SetFaults(fmt.Sprintf("seed=%d,429:p=0.3:retry-after=1,5xx:p=0.1,5xx-after-write:method=POST:path=%s:p=0.3", seed, createPath))
			res, err := importer.Apply(context.Background(), guard{t: e.Client(p.id.ID), tb: t}, plan, p.options())
			if err != nil {
				t.Fatal(err)
			}
			var st struct {
				Rules []struct {
					Kind  string `json:"kind"`
					Fired int    `json:"fired"`
				} `json:"rules"`
			}
			e.Control("GET", "/_emulator/faults", &st)
			for _, r := range st.Rules {
				if r.Fired == 0 {
					t.Errorf("fault %s never fired: the test proves nothing about it", r.Kind)
				}
			}
			e.SetFaults("")
			if res.Failed() > 0 {
				// A 502 after an applied write that is not a create (a
				// start, a grant) is not retried by the client: a rerun
				// finishes the work.
				if _, res, err = p.resume(context.Background()); err != nil || res.Failed() > 0 {
					t.Fatalf("rerun: %v %+v", err, res.Flows)
				}
			}
			checkConverged(t, e, p)
		})
	}
}

// TestApplyAdoptsFlowFromJournal: a plan that still says create for a flow
// the journal records as made (its link never reached the store) saves
// over that flow instead of making another, and records the link.
func TestApplyAdoptsFlowFromJournal(t *testing.T) {
	e := startEmu(t, "")
	ctx := context.Background()
	p := newPromotion(t, e, flowArchive)
	p.state = "on"
	plan := p.plan()
	p.links.fail = errors.New("store unavailable")
	if res, err := importer.Apply(ctx, e.Client(p.id.ID), plan, p.options()); err != nil || res.Failed() != 1 {
		t.Fatalf("first run: %v %+v", err, res.Flows)
	}
	p.links.fail = nil
	res, err := importer.Apply(ctx, guard{t: e.Client(p.id.ID), tb: t}, plan, p.options())
	if err != nil || res.Failed() > 0 {
		t.Fatalf("second run with the same plan: %v %+v", err, res.Flows)
	}
	flows := e.flowsNamed(prod, "Archive old files")
	if len(flows) != 1 {
		t.Fatalf("Prod has %d flows named %q, want 1", len(flows), "Archive old files")
	}
	if got := p.links.get()[flowArchive]; !strings.EqualFold(string(got), string(flows[0].Name)) {
		t.Errorf("link %q, want %s", got, flows[0].Name)
	}
	if flows[0].State != api.StateStarted || perms(flows[0])[seed.DemoPriya] != api.RoleCanEdit {
		t.Errorf("the adopted flow was not finished: state %s, permissions %v", flows[0].State, perms(flows[0]))
	}
	if !slices.ContainsFunc(res.Flows[0].Notes, func(n string) bool { return strings.Contains(n, "an earlier run created this flow") }) {
		t.Errorf("notes %q do not say the flow was adopted", res.Flows[0].Notes)
	}
	if journalExists(t, p.journal) {
		t.Error("journal left behind")
	}
}

// TestApplyAmbiguousCreatePicksNewest: when the lookup after a lost create
// answer finds several unlinked flows with the name (one made meanwhile by
// someone else), the newest is taken and the result names the others.
func TestApplyAmbiguousCreatePicksNewest(t *testing.T) {
	e := startEmu(t, "")
	ctx := context.Background()
	p := newPromotion(t, e, flowArchive)
	plan := p.plan()
	// After the plan was made, a same-named flow appears.
	other, err := e.Client(seed.DemoAdmin).CreateFlow(ctx, prod, api.FlowProperties{DisplayName: "Archive old files", State: api.StateStopped,
		Definition: e.flow(dev, flowOrder).Definition, ConnectionReferences: map[string]api.ConnectionReference{}})
	if err != nil {
		t.Fatal(err)
	}
	e.Inst.Server.Advance(time.Minute)
	e.SetFaults("5xx-after-write:method=POST:path=" + createPath + ":count=1")
	res, err := importer.Apply(ctx, e.Client(p.id.ID), plan, p.options())
	if err != nil || res.Failed() > 0 {
		t.Fatalf("apply: %v %+v", err, res.Flows)
	}
	got := p.links.get()[flowArchive]
	if got == "" || strings.EqualFold(string(got), string(other.Name)) {
		t.Fatalf("linked to %q, want the newer flow, not %s", got, other.Name)
	}
	if n := len(e.flowsNamed(prod, "Archive old files")); n != 2 {
		t.Errorf("Prod has %d flows named %q, want 2", n, "Archive old files")
	}
	if !e.flow(prod, got).CreatedTime.After(e.flow(prod, other.Name).CreatedTime) {
		t.Error("test setup: the imported flow is not the newer one")
	}
	if !slices.ContainsFunc(res.Flows[0].Notes, func(n string) bool {
		return strings.Contains(n, "the newest of 2 unlinked flows") && strings.Contains(n, string(other.Name))
	}) {
		t.Errorf("notes %q do not name the other candidate", res.Flows[0].Notes)
	}
}
