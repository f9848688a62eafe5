package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowsync/flowsync/internal/token"
)

// route is one expected request and its answer. Routes match in order: the
// first route whose method and path fit and that has uses left answers.
type route struct {
	method string
	path   string // escaped path, exact
	// query is the exact expected query (every key once); nil expects none.
	// anyQuery skips the check; rawQuery, when set, must equal RawQuery.
	query    map[string]string
	anyQuery bool
	rawQuery string
	body     string // expected JSON body (compared as JSON); "" expects none
	auth     string // expected Authorization; "" means the stub's default
	times    int    // uses expected; 0 means 1

	status int // 0 means 200
	header map[string]string
	resp   string
	// handle, when set, answers instead of status/header/resp.
	handle func(w http.ResponseWriter, r *http.Request)

	hits int
}

// stub is an httptest server that fails the test on a request no route
// expects and, at cleanup, on a route used fewer or more times than expected.
type stub struct {
	t      *testing.T
	srv    *httptest.Server
	auth   string
	mu     sync.Mutex
	routes []*route
	seen   []string
}

func newStub(t *testing.T, auth string, routes ...*route) *stub {
	t.Helper()
	s := &stub{t: t, auth: auth, routes: routes}
	s.srv = httptest.NewServer(s)
	t.Cleanup(func() {
		s.srv.Close()
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, r := range s.routes {
			want := max(r.times, 1)
			if r.hits != want {
				t.Errorf("route %s %s: got %d requests, want %d (requests seen: %q)", r.method, r.path, r.hits, want, s.seen)
			}
		}
	})
	return s
}

func (s *stub) add(routes ...*route) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.routes = append(s.routes, routes...)
}

func (s *stub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t := s.t
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.seen = append(s.seen, r.Method+" "+r.URL.EscapedPath())
	var rt *route
	for _, c := range s.routes {
		if c.method == r.Method && c.path == r.URL.EscapedPath() && c.hits < max(c.times, 1) {
			rt = c
			break
		}
	}
	if rt != nil {
		rt.hits++
	}
	s.mu.Unlock()
	if rt == nil {
		t.Errorf("unexpected request %s %s", r.Method, r.URL.RequestURI())
		// A 4xx, so that the client does not retry it.
		w.WriteHeader(http.StatusTeapot)
		return
	}
	wantAuth := rt.auth
	if wantAuth == "" {
		wantAuth = s.auth
	}
	if got := r.Header.Get("Authorization"); wantAuth != "" && got != wantAuth {
		t.Errorf("%s %s: Authorization = %q, want %q", r.Method, r.URL.Path, got, wantAuth)
	}
	if !rt.anyQuery {
		got := map[string]string{}
		for k, vs := range r.URL.Query() {
			if len(vs) != 1 {
				t.Errorf("%s %s: query member %s repeated: %q", r.Method, r.URL.Path, k, vs)
			}
			got[k] = vs[0]
		}
		want := rt.query
		if want == nil {
			want = map[string]string{}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s %s: query mismatch (-want +got):\n%s", r.Method, r.URL.Path, diff)
		}
	}
	if rt.rawQuery != "" && r.URL.RawQuery != rt.rawQuery {
		t.Errorf("%s %s: raw query = %q, want %q", r.Method, r.URL.Path, r.URL.RawQuery, rt.rawQuery)
	}
	checkJSONBody(t, r.Method+" "+r.URL.Path, rt.body, body)
	if rt.handle != nil {
		rt.handle(w, r)
		return
	}
	for k, v := range rt.header {
		w.Header().Set(k, v)
	}
	if rt.resp != "" && w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(or(rt.status, http.StatusOK))
	io.WriteString(w, rt.resp)
}

func checkJSONBody(t *testing.T, what, want string, got []byte) {
	t.Helper()
	if want == "" {
		if len(got) != 0 {
			t.Errorf("%s: unexpected body %s", what, got)
		}
		return
	}
	var w, g any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("%s: bad expected body: %v", what, err)
	}
	if err := json.Unmarshal(got, &g); err != nil {
		t.Errorf("%s: body is not JSON: %v: %s", what, err, got)
		return
	}
	if diff := cmp.Diff(w, g); diff != "" {
		t.Errorf("%s: body mismatch (-want +got):\n%s", what, diff)
	}
}

// jsonEqual compares two JSON documents by meaning.
func jsonEqual(t *testing.T, want, got []byte) {
	t.Helper()
	var w, g any
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("bad want JSON: %v", err)
	}
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("bad got JSON: %v: %s", err, got)
	}
	if diff := cmp.Diff(w, g); diff != "" {
		t.Errorf("JSON mismatch (-want +got):\n%s", diff)
	}
}

// Fixtures. The token is an unsigned JWT minted here; nothing is a real credential.
var (
	testNow   = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	testOID   = "11111111-2222-3333-4444-555555555555"
	testToken = token.Mint(token.Claims{ObjectID: testOID, TenantID: "tenant-1", Expires: testNow.Add(time.Hour).Unix()})
	testAuth  = "Bearer " + testToken
)

const (
	testEnv  = "Default-t1"
	testFlow = "f1"
)

func av() map[string]string { return map[string]string{"api-version": "2016-11-01"} }

func withQuery(kv ...string) map[string]string {
	q := av()
	for i := 0; i < len(kv); i += 2 {
		q[kv[i]] = kv[i+1]
	}
	return q
}

// recorder records sleeps, waits and pauses; Sleep returns at once.
type recorder struct {
	mu       sync.Mutex
	sleeps   []time.Duration
	waits    []bool
	pauses   []time.Time
	pacerIDs []string
	pauseCh  chan time.Time // optional: receives every pause
}

func (r *recorder) sleep(ctx context.Context, d time.Duration) error {
	r.mu.Lock()
	r.sleeps = append(r.sleeps, d)
	r.mu.Unlock()
	return ctx.Err()
}

func (r *recorder) pacerFor(identity string) Pacer {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pacerIDs = append(r.pacerIDs, identity)
	return recPacer{r}
}

func (r *recorder) Sleeps() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Duration(nil), r.sleeps...)
}

type recPacer struct{ r *recorder }

func (p recPacer) Wait(ctx context.Context, write bool) error {
	p.r.mu.Lock()
	p.r.waits = append(p.r.waits, write)
	p.r.mu.Unlock()
	return ctx.Err()
}

func (p recPacer) Pause(until time.Time) {
	p.r.mu.Lock()
	p.r.pauses = append(p.r.pauses, until)
	ch := p.r.pauseCh
	p.r.mu.Unlock()
	if ch != nil {
		ch <- until
	}
}

// newTestClient points a client at s with the recorder's sleep and pacer,
// a fixed clock, and the test token.
func newTestClient(t *testing.T, s *stub, edit ...func(*Config)) (*Client, *recorder) {
	t.Helper()
	rec := &recorder{}
	ep, err := EndpointsFor(Public)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Endpoints: ep.WithBaseURL(s.srv.URL),
		Tokens:    StaticToken(testToken),
		Pacer:     rec.pacerFor,
		Sleep:     rec.sleep,
		Now:       func() time.Time { return testNow },
	}
	for _, e := range edit {
		e(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c, rec
}

// logBuffer is a goroutine-safe sink for slog output.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func flowsJSON(names ...string) string {
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf(`{"name":%q,"properties":{"displayName":"Flow %s"}}`, n, n)
	}
	return strings.Join(parts, ",")
}
