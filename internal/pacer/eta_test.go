package pacer

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// bruteETA tries every order of reads and writes, sending each call at the
// earliest instant the full history allows but not before the call ahead of
// it, and returns the earliest possible finish.
func bruteETA(now, paused time.Time, calls, writes []time.Time, cl, wl Limit, cm, wm time.Duration, n, nw int) time.Time {
	var best time.Time
	for mask := 0; mask < 1<<n; mask++ {
		if popcount(mask) != nw {
			continue
		}
		ac := append([]time.Time(nil), calls...)
		aw := append([]time.Time(nil), writes...)
		var last time.Time
		for k := 0; k < n; k++ {
			write := mask&(1<<k) != 0
			t := later(later(now, paused), last) // the order is the send order
			if len(ac) >= cl.N {
				t = later(t, ac[len(ac)-cl.N].Add(cl.Per+cm))
			}
			if write && len(aw) >= wl.N {
				t = later(t, aw[len(aw)-wl.N].Add(wl.Per+wm))
			}
			ac = append(ac, t)
			if write {
				aw = append(aw, t)
			}
			last = t
		}
		if best.IsZero() || last.Before(best) {
			best = last
		}
	}
	return best
}

func popcount(x int) int {
	n := 0
	for ; x != 0; x &= x - 1 {
		n++
	}
	return n
}

type etaCase struct {
	cl, wl        Limit
	calls, writes []time.Time // history
	paused        time.Time
	n, nw         int
	pacer         *Pacer
	clock         *FakeClock
	optimum       time.Time
}

// randomETACase builds a pacer with a random history (which may even break
// the limits, as a history written by another process can) and pause.
func randomETACase(t *testing.T, rng *rand.Rand) etaCase {
	t.Helper()
	c := etaCase{
		cl: Limit{1 + rng.IntN(4), time.Duration(1+rng.IntN(10)) * time.Second},
		wl: Limit{1 + rng.IntN(3), time.Duration(1+rng.IntN(20)) * time.Second},
	}
	c.pacer, c.clock = newTestPacer(t, Config{Calls: c.cl, Writes: c.wl})
	at := t0.Add(-30 * time.Second)
	for range rng.IntN(12) {
		at = at.Add(time.Duration(rng.IntN(5000)) * time.Millisecond)
		if at.After(t0) {
			break
		}
		write := rng.IntN(2) == 0
		c.pacer.mu.Lock()
		c.pacer.record(at, write)
		c.pacer.mu.Unlock()
		c.calls = append(c.calls, at)
		if write {
			c.writes = append(c.writes, at)
		}
	}
	if rng.IntN(3) == 0 {
		c.paused = t0.Add(time.Duration(rng.IntN(15000)) * time.Millisecond)
		c.pacer.Pause(c.paused)
	}
	c.n = rng.IntN(9)
	if c.n > 0 {
		c.nw = rng.IntN(c.n + 1)
	}
	c.optimum = t0
	if c.n > 0 {
		c.optimum = bruteETA(t0, c.paused, c.calls, c.writes, c.cl, c.wl, DefaultMargin(c.cl.Per), DefaultMargin(c.wl.Per), c.n, c.nw)
	}
	return c
}

// ETA predicts exactly when the pacer lets the last call go if all of them
// are queued now, writes first: the check runs the real pacer on a fake
// clock. The prediction is achievable, so never earlier than the brute-force
// optimum, and it is the optimum when all calls are of one kind.
func TestETA(t *testing.T) {
	rng := rand.New(rand.NewPCG(42, 2025))
	for trial := range 300 {
		c := randomETACase(t, rng)
		eta := c.pacer.ETA(c.n, c.nw)
		describe := func() string { return fmtCase(c) }
		if eta.Before(c.optimum) {
			t.Fatalf("trial %d: %s: ETA t0+%v is before the optimum t0+%v", trial, describe(), eta.Sub(t0), c.optimum.Sub(t0))
		}
		if (c.nw == 0 || c.nw == c.n) && !eta.Equal(c.optimum) {
			t.Fatalf("trial %d: %s: ETA t0+%v, want the optimum t0+%v", trial, describe(), eta.Sub(t0), c.optimum.Sub(t0))
		}

		plans := make([][]bool, c.n)
		for i := range plans {
			plans[i] = []bool{i < c.nw}
		}
		sends := driveOrdered(t, c.pacer, c.clock, plans, true)
		last := t0
		if len(sends) > 0 {
			last = sends[len(sends)-1].at
		}
		if !last.Equal(eta) {
			t.Fatalf("trial %d: %s: pacer sent the last call at t0+%v, ETA said t0+%v", trial, describe(), last.Sub(t0), eta.Sub(t0))
		}
	}
}

func fmtCase(c etaCase) string {
	rel := func(ts []time.Time) []time.Duration {
		out := make([]time.Duration, len(ts))
		for i, t := range ts {
			out[i] = t.Sub(t0)
		}
		return out
	}
	return fmt.Sprintf("calls %s writes %s, history %v, writes %v, paused t0%+v, %d calls %d writes",
		c.cl, c.wl, rel(c.calls), rel(c.writes), c.paused.Sub(t0), c.n, c.nw)
}

func TestETAFixed(t *testing.T) {
	tests := []struct {
		name          string
		calls, writes int
		want          time.Duration
	}{
		{"nothing", 0, 0, 0},
		{"one window", 5, 0, 0},
		{"four windows", 20, 0, 3 * (60*time.Second + 600*time.Millisecond)},
		{"writes clamped to calls", 5, 9, 0},
		{"negative", -3, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, _ := newTestPacer(t, Config{})
			if got := p.ETA(tc.calls, tc.writes); !got.Equal(t0.Add(tc.want)) {
				t.Errorf("ETA(%d, %d) = t0%+v, want t0+%v", tc.calls, tc.writes, got.Sub(t0), tc.want)
			}
		})
	}
}
