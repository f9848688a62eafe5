package emulator

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/token"
)

// Providers (lower-cased) whose paths the emulator serves.
const (
	provFlow      = "microsoft.processsimple"
	provPowerApps = "microsoft.powerapps"
	provBAP       = "microsoft.businessappplatform"
)

// scope says whether a route answers under scopes/admin, without it, or both.
type scope uint8

const (
	userScope scope = 1 << iota
	adminScope
	bothScopes = userScope | adminScope
)

var (
	v2016       = []string{api.APIVersion}
	v2016Or2017 = []string{api.APIVersion, "2017-06-01"}
	v2016Or2020 = []string{api.APIVersion, "2020-10-01"}
	v2016Or2021 = []string{api.APIVersion, api.ConnectionPutAPIVersion}
)

// route is one operation of CONTRACT.md's table.
type route struct {
	// op names the operation for targeted faults (FaultRule.Op); routes of
	// one operation in both scopes share it.
	op       string
	provider string
	method   string
	segs     []string // literal segments, or {env} {flow} {trigger} {run} {api} {conn}
	scopes   scope
	versions []string
	// envFilter marks PowerApps user-scope calls, which name the environment
	// with $filter=environment eq '{env}'.
	envFilter bool
	handle    func(*Server, *call) *response
}

func r(op, provider, method, path string, sc scope, versions []string, h func(*Server, *call) *response) route {
	return route{op: op, provider: provider, method: method, segs: strings.Split(path, "/"), scopes: sc, versions: versions, handle: h}
}

// routes is the whole API surface. Order does not matter: no two routes
// share a method and shape.
var routes = func() []route {
	pa := func(rt route) route { rt.envFilter = true; return rt }
	return []route{
		r("envs", provFlow, http.MethodGet, "environments", userScope, v2016, (*Server).listEnvironments),
		r("env", provFlow, http.MethodGet, "environments/{env}", userScope, v2016, (*Server).getEnvironment),
		r("list", provFlow, http.MethodGet, "environments/{env}/flows", userScope, v2016, (*Server).listMyFlows),
		r("create", provFlow, http.MethodPost, "environments/{env}/flows", userScope, v2016, (*Server).createFlow),
		r("list", provFlow, http.MethodGet, "environments/{env}/v2/flows", adminScope, v2016, (*Server).listFlowsAsAdmin),
		r("get", provFlow, http.MethodGet, "environments/{env}/flows/{flow}", bothScopes, v2016, (*Server).getFlow),
		r("update", provFlow, http.MethodPatch, "environments/{env}/flows/{flow}", userScope, v2016, (*Server).updateFlow),
		r("delete", provFlow, http.MethodDelete, "environments/{env}/flows/{flow}", bothScopes, v2016, (*Server).deleteFlow),
		r("start", provFlow, http.MethodPost, "environments/{env}/flows/{flow}/start", bothScopes, v2016, (*Server).startFlow),
		r("stop", provFlow, http.MethodPost, "environments/{env}/flows/{flow}/stop", bothScopes, v2016, (*Server).stopFlow),
		r("restore", provFlow, http.MethodPost, "environments/{env}/flows/{flow}/restore", adminScope, v2016, (*Server).restoreFlow),
		r("permissions", provFlow, http.MethodGet, "environments/{env}/flows/{flow}/permissions", bothScopes, v2016, (*Server).listPermissions),
		r("permissions", provFlow, http.MethodGet, "environments/{env}/flows/{flow}/owners", bothScopes, v2016Or2017, (*Server).listPermissions),
		r("modify-permissions", provFlow, http.MethodPost, "environments/{env}/flows/{flow}/modifyPermissions", bothScopes, v2016, (*Server).modifyPermissions),
		r("callback-url", provFlow, http.MethodPost, "environments/{env}/flows/{flow}/triggers/{trigger}/listCallbackUrl", userScope, v2016, (*Server).listCallbackURL),
		r("triggers", provFlow, http.MethodGet, "environments/{env}/flows/{flow}/triggers", bothScopes, v2016, (*Server).listTriggers),
		r("resubmit", provFlow, http.MethodPost, "environments/{env}/flows/{flow}/triggers/{trigger}/histories/{run}/resubmit", userScope, v2016, (*Server).resubmitRun),
		r("runs", provFlow, http.MethodGet, "environments/{env}/flows/{flow}/runs", bothScopes, v2016, (*Server).listRuns),
		r("run", provFlow, http.MethodGet, "environments/{env}/flows/{flow}/runs/{run}", bothScopes, v2016, (*Server).getRun),
		r("cancel-run", provFlow, http.MethodPost, "environments/{env}/flows/{flow}/runs/{run}/cancel", userScope, v2016, (*Server).cancelRun),

		r("envs", provBAP, http.MethodGet, "environments", adminScope, v2016Or2020, (*Server).listEnvironmentsBAP),

		pa(r("connectors", provPowerApps, http.MethodGet, "apis", userScope, v2016, (*Server).listConnectors)),
		pa(r("connector", provPowerApps, http.MethodGet, "apis/{api}", userScope, v2016, (*Server).getConnector)),
		pa(r("connections", provPowerApps, http.MethodGet, "connections", userScope, v2016, (*Server).listMyConnections)),
		pa(r("create-connection", provPowerApps, http.MethodPut, "apis/{api}/connections/{conn}", userScope, v2016Or2021, (*Server).createConnection)),
		r("connections", provPowerApps, http.MethodGet, "environments/{env}/connections", adminScope, v2016, (*Server).listConnectionsAsAdmin),
	}
}()

// isWrite reports whether a call of rt with method counts as a write (for
// throttling, stats and the write hook): every non-GET call of the Power
// Automate APIs. Graph's getByIds is a POST that only reads.
func (rt *route) isWrite(method string) bool {
	return method != http.MethodGet && rt.provider != provGraph
}

// params are the path parameters a route captured.
type params struct {
	env, flow, trigger, run, api, conn string
}

func (p *params) set(name, v string) {
	switch name {
	case "{env}":
		p.env = v
	case "{flow}":
		p.flow = v
	case "{trigger}":
		p.trigger = v
	case "{run}":
		p.run = v
	case "{api}":
		p.api = v
	case "{conn}":
		p.conn = v
	}
}

// call is one API request on its way through the pipeline.
type call struct {
	r        *http.Request
	rt       *route
	admin    bool
	p        params
	q        url.Values
	claims   token.Claims
	caller   *principalRec
	identity string
	body     []byte
	now      time.Time
	// filterEnv and filterRest are the PowerApps $filter's environment and
	// any further clauses.
	filterEnv  string
	filterRest string
	mutated    bool
}

func (c *call) callerID() string { return string(c.caller.ID) }

// match finds the route for a path under /providers/. A path that matches
// no shape is 404; one that matches with another method is 405.
func match(method, path string) (*route, bool, params, *response) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	// segs[0] == "providers"
	if len(segs) < 3 {
		return nil, false, params{}, notFound(path)
	}
	provider := lower(segs[1])
	rest := segs[2:]
	admin := false
	if len(rest) >= 2 && strings.EqualFold(rest[0], "scopes") && strings.EqualFold(rest[1], "admin") {
		admin = true
		rest = rest[2:]
	}
	var allowed []string
	for i := range routes {
		rt := &routes[i]
		if rt.provider != provider || len(rt.segs) != len(rest) {
			continue
		}
		if admin && rt.scopes&adminScope == 0 || !admin && rt.scopes&userScope == 0 {
			continue
		}
		var p params
		ok := true
		for j, s := range rt.segs {
			if s[0] == '{' {
				if rest[j] == "" {
					ok = false
					break
				}
				p.set(s, rest[j])
				continue
			}
			if !strings.EqualFold(s, rest[j]) {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		if rt.method != method {
			allowed = append(allowed, rt.method)
			continue
		}
		return rt, admin, p, nil
	}
	if len(allowed) > 0 {
		slices.Sort(allowed)
		return nil, false, params{}, errResp(http.StatusMethodNotAllowed, "MethodNotAllowed",
			"The requested resource does not support http method '%s'.", method).setHeader("Allow", strings.Join(allowed, ", "))
	}
	return nil, false, params{}, notFound(path)
}

// notFound answers a path no operation serves.
// Uncertain: the service's exact answer for unknown paths was not captured.
func notFound(path string) *response {
	return errResp(http.StatusNotFound, "NotFound", "No operation is served at path '%s'.", path)
}

// Audience families: Flow tokens for Microsoft.ProcessSimple, PowerApps
// tokens for Microsoft.PowerApps and BAP (CONTRACT.md, token scopes).
const flowServiceAppID = "7df0a125-d3be-4c96-aa54-591f83ff541c"

// audienceFits reports whether a token audience may call provider.
// Uncertain: the service's audience checks are not documented. The emulator
// refuses an audience that belongs to another API (a PowerApps token on a
// Flow path, a Graph token anywhere) so that a client asking for the wrong
// scope fails here as it would against the service; a token without aud
// (minted by /_emulator/token) is accepted everywhere.
func audienceFits(aud, provider string) bool {
	if aud == "" {
		return true
	}
	a := lower(aud)
	a = strings.TrimSuffix(a, "/.default")
	a = strings.TrimPrefix(strings.TrimPrefix(a, "https://"), "http://")
	host, _, _ := strings.Cut(a, "/")
	switch provider {
	case provFlow:
		return strings.Contains(host, "service.flow.") || host == "management.azure.com" || host == flowServiceAppID
	default:
		return strings.Contains(host, "service.powerapps.") || strings.Contains(host, "service.apps.appsplatform.")
	}
}

// authenticate reads the bearer token and finds the caller among the
// tenant's principals (CONTRACT decision 2). Signatures are not checked.
func (s *Server) authenticate(r *http.Request, provider string) (token.Claims, *principalRec, *response) {
	h := r.Header.Get("Authorization")
	scheme, raw, _ := strings.Cut(h, " ")
	if h == "" {
		return token.Claims{}, nil, unauthorized("The 'Authorization' header is missing.")
	}
	raw = strings.TrimSpace(raw)
	if !strings.EqualFold(scheme, "Bearer") || raw == "" {
		return token.Claims{}, nil, unauthorized("The 'Authorization' header must carry a Bearer token.")
	}
	claims, err := token.Parse(raw)
	if err != nil {
		return token.Claims{}, nil, unauthorized("The access token is not a well-formed JWT.")
	}
	if !audienceFits(claims.Audience, provider) {
		return claims, nil, errResp(http.StatusUnauthorized, "InvalidAuthenticationTokenAudience",
			"The access token has an audience '%s' that does not fit this API.", claims.Audience).setHeader("WWW-Authenticate", `Bearer error="invalid_token"`)
	}
	if resp := s.checkLifetime(claims); resp != nil {
		return claims, nil, resp
	}
	p, ok := s.caller(claims)
	if !ok {
		return claims, nil, unauthorized("The access token's caller is not a principal of this tenant.")
	}
	return claims, p, nil
}

// caller finds the token's caller among the tenant's principals: a service
// principal by appid (and oid when given) for application tokens, a user by
// oid otherwise. A token from another tenant has no caller.
func (s *Server) caller(claims token.Claims) (*principalRec, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	st := s.st
	if st.tenant == "" || !strings.EqualFold(claims.TenantID, st.tenant) {
		return nil, false
	}
	var p *principalRec
	if claims.IsApp() {
		p = st.byAppID[lower(claims.AppID)]
		if p != nil && claims.ObjectID != "" && !strings.EqualFold(claims.ObjectID, string(p.ID)) {
			p = nil
		}
	} else if claims.ObjectID != "" {
		p = st.principal(claims.ObjectID)
		if p != nil && p.Type != api.PrincipalUser {
			p = nil
		}
	}
	return p, p != nil
}

func unauthorized(msg string) *response {
	return errResp(http.StatusUnauthorized, api.CodeAuthenticationFailed, "Authentication failed. %s", msg).
		setHeader("WWW-Authenticate", `Bearer authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize"`)
}

func checkAPIVersion(q url.Values, versions []string) *response {
	v, ok := q["api-version"]
	if !ok || len(v) == 0 || v[0] == "" {
		return errResp(http.StatusBadRequest, api.CodeMissingAPIVersion,
			"The api-version query parameter (?api-version=) is required for all requests.")
	}
	if !slices.Contains(versions, v[0]) {
		// Uncertain: code and wording borrowed from Azure Resource Manager.
		return errResp(http.StatusBadRequest, "InvalidApiVersionParameter",
			"The api-version '%s' is invalid. The supported versions are '%s'.", v[0], strings.Join(versions, ","))
	}
	return nil
}

var envFilterRE = regexp.MustCompile(`(?i)^\s*environment\s+eq\s+'([^']+)'\s*(?:\s+and\s+(.*?))?\s*$`)

// readEnvFilter reads PowerApps' $filter=environment eq '{env}'.
func readEnvFilter(q url.Values) (env, rest string, resp *response) {
	f := q.Get("$filter")
	m := envFilterRE.FindStringSubmatch(f)
	if m == nil {
		return "", "", errResp(http.StatusBadRequest, api.CodeInvalidFilter,
			"The $filter query parameter must name the environment: $filter=environment eq '<environment name>'.")
	}
	return m[1], m[2], nil
}

// maxBody bounds request bodies; definitions run to a few hundred KB.
const maxBody = 16 << 20

func readBody(r *http.Request) ([]byte, *response) {
	b, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		return nil, errResp(http.StatusBadRequest, api.CodeInvalidRequestContent, "The request body could not be read: %v", err)
	}
	if len(b) > 0 {
		ct := lower(r.Header.Get("Content-Type"))
		if !strings.Contains(ct, "json") {
			return nil, errResp(http.StatusUnsupportedMediaType, "UnsupportedMediaType",
				"The content media type '%s' is not supported. Only 'application/json' is supported.", r.Header.Get("Content-Type"))
		}
	}
	return b, nil
}
