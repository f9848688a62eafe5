package emulator_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/emulator"
)

const graphAudience = "https://graph.microsoft.com"

func getByIDsURL(e *env) string { return e.hs.URL + "/v1.0/directoryObjects/getByIds" }

func TestGraphGetByIDs(t *testing.T) {
	e := newEnv(t, emulator.Options{Throttle: emulator.ThrottleConfig{Calls: 1, Per: time.Hour}})
	tok, err := e.s.MintToken(aliceID, graphAudience)
	if err != nil {
		t.Fatal(err)
	}
	unknown := "0badc0de-0000-4000-8000-00000000dead"
	r := e.raw("POST", tok, getByIDsURL(e), map[string]any{
		"ids":   []string{strings.ToUpper(bobID), unknown, groupID, robotID, aliceID, bobID},
		"types": []string{"user", "Group", "servicePrincipal"},
	})
	wantStatus(t, r, 200)
	type obj = map[string]any
	var got []obj
	for _, it := range r.json(t)["value"].([]any) {
		got = append(got, it.(obj))
	}
	want := []obj{
		{"@odata.type": "#microsoft.graph.user", "id": bobID, "displayName": "Bob Builder", "userPrincipalName": "bob@example.test"},
		{"@odata.type": "#microsoft.graph.group", "id": groupID, "displayName": "Makers"},
		{"@odata.type": "#microsoft.graph.servicePrincipal", "id": robotID, "displayName": "Backup robot", "appId": robotApp},
		{"@odata.type": "#microsoft.graph.user", "id": aliceID, "displayName": "Alice Maker", "userPrincipalName": "alice@example.test"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("getByIds value (-want +got):\n%s", diff)
	}
	// Types narrow the answer.
	r = e.raw("POST", tok, getByIDsURL(e), map[string]any{"ids": []string{bobID, groupID}, "types": []string{"group"}})
	if v := r.json(t)["value"].([]any); len(v) != 1 {
		t.Errorf("types [group]: %d objects, want 1", len(v))
	}
	// Graph calls are neither throttled with the Power Automate limits nor
	// counted as writes.
	stats, _ := at(e.raw("GET", "", e.hs.URL+"/_emulator/stats", nil).json(t), "identities")
	if len(stats.(map[string]any)) != 0 {
		t.Errorf("stats after Graph calls: %v, want none", stats)
	}
}

func TestGraphGetByIDsErrors(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	mint := func(aud string, ttl time.Duration) string {
		t.Helper()
		tok, err := e.s.MintTokenTTL(aliceID, aud, ttl)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	good := mint(graphAudience, time.Hour)
	many := make([]string, emulator.MaxGraphIDs+1)
	for i := range many {
		many[i] = fmt.Sprintf("0badc0de-0000-4000-8000-%012x", i)
	}
	tests := []struct {
		name   string
		method string
		tok    string
		body   any
		status int
		code   string
	}{
		{"no token", "POST", "", map[string]any{"ids": []string{aliceID}}, 401, api.CodeInvalidAuthenticationToken},
		{"Flow audience", "POST", mint(flowAudience, time.Hour), map[string]any{"ids": []string{aliceID}}, 401, api.CodeInvalidAuthenticationToken},
		{"Graph app id audience", "POST", mint("00000003-0000-0000-c000-000000000000", time.Hour), map[string]any{"ids": []string{aliceID}}, 200, ""},
		{"sovereign Graph audience", "POST", mint("https://graph.microsoft.us/.default", time.Hour), map[string]any{"ids": []string{aliceID}}, 200, ""},
		{"expired", "POST", mint(graphAudience, -time.Hour), map[string]any{"ids": []string{aliceID}}, 401, api.CodeInvalidAuthenticationToken},
		{"GET", "GET", good, nil, 405, "Request_BadRequest"},
		{"no ids", "POST", good, map[string]any{"ids": []string{}}, 400, "Request_BadRequest"},
		{"too many ids", "POST", good, map[string]any{"ids": many}, 400, "Request_BadRequest"},
		{"not a GUID", "POST", good, map[string]any{"ids": []string{"alice@example.test"}}, 400, "Request_BadRequest"},
		{"unknown type", "POST", good, map[string]any{"ids": []string{aliceID}, "types": []string{"device"}}, 400, "Request_BadRequest"},
		{"not JSON", "POST", good, "{", 400, "Request_BadRequest"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.raw(tc.method, tc.tok, getByIDsURL(e), tc.body)
			if tc.code == "" {
				wantStatus(t, r, tc.status)
				return
			}
			wantError(t, r, tc.status, tc.code)
		})
	}
}

// TestTokenLifetime: exp and nbf are checked against the token clock (the
// wall clock by default), not the emulator clock, with TokenSkew either way.
func TestTokenLifetime(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	path := flowPath(defaultEnv, flowAlice, "?"+v)
	mint := func(ttl time.Duration) string {
		t.Helper()
		tok, err := e.s.MintTokenTTL(aliceID, flowAudience, ttl)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	fresh := mint(time.Hour)
	wantStatus(t, e.raw("GET", fresh, e.hs.URL+path, nil), 200)
	// Moving the emulator clock a month ahead does not expire tokens.
	e.clock.Advance(30 * 24 * time.Hour)
	wantStatus(t, e.raw("GET", fresh, e.hs.URL+path, nil), 200)
	// Within the skew after exp: accepted; past it: 401 with the service's answer.
	wantStatus(t, e.raw("GET", mint(-emulator.TokenSkew+time.Second), e.hs.URL+path, nil), 200)
	r := e.raw("GET", mint(-emulator.TokenSkew-time.Second), e.hs.URL+path, nil)
	wantError(t, r, 401, api.CodeExpiredAuthenticationToken)
	msg, _ := at(r.json(t), "error.message")
	wantMsg := fmt.Sprintf("The access token expiry UTC time '%s' is earlier than current UTC time '%s'.",
		t0.Add(-emulator.TokenSkew-time.Second).Format("1/2/2006 3:04:05 PM"), t0.Format("1/2/2006 3:04:05 PM"))
	if msg != wantMsg {
		t.Errorf("message %q, want %q", msg, wantMsg)
	}
	if !strings.Contains(r.header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Errorf("WWW-Authenticate = %q", r.header.Get("WWW-Authenticate"))
	}
	// The token clock moving past exp expires the fresh token too.
	e.tokens.Advance(time.Hour + emulator.TokenSkew + time.Second)
	wantError(t, e.raw("GET", fresh, e.hs.URL+path, nil), 401, api.CodeExpiredAuthenticationToken)
	// A token not valid yet: its nbf is beyond the skew.
	e.tokens.Set(t0)
	early := mint(time.Hour)
	e.tokens.Set(t0.Add(-emulator.TokenSkew - time.Second))
	wantError(t, e.raw("GET", early, e.hs.URL+path, nil), 401, api.CodeInvalidAuthenticationToken)
	e.tokens.Set(t0.Add(-emulator.TokenSkew + time.Second))
	wantStatus(t, e.raw("GET", early, e.hs.URL+path, nil), 200)
}
