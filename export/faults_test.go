package export_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/flowsync/flowsync/export"
	"github.com/flowsync/flowsync/internal/emulator/seed"
	"github.com/flowsync/flowsync/internal/testrepo"
)

// faultStatus is GET /_emulator/faults.
type faultStatus struct {
	Rules []struct {
		Kind  string `json:"kind"`
		Path  string `json:"path"`
		Seen  int    `json:"seen"`
		Fired int    `json:"fired"`
	} `json:"rules"`
}

// TestFaultsDoNotChangeTheTree: under 429 storms (with Retry-After), 5xx
// answers, dropped connections and truncated bodies the export completes
// with every flow read, and its tree and commit are identical to those of a
// fault-free export of the same state. The client's waits are injected, so
// Retry-After and backoff cost no real time.
func TestFaultsDoNotChangeTheTree(t *testing.T) {
	t.Parallel()
	// More sends per call than the default: with about a fifth of all
	// answers faulted, six attempts could run out now and then.
	e := startEmu(t, seed.Demo(), emuOptions{maxAttempts: 15})
	clean := newRepo(t, false)
	want := mustExport(t, e.src, clean, exportOpts())

	// The count-limited rules come first, so that every kind surely fires
	// on flow reads; the probabilistic storm follows.
	e.SetFaults("seed=7,reset:count=2:path=/flows/,truncate:count=2:path=/flows/," +
		"429:p=0.2:retry-after=1,5xx:p=0.1,reset:p=0.05,truncate:p=0.05")
	faulty := newRepo(t, true)
	got := mustExport(t, e.src, faulty, exportOpts())

	var st faultStatus
	e.Control(http.MethodGet, "/_emulator/faults", &st)
	fired := map[string]int{}
	for _, r := range st.Rules {
		fired[r.Kind] += r.Fired
	}
	for _, kind := range []string{"429", "5xx", "reset", "truncate"} {
		if fired[kind] == 0 {
			t.Errorf("no %s fault fired (%+v): the test proves nothing about it", kind, st.Rules)
		}
	}
	t.Logf("faults fired: %v", fired)

	if len(got.Failed) != 0 {
		t.Fatalf("flows failed under faults: %+v", got.Failed)
	}
	if a, b := treeHash(t, clean, testrepo.Head(t, clean, "main")), treeHash(t, faulty, testrepo.Head(t, faulty, "main")); a != b {
		t.Errorf("tree under faults %s, fault-free %s", b, a)
		diffTrees(t, testrepo.TreeFiles(t, clean, testrepo.Head(t, clean, "main")), testrepo.TreeFiles(t, faulty, testrepo.Head(t, faulty, "main")))
	}
	if got.Commit != want.Commit {
		t.Errorf("commit under faults %s, fault-free %s", got.Commit, want.Commit)
	}
	ignore := cmpopts.IgnoreFields(export.Result{}, "Commit", "Committed", "Files")
	if diff := cmp.Diff(*want, *got, ignore, cmpopts.IgnoreUnexported(export.Result{})); diff != "" {
		t.Errorf("results differ (-fault-free +faulty):\n%s", diff)
	}
}

// diffTrees reports which paths differ between two trees.
func diffTrees(t *testing.T, want, got map[string][]byte) {
	t.Helper()
	for _, p := range sortedKeys(want) {
		g, ok := got[p]
		switch {
		case !ok:
			t.Errorf("  missing %s", p)
		case string(g) != string(want[p]):
			t.Errorf("  differs %s:\n%s", p, cmp.Diff(string(want[p]), string(g)))
		}
	}
	for _, p := range sortedKeys(got) {
		if _, ok := want[p]; !ok {
			t.Errorf("  extra %s", p)
		}
	}
}

// TestPersistentFailureKeepsPrevious: a flow that cannot be read (every
// request for it answers 5xx) keeps its previous files; the run is partial,
// names it with Kept=true in the Result and the commit message, and still
// commits everything else. A new flow that cannot be read is Failed with
// nothing kept. Once the flow is readable again, the next export changes
// nothing for it: the kept version, the index row included, was exactly
// what a good read gives.
func TestPersistentFailureKeepsPrevious(t *testing.T) {
	t.Parallel()
	snap := seed.Demo()
	e := startEmu(t, snap, emuOptions{})
	rp := newRepo(t, false)
	o := exportOpts(seed.DemoEnvDev)
	mustExport(t, e.src, rp, o)
	before := testrepo.TreeFiles(t, rp, testrepo.Head(t, rp, "main"))

	broken := seed.DemoFlowInvoiceApproval
	e.rename(snap, seed.DemoEnvDev, seed.DemoFlowChild, "Child - Get manager (renamed)")
	fresh := e.createFlow(seed.DemoEnvDev, seed.DemoPriya, "New and unreadable")
	e.SetFaults("seed=1,5xx:path=" + string(broken) + ",5xx:path=" + string(fresh))

	res, err := runExport(t, e.src, rp, o)
	if err != nil {
		t.Fatalf("a partial export must still succeed: %v", err)
	}
	if !res.Partial() {
		t.Error("Partial() = false")
	}
	want := []export.FlowFailure{
		{FlowRef: export.FlowRef{Env: seed.DemoEnvDev, Flow: broken, DisplayName: "Invoice approval"}, Kept: true},
		{FlowRef: export.FlowRef{Env: seed.DemoEnvDev, Flow: fresh, DisplayName: "New and unreadable"}, Kept: false},
	}
	if broken > fresh {
		want[0], want[1] = want[1], want[0]
	}
	if diff := cmp.Diff(want, res.Failed, cmpopts.IgnoreFields(export.FlowFailure{}, "Err")); diff != "" {
		t.Errorf("Failed (-want +got):\n%s", diff)
	}
	for _, f := range res.Failed {
		if !strings.Contains(f.Err, "503") {
			t.Errorf("failure of %s does not say why: %q", f.Flow, f.Err)
		}
		t.Logf("failure reported: %s", f.Err)
	}
	if !res.Committed || len(res.Changed) != 1 || res.Changed[0].Flow != seed.DemoFlowChild {
		t.Errorf("the rest was not committed: committed %v, changed %v", res.Committed, res.Changed)
	}
	if len(res.Added) != 0 {
		t.Errorf("an unreadable new flow was added: %v", res.Added)
	}
	if er := res.Environments[0]; er.Failed != 2 || er.Read != er.Flows-2 {
		t.Errorf("environment counts %+v", er)
	}

	after := testrepo.TreeFiles(t, rp, testrepo.Head(t, rp, "main"))
	if diff := cmp.Diff(testrepo.FlowFiles(before, seed.DemoEnvDev, broken), testrepo.FlowFiles(after, seed.DemoEnvDev, broken)); diff != "" {
		t.Errorf("the unreadable flow's files changed (-before +after):\n%s", diff)
	}
	if len(testrepo.FlowFiles(after, seed.DemoEnvDev, fresh)) != 0 {
		t.Error("the unreadable new flow has files")
	}
	readme := string(after["environments/"+string(seed.DemoEnvDev)+"/README.md"])
	if !strings.Contains(readme, "Invoice approval") || !strings.Contains(readme, string(broken)) {
		t.Errorf("the index lost the kept flow:\n%s", readme)
	}
	msg := commitMessage(t, rp.Dir(), res.Commit)
	if !strings.Contains(msg, "Not read") || !strings.Contains(msg, "- Invoice approval ("+string(seed.DemoEnvDev)+", "+string(broken)+")") {
		t.Errorf("commit message does not name the unreadable flow:\n%s", msg)
	}

	// Readable again: the kept flow is as a good read makes it; only the
	// new flow arrives.
	e.Control(http.MethodDelete, "/_emulator/faults", nil)
	res = mustExport(t, e.src, rp, o)
	if res.Partial() || len(res.Changed) != 0 || len(res.Added) != 1 || res.Added[0].Flow != fresh {
		t.Errorf("after recovery: failed %v, changed %v, added %v", res.Failed, res.Changed, res.Added)
	}
	if res.Committed {
		got := testrepo.TreeFiles(t, rp, testrepo.Head(t, rp, "main"))
		for p, b := range got {
			if !strings.Contains(p, string(fresh)) && !strings.HasSuffix(p, "README.md") && string(after[p]) != string(b) {
				t.Errorf("recovery changed %s", p)
			}
		}
	}
}

// TestListingFailureCommitsNothing: when an environment's listing cannot be
// read, the export fails naming it and commits nothing, for any
// environment: a missing listing must never look like deleted flows.
func TestListingFailureCommitsNothing(t *testing.T) {
	t.Parallel()
	snap := seed.Demo()
	e := startEmu(t, snap, emuOptions{})
	rp := newRepo(t, false)
	o := exportOpts(seed.DemoEnvDev, seed.DemoEnvProd)
	mustExport(t, e.src, rp, o)
	tip := testrepo.Head(t, rp, "main")

	e.rename(snap, seed.DemoEnvDev, seed.DemoFlowChild, "Child - Get manager (renamed)")
	e.SetFaults("seed=3,5xx:path=" + string(seed.DemoEnvProd) + "/v2/flows")
	res, err := runExport(t, e.src, rp, o)
	if err == nil || !strings.Contains(err.Error(), string(seed.DemoEnvProd)) {
		t.Fatalf("export = %+v, %v; want an error naming %s", res, err, seed.DemoEnvProd)
	}
	if got := testrepo.Head(t, rp, "main"); got != tip {
		t.Errorf("branch moved to %s", got)
	}
}
