package pacer

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type send struct {
	at    time.Time
	write bool
}

// drive runs one goroutine per plan; each calls p.Wait for every entry of
// its plan (true = write) and records the fake time at which Wait returned.
// Whenever every live goroutine is blocked in Wait, drive advances clk to
// the next timer deadline. It returns all sends in time order.
func drive(t *testing.T, p *Pacer, clk *FakeClock, plans [][]bool) []send {
	t.Helper()
	return driveOrdered(t, p, clk, plans, false)
}

// driveOrdered is drive; with ordered, each goroutine is started only after
// the one before has made its first call or queued for it, so the queue
// holds them in plan order.
func driveOrdered(t *testing.T, p *Pacer, clk *FakeClock, plans [][]bool, ordered bool) []send {
	t.Helper()
	var live atomic.Int64
	live.Store(int64(len(plans)))
	exited := make(chan struct{}, len(plans))
	sends := make([][]send, len(plans))
	errs := make([]error, len(plans))
	var wg sync.WaitGroup
	for i, plan := range plans {
		wg.Add(1)
		changed := p.Changed()
		st := p.Stats()
		before := st.Calls + int64(st.Waiting)
		go func() {
			defer wg.Done()
			defer func() { live.Add(-1); exited <- struct{}{} }()
			for _, write := range plan {
				if err := p.Wait(context.Background(), write); err != nil {
					errs[i] = err
					return
				}
				sends[i] = append(sends[i], send{clk.Now(), write})
			}
		}()
		for ordered && len(plan) > 0 {
			if st := p.Stats(); st.Calls+int64(st.Waiting) > before {
				break
			}
			<-changed
			changed = p.Changed()
		}
	}
	for {
		changed := p.Changed()
		n := live.Load()
		if n == 0 {
			break
		}
		if int64(p.Stats().Waiting) == n {
			if _, ok := clk.AdvanceToNext(); ok {
				continue
			}
		}
		select {
		case <-changed:
		case <-exited:
		}
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("Wait: %v", err)
	}
	all := slices.Concat(sends...)
	slices.SortStableFunc(all, func(a, b send) int { return a.at.Compare(b.at) })
	return all
}

// checkWindow fails if any N+1 of times (sorted) fall within per+margin,
// i.e. if the call N places later came sooner than the window allows.
func checkWindow(t *testing.T, kind string, times []time.Time, l Limit, margin time.Duration) {
	t.Helper()
	for i := 0; i+l.N < len(times); i++ {
		if gap := times[i+l.N].Sub(times[i]); gap < l.Per+margin {
			t.Fatalf("%s window %s exceeded: sends %d and %d are %s apart, want >= %s", kind, l, i, i+l.N, gap, l.Per+margin)
		}
	}
}

func sendTimes(sends []send, writesOnly bool) []time.Time {
	var out []time.Time
	for _, s := range sends {
		if !writesOnly || s.write {
			out = append(out, s.at)
		}
	}
	return out
}

func newTestPacer(t *testing.T, cfg Config) (*Pacer, *FakeClock) {
	t.Helper()
	clk := NewFakeClock(t0)
	cfg.Clock = clk
	p, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p, clk
}

func TestWindowExactness(t *testing.T) {
	p, clk := newTestPacer(t, Config{Calls: Limit{5, 60 * time.Second}})
	margin := DefaultMargin(60 * time.Second)
	sends := drive(t, p, clk, [][]bool{make([]bool, 20)})

	got := sendTimes(sends, false)
	want := make([]time.Time, 20)
	for i := range want {
		if i < 5 {
			want[i] = t0
		} else {
			want[i] = want[i-5].Add(60*time.Second + margin)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("send times (-want +got):\n%s", diff)
	}
	checkWindow(t, "calls", got, Limit{5, 60 * time.Second}, margin)
	if st := p.Stats(); st.Calls != 20 || st.Writes != 0 || st.Waiting != 0 {
		t.Errorf("Stats = %+v, want 20 calls, 0 writes, 0 waiting", st)
	}
}

func randomPlans(rng *rand.Rand, workers, calls int, writeShare float64) [][]bool {
	plans := make([][]bool, workers)
	for i := range plans {
		plans[i] = make([]bool, calls)
		for j := range plans[i] {
			plans[i][j] = rng.Float64() < writeShare
		}
	}
	return plans
}

func TestBothWindows(t *testing.T) {
	calls, writes := Limit{50, time.Second}, Limit{200, 5 * time.Second}
	tests := []struct {
		name       string
		workers    int
		writeShare float64
	}{
		{"writes bound", 4, 0.9},
		{"calls bound", 4, 0.5},
		{"single worker", 1, 0.8},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, clk := newTestPacer(t, Config{Calls: calls, Writes: writes})
			rng := rand.New(rand.NewPCG(1, uint64(tc.workers)))
			sends := drive(t, p, clk, randomPlans(rng, tc.workers, 300, tc.writeShare))
			checkWindow(t, "calls", sendTimes(sends, false), calls, DefaultMargin(calls.Per))
			checkWindow(t, "writes", sendTimes(sends, true), writes, DefaultMargin(writes.Per))
			nw := len(sendTimes(sends, true))
			if st := p.Stats(); st.Calls != int64(len(sends)) || st.Writes != int64(nw) {
				t.Errorf("Stats = %+v, want %d calls and %d writes", st, len(sends), nw)
			}
		})
	}
}

func TestConcurrentWaiters(t *testing.T) {
	calls, writes := Limit{50, time.Second}, Limit{200, 5 * time.Second}
	p, clk := newTestPacer(t, Config{Calls: calls, Writes: writes})
	rng := rand.New(rand.NewPCG(7, 7))
	sends := drive(t, p, clk, randomPlans(rng, 64, 50, 0.3))
	if len(sends) != 64*50 {
		t.Fatalf("%d sends, want %d", len(sends), 64*50)
	}
	checkWindow(t, "calls", sendTimes(sends, false), calls, DefaultMargin(calls.Per))
	checkWindow(t, "writes", sendTimes(sends, true), writes, DefaultMargin(writes.Per))
}

// waitAsync starts p.Wait in a goroutine and returns its result channel,
// once the pacer counts it as waiting (or it has already finished).
func waitAsync(t *testing.T, ctx context.Context, p *Pacer, write bool, waitingBefore int) <-chan error {
	t.Helper()
	done := make(chan error, 1)
	changed := p.Changed()
	go func() { done <- p.Wait(ctx, write) }()
	for {
		if p.Stats().Waiting > waitingBefore {
			return done
		}
		select {
		case err := <-done:
			done <- err
			return done
		case <-changed:
			changed = p.Changed()
		}
	}
}

func mustWait(t *testing.T, p *Pacer, write bool) {
	t.Helper()
	if err := p.Wait(context.Background(), write); err != nil {
		t.Fatalf("Wait: %v", err)
	}
}

func TestPause(t *testing.T) {
	p, clk := newTestPacer(t, Config{Calls: Limit{5, time.Minute}})
	mustWait(t, p, false)
	p.Pause(t0.Add(10 * time.Second))
	p.Pause(t0.Add(5 * time.Second)) // an earlier pause never shortens one in force

	done := waitAsync(t, context.Background(), p, true, 0)
	for {
		at, ok := clk.AdvanceToNext()
		if !ok {
			t.Fatal("no timer pending while a waiter is paused")
		}
		if at.Before(t0.Add(10 * time.Second)) {
			select {
			case <-done:
				t.Fatalf("call went at %v, before the pause ended", clk.Now())
			default:
			}
			continue
		}
		break
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got, want := clk.Now(), t0.Add(10*time.Second); !got.Equal(want) {
		t.Errorf("paused call went at %v, want %v", got, want)
	}
	st := p.Stats()
	if st.Throttled != 2 || !st.PausedUntil.Equal(t0.Add(10*time.Second)) || st.Calls != 2 {
		t.Errorf("Stats = %+v, want 2 throttles, paused until t0+10s, 2 calls", st)
	}
}

func TestCancelWhileWaiting(t *testing.T) {
	l := Limit{1, 10 * time.Second}
	margin := DefaultMargin(l.Per)
	p, clk := newTestPacer(t, Config{Calls: l})
	mustWait(t, p, false)

	ctx, cancel := context.WithCancel(context.Background())
	done := waitAsync(t, ctx, p, false, 0)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait = %v, want context.Canceled", err)
	}
	if st := p.Stats(); st.Waiting != 0 || st.Calls != 1 {
		t.Fatalf("Stats after cancel = %+v, want 0 waiting and 1 call", st)
	}
	if n := clk.Timers(); n != 0 {
		t.Errorf("%d timers pending with no waiter", n)
	}

	// The next caller is held only by the first call, not the cancelled one.
	done = waitAsync(t, context.Background(), p, false, 0)
	clk.AdvanceToNext()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got, want := clk.Now(), t0.Add(l.Per+margin); !got.Equal(want) {
		t.Errorf("next call went at %v, want %v", got, want)
	}
}

func TestCancelAfterGrant(t *testing.T) {
	l := Limit{1, 10 * time.Second}
	p, clk := newTestPacer(t, Config{Calls: l, Writes: Limit{1, time.Hour}})
	mustWait(t, p, false)

	ctx, cancel := context.WithCancel(context.Background())
	done := waitAsync(t, ctx, p, true, 0)
	// Grant the waiter and cancel its context before it can run, so Wait
	// sees both at once and must take the grant back.
	p.mu.Lock()
	cancel()
	clk.AdvanceTo(t0.Add(time.Minute))
	p.dispatch()
	if st := p.made; st != 2 {
		t.Fatalf("dispatch did not grant the waiter: %d calls", st)
	}
	p.mu.Unlock()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait = %v, want context.Canceled", err)
	}
	if st := p.Stats(); st.Calls != 1 || st.Writes != 0 || st.Waiting != 0 {
		t.Fatalf("Stats = %+v, want the grant taken back", st)
	}
	// Both windows are free: a write goes at once.
	mustWait(t, p, true)
	if got := clk.Now(); !got.Equal(t0.Add(time.Minute)) {
		t.Errorf("write went at %v", got)
	}
}

func TestCancelledContext(t *testing.T) {
	p, _ := newTestPacer(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Wait(ctx, false); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait = %v, want context.Canceled", err)
	}
	if st := p.Stats(); st.Calls != 0 {
		t.Errorf("Stats = %+v, want no call", st)
	}
}

func TestReadPassesBlockedWrite(t *testing.T) {
	p, clk := newTestPacer(t, Config{Calls: Limit{10, time.Second}, Writes: Limit{1, 10 * time.Second}})
	mustWait(t, p, true)
	write := waitAsync(t, context.Background(), p, true, 0)
	// A read is not held by the writes window.
	mustWait(t, p, false)
	if st := p.Stats(); st.Waiting != 1 || st.Calls != 2 {
		t.Fatalf("Stats = %+v, want the write still waiting after the read", st)
	}
	clk.AdvanceToNext()
	if err := <-write; err != nil {
		t.Fatal(err)
	}
	if got, want := clk.Now(), t0.Add(10*time.Second+DefaultMargin(10*time.Second)); !got.Equal(want) {
		t.Errorf("write went at %v, want %v", got, want)
	}
}

func TestFIFO(t *testing.T) {
	p, clk := newTestPacer(t, Config{Calls: Limit{1, time.Second}})
	mustWait(t, p, false)
	var order []int
	var mu sync.Mutex
	var dones []<-chan error
	for i := range 5 {
		ch := make(chan error, 1)
		changed := p.Changed()
		go func() {
			err := p.Wait(context.Background(), false)
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
			ch <- err
		}()
		for p.Stats().Waiting <= i {
			<-changed
			changed = p.Changed()
		}
		dones = append(dones, ch)
	}
	for _, d := range dones {
		clk.AdvanceToNext()
		if err := <-d; err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff([]int{0, 1, 2, 3, 4}, order); diff != "" {
		t.Errorf("grant order (-want +got):\n%s", diff)
	}
}

func TestMarginOverride(t *testing.T) {
	p, clk := newTestPacer(t, Config{Calls: Limit{2, time.Second}, Margin: 50 * time.Millisecond})
	sends := drive(t, p, clk, [][]bool{make([]bool, 4)})
	want := []time.Time{t0, t0, t0.Add(1050 * time.Millisecond), t0.Add(1050 * time.Millisecond)}
	if diff := cmp.Diff(want, sendTimes(sends, false)); diff != "" {
		t.Errorf("send times (-want +got):\n%s", diff)
	}
}

func ExampleLimit_String() {
	l, _ := ParseLimit("100/1m")
	fmt.Println(l)
	// Output: 100/60s
}
