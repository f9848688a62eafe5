package sync_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"

	"filippo.io/age"

	"github.com/flowsync/flowsync/export"
	"github.com/flowsync/flowsync/internal/emulator"
	"github.com/flowsync/flowsync/internal/emulator/seed"
	"github.com/flowsync/flowsync/internal/testemu"
	"github.com/flowsync/flowsync/repo"
	fsync "github.com/flowsync/flowsync/sync"
)

// A fresh environment after the loss of Dev: two Outlook connections (so
// the mapping must choose), one SharePoint and one Approvals connection
// (auto-mapped).
const (
	envDR         = testemu.DREnv
	connDROutlook = testemu.DROutlook
	connDROther   = testemu.DROutlook2
)

// drFlows are the Dev flows restored into the new environment: every
// connector they use has a connection there, and one has secrets.
var drFlows = []string{"Invoice approval", "Request a laptop", "Archive old files", string(seed.DemoFlowSecrets)}

// TestRestoreIntoNewEnvironmentWithSealedSecrets: Dev is backed up with its
// secrets sealed to an age key; after Dev is lost, its flows are restored
// into a new, empty environment with a mapping file and the key: the flows
// run (Started as in the tree), their secrets are the real values, and no
// placeholder reaches the service.
func TestRestoreIntoNewEnvironmentWithSealedSecrets(t *testing.T) {
	e := startEmu(t, testemu.DRSnapshot())
	rp := openRepo(t, false)
	ctx := context.Background()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := export.Run(ctx, export.ClientSource{Client: e.client, Admin: true}, rp, export.Options{
		Envs: []string{string(seed.DemoEnvDev)}, Branch: "main", Author: repo.Signature{Name: "Sync Test", Email: "sync-test@example.invalid"},
		Now: e.Clock.Now, Sealer: export.AgeSealer{id.Recipient()},
	}, nil); err != nil {
		t.Fatal(err)
	}
	mapFile := writeMap(t, `connections:
  byConnector:
    shared_office365: `+string(connDROutlook)+`
`)
	opts := fsync.RestoreOptions{
		Rev: "main", Env: "Contoso Dev", To: "Contoso DR", MapFile: mapFile, Flows: drFlows,
		Identity: e.identity(), Author: testAuthor(),
	}

	// Without the key the secrets have no value: the plan says so and
	// nothing is written.
	_, w0 := e.stats()
	res, err := e.engine(rp).Restore(ctx, opts)
	if !errors.Is(err, fsync.ErrPlanProblems) {
		t.Fatalf("restore without --identity: %v, want the plan's problems", err)
	}
	found := false
	for _, p := range res.Plan.Problems {
		found = found || p.Code == "unresolved-secret"
	}
	if !found {
		t.Errorf("no unresolved-secret problem: %+v", res.Plan.Problems)
	}
	if _, w := e.stats(); w != w0 {
		t.Fatalf("a refused restore made %d write(s)", w-w0)
	}

	opts.Identities = []age.Identity{id}
	res, err = e.engine(rp).Restore(ctx, opts)
	if err != nil {
		for _, p := range res.Plan.Problems {
			t.Logf("problem %s %s: %s", p.Code, p.Where, p.Message)
		}
		t.Fatal(err)
	}
	if !res.Healthy() {
		for _, h := range res.Health {
			t.Logf("%s %q: %s %s", h.How, h.DisplayName, h.State, h.Problem)
		}
		t.Fatal("restore into the new environment is not healthy")
	}
	dev := map[string]emulator.Flow{}
	for _, f := range e.flows(seed.DemoEnvDev) {
		dev[f.DisplayName] = f
	}
	dr := e.flows(envDR)
	if len(dr) != len(drFlows) {
		t.Fatalf("%d flows in the new environment, want %d", len(dr), len(drFlows))
	}
	for _, f := range dr {
		for what, b := range map[string][]byte{"definition": f.Definition, "references": f.ConnectionReferences, "name": []byte(f.DisplayName)} {
			if bytes.Contains(b, []byte("<redacted:flowsync:")) {
				t.Errorf("flow %q: a placeholder reached the service in its %s", f.DisplayName, what)
			}
		}
		src, ok := dev[f.DisplayName]
		if !ok {
			t.Errorf("flow %q is not a Dev flow", f.DisplayName)
			continue
		}
		if f.State != src.State {
			t.Errorf("flow %q is %s, Dev had it %s", f.DisplayName, f.State, src.State)
		}
		if !jsonEqual(t, f.Definition, src.Definition) {
			t.Errorf("flow %q: the definition differs from Dev's (secrets not restored?)", f.DisplayName)
		}
		for key, r := range refsOf(t, f) {
			if r.ConnectionName == connDROther {
				t.Errorf("flow %q reference %s bound to the connection the mapping did not choose", f.DisplayName, key)
			}
		}
	}

	// The new environment equals the tree, mapped: nothing left to do.
	p, err := e.engine(rp).MakePlan(ctx, fsync.PlanOptions{From: "Contoso Dev", To: "Contoso DR", MapFile: mapFile, Flows: drFlows, Identities: []age.Identity{id}})
	if err != nil {
		t.Fatal(err)
	}
	if fsync.HasWork(p.Plan) {
		for _, c := range p.Plan.Changes {
			t.Errorf("still to do: %s %q %+v", c.Action, c.DisplayName, c.Parts)
		}
	}
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}
