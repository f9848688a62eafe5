package emulator

import (
	"net/http"

	"github.com/flowsync/flowsync/internal/api"
)

type envJSON struct {
	Name       string       `json:"name"`
	Location   string       `json:"location"`
	Type       string       `json:"type"`
	ID         string       `json:"id"`
	Properties envPropsJSON `json:"properties"`
}

type envPropsJSON struct {
	DisplayName               string            `json:"displayName"`
	CreatedTime               string            `json:"createdTime,omitempty"`
	CreatedBy                 *principalJSON    `json:"createdBy,omitempty"`
	ProvisioningState         string            `json:"provisioningState"`
	CreationType              string            `json:"creationType"`
	EnvironmentSku            string            `json:"environmentSku"`
	EnvironmentType           string            `json:"environmentType"`
	IsDefault                 bool              `json:"isDefault"`
	AzureRegionHint           string            `json:"azureRegionHint"`
	RuntimeEndpoints          map[string]string `json:"runtimeEndpoints"`
	LinkedEnvironmentMetadata *linkedEnvJSON    `json:"linkedEnvironmentMetadata,omitempty"`
}

type linkedEnvJSON struct {
	ResourceID     string `json:"resourceId"`
	UniqueName     string `json:"uniqueName"`
	InstanceURL    string `json:"instanceUrl"`
	InstanceAPIURL string `json:"instanceApiUrl"`
	Version        string `json:"version"`
}

type principalJSON struct {
	ID                string `json:"id"`
	DisplayName       string `json:"displayName,omitempty"`
	Email             string `json:"email,omitempty"`
	Type              string `json:"type"`
	TenantID          string `json:"tenantId,omitempty"`
	UserPrincipalName string `json:"userPrincipalName,omitempty"`
}

type listJSON[T any] struct {
	Value    []T    `json:"value"`
	NextLink string `json:"nextLink,omitempty"`
}

// azureRegion maps an environment location to an Azure region, for the
// regional hosts that appear in URLs.
func azureRegion(location string) string {
	switch lower(location) {
	case "europe":
		return "westeurope"
	case "unitedkingdom":
		return "uksouth"
	case "asia":
		return "southeastasia"
	case "australia":
		return "australiaeast"
	case "japan":
		return "japaneast"
	case "india":
		return "centralindia"
	case "canada":
		return "canadacentral"
	case "france":
		return "francecentral"
	case "germany":
		return "germanywestcentral"
	default:
		return "westus"
	}
}

// orgName is a stable fake Dataverse organisation name for an environment.
func orgName(e *envRec) string {
	return "org" + shortHash(e.key)
}

// renderEnv writes an environment as the Flow RP (provider ProcessSimple)
// or BAP returns it.
func (st *state) renderEnv(e *envRec, provider string) envJSON {
	sku := e.Sku
	if sku == "" {
		sku = "Production"
		if e.IsDefault {
			sku = "Default"
		}
	}
	creation := "User"
	if e.IsDefault {
		creation = "DefaultTenant"
	}
	loc := e.Location
	out := envJSON{
		Name:     string(e.Name),
		Location: loc,
		Properties: envPropsJSON{
			DisplayName:       e.DisplayName,
			ProvisioningState: "Succeeded",
			CreationType:      creation,
			EnvironmentSku:    sku,
			EnvironmentType:   sku,
			IsDefault:         e.IsDefault,
			AzureRegionHint:   azureRegion(loc),
			RuntimeEndpoints: map[string]string{
				"microsoft.BusinessAppPlatform": "https://" + loc + ".api.bap.microsoft.com",
				"microsoft.CommonDataModel":     "https://" + loc + ".api.cds.microsoft.com",
				"microsoft.PowerApps":           "https://" + loc + ".api.powerapps.com",
				"microsoft.Flow":                "https://" + loc + ".api.flow.microsoft.com",
			},
		},
	}
	if !e.CreatedTime.IsZero() {
		out.Properties.CreatedTime = wireTime(e.CreatedTime)
	}
	out.Properties.CreatedBy = &principalJSON{ID: "SYSTEM", DisplayName: "SYSTEM", Type: "NotSpecified"}
	if e.Dataverse {
		org := orgName(e)
		out.Properties.LinkedEnvironmentMetadata = &linkedEnvJSON{
			ResourceID:     guidFrom("org:" + e.key),
			UniqueName:     "unq" + shortHash("unique:"+e.key),
			InstanceURL:    "https://" + org + ".crm.dynamics.com/",
			InstanceAPIURL: "https://" + org + ".api.crm.dynamics.com",
			Version:        "9.2.25000.00000",
		}
	}
	switch provider {
	case provBAP:
		out.Type = "Microsoft.BusinessAppPlatform/scopes/environments"
		out.ID = "/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments/" + string(e.Name)
	default:
		out.Type = "Microsoft.ProcessSimple/environments"
		out.ID = "/providers/Microsoft.ProcessSimple/environments/" + string(e.Name)
	}
	return out
}

// envOf resolves a path's {env}, ~default included; unknown is 403
// EnvironmentAccessDenied (the service does not say "not found").
func envOf(st *state, name string) (*envRec, *response) {
	e := st.env(name)
	if e == nil {
		return nil, envDenied(name)
	}
	return e, nil
}

func envDenied(name string) *response {
	return errResp(http.StatusForbidden, api.CodeEnvironmentAccessDenied, "Access to the environment '%s' is denied.", name)
}

func (s *Server) listEnvironments(c *call) *response {
	return s.read(func(st *state) *response {
		out := listJSON[envJSON]{Value: []envJSON{}}
		for _, e := range st.envOrder {
			out.Value = append(out.Value, st.renderEnv(e, provFlow))
		}
		return jsonResp(http.StatusOK, out)
	})
}

func (s *Server) getEnvironment(c *call) *response {
	return s.read(func(st *state) *response {
		e, resp := envOf(st, c.p.env)
		if resp != nil {
			return resp
		}
		return jsonResp(http.StatusOK, st.renderEnv(e, provFlow))
	})
}

// listEnvironmentsBAP is the admin list a service principal uses to find
// environments. $expand and $select are accepted and ignored.
func (s *Server) listEnvironmentsBAP(c *call) *response {
	return s.read(func(st *state) *response {
		out := listJSON[envJSON]{Value: []envJSON{}}
		for _, e := range st.envOrder {
			out.Value = append(out.Value, st.renderEnv(e, provBAP))
		}
		return jsonResp(http.StatusOK, out)
	})
}
