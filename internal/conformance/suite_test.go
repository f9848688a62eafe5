package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/client"
	"github.com/flowsync/flowsync/internal/redact"
)

// Role names an identity the suite acts as.
type Role string

const (
	// RoleAdmin calls the admin scope: a Power Platform administrator, user
	// or service principal.
	RoleAdmin Role = "admin"
	// RoleMaker is a delegated user without the admin role: the identity
	// that creates, edits and shares flows.
	RoleMaker Role = "maker"
	// RoleApp holds an application (service principal) token.
	RoleApp Role = "app"
)

// ErrNoRole is what Target.NewClient returns for a role the target has no
// identity for.
var ErrNoRole = errors.New("the target has no identity for this role")

// Target is what the suite runs against.
type Target struct {
	Name string
	// Live marks a real tenant: a check whose identity, fixture or
	// capability the target lacks is skipped there, while on the emulator
	// the same gap is a failure (the emulator target must cover everything).
	Live bool
	// Writes allows create, update, delete and every other non-GET call
	// that changes state.
	Writes bool
	// NewClient builds a client acting as role. configure (never nil when
	// the suite calls it) adjusts the config before client.New: the suite
	// sets the logger, wraps the token source, and injects Sleep and Now for
	// the retry checks. It returns ErrNoRole for roles the target lacks.
	NewClient func(role Role, configure func(*client.Config)) (*client.Client, error)
	// Fixtures name what the suite reads.
	Fixtures Fixtures
	// Control reaches emulator-only machinery; nil on a real tenant.
	Control Control
}

// Control is the emulator's test machinery (its /_emulator/ paths).
type Control interface {
	// SetFaults replaces the fault rules (emulator.ParseFaults syntax).
	SetFaults(ctx context.Context, spec string) error
	// ClearFaults removes every fault rule.
	ClearFaults(ctx context.Context) error
	// Advance moves the emulator clock forward.
	Advance(ctx context.Context, d time.Duration) error
	// Now reads the emulator clock.
	Now(ctx context.Context) (time.Time, error)
}

// Fixtures name the objects of a target. A zero field means the target has
// no such object: checks that need it are skipped on a live target and fail
// on the emulator.
type Fixtures struct {
	// Env is the environment the suite reads and writes.
	Env api.EnvName
	// Maker is the maker's principal id (checked as the Owner of its flows).
	Maker api.PrincipalID
	// MakerFlow is a flow in Env the maker created.
	MakerFlow api.FlowName
	// PersonalFlow is a flow in Env the maker created and shares with no
	// co-owner; TeamFlow one with co-owners that the maker may edit.
	PersonalFlow, TeamFlow api.FlowName
	// SolutionFlow is a solution flow in Env the maker created: listed only
	// with includeSolutionCloudFlows.
	SolutionFlow api.FlowName
	// ForeignFlow is a flow in Env the maker can neither see nor edit.
	ForeignFlow api.FlowName
	// AdminFlow is any flow in Env, read through the admin scope.
	AdminFlow api.FlowName
	// DeletedFlow is a soft-deleted flow of Env within retention.
	DeletedFlow api.FlowName
	// RunOnlyFlow is a maker flow in Env with at least one run-only user.
	RunOnlyFlow api.FlowName
	// RequestFlow is a maker flow in Env whose trigger RequestTrigger is a
	// Request trigger (it has a callback URL).
	RequestFlow    api.FlowName
	RequestTrigger string
	// RunsFlow is a maker flow in Env with more runs than one page holds
	// (50); RunsFlowRuns is their exact number (0: unknown).
	RunsFlow     api.FlowName
	RunsFlowRuns int
	// RunningRun is a Running run of RunsFlow (the write checks cancel it);
	// FinishedRun a finished one of RunsTrigger (they resubmit it).
	RunningRun, FinishedRun string
	RunsTrigger             string
	// PagingEnv holds PagingFlows flows, more than one page, all created by
	// the maker (0: unknown; every flow is still checked to come once).
	PagingEnv   api.EnvName
	PagingFlows int
	// Connector is a connector of Env without OAuth (its new connections
	// are Connected); OAuthConnector one with OAuth (they are not).
	Connector, OAuthConnector api.APIName
	// Connection is a Connected connection of Connector in Env that the
	// maker created; the flows the suite creates use it.
	Connection api.ConnectionName
	// Grantee is a user and Group a group of the tenant, other than the
	// maker, to share flows with.
	Grantee, Group api.PrincipalID
	// ServicePrincipal is a service principal of the tenant (principal
	// lookups).
	ServicePrincipal api.PrincipalID
}

// RunSuite runs every operation of CONTRACT.md's table through the client
// against tg: success and error paths, paging, access rules, and, when the
// target allows, writes and fault injection. Subtests run in order and do
// not run in parallel: the write checks change what later reads see.
func RunSuite(t *testing.T, tg Target) {
	if tg.NewClient == nil {
		t.Fatal("target has no NewClient")
	}
	s := &suite{tg: tg, fx: tg.Fixtures, logs: &syncBuffer{}, secrets: &secretSet{}, clients: map[Role]*client.Client{}}
	t.Run("Environments", s.environments)
	t.Run("ListMyFlows", s.listMyFlows)
	t.Run("AdminListFlows", s.adminListFlows)
	t.Run("GetFlow", s.getFlow)
	t.Run("AdminGetFlow", s.adminGetFlow)
	t.Run("Paging", s.paging)
	t.Run("Permissions", s.permissions)
	t.Run("CallbackURL", s.callbackURL)
	t.Run("RunsAndTriggers", s.runsAndTriggers)
	t.Run("Connectors", s.connectors)
	t.Run("Connections", s.connections)
	t.Run("Principals", s.principals)
	t.Run("AccessErrors", s.accessErrors)
	t.Run("ErrorShapes", s.errorShapes)
	t.Run("Writes", s.writes)
	t.Run("Faults", s.faults)
	// Last: it reads what every other check logged.
	t.Run("NoSecretsInLogs", s.noSecretsInLogs)
}

// suite is one run of RunSuite.
type suite struct {
	tg      Target
	fx      Fixtures
	logs    *syncBuffer // every client's debug log
	secrets *secretSet  // tokens handed out and sig values seen
	seq     int         // numbers display names of created objects

	mu      sync.Mutex
	clients map[Role]*client.Client
}

// lack reports a missing identity, fixture or capability: a skip on a live
// tenant, a failure on the emulator.
func (s *suite) lack(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if s.tg.Live {
		t.Skipf("target %s: %s", s.tg.Name, msg)
	}
	t.Fatalf("target %s: %s (the emulator target must provide it)", s.tg.Name, msg)
}

// need calls lack unless every fixture named in what is set.
func (s *suite) need(t *testing.T, ok bool, what string) {
	t.Helper()
	if !ok {
		s.lack(t, "no %s", what)
	}
}

func (s *suite) needWrites(t *testing.T) {
	t.Helper()
	if !s.tg.Writes {
		s.lack(t, "writes are not allowed")
	}
}

func (s *suite) needControl(t *testing.T) Control {
	t.Helper()
	if s.tg.Control == nil {
		s.lack(t, "no emulator control (faults, clock)")
	}
	return s.tg.Control
}

// client returns the shared client of role.
func (s *suite) client(t *testing.T, role Role) *client.Client {
	t.Helper()
	s.mu.Lock()
	c := s.clients[role]
	s.mu.Unlock()
	if c != nil {
		return c
	}
	c = s.newClient(t, role, nil)
	s.mu.Lock()
	s.clients[role] = c
	s.mu.Unlock()
	return c
}

// newClient builds a client of role that logs at debug level into s.logs
// and records every token it is given; extra adjusts the config further.
func (s *suite) newClient(t *testing.T, role Role, extra func(*client.Config)) *client.Client {
	t.Helper()
	c, err := s.tg.NewClient(role, func(cfg *client.Config) {
		cfg.Logger = slog.New(slog.NewTextHandler(s.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		if cfg.Tokens != nil {
			cfg.Tokens = recordingTokens{next: cfg.Tokens, secrets: s.secrets}
		}
		if extra != nil {
			extra(cfg)
		}
	})
	if errors.Is(err, ErrNoRole) {
		s.lack(t, "no %s identity", role)
	}
	if err != nil {
		t.Fatalf("client for %s: %v", role, err)
	}
	return c
}

// name returns a display name no other object of this run has.
func (s *suite) name(what string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	return fmt.Sprintf("flowsync conformance %s %d", what, s.seq)
}

// syncBuffer is a log sink for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// secretSet collects values that must never be logged.
type secretSet struct {
	mu     sync.Mutex
	values map[string]string // value -> what it is
}

func (s *secretSet) add(value, what string) {
	if value == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.values == nil {
		s.values = map[string]string{}
	}
	s.values[value] = what
}

func (s *secretSet) all() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string, len(s.values))
	for k, v := range s.values {
		out[k] = v
	}
	return out
}

// recordingTokens passes tokens through and remembers them.
type recordingTokens struct {
	next    client.TokenSource
	secrets *secretSet
}

func (r recordingTokens) Token(ctx context.Context, scope string) (string, error) {
	tok, err := r.next.Token(ctx, scope)
	if err == nil {
		r.secrets.add(tok, "a bearer token for "+scope)
		// The signature-less part would betray the token as well.
		if i := strings.LastIndexByte(tok, '.'); i > 0 {
			r.secrets.add(tok[:i], "the header and claims of a bearer token")
		}
	}
	return tok, err
}

var sigValueRE = regexp.MustCompile(`(?i)(?:^|[^a-z0-9_]|%26|\\u0026)sig=([^&"'\s#\\<>]*)`)

// noSecretsInLogs checks what every client of the run logged: no token, no
// sig= value other than the redaction placeholder, no signature seen in a
// callback URL.
func (s *suite) noSecretsInLogs(t *testing.T) {
	logs := s.logs.String()
	if !strings.Contains(logs, "msg=http") {
		t.Fatalf("the clients logged no request at debug level; got %d bytes:\n%.2000s", len(logs), logs)
	}
	secrets := s.secrets.all()
	if len(secrets) == 0 {
		t.Fatal("no token was handed out: the token source was not wrapped")
	}
	for _, l := range leaks(logs, secrets) {
		t.Errorf("the client logged %s", l)
	}
}

// leaks lists what logs betray: any of secrets (value -> what it is), or a
// sig= value other than the redaction placeholder. It never repeats a
// secret, only what it is.
func leaks(logs string, secrets map[string]string) []string {
	var out []string
	for v, what := range secrets {
		if strings.Contains(logs, v) {
			out = append(out, what)
		}
	}
	for _, m := range sigValueRE.FindAllStringSubmatch(logs, -1) {
		if m[1] != "" && m[1] != redact.Placeholder {
			out = append(out, fmt.Sprintf("a sig= value (%d characters)", len(m[1])))
		}
	}
	slices.Sort(out)
	return out
}

// Assertion helpers.

// wantErr checks that err matches target (errors.Is).
func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %v", target)
	}
	if !errors.Is(err, target) {
		t.Fatalf("error %v does not match %v", err, target)
	}
}

// apiError extracts the *api.APIError of err.
func apiError(t *testing.T, err error) *api.APIError {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	var ae *api.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v carries no *api.APIError", err)
	}
	return ae
}

// sameJSON compares two JSON documents in meaning (key order and spacing
// aside).
func sameJSON(t *testing.T, what string, want, got any) {
	t.Helper()
	norm := func(v any) any {
		var raw []byte
		switch x := v.(type) {
		case json.RawMessage:
			raw = x
		case []byte:
			raw = x
		default:
			var err error
			if raw, err = json.Marshal(v); err != nil {
				t.Fatalf("%s: marshal: %v", what, err)
			}
		}
		var out any
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s: %v in %.200s", what, err, raw)
		}
		return out
	}
	if diff := cmp.Diff(norm(want), norm(got)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", what, diff)
	}
}

func flowNames(fs []api.Flow) []string {
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		out = append(out, strings.ToLower(string(f.Name)))
	}
	slices.Sort(out)
	return out
}

func findFlow(fs []api.Flow, name api.FlowName) (api.Flow, bool) {
	for _, f := range fs {
		if strings.EqualFold(string(f.Name), string(name)) {
			return f, true
		}
	}
	return api.Flow{}, false
}

func hasFlow(fs []api.Flow, name api.FlowName) bool {
	_, ok := findFlow(fs, name)
	return ok
}

// duplicates returns the names that occur more than once.
func duplicates(names []string) []string {
	seen := map[string]int{}
	var out []string
	for _, n := range names {
		seen[n]++
		if seen[n] == 2 {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}
