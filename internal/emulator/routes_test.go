package emulator_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/emulator"
)

// at walks m along dotted keys ("properties.definition").
func at(m any, path string) (any, bool) {
	cur := m
	for _, k := range strings.Split(path, ".") {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = obj[k]; !ok {
			return nil, false
		}
	}
	return cur, true
}

func keysOf(t *testing.T, m any, path string) []string {
	t.Helper()
	v, ok := at(m, path)
	if path == "" {
		v, ok = m, true
	}
	obj, isObj := v.(map[string]any)
	if !ok || !isObj {
		t.Fatalf("%s is not an object in %v", path, m)
	}
	var out []string
	for k := range obj {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func firstItem(t *testing.T, r result) map[string]any {
	t.Helper()
	items, _ := r.json(t)["value"].([]any)
	if len(items) == 0 {
		t.Fatalf("empty list: %s", r.body)
	}
	return items[0].(map[string]any)
}

var runningRun = "0858" + "0000000000009999" + "CU00"

// TestEveryRoute calls each operation of CONTRACT.md's table once, as an
// identity allowed to, and checks status and the shape the contract names.
func TestEveryRoute(t *testing.T) {
	tests := []struct {
		name, method, principal, path string
		body                          any
		status                        int
		check                         func(t *testing.T, r result)
	}{
		{"list environments", "GET", aliceID, flowRP + "/environments?" + v, nil, 200, func(t *testing.T, r result) {
			if diff := cmp.Diff([]string{defaultEnv, devEnv}, names(t, r)); diff != "" {
				t.Errorf("environments (-want +got):\n%s", diff)
			}
			item := firstItem(t, r)
			if diff := cmp.Diff([]string{"id", "location", "name", "properties", "type"}, keysOf(t, item, "")); diff != "" {
				t.Errorf("environment keys (-want +got):\n%s", diff)
			}
			if item["type"] != "Microsoft.ProcessSimple/environments" || item["id"] != flowRP+"/environments/"+defaultEnv {
				t.Errorf("environment type/id = %v / %v", item["type"], item["id"])
			}
			if d, _ := at(item, "properties.isDefault"); d != true {
				t.Errorf("default environment isDefault = %v", d)
			}
		}},
		{"get environment by alias", "GET", aliceID, flowRP + "/environments/~default?" + v, nil, 200, func(t *testing.T, r result) {
			if n := r.json(t)["name"]; n != defaultEnv {
				t.Errorf("name = %v, want %s", n, defaultEnv)
			}
		}},
		{"list my flows", "GET", aliceID, flowPath(defaultEnv, "", "?"+v), nil, 200, func(t *testing.T, r result) {
			item := firstItem(t, r)
			want := []string{"apiId", "createdTime", "creator", "definitionSummary", "displayName", "environment",
				"flowFailureAlertSubscribed", "flowSuspensionReason", "isManaged", "lastModifiedTime", "provisioningMethod", "state", "templateName"}
			if diff := cmp.Diff(want, keysOf(t, item, "properties")); diff != "" {
				t.Errorf("list item properties (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"objectId", "tenantId", "userId", "userType"}, keysOf(t, item, "properties.creator")); diff != "" {
				t.Errorf("creator keys (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"id", "name", "type"}, keysOf(t, item, "properties.environment")); diff != "" {
				t.Errorf("environment keys (-want +got):\n%s", diff)
			}
			if s, _ := at(item, "properties.definitionSummary.actions"); len(s.([]any)) != 1 {
				t.Errorf("definitionSummary.actions = %v, want one action", s)
			}
			if item["type"] != "Microsoft.ProcessSimple/environments/flows" {
				t.Errorf("type = %v", item["type"])
			}
		}},
		{"list flows as admin v2", "GET", adminID, flowRP + "/scopes/admin/environments/" + defaultEnv + "/v2/flows?" + v, nil, 200, func(t *testing.T, r result) {
			item := firstItem(t, r)
			for _, absent := range []string{"definition", "connectionReferences"} {
				if _, ok := at(item, "properties."+absent); ok {
					t.Errorf("admin list item has %s", absent)
				}
			}
		}},
		{"get flow", "GET", aliceID, flowPath(defaultEnv, flowAlice, "?"+v), nil, 200, func(t *testing.T, r result) {
			m := r.json(t)
			want := []string{"apiId", "connectionReferences", "createdTime", "creator", "definition", "definitionSummary", "displayName", "environment",
				"flowFailureAlertSubscribed", "flowSuspensionReason", "flowTriggerUri", "isManaged", "lastModifiedTime", "provisioningMethod", "state", "templateName", "userType"}
			if diff := cmp.Diff(want, keysOf(t, m, "properties")); diff != "" {
				t.Errorf("flow properties (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"shared_office365"}, keysOf(t, m, "properties.connectionReferences")); diff != "" {
				t.Errorf("connectionReferences keys (-want +got):\n%s", diff)
			}
			if m["id"] != flowRP+"/environments/"+defaultEnv+"/flows/"+flowAlice {
				t.Errorf("id = %v", m["id"])
			}
			uri, _ := at(m, "properties.flowTriggerUri")
			if s, _ := uri.(string); !strings.Contains(s, "/triggers/manual/run") || strings.Contains(s, "sig=") {
				t.Errorf("flowTriggerUri = %v: want an APIM trigger URL without sig", uri)
			}
			ct, _ := at(m, "properties.createdTime")
			if ct != "2025-02-25T15:00:00.0000000Z" {
				t.Errorf("createdTime = %v", ct)
			}
		}},
		{"get flow with apiDefinition", "GET", aliceID, flowPath(defaultEnv, flowAlice, "?"+v+"&$expand=properties.connectionreferences.apidefinition"), nil, 200, func(t *testing.T, r result) {
			name, ok := at(r.json(t), "properties.connectionReferences.shared_office365.apiDefinition.name")
			if !ok || name != "shared_office365" {
				t.Errorf("apiDefinition.name = %v", name)
			}
		}},
		{"get flow as admin", "GET", adminID, adminFlowPath(defaultEnv, flowAlice, "?"+v+"&includeFlowDefinition=true"), nil, 200, func(t *testing.T, r result) {
			if _, ok := at(r.json(t), "properties.definition.triggers.manual"); !ok {
				t.Errorf("admin get with includeFlowDefinition has no definition: %s", r.body)
			}
		}},
		{"get flow as admin without definition", "GET", robotID, adminFlowPath(defaultEnv, flowAlice, "?"+v), nil, 200, func(t *testing.T, r result) {
			if _, ok := at(r.json(t), "properties.definition"); ok {
				t.Errorf("admin get without includeFlowDefinition has a definition")
			}
		}},
		{"create flow", "POST", aliceID, flowPath(defaultEnv, "", "?"+v),
			createBody("New", "Stopped", definition("Request", "Http", "shared_rss"), refs("shared_rss", connRSS)), 201, func(t *testing.T, r result) {
				m := r.json(t)
				if ok, _ := regexp.MatchString(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, m["name"].(string)); !ok {
					t.Errorf("name %v is not a GUID", m["name"])
				}
				if c, _ := at(m, "properties.creator.objectId"); c != aliceID {
					t.Errorf("creator = %v, want the caller", c)
				}
			}},
		{"update flow", "PATCH", aliceID, flowPath(defaultEnv, flowAlice, "?"+v), map[string]any{"properties": map[string]any{"displayName": "Renamed"}}, 200, func(t *testing.T, r result) {
			if d, _ := at(r.json(t), "properties.displayName"); d != "Renamed" {
				t.Errorf("displayName = %v", d)
			}
		}},
		{"delete flow", "DELETE", aliceID, flowPath(defaultEnv, flowBroken, "?"+v), nil, 200, nil},
		{"delete absent flow", "DELETE", aliceID, flowPath(defaultEnv, "b0000000-0000-4000-8000-000000000000", "?"+v), nil, 204, nil},
		{"delete flow as admin", "DELETE", robotID, adminFlowPath(defaultEnv, flowAlice, "?"+v), nil, 200, nil},
		{"turn on", "POST", aliceID, flowPath(defaultEnv, flowAlice, "/start?"+v), nil, 200, nil},
		{"turn off", "POST", aliceID, flowPath(defaultEnv, flowAlice, "/stop?"+v), nil, 200, nil},
		{"turn off as admin", "POST", adminID, adminFlowPath(defaultEnv, flowAlice, "/stop?"+v), nil, 200, nil},
		{"restore", "POST", adminID, adminFlowPath(defaultEnv, flowDeleted, "/restore?"+v), nil, 200, nil},
		{"list owners", "GET", aliceID, flowPath(defaultEnv, flowTeam, "/permissions?"+v), nil, 200, func(t *testing.T, r result) {
			if diff := cmp.Diff([]string{adminID, aliceID}, names(t, r)); diff != "" {
				t.Errorf("permissions (-want +got):\n%s", diff)
			}
		}},
		{"list owners as admin", "GET", robotID, adminFlowPath(defaultEnv, flowRunOnly, "/permissions?"+v), nil, 200, nil},
		{"list owners, old path", "GET", aliceID, flowPath(defaultEnv, flowTeam, "/owners?api-version=2017-06-01"), nil, 200, nil},
		{"modify permissions", "POST", aliceID, flowPath(defaultEnv, flowAlice, "/modifyPermissions?"+v),
			map[string]any{"put": []any{map[string]any{"properties": map[string]any{"principal": map[string]any{"id": bobID, "type": "User"}, "roleName": "CanView"}}}}, 200, nil},
		{"modify permissions as admin", "POST", robotID, adminFlowPath(defaultEnv, flowTeam, "/modifyPermissions?"+v),
			map[string]any{"delete": []any{map[string]any{"id": aliceID}}}, 200, nil},
		{"callback URL", "POST", aliceID, flowPath(defaultEnv, flowAlice, "/triggers/manual/listCallbackUrl?"+v), nil, 200, func(t *testing.T, r result) {
			u, _ := at(r.json(t), "response.value")
			re := regexp.MustCompile(`^https://prod-00\.westeurope\.logic\.azure\.com:443/workflows/[0-9a-f]{32}/triggers/manual/paths/invoke\?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1\.0&sig=[A-Za-z0-9_-]{43}$`)
			if s, _ := u.(string); !re.MatchString(s) {
				t.Errorf("callback URL %q does not match %s", u, re)
			}
		}},
		{"list triggers", "GET", aliceID, flowPath(defaultEnv, flowAlice, "/triggers?"+v), nil, 200, func(t *testing.T, r result) {
			item := firstItem(t, r)
			if item["name"] != "manual" || item["type"] != "Microsoft.ProcessSimple/environments/flows/triggers" {
				t.Errorf("trigger = %v", item)
			}
		}},
		{"list runs", "GET", aliceID, flowPath(defaultEnv, flowAlice, "/runs?"+v), nil, 200, func(t *testing.T, r result) {
			m := r.json(t)
			if n := len(m["value"].([]any)); n != 50 {
				t.Errorf("runs page has %d items, want 50", n)
			}
			if _, ok := m["nextLink"]; !ok {
				t.Errorf("runs page has no nextLink")
			}
			item := firstItem(t, r)
			if item["name"] != runningRun || item["type"] != "Microsoft.ProcessSimple/environments/flows/runs" {
				t.Errorf("first run = %v %v, want the newest", item["name"], item["type"])
			}
			link, _ := at(item, "properties.trigger.inputsLink.uri")
			if s, _ := link.(string); !strings.Contains(s, "&sig=") {
				t.Errorf("inputsLink %v has no sig", link)
			}
		}},
		{"get run", "GET", aliceID, flowPath(defaultEnv, flowAlice, "/runs/"+runningRun+"?"+v), nil, 200, func(t *testing.T, r result) {
			m := r.json(t)
			if m["name"] != runningRun || m["type"] != "Microsoft.ProcessSimple/environments/flows/runs" {
				t.Errorf("run = %v %v", m["name"], m["type"])
			}
			if a, ok := at(m, "properties.actions"); ok {
				t.Errorf("actions without $expand: %v", a)
			}
		}},
		{"get run with actions", "GET", aliceID, flowPath(defaultEnv, flowAlice, "/runs/"+runningRun+"?$expand=properties/actions&"+v), nil, 200, func(t *testing.T, r result) {
			acts, _ := at(r.json(t), "properties.actions")
			m, _ := acts.(map[string]any)
			if len(m) != 1 {
				t.Fatalf("actions = %v, want the flow's one action", acts)
			}
			if st, _ := at(m["Action_0"], "status"); st != "Running" {
				t.Errorf("the running run's first action has status %v, want Running", st)
			}
		}},
		{"get unknown run", "GET", aliceID, flowPath(defaultEnv, flowAlice, "/runs/08584000000000000000000000000CU00?"+v), nil, 404, func(t *testing.T, r result) {
			if r.code(t) != api.CodeARMRequestFailed || !strings.Contains(string(r.body), api.CodeWorkflowRunNotFound) {
				t.Errorf("unknown run: %s, want WorkflowRunNotFound wrapped", r.body)
			}
		}},
		{"cancel run", "POST", aliceID, flowPath(defaultEnv, flowAlice, "/runs/"+runningRun+"/cancel?"+v), nil, 200, nil},
		{"resubmit run", "POST", aliceID, flowPath(defaultEnv, flowAlice, "/triggers/manual/histories/"+runningRun+"/resubmit?"+v), nil, 202, nil},
		{"BAP admin environments", "GET", robotID, bapRP + "/scopes/admin/environments?" + v, nil, 200, func(t *testing.T, r result) {
			item := firstItem(t, r)
			if u, _ := at(item, "properties.linkedEnvironmentMetadata.instanceApiUrl"); u == nil {
				t.Errorf("Dataverse environment has no instanceApiUrl: %v", item)
			}
		}},
		{"BAP admin environments, 2020 version", "GET", adminID, bapRP + "/scopes/admin/environments?api-version=2020-10-01", nil, 200, nil},
		{"list connectors", "GET", aliceID, paRP + "/apis?" + v + "&" + paFilter(defaultEnv), nil, 200, func(t *testing.T, r result) {
			if diff := cmp.Diff([]string{"shared_office365", "shared_rss", "shared_sharepointonline"}, names(t, r)); diff != "" {
				t.Errorf("connectors (-want +got):\n%s", diff)
			}
			if ty := firstItem(t, r)["type"]; ty != "Microsoft.PowerApps/apis" {
				t.Errorf("type = %v", ty)
			}
		}},
		{"list custom connectors", "GET", aliceID, paRP + "/apis?" + v + "&$filter=environment%20eq%20'" + devEnv + "'%20and%20IsCustomApi%20eq%20'True'", nil, 200, func(t *testing.T, r result) {
			if diff := cmp.Diff([]string{"shared_custom-5fthing-5f0123456789abcdef"}, names(t, r)); diff != "" {
				t.Errorf("custom connectors (-want +got):\n%s", diff)
			}
		}},
		{"get connector", "GET", aliceID, paRP + "/apis/shared_office365?" + v + "&" + paFilter(defaultEnv), nil, 200, func(t *testing.T, r result) {
			if id := r.json(t)["id"]; id != paRP+"/apis/shared_office365" {
				t.Errorf("id = %v", id)
			}
		}},
		{"list my connections", "GET", aliceID, paRP + "/connections?" + v + "&" + paFilter(defaultEnv), nil, 200, func(t *testing.T, r result) {
			if diff := cmp.Diff([]string{connO365, connRSS, connSPO}, names(t, r)); diff != "" {
				t.Errorf("connections (-want +got):\n%s", diff)
			}
			item := firstItem(t, r)
			if a, _ := at(item, "properties.apiId"); a != paRP+"/apis/shared_office365" {
				t.Errorf("apiId = %v", a)
			}
			st, _ := at(item, "properties.statuses")
			if diff := cmp.Diff([]any{map[string]any{"status": "Connected"}}, st); diff != "" {
				t.Errorf("statuses (-want +got):\n%s", diff)
			}
		}},
		{"list connections as admin", "GET", robotID, paRP + "/scopes/admin/environments/" + defaultEnv + "/connections?" + v, nil, 200, func(t *testing.T, r result) {
			if n := len(names(t, r)); n != 3 {
				t.Errorf("admin connections = %d, want 3", n)
			}
		}},
		{"create connection", "PUT", aliceID, paRP + "/apis/shared_office365/connections/0123456789abcdef0123456789abcdef?api-version=2021-02-01&" + paFilter(defaultEnv),
			map[string]any{"properties": map[string]any{"environment": map[string]any{"name": defaultEnv}, "displayName": "Mail", "connectionParameters": map[string]any{}}}, 201, func(t *testing.T, r result) {
				st, _ := at(r.json(t), "properties.statuses")
				list, _ := st.([]any)
				if len(list) != 1 {
					t.Fatalf("statuses = %v", st)
				}
				if s, _ := at(list[0], "status"); s != "Error" {
					t.Errorf("OAuth connection status = %v, want Error", s)
				}
				if c, _ := at(list[0], "error.code"); c != "Unauthenticated" {
					t.Errorf("OAuth connection error code = %v, want Unauthenticated", c)
				}
			}},
		{"create non-OAuth connection", "PUT", aliceID, paRP + "/apis/shared_rss/connections/fedcba9876543210fedcba9876543210?api-version=2021-02-01&" + paFilter(defaultEnv),
			map[string]any{"properties": map[string]any{"environment": map[string]any{"name": defaultEnv}}}, 201, func(t *testing.T, r result) {
				st, _ := at(r.json(t), "properties.statuses")
				if diff := cmp.Diff([]any{map[string]any{"status": "Connected"}}, st); diff != "" {
					t.Errorf("statuses (-want +got):\n%s", diff)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, emulator.Options{})
			r := e.call(tc.method, tc.principal, tc.path, tc.body)
			wantStatus(t, r, tc.status)
			if (tc.status == 204 || slices.Contains([]string{"delete flow", "turn on", "turn off", "restore", "cancel run", "resubmit run"}, tc.name)) && len(r.body) != 0 {
				t.Errorf("body = %q, want empty", r.body)
			}
			if tc.check != nil {
				tc.check(t, r)
			}
		})
	}
}

// TestPermissionShape pins the permission resource of NOTES §6.1 exactly.
func TestPermissionShape(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	r := e.call("GET", aliceID, flowPath(defaultEnv, flowTeam, "/permissions?"+v), nil)
	wantStatus(t, r, http.StatusOK)
	var got any
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatal(err)
	}
	perm := func(id, role string) any {
		return map[string]any{
			"name": id,
			"id":   "/providers/Microsoft.ProcessSimple/environments/" + defaultEnv + "/flows/" + flowTeam + "/permissions/" + id,
			"type": "/providers/Microsoft.ProcessSimple/environments/flows/permissions",
			"properties": map[string]any{
				"roleName": role, "permissionType": "Principal",
				"principal": map[string]any{"id": id, "type": "User"},
			},
		}
	}
	want := map[string]any{"value": []any{perm(adminID, "Owner"), perm(aliceID, "CanEdit")}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("permissions (-want +got):\n%s", diff)
	}
}
