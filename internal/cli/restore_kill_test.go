package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/client"
	"github.com/flowsync/flowsync/internal/emulator"
	"github.com/flowsync/flowsync/internal/emulator/seed"
)

// devDisaster damages Dev after its backup: a flow to the recycle bin, a
// solution flow deleted for good (no recycle bin), a definition broken by
// its maker, a co-owner removed and a flow turned off.
func devDisaster(t *testing.T, p *promoteEmu) {
	t.Helper()
	ctx := context.Background()
	env := seed.DemoEnvDev
	admin := p.adminClient()
	for _, f := range []api.FlowName{seed.DemoFlowRequestLaptop, seed.DemoFlowAccountOnboard} {
		if _, err := admin.DeleteFlow(ctx, env, f, true); err != nil {
			t.Fatal(err)
		}
	}
	maker := p.clientAs(seed.DemoPriya)
	f, err := maker.GetFlow(ctx, env, seed.DemoFlowInvoiceApproval, client.GetFlowOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var def map[string]json.RawMessage
	if err := json.Unmarshal(f.Properties.Definition, &def); err != nil {
		t.Fatal(err)
	}
	def["actions"] = json.RawMessage(`{"Broken":{"type":"Compose","inputs":"oops","runAfter":{}}}`)
	nd, _ := json.Marshal(def)
	if _, err := maker.UpdateFlow(ctx, env, seed.DemoFlowInvoiceApproval, api.FlowProperties{Definition: nd, ConnectionReferences: f.Properties.ConnectionReferences}); err != nil {
		t.Fatal(err)
	}
	if err := admin.ModifyPermissions(ctx, env, seed.DemoFlowInvoiceApproval, true, api.ModifyPermissionsRequest{
		Delete: []api.PermissionDelete{{ID: string(seed.DemoMarcus)}}}); err != nil {
		t.Fatal(err)
	}
	if err := admin.StopFlow(ctx, env, "77335bd4-bf96-4d42-a26e-36e4aa9f537d", true); err != nil {
		t.Fatal(err)
	}
}

func restoreArgs(repoDir string) []string {
	return []string{"restore", "--repo", repoDir, "--env", "Contoso Dev", "--rev", "main", "--yes"}
}

// TestRestoreKilledAnywhereConverges kills a restore with SIGKILL at the
// Nth applied write (seeded random N; the emulator's write hook, no
// sleeps), then runs it again: Dev ends equal to the backup (diff
// --exit-code 0), no flow twice, the recycle-bin flow with its own id.
func TestRestoreKilledAnywhereConverges(t *testing.T) {
	if testing.Short() {
		t.Skip("kills subprocesses at many points; skipped with -short")
	}
	total := func() int {
		p := startPromoteEmu(t, emulator.Options{})
		repoDir := p.backup()
		devDisaster(t, p)
		before := p.writes()
		if code, out, stderr := p.run(restoreArgs(repoDir)...); code != 0 {
			t.Fatalf("calibration restore: exit %d\n%s%s", code, out, stderr)
		}
		return p.writes() - before
	}()
	if total < 5 {
		t.Fatalf("a whole restore makes %d writes; too few to kill it at many points", total)
	}
	rng := rand.New(rand.NewPCG(10, 7))
	scenarios := []killScenario{
		{name: "plain", points: 10},
		{name: "the create answered 502 after it was applied", faults: "5xx-after-write:op=create:nth=1", points: 3},
	}
	// Distinct points, so that ten runs are ten different places.
	points := rng.Perm(total)
	for _, sc := range scenarios {
		for i := 0; i < sc.points; i++ {
			n := 1 + points[i%len(points)]
			t.Run(fmt.Sprintf("%s/kill-at-write-%d-of-%d", sc.name, n, total), func(t *testing.T) {
				killRestoreAndRerun(t, sc, n)
			})
		}
	}
}

func killRestoreAndRerun(t *testing.T, sc killScenario, n int) {
	p := startPromoteEmu(t, emulator.Options{})
	repoDir := p.backup()
	devDisaster(t, p)
	p.setFaults(sc.faults)
	var writes atomic.Int64
	var victim atomic.Pointer[os.Process]
	killed := make(chan struct{}, 1)
	p.inst.Server.OnWrite(func(emulator.WriteEvent) {
		if writes.Add(1) == int64(n) {
			if proc := victim.Load(); proc != nil {
				proc.Signal(syscall.SIGKILL)
				killed <- struct{}{}
			}
		}
	})
	cmd, out := p.startChild(restoreArgs(repoDir)...)
	victim.Store(cmd.Process)
	err := cmd.Wait()
	p.inst.Server.OnWrite(nil)
	select {
	case <-killed:
		if err == nil {
			t.Fatalf("the restore was killed at write %d but exited 0:\n%s", n, out)
		}
	default:
		t.Logf("the restore ended before write %d: %v", n, err)
	}
	if sc.faults != "" {
		p.inst.Server.SetFaults(emulator.FaultConfig{})
	}

	code, stdout, stderr := p.run(restoreArgs(repoDir)...)
	if code != 0 {
		t.Fatalf("rerun after the kill at write %d: exit %d\n%s%s\nkilled run:\n%s", n, code, stdout, stderr, out)
	}
	// Converged: nothing left to do, and a third run writes nothing.
	if code, out, stderr := p.run("diff", "--exit-code", "--repo", repoDir, "--from", "Contoso Dev", "--to", "Contoso Dev"); code != 0 {
		t.Errorf("diff after the rerun: exit %d, want 0\n%s%s", code, out, stderr)
	}
	before := p.writes()
	if code, out, stderr := p.run(restoreArgs(repoDir)...); code != 0 || p.writes() != before {
		t.Errorf("third restore: exit %d, %d write(s); want 0 and none\n%s%s", code, p.writes()-before, out, stderr)
	}
	count := map[string]int{}
	for _, f := range p.inst.Server.Dump().Flows {
		if f.Environment == seed.DemoEnvDev && f.DeletedTime == nil {
			count[f.DisplayName]++
		}
	}
	for name, c := range count {
		if c > 1 {
			t.Errorf("duplicate: %d flows named %q in Dev", c, name)
		}
	}
	for _, name := range []string{"Request a laptop", "Account onboarding", "Invoice approval"} {
		if count[name] != 1 {
			t.Errorf("%d flows named %q in Dev, want 1", count[name], name)
		}
	}
	if f, ok := p.devFlow(seed.DemoFlowRequestLaptop); !ok || f.State != api.StateStarted {
		t.Errorf("Request a laptop: found %v with its id, state %q; want Started", ok, f.State)
	}
}
