package entra_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowsync/flowsync/internal/emulator/entra"
	"github.com/flowsync/flowsync/internal/testcert"
	"github.com/flowsync/flowsync/internal/token"
)

const (
	tenant    = "11111111-2222-3333-4444-555555555555"
	appID     = "aaaaaaaa-0000-0000-0000-000000000001"
	adminApp  = "aaaaaaaa-0000-0000-0000-000000000002"
	certApp   = "aaaaaaaa-0000-0000-0000-000000000003"
	flowScope = "https://service.flow.microsoft.com//.default"
)

var (
	now      = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	wallTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
)

// testCert is a self-signed certificate and its key.
type testCert struct {
	key  *rsa.PrivateKey
	cert *x509.Certificate
	pem  string
}

func newTestCert(t *testing.T, cn string) testCert {
	t.Helper()
	key := testcert.RSAKey(t)
	cert := testcert.SelfSigned(t, cn, key, now.Add(-time.Hour), now.Add(24*365*time.Hour))
	return testCert{key: key, cert: cert, pem: string(testcert.PEM(cert))}
}

// fixture is a running token endpoint with three apps.
type fixture struct {
	srv        *httptest.Server
	secret     string
	registered testCert
	other      testCert
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{
		secret:     "test-secret-" + rand.Text(),
		registered: newTestCert(t, "registered"),
		other:      newTestCert(t, "other"),
	}
	apps := map[string]entra.App{
		appID:    {ObjectID: "0b000000-0000-0000-0000-000000000001", AppID: appID, DisplayName: "sync", ClientSecretSHA256: entra.SecretSHA256(f.secret)},
		adminApp: {ObjectID: "0b000000-0000-0000-0000-000000000002", AppID: adminApp, DisplayName: "admin", Admin: true, ClientSecretSHA256: entra.SecretSHA256(f.secret)},
		certApp: {ObjectID: "0b000000-0000-0000-0000-000000000003", AppID: certApp, DisplayName: "cert",
			CertificatesPEM: []string{"not a certificate", f.registered.pem}},
	}
	h := entra.New(entra.Config{
		Tenant:         tenant,
		Lookup:         func(id string) (entra.App, bool) { a, ok := apps[id]; return a, ok },
		Now:            func() time.Time { return now },
		AssertionClock: func() time.Time { return wallTime },
	})
	f.srv = httptest.NewTLSServer(h)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) tokenURL(tenantSegment string) string {
	return f.srv.URL + "/" + tenantSegment + "/oauth2/v2.0/token"
}

// response is a decoded reply.
type response struct {
	status int
	body   map[string]any
	raw    string
}

func (f *fixture) do(t *testing.T, req *http.Request) response {
	t.Helper()
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatalf("%s %s: body is not JSON: %s", req.Method, req.URL, raw)
	}
	return response{resp.StatusCode, body, string(raw)}
}

func (f *fixture) get(t *testing.T, path string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, f.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return f.do(t, req)
}

func (f *fixture) post(t *testing.T, endpoint string, form url.Values, basic ...string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if len(basic) == 2 {
		req.SetBasicAuth(basic[0], basic[1])
	}
	return f.do(t, req)
}

func errorCode(r response) (string, int) {
	code, _ := r.body["error"].(string)
	codes, _ := r.body["error_codes"].([]any)
	if len(codes) != 1 {
		return code, 0
	}
	n, _ := codes[0].(float64)
	return code, int(n)
}

func TestOpenIDConfiguration(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name string
		path string
		want map[string]string
	}{
		{"v2 tenant", "/" + tenant + "/v2.0/.well-known/openid-configuration", map[string]string{
			"token_endpoint":         f.srv.URL + "/" + tenant + "/oauth2/v2.0/token",
			"authorization_endpoint": f.srv.URL + "/" + tenant + "/oauth2/v2.0/authorize",
			"issuer":                 f.srv.URL + "/" + tenant + "/v2.0",
			"jwks_uri":               f.srv.URL + "/" + tenant + "/discovery/v2.0/keys",
		}},
		{"v2 tenant in upper case", "/" + strings.ToUpper(tenant) + "/v2.0/.well-known/openid-configuration", map[string]string{
			"token_endpoint":         f.srv.URL + "/" + strings.ToUpper(tenant) + "/oauth2/v2.0/token",
			"authorization_endpoint": f.srv.URL + "/" + strings.ToUpper(tenant) + "/oauth2/v2.0/authorize",
			"issuer":                 f.srv.URL + "/" + tenant + "/v2.0",
			"jwks_uri":               f.srv.URL + "/" + strings.ToUpper(tenant) + "/discovery/v2.0/keys",
		}},
		{"v2 common", "/common/v2.0/.well-known/openid-configuration", map[string]string{
			"token_endpoint":         f.srv.URL + "/common/oauth2/v2.0/token",
			"authorization_endpoint": f.srv.URL + "/common/oauth2/v2.0/authorize",
			"issuer":                 f.srv.URL + "/{tenantid}/v2.0",
			"jwks_uri":               f.srv.URL + "/common/discovery/v2.0/keys",
		}},
		{"v1 tenant", "/" + tenant + "/.well-known/openid-configuration", map[string]string{
			"token_endpoint":         f.srv.URL + "/" + tenant + "/oauth2/token",
			"authorization_endpoint": f.srv.URL + "/" + tenant + "/oauth2/authorize",
			"issuer":                 f.srv.URL + "/" + tenant + "/",
			"jwks_uri":               f.srv.URL + "/" + tenant + "/discovery/keys",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.get(t, tt.path)
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.raw)
			}
			got := map[string]string{}
			for k := range tt.want {
				got[k], _ = r.body[k].(string)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("metadata (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUnknownTenant(t *testing.T) {
	f := newFixture(t)
	const other = "99999999-2222-3333-4444-555555555555"
	for _, path := range []string{
		"/" + other + "/v2.0/.well-known/openid-configuration",
		"/" + other + "/discovery/instance",
		"/" + other + "/discovery/v2.0/keys",
	} {
		t.Run(path, func(t *testing.T) {
			r := f.get(t, path)
			if code, n := errorCode(r); r.status != http.StatusBadRequest || code != "invalid_request" || n != 90002 {
				t.Errorf("got %d %s %d, want 400 invalid_request 90002: %s", r.status, code, n, r.raw)
			}
		})
	}
	t.Run("token at common", func(t *testing.T) {
		r := f.post(t, f.tokenURL("common"), url.Values{"grant_type": {"client_credentials"}, "client_id": {appID}, "client_secret": {f.secret}, "scope": {flowScope}})
		if code, n := errorCode(r); r.status != http.StatusBadRequest || n != 50059 {
			t.Errorf("got %d %s %d, want 400 50059: %s", r.status, code, n, r.raw)
		}
	})
	t.Run("token", func(t *testing.T) {
		r := f.post(t, f.tokenURL(other), url.Values{"grant_type": {"client_credentials"}, "client_id": {appID}, "client_secret": {f.secret}, "scope": {flowScope}})
		if code, n := errorCode(r); r.status != http.StatusBadRequest || n != 90002 {
			t.Errorf("got %d %s %d, want 400 90002: %s", r.status, code, n, r.raw)
		}
		if !strings.Contains(r.body["error_description"].(string), "AADSTS90002: Tenant '"+other+"' not found") {
			t.Errorf("description %q does not name the tenant", r.body["error_description"])
		}
	})
}

func TestInstanceDiscovery(t *testing.T) {
	f := newFixture(t)
	host := strings.TrimPrefix(f.srv.URL, "https://")
	q := url.Values{"api-version": {"1.1"}, "authorization_endpoint": {"https://" + host + "/" + tenant + "/oauth2/v2.0/authorize"}}
	r := f.get(t, "/common/discovery/instance?"+q.Encode())
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.raw)
	}
	want := map[string]any{
		"tenant_discovery_endpoint": f.srv.URL + "/" + tenant + "/v2.0/.well-known/openid-configuration",
		"api-version":               "1.1",
		"metadata":                  []any{map[string]any{"preferred_network": host, "preferred_cache": host, "aliases": []any{host}}},
	}
	if diff := cmp.Diff(want, r.body); diff != "" {
		t.Errorf("instance metadata (-want +got):\n%s", diff)
	}
	keys := f.get(t, "/"+tenant+"/discovery/v2.0/keys")
	if diff := cmp.Diff(map[string]any{"keys": []any{}}, keys.body); keys.status != http.StatusOK || diff != "" {
		t.Errorf("keys: status %d (-want +got):\n%s", keys.status, diff)
	}
}

func TestSecretGrant(t *testing.T) {
	f := newFixture(t)
	base := token.Claims{
		Issuer:    "https://sts.windows.net/" + tenant + "/",
		TenantID:  tenant,
		IDType:    "app",
		IssuedAt:  now.Unix(),
		NotBefore: now.Unix(),
		Expires:   now.Add(time.Hour).Unix(),
	}
	with := func(aud, oid, app string, roles ...string) token.Claims {
		c := base
		c.Audience, c.ObjectID, c.AppID, c.Roles = aud, oid, app, roles
		return c
	}
	tests := []struct {
		name     string
		endpoint string
		form     url.Values
		basic    []string
		want     token.Claims
	}{
		{"flow scope keeps the resource's slash", f.tokenURL(tenant),
			url.Values{"client_id": {appID}, "client_secret": {f.secret}, "scope": {flowScope + " openid profile offline_access"}}, nil,
			with("https://service.flow.microsoft.com/", "0b000000-0000-0000-0000-000000000001", appID)},
		{"single-slash scope", f.tokenURL(tenant),
			url.Values{"client_id": {appID}, "client_secret": {f.secret}, "scope": {"https://service.powerapps.com/.default"}}, nil,
			with("https://service.powerapps.com", "0b000000-0000-0000-0000-000000000001", appID)},
		{"admin app carries the role", f.tokenURL(tenant),
			url.Values{"client_id": {adminApp}, "client_secret": {f.secret}, "scope": {flowScope}}, nil,
			with("https://service.flow.microsoft.com/", "0b000000-0000-0000-0000-000000000002", adminApp, token.RolePowerPlatformAdmin)},
		{"basic authentication", f.tokenURL(strings.ToUpper(tenant)),
			url.Values{"scope": {flowScope}}, []string{appID, f.secret},
			with("https://service.flow.microsoft.com/", "0b000000-0000-0000-0000-000000000001", appID)},
		{"v1 resource", f.srv.URL + "/" + tenant + "/oauth2/token",
			url.Values{"client_id": {appID}, "client_secret": {f.secret}, "resource": {"https://service.flow.microsoft.com/"}}, nil,
			with("https://service.flow.microsoft.com/", "0b000000-0000-0000-0000-000000000001", appID)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.form.Set("grant_type", "client_credentials")
			r := f.post(t, tt.endpoint, tt.form, tt.basic...)
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.raw)
			}
			if r.body["token_type"] != "Bearer" || r.body["expires_in"] != float64(3600) || r.body["ext_expires_in"] != float64(3600) {
				t.Errorf("token_type/expires_in/ext_expires_in = %v/%v/%v, want Bearer/3600/3600", r.body["token_type"], r.body["expires_in"], r.body["ext_expires_in"])
			}
			got, err := token.Parse(r.body["access_token"].(string))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("claims (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTokenErrors(t *testing.T) {
	f := newFixture(t)
	good := func(edit func(url.Values)) url.Values {
		v := url.Values{"grant_type": {"client_credentials"}, "client_id": {appID}, "client_secret": {f.secret}, "scope": {flowScope}}
		edit(v)
		return v
	}
	tests := []struct {
		name       string
		form       url.Values
		wantStatus int
		wantCode   string
		wantAADSTS int
	}{
		{"wrong secret", good(func(v url.Values) { v.Set("client_secret", "wrong-"+f.secret) }), 401, "invalid_client", 7000215},
		{"secret for an app without one", good(func(v url.Values) { v.Set("client_id", certApp) }), 401, "invalid_client", 7000215},
		{"unknown app", good(func(v url.Values) { v.Set("client_id", "ffffffff-0000-0000-0000-000000000000") }), 400, "unauthorized_client", 700016},
		{"no grant type", good(func(v url.Values) { v.Del("grant_type") }), 400, "invalid_request", 900144},
		{"unsupported grant", good(func(v url.Values) { v.Set("grant_type", "password") }), 400, "unsupported_grant_type", 70003},
		{"no client id", good(func(v url.Values) { v.Del("client_id") }), 400, "invalid_request", 900144},
		{"no scope", good(func(v url.Values) { v.Del("scope") }), 400, "invalid_request", 900144},
		{"scope without .default", good(func(v url.Values) { v.Set("scope", "https://service.flow.microsoft.com/Flows.Read.All") }), 400, "invalid_scope", 1002012},
		{"two resources", good(func(v url.Values) { v.Set("scope", flowScope+" https://service.powerapps.com//.default") }), 400, "invalid_scope", 1002012},
		{"only oidc scopes", good(func(v url.Values) { v.Set("scope", "openid profile") }), 400, "invalid_scope", 1002012},
		{"no credential", good(func(v url.Values) { v.Del("client_secret") }), 401, "invalid_client", 7000218},
		{"secret and assertion", good(func(v url.Values) { v.Set("client_assertion", "a.b.c"); v.Set("client_assertion_type", jwtBearer) }), 400, "invalid_request", 50027},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.post(t, f.tokenURL(tenant), tt.form)
			code, n := errorCode(r)
			if r.status != tt.wantStatus || code != tt.wantCode || n != tt.wantAADSTS {
				t.Errorf("got %d %s %d, want %d %s %d: %s", r.status, code, n, tt.wantStatus, tt.wantCode, tt.wantAADSTS, r.raw)
			}
			desc, _ := r.body["error_description"].(string)
			if !strings.HasPrefix(desc, "AADSTS") {
				t.Errorf("error_description %q does not start with its AADSTS code", desc)
			}
			if strings.Contains(r.raw, f.secret) {
				t.Errorf("response contains the client secret: %s", r.raw)
			}
			if _, ok := r.body["access_token"]; ok {
				t.Error("error response carries an access token")
			}
		})
	}
}

const jwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// assertion is a client assertion to sign.
type assertion struct {
	alg    string // RS256 or PS256
	header map[string]any
	claims map[string]any
	key    *rsa.PrivateKey
}

func (a assertion) sign(t *testing.T) string {
	t.Helper()
	h := map[string]any{"alg": a.alg, "typ": "JWT"}
	for k, v := range a.header {
		h[k] = v
	}
	hb, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	cb, err := json.Marshal(a.claims)
	if err != nil {
		t.Fatal(err)
	}
	input := base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(cb)
	digest := sha256.Sum256([]byte(input))
	var sig []byte
	if a.alg == "RS256" {
		sig, err = rsa.SignPKCS1v15(rand.Reader, a.key, crypto.SHA256, digest[:])
	} else {
		sig, err = rsa.SignPSS(rand.Reader, a.key, crypto.SHA256, digest[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	}
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func TestAssertionGrant(t *testing.T) {
	f := newFixture(t)
	s256 := sha256.Sum256(f.registered.cert.Raw)
	s1 := sha1.Sum(f.registered.cert.Raw)
	otherS256 := sha256.Sum256(f.other.cert.Raw)
	valid := func() assertion {
		return assertion{
			alg:    "PS256",
			header: map[string]any{"x5t#S256": base64.StdEncoding.EncodeToString(s256[:])},
			claims: map[string]any{
				"aud": f.tokenURL(tenant), "iss": certApp, "sub": certApp, "jti": "1",
				"nbf": wallTime.Unix(), "exp": wallTime.Add(10 * time.Minute).Unix(),
			},
			key: f.registered.key,
		}
	}
	edit := func(change func(*assertion)) assertion {
		a := valid()
		change(&a)
		return a
	}
	tests := []struct {
		name       string
		assertion  assertion
		wantStatus int
		wantAADSTS int
	}{
		{"PS256 with x5t#S256", valid(), 200, 0},
		{"RS256 with x5t", edit(func(a *assertion) {
			a.alg = "RS256"
			a.header = map[string]any{"x5t": base64.RawURLEncoding.EncodeToString(s1[:])}
		}), 200, 0},
		{"aud as an array, v1 endpoint", edit(func(a *assertion) {
			a.claims["aud"] = []string{f.srv.URL + "/" + tenant + "/oauth2/token"}
		}), 200, 0},
		{"clock skew tolerated", edit(func(a *assertion) {
			a.claims["exp"] = wallTime.Add(-4 * time.Minute).Unix()
			a.claims["nbf"] = wallTime.Add(-14 * time.Minute).Unix()
		}), 200, 0},
		{"unregistered certificate", edit(func(a *assertion) {
			a.header = map[string]any{"x5t#S256": base64.StdEncoding.EncodeToString(otherS256[:])}
			a.key = f.other.key
		}), 401, 700027},
		{"signed by another key", edit(func(a *assertion) { a.key = f.other.key }), 401, 700027},
		{"no thumbprint", edit(func(a *assertion) { a.header = nil }), 401, 700027},
		{"issuer is not the client", edit(func(a *assertion) { a.claims["iss"] = appID }), 401, 700021},
		{"subject is not the client", edit(func(a *assertion) { a.claims["sub"] = appID }), 401, 700021},
		{"audience of another tenant", edit(func(a *assertion) {
			a.claims["aud"] = f.srv.URL + "/99999999-2222-3333-4444-555555555555/oauth2/v2.0/token"
		}), 401, 50027},
		{"expired", edit(func(a *assertion) { a.claims["exp"] = wallTime.Add(-6 * time.Minute).Unix() }), 401, 700024},
		{"not yet valid", edit(func(a *assertion) { a.claims["nbf"] = wallTime.Add(6 * time.Minute).Unix() }), 401, 700024},
		{"no exp", edit(func(a *assertion) { delete(a.claims, "exp") }), 401, 50027},
		{"HS256", edit(func(a *assertion) { a.alg = "HS256" }), 401, 50027},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var raw string
			if tt.assertion.alg == "HS256" {
				raw = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256"}`)) + "." +
					base64.RawURLEncoding.EncodeToString([]byte(`{}`)) + ".c2ln"
			} else {
				raw = tt.assertion.sign(t)
			}
			r := f.post(t, f.tokenURL(tenant), url.Values{
				"grant_type": {"client_credentials"}, "client_id": {certApp}, "scope": {flowScope},
				"client_assertion_type": {jwtBearer}, "client_assertion": {raw},
			})
			code, n := errorCode(r)
			if r.status != tt.wantStatus || n != tt.wantAADSTS {
				t.Fatalf("got %d %s %d, want %d %d: %s", r.status, code, n, tt.wantStatus, tt.wantAADSTS, r.raw)
			}
			if tt.wantStatus != http.StatusOK {
				if code != "invalid_client" {
					t.Errorf("error = %q, want invalid_client", code)
				}
				return
			}
			c, err := token.Parse(r.body["access_token"].(string))
			if err != nil {
				t.Fatal(err)
			}
			if c.AppID != certApp || c.ObjectID != "0b000000-0000-0000-0000-000000000003" || !c.IsApp() || c.TenantID != tenant {
				t.Errorf("claims = %+v, want the cert app's identity", c)
			}
		})
	}
	t.Run("wrong assertion type", func(t *testing.T) {
		r := f.post(t, f.tokenURL(tenant), url.Values{
			"grant_type": {"client_credentials"}, "client_id": {certApp}, "scope": {flowScope},
			"client_assertion_type": {"urn:example:other"}, "client_assertion": {valid().sign(t)},
		})
		if code, _ := errorCode(r); r.status != http.StatusBadRequest || code != "invalid_request" {
			t.Errorf("got %d %s, want 400 invalid_request: %s", r.status, code, r.raw)
		}
	})
}

func TestBase64DERCertificate(t *testing.T) {
	c := newTestCert(t, "der")
	h := entra.New(entra.Config{
		Tenant: tenant,
		Lookup: func(id string) (entra.App, bool) {
			return entra.App{AppID: id, ObjectID: "0b000000-0000-0000-0000-000000000009",
				CertificatesPEM: []string{base64.StdEncoding.EncodeToString(c.cert.Raw)}}, id == certApp
		},
		Now:            func() time.Time { return now },
		AssertionClock: func() time.Time { return wallTime },
	})
	srv := httptest.NewTLSServer(h)
	defer srv.Close()
	f := &fixture{srv: srv}
	s256 := sha256.Sum256(c.cert.Raw)
	a := assertion{
		alg:    "PS256",
		header: map[string]any{"x5t#S256": base64.RawURLEncoding.EncodeToString(s256[:])},
		claims: map[string]any{"aud": f.tokenURL(tenant), "iss": certApp, "sub": certApp,
			"nbf": wallTime.Unix(), "exp": wallTime.Add(10 * time.Minute).Unix()},
		key: c.key,
	}
	r := f.post(t, f.tokenURL(tenant), url.Values{
		"grant_type": {"client_credentials"}, "client_id": {certApp}, "scope": {flowScope},
		"client_assertion_type": {jwtBearer}, "client_assertion": {a.sign(t)},
	})
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.raw)
	}
}
