package export_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/google/go-cmp/cmp"

	"github.com/flowsync/flowsync/export"
	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/emulator"
	"github.com/flowsync/flowsync/internal/emulator/seed"
	"github.com/flowsync/flowsync/internal/safetext"
	"github.com/flowsync/flowsync/internal/secrets"
	"github.com/flowsync/flowsync/internal/testgit"
	"github.com/flowsync/flowsync/internal/testrepo"
)

// TestIncrementalRereadsDamagedFiles: --incremental reuses a stored
// definition only when the stored files parse and are canonical. A
// merge-conflict marker, invalid JSON or other formatting committed by hand
// makes the flow be read again, and the run repairs the files.
func TestIncrementalRereadsDamagedFiles(t *testing.T) {
	t.Parallel()
	snap := seed.Demo()
	e := startEmu(t, snap, emuOptions{})
	rp := newRepo(t, false)
	o := exportOpts(seed.DemoEnvDev)
	mustExport(t, e.src, rp, o)
	good := testrepo.TreeFiles(t, rp, testrepo.Head(t, rp, "main"))

	pretty := func(b []byte) []byte {
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		out, err := json.MarshalIndent(v, "", "    ")
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	damage := []struct {
		name string
		flow api.FlowName
		file string
		bad  func([]byte) []byte
	}{
		{"conflict marker", seed.DemoFlowInvoiceApproval, "definition.json", func(b []byte) []byte {
			return []byte("<<<<<<< HEAD\n" + string(b) + "\n=======\n{}\n>>>>>>> other\n")
		}},
		{"invalid json", seed.DemoFlowChild, "connections.json", func(b []byte) []byte { return b[:len(b)/2] }},
		{"not canonical", seed.DemoFlowSecrets, "definition.json", pretty},
	}
	for _, d := range damage {
		p := testrepo.FlowDir(seed.DemoEnvDev, d.flow) + d.file
		if err := os.WriteFile(filepath.Join(rp.Dir(), filepath.FromSlash(p)), d.bad(good[p]), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	testgit.Run(t, rp.Dir(), "commit", "-q", "-a", "-m", "hand edits")

	oi := o
	oi.Incremental = true
	res := mustExport(t, e.src, rp, oi)
	er := res.Environments[0]
	if er.Read != len(damage) || er.Reused != er.Flows-len(damage) {
		t.Errorf("read %d, reused %d of %d flows; want the %d damaged ones read again", er.Read, er.Reused, er.Flows, len(damage))
	}
	got := testrepo.TreeFiles(t, rp, testrepo.Head(t, rp, "main"))
	for _, d := range damage {
		p := testrepo.FlowDir(seed.DemoEnvDev, d.flow) + d.file
		if string(got[p]) != string(good[p]) {
			t.Errorf("%s (%s): not repaired:\n%s", d.name, p, got[p])
		}
	}
	if diff := cmp.Diff(good, got); diff != "" {
		t.Errorf("the tree after the repairing run differs from the first export (-want +got):\n%s", diff)
	}
	// Sound again: everything is reused.
	res = mustExport(t, e.src, rp, oi)
	if er := res.Environments[0]; er.Reused != er.Flows || res.Committed {
		t.Errorf("second incremental run: %+v, committed %v", er, res.Committed)
	}
}

// TestPartialRunKeepsIndexRow: a flow that cannot be read keeps its files and
// its README row as they were (owners included), so a partial run with no
// other change commits nothing, and neither does the next good run.
func TestPartialRunKeepsIndexRow(t *testing.T) {
	t.Parallel()
	snap := seed.Demo()
	e := startEmu(t, snap, emuOptions{})
	rp := newRepo(t, true)
	o := exportOpts(seed.DemoEnvDev)
	mustExport(t, e.src, rp, o)
	tip := testrepo.Head(t, rp, "main")
	readme := "environments/" + string(seed.DemoEnvDev) + "/README.md"
	before := string(testrepo.TreeFiles(t, rp, tip)[readme])

	e.SetFaults("seed=1,5xx:path=" + string(seed.DemoFlowInvoiceApproval))
	for _, incremental := range []bool{false, true} {
		oi := o
		oi.Incremental = incremental
		res := mustExport(t, e.src, rp, oi)
		if len(res.Failed) != 1 || !res.Failed[0].Kept {
			t.Fatalf("incremental %v: failed %+v, want the invoice approval flow kept", incremental, res.Failed)
		}
		if res.Committed {
			after := string(testrepo.TreeFiles(t, rp, testrepo.Head(t, rp, "main"))[readme])
			t.Fatalf("incremental %v: a partial run with nothing new committed; README before:\n%s\nafter:\n%s", incremental, before, after)
		}
	}
	e.Control(http.MethodDelete, "/_emulator/faults", nil)
	if res := mustExport(t, e.src, rp, o); res.Committed || res.Partial() {
		t.Errorf("the good run after the partial ones: committed %v, failed %v", res.Committed, res.Failed)
	}
	if testrepo.Head(t, rp, "main") != tip {
		t.Error("branch moved")
	}
}

// TestAllEnvsSkipsBrokenEnvironment: under --all-envs, an environment whose
// listing fails after retries, or whose name cannot be stored, is skipped
// and named; the others are committed and the skipped one keeps its files.
// Named explicitly, the same environment still fails the run.
func TestAllEnvsSkipsBrokenEnvironment(t *testing.T) {
	t.Parallel()
	snap := seed.Demo()
	var base emulator.Environment
	for _, env := range snap.Environments {
		if env.Name == seed.DemoEnvTest {
			base = env
		}
	}
	evil := base
	evil.Name, evil.DisplayName = "../evil\x1b[2J", "Evil \u202e name"
	snap.Environments = append(snap.Environments, evil)
	e := startEmu(t, snap, emuOptions{maxAttempts: 2})
	rp := newRepo(t, true)
	o := exportOpts() // all environments
	first := mustExport(t, e.src, rp, o)
	if len(first.Skipped) != 1 || first.Skipped[0].Name != evil.Name || !first.Partial() {
		t.Fatalf("skipped %+v, want the environment with the unusable name", first.Skipped)
	}
	before := testrepo.TreeFiles(t, rp, testrepo.Head(t, rp, "main"))

	e.rename(snap, seed.DemoEnvDev, seed.DemoFlowChild, "Child - Get manager (renamed)")
	e.SetFaults("seed=3,5xx:path=" + string(seed.DemoEnvProd) + "/v2/flows")
	res := mustExport(t, e.src, rp, o)
	var skipped []api.EnvName
	for _, s := range res.Skipped {
		skipped = append(skipped, s.Name)
		if s.Err == "" {
			t.Errorf("skipped %s without a reason", s.Name)
		}
	}
	if diff := cmp.Diff([]api.EnvName{evil.Name, seed.DemoEnvProd}, skipped); diff != "" {
		t.Errorf("skipped (-want +got):\n%s", diff)
	}
	if !res.Committed || len(res.Changed) != 1 || res.Changed[0].Flow != seed.DemoFlowChild {
		t.Errorf("the other environments were not committed: committed %v, changed %v", res.Committed, res.Changed)
	}
	after := testrepo.TreeFiles(t, rp, testrepo.Head(t, rp, "main"))
	prodDir := "environments/" + string(seed.DemoEnvProd) + "/"
	for p, b := range before {
		if strings.HasPrefix(p, prodDir) && string(after[p]) != string(b) {
			t.Errorf("skipped environment's %s changed", p)
		}
	}
	for p := range after {
		if strings.HasPrefix(p, prodDir) && before[p] == nil {
			t.Errorf("skipped environment gained %s", p)
		}
	}
	msg := commitMessage(t, rp.Dir(), res.Commit)
	if !strings.Contains(msg, "Environments skipped") || !strings.Contains(msg, string(seed.DemoEnvProd)) {
		t.Errorf("the commit message does not name the skipped environments:\n%s", msg)
	}
	for _, r := range msg {
		if r != '\n' && safetext.Hostile(r) {
			t.Errorf("the commit message holds the raw rune %U:\n%q", r, msg)
		}
	}

	// Named, the environment whose listing fails fails the run.
	tip := testrepo.Head(t, rp, "main")
	if _, err := runExport(t, e.src, rp, exportOpts(seed.DemoEnvDev, seed.DemoEnvProd)); err == nil || !strings.Contains(err.Error(), string(seed.DemoEnvProd)) {
		t.Errorf("named environment with a failing listing: %v; want an error naming it", err)
	}
	if testrepo.Head(t, rp, "main") != tip {
		t.Error("branch moved")
	}
}

// blankModified hides lastModifiedTime, as a listing or read that lacks it
// would (the engine must then treat the time as unknown).
type blankModified struct{ export.Source }

func (b blankModified) Flows(ctx context.Context, env api.EnvName, fn func([]api.Flow) error) error {
	return b.Source.Flows(ctx, env, func(page []api.Flow) error {
		for i := range page {
			page[i].Properties.LastModifiedTime = ""
		}
		return fn(page)
	})
}

func (b blankModified) Flow(ctx context.Context, env api.EnvName, name api.FlowName) (api.Flow, error) {
	f, err := b.Source.Flow(ctx, env, name)
	f.Properties.LastModifiedTime = ""
	return f, err
}

// TestResealRule: the engine keeps a flow's sealed secrets exactly when
// secrets.ShouldReseal says so: an unchanged flow keeps its secrets.age, a
// flow whose redacted paths changed without lastModifiedTime moving is
// sealed again (with the new value), and so is one whose lastModifiedTime
// is unknown on both sides.
func TestResealRule(t *testing.T) {
	t.Parallel()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	sealedOf := func(t *testing.T, files map[string][]byte) ([]byte, secrets.Values) {
		t.Helper()
		b := files[testrepo.FlowDir(seed.DemoEnvDev, seed.DemoFlowSecrets)+"secrets.age"]
		if b == nil {
			t.Fatal("no secrets.age")
		}
		v, err := secrets.Open(b, []age.Identity{id})
		if err != nil {
			t.Fatal(err)
		}
		return b, v
	}

	t.Run("paths changed, same lastModifiedTime", func(t *testing.T) {
		t.Parallel()
		snap := seed.Demo()
		e := startEmu(t, snap, emuOptions{})
		rp := newRepo(t, true)
		o := exportOpts(seed.DemoEnvDev)
		o.Sealer = export.AgeSealer{id.Recipient()}
		mustExport(t, e.src, rp, o)
		oldSealed, _ := sealedOf(t, testrepo.TreeFiles(t, rp, testrepo.Head(t, rp, "main")))
		if r := mustExport(t, e.src, rp, o); r.Committed {
			t.Fatalf("an unchanged flow was sealed again: commit %s", r.Commit)
		}

		// The service hands out a definition with one more secret under the
		// same lastModifiedTime.
		f := flowOf(t, snap, seed.DemoEnvDev, seed.DemoFlowSecrets)
		var def map[string]any
		if err := json.Unmarshal(f.Definition, &def); err != nil {
			t.Fatal(err)
		}
		headers := def["actions"].(map[string]any)["Check_partner_API"].(map[string]any)["inputs"].(map[string]any)["headers"].(map[string]any)
		headers["Ocp-Apim-Subscription-Key"] = "DEMO-ONLY-second-key-0000"
		for i := range snap.Flows {
			if snap.Flows[i].Environment == seed.DemoEnvDev && snap.Flows[i].Name == seed.DemoFlowSecrets {
				if snap.Flows[i].Definition, err = json.Marshal(def); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := e.Inst.Server.Load(snap); err != nil {
			t.Fatal(err)
		}
		mustExport(t, e.src, rp, o)
		newSealed, values := sealedOf(t, testrepo.TreeFiles(t, rp, testrepo.Head(t, rp, "main")))
		if string(newSealed) == string(oldSealed) {
			t.Fatal("secrets.age was kept although the redacted paths changed")
		}
		if string(values["actions.Check_partner_API.inputs.headers.Ocp-Apim-Subscription-Key"]) != `"DEMO-ONLY-second-key-0000"` {
			t.Errorf("the new secret is not sealed: %v paths %v", values, values.Paths())
		}
	})

	t.Run("lastModifiedTime unknown", func(t *testing.T) {
		t.Parallel()
		e := startEmu(t, seed.Demo(), emuOptions{})
		rp := newRepo(t, true)
		o := exportOpts(seed.DemoEnvDev)
		o.Sealer = export.AgeSealer{id.Recipient()}
		src := blankModified{e.src}
		mustExport(t, src, rp, o)
		oldSealed, _ := sealedOf(t, testrepo.TreeFiles(t, rp, testrepo.Head(t, rp, "main")))
		mustExport(t, src, rp, o)
		newSealed, values := sealedOf(t, testrepo.TreeFiles(t, rp, testrepo.Head(t, rp, "main")))
		if string(newSealed) == string(oldSealed) {
			t.Error("secrets.age was kept although neither side knows lastModifiedTime")
		}
		if len(values) != len(demoSecretValues) {
			t.Errorf("resealed %d values, want %d", len(values), len(demoSecretValues))
		}
	})
}
