package entra

import (
	"net/http"
	"net/url"
	"strings"
)

// openIDConfiguration serves the tenant's OpenID metadata. Token libraries
// read token_endpoint, authorization_endpoint and issuer, and check that the
// issuer's host is the authority's host.
func (s *server) openIDConfiguration(ver version) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		segment := r.PathValue("tenant")
		tid, ok := s.tenantOf(segment)
		if !ok && !isMultiTenant(segment) {
			s.writeError(w, r, unknownTenant(segment))
			return
		}
		if !ok {
			// Entra names no tenant in the issuer of the multi-tenant aliases.
			tid = "{tenantid}"
		}
		base := baseURL(r)
		path := base + "/" + segment
		m := map[string]any{
			"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
			"response_modes_supported":              []string{"query", "fragment", "form_post"},
			"subject_types_supported":               []string{"pairwise"},
			"id_token_signing_alg_values_supported": []string{"RS256"},
			"response_types_supported":              []string{"code", "id_token", "code id_token", "token id_token", "token"},
			"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
			"request_uri_parameter_supported":       false,
			"http_logout_supported":                 true,
			"frontchannel_logout_supported":         true,
			"claims_supported":                      []string{"sub", "iss", "aud", "exp", "iat", "nbf", "tid", "oid", "appid", "idtyp", "wids"},
			"tenant_region_scope":                   "NA",
			"cloud_instance_name":                   r.Host,
		}
		if ver == v2 {
			m["token_endpoint"] = path + "/oauth2/v2.0/token"
			m["authorization_endpoint"] = path + "/oauth2/v2.0/authorize"
			m["device_authorization_endpoint"] = path + "/oauth2/v2.0/devicecode"
			m["end_session_endpoint"] = path + "/oauth2/v2.0/logout"
			m["jwks_uri"] = path + "/discovery/v2.0/keys"
			m["issuer"] = base + "/" + tid + "/v2.0"
		} else {
			m["token_endpoint"] = path + "/oauth2/token"
			m["authorization_endpoint"] = path + "/oauth2/authorize"
			m["device_authorization_endpoint"] = path + "/oauth2/devicecode"
			m["end_session_endpoint"] = path + "/oauth2/logout"
			m["jwks_uri"] = path + "/discovery/keys"
			// Uncertain: real v1 metadata names sts.windows.net; libraries
			// compare the issuer's host with the authority's, so the emulator
			// names itself.
			m["issuer"] = base + "/" + tid + "/"
		}
		writeJSON(w, http.StatusOK, m)
	}
}

// instanceDiscovery answers the metadata request Entra libraries send before
// their first token unless instance discovery is disabled: it declares this
// host the only alias of itself.
func (s *server) instanceDiscovery(w http.ResponseWriter, r *http.Request) {
	segment := r.PathValue("tenant")
	if _, ok := s.tenantOf(segment); !ok && !isMultiTenant(segment) {
		s.writeError(w, r, unknownTenant(segment))
		return
	}
	tenant := segment
	// The library names the tenant it wants in authorization_endpoint.
	if u, err := url.Parse(r.URL.Query().Get("authorization_endpoint")); err == nil {
		if first, _, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/"); first != "" {
			tenant = first
		}
	}
	host := r.Host
	writeJSON(w, http.StatusOK, map[string]any{
		"tenant_discovery_endpoint": baseURL(r) + "/" + tenant + "/v2.0/.well-known/openid-configuration",
		"api-version":               "1.1",
		"metadata": []map[string]any{{
			"preferred_network": host,
			"preferred_cache":   host,
			"aliases":           []string{host},
		}},
	})
}

// keys serves an empty key set: the emulator's tokens are unsigned, and the
// emulator checks their claims, not signatures (CONTRACT.md decision 2).
func (s *server) keys(w http.ResponseWriter, r *http.Request) {
	segment := r.PathValue("tenant")
	if _, ok := s.tenantOf(segment); !ok && !isMultiTenant(segment) {
		s.writeError(w, r, unknownTenant(segment))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"keys": []any{}})
}
