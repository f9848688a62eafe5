package entra

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"time"

	"github.com/flowsync/flowsync/internal/token"
)

// App is a service principal that may ask for tokens: the fields of the
// emulator's Principal that authentication needs.
type App struct {
	ObjectID    string
	AppID       string
	DisplayName string
	// Admin puts the Power Platform Administrator role into issued tokens.
	Admin bool
	// ClientSecretSHA256 is the hex SHA-256 of the client secret; "" means
	// the app has no secret.
	ClientSecretSHA256 string
	// CertificatesPEM are the certificates whose keys may sign client
	// assertions: PEM, or base64 DER as Microsoft Graph lists key credentials.
	CertificatesPEM []string
}

// Config is what the token endpoint needs from the emulator.
type Config struct {
	// Tenant is the one tenant id the endpoint serves; "" serves any tenant.
	Tenant string
	// Lookup finds an app by application (client) id.
	Lookup func(appID string) (App, bool)
	// Now stamps issued tokens (iat, nbf, exp); nil means time.Now.
	Now func() time.Time
	// Mint writes the access token; nil means token.Mint (unsigned JWT).
	Mint func(claims token.Claims) string
	// AssertionClock is what the nbf and exp of client assertions are checked
	// against. Clients sign assertions with their real clock, so this stays
	// time.Now (the nil default) even when Now is a fixed emulator clock.
	AssertionClock func() time.Time
	// TokenLifetime is how long issued tokens are valid; 0 means one hour.
	TokenLifetime time.Duration
}

// Patterns are the http.ServeMux patterns New's handler serves; the
// emulator mounts the handler at each of them.
func Patterns() []string {
	return []string{
		"POST /{tenant}/oauth2/v2.0/token",
		"POST /{tenant}/oauth2/token",
		"GET /{tenant}/v2.0/.well-known/openid-configuration",
		"GET /{tenant}/.well-known/openid-configuration",
		"GET /{tenant}/discovery/instance",
		"GET /{tenant}/discovery/v2.0/keys",
		"GET /{tenant}/discovery/keys",
	}
}

// New returns the handler of the Entra endpoints that token libraries call
// for the client-credentials grant: instance discovery, OpenID metadata,
// signing keys and the token endpoint (v2.0 with scope, v1 with resource).
func New(cfg Config) http.Handler {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Mint == nil {
		cfg.Mint = token.Mint
	}
	if cfg.AssertionClock == nil {
		cfg.AssertionClock = time.Now
	}
	if cfg.TokenLifetime <= 0 {
		cfg.TokenLifetime = time.Hour
	}
	if cfg.Lookup == nil {
		cfg.Lookup = func(string) (App, bool) { return App{}, false }
	}
	s := &server{cfg: cfg}
	mux := http.NewServeMux()
	p := Patterns()
	mux.HandleFunc(p[0], s.token(v2))
	mux.HandleFunc(p[1], s.token(v1))
	mux.HandleFunc(p[2], s.openIDConfiguration(v2))
	mux.HandleFunc(p[3], s.openIDConfiguration(v1))
	mux.HandleFunc(p[4], s.instanceDiscovery)
	mux.HandleFunc(p[5], s.keys)
	mux.HandleFunc(p[6], s.keys)
	return mux
}

// SecretSHA256 is the value App.ClientSecretSHA256 holds for secret.
func SecretSHA256(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

type server struct {
	cfg Config
}

// version is the Entra endpoint generation: v1 takes resource=, v2 scope=.
type version int

const (
	v1 version = 1
	v2 version = 2
)

// baseURL is the scheme and host the caller used, so metadata points back
// at this server wherever it listens.
func baseURL(r *http.Request) string {
	scheme := "https"
	if r.TLS == nil {
		scheme = "http"
	}
	return scheme + "://" + r.Host
}

// tenantOf returns the canonical tenant for a path segment, and whether it is known.
func (s *server) tenantOf(segment string) (string, bool) {
	if s.cfg.Tenant == "" {
		return segment, segment != ""
	}
	if strings.EqualFold(segment, s.cfg.Tenant) {
		return s.cfg.Tenant, true
	}
	return "", false
}

// isMultiTenant reports the aliases that metadata accepts but tokens do not.
func isMultiTenant(segment string) bool {
	switch strings.ToLower(segment) {
	case "common", "organizations", "consumers":
		return true
	}
	return false
}
