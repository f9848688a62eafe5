package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/canon"
	"github.com/flowsync/flowsync/internal/emulator"
	"github.com/flowsync/flowsync/internal/emulator/seed"
	"github.com/flowsync/flowsync/internal/testemu"
)

const (
	drEnv              = testemu.DREnv
	drOutlook          = testemu.DROutlook
	drOutlook2         = testemu.DROutlook2
	drPlanted   string = "DEMO-ONLY-" // the demo seed's secret values start so
	drFlowCount        = 4
)

// startDREmu is the demo tenant plus an empty environment "Contoso DR" with
// two Outlook connections (the mapping chooses) and one SharePoint and one
// Approvals connection (auto-mapped).
func startDREmu(t *testing.T) *promoteEmu {
	t.Helper()
	p := newPromoteEmu(t, testemu.Options{Snapshot: testemu.DRSnapshot(), WallClock: true}, map[string]string{
		"FLOWSYNC_AUTH": "token", "FLOWSYNC_RATE_LIMIT": "100000/1s", "FLOWSYNC_WRITE_LIMIT": "100000/1s",
	})
	p.env["FLOWSYNC_API_URL"] = p.inst.URL
	return p
}

// TestRestoreIntoNewEnvironmentCommand: Dev backed up with --encrypt-to,
// then restored into an empty environment with --to, --map and
// --identity: the flows run, their secrets are Dev's values, no
// placeholder reaches the service, and the key never shows in the output.
func TestRestoreIntoNewEnvironmentCommand(t *testing.T) {
	p := startDREmu(t)
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "dr.agekey")
	if err := os.WriteFile(keyFile, []byte(id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "backup")
	if code, out, stderr := p.run("export", "--repo", dir, "--env", "Contoso Dev", "--scope", "admin", "--encrypt-to", id.Recipient().String()); code != 0 {
		t.Fatalf("export: exit %d\n%s%s", code, out, stderr)
	}
	mapFile := writeFile(t, "map.yaml", "connections:\n  byConnector:\n    shared_office365: "+string(drOutlook)+"\n")
	args := append([]string{"restore", "--repo", dir, "--env", "Contoso Dev", "--rev", "main", "--to", "Contoso DR", "--map", mapFile, "--yes"},
		flowArgs("Invoice approval", "Request a laptop", "Archive old files", "Partner API health check")...)

	before := p.writes()
	code, out, stderr := p.run(args...)
	if code != ExitFailure || !strings.Contains(out, "unresolved-secret") {
		t.Fatalf("without --identity: exit %d, want %d with an unresolved-secret problem\n%s%s", code, ExitFailure, out, stderr)
	}
	if p.writes() != before {
		t.Fatalf("a refused restore made %d write(s)", p.writes()-before)
	}

	code, out, stderr = p.run(append(args, "--identity", keyFile)...)
	if code != 0 {
		t.Fatalf("restore with --identity: exit %d\n%s%s", code, out, stderr)
	}
	if !strings.Contains(out, "recreated") || !strings.Contains(out, "every flow is as the backup says") {
		t.Errorf("health report:\n%s", out)
	}
	secretKey := strings.TrimPrefix(id.String(), "AGE-SECRET-KEY-")
	if strings.Contains(out+stderr, secretKey) || strings.Contains(out+stderr, drPlanted) {
		t.Error("the output shows the age key or a secret value")
	}
	dev := map[string][]byte{}
	var dr []emulator.Flow
	for _, f := range p.inst.Server.Dump().Flows {
		switch {
		case f.DeletedTime != nil:
		case f.Environment == seed.DemoEnvDev:
			dev[f.DisplayName] = f.Definition
		case f.Environment == drEnv:
			dr = append(dr, f)
		}
	}
	if len(dr) != drFlowCount {
		t.Fatalf("%d flows in Contoso DR, want %d", len(dr), drFlowCount)
	}
	sawSecret := false
	for _, f := range dr {
		if bytes.Contains(f.Definition, []byte("<redacted:flowsync:")) || bytes.Contains(f.ConnectionReferences, []byte("<redacted:flowsync:")) {
			t.Errorf("flow %q: a placeholder reached the service", f.DisplayName)
		}
		if bytes.Contains(f.Definition, []byte(drPlanted)) {
			sawSecret = true
			if !jsonSame(f.Definition, dev[f.DisplayName]) {
				t.Errorf("flow %q: its secrets are not Dev's", f.DisplayName)
			}
		}
		if f.DisplayName != "Archive old files" && f.State != api.StateStarted {
			t.Errorf("flow %q is %s, want Started (run-ready)", f.DisplayName, f.State)
		}
		if bytes.Contains(f.ConnectionReferences, []byte(drOutlook2)) {
			t.Errorf("flow %q uses the Outlook connection the mapping did not choose", f.DisplayName)
		}
	}
	if !sawSecret {
		t.Error("no restored flow carries the sealed secret values")
	}
	// Converged: a second run writes nothing.
	before = p.writes()
	if code, out, stderr := p.run(append(args, "--identity", keyFile)...); code != 0 || p.writes() != before {
		t.Errorf("second restore: exit %d, %d write(s)\n%s%s", code, p.writes()-before, out, stderr)
	}
}

func jsonSame(a, b []byte) bool {
	ca, errA := canonJSON(a)
	cb, errB := canonJSON(b)
	return errA == nil && errB == nil && bytes.Equal(ca, cb)
}

func canonJSON(b []byte) ([]byte, error) { return canon.Canonicalize(b) }
