package seed

import (
	"bytes"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/emulator"
)

func TestNamesAndLookup(t *testing.T) {
	if diff := cmp.Diff([]string{"demo", "empty"}, Names()); diff != "" {
		t.Errorf("Names() (-want +got):\n%s", diff)
	}
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			a, err := Lookup(name)
			if err != nil {
				t.Fatalf("Lookup(%q): %v", name, err)
			}
			b, _ := Lookup(name)
			if a == b {
				t.Fatal("Lookup returned the same pointer twice; callers may change their copy")
			}
			if diff := cmp.Diff(a, b, rawBytes()); diff != "" {
				t.Errorf("two lookups differ (-first +second):\n%s", diff)
			}
		})
	}
	t.Run("unknown", func(t *testing.T) {
		_, err := Lookup("nope")
		if err == nil || !strings.Contains(err.Error(), `"nope"`) || !strings.Contains(err.Error(), "demo, empty") {
			t.Errorf("Lookup(nope) error = %v, want it to name the seed and list demo, empty", err)
		}
	})
}

// rawBytes compares raw JSON as bytes: cmp's element-wise walk of large
// definitions is slow, and a byte difference is all the tests need to see.
func rawBytes() cmp.Option {
	return cmp.Comparer(func(a, b json.RawMessage) bool { return bytes.Equal(a, b) })
}

func TestEmpty(t *testing.T) {
	s := Empty()
	checkConsistent(t, s, true)
	if len(s.Principals) != 1 || !s.Principals[0].Admin || s.Principals[0].Type != api.PrincipalUser {
		t.Errorf("principals = %+v, want one admin user", s.Principals)
	}
	if len(s.Environments) != 1 || !s.Environments[0].IsDefault || s.Environments[0].Name != api.EnvName("Default-"+s.Tenant) {
		t.Errorf("environments = %+v, want the default environment only", s.Environments)
	}
	if len(s.Flows) != 0 || len(s.Connections) != 0 {
		t.Errorf("got %d flows and %d connections, want none", len(s.Flows), len(s.Connections))
	}
}

func TestDemoDeterministic(t *testing.T) {
	a, b := Demo(), Demo()
	if diff := cmp.Diff(a, b, rawBytes()); diff != "" {
		t.Errorf("two Demo() calls differ (-first +second):\n%s", diff)
	}
	// Serialised form too: the state file and /_emulator/state must be stable.
	ja, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		t.Error("two Demo() snapshots marshal differently")
	}
	if want := time.Date(2025, 6, 30, 12, 0, 0, 0, time.UTC); !a.Now.Equal(want) {
		t.Errorf("Now = %v, want %v", a.Now, want)
	}
}

func TestDemoConsistent(t *testing.T) {
	checkConsistent(t, Demo(), true)
}

func TestDemoShape(t *testing.T) {
	s := Demo()
	envs := map[api.EnvName]emulator.Environment{}
	for _, e := range s.Environments {
		envs[e.Name] = e
	}
	want := []struct {
		name      api.EnvName
		display   string
		sku       string
		def       bool
		dataverse bool
	}{
		{DemoEnvDefault, "Contoso (default)", "Default", true, false},
		{DemoEnvDev, "Contoso Dev", "Sandbox", false, true},
		{DemoEnvTest, "Contoso Test", "Sandbox", false, true},
		{DemoEnvProd, "Contoso Prod", "Production", false, true},
	}
	for _, w := range want {
		e, ok := envs[w.name]
		if !ok {
			t.Errorf("environment %s (%s) missing", w.name, w.display)
			continue
		}
		if e.DisplayName != w.display || e.Sku != w.sku || e.IsDefault != w.def || e.Dataverse != w.dataverse {
			t.Errorf("environment %s = %+v, want display %q sku %q default %v dataverse %v", w.name, e, w.display, w.sku, w.def, w.dataverse)
		}
	}
	if len(s.Environments) != len(want) {
		t.Errorf("got %d environments, want %d", len(s.Environments), len(want))
	}

	var adminUsers, makers, groups, adminSPs, otherSPs int
	for _, p := range s.Principals {
		switch {
		case p.Type == api.PrincipalUser && p.Admin:
			adminUsers++
		case p.Type == api.PrincipalUser:
			makers++
		case p.Type == api.PrincipalGroup && len(p.Members) > 0:
			groups++
		case p.Type == api.PrincipalServicePrincipal && p.Admin:
			adminSPs++
		case p.Type == api.PrincipalServicePrincipal:
			otherSPs++
		}
		if p.ClientSecretSHA256 != "" {
			t.Errorf("principal %s carries a secret hash; tests register their own", p.ID)
		}
	}
	if adminUsers != 1 || makers < 3 || makers > 4 || groups < 1 || adminSPs != 1 || otherSPs != 1 {
		t.Errorf("principals: %d admin users, %d makers, %d groups, %d admin SPs, %d other SPs; want 1, 3-4, >=1, 1, 1",
			adminUsers, makers, groups, adminSPs, otherSPs)
	}

	connectors := map[api.APIName]emulator.Connector{}
	for _, c := range s.Connectors {
		connectors[c.Name] = c
	}
	for _, name := range []api.APIName{"shared_office365", "shared_sharepointonline", "shared_teams", "shared_approvals",
		"shared_commondataserviceforapps", "shared_office365users", "shared_flowmanagement", "shared_logicflows"} {
		c, ok := connectors[name]
		if !ok || c.Custom || c.Environment != "" {
			t.Errorf("connector %s = %+v (present %v), want a shared Microsoft connector", name, c, ok)
		}
	}
	if c := connectors[DemoCustomAPI]; !c.Custom || c.Environment != DemoEnvDev {
		t.Errorf("custom connector = %+v, want custom and limited to Dev", c)
	}
	if !connectors["shared_office365"].OAuth || !connectors["shared_sharepointonline"].OAuth {
		t.Error("Outlook and SharePoint connectors should be OAuth")
	}

	for _, env := range []api.EnvName{DemoEnvDefault, DemoEnvDev, DemoEnvTest, DemoEnvProd} {
		if !slices.ContainsFunc(s.Connections, func(c emulator.Connection) bool { return c.Environment == env && c.Status == "Connected" }) {
			t.Errorf("environment %s has no Connected connection", env)
		}
	}
	if !slices.ContainsFunc(s.Connections, func(c emulator.Connection) bool { return c.Environment == DemoEnvTest && c.Status == "Error" }) {
		t.Error("Test has no connection in status Error")
	}
}

// TestDemoCoverage asserts each case the demo tenant exists for, by reading
// the flows the way a consumer would.
func TestDemoCoverage(t *testing.T) {
	s := Demo()
	flows := s.Flows
	if len(flows) < 12 {
		t.Fatalf("got %d flows, want at least 12", len(flows))
	}
	parsed := map[*emulator.Flow]parsedFlow{}
	for i := range flows {
		parsed[&flows[i]] = parseFlow(t, flows[i])
	}
	has := func(name string, pred func(f emulator.Flow, p parsedFlow) bool) {
		t.Helper()
		for i := range flows {
			if pred(flows[i], parsed[&flows[i]]) {
				return
			}
		}
		t.Errorf("no demo flow: %s", name)
	}

	has("approval with condition and mail", func(f emulator.Flow, p parsedFlow) bool {
		return p.hasOp("shared_approvals", "StartAndWaitForAnApproval") && p.hasType("If") && p.hasOp("shared_office365", "SendEmailV2")
	})
	has("SharePoint item created trigger posting to Teams", func(f emulator.Flow, p parsedFlow) bool {
		return p.triggerOp("shared_sharepointonline", "GetOnNewItems") && p.hasOp("shared_teams", "PostMessageToConversation")
	})
	has("Teams adaptive card on recurrence", func(f emulator.Flow, p parsedFlow) bool {
		return p.triggerType("Recurrence", "") && p.hasOp("shared_teams", "PostCardToConversation")
	})
	has("Dataverse row-added solution flow with logical names", func(f emulator.Flow, p parsedFlow) bool {
		return f.WorkflowEntityID != "" && p.triggerOp("shared_commondataserviceforapps", "SubscribeWebhookTrigger") &&
			len(p.refs) > 0 && !slices.ContainsFunc(p.refs, func(r RefInfo) bool { return r.LogicalName == "" })
	})
	has("HTTP request trigger with Response", func(f emulator.Flow, p parsedFlow) bool {
		return p.triggerType("Request", "Http") && p.hasType("Response")
	})
	has("recurrence flow", func(f emulator.Flow, p parsedFlow) bool { return p.triggerType("Recurrence", "") })
	has("parent calling a child flow in its environment", func(f emulator.Flow, p parsedFlow) bool {
		for _, op := range p.ops {
			if op.Type != "Workflow" {
				continue
			}
			child := op.Inputs.Host.WorkflowReferenceName
			for i := range flows {
				c := flows[i]
				cp := parsed[&flows[i]]
				if c.Environment == f.Environment && string(c.Name) == child &&
					cp.triggerType("Request", "Button") && cp.hasResponseKind("PowerApp") {
					return true
				}
			}
		}
		return false
	})
	has("run-only Button flow (CanView for a user and a group, an Invoker reference)", func(f emulator.Flow, p parsedFlow) bool {
		user, group := false, false
		for _, perm := range f.Permissions {
			if perm.Role != api.RoleCanView {
				continue
			}
			switch principalType(s, perm.Principal) {
			case api.PrincipalUser:
				user = true
			case api.PrincipalGroup:
				group = true
			}
		}
		return user && group && p.triggerType("Request", "Button") &&
			slices.ContainsFunc(p.refs, func(r RefInfo) bool { return r.Source == "Invoker" })
	})
	has("co-owned flow", func(f emulator.Flow, p parsedFlow) bool {
		return slices.ContainsFunc(f.Permissions, func(x emulator.FlowPermission) bool { return x.Role == api.RoleCanEdit })
	})
	has("stopped flow", func(f emulator.Flow, p parsedFlow) bool { return f.State == api.StateStopped && f.DeletedTime == nil })
	has("suspended flow", func(f emulator.Flow, p parsedFlow) bool { return f.State == api.StateSuspended })
	has("soft-deleted flow a few days old", func(f emulator.Flow, p parsedFlow) bool {
		return f.DeletedTime != nil && f.DeletedTime.Before(s.Now) && s.Now.Sub(*f.DeletedTime) < 7*24*time.Hour
	})
	has("two references to one api", func(f emulator.Flow, p parsedFlow) bool {
		seen := map[api.APIName]int{}
		for _, r := range p.refs {
			seen[r.API]++
			if seen[r.API] == 2 {
				return true
			}
		}
		return false
	})
	has("custom connector flow", func(f emulator.Flow, p parsedFlow) bool {
		return slices.ContainsFunc(p.refs, func(r RefInfo) bool { return r.API == DemoCustomAPI }) && p.hasOp(DemoCustomAPI, "ListInvoices")
	})
	has("inline secrets in an Http action and a secure parameter", func(f emulator.Flow, p parsedFlow) bool {
		basic, apiKey := false, false
		for _, op := range p.ops {
			if op.Type == "Http" && op.Inputs.Authentication.Password != "" {
				basic = strings.HasPrefix(op.Inputs.Authentication.Password, "DEMO-ONLY-")
			}
			if op.Type == "Http" && strings.HasPrefix(op.Inputs.Headers["x-api-key"], "DEMO-ONLY-") {
				apiKey = true
			}
		}
		secure := false
		for _, prm := range p.def.Parameters {
			if strings.EqualFold(prm.Type, "SecureString") && len(prm.DefaultValue) > 0 {
				secure = true
			}
		}
		return basic && apiKey && secure
	})
	has("environment variable parameters", func(f emulator.Flow, p parsedFlow) bool {
		envVar := regexp.MustCompile(`^.+ \(([a-z]+_[A-Za-z0-9]+)\)$`)
		for name, prm := range p.def.Parameters {
			if m := envVar.FindStringSubmatch(name); m != nil && prm.Metadata.SchemaName == m[1] {
				return true
			}
		}
		return false
	})
	has("flow whose connection is broken", func(f emulator.Flow, p parsedFlow) bool {
		for _, r := range p.refs {
			for _, c := range s.Connections {
				if c.Environment == f.Environment && c.Name == r.ConnectionName && c.Status == "Error" {
					return true
				}
			}
		}
		return false
	})
	has("promoted copy of a solution flow keeping its workflow id", func(f emulator.Flow, p parsedFlow) bool {
		return f.Environment == DemoEnvProd && f.IsManaged && f.WorkflowEntityID == string(DemoFlowAccountOnboard)
	})
	has("personal flow in the default environment", func(f emulator.Flow, p parsedFlow) bool {
		return f.Environment == DemoEnvDefault
	})
}

// parsedFlow is what the tests read from a flow's definition and references.
type parsedFlow struct {
	def  definition
	ops  []operation // triggers and actions at every depth
	trig []operation
	refs []RefInfo
}

type definition struct {
	Schema         string                     `json:"$schema"`
	ContentVersion string                     `json:"contentVersion"`
	Parameters     map[string]parameter       `json:"parameters"`
	Triggers       map[string]json.RawMessage `json:"triggers"`
	Actions        map[string]json.RawMessage `json:"actions"`
}

type parameter struct {
	Type         string          `json:"type"`
	DefaultValue json.RawMessage `json:"defaultValue"`
	Metadata     struct {
		SchemaName string `json:"schemaName"`
	} `json:"metadata"`
}

type operation struct {
	Name     string
	Type     string              `json:"type"`
	Kind     string              `json:"kind"`
	RunAfter map[string][]string `json:"runAfter"`
	Metadata struct {
		OperationMetadataID string `json:"operationMetadataId"`
	} `json:"metadata"`
	Inputs struct {
		Host struct {
			APIID                 string `json:"apiId"`
			ConnectionName        string `json:"connectionName"`
			OperationID           string `json:"operationId"`
			WorkflowReferenceName string `json:"workflowReferenceName"`
		} `json:"host"`
		Authentication struct {
			Type     string `json:"type"`
			Password string `json:"password"`
		} `json:"-"`
		RawAuth json.RawMessage   `json:"authentication"`
		Headers map[string]string `json:"headers"`
	} `json:"inputs"`
	Actions map[string]json.RawMessage `json:"actions"`
	Else    struct {
		Actions map[string]json.RawMessage `json:"actions"`
	} `json:"else"`
	Cases map[string]struct {
		Actions map[string]json.RawMessage `json:"actions"`
	} `json:"cases"`
	Default struct {
		Actions map[string]json.RawMessage `json:"actions"`
	} `json:"default"`
	// Siblings are the names of the actions in the same actions map.
	Siblings []string
}

func parseFlow(t *testing.T, f emulator.Flow) parsedFlow {
	t.Helper()
	var p parsedFlow
	if err := json.Unmarshal(f.Definition, &p.def); err != nil {
		t.Fatalf("flow %s (%s): definition: %v", f.Name, f.DisplayName, err)
	}
	for name, raw := range p.def.Triggers {
		op := decodeOperation(t, name, raw, nil)
		p.trig = append(p.trig, op)
		p.ops = append(p.ops, op)
	}
	var walk func(actions map[string]json.RawMessage)
	walk = func(actions map[string]json.RawMessage) {
		var names []string
		for name := range actions {
			names = append(names, name)
		}
		for name, raw := range actions {
			op := decodeOperation(t, name, raw, names)
			p.ops = append(p.ops, op)
			walk(op.Actions)
			walk(op.Else.Actions)
			walk(op.Default.Actions)
			for _, c := range op.Cases {
				walk(c.Actions)
			}
		}
	}
	walk(p.def.Actions)
	_, refs, _, err := convertReferences(f.ConnectionReferences)
	if err != nil {
		t.Fatalf("flow %s: references: %v", f.Name, err)
	}
	p.refs = refs
	return p
}

func decodeOperation(t *testing.T, name string, raw json.RawMessage, siblings []string) operation {
	t.Helper()
	var op operation
	if err := json.Unmarshal(raw, &op); err != nil {
		t.Fatalf("operation %s: %v", name, err)
	}
	op.Name, op.Siblings = name, siblings
	if len(op.Inputs.RawAuth) > 0 && op.Inputs.RawAuth[0] == '{' {
		if err := json.Unmarshal(op.Inputs.RawAuth, &op.Inputs.Authentication); err != nil {
			t.Fatalf("operation %s: authentication: %v", name, err)
		}
	}
	return op
}

func (p parsedFlow) hasType(typ string) bool {
	return slices.ContainsFunc(p.ops, func(o operation) bool { return o.Type == typ })
}

func (p parsedFlow) hasResponseKind(kind string) bool {
	return slices.ContainsFunc(p.ops, func(o operation) bool { return o.Type == "Response" && o.Kind == kind })
}

func (p parsedFlow) hasOp(apiName api.APIName, opID string) bool {
	return slices.ContainsFunc(p.ops, func(o operation) bool {
		return strings.HasSuffix(o.Inputs.Host.APIID, "/apis/"+string(apiName)) && o.Inputs.Host.OperationID == opID
	})
}

func (p parsedFlow) triggerOp(apiName api.APIName, opID string) bool {
	return slices.ContainsFunc(p.trig, func(o operation) bool {
		return strings.HasSuffix(o.Inputs.Host.APIID, "/apis/"+string(apiName)) && o.Inputs.Host.OperationID == opID
	})
}

func (p parsedFlow) triggerType(typ, kind string) bool {
	return slices.ContainsFunc(p.trig, func(o operation) bool { return o.Type == typ && (kind == "" || o.Kind == kind) })
}

func principalType(s *emulator.Snapshot, id api.PrincipalID) string {
	for _, p := range s.Principals {
		if p.ID == id {
			return p.Type
		}
	}
	return ""
}

// checkConsistent asserts what the emulator relies on when it loads a
// snapshot: every reference resolves, names are unique, ids are GUIDs. With
// ours set it also holds definitions to the standard of flows we write
// (operationMetadataId everywhere, runAfter between siblings, one trigger),
// which flows written by others need not meet.
func checkConsistent(t *testing.T, s *emulator.Snapshot, ours bool) {
	t.Helper()
	if !isGUID(s.Tenant) {
		t.Errorf("tenant %q is not a GUID", s.Tenant)
	}
	if s.Now.IsZero() {
		t.Error("Now is zero: the seed would depend on the wall clock")
	}
	notAfterNow := func(what string, tm time.Time) {
		if tm.IsZero() || tm.After(s.Now) {
			t.Errorf("%s time %v is zero or after Now %v", what, tm, s.Now)
		}
	}

	principals := map[api.PrincipalID]emulator.Principal{}
	for _, p := range s.Principals {
		if !isGUID(string(p.ID)) {
			t.Errorf("principal %q: id is not a GUID", p.ID)
		}
		if _, dup := principals[p.ID]; dup {
			t.Errorf("principal %s listed twice", p.ID)
		}
		principals[p.ID] = p
		switch p.Type {
		case api.PrincipalUser:
			if p.UPN == "" || p.Email == "" {
				t.Errorf("user %s has no UPN or email", p.ID)
			}
		case api.PrincipalServicePrincipal:
			if !isGUID(p.AppID) {
				t.Errorf("service principal %s: appId %q is not a GUID", p.ID, p.AppID)
			}
		case api.PrincipalGroup:
		default:
			t.Errorf("principal %s: type %q", p.ID, p.Type)
		}
	}
	for _, p := range s.Principals {
		for _, m := range p.Members {
			if p.Type != api.PrincipalGroup {
				t.Errorf("principal %s has members but is a %s", p.ID, p.Type)
			}
			if _, ok := principals[m]; !ok {
				t.Errorf("group %s: member %s unknown", p.ID, m)
			}
		}
	}

	envs := map[api.EnvName]emulator.Environment{}
	defaults := 0
	for _, e := range s.Environments {
		if _, dup := envs[e.Name]; dup {
			t.Errorf("environment %s listed twice", e.Name)
		}
		envs[e.Name] = e
		if e.IsDefault {
			defaults++
			if e.Name != api.EnvName("Default-"+s.Tenant) {
				t.Errorf("default environment is named %s, want Default-<tenant>", e.Name)
			}
		} else if !isGUID(string(e.Name)) {
			t.Errorf("environment %s: name is not a GUID", e.Name)
		}
		notAfterNow("environment "+string(e.Name), e.CreatedTime)
	}
	if defaults != 1 {
		t.Errorf("%d default environments, want 1", defaults)
	}

	visible := func(name api.APIName, env api.EnvName) bool {
		return slices.ContainsFunc(s.Connectors, func(c emulator.Connector) bool {
			return c.Name == name && (c.Environment == "" || c.Environment == env)
		})
	}
	seenConnector := map[[2]string]bool{}
	for _, c := range s.Connectors {
		k := [2]string{string(c.Name), string(c.Environment)}
		if seenConnector[k] {
			t.Errorf("connector %s listed twice for environment %q", c.Name, c.Environment)
		}
		seenConnector[k] = true
		if c.Environment != "" {
			if _, ok := envs[c.Environment]; !ok {
				t.Errorf("connector %s: environment %s unknown", c.Name, c.Environment)
			}
		}
		if c.Custom != isCustomAPI(c.Name) {
			t.Errorf("connector %s: Custom = %v, but isCustomAPI says %v", c.Name, c.Custom, isCustomAPI(c.Name))
		}
	}

	type connKey struct {
		env  api.EnvName
		name api.ConnectionName
	}
	conns := map[connKey]emulator.Connection{}
	for _, c := range s.Connections {
		k := connKey{c.Environment, c.Name}
		if _, dup := conns[k]; dup {
			t.Errorf("connection %s listed twice in %s", c.Name, c.Environment)
		}
		conns[k] = c
		if _, ok := envs[c.Environment]; !ok {
			t.Errorf("connection %s: environment %s unknown", c.Name, c.Environment)
		}
		if !visible(c.API, c.Environment) {
			t.Errorf("connection %s: connector %s not available in %s", c.Name, c.API, c.Environment)
		}
		if _, ok := principals[c.CreatedBy]; !ok {
			t.Errorf("connection %s: creator %s unknown", c.Name, c.CreatedBy)
		}
		if !slices.Contains([]string{"Connected", "Error", "Unauthenticated"}, c.Status) {
			t.Errorf("connection %s: status %q", c.Name, c.Status)
		}
		notAfterNow("connection "+string(c.Name), c.CreatedTime)
	}

	type flowKey struct {
		env  api.EnvName
		name api.FlowName
	}
	flows := map[flowKey]emulator.Flow{}
	for _, f := range s.Flows {
		k := flowKey{f.Environment, f.Name}
		if _, dup := flows[k]; dup {
			t.Errorf("flow %s listed twice in %s", f.Name, f.Environment)
		}
		flows[k] = f
	}
	for _, f := range s.Flows {
		where := "flow " + string(f.Name) + " (" + f.DisplayName + ")"
		if !isGUID(string(f.Name)) || string(f.Name) != strings.ToLower(string(f.Name)) {
			t.Errorf("%s: name is not a lower-case GUID", where)
		}
		env, ok := envs[f.Environment]
		if !ok {
			t.Errorf("%s: environment %s unknown", where, f.Environment)
		}
		if p, ok := principals[f.Creator]; !ok || p.Type != api.PrincipalUser {
			t.Errorf("%s: creator %s is not a known user", where, f.Creator)
		}
		if !slices.Contains([]string{api.StateStarted, api.StateStopped, api.StateSuspended}, f.State) {
			t.Errorf("%s: state %q", where, f.State)
		}
		notAfterNow(where+" created", f.CreatedTime)
		notAfterNow(where+" modified", f.LastModifiedTime)
		if f.LastModifiedTime.Before(f.CreatedTime) {
			t.Errorf("%s: modified before created", where)
		}
		for _, perm := range f.Permissions {
			if _, ok := principals[perm.Principal]; !ok {
				t.Errorf("%s: permission for unknown principal %s", where, perm.Principal)
			}
			if !slices.Contains([]string{api.RoleCanEdit, api.RoleCanView, api.RoleCanViewWithShare}, perm.Role) {
				t.Errorf("%s: permission role %q", where, perm.Role)
			}
			if perm.Principal == f.Creator {
				t.Errorf("%s: creator also listed in permissions", where)
			}
		}
		if f.DeletedTime != nil {
			if f.WorkflowEntityID != "" {
				t.Errorf("%s: solution flows are not soft-deleted", where)
			}
			notAfterNow(where+" deleted", *f.DeletedTime)
			if s.Now.Sub(*f.DeletedTime) > 21*24*time.Hour {
				t.Errorf("%s: deleted more than 21 days before Now", where)
			}
		}
		if f.WorkflowEntityID != "" {
			if f.WorkflowEntityID != string(f.Name) {
				t.Errorf("%s: workflowEntityId %s differs from the name", where, f.WorkflowEntityID)
			}
			if !env.Dataverse {
				t.Errorf("%s: solution flow in environment %s without Dataverse", where, f.Environment)
			}
		}

		_, refInfos, _, err := convertReferences(f.ConnectionReferences)
		if err != nil {
			t.Errorf("%s: references: %v", where, err)
		}
		for _, r := range refInfos {
			c, ok := conns[connKey{f.Environment, r.ConnectionName}]
			if !ok {
				t.Errorf("%s: reference %s names connection %q, which is not in %s", where, r.Key, r.ConnectionName, f.Environment)
			} else if c.API != r.API {
				t.Errorf("%s: reference %s is for %s but connection %s is for %s", where, r.Key, r.API, c.Name, c.API)
			}
		}
		if !json.Valid(f.Definition) || !json.Valid(f.ConnectionReferences) {
			t.Errorf("%s: definition or references are not valid JSON", where)
		}
		if !ours {
			continue
		}
		p := parseFlow(t, f)
		if p.def.Schema == "" || p.def.ContentVersion != "1.0.0.0" {
			t.Errorf("%s: $schema %q contentVersion %q", where, p.def.Schema, p.def.ContentVersion)
		}
		if p.def.Parameters["$connections"].Type != "Object" || p.def.Parameters["$authentication"].Type != "SecureObject" {
			t.Errorf("%s: $connections/$authentication not declared", where)
		}
		if len(p.trig) != 1 {
			t.Errorf("%s: %d triggers, want 1", where, len(p.trig))
		}
		refs := map[string]RefInfo{}
		for _, r := range p.refs {
			refs[r.Key] = r
			if f.WorkflowEntityID != "" && r.LogicalName == "" {
				t.Errorf("%s: solution flow reference %s has no connectionReferenceLogicalName", where, r.Key)
			}
		}
		for _, op := range p.ops {
			if !isGUID(op.Metadata.OperationMetadataID) {
				t.Errorf("%s: %s has no operationMetadataId GUID", where, op.Name)
			}
			for dep := range op.RunAfter {
				if !slices.Contains(op.Siblings, dep) {
					t.Errorf("%s: %s runs after %s, which is not a sibling", where, op.Name, dep)
				}
			}
			if h := op.Inputs.Host; h.ConnectionName != "" {
				r, ok := refs[h.ConnectionName]
				if !ok {
					t.Errorf("%s: %s uses reference %s, which the flow does not declare", where, op.Name, h.ConnectionName)
				} else if h.APIID != apiIDPrefix+string(r.API) {
					t.Errorf("%s: %s calls %s through reference %s for %s", where, op.Name, h.APIID, r.Key, r.API)
				}
			}
			if ref := op.Inputs.Host.WorkflowReferenceName; ref != "" {
				if _, ok := flows[flowKey{f.Environment, api.FlowName(ref)}]; !ok {
					t.Errorf("%s: %s calls child flow %s, not in %s", where, op.Name, ref, f.Environment)
				}
			}
		}
	}

	for _, r := range s.Runs {
		f, ok := flows[flowKey{r.Environment, r.Flow}]
		if !ok {
			t.Errorf("run %s: flow %s not in %s", r.Name, r.Flow, r.Environment)
			continue
		}
		if _, ok := parseFlow(t, f).def.Triggers[r.Trigger]; !ok {
			t.Errorf("run %s: flow %s has no trigger %q", r.Name, r.Flow, r.Trigger)
		}
		notAfterNow("run "+r.Name, r.StartTime)
		if (r.EndTime == nil) != (r.Status == "Running") {
			t.Errorf("run %s: status %s with end time %v", r.Name, r.Status, r.EndTime)
		}
	}
}
