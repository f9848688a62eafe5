package entra

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// oauthError is an error in the shape Entra's token endpoint returns it.
// The AADSTS numbers of the common failures match the real service.
//
// Uncertain: the codes for malformed or mis-addressed client assertions
// (50027, 700021, 700024, 700027) and conflicting credentials are the ones
// public reports show for similar failures; the real service may pick others.
type oauthError struct {
	status      int
	code        string // invalid_client, invalid_request, …
	aadsts      int
	description string
}

func (e oauthError) Error() string { return fmt.Sprintf("AADSTS%d: %s", e.aadsts, e.description) }

func unknownTenant(tenant string) oauthError {
	return oauthError{http.StatusBadRequest, "invalid_request", 90002, fmt.Sprintf(
		"Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenant)}
}

func missingParameter(name string) oauthError {
	return oauthError{http.StatusBadRequest, "invalid_request", 900144, fmt.Sprintf(
		"The request body must contain the following parameter: '%s'.", name)}
}

func unknownApp(appID, tenant string) oauthError {
	return oauthError{http.StatusBadRequest, "unauthorized_client", 700016, fmt.Sprintf(
		"Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.", appID, tenant)}
}

func invalidSecret(appID string) oauthError {
	return oauthError{http.StatusUnauthorized, "invalid_client", 7000215, fmt.Sprintf(
		"Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", appID)}
}

func invalidAssertion(aadsts int, format string, args ...any) oauthError {
	return oauthError{http.StatusUnauthorized, "invalid_client", aadsts, fmt.Sprintf(format, args...)}
}

// writeError writes e with the trace fields real responses carry; nothing a
// client sent as a credential is ever echoed.
func (s *server) writeError(w http.ResponseWriter, r *http.Request, e oauthError) {
	now := s.cfg.Now().UTC()
	correlation := r.Header.Get("client-request-id")
	if len(correlation) > 64 {
		correlation = correlation[:64]
	}
	if correlation == "" {
		correlation = "00000000-0000-0000-0000-000000000000"
	}
	trace := "00000000-0000-0000-0000-000000000000"
	stamp := now.Format("2006-01-02 15:04:05Z")
	writeJSON(w, e.status, map[string]any{
		"error": e.code,
		"error_description": fmt.Sprintf("AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s",
			e.aadsts, e.description, trace, correlation, stamp),
		"error_codes":    []int{e.aadsts},
		"timestamp":      stamp,
		"trace_id":       trace,
		"correlation_id": correlation,
		"error_uri":      baseURL(r) + "/error?code=" + fmt.Sprint(e.aadsts),
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store, no-cache")
	w.Header().Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client went away; nothing to do
}
