package conformance

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/auth"
	"github.com/flowsync/flowsync/internal/client"
	"github.com/flowsync/flowsync/internal/emulator/seed"
	"github.com/flowsync/flowsync/internal/pacer"
	"github.com/flowsync/flowsync/internal/testemu"
	"github.com/flowsync/flowsync/internal/token"
)

// Variables of the live run. Sign-in uses the CLI's own variables
// (FLOWSYNC_AUTH, FLOWSYNC_TENANT, FLOWSYNC_CLIENT_ID, FLOWSYNC_CLIENT_SECRET,
// FLOWSYNC_CERTIFICATE, FLOWSYNC_CERTIFICATE_PASSWORD, FLOWSYNC_CLOUD,
// FLOWSYNC_API_URL, FLOWSYNC_AUTHORITY_HOST, FLOWSYNC_CA_CERT,
// FLOWSYNC_RATE_LIMIT, FLOWSYNC_WRITE_LIMIT, and the AZURE_* fallbacks).
const (
	envLiveTest = "FLOWSYNC_LIVE_TEST" // "1" runs the live suite
	// envLiveRoles lists the roles the credential may play (admin, maker,
	// app); by default an application token plays app and admin, a user
	// with an admin role admin, any other user maker.
	envLiveRoles = "FLOWSYNC_LIVE_ROLES"
	// envLiveEnv names the environment to read (default: the default one).
	envLiveEnv = "FLOWSYNC_LIVE_ENV"
	// envLiveFlow names a flow of that environment with connection
	// references (default: the first flow listed).
	envLiveFlow = "FLOWSYNC_LIVE_FLOW"
	// envLiveRequestFlow and envLiveRequestTrigger name a flow with a
	// Request trigger, for the callback URL.
	envLiveRequestFlow    = "FLOWSYNC_LIVE_REQUEST_FLOW"
	envLiveRequestTrigger = "FLOWSYNC_LIVE_REQUEST_TRIGGER"
	// envLiveRunsFlow names a flow with more than 50 runs.
	envLiveRunsFlow = "FLOWSYNC_LIVE_RUNS_FLOW"
)

// TestConformanceLive runs the suite read-only against a real tenant. It
// sends real requests to Microsoft, so it runs only when asked to; with the
// service's published limits (5 calls a minute) it takes a while: raise
// -timeout, or FLOWSYNC_RATE_LIMIT if the tenant allows more.
func TestConformanceLive(t *testing.T) {
	if os.Getenv(envLiveTest) != "1" {
		t.Skipf("live conformance against a real tenant is off; to run the suite read-only, set %s=1 and the "+
			"FLOWSYNC_* sign-in variables the CLI reads (FLOWSYNC_AUTH, FLOWSYNC_TENANT, FLOWSYNC_CLIENT_ID, …), "+
			"e.g. %s=1 FLOWSYNC_AUTH=azcli go test -run TestConformanceLive -timeout 60m ./internal/conformance", envLiveTest, envLiveTest)
	}
	tg, err := liveTarget(t, os.Getenv, pacer.DefaultHistoryFile)
	if err != nil {
		t.Fatal(err)
	}
	RunSuite(t, tg)
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func firstSet(getenv func(string) string, keys ...string) string {
	for _, k := range keys {
		if v := getenv(k); v != "" {
			return v
		}
	}
	return ""
}

// liveTarget builds the client the way the CLI does (cloud, base URL, CA,
// credential, per-identity pacers with their history) and finds the
// fixtures it can by listing.
// history names the pacers' history files (nil: none).
func liveTarget(t *testing.T, getenv func(string) string, history func(string) (string, error)) (Target, error) {
	cloud, err := client.ParseCloud(or(getenv("FLOWSYNC_CLOUD"), string(client.Public)))
	if err != nil {
		return Target{}, fmt.Errorf("FLOWSYNC_CLOUD: %w", err)
	}
	ep, err := client.EndpointsFor(cloud)
	if err != nil {
		return Target{}, err
	}
	if u := getenv("FLOWSYNC_API_URL"); u != "" {
		if err := client.ValidateBaseURL(u); err != nil {
			return Target{}, fmt.Errorf("FLOWSYNC_API_URL: %w", err)
		}
		ep = ep.WithBaseURL(u)
	}
	hc, err := liveHTTPClient(getenv("FLOWSYNC_CA_CERT"))
	if err != nil {
		return Target{}, err
	}
	method, err := auth.ParseMethod(or(getenv("FLOWSYNC_AUTH"), string(auth.MethodDefault)))
	if err != nil {
		return Target{}, fmt.Errorf("FLOWSYNC_AUTH: %w", err)
	}
	authority := firstSet(getenv, "FLOWSYNC_AUTHORITY_HOST", "AZURE_AUTHORITY_HOST")
	if authority == "" {
		switch cloud {
		case client.USGovHigh, client.DoD:
			authority = auth.AuthorityUSGovernment
		case client.China:
			authority = auth.AuthorityChina
		}
	}
	src, err := auth.New(auth.Options{
		Method:              method,
		Tenant:              firstSet(getenv, "FLOWSYNC_TENANT", "AZURE_TENANT_ID"),
		ClientID:            firstSet(getenv, "FLOWSYNC_CLIENT_ID", "AZURE_CLIENT_ID"),
		ClientSecret:        firstSet(getenv, "FLOWSYNC_CLIENT_SECRET", "AZURE_CLIENT_SECRET"),
		CertificatePath:     firstSet(getenv, "FLOWSYNC_CERTIFICATE", "AZURE_CLIENT_CERTIFICATE_PATH"),
		CertificatePassword: firstSet(getenv, "FLOWSYNC_CERTIFICATE_PASSWORD", "AZURE_CLIENT_CERTIFICATE_PASSWORD"),
		AuthorityHost:       authority,
		Transport:           hc,
		Getenv:              getenv,
		DeviceCodePrompt: func(_ context.Context, msg string) error {
			_, err := fmt.Fprintln(os.Stderr, msg)
			return err
		},
	})
	if err != nil {
		return Target{}, fmt.Errorf("sign-in (FLOWSYNC_AUTH=%s): %w", method, err)
	}
	calls, err := pacer.ParseLimit(or(getenv("FLOWSYNC_RATE_LIMIT"), pacer.DefaultCalls))
	if err != nil {
		return Target{}, fmt.Errorf("FLOWSYNC_RATE_LIMIT: %w", err)
	}
	writes, err := pacer.ParseLimit(or(getenv("FLOWSYNC_WRITE_LIMIT"), pacer.DefaultWrites))
	if err != nil {
		return Target{}, fmt.Errorf("FLOWSYNC_WRITE_LIMIT: %w", err)
	}
	// The CLI's history files, so that this run and a CLI run right before
	// or after it share the identity's windows.
	reg, err := pacer.NewRegistry(pacer.Config{Calls: calls, Writes: writes}, history)
	if err != nil {
		return Target{}, err
	}
	t.Cleanup(func() {
		if err := reg.SaveAll(); err != nil {
			t.Errorf("save pacer history: %v", err)
		}
	})

	ctx := t.Context()
	raw, err := src.Token(ctx, ep.FlowScope)
	if err != nil {
		return Target{}, fmt.Errorf("sign-in: %w", err)
	}
	claims, err := token.Parse(raw)
	if err != nil {
		return Target{}, fmt.Errorf("the access token is not a JWT the suite can read: %w", err)
	}
	roles, err := liveRoles(getenv(envLiveRoles), claims)
	if err != nil {
		return Target{}, err
	}
	newClient := func(role Role, configure func(*client.Config)) (*client.Client, error) {
		if !roles[role] {
			return nil, ErrNoRole
		}
		cfg := client.Config{
			Endpoints:  ep,
			Tokens:     src,
			HTTPClient: hc,
			Pacer:      func(id string) client.Pacer { return reg.For(id) },
			UserAgent:  "flowsync-conformance",
		}
		if configure != nil {
			configure(&cfg)
		}
		return client.New(cfg)
	}
	fx, err := liveFixtures(ctx, getenv, roles, claims, newClient)
	if err != nil {
		return Target{}, err
	}
	t.Logf("live target: cloud %s, roles %v, environment %s, flow %s", cloud, roleList(roles), fx.Env, firstFlow(fx))
	return Target{Name: "live " + string(cloud), Live: true, NewClient: newClient, Fixtures: fx}, nil
}

func liveHTTPClient(caFile string) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 16
	if caFile != "" {
		pemBytes, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("FLOWSYNC_CA_CERT: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pemBytes) {
			return nil, fmt.Errorf("FLOWSYNC_CA_CERT %s: no PEM certificate", caFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr, Timeout: 5 * time.Minute}, nil
}

// liveRoles reads FLOWSYNC_LIVE_ROLES, or guesses from the token: only one
// credential signs in, so it plays the roles its token fits. A user with an
// admin role is not a maker by default: the suite checks that makers are
// refused on admin paths.
func liveRoles(spec string, claims token.Claims) (map[Role]bool, error) {
	roles := map[Role]bool{}
	if spec == "" {
		switch {
		case claims.IsApp():
			roles[RoleApp], roles[RoleAdmin] = true, true
		case claims.IsAdmin():
			roles[RoleAdmin] = true
		default:
			roles[RoleMaker] = true
		}
		return roles, nil
	}
	for _, r := range strings.Split(spec, ",") {
		switch role := Role(strings.TrimSpace(r)); role {
		case RoleAdmin, RoleMaker, RoleApp:
			roles[role] = true
		default:
			return nil, fmt.Errorf("%s: unknown role %q (want admin, maker or app)", envLiveRoles, r)
		}
	}
	return roles, nil
}

func roleList(roles map[Role]bool) []string {
	var out []string
	for _, r := range []Role{RoleAdmin, RoleMaker, RoleApp} {
		if roles[r] {
			out = append(out, string(r))
		}
	}
	return out
}

func firstFlow(fx Fixtures) api.FlowName {
	if fx.MakerFlow != "" {
		return fx.MakerFlow
	}
	return fx.AdminFlow
}

var errFound = errors.New("found")

// liveFixtures takes what the variables name and lists the rest: the
// default environment, and its first flow. Everything the suite cannot find
// this way stays zero, and the checks that need it are skipped.
func liveFixtures(ctx context.Context, getenv func(string) string, roles map[Role]bool, claims token.Claims,
	newClient func(Role, func(*client.Config)) (*client.Client, error)) (Fixtures, error) {
	fx := Fixtures{
		Env:            api.EnvName(getenv(envLiveEnv)),
		RequestFlow:    api.FlowName(getenv(envLiveRequestFlow)),
		RequestTrigger: getenv(envLiveRequestTrigger),
		RunsFlow:       api.FlowName(getenv(envLiveRunsFlow)),
	}
	role := RoleAdmin
	if roles[RoleMaker] {
		role = RoleMaker
		fx.Maker = api.PrincipalID(claims.ObjectID)
	} else if !roles[RoleAdmin] {
		return fx, nil
	}
	c, err := newClient(role, nil)
	if err != nil {
		return fx, err
	}
	if fx.Env == "" {
		var envs []api.Environment
		if role == RoleMaker {
			envs, err = c.ListEnvironments(ctx)
		} else {
			envs, err = c.AdminListEnvironments(ctx)
		}
		if err != nil {
			return fx, fmt.Errorf("find an environment (or set %s): %w", envLiveEnv, err)
		}
		for _, e := range envs {
			if e.Properties.IsDefault || fx.Env == "" {
				fx.Env = e.Name
			}
			if e.Properties.IsDefault {
				break
			}
		}
		if fx.Env == "" {
			return fx, fmt.Errorf("no environment listed; set %s", envLiveEnv)
		}
	}
	flow := api.FlowName(getenv(envLiveFlow))
	if flow == "" {
		// One page is enough: stop the listing after it.
		first := func(fs []api.Flow) error {
			if len(fs) > 0 {
				flow = fs[0].Name
			}
			return errFound
		}
		if role == RoleMaker {
			err = c.ListFlowsPages(ctx, fx.Env, client.ListFlowsOptions{Top: 10}, first)
		} else {
			err = c.AdminListFlowsPages(ctx, fx.Env, client.AdminListFlowsOptions{Top: 10}, first)
		}
		if err != nil && !errors.Is(err, errFound) {
			return fx, fmt.Errorf("find a flow in %s (or set %s): %w", fx.Env, envLiveFlow, err)
		}
	}
	if role == RoleMaker {
		fx.MakerFlow = flow
	}
	if roles[RoleAdmin] {
		fx.AdminFlow = flow
	}
	return fx, nil
}

// TestLiveTargetReadOnly runs the live target's code path (sign-in from the
// FLOWSYNC_* variables, fixtures found by listing, Live semantics) against
// the emulator instead of Microsoft, once as a maker and once as an
// application, and checks from the emulator's request log that the live
// suite only reads: every request is a GET, or listCallbackUrl.
func TestLiveTargetReadOnly(t *testing.T) {
	t.Parallel()
	inst := testemu.Start(t, testemu.Options{Snapshot: fixtureSnapshot(), WallClock: true}).Inst
	for _, who := range []struct {
		name      string
		principal api.PrincipalID
	}{
		{"maker", seed.DemoPriya},
		{"application", seed.DemoBackupSP},
	} {
		t.Run(who.name, func(t *testing.T) {
			// No audience: the emulator's control-path tokens fit every API,
			// as FLOWSYNC_TOKEN must for a token-only sign-in.
			tok, err := inst.Server.MintToken(who.principal, "")
			if err != nil {
				t.Fatal(err)
			}
			vars := map[string]string{
				envLiveTest:           "1",
				"FLOWSYNC_API_URL":    inst.URL,
				"FLOWSYNC_AUTH":       string(auth.MethodToken),
				auth.EnvToken:         tok,
				"FLOWSYNC_RATE_LIMIT": "1000/1s",
				envLiveEnv:            string(seed.DemoEnvDev),
				envLiveRequestFlow:    string(seed.DemoFlowRequestLaptop),
				envLiveRequestTrigger: "manual",
				envLiveRunsFlow:       string(seed.DemoFlowInvoiceApproval),
			}
			tg, err := liveTarget(t, func(k string) string { return vars[k] }, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !tg.Live || tg.Writes || tg.Control != nil {
				t.Fatalf("live target: Live %v, Writes %v, Control %v; want a read-only live target", tg.Live, tg.Writes, tg.Control)
			}
			RunSuite(t, tg)
		})
	}
	resp, err := http.Get(inst.URL + "/_emulator/requests")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var log struct {
		Value []struct {
			Method, Path string
			Status       int
		} `json:"value"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&log); err != nil {
		t.Fatal(err)
	}
	if len(log.Value) < 20 {
		t.Fatalf("only %d requests reached the emulator", len(log.Value))
	}
	for _, e := range log.Value {
		if e.Method != http.MethodGet && !strings.HasSuffix(e.Path, "/listCallbackUrl") {
			t.Errorf("the read-only suite sent %s %s (%d)", e.Method, e.Path, e.Status)
		}
	}
}
