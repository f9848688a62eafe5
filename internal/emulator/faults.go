package emulator

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Fault kinds.
const (
	// Fault429 answers 429 before the operation runs (a throttling storm).
	Fault429 = "429"
	// Fault5xx answers 503 (or Status) before the operation runs.
	Fault5xx = "5xx"
	// Fault5xxAfterWrite runs the operation, then answers 502 (or Status):
	// the ambiguous write of CONTRACT decision 8. Writes (non-GET) only.
	Fault5xxAfterWrite = "5xx-after-write"
	// FaultReset closes the connection without an answer, before the operation.
	FaultReset = "reset"
	// FaultResetAfterWrite runs the operation, then closes the connection
	// without an answer. Writes only.
	FaultResetAfterWrite = "reset-after-write"
	// FaultSlow sends the headers, then delays the body by Delay (real time:
	// it models latency, so keep it small).
	FaultSlow = "slow"
	// FaultTruncate declares a Content-Length longer than the body it sends,
	// then closes the connection.
	FaultTruncate = "truncate"
)

// FaultRule injects one kind of fault into matching API requests with
// probability P (1 when zero). Method, Path (a substring) and Op narrow the
// requests.
//
// Which of the matching requests the rule may hit:
//   - neither Nth nor Count: every one;
//   - Count only: the first Count;
//   - Nth: the Nth (counting from 1), and with Count the Count requests
//     from the Nth on (Nth=3, Count=2: the third and the fourth).
//
// The after-write kinds (5xx-after-write, reset-after-write) count only
// writes the operation applied (answered 2xx): "5xx-after-write:op=create:nth=1"
// is the first Create Flow that created a flow, whatever failed before it.
type FaultRule struct {
	Kind   string  `json:"kind"`
	P      float64 `json:"p,omitempty"`
	Method string  `json:"method,omitempty"`
	Path   string  `json:"path,omitempty"`
	// Op names an operation (OpNames: create, update, delete, get, list,
	// start, stop, modify-permissions, …) or a class: OpRead (every GET) or
	// OpWrite (every other method).
	Op    string `json:"op,omitempty"`
	Nth   int    `json:"nth,omitempty"`
	Count int    `json:"count,omitempty"`
	// RetryAfter is the 429's Retry-After in seconds (1 when zero);
	// RetryAfterDate sends it as an HTTP date instead.
	RetryAfter     int  `json:"retryAfter,omitempty"`
	RetryAfterDate bool `json:"retryAfterDate,omitempty"`
	// Status overrides the 5xx kinds' status.
	Status int `json:"status,omitempty"`
	// Delay is the slow kind's latency.
	Delay time.Duration `json:"delay,omitempty"`
}

// FaultConfig is a seeded set of rules: the same seed and the same request
// sequence give the same faults, so a failing test can be replayed.
type FaultConfig struct {
	Seed  int64       `json:"seed"`
	Rules []FaultRule `json:"rules,omitempty"`
}

// maxDelay bounds the slow kind: latency, not a hang.
const maxDelay = 30 * time.Second

// MaxFaultSpec bounds a fault spec's length (flag, control path body or
// query): a longer one is refused, never cut.
const MaxFaultSpec = 64 << 10

// Operation classes FaultRule.Op accepts besides the operation names.
const (
	OpRead  = "read"  // every GET
	OpWrite = "write" // every non-GET call
)

// OpNames lists the operation names FaultRule.Op accepts, sorted, classes
// included.
func OpNames() []string {
	seen := map[string]bool{OpRead: true, OpWrite: true, graphOp: true}
	for _, rt := range routes {
		seen[rt.op] = true
	}
	return slices.Sorted(maps.Keys(seen))
}

// ParseFaults reads a flag such as
//
//	seed=42,429:p=0.2:retry-after=3,5xx:p=0.05,5xx-after-write:p=0.05,reset:p=0.02,slow:p=0.1:delay=300ms,truncate:p=0.02
//
// Rules are comma-separated: a kind, then colon-separated options p=,
// method=, path=, op=, nth=, count=, retry-after=N, retry-after-date[=N],
// status=N, delay=<duration>. "seed=N" sets the seed. Targeted rules name
// an operation and the call to hit:
//
//	5xx-after-write:op=create:nth=1       the first Create Flow is applied, then answered 502
//	429:op=write:count=20:retry-after=1   the first 20 non-GET calls are refused with 429
//	reset:op=modify-permissions:nth=3     the third modifyPermissions call is dropped unapplied
//
// An empty spec, an empty item or a spec over MaxFaultSpec bytes is an
// error: removing every rule is its own request (DELETE /_emulator/faults,
// or Server.SetFaults with a zero FaultConfig), never the result of a
// missing value.
func ParseFaults(spec string) (FaultConfig, error) {
	var cfg FaultConfig
	if len(spec) > MaxFaultSpec {
		return FaultConfig{}, fmt.Errorf("fault spec of %d bytes is over the limit of %d", len(spec), MaxFaultSpec)
	}
	if strings.TrimSpace(spec) == "" {
		return FaultConfig{}, errors.New("empty fault spec: name at least seed=N or one rule such as 5xx:p=0.1 (to remove all rules, DELETE /_emulator/faults)")
	}
	for i, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			return FaultConfig{}, fmt.Errorf("fault spec item %d is empty (a stray comma?)", i+1)
		}
		if v, ok := strings.CutPrefix(item, "seed="); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return FaultConfig{}, fmt.Errorf("fault spec %q: seed: %w", item, err)
			}
			cfg.Seed = n
			continue
		}
		parts := strings.Split(item, ":")
		rule := FaultRule{Kind: parts[0]}
		for _, opt := range parts[1:] {
			k, v, _ := strings.Cut(opt, "=")
			var err error
			switch k {
			case "p":
				rule.P, err = strconv.ParseFloat(v, 64)
			case "method":
				rule.Method = strings.ToUpper(v)
			case "path":
				rule.Path = v
			case "op":
				rule.Op = strings.ToLower(v)
			case "nth":
				rule.Nth, err = strconv.Atoi(v)
			case "count":
				rule.Count, err = strconv.Atoi(v)
			case "retry-after":
				rule.RetryAfter, err = strconv.Atoi(v)
			case "retry-after-date":
				rule.RetryAfterDate = true
				if v != "" {
					rule.RetryAfter, err = strconv.Atoi(v)
				}
			case "status":
				rule.Status, err = strconv.Atoi(v)
			case "delay":
				rule.Delay, err = time.ParseDuration(v)
			default:
				err = fmt.Errorf("unknown option")
			}
			if err != nil {
				return FaultConfig{}, fmt.Errorf("fault spec %q: option %q: %w", item, opt, err)
			}
		}
		cfg.Rules = append(cfg.Rules, rule)
	}
	if err := cfg.validate(); err != nil {
		return FaultConfig{}, err
	}
	return cfg, nil
}

func (c FaultConfig) validate() error {
	for i, r := range c.Rules {
		switch r.Kind {
		case Fault429, Fault5xx, Fault5xxAfterWrite, FaultReset, FaultResetAfterWrite, FaultSlow, FaultTruncate:
		default:
			return fmt.Errorf("fault rule %d: unknown kind %q", i, r.Kind)
		}
		if r.P < 0 || r.P > 1 {
			return fmt.Errorf("fault rule %d (%s): p=%v not in [0,1]", i, r.Kind, r.P)
		}
		if r.Count < 0 || r.Nth < 0 || r.RetryAfter < 0 {
			return fmt.Errorf("fault rule %d (%s): nth, count and retry-after must not be negative", i, r.Kind)
		}
		if r.Op != "" && !slices.Contains(OpNames(), r.Op) {
			return fmt.Errorf("fault rule %d (%s): unknown op %q: want one of %s", i, r.Kind, r.Op, strings.Join(OpNames(), ", "))
		}
		if r.afterWrite() && (r.Op == OpRead || r.Method == http.MethodGet) {
			return fmt.Errorf("fault rule %d (%s): after-write faults hit writes only, not reads", i, r.Kind)
		}
		if r.Status != 0 && (r.Status < 500 || r.Status > 599) {
			return fmt.Errorf("fault rule %d (%s): status %d is not a 5xx", i, r.Kind, r.Status)
		}
		if r.Delay < 0 || r.Delay > maxDelay {
			return fmt.Errorf("fault rule %d (%s): delay %v not in [0,%v]", i, r.Kind, r.Delay, maxDelay)
		}
		if r.Kind == FaultSlow && r.Delay == 0 {
			return fmt.Errorf("fault rule %d (slow): needs delay=<duration>", i)
		}
	}
	return nil
}

// String writes the config back in ParseFaults' form.
func (c FaultConfig) String() string {
	items := []string{"seed=" + strconv.FormatInt(c.Seed, 10)}
	for _, r := range c.Rules {
		s := r.Kind
		if r.P != 0 {
			s += ":p=" + strconv.FormatFloat(r.P, 'g', -1, 64)
		}
		if r.Method != "" {
			s += ":method=" + r.Method
		}
		if r.Path != "" {
			s += ":path=" + r.Path
		}
		if r.Op != "" {
			s += ":op=" + r.Op
		}
		if r.Nth != 0 {
			s += ":nth=" + strconv.Itoa(r.Nth)
		}
		if r.Count != 0 {
			s += ":count=" + strconv.Itoa(r.Count)
		}
		if r.RetryAfter != 0 {
			s += ":retry-after=" + strconv.Itoa(r.RetryAfter)
		}
		if r.RetryAfterDate {
			s += ":retry-after-date"
		}
		if r.Status != 0 {
			s += ":status=" + strconv.Itoa(r.Status)
		}
		if r.Delay != 0 {
			s += ":delay=" + r.Delay.String()
		}
		items = append(items, s)
	}
	return strings.Join(items, ",")
}

func (r *FaultRule) afterWrite() bool {
	return r.Kind == Fault5xxAfterWrite || r.Kind == FaultResetAfterWrite
}

// before reports whether the fault replaces the operation (it never runs).
func (r *FaultRule) before() bool {
	return r.Kind == Fault429 || r.Kind == Fault5xx || r.Kind == FaultReset
}

// target is what a rule is matched against: the request and the operation
// its path names ("" for a path no operation serves).
type target struct {
	method, path, op string
}

func (r *FaultRule) matches(t target) bool {
	if r.afterWrite() && t.method == http.MethodGet {
		return false
	}
	if r.Method != "" && !strings.EqualFold(r.Method, t.method) {
		return false
	}
	switch r.Op {
	case "":
	case OpRead:
		if t.method != http.MethodGet {
			return false
		}
	case OpWrite:
		if t.method == http.MethodGet {
			return false
		}
	default:
		if r.Op != t.op {
			return false
		}
	}
	return r.Path == "" || strings.Contains(lower(t.path), lower(r.Path))
}

// inWindow reports whether the seen-th matching request (from 1) is one the
// rule may hit.
func (r *FaultRule) inWindow(seen int) bool {
	first := max(r.Nth, 1)
	if seen < first {
		return false
	}
	count := r.Count
	if r.Nth > 0 && count == 0 {
		count = 1
	}
	return count == 0 || seen < first+count
}

// faultInjector draws decisions from a PCG seeded by the config. Every
// matching rule consumes exactly one draw, so decisions depend only on the
// seed and the request sequence.
type faultInjector struct {
	mu    sync.Mutex
	cfg   FaultConfig
	rng   *rand.Rand
	seen  []int // matching requests per rule
	fired []int
}

func newFaultInjector(cfg FaultConfig) (*faultInjector, error) {
	f := &faultInjector{}
	if err := f.set(cfg); err != nil {
		return nil, err
	}
	return f, nil
}

func (f *faultInjector) set(cfg FaultConfig) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cfg = cfg
	f.rng = rand.New(rand.NewPCG(uint64(cfg.Seed), uint64(cfg.Seed)^0x9e3779b97f4a7c15))
	f.seen = make([]int, len(cfg.Rules))
	f.fired = make([]int, len(cfg.Rules))
	return nil
}

// decide returns the fault for a request, nil for none. Before the
// operation runs it considers every kind but the after-write ones (applied
// true is for after the operation, and considers only those), so that an
// after-write rule counts applied writes, not attempts.
func (f *faultInjector) decide(t target, applied bool) *FaultRule {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.cfg.Rules {
		r := &f.cfg.Rules[i]
		if r.afterWrite() != applied || !r.matches(t) {
			continue
		}
		f.seen[i]++
		if !r.inWindow(f.seen[i]) {
			continue
		}
		p := r.P
		if p == 0 {
			p = 1
		}
		if f.rng.Float64() < p {
			f.fired[i]++
			rule := *r
			return &rule
		}
	}
	return nil
}

// SetFaults replaces the fault rules and restarts their counters and the
// seeded generator, as POST /_emulator/faults does; a zero FaultConfig
// removes every rule (DELETE /_emulator/faults). Safe while requests run.
func (s *Server) SetFaults(cfg FaultConfig) error {
	if err := s.faults.set(cfg); err != nil {
		return fmt.Errorf("set emulator faults: %w", err)
	}
	return nil
}

type faultStatus struct {
	Spec  string       `json:"spec"`
	Seed  int64        `json:"seed"`
	Rules []ruleStatus `json:"rules"`
}

type ruleStatus struct {
	FaultRule
	Seen  int `json:"seen"`
	Fired int `json:"fired"`
}

func (f *faultInjector) status() faultStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := faultStatus{Spec: f.cfg.String(), Seed: f.cfg.Seed, Rules: []ruleStatus{}}
	for i, r := range f.cfg.Rules {
		out.Rules = append(out.Rules, ruleStatus{FaultRule: r, Seen: f.seen[i], Fired: f.fired[i]})
	}
	return out
}

// abort drops the connection without an answer.
func abort(w http.ResponseWriter) {
	if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
		_ = conn.Close()
		return
	}
	// HTTP/2 and recorders cannot hijack; this aborts the stream instead.
	panic(http.ErrAbortHandler)
}

// applyEarlyFault answers a fault that replaces the operation and returns
// the status sent (0 for a dropped connection).
func (s *Server) applyEarlyFault(w http.ResponseWriter, r *http.Request, f *FaultRule) int {
	switch f.Kind {
	case FaultReset:
		abort(w)
		return 0
	case Fault429:
		secs := max(f.RetryAfter, 1)
		profile := s.opts.Throttle.Profile
		if profile == ProfileOff {
			profile = ProfileConnector
		}
		resp := tooMany(profile, "", secs, s.opts.Throttle.Calls, s.opts.Throttle.Per)
		if f.RetryAfterDate {
			// The emulator clock, so that tests with a manual clock can predict it.
			resp.setHeader("Retry-After", s.Now().Add(time.Duration(secs)*time.Second).Format(http.TimeFormat))
		} else {
			resp.setHeader("Retry-After", strconv.Itoa(secs))
		}
		resp.write(w)
		resp.release()
		return http.StatusTooManyRequests
	default: // Fault5xx
		status := f.Status
		if status == 0 {
			status = http.StatusServiceUnavailable
		}
		resp := errResp(status, "ServiceUnavailable", "The service is temporarily unavailable. Try again later.")
		resp.write(w)
		resp.release()
		return status
	}
}

// applyLateFault sends (or withholds) the operation's answer according to
// the fault and returns the status sent.
func (s *Server) applyLateFault(w http.ResponseWriter, r *http.Request, f *FaultRule, resp *response) int {
	switch f.Kind {
	case Fault5xxAfterWrite:
		status := f.Status
		if status == 0 {
			status = http.StatusBadGateway
		}
		bad := errResp(status, "BadGateway", "The gateway did not receive a response from 'Microsoft.ProcessSimple' within the specified time period.")
		bad.write(w)
		bad.release()
		return status
	case FaultResetAfterWrite:
		abort(w)
		return 0
	case FaultSlow:
		// Headers go out at once; the body waits, as a slow transfer would.
		h := w.Header()
		for k, v := range resp.header {
			h[k] = v
		}
		body := resp.body()
		if len(body) > 0 {
			h.Set("Content-Type", "application/json; charset=utf-8")
		}
		h.Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(resp.status)
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return resp.status
		}
		_, _ = w.Write(body)
		return resp.status
	case FaultTruncate:
		body := resp.body()
		h := w.Header()
		for k, v := range resp.header {
			h[k] = v
		}
		h.Set("Content-Type", "application/json; charset=utf-8")
		h.Set("Content-Length", strconv.Itoa(len(body)+64))
		w.WriteHeader(resp.status)
		_, _ = w.Write(body[:len(body)/2])
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
		abort(w)
		return resp.status
	}
	resp.write(w)
	return resp.status
}
