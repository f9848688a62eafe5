package entra

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/flowsync/flowsync/internal/token"
)

const jwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// maxForm bounds the token request body; real requests are a few kilobytes.
const maxForm = 64 << 10

// token serves the client-credentials grant: it authenticates the app by
// secret or by a client assertion signed with one of its certificates and
// issues an app token for the one requested resource.
func (s *server) token(ver version) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		segment := r.PathValue("tenant")
		if isMultiTenant(segment) {
			s.writeError(w, r, oauthError{http.StatusBadRequest, "invalid_request", 50059,
				"No tenant-identifying information found in either the request or implied by any provided credentials."})
			return
		}
		tid, ok := s.tenantOf(segment)
		if !ok {
			s.writeError(w, r, unknownTenant(r.PathValue("tenant")))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		if err := r.ParseForm(); err != nil {
			s.writeError(w, r, oauthError{http.StatusBadRequest, "invalid_request", 900144, "The request body must be application/x-www-form-urlencoded."})
			return
		}
		claims, oerr := s.grant(ver, tid, r)
		if oerr != nil {
			s.writeError(w, r, *oerr)
			return
		}
		expiresIn := claims.Expires - claims.IssuedAt
		body := map[string]any{
			"token_type":     "Bearer",
			"expires_in":     expiresIn,
			"ext_expires_in": expiresIn,
			"access_token":   s.cfg.Mint(claims),
		}
		if ver == v1 {
			body["expires_on"] = claims.Expires
			body["not_before"] = claims.NotBefore
			body["resource"] = claims.Audience
		}
		writeJSON(w, http.StatusOK, body)
	}
}

func (s *server) grant(ver version, tid string, r *http.Request) (token.Claims, *oauthError) {
	fail := func(e oauthError) (token.Claims, *oauthError) { return token.Claims{}, &e }
	form := r.PostForm
	grantType := form.Get("grant_type")
	if grantType == "" {
		return fail(missingParameter("grant_type"))
	}
	if grantType != "client_credentials" {
		return fail(oauthError{http.StatusBadRequest, "unsupported_grant_type", 70003,
			"The app requested an unsupported grant type '" + grantType + "'. The emulator supports client_credentials only."})
	}
	basicID, basicSecret, hasBasic := r.BasicAuth()
	clientID := form.Get("client_id")
	if clientID == "" {
		clientID = basicID
	}
	if clientID == "" {
		return fail(missingParameter("client_id"))
	}
	audience, oerr := requestedAudience(ver, form.Get("scope"), form.Get("resource"))
	if oerr != nil {
		return fail(*oerr)
	}
	app, ok := s.cfg.Lookup(clientID)
	if !ok {
		return fail(unknownApp(clientID, tid))
	}

	secret := form.Get("client_secret")
	if secret == "" && hasBasic {
		secret = basicSecret
	}
	assertion := form.Get("client_assertion")
	switch {
	case secret != "" && assertion != "":
		return fail(oauthError{http.StatusBadRequest, "invalid_request", 50027,
			"Only one client credential may be presented: a client_secret or a client_assertion."})
	case secret != "":
		if !secretMatches(secret, app.ClientSecretSHA256) {
			return fail(invalidSecret(clientID))
		}
	case assertion != "":
		if t := form.Get("client_assertion_type"); t != jwtBearer {
			return fail(oauthError{http.StatusBadRequest, "invalid_request", 900144,
				"The request body must contain the following parameter: 'client_assertion_type' with the value '" + jwtBearer + "'."})
		}
		if e := s.verifyAssertion(assertion, clientID, app, r); e != nil {
			return fail(*e)
		}
	default:
		return fail(oauthError{http.StatusUnauthorized, "invalid_client", 7000218,
			"The request body must contain the following parameter: 'client_assertion' or 'client_secret'."})
	}

	now := s.cfg.Now()
	c := token.Claims{
		Audience:  audience,
		Issuer:    "https://sts.windows.net/" + tid + "/",
		TenantID:  tid,
		ObjectID:  app.ObjectID,
		AppID:     app.AppID,
		IDType:    "app",
		IssuedAt:  now.Unix(),
		NotBefore: now.Unix(),
		Expires:   now.Add(s.cfg.TokenLifetime).Unix(),
	}
	if c.AppID == "" {
		c.AppID = clientID
	}
	if app.Admin {
		c.Roles = []string{token.RolePowerPlatformAdmin}
	}
	return c, nil
}

// oidcScopes are the scopes libraries add to every request; they name no resource.
var oidcScopes = map[string]bool{"openid": true, "profile": true, "offline_access": true, "email": true}

// requestedAudience is the token's aud: for v2 the one resource scope without
// its "/.default" suffix, for v1 the resource as sent.
//
// One suffix is stripped and nothing else: the Flow service's resource is
// "https://service.flow.microsoft.com/" (with the slash), so its scope is
// written "https://service.flow.microsoft.com//.default" and the token's aud
// keeps the slash, as Entra's v1 tokens do. A scope written with one slash
// yields an aud without it.
func requestedAudience(ver version, scope, resource string) (string, *oauthError) {
	if ver == v1 {
		if resource == "" {
			e := missingParameter("resource")
			return "", &e
		}
		return resource, nil
	}
	if scope == "" {
		e := missingParameter("scope")
		return "", &e
	}
	var resources []string
	for _, sc := range strings.Fields(scope) {
		if !oidcScopes[strings.ToLower(sc)] {
			resources = append(resources, sc)
		}
	}
	if len(resources) != 1 || !strings.HasSuffix(resources[0], "/.default") || resources[0] == "/.default" {
		return "", &oauthError{http.StatusBadRequest, "invalid_scope", 1002012,
			"The provided value for scope " + scope + " is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."}
	}
	return strings.TrimSuffix(resources[0], "/.default"), nil
}

// secretMatches compares in constant time so response timing reveals nothing.
func secretMatches(secret, wantHex string) bool {
	want, err := hex.DecodeString(strings.TrimSpace(wantHex))
	if err != nil || len(want) != sha256.Size {
		return false
	}
	got := sha256.Sum256([]byte(secret))
	return subtle.ConstantTimeCompare(got[:], want) == 1
}
