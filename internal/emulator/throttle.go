package emulator

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/flowsync/flowsync/internal/api"
)

// throttler keeps, per identity, the times of the calls it admitted in two
// sliding windows (CONTRACT decision 5). Its own mutex keeps GET requests
// off the state's write lock.
type throttler struct {
	cfg ThrottleConfig
	mu  sync.Mutex
	ids map[string]*windows
}

type windows struct {
	all, writes []time.Time // admission times, oldest first
}

func newThrottler(cfg ThrottleConfig) *throttler {
	return &throttler{cfg: cfg, ids: map[string]*windows{}}
}

// prune drops the times that left the window ending at now: a call at t
// counts while now-per < t.
func prune(ts []time.Time, now time.Time, per time.Duration) []time.Time {
	cut := now.Add(-per)
	i := 0
	for i < len(ts) && !ts[i].After(cut) {
		i++
	}
	return ts[i:]
}

// admit records a call and reports whether it may proceed; when it may not,
// wait is how long until a slot frees in the window that refused it (the
// longer of the two when both do). Refused calls are not recorded.
func (t *throttler) admit(id string, write bool, now time.Time) (ok bool, wait time.Duration) {
	if t.cfg.Profile == ProfileOff {
		return true, 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	w := t.ids[id]
	if w == nil {
		w = &windows{}
		t.ids[id] = w
	}
	w.all = prune(w.all, now, t.cfg.Per)
	w.writes = prune(w.writes, now, t.cfg.WritesPer)
	if len(w.all) >= t.cfg.Calls {
		wait = w.all[len(w.all)-t.cfg.Calls].Add(t.cfg.Per).Sub(now)
	}
	if write && len(w.writes) >= t.cfg.Writes {
		wait = max(wait, w.writes[len(w.writes)-t.cfg.Writes].Add(t.cfg.WritesPer).Sub(now))
	}
	if wait > 0 {
		return false, wait
	}
	w.all = append(w.all, now)
	if write {
		w.writes = append(w.writes, now)
	}
	return true, 0
}

func (t *throttler) reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.ids = map[string]*windows{}
}

// ceilSeconds is Retry-After's whole seconds, at least 1.
func ceilSeconds(d time.Duration) int {
	s := int((d + time.Second - 1) / time.Second)
	return max(s, 1)
}

// tooMany is a 429 in the shape of a profile.
func tooMany(profile, identity string, secs int, limit int, window time.Duration) *response {
	if profile == ProfileService {
		return errResp(http.StatusTooManyRequests, api.CodeTooManyConcurrentRequests,
			"Number of requests for identity '%s' exceeded the limit of '%d' over time window of '%s'. Try again in %d seconds.",
			identity, limit, clockString(window), secs)
	}
	return jsonResp(http.StatusTooManyRequests, struct {
		StatusCode int    `json:"statusCode"`
		Message    string `json:"message"`
	}{http.StatusTooManyRequests, fmt.Sprintf("Rate limit is exceeded. Try again in %d seconds.", secs)})
}

// clockString writes a window the way .NET writes a TimeSpan: hh:mm:ss.
func clockString(d time.Duration) string {
	s := int(d / time.Second)
	return fmt.Sprintf("%02d:%02d:%02d", s/3600, s/60%60, s%60)
}

func (s *Server) throttled(c *call, wait time.Duration) *response {
	secs := ceilSeconds(wait)
	resp := tooMany(s.opts.Throttle.Profile, c.identity, secs, s.opts.Throttle.Calls, s.opts.Throttle.Per)
	return resp.setHeader("Retry-After", strconv.Itoa(secs))
}
