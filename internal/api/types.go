package api

import (
	"encoding/json"
)

// APIVersion is the api-version every call carries (CONTRACT.md, Conventions).
const APIVersion = "2016-11-01"

// ConnectionPutAPIVersion is the api-version of the PowerApps connection PUT.
const ConnectionPutAPIVersion = "2021-02-01"

// Typed identifiers: a display name can never be passed where an id belongs.
type (
	// EnvName is an environment's name, e.g. "Default-<tenant>" or a GUID.
	EnvName string
	// FlowName is a flow's name: the GUID the service assigns.
	FlowName string
	// ConnectionName is a connection's name, e.g. "shared-office365-<guid>".
	ConnectionName string
	// APIName is a connector's name, e.g. "shared_office365".
	APIName string
	// PrincipalID is an Entra object id (user, group, service principal) or a tenant id.
	PrincipalID string
)

// Flow states as the service reports them.
const (
	StateStarted   = "Started"
	StateStopped   = "Stopped"
	StateSuspended = "Suspended"
	StateDeleted   = "Deleted" // soft-deleted, only in admin V2 lists with include=softDeletedFlows
)

// Permission role names (CONTRACT.md decision 1).
const (
	RoleOwner            = "Owner"
	RoleCanEdit          = "CanEdit"
	RoleCanView          = "CanView"
	RoleCanViewWithShare = "CanViewWithShare"
)

// Principal types.
const (
	PrincipalUser             = "User"
	PrincipalGroup            = "Group"
	PrincipalServicePrincipal = "ServicePrincipal"
	PrincipalTenant           = "Tenant"
)

// List is the list envelope {"value":[…],"nextLink":"…"}. The service uses
// nextLink; some callers have seen @odata.nextLink, so both are read.
type List[T any] struct {
	Value         []T    `json:"value"`
	NextLink      string `json:"nextLink,omitempty"`
	ODataNextLink string `json:"@odata.nextLink,omitempty"`
}

// Next returns the continuation link, whichever field carries it.
func (l *List[T]) Next() string {
	if l.NextLink != "" {
		return l.NextLink
	}
	return l.ODataNextLink
}

// Environment is an environment as the Flow RP (and BAP) return it.
type Environment struct {
	Name       EnvName               `json:"name"`
	ID         string                `json:"id,omitempty"`
	Type       string                `json:"type,omitempty"`
	Location   string                `json:"location,omitempty"`
	Properties EnvironmentProperties `json:"properties"`
}

// EnvironmentProperties are the fields flowsync reads; the rest is kept in Extra.
type EnvironmentProperties struct {
	DisplayName               string                     `json:"displayName,omitempty"`
	Description               string                     `json:"description,omitempty"`
	CreatedTime               string                     `json:"createdTime,omitempty"`
	LastModifiedTime          string                     `json:"lastModifiedTime,omitempty"`
	ProvisioningState         string                     `json:"provisioningState,omitempty"`
	CreationType              string                     `json:"creationType,omitempty"`
	EnvironmentSku            string                     `json:"environmentSku,omitempty"`
	EnvironmentType           string                     `json:"environmentType,omitempty"`
	IsDefault                 bool                       `json:"isDefault,omitempty"`
	AzureRegionHint           string                     `json:"azureRegionHint,omitempty"`
	RuntimeEndpoints          map[string]string          `json:"runtimeEndpoints,omitempty"`
	LinkedEnvironmentMetadata *LinkedEnvironmentMetadata `json:"linkedEnvironmentMetadata,omitempty"`
	Extra                     map[string]json.RawMessage `json:"-"`
}

// LinkedEnvironmentMetadata names the Dataverse organisation behind an environment.
type LinkedEnvironmentMetadata struct {
	InstanceURL    string `json:"instanceUrl,omitempty"`
	InstanceAPIURL string `json:"instanceApiUrl,omitempty"`
	UniqueName     string `json:"uniqueName,omitempty"`
}

// Flow is a cloud flow resource.
type Flow struct {
	Name       FlowName       `json:"name"`
	ID         string         `json:"id,omitempty"`
	Type       string         `json:"type,omitempty"`
	Properties FlowProperties `json:"properties"`
}

// FlowProperties holds what list, get, create and update carry. Definition is
// kept as raw JSON (it is user content, round-tripped in meaning); connection
// references are the raw service's dictionary keyed by reference name.
//
// ConnectionReferences is omitted only when nil: a non-nil empty map is sent
// as {}, which is how a caller says "this flow has no references" (Update
// Flow refuses a definition without the member: 400 InvalidOpenApiFlow). A
// read of a flow without the member leaves it nil, so it re-encodes without.
type FlowProperties struct {
	APIID                      string                         `json:"apiId,omitempty"`
	DisplayName                string                         `json:"displayName,omitempty"`
	State                      string                         `json:"state,omitempty"`
	CreatedTime                string                         `json:"createdTime,omitempty"`
	LastModifiedTime           string                         `json:"lastModifiedTime,omitempty"`
	TemplateName               string                         `json:"templateName,omitempty"`
	Environment                *EnvironmentRef                `json:"environment,omitempty"`
	Creator                    *Creator                       `json:"creator,omitempty"`
	Definition                 json.RawMessage                `json:"definition,omitempty"`
	ConnectionReferences       map[string]ConnectionReference `json:"connectionReferences,omitzero"`
	DefinitionSummary          json.RawMessage                `json:"definitionSummary,omitempty"`
	FlowSuspensionReason       string                         `json:"flowSuspensionReason,omitempty"`
	FlowFailureAlertSubscribed *bool                          `json:"flowFailureAlertSubscribed,omitempty"`
	IsManaged                  *bool                          `json:"isManaged,omitempty"`
	WorkflowEntityID           string                         `json:"workflowEntityId,omitempty"`
	FlowTriggerURI             string                         `json:"flowTriggerUri,omitempty"`
	UserType                   string                         `json:"userType,omitempty"`
	SharingType                string                         `json:"sharingType,omitempty"`
	ProvisioningMethod         string                         `json:"provisioningMethod,omitempty"`
	Extra                      map[string]json.RawMessage     `json:"-"`
}

// EnvironmentRef is the environment stamp inside a flow.
type EnvironmentRef struct {
	Name EnvName `json:"name"`
	Type string  `json:"type,omitempty"`
	ID   string  `json:"id,omitempty"`
}

// Creator is who created a flow.
type Creator struct {
	TenantID string      `json:"tenantId,omitempty"`
	ObjectID PrincipalID `json:"objectId,omitempty"`
	UserID   PrincipalID `json:"userId,omitempty"`
	UserType string      `json:"userType,omitempty"`
}

// ConnectionReference is one entry of properties.connectionReferences.
// Non-solution flows carry connectionName/id/source/tier; solution flows may
// carry connectionReferenceLogicalName. Unknown fields stay in Extra.
type ConnectionReference struct {
	ConnectionName                 ConnectionName             `json:"connectionName,omitempty"`
	ID                             string                     `json:"id,omitempty"`
	Source                         string                     `json:"source,omitempty"`
	Tier                           string                     `json:"tier,omitempty"`
	DisplayName                    string                     `json:"displayName,omitempty"`
	APIName                        string                     `json:"apiName,omitempty"`
	ConnectionReferenceLogicalName string                     `json:"connectionReferenceLogicalName,omitempty"`
	Extra                          map[string]json.RawMessage `json:"-"`
}

// Permission is one entry of a flow's permissions list.
type Permission struct {
	Name       string               `json:"name"`
	ID         string               `json:"id,omitempty"`
	Type       string               `json:"type,omitempty"`
	Properties PermissionProperties `json:"properties"`
}

// PermissionProperties carry the role and the principal.
type PermissionProperties struct {
	RoleName       string    `json:"roleName"`
	PermissionType string    `json:"permissionType,omitempty"`
	Principal      Principal `json:"principal"`
}

// Principal is a user, group, service principal or tenant.
type Principal struct {
	ID                PrincipalID `json:"id"`
	Type              string      `json:"type"`
	DisplayName       string      `json:"displayName,omitempty"`
	Email             string      `json:"email,omitempty"`
	TenantID          string      `json:"tenantId,omitempty"`
	UserPrincipalName string      `json:"userPrincipalName,omitempty"`
}

// ModifyPermissionsRequest is the modifyPermissions body.
type ModifyPermissionsRequest struct {
	Put    []PermissionPut    `json:"put,omitempty"`
	Delete []PermissionDelete `json:"delete,omitempty"`
}

// PermissionPut grants a role.
type PermissionPut struct {
	Properties PermissionPutProperties `json:"properties"`
}

// PermissionPutProperties names the principal and role granted.
type PermissionPutProperties struct {
	Principal Principal `json:"principal"`
	RoleName  string    `json:"roleName"`
}

// PermissionDelete removes a permission: ID is a bare principal id or a full permission id.
type PermissionDelete struct {
	ID string `json:"id"`
}

// Connector is a PowerApps api.
type Connector struct {
	Name       APIName             `json:"name"`
	ID         string              `json:"id,omitempty"`
	Type       string              `json:"type,omitempty"`
	Properties ConnectorProperties `json:"properties"`
}

// ConnectorProperties are the connector fields flowsync reads.
type ConnectorProperties struct {
	DisplayName          string                     `json:"displayName,omitempty"`
	Description          string                     `json:"description,omitempty"`
	IconURI              string                     `json:"iconUri,omitempty"`
	Tier                 string                     `json:"tier,omitempty"`
	Publisher            string                     `json:"publisher,omitempty"`
	IsCustomAPI          bool                       `json:"isCustomApi,omitempty"`
	APIEnvironment       string                     `json:"apiEnvironment,omitempty"`
	Capabilities         []string                   `json:"capabilities,omitempty"`
	ConnectionParameters json.RawMessage            `json:"connectionParameters,omitempty"`
	PrimaryRuntimeURL    string                     `json:"primaryRuntimeUrl,omitempty"`
	CreatedTime          string                     `json:"createdTime,omitempty"`
	ChangedTime          string                     `json:"changedTime,omitempty"`
	Extra                map[string]json.RawMessage `json:"-"`
}

// Connection is a PowerApps connection.
type Connection struct {
	Name       ConnectionName       `json:"name"`
	ID         string               `json:"id,omitempty"`
	Type       string               `json:"type,omitempty"`
	Properties ConnectionProperties `json:"properties"`
}

// ConnectionProperties are the connection fields flowsync reads.
type ConnectionProperties struct {
	APIID                string                     `json:"apiId,omitempty"`
	DisplayName          string                     `json:"displayName,omitempty"`
	Statuses             []ConnectionStatus         `json:"statuses,omitempty"`
	ConnectionParameters json.RawMessage            `json:"connectionParameters,omitempty"`
	CreatedBy            *Principal                 `json:"createdBy,omitempty"`
	CreatedTime          string                     `json:"createdTime,omitempty"`
	LastModifiedTime     string                     `json:"lastModifiedTime,omitempty"`
	Environment          *EnvironmentRef            `json:"environment,omitempty"`
	AllowSharing         bool                       `json:"allowSharing,omitempty"`
	Extra                map[string]json.RawMessage `json:"-"`
}

// ConnectionStatus is one status entry: Connected, Error, Unauthenticated.
type ConnectionStatus struct {
	Status string      `json:"status"`
	Target string      `json:"target,omitempty"`
	Error  *ErrorEntry `json:"error,omitempty"`
}

// ErrorEntry is the {code,message} pair used in error bodies and statuses.
type ErrorEntry struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// ErrorBody is the standard error envelope {"error":{"code","message"}}.
type ErrorBody struct {
	Error ErrorEntry `json:"error"`
}

// CreateConnectionRequest is the body of the PowerApps connection PUT.
type CreateConnectionRequest struct {
	Properties CreateConnectionProperties `json:"properties"`
}

// CreateConnectionProperties name the environment, display name and parameters.
type CreateConnectionProperties struct {
	Environment          EnvironmentRef  `json:"environment"`
	DisplayName          string          `json:"displayName,omitempty"`
	ConnectionParameters json.RawMessage `json:"connectionParameters,omitempty"`
}

// Run is a flow run.
type Run struct {
	Name       string        `json:"name"`
	ID         string        `json:"id,omitempty"`
	Type       string        `json:"type,omitempty"`
	Properties RunProperties `json:"properties"`
}

// RunProperties are a run's fields.
type RunProperties struct {
	StartTime   string          `json:"startTime,omitempty"`
	EndTime     string          `json:"endTime,omitempty"`
	Status      string          `json:"status,omitempty"`
	Code        string          `json:"code,omitempty"`
	Error       *ErrorEntry     `json:"error,omitempty"`
	Correlation *RunCorrelation `json:"correlation,omitempty"`
	Trigger     json.RawMessage `json:"trigger,omitempty"`
	// Actions are the run's top-level action results, only in Get Flow Run
	// answers with $expand=properties/actions (client.GetRun with Actions).
	Actions map[string]RunAction       `json:"actions,omitempty"`
	Extra   map[string]json.RawMessage `json:"-"`
}

// RunAction is one action's result in a run. The service also sends
// inputsLink and outputsLink, signed (sig=) content URLs: they are left out
// on purpose, so they are never kept or logged.
type RunAction struct {
	StartTime string      `json:"startTime,omitempty"`
	EndTime   string      `json:"endTime,omitempty"`
	Status    string      `json:"status,omitempty"`
	Code      string      `json:"code,omitempty"`
	Error     *ErrorEntry `json:"error,omitempty"`
}

// RunCorrelation carries the client tracking id.
type RunCorrelation struct {
	ClientTrackingID string `json:"clientTrackingId,omitempty"`
}

// Trigger is a flow trigger resource.
type Trigger struct {
	Name       string            `json:"name"`
	ID         string            `json:"id,omitempty"`
	Type       string            `json:"type,omitempty"`
	Properties TriggerProperties `json:"properties"`
}

// TriggerProperties are a trigger's fields.
type TriggerProperties struct {
	ProvisioningState string `json:"provisioningState,omitempty"`
	CreatedTime       string `json:"createdTime,omitempty"`
	ChangedTime       string `json:"changedTime,omitempty"`
	State             string `json:"state,omitempty"`
}

// CallbackURLResponse is the listCallbackUrl answer. The service nests the URL
// in response.value; some clients have seen a top-level value, so both are read.
type CallbackURLResponse struct {
	Response *struct {
		Value string `json:"value"`
	} `json:"response,omitempty"`
	Value string `json:"value,omitempty"`
}

// URL returns the callback URL from whichever field carries it.
func (c CallbackURLResponse) URL() string {
	if c.Response != nil && c.Response.Value != "" {
		return c.Response.Value
	}
	return c.Value
}
