package pacer

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The window must always hold exactly the last N of the sends it was given
// (sorted), whatever the order of adds and removes.
func TestWindowModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for trial := range 200 {
		n := 1 + rng.IntN(6)
		w := newWindow(Limit{N: n, Per: time.Second}, time.Millisecond)
		var model []time.Time
		at := t0
		for step := range 100 {
			switch {
			case rng.IntN(5) == 0 && len(w.held()) > 0:
				victim := w.held()[rng.IntN(len(w.held()))]
				if !w.remove(victim) {
					t.Fatalf("trial %d step %d: remove of a held send failed", trial, step)
				}
				i := slices.IndexFunc(model, func(t time.Time) bool { return t.Equal(victim) })
				// remove takes the newest equal send
				for j := len(model) - 1; j >= 0; j-- {
					if model[j].Equal(victim) {
						i = j
						break
					}
				}
				model = slices.Delete(model, i, i+1)
			case rng.IntN(10) == 0:
				// out of order: the wall clock stepped back
				back := at.Add(-time.Duration(rng.IntN(3000)) * time.Millisecond)
				w.add(back)
				model = append(model, back)
			default:
				at = at.Add(time.Duration(rng.IntN(400)) * time.Millisecond)
				w.add(at)
				model = append(model, at)
			}
			slices.SortStableFunc(model, time.Time.Compare)
			if len(model) > n {
				model = model[len(model)-n:]
			}
			if !slices.EqualFunc(model, w.held(), time.Time.Equal) {
				diff := cmp.Diff(model, w.held(), cmp.Comparer(time.Time.Equal))
				t.Fatalf("trial %d step %d: held (-want +got):\n%s", trial, step, diff)
			}
			var want time.Time
			if len(model) == n {
				want = model[0].Add(time.Second + time.Millisecond)
			}
			if got, ok := w.next(); !ok || !got.Equal(want) {
				t.Fatalf("trial %d step %d: next = %v, want %v", trial, step, got, want)
			}
			if len(w.buf) > 2*n+1 {
				t.Fatalf("trial %d step %d: buffer grew to %d for N=%d", trial, step, len(w.buf), n)
			}
		}
	}
}

func TestETALarge(t *testing.T) {
	p, _ := newTestPacer(t, Config{})
	// The default limits with many calls: the calls window binds, since 5/60s
	// allows no more than 300 calls an hour anyway.
	got := p.ETA(100000, 50000)
	want := t0.Add(time.Duration(100000/5-1) * (60*time.Second + 600*time.Millisecond))
	if !got.Equal(want) {
		t.Errorf("ETA = t0+%v, want t0+%v", got.Sub(t0), want.Sub(t0))
	}
}
