package conformance

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/client"
	"github.com/flowsync/flowsync/internal/emulator"
	"github.com/flowsync/flowsync/internal/emulator/embedded"
	"github.com/flowsync/flowsync/internal/testemu"
)

// expiringTokens hands out, per scope, an already expired token first and
// then one fresh token, cached, as a credential would whose cached token the
// service's clock finds expired. stale sources keep the expired one.
type expiringTokens struct {
	srv       *emulator.Server
	principal api.PrincipalID
	stale     bool // never refreshes: every token is the expired one

	mu      sync.Mutex
	current map[string]string // scope -> token handed out now
	asked   map[string]int
	given   []string
}

func (e *expiringTokens) Token(_ context.Context, scope string) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.current == nil {
		e.current, e.asked = map[string]string{}, map[string]int{}
	}
	e.asked[scope]++
	ttl := time.Duration(0)
	switch {
	case e.asked[scope] == 1:
		ttl = -time.Hour // expired an hour ago: no waiting needed
	case e.asked[scope] == 2 && !e.stale:
		ttl = time.Hour
	}
	if ttl == 0 {
		return e.current[scope], nil
	}
	tok, err := e.srv.MintTokenTTL(e.principal, strings.TrimSuffix(scope, "/.default"), ttl)
	if err != nil {
		return "", err
	}
	e.current[scope] = tok
	e.given = append(e.given, tok)
	return tok, nil
}

func (e *expiringTokens) all() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.given...)
}

// TestExpiredTokenRefresh: the emulator refuses an expired token with 401
// ExpiredAuthenticationToken (checked against the wall clock, while its own
// clock stands at the demo date); the client gets a fresh token once and
// retries, for reads and for Create Flow alike (a 401 applied nothing), and
// gives up with a clear error when the source has nothing fresher. No token
// reaches the log.
func TestExpiredTokenRefresh(t *testing.T) {
	t.Parallel()
	snap := fixtureSnapshot()
	inst := testemu.Start(t, testemu.Options{Snapshot: snap}).Inst // throttling off, manual clock at seed.DemoNow()
	fx := emulatorFixtures(snap)
	newClient := func(t *testing.T, src client.TokenSource, logs *bytes.Buffer) *client.Client {
		t.Helper()
		ep, err := client.EndpointsFor(client.Public)
		if err != nil {
			t.Fatal(err)
		}
		c, err := client.New(client.Config{
			Endpoints: ep.WithBaseURL(inst.URL), Tokens: src,
			BaseDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond,
			Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	noTokens := func(t *testing.T, logs string, src *expiringTokens) {
		t.Helper()
		for _, tok := range src.all() {
			if strings.Contains(logs, tok) || strings.Contains(logs, tok[:strings.LastIndexByte(tok, '.')]) {
				t.Error("the client logged a bearer token")
			}
		}
	}

	t.Run("refreshed once", func(t *testing.T) {
		var logs bytes.Buffer
		src := &expiringTokens{srv: inst.Server, principal: fx.Maker}
		c := newClient(t, src, &logs)
		ctx := t.Context()
		if _, err := c.GetFlow(ctx, fx.Env, fx.MakerFlow, client.GetFlowOptions{}); err != nil {
			t.Fatalf("GetFlow with an expired first token: %v", err)
		}
		display := "token refresh " + t.Name()
		created, err := c.CreateFlow(ctx, fx.Env, api.FlowProperties{
			DisplayName: display, State: api.StateStopped,
			Definition: simpleDefinition("refresh"),
		})
		if err != nil {
			t.Fatalf("CreateFlow: %v", err)
		}
		if _, err := c.LookupPrincipals(ctx, []api.PrincipalID{fx.Maker}); err != nil {
			t.Fatalf("LookupPrincipals with an expired first Graph token: %v", err)
		}
		flows, err := c.ListFlows(ctx, fx.Env, client.ListFlowsOptions{})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, f := range flows {
			if f.Properties.DisplayName == display {
				n++
			}
		}
		if n != 1 || created.Name == "" {
			t.Errorf("%d flows named %q after one CreateFlow, want 1", n, display)
		}
		// One expired and one fresh token per scope: Flow and Graph.
		if got := len(src.all()); got != 4 {
			t.Errorf("%d tokens minted, want 4 (an expired and a fresh one for each of two scopes)", got)
		}
		noTokens(t, logs.String(), src)
	})

	t.Run("nothing fresher", func(t *testing.T) {
		var logs bytes.Buffer
		src := &expiringTokens{srv: inst.Server, principal: fx.Maker, stale: true}
		c := newClient(t, src, &logs)
		_, err := c.GetFlow(t.Context(), fx.Env, fx.MakerFlow, client.GetFlowOptions{})
		if !errors.Is(err, api.ErrTokenExpired) || !errors.Is(err, api.ErrUnauthorized) {
			t.Fatalf("error %v, want one matching ErrTokenExpired and ErrUnauthorized", err)
		}
		if !strings.Contains(err.Error(), "gave the same token again") {
			t.Errorf("error %q does not say the source had no new token", err)
		}
		if got := strings.Count(logs.String(), "msg=http "); got != 1 {
			t.Errorf("%d requests sent, want 1: a source without a fresh token is not asked to retry", got)
		}
		noTokens(t, logs.String(), src)
	})

	t.Run("the emulator's answer", func(t *testing.T) {
		tok, err := inst.Server.MintTokenTTL(fx.Maker, embedded.FlowAudience, -time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		var logs bytes.Buffer
		c := newClient(t, client.StaticToken(tok), &logs)
		_, err = c.GetFlow(t.Context(), fx.Env, fx.MakerFlow, client.GetFlowOptions{})
		ae := apiError(t, err)
		if ae.Status != 401 || ae.Code != api.CodeExpiredAuthenticationToken ||
			!strings.HasPrefix(ae.Message, "The access token expiry UTC time '") || !strings.Contains(ae.Message, "' is earlier than current UTC time '") {
			t.Errorf("expired token: %v, want 401 ExpiredAuthenticationToken with the service's message", err)
		}
		// A token a few minutes past exp is within the skew and accepted.
		tok, err = inst.Server.MintTokenTTL(fx.Maker, embedded.FlowAudience, -emulator.TokenSkew/2)
		if err != nil {
			t.Fatal(err)
		}
		c = newClient(t, client.StaticToken(tok), &logs)
		if _, err := c.GetFlow(t.Context(), fx.Env, fx.MakerFlow, client.GetFlowOptions{}); err != nil {
			t.Errorf("token expired %v ago (within the skew): %v", emulator.TokenSkew/2, err)
		}
	})
}
