package conformance

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/client"
)

// sleepRecorder stands in for the client's Sleep: it records each wait and
// returns at once, so retry checks take no time.
type sleepRecorder struct {
	mu     sync.Mutex
	sleeps []time.Duration
}

func (r *sleepRecorder) sleep(ctx context.Context, d time.Duration) error {
	r.mu.Lock()
	r.sleeps = append(r.sleeps, d)
	r.mu.Unlock()
	return ctx.Err()
}

func (r *sleepRecorder) all() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Duration{}, r.sleeps...)
}

// faults injects failures into the emulator's answers and checks how the
// client takes them: 429 waits exactly what Retry-After says (in seconds or
// as an HTTP date), reads and idempotent writes are retried after 5xx and
// dropped connections, and a Create Flow that failed after the server
// applied it is reported as ambiguous instead of being sent twice.
func (s *suite) faults(t *testing.T) {
	ctl := s.needControl(t)
	s.need(t, s.fx.Env != "" && s.fx.MakerFlow != "", "environment and maker flow")
	ctx := t.Context()
	if err := ctl.ClearFaults(ctx); err != nil {
		t.Fatal(err)
	}
	// Flows for the write cases, made before any fault is armed.
	var stopTarget api.FlowName
	if s.tg.Writes {
		stopTarget = s.createFlow(t, api.StateStopped).Name
	}
	createPath := strings.ToLower(fmt.Sprintf("/environments/%s/flows", s.fx.Env))

	getFlow := func(ctx context.Context, c *client.Client) error {
		_, err := c.GetFlow(ctx, s.fx.Env, s.fx.MakerFlow, client.GetFlowOptions{})
		return err
	}
	type result struct {
		err    error
		sleeps []time.Duration
		// created counts the maker's flows with the display name the call used.
		created int
	}
	tests := []struct {
		name        string
		spec        string
		writes      bool
		maxThrottle int
		create      bool // the call is CreateFlow; count the flows it made
		call        func(ctx context.Context, c *client.Client) error
		check       func(t *testing.T, r result)
	}{
		{
			name: "429 with Retry-After in seconds",
			spec: "seed=1,429:count=1:method=GET:retry-after=7",
			call: getFlow,
			check: func(t *testing.T, r result) {
				noErr(t, r.err)
				sameSleeps(t, []time.Duration{7 * time.Second}, r.sleeps)
			},
		},
		{
			name: "429 with Retry-After as an HTTP date",
			spec: "seed=1,429:count=1:method=GET:retry-after-date=9",
			call: getFlow,
			check: func(t *testing.T, r result) {
				noErr(t, r.err)
				sameSleeps(t, []time.Duration{9 * time.Second}, r.sleeps)
			},
		},
		{
			name:        "gateway throttling body once the client stops waiting",
			spec:        "seed=1,429:count=2:method=GET:retry-after=3",
			maxThrottle: 1,
			call:        getFlow,
			check: func(t *testing.T, r result) {
				wantErr(t, r.err, api.ErrThrottled)
				ae := apiError(t, r.err)
				if ae.Status != 429 || ae.Code != api.CodeRateLimit || ae.RetryAfter != 3*time.Second ||
					!strings.Contains(ae.Message, "Try again in 3 seconds") {
					t.Errorf("got status %d code %q retry-after %v message %q; want the gateway's 429 %s, 3s",
						ae.Status, ae.Code, ae.RetryAfter, ae.Message, api.CodeRateLimit)
				}
				sameSleeps(t, []time.Duration{3 * time.Second}, r.sleeps)
			},
		},
		{
			name: "5xx on GET is retried",
			spec: "seed=1,5xx:count=2:method=GET",
			call: getFlow,
			check: func(t *testing.T, r result) {
				noErr(t, r.err)
				backoffs(t, 2, r.sleeps)
			},
		},
		{
			name: "connection reset on GET is retried",
			spec: "seed=1,reset:count=1:method=GET",
			call: getFlow,
			check: func(t *testing.T, r result) {
				noErr(t, r.err)
				backoffs(t, 1, r.sleeps)
			},
		},
		{
			name: "truncated body on GET is retried",
			spec: "seed=1,truncate:count=1:method=GET",
			call: getFlow,
			check: func(t *testing.T, r result) {
				noErr(t, r.err)
				backoffs(t, 1, r.sleeps)
			},
		},
		{
			name:   "5xx on an idempotent write is retried",
			spec:   "seed=1,5xx:count=1:method=POST:path=/stop",
			writes: true,
			call: func(ctx context.Context, c *client.Client) error {
				return c.StopFlow(ctx, s.fx.Env, stopTarget, false)
			},
			check: func(t *testing.T, r result) {
				noErr(t, r.err)
				backoffs(t, 1, r.sleeps)
			},
		},
		{
			name:   "5xx after Create Flow was applied: ambiguous, not re-sent",
			spec:   "seed=1,5xx-after-write:count=1:method=POST:path=" + createPath,
			writes: true, create: true,
			check: func(t *testing.T, r result) {
				wantErr(t, r.err, client.ErrAmbiguousWrite)
				if ae := apiError(t, r.err); ae.Status != 502 {
					t.Errorf("status %d, want the injected 502", ae.Status)
				}
				sameSleeps(t, nil, r.sleeps)
				if r.created != 1 {
					t.Errorf("%d flows with the display name, want 1: the write was applied once", r.created)
				}
			},
		},
		{
			name:   "connection reset after Create Flow was applied: ambiguous, not re-sent",
			spec:   "seed=1,reset-after-write:count=1:method=POST:path=" + createPath,
			writes: true, create: true,
			check: func(t *testing.T, r result) {
				wantErr(t, r.err, client.ErrAmbiguousWrite)
				sameSleeps(t, nil, r.sleeps)
				if r.created != 1 {
					t.Errorf("%d flows with the display name, want 1", r.created)
				}
			},
		},
		{
			name:   "429 on Create Flow is retried: it was refused, not applied",
			spec:   "seed=1,429:count=1:method=POST:retry-after=2:path=" + createPath,
			writes: true, create: true,
			check: func(t *testing.T, r result) {
				noErr(t, r.err)
				sameSleeps(t, []time.Duration{2 * time.Second}, r.sleeps)
				if r.created != 1 {
					t.Errorf("%d flows with the display name, want 1", r.created)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.writes {
				s.needWrites(t)
			}
			ctx := t.Context()
			now, err := ctl.Now(ctx)
			if err != nil {
				t.Fatal(err)
			}
			rec := &sleepRecorder{}
			c := s.newClient(t, RoleMaker, func(cfg *client.Config) {
				cfg.Sleep = rec.sleep
				// The emulator's clock stands still: Retry-After dates are exact.
				cfg.Now = func() time.Time { return now }
				cfg.MaxThrottleWaits = tt.maxThrottle
				cfg.Pacer = nil
			})
			display := s.name("flow")
			call := tt.call
			if tt.create {
				call = func(ctx context.Context, c *client.Client) error {
					_, err := c.CreateFlow(ctx, s.fx.Env, api.FlowProperties{
						DisplayName: display, State: api.StateStopped,
						Definition:           testDefinition(s.fx.Connector, "conn"),
						ConnectionReferences: testRefs(s.fx.Connector, s.fx.Connection, "conn"),
					})
					return err
				}
			}
			if err := ctl.SetFaults(ctx, tt.spec); err != nil {
				t.Fatal(err)
			}
			r := result{err: call(ctx, c)}
			if err := ctl.ClearFaults(ctx); err != nil {
				t.Fatal(err)
			}
			r.sleeps = rec.all()
			if tt.create {
				fs, err := s.client(t, RoleMaker).ListFlows(ctx, s.fx.Env, client.ListFlowsOptions{})
				if err != nil {
					t.Fatal(err)
				}
				for _, f := range fs {
					if f.Properties.DisplayName == display {
						r.created++
					}
				}
			}
			tt.check(t, r)
		})
	}
}

func noErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func sameSleeps(t *testing.T, want, got []time.Duration) {
	t.Helper()
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("client waits (-want +got):\n%s", diff)
	}
}

// backoffs checks n backoff waits: their lengths are random (jitter), so
// only their number and sign are known.
func backoffs(t *testing.T, n int, got []time.Duration) {
	t.Helper()
	if len(got) != n {
		t.Errorf("%d waits %v, want %d", len(got), got, n)
	}
	for _, d := range got {
		if d <= 0 {
			t.Errorf("wait %v, want a positive backoff", d)
		}
	}
}
