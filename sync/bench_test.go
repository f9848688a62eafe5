package sync_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/emulator"
	"github.com/flowsync/flowsync/internal/emulator/seed"
	"github.com/flowsync/flowsync/repo"
	fsync "github.com/flowsync/flowsync/sync"
)

const (
	bulkSrc  api.EnvName        = "0b0b0000-0000-4000-8000-00000000a001"
	bulkDst  api.EnvName        = "0b0b0000-0000-4000-8000-00000000b002"
	bulkConn api.ConnectionName = "shared-sharepointonl-0b0b0000-0000-4000-8000-0000000000c1"
	dstConn  api.ConnectionName = "shared-sharepointonl-0b0b0000-0000-4000-8000-0000000000c2"
)

// bulkSnapshot is the demo tenant plus two environments: a source with n
// flows (copies of Dev's "Archive old files", each with its own name and
// display name, created by the admin) and an empty target; each has one
// SharePoint connection, so every reference auto-maps.
func bulkSnapshot(n int) *emulator.Snapshot {
	snap := seed.Demo()
	created := seed.DemoNow().Add(-24 * time.Hour)
	snap.Environments = append(snap.Environments,
		emulator.Environment{Name: bulkSrc, DisplayName: "Bulk source", Sku: "Sandbox", CreatedTime: created},
		emulator.Environment{Name: bulkDst, DisplayName: "Bulk target", Sku: "Production", CreatedTime: created})
	snap.Connections = append(snap.Connections,
		emulator.Connection{Environment: bulkSrc, API: "shared_sharepointonline", Name: bulkConn, DisplayName: "src", Status: "Connected", CreatedBy: seed.DemoAdmin, CreatedTime: created},
		emulator.Connection{Environment: bulkDst, API: "shared_sharepointonline", Name: dstConn, DisplayName: "dst", Status: "Connected", CreatedBy: seed.DemoAdmin, CreatedTime: created})
	var model emulator.Flow
	for _, f := range snap.Flows {
		if f.Name == seed.DemoFlowStopped {
			model = f
		}
	}
	for i := 0; i < n; i++ {
		f := model
		f.Environment = bulkSrc
		f.Name = api.FlowName(fmt.Sprintf("0b0b%04x-0000-4000-8000-%012x", i, i))
		f.DisplayName = fmt.Sprintf("Bulk flow %04d", i)
		f.Creator = seed.DemoAdmin
		f.Permissions = nil
		f.ConnectionReferences = bytes.ReplaceAll(f.ConnectionReferences,
			[]byte("shared-sharepointonl-00084864-f7b0-4bb5-b160-89df5b51c5e8"), []byte(bulkConn))
		f.CreatedTime, f.LastModifiedTime = created, created
		snap.Flows = append(snap.Flows, f)
	}
	return snap
}

// BenchmarkNoopImport1000 imports 1,000 flows that are already in the
// target, as a nightly promotion with nothing new does. It must make no
// write and read no more than the listings plus two reads a flow (the
// flow and its permissions, which the comparison needs).
func BenchmarkNoopImport1000(b *testing.B) {
	const n = 1000
	e := startEmu(b, bulkSnapshot(n))
	rp, err := repo.Open(context.Background(), b.TempDir()+"/backup", repo.OpenOptions{Bare: true})
	if err != nil {
		b.Fatal(err)
	}
	defer rp.Close()
	e.exportEnv(rp, bulkSrc)
	o := fsync.PromoteOptions{PlanOptions: fsync.PlanOptions{From: string(bulkSrc), To: string(bulkDst)}, Identity: e.identity(), Author: testAuthor()}
	eng := e.engine(rp)
	if res, err := eng.Promote(context.Background(), o); err != nil || res.Failed() > 0 {
		b.Fatalf("first import: %v (%d failed)", err, res.Failed())
	}
	// The most a no-op import may read: the target's listing in pages of
	// 250, two reads a flow, and the environments, connectors and
	// connections (the Graph directory lookup is not a Power Automate call).
	const fixed = 3
	limit := (n+249)/250 + 2*n + fixed
	b.ResetTimer()
	var reads, writes int
	for b.Loop() {
		c0, w0 := e.stats()
		res, err := eng.Promote(context.Background(), o)
		if err != nil {
			b.Fatal(err)
		}
		c1, w1 := e.stats()
		reads, writes = (c1-w1)-(c0-w0), w1-w0
		if writes != 0 || res.Result.Writes != 0 {
			b.Fatalf("a no-op import made %d writes", writes)
		}
		if reads > limit {
			b.Fatalf("a no-op import of %d flows made %d reads, more than %d", n, reads, limit)
		}
	}
	b.ReportMetric(float64(reads), "reads/op")
	b.ReportMetric(float64(writes), "writes/op")
	b.ReportMetric(float64(reads)/n, "reads/flow")
}
