package emulator_test

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowsync/flowsync/internal/emulator"
)

func TestParseFaults(t *testing.T) {
	tests := []struct {
		spec    string
		want    emulator.FaultConfig
		wantErr bool
	}{
		{spec: "seed=5", want: emulator.FaultConfig{Seed: 5}},
		{spec: "5xx-after-write:op=create:nth=1,429:op=write:count=20:retry-after=1", want: emulator.FaultConfig{Rules: []emulator.FaultRule{
			{Kind: "5xx-after-write", Op: "create", Nth: 1}, {Kind: "429", Op: "write", Count: 20, RetryAfter: 1}}}},
		{spec: "reset:op=MODIFY-PERMISSIONS:nth=3:count=2", want: emulator.FaultConfig{Rules: []emulator.FaultRule{
			{Kind: "reset", Op: "modify-permissions", Nth: 3, Count: 2}}}},
		{spec: "", wantErr: true},
		{spec: "   ", wantErr: true},
		{spec: "5xx,,429", wantErr: true},
		{spec: "5xx:op=frobnicate", wantErr: true},
		{spec: "5xx:nth=-1", wantErr: true},
		{spec: "5xx-after-write:op=read", wantErr: true},
		{spec: "5xx:path=" + strings.Repeat("x", emulator.MaxFaultSpec), wantErr: true},
		{spec: "seed=42,429:p=0.2:retry-after=3,5xx:p=0.05,5xx-after-write:p=0.05,reset:p=0.02,slow:p=0.1:delay=300ms,truncate:p=0.02", want: emulator.FaultConfig{
			Seed: 42,
			Rules: []emulator.FaultRule{
				{Kind: "429", P: 0.2, RetryAfter: 3},
				{Kind: "5xx", P: 0.05},
				{Kind: "5xx-after-write", P: 0.05},
				{Kind: "reset", P: 0.02},
				{Kind: "slow", P: 0.1, Delay: 300 * time.Millisecond},
				{Kind: "truncate", P: 0.02},
			},
		}},
		{spec: "429:retry-after-date=7:method=get:path=/flows:count=2", want: emulator.FaultConfig{Rules: []emulator.FaultRule{
			{Kind: "429", RetryAfter: 7, RetryAfterDate: true, Method: "GET", Path: "/flows", Count: 2}}}},
		{spec: "5xx:status=500,reset-after-write", want: emulator.FaultConfig{Rules: []emulator.FaultRule{{Kind: "5xx", Status: 500}, {Kind: "reset-after-write"}}}},
		{spec: "boom", wantErr: true},
		{spec: "5xx:p=2", wantErr: true},
		{spec: "5xx:p=x", wantErr: true},
		{spec: "5xx:status=404", wantErr: true},
		{spec: "slow", wantErr: true},
		{spec: "slow:delay=1h", wantErr: true},
		{spec: "seed=x", wantErr: true},
		{spec: "429:colour=red", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.spec, func(t *testing.T) {
			got, err := emulator.ParseFaults(tc.spec)
			if (err != nil) != tc.wantErr {
				t.Fatalf("ParseFaults error = %v, want error %v", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
			again, err := emulator.ParseFaults(got.String())
			if err != nil {
				t.Fatalf("re-parse %q: %v", got.String(), err)
			}
			if diff := cmp.Diff(got, again); diff != "" {
				t.Errorf("String round trip (-want +got):\n%s", diff)
			}
		})
	}
}

// outcomes sends n GETs and returns their statuses.
func outcomes(t *testing.T, spec string, n int) []int {
	t.Helper()
	cfg, err := emulator.ParseFaults(spec)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, emulator.Options{Faults: cfg})
	tok := e.tok(aliceID, flowRP)
	var out []int
	for range n {
		out = append(out, e.raw("GET", tok, e.hs.URL+flowPath(defaultEnv, flowAlice, "?"+v), nil).status)
	}
	return out
}

func TestFaultsReplay(t *testing.T) {
	spec := "seed=42,5xx:p=0.2,429:p=0.2:retry-after=3"
	first := outcomes(t, spec, 200)
	if diff := cmp.Diff(first, outcomes(t, spec, 200)); diff != "" {
		t.Errorf("same seed, different outcomes (-first +second):\n%s", diff)
	}
	count := map[int]int{}
	for _, s := range first {
		count[s]++
	}
	if count[200] == 0 || count[503] == 0 || count[429] == 0 || count[200]+count[503]+count[429] != 200 {
		t.Errorf("outcomes %v: want a mix of 200, 503 and 429 only", count)
	}
	if cmp.Equal(first, outcomes(t, "seed=43,5xx:p=0.2,429:p=0.2:retry-after=3", 200)) {
		t.Errorf("another seed gave the same 200 outcomes")
	}
}

func TestFault429(t *testing.T) {
	cfg, _ := emulator.ParseFaults("429:count=1:retry-after=7,429:count=1:retry-after-date=9")
	e := newEnv(t, emulator.Options{Faults: cfg})
	r := e.call("GET", aliceID, flowPath(defaultEnv, flowAlice, "?"+v), nil)
	throttled(t, r, "7")
	r = e.call("GET", aliceID, flowPath(defaultEnv, flowAlice, "?"+v), nil)
	wantStatus(t, r, 429)
	when, err := http.ParseTime(r.header.Get("Retry-After"))
	if err != nil || !when.Equal(t0.Add(9*time.Second)) {
		t.Errorf("Retry-After = %q, want the HTTP date of clock+9s", r.header.Get("Retry-After"))
	}
	wantStatus(t, e.call("GET", aliceID, flowPath(defaultEnv, flowAlice, "?"+v), nil), 200)
}

// TestFault5xxAfterWrite: the write is applied even though the answer is 502.
func TestFault5xxAfterWrite(t *testing.T) {
	cfg, _ := emulator.ParseFaults("5xx-after-write:count=1")
	e := newEnv(t, emulator.Options{Faults: cfg})
	before := len(names(t, e.call("GET", aliceID, flowPath(devEnv, "", "?"+v), nil)))
	r := e.call("POST", aliceID, flowPath(devEnv, "", "?"+v), createBody("Twice?", "Stopped", definition("Recurrence", ""), refs()))
	wantStatus(t, r, 502)
	after := names(t, e.call("GET", aliceID, flowPath(devEnv, "", "?"+v), nil))
	if len(after) != before+1 {
		t.Fatalf("flows after a 502 create: %d, want %d (the write was applied)", len(after), before+1)
	}
	// The blind retry makes a second flow (CONTRACT decision 8).
	wantStatus(t, e.call("POST", aliceID, flowPath(devEnv, "", "?"+v), createBody("Twice?", "Stopped", definition("Recurrence", ""), refs())), 201)
	if n := len(names(t, e.call("GET", aliceID, flowPath(devEnv, "", "?"+v), nil))); n != before+2 {
		t.Errorf("flows after retry: %d, want %d", n, before+2)
	}
	log := e.raw("GET", "", e.hs.URL+"/_emulator/requests", nil)
	var found bool
	for _, it := range log.json(t)["value"].([]any) {
		m := it.(map[string]any)
		if m["fault"] == "5xx-after-write" {
			found = m["status"] == 502.0 && m["appliedStatus"] == 201.0
		}
	}
	if !found {
		t.Errorf("request log lacks the 5xx-after-write entry with appliedStatus 201: %s", log.body)
	}
}

func TestFaultConnectionFaults(t *testing.T) {
	tests := []struct {
		spec, method string
		applied      bool // the write happened
	}{
		{"reset:count=1:method=POST", "POST", false},
		{"reset-after-write:count=1", "POST", true},
		{"truncate:count=1:method=POST", "POST", true},
	}
	for _, tc := range tests {
		t.Run(tc.spec, func(t *testing.T) {
			cfg, _ := emulator.ParseFaults(tc.spec)
			e := newEnv(t, emulator.Options{Faults: cfg})
			before := len(names(t, e.call("GET", aliceID, flowPath(devEnv, "", "?"+v), nil)))
			req, _ := http.NewRequest(tc.method, e.hs.URL+flowPath(devEnv, "", "?"+v), stringsReader(string(mustJSON(createBody("x", "Stopped", definition("Recurrence", ""), refs())))))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+e.tok(aliceID, flowRP))
			resp, err := e.hs.Client().Do(req)
			if err == nil {
				_, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			if err == nil {
				t.Fatalf("%s: request succeeded, want a transport error", tc.spec)
			}
			if tc.spec == "truncate:count=1:method=POST" && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("truncate: error %v, want unexpected EOF", err)
			}
			after := len(names(t, e.call("GET", aliceID, flowPath(devEnv, "", "?"+v), nil)))
			if applied := after == before+1; applied != tc.applied {
				t.Errorf("write applied = %v, want %v", applied, tc.applied)
			}
		})
	}
}

func TestFaultSlowStillAnswers(t *testing.T) {
	cfg, _ := emulator.ParseFaults("slow:delay=20ms:count=1")
	e := newEnv(t, emulator.Options{Faults: cfg})
	wantStatus(t, e.call("GET", aliceID, flowPath(defaultEnv, flowAlice, "?"+v), nil), 200)
	st := e.raw("GET", "", e.hs.URL+"/_emulator/faults", nil)
	if fired, _ := at(st.json(t)["rules"].([]any)[0], "fired"); fired != 1.0 {
		t.Errorf("slow rule fired %v times, want 1", fired)
	}
}

func TestFaultsControlPath(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	r := e.raw("POST", "", e.hs.URL+"/_emulator/faults?spec="+url.QueryEscape("seed=1,5xx:path=/flows/"+flowAlice), nil)
	wantStatus(t, r, 200)
	wantStatus(t, e.call("GET", aliceID, flowPath(defaultEnv, flowAlice, "?"+v), nil), 503)
	wantStatus(t, e.call("GET", aliceID, flowPath(defaultEnv, flowTeam, "?"+v), nil), 200)
	wantStatus(t, e.raw("POST", "", e.hs.URL+"/_emulator/faults", "nonsense:p=1"), 400)
	wantStatus(t, e.raw("DELETE", "", e.hs.URL+"/_emulator/faults", nil), 200)
	wantStatus(t, e.call("GET", aliceID, flowPath(defaultEnv, flowAlice, "?"+v), nil), 200)
	// Faults never touch control paths.
	wantStatus(t, e.raw("POST", "", e.hs.URL+"/_emulator/faults", "5xx"), 200)
	wantStatus(t, e.raw("GET", "", e.hs.URL+"/_emulator/state", nil), 200)
}
