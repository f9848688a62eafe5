package sync_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/flowsync/flowsync/export"
	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/client"
	"github.com/flowsync/flowsync/internal/emulator"
	"github.com/flowsync/flowsync/internal/emulator/seed"
	"github.com/flowsync/flowsync/repo"
	fsync "github.com/flowsync/flowsync/sync"
)

// backupAt exports env with the emulator's clock as the commit time (so
// that restore --at finds it) and returns the commit.
func (e *emu) backupAt(rp *repo.Repo, env api.EnvName) plumbing.Hash {
	e.t.Helper()
	res, _, err := export.Run(context.Background(), export.ClientSource{Client: e.client, Admin: true}, rp, export.Options{
		Envs: []string{string(env)}, Branch: "main", Author: repo.Signature{Name: "Sync Test", Email: "sync-test@example.invalid"}, Now: e.Clock.Now,
	}, nil)
	if err != nil {
		e.t.Fatalf("export %s: %v", env, err)
	}
	h, err := rp.Head(context.Background(), "main")
	if err != nil || !res.Committed {
		e.t.Fatalf("export %s committed nothing (%v)", env, err)
	}
	return h
}

// Flows of the demo Dev environment the disaster scenario damages.
const (
	flowArchive  = seed.DemoFlowStopped        // deleted, then past retention
	flowLaptop   = seed.DemoFlowRequestLaptop  // deleted, still in the recycle bin
	flowOnboard  = seed.DemoFlowAccountOnboard // solution flow: deleted for good
	flowInvoice  = seed.DemoFlowInvoiceApproval
	flowERP      = api.FlowName("39cf3799-baa8-4f14-8e2f-b73c776d372d") // "Sync invoices to ERP"
	flowDigest   = api.FlowName("77335bd4-bf96-4d42-a26e-36e4aa9f537d") // "Support inbox digest"
	dayDuration  = 24 * time.Hour
	pastRetainer = 22 * dayDuration
)

// disaster damages Dev as the issue describes, and makes a flow after the
// backup, whose name it returns.
func (e *emu) disaster() api.FlowName {
	e.t.Helper()
	ctx := context.Background()
	env := seed.DemoEnvDev
	if _, err := e.client.DeleteFlow(ctx, env, flowArchive, true); err != nil {
		e.t.Fatal(err)
	}
	e.Clock.Advance(pastRetainer) // Archive old files leaves the recycle bin
	// Somebody was made co-owner of Request a laptop after the backup, and
	// then it was deleted: restored from the recycle bin it comes back
	// with that co-owner, whom the tree does not have.
	if err := e.client.ModifyPermissions(ctx, env, flowLaptop, true, api.ModifyPermissionsRequest{
		Put: []api.PermissionPut{{Properties: api.PermissionPutProperties{
			Principal: api.Principal{ID: seed.DemoMarcus, Type: api.PrincipalUser}, RoleName: api.RoleCanEdit}}}}); err != nil {
		e.t.Fatal(err)
	}
	for _, f := range []api.FlowName{flowLaptop, flowOnboard} {
		if _, err := e.client.DeleteFlow(ctx, env, f, true); err != nil {
			e.t.Fatal(err)
		}
	}
	// Two definitions broken by their makers.
	for _, b := range []struct {
		flow  api.FlowName
		maker api.PrincipalID
	}{{flowInvoice, seed.DemoPriya}, {flowERP, seed.DemoMarcus}} {
		c := e.Client(b.maker)
		f, err := c.GetFlow(ctx, env, b.flow, client.GetFlowOptions{})
		if err != nil {
			e.t.Fatal(err)
		}
		var def map[string]json.RawMessage
		if err := json.Unmarshal(f.Properties.Definition, &def); err != nil {
			e.t.Fatal(err)
		}
		def["actions"] = json.RawMessage(`{"Broken":{"type":"Compose","inputs":"someone saved the wrong thing","runAfter":{}}}`)
		nd, _ := json.Marshal(def)
		if _, err := c.UpdateFlow(ctx, env, b.flow, api.FlowProperties{Definition: nd, ConnectionReferences: f.Properties.ConnectionReferences}); err != nil {
			e.t.Fatalf("break %s: %v", b.flow, err)
		}
	}
	// An owner removed, a flow turned off.
	if err := e.client.ModifyPermissions(ctx, env, flowInvoice, true, api.ModifyPermissionsRequest{
		Delete: []api.PermissionDelete{{ID: string(seed.DemoMarcus)}}}); err != nil {
		e.t.Fatal(err)
	}
	if err := e.client.StopFlow(ctx, env, flowDigest, true); err != nil {
		e.t.Fatal(err)
	}
	// A flow made after the backup: a restore without --prune leaves it.
	created, err := e.client.CreateFlow(ctx, env, api.FlowProperties{
		DisplayName:          "Made after the backup",
		State:                api.StateStopped,
		Definition:           json.RawMessage(`{"$schema":"https://schema.management.azure.com/providers/Microsoft.Logic/schemas/2016-06-01/workflowdefinition.json#","contentVersion":"1.0.0.0","parameters":{"$connections":{"defaultValue":{},"type":"Object"},"$authentication":{"defaultValue":{},"type":"SecureObject"}},"triggers":{"manual":{"type":"Request","kind":"Button","inputs":{}}},"actions":{}}`),
		ConnectionReferences: map[string]api.ConnectionReference{},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return created.Name
}

func (e *emu) flowByName(env api.EnvName, name api.FlowName) (emulator.Flow, bool) {
	for _, f := range e.flows(env) {
		if f.Name == name {
			return f, true
		}
	}
	return emulator.Flow{}, false
}

func TestRestoreAfterDisaster(t *testing.T) {
	e := startEmu(t, nil)
	rp := openRepo(t, false)
	ctx := context.Background()
	good := e.backupAt(rp, seed.DemoEnvDev)
	goodTime := e.Clock.Now()

	e.Clock.Advance(time.Hour)
	later := e.disaster()
	e.Clock.Advance(time.Hour)
	bad := e.backupAt(rp, seed.DemoEnvDev) // the nightly job records the damage
	if bad == good {
		t.Fatal("the backup after the disaster made no commit")
	}

	restore := func() *fsync.RestoreResult {
		t.Helper()
		res, err := e.engine(rp).Restore(ctx, fsync.RestoreOptions{
			At: goodTime.Add(30 * time.Minute), Env: "Contoso Dev",
			Identity: e.identity(), Author: testAuthor(),
		})
		if err != nil {
			if res != nil && res.PromoteResult != nil {
				for _, p := range res.Plan.Problems {
					t.Logf("problem %s %s: %s", p.Code, p.Where, p.Message)
				}
			}
			t.Fatalf("restore: %v", err)
		}
		return res
	}
	_, writesBefore := e.stats()
	res := restore()
	if res.Commit.Hash != good {
		t.Fatalf("--at chose %s, want the backup before the disaster %s", res.Commit.Hash, good)
	}
	how := map[api.FlowName]fsync.FlowHealth{}
	for _, h := range res.Health {
		if h.How == fsync.HowLeftAlone {
			how[h.Target.Flow] = h
		}
		how[h.Source.Flow] = h
		if !h.OK() {
			t.Errorf("flow %s %q: %s (%s)", h.Source.Flow, h.DisplayName, h.Problem, h.How)
		}
	}
	want := map[api.FlowName]string{
		flowLaptop:         fsync.HowRecycleBin,
		flowArchive:        fsync.HowRecreated,
		flowOnboard:        fsync.HowRecreated,
		flowInvoice:        fsync.HowUpdated,
		flowERP:            fsync.HowUpdated,
		flowDigest:         fsync.HowUpdated,
		seed.DemoFlowChild: fsync.HowUnchanged,
		later:              fsync.HowLeftAlone,
	}
	for f, w := range want {
		if how[f].How != w {
			t.Errorf("flow %s: restored %q, want %q", f, how[f].How, w)
		}
	}
	if !res.Healthy() {
		t.Errorf("restore not healthy")
	}
	// The recycle-bin flow kept its id (and is on, as in the tree); the
	// others came back under new ids.
	if f, ok := e.flowByName(seed.DemoEnvDev, flowLaptop); !ok || f.State != api.StateStarted {
		t.Errorf("Request a laptop after the restore: %+v (found %v), want Started with its id", f.State, ok)
	}
	if _, ok := e.flowByName(seed.DemoEnvDev, later); !ok {
		t.Error("the flow made after the backup is gone; without --prune it must stay")
	}
	if how[flowArchive].Target.Flow == flowArchive || how[flowArchive].Target.Flow == "" {
		t.Errorf("Archive old files came back as %q, want a new id", how[flowArchive].Target.Flow)
	}
	if _, writes := e.stats(); writes == writesBefore {
		t.Fatal("the restore wrote nothing")
	}

	// The environment now equals the tree at the good commit.
	assertClean := func() {
		t.Helper()
		p, err := e.engine(rp).MakePlan(ctx, fsync.PlanOptions{Rev: good.String(), From: string(seed.DemoEnvDev), To: string(seed.DemoEnvDev), IncludeDeleted: true})
		if err != nil {
			t.Fatal(err)
		}
		if fsync.HasWork(p.Plan) {
			for _, c := range p.Plan.Changes {
				if c.Action != "unchanged" && c.Action != "extra" {
					t.Errorf("still to do: %s %q %+v", c.Action, c.DisplayName, c.Parts)
				}
			}
		}
	}
	assertClean()

	// A second restore finds nothing to do and writes nothing.
	_, w1 := e.stats()
	res2 := restore()
	if _, w2 := e.stats(); w2 != w1 {
		t.Errorf("second restore made %d write(s), want 0", w2-w1)
	}
	for _, h := range res2.Health {
		if h.How != fsync.HowUnchanged && h.How != fsync.HowLeftAlone {
			t.Errorf("second restore: %s %q %s", h.Source.Flow, h.DisplayName, h.How)
		}
	}
	assertClean()
}

// TestRestoreReportsFlowsThatCannotBeTurnedOn: when the service refuses
// to turn a flow on, the restore goes on with the others, and the health
// report names the flow with the service's reason; a rerun once the service
// agrees finishes the job.
func TestRestoreReportsFlowsThatCannotBeTurnedOn(t *testing.T) {
	e := startEmu(t, nil)
	rp := openRepo(t, false)
	ctx := context.Background()
	good := e.backupAt(rp, seed.DemoEnvDev)
	for _, f := range []api.FlowName{flowInvoice, flowDigest} {
		if err := e.client.StopFlow(ctx, seed.DemoEnvDev, f, true); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := emulator.ParseFaults("5xx:op=start:count=1000")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Inst.Server.SetFaults(cfg); err != nil {
		t.Fatal(err)
	}
	opts := fsync.RestoreOptions{Rev: good.String(), Env: string(seed.DemoEnvDev), Identity: e.identity(), Author: testAuthor()}
	res, err := e.engine(rp).Restore(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Healthy() {
		t.Fatal("restore reported healthy although no flow could be turned on")
	}
	bad := map[api.FlowName]fsync.FlowHealth{}
	for _, h := range res.Health {
		if !h.OK() {
			bad[h.Source.Flow] = h
		}
	}
	for _, f := range []api.FlowName{flowInvoice, flowDigest} {
		h, ok := bad[f]
		if !ok {
			t.Errorf("flow %s is not reported", f)
			continue
		}
		if h.Want != api.StateStarted || h.State != api.StateStopped || !h.Failed || !strings.Contains(h.Problem, "turn on") || !strings.Contains(h.Problem, "50") {
			t.Errorf("flow %s: %+v; want Started wanted, Stopped found, and the service's 5xx as the reason", f, h)
		}
	}
	if len(bad) != 2 {
		t.Errorf("%d flows reported, want 2: %+v", len(bad), bad)
	}

	if err := e.Inst.Server.SetFaults(emulator.FaultConfig{}); err != nil {
		t.Fatal(err)
	}
	res, err = e.engine(rp).Restore(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Healthy() {
		t.Errorf("rerun not healthy: %+v", res.Health)
	}
	for _, f := range []api.FlowName{flowInvoice, flowDigest} {
		if fl, ok := e.flowByName(seed.DemoEnvDev, f); !ok || fl.State != api.StateStarted {
			t.Errorf("flow %s after the rerun: %q", f, fl.State)
		}
	}
}

// TestRestorePruneDeletesFlowsMadeLater: with Prune, a flow made after the
// backup is deleted (and reported so); the others are left as they were.
func TestRestorePruneDeletesFlowsMadeLater(t *testing.T) {
	e := startEmu(t, nil)
	rp := openRepo(t, false)
	ctx := context.Background()
	good := e.backupAt(rp, seed.DemoEnvDev)
	created, err := e.client.CreateFlow(ctx, seed.DemoEnvDev, api.FlowProperties{
		DisplayName: "Made after the backup", State: api.StateStopped,
		Definition:           json.RawMessage(`{"$schema":"https://schema.management.azure.com/providers/Microsoft.Logic/schemas/2016-06-01/workflowdefinition.json#","contentVersion":"1.0.0.0","parameters":{"$connections":{"defaultValue":{},"type":"Object"},"$authentication":{"defaultValue":{},"type":"SecureObject"}},"triggers":{"manual":{"type":"Request","kind":"Button","inputs":{}}},"actions":{}}`),
		ConnectionReferences: map[string]api.ConnectionReference{},
	})
	if err != nil {
		t.Fatal(err)
	}
	before := len(e.flows(seed.DemoEnvDev))
	res, err := e.engine(rp).Restore(ctx, fsync.RestoreOptions{Rev: good.String(), Env: string(seed.DemoEnvDev), Prune: true, Identity: e.identity(), Author: testAuthor()})
	if err != nil {
		t.Fatal(err)
	}
	var pruned []fsync.FlowHealth
	for _, h := range res.Health {
		if h.How == fsync.HowDeleted {
			pruned = append(pruned, h)
		}
	}
	if len(pruned) != 1 || pruned[0].Target.Flow != created.Name || !pruned[0].OK() {
		t.Fatalf("pruned %+v, want exactly the flow made later (%s)", pruned, created.Name)
	}
	if _, ok := e.flowByName(seed.DemoEnvDev, created.Name); ok {
		t.Error("the flow made after the backup is still there")
	}
	if n := len(e.flows(seed.DemoEnvDev)); n != before-1 {
		t.Errorf("%d flows after the prune, want %d", n, before-1)
	}
}
