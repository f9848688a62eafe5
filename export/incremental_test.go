package export_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flowsync/flowsync/export"
	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/emulator/seed"
	"github.com/flowsync/flowsync/internal/testrepo"
)

// TestIncremental: flows changed through the API (a rename, a definition
// edit) are read again, every other flow reuses its stored definition, and
// the tree equals that of a full export of the same state into a fresh
// repository. Unchanged, an incremental export commits nothing.
func TestIncremental(t *testing.T) {
	t.Parallel()
	snap := seed.Demo()
	e := startEmu(t, snap, emuOptions{})
	rp := newRepo(t, false)
	o := exportOpts(seed.DemoEnvDev, seed.DemoEnvTest)
	mustExport(t, e.src, rp, o)

	inc := o
	inc.Incremental = true
	res := mustExport(t, e.src, rp, inc)
	if res.Committed {
		t.Errorf("unchanged incremental export committed %s", res.Commit)
	}
	for _, er := range res.Environments {
		if er.Reused != er.Flows || er.Read != 0 {
			t.Errorf("unchanged %s: %+v, want every flow reused", er.Name, er)
		}
	}

	e.rename(snap, seed.DemoEnvDev, seed.DemoFlowChild, "Child - Get manager (renamed)")
	e.changeDefinition(snap, seed.DemoEnvDev, seed.DemoFlowRequestLaptop, "new approval step")
	// A permission change does not move lastModifiedTime; incremental
	// still reads permissions.
	c := e.asCreator(snap, seed.DemoEnvTest, seed.DemoFlowAccountOnboard)
	if err := c.ModifyRunOnlyUsers(t.Context(), seed.DemoEnvTest, seed.DemoFlowAccountOnboard, false,
		[]api.Principal{{ID: seed.DemoTomas, Type: api.PrincipalUser}}, nil); err != nil {
		t.Fatalf("share: %v", err)
	}

	res = mustExport(t, e.src, rp, inc)
	if !res.Committed {
		t.Fatal("incremental export of changes made no commit")
	}
	want := []export.EnvResult{
		{Name: seed.DemoEnvDev, DisplayName: "Contoso Dev", Flows: 14, Read: 2, Reused: 12},
		{Name: seed.DemoEnvTest, DisplayName: "Contoso Test", Flows: 3, Reused: 3},
	}
	if diff := cmp.Diff(want, res.Environments); diff != "" {
		t.Errorf("Environments (-want +got):\n%s", diff)
	}
	var changed []api.FlowName
	for _, r := range res.Changed {
		changed = append(changed, r.Flow)
	}
	wantChanged := []api.FlowName{seed.DemoFlowRequestLaptop, seed.DemoFlowChild, seed.DemoFlowAccountOnboard}
	if diff := cmp.Diff(wantChanged, changed); diff != "" {
		t.Errorf("Changed (-want +got):\n%s", diff)
	}

	full := newRepo(t, true)
	mustExport(t, e.src, full, o)
	if a, b := treeHash(t, rp, testrepo.Head(t, rp, "main")), treeHash(t, full, testrepo.Head(t, full, "main")); a != b {
		t.Errorf("incremental tree %s, full export %s", a, b)
		diffTrees(t, testrepo.TreeFiles(t, full, testrepo.Head(t, full, "main")), testrepo.TreeFiles(t, rp, testrepo.Head(t, rp, "main")))
	}
	perms := string(testrepo.TreeFiles(t, rp, testrepo.Head(t, rp, "main"))[testrepo.FlowDir(seed.DemoEnvTest, seed.DemoFlowAccountOnboard)+"permissions.json"])
	if !strings.Contains(perms, string(seed.DemoTomas)) {
		t.Errorf("incremental export missed a permission change:\n%s", perms)
	}
}

// TestIncrementalStateChanges: a flow can be turned off, suspended by the
// service or get failure alerts without a save, so lastModifiedTime stays;
// an incremental export must still record the new state, suspension
// reason and alert subscription exactly as a full export does.
func TestIncrementalStateChanges(t *testing.T) {
	t.Parallel()
	snap := seed.Demo()
	e := startEmu(t, snap, emuOptions{})
	rp := newRepo(t, false)
	o := exportOpts(seed.DemoEnvDev)
	mustExport(t, e.src, rp, o)

	// Turned off through the API...
	if err := e.client.StopFlow(t.Context(), seed.DemoEnvDev, seed.DemoFlowChild, true); err != nil {
		t.Fatal(err)
	}
	// ...and suspended by the service (a state the API cannot set: load it).
	state := e.Inst.Server.Dump()
	for i := range state.Flows {
		f := &state.Flows[i]
		if f.Environment == seed.DemoEnvDev && f.Name == seed.DemoFlowRequestLaptop {
			f.State = api.StateSuspended
			if f.Extra == nil {
				f.Extra = map[string]json.RawMessage{}
			}
			f.Extra["flowSuspensionReason"] = json.RawMessage(`"CapacityLimitReached"`)
		}
		// Failure alerts are a subscription, not a save, too.
		if f.Environment == seed.DemoEnvDev && f.Name == seed.DemoFlowInvoiceApproval {
			if f.Extra == nil {
				f.Extra = map[string]json.RawMessage{}
			}
			f.Extra["flowFailureAlertSubscribed"] = json.RawMessage(`true`)
		}
	}
	if err := e.Inst.Server.Load(state); err != nil {
		t.Fatal(err)
	}

	inc := o
	inc.Incremental = true
	res := mustExport(t, e.src, rp, inc)
	if len(res.Changed) != 3 {
		t.Errorf("Changed = %v, want the stopped, the suspended and the subscribed flow", res.Changed)
	}
	full := newRepo(t, true)
	mustExport(t, e.src, full, o)
	if a, b := treeHash(t, rp, testrepo.Head(t, rp, "main")), treeHash(t, full, testrepo.Head(t, full, "main")); a != b {
		t.Errorf("incremental tree %s, full export %s", a, b)
		diffTrees(t, testrepo.TreeFiles(t, full, testrepo.Head(t, full, "main")), testrepo.TreeFiles(t, rp, testrepo.Head(t, rp, "main")))
	}
}

// TestIncrementalEncryptTo: adding a Sealer to an incremental job must seal
// the secrets of flows that did not change since the last export, and
// dropping it must drop their sealed files, exactly as a full export does;
// otherwise the backup silently lacks (or keeps stale) secrets until each
// flow happens to be modified.
func TestIncrementalEncryptTo(t *testing.T) {
	t.Parallel()
	snap, _ := withSigFlow(t)
	e := startEmu(t, snap, emuOptions{})
	rp := newRepo(t, false)
	o := exportOpts(seed.DemoEnvDev)
	o.Incremental = true
	mustExport(t, e.src, rp, o)

	id := newAgeIdentity(t)
	sealed := o
	sealed.Sealer = export.AgeSealer{id.Recipient()}
	mustExport(t, e.src, rp, sealed)
	files := testrepo.TreeFiles(t, rp, testrepo.Head(t, rp, "main"))
	for _, f := range []api.FlowName{seed.DemoFlowSecrets, sigFlowName} {
		if _, ok := files[testrepo.FlowDir(seed.DemoEnvDev, f)+"secrets.age"]; !ok {
			t.Errorf("incremental export with a new Sealer did not seal %s", f)
		}
	}

	mustExport(t, e.src, rp, o)
	for p := range testrepo.TreeFiles(t, rp, testrepo.Head(t, rp, "main")) {
		if strings.HasSuffix(p, "/secrets.age") {
			t.Errorf("incremental export without a Sealer kept %s", p)
		}
	}
}

// TestAPICallBudget counts the calls the emulator admitted (its per-identity
// stats): a full export makes at most one call per list page (environments
// included) plus two per flow; an incremental export of an unchanged state
// at most one per list page plus one per flow. Small pages make the listing
// span several pages, and the request log shows which calls were pages.
func TestAPICallBudget(t *testing.T) {
	t.Parallel()
	snap := seed.Demo()
	e := startEmu(t, snap, emuOptions{pageSize: 2})
	rp := newRepo(t, false)
	o := exportOpts()

	flows, wantFlowPages := 0, 0
	for _, env := range snap.Environments {
		n := len(demoFlows(snap, env.Name))
		flows += n
		wantFlowPages += max(1, (n+1)/2)
	}

	// measure runs an export and returns the calls it made and the list
	// pages among them (environment list pages, flow list pages).
	measure := func(opts export.Options) (calls, envPages, flowPages int) {
		t.Helper()
		seq, before := e.lastSeq(), e.Total().Calls
		mustExport(t, e.src, rp, opts)
		calls = e.Total().Calls - before
		for _, r := range e.requests(seq) {
			switch {
			case strings.HasSuffix(r.Path, "/environments"):
				envPages++
			case strings.HasSuffix(r.Path, "/v2/flows"):
				flowPages++
			}
		}
		return calls, envPages, flowPages
	}

	calls, envPages, flowPages := measure(o)
	pages := envPages + flowPages
	t.Logf("full export: %d calls, %d+%d list pages, %d flows", calls, envPages, flowPages, flows)
	// The emulator does not page the environment list; flow lists it does.
	if flowPages != wantFlowPages || envPages < 1 {
		t.Errorf("full export read %d environment and %d flow list pages, want ≥1 and %d", envPages, flowPages, wantFlowPages)
	}
	if limit := pages + 2*flows; calls > limit {
		t.Errorf("full export made %d calls, budget %d (%d pages + 2×%d flows)", calls, limit, pages, flows)
	}

	o.Incremental = true
	calls, envPages, flowPages = measure(o)
	pages = envPages + flowPages
	t.Logf("incremental export: %d calls, %d list pages", calls, pages)
	if limit := pages + flows; calls > limit {
		t.Errorf("incremental export made %d calls, budget %d (%d pages + %d flows)", calls, limit, pages, flows)
	}
}
