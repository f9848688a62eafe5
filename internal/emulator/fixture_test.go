package emulator_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/emulator"
)

// Obviously fake identifiers for the fixture tenant.
const (
	tenant     = "00000000-0000-4000-8000-0000000000aa"
	defaultEnv = "Default-" + tenant
	devEnv     = "11111111-0000-4000-8000-00000000000d"

	adminID = "00000000-0000-4000-8000-000000000001"
	aliceID = "00000000-0000-4000-8000-000000000002"
	bobID   = "00000000-0000-4000-8000-000000000003"
	robotID = "00000000-0000-4000-8000-000000000004" // service principal, admin
	plainSP = "00000000-0000-4000-8000-000000000005" // service principal, not admin
	groupID = "00000000-0000-4000-8000-000000000006" // bob is a member

	robotApp = "aaaaaaaa-0000-4000-8000-000000000004"
	plainApp = "aaaaaaaa-0000-4000-8000-000000000005"

	connO365 = "shared-office365-00000000000000000000000000000001"
	connSPO  = "shared-sharepointonl-00000000000000000000000000000002" // Error
	connRSS  = "shared-rss-00000000000000000000000000000003"

	flowAlice    = "a0000000-0000-4000-8000-000000000001" // alice, Request trigger, office365
	flowTeam     = "a0000000-0000-4000-8000-000000000002" // admin, alice CanEdit
	flowGroup    = "a0000000-0000-4000-8000-000000000003" // admin, group CanEdit
	flowRunOnly  = "a0000000-0000-4000-8000-000000000004" // admin, alice CanView
	flowSolution = "a0000000-0000-4000-8000-000000000005" // alice, solution
	flowDeleted  = "a0000000-0000-4000-8000-000000000006" // alice, soft-deleted 2 days ago
	flowBroken   = "a0000000-0000-4000-8000-000000000007" // alice, uses the Error connection
	flowAdmin    = "a0000000-0000-4000-8000-000000000008" // admin only

	flowAudience = "https://service.flow.microsoft.com/"
	paAudience   = "https://service.powerapps.com/"
)

var t0 = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

// definition builds a workflow definition: one trigger, and actions using
// the given connection reference keys through OpenApiConnection.
func definition(triggerType, kind string, refKeys ...string) json.RawMessage {
	trig := map[string]any{"type": triggerType}
	if kind != "" {
		trig["kind"] = kind
	}
	if triggerType == "Recurrence" {
		trig["recurrence"] = map[string]any{"frequency": "Day", "interval": 1}
	}
	actions := map[string]any{}
	for i, k := range refKeys {
		actions[fmt.Sprintf("Action_%d", i)] = map[string]any{
			"type":     "OpenApiConnection",
			"runAfter": map[string]any{},
			"inputs": map[string]any{
				"host":           map[string]any{"apiId": "/providers/Microsoft.PowerApps/apis/" + apiOf(k), "connectionName": k, "operationId": "DoThing"},
				"parameters":     map[string]any{},
				"authentication": "@parameters('$authentication')",
			},
		}
	}
	d := map[string]any{
		"$schema":        "https://schema.management.azure.com/providers/Microsoft.Logic/schemas/2016-06-01/workflowdefinition.json#",
		"contentVersion": "1.0.0.0",
		"parameters": map[string]any{
			"$connections":    map[string]any{"defaultValue": map[string]any{}, "type": "Object"},
			"$authentication": map[string]any{"defaultValue": map[string]any{}, "type": "SecureObject"},
		},
		"triggers": map[string]any{"manual": trig},
		"actions":  actions,
	}
	b, _ := json.Marshal(d)
	return b
}

// apiOf maps a reference key such as shared_office365_1 to its api.
func apiOf(key string) string {
	for _, a := range []string{"shared_office365", "shared_sharepointonline", "shared_rss"} {
		if strings.HasPrefix(key, a) {
			return a
		}
	}
	return key
}

// refs builds a connectionReferences dictionary: key → connection name.
func refs(pairs ...string) json.RawMessage {
	m := map[string]any{}
	for i := 0; i+1 < len(pairs); i += 2 {
		m[pairs[i]] = map[string]any{
			"connectionName": pairs[i+1],
			"source":         "Embedded",
			"id":             "/providers/Microsoft.PowerApps/apis/" + apiOf(pairs[i]),
			"tier":           "NotSpecified",
		}
	}
	b, _ := json.Marshal(m)
	return b
}

func fixture() *emulator.Snapshot {
	deleted := t0.Add(-48 * time.Hour)
	snap := &emulator.Snapshot{
		Tenant: tenant,
		Principals: []emulator.Principal{
			{ID: adminID, Type: api.PrincipalUser, DisplayName: "Ada Admin", UPN: "ada@example.test", Admin: true},
			{ID: aliceID, Type: api.PrincipalUser, DisplayName: "Alice Maker", UPN: "alice@example.test"},
			{ID: bobID, Type: api.PrincipalUser, DisplayName: "Bob Builder", UPN: "bob@example.test"},
			{ID: robotID, Type: api.PrincipalServicePrincipal, DisplayName: "Backup robot", AppID: robotApp, Admin: true},
			{ID: plainSP, Type: api.PrincipalServicePrincipal, DisplayName: "Plain app", AppID: plainApp},
			{ID: groupID, Type: api.PrincipalGroup, DisplayName: "Makers", Members: []api.PrincipalID{bobID}},
		},
		Environments: []emulator.Environment{
			{Name: defaultEnv, DisplayName: "Example (default)", IsDefault: true, Location: "europe", CreatedTime: t0.Add(-1000 * time.Hour), Dataverse: true},
			{Name: devEnv, DisplayName: "Dev", Sku: "Sandbox", CreatedTime: t0.Add(-500 * time.Hour)},
		},
		Connectors: []emulator.Connector{
			{Name: "shared_office365", DisplayName: "Office 365 Outlook", OAuth: true},
			{Name: "shared_sharepointonline", DisplayName: "SharePoint", OAuth: true},
			{Name: "shared_rss", DisplayName: "RSS"},
			{Name: "shared_custom-5fthing-5f0123456789abcdef", DisplayName: "Custom thing", Custom: true, Environment: devEnv},
		},
		Connections: []emulator.Connection{
			{Environment: defaultEnv, API: "shared_office365", Name: connO365, DisplayName: "alice@example.test", Status: "Connected", CreatedBy: aliceID, CreatedTime: t0.Add(-100 * time.Hour)},
			{Environment: defaultEnv, API: "shared_sharepointonline", Name: connSPO, DisplayName: "alice@example.test", Status: "Error", CreatedBy: aliceID, CreatedTime: t0.Add(-100 * time.Hour)},
			{Environment: defaultEnv, API: "shared_rss", Name: connRSS, DisplayName: "RSS", Status: "Connected"},
		},
		Flows: []emulator.Flow{
			{Environment: defaultEnv, Name: flowAlice, DisplayName: "Alice's button", State: "Started", Creator: aliceID,
				CreatedTime: t0.Add(-90 * time.Hour), LastModifiedTime: t0.Add(-80 * time.Hour),
				Definition: definition("Request", "Button", "shared_office365"), ConnectionReferences: refs("shared_office365", connO365),
				Extra: map[string]json.RawMessage{"flowFailureAlertSubscribed": json.RawMessage(`true`)}},
			{Environment: defaultEnv, Name: flowTeam, DisplayName: "Team report", State: "Started", Creator: adminID,
				CreatedTime: t0.Add(-70 * time.Hour), LastModifiedTime: t0.Add(-70 * time.Hour),
				Definition: definition("Recurrence", "", "shared_rss"), ConnectionReferences: refs("shared_rss", connRSS),
				Permissions: []emulator.FlowPermission{{Principal: aliceID, Role: "CanEdit"}}},
			{Environment: defaultEnv, Name: flowGroup, DisplayName: "Group flow", State: "Stopped", Creator: adminID,
				CreatedTime: t0.Add(-60 * time.Hour), LastModifiedTime: t0.Add(-60 * time.Hour),
				Definition: definition("Recurrence", ""), ConnectionReferences: refs(),
				Permissions: []emulator.FlowPermission{{Principal: groupID, Role: "CanEdit"}}},
			{Environment: defaultEnv, Name: flowRunOnly, DisplayName: "Run only for Alice", State: "Started", Creator: adminID,
				CreatedTime: t0.Add(-50 * time.Hour), LastModifiedTime: t0.Add(-50 * time.Hour),
				Definition: definition("Request", "Button"), ConnectionReferences: refs(),
				Permissions: []emulator.FlowPermission{{Principal: aliceID, Role: "CanView"}}},
			{Environment: defaultEnv, Name: flowSolution, DisplayName: "Solution flow", State: "Started", Creator: aliceID,
				CreatedTime: t0.Add(-40 * time.Hour), LastModifiedTime: t0.Add(-40 * time.Hour),
				Definition:           definition("Recurrence", "", "shared_office365"),
				ConnectionReferences: json.RawMessage(`{"shared_office365":{"connectionReferenceLogicalName":"ex_office","id":"/providers/Microsoft.PowerApps/apis/shared_office365"}}`),
				WorkflowEntityID:     "e0000000-0000-4000-8000-000000000005", IsManaged: false},
			{Environment: defaultEnv, Name: flowDeleted, DisplayName: "Deleted flow", State: "Stopped", Creator: aliceID,
				CreatedTime: t0.Add(-30 * time.Hour), LastModifiedTime: t0.Add(-30 * time.Hour),
				Definition: definition("Recurrence", ""), ConnectionReferences: refs(), DeletedTime: &deleted},
			{Environment: defaultEnv, Name: flowBroken, DisplayName: "Broken connection", State: "Stopped", Creator: aliceID,
				CreatedTime: t0.Add(-20 * time.Hour), LastModifiedTime: t0.Add(-20 * time.Hour),
				Definition: definition("Recurrence", "", "shared_sharepointonline"), ConnectionReferences: refs("shared_sharepointonline", connSPO)},
			{Environment: defaultEnv, Name: flowAdmin, DisplayName: "Admin only", State: "Started", Creator: adminID,
				CreatedTime: t0.Add(-10 * time.Hour), LastModifiedTime: t0.Add(-10 * time.Hour),
				Definition: definition("Recurrence", ""), ConnectionReferences: refs()},
		},
	}
	for i := range 60 {
		end := t0.Add(-time.Duration(i)*time.Hour + time.Minute)
		status := "Succeeded"
		var endp *time.Time = &end
		if i == 0 {
			status, endp = "Running", nil
		}
		snap.Runs = append(snap.Runs, emulator.Run{
			Environment: defaultEnv, Flow: flowAlice, Name: fmt.Sprintf("0858%016dCU%02d", 9999-i, i%100),
			Trigger: "manual", Status: status, StartTime: t0.Add(-time.Duration(i) * time.Hour), EndTime: endp,
		})
	}
	return snap
}

// env is one test's emulator: the server, its loopback listener and its clock.
type env struct {
	t     *testing.T
	s     *emulator.Server
	hs    *httptest.Server
	clock *emulator.ManualClock
	// tokens is the clock token lifetimes are checked against: stopped at
	// t0 and apart from clock, as the wall clock is apart from the
	// emulator's in real use.
	tokens *emulator.ManualClock
}

func newEnv(t *testing.T, opts emulator.Options) *env {
	t.Helper()
	clock := emulator.NewManualClock(t0)
	opts.Clock = clock
	tokens := emulator.NewManualClock(t0)
	if opts.TokenClock == nil {
		opts.TokenClock = tokens
	}
	if opts.Throttle == (emulator.ThrottleConfig{}) {
		opts.Throttle.Profile = emulator.ProfileOff
	}
	s, err := emulator.New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := s.Load(fixture()); err != nil {
		t.Fatalf("Load: %v", err)
	}
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	return &env{t: t, s: s, hs: hs, clock: clock, tokens: tokens}
}

// tok mints a token for a principal with the audience fitting path.
func (e *env) tok(principal, path string) string {
	e.t.Helper()
	aud := flowAudience
	if strings.Contains(lower(path), "microsoft.powerapps") || strings.Contains(lower(path), "microsoft.businessappplatform") {
		aud = paAudience
	}
	tk, err := e.s.MintToken(api.PrincipalID(principal), aud)
	if err != nil {
		e.t.Fatalf("MintToken(%s): %v", principal, err)
	}
	return tk
}

func lower(s string) string { return strings.ToLower(s) }

type result struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body as a generic value.
func (r result) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("decode body %q: %v", r.body, err)
	}
	return m
}

func (r result) code(t *testing.T) string {
	t.Helper()
	m := r.json(t)
	e, _ := m["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

// call sends a request as principal ("" for none) with a JSON body.
func (e *env) call(method, principal, path string, body any) result {
	e.t.Helper()
	tok := ""
	if principal != "" {
		tok = e.tok(principal, path)
	}
	return e.raw(method, tok, e.hs.URL+path, body)
}

func (e *env) raw(method, tok, url string, body any) result {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatalf("encode body: %v", err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		e.t.Fatalf("new request: %v", err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := e.hs.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("read %s %s: %v", method, url, err)
	}
	return result{status: resp.StatusCode, header: resp.Header, body: b}
}

// Path helpers.
const (
	flowRP = "/providers/Microsoft.ProcessSimple"
	paRP   = "/providers/Microsoft.PowerApps"
	bapRP  = "/providers/Microsoft.BusinessAppPlatform"
	v      = "api-version=2016-11-01"
)

func flowPath(env, flow, suffix string) string {
	p := flowRP + "/environments/" + env + "/flows"
	if flow != "" {
		p += "/" + flow
	}
	return p + suffix
}

func adminFlowPath(env, flow, suffix string) string {
	p := flowRP + "/scopes/admin/environments/" + env + "/flows"
	if flow != "" {
		p += "/" + flow
	}
	return p + suffix
}

func paFilter(env string) string {
	return "$filter=" + strings.ReplaceAll("environment eq '"+env+"'", " ", "%20")
}

// wantStatus fails unless r has status want.
func wantStatus(t *testing.T, r result, want int) {
	t.Helper()
	if r.status != want {
		t.Fatalf("status = %d, want %d; body %s", r.status, want, r.body)
	}
}

func wantError(t *testing.T, r result, status int, code string) {
	t.Helper()
	wantStatus(t, r, status)
	if got := r.code(t); got != code {
		t.Fatalf("error code = %q, want %q; body %s", got, code, r.body)
	}
}

// names returns value[].name of a list body.
func names(t *testing.T, r result) []string {
	t.Helper()
	var l struct {
		Value []struct {
			Name string `json:"name"`
		} `json:"value"`
	}
	if err := json.Unmarshal(r.body, &l); err != nil {
		t.Fatalf("decode list %s: %v", r.body, err)
	}
	out := []string{}
	for _, x := range l.Value {
		out = append(out, x.Name)
	}
	return out
}

// createBody is a Create Flow body.
func createBody(name, state string, def, refs json.RawMessage) map[string]any {
	props := map[string]any{"displayName": name, "definition": def, "connectionReferences": refs}
	if state != "" {
		props["state"] = state
	}
	return map[string]any{"properties": props}
}

func stringsReader(s string) io.Reader { return strings.NewReader(s) }

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func newTestServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	return hs
}
