package auth_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/flowsync/flowsync/internal/auth"
	"github.com/flowsync/flowsync/internal/token"
)

const (
	graphScope      = "https://graph.microsoft.com/.default"
	usGraphScope    = "https://graph.microsoft.us/.default"
	dodGraphScope   = "https://dod-graph.microsoft.us/.default"
	chinaGraphScope = "https://microsoftgraph.chinacloudapi.cn/.default"
	graphAppIDScope = "00000003-0000-0000-c000-000000000000/.default"
)

// jwt is an unsigned token of audience aud ("" for none).
func jwt(aud string) string {
	return token.Mint(token.Claims{Audience: aud, TenantID: e2eTenant, ObjectID: "0b000000-0000-0000-0000-0000000000aa"})
}

func TestIsGraphScope(t *testing.T) {
	for scope, want := range map[string]bool{
		graphScope:                              true,
		usGraphScope:                            true,
		dodGraphScope:                           true,
		chinaGraphScope:                         true,
		graphAppIDScope:                         true,
		"HTTPS://Graph.Microsoft.com//.default": true,
		flowScope:                               false,
		appsScope:                               false,
		"https://graph.microsoft.com.example/.default":                    false,
		"https://service.flow.microsoft.com/graph.microsoft.com/.default": false,
		"": false,
	} {
		if got := auth.IsGraphScope(scope); got != want {
			t.Errorf("IsGraphScope(%q) = %t, want %t", scope, got, want)
		}
	}
}

func TestTokenMethodGraphToken(t *testing.T) {
	flowTok, graphTok, appsTok, anyTok := jwt(flowAudience), jwt("https://graph.microsoft.com"), jwt("https://service.powerapps.com/"), jwt("")
	tests := []struct {
		name    string
		vars    map[string]string
		want    map[string]string // scope -> token
		refused []string          // Graph scopes that must fail naming FLOWSYNC_GRAPH_TOKEN
	}{
		{
			name: "FLOWSYNC_GRAPH_TOKEN serves every cloud's Graph scope",
			vars: map[string]string{"FLOWSYNC_TOKEN": flowTok, "FLOWSYNC_POWERAPPS_TOKEN": appsTok, "FLOWSYNC_GRAPH_TOKEN": "Bearer " + graphTok},
			want: map[string]string{
				flowScope: flowTok, appsScope: appsTok,
				graphScope: graphTok, usGraphScope: graphTok, dodGraphScope: graphTok, chinaGraphScope: graphTok, graphAppIDScope: graphTok,
			},
		},
		{
			name:    "a Flow-audience FLOWSYNC_TOKEN is not sent to Graph",
			vars:    map[string]string{"FLOWSYNC_TOKEN": flowTok},
			want:    map[string]string{flowScope: flowTok, appsScope: flowTok},
			refused: []string{graphScope, usGraphScope},
		},
		{
			name:    "an unreadable FLOWSYNC_TOKEN is not sent to Graph",
			vars:    map[string]string{"FLOWSYNC_TOKEN": "opaque-token-value"},
			want:    map[string]string{flowScope: "opaque-token-value"},
			refused: []string{graphScope},
		},
		{
			name: "a FLOWSYNC_TOKEN without audience serves Graph too (emulator --audience any)",
			vars: map[string]string{"FLOWSYNC_TOKEN": anyTok},
			want: map[string]string{flowScope: anyTok, appsScope: anyTok, graphScope: anyTok},
		},
		{
			name: "a Graph-audience FLOWSYNC_TOKEN serves Graph",
			vars: map[string]string{"FLOWSYNC_TOKEN": graphTok},
			want: map[string]string{graphScope: graphTok},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := auth.New(auth.Options{Method: auth.MethodToken, Getenv: env(tt.vars)})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			for scope, want := range tt.want {
				got, err := s.Token(ctx, scope)
				if err != nil || got != want {
					t.Errorf("Token(%q) = %q, %v; want the token of its variable", scope, got, err)
				}
			}
			for _, scope := range tt.refused {
				got, err := s.Token(ctx, scope)
				if err == nil {
					t.Errorf("Token(%q) = %q; want an error naming FLOWSYNC_GRAPH_TOKEN", scope, got)
					continue
				}
				msg := err.Error()
				for _, w := range []string{"FLOWSYNC_GRAPH_TOKEN", "FLOWSYNC_TOKEN", scope, strings.TrimSuffix(scope, "/.default")} {
					if !strings.Contains(msg, w) {
						t.Errorf("error does not name %q: %s", w, msg)
					}
				}
				if !errors.Is(err, auth.ErrMissingSetting) {
					t.Errorf("error %v does not match ErrMissingSetting", err)
				}
				if strings.Contains(msg, tt.vars["FLOWSYNC_TOKEN"]) {
					t.Error("error contains the token")
				}
			}
		})
	}
}

// A static token the service refused cannot be replaced: the error names
// the variable that held it for that scope and says what to do.
func TestTokenMethodRefusedToken(t *testing.T) {
	flowTok, appsTok, graphTok := jwt(flowAudience), jwt("https://service.powerapps.com/"), jwt("https://graph.microsoft.com")
	tests := []struct {
		name, scope, variable string
		vars                  map[string]string
	}{
		{"Flow scope", flowScope, "FLOWSYNC_TOKEN", map[string]string{"FLOWSYNC_TOKEN": flowTok, "FLOWSYNC_POWERAPPS_TOKEN": appsTok}},
		{"PowerApps scope with its own token", appsScope, "FLOWSYNC_POWERAPPS_TOKEN", map[string]string{"FLOWSYNC_TOKEN": flowTok, "FLOWSYNC_POWERAPPS_TOKEN": appsTok}},
		{"PowerApps scope served by FLOWSYNC_TOKEN", appsScope, "FLOWSYNC_TOKEN", map[string]string{"FLOWSYNC_TOKEN": flowTok}},
		{"Graph scope", graphScope, "FLOWSYNC_GRAPH_TOKEN", map[string]string{"FLOWSYNC_TOKEN": flowTok, "FLOWSYNC_GRAPH_TOKEN": graphTok}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := auth.New(auth.Options{Method: auth.MethodToken, Getenv: env(tt.vars)})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			sent, err := s.Token(ctx, tt.scope)
			if err != nil {
				t.Fatal(err)
			}
			s.InvalidateToken(tt.scope, sent)
			got, err := s.Token(ctx, tt.scope)
			if !errors.Is(err, auth.ErrNotRefreshable) {
				t.Fatalf("Token after the refusal = %q, %v; want ErrNotRefreshable", got, err)
			}
			msg := err.Error()
			for _, w := range []string{"set " + tt.variable + " to a new token", strings.TrimSuffix(tt.scope, "/.default"), "--auth"} {
				if !strings.Contains(msg, w) {
					t.Errorf("error does not say %q: %s", w, msg)
				}
			}
			if strings.Contains(msg, sent) {
				t.Error("error contains the token")
			}
			// Other scopes are not affected by the refusal.
			if tt.scope != flowScope {
				if got, err := s.Token(ctx, flowScope); err != nil || got != flowTok {
					t.Errorf("Flow scope after another scope's refusal: %q, %v", got, err)
				}
			}
		})
	}
}
