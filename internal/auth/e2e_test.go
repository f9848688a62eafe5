package auth_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	pkcs12 "software.sslmate.com/src/go-pkcs12"

	"github.com/flowsync/flowsync/internal/auth"
	"github.com/flowsync/flowsync/internal/emulator/entra"
	"github.com/flowsync/flowsync/internal/token"
)

const (
	e2eTenant    = "11111111-2222-3333-4444-555555555555"
	secretApp    = "aaaaaaaa-0000-0000-0000-000000000001"
	certApp      = "aaaaaaaa-0000-0000-0000-000000000002"
	adminApp     = "aaaaaaaa-0000-0000-0000-000000000003"
	flowScope    = "https://service.flow.microsoft.com//.default"
	appsScope    = "https://service.powerapps.com//.default"
	flowAudience = "https://service.flow.microsoft.com/"
)

// loopbackOnly sends requests through next only when they go to 127.0.0.1,
// so a mistake in the authority settings cannot send traffic off the machine.
type loopbackOnly struct{ next *http.Client }

func (l loopbackOnly) Do(req *http.Request) (*http.Response, error) {
	if req.URL.Hostname() != "127.0.0.1" {
		return nil, fmt.Errorf("test transport refuses %s: only 127.0.0.1 is allowed", req.URL.Host)
	}
	return l.next.Do(req)
}

// emulatedEntra is the emulator's token endpoint on loopback TLS.
type emulatedEntra struct {
	srv    *httptest.Server
	secret string
	pair   keyPair // registered on certApp

	mu       sync.Mutex
	requests map[string]int // "METHOD path" -> count
}

func startEntra(t *testing.T) *emulatedEntra {
	t.Helper()
	e := &emulatedEntra{secret: "e2e-secret-" + rand.Text(), pair: newRSAPair(t, "flowsync-e2e"), requests: map[string]int{}}
	apps := map[string]entra.App{
		secretApp: {ObjectID: "0b000000-0000-0000-0000-000000000001", AppID: secretApp, ClientSecretSHA256: entra.SecretSHA256(e.secret)},
		certApp:   {ObjectID: "0b000000-0000-0000-0000-000000000002", AppID: certApp, CertificatesPEM: []string{string(e.pair.certPEM())}},
		adminApp:  {ObjectID: "0b000000-0000-0000-0000-000000000003", AppID: adminApp, Admin: true, ClientSecretSHA256: entra.SecretSHA256(e.secret)},
	}
	h := entra.New(entra.Config{
		Tenant: e2eTenant,
		Lookup: func(id string) (entra.App, bool) { a, ok := apps[id]; return a, ok },
		Now:    func() time.Time { return time.Date(2025, 5, 6, 7, 8, 9, 0, time.UTC) },
	})
	e.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.requests[r.Method+" "+r.URL.Path]++
		e.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	e.srv.StartTLS()
	t.Cleanup(e.srv.Close)
	return e
}

func (e *emulatedEntra) tokenRequests() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.requests["POST /"+e2eTenant+"/oauth2/v2.0/token"]
}

// options points a method at the emulator.
func (e *emulatedEntra) options(m auth.Method) auth.Options {
	return auth.Options{
		Method:                   m,
		Tenant:                   e2eTenant,
		AuthorityHost:            e.srv.URL,
		DisableInstanceDiscovery: true,
		Transport:                loopbackOnly{e.srv.Client()},
		Getenv:                   env(nil),
	}
}

func TestEndToEndTokens(t *testing.T) {
	e := startEntra(t)
	password := "pfx-" + rand.Text()
	pfx := writeFile(t, "app.pfx", e.pair.pfx(t, pkcs12.Modern, password))
	legacyPFX := writeFile(t, "legacy.pfx", e.pair.pfx(t, pkcs12.Legacy, password))
	pemFile := writeFile(t, "app.pem", concat(e.pair.certPEM(), e.pair.pkcs8PEM(t)))

	claims := func(oid, appID string, roles ...string) token.Claims {
		return token.Claims{
			Audience: flowAudience, Issuer: "https://sts.windows.net/" + e2eTenant + "/", TenantID: e2eTenant,
			ObjectID: oid, AppID: appID, IDType: "app", Roles: roles,
			IssuedAt: time.Date(2025, 5, 6, 7, 8, 9, 0, time.UTC).Unix(), NotBefore: time.Date(2025, 5, 6, 7, 8, 9, 0, time.UTC).Unix(),
			Expires: time.Date(2025, 5, 6, 8, 8, 9, 0, time.UTC).Unix(),
		}
	}
	tests := []struct {
		name string
		edit func(*auth.Options)
		want token.Claims
	}{
		{"client secret", func(o *auth.Options) {
			o.Method, o.ClientID, o.ClientSecret = auth.MethodSecret, secretApp, e.secret
		}, claims("0b000000-0000-0000-0000-000000000001", secretApp)},
		{"client secret from the environment, default method", func(o *auth.Options) {
			o.Method, o.Tenant = auth.MethodDefault, ""
			o.Getenv = env(map[string]string{"AZURE_TENANT_ID": e2eTenant, "AZURE_CLIENT_ID": secretApp, "AZURE_CLIENT_SECRET": e.secret})
		}, claims("0b000000-0000-0000-0000-000000000001", secretApp)},
		{"instance discovery turned off for the emulator by itself", func(o *auth.Options) {
			o.Method, o.ClientID, o.ClientSecret, o.DisableInstanceDiscovery = auth.MethodSecret, secretApp, e.secret, false
		}, claims("0b000000-0000-0000-0000-000000000001", secretApp)},
		{"admin app", func(o *auth.Options) {
			o.Method, o.ClientID, o.ClientSecret = auth.MethodSecret, adminApp, e.secret
		}, claims("0b000000-0000-0000-0000-000000000003", adminApp, token.RolePowerPlatformAdmin)},
		{"certificate PFX (OpenSSL 3 algorithms)", func(o *auth.Options) {
			o.Method, o.ClientID, o.CertificatePath, o.CertificatePassword = auth.MethodCertificate, certApp, pfx, password
		}, claims("0b000000-0000-0000-0000-000000000002", certApp)},
		{"certificate legacy PFX", func(o *auth.Options) {
			o.Method, o.ClientID, o.CertificatePath, o.CertificatePassword = auth.MethodCertificate, certApp, legacyPFX, password
		}, claims("0b000000-0000-0000-0000-000000000002", certApp)},
		{"certificate PEM", func(o *auth.Options) {
			o.Method, o.ClientID, o.CertificatePath = auth.MethodCertificate, certApp, pemFile
		}, claims("0b000000-0000-0000-0000-000000000002", certApp)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := e.options("")
			tt.edit(&o)
			src, err := auth.New(o)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := src.Token(context.Background(), flowScope)
			if err != nil {
				t.Fatal(err)
			}
			got, err := token.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("claims (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEndToEndCaching(t *testing.T) {
	e := startEntra(t)
	o := e.options(auth.MethodSecret)
	o.ClientID, o.ClientSecret = secretApp, e.secret
	src, err := auth.New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	first, err := src.Token(ctx, flowScope)
	if err != nil {
		t.Fatal(err)
	}
	second, err := src.Token(ctx, flowScope)
	if err != nil {
		t.Fatal(err)
	}
	if first != second {
		t.Error("second call returned a different token")
	}
	if n := e.tokenRequests(); n != 1 {
		t.Errorf("%d token requests for one scope, want 1", n)
	}
	apps, err := src.Token(ctx, appsScope)
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := token.Parse(apps); c.Audience != "https://service.powerapps.com/" {
		t.Errorf("aud = %q for %s", c.Audience, appsScope)
	}
	if n := e.tokenRequests(); n != 2 {
		t.Errorf("%d token requests for two scopes, want 2", n)
	}
}

func TestEndToEndFailures(t *testing.T) {
	e := startEntra(t)
	stranger := newRSAPair(t, "not registered")
	strangerPEM := writeFile(t, "stranger.pem", concat(stranger.certPEM(), stranger.pkcs8PEM(t)))
	wrongSecret := "wrong-" + rand.Text()
	tests := []struct {
		name string
		edit func(*auth.Options)
		want string
	}{
		{"wrong secret", func(o *auth.Options) {
			o.Method, o.ClientID, o.ClientSecret = auth.MethodSecret, secretApp, wrongSecret
		}, "AADSTS7000215"},
		{"unknown certificate", func(o *auth.Options) {
			o.Method, o.ClientID, o.CertificatePath = auth.MethodCertificate, certApp, strangerPEM
		}, "AADSTS700027"},
		{"unknown app", func(o *auth.Options) {
			o.Method, o.ClientID, o.ClientSecret = auth.MethodSecret, "ffffffff-0000-0000-0000-000000000000", wrongSecret
		}, "AADSTS700016"},
		{"unknown tenant", func(o *auth.Options) {
			o.Method, o.ClientID, o.ClientSecret, o.Tenant = auth.MethodSecret, secretApp, e.secret, "99999999-2222-3333-4444-555555555555"
		}, "AADSTS90002"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := e.options("")
			tt.edit(&o)
			src, err := auth.New(o)
			if err != nil {
				t.Fatal(err)
			}
			_, err = src.Token(context.Background(), flowScope)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			for _, w := range []string{tt.want, flowScope} {
				if !strings.Contains(msg, w) {
					t.Errorf("error does not contain %q: %s", w, msg)
				}
			}
			for _, s := range []string{wrongSecret, e.secret} {
				if strings.Contains(msg, s) {
					t.Errorf("error contains a client secret: %s", msg)
				}
			}
			if errors.Is(err, auth.ErrMissingSetting) {
				t.Error("an Entra refusal reads as a missing setting")
			}
		})
	}
}
