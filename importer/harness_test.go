package importer_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/flowsync/flowsync/diff"
	"github.com/flowsync/flowsync/importer"
	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/client"
	"github.com/flowsync/flowsync/internal/emulator"
	"github.com/flowsync/flowsync/internal/emulator/seed"
	"github.com/flowsync/flowsync/internal/model"
	"github.com/flowsync/flowsync/internal/secrets"
	"github.com/flowsync/flowsync/internal/testemu"
)

// The tests run the importer against the emulator over loopback with the
// real client: the demo tenant, promoting flows from Dev to Prod.

const (
	dev  = seed.DemoEnvDev
	prod = seed.DemoEnvProd
)

// Demo flows in Dev the tests promote.
const (
	flowInvoice = seed.DemoFlowInvoiceApproval // paired with Prod's "Invoice approval" (Priya's; Dana only CanViewWithShare)
	flowOrder   = seed.DemoFlowOrderWebhook    // paired with Prod's "Order intake webhook"
	flowChild   = seed.DemoFlowChild
	flowParent  = seed.DemoFlowParent
	flowLaptop  = seed.DemoFlowRequestLaptop // run-only users
	flowArchive = seed.DemoFlowStopped       // Stopped
	flowSecrets = seed.DemoFlowSecrets       // redacted secrets
)

// prodInvoice is Prod's "Invoice approval".
const prodInvoice api.FlowName = "94487233-1c15-44a9-ac8e-08b0eee84489"

// emu is the demo tenant in a running emulator.
type emu struct {
	*testemu.Emu
	t *testing.T
}

// startEmu starts the demo tenant with the fault rules of spec ("" for none).
func startEmu(t *testing.T, faults string) *emu {
	t.Helper()
	var cfg emulator.FaultConfig
	if faults != "" {
		var err error
		if cfg, err = emulator.ParseFaults(faults); err != nil {
			t.Fatal(err)
		}
	}
	return &emu{Emu: testemu.Start(t, testemu.Options{Emulator: emulator.Options{Faults: cfg}}), t: t}
}

// state is the emulator's state.
func (e *emu) state() *emulator.Snapshot {
	e.t.Helper()
	return e.Inst.Server.Dump()
}

// flowsNamed lists the live (not deleted) flows of env with a display name.
func (e *emu) flowsNamed(env api.EnvName, name string) []emulator.Flow {
	var out []emulator.Flow
	for _, f := range e.state().Flows {
		if f.Environment == env && f.DisplayName == name && f.DeletedTime == nil {
			out = append(out, f)
		}
	}
	return out
}

func (e *emu) flow(env api.EnvName, name api.FlowName) emulator.Flow {
	e.t.Helper()
	for _, f := range e.state().Flows {
		if f.Environment == env && strings.EqualFold(string(f.Name), string(name)) {
			return f
		}
	}
	e.t.Fatalf("flow %s/%s not in the emulator", env, name)
	return emulator.Flow{}
}

// read normalizes flows of env as the engine does: admin reads, redacted.
// names limits the flows (none: every live flow). values collects the
// redacted values per flow when not nil.
func (e *emu) read(env api.EnvName, values importer.SecretValues, names ...api.FlowName) []model.Flow {
	e.t.Helper()
	ctx := context.Background()
	c := e.Client(seed.DemoAdmin)
	if len(names) == 0 {
		list, err := c.AdminListFlows(ctx, env, client.AdminListFlowsOptions{})
		if err != nil {
			e.t.Fatal(err)
		}
		for _, f := range list {
			names = append(names, f.Name)
		}
	}
	var out []model.Flow
	for _, n := range names {
		f, err := c.AdminGetFlow(ctx, env, n, true)
		if err != nil {
			e.t.Fatalf("read flow %s: %v", n, err)
		}
		perms, err := c.ListPermissions(ctx, env, n, true)
		if err != nil {
			e.t.Fatal(err)
		}
		mf, rep, err := model.Normalize(env, f, perms, model.NormalizeOptions{KeepSecretValues: values != nil})
		if err != nil {
			e.t.Fatal(err)
		}
		if values != nil && len(rep.Values) > 0 {
			values[mf.Key.Flow] = rep.Values
		}
		out = append(out, mf)
	}
	return out
}

// prodConnections maps each connector to Prod's one connection of it.
func prodConnections() map[api.APIName]api.ConnectionName {
	out := map[api.APIName]api.ConnectionName{}
	for _, c := range seed.Demo().Connections {
		if c.Environment == prod {
			out[c.API] = c.Name
		}
	}
	return out
}

// mapToProd binds each reference to Prod's connection of its connector, as
// mapping.Resolution.Apply does (principals are the same tenant's).
func mapToProd(t *testing.T, flows []model.Flow) []model.Flow {
	t.Helper()
	conns := prodConnections()
	out := make([]model.Flow, 0, len(flows))
	for _, f := range flows {
		f.Connections = slices.Clone(f.Connections)
		for i := range f.Connections {
			to, ok := conns[f.Connections[i].API]
			if !ok {
				t.Fatalf("flow %s: Prod has no connection of %s", f.Key, f.Connections[i].API)
			}
			f.Connections[i].Connection = to
		}
		out = append(out, f)
	}
	return out
}

// links records pairings in memory, as the engine records them in Git.
type links struct {
	mu sync.Mutex
	m  map[api.FlowName]api.FlowName
	// fail, when set, makes Record fail.
	fail error
}

func newLinks() *links { return &links{m: map[api.FlowName]api.FlowName{}} }

func (l *links) Record(_ context.Context, src, dst model.Key) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fail != nil {
		return l.fail
	}
	if src.Env != dev || dst.Env != prod {
		return errors.New("link between unexpected environments " + src.String() + " -> " + dst.String())
	}
	l.m[src.Flow] = dst.Flow
	return nil
}

func (l *links) get() map[api.FlowName]api.FlowName {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[api.FlowName]api.FlowName, len(l.m))
	for k, v := range l.m {
		out[k] = v
	}
	return out
}

// promotion is one dev -> prod promotion setup.
type promotion struct {
	e       *emu
	flows   []api.FlowName
	links   *links
	secrets importer.SecretValues
	journal string
	id      importer.Identity
	prune   bool
	state   string
	// noSecrets plans without supplied values (no --identity, no --secrets).
	noSecrets bool
}

func newPromotion(t *testing.T, e *emu, flows ...api.FlowName) *promotion {
	return &promotion{
		e: e, flows: flows, links: newLinks(), secrets: importer.SecretValues{},
		journal: filepath.Join(t.TempDir(), "import-journal.json"),
		id:      importer.Identity{ID: seed.DemoAdmin, Admin: true},
	}
}

// plan reads Dev and Prod now and plans with the links recorded so far,
// with the real planner (diff.Make). Dev's redacted values are supplied
// (as --identity would) unless noSecrets.
func (p *promotion) plan() diff.Plan {
	p.e.t.Helper()
	var values importer.SecretValues
	if !p.noSecrets {
		values = importer.SecretValues{}
	}
	desired := mapToProd(p.e.t, p.e.read(dev, values, p.flows...))
	p.secrets = values
	actual := p.e.read(prod, nil)
	return diff.Make(diff.Input{
		Source: diff.Side{Env: dev, Rev: "test"}, Target: diff.Side{Env: prod, Live: true},
		Desired: desired, Actual: actual, Links: p.links.get(), Prune: p.prune,
		State: diff.StateMode(p.state), Keep: p.id.ID, Secrets: p.secrets,
	})
}

func (p *promotion) options() importer.Options {
	return importer.Options{Identity: p.id, Links: p.links, Journal: p.journal, Secrets: p.secrets}
}

// apply plans and applies through t (the identity's client when nil).
func (p *promotion) apply(ctx context.Context, t importer.Target) (importer.Result, error) {
	p.e.t.Helper()
	if t == nil {
		t = p.e.Client(p.id.ID)
	}
	return importer.Apply(ctx, guard{t: t, tb: p.e.t}, p.plan(), p.options())
}

// resume is what a new process does after a killed import: settle the
// journal (Recover), plan again, apply.
func (p *promotion) resume(ctx context.Context) ([]string, importer.Result, error) {
	p.e.t.Helper()
	notes, err := importer.Recover(ctx, p.e.Client(p.id.ID), importer.RecoverOptions{
		Journal: p.journal, Source: diff.Side{Env: dev, Rev: "test"}, Target: diff.Side{Env: prod, Live: true},
		Links: p.links, Stored: p.links.get(),
	})
	if err != nil {
		return notes, importer.Result{}, err
	}
	res, err := p.apply(ctx, nil)
	return notes, res, err
}

// guard is a Target that fails the test when a Create or Update body
// carries a redaction placeholder: whatever the importer's own checks do,
// none may reach the service.
type guard struct {
	t  importer.Target
	tb testing.TB
}

func (g guard) check(op string, props api.FlowProperties) {
	raw, err := json.Marshal(props)
	if err != nil {
		g.tb.Errorf("%s: %v", op, err)
		return
	}
	// json.Marshal escapes < as \u003c; the definition is raw and is not.
	if strings.Contains(string(raw), secrets.PlaceholderPrefix) || strings.Contains(string(raw), `\u003credacted:flowsync:`) {
		g.tb.Errorf("%s sent a redaction placeholder to the service", op)
	}
}

func (g guard) ListFlows(ctx context.Context, env api.EnvName, o client.ListFlowsOptions) ([]api.Flow, error) {
	return g.t.ListFlows(ctx, env, o)
}
func (g guard) GetFlow(ctx context.Context, env api.EnvName, f api.FlowName, o client.GetFlowOptions) (api.Flow, error) {
	return g.t.GetFlow(ctx, env, f, o)
}
func (g guard) AdminGetFlow(ctx context.Context, env api.EnvName, f api.FlowName, def bool) (api.Flow, error) {
	return g.t.AdminGetFlow(ctx, env, f, def)
}
func (g guard) CreateFlow(ctx context.Context, env api.EnvName, p api.FlowProperties) (api.Flow, error) {
	g.check("create", p)
	return g.t.CreateFlow(ctx, env, p)
}
func (g guard) UpdateFlow(ctx context.Context, env api.EnvName, f api.FlowName, p api.FlowProperties) (api.Flow, error) {
	g.check("update "+string(f), p)
	return g.t.UpdateFlow(ctx, env, f, p)
}
func (g guard) DeleteFlow(ctx context.Context, env api.EnvName, f api.FlowName, admin bool) (bool, error) {
	return g.t.DeleteFlow(ctx, env, f, admin)
}
func (g guard) StartFlow(ctx context.Context, env api.EnvName, f api.FlowName, admin bool) error {
	return g.t.StartFlow(ctx, env, f, admin)
}
func (g guard) StopFlow(ctx context.Context, env api.EnvName, f api.FlowName, admin bool) error {
	return g.t.StopFlow(ctx, env, f, admin)
}
func (g guard) RestoreFlow(ctx context.Context, env api.EnvName, f api.FlowName) error {
	return g.t.RestoreFlow(ctx, env, f)
}
func (g guard) ModifyPermissions(ctx context.Context, env api.EnvName, f api.FlowName, admin bool, r api.ModifyPermissionsRequest) error {
	return g.t.ModifyPermissions(ctx, env, f, admin, r)
}

// journalExists reports whether the journal file is there.
func journalExists(t *testing.T, path string) bool {
	t.Helper()
	_, err := os.Stat(path)
	if err == nil {
		return true
	}
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return false
}

// changesBy counts a plan's changes by action.
func changesBy(p diff.Plan) map[diff.Action]int {
	out := map[diff.Action]int{}
	for _, ch := range p.Changes {
		out[ch.Action]++
	}
	return out
}

// mustConverge insists a new plan has nothing left to do for the promoted flows.
func mustConverge(t *testing.T, p *promotion) {
	t.Helper()
	plan := p.plan()
	for _, ch := range plan.Changes {
		if ch.Action == diff.Update && onlyUnsettable(ch.Parts) {
			// Fields Update Flow cannot set (flowFailureAlertSubscribed in
			// the demo's Dev copy); the importer notes them and writes nothing.
			continue
		}
		if ch.Action != diff.Unchanged && ch.Action != diff.Extra {
			t.Errorf("after the import, flow %s (%q) still plans %s: %+v", ch.Source, ch.DisplayName, ch.Action, ch.Parts)
		}
	}
}

// edit changes a flow's definition description through the API as its
// creator, as a maker would in Dev.
func (e *emu) edit(env api.EnvName, flow api.FlowName, description string) {
	e.t.Helper()
	ctx := context.Background()
	f := e.flow(env, flow)
	c := e.Client(f.Creator)
	live, err := c.GetFlow(ctx, env, flow, client.GetFlowOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	var def map[string]json.RawMessage
	if err := json.Unmarshal(live.Properties.Definition, &def); err != nil {
		e.t.Fatal(err)
	}
	def["description"], _ = json.Marshal(description)
	raw, _ := json.Marshal(def)
	if _, err := c.UpdateFlow(ctx, env, flow, api.FlowProperties{Definition: raw, ConnectionReferences: live.Properties.ConnectionReferences}); err != nil {
		e.t.Fatalf("edit %s: %v", flow, err)
	}
}

// onlyUnsettable reports whether the only differences are flow.json fields
// other than displayName.
func onlyUnsettable(p diff.Parts) bool {
	rest := p
	rest.Meta = nil
	return rest.Empty() && len(p.Meta) > 0 && !slices.Contains(p.Meta, "displayName")
}
