package emulator

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/flowsync/flowsync/internal/api"
)

// controlPaths documents the control surface (also served at GET /_emulator).
var controlPaths = []string{
	"GET /_emulator/requests?limit=N: request log, oldest first (query values other than api-version, $top, $filter, include, $expand, $select, includeFlowDefinition are redacted)",
	"GET /_emulator/stats: per identity {calls, nonGet, throttled, applied}",
	"GET /_emulator/state: the state as a Snapshot",
	"POST /_emulator/reset[?empty=true]: back to the last loaded snapshot (or empty); clears log, stats, throttle windows and fault counters",
	"POST /_emulator/seed?name=<seed> or POST /_emulator/seed with a Snapshot body: load a snapshot",
	"GET /_emulator/clock: the emulator time",
	"POST /_emulator/clock/advance?by=<duration>: move the emulator clock forward",
	"GET /_emulator/faults: fault rules with seen/fired counts",
	"POST /_emulator/faults?spec=<spec> (or the spec as body): replace the fault rules",
	"DELETE /_emulator/faults: remove all fault rules",
	"POST /_emulator/token?principal=<object id>[&audience=<aud>][&ttl=<duration>]: mint an access token (exp checked against the wall clock; a negative ttl mints an expired one)",
}

func badControl(format string, args ...any) *response {
	return errResp(http.StatusBadRequest, "InvalidControlRequest", format, args...)
}

// serveControl answers /_emulator/…: never authenticated, throttled or
// faulted. These paths are for tests, the demo and the CLI, never the client.
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	resp := s.control(r)
	resp.write(w)
	resp.release()
}

func (s *Server) control(r *http.Request) *response {
	path := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/_emulator"), "/")
	q := r.URL.Query()
	method := func(want ...string) *response {
		for _, m := range want {
			if r.Method == m {
				return nil
			}
		}
		return errResp(http.StatusMethodNotAllowed, "MethodNotAllowed", "%s %s: want %s.", r.Method, r.URL.Path, strings.Join(want, " or "))
	}
	switch path {
	case "":
		return jsonResp(http.StatusOK, map[string][]string{"paths": controlPaths})
	case "/requests":
		if m := method(http.MethodGet); m != nil {
			return m
		}
		entries := s.book.entries()
		if v := q.Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return badControl("limit %q is not a non-negative integer", v)
			}
			if n < len(entries) {
				entries = entries[len(entries)-n:]
			}
		}
		return jsonResp(http.StatusOK, listJSON[logEntry]{Value: entries})
	case "/stats":
		if m := method(http.MethodGet); m != nil {
			return m
		}
		return jsonResp(http.StatusOK, map[string]map[string]Stats{"identities": s.book.snapshotStats()})
	case "/state":
		if m := method(http.MethodGet); m != nil {
			return m
		}
		return jsonResp(http.StatusOK, s.Dump())
	case "/reset":
		if m := method(http.MethodPost); m != nil {
			return m
		}
		if err := s.reset(q.Get("empty") == "true"); err != nil {
			return errResp(http.StatusInternalServerError, api.CodeInternalServerError, "reset: %v", err)
		}
		return empty(http.StatusOK)
	case "/seed":
		if m := method(http.MethodPost); m != nil {
			return m
		}
		return s.seed(r, q.Get("name"))
	case "/clock":
		if m := method(http.MethodGet); m != nil {
			return m
		}
		return jsonResp(http.StatusOK, map[string]string{"now": wireTime(s.Now())})
	case "/clock/advance":
		if m := method(http.MethodPost); m != nil {
			return m
		}
		d, err := time.ParseDuration(q.Get("by"))
		if err != nil || d < 0 {
			return badControl("by=%q: want a non-negative duration such as 72h", q.Get("by"))
		}
		if err := s.Advance(d); err != nil {
			return badControl("%v", err)
		}
		if err := s.persist(); err != nil {
			return errResp(http.StatusInternalServerError, api.CodeInternalServerError, "persist: %v", err)
		}
		return jsonResp(http.StatusOK, map[string]string{"now": wireTime(s.Now())})
	case "/faults":
		switch r.Method {
		case http.MethodGet:
			return jsonResp(http.StatusOK, s.faults.status())
		case http.MethodDelete:
			_ = s.SetFaults(FaultConfig{})
			return jsonResp(http.StatusOK, s.faults.status())
		case http.MethodPost:
			spec, inQuery := q["spec"]
			var text string
			if inQuery {
				if len(spec) != 1 {
					return badControl("give the fault spec once, in ?spec= or as the body")
				}
				text = spec[0]
			} else {
				b, resp := readLimited(r.Body, MaxFaultSpec, "fault spec")
				if resp != nil {
					return resp
				}
				text = strings.TrimSpace(string(b))
			}
			if len(text) > MaxFaultSpec {
				return tooLarge("fault spec", MaxFaultSpec)
			}
			cfg, err := ParseFaults(text)
			if err != nil {
				return badControl("%v", err)
			}
			if err := s.SetFaults(cfg); err != nil {
				return badControl("%v", err)
			}
			return jsonResp(http.StatusOK, s.faults.status())
		}
		return method(http.MethodGet, http.MethodPost, http.MethodDelete)
	case "/token":
		if m := method(http.MethodPost); m != nil {
			return m
		}
		ttl := DefaultTokenTTL
		if v := q.Get("ttl"); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				return badControl("ttl=%q: want a duration such as 1h, or a negative one such as -1h for an expired token", v)
			}
			ttl = d
		}
		tok, err := s.MintTokenTTL(api.PrincipalID(q.Get("principal")), q.Get("audience"), ttl)
		if err != nil {
			return badControl("%v", err)
		}
		return jsonResp(http.StatusOK, map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": int64(ttl / time.Second)})
	}
	return errResp(http.StatusNotFound, "NotFound", "No control operation at %s; GET /_emulator lists them.", r.URL.Path)
}

// readLimited reads a control body of at most limit bytes; a longer one is
// 413, never cut to the limit.
func readLimited(body io.Reader, limit int64, what string) ([]byte, *response) {
	b, err := io.ReadAll(io.LimitReader(body, limit+1))
	if err != nil {
		return nil, badControl("read %s: %v", what, err)
	}
	if int64(len(b)) > limit {
		return nil, tooLarge(what, limit)
	}
	return b, nil
}

func tooLarge(what string, limit int64) *response {
	return errResp(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge",
		"The %s is larger than the emulator's limit of %d bytes: nothing was changed. Load large states with --state or --load, or raise Options.MaxSeedBytes.", what, limit)
}

func (s *Server) seed(r *http.Request, name string) *response {
	var snap *Snapshot
	if name != "" {
		if s.opts.Seeds == nil {
			return badControl("this emulator has no named seeds")
		}
		var err error
		if snap, err = s.opts.Seeds(name); err != nil {
			return badControl("seed %q: %v", name, err)
		}
	} else {
		b, resp := readLimited(r.Body, s.opts.MaxSeedBytes, "snapshot body")
		if resp != nil {
			return resp
		}
		snap = &Snapshot{}
		if err := json.Unmarshal(b, snap); err != nil {
			return badControl("decode snapshot body: %v", err)
		}
	}
	if err := s.Load(snap); err != nil {
		return badControl("%v", err)
	}
	s.mu.RLock()
	counts := map[string]any{"tenant": s.st.tenant, "principals": len(s.st.principals), "environments": len(s.st.envOrder)}
	flows := 0
	for _, e := range s.st.envOrder {
		flows += len(e.flows)
	}
	counts["flows"] = flows
	s.mu.RUnlock()
	return jsonResp(http.StatusOK, counts)
}

// reset returns to the baseline snapshot (or to empty) and clears the
// request log, stats, throttle windows and fault counters.
func (s *Server) reset(toEmpty bool) error {
	s.mu.Lock()
	if toEmpty {
		s.baseline = &Snapshot{}
		s.st = newState("")
		s.offset.Store(0)
	} else if s.baseline.Tenant == "" {
		s.st = newState("")
		s.offset.Store(0)
	} else {
		st, err := buildState(s.baseline)
		if err != nil {
			s.mu.Unlock()
			return err
		}
		s.st = st
		if s.baseline.Now.IsZero() {
			s.offset.Store(0)
		} else {
			s.offset.Store(int64(s.baseline.Now.Sub(s.clock.Now())))
		}
	}
	s.version++
	s.mu.Unlock()
	s.throttle.reset()
	s.book.reset()
	s.writes.Store(0)
	s.faults.mu.Lock()
	cfg := s.faults.cfg
	s.faults.mu.Unlock()
	_ = s.faults.set(cfg)
	return s.persist()
}
