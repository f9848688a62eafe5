package emulator_test

import (
	"io"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flowsync/flowsync/internal/emulator"
)

// step is one request of a targeted-fault scenario and the status it must get.
type step struct {
	name   string
	method string
	path   string
	body   any
	want   int
}

func createOK(name string) step {
	return step{"create " + name, "POST", flowPath(devEnv, "", "?"+v), createBody(name, "Stopped", definition("Recurrence", ""), refs()), 201}
}

func TestTargetedFaults(t *testing.T) {
	get := step{"get", "GET", flowPath(defaultEnv, flowAlice, "?"+v), nil, 200}
	stop := step{"stop", "POST", flowPath(defaultEnv, flowAlice, "/stop?"+v), nil, 200}
	// A create naming a connection the environment lacks: refused, not applied.
	badCreate := step{"bad create", "POST", flowPath(devEnv, "", "?"+v),
		createBody("bad", "Stopped", definition("Recurrence", "", "shared_office365"), refs("shared_office365", connO365)), 400}
	with := func(s step, want int) step { s.want = want; return s }
	tests := []struct {
		spec        string
		steps       []step
		wantCreated int // flows added to devEnv
	}{
		{"5xx-after-write:op=create:nth=1", []step{
			get, badCreate, with(createOK("first"), 502), createOK("second"), get,
		}, 2},
		{"5xx-after-write:op=create:nth=2", []step{
			createOK("first"), with(createOK("second"), 502), createOK("third"),
		}, 3},
		{"429:op=write:count=3:retry-after=1", []step{
			with(stop, 429), get, with(createOK("a"), 429), with(stop, 429), stop, createOK("b"),
		}, 1},
		{"5xx:op=get:nth=2:count=2", []step{
			get, with(get, 503), with(get, 503), get, stop,
		}, 0},
		{"reset:op=create:nth=1,5xx:op=stop", []step{
			with(createOK("dropped"), 0), with(stop, 503), createOK("kept"),
		}, 1},
		{"5xx:op=read:count=1", []step{
			stop, with(get, 503), get,
		}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.spec, func(t *testing.T) {
			cfg, err := emulator.ParseFaults(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			e := newEnv(t, emulator.Options{Faults: cfg})
			before := e.s.Dump()
			for i, st := range tc.steps {
				if got := e.send(st.method, aliceID, st.path, st.body); got != st.want {
					t.Fatalf("step %d (%s): status %d, want %d", i+1, st.name, got, st.want)
				}
			}
			if got := flowsIn(e.s.Dump(), devEnv) - flowsIn(before, devEnv); got != tc.wantCreated {
				t.Errorf("flows created in %s: %d, want %d", devEnv, got, tc.wantCreated)
			}
		})
	}
}

// TestTargetedFaultsEverywhere: the same targeted rule works given as
// Options.Faults, through SetFaults and through the control path.
func TestTargetedFaultsEverywhere(t *testing.T) {
	const spec = "5xx-after-write:op=create:nth=1"
	cfg, err := emulator.ParseFaults(spec)
	if err != nil {
		t.Fatal(err)
	}
	setups := map[string]func(t *testing.T) *env{
		"options": func(t *testing.T) *env { return newEnv(t, emulator.Options{Faults: cfg}) },
		"SetFaults": func(t *testing.T) *env {
			e := newEnv(t, emulator.Options{})
			if err := e.s.SetFaults(cfg); err != nil {
				t.Fatal(err)
			}
			return e
		},
		"control path": func(t *testing.T) *env {
			e := newEnv(t, emulator.Options{})
			wantStatus(t, e.raw("POST", "", e.hs.URL+"/_emulator/faults?spec="+url.QueryEscape(spec), nil), 200)
			return e
		},
		"control body": func(t *testing.T) *env {
			e := newEnv(t, emulator.Options{})
			wantStatus(t, e.raw("POST", "", e.hs.URL+"/_emulator/faults", spec), 200)
			return e
		},
	}
	for name, setup := range setups {
		t.Run(name, func(t *testing.T) {
			e := setup(t)
			c1 := createOK("one")
			if got := e.send(c1.method, aliceID, c1.path, c1.body); got != 502 {
				t.Fatalf("first create: %d, want 502", got)
			}
			c2 := createOK("two")
			if got := e.send(c2.method, aliceID, c2.path, c2.body); got != 201 {
				t.Fatalf("second create: %d, want 201", got)
			}
			st := e.raw("GET", "", e.hs.URL+"/_emulator/faults", nil).json(t)
			m := st["rules"].([]any)[0].(map[string]any)
			if m["op"] != "create" || m["nth"] != 1.0 || m["seen"] != 2.0 || m["fired"] != 1.0 {
				t.Errorf("rule status %v: want op create, nth 1, seen 2, fired 1", m)
			}
		})
	}
}

func TestFaultsControlRefusesEmptyAndOversized(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	wantStatus(t, e.raw("POST", "", e.hs.URL+"/_emulator/faults", "5xx:op=get"), 200)
	for name, r := range map[string]result{
		"empty body":      e.raw("POST", "", e.hs.URL+"/_emulator/faults", ""),
		"blank body":      e.raw("POST", "", e.hs.URL+"/_emulator/faults", "  \n"),
		"empty query":     e.raw("POST", "", e.hs.URL+"/_emulator/faults?spec=", nil),
		"oversized body":  e.raw("POST", "", e.hs.URL+"/_emulator/faults", "seed=1,5xx:path="+string(make([]byte, emulator.MaxFaultSpec))),
		"oversized query": e.raw("POST", "", e.hs.URL+"/_emulator/faults?spec=seed=1,5xx:path="+string(slices.Repeat([]byte("x"), emulator.MaxFaultSpec)), nil),
	} {
		if r.status != 400 && r.status != 413 {
			t.Errorf("%s: status %d, want 400 or 413: %s", name, r.status, r.body)
		}
	}
	if r := e.raw("POST", "", e.hs.URL+"/_emulator/faults", "seed=1,5xx:path="+string(slices.Repeat([]byte("x"), emulator.MaxFaultSpec))); r.status != 413 {
		t.Errorf("oversized body: status %d, want 413", r.status)
	}
	// The rule set before is still in force: nothing was reset or cut.
	wantStatus(t, e.call("GET", aliceID, flowPath(defaultEnv, flowAlice, "?"+v), nil), 503)
}

// TestOnWrite: the hook hears each applied write, in order, with the
// state already changed and before the answer leaves; reads, refused writes
// and writes a fault stopped before the operation are not writes.
func TestOnWrite(t *testing.T) {
	cfg, err := emulator.ParseFaults("5xx:op=start:nth=1,5xx-after-write:op=stop:nth=1")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, emulator.Options{Faults: cfg})
	var (
		mu     sync.Mutex
		events []emulator.WriteEvent
	)
	e.s.OnWrite(func(ev emulator.WriteEvent) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, ev)
		if ev.N == 3 {
			// A crash test kills the client here; dropping its connection
			// shows the answer has not left yet, and the write is applied.
			if !hasFlow(e.s.Dump(), devEnv, "crash") {
				t.Errorf("hook for write 3: the flow is not in the state yet")
			}
			e.hs.CloseClientConnections()
		}
	})
	steps := []step{
		{"get", "GET", flowPath(defaultEnv, flowAlice, "?"+v), nil, 200},
		{"start (5xx before the operation)", "POST", flowPath(defaultEnv, flowAlice, "/start?"+v), nil, 503},
		{"stop (applied, then 502)", "POST", flowPath(defaultEnv, flowAlice, "/stop?"+v), nil, 502},
		{"refused create", "POST", flowPath(devEnv, "", "?"+v), createBody("", "Stopped", definition("Recurrence", ""), refs()), 400},
		createOK("one"),
		createOK("crash"),
	}
	for i, st := range steps {
		if i == len(steps)-1 {
			if _, err := e.try(st.method, aliceID, st.path, st.body); err == nil {
				t.Fatalf("step %d (%s): answered, want the connection dropped by the hook", i+1, st.name)
			}
			continue
		}
		if got := e.send(st.method, aliceID, st.path, st.body); got != st.want {
			t.Fatalf("step %d (%s): status %d, want %d", i+1, st.name, got, st.want)
		}
	}
	mu.Lock()
	got := slices.Clone(events)
	mu.Unlock()
	want := []emulator.WriteEvent{
		{N: 1, Method: "POST", Path: flowPath(defaultEnv, flowAlice, "/stop"), Op: "stop", Identity: "user:" + aliceID, Status: 200, Fault: "5xx-after-write"},
		{N: 2, Method: "POST", Path: flowPath(devEnv, "", ""), Op: "create", Identity: "user:" + aliceID, Status: 201},
		{N: 3, Method: "POST", Path: flowPath(devEnv, "", ""), Op: "create", Identity: "user:" + aliceID, Status: 201},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("write events (-want +got):\n%s", diff)
	}
	stats, _ := at(e.raw("GET", "", e.hs.URL+"/_emulator/stats", nil).json(t), "identities.user:"+aliceID)
	// start was faulted before the throttle counted it; the refused create
	// counts as a non-GET call but not as applied.
	wantStats := map[string]any{"calls": 5.0, "nonGet": 4.0, "throttled": 0.0, "applied": 3.0}
	if diff := cmp.Diff(wantStats, stats); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}

	// Reset starts the count again; nil removes the hook.
	wantStatus(t, e.raw("POST", "", e.hs.URL+"/_emulator/reset", nil), 200)
	var n int
	e.s.OnWrite(func(ev emulator.WriteEvent) { n = ev.N })
	c := createOK("after reset")
	if got := e.send(c.method, aliceID, c.path, c.body); got != 201 || n != 1 {
		t.Errorf("after reset: status %d, event N %d; want 201 and N 1", got, n)
	}
	e.s.OnWrite(nil)
	if got := e.send(c.method, aliceID, c.path, c.body); got != 201 || n != 1 {
		t.Errorf("after removing the hook: status %d, event N %d; want 201 and N still 1", got, n)
	}
}

// send is call for scenarios: the status only, 0 when the connection was
// dropped.
func (e *env) send(method, principal, path string, body any) int {
	e.t.Helper()
	status, err := e.try(method, principal, path, body)
	if err != nil {
		return 0
	}
	return status
}

// try sends a request and reports a transport error instead of failing.
func (e *env) try(method, principal, path string, body any) (int, error) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = stringsReader(string(mustJSON(body)))
	}
	req, err := http.NewRequest(method, e.hs.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+e.tok(principal, path))
	resp, err := e.hs.Client().Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if _, err := io.ReadAll(resp.Body); err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}

func flowsIn(s *emulator.Snapshot, env string) int {
	n := 0
	for _, f := range s.Flows {
		if string(f.Environment) == env && f.DeletedTime == nil {
			n++
		}
	}
	return n
}

func hasFlow(s *emulator.Snapshot, env, display string) bool {
	for _, f := range s.Flows {
		if string(f.Environment) == env && f.DisplayName == display {
			return true
		}
	}
	return false
}
