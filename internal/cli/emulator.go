package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/auth"
	"github.com/flowsync/flowsync/internal/emulator"
	"github.com/flowsync/flowsync/internal/emulator/embedded"
	"github.com/flowsync/flowsync/internal/emulator/seed"
	"github.com/flowsync/flowsync/internal/pacer"
)

// emulatorOptions are the options of `flowsync emulator`.
type emulatorOptions struct {
	Addr     string
	TLS      bool
	CAOut    string
	Seed     string
	Load     []string
	LoadEnv  string
	State    string
	Faults   string
	Throttle string
	Calls    string
	Writes   string
	PageSize int
}

func emulatorCommand(g *globalOptions) *ucli.Command {
	var o emulatorOptions
	var load ucli.StringSlice
	var tok emulatorTokenOptions
	return &ucli.Command{
		Name:  "emulator",
		Usage: "run the Power Automate Management API emulator on this machine",
		Description: "A local, standalone emulator of the service flowsync talks to: the same paths and shapes,\n" +
			"paging, soft delete, permissions, throttling with 429 and Retry-After, and injectable faults.\n" +
			"Point flowsync at it with --api-url and --auth token (FLOWSYNC_TOKEN from 'flowsync emulator token').",
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "addr", Value: "127.0.0.1:8787", Usage: "address to listen on", Destination: &o.Addr},
			&ucli.BoolFlag{Name: "tls", Usage: "serve https with a self-signed certificate (enables the Entra token endpoint for azidentity)", Destination: &o.TLS},
			&ucli.StringFlag{Name: "ca-out", Usage: "with --tls: write the certificate (PEM) to this file, for --ca-cert", Destination: &o.CAOut},
			&ucli.StringFlag{Name: "seed", Value: seed.NameDemo, Usage: "initial data: " + strings.Join(seed.Names(), " or "), Destination: &o.Seed},
			&ucli.StringSliceFlag{Name: "load", Usage: "flow files or directories (both export formats; UTF-8 or UTF-16) to load", Destination: &load},
			&ucli.StringFlag{Name: "load-env", Usage: "environment that --load fills: a name or display name of the seed, else a new environment of that name (default: the default environment)", Destination: &o.LoadEnv},
			&ucli.StringFlag{Name: "state", Usage: "persist the state to this file across restarts", Destination: &o.State},
			&ucli.StringFlag{Name: "faults", Usage: "inject faults, e.g. seed=42,429:p=0.2:retry-after=3,5xx:p=0.05,reset:p=0.02; targeted: 5xx-after-write:op=create:nth=1, 429:op=write:count=20:retry-after=1", Destination: &o.Faults},
			&ucli.StringFlag{Name: "throttle", Value: emulator.ProfileConnector, Usage: "throttling profile: connector, service or off", Destination: &o.Throttle},
			&ucli.StringFlag{Name: "calls", Value: pacer.DefaultCalls, Usage: "calls per sliding window per identity, N/DURATION", Destination: &o.Calls},
			&ucli.StringFlag{Name: "writes", Value: pacer.DefaultWrites, Usage: "non-GET calls per sliding window per identity, N/DURATION", Destination: &o.Writes},
			&ucli.IntFlag{Name: "page-size", Value: 50, Usage: "default page length of lists", Destination: &o.PageSize},
		},
		Action: func(c *ucli.Context) error {
			o.Load = load.Value()
			return runEmulator(c.Context, g, o)
		},
		Subcommands: []*ucli.Command{{
			Name:  "token",
			Usage: "print a bearer token for a principal of a running emulator",
			Flags: []ucli.Flag{
				&ucli.StringFlag{Name: "url", Value: "http://127.0.0.1:8787", Usage: "the emulator's URL", EnvVars: []string{"FLOWSYNC_API_URL"}, Destination: &tok.URL},
				&ucli.StringFlag{Name: "principal", Usage: "object id, user principal name, display name or application id (default: the first admin user)", Destination: &tok.Principal},
				&ucli.StringFlag{Name: "audience", Value: "flow", Usage: "flow, powerapps (for FLOWSYNC_POWERAPPS_TOKEN), graph (principal lookups) or any (no audience: the emulator accepts it everywhere)", Destination: &tok.Audience},
				&ucli.DurationFlag{Name: "ttl", Value: emulator.DefaultTokenTTL, Usage: "token lifetime from now (wall clock); negative for an already expired token, to rehearse token refresh", Destination: &tok.TTL},
			},
			Action: func(c *ucli.Context) error { return runEmulatorToken(c.Context, g, tok) },
		}},
	}
}

func (o emulatorOptions) emulatorOptions() (emulator.Options, error) {
	calls, err := pacer.ParseLimit(o.Calls)
	if err != nil {
		return emulator.Options{}, usagef("--calls: %v", err)
	}
	writes, err := pacer.ParseLimit(o.Writes)
	if err != nil {
		return emulator.Options{}, usagef("--writes: %v", err)
	}
	switch o.Throttle {
	case emulator.ProfileConnector, emulator.ProfileService, emulator.ProfileOff:
	default:
		return emulator.Options{}, usagef("--throttle: %q is not a profile: want connector, service or off", o.Throttle)
	}
	if o.PageSize < 1 || o.PageSize > 250 {
		return emulator.Options{}, usagef("--page-size: %d is out of range: want 1 to 250", o.PageSize)
	}
	eo := emulator.Options{
		Throttle:  emulator.ThrottleConfig{Profile: o.Throttle, Calls: calls.N, Per: calls.Per, Writes: writes.N, WritesPer: writes.Per},
		PageSize:  o.PageSize,
		StateFile: o.State,
	}
	if o.Faults != "" {
		if eo.Faults, err = emulator.ParseFaults(o.Faults); err != nil {
			return emulator.Options{}, usagef("--faults: %v", err)
		}
	}
	return eo, nil
}

func runEmulator(ctx context.Context, g *globalOptions, o emulatorOptions) error {
	eo, err := o.emulatorOptions()
	if err != nil {
		return err
	}
	if o.CAOut != "" && !o.TLS {
		return usagef("--ca-out needs --tls")
	}
	base, err := seed.Lookup(o.Seed)
	if err != nil {
		return usagef("--seed: %v", err)
	}
	snap := base
	if len(o.Load) > 0 {
		if snap, err = loadFlows(base, o.Load, o.LoadEnv); err != nil {
			return err
		}
	}
	if o.State != "" {
		if _, err := os.Stat(o.State); err == nil {
			snap = nil // the state file wins over the seed
		}
	}
	inst, err := embedded.Start(ctx, embedded.Options{Addr: o.Addr, TLS: o.TLS, Snapshot: snap, Emulator: eo})
	if err != nil {
		return fmt.Errorf("start emulator on %s: %w", o.Addr, err)
	}
	defer inst.Close()
	if o.CAOut != "" {
		if err := os.WriteFile(o.CAOut, inst.CACertPEM, 0o644); err != nil {
			return fmt.Errorf("--ca-out: %w", err)
		}
	}
	dump := inst.Server.Dump()
	out := g.io.Out
	fmt.Fprintf(out, "flowsync emulator listening on %s (tenant %s)\n", inst.URL, dump.Tenant)
	fmt.Fprintf(out, "%d environments, %d flows, %d principals; throttling %s %s, writes %s\n",
		len(dump.Environments), len(dump.Flows), len(dump.Principals), o.Throttle, o.Calls, o.Writes)
	if admin, ok := embedded.AdminUser(dump); ok {
		printTry(out, inst.URL, admin.UPN, o.TLS, o.CAOut)
	}
	fmt.Fprintf(out, "\nControl paths: %s/_emulator/{state,stats,requests,reset,seed,clock/advance,faults,token}\nPress Ctrl-C to stop.\n", inst.URL)
	<-ctx.Done()
	return nil
}

// tryTokens are the token variables a session reads (internal/auth's token
// method) and the audience each needs: Graph refuses a Flow token, so
// principal lookups need their own.
var tryTokens = []struct{ env, audience string }{
	{auth.EnvToken, ""},
	{auth.EnvPowerAppsToken, "powerapps"},
	{auth.EnvGraphToken, "graph"},
}

// printTry prints the shell lines that point flowsync at a running
// emulator as principal. With tls, the commands must trust the emulator's
// certificate: caOut is where --ca-out wrote it ("" if it was not asked for).
func printTry(w io.Writer, url, principal string, tls bool, caOut string) {
	fmt.Fprintf(w, "\nTry:\n")
	if tls {
		if caOut == "" {
			fmt.Fprintf(w, "  # --tls: restart with --ca-out FILE and export FLOWSYNC_CA_CERT=FILE so flowsync trusts the certificate\n")
		} else {
			fmt.Fprintf(w, "  export FLOWSYNC_CA_CERT=%s\n", shellQuote(caOut))
		}
	}
	fmt.Fprintf(w, "  export FLOWSYNC_API_URL=%s FLOWSYNC_AUTH=token\n", url)
	for _, t := range tryTokens {
		aud := ""
		if t.audience != "" {
			aud = " --audience " + t.audience
		}
		fmt.Fprintf(w, "  export %s=$(flowsync emulator token --url %s --principal %s%s)\n", t.env, url, shellQuote(principal), aud)
	}
	fmt.Fprintf(w, "  flowsync envs\n")
}

// shellQuote quotes s for a POSIX shell unless it is plainly safe.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./_-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// loadTarget resolves --load-env as every other --env is resolved: an
// environment name, else the display name of exactly one environment of the
// seed. Only a value that is neither names a new environment. Without this,
// `--load-env "Contoso Dev"` made a second environment whose name is that
// display name (not a name the service gives, so export skipped it) instead
// of filling Contoso Dev.
func loadTarget(base *emulator.Snapshot, env string) (api.EnvName, error) {
	if env == "" || base == nil {
		return api.EnvName(env), nil
	}
	var byDisplay []api.EnvName
	for _, e := range base.Environments {
		if string(e.Name) == env {
			return e.Name, nil
		}
		if strings.EqualFold(e.DisplayName, env) {
			byDisplay = append(byDisplay, e.Name)
		}
	}
	switch len(byDisplay) {
	case 0:
		return api.EnvName(env), nil
	case 1:
		return byDisplay[0], nil
	}
	names := make([]string, len(byDisplay))
	for i, n := range byDisplay {
		names[i] = string(n)
	}
	return "", usagef("--load-env %q: %d environments of the seed have that display name (%s); give the environment name", env, len(byDisplay), strings.Join(names, ", "))
}

// loadFlows adds flow files (or every *.json of directories; a directory with
// a MANIFEST.tsv is read as a corpus) to the environment env of base.
func loadFlows(base *emulator.Snapshot, paths []string, env string) (*emulator.Snapshot, error) {
	target, err := loadTarget(base, env)
	if err != nil {
		return nil, err
	}
	if target == "" {
		for _, e := range base.Environments {
			if e.IsDefault {
				target = e.Name
			}
		}
		if target == "" {
			return nil, usagef("--load-env: the seed has no default environment; name one")
		}
	}
	snap := base
	var files []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("--load %s: %w", p, err)
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		if _, err := os.Stat(filepath.Join(p, "MANIFEST.tsv")); err == nil {
			if snap, err = seed.FromCorpus(p, target, snap); err != nil {
				return nil, fmt.Errorf("--load %s: %w", p, err)
			}
			continue
		}
		matches, err := filepath.Glob(filepath.Join(p, "*.json"))
		if err != nil {
			return nil, err
		}
		if len(matches) == 0 {
			return nil, fmt.Errorf("--load %s: no *.json flow files in the directory", p)
		}
		slices.Sort(matches)
		files = append(files, matches...)
	}
	if len(files) > 0 {
		var err error
		if snap, err = seed.FromFiles(target, files, snap); err != nil {
			return nil, fmt.Errorf("--load: %w", err)
		}
	}
	return snap, nil
}

// emulatorTokenOptions are the options of `flowsync emulator token`.
type emulatorTokenOptions struct {
	URL       string
	Principal string
	Audience  string // flow, powerapps or graph
	// TTL is the token's lifetime from now; negative mints an expired one.
	TTL time.Duration
}

// Token audiences by the short names the token command takes.
var tokenAudiences = map[string]string{
	"flow":      "https://service.flow.microsoft.com/",
	"powerapps": "https://service.powerapps.com/",
	"graph":     "https://graph.microsoft.com",
	// any: no aud claim, which only the emulator accepts, on every path
	// (Flow, PowerApps, BAP and Graph alike): one FLOWSYNC_TOKEN for all.
	"any": "",
}

func runEmulatorToken(ctx context.Context, g *globalOptions, o emulatorTokenOptions) error {
	base, err := url.Parse(o.URL)
	if err != nil || base.Scheme == "" || base.Host == "" {
		return usagef("--url: %q is not an absolute URL such as http://127.0.0.1:8787", o.URL)
	}
	aud, ok := tokenAudiences[o.Audience]
	if !ok {
		return usagef("--audience: %q: want flow (flows, environments), powerapps (connections, connectors, admin environment list), graph (principal lookups) or any (all of them, emulator only)", o.Audience)
	}
	if o.TTL == 0 {
		o.TTL = emulator.DefaultTokenTTL
	}
	if o.TTL > emulator.MaxTokenTTL || o.TTL < -emulator.MaxTokenTTL {
		return usagef("--ttl: %v is out of range: want a duration within ±%v (negative for an expired token)", o.TTL, emulator.MaxTokenTTL)
	}
	hc, err := g.httpClient()
	if err != nil {
		return err
	}
	hc.Timeout = 30 * time.Second
	call := func(method, path string, q url.Values, v any) error {
		u := base.JoinPath(path)
		u.RawQuery = q.Encode()
		req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
		if err != nil {
			return err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return fmt.Errorf("emulator at %s (is it running?): %w", base.Redacted(), err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("emulator at %s: %s %s: %s", base.Redacted(), method, path, strings.TrimSpace(string(body)))
		}
		return json.Unmarshal(body, v)
	}
	id := o.Principal
	if !looksLikeGUID(id) {
		var snap emulator.Snapshot
		if err := call(http.MethodGet, "/_emulator/state", nil, &snap); err != nil {
			return err
		}
		p, err := findPrincipal(&snap, id)
		if err != nil {
			return err
		}
		id = string(p.ID)
	}
	var t struct {
		AccessToken string `json:"access_token"`
	}
	if err := call(http.MethodPost, "/_emulator/token", url.Values{"principal": {id}, "audience": {aud}, "ttl": {o.TTL.String()}}, &t); err != nil {
		return err
	}
	if t.AccessToken == "" {
		return fmt.Errorf("emulator at %s answered no token", base.Redacted())
	}
	_, err = fmt.Fprintln(g.io.Out, t.AccessToken)
	return err
}

// findPrincipal finds a principal by user principal name, e-mail, display
// name or application id; "" means the first admin user.
func findPrincipal(s *emulator.Snapshot, name string) (emulator.Principal, error) {
	if name == "" {
		if p, ok := embedded.AdminUser(s); ok {
			return p, nil
		}
		return emulator.Principal{}, fmt.Errorf("the emulator has no admin user: name a principal with --principal")
	}
	for _, p := range s.Principals {
		for _, v := range []string{p.UPN, p.Email, p.DisplayName, p.AppID} {
			if v != "" && strings.EqualFold(v, name) {
				return p, nil
			}
		}
	}
	return emulator.Principal{}, fmt.Errorf("no principal %q in the emulator: name one by object id, user principal name, e-mail, display name or application id", name)
}

func looksLikeGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if r != '-' {
				return false
			}
		case !strings.ContainsRune("0123456789abcdefABCDEF", r):
			return false
		}
	}
	return true
}
