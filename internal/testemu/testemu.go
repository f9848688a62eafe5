package testemu

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/client"
	"github.com/flowsync/flowsync/internal/emulator"
	"github.com/flowsync/flowsync/internal/emulator/embedded"
	"github.com/flowsync/flowsync/internal/emulator/seed"
)

// Options configure Start; the zero value serves the demo tenant with
// throttling off on a manual clock.
type Options struct {
	// Snapshot is loaded at start; nil loads seed.Demo().
	Snapshot *emulator.Snapshot
	// Emulator are the server options. An empty Throttle.Profile means
	// throttling off; a nil Clock means a manual clock at seed.DemoNow()
	// unless WallClock is set.
	Emulator emulator.Options
	// WallClock keeps the emulator on the real clock (for tests of
	// commands that read it, such as token lifetimes).
	WallClock bool
	// TLS serves https with the emulator's self-signed certificate, which
	// HTTP (and so every client made with Client) trusts.
	TLS bool
	// MaxAttempts bounds the sends per call of clients made with Client;
	// 0 keeps the client's default.
	MaxAttempts int
}

// Emu is a running emulator.
type Emu struct {
	Inst *embedded.Instance
	// Clock is the emulator's manual clock; nil with Options.WallClock or
	// a caller's own Clock that is not manual.
	Clock *emulator.ManualClock
	// HTTP is the one client every API client of this emulator shares,
	// so the test ends with no connection left open.
	HTTP *http.Client

	tb          testing.TB
	maxAttempts int
}

// Start runs an emulator for the life of tb; a failure to start fails tb.
func Start(tb testing.TB, o Options) *Emu {
	tb.Helper()
	if o.Snapshot == nil {
		o.Snapshot = seed.Demo()
	}
	if o.Emulator.Throttle.Profile == "" {
		o.Emulator.Throttle = emulator.ThrottleConfig{Profile: emulator.ProfileOff}
	}
	if o.Emulator.Clock == nil && !o.WallClock {
		o.Emulator.Clock = emulator.NewManualClock(seed.DemoNow())
	}
	inst, err := embedded.Start(context.Background(), embedded.Options{Snapshot: o.Snapshot, Emulator: o.Emulator, TLS: o.TLS})
	if err != nil {
		tb.Fatalf("start emulator: %v", err)
	}
	tb.Cleanup(func() {
		if err := inst.Close(); err != nil {
			tb.Errorf("close emulator: %v", err)
		}
	})
	// Registered after Close, so it runs before it: the transport lets go
	// of its connections while the server is still there.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tb.Cleanup(tr.CloseIdleConnections)
	if o.TLS {
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(inst.CACertPEM) {
			tb.Fatal("the emulator's certificate is not PEM")
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	}
	clock, _ := o.Emulator.Clock.(*emulator.ManualClock)
	return &Emu{Inst: inst, Clock: clock, HTTP: &http.Client{Transport: tr}, tb: tb, maxAttempts: o.MaxAttempts}
}

// URL is the emulator's base URL.
func (e *Emu) URL() string { return e.Inst.URL }

// Admin is the tenant's admin user (a delegated identity with the Power
// Platform Administrator role); a tenant without one fails the test.
func (e *Emu) Admin() emulator.Principal {
	e.tb.Helper()
	admin, ok := embedded.AdminUser(e.Inst.Server.Dump())
	if !ok {
		e.tb.Fatal("the emulator's tenant has no admin user")
	}
	return admin
}

// Token mints a token for principal with audience; a failure fails the test.
func (e *Emu) Token(principal api.PrincipalID, audience string) string {
	e.tb.Helper()
	tok, err := e.Inst.Server.MintToken(principal, audience)
	if err != nil {
		e.tb.Fatal(err)
	}
	return tok
}

// Client signs in as principal with a token of the right audience for each
// host; retries and 429 waits return at once instead of waiting real time.
func (e *Emu) Client(principal api.PrincipalID) *client.Client {
	e.tb.Helper()
	return e.ClientWithAttempts(principal, e.maxAttempts)
}

// ClientWithAttempts is Client with its own bound on sends per call (0:
// the client's default).
func (e *Emu) ClientWithAttempts(principal api.PrincipalID, maxAttempts int) *client.Client {
	e.tb.Helper()
	ep, err := client.EndpointsFor(client.Public)
	if err != nil {
		e.tb.Fatal(err)
	}
	c, err := client.New(client.Config{
		Endpoints: ep.WithBaseURL(e.Inst.URL),
		Tokens: client.TokenFunc(func(_ context.Context, scope string) (string, error) {
			return e.Inst.Server.MintToken(principal, strings.TrimSuffix(scope, ".default"))
		}),
		HTTPClient:  e.HTTP,
		MaxAttempts: maxAttempts,
		Sleep:       func(ctx context.Context, _ time.Duration) error { return ctx.Err() },
	})
	if err != nil {
		e.tb.Fatal(err)
	}
	return c
}

// Control calls an emulator control path and decodes its JSON answer into
// out (when not nil); any answer but 200 fails the test.
func (e *Emu) Control(method, path string, out any) {
	e.tb.Helper()
	req, err := http.NewRequest(method, e.Inst.URL+path, nil)
	if err != nil {
		e.tb.Fatal(err)
	}
	resp, err := e.HTTP.Do(req)
	if err != nil {
		e.tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		e.tb.Fatalf("%s %s: read the answer: %v", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		e.tb.Fatalf("%s %s: %s: %s", method, path, resp.Status, buf.String())
	}
	if out != nil {
		if err := json.Unmarshal(buf.Bytes(), out); err != nil {
			e.tb.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

// SetFaults replaces the emulator's fault rules with spec (checked first,
// so a typo fails here rather than injecting nothing); "" removes them all.
func (e *Emu) SetFaults(spec string) {
	e.tb.Helper()
	if spec == "" {
		e.Control(http.MethodDelete, "/_emulator/faults", nil)
		return
	}
	if _, err := emulator.ParseFaults(spec); err != nil {
		e.tb.Fatal(err)
	}
	e.Control(http.MethodPost, "/_emulator/faults?spec="+url.QueryEscape(spec), nil)
}

// Stats are the emulator's counters per identity (GET /_emulator/stats).
func (e *Emu) Stats() map[string]emulator.Stats {
	e.tb.Helper()
	var out struct {
		Identities map[string]emulator.Stats `json:"identities"`
	}
	e.Control(http.MethodGet, "/_emulator/stats", &out)
	return out.Identities
}

// Total sums the counters of every identity.
func (e *Emu) Total() emulator.Stats {
	e.tb.Helper()
	var sum emulator.Stats
	for _, s := range e.Stats() {
		sum.Calls += s.Calls
		sum.NonGet += s.NonGet
		sum.Throttled += s.Throttled
		sum.Applied += s.Applied
	}
	return sum
}
