package seed

import (
	"testing"

	"github.com/flowsync/flowsync/internal/emulator"
	"github.com/flowsync/flowsync/internal/testcorpus"
)

// TestSeedsLoadIntoEmulator checks the seeds against the emulator's own
// validation: what this package produces, the server must accept.
func TestSeedsLoadIntoEmulator(t *testing.T) {
	snaps := map[string]func(t *testing.T) *emulator.Snapshot{
		"empty": func(*testing.T) *emulator.Snapshot { return Empty() },
		"demo":  func(*testing.T) *emulator.Snapshot { return Demo() },
		"demo plus corpus": func(t *testing.T) *emulator.Snapshot {
			s, err := FromCorpus(testcorpus.Dir(t), "7d6c5b4a-3928-4716-8a5b-4c3d2e1f0a9b", Demo())
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
	}
	for _, name := range []string{"empty", "demo", "demo plus corpus"} {
		t.Run(name, func(t *testing.T) {
			snap := snaps[name](t)
			srv, err := emulator.New(emulator.Options{})
			if err != nil {
				t.Fatalf("emulator.New: %v", err)
			}
			if err := srv.Load(snap); err != nil {
				t.Fatalf("emulator rejects the %s seed: %v", name, err)
			}
			dump := srv.Dump()
			if len(dump.Flows) != len(snap.Flows) || len(dump.Connections) != len(snap.Connections) || len(dump.Principals) != len(snap.Principals) {
				t.Errorf("dump has %d flows, %d connections, %d principals; seed has %d, %d, %d",
					len(dump.Flows), len(dump.Connections), len(dump.Principals), len(snap.Flows), len(snap.Connections), len(snap.Principals))
			}
		})
	}
}
