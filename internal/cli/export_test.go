package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flowsync/flowsync/export"
	"github.com/flowsync/flowsync/internal/emulator/seed"
	"github.com/flowsync/flowsync/internal/testgit"
	"github.com/flowsync/flowsync/internal/testrepo"
	"github.com/flowsync/flowsync/repo"
)

// cliOutput is the JSON `flowsync --output json export` prints.
type cliOutput struct {
	export.Result
}

// TestCLIExport runs `flowsync export` in-process against the emulator with
// --auth token: a good run exits 0; a run in which one flow cannot be read
// keeps that flow's previous files, reports it (kept) in its JSON output,
// commits the rest and exits 3; a run while another export holds the
// repository lock exits 1 naming the holder. No planted secret appears in
// any output.
func TestCLIExport(t *testing.T) {
	snap := seed.Demo()
	inst, env := startSnapshot(t, snap)
	dir := filepath.Join(t.TempDir(), "backup")
	t.Cleanup(func() { testgit.FsckStrict(t, dir) })
	args := []string{
		"--api-url", inst.URL, "--auth", "token", "--rate-limit", "1000/1s", "--output", "json",
		"export", "--repo", dir, "--env", "Contoso Dev", "--scope", "admin",
		"--author", "Export Test <export-test@example.invalid>",
	}
	exportStep := func(step string, wantCode int) cliOutput {
		t.Helper()
		code, stdout, stderr := run(t, env, args...)
		for _, s := range []string{stdout, stderr} {
			if strings.Contains(s, "DEMO-ONLY-") || strings.Contains(s, env["FLOWSYNC_TOKEN"]) {
				t.Errorf("%s: output reveals a secret or the token", step)
			}
		}
		if code != wantCode {
			t.Fatalf("%s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", step, code, wantCode, stdout, stderr)
		}
		var out cliOutput
		if wantCode != ExitFailure {
			if err := json.Unmarshal([]byte(stdout), &out); err != nil {
				t.Fatalf("%s: output is not the JSON result: %v\n%s", step, err, stdout)
			}
		}
		return out
	}

	first := exportStep("first export", ExitOK)
	if !first.Committed || len(first.Added) != 14 || len(first.Secrets) != 3 {
		t.Fatalf("first export: committed %v, %d added, %d secrets", first.Committed, len(first.Added), len(first.Secrets))
	}
	rp, err := repo.Open(context.Background(), dir, repo.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rp.Close()
	before := testrepo.TreeFiles(t, rp, testrepo.Head(t, rp, "main"))

	// One flow becomes unreadable: the service hands it out with
	// references that name no connector, which the export cannot store.
	// Another flow is renamed meanwhile.
	broken := seed.DemoFlowInvoiceApproval
	for i := range snap.Flows {
		f := &snap.Flows[i]
		switch {
		case f.Environment == seed.DemoEnvDev && f.Name == broken:
			var refs map[string]json.RawMessage
			if err := json.Unmarshal(f.ConnectionReferences, &refs); err != nil || len(refs) == 0 {
				t.Fatalf("invoice approval has no references to break: %v", err)
			}
			for k := range refs {
				refs[k] = json.RawMessage(`{"connectionName":"unknown-connection"}`)
			}
			f.ConnectionReferences, _ = json.Marshal(refs)
		case f.Environment == seed.DemoEnvDev && f.Name == seed.DemoFlowChild:
			f.DisplayName += " (renamed)"
			f.LastModifiedTime = f.LastModifiedTime.Add(time.Hour)
		}
	}
	if err := inst.Server.Load(snap); err != nil {
		t.Fatal(err)
	}

	partial := exportStep("export with an unreadable flow", ExitPartial)
	if len(partial.Failed) != 1 || partial.Failed[0].Flow != broken || !partial.Failed[0].Kept {
		t.Fatalf("failed = %+v, want the invoice approval flow, kept", partial.Failed)
	}
	t.Logf("not read: %s", partial.Failed[0].Err)
	if !partial.Committed || len(partial.Changed) != 1 || partial.Changed[0].Flow != seed.DemoFlowChild {
		t.Errorf("partial run: committed %v, changed %v; want the rename committed", partial.Committed, partial.Changed)
	}
	after := testrepo.TreeFiles(t, rp, testrepo.Head(t, rp, "main"))
	for name, b := range testrepo.FlowFiles(before, seed.DemoEnvDev, broken) {
		if !bytes.Equal(b, testrepo.FlowFiles(after, seed.DemoEnvDev, broken)[name]) {
			t.Errorf("the unreadable flow's %s changed", name)
		}
	}

	// Another export holds the lock.
	unlock, err := rp.Lock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	code, _, stderr := run(t, env, args...)
	unlock()
	t.Logf("while locked: %s", stderr)
	if code != ExitFailure || !strings.Contains(stderr, "locked") || !strings.Contains(stderr, strconv.Itoa(os.Getpid())) {
		t.Errorf("export while locked: exit %d, stderr %q; want 1 naming the lock holder", code, stderr)
	}
	if got := testrepo.Head(t, rp, "main").String(); got != partial.Commit {
		t.Errorf("branch moved to %s while locked", got)
	}
}
