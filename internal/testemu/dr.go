package testemu

import (
	"time"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/emulator"
	"github.com/flowsync/flowsync/internal/emulator/seed"
)

// The disaster-recovery environment of DRSnapshot: invented ids.
const (
	DREnv api.EnvName = "5d1c0b7e-6c3a-4f0e-9a51-0d0d0d0d0d0d"
	// DROutlook and DROutlook2 are its two Outlook connections, so a
	// restore has to be told (by mapping) which one to use.
	DROutlook  api.ConnectionName = "shared-office365-dr000000-0000-4000-8000-000000000001"
	DROutlook2 api.ConnectionName = "shared-office365-dr000000-0000-4000-8000-000000000002"
)

// DRSnapshot is the demo tenant plus an empty environment "Contoso DR"
// (DREnv) with two Outlook connections and one SharePoint and one
// Approvals connection, which a restore maps automatically: the target of
// the restore-into-a-new-environment scenario.
func DRSnapshot() *emulator.Snapshot {
	snap := seed.Demo()
	at := seed.DemoNow().Add(-time.Hour)
	snap.Environments = append(snap.Environments, emulator.Environment{Name: DREnv, DisplayName: "Contoso DR", Sku: "Sandbox", CreatedTime: at})
	for _, c := range []emulator.Connection{
		{API: "shared_office365", Name: DROutlook, DisplayName: "it-ops@contoso.com"},
		{API: "shared_office365", Name: DROutlook2, DisplayName: "noreply@contoso.com"},
		{API: "shared_sharepointonline", Name: "shared-sharepointonl-dr000000-0000-4000-8000-000000000003", DisplayName: "it-ops@contoso.com"},
		{API: "shared_approvals", Name: "shared-approvals-dr000000-0000-4000-8000-000000000004", DisplayName: "Approvals"},
	} {
		c.Environment, c.Status, c.CreatedBy, c.CreatedTime = DREnv, "Connected", seed.DemoAdmin, at
		snap.Connections = append(snap.Connections, c)
	}
	return snap
}
