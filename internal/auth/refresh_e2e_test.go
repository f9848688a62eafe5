package auth_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/auth"
	"github.com/flowsync/flowsync/internal/client"
	"github.com/flowsync/flowsync/internal/emulator"
	"github.com/flowsync/flowsync/internal/emulator/embedded"
	"github.com/flowsync/flowsync/internal/emulator/entra"
	"github.com/flowsync/flowsync/internal/emulator/seed"
	"github.com/flowsync/flowsync/internal/testemu"
	"github.com/flowsync/flowsync/internal/token"
)

// tokenClock is the emulator's token clock (Options.TokenClock): what its
// Entra endpoint stamps tokens with and what its APIs check them against.
// Moving it ahead plays a service whose clock is ahead of this machine's,
// which refuses a token that our cache (on the wall clock) still trusts.
type tokenClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *tokenClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *tokenClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// watched counts what the test cares about on the way to the emulator:
// token requests (and whether they carried a claims request) and Graph calls.
type watched struct {
	next http.RoundTripper

	mu         sync.Mutex
	tokenPosts int
	claims     []string // the claims parameter of each token request, "" when absent
	graphCalls int
}

func (w *watched) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Hostname() != "127.0.0.1" {
		return nil, errors.New("test transport refuses " + r.URL.Host + ": only 127.0.0.1 is allowed")
	}
	switch {
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token"):
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		_ = r.Body.Close()
		r.Body = io.NopCloser(bytes.NewReader(body))
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, err
		}
		w.mu.Lock()
		w.tokenPosts++
		w.claims = append(w.claims, form.Get("claims"))
		w.mu.Unlock()
	case strings.HasPrefix(r.URL.Path, "/v1.0/"):
		w.mu.Lock()
		w.graphCalls++
		w.mu.Unlock()
	}
	return w.next.RoundTrip(r)
}

func (w *watched) counts() (tokenPosts int, claims []string, graphCalls int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.tokenPosts, append([]string(nil), w.claims...), w.graphCalls
}

// refreshBed is the emulator on loopback TLS with its Entra endpoint, the
// demo tenant (its backup service principal signs in with a secret) and a
// token clock the test moves.
type refreshBed struct {
	inst   *embedded.Instance
	clock  *tokenClock
	secret string
	watch  *watched
	hc     *http.Client
	ep     client.Endpoints
}

func startRefreshBed(t *testing.T) *refreshBed {
	t.Helper()
	b := &refreshBed{
		clock:  &tokenClock{now: time.Date(2025, 5, 6, 7, 8, 9, 0, time.UTC)},
		secret: "refresh-secret-" + rand.Text(),
	}
	snap := seed.Demo()
	for i := range snap.Principals {
		if snap.Principals[i].ID == seed.DemoBackupSP {
			snap.Principals[i].ClientSecretSHA256 = entra.SecretSHA256(b.secret)
		}
	}
	// Tokens expire on the bed's clock; everything else reads the wall clock.
	te := testemu.Start(t, testemu.Options{
		Snapshot:  snap,
		TLS:       true,
		WallClock: true,
		Emulator:  emulator.Options{TokenClock: b.clock},
	})
	b.inst = te.Inst
	b.watch = &watched{next: te.HTTP.Transport}
	b.hc = &http.Client{Transport: b.watch, Timeout: time.Minute}
	ep, err := client.EndpointsFor(client.Public)
	if err != nil {
		t.Fatal(err)
	}
	b.ep = ep.WithBaseURL(b.inst.URL)
	return b
}

// secretSource signs the backup service principal in through azidentity's
// client-secret credential at the emulator's Entra endpoint.
func (b *refreshBed) secretSource(t *testing.T) *auth.Source {
	t.Helper()
	src, err := auth.New(auth.Options{
		Method: auth.MethodSecret, Tenant: seed.DemoTenant, ClientID: seed.DemoBackupAppID, ClientSecret: b.secret,
		AuthorityHost: b.inst.URL, Transport: b.hc, Getenv: env(nil),
	})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// staticSource is --auth token with the given variables.
func (b *refreshBed) staticSource(t *testing.T, vars map[string]string) *auth.Source {
	t.Helper()
	src, err := auth.New(auth.Options{Method: auth.MethodToken, Getenv: env(vars)})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func (b *refreshBed) client(t *testing.T, tokens client.TokenSource) *client.Client {
	t.Helper()
	c, err := client.New(client.Config{Endpoints: b.ep, Tokens: tokens, HTTPClient: b.hc})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// mint is an emulator token for principal, audience aud, valid for ttl from
// the token clock (negative: already expired).
func (b *refreshBed) mint(t *testing.T, principal api.PrincipalID, aud string, ttl time.Duration) string {
	t.Helper()
	tok, err := b.inst.Server.MintTokenTTL(principal, aud, ttl)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// noInvalidator hides the Source's InvalidateToken from the client, as
// before the Source had one.
type noInvalidator struct{ src *auth.Source }

func (n noInvalidator) Token(ctx context.Context, scope string) (string, error) {
	return n.src.Token(ctx, scope)
}

// TestRefreshRefusedTokenAzidentity: the service's clock runs two hours
// ahead of ours, so it refuses the client-secret token that our cache (and
// azidentity's) still trusts. The client asks the Source to drop it; the
// next fetch bypasses azidentity's cache with a claims request, Entra
// issues a token stamped with its (moved) clock, and the call succeeds —
// for the Flow API and for Microsoft Graph alike. Without the invalidator
// the same situation fails.
func TestRefreshRefusedTokenAzidentity(t *testing.T) {
	b := startRefreshBed(t)
	src := b.secretSource(t)
	c := b.client(t, src)
	ctx := t.Context()

	if _, err := c.AdminListFlows(ctx, seed.DemoEnvDev, client.AdminListFlowsOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.LookupPrincipals(ctx, []api.PrincipalID{seed.DemoPriya}); err != nil {
		t.Fatal(err)
	}
	if posts, claims, _ := b.watch.counts(); posts != 2 || claims[0] != "" || claims[1] != "" {
		t.Fatalf("%d token requests (claims %q) for two scopes, want 2 without claims", posts, claims)
	}

	b.clock.Advance(2 * time.Hour)
	moved := b.clock.Now()
	flows, err := c.AdminListFlows(ctx, seed.DemoEnvDev, client.AdminListFlowsOptions{})
	if err != nil {
		t.Fatalf("AdminListFlows after the service's clock moved past the token: %v", err)
	}
	if !hasFlowName(flows, seed.DemoFlowInvoiceApproval) {
		t.Errorf("flow %s not among %d", seed.DemoFlowInvoiceApproval, len(flows))
	}
	found, err := c.LookupPrincipals(ctx, []api.PrincipalID{seed.DemoPriya})
	if err != nil {
		t.Fatalf("LookupPrincipals after the service's clock moved past the token: %v", err)
	}
	if _, ok := found[seed.DemoPriya]; !ok {
		t.Errorf("principal %s not found after the refresh", seed.DemoPriya)
	}
	posts, claims, _ := b.watch.counts()
	if posts != 4 {
		t.Fatalf("%d token requests, want 4 (one per scope, then one fresh per scope)", posts)
	}
	for _, cl := range claims[2:] {
		if !strings.Contains(cl, `"nbf"`) {
			t.Errorf("fresh token request claims %q: want a claims request that skips the cache", cl)
		}
	}
	for _, scope := range []string{b.ep.FlowScope, b.ep.GraphScope} {
		raw, err := src.Token(ctx, scope)
		if err != nil {
			t.Fatal(err)
		}
		cl, err := token.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if cl.IssuedAt != moved.Unix() {
			t.Errorf("token for %s issued at %d, want %d (the fresh one)", scope, cl.IssuedAt, moved.Unix())
		}
	}
	// The fresh tokens are cached: no further token request.
	if _, err := c.AdminListFlows(ctx, seed.DemoEnvDev, client.AdminListFlowsOptions{}); err != nil {
		t.Fatal(err)
	}
	if posts, _, _ := b.watch.counts(); posts != 4 {
		t.Errorf("%d token requests after the refresh, want still 4", posts)
	}

	t.Run("without the invalidator the refused token comes back", func(t *testing.T) {
		c := b.client(t, noInvalidator{b.secretSource(t)})
		if _, err := c.AdminListFlows(ctx, seed.DemoEnvDev, client.AdminListFlowsOptions{}); err != nil {
			t.Fatal(err)
		}
		b.clock.Advance(2 * time.Hour)
		_, err := c.AdminListFlows(ctx, seed.DemoEnvDev, client.AdminListFlowsOptions{})
		if !errors.Is(err, api.ErrTokenExpired) {
			t.Fatalf("error %v, want the service's ExpiredAuthenticationToken", err)
		}
		if strings.Contains(err.Error(), b.secret) {
			t.Error("error contains the client secret")
		}
	})
}

func hasFlowName(flows []api.Flow, name api.FlowName) bool {
	for _, f := range flows {
		if f.Name == name {
			return true
		}
	}
	return false
}

// TestRefreshRefusedStaticToken: --auth token with emulator tokens minted
// with a lifetime (--ttl). When the service refuses FLOWSYNC_TOKEN, or
// FLOWSYNC_GRAPH_TOKEN, the call fails at once with an error that names the
// variable and what to do, and never contains the token.
func TestRefreshRefusedStaticToken(t *testing.T) {
	b := startRefreshBed(t)
	graphAud := "https://graph.microsoft.com"
	tests := []struct {
		name     string
		vars     func() map[string]string
		advance  time.Duration // moved before the call that must fail
		call     func(ctx context.Context, c *client.Client) error
		variable string
	}{
		{
			name: "FLOWSYNC_TOKEN minted expired (--ttl -1h)",
			vars: func() map[string]string {
				return map[string]string{"FLOWSYNC_TOKEN": b.mint(t, seed.DemoAdmin, flowAudience, -time.Hour)}
			},
			call: func(ctx context.Context, c *client.Client) error {
				_, err := c.AdminListFlows(ctx, seed.DemoEnvDev, client.AdminListFlowsOptions{})
				return err
			},
			variable: "FLOWSYNC_TOKEN",
		},
		{
			name: "FLOWSYNC_TOKEN outlived by the service's clock (--ttl 1h)",
			vars: func() map[string]string {
				return map[string]string{"FLOWSYNC_TOKEN": b.mint(t, seed.DemoAdmin, flowAudience, time.Hour)}
			},
			advance: 2 * time.Hour,
			call: func(ctx context.Context, c *client.Client) error {
				_, err := c.AdminListFlows(ctx, seed.DemoEnvDev, client.AdminListFlowsOptions{})
				return err
			},
			variable: "FLOWSYNC_TOKEN",
		},
		{
			name: "FLOWSYNC_GRAPH_TOKEN minted expired",
			vars: func() map[string]string {
				return map[string]string{
					"FLOWSYNC_TOKEN":       b.mint(t, seed.DemoAdmin, flowAudience, time.Hour),
					"FLOWSYNC_GRAPH_TOKEN": b.mint(t, seed.DemoAdmin, graphAud, -time.Hour),
				}
			},
			call: func(ctx context.Context, c *client.Client) error {
				_, err := c.LookupPrincipals(ctx, []api.PrincipalID{seed.DemoPriya})
				return err
			},
			variable: "FLOWSYNC_GRAPH_TOKEN",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := tt.vars()
			c := b.client(t, b.staticSource(t, vars))
			ctx := t.Context()
			if tt.advance != 0 {
				// Valid before the clock moves: the refusal is the clock's doing.
				if err := tt.call(ctx, c); err != nil {
					t.Fatalf("before the token clock moved: %v", err)
				}
				b.clock.Advance(tt.advance)
			}
			err := tt.call(ctx, c)
			if err == nil {
				t.Fatal("no error for a token the service refuses")
			}
			if !errors.Is(err, auth.ErrNotRefreshable) || !errors.Is(err, api.ErrUnauthorized) {
				t.Errorf("error %v: want ErrNotRefreshable and the service's 401", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, "set "+tt.variable+" to a new token") {
				t.Errorf("error does not tell to set %s: %s", tt.variable, msg)
			}
			for _, v := range vars {
				if strings.Contains(msg, v) {
					t.Error("error contains a token")
				}
			}
		})
	}
}

// TestGraphTokenWithStaticAuth: with --auth token, Graph lookups use
// FLOWSYNC_GRAPH_TOKEN; a Flow-audience FLOWSYNC_TOKEN alone is never sent
// to Graph (which refuses it) and the error says which variable to set; an
// emulator token without audience serves every path.
func TestGraphTokenWithStaticAuth(t *testing.T) {
	b := startRefreshBed(t)
	flowTok := b.mint(t, seed.DemoAdmin, flowAudience, time.Hour)
	ids := []api.PrincipalID{seed.DemoPriya, seed.DemoFinanceApprovers}
	ctx := t.Context()

	t.Run("missing FLOWSYNC_GRAPH_TOKEN", func(t *testing.T) {
		_, _, before := b.watch.counts()
		c := b.client(t, b.staticSource(t, map[string]string{"FLOWSYNC_TOKEN": flowTok}))
		_, err := c.LookupPrincipals(ctx, ids)
		if !errors.Is(err, auth.ErrMissingSetting) {
			t.Fatalf("error %v, want ErrMissingSetting", err)
		}
		if msg := err.Error(); !strings.Contains(msg, "set FLOWSYNC_GRAPH_TOKEN") || strings.Contains(msg, flowTok) {
			t.Errorf("error does not name FLOWSYNC_GRAPH_TOKEN or contains the token: %s", msg)
		}
		if _, _, after := b.watch.counts(); after != before {
			t.Errorf("%d Graph calls sent with the Flow token, want none", after-before)
		}
		// The Power Automate calls still work.
		if _, err := c.AdminListFlows(ctx, seed.DemoEnvDev, client.AdminListFlowsOptions{}); err != nil {
			t.Fatal(err)
		}
	})

	lookups := []struct {
		name string
		vars map[string]string
	}{
		{"FLOWSYNC_GRAPH_TOKEN", map[string]string{"FLOWSYNC_TOKEN": flowTok, "FLOWSYNC_GRAPH_TOKEN": b.mint(t, seed.DemoAdmin, "https://graph.microsoft.com", time.Hour)}},
		{"FLOWSYNC_TOKEN without audience (--audience any)", map[string]string{"FLOWSYNC_TOKEN": b.mint(t, seed.DemoAdmin, "", time.Hour)}},
	}
	for _, tt := range lookups {
		t.Run(tt.name, func(t *testing.T) {
			_, _, before := b.watch.counts()
			c := b.client(t, b.staticSource(t, tt.vars))
			got, err := c.LookupPrincipals(ctx, ids)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, after := b.watch.counts(); after != before+1 {
				t.Errorf("%d Graph calls for one lookup, want 1", after-before)
			}
			for _, id := range ids {
				if _, ok := got[id]; !ok {
					t.Errorf("principal %s not found", id)
				}
			}
			if _, err := c.AdminListFlows(ctx, seed.DemoEnvDev, client.AdminListFlowsOptions{}); err != nil {
				t.Errorf("Flow call with the same variables: %v", err)
			}
		})
	}
}
