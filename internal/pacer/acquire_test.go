package pacer

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func mustAcquire(t *testing.T, p *Pacer, write bool) func() {
	t.Helper()
	release, err := p.Acquire(context.Background(), write)
	if err != nil {
		t.Fatalf("Acquire: %v", err)
	}
	return release
}

func TestAcquireMeasuresFromRelease(t *testing.T) {
	l := Limit{1, 10 * time.Second}
	span := l.Per + DefaultMargin(l.Per)
	p, clk := newTestPacer(t, Config{Calls: l})
	release := mustAcquire(t, p, false)
	if st := p.Stats(); st.InFlight != 1 || st.Calls != 1 {
		t.Fatalf("Stats = %+v, want 1 call in flight", st)
	}

	// While the call is in flight no time frees its slot: no timer runs.
	done := waitAsync(t, context.Background(), p, false, 0)
	if n := clk.Timers(); n != 0 {
		t.Fatalf("%d timers armed while the only slot is in flight", n)
	}
	clk.Advance(3 * time.Second) // the response takes 3s
	select {
	case err := <-done:
		t.Fatalf("call went while the slot was in flight (err %v)", err)
	default:
	}
	release()
	release() // only the first release counts
	if st := p.Stats(); st.InFlight != 0 {
		t.Fatalf("InFlight = %d after release", st.InFlight)
	}
	if _, ok := clk.AdvanceToNext(); !ok {
		t.Fatal("no timer after release")
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got, want := clk.Now(), t0.Add(3*time.Second+span); !got.Equal(want) {
		t.Errorf("next call at t0+%v, want t0+%v (window measured from the release)", got.Sub(t0), want.Sub(t0))
	}
}

func TestAcquireInFlightCountsAsNewest(t *testing.T) {
	l := Limit{2, 10 * time.Second}
	span := l.Per + DefaultMargin(l.Per)
	p, clk := newTestPacer(t, Config{Calls: l})
	a := mustAcquire(t, p, false)
	b := mustAcquire(t, p, false)
	done := waitAsync(t, context.Background(), p, false, 0)
	// Both calls may reach the server at any time until released: no time
	// frees a slot.
	if n := clk.Timers(); n != 0 {
		t.Fatalf("%d timers armed with every slot in flight", n)
	}
	clk.Advance(time.Second)
	a()
	// b still counts as the newest call; a counts from its release.
	if _, ok := clk.AdvanceToNext(); !ok {
		t.Fatal("no timer after the release")
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got, want := clk.Now(), t0.Add(time.Second+span); !got.Equal(want) {
		t.Errorf("call went at t0+%v, want t0+%v", got.Sub(t0), want.Sub(t0))
	}
	if st := p.Stats(); st.InFlight != 1 {
		t.Errorf("InFlight = %d, want 1", st.InFlight)
	}
	b()
}

func TestAcquireWriteInFlightLetsReadsPass(t *testing.T) {
	p, clk := newTestPacer(t, Config{Calls: Limit{5, time.Second}, Writes: Limit{1, time.Second}})
	release := mustAcquire(t, p, true)
	defer release()
	write := waitAsync(t, context.Background(), p, true, 0)
	mustWait(t, p, false)
	if st := p.Stats(); st.Waiting != 1 || st.Calls != 2 {
		t.Fatalf("Stats = %+v, want the write waiting and the read through", st)
	}
	clk.Advance(time.Second)
	release()
	if _, ok := clk.AdvanceToNext(); !ok {
		t.Fatal("no timer for the write after the release")
	}
	if err := <-write; err != nil {
		t.Fatal(err)
	}
	if got, want := clk.Now(), t0.Add(2*time.Second+DefaultMargin(time.Second)); !got.Equal(want) {
		t.Errorf("write went at t0+%v, want t0+%v", got.Sub(t0), want.Sub(t0))
	}
}

// acquireAsync starts p.Acquire in a goroutine and returns once the pacer
// counts it as waiting; the result carries the release (nil on error).
func acquireAsync(t *testing.T, ctx context.Context, p *Pacer, write bool) <-chan acquired {
	t.Helper()
	done := make(chan acquired, 1)
	changed := p.Changed()
	before := p.Stats().Waiting
	go func() {
		r, err := p.Acquire(ctx, write)
		done <- acquired{r, err}
	}()
	for p.Stats().Waiting == before {
		<-changed
		changed = p.Changed()
	}
	return done
}

type acquired struct {
	release func()
	err     error
}

func TestAcquireCancel(t *testing.T) {
	l := Limit{1, 10 * time.Second}
	span := l.Per + DefaultMargin(l.Per)
	p, clk := newTestPacer(t, Config{Calls: l, Writes: Limit{1, time.Hour}})
	mustAcquire(t, p, false)()

	t.Run("while queued", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		done := acquireAsync(t, ctx, p, true)
		cancel()
		if got := <-done; !errors.Is(got.err, context.Canceled) || got.release != nil {
			t.Fatalf("Acquire = %v, %v; want context.Canceled and no release", got.release != nil, got.err)
		}
		if st := p.Stats(); st.Waiting != 0 || st.InFlight != 0 || st.Calls != 1 {
			t.Fatalf("Stats = %+v, want nothing left of the cancelled call", st)
		}
	})

	t.Run("after grant", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		done := acquireAsync(t, ctx, p, true)
		// Grant it and cancel its context before it runs, so Acquire sees
		// both and must give the slot back.
		p.mu.Lock()
		cancel()
		clk.AdvanceTo(t0.Add(span))
		p.dispatch()
		granted := p.calls.inflight
		p.mu.Unlock()
		if granted != 1 {
			t.Fatalf("dispatch did not grant the waiter (in flight %d)", granted)
		}
		if got := <-done; !errors.Is(got.err, context.Canceled) || got.release != nil {
			t.Fatalf("Acquire = %v, %v; want context.Canceled and no release", got.release != nil, got.err)
		}
		if st := p.Stats(); st.InFlight != 0 || st.Calls != 1 || st.Writes != 0 {
			t.Fatalf("Stats = %+v, want the grant taken back", st)
		}
		// The slot is free at once: the cancelled grant left nothing behind.
		mustAcquire(t, p, true)()
		if got := clk.Now(); !got.Equal(t0.Add(span)) {
			t.Errorf("next call at t0+%v, want t0+%v", got.Sub(t0), span)
		}
	})
}

type call struct {
	grant, done time.Time
	write       bool
}

// TestAcquireConcurrent runs 32 goroutines whose calls take a random fake
// time between Acquire and release, and checks the rule that makes the
// server safe whatever the delays: when a call is granted, fewer than N
// earlier calls may have been released within the span before it (or be
// still in flight).
func TestAcquireConcurrent(t *testing.T) {
	calls, writes := Limit{20, time.Second}, Limit{50, 5 * time.Second}
	p, clk := newTestPacer(t, Config{Calls: calls, Writes: writes})
	const workers, each = 32, 30

	var live, sleeping atomic.Int64
	live.Store(workers)
	kick := make(chan struct{}, 1)
	poke := func() {
		select {
		case kick <- struct{}{}:
		default:
		}
	}
	got := make([][]call, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for i := range workers {
		rng := rand.New(rand.NewPCG(uint64(i), 99))
		wg.Go(func() {
			defer func() { live.Add(-1); poke() }()
			for range each {
				write := rng.IntN(3) == 0
				release, err := p.Acquire(context.Background(), write)
				if err != nil {
					errs[i] = err
					return
				}
				c := call{grant: clk.Now(), write: write}
				tm := clk.NewTimer(time.Duration(1+rng.IntN(400)) * time.Millisecond)
				sleeping.Add(1)
				poke()
				<-tm.C()
				sleeping.Add(-1)
				c.done = clk.Now()
				release()
				got[i] = append(got[i], c)
			}
		})
	}
	for live.Load() > 0 {
		changed := p.Changed()
		if int64(p.Stats().Waiting)+sleeping.Load() == live.Load() {
			if _, ok := clk.AdvanceToNext(); ok {
				continue
			}
		}
		select {
		case <-changed:
		case <-kick:
		}
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	all := slices.Concat(got...)
	if len(all) != workers*each {
		t.Fatalf("%d calls, want %d", len(all), workers*each)
	}
	check := func(kind string, l Limit, writesOnly bool) {
		span := l.Per + DefaultMargin(l.Per)
		for _, x := range all {
			if writesOnly && !x.write {
				continue
			}
			n := 0
			for _, y := range all {
				if y == x || (writesOnly && !y.write) || y.grant.After(x.grant) {
					continue
				}
				// y may have reached the server as late as y.done.
				if y.done.Add(span).After(x.grant) {
					n++
				}
			}
			if n >= l.N {
				t.Fatalf("%s window %s: call granted at t0+%v had %d calls within the span before it", kind, l, x.grant.Sub(t0), n)
			}
		}
	}
	check("calls", calls, false)
	check("writes", writes, true)
}

func TestSaveCountsInFlightAsNow(t *testing.T) {
	file := t.TempDir() + "/h.json"
	clk := NewFakeClock(t0)
	p := historyPacer(t, clk, file, "id")
	release := mustAcquire(t, p, true)
	defer release()
	clk.Advance(2 * time.Second)
	if err := p.Save(); err != nil {
		t.Fatal(err)
	}
	q := historyPacer(t, clk, file, "id")
	calls, writes := windows(q)
	want := []time.Time{t0.Add(2 * time.Second)}
	if !slices.EqualFunc(want, calls, time.Time.Equal) || !slices.EqualFunc(want, writes, time.Time.Equal) {
		t.Errorf("loaded calls %v writes %v, want the call in flight at t0+2s", calls, writes)
	}
}
