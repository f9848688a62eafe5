package emulator_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/emulator"
)

func throttled(t *testing.T, r result, retryAfter string) {
	t.Helper()
	wantStatus(t, r, 429)
	if got := r.header.Get("Retry-After"); got != retryAfter {
		t.Errorf("Retry-After = %q, want %q", got, retryAfter)
	}
}

func TestThrottleCallsWindow(t *testing.T) {
	e := newEnv(t, emulator.Options{Throttle: emulator.ThrottleConfig{Profile: emulator.ProfileConnector, Calls: 5, Per: time.Minute}})
	list := flowPath(defaultEnv, "", "?"+v)
	for i := range 5 {
		if r := e.call("GET", aliceID, list, nil); r.status != 200 {
			t.Fatalf("call %d: status %d, want 200", i+1, r.status)
		}
	}
	r := e.call("GET", aliceID, list, nil)
	throttled(t, r, "60")
	if diff := cmp.Diff(`{"statusCode":429,"message":"Rate limit is exceeded. Try again in 60 seconds."}`, string(r.body)); diff != "" {
		t.Errorf("connector body (-want +got):\n%s", diff)
	}
	if got := api.DecodeError(r.status, r.header, r.body, t0).RetryAfter; got != time.Minute {
		t.Errorf("decoded RetryAfter = %v", got)
	}
	// Another identity has its own windows.
	wantStatus(t, e.call("GET", bobID, list, nil), 200)
	// Refused calls do not count, and Retry-After rounds up.
	e.clock.Advance(30*time.Second + 500*time.Millisecond)
	for range 3 {
		throttled(t, e.call("GET", aliceID, list, nil), "30")
	}
	e.clock.Advance(29*time.Second + 500*time.Millisecond) // exactly 60 s after the five calls
	for i := range 5 {
		if r := e.call("GET", aliceID, list, nil); r.status != 200 {
			t.Fatalf("after the window, call %d: status %d, want 200", i+1, r.status)
		}
	}
	throttled(t, e.call("GET", aliceID, list, nil), "60")
	stats := e.raw("GET", "", e.hs.URL+"/_emulator/stats", nil)
	got, _ := at(stats.json(t), "identities.user:"+aliceID)
	want := map[string]any{"calls": 10.0, "nonGet": 0.0, "throttled": 5.0, "applied": 0.0}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
}

func TestThrottleSlides(t *testing.T) {
	e := newEnv(t, emulator.Options{Throttle: emulator.ThrottleConfig{Calls: 5, Per: time.Minute}})
	list := flowPath(defaultEnv, "", "?"+v)
	for range 5 { // at 0, 10, 20, 30, 40 s
		wantStatus(t, e.call("GET", aliceID, list, nil), 200)
		e.clock.Advance(10 * time.Second)
	}
	throttled(t, e.call("GET", aliceID, list, nil), "10") // at 50 s: the call at 0 s frees at 60 s
	e.clock.Advance(10 * time.Second)                     // 60 s
	wantStatus(t, e.call("GET", aliceID, list, nil), 200)
	throttled(t, e.call("GET", aliceID, list, nil), "10") // the call at 10 s frees at 70 s
}

func TestThrottleWritesWindow(t *testing.T) {
	e := newEnv(t, emulator.Options{Throttle: emulator.ThrottleConfig{Calls: 1000, Per: time.Minute, Writes: 3, WritesPer: time.Hour}})
	stop := flowPath(defaultEnv, flowAlice, "/stop?"+v)
	for range 3 {
		wantStatus(t, e.call("POST", aliceID, stop, nil), 200)
	}
	throttled(t, e.call("POST", aliceID, stop, nil), "3600")
	wantStatus(t, e.call("GET", aliceID, flowPath(defaultEnv, flowAlice, "?"+v), nil), 200)
	e.clock.Advance(59 * time.Minute)
	throttled(t, e.call("DELETE", aliceID, flowPath(defaultEnv, flowAlice, "?"+v), nil), "60")
	e.clock.Advance(time.Minute)
	wantStatus(t, e.call("POST", aliceID, stop, nil), 200)
}

func TestThrottleServiceProfile(t *testing.T) {
	e := newEnv(t, emulator.Options{Throttle: emulator.ThrottleConfig{Profile: emulator.ProfileService, Calls: 1, Per: 5 * time.Minute}})
	wantStatus(t, e.call("GET", robotID, bapRP+"/scopes/admin/environments?"+v, nil), 200)
	r := e.call("GET", robotID, bapRP+"/scopes/admin/environments?"+v, nil)
	wantError(t, r, 429, api.CodeTooManyConcurrentRequests)
	if got := r.header.Get("Retry-After"); got != "300" {
		t.Errorf("Retry-After = %q, want 300", got)
	}
}

// TestThrottleSkipsControlAndAuthFailures: control paths and unauthenticated
// calls are never counted.
func TestThrottleSkipsControlAndAuthFailures(t *testing.T) {
	e := newEnv(t, emulator.Options{Throttle: emulator.ThrottleConfig{Calls: 1, Per: time.Minute}})
	for range 5 {
		wantStatus(t, e.raw("GET", "", e.hs.URL+"/_emulator/stats", nil), 200)
		wantStatus(t, e.raw("GET", "", e.hs.URL+flowPath(defaultEnv, "", "?"+v), nil), 401)
	}
	wantStatus(t, e.call("GET", aliceID, flowPath(defaultEnv, "", "?"+v), nil), 200)
	wantStatus(t, e.call("GET", aliceID, flowPath(defaultEnv, "", "?"+v), nil), 429)
}

func TestThrottleConfigErrors(t *testing.T) {
	for _, cfg := range []emulator.ThrottleConfig{{Profile: "fast"}, {Calls: -1}} {
		if _, err := emulator.New(emulator.Options{Throttle: cfg}); err == nil {
			t.Errorf("New with %+v: no error", cfg)
		}
	}
}
