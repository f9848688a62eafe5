package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/flowsync/flowsync/internal/api"
)

// wdlDoc is the part of a Workflow Definition Language document the
// emulator reads: parameter declarations, triggers and (nested) actions.
type wdlDoc struct {
	Description string                     `json:"description"`
	Parameters  map[string]json.RawMessage `json:"parameters"`
	Triggers    map[string]wdlAction       `json:"triggers"`
	Actions     map[string]wdlAction       `json:"actions"`
}

type wdlBranch struct {
	Actions map[string]wdlAction `json:"actions"`
}

type wdlAction struct {
	Type    string               `json:"type"`
	Kind    string               `json:"kind"`
	Inputs  json.RawMessage      `json:"inputs"`
	Actions map[string]wdlAction `json:"actions"`
	Else    *wdlBranch           `json:"else"`
	Cases   map[string]wdlBranch `json:"cases"`
	Default *wdlBranch           `json:"default"`
}

// hostInputs is inputs.host of connector operations: OpenApiConnection*
// name a connection reference key directly, legacy ApiConnection* through a
// $connections expression.
type hostInputs struct {
	Host struct {
		APIID                   string `json:"apiId"`
		ConnectionName          string `json:"connectionName"`
		OperationID             string `json:"operationId"`
		ConnectionReferenceName string `json:"connectionReferenceName"`
		Connection              struct {
			Name string `json:"name"`
		} `json:"connection"`
	} `json:"host"`
}

// defInfo is what the emulator derives from a stored definition.
type defInfo struct {
	summary  json.RawMessage // definitionSummary
	triggers []trigInfo      // sorted by name
	uses     []hostUse
}

type trigInfo struct{ name, typ, kind string }

// hostUse is one connector operation and the reference key it names.
type hostUse struct {
	action  string
	legacy  bool   // ApiConnection*: key comes from a $connections expression
	key     string // connectionName, or the $connections key for legacy
	refName string // host.connectionReferenceName (solution flows)
}

type summaryOp struct {
	Type               string      `json:"type"`
	Kind               string      `json:"kind,omitempty"`
	SwaggerOperationID string      `json:"swaggerOperationId,omitempty"`
	API                *summaryAPI `json:"api,omitempty"`
}

type summaryAPI struct {
	Name string `json:"name"`
	ID   string `json:"id"`
}

type definitionSummary struct {
	Triggers    []summaryOp `json:"triggers"`
	Actions     []summaryOp `json:"actions"`
	Description string      `json:"description,omitempty"`
}

// connectionsKeyRE finds the reference key in a legacy host.connection.name
// such as @parameters('$connections')['shared_x']['connectionId'] or
// …['$connections']['shared_x']['connectionId'].
var connectionsKeyRE = regexp.MustCompile(`\$connections'[)\]]\['([^']+)'\]`)

func isOpenAPIConn(typ string) bool { return strings.HasPrefix(lower(typ), "openapiconnection") }
func isLegacyConn(typ string) bool  { return strings.HasPrefix(lower(typ), "apiconnection") }
func isRequest(typ string) bool     { return strings.EqualFold(typ, "Request") }

// apiNameFromID returns the last segment of /providers/Microsoft.PowerApps/apis/<name>.
func apiNameFromID(id string) string {
	if i := strings.LastIndexByte(id, '/'); i >= 0 {
		return id[i+1:]
	}
	return id
}

// analyze derives a defInfo. A definition it cannot read yields an empty
// summary (seeds may hold anything the service once stored); it fails only
// when the summary cannot be encoded.
func analyze(def json.RawMessage) (*defInfo, error) {
	var doc wdlDoc
	_ = json.Unmarshal(def, &doc) // unreadable: no triggers or actions to summarize
	return analyzeDoc(&doc)
}

func analyzeDoc(doc *wdlDoc) (*defInfo, error) {
	info := &defInfo{}
	sum := definitionSummary{Triggers: []summaryOp{}, Actions: []summaryOp{}, Description: doc.Description}
	for _, name := range sortedKeys(doc.Triggers) {
		t := doc.Triggers[name]
		info.triggers = append(info.triggers, trigInfo{name: name, typ: t.Type, kind: t.Kind})
		sum.Triggers = append(sum.Triggers, summarize(t))
		info.noteUse(name, t)
	}
	var walk func(map[string]wdlAction)
	walk = func(actions map[string]wdlAction) {
		for _, name := range sortedKeys(actions) {
			a := actions[name]
			sum.Actions = append(sum.Actions, summarize(a))
			info.noteUse(name, a)
			walk(a.Actions)
			if a.Else != nil {
				walk(a.Else.Actions)
			}
			for _, c := range sortedKeys(a.Cases) {
				walk(a.Cases[c].Actions)
			}
			if a.Default != nil {
				walk(a.Default.Actions)
			}
		}
	}
	walk(doc.Actions)
	var b bytes.Buffer
	if err := encodeJSON(&b, sum); err != nil {
		return nil, fmt.Errorf("encode definition summary: %w", err)
	}
	info.summary = b.Bytes()
	return info, nil
}

func summarize(a wdlAction) summaryOp {
	op := summaryOp{Type: a.Type, Kind: a.Kind}
	if isOpenAPIConn(a.Type) {
		var in hostInputs
		if json.Unmarshal(a.Inputs, &in) == nil {
			op.SwaggerOperationID = in.Host.OperationID
			if in.Host.APIID != "" {
				op.API = &summaryAPI{Name: apiNameFromID(in.Host.APIID), ID: in.Host.APIID}
			}
		}
	}
	return op
}

func (info *defInfo) noteUse(name string, a wdlAction) {
	switch {
	case isOpenAPIConn(a.Type):
		var in hostInputs
		_ = json.Unmarshal(a.Inputs, &in)
		info.uses = append(info.uses, hostUse{action: name, key: in.Host.ConnectionName, refName: in.Host.ConnectionReferenceName})
	case isLegacyConn(a.Type):
		var in hostInputs
		_ = json.Unmarshal(a.Inputs, &in)
		if m := connectionsKeyRE.FindStringSubmatch(in.Host.Connection.Name); m != nil {
			info.uses = append(info.uses, hostUse{action: name, legacy: true, key: m[1]})
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// requestTrigger returns the first Request trigger's name, "" if none.
func (info *defInfo) requestTrigger() string {
	for _, t := range info.triggers {
		if isRequest(t.typ) {
			return t.name
		}
	}
	return ""
}

func (info *defInfo) trigger(name string) (trigInfo, bool) {
	for _, t := range info.triggers {
		if strings.EqualFold(t.name, name) {
			return t, true
		}
	}
	return trigInfo{}, false
}

// checkDefinition validates a definition sent to Create or Update Flow.
func checkDefinition(def json.RawMessage) (*wdlDoc, *response) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(def, &top); err != nil {
		return nil, errResp(http.StatusBadRequest, api.CodeInvalidTemplate, "The workflow definition is not a JSON object.")
	}
	for _, member := range []string{"triggers", "actions"} {
		raw := bytes.TrimSpace(top[member])
		if len(raw) == 0 || raw[0] != '{' {
			return nil, errResp(http.StatusBadRequest, api.CodeInvalidTemplate,
				"The template validation failed: the workflow definition must have a '%s' object.", member)
		}
	}
	var doc wdlDoc
	if err := json.Unmarshal(def, &doc); err != nil {
		return nil, errResp(http.StatusBadRequest, api.CodeInvalidTemplate,
			"The template validation failed: the triggers or actions are not well formed.")
	}
	if len(doc.Triggers) == 0 {
		// Uncertain: the service's exact answer to a trigger-less flow was not captured.
		return nil, errResp(http.StatusBadRequest, api.CodeInvalidTemplate,
			"The template validation failed: the workflow must have a trigger.")
	}
	for _, p := range []string{"$connections", "$authentication"} {
		if _, ok := doc.Parameters[p]; !ok {
			// Uncertain: NOTES §5.3 reports 500 NullReferenceException as well as
			// InvalidTemplate for undeclared $connections/$authentication; the
			// emulator answers the useful one, 400 InvalidTemplate.
			return nil, errResp(http.StatusBadRequest, api.CodeInvalidTemplate,
				"The template validation failed: the parameter '%s' is not declared in the workflow definition.", p)
		}
	}
	return &doc, nil
}

// refInfo is one connection reference as the emulator checks it.
type refInfo struct {
	connectionName string
	logicalName    string
	api            string // lower-cased api name, "" when the reference does not say
}

type rawRef struct {
	ConnectionName string `json:"connectionName"`
	ID             string `json:"id"`
	APIName        string `json:"apiName"`
	LogicalName    string `json:"connectionReferenceLogicalName"`
	Connection     *struct {
		Name        string `json:"name"`
		LogicalName string `json:"connectionReferenceLogicalName"`
	} `json:"connection"`
	API *struct {
		Name string `json:"name"`
	} `json:"api"`
}

// parseRefs reads a connectionReferences dictionary; the string is a
// problem description, "" when fine.
func parseRefs(raw json.RawMessage) (map[string]refInfo, string) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, "connectionReferences must be a dictionary keyed by reference name"
	}
	out := make(map[string]refInfo, len(m))
	for k, v := range m {
		var r rawRef
		if err := json.Unmarshal(v, &r); err != nil {
			return nil, fmt.Sprintf("connection reference '%s' is not well formed", k)
		}
		ri := refInfo{connectionName: r.ConnectionName, logicalName: r.LogicalName}
		if r.Connection != nil {
			if ri.connectionName == "" {
				ri.connectionName = r.Connection.Name
			}
			if ri.logicalName == "" {
				ri.logicalName = r.Connection.LogicalName
			}
		}
		switch {
		case r.ID != "":
			ri.api = lower(apiNameFromID(r.ID))
		case r.API != nil && r.API.Name != "":
			ri.api = lower(r.API.Name)
		case r.APIName != "":
			ri.api = "shared_" + lower(r.APIName)
		}
		out[k] = ri
	}
	return out, ""
}

// refKey finds key among the reference keys, case-insensitively.
func refKey(refs map[string]refInfo, key string) bool {
	if _, ok := refs[key]; ok {
		return true
	}
	for k := range refs {
		if strings.EqualFold(k, key) {
			return true
		}
	}
	return false
}

// checkUses insists that every connector operation names a reference the
// flow carries: the save error the service reports otherwise.
func checkUses(info *defInfo, refs map[string]refInfo) *response {
	for _, u := range info.uses {
		switch {
		case u.key == "" && u.refName == "":
			return saveFailed("WorkflowRunActionInputsMissingProperty",
				fmt.Sprintf("The 'inputs.host.connectionName' property of action '%s' is missing.", u.action))
		case u.key != "" && !refKey(refs, u.key):
			prop := "inputs.host.connectionName"
			if u.legacy {
				prop = "inputs.host.connection.name"
			}
			return saveFailed("WorkflowRunActionInputsInvalidProperty",
				fmt.Sprintf("The '%s' property value '%s' of action '%s' does not name a connection reference of the flow.", prop, u.key, u.action))
		case u.key == "" && !refKey(refs, u.refName):
			return saveFailed("WorkflowRunActionInputsInvalidProperty",
				fmt.Sprintf("The 'inputs.host.connectionReferenceName' property value '%s' of action '%s' does not name a connection reference of the flow.", u.refName, u.action))
		}
	}
	return nil
}

// checkRefConnections is decision 4 on save: every reference names a
// connection that exists in the environment (solution references, which
// carry only a logical name, are resolved by Dataverse instead).
func checkRefConnections(e *envRec, refs map[string]refInfo) *response {
	for _, k := range sortedKeys(refs) {
		r := refs[k]
		switch {
		case r.connectionName != "":
			c := e.conns[lower(r.connectionName)]
			if c == nil {
				return errResp(http.StatusBadRequest, api.CodeConnectionNotFound,
					"The connection '%s' of connection reference '%s' was not found in environment '%s'.", r.connectionName, k, e.Name)
			}
			if r.api != "" && lower(string(c.API)) != r.api {
				return errResp(http.StatusBadRequest, api.CodeConnectionNotFound,
					"The connection '%s' of connection reference '%s' is a connection of api '%s', not '%s'.", r.connectionName, k, c.API, r.api)
			}
		case r.logicalName != "":
		default:
			return errResp(http.StatusBadRequest, api.CodeConnectionNotFound,
				"The connection reference '%s' names no connection.", k)
		}
	}
	return nil
}

// checkActivation is Turn On's check: every referenced connection exists and
// is Connected.
func checkActivation(e *envRec, refs map[string]refInfo, callerID string) *response {
	for _, k := range sortedKeys(refs) {
		r := refs[k]
		if r.connectionName == "" {
			continue
		}
		c := e.conns[lower(r.connectionName)]
		if c == nil {
			return errResp(http.StatusBadRequest, api.CodeConnectionNotFound,
				"The connection '%s' of connection reference '%s' was not found in environment '%s'.", r.connectionName, k, e.Name)
		}
		if c.Status != statusConnected {
			return errResp(http.StatusBadRequest, api.CodeConnectionAuthorizationFailed,
				"Connection '%s' to '%s' cannot be used to activate this flow, because it is not connected (status '%s'). The caller with object id '%s' must fix the connection first.",
				c.Name, c.API, c.Status, callerID)
		}
	}
	return nil
}

// Connection statuses as the snapshot stores them.
const (
	statusConnected       = "Connected"
	statusError           = "Error"
	statusUnauthenticated = "Unauthenticated"
)

// grantableRole normalises a role name modifyPermissions may grant.
func grantableRole(role string) (string, bool) {
	for _, r := range []string{api.RoleCanEdit, api.RoleCanView, api.RoleCanViewWithShare} {
		if strings.EqualFold(role, r) {
			return r, true
		}
	}
	return "", false
}
