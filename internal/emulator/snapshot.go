package emulator

import (
	"encoding/json"
	"time"

	"github.com/flowsync/flowsync/internal/api"
)

// Snapshot is the emulator's whole state as data: what a seed produces, what
// the state file persists and what GET /_emulator/state returns. The server
// loads a Snapshot into its indexed in-memory state and dumps it back; a
// dump of a freshly loaded snapshot equals the snapshot (modulo ordering,
// which Dump sorts).
type Snapshot struct {
	// Tenant is the tenant id every principal and environment belongs to.
	Tenant string `json:"tenant"`
	// Now is the emulator clock when the snapshot was taken; zero means wall clock at load.
	Now time.Time `json:"now,omitempty"`

	Principals   []Principal   `json:"principals"`
	Environments []Environment `json:"environments"`
	// Connectors are the apis available; Environment "" makes a connector
	// available in every environment (the shared Microsoft connectors).
	Connectors  []Connector  `json:"connectors"`
	Connections []Connection `json:"connections"`
	Flows       []Flow       `json:"flows"`
	Runs        []Run        `json:"runs,omitempty"`
}

// Principal is a user, group or service principal the tenant knows.
type Principal struct {
	ID          api.PrincipalID `json:"id"`   // object id
	Type        string          `json:"type"` // api.PrincipalUser, Group, ServicePrincipal
	DisplayName string          `json:"displayName"`
	Email       string          `json:"email,omitempty"`
	UPN         string          `json:"userPrincipalName,omitempty"`
	// AppID is the application (client) id of a service principal.
	AppID string `json:"appId,omitempty"`
	// Admin grants the Power Platform Administrator role (wids claim).
	Admin bool `json:"admin,omitempty"`
	// ClientSecretSHA256 is the hex SHA-256 of a service principal's client
	// secret, checked by the emulator's token endpoint. Never the secret itself.
	ClientSecretSHA256 string `json:"clientSecretSha256,omitempty"`
	// CertificatesPEM are PEM certificates whose keys may sign client assertions.
	CertificatesPEM []string `json:"certificatesPem,omitempty"`
	// Members of a group (principal ids); a member sees what the group is granted.
	Members []api.PrincipalID `json:"members,omitempty"`
}

// Environment is an environment of the tenant.
type Environment struct {
	Name        api.EnvName `json:"name"`
	DisplayName string      `json:"displayName"`
	Location    string      `json:"location,omitempty"` // default "unitedstates"
	IsDefault   bool        `json:"isDefault,omitempty"`
	Sku         string      `json:"sku,omitempty"` // Default, Production, Sandbox, Developer
	CreatedTime time.Time   `json:"createdTime,omitempty"`
	// Dataverse reports whether the environment has a Dataverse organisation
	// (solution flows live there).
	Dataverse bool `json:"dataverse,omitempty"`
}

// Connector is an api (connector).
type Connector struct {
	Name        api.APIName `json:"name"`
	DisplayName string      `json:"displayName"`
	Tier        string      `json:"tier,omitempty"` // Standard, Premium
	Custom      bool        `json:"custom,omitempty"`
	// OAuth connectors come back unauthenticated from Create Connection.
	OAuth bool `json:"oauth,omitempty"`
	// Environment limits a custom connector to one environment; "" = all.
	Environment api.EnvName `json:"environment,omitempty"`
	Publisher   string      `json:"publisher,omitempty"`
}

// Connection is a connection in one environment.
type Connection struct {
	Environment api.EnvName        `json:"environment"`
	API         api.APIName        `json:"api"`
	Name        api.ConnectionName `json:"name"`
	DisplayName string             `json:"displayName"`
	// Status is "Connected", "Error" or "Unauthenticated".
	Status      string          `json:"status"`
	CreatedBy   api.PrincipalID `json:"createdBy,omitempty"`
	CreatedTime time.Time       `json:"createdTime,omitempty"`
}

// Flow is a cloud flow. Definition and ConnectionReferences are stored as the
// service would return them (raw JSON; references as a dictionary).
type Flow struct {
	Environment      api.EnvName  `json:"environment"`
	Name             api.FlowName `json:"name"` // GUID
	DisplayName      string       `json:"displayName"`
	State            string       `json:"state"` // Started, Stopped, Suspended
	CreatedTime      time.Time    `json:"createdTime"`
	LastModifiedTime time.Time    `json:"lastModifiedTime"`
	// Creator is the principal that created the flow: it holds the Owner role.
	Creator              api.PrincipalID `json:"creator"`
	TemplateName         string          `json:"templateName,omitempty"`
	Definition           json.RawMessage `json:"definition"`
	ConnectionReferences json.RawMessage `json:"connectionReferences,omitempty"`
	// Solution flows carry a workflow entity id; they are not soft-deleted.
	WorkflowEntityID string `json:"workflowEntityId,omitempty"`
	IsManaged        bool   `json:"isManaged,omitempty"`
	// Permissions other than the creator's Owner role.
	Permissions []FlowPermission `json:"permissions,omitempty"`
	// DeletedTime is set for soft-deleted flows (kept 21 days).
	DeletedTime *time.Time `json:"deletedTime,omitempty"`
	// Extra properties returned as-is in properties (e.g. flowFailureAlertSubscribed).
	Extra map[string]json.RawMessage `json:"extra,omitempty"`
}

// FlowPermission grants a principal a role on a flow.
type FlowPermission struct {
	Principal api.PrincipalID `json:"principal"`
	Role      string          `json:"role"` // CanEdit, CanView, CanViewWithShare (Owner is the creator)
}

// Run is a flow run, for list/cancel/resubmit.
type Run struct {
	Environment api.EnvName  `json:"environment"`
	Flow        api.FlowName `json:"flow"`
	Name        string       `json:"name"`
	Trigger     string       `json:"trigger"`
	Status      string       `json:"status"` // Succeeded, Failed, Running, Cancelled
	StartTime   time.Time    `json:"startTime"`
	EndTime     *time.Time   `json:"endTime,omitempty"`
}
