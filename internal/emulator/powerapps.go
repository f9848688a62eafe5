package emulator

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"

	"github.com/flowsync/flowsync/internal/api"
)

// connectorEpoch is the fixed created/changed time of connectors: the
// snapshot does not carry one, and answers must be reproducible.
const connectorEpoch = "2016-09-14T21:52:52.0000000Z"

type connectorMetaJSON struct {
	Source            string `json:"source"`
	BrandColor        string `json:"brandColor"`
	EnvironmentName   string `json:"environmentName,omitempty"`
	AllowSharing      bool   `json:"allowSharing"`
	UseNewAPIMVersion string `json:"useNewApimVersion"`
}

type connectorPropsJSON struct {
	DisplayName          string            `json:"displayName"`
	IconURI              string            `json:"iconUri"`
	IconBrandColor       string            `json:"iconBrandColor"`
	APIEnvironment       string            `json:"apiEnvironment"`
	IsCustomAPI          bool              `json:"isCustomApi"`
	ConnectionParameters json.RawMessage   `json:"connectionParameters"`
	RuntimeURLs          []string          `json:"runtimeUrls"`
	PrimaryRuntimeURL    string            `json:"primaryRuntimeUrl"`
	Metadata             connectorMetaJSON `json:"metadata"`
	Capabilities         []string          `json:"capabilities"`
	Description          string            `json:"description"`
	Publisher            string            `json:"publisher"`
	Tier                 string            `json:"tier"`
	CreatedTime          string            `json:"createdTime"`
	ChangedTime          string            `json:"changedTime"`
}

type connectorJSON struct {
	Name       string             `json:"name"`
	ID         string             `json:"id"`
	Type       string             `json:"type"`
	Properties connectorPropsJSON `json:"properties"`
}

// oauthParameters is the connectionParameters of an OAuth connector; the
// client id is a stable fake.
func oauthParameters(c *connectorRec) json.RawMessage {
	return json.RawMessage(`{"token":{"type":"oauthSetting","oAuthSettings":{"identityProvider":"aad","clientId":"` +
		guidFrom("oauth:"+c.key) + `","scopes":[],"redirectMode":"Global","redirectUrl":"https://global.consent.azure-apim.net/redirect"},"uiDefinition":{"displayName":"Login with your credentials","description":"Log in to this service.","tooltip":"Provide credentials","constraints":{"required":"true"}}}}`)
}

func apiSlug(name string) string { return strings.TrimPrefix(lower(name), "shared_") }

func brandColor(key string) string { return "#" + hexFrom("brand:"+key, 3) }

func (st *state) renderConnector(c *connectorRec, e *envRec) connectorJSON {
	slug := apiSlug(string(c.Name))
	params := json.RawMessage(`{}`)
	if c.OAuth {
		params = oauthParameters(c)
	}
	tier := c.Tier
	if tier == "" {
		tier = "Standard"
	}
	publisher := c.Publisher
	if publisher == "" {
		publisher = "Microsoft"
	}
	runtime := "https://" + lower(e.Location) + "-002.azure-apim.net/apim/" + slug
	out := connectorJSON{
		Name: string(c.Name),
		ID:   "/providers/Microsoft.PowerApps/apis/" + string(c.Name),
		Type: "Microsoft.PowerApps/apis",
		Properties: connectorPropsJSON{
			DisplayName:          c.DisplayName,
			IconURI:              "https://connectoricons-prod.azureedge.net/releases/v1.0.1700/1.0.1700.3800/" + slug + "/icon.png",
			IconBrandColor:       brandColor(c.key),
			APIEnvironment:       "Shared",
			IsCustomAPI:          c.Custom,
			ConnectionParameters: params,
			RuntimeURLs:          []string{runtime},
			PrimaryRuntimeURL:    runtime,
			Metadata:             connectorMetaJSON{Source: "marketplace", BrandColor: brandColor(c.key), UseNewAPIMVersion: "true"},
			Capabilities:         []string{"actions"},
			Description:          c.DisplayName + " connector.",
			Publisher:            publisher,
			Tier:                 tier,
			CreatedTime:          connectorEpoch,
			ChangedTime:          connectorEpoch,
		},
	}
	if c.Custom {
		out.Properties.Metadata.Source = "powerapps-user-defined"
		out.Properties.Metadata.EnvironmentName = string(e.Name)
		out.Properties.APIEnvironment = "Environment"
	}
	return out
}

var customFilterRE = regexp.MustCompile(`(?i)^\s*iscustomapi\s+eq\s+'?(true|false)'?\s*$`)

// filterEnvOf resolves the PowerApps $filter environment.
func filterEnvOf(st *state, c *call) (*envRec, *response) {
	e := st.env(c.filterEnv)
	if e == nil {
		return nil, envDenied(c.filterEnv)
	}
	return e, nil
}

func noExtraFilter(c *call) *response {
	if c.filterRest != "" {
		return errResp(http.StatusBadRequest, api.CodeInvalidFilter, "The $filter clause '%s' is not supported here.", c.filterRest)
	}
	return nil
}

// listConnectors lists the connectors available in the filter's
// environment; "and IsCustomApi eq 'True'" narrows to custom ones.
func (s *Server) listConnectors(c *call) *response {
	custom := -1
	if c.filterRest != "" {
		m := customFilterRE.FindStringSubmatch(c.filterRest)
		if m == nil {
			return noExtraFilter(c)
		}
		custom = 0
		if lower(m[1]) == "true" {
			custom = 1
		}
	}
	return s.read(func(st *state) *response {
		e, resp := filterEnvOf(st, c)
		if resp != nil {
			return resp
		}
		out := listJSON[connectorJSON]{Value: []connectorJSON{}}
		for _, con := range st.connOrder {
			if st.connectorIn(string(con.Name), e) == nil || (custom >= 0 && con.Custom != (custom == 1)) {
				continue
			}
			out.Value = append(out.Value, st.renderConnector(con, e))
		}
		return jsonResp(http.StatusOK, out)
	})
}

func apiNotFound(name string, e *envRec) *response {
	return errResp(http.StatusNotFound, api.CodeAPINotFound, "The API '%s' could not be found in environment '%s'.", name, e.Name)
}

func (s *Server) getConnector(c *call) *response {
	if resp := noExtraFilter(c); resp != nil {
		return resp
	}
	return s.read(func(st *state) *response {
		e, resp := filterEnvOf(st, c)
		if resp != nil {
			return resp
		}
		con := st.connectorIn(c.p.api, e)
		if con == nil {
			return apiNotFound(c.p.api, e)
		}
		return jsonResp(http.StatusOK, st.renderConnector(con, e))
	})
}

type connStatusJSON struct {
	Status string          `json:"status"`
	Target string          `json:"target,omitempty"`
	Error  *api.ErrorEntry `json:"error,omitempty"`
}

type testLinkJSON struct {
	RequestURI string `json:"requestUri"`
	Method     string `json:"method"`
}

type connEnvJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type connectionPropsJSON struct {
	APIID                string           `json:"apiId"`
	DisplayName          string           `json:"displayName"`
	IconURI              string           `json:"iconUri"`
	IconBrandColor       string           `json:"iconBrandColor"`
	Statuses             []connStatusJSON `json:"statuses"`
	ConnectionParameters json.RawMessage  `json:"connectionParameters"`
	KeywordsRemaining    int              `json:"keywordsRemaining"`
	CreatedBy            *principalJSON   `json:"createdBy,omitempty"`
	CreatedTime          string           `json:"createdTime,omitempty"`
	LastModifiedTime     string           `json:"lastModifiedTime,omitempty"`
	TestLinks            []testLinkJSON   `json:"testLinks"`
	Environment          connEnvJSON      `json:"environment"`
	AllowSharing         bool             `json:"allowSharing"`
}

type connectionJSON struct {
	Name       string              `json:"name"`
	ID         string              `json:"id"`
	Type       string              `json:"type"`
	Properties connectionPropsJSON `json:"properties"`
}

// statuses: Connected, or the unauthenticated error an OAuth connection
// shows until a person signs in.
func statuses(status string) []connStatusJSON {
	if status == statusConnected {
		return []connStatusJSON{{Status: statusConnected}}
	}
	return []connStatusJSON{{Status: statusError, Target: "token", Error: &api.ErrorEntry{
		Code: "Unauthenticated", Message: "This connection is not authenticated. A person must sign in to it.",
	}}}
}

func (st *state) renderConnection(e *envRec, c *connRec, admin bool) connectionJSON {
	slug := apiSlug(string(c.API))
	out := connectionJSON{
		Name: string(c.Name),
		ID:   "/providers/Microsoft.PowerApps/apis/" + string(c.API) + "/connections/" + string(c.Name),
		Type: "Microsoft.PowerApps/apis/connections",
		Properties: connectionPropsJSON{
			APIID:                "/providers/Microsoft.PowerApps/apis/" + string(c.API),
			DisplayName:          c.DisplayName,
			IconURI:              "https://connectoricons-prod.azureedge.net/releases/v1.0.1700/1.0.1700.3800/" + slug + "/icon.png",
			IconBrandColor:       brandColor(lower(string(c.API))),
			Statuses:             statuses(c.Status),
			ConnectionParameters: json.RawMessage(`{}`),
			TestLinks:            []testLinkJSON{},
			Environment:          connEnvJSON{ID: "/providers/Microsoft.PowerApps/environments/" + string(e.Name), Name: string(e.Name)},
		},
	}
	if admin {
		out.ID = "/providers/Microsoft.PowerApps/scopes/admin/environments/" + string(e.Name) + "/apis/" + string(c.API) + "/connections/" + string(c.Name)
	}
	if !c.CreatedTime.IsZero() {
		out.Properties.CreatedTime = wireTime(c.CreatedTime)
		out.Properties.LastModifiedTime = wireTime(c.CreatedTime)
	}
	if c.CreatedBy != "" {
		pj := &principalJSON{ID: string(c.CreatedBy), Type: api.PrincipalUser, TenantID: st.tenant}
		if p := st.principal(string(c.CreatedBy)); p != nil {
			pj.DisplayName, pj.Email, pj.Type, pj.UserPrincipalName = p.DisplayName, p.Email, p.Type, p.UPN
		}
		out.Properties.CreatedBy = pj
	}
	return out
}

// listMyConnections lists the caller's connections in the filter's
// environment. Decision: the snapshot has no connection sharing, so "mine"
// is what the caller created plus connections with no recorded creator
// (seed connections meant for everyone).
func (s *Server) listMyConnections(c *call) *response {
	if resp := noExtraFilter(c); resp != nil {
		return resp
	}
	p, resp := s.readPage(c, s.opts.PageSize)
	if resp != nil {
		return resp
	}
	return s.read(func(st *state) *response {
		e, resp := filterEnvOf(st, c)
		if resp != nil {
			return resp
		}
		items, next := collect(c, p, e.connKeys, func(k string) (connectionJSON, bool) {
			con := e.conns[k]
			if con.CreatedBy != "" && !strings.EqualFold(string(con.CreatedBy), c.callerID()) {
				return connectionJSON{}, false
			}
			return st.renderConnection(e, con, false), true
		})
		return jsonResp(http.StatusOK, listJSON[connectionJSON]{Value: items, NextLink: next})
	})
}

// listConnectionsAsAdmin lists every connection of an environment, paged.
func (s *Server) listConnectionsAsAdmin(c *call) *response {
	p, resp := s.readPage(c, s.opts.PageSize)
	if resp != nil {
		return resp
	}
	return s.read(func(st *state) *response {
		e, resp := envOf(st, c.p.env)
		if resp != nil {
			return resp
		}
		items, next := collect(c, p, e.connKeys, func(k string) (connectionJSON, bool) {
			return st.renderConnection(e, e.conns[k], true), true
		})
		return jsonResp(http.StatusOK, listJSON[connectionJSON]{Value: items, NextLink: next})
	})
}

var connNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)

// createConnection is the PowerApps connection PUT. Connection parameters
// are accepted and never stored or echoed (they may hold secrets). OAuth
// connectors' connections are created unauthenticated.
func (s *Server) createConnection(c *call) *response {
	if resp := noExtraFilter(c); resp != nil {
		return resp
	}
	if !connNameRE.MatchString(c.p.conn) {
		return errResp(http.StatusBadRequest, api.CodeInvalidRequestContent,
			"The connection name '%s' is not valid: use letters, digits, '-', '_' and '.'.", c.p.conn)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(c.body, &top); err != nil {
		return errResp(http.StatusBadRequest, api.CodeInvalidRequestContent, "The request content is not a JSON object.")
	}
	rawProps := bytes.TrimSpace(top["properties"])
	if len(rawProps) == 0 || rawProps[0] != '{' {
		return errResp(http.StatusBadRequest, api.CodeInvalidRequestContent, "The request content must have a 'properties' object.")
	}
	var props struct {
		Environment *struct {
			Name string `json:"name"`
		} `json:"environment"`
		DisplayName          *string         `json:"displayName"`
		ConnectionParameters json.RawMessage `json:"connectionParameters"`
	}
	if err := json.Unmarshal(rawProps, &props); err != nil {
		return errResp(http.StatusBadRequest, api.CodeInvalidRequestContent, "The connection properties are not well formed.")
	}
	if p := bytes.TrimSpace(props.ConnectionParameters); len(p) > 0 && p[0] != '{' && string(p) != "null" {
		return errResp(http.StatusBadRequest, api.CodeInvalidRequestContent, "The property 'properties.connectionParameters' must be an object.")
	}
	return s.mutate(c, func(st *state) *response {
		e, resp := filterEnvOf(st, c)
		if resp != nil {
			return resp
		}
		if props.Environment != nil && props.Environment.Name != "" && st.env(props.Environment.Name) != e {
			return errResp(http.StatusBadRequest, api.CodeInvalidRequestContent,
				"The body's environment '%s' differs from the $filter's environment '%s'.", props.Environment.Name, c.filterEnv)
		}
		con := st.connectorIn(c.p.api, e)
		if con == nil {
			return apiNotFound(c.p.api, e)
		}
		display := con.DisplayName
		if props.DisplayName != nil && *props.DisplayName != "" {
			display = *props.DisplayName
		}
		if old := e.conns[lower(c.p.conn)]; old != nil {
			if lower(string(old.API)) != con.key {
				return errResp(http.StatusConflict, "ConnectionNameConflict",
					"The connection name '%s' is already used by a connection of api '%s'.", c.p.conn, old.API)
			}
			old.DisplayName = display
			return jsonResp(http.StatusOK, st.renderConnection(e, old, false))
		}
		status := statusConnected
		if con.OAuth {
			status = statusError
		}
		rec := &connRec{
			Connection: Connection{
				Environment: e.Name,
				API:         con.Name,
				Name:        api.ConnectionName(c.p.conn),
				DisplayName: display,
				Status:      status,
				CreatedBy:   c.caller.ID,
				CreatedTime: c.now,
			},
			key: lower(c.p.conn),
		}
		e.addConn(rec)
		return jsonResp(http.StatusCreated, st.renderConnection(e, rec, false))
	})
}
