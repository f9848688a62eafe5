package emulator

import (
	"fmt"
	"math/rand/v2"
	"net/http"
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
// probability P (1 when zero). Method and Path (a substring) narrow the
// requests; Count > 0 limits the rule to the first Count matching requests.
type FaultRule struct {
	Kind   string  `json:"kind"`
	P      float64 `json:"p,omitempty"`
	Method string  `json:"method,omitempty"`
	Path   string  `json:"path,omitempty"`
	Count  int     `json:"count,omitempty"`
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

// ParseFaults reads a flag such as
//
//	seed=42,429:p=0.2:retry-after=3,5xx:p=0.05,5xx-after-write:p=0.05,reset:p=0.02,slow:p=0.1:delay=300ms,truncate:p=0.02
//
// Rules are comma-separated: a kind, then colon-separated options p=,
// method=, path=, count=, retry-after=N, retry-after-date[=N], status=N,
// delay=<duration>. "seed=N" sets the seed. An empty spec is no faults.
func ParseFaults(spec string) (FaultConfig, error) {
	var cfg FaultConfig
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
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
		if r.Count < 0 || r.RetryAfter < 0 {
			return fmt.Errorf("fault rule %d (%s): count and retry-after must not be negative", i, r.Kind)
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

func (r *FaultRule) matches(method, path string) bool {
	if r.afterWrite() && method == http.MethodGet {
		return false
	}
	if r.Method != "" && !strings.EqualFold(r.Method, method) {
		return false
	}
	return r.Path == "" || strings.Contains(lower(path), lower(r.Path))
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

// decide returns the fault for a request, nil for none.
func (f *faultInjector) decide(method, path string) *FaultRule {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.cfg.Rules {
		r := &f.cfg.Rules[i]
		if !r.matches(method, path) {
			continue
		}
		if r.Count > 0 && f.seen[i] >= r.Count {
			continue
		}
		f.seen[i]++
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
