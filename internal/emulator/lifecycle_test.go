package emulator_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/emulator"
)

func flowState(t *testing.T, e *env, principal, flow string) string {
	t.Helper()
	r := e.call("GET", principal, flowPath(defaultEnv, flow, "?"+v), nil)
	wantStatus(t, r, 200)
	s, _ := at(r.json(t), "properties.state")
	return s.(string)
}

func TestFlowLifecycle(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	def := definition("Request", "Button", "shared_office365", "shared_rss")
	rf := refs("shared_office365", connO365, "shared_rss", connRSS)

	// Create.
	r := e.call("POST", aliceID, flowPath(defaultEnv, "", "?"+v), createBody("Lifecycle", "", def, rf))
	wantStatus(t, r, 201)
	created := r.json(t)
	name := created["name"].(string)
	if s, _ := at(created, "properties.state"); s != "Started" {
		t.Errorf("created state = %v, want Started (the default)", s)
	}
	if ct, _ := at(created, "properties.createdTime"); ct != "2025-03-01T09:00:00.0000000Z" {
		t.Errorf("createdTime = %v, want the emulator clock", ct)
	}
	var sent, stored any
	_ = json.Unmarshal(def, &sent)
	stored, _ = at(created, "properties.definition")
	if diff := cmp.Diff(sent, stored); diff != "" {
		t.Errorf("stored definition (-sent +stored):\n%s", diff)
	}

	// Update: display name alone, then state alone, then definition with references.
	e.clock.Advance(time.Minute)
	r = e.call("PATCH", aliceID, flowPath(defaultEnv, name, "?"+v), map[string]any{"properties": map[string]any{"displayName": "Renamed"}})
	wantStatus(t, r, 200)
	if lm, _ := at(r.json(t), "properties.lastModifiedTime"); lm != "2025-03-01T09:01:00.0000000Z" {
		t.Errorf("lastModifiedTime = %v, want moved to the clock", lm)
	}
	r = e.call("PATCH", aliceID, flowPath(defaultEnv, name, "?"+v), map[string]any{"properties": map[string]any{"state": "Stopped"}})
	wantStatus(t, r, 200)
	if s := flowState(t, e, aliceID, name); s != "Stopped" {
		t.Errorf("state after PATCH = %s", s)
	}
	r = e.call("PATCH", aliceID, flowPath(defaultEnv, name, "?"+v), map[string]any{"properties": map[string]any{"definition": definition("Recurrence", "")}})
	wantError(t, r, 400, api.CodeInvalidOpenAPIFlow)
	r = e.call("PATCH", aliceID, flowPath(defaultEnv, name, "?"+v), map[string]any{"properties": map[string]any{
		"definition": definition("Recurrence", "", "shared_rss"), "connectionReferences": refs("shared_rss", connRSS)}})
	wantStatus(t, r, 200)
	if d, _ := at(r.json(t), "properties.definition.triggers.manual.type"); d != "Recurrence" {
		t.Errorf("definition not replaced: trigger type %v", d)
	}
	if k := keysOf(t, r.json(t), "properties.connectionReferences"); !cmp.Equal(k, []string{"shared_rss"}) {
		t.Errorf("references = %v", k)
	}

	// Delete (soft), invisible, admin sees it as Deleted, restore returns it Stopped.
	wantStatus(t, e.call("POST", aliceID, flowPath(defaultEnv, name, "/start?"+v), nil), 200)
	wantStatus(t, e.call("DELETE", aliceID, flowPath(defaultEnv, name, "?"+v), nil), 200)
	wantError(t, e.call("GET", aliceID, flowPath(defaultEnv, name, "?"+v), nil), 404, api.CodeFlowNotFound)
	wantStatus(t, e.call("DELETE", aliceID, flowPath(defaultEnv, name, "?"+v), nil), 204)
	wantError(t, e.call("POST", aliceID, flowPath(defaultEnv, name, "/start?"+v), nil), 404, api.CodeFlowNotFound)
	e.clock.Advance(20 * 24 * time.Hour)
	wantStatus(t, e.call("POST", adminID, adminFlowPath(defaultEnv, name, "/restore?"+v), nil), 200)
	if s := flowState(t, e, aliceID, name); s != "Stopped" {
		t.Errorf("restored flow state = %s, want Stopped", s)
	}
	wantError(t, e.call("POST", adminID, adminFlowPath(defaultEnv, name, "/restore?"+v), nil), 404, api.CodeFlowNotFound)
}

func TestRetention(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	// flowDeleted was deleted two days before t0: 19 days of retention left.
	e.clock.Advance(19*24*time.Hour - time.Second)
	r := e.call("GET", adminID, flowRP+"/scopes/admin/environments/"+defaultEnv+"/v2/flows?"+v+"&include=softDeletedFlows", nil)
	if !contains(names(t, r), flowDeleted) {
		t.Fatalf("deleted flow missing one second before the end of retention")
	}
	e.clock.Advance(time.Second)
	r = e.call("GET", adminID, flowRP+"/scopes/admin/environments/"+defaultEnv+"/v2/flows?"+v+"&include=softDeletedFlows", nil)
	if contains(names(t, r), flowDeleted) {
		t.Errorf("deleted flow listed after 21 days")
	}
	wantError(t, e.call("POST", adminID, adminFlowPath(defaultEnv, flowDeleted, "/restore?"+v), nil), 404, api.CodeFlowNotFound)
	for _, f := range e.s.Dump().Flows {
		if string(f.Name) == flowDeleted {
			t.Errorf("Dump keeps a flow past retention")
		}
	}
}

func TestRetentionThroughControlClock(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	wantStatus(t, e.raw("POST", "", e.hs.URL+"/_emulator/clock/advance?by=432h", nil), 200) // 18 of the 19 days left
	wantStatus(t, e.call("POST", adminID, adminFlowPath(defaultEnv, flowDeleted, "/restore?"+v), nil), 200)
	wantStatus(t, e.call("DELETE", aliceID, flowPath(defaultEnv, flowDeleted, "?"+v), nil), 200)
	wantStatus(t, e.raw("POST", "", e.hs.URL+"/_emulator/clock/advance?by=504h", nil), 200) // 21 days
	wantError(t, e.call("POST", adminID, adminFlowPath(defaultEnv, flowDeleted, "/restore?"+v), nil), 404, api.CodeFlowNotFound)
}

func TestSolutionFlowsAreHardDeleted(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	wantStatus(t, e.call("DELETE", aliceID, flowPath(defaultEnv, flowSolution, "?"+v), nil), 200)
	wantError(t, e.call("POST", adminID, adminFlowPath(defaultEnv, flowSolution, "/restore?"+v), nil), 404, api.CodeFlowNotFound)
	r := e.call("GET", adminID, flowRP+"/scopes/admin/environments/"+defaultEnv+"/v2/flows?"+v+"&include=softDeletedFlows", nil)
	if contains(names(t, r), flowSolution) {
		t.Errorf("solution flow listed after delete")
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// TestSaveValidation covers what Create and Update refuse.
func TestSaveValidation(t *testing.T) {
	good := definition("Request", "Button", "shared_rss")
	noAuthParam := json.RawMessage(`{"parameters":{"$connections":{"type":"Object"}},"triggers":{"t":{"type":"Request"}},"actions":{}}`)
	noConnParam := json.RawMessage(`{"parameters":{"$authentication":{"type":"SecureObject"}},"triggers":{"t":{"type":"Request"}},"actions":{}}`)
	noTriggers := json.RawMessage(`{"parameters":{"$connections":{},"$authentication":{}},"triggers":{},"actions":{}}`)
	noActions := json.RawMessage(`{"parameters":{"$connections":{},"$authentication":{}},"triggers":{"t":{"type":"Request"}}}`)
	legacy := json.RawMessage(`{"parameters":{"$connections":{},"$authentication":{}},"triggers":{"t":{"type":"Request"}},"actions":{"A":{"type":"ApiConnection","inputs":{"host":{"connection":{"name":"@parameters('$connections')['shared_rss']['connectionId']"}}}}}}`)
	missingHost := json.RawMessage(`{"parameters":{"$connections":{},"$authentication":{}},"triggers":{"t":{"type":"Request"}},"actions":{"A":{"type":"OpenApiConnection","inputs":{"host":{"operationId":"x"}}}}}`)
	nested := json.RawMessage(`{"parameters":{"$connections":{},"$authentication":{}},"triggers":{"t":{"type":"Request"}},"actions":{"Scope":{"type":"Scope","actions":{"If":{"type":"If","expression":true,"actions":{},"else":{"actions":{"Deep":{"type":"OpenApiConnection","inputs":{"host":{"connectionName":"shared_sharepointonline"}}}}}}}}}}`)
	tests := []struct {
		name   string
		body   any
		status int
		code   string
	}{
		{"no properties", map[string]any{"displayName": "x"}, 400, api.CodeInvalidRequestContent},
		{"no display name", map[string]any{"properties": map[string]any{"definition": good, "connectionReferences": refs("shared_rss", connRSS)}}, 400, api.CodeInvalidRequestContent},
		{"empty display name", createBody(" ", "Stopped", good, refs("shared_rss", connRSS)), 400, api.CodeInvalidRequestContent},
		{"no definition", map[string]any{"properties": map[string]any{"displayName": "x"}}, 400, api.CodeInvalidRequestContent},
		{"definition not an object", createBody("x", "Stopped", json.RawMessage(`"text"`), refs()), 400, api.CodeInvalidTemplate},
		{"bad state", createBody("x", "Suspended", good, refs("shared_rss", connRSS)), 400, api.CodeInvalidRequestContent},
		{"$authentication undeclared", createBody("x", "Stopped", noAuthParam, refs()), 400, api.CodeInvalidTemplate},
		{"$connections undeclared", createBody("x", "Stopped", noConnParam, refs()), 400, api.CodeInvalidTemplate},
		{"no trigger", createBody("x", "Stopped", noTriggers, refs()), 400, api.CodeInvalidTemplate},
		{"no actions object", createBody("x", "Stopped", noActions, refs()), 400, api.CodeInvalidTemplate},
		{"references as an array", createBody("x", "Stopped", good, json.RawMessage(`[{"connectionName":"`+connRSS+`"}]`)), 400, api.CodeInvalidRequestContent},
		{"connection not in environment", createBody("x", "Stopped", good, refs("shared_rss", "shared-rss-missing")), 400, api.CodeConnectionNotFound},
		{"connection of another api", createBody("x", "Stopped", good, json.RawMessage(`{"shared_rss":{"connectionName":"`+connO365+`","id":"/providers/Microsoft.PowerApps/apis/shared_rss"}}`)), 400, api.CodeConnectionNotFound},
		{"reference naming nothing", createBody("x", "Stopped", good, json.RawMessage(`{"shared_rss":{"id":"/providers/Microsoft.PowerApps/apis/shared_rss"}}`)), 400, api.CodeConnectionNotFound},
		{"action names a missing reference", createBody("x", "Stopped", good, refs()), 400, api.CodeInvalidOpenAPIFlow},
		{"legacy action names a missing reference", createBody("x", "Stopped", legacy, refs()), 400, api.CodeInvalidOpenAPIFlow},
		{"action without host.connectionName", createBody("x", "Stopped", missingHost, refs()), 400, api.CodeInvalidOpenAPIFlow},
		{"nested action names a missing reference", createBody("x", "Stopped", nested, refs("shared_rss", connRSS)), 400, api.CodeInvalidOpenAPIFlow},
		{"started with an Error connection", createBody("x", "Started", definition("Request", "", "shared_sharepointonline"), refs("shared_sharepointonline", connSPO)), 400, api.CodeConnectionAuthorizationFailed},
		{"stopped with an Error connection", createBody("x", "Stopped", definition("Request", "", "shared_sharepointonline"), refs("shared_sharepointonline", connSPO)), 201, ""},
		{"solution-style reference", createBody("x", "Started", good, json.RawMessage(`{"shared_rss":{"connectionReferenceLogicalName":"ex_rss"}}`)), 201, ""},
		{"legacy action with reference", createBody("x", "Stopped", legacy, refs("shared_rss", connRSS)), 201, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, emulator.Options{})
			r := e.call("POST", aliceID, flowPath(defaultEnv, "", "?"+v), tc.body)
			if tc.code == "" {
				wantStatus(t, r, tc.status)
				return
			}
			wantError(t, r, tc.status, tc.code)
		})
	}
}

func TestInvalidOpenAPIFlowMessage(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	r := e.call("POST", aliceID, flowPath(defaultEnv, "", "?"+v), createBody("x", "Stopped", definition("Request", "", "shared_rss"), refs()))
	wantError(t, r, 400, api.CodeInvalidOpenAPIFlow)
	apiErr := api.DecodeError(r.status, r.header, r.body, t0)
	if apiErr.InnerCode != "WorkflowRunActionInputsInvalidProperty" {
		t.Errorf("inner code = %q (message %q), want WorkflowRunActionInputsInvalidProperty", apiErr.InnerCode, apiErr.Message)
	}
}

func TestStartChecksConnections(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	wantError(t, e.call("POST", aliceID, flowPath(defaultEnv, flowBroken, "/start?"+v), nil), 400, api.CodeConnectionAuthorizationFailed)
	if s := flowState(t, e, aliceID, flowBroken); s != "Stopped" {
		t.Errorf("state after refused start = %s", s)
	}
	wantError(t, e.call("POST", adminID, adminFlowPath(defaultEnv, flowBroken, "/start?"+v), nil), 400, api.CodeConnectionAuthorizationFailed)
	// Re-point the reference at a Connected connection: now it starts.
	r := e.call("PATCH", aliceID, flowPath(defaultEnv, flowBroken, "?"+v), map[string]any{"properties": map[string]any{
		"definition": definition("Recurrence", "", "shared_office365"), "connectionReferences": refs("shared_office365", connO365)}})
	wantStatus(t, r, 200)
	wantStatus(t, e.call("POST", aliceID, flowPath(defaultEnv, flowBroken, "/start?"+v), nil), 200)
	if s := flowState(t, e, aliceID, flowBroken); s != "Started" {
		t.Errorf("state = %s, want Started", s)
	}
	// PATCH state Started on a flow with an Error connection is refused too.
	r = e.call("PATCH", aliceID, flowPath(defaultEnv, flowBroken, "?"+v), map[string]any{"properties": map[string]any{
		"definition": definition("Recurrence", "", "shared_sharepointonline"), "connectionReferences": refs("shared_sharepointonline", connSPO)}})
	wantError(t, r, 400, api.CodeConnectionAuthorizationFailed)
}

// TestCreatedConnectionIsUsable: a new non-OAuth connection can be referenced
// and started; a new OAuth one can be referenced but not started.
func TestCreatedConnectionIsUsable(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	put := func(api, name string) {
		t.Helper()
		r := e.call("PUT", aliceID, paRP+"/apis/"+api+"/connections/"+name+"?api-version=2021-02-01&"+paFilter(devEnv),
			map[string]any{"properties": map[string]any{"environment": map[string]any{"name": devEnv}}})
		wantStatus(t, r, 201)
	}
	put("shared_rss", "11111111111111111111111111111111")
	put("shared_office365", "22222222222222222222222222222222")
	r := e.call("POST", aliceID, flowPath(devEnv, "", "?"+v), createBody("rss", "Started", definition("Recurrence", "", "shared_rss"), refs("shared_rss", "11111111111111111111111111111111")))
	wantStatus(t, r, 201)
	r = e.call("POST", aliceID, flowPath(devEnv, "", "?"+v), createBody("mail", "Stopped", definition("Recurrence", "", "shared_office365"), refs("shared_office365", "22222222222222222222222222222222")))
	wantStatus(t, r, 201)
	name := r.json(t)["name"].(string)
	wantError(t, e.call("POST", aliceID, flowPath(devEnv, name, "/start?"+v), nil), 400, api.CodeConnectionAuthorizationFailed)
	// The body's environment must match the filter's.
	r = e.call("PUT", aliceID, paRP+"/apis/shared_rss/connections/33333333333333333333333333333333?api-version=2021-02-01&"+paFilter(devEnv),
		map[string]any{"properties": map[string]any{"environment": map[string]any{"name": defaultEnv}}})
	wantError(t, r, 400, api.CodeInvalidRequestContent)
	// Custom connector of another environment.
	r = e.call("PUT", aliceID, paRP+"/apis/shared_custom-5fthing-5f0123456789abcdef/connections/44444444444444444444444444444444?api-version=2021-02-01&"+paFilter(defaultEnv),
		map[string]any{"properties": map[string]any{}})
	wantError(t, r, 404, api.CodeAPINotFound)
}

func TestPermissions(t *testing.T) {
	put := func(id, typ, role string) map[string]any {
		return map[string]any{"properties": map[string]any{"principal": map[string]any{"id": id, "type": typ}, "roleName": role}}
	}
	del := func(id string) map[string]any { return map[string]any{"id": id} }
	permID := "/providers/Microsoft.ProcessSimple/environments/" + defaultEnv + "/flows/" + flowAlice + "/permissions/"
	tests := []struct {
		name   string
		body   any
		status int
		code   string
		want   map[string]string // principal → role after, when 200
	}{
		{"grant co-owner", map[string]any{"put": []any{put(bobID, "User", "CanEdit")}}, 200, "",
			map[string]string{aliceID: "Owner", bobID: "CanEdit"}},
		{"grant run-only to a group and the tenant", map[string]any{"put": []any{put(groupID, "Group", "CanView"), put(tenant, "Tenant", "CanViewWithShare")}}, 200, "",
			map[string]string{aliceID: "Owner", groupID: "CanView", tenant: "CanViewWithShare"}},
		{"grant a service principal", map[string]any{"put": []any{put(robotID, "ServicePrincipal", "CanEdit")}}, 200, "",
			map[string]string{aliceID: "Owner", robotID: "CanEdit"}},
		{"put and delete together, full id", map[string]any{"put": []any{put(bobID, "User", "CanEdit")}, "delete": []any{del(permID + adminID)}}, 200, "",
			map[string]string{aliceID: "Owner", bobID: "CanEdit"}},
		{"delete someone without a permission", map[string]any{"delete": []any{del(bobID)}}, 200, "",
			map[string]string{aliceID: "Owner"}},
		{"Owner cannot be granted", map[string]any{"put": []any{put(bobID, "User", "Owner")}}, 400, api.CodeInvalidRoleName, nil},
		{"unknown role", map[string]any{"put": []any{put(bobID, "User", "Admin")}}, 400, api.CodeInvalidRoleName, nil},
		{"unknown principal", map[string]any{"put": []any{put("ffffffff-0000-4000-8000-000000000000", "User", "CanEdit")}}, 400, api.CodePrincipalNotFound, nil},
		{"wrong principal type", map[string]any{"put": []any{put(groupID, "User", "CanEdit")}}, 400, api.CodeInvalidRequestContent, nil},
		{"creator cannot be removed", map[string]any{"delete": []any{del(aliceID)}}, 400, "CannotChangeFlowCreatorRole", nil},
		{"creator cannot be removed by full id", map[string]any{"delete": []any{del(permID + aliceID)}}, 400, "CannotChangeFlowCreatorRole", nil},
		{"creator cannot be downgraded", map[string]any{"put": []any{put(aliceID, "User", "CanView")}}, 400, "CannotChangeFlowCreatorRole", nil},
		{"permission id of another flow", map[string]any{"delete": []any{del("/providers/Microsoft.ProcessSimple/environments/" + defaultEnv + "/flows/" + flowTeam + "/permissions/" + bobID)}}, 400, api.CodeInvalidRequestContent, nil},
		{"nothing to do", map[string]any{}, 400, api.CodeInvalidRequestContent, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, emulator.Options{})
			// Start every case with admin as CanView on alice's flow.
			wantStatus(t, e.call("POST", aliceID, flowPath(defaultEnv, flowAlice, "/modifyPermissions?"+v),
				map[string]any{"put": []any{put(adminID, "User", "CanView")}}), 200)
			r := e.call("POST", aliceID, flowPath(defaultEnv, flowAlice, "/modifyPermissions?"+v), tc.body)
			if tc.code != "" {
				wantError(t, r, tc.status, tc.code)
				tc.want = map[string]string{aliceID: "Owner", adminID: "CanView"} // nothing applied
			} else {
				wantStatus(t, r, tc.status)
				if _, deleted := tc.want[adminID]; !deleted && tc.name != "put and delete together, full id" {
					tc.want[adminID] = "CanView"
				}
			}
			r = e.call("GET", aliceID, flowPath(defaultEnv, flowAlice, "/permissions?"+v), nil)
			wantStatus(t, r, 200)
			got := map[string]string{}
			for _, it := range r.json(t)["value"].([]any) {
				role, _ := at(it, "properties.roleName")
				got[it.(map[string]any)["name"].(string)] = role.(string)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("permissions (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPermissionsChangeVisibility: a co-owner sees the flow, a run-only user does not.
func TestPermissionsChangeVisibility(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	grant := func(role string) {
		t.Helper()
		wantStatus(t, e.call("POST", aliceID, flowPath(defaultEnv, flowAlice, "/modifyPermissions?"+v), map[string]any{"put": []any{
			map[string]any{"properties": map[string]any{"principal": map[string]any{"id": bobID, "type": "User"}, "roleName": role}}}}), 200)
	}
	grant("CanView")
	wantStatus(t, e.call("GET", bobID, flowPath(defaultEnv, flowAlice, "?"+v), nil), 404)
	grant("CanEdit")
	wantStatus(t, e.call("GET", bobID, flowPath(defaultEnv, flowAlice, "?"+v), nil), 200)
	r := e.call("GET", bobID, flowPath(defaultEnv, "", "?"+v+"&$filter=search('team')"), nil)
	if diff := cmp.Diff([]string{flowAlice, flowGroup}, names(t, r)); diff != "" {
		t.Errorf("bob's team flows (-want +got):\n%s", diff)
	}
	// Bob (co-owner) may now change the flow; the creator stays Owner.
	wantStatus(t, e.call("PATCH", bobID, flowPath(defaultEnv, flowAlice, "?"+v), map[string]any{"properties": map[string]any{"displayName": "Bob was here"}}), 200)
	r = e.call("GET", aliceID, flowPath(defaultEnv, flowAlice, "?"+v), nil)
	if c, _ := at(r.json(t), "properties.creator.objectId"); c != aliceID {
		t.Errorf("creator = %v", c)
	}
}

func TestResubmitAndCancel(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	wantStatus(t, e.call("POST", aliceID, flowPath(defaultEnv, flowAlice, "/triggers/manual/histories/"+runningRun+"/resubmit?"+v), nil), 202)
	r := e.call("GET", aliceID, flowPath(defaultEnv, flowAlice, "/runs?"+v+"&$filter=status%20eq%20'Running'"), nil)
	got := names(t, r)
	if len(got) != 2 {
		t.Fatalf("running runs = %v, want the old and the resubmitted one", got)
	}
	newest := got[0]
	wantStatus(t, e.call("POST", aliceID, flowPath(defaultEnv, flowAlice, "/runs/"+newest+"/cancel?"+v), nil), 200)
	r = e.call("GET", aliceID, flowPath(defaultEnv, flowAlice, "/runs?"+v+"&$filter=status%20eq%20'Cancelled'"), nil)
	if diff := cmp.Diff([]string{newest}, names(t, r)); diff != "" {
		t.Errorf("cancelled runs (-want +got):\n%s", diff)
	}
}
