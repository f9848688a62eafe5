package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/flowsync/flowsync/internal/api"
)

const logicFlowsAPIID = "/providers/Microsoft.PowerApps/apis/shared_logicflows"

func flowID(e *envRec, f *flowRec) string {
	return "/providers/Microsoft.ProcessSimple/environments/" + string(e.Name) + "/flows/" + string(f.Name)
}

func flowNotFound(name string) *response {
	return errResp(http.StatusNotFound, api.CodeFlowNotFound, "Could not find flow '%s'.", name)
}

// Access (CONTRACT decisions 1 and 3). A permission applies to a caller when
// it names the caller, a group the caller is a member of, or the tenant.
func (st *state) appliesTo(pid api.PrincipalID, p *principalRec) bool {
	k := lower(string(pid))
	if k == lower(string(p.ID)) || k == lower(st.tenant) {
		return true
	}
	for _, g := range p.groups {
		if g == k {
			return true
		}
	}
	return false
}

// canEdit: the creator (Owner) and co-owners (CanEdit) see and change a
// flow in user scope; run-only users (CanView*) do not.
func (st *state) canEdit(f *flowRec, p *principalRec) bool {
	if strings.EqualFold(string(f.Creator), string(p.ID)) {
		return true
	}
	for _, perm := range f.Permissions {
		if perm.Role == api.RoleCanEdit && st.appliesTo(perm.Principal, p) {
			return true
		}
	}
	return false
}

// shared: a flow with co-owners is a "team" flow.
func (f *flowRec) shared() bool {
	for _, perm := range f.Permissions {
		if perm.Role == api.RoleCanEdit {
			return true
		}
	}
	return false
}

func (f *flowRec) isSolution() bool { return f.WorkflowEntityID != "" }

// findFlow resolves {env}/{flow} for an operation on a live flow: unknown
// environment 403, and 404 FlowNotFound for a flow that is absent,
// soft-deleted, or (in user scope) not editable by the caller.
func findFlow(st *state, c *call) (*envRec, *flowRec, *response) {
	e, resp := envOf(st, c.p.env)
	if resp != nil {
		return nil, nil, resp
	}
	f := e.flows[lower(c.p.flow)]
	if f == nil || f.DeletedTime != nil || (!c.admin && !st.canEdit(f, c.caller)) {
		return e, nil, flowNotFound(c.p.flow)
	}
	return e, f, nil
}

// Rendering.

type flowEnvJSON struct {
	Name string `json:"name"`
	Type string `json:"type"`
	ID   string `json:"id"`
}

type creatorJSON struct {
	TenantID string `json:"tenantId"`
	ObjectID string `json:"objectId"`
	UserID   string `json:"userId"`
	UserType string `json:"userType"`
}

// flowHead is a flow's properties except definition and references, which
// are spliced in raw.
type flowHead struct {
	APIID                string          `json:"apiId"`
	DisplayName          string          `json:"displayName"`
	UserType             string          `json:"userType,omitempty"`
	State                string          `json:"state"`
	CreatedTime          string          `json:"createdTime"`
	LastModifiedTime     string          `json:"lastModifiedTime"`
	FlowSuspensionReason json.RawMessage `json:"flowSuspensionReason"`
	TemplateName         string          `json:"templateName"`
	Environment          flowEnvJSON     `json:"environment"`
	DefinitionSummary    json.RawMessage `json:"definitionSummary"`
	Creator              creatorJSON     `json:"creator"`
	ProvisioningMethod   string          `json:"provisioningMethod"`
	IsManaged            bool            `json:"isManaged"`
	WorkflowEntityID     string          `json:"workflowEntityId,omitempty"`
	FlowTriggerURI       string          `json:"flowTriggerUri,omitempty"`
}

// knownFlowProps are the members the emulator writes itself; Extra members
// of the same name are ignored (flowSuspensionReason excepted, see below).
var knownFlowProps = map[string]bool{
	"apiId": true, "displayName": true, "userType": true, "state": true, "createdTime": true,
	"lastModifiedTime": true, "flowSuspensionReason": true, "templateName": true, "environment": true,
	"definitionSummary": true, "creator": true, "provisioningMethod": true, "isManaged": true,
	"workflowEntityId": true, "flowTriggerUri": true, "definition": true, "connectionReferences": true,
}

type renderOpts struct {
	definition bool   // include definition and connectionReferences
	expandAPI  bool   // add apiDefinition to each reference
	userType   string // "" to omit
	adminList  bool   // admin V2 list item: empty summary, Deleted state
}

var (
	noneReason   = json.RawMessage(`"None"`)
	emptySummary = json.RawMessage(`{"triggers":[],"actions":[]}`)
)

// flowTriggerURI is the APIM-style trigger URL of a Request-trigger flow.
// It carries no sig (the service authenticates it through APIM).
func flowTriggerURI(e *envRec, f *flowRec) string {
	t := f.info.requestTrigger()
	if t == "" {
		return ""
	}
	return "https://" + lower(e.Location) + "-002.azure-apim.net:443/apim/logicflows/" +
		hexFrom("workflow:"+e.key+"/"+f.key, 16) + "-" + hexFrom("suffix:"+e.key+"/"+f.key, 8) +
		"/triggers/" + t + "/run?api-version=2016-06-01"
}

func (st *state) writeFlow(b *bytes.Buffer, e *envRec, f *flowRec, o renderOpts) error {
	b.WriteString(`{"name":`)
	appendString(b, string(f.Name))
	b.WriteString(`,"id":`)
	appendString(b, flowID(e, f))
	b.WriteString(`,"type":"Microsoft.ProcessSimple/environments/flows","properties":`)
	h := flowHead{
		APIID:                logicFlowsAPIID,
		DisplayName:          f.DisplayName,
		UserType:             o.userType,
		State:                f.State,
		CreatedTime:          wireTime(f.CreatedTime),
		LastModifiedTime:     wireTime(f.LastModifiedTime),
		FlowSuspensionReason: noneReason,
		TemplateName:         f.TemplateName,
		Environment:          flowEnvJSON{Name: string(e.Name), Type: "Microsoft.ProcessSimple/environments", ID: "/providers/Microsoft.ProcessSimple/environments/" + string(e.Name)},
		DefinitionSummary:    f.info.summary,
		Creator:              creatorJSON{TenantID: st.tenant, ObjectID: string(f.Creator), UserID: string(f.Creator), UserType: "ActiveDirectory"},
		ProvisioningMethod:   "FromDefinition",
		IsManaged:            f.IsManaged,
		WorkflowEntityID:     f.WorkflowEntityID,
	}
	// A suspended flow's reason is seed data; the emulator has no reasons of its own.
	if r, ok := f.Extra["flowSuspensionReason"]; ok {
		h.FlowSuspensionReason = r
	}
	if o.adminList {
		h.DefinitionSummary = emptySummary
		if f.DeletedTime != nil {
			h.State = api.StateDeleted
		}
	}
	if o.definition {
		h.FlowTriggerURI = flowTriggerURI(e, f)
	}
	if err := encodeJSON(b, h); err != nil {
		return fmt.Errorf("encode flow %s: %w", f.Name, err)
	}
	b.Truncate(b.Len() - 1) // reopen the properties object
	if o.definition {
		b.WriteString(`,"definition":`)
		b.Write(f.Definition)
		b.WriteString(`,"connectionReferences":`)
		if o.expandAPI {
			if err := st.writeExpandedRefs(b, e, f); err != nil {
				return fmt.Errorf("encode flow %s: %w", f.Name, err)
			}
		} else {
			b.Write(f.ConnectionReferences)
		}
	}
	for _, k := range sortedKeys(f.Extra) {
		if knownFlowProps[k] {
			continue
		}
		b.WriteByte(',')
		appendString(b, k)
		b.WriteByte(':')
		b.Write(f.Extra[k])
	}
	b.WriteString("}}")
	return nil
}

// writeExpandedRefs adds apiDefinition (the connector) to each reference,
// as $expand=properties.connectionreferences.apidefinition does.
func (st *state) writeExpandedRefs(b *bytes.Buffer, e *envRec, f *flowRec) error {
	var m map[string]json.RawMessage
	if json.Unmarshal(f.ConnectionReferences, &m) != nil {
		b.Write(f.ConnectionReferences)
		return nil
	}
	b.WriteByte('{')
	for i, k := range sortedKeys(m) {
		if i > 0 {
			b.WriteByte(',')
		}
		appendString(b, k)
		b.WriteByte(':')
		raw := bytes.TrimSpace(m[k])
		conn := st.connectorIn(f.refs[k].api, e)
		if conn == nil || len(raw) < 2 || raw[0] != '{' {
			b.Write(raw)
			continue
		}
		b.Write(raw[:len(raw)-1])
		if len(bytes.TrimSpace(raw[1:len(raw)-1])) > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"apiDefinition":`)
		if err := encodeJSON(b, st.renderConnector(conn, e)); err != nil {
			return fmt.Errorf("connection reference %s: connector %s: %w", k, conn.Name, err)
		}
		b.WriteByte('}')
	}
	b.WriteByte('}')
	return nil
}

func (st *state) flowResp(status int, e *envRec, f *flowRec, o renderOpts) *response {
	b := getBuf()
	if err := st.writeFlow(b, e, f, o); err != nil {
		putBuf(b)
		return errResp(http.StatusInternalServerError, api.CodeInternalServerError, "%v", err)
	}
	return &response{status: status, buf: b}
}

func (st *state) flowList(c *call, e *envRec, keys []string, o renderOpts, p page, pick func(*flowRec) bool) *response {
	items, next := collect(c, p, keys, func(k string) (*flowRec, bool) {
		f := e.flows[k]
		return f, pick(f)
	})
	b := getBuf()
	b.WriteString(`{"value":[`)
	for i, f := range items {
		if i > 0 {
			b.WriteByte(',')
		}
		if err := st.writeFlow(b, e, f, o); err != nil {
			putBuf(b)
			return errResp(http.StatusInternalServerError, api.CodeInternalServerError, "%v", err)
		}
	}
	b.WriteByte(']')
	if next != "" {
		b.WriteString(`,"nextLink":`)
		appendString(b, next)
	}
	b.WriteByte('}')
	return &response{status: http.StatusOK, buf: b}
}

// Listing.

var (
	searchRE    = regexp.MustCompile(`(?i)^\s*search\(\s*'([^']*)'\s*\)\s*$`)
	searchAndRE = regexp.MustCompile(`(?i)\s+and\s+`)
)

// sharing is what $filter=search(…) asks for.
type sharing struct{ personal, team, filtered bool }

func readSearch(q url.Values) (sharing, *response) {
	f, ok := q["$filter"]
	if !ok {
		return sharing{}, nil
	}
	m := searchRE.FindStringSubmatch(f[0])
	bad := errResp(http.StatusBadRequest, api.CodeInvalidFilter,
		"The $filter '%s' is not supported: use search('personal'), search('team') or search('team AND personal').", f[0])
	if m == nil {
		return sharing{}, bad
	}
	s := sharing{filtered: true}
	for _, term := range searchAndRE.Split(strings.TrimSpace(m[1]), -1) {
		switch lower(term) {
		case "personal":
			s.personal = true
		case "team":
			s.team = true
		default:
			return sharing{}, bad
		}
	}
	return s, nil
}

// includes reads a comma-separated include= parameter.
func includes(q url.Values, what string) bool {
	for _, v := range q["include"] {
		for _, part := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(part), what) {
				return true
			}
		}
	}
	return false
}

// listMyFlows: without a filter, the flows the caller created; personal,
// those of them without co-owners; team, flows with co-owners the caller
// can edit. Solution flows only with include=includeSolutionCloudFlows;
// soft-deleted flows never.
func (s *Server) listMyFlows(c *call) *response {
	p, resp := s.readPage(c, s.opts.PageSize)
	if resp != nil {
		return resp
	}
	sh, resp := readSearch(c.q)
	if resp != nil {
		return resp
	}
	withSolution := includes(c.q, "includeSolutionCloudFlows")
	return s.read(func(st *state) *response {
		e, resp := envOf(st, c.p.env)
		if resp != nil {
			return resp
		}
		return st.flowList(c, e, e.flowKeys, renderOpts{}, p, func(f *flowRec) bool {
			if f.DeletedTime != nil || (f.isSolution() && !withSolution) {
				return false
			}
			mine := strings.EqualFold(string(f.Creator), string(c.caller.ID))
			if !sh.filtered {
				return mine
			}
			shared := f.shared()
			return (sh.personal && mine && !shared) || (sh.team && shared && st.canEdit(f, c.caller))
		})
	})
}

// listFlowsAsAdmin is the V2 admin list: every flow, solution flows
// included, soft-deleted ones only with include=softDeletedFlows.
func (s *Server) listFlowsAsAdmin(c *call) *response {
	p, resp := s.readPage(c, s.opts.PageSize)
	if resp != nil {
		return resp
	}
	if f, ok := c.q["$filter"]; ok {
		return errResp(http.StatusBadRequest, api.CodeInvalidFilter, "The $filter '%s' is not supported on this list.", f[0])
	}
	withDeleted := includes(c.q, "softDeletedFlows")
	return s.read(func(st *state) *response {
		e, resp := envOf(st, c.p.env)
		if resp != nil {
			return resp
		}
		return st.flowList(c, e, e.flowKeys, renderOpts{adminList: true}, p, func(f *flowRec) bool {
			if f.DeletedTime != nil {
				return withDeleted && !f.expired(c.now)
			}
			return true
		})
	})
}

// Get.

func expandsAPIDefinition(q url.Values) bool {
	for _, v := range q["$expand"] {
		for _, part := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(part), "properties.connectionreferences.apidefinition") {
				return true
			}
		}
	}
	return false
}

func (s *Server) getFlow(c *call) *response {
	o := renderOpts{definition: true, expandAPI: expandsAPIDefinition(c.q)}
	if c.admin {
		// Uncertain: the wire form of the connector's includeFlowDefinition
		// (NOTES §5.2); the admin GET omits the definition unless asked.
		switch v := lower(c.q.Get("includeFlowDefinition")); v {
		case "true":
		case "", "false":
			o.definition = false
		default:
			return errResp(http.StatusBadRequest, "InvalidQueryParameterValue",
				"The value '%s' of query parameter 'includeFlowDefinition' is not valid: want true or false.", c.q.Get("includeFlowDefinition"))
		}
	} else {
		o.userType = "Owner"
	}
	return s.read(func(st *state) *response {
		e, f, resp := findFlow(st, c)
		if resp != nil {
			return resp
		}
		return st.flowResp(http.StatusOK, e, f, o)
	})
}

// Create and update.

// flowBody is a Create/Update body, read member by member so that "absent"
// and "null" can be told apart from values.
type flowBody struct {
	props       map[string]json.RawMessage
	displayName *string
	state       string
	def         json.RawMessage
	doc         *wdlDoc
	refsRaw     json.RawMessage
	refs        map[string]refInfo
}

func readFlowBody(body []byte) (*flowBody, *response) {
	invalid := func(format string, args ...any) *response {
		return errResp(http.StatusBadRequest, api.CodeInvalidRequestContent, format, args...)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, invalid("The request content is not a JSON object.")
	}
	raw := bytes.TrimSpace(top["properties"])
	if len(raw) == 0 || raw[0] != '{' {
		return nil, invalid("The request content must have a 'properties' object.")
	}
	fb := &flowBody{}
	if err := json.Unmarshal(raw, &fb.props); err != nil {
		return nil, invalid("The 'properties' of the request are not valid JSON.")
	}
	if v, ok := fb.props["displayName"]; ok {
		var name string
		if json.Unmarshal(v, &name) != nil || strings.TrimSpace(name) == "" {
			return nil, invalid("The property 'properties.displayName' must be a non-empty string.")
		}
		fb.displayName = &name
	}
	if v, ok := fb.props["state"]; ok {
		var st string
		_ = json.Unmarshal(v, &st)
		switch {
		case strings.EqualFold(st, api.StateStarted):
			fb.state = api.StateStarted
		case strings.EqualFold(st, api.StateStopped):
			fb.state = api.StateStopped
		default:
			return nil, invalid("The property 'properties.state' must be 'Started' or 'Stopped', not %s.", v)
		}
	}
	if v, ok := fb.props["definition"]; ok {
		def, err := compactObject(v, "definition")
		if err != nil {
			return nil, errResp(http.StatusBadRequest, api.CodeInvalidTemplate, "The workflow definition must be a JSON object.")
		}
		doc, resp := checkDefinition(def)
		if resp != nil {
			return nil, resp
		}
		fb.def, fb.doc = def, doc
	}
	if v, ok := fb.props["connectionReferences"]; ok && string(bytes.TrimSpace(v)) != "null" {
		refs, err := compactObject(v, "connectionReferences")
		if err != nil {
			return nil, invalid("The property 'properties.connectionReferences' must be a dictionary keyed by reference name.")
		}
		parsed, problem := parseRefs(refs)
		if problem != "" {
			return nil, invalid("The property 'properties.connectionReferences' is not valid: %s.", problem)
		}
		fb.refsRaw, fb.refs = refs, parsed
	}
	return fb, nil
}

// createFlow: the caller (a user) becomes the Owner; the server names the flow.
func (s *Server) createFlow(c *call) *response {
	fb, resp := readFlowBody(c.body)
	if resp != nil {
		return resp
	}
	if fb.displayName == nil {
		return errResp(http.StatusBadRequest, api.CodeInvalidRequestContent, "The property 'properties.displayName' is required.")
	}
	if fb.def == nil {
		return errResp(http.StatusBadRequest, api.CodeInvalidRequestContent, "The property 'properties.definition' is required.")
	}
	if fb.refs == nil {
		fb.refsRaw, fb.refs = json.RawMessage(`{}`), map[string]refInfo{}
	}
	if fb.state == "" {
		// Decision: a flow created without a state is created on, as the
		// designer does; importers that cannot vouch for connections send Stopped.
		fb.state = api.StateStarted
	}
	info, err := analyzeDoc(fb.doc)
	if err != nil {
		return errResp(http.StatusInternalServerError, api.CodeInternalServerError, "create flow: %v", err)
	}
	if resp := checkUses(info, fb.refs); resp != nil {
		return resp
	}
	return s.mutate(c, func(st *state) *response {
		e, resp := envOf(st, c.p.env)
		if resp != nil {
			return resp
		}
		if resp := checkRefConnections(e, fb.refs); resp != nil {
			return resp
		}
		if fb.state == api.StateStarted {
			if resp := checkActivation(e, fb.refs, c.callerID()); resp != nil {
				return resp
			}
		}
		name := newGUID()
		for e.flows[name] != nil {
			name = newGUID()
		}
		f := &flowRec{
			Flow: Flow{
				Environment:          e.Name,
				Name:                 api.FlowName(name),
				DisplayName:          *fb.displayName,
				State:                fb.state,
				CreatedTime:          c.now,
				LastModifiedTime:     c.now,
				Creator:              c.caller.ID,
				Definition:           fb.def,
				ConnectionReferences: fb.refsRaw,
			},
			key:  name,
			info: info,
			refs: fb.refs,
		}
		e.addFlow(f)
		return st.flowResp(http.StatusCreated, e, f, renderOpts{definition: true, userType: "Owner"})
	})
}

// updateFlow is a PATCH: the properties sent change, the rest stay. A
// definition must come with its connectionReferences (NOTES §5.4).
func (s *Server) updateFlow(c *call) *response {
	fb, resp := readFlowBody(c.body)
	if resp != nil {
		return resp
	}
	if fb.def != nil && fb.refs == nil {
		return errResp(http.StatusBadRequest, api.CodeInvalidOpenAPIFlow,
			"Flow save failed: the connectionReferences must be sent together with the definition.")
	}
	if fb.displayName == nil && fb.state == "" && fb.def == nil && fb.refs == nil {
		return errResp(http.StatusBadRequest, api.CodeInvalidRequestContent,
			"The request changes nothing: send displayName, state, definition or connectionReferences.")
	}
	var newInfo *defInfo
	if fb.doc != nil {
		var err error
		if newInfo, err = analyzeDoc(fb.doc); err != nil {
			return errResp(http.StatusInternalServerError, api.CodeInternalServerError, "update flow %s: %v", c.p.flow, err)
		}
	}
	return s.mutate(c, func(st *state) *response {
		e, f, resp := findFlow(st, c)
		if resp != nil {
			return resp
		}
		info, refs := f.info, f.refs
		if newInfo != nil {
			info = newInfo
		}
		if fb.refs != nil {
			refs = fb.refs
			if resp := checkRefConnections(e, refs); resp != nil {
				return resp
			}
		}
		if resp := checkUses(info, refs); resp != nil {
			return resp
		}
		state := f.State
		if fb.state != "" {
			state = fb.state
		}
		if state == api.StateStarted && (fb.state == api.StateStarted || fb.refs != nil) {
			if resp := checkActivation(e, refs, c.callerID()); resp != nil {
				return resp
			}
		}
		if fb.displayName != nil {
			f.DisplayName = *fb.displayName
		}
		if fb.def != nil {
			f.Definition, f.info = fb.def, newInfo
		}
		if fb.refs != nil {
			f.ConnectionReferences, f.refs = fb.refsRaw, fb.refs
		}
		f.State = state
		f.LastModifiedTime = c.now
		return st.flowResp(http.StatusOK, e, f, renderOpts{definition: true, userType: "Owner"})
	})
}

// Delete, start, stop, restore.

// deleteFlow answers 200 when it deleted and 204 when there was nothing to
// delete. Non-solution flows are soft-deleted (restorable for 21 days).
func (s *Server) deleteFlow(c *call) *response {
	return s.mutate(c, func(st *state) *response {
		e, resp := envOf(st, c.p.env)
		if resp != nil {
			return resp
		}
		f := e.flows[lower(c.p.flow)]
		if f == nil || f.DeletedTime != nil {
			return empty(http.StatusNoContent)
		}
		if !c.admin && !st.canEdit(f, c.caller) {
			// Uncertain: a flow the caller cannot see is "not found" (decision 3)
			// rather than the 204 of a flow that does not exist.
			return flowNotFound(c.p.flow)
		}
		if f.isSolution() {
			e.removeFlow(f.key)
		} else {
			t := c.now
			f.DeletedTime = &t
		}
		return empty(http.StatusOK)
	})
}

func (s *Server) startFlow(c *call) *response {
	return s.mutate(c, func(st *state) *response {
		e, f, resp := findFlow(st, c)
		if resp != nil {
			return resp
		}
		if resp := checkActivation(e, f.refs, c.callerID()); resp != nil {
			return resp
		}
		f.State = api.StateStarted
		return empty(http.StatusOK)
	})
}

func (s *Server) stopFlow(c *call) *response {
	return s.mutate(c, func(st *state) *response {
		_, f, resp := findFlow(st, c)
		if resp != nil {
			return resp
		}
		f.State = api.StateStopped
		return empty(http.StatusOK)
	})
}

// restoreFlow brings back a soft-deleted flow, Stopped. Flows never
// deleted, past retention, or from a solution (hard-deleted) are 404.
func (s *Server) restoreFlow(c *call) *response {
	return s.mutate(c, func(st *state) *response {
		e, resp := envOf(st, c.p.env)
		if resp != nil {
			return resp
		}
		f := e.flows[lower(c.p.flow)]
		if f == nil || f.DeletedTime == nil || f.expired(c.now) || f.isSolution() {
			return flowNotFound(c.p.flow)
		}
		f.DeletedTime = nil
		f.State = api.StateStopped
		return empty(http.StatusOK)
	})
}
