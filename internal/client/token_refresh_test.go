package client

import (
	"context"
	"errors"
	"regexp"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flowsync/flowsync/internal/api"
)

// rotatingTokens hands out tokens[0] until InvalidateToken drops it, then
// the next one, and records what it was asked to drop.
type rotatingTokens struct {
	mu          sync.Mutex
	tokens      []string
	invalidated []string
}

func (r *rotatingTokens) Token(context.Context, string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tokens[0], nil
}

func (r *rotatingTokens) InvalidateToken(scope, tok string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.invalidated = append(r.invalidated, scope+" "+tok)
	if len(r.tokens) > 1 && r.tokens[0] == tok {
		r.tokens = r.tokens[1:]
	}
}

var _ TokenInvalidator = (*rotatingTokens)(nil)

func TestRefusedTokenRefreshedOnce(t *testing.T) {
	const (
		expired = `{"error":{"code":"ExpiredAuthenticationToken","message":"The access token expiry UTC time '1/2/2025 3:04:05 AM' is earlier than current UTC time '1/2/2025 4:04:05 AM'."}}`
		graph   = `{"error":{"code":"InvalidAuthenticationToken","message":"Lifetime validation failed, the token is expired."}}`
		failed  = `{"error":{"code":"AuthenticationFailed","message":"Authentication failed."}}`
	)
	get := func(auth string, status int, body string) *route {
		return &route{method: "GET", path: envPath + "/flows/" + testFlow, query: av(), auth: "Bearer " + auth, status: status, resp: body}
	}
	ok := `{"name":"f1","properties":{"displayName":"x"}}`
	tests := []struct {
		name       string
		tokens     []string
		routes     []*route
		wantErr    error
		wantDrops  int
		errMention string
	}{
		{"expired, then fresh", []string{"old", "new"}, []*route{get("old", 401, expired), get("new", 200, ok)}, nil, 1, ""},
		{"Graph's code, then fresh", []string{"old", "new"}, []*route{get("old", 401, graph), get("new", 200, ok)}, nil, 1, ""},
		{"fresh one refused too: no loop", []string{"old", "new", "newer"}, []*route{get("old", 401, expired), get("new", 401, expired)}, api.ErrTokenExpired, 1, ""},
		{"nothing fresher", []string{"only"}, []*route{get("only", 401, expired)}, api.ErrTokenExpired, 1, "gave the same token again"},
		{"other 401: not refreshed", []string{"old", "new"}, []*route{get("old", 401, failed)}, api.ErrUnauthorized, 0, "was refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStub(t, "", tt.routes...)
			src := &rotatingTokens{tokens: tt.tokens}
			c, _ := newTestClient(t, s, func(cfg *Config) { cfg.Tokens = src })
			_, err := c.GetFlow(t.Context(), testEnv, testFlow, GetFlowOptions{})
			if tt.wantErr == nil && err != nil {
				t.Fatalf("GetFlow: %v", err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("GetFlow error %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				for _, tok := range tt.tokens {
					if containsWord(err.Error(), tok) {
						t.Errorf("error %q carries a token", err)
					}
				}
				if tt.errMention != "" && !containsWord(err.Error(), tt.errMention) {
					t.Errorf("error %q does not say %q", err, tt.errMention)
				}
			}
			scope := c.Endpoints().FlowScope
			var want []string
			if tt.wantDrops > 0 {
				want = []string{scope + " " + tt.tokens[0]}
			}
			if diff := cmp.Diff(want, src.invalidated); diff != "" {
				t.Errorf("InvalidateToken calls (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRefreshedCreateIsNotAmbiguous: a 401 applied nothing, so Create Flow
// is sent again with the fresh token and succeeds once.
func TestRefreshedCreateIsNotAmbiguous(t *testing.T) {
	const createBodyX = `{"properties":{"displayName":"x","state":"Stopped"}}`
	s := newStub(t, "",
		&route{method: "POST", path: envPath + "/flows", query: av(), auth: "Bearer old", status: 401, body: createBodyX,
			resp: `{"error":{"code":"ExpiredAuthenticationToken","message":"expired"}}`},
		&route{method: "POST", path: envPath + "/flows", query: av(), auth: "Bearer new", status: 201, body: createBodyX,
			resp: `{"name":"created","properties":{"displayName":"x"}}`},
	)
	src := &rotatingTokens{tokens: []string{"old", "new"}}
	c, _ := newTestClient(t, s, func(cfg *Config) { cfg.Tokens = src })
	f, err := c.CreateFlow(t.Context(), testEnv, api.FlowProperties{DisplayName: "x", State: api.StateStopped})
	if err != nil || f.Name != "created" {
		t.Fatalf("CreateFlow = %v, %v; want the created flow", f.Name, err)
	}
}

// containsWord reports whether s contains w as a whole word, so that a
// test token "old" does not match "holder".
func containsWord(s, w string) bool {
	return regexp.MustCompile(`\b` + regexp.QuoteMeta(w) + `\b`).MatchString(s)
}
