package api

// Microsoft Graph's directoryObjects/getByIds, which resolves principal ids
// to users, groups and service principals (CONTRACT.md lacks it; see
// internal/client LookupPrincipals).

// GetByIDsRequest is the getByIds body: up to 1000 object ids and the
// directory object types wanted ("user", "group", "servicePrincipal").
type GetByIDsRequest struct {
	IDs   []string `json:"ids"`
	Types []string `json:"types,omitempty"`
}

// DirectoryObject is one entry of getByIds' value. ODataType says what it
// is ("#microsoft.graph.user", "#microsoft.graph.group",
// "#microsoft.graph.servicePrincipal"); the other fields depend on it.
type DirectoryObject struct {
	ODataType         string `json:"@odata.type"`
	ID                string `json:"id"`
	DisplayName       string `json:"displayName,omitempty"`
	UserPrincipalName string `json:"userPrincipalName,omitempty"`
	Mail              string `json:"mail,omitempty"`
	AppID             string `json:"appId,omitempty"`
}

// Graph @odata.type values of the principals getByIds returns.
const (
	ODataUser             = "#microsoft.graph.user"
	ODataGroup            = "#microsoft.graph.group"
	ODataServicePrincipal = "#microsoft.graph.servicePrincipal"
)

// PrincipalType maps the object's @odata.type to a principal type
// (PrincipalUser, PrincipalGroup, PrincipalServicePrincipal), "" for any
// other kind of directory object.
func (o DirectoryObject) PrincipalType() string {
	switch o.ODataType {
	case ODataUser:
		return PrincipalUser
	case ODataGroup:
		return PrincipalGroup
	case ODataServicePrincipal:
		return PrincipalServicePrincipal
	}
	return ""
}
