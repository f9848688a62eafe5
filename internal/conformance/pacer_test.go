package conformance

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/flowsync/flowsync/internal/client"
	"github.com/flowsync/flowsync/internal/emulator"
	"github.com/flowsync/flowsync/internal/emulator/seed"
	"github.com/flowsync/flowsync/internal/pacer"
	"github.com/flowsync/flowsync/internal/testemu"
	"github.com/flowsync/flowsync/internal/token"
)

// The connector's limits (5 calls a minute, 300 writes an hour) scaled down
// so that a test sees thousands of calls in well under a minute; the
// emulator and the pacer are configured alike, as they would be in
// production with the published numbers.
var (
	scaledThrottle = emulator.ThrottleConfig{
		Profile: emulator.ProfileConnector, Calls: 50, Per: time.Second, Writes: 200, WritesPer: 5 * time.Second,
	}
	scaledPacer = pacer.Config{
		Calls:  pacer.Limit{N: 50, Per: time.Second},
		Writes: pacer.Limit{N: 200, Per: 5 * time.Second},
	}
)

// countingTransport counts the requests that leave the client.
type countingTransport struct {
	next     http.RoundTripper
	requests atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.requests.Add(1)
	return c.next.RoundTrip(r)
}

// pacedSetup is an emulator that throttles at the scaled limits and one
// client paced for them. Both read the same clock: the wall clock over
// loopback (the benchmark), or the fake clock of a testing/synctest bubble
// over an in-memory network (the test).
type pacedSetup struct {
	srv       *emulator.Server
	client    *client.Client
	transport *countingTransport
	identity  string
}

// newPacedSetup runs the emulator on loopback, in real time.
func newPacedSetup(tb testing.TB) *pacedSetup {
	tb.Helper()
	inst := testemu.Start(tb, testemu.Options{Emulator: emulator.Options{Throttle: scaledThrottle}, WallClock: true}).Inst
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.MaxIdleConnsPerHost = 64
	return newPacedClient(tb, inst.Server, inst.URL, base)
}

// newPipedSetup runs the emulator inside the caller's synctest bubble, on
// an in-memory network; it stops when the test ends.
func newPipedSetup(t *testing.T) *pacedSetup {
	t.Helper()
	srv, err := emulator.New(emulator.Options{Throttle: scaledThrottle})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Load(seed.Demo()); err != nil {
		t.Fatal(err)
	}
	network := newPipeNetwork()
	hs := &http.Server{Handler: srv}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(network) }()
	tr := network.transport()
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		if err := hs.Close(); err != nil {
			t.Errorf("close emulator: %v", err)
		}
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	})
	return newPacedClient(t, srv, "http://"+network.Addr().String(), tr)
}

// newPacedClient builds the paced client of the maker against srv at url.
func newPacedClient(tb testing.TB, srv *emulator.Server, url string, base http.RoundTripper) *pacedSetup {
	tb.Helper()
	reg, err := pacer.NewRegistry(scaledPacer, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tr := &countingTransport{next: base}
	ep, err := client.EndpointsFor(client.Public)
	if err != nil {
		tb.Fatal(err)
	}
	tokens := mintedTokens(srv, seed.DemoPriya)
	c, err := client.New(client.Config{
		Endpoints:  ep.WithBaseURL(url),
		Tokens:     tokens,
		HTTPClient: &http.Client{Transport: tr, Timeout: time.Minute},
		Pacer:      func(id string) client.Pacer { return reg.For(id) },
	})
	if err != nil {
		tb.Fatal(err)
	}
	tok, err := tokens.Token(context.Background(), ep.FlowScope)
	if err != nil {
		tb.Fatal(err)
	}
	claims, err := token.Parse(tok)
	if err != nil {
		tb.Fatal(err)
	}
	return &pacedSetup{srv: srv, client: c, transport: tr, identity: claims.Identity()}
}

// stats reads the emulator's per-identity counts.
func (p *pacedSetup) stats() map[string]emulator.Stats { return p.srv.Stats() }

// call makes the i-th call of a mixed workload: one in ten is a write
// (turning the invoice approval flow on or off), the rest are reads on the
// Flow and PowerApps hosts. Every call is a single request.
func (p *pacedSetup) call(ctx context.Context, i int) (write bool, err error) {
	c, env, flow := p.client, seed.DemoEnvDev, seed.DemoFlowInvoiceApproval
	switch {
	case i%20 == 0:
		return true, c.StopFlow(ctx, env, flow, false)
	case i%20 == 10:
		return true, c.StartFlow(ctx, env, flow, false)
	}
	switch i % 4 {
	case 0:
		_, err = c.GetFlow(ctx, env, flow, client.GetFlowOptions{})
	case 1:
		_, err = c.ListFlows(ctx, env, client.ListFlowsOptions{})
	case 2:
		_, err = c.ListConnectors(ctx, env)
	default:
		_, err = c.ListPermissions(ctx, env, flow, false)
	}
	return false, err
}

// runCalls makes n calls from workers goroutines, the k-th being workload
// call pick(k), and returns how many were writes and the errors.
func (p *pacedSetup) runCalls(ctx context.Context, n, workers int, pick func(k int) int) (writes int64, errs []error) {
	jobs := make(chan int)
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		nWrite atomic.Int64
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				w, err := p.call(ctx, i)
				if w {
					nWrite.Add(1)
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("call %d: %w", i, err))
					mu.Unlock()
				}
			}
		}()
	}
	for k := range n {
		jobs <- pick(k)
	}
	close(jobs)
	wg.Wait()
	return nWrite.Load(), errs
}

func identity(k int) int { return k }

// readsOnly picks odd workload indexes, which are never writes.
func readsOnly(k int) int { return 2*k + 1 }

// TestPacerKeepsClientUnderEmulatorLimits drives 2,000 calls (200 of them
// writes) from 32 goroutines through one client whose pacer knows the
// emulator's limits, and checks that the emulator refused none of them.
// It runs in a testing/synctest bubble: the pacer's timers, the client and
// the emulator's throttle windows all read the bubble's fake clock, which
// moves only when every goroutine waits, so 40 s of calls at 50 a second
// take a fraction of a second and no answer can arrive "late". Real-time
// behaviour over loopback is BenchmarkPacerAgainstEmulator's job.
func TestPacerKeepsClientUnderEmulatorLimits(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		const (
			calls   = 2000
			workers = 32
		)
		p := newPipedSetup(t)
		start := time.Now() // the bubble's clock
		writes, errs := p.runCalls(t.Context(), calls, workers, identity)
		elapsed := time.Since(start)
		for i, err := range errs {
			if i == 5 {
				t.Errorf("… and %d more errors", len(errs)-5)
				break
			}
			t.Error(err)
		}
		if writes != calls/10 {
			t.Errorf("%d writes, want %d", writes, calls/10)
		}
		sent := p.transport.requests.Load()
		if sent != calls {
			t.Errorf("the client sent %d requests for %d calls: something was retried", sent, calls)
		}
		stats := p.stats()
		got, ok := stats[p.identity]
		if !ok || len(stats) != 1 {
			t.Fatalf("stats %+v, want one identity %s", stats, p.identity)
		}
		want := emulator.Stats{Calls: int(sent), NonGet: int(writes), Throttled: 0, Applied: int(writes)}
		if got != want {
			t.Errorf("emulator stats %+v, want %+v", got, want)
		}
		// The pacer, not luck, kept the calls apart: on the fake clock the
		// run cannot be shorter than the windows it had to wait for.
		limit := scaledThrottle.Calls
		if least := time.Duration(calls/limit-1) * scaledThrottle.Per; elapsed < least {
			t.Errorf("%d calls took %v of fake time, less than the %v the limit of %d per %v allows",
				calls, elapsed, least, limit, scaledThrottle.Per)
		}
	})
}

// BenchmarkPacerAgainstEmulator measures how close a saturating client gets
// to the emulator's limit: of-limit is the achieved call rate over the limit
// (target 0.97 or better). The first window's burst is sent before the
// clock starts, since a burst into an empty window is not a rate; then at
// least three windows' worth of reads are timed, a few seconds.
func BenchmarkPacerAgainstEmulator(b *testing.B) {
	const workers = 16
	p := newPacedSetup(b)
	limit := scaledThrottle.Calls
	ctx := context.Background()
	if _, errs := p.runCalls(ctx, limit, workers, readsOnly); len(errs) > 0 {
		b.Fatal(errs[0])
	}
	// Whole windows only: a call past the last full window would be timed
	// alone in a window of its own.
	n := max(b.N, 3*limit)
	n = (n + limit - 1) / limit * limit
	b.ResetTimer()
	start := time.Now()
	_, errs := p.runCalls(ctx, n, workers, readsOnly)
	elapsed := time.Since(start)
	b.StopTimer()
	if len(errs) > 0 {
		b.Fatalf("%d errors, first: %v", len(errs), errs[0])
	}
	if st := p.stats()[p.identity]; st.Throttled != 0 || st.Calls != n+limit {
		b.Fatalf("emulator stats %+v, want %d calls and none throttled", st, n+limit)
	}
	rate := float64(n) / elapsed.Seconds()
	frac := rate / float64(limit)
	b.ReportMetric(frac, "of-limit")
	b.ReportMetric(rate, "calls/s")
	// Each call holds its slot for its response time too; the race
	// detector multiplies that, so the target holds for normal builds only.
	if frac < 0.97 && !raceEnabled {
		b.Errorf("achieved %.3f of the limit (%.1f calls/s), want at least 0.97", frac, rate)
	}
}
