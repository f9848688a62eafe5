package conformance

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	pkcs12 "software.sslmate.com/src/go-pkcs12"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/auth"
	"github.com/flowsync/flowsync/internal/client"
	"github.com/flowsync/flowsync/internal/emulator"
	"github.com/flowsync/flowsync/internal/emulator/entra"
	"github.com/flowsync/flowsync/internal/emulator/seed"
	"github.com/flowsync/flowsync/internal/testcert"
	"github.com/flowsync/flowsync/internal/testemu"
	"github.com/flowsync/flowsync/internal/token"
)

// The certificate service principal the test registers; invented ids.
const (
	certSP    api.PrincipalID = "cf000000-0000-4000-8000-0000000000c1"
	certAppID string          = "cf0000a0-0000-4000-8000-0000000000c1"
)

// loopbackTransport refuses anything but 127.0.0.1, so that a mistake in
// the authority settings cannot send a credential off the machine.
type loopbackTransport struct{ next http.RoundTripper }

func (l loopbackTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Hostname() != "127.0.0.1" {
		return nil, fmt.Errorf("test transport refuses %s: only 127.0.0.1 is allowed", r.URL.Host)
	}
	return l.next.RoundTrip(r)
}

// trustingClient is an HTTP client that trusts only the emulator's CA.
func trustingClient(t *testing.T, caPEM []byte) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("the emulator's CA certificate does not parse")
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: loopbackTransport{tr}, Timeout: time.Minute}
}

// newCertificate makes a self-signed RSA certificate (Entra client
// assertions need RSA) and its key.
func newCertificate(t *testing.T) (*rsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key := testcert.RSAKey(t)
	return key, testcert.SelfSigned(t, "flowsync conformance", key,
		time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC))
}

// TestAzureIdentityAgainstEmulator signs in through the Azure SDK
// credentials that auth.New builds (client secret, and certificate from a
// PFX file), against the emulator's Entra endpoint over TLS, and uses the
// tokens with the client on the same emulator: admin calls succeed, the
// emulator having accepted the tokens. A wrong secret fails without the
// secret in the error.
func TestAzureIdentityAgainstEmulator(t *testing.T) {
	t.Parallel()
	secret := "conformance-secret-" + rand.Text()
	wrongSecret := "conformance-wrong-" + rand.Text()
	password := "conformance-pfx-" + rand.Text()
	key, cert := newCertificate(t)
	pfx, err := pkcs12.Modern.Encode(key, cert, nil, password)
	if err != nil {
		t.Fatal(err)
	}
	pfxPath := filepath.Join(t.TempDir(), "app.pfx")
	if err := os.WriteFile(pfxPath, pfx, 0o600); err != nil {
		t.Fatal(err)
	}

	snap := seed.Demo()
	registered := false
	for i := range snap.Principals {
		if snap.Principals[i].ID == seed.DemoBackupSP {
			snap.Principals[i].ClientSecretSHA256 = entra.SecretSHA256(secret)
			registered = snap.Principals[i].Admin
		}
	}
	if !registered {
		t.Fatal("the demo backup service principal is missing or not an admin")
	}
	snap.Principals = append(snap.Principals, emulator.Principal{
		ID: certSP, Type: api.PrincipalServicePrincipal, DisplayName: "flowsync-conformance-cert",
		AppID: certAppID, Admin: true,
		CertificatesPEM: []string{string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}))},
	})
	inst := testemu.Start(t, testemu.Options{Snapshot: snap, TLS: true, WallClock: true}).Inst
	if !strings.HasPrefix(inst.URL, "https://127.0.0.1:") {
		t.Fatalf("emulator URL %s: want https on 127.0.0.1", inst.URL)
	}
	hc := trustingClient(t, inst.CACertPEM)
	ep, err := client.EndpointsFor(client.Public)
	if err != nil {
		t.Fatal(err)
	}
	options := func(o auth.Options) auth.Options {
		o.Tenant = seed.DemoTenant
		o.AuthorityHost = inst.URL
		o.Transport = hc
		o.Getenv = func(string) string { return "" } // nothing from the developer's environment
		return o
	}
	newClient := func(t *testing.T, o auth.Options) (*client.Client, *auth.Source) {
		t.Helper()
		src, err := auth.New(options(o))
		if err != nil {
			t.Fatal(err)
		}
		c, err := client.New(client.Config{Endpoints: ep.WithBaseURL(inst.URL), Tokens: src, HTTPClient: hc})
		if err != nil {
			t.Fatal(err)
		}
		return c, src
	}

	tests := []struct {
		name  string
		opts  auth.Options
		appID string
	}{
		{"client secret", auth.Options{Method: auth.MethodSecret, ClientID: seed.DemoBackupAppID, ClientSecret: secret}, seed.DemoBackupAppID},
		{"certificate in a PFX file", auth.Options{Method: auth.MethodCertificate, ClientID: certAppID, CertificatePath: pfxPath, CertificatePassword: password}, certAppID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, src := newClient(t, tt.opts)
			ctx := t.Context()
			envs, err := c.AdminListEnvironments(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !hasEnv(envs, seed.DemoEnvDev) {
				t.Errorf("environment %s not among %d", seed.DemoEnvDev, len(envs))
			}
			flows, err := c.AdminListFlows(ctx, seed.DemoEnvDev, client.AdminListFlowsOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !hasFlow(flows, seed.DemoFlowInvoiceApproval) {
				t.Errorf("flow %s not among %d", seed.DemoFlowInvoiceApproval, len(flows))
			}
			// The tokens are the emulator's Entra tokens for this app, one
			// audience per API.
			for _, scope := range []string{ep.FlowScope, ep.PowerAppsScope} {
				raw, err := src.Token(ctx, scope)
				if err != nil {
					t.Fatal(err)
				}
				claims, err := token.Parse(raw)
				if err != nil {
					t.Fatal(err)
				}
				if !claims.IsApp() || claims.AppID != tt.appID || !claims.IsAdmin() || claims.Audience != strings.TrimSuffix(scope, "/.default") {
					t.Errorf("token for %s: app %v appid %q admin %v aud %q", scope, claims.IsApp(), claims.AppID, claims.IsAdmin(), claims.Audience)
				}
			}
			// An application token is still refused on user-scope paths.
			_, err = c.ListFlows(ctx, seed.DemoEnvDev, client.ListFlowsOptions{})
			wantErr(t, err, api.ErrForbidden)
		})
	}

	t.Run("wrong secret", func(t *testing.T) {
		c, _ := newClient(t, auth.Options{Method: auth.MethodSecret, ClientID: seed.DemoBackupAppID, ClientSecret: wrongSecret})
		_, err := c.AdminListFlows(t.Context(), seed.DemoEnvDev, client.AdminListFlowsOptions{})
		if err == nil {
			t.Fatal("a wrong secret signed in")
		}
		var ae *api.APIError
		if errors.As(err, &ae) {
			t.Errorf("the call reached the API (%v): the sign-in should have failed first", ae)
		}
		msg := err.Error()
		if strings.Contains(msg, wrongSecret) || strings.Contains(msg, secret) {
			t.Error("the error contains a client secret")
		}
		if !strings.Contains(msg, "AADSTS7000215") {
			t.Errorf("the error does not say the secret was refused: %s", msg)
		}
	})
}
