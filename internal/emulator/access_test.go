package emulator_test

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/emulator"
	"github.com/flowsync/flowsync/internal/token"
)

func TestRequestValidation(t *testing.T) {
	tests := []struct {
		name, method, principal, path string
		body                          any
		status                        int
		code                          string
	}{
		{"missing api-version", "GET", aliceID, flowPath(defaultEnv, "", ""), nil, 400, api.CodeMissingAPIVersion},
		{"empty api-version", "GET", aliceID, flowPath(defaultEnv, "", "?api-version="), nil, 400, api.CodeMissingAPIVersion},
		{"unsupported api-version", "GET", aliceID, flowPath(defaultEnv, "", "?api-version=2099-01-01"), nil, 400, "InvalidApiVersionParameter"},
		{"2021 version only on connection PUT", "GET", aliceID, flowPath(defaultEnv, "", "?api-version=2021-02-01"), nil, 400, "InvalidApiVersionParameter"},
		{"missing version on PowerApps", "GET", aliceID, paRP + "/apis?" + paFilter(defaultEnv), nil, 400, api.CodeMissingAPIVersion},
		{"connectors without filter", "GET", aliceID, paRP + "/apis?" + v, nil, 400, api.CodeInvalidFilter},
		{"connector without filter", "GET", aliceID, paRP + "/apis/shared_rss?" + v, nil, 400, api.CodeInvalidFilter},
		{"connections without filter", "GET", aliceID, paRP + "/connections?" + v, nil, 400, api.CodeInvalidFilter},
		{"connections with a malformed filter", "GET", aliceID, paRP + "/connections?" + v + "&$filter=env%20eq%20'x'", nil, 400, api.CodeInvalidFilter},
		{"connections with an extra clause", "GET", aliceID, paRP + "/connections?" + v + "&" + paFilter(defaultEnv) + "%20and%20foo%20eq%20'1'", nil, 400, api.CodeInvalidFilter},
		{"connection PUT without filter", "PUT", aliceID, paRP + "/apis/shared_rss/connections/abc?api-version=2021-02-01", map[string]any{"properties": map[string]any{}}, 400, api.CodeInvalidFilter},
		{"unknown environment", "GET", aliceID, flowPath("nope", "", "?"+v), nil, 403, api.CodeEnvironmentAccessDenied},
		{"unknown environment in filter", "GET", aliceID, paRP + "/apis?" + v + "&" + paFilter("nope"), nil, 403, api.CodeEnvironmentAccessDenied},
		{"unknown environment, admin", "GET", adminID, flowRP + "/scopes/admin/environments/nope/v2/flows?" + v, nil, 403, api.CodeEnvironmentAccessDenied},
		{"unknown connector", "GET", aliceID, paRP + "/apis/shared_nope?" + v + "&" + paFilter(defaultEnv), nil, 404, api.CodeAPINotFound},
		{"custom connector of another environment", "GET", aliceID, paRP + "/apis/shared_custom-5fthing-5f0123456789abcdef?" + v + "&" + paFilter(defaultEnv), nil, 404, api.CodeAPINotFound},
		{"unknown flow", "GET", aliceID, flowPath(defaultEnv, "b0000000-0000-4000-8000-000000000000", "?"+v), nil, 404, api.CodeFlowNotFound},
		{"soft-deleted flow", "GET", aliceID, flowPath(defaultEnv, flowDeleted, "?"+v), nil, 404, api.CodeFlowNotFound},
		{"soft-deleted flow as admin", "GET", adminID, adminFlowPath(defaultEnv, flowDeleted, "?"+v), nil, 404, api.CodeFlowNotFound},
		{"unknown path", "GET", aliceID, flowRP + "/nothing/here?" + v, nil, 404, "NotFound"},
		{"wrong method", "PUT", aliceID, flowPath(defaultEnv, flowAlice, "?"+v), map[string]any{}, 405, "MethodNotAllowed"},
		{"admin PATCH is not served", "PATCH", adminID, adminFlowPath(defaultEnv, flowAlice, "?"+v), map[string]any{}, 405, "MethodNotAllowed"},
		{"v2 list is admin only", "GET", aliceID, flowRP + "/environments/" + defaultEnv + "/v2/flows?" + v, nil, 404, "NotFound"},
		{"bad $top", "GET", aliceID, flowPath(defaultEnv, "", "?"+v+"&$top=0"), nil, 400, "InvalidQueryParameterValue"},
		{"$top over 250", "GET", aliceID, flowPath(defaultEnv, "", "?"+v+"&$top=251"), nil, 400, "InvalidQueryParameterValue"},
		{"unsupported flow filter", "GET", aliceID, flowPath(defaultEnv, "", "?"+v+"&$filter=search('everything')"), nil, 400, api.CodeInvalidFilter},
		{"bad includeFlowDefinition", "GET", adminID, adminFlowPath(defaultEnv, flowAlice, "?"+v+"&includeFlowDefinition=yes"), nil, 400, "InvalidQueryParameterValue"},
		{"bad run filter", "GET", aliceID, flowPath(defaultEnv, flowAlice, "/runs?"+v+"&$filter=foo%20eq%201"), nil, 400, api.CodeInvalidFilter},
		{"unknown run", "POST", aliceID, flowPath(defaultEnv, flowAlice, "/runs/nope/cancel?"+v), nil, 404, api.CodeARMRequestFailed},
		{"cancel a finished run", "POST", aliceID, flowPath(defaultEnv, flowAlice, "/runs/08580000000000009998CU01/cancel?"+v), nil, 409, api.CodeARMRequestFailed},
		{"resubmit with another trigger", "POST", aliceID, flowPath(defaultEnv, flowAlice, "/triggers/other/histories/"+runningRun+"/resubmit?"+v), nil, 404, api.CodeARMRequestFailed},
		{"callback URL of a recurrence", "POST", aliceID, flowPath(defaultEnv, flowBroken, "/triggers/manual/listCallbackUrl?"+v), nil, 400, "InvalidTriggerType"},
		{"callback URL of an unknown trigger", "POST", aliceID, flowPath(defaultEnv, flowAlice, "/triggers/nope/listCallbackUrl?"+v), nil, 404, api.CodeARMRequestFailed},
		{"restore a live flow", "POST", adminID, adminFlowPath(defaultEnv, flowAlice, "/restore?"+v), nil, 404, api.CodeFlowNotFound},
		{"restore in user scope", "POST", aliceID, flowPath(defaultEnv, flowDeleted, "/restore?"+v), nil, 404, "NotFound"},
		{"body that is not JSON", "POST", aliceID, flowPath(defaultEnv, "", "?"+v), "not json", 400, api.CodeInvalidRequestContent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, emulator.Options{})
			wantError(t, e.call(tc.method, tc.principal, tc.path, tc.body), tc.status, tc.code)
		})
	}
}

func TestUnsupportedMediaType(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	req, _ := http.NewRequest("POST", e.hs.URL+flowPath(defaultEnv, "", "?"+v), stringsReader(`{"properties":{}}`))
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set("Authorization", "Bearer "+e.tok(aliceID, flowRP))
	resp, err := e.hs.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("status = %d, want 415", resp.StatusCode)
	}
}

func TestAuthentication(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	url := e.hs.URL + flowPath(defaultEnv, "", "?"+v)
	mint := func(c token.Claims) string { return token.Mint(c) }
	tests := []struct {
		name   string
		token  string
		status int
		code   string
	}{
		{"no token", "", 401, api.CodeAuthenticationFailed},
		{"garbled token", "not-a-jwt", 401, api.CodeAuthenticationFailed},
		{"unknown user", mint(token.Claims{TenantID: tenant, ObjectID: "ffffffff-0000-4000-8000-000000000000", Audience: flowAudience}), 401, api.CodeAuthenticationFailed},
		{"other tenant", mint(token.Claims{TenantID: "ffffffff-0000-4000-8000-0000000000aa", ObjectID: aliceID, Audience: flowAudience}), 401, api.CodeAuthenticationFailed},
		{"group cannot sign in", mint(token.Claims{TenantID: tenant, ObjectID: groupID}), 401, api.CodeAuthenticationFailed},
		{"unknown app", mint(token.Claims{TenantID: tenant, AppID: "ffffffff-0000-4000-8000-000000000000", IDType: "app"}), 401, api.CodeAuthenticationFailed},
		{"PowerApps audience on a Flow path", e.tok(aliceID, paRP), 401, "InvalidAuthenticationTokenAudience"},
		{"Graph audience", mint(token.Claims{TenantID: tenant, ObjectID: aliceID, Audience: "https://graph.microsoft.com"}), 401, "InvalidAuthenticationTokenAudience"},
		{"app token on user scope", e.tok(robotID, flowRP), 403, api.CodeForbidden},
		{"v2 audience (Flow app id)", mint(token.Claims{TenantID: tenant, ObjectID: aliceID, Audience: "7df0a125-d3be-4c96-aa54-591f83ff541c"}), 200, ""},
		{"scope-style audience", mint(token.Claims{TenantID: tenant, ObjectID: aliceID, Audience: "https://service.flow.microsoft.com//.default"}), 200, ""},
		{"token without audience", mint(token.Claims{TenantID: tenant, ObjectID: aliceID}), 200, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.raw("GET", tc.token, url, nil)
			if tc.code == "" {
				wantStatus(t, r, tc.status)
				return
			}
			wantError(t, r, tc.status, tc.code)
			if tc.status == 401 && r.header.Get("WWW-Authenticate") == "" {
				t.Errorf("401 without WWW-Authenticate")
			}
		})
	}
}

func TestAdminScope(t *testing.T) {
	tests := []struct {
		name, principal, path string
		status                int
	}{
		{"user is not admin", aliceID, flowRP + "/scopes/admin/environments/" + defaultEnv + "/v2/flows?" + v, 403},
		{"app without admin role", plainSP, flowRP + "/scopes/admin/environments/" + defaultEnv + "/v2/flows?" + v, 403},
		{"BAP needs admin", aliceID, bapRP + "/scopes/admin/environments?" + v, 403},
		{"admin connections need admin", bobID, paRP + "/scopes/admin/environments/" + defaultEnv + "/connections?" + v, 403},
		{"admin user", adminID, flowRP + "/scopes/admin/environments/" + defaultEnv + "/v2/flows?" + v, 200},
		{"admin app", robotID, flowRP + "/scopes/admin/environments/" + defaultEnv + "/v2/flows?" + v, 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, emulator.Options{})
			r := e.call("GET", tc.principal, tc.path, nil)
			if tc.status == 403 {
				wantError(t, r, 403, api.CodeForbidden)
				return
			}
			wantStatus(t, r, tc.status)
		})
	}
}

// TestVisibility: in user scope a caller sees the flows it owns or co-owns
// (directly or through a group); run-only users and others get 404.
func TestVisibility(t *testing.T) {
	tests := []struct {
		principal, flow string
		status          int
	}{
		{aliceID, flowAlice, 200},
		{aliceID, flowTeam, 200},     // CanEdit
		{aliceID, flowRunOnly, 404},  // CanView only
		{aliceID, flowAdmin, 404},    // nothing
		{bobID, flowGroup, 200},      // through the group
		{bobID, flowAlice, 404},      //
		{aliceID, flowSolution, 200}, // solution flows are visible when asked for by name
		{adminID, flowAlice, 404},    // admins see others' flows only in admin scope
	}
	e := newEnv(t, emulator.Options{})
	for _, tc := range tests {
		for _, op := range []struct{ method, suffix string }{{"GET", ""}, {"GET", "/permissions"}, {"POST", "/stop"}} {
			r := e.call(op.method, tc.principal, flowPath(defaultEnv, tc.flow, op.suffix+"?"+v), nil)
			if r.status != tc.status {
				t.Errorf("%s %s%s as %s = %d, want %d", op.method, tc.flow, op.suffix, tc.principal, r.status, tc.status)
			}
			if tc.status == 404 && r.code(t) != api.CodeFlowNotFound {
				t.Errorf("%s %s%s: code %q, want FlowNotFound", op.method, tc.flow, op.suffix, r.code(t))
			}
		}
	}
	r := e.call("GET", aliceID, flowPath(defaultEnv, flowAdmin, "?"+v), nil)
	if msg := r.json(t)["error"].(map[string]any)["message"]; msg != "Could not find flow '"+flowAdmin+"'." {
		t.Errorf("message = %q", msg)
	}
	r = e.call("DELETE", aliceID, flowPath(defaultEnv, flowAdmin, "?"+v), nil)
	wantError(t, r, 404, api.CodeFlowNotFound)
}

// TestListFilters: the sharing filters and the solution include.
func TestListFilters(t *testing.T) {
	tests := []struct {
		name, principal, query string
		want                   []string
	}{
		{"mine", aliceID, "", []string{flowAlice, flowBroken}},
		{"mine with solution flows", aliceID, "&include=includeSolutionCloudFlows", []string{flowAlice, flowSolution, flowBroken}},
		{"personal", aliceID, "&$filter=search('personal')", []string{flowAlice, flowBroken}},
		{"team", aliceID, "&$filter=search('team')", []string{flowTeam}},
		{"team and personal", aliceID, "&$filter=search('team%20AND%20personal')", []string{flowAlice, flowTeam, flowBroken}},
		{"team through a group", bobID, "&$filter=search('team')", []string{flowGroup}},
		{"admin's own", adminID, "&$filter=search('personal')", []string{flowRunOnly, flowAdmin}},
	}
	e := newEnv(t, emulator.Options{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.call("GET", tc.principal, flowPath(defaultEnv, "", "?"+v+tc.query), nil)
			wantStatus(t, r, 200)
			if diff := cmp.Diff(tc.want, names(t, r)); diff != "" {
				t.Errorf("flows (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("admin v2 with and without deleted", func(t *testing.T) {
		r := e.call("GET", adminID, flowRP+"/scopes/admin/environments/"+defaultEnv+"/v2/flows?"+v, nil)
		all := []string{flowAlice, flowTeam, flowGroup, flowRunOnly, flowSolution, flowBroken, flowAdmin}
		if diff := cmp.Diff(all, names(t, r)); diff != "" {
			t.Errorf("admin flows (-want +got):\n%s", diff)
		}
		r = e.call("GET", adminID, flowRP+"/scopes/admin/environments/"+defaultEnv+"/v2/flows?"+v+"&include=softDeletedFlows", nil)
		withDeleted := []string{flowAlice, flowTeam, flowGroup, flowRunOnly, flowSolution, flowDeleted, flowBroken, flowAdmin}
		if diff := cmp.Diff(withDeleted, names(t, r)); diff != "" {
			t.Errorf("admin flows with deleted (-want +got):\n%s", diff)
		}
		for _, it := range r.json(t)["value"].([]any) {
			m := it.(map[string]any)
			state, _ := at(m, "properties.state")
			if (m["name"] == flowDeleted) != (state == "Deleted") {
				t.Errorf("flow %v has state %v", m["name"], state)
			}
			if m["name"] == flowSolution {
				if w, _ := at(m, "properties.workflowEntityId"); w == nil {
					t.Errorf("solution flow without workflowEntityId")
				}
			}
		}
	})
}

// TestConnectionsVisibility: "my connections" are those the caller created
// plus those without a recorded creator.
func TestConnectionsVisibility(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	r := e.call("GET", bobID, paRP+"/connections?"+v+"&"+paFilter(defaultEnv), nil)
	wantStatus(t, r, 200)
	if diff := cmp.Diff([]string{connRSS}, names(t, r)); diff != "" {
		t.Errorf("bob's connections (-want +got):\n%s", diff)
	}
}
