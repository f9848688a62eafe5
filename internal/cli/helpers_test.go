package cli

import (
	"testing"

	"github.com/flowsync/flowsync/internal/emulator"
	"github.com/flowsync/flowsync/internal/emulator/embedded"
	"github.com/flowsync/flowsync/internal/emulator/seed"
	"github.com/flowsync/flowsync/internal/testemu"
)

// startSnapshot runs an emulator loaded with snap (nil: the demo tenant) on
// loopback, without throttling and on the wall clock (the CLI reads it for
// tokens), and returns it with an environment holding tokens for the demo
// tenant's admin and a private pacer cache.
func startSnapshot(t *testing.T, snap *emulator.Snapshot) (*embedded.Instance, map[string]string) {
	t.Helper()
	e := testemu.Start(t, testemu.Options{Snapshot: snap, WallClock: true})
	return e.Inst, map[string]string{
		"FLOWSYNC_TOKEN":           e.Token(seed.DemoAdmin, tokenAudiences["flow"]),
		"FLOWSYNC_POWERAPPS_TOKEN": e.Token(seed.DemoAdmin, tokenAudiences["powerapps"]),
		"FLOWSYNC_CACHE_DIR":       t.TempDir(),
	}
}
