package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/flowsync/flowsync/internal/auth"
	"github.com/flowsync/flowsync/internal/client"
	"github.com/flowsync/flowsync/internal/pacer"
)

// globalOptions are the flags every command shares; each is also read from a
// FLOWSYNC_* variable.
type globalOptions struct {
	io IO

	APIURL        string
	Cloud         client.Cloud
	Auth          auth.Method
	Tenant        string
	ClientID      string
	ClientSecret  string
	Certificate   string
	CertPassword  string
	AuthorityHost string
	CACert        string
	RateLimit     pacer.Limit
	WriteLimit    pacer.Limit
	Output        string // text or json
	Verbose       bool
	Quiet         bool

	// tokens, when set, replaces the credential --auth describes (the demo
	// signs in to its in-process emulator this way).
	tokens client.TokenSource
}

func (g *globalOptions) flags() []ucli.Flag {
	return []ucli.Flag{
		&ucli.StringFlag{Name: "api-url", Usage: "point every API host at one server (the emulator), e.g. http://127.0.0.1:8787", EnvVars: []string{"FLOWSYNC_API_URL"}},
		&ucli.StringFlag{Name: "cloud", Value: "public", Usage: "public, usgov, usgovhigh, dod or china", EnvVars: []string{"FLOWSYNC_CLOUD"}},
		&ucli.StringFlag{Name: "auth", Value: "default", Usage: "default, secret, certificate, devicecode, azcli, managedidentity, workloadidentity or token (FLOWSYNC_TOKEN; FLOWSYNC_POWERAPPS_TOKEN and FLOWSYNC_GRAPH_TOKEN for those audiences)", EnvVars: []string{"FLOWSYNC_AUTH"}},
		&ucli.StringFlag{Name: "tenant", Usage: "Entra tenant id", EnvVars: []string{"FLOWSYNC_TENANT", "AZURE_TENANT_ID"}},
		&ucli.StringFlag{Name: "client-id", Usage: "application (client) id", EnvVars: []string{"FLOWSYNC_CLIENT_ID", "AZURE_CLIENT_ID"}},
		&ucli.StringFlag{Name: "client-secret", Usage: "client secret (prefer the variable to the flag)", EnvVars: []string{"FLOWSYNC_CLIENT_SECRET", "AZURE_CLIENT_SECRET"}},
		&ucli.StringFlag{Name: "certificate", Usage: "client certificate: PFX/PKCS#12 or PEM with the private key", EnvVars: []string{"FLOWSYNC_CERTIFICATE", "AZURE_CLIENT_CERTIFICATE_PATH"}},
		&ucli.StringFlag{Name: "certificate-password", Usage: "password of the PFX file", EnvVars: []string{"FLOWSYNC_CERTIFICATE_PASSWORD", "AZURE_CLIENT_CERTIFICATE_PASSWORD"}},
		&ucli.StringFlag{Name: "authority-host", Usage: "Entra authority host (default: the cloud's)", EnvVars: []string{"FLOWSYNC_AUTHORITY_HOST", "AZURE_AUTHORITY_HOST"}},
		&ucli.StringFlag{Name: "ca-cert", Usage: "extra PEM CA to trust for the API and authority hosts (the emulator's --tls certificate)", EnvVars: []string{"FLOWSYNC_CA_CERT"}},
		&ucli.StringFlag{Name: "rate-limit", Value: "5/60s", Usage: "calls per sliding window for one identity, N/DURATION", EnvVars: []string{"FLOWSYNC_RATE_LIMIT"}},
		&ucli.StringFlag{Name: "write-limit", Value: "300/3600s", Usage: "non-GET calls per sliding window for one identity, N/DURATION", EnvVars: []string{"FLOWSYNC_WRITE_LIMIT"}},
		&ucli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "text", Usage: "text or json", EnvVars: []string{"FLOWSYNC_OUTPUT"}},
		&ucli.BoolFlag{Name: "verbose", Usage: "log each API call (never tokens or signatures)", EnvVars: []string{"FLOWSYNC_VERBOSE"}},
		&ucli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only errors and the final result", EnvVars: []string{"FLOWSYNC_QUIET"}},
	}
}

// fill parses and validates the global flags; a bad value is a usage error
// naming the flag and the accepted form.
func (g *globalOptions) fill(c *ucli.Context) error {
	var err error
	g.APIURL = c.String("api-url")
	if g.Cloud, err = client.ParseCloud(c.String("cloud")); err != nil {
		return usagef("--cloud: %v", err)
	}
	if g.Auth, err = auth.ParseMethod(c.String("auth")); err != nil {
		return usagef("--auth: %v", err)
	}
	g.Tenant = c.String("tenant")
	g.ClientID = c.String("client-id")
	g.ClientSecret = c.String("client-secret")
	g.Certificate = c.String("certificate")
	g.CertPassword = c.String("certificate-password")
	g.AuthorityHost = c.String("authority-host")
	g.CACert = c.String("ca-cert")
	if g.RateLimit, err = pacer.ParseLimit(c.String("rate-limit")); err != nil {
		return usagef("--rate-limit: %v", err)
	}
	if g.WriteLimit, err = pacer.ParseLimit(c.String("write-limit")); err != nil {
		return usagef("--write-limit: %v", err)
	}
	// A window under a millisecond is no pacing at all (and below the
	// clock's useful resolution): a typo such as 5/60ns, not a wish.
	for _, l := range []struct {
		flag  string
		limit pacer.Limit
	}{{"--rate-limit", g.RateLimit}, {"--write-limit", g.WriteLimit}} {
		if l.limit.Per < time.Millisecond {
			return usagef("%s %s: the window must be at least 1ms, e.g. 5/60s", l.flag, l.limit)
		}
	}
	switch g.Output = c.String("output"); g.Output {
	case "text", "json":
	default:
		return usagef("--output: %q is not an output format: want text or json", g.Output)
	}
	g.Verbose = c.Bool("verbose")
	g.Quiet = c.Bool("quiet")
	if g.Verbose && g.Quiet {
		return usagef("--verbose and --quiet exclude each other")
	}
	if g.APIURL != "" {
		if err := client.ValidateBaseURL(g.APIURL); err != nil {
			return usagef("--api-url: %v", err)
		}
	}
	return nil
}

func (g *globalOptions) getenv(k string) string {
	if g.io.Getenv != nil {
		return g.io.Getenv(k)
	}
	return os.Getenv(k)
}

func (g *globalOptions) logger() *slog.Logger {
	level := slog.LevelWarn
	if g.Verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(g.io.Err, &slog.HandlerOptions{Level: level}))
}

// httpClient trusts the extra CA when one is given.
func (g *globalOptions) httpClient() (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 16
	if g.CACert != "" {
		pem, err := os.ReadFile(g.CACert)
		if err != nil {
			return nil, fmt.Errorf("--ca-cert: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--ca-cert %s: no PEM certificate in the file", g.CACert)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr, Timeout: 5 * time.Minute}, nil
}

// session is what a command that talks to the API needs.
type session struct {
	Client *client.Client
	Tokens client.TokenSource
	Pacers *pacer.Registry
	// http is closed with the session: an in-process run (tests, the demo)
	// must not leave idle connections that keep a server's shutdown waiting.
	http *http.Client
}

// connect builds the credential, the per-identity pacers and the client.
func (g *globalOptions) connect() (*session, error) {
	ep, err := client.EndpointsFor(g.Cloud)
	if err != nil {
		return nil, err
	}
	if g.APIURL != "" {
		ep = ep.WithBaseURL(g.APIURL)
	}
	hc, err := g.httpClient()
	if err != nil {
		return nil, err
	}
	var src client.TokenSource = g.tokens
	if src == nil {
		if src, err = g.credential(hc); err != nil {
			return nil, err
		}
	}
	reg, err := pacer.NewRegistry(pacer.Config{Calls: g.RateLimit, Writes: g.WriteLimit}, g.historyFile)
	if err != nil {
		return nil, err
	}
	c, err := client.New(client.Config{
		Endpoints:  ep,
		Tokens:     src,
		HTTPClient: hc,
		Pacer:      func(id string) client.Pacer { return reg.For(id) },
		Logger:     g.logger(),
		UserAgent:  "flowsync/" + Version,
	})
	if err != nil {
		return nil, err
	}
	return &session{Client: c, Tokens: src, Pacers: reg, http: hc}, nil
}

// historyFile places the pacers' send history in FLOWSYNC_CACHE_DIR when
// set, else in the user's cache directory.
func (g *globalOptions) historyFile(identity string) (string, error) {
	if dir := g.getenv("FLOWSYNC_CACHE_DIR"); dir != "" {
		return filepath.Join(dir, "pacer", pacer.HistoryFileName(identity)), nil
	}
	return pacer.DefaultHistoryFile(identity)
}

// credential builds the token source --auth describes.
func (g *globalOptions) credential(hc *http.Client) (client.TokenSource, error) {
	authority := g.AuthorityHost
	if authority == "" {
		// The sovereign clouds sign in elsewhere (NOTES §1.1); GCC uses the public authority.
		switch g.Cloud {
		case client.USGovHigh, client.DoD:
			authority = auth.AuthorityUSGovernment
		case client.China:
			authority = auth.AuthorityChina
		}
	}
	src, err := auth.New(auth.Options{
		Method:              g.Auth,
		Tenant:              g.Tenant,
		ClientID:            g.ClientID,
		ClientSecret:        g.ClientSecret,
		CertificatePath:     g.Certificate,
		CertificatePassword: g.CertPassword,
		AuthorityHost:       authority,
		Transport:           hc,
		Getenv:              g.getenv,
		DeviceCodePrompt: func(_ context.Context, msg string) error {
			_, err := fmt.Fprintln(g.io.Err, msg)
			return err
		},
	})
	if errors.Is(err, auth.ErrMissingSetting) {
		return nil, usagef("--auth %s: %v", g.Auth, err)
	}
	if err != nil {
		return nil, fmt.Errorf("authentication (--auth %s): %w", g.Auth, err)
	}
	return src, nil
}

// withSession connects, runs run with the session and closes it (which
// keeps the pacers' send history) whatever run returns: every command that
// talks to the service is this.
func (g *globalOptions) withSession(run func(*session) error) error {
	s, err := g.connect()
	if err != nil {
		return err
	}
	defer s.close()
	return run(s)
}

// close persists the pacers' send history so back-to-back runs do not burst
// into the server's still-open window.
func (s *session) close() error {
	if s == nil {
		return nil
	}
	if s.http != nil {
		s.http.CloseIdleConnections()
	}
	if s.Pacers == nil {
		return nil
	}
	return s.Pacers.SaveAll()
}
