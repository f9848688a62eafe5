package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/token"
)

// Server is the emulator: an http.Handler serving the Power Automate
// Management API paths, the emulator's control paths and, when set, the
// identity handler's paths. It is safe for concurrent use.
type Server struct {
	opts       Options
	log        *slog.Logger
	clock      Clock
	tokenClock Clock
	// offset is what /_emulator/clock/advance and snapshot times add to
	// Options.Clock, in nanoseconds.
	offset atomic.Int64

	mu       sync.RWMutex
	st       *state
	baseline *Snapshot // what reset returns to
	version  uint64    // bumped by every mutation, under mu

	identity atomic.Pointer[http.Handler]
	hook     atomic.Pointer[writeHook]
	writes   atomic.Int64 // applied writes since New or reset (WriteEvent.N)

	throttle *throttler
	faults   *faultInjector
	book     *bookkeeper

	persistMu sync.Mutex
	persisted uint64
}

// New builds a Server. When opts.StateFile names an existing file, its
// snapshot is loaded; otherwise the server starts empty (every API call is
// 401 until a snapshot is loaded or seeded).
func New(opts Options) (*Server, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("emulator options: %w", err)
	}
	s := &Server{
		opts:       o,
		log:        o.Logger,
		clock:      o.Clock,
		tokenClock: o.TokenClock,
		st:         newState(""),
		baseline:   &Snapshot{},
		throttle:   newThrottler(o.Throttle),
		book:       newBookkeeper(requestLogSize),
	}
	s.faults, err = newFaultInjector(o.Faults)
	if err != nil {
		return nil, fmt.Errorf("emulator faults: %w", err)
	}
	if o.StateFile != "" {
		b, err := os.ReadFile(o.StateFile)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("read emulator state %s: %w", o.StateFile, err)
		default:
			var snap Snapshot
			if err := json.Unmarshal(b, &snap); err != nil {
				return nil, fmt.Errorf("decode emulator state %s: %w", o.StateFile, err)
			}
			if err := s.Load(&snap); err != nil {
				return nil, fmt.Errorf("load emulator state %s: %w", o.StateFile, err)
			}
		}
	}
	return s, nil
}

// Now is the emulator clock: Options.Clock plus any advance.
func (s *Server) Now() time.Time {
	return s.clock.Now().Add(time.Duration(s.offset.Load())).UTC()
}

// Advance moves the emulator clock forward by d, as POST
// /_emulator/clock/advance does. A negative d, or one that would carry the
// clock past what a time (or its JSON form, up to year 9999) can hold, is
// refused and changes nothing. The clock is part of the persisted state, so
// an advance counts as a change.
func (s *Server) Advance(d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("advance the emulator clock by %v: the clock only moves forward", d)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	off := s.offset.Load()
	if int64(d) > math.MaxInt64-off {
		return fmt.Errorf("advance the emulator clock by %v: the total advance would overflow (%v already)", d, time.Duration(off))
	}
	if next := s.clock.Now().Add(time.Duration(off + int64(d))); next.Year() > 9999 {
		return fmt.Errorf("advance the emulator clock by %v: %s is past year 9999", d, next.UTC().Format(time.DateOnly))
	}
	s.offset.Store(off + int64(d))
	s.version++
	return nil
}

// Load replaces the whole state with snap (validated) and makes it the
// state that POST /_emulator/reset returns to. A non-zero snap.Now sets the
// emulator clock to it.
func (s *Server) Load(snap *Snapshot) error {
	st, err := buildState(snap)
	if err != nil {
		return fmt.Errorf("load snapshot: %w", err)
	}
	base, err := copySnapshot(snap)
	if err != nil {
		return fmt.Errorf("load snapshot: %w", err)
	}
	s.mu.Lock()
	s.st = st
	s.baseline = base
	s.version++
	if !snap.Now.IsZero() {
		s.offset.Store(int64(snap.Now.Sub(s.clock.Now())))
	}
	s.mu.Unlock()
	return s.persist()
}

func copySnapshot(snap *Snapshot) (*Snapshot, error) {
	b, err := json.Marshal(snap)
	if err != nil {
		return nil, err
	}
	var out Snapshot
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Dump returns the state as a Snapshot, sorted so that equal states dump
// equally. Soft-deleted flows past retention are left out.
func (s *Server) Dump() *Snapshot {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.st.dump(s.Now())
}

// Tenant is the tenant id of the loaded state ("" before a load).
func (s *Server) Tenant() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.st.tenant
}

// LookupPrincipalByAppID finds a service principal by application id, for
// the identity handler's client checks.
func (s *Server) LookupPrincipalByAppID(appID string) (Principal, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	p := s.st.byAppID[lower(appID)]
	if p == nil {
		return Principal{}, false
	}
	return p.Principal, true
}

// SetIdentityHandler routes the Entra paths (token, OpenID metadata,
// instance discovery, keys) to h. Those paths are never throttled, faulted
// or counted.
func (s *Server) SetIdentityHandler(h http.Handler) {
	if h == nil {
		s.identity.Store(nil)
		return
	}
	s.identity.Store(&h)
}

// MintToken writes an unsigned access token for a user or service principal
// of the loaded tenant, valid for an hour of TokenNow (MintTokenTTL with
// DefaultTokenTTL).
func (s *Server) MintToken(principal api.PrincipalID, audience string) (string, error) {
	return s.MintTokenTTL(principal, audience, DefaultTokenTTL)
}

// DefaultTokenTTL is the lifetime of minted tokens, as Entra's usual hour.
const DefaultTokenTTL = time.Hour

// MaxTokenTTL bounds MintTokenTTL's ttl either way.
const MaxTokenTTL = 24 * time.Hour

// TokenNow is the clock token lifetimes are checked against and minted
// with (Options.TokenClock, by default the wall clock; never the emulator
// clock, which tests move days ahead).
func (s *Server) TokenNow() time.Time { return s.tokenNow() }

// MintTokenTTL writes an unsigned access token valid from TokenNow for ttl.
// A negative ttl (up to MaxTokenTTL) mints a token that has already
// expired, so tests of token refresh need no waiting. Users get
// oid/tid/upn/name; service principals oid, appid and idtyp=app; admins the
// Power Platform Administrator role in wids.
func (s *Server) MintTokenTTL(principal api.PrincipalID, audience string, ttl time.Duration) (string, error) {
	if ttl == 0 || ttl > MaxTokenTTL || ttl < -MaxTokenTTL {
		return "", fmt.Errorf("mint token for %s: lifetime %v: want a non-zero duration within ±%v", principal, ttl, MaxTokenTTL)
	}
	s.mu.RLock()
	p := s.st.principal(string(principal))
	tenant := s.st.tenant
	s.mu.RUnlock()
	if p == nil {
		return "", fmt.Errorf("mint token for %s: not a principal of the loaded tenant", principal)
	}
	now := s.tokenNow()
	issued := now
	if ttl < 0 {
		// An expired token was issued an hour before it expired.
		issued = now.Add(ttl - time.Hour)
	}
	c := token.Claims{
		Audience:  audience,
		Issuer:    "https://sts.windows.net/" + tenant + "/",
		TenantID:  tenant,
		ObjectID:  string(p.ID),
		Name:      p.DisplayName,
		IssuedAt:  issued.Unix(),
		NotBefore: issued.Unix(),
		Expires:   now.Add(ttl).Unix(),
	}
	switch p.Type {
	case api.PrincipalUser:
		c.UPN = p.UPN
		c.Scope = "user_impersonation"
	case api.PrincipalServicePrincipal:
		c.AppID = p.AppID
		c.IDType = "app"
	default:
		return "", fmt.Errorf("mint token for %s: a %s cannot sign in", principal, p.Type)
	}
	if p.Admin {
		c.Roles = []string{token.RolePowerPlatformAdmin}
	}
	return token.Mint(c), nil
}

// isIdentityPath reports whether a path belongs to the identity handler:
// /{tenant}/oauth2/…, /{tenant}/v2.0/…, /{tenant}/.well-known/…,
// /{tenant}/discovery/… (including /common/discovery/instance).
func isIdentityPath(path string) bool {
	rest, ok := strings.CutPrefix(path, "/")
	if !ok {
		return false
	}
	first, rest, ok := strings.Cut(rest, "/")
	if !ok || first == "" || strings.EqualFold(first, "providers") || first == "_emulator" {
		return false
	}
	second, _, _ := strings.Cut(rest, "/")
	switch second {
	case "oauth2", "v2.0", ".well-known", "discovery":
		return true
	}
	return false
}

// ServeHTTP serves API, control and identity paths.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	switch {
	case path == "/_emulator" || strings.HasPrefix(path, "/_emulator/"):
		s.serveControl(w, r)
		return
	case isIdentityPath(path):
		h := s.identity.Load()
		if h == nil {
			resp := notFound(path)
			resp.write(w)
			resp.release()
			return
		}
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		(*h).ServeHTTP(sw, r)
		s.book.record(logEntry{Time: s.Now(), Method: r.Method, Path: path, Query: safeQuery(r.URL.Query()), Status: sw.status, Kind: "identity"})
		return
	}
	s.serveAPI(w, r)
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	entry := logEntry{Time: s.Now(), Method: r.Method, Path: r.URL.Path, Query: safeQuery(r.URL.Query()), Kind: "api"}
	var resp *response
	// Deferred so that a connection aborted by a fault (which may panic with
	// http.ErrAbortHandler) is still logged and its buffer returned.
	defer func() {
		if resp != nil {
			resp.release()
		}
		s.book.record(entry)
		s.log.Debug("emulator request", "method", entry.Method, "path", entry.Path, "identity", entry.Identity, "status", entry.Status)
	}()
	m := matchRequest(r.Method, r.URL.Path)
	t := target{method: r.Method, path: r.URL.Path}
	if m.rt != nil {
		t.op = m.rt.op
	}
	fault := s.faults.decide(t, false)
	if fault != nil {
		entry.Fault = fault.Kind
		s.log.Info("emulator fault", "kind", fault.Kind, "method", r.Method, "path", r.URL.Path)
		if fault.before() {
			entry.Status = s.applyEarlyFault(w, r, fault)
			return
		}
	}
	var c *call
	c, resp = s.handle(r, m)
	// A write the operation answered with 2xx was applied (a POST that only
	// reads, such as listCallbackUrl, counts too: the client cannot tell).
	applied := c != nil && m.rt.isWrite(r.Method) && resp.status < 300
	if applied && fault == nil {
		if fault = s.faults.decide(t, true); fault != nil {
			entry.Fault = fault.Kind
			s.log.Info("emulator fault", "kind", fault.Kind, "method", r.Method, "path", r.URL.Path)
		}
	}
	if c != nil {
		entry.Identity = c.identity
		if c.mutated {
			if err := s.persist(); err != nil {
				s.log.Error("persist emulator state", "err", err)
			}
		}
	}
	if applied {
		s.wroteHook(c, t.op, resp.status, fault)
	}
	entry.Status = resp.status
	if fault == nil {
		resp.write(w)
		return
	}
	entry.AppliedStatus = resp.status
	entry.Status = s.applyLateFault(w, r, fault, resp)
}

// matched is the route a request's path and method name, or the answer
// for one that names none.
type matched struct {
	rt    *route
	admin bool
	p     params
	resp  *response
}

func matchRequest(method, path string) matched {
	if isGraphPath(path) {
		return matchGraph(method)
	}
	if !strings.HasPrefix(lower(path), "/providers/") {
		return matched{resp: notFound(path)}
	}
	rt, admin, p, resp := match(method, path)
	return matched{rt: rt, admin: admin, p: p, resp: resp}
}

// handle runs the pipeline: route, authenticate, throttle, api-version,
// scope, PowerApps filter, body, operation.
func (s *Server) handle(r *http.Request, m matched) (*call, *response) {
	if m.resp != nil {
		return nil, m.resp
	}
	rt, admin := m.rt, m.admin
	if rt.provider == provGraph {
		return s.handleGraph(r, rt)
	}
	claims, caller, resp := s.authenticate(r, rt.provider)
	if resp != nil {
		return nil, resp
	}
	c := &call{r: r, rt: rt, admin: admin, p: m.p, q: r.URL.Query(), claims: claims, caller: caller, identity: claims.Identity()}
	write := rt.isWrite(r.Method)
	if ok, wait := s.throttle.admit(c.identity, write, s.Now()); !ok {
		s.book.count(c.identity, write, true)
		return c, s.throttled(c, wait)
	}
	s.book.count(c.identity, write, false)
	c.now = s.Now()
	if resp := checkAPIVersion(c.q, rt.versions); resp != nil {
		return c, resp
	}
	if admin && !claims.IsAdmin() {
		return c, errResp(http.StatusForbidden, api.CodeForbidden,
			"The caller '%s' does not have the Power Platform Administrator or Global Administrator role the admin scope needs.", caller.ID)
	}
	if !admin && rt.provider == provFlow && claims.IsApp() {
		return c, errResp(http.StatusForbidden, api.CodeForbidden,
			"Application tokens are not supported on user-scope operations; use the admin scope or a delegated (user) token.")
	}
	if rt.envFilter {
		env, rest, resp := readEnvFilter(c.q)
		if resp != nil {
			return c, resp
		}
		c.filterEnv, c.filterRest = env, rest
	}
	if write {
		body, resp := readBody(r)
		if resp != nil {
			return c, resp
		}
		c.body = body
	}
	return c, rt.handle(s, c)
}

// mutate runs fn under the write lock; a successful answer (2xx) counts as
// a mutation to persist.
func (s *Server) mutate(c *call, fn func(st *state) *response) *response {
	s.mu.Lock()
	resp := fn(s.st)
	if resp.status < 300 {
		s.version++
		c.mutated = true
	}
	s.mu.Unlock()
	return resp
}

// read runs fn under the read lock.
func (s *Server) read(fn func(st *state) *response) *response {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return fn(s.st)
}

// statusWriter records the status an identity handler answered.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
