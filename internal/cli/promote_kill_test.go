package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/emulator"
	"github.com/flowsync/flowsync/internal/emulator/seed"
	"github.com/flowsync/flowsync/internal/testgit"
)

// childEnv marks a re-executed test binary that runs flowsync's Main
// instead of the tests: the kill tests SIGKILL a real process.
const (
	childEnv     = "FLOWSYNC_CLI_TEST_CHILD"
	childArgsEnv = "FLOWSYNC_CLI_TEST_ARGS"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		var args []string
		if err := json.Unmarshal([]byte(os.Getenv(childArgsEnv)), &args); err != nil {
			fmt.Fprintln(os.Stderr, "child: bad arguments:", err)
			os.Exit(ExitUsage)
		}
		os.Exit(Main(context.Background(), append([]string{"flowsync"}, args...),
			IO{In: os.Stdin, Out: os.Stdout, Err: os.Stderr, Getenv: os.Getenv}))
	}
	os.Exit(m.Run())
}

// startChild runs flowsync with args in a new process (this test binary).
func (p *promoteEmu) startChild(args ...string) (*exec.Cmd, *bytes.Buffer) {
	p.t.Helper()
	all, err := json.Marshal(append(p.globals(), args...))
	if err != nil {
		p.t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1", childArgsEnv+"="+string(all))
	for k, v := range p.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	return cmd, &out
}

// killScenario is one way the service misbehaves while the import is killed.
type killScenario struct {
	name   string
	faults string // emulator fault spec for the killed run ("" = none)
	points int    // kill points to try
}

// TestImportKilledAnywhereConverges kills the import process with SIGKILL
// at the Nth applied write (the emulator's write hook does it before the
// answer leaves, so the process never hears of that write), for seeded
// random N, then runs the import again: Prod ends equal to the tree (diff
// --exit-code 0), no flow twice, no owner lost, and no flow on whose
// connections are not bound and Connected.
func TestImportKilledAnywhereConverges(t *testing.T) {
	if testing.Short() {
		t.Skip("kills subprocesses at many points; skipped with -short")
	}
	scenarios := []killScenario{
		{name: "plain", points: 12},
		{name: "first create answered 502 after it was applied", faults: "5xx-after-write:op=create:nth=1", points: 4},
		{name: "429 storm", faults: "429:op=write:count=4:retry-after=1", points: 3},
	}
	// Calibrate: how many writes a whole import makes.
	total := func() int {
		p := startPromoteEmu(t, emulator.Options{})
		repoDir := p.backup()
		args := importArgs(t, repoDir)
		if code, out, stderr := p.run(args...); code != 0 {
			t.Fatalf("calibration import: exit %d\n%s%s", code, out, stderr)
		}
		return p.writes()
	}()
	if total < 10 {
		t.Fatalf("a whole import makes %d writes; the scenario needs more to kill at 10+ points", total)
	}
	rng := rand.New(rand.NewPCG(42, 8)) // seeded: a failure names its point and replays
	for _, sc := range scenarios {
		// Distinct points, drawn without replacement from 1..total.
		perm := rng.Perm(total)
		for _, i := range perm[:min(sc.points, total)] {
			n := i + 1
			t.Run(fmt.Sprintf("%s/kill-at-write-%d", sc.name, n), func(t *testing.T) {
				killAndRerun(t, sc, n)
			})
		}
	}
}

func importArgs(t *testing.T, repoDir string) []string {
	mapPath := filepath.Join(filepath.Dir(repoDir), "map.yaml")
	if _, err := os.Stat(mapPath); err != nil {
		if err := os.WriteFile(mapPath, []byte(goodMap()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return append([]string{"import", "--repo", repoDir, "--from", "Contoso Dev", "--to", "Contoso Prod", "--map", mapPath, "--yes"}, flowArgs(promotableFlows...)...)
}

func killAndRerun(t *testing.T, sc killScenario, n int) {
	p := startPromoteEmu(t, emulator.Options{})
	repoDir := p.backup()
	args := importArgs(t, repoDir)
	p.setFaults(sc.faults)
	var writes atomic.Int64
	var victim atomic.Pointer[os.Process]
	killed := make(chan int, 1)
	p.inst.Server.OnWrite(func(ev emulator.WriteEvent) {
		proc := victim.Load()
		if proc == nil {
			return // not armed yet (the process plans before it writes)
		}
		if writes.Add(1) == int64(n) {
			proc.Signal(syscall.SIGKILL)
			killed <- ev.N
		}
	})
	cmd, out := p.startChild(args...)
	victim.Store(cmd.Process)
	err := cmd.Wait()
	p.inst.Server.OnWrite(nil)
	if writes.Load() >= int64(n) {
		<-killed // the hook reached the Nth write and sent the signal
		if err == nil {
			t.Fatalf("the import was killed at write %d but exited 0:\n%s", n, out)
		}
	} else {
		// It finished before the Nth write (a fault made it take another path).
		t.Logf("the import ended before write %d: %v", n, err)
	}
	p.inst.Server.SetFaults(emulator.FaultConfig{})

	// One rerun must finish the work.
	code, stdout, stderr := p.run(args...)
	if code != 0 {
		t.Fatalf("rerun after the kill at write %d: exit %d\n%s%s\nkilled run:\n%s", n, code, stdout, stderr, out)
	}
	checkProdConverged(t, p, repoDir)
}

// checkProdConverged: Prod equals the tree, each promoted flow once, owners
// kept, and every Started flow's connections exist and are Connected.
func checkProdConverged(t *testing.T, p *promoteEmu, repoDir string) {
	t.Helper()
	mapPath := filepath.Join(filepath.Dir(repoDir), "map.yaml")
	diffArgs := append([]string{"diff", "--exit-code", "--repo", repoDir, "--from", "Contoso Dev", "--to", "Contoso Prod", "--map", mapPath}, flowArgs(promotableFlows...)...)
	if code, out, stderr := p.run(diffArgs...); code != 0 {
		t.Errorf("diff after the rerun: exit %d, want 0\n%s%s", code, out, stderr)
	}
	// The backup repository is sound and its working tree clean.
	testgit.FsckStrict(t, repoDir)
	if out, err := testgit.Try(t, repoDir, "status", "--porcelain"); err != nil || len(strings.TrimSpace(out)) != 0 {
		t.Errorf("git status after the rerun (%v):\n%s", err, out)
	}
	snap := p.inst.Server.Dump()
	conns := map[api.ConnectionName]emulator.Connection{}
	for _, c := range snap.Connections {
		if c.Environment == seed.DemoEnvProd {
			conns[c.Name] = c
		}
	}
	count := map[string]int{}
	for _, f := range p.prodFlows() {
		count[f.DisplayName]++
		if f.State == api.StateStarted {
			var refs map[string]struct {
				ConnectionName api.ConnectionName `json:"connectionName"`
			}
			json.Unmarshal(f.ConnectionReferences, &refs)
			for k, r := range refs {
				c, ok := conns[r.ConnectionName]
				if !ok || c.Status != "Connected" {
					t.Errorf("flow %q is on but its reference %s names connection %q (exists %v, status %q)", f.DisplayName, k, r.ConnectionName, ok, c.Status)
				}
			}
		}
	}
	for _, name := range []string{"Invoice approval", "Request a laptop", "Archive old files", "Support inbox digest",
		"Child - Get manager", "Parent - Escalate overdue invoices", "Order intake webhook"} {
		if count[name] != 1 {
			t.Errorf("%d flows named %q in Prod, want 1", count[name], name)
		}
	}
	for name, c := range count {
		if c > 1 {
			t.Errorf("duplicate: %d flows named %q in Prod", c, name)
		}
	}
	// Owners: each promoted flow keeps its source owner (as CanEdit).
	wantOwner := map[string]api.PrincipalID{"Request a laptop": seed.DemoPriya, "Support inbox digest": seed.DemoMarcus, "Child - Get manager": seed.DemoSofia}
	for _, f := range p.prodFlows() {
		want, ok := wantOwner[f.DisplayName]
		if !ok {
			continue
		}
		has := f.Creator == want
		for _, perm := range f.Permissions {
			if perm.Principal == want && (perm.Role == api.RoleCanEdit || perm.Role == api.RoleOwner) {
				has = true
			}
		}
		if !has {
			t.Errorf("flow %q lost its owner %s: %+v", f.DisplayName, want, f.Permissions)
		}
	}
}
