package model

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/canon"
	"github.com/flowsync/flowsync/internal/secrets"
)

// DroppedProperties are the flow properties the tree does not keep, with the
// reason (docs/FORMAT.md repeats this list). Everything else the service
// sends is kept: the typed fields in Meta, unknown ones in Meta.Extra.
var DroppedProperties = map[string]string{
	"apiId":                         "the same for every flow (the shared_logicflows API)",
	"definitionSummary":             "derived from the definition",
	"flowTriggerUri":                "derived from the trigger, and it may carry a SAS signature",
	"userType":                      "relative to the caller",
	"sharingType":                   "relative to the caller; permissions.json holds the sharing",
	"environment":                   "the path names the environment",
	"triggerSchema":                 "derived from the definition's trigger",
	"installedConnectionReferences": "an expansion of connectionReferences",
	"installationStatus":            "service-internal status",
	"referencedResources":           "derived from the definition",
	"plan":                          "licensing, not the flow",
	"licenseData":                   "licensing, changes without the flow changing",
	"throttleData":                  "usage counters, change without the flow changing",
	"estimatedSuspensionData":       "a prediction, changes without the flow changing",
	"machineDescriptionData":        "a generated description, derived from the definition",
}

// DroppedReferenceMembers are the connection reference members the tree does
// not keep: all describe the connector, not the reference, and come with
// $expand=properties.connectionreferences.apidefinition.
var DroppedReferenceMembers = map[string]string{
	"apiDefinition": "the connector's definition, an expansion",
	"iconUri":       "the connector's icon",
	"brandColor":    "the connector's colour",
}

// NormalizeOptions tune Normalize.
type NormalizeOptions struct {
	// KeepSecretValues makes Report.Values hold the redacted values (for
	// sealing with --encrypt-to). They are never written in clear.
	KeepSecretValues bool
}

// Report says what Normalize did besides producing the Flow.
type Report struct {
	// Findings are the redacted secrets, by path and kind, never values.
	// Paths in the definition have no prefix; paths in flow.json and
	// connections.json extras start with the file name.
	Findings []secrets.Finding
	// Values are the redacted values, when NormalizeOptions.KeepSecretValues is set.
	Values secrets.Values
}

// Normalize turns a flow as the service returns it (with definition and
// connection references, from Get Flow) and its permissions into the tree's
// model: definition parsed once, secrets redacted, canonical JSON, portable
// connection references, metadata with volatile fields dropped, permissions
// sorted. It is pure; the same input always gives the same Flow.
func Normalize(env api.EnvName, f api.Flow, perms []api.Permission, opts NormalizeOptions) (Flow, Report, error) {
	var rep Report
	if opts.KeepSecretValues {
		rep.Values = secrets.Values{}
	}
	out, err := fromAPI(env, f, perms, func(tree *canon.Value, where string) error {
		fs, err := secrets.RedactValue(tree, where, rep.Values)
		rep.Findings = append(rep.Findings, fs...)
		return err
	})
	if err != nil {
		return Flow{}, Report{}, err
	}
	slices.SortFunc(rep.Findings, func(a, b secrets.Finding) int { return strings.Compare(a.Path, b.Path) })
	return out, rep, nil
}

// FromAPI is Normalize without redaction: the lossless conversion, for the
// live side of an import or a restore that has its secrets back.
func FromAPI(env api.EnvName, f api.Flow, perms []api.Permission) (Flow, error) {
	return fromAPI(env, f, perms, nil)
}

// redactFunc redacts a parsed JSON tree in place; where prefixes its paths.
type redactFunc func(tree *canon.Value, where string) error

func fromAPI(env api.EnvName, f api.Flow, perms []api.Permission, redact redactFunc) (Flow, error) {
	if err := ValidateEnvName(env); err != nil {
		return Flow{}, fmt.Errorf("normalize flow %s: %w", f.Name, err)
	}
	name, err := CanonicalFlowName(f.Name)
	if err != nil {
		return Flow{}, fmt.Errorf("normalize flow in %s: %w", env, err)
	}
	key := Key{Env: env, Flow: name}
	fail := func(err error) (Flow, error) {
		return Flow{}, fmt.Errorf("normalize flow %s (%q): %w", key, f.Properties.DisplayName, err)
	}
	out := Flow{Key: key}
	out.Definition, out.Meta.TriggerKind, err = normalizeDefinition(f.Properties.Definition, redact)
	if err != nil {
		return fail(err)
	}
	if out.Meta, err = metaFromAPI(f.Properties, out.Meta.TriggerKind, redact); err != nil {
		return fail(err)
	}
	if out.Connections, err = connectionsFromAPI(f.Properties.ConnectionReferences, redact); err != nil {
		return fail(err)
	}
	out.Permissions = PermissionsFromAPI(perms)
	return out, nil
}

// normalizeDefinition parses the definition once, redacts it, reads its
// trigger kind and writes it back canonically. A missing definition stays
// nil (list results carry none).
func normalizeDefinition(raw json.RawMessage, redact redactFunc) (json.RawMessage, string, error) {
	if len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil, "", nil
	}
	tree, err := canon.Parse(raw)
	if err != nil {
		return nil, "", fmt.Errorf("definition: %w", err)
	}
	if tree.Kind != canon.Object {
		return nil, "", fmt.Errorf("definition: a %s, want an object", tree.Kind)
	}
	if redact != nil {
		if err := redact(tree, ""); err != nil {
			return nil, "", fmt.Errorf("definition: %w", err)
		}
	}
	kind := TriggerKind(tree)
	out, err := tree.Encode()
	if err != nil {
		return nil, "", fmt.Errorf("definition: %w", err)
	}
	return out, kind, nil
}

// TriggerKind returns the definition's trigger type and, when present, its
// kind as "type/kind". With several triggers it names the first by name (the
// service allows one, but definitions written by hand may have more).
func TriggerKind(def *canon.Value) string {
	triggers := def.Get("triggers")
	if triggers == nil || triggers.Kind != canon.Object || len(triggers.Members) == 0 {
		return ""
	}
	first := triggers.Members[0]
	for _, m := range triggers.Members[1:] {
		if m.Key < first.Key {
			first = m
		}
	}
	typ := first.Value.Get("type")
	if typ == nil || typ.Kind != canon.String {
		return ""
	}
	if k := first.Value.Get("kind"); k != nil && k.Kind == canon.String && k.Str != "" {
		return typ.Str + "/" + k.Str
	}
	return typ.Str
}

// metaFromAPI keeps the properties a restore or a reader needs and drops
// DroppedProperties.
func metaFromAPI(p api.FlowProperties, triggerKind string, redact redactFunc) (Meta, error) {
	m := Meta{
		DisplayName:                p.DisplayName,
		State:                      p.State,
		TriggerKind:                triggerKind,
		TemplateName:               p.TemplateName,
		WorkflowEntityID:           p.WorkflowEntityID,
		IsManaged:                  p.IsManaged != nil && *p.IsManaged,
		FlowFailureAlertSubscribed: p.FlowFailureAlertSubscribed,
		FlowSuspensionReason:       p.FlowSuspensionReason,
		ProvisioningMethod:         p.ProvisioningMethod,
		CreatedTime:                p.CreatedTime,
		LastModifiedTime:           p.LastModifiedTime,
	}
	if c := p.Creator; c != nil && *c != (api.Creator{}) {
		m.Creator = &Creator{ObjectID: c.ObjectID, TenantID: c.TenantID, UserID: c.UserID, UserType: c.UserType}
	}
	extra, err := normalizeExtra(p.Extra, DroppedProperties, FlowFileName+".extra", redact)
	if err != nil {
		return Meta{}, fmt.Errorf("properties: %w", err)
	}
	m.Extra = extra
	return m, nil
}

// normalizeExtra canonicalizes unknown members, drops the listed ones and
// redacts the rest as one object, so that a secret in a field flowsync does
// not know still never reaches the tree.
func normalizeExtra(extra map[string]json.RawMessage, drop map[string]string, where string, redact redactFunc) (map[string]json.RawMessage, error) {
	obj := &canon.Value{Kind: canon.Object}
	for k, raw := range extra {
		if _, ok := drop[k]; ok {
			continue
		}
		v, err := canon.Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		obj.Members = append(obj.Members, canon.Member{Key: k, Value: v})
	}
	if len(obj.Members) == 0 {
		return nil, nil
	}
	slices.SortFunc(obj.Members, func(a, b canon.Member) int { return strings.Compare(a.Key, b.Key) })
	if redact != nil {
		if err := redact(obj, where); err != nil {
			return nil, err
		}
	}
	out := make(map[string]json.RawMessage, len(obj.Members))
	for _, m := range obj.Members {
		b, err := m.Value.Encode()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.Key, err)
		}
		out[m.Key] = b
	}
	return out, nil
}

// apiIDPrefix starts a connector's resource id.
const apiIDPrefix = "/providers/Microsoft.PowerApps/apis/"

// connectionsFromAPI makes references portable: the connector's name instead
// of its resource id, the source capitalized, members describing the
// connector (DroppedReferenceMembers) dropped, unknown members kept.
func connectionsFromAPI(refs map[string]api.ConnectionReference, redact redactFunc) ([]ConnectionRef, error) {
	out := make([]ConnectionRef, 0, len(refs))
	for key, r := range refs {
		c, err := connectionFromAPI(key, r, redact)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	SortConnections(out)
	return out, nil
}

func connectionFromAPI(key string, r api.ConnectionReference, redact redactFunc) (ConnectionRef, error) {
	c := ConnectionRef{
		Key:         key,
		API:         apiName(r),
		Source:      normalizeSource(r.Source),
		LogicalName: r.ConnectionReferenceLogicalName,
		Connection:  r.ConnectionName,
		Tier:        r.Tier,
		DisplayName: r.DisplayName,
	}
	if c.API == "" {
		return ConnectionRef{}, fmt.Errorf("connection reference %q: names no connector (no id or apiName)", key)
	}
	extra := make(map[string]json.RawMessage, len(r.Extra)+2)
	for k, v := range r.Extra {
		extra[k] = v
	}
	// The wire id and apiName are kept only when they say more than API.
	if r.ID != "" && r.ID != apiIDPrefix+string(c.API) {
		extra["id"] = mustString(r.ID)
	}
	if r.APIName != "" && r.APIName != string(c.API) && "shared_"+r.APIName != string(c.API) {
		extra["apiName"] = mustString(r.APIName)
	}
	var err error
	// The key is the service's (a maker may choose it): escaped like any
	// path segment, so a placeholder's path stays one location and ends at
	// its '>'.
	c.Extra, err = normalizeExtra(extra, DroppedReferenceMembers, ConnectionsFileName+"."+secrets.Segment(key)+".extra", redact)
	if err != nil {
		return ConnectionRef{}, fmt.Errorf("connection reference %q: %w", key, err)
	}
	return c, nil
}

func mustString(s string) json.RawMessage {
	b, _ := json.Marshal(s) // a string always marshals
	return b
}

// apiName is the connector a reference uses: the last segment of its id
// (/providers/Microsoft.PowerApps/apis/shared_office365), else its apiName.
func apiName(r api.ConnectionReference) api.APIName {
	if i := strings.LastIndex(r.ID, "/apis/"); i >= 0 {
		if name, _, _ := strings.Cut(r.ID[i+len("/apis/"):], "/"); name != "" {
			return api.APIName(name)
		}
	}
	return api.APIName(r.APIName)
}

// normalizeSource capitalizes Embedded and Invoker: solution files write
// them in lower case (runtimeSource), the service capitalized.
func normalizeSource(s string) string {
	switch {
	case strings.EqualFold(s, "embedded"):
		return "Embedded"
	case strings.EqualFold(s, "invoker"):
		return "Invoker"
	}
	return s
}

// PermissionsFromAPI keeps principal, type and role, sorted. Principal
// display names and e-mail addresses are dropped: they change outside the
// flow, and modifyPermissions takes ids. A principal without an id takes
// the permission's name (the service names permissions by principal id).
func PermissionsFromAPI(perms []api.Permission) []Permission {
	out := make([]Permission, 0, len(perms))
	for _, p := range perms {
		id := p.Properties.Principal.ID
		if id == "" {
			id = api.PrincipalID(p.Name)
		}
		out = append(out, Permission{Principal: id, Type: p.Properties.Principal.Type, Role: p.Properties.RoleName})
	}
	SortPermissions(out)
	return out
}

// ToAPI rebuilds the properties an import sends to Create or Update Flow:
// displayName, state, definition (compact) and the connectionReferences
// dictionary. The definition is sent as it is in the tree; restoring
// secrets (secrets.Restore) and mapping connections are the caller's steps.
func (f Flow) ToAPI() (api.FlowProperties, error) {
	p := api.FlowProperties{DisplayName: f.Meta.DisplayName, State: f.Meta.State}
	if len(f.Definition) > 0 {
		var buf bytes.Buffer
		if err := json.Compact(&buf, f.Definition); err != nil {
			return api.FlowProperties{}, fmt.Errorf("flow %s: definition: %w", f.Key, err)
		}
		p.Definition = buf.Bytes()
	}
	// Never nil: a flow without connections sends {} (api.FlowProperties).
	p.ConnectionReferences = make(map[string]api.ConnectionReference, len(f.Connections))
	for _, c := range f.Connections {
		if _, dup := p.ConnectionReferences[c.Key]; dup {
			return api.FlowProperties{}, fmt.Errorf("flow %s: connection reference %q twice", f.Key, c.Key)
		}
		r, err := c.ToAPI()
		if err != nil {
			return api.FlowProperties{}, fmt.Errorf("flow %s: %w", f.Key, err)
		}
		p.ConnectionReferences[c.Key] = r
	}
	return p, nil
}

// ToAPI rebuilds the wire reference: id from API unless the source's id was
// kept in Extra.
func (c ConnectionRef) ToAPI() (api.ConnectionReference, error) {
	r := api.ConnectionReference{
		ConnectionName:                 c.Connection,
		ID:                             apiIDPrefix + string(c.API),
		Source:                         c.Source,
		Tier:                           c.Tier,
		DisplayName:                    c.DisplayName,
		ConnectionReferenceLogicalName: c.LogicalName,
	}
	for k, v := range c.Extra {
		switch k {
		case "id", "apiName":
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return api.ConnectionReference{}, fmt.Errorf("connection reference %q: extra %s: %w", c.Key, k, err)
			}
			if k == "id" {
				r.ID = s
			} else {
				r.APIName = s
			}
		default:
			if r.Extra == nil {
				r.Extra = map[string]json.RawMessage{}
			}
			r.Extra[k] = v
		}
	}
	return r, nil
}

// errNoDefinition is returned by Files for a flow without a definition.
var errNoDefinition = errors.New("no definition (list results carry none; get the flow)")
