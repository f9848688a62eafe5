package client

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowsync/flowsync/internal/api"
)

const (
	flowPath  = "/providers/Microsoft.ProcessSimple"
	paPath    = "/providers/Microsoft.PowerApps"
	bapPath   = "/providers/Microsoft.BusinessAppPlatform"
	envPath   = flowPath + "/environments/" + testEnv
	flowsPath = envPath + "/flows"
	f1Path    = flowsPath + "/" + testFlow
	admEnv    = flowPath + "/scopes/admin/environments/" + testEnv
	admF1     = admEnv + "/flows/" + testFlow
)

// TestOperations checks each method's request (method, path, query, body)
// and how it decodes the answer.
func TestOperations(t *testing.T) {
	envFilterQ := withQuery("$filter", "environment eq 'Default-t1'")
	flowDef := json.RawMessage(`{"$schema":"s","triggers":{"manual":{"type":"Request"}},"actions":{}}`)
	props := api.FlowProperties{
		DisplayName: "My flow", State: api.StateStarted, Definition: flowDef,
		ConnectionReferences: map[string]api.ConnectionReference{
			"shared_office365": {ConnectionName: "shared-office365-1", ID: "/providers/Microsoft.PowerApps/apis/shared_office365", Source: "Embedded"},
		},
	}
	propsBody := `{"properties":{"displayName":"My flow","state":"Started","definition":{"$schema":"s","triggers":{"manual":{"type":"Request"}},"actions":{}},
		"connectionReferences":{"shared_office365":{"connectionName":"shared-office365-1","id":"/providers/Microsoft.PowerApps/apis/shared_office365","source":"Embedded"}}}}`
	flowResp := `{"name":"f1","id":"/providers/Microsoft.ProcessSimple/environments/Default-t1/flows/f1","type":"Microsoft.ProcessSimple/environments/flows","properties":{"displayName":"My flow","state":"Started"}}`
	flowWant := api.Flow{Name: "f1", ID: "/providers/Microsoft.ProcessSimple/environments/Default-t1/flows/f1", Type: "Microsoft.ProcessSimple/environments/flows",
		Properties: api.FlowProperties{DisplayName: "My flow", State: "Started"}}
	perms := `{"value":[
		{"name":"o","properties":{"roleName":"Owner","principal":{"id":"o","type":"User"}}},
		{"name":"e","properties":{"roleName":"CanEdit","principal":{"id":"e","type":"Group"}}},
		{"name":"v","properties":{"roleName":"CanView","principal":{"id":"v","type":"User"}}},
		{"name":"s","properties":{"roleName":"CanViewWithShare","principal":{"id":"s","type":"User"}}}]}`
	perm := func(name, role, typ string) api.Permission {
		return api.Permission{Name: name, Properties: api.PermissionProperties{RoleName: role, Principal: api.Principal{ID: api.PrincipalID(name), Type: typ}}}
	}

	tests := []struct {
		name   string
		routes []*route
		call   func(ctx context.Context, c *Client) (any, error)
		want   any
	}{
		{
			name:   "ListEnvironments",
			routes: []*route{{method: "GET", path: flowPath + "/environments", query: av(), resp: `{"value":[{"name":"Default-t1","location":"europe","properties":{"displayName":"Default","isDefault":true}}]}`}},
			call:   func(ctx context.Context, c *Client) (any, error) { return c.ListEnvironments(ctx) },
			want:   []api.Environment{{Name: testEnv, Location: "europe", Properties: api.EnvironmentProperties{DisplayName: "Default", IsDefault: true}}},
		},
		{
			name:   "GetEnvironment",
			routes: []*route{{method: "GET", path: envPath, query: av(), resp: `{"name":"Default-t1","properties":{"displayName":"Default"}}`}},
			call:   func(ctx context.Context, c *Client) (any, error) { return c.GetEnvironment(ctx, testEnv) },
			want:   api.Environment{Name: testEnv, Properties: api.EnvironmentProperties{DisplayName: "Default"}},
		},
		{
			name:   "AdminListEnvironments",
			routes: []*route{{method: "GET", path: bapPath + "/scopes/admin/environments", query: av(), resp: `{"value":[{"name":"e2","properties":{}}]}`}},
			call:   func(ctx context.Context, c *Client) (any, error) { return c.AdminListEnvironments(ctx) },
			want:   []api.Environment{{Name: "e2"}},
		},
		{
			name:   "ListFlows plain",
			routes: []*route{{method: "GET", path: flowsPath, query: av(), resp: `{"value":[` + flowsJSON("a", "b") + `]}`}},
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.ListFlows(ctx, testEnv, ListFlowsOptions{})
			},
			want: []api.Flow{{Name: "a", Properties: api.FlowProperties{DisplayName: "Flow a"}}, {Name: "b", Properties: api.FlowProperties{DisplayName: "Flow b"}}},
		},
		{
			name: "ListFlows with options",
			routes: []*route{{method: "GET", path: flowsPath, resp: `{"value":[]}`,
				query: withQuery("$filter", "search('personal')", "$top", "250", "include", "includeSolutionCloudFlows")}},
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.ListFlows(ctx, testEnv, ListFlowsOptions{Filter: FilterPersonal, IncludeSolutionFlows: true, Top: 250})
			},
			want: []api.Flow{},
		},
		{
			name:   "ListFlows team and personal",
			routes: []*route{{method: "GET", path: flowsPath, resp: `{"value":[]}`, query: withQuery("$filter", "search('team AND personal')")}},
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.ListFlows(ctx, testEnv, ListFlowsOptions{Filter: FilterTeamAndPersonal})
			},
			want: []api.Flow{},
		},
		{
			name: "AdminListFlows",
			routes: []*route{{method: "GET", path: admEnv + "/v2/flows", query: withQuery("$top", "50", "include", "softDeletedFlows"),
				resp: `{"value":[{"name":"d","properties":{"state":"Deleted"}}]}`}},
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.AdminListFlows(ctx, testEnv, AdminListFlowsOptions{IncludeDeleted: true, Top: 50})
			},
			want: []api.Flow{{Name: "d", Properties: api.FlowProperties{State: api.StateDeleted}}},
		},
		{
			name:   "GetFlow",
			routes: []*route{{method: "GET", path: f1Path, query: av(), resp: flowResp}},
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.GetFlow(ctx, testEnv, testFlow, GetFlowOptions{})
			},
			want: flowWant,
		},
		{
			name:   "GetFlow expanded",
			routes: []*route{{method: "GET", path: f1Path, query: withQuery("$expand", "properties.connectionreferences.apidefinition"), resp: flowResp}},
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.GetFlow(ctx, testEnv, testFlow, GetFlowOptions{ExpandAPIDefinition: true})
			},
			want: flowWant,
		},
		{
			name:   "AdminGetFlow with definition",
			routes: []*route{{method: "GET", path: admF1, query: withQuery("includeFlowDefinition", "true"), resp: flowResp}},
			call:   func(ctx context.Context, c *Client) (any, error) { return c.AdminGetFlow(ctx, testEnv, testFlow, true) },
			want:   flowWant,
		},
		{
			name:   "AdminGetFlow without definition",
			routes: []*route{{method: "GET", path: admF1, query: av(), resp: flowResp}},
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.AdminGetFlow(ctx, testEnv, testFlow, false)
			},
			want: flowWant,
		},
		{
			name:   "CreateFlow",
			routes: []*route{{method: "POST", path: flowsPath, query: av(), body: propsBody, status: 201, resp: flowResp}},
			call:   func(ctx context.Context, c *Client) (any, error) { return c.CreateFlow(ctx, testEnv, props) },
			want:   flowWant,
		},
		{
			name:   "UpdateFlow",
			routes: []*route{{method: "PATCH", path: f1Path, query: av(), body: propsBody, resp: flowResp}},
			call:   func(ctx context.Context, c *Client) (any, error) { return c.UpdateFlow(ctx, testEnv, testFlow, props) },
			want:   flowWant,
		},
		{
			// An empty, non-nil map is the caller's "no references": the
			// member is sent as {} (Update Flow refuses a definition without it).
			name: "UpdateFlow no references",
			routes: []*route{{method: "PATCH", path: f1Path, query: av(), resp: flowResp,
				body: `{"properties":{"definition":{"$schema":"s","triggers":{"manual":{"type":"Request"}},"actions":{}},"connectionReferences":{}}}`}},
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.UpdateFlow(ctx, testEnv, testFlow, api.FlowProperties{Definition: flowDef, ConnectionReferences: map[string]api.ConnectionReference{}})
			},
			want: flowWant,
		},
		{
			name:   "UpdateFlow state only",
			routes: []*route{{method: "PATCH", path: f1Path, query: av(), body: `{"properties":{"state":"Stopped"}}`, resp: flowResp}},
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.UpdateFlow(ctx, testEnv, testFlow, api.FlowProperties{State: api.StateStopped})
			},
			want: flowWant,
		},
		{
			name:   "DeleteFlow 200",
			routes: []*route{{method: "DELETE", path: f1Path, query: av()}},
			call:   func(ctx context.Context, c *Client) (any, error) { return c.DeleteFlow(ctx, testEnv, testFlow, false) },
			want:   true,
		},
		{
			name:   "DeleteFlow 204 absent, admin",
			routes: []*route{{method: "DELETE", path: admF1, query: av(), status: 204}},
			call:   func(ctx context.Context, c *Client) (any, error) { return c.DeleteFlow(ctx, testEnv, testFlow, true) },
			want:   false,
		},
		{
			name:   "StartFlow",
			routes: []*route{{method: "POST", path: f1Path + "/start", query: av()}},
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.StartFlow(ctx, testEnv, testFlow, false)
			},
		},
		{
			name:   "StopFlow admin",
			routes: []*route{{method: "POST", path: admF1 + "/stop", query: av()}},
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.StopFlow(ctx, testEnv, testFlow, true)
			},
		},
		{
			name:   "RestoreFlow",
			routes: []*route{{method: "POST", path: admF1 + "/restore", query: av()}},
			call:   func(ctx context.Context, c *Client) (any, error) { return nil, c.RestoreFlow(ctx, testEnv, testFlow) },
		},
		{
			name:   "ListPermissions",
			routes: []*route{{method: "GET", path: f1Path + "/permissions", query: av(), resp: perms}},
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.ListPermissions(ctx, testEnv, testFlow, false)
			},
			want: []api.Permission{perm("o", "Owner", "User"), perm("e", "CanEdit", "Group"), perm("v", "CanView", "User"), perm("s", "CanViewWithShare", "User")},
		},
		{
			name:   "ListOwners admin",
			routes: []*route{{method: "GET", path: admF1 + "/permissions", query: av(), resp: perms}},
			call:   func(ctx context.Context, c *Client) (any, error) { return c.ListOwners(ctx, testEnv, testFlow, true) },
			want:   []api.Permission{perm("o", "Owner", "User"), perm("e", "CanEdit", "Group")},
		},
		{
			name:   "ListRunOnlyUsers",
			routes: []*route{{method: "GET", path: f1Path + "/permissions", query: av(), resp: perms}},
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.ListRunOnlyUsers(ctx, testEnv, testFlow, false)
			},
			want: []api.Permission{perm("v", "CanView", "User"), perm("s", "CanViewWithShare", "User")},
		},
		{
			name: "ModifyPermissions",
			routes: []*route{{method: "POST", path: admF1 + "/modifyPermissions", query: av(),
				body: `{"put":[{"properties":{"principal":{"id":"u1","type":"User"},"roleName":"CanEdit"}}],"delete":[{"id":"u2"}]}`}},
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.ModifyPermissions(ctx, testEnv, testFlow, true, api.ModifyPermissionsRequest{
					Put:    []api.PermissionPut{{Properties: api.PermissionPutProperties{Principal: api.Principal{ID: "u1", Type: "User"}, RoleName: "CanEdit"}}},
					Delete: []api.PermissionDelete{{ID: "u2"}},
				})
			},
		},
		{
			name:   "ModifyPermissions empty sends nothing",
			routes: nil,
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.ModifyPermissions(ctx, testEnv, testFlow, false, api.ModifyPermissionsRequest{})
			},
		},
		{
			name: "ModifyOwners",
			routes: []*route{{method: "POST", path: f1Path + "/modifyPermissions", query: av(),
				body: `{"put":[{"properties":{"principal":{"id":"g1","type":"Group"},"roleName":"CanEdit"}}],"delete":[{"id":"u9"}]}`}},
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.ModifyOwners(ctx, testEnv, testFlow, false, []api.Principal{{ID: "g1", Type: "Group", DisplayName: "dropped"}}, []api.PrincipalID{"u9"})
			},
		},
		{
			name: "ModifyRunOnlyUsers",
			routes: []*route{{method: "POST", path: f1Path + "/modifyPermissions", query: av(),
				body: `{"put":[{"properties":{"principal":{"id":"u1","type":"User"},"roleName":"CanView"}}]}`}},
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.ModifyRunOnlyUsers(ctx, testEnv, testFlow, false, []api.Principal{{ID: "u1", Type: "User"}}, nil)
			},
		},
		{
			name:   "ListCallbackURL response.value",
			routes: []*route{{method: "POST", path: f1Path + "/triggers/manual/listCallbackUrl", query: av(), resp: `{"response":{"value":"https://cb.example/x?sig=FAKE"}}`}},
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.ListCallbackURL(ctx, testEnv, testFlow, "manual")
			},
			want: "https://cb.example/x?sig=FAKE",
		},
		{
			name:   "ListCallbackURL top-level value",
			routes: []*route{{method: "POST", path: f1Path + "/triggers/manual/listCallbackUrl", query: av(), resp: `{"value":"https://cb.example/y"}`}},
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.ListCallbackURL(ctx, testEnv, testFlow, "manual")
			},
			want: "https://cb.example/y",
		},
		{
			name: "ListRuns with filter",
			routes: []*route{{method: "GET", path: f1Path + "/runs", resp: `{"value":[{"name":"r1","properties":{"status":"Failed","startTime":"2025-05-01T00:00:00Z"}}]}`,
				query: withQuery("$filter", "status eq 'Failed' and startTime ge 2025-05-01T00:00:00Z and startTime lt 2025-05-02T00:00:00.5Z")}},
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.ListRuns(ctx, testEnv, testFlow, ListRunsOptions{
					Status:        "Failed",
					StartedAfter:  time.Date(2025, 5, 1, 2, 0, 0, 0, time.FixedZone("x", 2*3600)),
					StartedBefore: time.Date(2025, 5, 2, 0, 0, 0, 5e8, time.UTC),
				})
			},
			want: []api.Run{{Name: "r1", Properties: api.RunProperties{Status: "Failed", StartTime: "2025-05-01T00:00:00Z"}}},
		},
		{
			name:   "CancelRun",
			routes: []*route{{method: "POST", path: f1Path + "/runs/r1/cancel", query: av()}},
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.CancelRun(ctx, testEnv, testFlow, "r1")
			},
		},
		{
			name:   "ListTriggers",
			routes: []*route{{method: "GET", path: f1Path + "/triggers", query: av(), resp: `{"value":[{"name":"manual","properties":{"state":"Enabled"}}]}`}},
			call:   func(ctx context.Context, c *Client) (any, error) { return c.ListTriggers(ctx, testEnv, testFlow) },
			want:   []api.Trigger{{Name: "manual", Properties: api.TriggerProperties{State: "Enabled"}}},
		},
		{
			name:   "ResubmitRun",
			routes: []*route{{method: "POST", path: f1Path + "/triggers/manual/histories/r1/resubmit", query: av(), status: 202}},
			call: func(ctx context.Context, c *Client) (any, error) {
				return nil, c.ResubmitRun(ctx, testEnv, testFlow, "manual", "r1")
			},
		},
		{
			name: "ListConnectors",
			routes: []*route{{method: "GET", path: paPath + "/apis", query: envFilterQ,
				rawQuery: "api-version=2016-11-01&$filter=environment%20eq%20%27Default-t1%27",
				resp:     `{"value":[{"name":"shared_office365","properties":{"displayName":"Office 365 Outlook","tier":"Standard"}}]}`}},
			call: func(ctx context.Context, c *Client) (any, error) { return c.ListConnectors(ctx, testEnv) },
			want: []api.Connector{{Name: "shared_office365", Properties: api.ConnectorProperties{DisplayName: "Office 365 Outlook", Tier: "Standard"}}},
		},
		{
			name:   "GetConnector",
			routes: []*route{{method: "GET", path: paPath + "/apis/shared_office365", query: envFilterQ, resp: `{"name":"shared_office365","properties":{"isCustomApi":false}}`}},
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.GetConnector(ctx, testEnv, "shared_office365")
			},
			want: api.Connector{Name: "shared_office365"},
		},
		{
			name: "ListConnections",
			routes: []*route{{method: "GET", path: paPath + "/connections", query: envFilterQ,
				resp: `{"value":[{"name":"c1","properties":{"apiId":"/providers/Microsoft.PowerApps/apis/shared_office365","statuses":[{"status":"Connected"}]}}]}`}},
			call: func(ctx context.Context, c *Client) (any, error) { return c.ListConnections(ctx, testEnv) },
			want: []api.Connection{{Name: "c1", Properties: api.ConnectionProperties{APIID: "/providers/Microsoft.PowerApps/apis/shared_office365", Statuses: []api.ConnectionStatus{{Status: "Connected"}}}}},
		},
		{
			name:   "AdminListConnections",
			routes: []*route{{method: "GET", path: paPath + "/scopes/admin/environments/Default-t1/connections", query: av(), resp: `{"value":[{"name":"c2","properties":{}}]}`}},
			call:   func(ctx context.Context, c *Client) (any, error) { return c.AdminListConnections(ctx, testEnv) },
			want:   []api.Connection{{Name: "c2"}},
		},
		{
			name: "CreateConnection",
			routes: []*route{{method: "PUT", path: paPath + "/apis/shared_office365/connections/0123abcd", status: 201,
				query: map[string]string{"api-version": "2021-02-01", "$filter": "environment eq 'Default-t1'"},
				body:  `{"properties":{"environment":{"name":"Default-t1"},"displayName":"Mail","connectionParameters":{"k":"v"}}}`,
				resp:  `{"name":"0123abcd","properties":{"statuses":[{"status":"Error","target":"token"}]}}`}},
			call: func(ctx context.Context, c *Client) (any, error) {
				return c.CreateConnection(ctx, testEnv, "shared_office365", "0123abcd", api.CreateConnectionRequest{Properties: api.CreateConnectionProperties{
					DisplayName: "Mail", ConnectionParameters: json.RawMessage(`{"k":"v"}`),
				}})
			},
			want: api.Connection{Name: "0123abcd", Properties: api.ConnectionProperties{Statuses: []api.ConnectionStatus{{Status: "Error", Target: "token"}}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStub(t, testAuth, tt.routes...)
			c, rec := newTestClient(t, s)
			got, err := tt.call(context.Background(), c)
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("result mismatch (-want +got):\n%s", diff)
			}
			if len(rec.Sleeps()) != 0 {
				t.Errorf("slept %v on a clean run", rec.Sleeps())
			}
			// Every attempt passed the pacer, flagged as a write unless GET.
			var wantWaits []bool
			for _, r := range tt.routes {
				wantWaits = append(wantWaits, r.method != http.MethodGet)
			}
			if diff := cmp.Diff(wantWaits, rec.waits); diff != "" {
				t.Errorf("pacer waits (-want +got):\n%s", diff)
			}
		})
	}
}

// TestFlowExtraFieldsRoundTrip: members flowsync does not model survive a
// GET and are sent back by an update.
func TestFlowExtraFieldsRoundTrip(t *testing.T) {
	doc := `{"name":"f1","id":"x","type":"Microsoft.ProcessSimple/environments/flows","properties":{
		"displayName":"D","state":"Stopped","newServiceField":{"nested":[1,2,{"a":null}]},"plan":"p",
		"definition":{"$schema":"s","actions":{"A":{"type":"Compose","inputs":"@{1}"}}},
		"connectionReferences":{"shared_x":{"connectionName":"c","id":"/providers/Microsoft.PowerApps/apis/shared_x","impersonation":{},"runtimeSource":"embedded"}}}}`
	s := newStub(t, testAuth, &route{method: "GET", path: f1Path, query: av(), resp: doc})
	c, _ := newTestClient(t, s)
	f, err := c.GetFlow(context.Background(), testEnv, testFlow, GetFlowOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, []byte(doc), out)

	var props map[string]any
	if err := json.Unmarshal([]byte(doc), &struct {
		P *map[string]any `json:"properties"`
	}{&props}); err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"properties": props})
	s.add(&route{method: "PATCH", path: f1Path, query: av(), body: string(body), resp: doc})
	if _, err := c.UpdateFlow(context.Background(), testEnv, testFlow, f.Properties); err != nil {
		t.Fatal(err)
	}
}

// TestFlowWithoutReferencesRoundTrip: a flow read without a
// connectionReferences member keeps it nil and re-encodes without it, while
// one read with {} keeps {}: what the service said is what is sent back.
func TestFlowWithoutReferencesRoundTrip(t *testing.T) {
	for _, doc := range []string{
		`{"name":"f1","properties":{"displayName":"D","definition":{"a":1}}}`,
		`{"name":"f1","properties":{"displayName":"D","definition":{"a":1},"connectionReferences":{}}}`,
	} {
		s := newStub(t, testAuth, &route{method: "GET", path: f1Path, query: av(), resp: doc})
		c, _ := newTestClient(t, s)
		f, err := c.GetFlow(context.Background(), testEnv, testFlow, GetFlowOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := f.Properties.ConnectionReferences == nil, !strings.Contains(doc, "connectionReferences"); got != want {
			t.Errorf("%s: references nil = %v, want %v", doc, got, want)
		}
		out, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		jsonEqual(t, []byte(doc), out)
	}
}

func TestPathEscapingAndIDValidation(t *testing.T) {
	t.Run("escaped segment", func(t *testing.T) {
		s := newStub(t, testAuth, &route{method: "POST", path: f1Path + "/triggers/When_a_request_%28V2%29%20x/listCallbackUrl", query: av(), resp: `{"value":"u"}`})
		c, _ := newTestClient(t, s)
		if _, err := c.ListCallbackURL(context.Background(), testEnv, testFlow, "When_a_request_(V2) x"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("quote in env filter is doubled", func(t *testing.T) {
		s := newStub(t, testAuth, &route{method: "GET", path: paPath + "/connections", query: withQuery("$filter", "environment eq 'o''brien'"), resp: `{"value":[]}`})
		c, _ := newTestClient(t, s)
		if _, err := c.ListConnections(context.Background(), "o'brien"); err != nil {
			t.Fatal(err)
		}
	})
	bad := []struct {
		name string
		call func(c *Client) error
		want string
	}{
		{"slash in flow", func(c *Client) error {
			_, err := c.GetFlow(context.Background(), testEnv, "a/b", GetFlowOptions{})
			return err
		}, `get flow a/b in env Default-t1: invalid id "a/b": contains a path separator`},
		{"dot dot env", func(c *Client) error {
			_, err := c.ListFlows(context.Background(), "..", ListFlowsOptions{})
			return err
		}, `list flows in env ..: invalid id "..": a dot segment`},
		{"empty run", func(c *Client) error { return c.CancelRun(context.Background(), testEnv, testFlow, "") },
			`cancel run  of flow f1 in env Default-t1: invalid id: empty`},
		{"backslash api", func(c *Client) error {
			_, err := c.GetConnector(context.Background(), testEnv, `x\y`)
			return err
		}, `get connector x\y in env Default-t1: invalid id "x\\y": contains a path separator`},
		{"control char trigger", func(c *Client) error {
			_, err := c.ListCallbackURL(context.Background(), testEnv, testFlow, "a\nb")
			return err
		}, "invalid id \"a\\nb\": contains a control character"},
		{"bad filter", func(c *Client) error {
			_, err := c.ListFlows(context.Background(), testEnv, ListFlowsOptions{Filter: "mine"})
			return err
		}, `list flows in env Default-t1: unknown flow filter "mine"`},
		{"negative top", func(c *Client) error {
			_, err := c.AdminListFlows(context.Background(), testEnv, AdminListFlowsOptions{Top: -1})
			return err
		}, `list flows in env Default-t1 (admin): negative $top -1`},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			s := newStub(t, testAuth) // any request fails the test
			c, _ := newTestClient(t, s)
			err := tt.call(c)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestListCallbackURLEmpty(t *testing.T) {
	s := newStub(t, testAuth, &route{method: "POST", path: f1Path + "/triggers/t/listCallbackUrl", query: av(), resp: `{}`})
	c, _ := newTestClient(t, s)
	_, err := c.ListCallbackURL(context.Background(), testEnv, testFlow, "t")
	if err == nil || !strings.Contains(err.Error(), "no URL") {
		t.Errorf("error = %v, want a missing-URL error", err)
	}
}

func TestCreateConnectionKeepsGivenEnvironment(t *testing.T) {
	s := newStub(t, testAuth, &route{method: "PUT", path: paPath + "/apis/shared_x/connections/n1",
		query: map[string]string{"api-version": "2021-02-01", "$filter": "environment eq 'Default-t1'"},
		body:  `{"properties":{"environment":{"name":"Default-t1","id":"/providers/Microsoft.PowerApps/environments/Default-t1"}}}`,
		resp:  `{"name":"n1","properties":{}}`})
	c, _ := newTestClient(t, s)
	_, err := c.CreateConnection(context.Background(), testEnv, "shared_x", "n1", api.CreateConnectionRequest{Properties: api.CreateConnectionProperties{
		Environment: api.EnvironmentRef{Name: testEnv, ID: "/providers/Microsoft.PowerApps/environments/Default-t1"},
	}})
	if err != nil {
		t.Fatal(err)
	}
}

func TestAPIErrorMessageAndSentinels(t *testing.T) {
	s := newStub(t, testAuth, &route{method: "GET", path: f1Path, query: av(), status: 404,
		resp: `{"error":{"code":"FlowNotFound","message":"Could not find flow 'f1'."}}`})
	c, _ := newTestClient(t, s)
	_, err := c.GetFlow(context.Background(), testEnv, testFlow, GetFlowOptions{})
	if got, want := err.Error(), "get flow f1 in env Default-t1: 404 FlowNotFound: Could not find flow 'f1'."; got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
	if !errors.Is(err, api.ErrFlowNotFound) {
		t.Errorf("errors.Is(err, api.ErrFlowNotFound) = false")
	}
	var ae *api.APIError
	if !errors.As(err, &ae) || ae.Status != 404 {
		t.Errorf("errors.As *api.APIError = %v, %+v", errors.As(err, &ae), ae)
	}
}
