package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/client"
	"github.com/flowsync/flowsync/internal/emulator"
	"github.com/flowsync/flowsync/internal/emulator/seed"
)

// adminClient is an API client of the emulator signed in as the demo admin,
// for damaging an environment the way people do.
func (p *promoteEmu) adminClient() *client.Client {
	p.t.Helper()
	return p.clientAs(seed.DemoAdmin)
}

// clientAs is an API client of the emulator signed in as principal.
func (p *promoteEmu) clientAs(principal api.PrincipalID) *client.Client {
	p.t.Helper()
	return p.emu.Client(principal)
}

func (p *promoteEmu) devFlow(name api.FlowName) (emulator.Flow, bool) {
	for _, f := range p.inst.Server.Dump().Flows {
		if f.Environment == seed.DemoEnvDev && f.Name == name && f.DeletedTime == nil {
			return f, true
		}
	}
	return emulator.Flow{}, false
}

func TestRestoreCommand(t *testing.T) {
	p := startPromoteEmu(t, emulator.Options{})
	dir := p.backup()
	ctx := context.Background()
	c := p.adminClient()
	// A flow to the recycle bin, one turned off.
	if _, err := c.DeleteFlow(ctx, seed.DemoEnvDev, seed.DemoFlowRequestLaptop, true); err != nil {
		t.Fatal(err)
	}
	if err := c.StopFlow(ctx, seed.DemoEnvDev, seed.DemoFlowInvoiceApproval, true); err != nil {
		t.Fatal(err)
	}

	// The plan alone writes nothing.
	before := p.writes()
	code, out, stderr := p.run("restore", "--repo", dir, "--env", "Contoso Dev", "--at", "0h", "--dry-run")
	if code != 0 {
		t.Fatalf("dry run: exit %d\n%s%s", code, out, stderr)
	}
	for _, want := range []string{"--at 0h: the last backup at or before it is commit", "Request a laptop", "Cost", "dry run: nothing was written"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, out)
		}
	}
	// No terminal and no --yes: refused before any write.
	if code, _, stderr := p.run("restore", "--repo", dir, "--env", "Contoso Dev", "--rev", "main"); code != ExitUsage || !strings.Contains(stderr, "--yes") {
		t.Errorf("without --yes: exit %d, stderr:\n%s", code, stderr)
	}
	if w := p.writes(); w != before {
		t.Fatalf("dry run and refused run made %d write(s)", w-before)
	}

	code, out, stderr = p.run("restore", "--repo", dir, "--env", "Contoso Dev", "--rev", "main", "--yes")
	if code != 0 {
		t.Fatalf("restore: exit %d\n%s%s", code, out, stderr)
	}
	for _, want := range []string{"recycle bin", `"Request a laptop"`, "updated", `"Invoice approval"`, "every flow is as the backup says"} {
		if !strings.Contains(out, want) {
			t.Errorf("restore output lacks %q:\n%s", want, out)
		}
	}
	if f, ok := p.devFlow(seed.DemoFlowRequestLaptop); !ok || f.State != api.StateStarted {
		t.Errorf("Request a laptop after the restore: found %v, state %q; want its own id, Started", ok, f.State)
	}
	if f, ok := p.devFlow(seed.DemoFlowInvoiceApproval); !ok || f.State != api.StateStarted {
		t.Errorf("Invoice approval after the restore: state %q, want Started", f.State)
	}

	// Again, as JSON: nothing to do, nothing written.
	before = p.writes()
	code, out, stderr = p.run("--output", "json", "restore", "--repo", dir, "--env", "Contoso Dev", "--rev", "main", "--yes")
	if code != 0 {
		t.Fatalf("second restore: exit %d\n%s%s", code, out, stderr)
	}
	if w := p.writes(); w != before {
		t.Errorf("second restore made %d write(s), want 0", w-before)
	}
	var doc struct {
		Commit  struct{ Hash string }
		Healthy bool
		Health  []struct {
			How         string
			DisplayName string
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("JSON output: %v\n%s", err, out)
	}
	if !doc.Healthy || len(doc.Commit.Hash) != 40 || len(doc.Health) == 0 {
		t.Errorf("JSON document: %+v", doc)
	}
	for _, h := range doc.Health {
		if h.How != "unchanged" && h.How != "leftAlone" {
			t.Errorf("second restore: %q %s", h.DisplayName, h.How)
		}
	}
}

func TestRestoreUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no repo", []string{"restore", "--env", "x", "--rev", "main"}, "--repo"},
		{"no env", []string{"restore", "--repo", "x", "--rev", "main"}, "--env"},
		{"no backup named", []string{"restore", "--repo", "x", "--env", "x"}, "--rev REV or --at TIME"},
		{"rev and at", []string{"restore", "--repo", "x", "--env", "x", "--rev", "main", "--at", "1d"}, "exclude"},
		{"bad at", []string{"restore", "--repo", "x", "--env", "x", "--at", "before lunch"}, "--at"},
		{"map without to", []string{"restore", "--repo", "x", "--env", "x", "--rev", "main", "--map", "m.yaml"}, "--to"},
		{"bad scope", []string{"restore", "--repo", "x", "--env", "x", "--rev", "main", "--scope", "root"}, "--scope"},
		{"argument", []string{"restore", "--repo", "x", "--env", "x", "--rev", "main", "Sales"}, "--flow"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := run(t, nil, tt.args...)
			if code != ExitUsage || !strings.Contains(stderr, tt.want) {
				t.Fatalf("exit %d, want %d; stderr does not say %q:\n%s", code, ExitUsage, tt.want, stderr)
			}
		})
	}
}
