package emulator

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/token"
)

// Microsoft Graph's directoryObjects/getByIds, the way the real tools turn
// principal ids into names and learn which ids the directory does not know
// (CONTRACT.md lacks this row; the facts are Microsoft Graph's published
// reference for directoryObject: getByIds):
//
//	POST /v1.0/directoryObjects/getByIds
//	{"ids":["<object id>",…],"types":["user","group","servicePrincipal"]}
//	→ 200 {"@odata.context":…,"value":[{"@odata.type":"#microsoft.graph.user","id":…,"displayName":…},…]}
//
// At most 1000 ids a call; ids the directory does not know are left out of
// value (no error). The emulator serves it from the snapshot's principals.

const (
	provGraph = "microsoft.graph" // the route provider of Graph paths
	graphOp   = "principals"      // FaultRule.Op of getByIds
	graphPath = "/v1.0/directoryobjects/getbyids"
	// MaxGraphIDs is the most ids one getByIds call takes.
	MaxGraphIDs = 1000
)

// graphRoute is getByIds; it has no api-version and is not throttled with
// the Power Automate limits (Graph throttles on its own, far higher).
var graphRoute = route{op: graphOp, provider: provGraph, method: http.MethodPost, handle: (*Server).getByIDs}

func isGraphPath(path string) bool { return lower(strings.TrimSuffix(path, "/")) == graphPath }

func matchGraph(method string) matched {
	if method != http.MethodPost {
		return matched{resp: graphError(http.StatusMethodNotAllowed, "Request_BadRequest",
			"Specified HTTP method is not allowed for the request target.").setHeader("Allow", http.MethodPost)}
	}
	return matched{rt: &graphRoute}
}

// graphError is Graph's error envelope: {"error":{"code","message"}}.
func graphError(status int, code, msg string) *response {
	return jsonResp(status, api.ErrorBody{Error: api.ErrorEntry{Code: code, Message: msg}})
}

// graphAudience reports whether a token audience is Microsoft Graph's, in
// any cloud (the app id, or the host with or without /.default).
func graphAudience(aud string) bool {
	if aud == "" {
		return true // /_emulator/token without an audience: accepted everywhere
	}
	a := lower(strings.TrimSuffix(aud, "/.default"))
	a = strings.TrimSuffix(strings.TrimPrefix(a, "https://"), "/")
	switch a {
	case "00000003-0000-0000-c000-000000000000", "graph.microsoft.com", "graph.microsoft.us",
		"dod-graph.microsoft.us", "microsoftgraph.chinacloudapi.cn":
		return true
	}
	return false
}

// handleGraph authenticates a Graph call and runs it. The caller must be a
// principal of the tenant, as on the other paths.
// Uncertain: the emulator does not check Directory.Read.All (delegated scp
// or application roles): its tokens do not carry Graph permissions.
func (s *Server) handleGraph(r *http.Request, rt *route) (*call, *response) {
	invalid := func(msg string) (*call, *response) {
		return nil, graphError(http.StatusUnauthorized, api.CodeInvalidAuthenticationToken, msg).
			setHeader("WWW-Authenticate", `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize"`)
	}
	scheme, raw, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	raw = strings.TrimSpace(raw)
	if !strings.EqualFold(scheme, "Bearer") || raw == "" {
		return invalid("Access token is empty.")
	}
	claims, err := token.Parse(raw)
	if err != nil {
		return invalid("Access token validation failure: not a well-formed JWT.")
	}
	if !graphAudience(claims.Audience) {
		return invalid("Access token validation failure. Invalid audience.")
	}
	if problem := lifetimeProblem(claims, s.tokenNow()); problem != "" {
		// Uncertain: Graph's wording for a token outside its lifetime varies
		// between reports; the code is InvalidAuthenticationToken in all.
		return invalid("Lifetime validation failed, the token is " + problem + ".")
	}
	caller, ok := s.caller(claims)
	if !ok {
		return invalid("Access token validation failure: the caller is not a principal of this tenant.")
	}
	c := &call{r: r, rt: rt, q: r.URL.Query(), claims: claims, caller: caller, identity: claims.Identity(), now: s.Now()}
	body, resp := readBody(r)
	if resp != nil {
		return c, resp
	}
	c.body = body
	return c, rt.handle(s, c)
}

// graphTypes maps getByIds' type names (case-insensitive) to principal types.
var graphTypes = map[string]string{
	"user":             api.PrincipalUser,
	"group":            api.PrincipalGroup,
	"serviceprincipal": api.PrincipalServicePrincipal,
}

type graphObject struct {
	ODataType         string `json:"@odata.type"`
	ID                string `json:"id"`
	DisplayName       string `json:"displayName,omitempty"`
	UserPrincipalName string `json:"userPrincipalName,omitempty"`
	Mail              string `json:"mail,omitempty"`
	AppID             string `json:"appId,omitempty"`
}

type graphList struct {
	Context string        `json:"@odata.context"`
	Value   []graphObject `json:"value"`
}

// getByIDs answers directoryObjects/getByIds in the order of the ids asked.
// Uncertain: Graph documents no order for value; asking order is kept so
// that answers are stable.
func (s *Server) getByIDs(c *call) *response {
	var req struct {
		IDs   []string `json:"ids"`
		Types []string `json:"types"`
	}
	if err := json.Unmarshal(c.body, &req); err != nil {
		return graphError(http.StatusBadRequest, "Request_BadRequest", "The request body is not valid JSON: "+err.Error())
	}
	// Uncertain: the codes and wording of Graph's answers to bad getByIds
	// bodies were not captured; 400 Request_BadRequest is its general form.
	switch {
	case len(req.IDs) == 0:
		return graphError(http.StatusBadRequest, "Request_BadRequest", "The 'ids' parameter is required and must not be empty.")
	case len(req.IDs) > MaxGraphIDs:
		return graphError(http.StatusBadRequest, "Request_BadRequest", "Too many ids: at most 1000 may be resolved in one request.")
	}
	want := map[string]bool{}
	for _, t := range req.Types {
		pt, ok := graphTypes[lower(t)]
		if !ok {
			return graphError(http.StatusBadRequest, "Request_BadRequest", "Unsupported type '"+t+"' in 'types'.")
		}
		want[pt] = true
	}
	for _, id := range req.IDs {
		if !isGUID(id) {
			return graphError(http.StatusBadRequest, "Request_BadRequest", "Invalid object identifier '"+id+"'.")
		}
	}
	return s.read(func(st *state) *response {
		out := graphList{Context: "https://graph.microsoft.com/v1.0/$metadata#directoryObjects", Value: []graphObject{}}
		var seen []string
		for _, id := range req.IDs {
			p := st.principal(id)
			if p == nil || slices.Contains(seen, lower(id)) || (len(want) > 0 && !want[p.Type]) {
				continue
			}
			seen = append(seen, lower(id))
			o := graphObject{ID: string(p.ID), DisplayName: p.DisplayName}
			switch p.Type {
			case api.PrincipalUser:
				o.ODataType, o.UserPrincipalName, o.Mail = "#microsoft.graph.user", p.UPN, p.Email
			case api.PrincipalGroup:
				o.ODataType, o.Mail = "#microsoft.graph.group", p.Email
			case api.PrincipalServicePrincipal:
				o.ODataType, o.AppID = "#microsoft.graph.servicePrincipal", p.AppID
			default:
				continue // a tenant is no directory object
			}
			out.Value = append(out.Value, o)
		}
		return jsonResp(http.StatusOK, out)
	})
}

// isGUID reports whether s has the 8-4-4-4-12 hex form of an object id.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}
