package model

import (
	"cmp"
	"encoding/json"
	"slices"
	"strings"

	"github.com/flowsync/flowsync/internal/api"
)

// Key identifies a flow across the tree and the service: its environment
// and its flow GUID (lower case once normalized).
type Key struct {
	Env  api.EnvName
	Flow api.FlowName
}

func (k Key) String() string { return string(k.Env) + "/" + string(k.Flow) }

// Compare orders keys by environment, then flow.
func (k Key) Compare(o Key) int {
	if c := strings.Compare(string(k.Env), string(o.Env)); c != 0 {
		return c
	}
	return strings.Compare(string(k.Flow), string(o.Flow))
}

// Flow is one normalized flow: what the tree stores in a flow's directory
// and what a live flow is compared as.
type Flow struct {
	Key  Key
	Meta Meta
	// Definition is properties.definition in canonical JSON (internal/canon),
	// with secrets replaced by placeholders when it came from Normalize.
	// It is nil when the source had no definition (list results).
	Definition json.RawMessage
	// Connections are sorted by Key.
	Connections []ConnectionRef
	// Permissions are sorted by role (Owner, CanEdit, CanView,
	// CanViewWithShare, others), then principal.
	Permissions []Permission
}

// Meta is a flow's properties other than its definition, connection
// references and permissions (flow.json). Fields the service derives or that
// change without the flow changing are dropped (docs/FORMAT.md lists them);
// properties flowsync does not know are kept in Extra.
type Meta struct {
	DisplayName string `json:"displayName"`
	// State is Started, Stopped or Suspended (Deleted for soft-deleted flows).
	State string `json:"state,omitempty"`
	// TriggerKind is the first trigger's type, and "/kind" when it has one:
	// "Request/Button", "Recurrence", "OpenApiConnection",
	// "OpenApiConnectionWebhook". Derived from the definition, kept for the
	// README and for readers of flow.json.
	TriggerKind  string   `json:"triggerKind,omitempty"`
	Creator      *Creator `json:"creator,omitempty"`
	TemplateName string   `json:"templateName,omitempty"`
	// WorkflowEntityID is the Dataverse workflow id of a solution flow.
	WorkflowEntityID           string `json:"workflowEntityId,omitempty"`
	IsManaged                  bool   `json:"isManaged,omitempty"`
	FlowFailureAlertSubscribed *bool  `json:"flowFailureAlertSubscribed,omitempty"`
	FlowSuspensionReason       string `json:"flowSuspensionReason,omitempty"`
	ProvisioningMethod         string `json:"provisioningMethod,omitempty"`
	CreatedTime                string `json:"createdTime,omitempty"`
	// LastModifiedTime moves on every save; export --incremental relies on it.
	LastModifiedTime string `json:"lastModifiedTime,omitempty"`
	// Extra holds properties flowsync does not know, in canonical JSON.
	Extra map[string]json.RawMessage `json:"extra,omitempty"`
}

// Creator is who created a flow. The service sets it from the caller's token
// on create, so an import cannot restore it; it is kept as a record.
type Creator struct {
	ObjectID api.PrincipalID `json:"objectId,omitempty"`
	TenantID string          `json:"tenantId,omitempty"`
	UserID   api.PrincipalID `json:"userId,omitempty"`
	UserType string          `json:"userType,omitempty"`
}

// ConnectionRef is one connection reference in portable form: what an
// import needs to map it onto a connection in another environment.
type ConnectionRef struct {
	// Key is the reference's key in properties.connectionReferences
	// (shared_office365, shared_office365_1); the definition's actions name it.
	Key string `json:"-"`
	// API is the connector: the last segment of the reference's id, or its apiName.
	API api.APIName `json:"api"`
	// Source is Embedded (the owner's connection) or Invoker (the run-only
	// user's), capitalized whatever the input's case.
	Source string `json:"source,omitempty"`
	// LogicalName is the connection reference's logical name in a solution flow.
	LogicalName string `json:"logicalName,omitempty"`
	// Connection is the source environment's connection, kept so mappings can name it.
	Connection  api.ConnectionName `json:"connectionName,omitempty"`
	Tier        string             `json:"tier,omitempty"`
	DisplayName string             `json:"displayName,omitempty"`
	// Extra holds members flowsync does not know, in canonical JSON; also
	// the wire id when it is not /providers/Microsoft.PowerApps/apis/<api>.
	Extra map[string]json.RawMessage `json:"extra,omitempty"`
}

// Permission is one principal's role on a flow.
type Permission struct {
	Principal api.PrincipalID `json:"principal"`
	// Type is User, Group, ServicePrincipal or Tenant.
	Type string `json:"type"`
	// Role is Owner, CanEdit, CanView or CanViewWithShare.
	Role string `json:"role"`
}

// roleRank orders roles in permissions.json; unknown roles sort last.
func roleRank(role string) int {
	switch role {
	case api.RoleOwner:
		return 0
	case api.RoleCanEdit:
		return 1
	case api.RoleCanView:
		return 2
	case api.RoleCanViewWithShare:
		return 3
	}
	return 4
}

func comparePermissions(a, b Permission) int {
	return cmp.Or(
		cmp.Compare(roleRank(a.Role), roleRank(b.Role)),
		strings.Compare(a.Role, b.Role),
		strings.Compare(string(a.Principal), string(b.Principal)),
		strings.Compare(a.Type, b.Type),
	)
}

// SortPermissions sorts permissions in place into their file order.
func SortPermissions(ps []Permission) { slices.SortFunc(ps, comparePermissions) }

// SortConnections sorts references in place by key.
func SortConnections(cs []ConnectionRef) {
	slices.SortFunc(cs, func(a, b ConnectionRef) int { return strings.Compare(a.Key, b.Key) })
}

// Owners returns the permissions that make an owner: Owner (the creator)
// and CanEdit (co-owners), in file order.
func (f Flow) Owners() []Permission {
	return filterRoles(f.Permissions, api.RoleOwner, api.RoleCanEdit)
}

// RunOnlyUsers returns the CanView and CanViewWithShare permissions.
func (f Flow) RunOnlyUsers() []Permission {
	return filterRoles(f.Permissions, api.RoleCanView, api.RoleCanViewWithShare)
}

func filterRoles(ps []Permission, roles ...string) []Permission {
	var out []Permission
	for _, p := range ps {
		if slices.Contains(roles, p.Role) {
			out = append(out, p)
		}
	}
	return out
}

// APIs returns the distinct connectors the flow references, sorted.
func (f Flow) APIs() []api.APIName {
	var out []api.APIName
	for _, c := range f.Connections {
		out = append(out, c.API)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Environment is an environment's record in environment.json: what
// identifies it and where it runs. Capacity, states and endpoints, which
// change without anything a restore needs changing, are not kept.
type Environment struct {
	Name         api.EnvName `json:"name"`
	DisplayName  string      `json:"displayName,omitempty"`
	Description  string      `json:"description,omitempty"`
	Location     string      `json:"location,omitempty"`
	Sku          string      `json:"sku,omitempty"`
	Type         string      `json:"type,omitempty"`
	IsDefault    bool        `json:"isDefault,omitempty"`
	CreationType string      `json:"creationType,omitempty"`
	CreatedTime  string      `json:"createdTime,omitempty"`
	// Dataverse names the environment's Dataverse organisation, where
	// solution flows live; nil when it has none.
	Dataverse *Dataverse `json:"dataverse,omitempty"`
}

// Dataverse names an environment's Dataverse organisation.
type Dataverse struct {
	InstanceURL    string `json:"instanceUrl,omitempty"`
	InstanceAPIURL string `json:"instanceApiUrl,omitempty"`
	UniqueName     string `json:"uniqueName,omitempty"`
}

// EnvironmentFromAPI keeps an environment's identifying fields.
func EnvironmentFromAPI(e api.Environment) Environment {
	p := e.Properties
	env := Environment{
		Name:         e.Name,
		DisplayName:  p.DisplayName,
		Description:  p.Description,
		Location:     e.Location,
		Sku:          p.EnvironmentSku,
		Type:         p.EnvironmentType,
		IsDefault:    p.IsDefault,
		CreationType: p.CreationType,
		CreatedTime:  p.CreatedTime,
	}
	if m := p.LinkedEnvironmentMetadata; m != nil && (m.InstanceURL != "" || m.InstanceAPIURL != "" || m.UniqueName != "") {
		env.Dataverse = &Dataverse{InstanceURL: m.InstanceURL, InstanceAPIURL: m.InstanceAPIURL, UniqueName: m.UniqueName}
	}
	return env
}
