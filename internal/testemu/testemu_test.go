package testemu

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/flowsync/flowsync/internal/emulator"
	"github.com/flowsync/flowsync/internal/emulator/seed"
)

// TestStartDefaults: the zero Options serve the demo tenant on a manual
// clock at the demo's now; the admin's client reaches it and every call
// shows in the stats.
func TestStartDefaults(t *testing.T) {
	e := Start(t, Options{})
	if e.Clock == nil || !e.Clock.Now().Equal(seed.DemoNow()) {
		t.Fatalf("clock %v, want a manual clock at %v", e.Clock, seed.DemoNow())
	}
	admin := e.Admin()
	envs, err := e.Client(admin.ID).ListEnvironments(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(envs) != len(seed.Demo().Environments) {
		t.Errorf("%d environments, want the demo's %d", len(envs), len(seed.Demo().Environments))
	}
	if got := e.Total(); got.Calls != 1 || got.NonGet != 0 {
		t.Errorf("stats %+v, want the one GET", got)
	}
	e.Clock.Advance(time.Hour)
	if !e.Clock.Now().Equal(seed.DemoNow().Add(time.Hour)) {
		t.Error("the manual clock did not move")
	}
}

// TestFaultsReachTheClient: a fault set through SetFaults is what the next
// call meets, with MaxAttempts bounding the client's retries; SetFaults("")
// removes it.
func TestFaultsReachTheClient(t *testing.T) {
	e := Start(t, Options{MaxAttempts: 1})
	admin := e.Admin()
	c := e.Client(admin.ID)
	e.SetFaults("seed=1,5xx:path=/environments")
	if _, err := c.ListEnvironments(context.Background()); err == nil {
		t.Fatal("ListEnvironments under a 500 fault succeeded")
	}
	e.SetFaults("")
	if _, err := c.ListEnvironments(context.Background()); err != nil {
		t.Fatalf("after the faults were removed: %v", err)
	}
	var out struct {
		Value []struct {
			Status int `json:"status"`
		} `json:"value"`
	}
	e.Control(http.MethodGet, "/_emulator/requests?limit=2", &out)
	if len(out.Value) != 2 {
		t.Fatalf("%d logged requests, want 2", len(out.Value))
	}
}

// TestWallClockTLS: WallClock leaves the emulator on the real clock, so
// there is no manual clock to move; with TLS it serves https that the
// shared client trusts, and nothing else does.
func TestWallClockTLS(t *testing.T) {
	e := Start(t, Options{WallClock: true, TLS: true, Emulator: emulator.Options{Throttle: emulator.ThrottleConfig{Profile: emulator.ProfileConnector}}})
	if e.Clock != nil {
		t.Errorf("clock %v, want none", e.Clock)
	}
	if !strings.HasPrefix(e.URL(), "https://127.0.0.1:") {
		t.Fatalf("URL %s, want https on loopback", e.URL())
	}
	if _, err := e.Client(e.Admin().ID).ListEnvironments(context.Background()); err != nil {
		t.Errorf("the shared client over TLS: %v", err)
	}
	if resp, err := http.Get(e.URL() + "/_emulator/stats"); err == nil {
		resp.Body.Close()
		t.Error("a client that does not trust the emulator's certificate got an answer")
	}
	if tok := e.Token(e.Admin().ID, ""); tok == "" {
		t.Error("empty token")
	}
}
