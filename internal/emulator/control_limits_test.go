package emulator_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/flowsync/flowsync/internal/emulator"
)

// TestSeedBodyLimit: a snapshot body over Options.MaxSeedBytes is 413 with
// a message naming the limit, and the state is untouched (never a snapshot
// cut at the limit).
func TestSeedBodyLimit(t *testing.T) {
	e := newEnv(t, emulator.Options{MaxSeedBytes: 4096})
	before := e.s.Dump()
	body := mustJSON(fixture())
	if len(body) <= 4096 {
		t.Fatalf("fixture snapshot is %d bytes; the test needs more than the limit", len(body))
	}
	r := e.raw("POST", "", e.hs.URL+"/_emulator/seed", body)
	wantError(t, r, 413, "RequestEntityTooLarge")
	if !strings.Contains(string(r.body), "4096 bytes") || !strings.Contains(string(r.body), "nothing was changed") {
		t.Errorf("413 body %s does not name the limit and say nothing changed", r.body)
	}
	if len(e.s.Dump().Flows) != len(before.Flows) {
		t.Errorf("the state changed after a refused seed")
	}
	small := mustJSON(&emulator.Snapshot{Tenant: tenant})
	wantStatus(t, e.raw("POST", "", e.hs.URL+"/_emulator/seed", small), 200)
	if _, err := emulator.New(emulator.Options{MaxSeedBytes: -1}); err == nil {
		t.Error("New with a negative MaxSeedBytes: no error")
	}
}

// TestClockAdvanceRefusesOverflow: an advance that would overflow the
// offset or leave year 9999 is refused and changes nothing.
func TestClockAdvanceRefusesOverflow(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	if err := e.s.Advance(24 * time.Hour); err != nil {
		t.Fatal(err)
	}
	now := e.s.Now()
	for _, d := range []time.Duration{time.Duration(math.MaxInt64), time.Duration(math.MaxInt64 - int64(time.Hour)), -time.Hour} {
		if err := e.s.Advance(d); err == nil {
			t.Errorf("Advance(%v): no error", d)
		}
		if !e.s.Now().Equal(now) {
			t.Fatalf("Advance(%v) moved the clock to %v", d, e.s.Now())
		}
	}
	wantError(t, e.raw("POST", "", e.hs.URL+"/_emulator/clock/advance?by=2562047h", nil), 400, "InvalidControlRequest")
	wantError(t, e.raw("POST", "", e.hs.URL+"/_emulator/clock/advance?by=-1h", nil), 400, "InvalidControlRequest")
	if !e.s.Now().Equal(now) {
		t.Errorf("a refused control advance moved the clock to %v", e.s.Now())
	}
	// The state still dumps (a time past year 9999 would not encode).
	wantStatus(t, e.raw("GET", "", e.hs.URL+"/_emulator/state", nil), 200)
}
