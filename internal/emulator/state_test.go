package emulator_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/emulator"
	"github.com/flowsync/flowsync/internal/token"
)

func TestDumpLoadRoundTrip(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	// Change something of every kind first.
	wantStatus(t, e.call("POST", aliceID, flowPath(defaultEnv, "", "?"+v), createBody("New", "Stopped", definition("Request", "", "shared_rss"), refs("shared_rss", connRSS))), 201)
	wantStatus(t, e.call("DELETE", aliceID, flowPath(defaultEnv, flowBroken, "?"+v), nil), 200)
	wantStatus(t, e.call("POST", aliceID, flowPath(defaultEnv, flowAlice, "/triggers/manual/histories/"+runningRun+"/resubmit?"+v), nil), 202)
	wantStatus(t, e.call("PUT", aliceID, paRP+"/apis/shared_rss/connections/abcdef?api-version=2021-02-01&"+paFilter(devEnv), map[string]any{"properties": map[string]any{}}), 201)
	first := e.s.Dump()

	// Through JSON, as the state file and /_emulator/state carry it.
	b, err := json.Marshal(first)
	if err != nil {
		t.Fatal(err)
	}
	var decoded emulator.Snapshot
	if err := json.Unmarshal(b, &decoded); err != nil {
		t.Fatal(err)
	}
	s2, err := emulator.New(emulator.Options{Clock: emulator.NewManualClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))})
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.Load(&decoded); err != nil {
		t.Fatalf("Load(Dump()): %v", err)
	}
	if diff := cmp.Diff(first, s2.Dump()); diff != "" {
		t.Errorf("Dump after Load(Dump) (-first +second):\n%s", diff)
	}
	if !s2.Now().Equal(t0) {
		t.Errorf("clock after Load = %v, want the snapshot's %v", s2.Now(), t0)
	}
}

func TestDumpIsSorted(t *testing.T) {
	snap := fixture()
	// Reverse every list; the dump must not care.
	for i, j := 0, len(snap.Flows)-1; i < j; i, j = i+1, j-1 {
		snap.Flows[i], snap.Flows[j] = snap.Flows[j], snap.Flows[i]
	}
	for i, j := 0, len(snap.Principals)-1; i < j; i, j = i+1, j-1 {
		snap.Principals[i], snap.Principals[j] = snap.Principals[j], snap.Principals[i]
	}
	a, _ := emulator.New(emulator.Options{Clock: emulator.NewManualClock(t0)})
	b, _ := emulator.New(emulator.Options{Clock: emulator.NewManualClock(t0)})
	if err := a.Load(fixture()); err != nil {
		t.Fatal(err)
	}
	if err := b.Load(snap); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a.Dump(), b.Dump()); diff != "" {
		t.Errorf("dumps of the same state differ (-a +b):\n%s", diff)
	}
}

func TestStateFileSurvivesRestart(t *testing.T) {
	file := filepath.Join(t.TempDir(), "state.json")
	clock := emulator.NewManualClock(t0)
	s, err := emulator.New(emulator.Options{Clock: clock, StateFile: file, Throttle: emulator.ThrottleConfig{Profile: emulator.ProfileOff}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Load(fixture()); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, s: s, clock: clock}
	e.hs = newTestServer(t, s)
	r := e.call("POST", aliceID, flowPath(defaultEnv, "", "?"+v), createBody("Persisted", "Stopped", definition("Recurrence", ""), refs()))
	wantStatus(t, r, 201)
	wantStatus(t, e.call("POST", aliceID, flowPath(defaultEnv, flowAlice, "/modifyPermissions?"+v),
		map[string]any{"put": []any{map[string]any{"properties": map[string]any{"principal": map[string]any{"id": bobID, "type": "User"}, "roleName": "CanEdit"}}}}), 200)
	wantStatus(t, e.raw("POST", "", e.hs.URL+"/_emulator/clock/advance?by=1h", nil), 200)
	want := s.Dump()

	// No temporary files are left behind.
	entries, _ := os.ReadDir(filepath.Dir(file))
	if len(entries) != 1 {
		t.Errorf("state directory holds %d entries, want only the state file", len(entries))
	}

	s2, err := emulator.New(emulator.Options{Clock: emulator.NewManualClock(t0), StateFile: file})
	if err != nil {
		t.Fatalf("New on the same state file: %v", err)
	}
	if diff := cmp.Diff(want, s2.Dump()); diff != "" {
		t.Errorf("state after restart (-before +after):\n%s", diff)
	}
	if err := s2.Flush(); err != nil {
		t.Errorf("Flush: %v", err)
	}
}

func TestStateFileErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := emulator.New(emulator.Options{StateFile: bad}); err == nil {
		t.Errorf("New with a corrupt state file: no error")
	}
	s, err := emulator.New(emulator.Options{StateFile: filepath.Join(dir, "fresh.json")})
	if err != nil {
		t.Fatalf("New with a missing state file: %v", err)
	}
	if s.Tenant() != "" {
		t.Errorf("fresh server has tenant %q", s.Tenant())
	}
}

func TestLoadRejectsInconsistentSnapshots(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(s *emulator.Snapshot)
	}{
		{"no tenant", func(s *emulator.Snapshot) { s.Tenant = "" }},
		{"duplicate principal", func(s *emulator.Snapshot) { s.Principals = append(s.Principals, s.Principals[0]) }},
		{"bad principal type", func(s *emulator.Snapshot) { s.Principals[0].Type = "Robot" }},
		{"service principal without app id", func(s *emulator.Snapshot) { s.Principals[3].AppID = "" }},
		{"unknown group member", func(s *emulator.Snapshot) { s.Principals[5].Members = []api.PrincipalID{"nobody"} }},
		{"two default environments", func(s *emulator.Snapshot) { s.Environments[1].IsDefault = true }},
		{"connection in unknown environment", func(s *emulator.Snapshot) { s.Connections[0].Environment = "nope" }},
		{"connection of unknown connector", func(s *emulator.Snapshot) { s.Connections[0].API = "shared_nope" }},
		{"bad connection status", func(s *emulator.Snapshot) { s.Connections[0].Status = "Fine" }},
		{"flow in unknown environment", func(s *emulator.Snapshot) { s.Flows[0].Environment = "nope" }},
		{"duplicate flow", func(s *emulator.Snapshot) { s.Flows = append(s.Flows, s.Flows[0]) }},
		{"flow creator unknown", func(s *emulator.Snapshot) { s.Flows[0].Creator = "nobody" }},
		{"flow definition not an object", func(s *emulator.Snapshot) { s.Flows[0].Definition = json.RawMessage(`[1]`) }},
		{"flow references not an object", func(s *emulator.Snapshot) { s.Flows[0].ConnectionReferences = json.RawMessage(`[]`) }},
		{"bad flow state", func(s *emulator.Snapshot) { s.Flows[0].State = "Running" }},
		{"permission of unknown principal", func(s *emulator.Snapshot) {
			s.Flows[0].Permissions = []emulator.FlowPermission{{Principal: "nobody", Role: "CanEdit"}}
		}},
		{"permission with Owner role", func(s *emulator.Snapshot) {
			s.Flows[0].Permissions = []emulator.FlowPermission{{Principal: bobID, Role: "Owner"}}
		}},
		{"bad extra", func(s *emulator.Snapshot) { s.Flows[0].Extra = map[string]json.RawMessage{"x": json.RawMessage(`{`)} }},
		{"run of unknown flow", func(s *emulator.Snapshot) { s.Runs[0].Flow = "nope" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := emulator.New(emulator.Options{})
			snap := fixture()
			tc.mutate(snap)
			if err := s.Load(snap); err == nil {
				t.Errorf("Load accepted the snapshot")
			}
		})
	}
}

func TestControlPaths(t *testing.T) {
	seeds := func(name string) (*emulator.Snapshot, error) {
		if name != "small" {
			return nil, errors.New("no such seed")
		}
		s := fixture()
		s.Flows = s.Flows[:1]
		s.Runs = nil
		return s, nil
	}
	e := newEnv(t, emulator.Options{Seeds: seeds})
	base := e.hs.URL + "/_emulator"

	t.Run("index", func(t *testing.T) {
		r := e.raw("GET", "", base, nil)
		wantStatus(t, r, 200)
		if !strings.Contains(string(r.body), "/_emulator/clock/advance") {
			t.Errorf("index does not list the control paths: %s", r.body)
		}
	})
	t.Run("request log redacts unknown query values", func(t *testing.T) {
		e.call("GET", aliceID, flowPath(defaultEnv, "", "?"+v+"&sig=SECRETVALUE&$top=5"), nil)
		r := e.raw("GET", "", base+"/requests?limit=1", nil)
		wantStatus(t, r, 200)
		if strings.Contains(string(r.body), "SECRETVALUE") || !strings.Contains(string(r.body), "sig=REDACTED") {
			t.Errorf("request log: %s", r.body)
		}
		entry := r.json(t)["value"].([]any)[0].(map[string]any)
		if entry["identity"] != "user:"+aliceID || entry["status"] != 200.0 || entry["path"] != flowPath(defaultEnv, "", "") {
			t.Errorf("log entry = %v", entry)
		}
	})
	t.Run("token", func(t *testing.T) {
		r := e.raw("POST", "", base+"/token?principal="+robotID, nil)
		wantStatus(t, r, 200)
		tok := r.json(t)["access_token"].(string)
		c, err := token.Parse(tok)
		if err != nil {
			t.Fatal(err)
		}
		if !c.IsApp() || c.AppID != robotApp || !c.IsAdmin() || c.TenantID != tenant || c.Expires != t0.Add(time.Hour).Unix() {
			t.Errorf("claims = %+v", c)
		}
		wantStatus(t, e.raw("GET", tok, e.hs.URL+bapRP+"/scopes/admin/environments?"+v, nil), 200)
		wantStatus(t, e.raw("POST", "", base+"/token?principal="+groupID, nil), 400)
		wantStatus(t, e.raw("POST", "", base+"/token?principal=nobody", nil), 400)
	})
	t.Run("seed by name and by body, reset", func(t *testing.T) {
		wantStatus(t, e.raw("POST", "", base+"/seed?name=small", nil), 200)
		if n := len(e.s.Dump().Flows); n != 1 {
			t.Fatalf("flows after seed = %d, want 1", n)
		}
		wantStatus(t, e.raw("POST", "", base+"/seed?name=missing", nil), 400)
		wantStatus(t, e.raw("POST", "", base+"/seed", mustJSON(fixture())), 200)
		wantStatus(t, e.call("DELETE", aliceID, flowPath(defaultEnv, flowAlice, "?"+v), nil), 200)
		wantStatus(t, e.raw("POST", "", base+"/reset", nil), 200)
		wantStatus(t, e.call("GET", aliceID, flowPath(defaultEnv, flowAlice, "?"+v), nil), 200)
		stats := e.raw("GET", "", base+"/stats", nil)
		if got, _ := at(stats.json(t), "identities.user:"+aliceID+".calls"); got != 1.0 {
			t.Errorf("calls after reset = %v, want 1 (reset clears stats)", got)
		}
		wantStatus(t, e.raw("POST", "", base+"/seed", "{"), 400)
	})
	t.Run("state and clock", func(t *testing.T) {
		r := e.raw("GET", "", base+"/state", nil)
		var snap emulator.Snapshot
		if err := json.Unmarshal(r.body, &snap); err != nil || snap.Tenant != tenant {
			t.Errorf("state: %v %q", err, snap.Tenant)
		}
		wantStatus(t, e.raw("POST", "", base+"/clock/advance?by=-1h", nil), 400)
		r = e.raw("POST", "", base+"/clock/advance?by=90m", nil)
		wantStatus(t, r, 200)
		if r.json(t)["now"] != "2025-03-01T10:30:00.0000000Z" {
			t.Errorf("now = %v", r.json(t)["now"])
		}
	})
	t.Run("reset to empty", func(t *testing.T) {
		wantStatus(t, e.raw("POST", "", base+"/reset?empty=true", nil), 200)
		wantStatus(t, e.call("GET", "", flowPath(defaultEnv, "", "?"+v), nil), 401)
	})
	t.Run("unknown control path", func(t *testing.T) {
		wantStatus(t, e.raw("GET", "", base+"/nope", nil), 404)
		wantStatus(t, e.raw("GET", "", base+"/reset", nil), 405)
	})
}

func TestIdentityHandlerRouting(t *testing.T) {
	e := newEnv(t, emulator.Options{Throttle: emulator.ThrottleConfig{Calls: 1, Per: time.Minute}})
	paths := []string{
		"/" + tenant + "/oauth2/v2.0/token",
		"/" + tenant + "/v2.0/.well-known/openid-configuration",
		"/common/discovery/instance",
		"/" + tenant + "/discovery/v2.0/keys",
		"/" + tenant + "/oauth2/token",
	}
	wantStatus(t, e.raw("GET", "", e.hs.URL+paths[0], nil), 404) // no handler yet
	var got []string
	e.s.SetIdentityHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.URL.Path)
		w.WriteHeader(http.StatusTeapot)
	}))
	for _, p := range paths {
		for range 3 { // more than the throttle allows: identity paths are never throttled
			wantStatus(t, e.raw("POST", "", e.hs.URL+p, nil), http.StatusTeapot)
		}
	}
	if len(got) != 3*len(paths) {
		t.Errorf("identity handler saw %d requests, want %d", len(got), 3*len(paths))
	}
	if p, ok := e.s.LookupPrincipalByAppID(strings.ToUpper(robotApp)); !ok || string(p.ID) != robotID {
		t.Errorf("LookupPrincipalByAppID = %+v, %v", p, ok)
	}
	if _, ok := e.s.LookupPrincipalByAppID("nope"); ok {
		t.Errorf("LookupPrincipalByAppID(nope) found something")
	}
	if e.s.Tenant() != tenant {
		t.Errorf("Tenant() = %q", e.s.Tenant())
	}
	stats := e.raw("GET", "", e.hs.URL+"/_emulator/stats", nil)
	if diff := cmp.Diff(map[string]any{"identities": map[string]any{}}, stats.json(t)); diff != "" {
		t.Errorf("identity paths were counted (-want +got):\n%s", diff)
	}
}

func TestListenTLS(t *testing.T) {
	s, err := emulator.New(emulator.Options{Clock: emulator.NewManualClock(t0), Throttle: emulator.ThrottleConfig{Profile: emulator.ProfileOff}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Load(fixture()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	run, err := emulator.Listen(ctx, s, "127.0.0.1:0", true)
	if err != nil {
		t.Fatal(err)
	}
	defer run.Close()
	if !strings.HasPrefix(run.URL, "https://127.0.0.1:") {
		t.Errorf("URL = %s", run.URL)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(run.CACertPEM) {
		t.Fatalf("CACertPEM is not a PEM certificate")
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
	tok, _ := s.MintToken(aliceID, flowAudience)
	for _, host := range []string{run.URL, strings.Replace(run.URL, "127.0.0.1", "localhost", 1)} {
		req, _ := http.NewRequest("GET", host+flowPath(defaultEnv, "", "?"+v+"&$top=1"), nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET over TLS (%s): %v", host, err)
		}
		var body struct {
			NextLink string `json:"nextLink"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(body.NextLink, host+"/") {
			t.Errorf("status %d, nextLink %q: want 200 and a link on %s", resp.StatusCode, body.NextLink, host)
		}
	}
	client.CloseIdleConnections() // else Shutdown waits out HTTP/2's goaway timeout
	if err := run.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := client.Get(run.URL + "/_emulator/clock"); err == nil {
		t.Errorf("server still answers after Close")
	}
}

func TestListenPlainClosesOnCancel(t *testing.T) {
	s, _ := emulator.New(emulator.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	run, err := emulator.Listen(ctx, s, "127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(run.URL + "/_emulator/clock")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cancel()
	if err := run.Close(); err != nil { // waits for the cancel-triggered close
		t.Errorf("Close after cancel: %v", err)
	}
	if _, err := http.Get(run.URL + "/_emulator/clock"); err == nil {
		t.Errorf("server still answers after cancel")
	}
}

func TestMintToken(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	tests := []struct {
		principal string
		want      token.Claims
	}{
		{aliceID, token.Claims{Audience: flowAudience, Issuer: "https://sts.windows.net/" + tenant + "/", TenantID: tenant, ObjectID: aliceID,
			UPN: "alice@example.test", Name: "Alice Maker", Scope: "user_impersonation",
			IssuedAt: t0.Unix(), NotBefore: t0.Unix(), Expires: t0.Add(time.Hour).Unix()}},
		{adminID, token.Claims{Audience: flowAudience, Issuer: "https://sts.windows.net/" + tenant + "/", TenantID: tenant, ObjectID: adminID,
			UPN: "ada@example.test", Name: "Ada Admin", Scope: "user_impersonation", Roles: []string{token.RolePowerPlatformAdmin},
			IssuedAt: t0.Unix(), NotBefore: t0.Unix(), Expires: t0.Add(time.Hour).Unix()}},
		{plainSP, token.Claims{Audience: flowAudience, Issuer: "https://sts.windows.net/" + tenant + "/", TenantID: tenant, ObjectID: plainSP,
			AppID: plainApp, IDType: "app", Name: "Plain app",
			IssuedAt: t0.Unix(), NotBefore: t0.Unix(), Expires: t0.Add(time.Hour).Unix()}},
	}
	for _, tc := range tests {
		t.Run(tc.principal, func(t *testing.T) {
			raw, err := e.s.MintToken(api.PrincipalID(tc.principal), flowAudience)
			if err != nil {
				t.Fatal(err)
			}
			got, err := token.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("claims (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := e.s.MintToken(groupID, flowAudience); err == nil {
		t.Errorf("MintToken for a group: no error")
	}
}
