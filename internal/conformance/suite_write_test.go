package conformance

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/client"
)

// The write checks create their own flows and connections in Fixtures.Env,
// so they never depend on (or disturb) the fixtures the reads use, except
// for the runs of RunsFlow, which they resubmit and cancel.

// testDefinition is a small Workflow Definition Language document: a Request
// trigger and one connector action per reference key, all on connector.
func testDefinition(connector api.APIName, refKeys ...string) json.RawMessage {
	actions := map[string]any{}
	prev := ""
	for i, k := range refKeys {
		name := fmt.Sprintf("Action_%d", i+1)
		runAfter := map[string]any{}
		if prev != "" {
			runAfter[prev] = []string{"Succeeded"}
		}
		actions[name] = map[string]any{
			"type":     "OpenApiConnection",
			"runAfter": runAfter,
			"inputs": map[string]any{
				"host": map[string]any{
					"apiId":          "/providers/Microsoft.PowerApps/apis/" + string(connector),
					"connectionName": k,
					"operationId":    "ConformanceOperation",
				},
				"parameters":     map[string]any{"text": fmt.Sprintf("step %d", i+1)},
				"authentication": "@parameters('$authentication')",
			},
		}
		prev = name
	}
	d := map[string]any{
		"$schema":        "https://schema.management.azure.com/providers/Microsoft.Logic/schemas/2016-06-01/workflowdefinition.json#",
		"contentVersion": "1.0.0.0",
		"parameters": map[string]any{
			"$connections":    map[string]any{"defaultValue": map[string]any{}, "type": "Object"},
			"$authentication": map[string]any{"defaultValue": map[string]any{}, "type": "SecureObject"},
		},
		"triggers": map[string]any{
			"manual": map[string]any{"type": "Request", "kind": "Http", "inputs": map[string]any{"schema": map[string]any{}}},
		},
		"actions": actions,
	}
	b, err := json.Marshal(d)
	if err != nil {
		panic(err) // maps of strings always marshal
	}
	return b
}

// testRefs maps each key to conn, a connection of connector.
func testRefs(connector api.APIName, conn api.ConnectionName, keys ...string) map[string]api.ConnectionReference {
	out := map[string]api.ConnectionReference{}
	for _, k := range keys {
		out[k] = api.ConnectionReference{
			ConnectionName: conn,
			ID:             "/providers/Microsoft.PowerApps/apis/" + string(connector),
			Source:         "Embedded",
			Tier:           "NotSpecified",
		}
	}
	return out
}

// newConnectionName is a fresh client-chosen connection id.
func newConnectionName() api.ConnectionName {
	return api.ConnectionName("flowsync-conformance-" + strings.ToLower(rand.Text()))
}

// createFlow creates a maker flow on Fixtures.Connection.
func (s *suite) createFlow(t *testing.T, state string) api.Flow {
	t.Helper()
	props := api.FlowProperties{
		DisplayName:          s.name("flow"),
		State:                state,
		Definition:           testDefinition(s.fx.Connector, "conn"),
		ConnectionReferences: testRefs(s.fx.Connector, s.fx.Connection, "conn"),
	}
	f, err := s.client(t, RoleMaker).CreateFlow(t.Context(), s.fx.Env, props)
	if err != nil {
		t.Fatal(err)
	}
	if f.Name == "" {
		t.Fatal("the created flow has no name")
	}
	return f
}

func (s *suite) writes(t *testing.T) {
	s.needWrites(t)
	s.need(t, s.fx.Env != "" && s.fx.Connection != "" && s.fx.Connector != "" && s.fx.OAuthConnector != "",
		"environment, connectors and a connection for new flows")
	t.Run("FlowLifecycle", s.flowLifecycle)
	t.Run("SaveErrors", s.saveErrors)
	t.Run("StartStop", s.startStop)
	t.Run("ModifyPermissions", s.modifyPermissions)
	t.Run("RunActions", s.runActions)
	t.Run("CreateConnection", s.createConnection)
	t.Run("DeleteRestore", s.deleteRestore)
	// Last among the writes: it moves the emulator clock three weeks on.
	t.Run("RestorePastRetention", s.restorePastRetention)
}

// flowLifecycle: create, read back, rename, change definition and
// references, read back again.
func (s *suite) flowLifecycle(t *testing.T) {
	m := s.client(t, RoleMaker)
	ctx := t.Context()
	def := testDefinition(s.fx.Connector, "conn")
	refs := testRefs(s.fx.Connector, s.fx.Connection, "conn")
	display := s.name("flow")
	created, err := m.CreateFlow(ctx, s.fx.Env, api.FlowProperties{
		DisplayName: display, State: api.StateStopped, Definition: def, ConnectionReferences: refs,
	})
	if err != nil {
		t.Fatal(err)
	}
	if created.Name == "" || created.Properties.DisplayName != display || created.Properties.State != api.StateStopped {
		t.Fatalf("created flow: name %q, display name %q, state %q", created.Name, created.Properties.DisplayName, created.Properties.State)
	}
	readBack := func(t *testing.T, wantDef json.RawMessage, wantRefs map[string]api.ConnectionReference, wantName string) {
		t.Helper()
		got, err := m.GetFlow(ctx, s.fx.Env, created.Name, client.GetFlowOptions{})
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, "definition", wantDef, got.Properties.Definition)
		sameJSON(t, "connection references", wantRefs, got.Properties.ConnectionReferences)
		if got.Properties.DisplayName != wantName {
			t.Errorf("display name %q, want %q", got.Properties.DisplayName, wantName)
		}
		if s.fx.Maker != "" && (got.Properties.Creator == nil || !strings.EqualFold(string(got.Properties.Creator.ObjectID), string(s.fx.Maker))) {
			t.Errorf("creator %+v, want the maker %s", got.Properties.Creator, s.fx.Maker)
		}
	}
	t.Run("get it back", func(t *testing.T) { readBack(t, def, refs, display) })
	t.Run("listed", func(t *testing.T) {
		fs, err := m.ListFlows(ctx, s.fx.Env, client.ListFlowsOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !hasFlow(fs, created.Name) {
			t.Error("the new flow is not in the maker's list")
		}
	})

	renamed := display + " (renamed)"
	t.Run("rename", func(t *testing.T) {
		u, err := m.UpdateFlow(ctx, s.fx.Env, created.Name, api.FlowProperties{DisplayName: renamed})
		if err != nil {
			t.Fatal(err)
		}
		if u.Properties.DisplayName != renamed {
			t.Errorf("update answered display name %q, want %q", u.Properties.DisplayName, renamed)
		}
		readBack(t, def, refs, renamed)
	})

	def2 := testDefinition(s.fx.Connector, "conn", "conn_1")
	refs2 := testRefs(s.fx.Connector, s.fx.Connection, "conn", "conn_1")
	t.Run("definition and references", func(t *testing.T) {
		u, err := m.UpdateFlow(ctx, s.fx.Env, created.Name, api.FlowProperties{Definition: def2, ConnectionReferences: refs2})
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, "definition in the update's answer", def2, u.Properties.Definition)
		readBack(t, def2, refs2, renamed)
	})

	t.Run("definition without references", func(t *testing.T) {
		_, err := m.UpdateFlow(ctx, s.fx.Env, created.Name, api.FlowProperties{Definition: def})
		ae := apiError(t, err)
		if ae.Status != 400 || ae.Code != api.CodeInvalidOpenAPIFlow {
			t.Errorf("got %d %s, want 400 %s", ae.Status, ae.Code, api.CodeInvalidOpenAPIFlow)
		}
		wantErr(t, err, api.ErrInvalidRequest)
		readBack(t, def2, refs2, renamed) // nothing changed
	})
}

func (s *suite) saveErrors(t *testing.T) {
	m := s.client(t, RoleMaker)
	ctx := t.Context()
	t.Run("unknown connection", func(t *testing.T) {
		display := s.name("flow")
		_, err := m.CreateFlow(ctx, s.fx.Env, api.FlowProperties{
			DisplayName: display, State: api.StateStopped,
			Definition:           testDefinition(s.fx.Connector, "conn"),
			ConnectionReferences: testRefs(s.fx.Connector, "flowsync-conformance-no-such-connection", "conn"),
		})
		wantErr(t, err, api.ErrConnectionNotFound)
		if ae := apiError(t, err); ae.Status != 400 {
			t.Errorf("status %d, want 400", ae.Status)
		}
		fs, err := m.ListFlows(ctx, s.fx.Env, client.ListFlowsOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fs {
			if f.Properties.DisplayName == display {
				t.Errorf("the refused flow was created as %s", f.Name)
			}
		}
	})
	t.Run("action names no reference", func(t *testing.T) {
		_, err := m.CreateFlow(ctx, s.fx.Env, api.FlowProperties{
			DisplayName: s.name("flow"), State: api.StateStopped,
			Definition:           testDefinition(s.fx.Connector, "conn", "missing_key"),
			ConnectionReferences: testRefs(s.fx.Connector, s.fx.Connection, "conn"),
		})
		if ae := apiError(t, err); ae.Status != 400 {
			t.Errorf("status %d (%s), want 400", ae.Status, ae.Code)
		}
	})
}

func (s *suite) flowState(t *testing.T, flow api.FlowName) string {
	t.Helper()
	f, err := s.client(t, RoleAdmin).AdminGetFlow(t.Context(), s.fx.Env, flow, false)
	if err != nil {
		t.Fatal(err)
	}
	return f.Properties.State
}

func (s *suite) startStop(t *testing.T) {
	m, a := s.client(t, RoleMaker), s.client(t, RoleAdmin)
	ctx := t.Context()
	f := s.createFlow(t, api.StateStopped)
	steps := []struct {
		name string
		call func() error
		want string
	}{
		{"start", func() error { return m.StartFlow(ctx, s.fx.Env, f.Name, false) }, api.StateStarted},
		{"stop", func() error { return m.StopFlow(ctx, s.fx.Env, f.Name, false) }, api.StateStopped},
		{"start as admin", func() error { return a.StartFlow(ctx, s.fx.Env, f.Name, true) }, api.StateStarted},
		{"stop as admin", func() error { return a.StopFlow(ctx, s.fx.Env, f.Name, true) }, api.StateStopped},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if err := st.call(); err != nil {
				t.Fatal(err)
			}
			if got := s.flowState(t, f.Name); got != st.want {
				t.Errorf("state %q, want %q", got, st.want)
			}
		})
	}

	t.Run("broken connection", func(t *testing.T) {
		conn, err := m.CreateConnection(ctx, s.fx.Env, s.fx.OAuthConnector, newConnectionName(), api.CreateConnectionRequest{})
		if err != nil {
			t.Fatal(err)
		}
		props := api.FlowProperties{
			DisplayName: s.name("flow"), State: api.StateStopped,
			Definition:           testDefinition(s.fx.OAuthConnector, "oauth"),
			ConnectionReferences: testRefs(s.fx.OAuthConnector, conn.Name, "oauth"),
		}
		broken, err := m.CreateFlow(ctx, s.fx.Env, props)
		if err != nil {
			t.Fatalf("a stopped flow on an unauthenticated connection should save: %v", err)
		}
		wantErr(t, m.StartFlow(ctx, s.fx.Env, broken.Name, false), api.ErrConnectionAuthFailed)
		if got := s.flowState(t, broken.Name); got != api.StateStopped {
			t.Errorf("state after the refused start %q, want %q", got, api.StateStopped)
		}
		props.DisplayName, props.State = s.name("flow"), api.StateStarted
		_, err = m.CreateFlow(ctx, s.fx.Env, props)
		wantErr(t, err, api.ErrConnectionAuthFailed)
	})
}

func (s *suite) modifyPermissions(t *testing.T) {
	s.need(t, s.fx.Grantee != "" && s.fx.Group != "", "grantee user and group")
	m, a := s.client(t, RoleMaker), s.client(t, RoleAdmin)
	ctx := t.Context()
	f := s.createFlow(t, api.StateStopped)
	perms := func(t *testing.T) map[string]api.Permission {
		t.Helper()
		ps, err := m.ListPermissions(ctx, s.fx.Env, f.Name, false)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]api.Permission{}
		for _, p := range ps {
			out[strings.ToLower(string(p.Properties.Principal.ID))] = p
		}
		return out
	}
	role := func(t *testing.T, id api.PrincipalID) string {
		t.Helper()
		return perms(t)[strings.ToLower(string(id))].Properties.RoleName
	}
	grantee := api.Principal{ID: s.fx.Grantee, Type: api.PrincipalUser}
	group := api.Principal{ID: s.fx.Group, Type: api.PrincipalGroup}

	t.Run("run-only user", func(t *testing.T) {
		if err := m.ModifyRunOnlyUsers(ctx, s.fx.Env, f.Name, false, []api.Principal{grantee}, nil); err != nil {
			t.Fatal(err)
		}
		ro, err := m.ListRunOnlyUsers(ctx, s.fx.Env, f.Name, false)
		if err != nil {
			t.Fatal(err)
		}
		if len(ro) != 1 || !strings.EqualFold(string(ro[0].Properties.Principal.ID), string(s.fx.Grantee)) || ro[0].Properties.RoleName != api.RoleCanView {
			t.Errorf("run-only users %v, want CanView %s", permKeys(ro), s.fx.Grantee)
		}
	})
	t.Run("co-owner group", func(t *testing.T) {
		if err := m.ModifyOwners(ctx, s.fx.Env, f.Name, false, []api.Principal{group}, nil); err != nil {
			t.Fatal(err)
		}
		if got := role(t, s.fx.Group); got != api.RoleCanEdit {
			t.Errorf("group role %q, want %q", got, api.RoleCanEdit)
		}
		owners, err := m.ListOwners(ctx, s.fx.Env, f.Name, false)
		if err != nil {
			t.Fatal(err)
		}
		if len(owners) != 2 {
			t.Errorf("owners %v, want the maker and the group", permKeys(owners))
		}
	})
	t.Run("delete by bare id", func(t *testing.T) {
		err := m.ModifyPermissions(ctx, s.fx.Env, f.Name, false, api.ModifyPermissionsRequest{
			Delete: []api.PermissionDelete{{ID: string(s.fx.Grantee)}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := role(t, s.fx.Grantee); got != "" {
			t.Errorf("grantee still holds %q", got)
		}
	})
	t.Run("delete by permission id", func(t *testing.T) {
		p, ok := perms(t)[strings.ToLower(string(s.fx.Group))]
		if !ok || !strings.Contains(p.ID, "/") {
			t.Fatalf("group permission %+v has no full id", p)
		}
		err := m.ModifyPermissions(ctx, s.fx.Env, f.Name, false, api.ModifyPermissionsRequest{
			Delete: []api.PermissionDelete{{ID: p.ID}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := role(t, s.fx.Group); got != "" {
			t.Errorf("group still holds %q", got)
		}
	})
	t.Run("put and delete as admin", func(t *testing.T) {
		err := a.ModifyPermissions(ctx, s.fx.Env, f.Name, true, api.ModifyPermissionsRequest{
			Put: []api.PermissionPut{{Properties: api.PermissionPutProperties{Principal: grantee, RoleName: api.RoleCanViewWithShare}}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := role(t, s.fx.Grantee); got != api.RoleCanViewWithShare {
			t.Errorf("grantee role %q, want %q", got, api.RoleCanViewWithShare)
		}
		if err := a.ModifyRunOnlyUsers(ctx, s.fx.Env, f.Name, true, nil, []api.PrincipalID{s.fx.Grantee}); err != nil {
			t.Fatal(err)
		}
		if got := role(t, s.fx.Grantee); got != "" {
			t.Errorf("grantee still holds %q", got)
		}
	})
	t.Run("Owner cannot be granted", func(t *testing.T) {
		err := m.ModifyPermissions(ctx, s.fx.Env, f.Name, false, api.ModifyPermissionsRequest{
			Put: []api.PermissionPut{{Properties: api.PermissionPutProperties{Principal: grantee, RoleName: api.RoleOwner}}},
		})
		ae := apiError(t, err)
		if ae.Status != 400 || ae.Code != api.CodeInvalidRoleName {
			t.Errorf("got %d %s, want 400 %s", ae.Status, ae.Code, api.CodeInvalidRoleName)
		}
		if got := role(t, s.fx.Grantee); got != "" {
			t.Errorf("grantee holds %q after a refused grant", got)
		}
	})
	t.Run("unknown principal", func(t *testing.T) {
		err := m.ModifyRunOnlyUsers(ctx, s.fx.Env, f.Name, false,
			[]api.Principal{{ID: "00000000-0000-4000-8000-0000000000f0", Type: api.PrincipalUser}}, nil)
		wantErr(t, err, api.ErrPrincipalNotFound)
	})
	t.Run("only the Owner left", func(t *testing.T) {
		ps := perms(t)
		if len(ps) != 1 {
			t.Errorf("permissions %d, want only the Owner", len(ps))
		}
		if s.fx.Maker != "" && ps[strings.ToLower(string(s.fx.Maker))].Properties.RoleName != api.RoleOwner {
			t.Errorf("the maker is not the Owner: %+v", ps)
		}
	})
}

func (s *suite) runActions(t *testing.T) {
	s.need(t, s.fx.RunsFlow != "" && s.fx.RunningRun != "" && s.fx.FinishedRun != "" && s.fx.RunsTrigger != "", "runs to resubmit and cancel")
	m := s.client(t, RoleMaker)
	ctx := t.Context()
	runs := func(t *testing.T) map[string]api.Run {
		t.Helper()
		rs, err := m.ListRuns(ctx, s.fx.Env, s.fx.RunsFlow, client.ListRunsOptions{})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]api.Run{}
		for _, r := range rs {
			out[r.Name] = r
		}
		return out
	}
	t.Run("resubmit", func(t *testing.T) {
		before := runs(t)
		if err := m.ResubmitRun(ctx, s.fx.Env, s.fx.RunsFlow, s.fx.RunsTrigger, s.fx.FinishedRun); err != nil {
			t.Fatal(err)
		}
		after := runs(t)
		var added []api.Run
		for name, r := range after {
			if _, ok := before[name]; !ok {
				added = append(added, r)
			}
		}
		if len(added) != 1 || len(after) != len(before)+1 {
			t.Fatalf("%d runs before, %d after, %d new; want exactly one new run", len(before), len(after), len(added))
		}
		if added[0].Properties.Status != "Running" {
			t.Errorf("the new run's status %q, want Running", added[0].Properties.Status)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		if err := m.CancelRun(ctx, s.fx.Env, s.fx.RunsFlow, s.fx.RunningRun); err != nil {
			t.Fatal(err)
		}
		if got := runs(t)[s.fx.RunningRun].Properties.Status; got != "Cancelled" {
			t.Errorf("run status %q after cancel, want Cancelled", got)
		}
		// A finished run cannot be cancelled: a client error, not a retry loop.
		if ae := apiError(t, m.CancelRun(ctx, s.fx.Env, s.fx.RunsFlow, s.fx.RunningRun)); ae.Status < 400 || ae.Status > 499 {
			t.Errorf("cancelling a cancelled run: status %d, want a 4xx", ae.Status)
		}
	})
}

func (s *suite) createConnection(t *testing.T) {
	m, a := s.client(t, RoleMaker), s.client(t, RoleAdmin)
	ctx := t.Context()
	status := func(c api.Connection) string {
		if len(c.Properties.Statuses) == 0 {
			return ""
		}
		return c.Properties.Statuses[0].Status
	}
	tests := []struct {
		name      string
		connector api.APIName
		connected bool
	}{
		{"OAuth connector: not connected until someone signs in", s.fx.OAuthConnector, false},
		{"connector without OAuth: connected", s.fx.Connector, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := newConnectionName()
			display := s.name("connection")
			c, err := m.CreateConnection(ctx, s.fx.Env, tt.connector, id, api.CreateConnectionRequest{
				Properties: api.CreateConnectionProperties{DisplayName: display},
			})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.EqualFold(string(c.Name), string(id)) || c.Properties.DisplayName != display {
				t.Errorf("created connection %q (%q), want %q (%q)", c.Name, c.Properties.DisplayName, id, display)
			}
			if !strings.HasSuffix(strings.ToLower(c.Properties.APIID), "/apis/"+strings.ToLower(string(tt.connector))) {
				t.Errorf("apiId %q does not name %s", c.Properties.APIID, tt.connector)
			}
			if got := status(c) == "Connected"; got != tt.connected {
				t.Errorf("statuses %+v: connected %v, want %v", c.Properties.Statuses, got, tt.connected)
			}
			again, err := m.CreateConnection(ctx, s.fx.Env, tt.connector, id, api.CreateConnectionRequest{
				Properties: api.CreateConnectionProperties{DisplayName: display},
			})
			if err != nil {
				t.Fatalf("repeating the PUT: %v", err)
			}
			if status(again) != status(c) {
				t.Errorf("status changed on a repeated PUT: %q, then %q", status(c), status(again))
			}
			mine, err := m.ListConnections(ctx, s.fx.Env)
			if err != nil {
				t.Fatal(err)
			}
			all, err := a.AdminListConnections(ctx, s.fx.Env)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range []struct {
				what string
				list []api.Connection
			}{{"maker", mine}, {"admin", all}} {
				what, n := l.what, 0
				for _, x := range l.list {
					if strings.EqualFold(string(x.Name), string(id)) {
						n++
					}
				}
				if n != 1 {
					t.Errorf("the %s list holds the new connection %d times, want once", what, n)
				}
			}
		})
	}
}

func (s *suite) deleteRestore(t *testing.T) {
	m, a := s.client(t, RoleMaker), s.client(t, RoleAdmin)
	ctx := t.Context()
	f := s.createFlow(t, api.StateStarted)
	adminList := func(t *testing.T) (live, all []api.Flow) {
		t.Helper()
		var err error
		if live, err = a.AdminListFlows(ctx, s.fx.Env, client.AdminListFlowsOptions{}); err != nil {
			t.Fatal(err)
		}
		if all, err = a.AdminListFlows(ctx, s.fx.Env, client.AdminListFlowsOptions{IncludeDeleted: true}); err != nil {
			t.Fatal(err)
		}
		return live, all
	}
	t.Run("delete", func(t *testing.T) {
		deleted, err := m.DeleteFlow(ctx, s.fx.Env, f.Name, false)
		if err != nil || !deleted {
			t.Fatalf("DeleteFlow = %v, %v; want true, nil", deleted, err)
		}
		deleted, err = m.DeleteFlow(ctx, s.fx.Env, f.Name, false)
		if err != nil || deleted {
			t.Fatalf("second DeleteFlow = %v, %v; want false, nil (204)", deleted, err)
		}
		_, err = m.GetFlow(ctx, s.fx.Env, f.Name, client.GetFlowOptions{})
		wantErr(t, err, api.ErrFlowNotFound)
	})
	t.Run("soft-deleted in the admin list", func(t *testing.T) {
		live, all := adminList(t)
		if hasFlow(live, f.Name) {
			t.Error("the deleted flow is listed without include=softDeletedFlows")
		}
		got, ok := findFlow(all, f.Name)
		if !ok {
			t.Fatal("the deleted flow is not listed with include=softDeletedFlows")
		}
		if got.Properties.State != api.StateDeleted {
			t.Errorf("state %q, want %q", got.Properties.State, api.StateDeleted)
		}
	})
	t.Run("restore", func(t *testing.T) {
		if err := a.RestoreFlow(ctx, s.fx.Env, f.Name); err != nil {
			t.Fatal(err)
		}
		if got := s.flowState(t, f.Name); got != api.StateStopped {
			t.Errorf("restored flow state %q, want %q", got, api.StateStopped)
		}
		got, err := m.GetFlow(ctx, s.fx.Env, f.Name, client.GetFlowOptions{})
		if err != nil {
			t.Fatalf("the maker cannot read the restored flow: %v", err)
		}
		if !strings.EqualFold(string(got.Name), string(f.Name)) {
			t.Errorf("restored flow has name %s, want the same id %s", got.Name, f.Name)
		}
		if f.Properties.State != api.StateStarted {
			t.Errorf("the deleted flow was %q; the check needs a Started one to see Restore stop it", f.Properties.State)
		}
		sameJSON(t, "restored definition", f.Properties.Definition, got.Properties.Definition)
		sameJSON(t, "restored connection references", f.Properties.ConnectionReferences, got.Properties.ConnectionReferences)
	})
	t.Run("solution flow has no recycle bin", func(t *testing.T) {
		s.need(t, s.fx.SolutionFlow != "", "solution flow")
		if deleted, err := a.DeleteFlow(ctx, s.fx.Env, s.fx.SolutionFlow, true); err != nil || !deleted {
			t.Fatalf("admin DeleteFlow(solution flow) = %v, %v; want true, nil", deleted, err)
		}
		wantErr(t, a.RestoreFlow(ctx, s.fx.Env, s.fx.SolutionFlow), api.ErrFlowNotFound)
		_, all := adminList(t)
		if hasFlow(all, s.fx.SolutionFlow) {
			t.Error("a deleted solution flow is listed with include=softDeletedFlows; solution flows are deleted for good")
		}
	})
	t.Run("delete as admin", func(t *testing.T) {
		g := s.createFlow(t, api.StateStopped)
		for i, want := range []bool{true, false} {
			deleted, err := a.DeleteFlow(ctx, s.fx.Env, g.Name, true)
			if err != nil || deleted != want {
				t.Errorf("admin DeleteFlow #%d = %v, %v; want %v, nil", i+1, deleted, err, want)
			}
		}
	})
}

// retention is how long the service keeps soft-deleted flows (CONTRACT.md).
const retention = 21 * 24 * time.Hour

func (s *suite) restorePastRetention(t *testing.T) {
	ctl := s.needControl(t)
	m, a := s.client(t, RoleMaker), s.client(t, RoleAdmin)
	ctx := t.Context()
	f := s.createFlow(t, api.StateStopped)
	if deleted, err := m.DeleteFlow(ctx, s.fx.Env, f.Name, false); err != nil || !deleted {
		t.Fatalf("DeleteFlow = %v, %v", deleted, err)
	}
	// A day short of retention the flow can still come back; the clock
	// moves, tokens stay valid (they follow the wall clock).
	g := s.createFlow(t, api.StateStarted)
	if deleted, err := m.DeleteFlow(ctx, s.fx.Env, g.Name, false); err != nil || !deleted {
		t.Fatalf("DeleteFlow = %v, %v", deleted, err)
	}
	if err := ctl.Advance(ctx, retention-24*time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := a.RestoreFlow(ctx, s.fx.Env, g.Name); err != nil {
		t.Fatalf("restore within retention, after %v: %v", retention-24*time.Hour, err)
	}
	if got := s.flowState(t, g.Name); got != api.StateStopped {
		t.Errorf("restored flow state %q, want %q", got, api.StateStopped)
	}
	if err := ctl.Advance(ctx, 48*time.Hour); err != nil {
		t.Fatal(err)
	}
	wantErr(t, a.RestoreFlow(ctx, s.fx.Env, f.Name), api.ErrFlowNotFound)
	all, err := a.AdminListFlows(ctx, s.fx.Env, client.AdminListFlowsOptions{IncludeDeleted: true})
	if err != nil {
		t.Fatal(err)
	}
	if hasFlow(all, f.Name) {
		t.Error("a flow past retention is still listed with include=softDeletedFlows")
	}
}
