package conformance

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/emulator/seed"
	"github.com/flowsync/flowsync/internal/testemu"
)

// shape is the top-level JSON form CONTRACT.md gives an answer.
type shape int

const (
	shapeList     shape = iota // {"value":[resource…],"nextLink"?}
	shapeResource              // {"name","id","type","properties":{…}}
	shapeCallback              // {"response":{"value":"https://…sig=…"}}
	shapeEmpty                 // no body
	shapeError                 // {"error":{"code","message"}}
)

func (s shape) String() string {
	return [...]string{"list", "resource", "callback", "empty", "error"}[s]
}

// q builds a path with a query in the order given (key, value, …), the
// values escaped as a client would.
func q(path string, kv ...string) string {
	parts := make([]string, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		parts = append(parts, kv[i]+"="+strings.ReplaceAll(url.QueryEscape(kv[i+1]), "+", "%20"))
	}
	if len(parts) == 0 {
		return path
	}
	return path + "?" + strings.Join(parts, "&")
}

// Path prefixes of the three providers.
const (
	flowP  = "/providers/Microsoft.ProcessSimple"
	paP    = "/providers/Microsoft.PowerApps"
	bapP   = "/providers/Microsoft.BusinessAppPlatform"
	ver    = "api-version"
	v2016  = api.APIVersion
	filter = "$filter"
)

// caller is who sends a row's request: a principal and the audience its
// token is for; a zero caller sends no token.
type caller struct {
	principal api.PrincipalID
	audience  string
}

var (
	makerFlow = caller{seed.DemoPriya, "https://service.flow.microsoft.com/"}
	adminFlow = caller{seed.DemoAdmin, "https://service.flow.microsoft.com/"}
	appFlow   = caller{seed.DemoBackupSP, "https://service.flow.microsoft.com/"}
	makerPA   = caller{seed.DemoPriya, "https://service.powerapps.com/"}
	adminPA   = caller{seed.DemoAdmin, "https://service.powerapps.com/"}
	nobody    = caller{}
)

// contractRow is one request of the table test. Paths may name variables
// in braces: {dev}, {paging}, and whatever an earlier row saved.
type contractRow struct {
	name   string
	method string
	path   string
	who    caller
	body   string
	status int
	shape  shape
	code   string                                 // shapeError: the error code
	check  func(t *testing.T, doc map[string]any) // further checks of the decoded body
	save   string                                 // save the answer's "name" under this variable
}

// TestEmulatorMatchesContract sends, for each row of CONTRACT.md's
// operations table, the raw HTTP request (method, path, api-version, a token
// of the right audience) and checks the status and top-level JSON shape the
// table gives, plus the contract's conventions for missing api-version,
// missing PowerApps $filter and missing token. Rows run in order: later ones
// act on the flow an earlier one created.
func TestEmulatorMatchesContract(t *testing.T) {
	t.Parallel()
	snap := fixtureSnapshot()
	inst := testemu.Start(t, testemu.Options{Snapshot: snap}).Inst // throttling off, manual clock at seed.DemoNow()
	vars := map[string]string{
		"dev":      string(seed.DemoEnvDev),
		"paging":   string(fxPagingEnv),
		"invoice":  string(seed.DemoFlowInvoiceApproval),
		"laptop":   string(seed.DemoFlowRequestLaptop),
		"foreign":  string(seed.DemoFlowOrderWebhook),
		"running":  fxRunningRun,
		"finished": fxFinishedRun,
		"trigger":  fxRunsTrigger,
		"conn1":    string(newConnectionName()),
		"conn2":    string(newConnectionName()),
	}
	envFilter := "environment eq '" + string(seed.DemoEnvDev) + "'"
	createBody := mustJSON(t, map[string]any{"properties": map[string]any{
		"displayName":          "Contract row flow",
		"state":                api.StateStopped,
		"definition":           testDefinition(fxConnector, "conn"),
		"connectionReferences": testRefs(fxConnector, fxConnection, "conn"),
	}})
	defOnlyBody := mustJSON(t, map[string]any{"properties": map[string]any{"definition": testDefinition(fxConnector)}})
	grant := `{"put":[{"properties":{"principal":{"id":"` + string(seed.DemoSofia) + `","type":"User"},"roleName":"CanView"}}]}`
	revoke := `{"delete":[{"id":"` + string(seed.DemoSofia) + `"}]}`
	connBody := `{"properties":{"environment":{"name":"` + string(seed.DemoEnvDev) + `"},"displayName":"Contract row connection"}}`

	flows := flowP + "/environments/{dev}/flows"
	adminFlows := flowP + "/scopes/admin/environments/{dev}/flows"
	rows := []contractRow{
		// List My Environments
		{name: "List My Environments", method: "GET", path: q(flowP+"/environments", ver, v2016), who: makerFlow, status: 200, shape: shapeList},
		{name: "Get Environment", method: "GET", path: q(flowP+"/environments/{dev}", ver, v2016), who: makerFlow, status: 200, shape: shapeResource},
		// List My Flows
		{name: "List My Flows (personal, solution flows)", method: "GET", who: makerFlow, status: 200, shape: shapeList,
			path:  q(flows, ver, v2016, "$top", "5", filter, "search('personal')", "include", "includeSolutionCloudFlows"),
			check: eachItem(noMember("definition"))},
		{name: "List My Flows (team)", method: "GET", who: makerFlow, status: 200, shape: shapeList,
			path: q(flows, ver, v2016, filter, "search('team')"), check: eachItem(noMember("definition"))},
		{name: "List My Flows (paged)", method: "GET", who: makerFlow, status: 200, shape: shapeList,
			path: q(flowP+"/environments/{paging}/flows", ver, v2016, "$top", "7"), check: all(itemCount(7), hasNextLink)},
		// List Flows as Admin (V2)
		{name: "List Flows as Admin (V2)", method: "GET", who: adminFlow, status: 200, shape: shapeList,
			path:  q(flowP+"/scopes/admin/environments/{dev}/v2/flows", ver, v2016),
			check: all(eachItem(noMember("definition"), noMember("connectionReferences")), noItemState(api.StateDeleted))},
		{name: "List Flows as Admin (V2), soft-deleted", method: "GET", who: adminFlow, status: 200, shape: shapeList,
			path:  q(flowP+"/scopes/admin/environments/{dev}/v2/flows", ver, v2016, "include", "softDeletedFlows"),
			check: all(eachItem(noMember("definition"), noMember("connectionReferences")), someItemState(api.StateDeleted))},
		{name: "List Flows as Admin (V2), paged", method: "GET", who: adminFlow, status: 200, shape: shapeList,
			path: q(flowP+"/scopes/admin/environments/{paging}/v2/flows", ver, v2016), check: all(itemCount(50), hasNextLink)},
		// Get Flow
		{name: "Get Flow", method: "GET", path: q(flows+"/{invoice}", ver, v2016), who: makerFlow, status: 200, shape: shapeResource,
			check: all(hasObject("definition"), hasObject("connectionReferences"))},
		{name: "Get Flow, $expand apidefinition", method: "GET", who: makerFlow, status: 200, shape: shapeResource,
			path:  q(flows+"/{invoice}", ver, v2016, "$expand", "properties.connectionreferences.apidefinition"),
			check: all(hasObject("definition"), refsExpanded)},
		// Get Flow as Admin
		{name: "Get Flow as Admin", method: "GET", path: q(adminFlows+"/{foreign}", ver, v2016), who: adminFlow, status: 200, shape: shapeResource,
			check: all(noMember("definition"), noMember("connectionReferences"))},
		{name: "Get Flow as Admin, with definition", method: "GET", who: adminFlow, status: 200, shape: shapeResource,
			path: q(adminFlows+"/{foreign}", ver, v2016, "includeFlowDefinition", "true"), check: all(hasObject("definition"), hasObject("connectionReferences"))},
		// Create Flow
		{name: "Create Flow", method: "POST", path: q(flows, ver, v2016), who: makerFlow, body: createBody, status: 201, shape: shapeResource,
			check: all(hasObject("definition"), hasObject("connectionReferences")), save: "created"},
		// Update Flow
		{name: "Update Flow", method: "PATCH", path: q(flows+"/{created}", ver, v2016), who: makerFlow, status: 200, shape: shapeResource,
			body: `{"properties":{"displayName":"Contract row flow (renamed)"}}`, check: propEquals("displayName", "Contract row flow (renamed)")},
		{name: "Update Flow, definition without references", method: "PATCH", path: q(flows+"/{created}", ver, v2016), who: makerFlow,
			body: defOnlyBody, status: 400, shape: shapeError, code: api.CodeInvalidOpenAPIFlow},
		// Turn On / Turn Off Flow
		{name: "Turn On Flow", method: "POST", path: q(flows+"/{created}/start", ver, v2016), who: makerFlow, status: 200, shape: shapeEmpty},
		{name: "Turn Off Flow", method: "POST", path: q(flows+"/{created}/stop", ver, v2016), who: makerFlow, status: 200, shape: shapeEmpty},
		{name: "Turn On Flow as Admin", method: "POST", path: q(adminFlows+"/{created}/start", ver, v2016), who: adminFlow, status: 200, shape: shapeEmpty},
		{name: "Turn Off Flow as Admin", method: "POST", path: q(adminFlows+"/{created}/stop", ver, v2016), who: adminFlow, status: 200, shape: shapeEmpty},
		// List Flow Owners / Run-Only Users
		{name: "List Flow Owners", method: "GET", path: q(flows+"/{laptop}/permissions", ver, v2016), who: makerFlow, status: 200, shape: shapeList,
			check: all(someItemProp("roleName", api.RoleOwner), someItemProp("roleName", api.RoleCanView))},
		{name: "List Flow Owners as Admin", method: "GET", path: q(adminFlows+"/{laptop}/permissions", ver, v2016), who: adminFlow, status: 200, shape: shapeList,
			check: someItemProp("roleName", api.RoleOwner)},
		// Modify Flow Owners / Run-Only Users
		{name: "Modify Run-Only Users", method: "POST", path: q(flows+"/{created}/modifyPermissions", ver, v2016), who: makerFlow,
			body: grant, status: 200, shape: shapeEmpty},
		{name: "Modify Flow Owners as Admin", method: "POST", path: q(adminFlows+"/{created}/modifyPermissions", ver, v2016), who: adminFlow,
			body: revoke, status: 200, shape: shapeEmpty},
		// List Callback URL
		{name: "List Callback URL", method: "POST", path: q(flows+"/{laptop}/triggers/manual/listCallbackUrl", ver, v2016), who: makerFlow,
			status: 200, shape: shapeCallback},
		// Runs and triggers, for cancel and resubmit
		{name: "List Runs", method: "GET", path: q(flows+"/{invoice}/runs", ver, v2016), who: makerFlow, status: 200, shape: shapeList,
			check: all(itemCount(50), hasNextLink)},
		{name: "List Triggers", method: "GET", path: q(flows+"/{invoice}/triggers", ver, v2016), who: makerFlow, status: 200, shape: shapeList,
			check: itemCount(1)},
		// Cancel Flow Run
		{name: "Cancel Flow Run", method: "POST", path: q(flows+"/{invoice}/runs/{running}/cancel", ver, v2016), who: makerFlow, status: 200, shape: shapeEmpty},
		{name: "Cancel Flow Run, missing run", method: "POST", path: q(flows+"/{invoice}/runs/08584000000000000000000000000CU00/cancel", ver, v2016),
			who: makerFlow, status: 404, shape: shapeError, code: api.CodeARMRequestFailed, check: messageContains(api.CodeWorkflowRunNotFound)},
		// Resubmit Flow
		{name: "Resubmit Flow", method: "POST", path: q(flows+"/{invoice}/triggers/{trigger}/histories/{finished}/resubmit", ver, v2016),
			who: makerFlow, status: 202, shape: shapeEmpty},
		// Delete Flow, Restore Deleted Flow as Admin
		{name: "Delete Flow", method: "DELETE", path: q(flows+"/{created}", ver, v2016), who: makerFlow, status: 200, shape: shapeEmpty},
		{name: "Delete Flow, absent", method: "DELETE", path: q(flows+"/{created}", ver, v2016), who: makerFlow, status: 204, shape: shapeEmpty},
		{name: "Restore Deleted Flow as Admin", method: "POST", path: q(adminFlows+"/{created}/restore", ver, v2016), who: adminFlow, status: 200, shape: shapeEmpty},
		{name: "Restored flow is Stopped", method: "GET", path: q(adminFlows+"/{created}", ver, v2016), who: adminFlow, status: 200, shape: shapeResource,
			check: propEquals("state", api.StateStopped)},
		{name: "Restore Deleted Flow as Admin, not deleted", method: "POST", path: q(adminFlows+"/{created}/restore", ver, v2016), who: adminFlow,
			status: 404, shape: shapeError, code: api.CodeFlowNotFound},
		{name: "Delete Flow as Admin", method: "DELETE", path: q(adminFlows+"/{created}", ver, v2016), who: adminFlow, status: 200, shape: shapeEmpty},
		{name: "Delete Flow as Admin, absent", method: "DELETE", path: q(adminFlows+"/{created}", ver, v2016), who: adminFlow, status: 204, shape: shapeEmpty},
		// BAP and PowerApps
		{name: "List Environments as Admin (BAP)", method: "GET", path: q(bapP+"/scopes/admin/environments", ver, v2016), who: adminPA, status: 200, shape: shapeList},
		{name: "List Connections as Admin", method: "GET", path: q(paP+"/scopes/admin/environments/{dev}/connections", ver, v2016), who: adminPA, status: 200, shape: shapeList},
		{name: "List Connectors", method: "GET", path: q(paP+"/apis", ver, v2016, filter, envFilter), who: makerPA, status: 200, shape: shapeList},
		{name: "Get Connector", method: "GET", path: q(paP+"/apis/"+string(fxConnector), ver, v2016, filter, envFilter), who: makerPA, status: 200, shape: shapeResource},
		{name: "List My Connections", method: "GET", path: q(paP+"/connections", ver, v2016, filter, envFilter), who: makerPA, status: 200, shape: shapeList,
			check: eachItem(propKind("apiId", "string"), propKind("statuses", "array"))},
		{name: "Create Connection, OAuth connector", method: "PUT", who: makerPA, body: connBody, status: 201, shape: shapeResource,
			path:  q(paP+"/apis/"+string(fxOAuth)+"/connections/{conn1}", ver, api.ConnectionPutAPIVersion, filter, envFilter),
			check: connectionStatus("Error")},
		{name: "Create Connection, connector without OAuth", method: "PUT", who: makerPA, body: connBody, status: 201, shape: shapeResource,
			path:  q(paP+"/apis/"+string(fxConnector)+"/connections/{conn2}", ver, api.ConnectionPutAPIVersion, filter, envFilter),
			check: connectionStatus("Connected")},
		// Conventions
		{name: "missing api-version", method: "GET", path: flows, who: makerFlow, status: 400, shape: shapeError, code: api.CodeMissingAPIVersion},
		{name: "PowerApps call without $filter", method: "GET", path: q(paP+"/apis", ver, v2016), who: makerPA, status: 400, shape: shapeError, code: api.CodeInvalidFilter},
		{name: "no token", method: "GET", path: q(flows, ver, v2016), who: nobody, status: 401, shape: shapeError, code: api.CodeAuthenticationFailed},
		{name: "token for another API", method: "GET", path: q(flows, ver, v2016), who: makerPA, status: 401, shape: shapeError},
		{name: "app token on a user-scope path", method: "GET", path: q(flows, ver, v2016), who: appFlow, status: 403, shape: shapeError, code: api.CodeForbidden},
		{name: "non-admin on an admin path", method: "GET", path: q(flowP+"/scopes/admin/environments/{dev}/v2/flows", ver, v2016), who: makerFlow,
			status: 403, shape: shapeError, code: api.CodeForbidden},
		{name: "unknown environment", method: "GET", path: q(flowP+"/environments/"+string(unknownEnv)+"/flows", ver, v2016), who: makerFlow,
			status: 403, shape: shapeError, code: api.CodeEnvironmentAccessDenied},
		{name: "another maker's flow", method: "GET", path: q(flows+"/{foreign}", ver, v2016), who: makerFlow, status: 404, shape: shapeError, code: api.CodeFlowNotFound},
	}

	hc := &http.Client{Timeout: time.Minute}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			path := row.path
			for k, v := range vars {
				path = strings.ReplaceAll(path, "{"+k+"}", url.PathEscape(v))
			}
			if strings.Contains(path, "{") {
				t.Fatalf("unresolved variable in %s (did an earlier row fail?)", path)
			}
			var body io.Reader
			if row.body != "" {
				body = strings.NewReader(row.body)
			}
			req, err := http.NewRequestWithContext(t.Context(), row.method, inst.URL+path, body)
			if err != nil {
				t.Fatal(err)
			}
			if row.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			if row.who != nobody {
				tok, err := inst.Server.MintToken(row.who.principal, row.who.audience)
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Authorization", "Bearer "+tok)
			}
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != row.status {
				t.Fatalf("%s %s: status %d, want %d; body %.300s", row.method, row.path, resp.StatusCode, row.status, raw)
			}
			doc := checkShape(t, row.shape, resp.Header, raw)
			if row.shape == shapeError && row.code != "" {
				if got := errorCode(doc); got != row.code {
					t.Errorf("error code %q, want %q", got, row.code)
				}
			}
			if row.check != nil {
				row.check(t, doc)
			}
			if row.save != "" {
				name, _ := doc["name"].(string)
				if name == "" {
					t.Fatalf("no name to save as {%s}", row.save)
				}
				vars[row.save] = name
			}
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkShape decodes raw and checks its top-level form; it returns the
// decoded object (nil for an empty body).
func checkShape(t *testing.T, want shape, h http.Header, raw []byte) map[string]any {
	t.Helper()
	if want == shapeEmpty {
		if len(bytes.TrimSpace(raw)) != 0 {
			t.Errorf("body %.200s, want none", raw)
		}
		return nil
	}
	if ct := h.Get("Content-Type"); !strings.Contains(ct, "application/json") {
		t.Errorf("Content-Type %q, want JSON", ct)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("body is not a JSON object: %v: %.200s", err, raw)
	}
	switch want {
	case shapeList:
		items, ok := doc["value"].([]any)
		if !ok {
			t.Fatalf("no value array: %.200s", raw)
		}
		for i, it := range items {
			obj, ok := it.(map[string]any)
			if !ok {
				t.Fatalf("value[%d] is not an object", i)
			}
			checkResource(t, obj)
		}
		if next, ok := doc["nextLink"]; ok {
			if s, _ := next.(string); !strings.HasPrefix(s, "http") {
				t.Errorf("nextLink %v is not an absolute URL", next)
			}
		}
	case shapeResource:
		checkResource(t, doc)
	case shapeCallback:
		resp, _ := doc["response"].(map[string]any)
		v, _ := resp["value"].(string)
		u, err := url.Parse(v)
		if err != nil || u.Scheme != "https" || u.Query().Get("sig") == "" {
			t.Errorf("response.value is not an https URL with sig= (%d characters)", len(v))
		}
	case shapeError:
		e, _ := doc["error"].(map[string]any)
		code, _ := e["code"].(string)
		msg, _ := e["message"].(string)
		if code == "" || msg == "" {
			t.Errorf("not an error body {\"error\":{\"code\",\"message\"}}: %.200s", raw)
		}
	}
	return doc
}

// checkResource checks {"name","id","type","properties":{…}}.
func checkResource(t *testing.T, obj map[string]any) {
	t.Helper()
	for _, k := range []string{"name", "id", "type"} {
		if s, _ := obj[k].(string); s == "" {
			t.Errorf("resource without %q: keys %v", k, keys(obj))
		}
	}
	if _, ok := obj["properties"].(map[string]any); !ok {
		t.Errorf("resource without a properties object: keys %v", keys(obj))
	}
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return sorted(out)
}

func errorCode(doc map[string]any) string {
	e, _ := doc["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

// Checks of decoded answers.

type docCheck = func(t *testing.T, doc map[string]any)

func all(checks ...docCheck) docCheck {
	return func(t *testing.T, doc map[string]any) {
		t.Helper()
		for _, c := range checks {
			c(t, doc)
		}
	}
}

func items(doc map[string]any) []map[string]any {
	vs, _ := doc["value"].([]any)
	out := make([]map[string]any, 0, len(vs))
	for _, v := range vs {
		if m, ok := v.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func props(doc map[string]any) map[string]any {
	p, _ := doc["properties"].(map[string]any)
	return p
}

func eachItem(checks ...docCheck) docCheck {
	return func(t *testing.T, doc map[string]any) {
		t.Helper()
		for _, it := range items(doc) {
			for _, c := range checks {
				c(t, it)
			}
		}
	}
}

func itemCount(n int) docCheck {
	return func(t *testing.T, doc map[string]any) {
		t.Helper()
		if got := len(items(doc)); got != n {
			t.Errorf("%d items, want %d", got, n)
		}
	}
}

func hasNextLink(t *testing.T, doc map[string]any) {
	t.Helper()
	next, _ := doc["nextLink"].(string)
	if !strings.Contains(next, "$skiptoken=") && !strings.Contains(next, "%24skiptoken=") {
		t.Errorf("nextLink %q carries no $skiptoken", next)
	}
}

func noMember(name string) docCheck {
	return func(t *testing.T, doc map[string]any) {
		t.Helper()
		if _, ok := props(doc)[name]; ok {
			t.Errorf("%v has properties.%s", doc["name"], name)
		}
	}
}

func hasObject(name string) docCheck {
	return func(t *testing.T, doc map[string]any) {
		t.Helper()
		if _, ok := props(doc)[name].(map[string]any); !ok {
			t.Errorf("properties.%s is not an object", name)
		}
	}
}

func propEquals(name, want string) docCheck {
	return func(t *testing.T, doc map[string]any) {
		t.Helper()
		if got := props(doc)[name]; got != want {
			t.Errorf("properties.%s = %v, want %q", name, got, want)
		}
	}
}

func propKind(name, kind string) docCheck {
	return func(t *testing.T, doc map[string]any) {
		t.Helper()
		v := props(doc)[name]
		ok := false
		switch kind {
		case "string":
			_, ok = v.(string)
		case "array":
			_, ok = v.([]any)
		}
		if !ok {
			t.Errorf("%v: properties.%s = %v, want a %s", doc["name"], name, v, kind)
		}
	}
}

func someItemProp(name, want string) docCheck {
	return func(t *testing.T, doc map[string]any) {
		t.Helper()
		for _, it := range items(doc) {
			if props(it)[name] == want {
				return
			}
		}
		t.Errorf("no item with properties.%s = %q", name, want)
	}
}

func someItemState(state string) docCheck { return someItemProp("state", state) }

func noItemState(state string) docCheck {
	return func(t *testing.T, doc map[string]any) {
		t.Helper()
		for _, it := range items(doc) {
			if props(it)["state"] == state {
				t.Errorf("%v has state %s", it["name"], state)
			}
		}
	}
}

func refsExpanded(t *testing.T, doc map[string]any) {
	t.Helper()
	refs, _ := props(doc)["connectionReferences"].(map[string]any)
	if len(refs) == 0 {
		t.Fatal("no connection references")
	}
	for k, r := range refs {
		obj, _ := r.(map[string]any)
		if _, ok := obj["apiDefinition"].(map[string]any); !ok {
			t.Errorf("reference %s has no apiDefinition object", k)
		}
	}
}

func messageContains(s string) docCheck {
	return func(t *testing.T, doc map[string]any) {
		t.Helper()
		e, _ := doc["error"].(map[string]any)
		if msg, _ := e["message"].(string); !strings.Contains(msg, s) {
			t.Errorf("error message %q does not contain %q", msg, s)
		}
	}
}

func connectionStatus(want string) docCheck {
	return func(t *testing.T, doc map[string]any) {
		t.Helper()
		sts, _ := props(doc)["statuses"].([]any)
		if len(sts) == 0 {
			t.Fatal("no statuses")
		}
		first, _ := sts[0].(map[string]any)
		if first["status"] != want {
			t.Errorf("statuses[0].status = %v, want %s", first["status"], want)
		}
	}
}
