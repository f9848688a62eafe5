package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowsync/flowsync/internal/api"
)

const gateway429 = `{"statusCode":429,"message":"Rate limit is exceeded. Try again in 4 seconds."}`

// hangUp answers by closing the connection without a response, as a reset
// or a crashed front end would.
func hangUp(t *testing.T) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		if tc, ok := conn.(*net.TCPConn); ok {
			tc.SetLinger(0) // RST rather than FIN
		}
		conn.Close()
	}
}

// shortBody promises more bytes than it sends.
func shortBody(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Length", "1000")
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, `{"value":[{"name":"a"`)
}

func between(t *testing.T, what string, d, lo, hi time.Duration) {
	t.Helper()
	if d < lo || d > hi {
		t.Errorf("%s = %v, want within [%v, %v]", what, d, lo, hi)
	}
}

func TestRetry429(t *testing.T) {
	date := testNow.Add(90 * time.Second)
	tests := []struct {
		name      string
		header    map[string]string
		body      string
		wantSleep time.Duration // 0: backoff range for the first retry
	}{
		{"retry-after seconds", map[string]string{"Retry-After": "7"}, gateway429, 7 * time.Second},
		{"retry-after long", map[string]string{"Retry-After": "3600"}, gateway429, time.Hour},
		{"retry-after http date", map[string]string{"Retry-After": date.Format(http.TimeFormat)}, `{"error":{"code":"TooManyConcurrentRequests","message":"m"}}`, 90 * time.Second},
		{"body hint only", nil, gateway429, 4 * time.Second},
		{"no hint", nil, ``, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStub(t, testAuth,
				&route{method: "GET", path: f1Path, query: av(), status: 429, header: tt.header, resp: tt.body},
				&route{method: "GET", path: f1Path, query: av(), resp: `{"name":"f1","properties":{}}`},
			)
			c, rec := newTestClient(t, s)
			if _, err := c.GetFlow(context.Background(), testEnv, testFlow, GetFlowOptions{}); err != nil {
				t.Fatal(err)
			}
			sleeps := rec.Sleeps()
			if len(sleeps) != 1 {
				t.Fatalf("sleeps = %v, want one", sleeps)
			}
			if tt.wantSleep == 0 {
				between(t, "backoff", sleeps[0], 500*time.Millisecond, time.Second)
			} else if sleeps[0] != tt.wantSleep {
				t.Errorf("slept %v, want %v", sleeps[0], tt.wantSleep)
			}
			if diff := cmp.Diff([]time.Time{testNow.Add(sleeps[0])}, rec.pauses); diff != "" {
				t.Errorf("pauses (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"user:" + testOID}, rec.pacerIDs); diff != "" {
				t.Errorf("pacer identities (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRetry429HTTPDatePausesUntilThatDate(t *testing.T) {
	date := testNow.Add(2 * time.Minute)
	s := newStub(t, testAuth,
		&route{method: "GET", path: flowPath + "/environments", query: av(), status: 429, header: map[string]string{"Retry-After": date.Format(http.TimeFormat)}},
		&route{method: "GET", path: flowPath + "/environments", query: av(), resp: `{"value":[]}`},
	)
	c, rec := newTestClient(t, s)
	if _, err := c.ListEnvironments(context.Background()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]time.Duration{2 * time.Minute}, rec.Sleeps()); diff != "" {
		t.Errorf("sleeps (-want +got):\n%s", diff)
	}
	if len(rec.pauses) != 1 || !rec.pauses[0].Equal(date) {
		t.Errorf("pauses = %v, want [%v]", rec.pauses, date)
	}
}

func TestRetry429GivesUpAfterMaxThrottleWaits(t *testing.T) {
	s := newStub(t, testAuth, &route{method: "GET", path: f1Path, query: av(), status: 429, times: 3, header: map[string]string{"Retry-After": "1"}, resp: gateway429})
	c, rec := newTestClient(t, s, func(cfg *Config) { cfg.MaxThrottleWaits = 2 })
	_, err := c.GetFlow(context.Background(), testEnv, testFlow, GetFlowOptions{})
	if !errors.Is(err, api.ErrThrottled) || !strings.Contains(err.Error(), "still throttled after 2 waits") {
		t.Errorf("error = %v, want throttled after 2 waits", err)
	}
	if got := len(rec.Sleeps()); got != 2 {
		t.Errorf("sleeps = %d, want 2", got)
	}
}

func TestRetry5xxOnGet(t *testing.T) {
	s := newStub(t, testAuth,
		&route{method: "GET", path: f1Path, query: av(), status: 503},
		&route{method: "GET", path: f1Path, query: av(), status: 500, resp: `{"error":{"code":"InternalServerError","message":"boom"}}`},
		&route{method: "GET", path: f1Path, query: av(), resp: `{"name":"f1","properties":{"displayName":"ok"}}`},
	)
	c, rec := newTestClient(t, s, func(cfg *Config) { cfg.BaseDelay = 2 * time.Second })
	f, err := c.GetFlow(context.Background(), testEnv, testFlow, GetFlowOptions{})
	if err != nil || f.Properties.DisplayName != "ok" {
		t.Fatalf("GetFlow = %+v, %v", f, err)
	}
	sleeps := rec.Sleeps()
	if len(sleeps) != 2 {
		t.Fatalf("sleeps = %v, want 2", sleeps)
	}
	between(t, "first backoff", sleeps[0], time.Second, 2*time.Second)
	between(t, "second backoff", sleeps[1], 2*time.Second, 4*time.Second)
	if len(rec.pauses) != 0 {
		t.Errorf("paused on 5xx: %v", rec.pauses)
	}
}

func TestRetry5xxHonoursRetryAfter(t *testing.T) {
	s := newStub(t, testAuth,
		&route{method: "PATCH", path: f1Path, query: av(), body: `{"properties":{"displayName":"n"}}`, status: 503, header: map[string]string{"Retry-After": "30"}},
		&route{method: "PATCH", path: f1Path, query: av(), body: `{"properties":{"displayName":"n"}}`, resp: `{"name":"f1","properties":{}}`},
	)
	c, rec := newTestClient(t, s)
	if _, err := c.UpdateFlow(context.Background(), testEnv, testFlow, api.FlowProperties{DisplayName: "n"}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]time.Duration{30 * time.Second}, rec.Sleeps()); diff != "" {
		t.Errorf("sleeps (-want +got):\n%s", diff)
	}
}

func TestRetry5xxGivesUp(t *testing.T) {
	s := newStub(t, testAuth, &route{method: "GET", path: f1Path, query: av(), status: 502, times: 3})
	c, rec := newTestClient(t, s, func(cfg *Config) { cfg.MaxAttempts = 3 })
	_, err := c.GetFlow(context.Background(), testEnv, testFlow, GetFlowOptions{})
	if !errors.Is(err, api.ErrServer) {
		t.Errorf("error = %v, want api.ErrServer", err)
	}
	if want := "get flow f1 in env Default-t1: gave up after 3 attempts: 502 BadGateway: Bad Gateway"; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
	if got := len(rec.Sleeps()); got != 2 {
		t.Errorf("sleeps = %d, want 2", got)
	}
}

func TestNoRetryOn4xx(t *testing.T) {
	tests := []struct {
		name   string
		status int
		resp   string
		want   error
	}{
		{"400", 400, `{"error":{"code":"InvalidOpenApiFlow","message":"Flow save failed with code 'X' and message 'Y'."}}`, api.ErrInvalidRequest},
		{"401", 401, `{"error":{"code":"AuthenticationFailed","message":"no"}}`, api.ErrUnauthorized},
		{"403", 403, `{"error":{"code":"EnvironmentAccessDenied","message":"no"}}`, api.ErrEnvironmentNotFound},
		{"409", 409, ``, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStub(t, testAuth, &route{method: "POST", path: flowsPath, query: av(), body: `{"properties":{"displayName":"D"}}`, status: tt.status, resp: tt.resp})
			c, rec := newTestClient(t, s)
			_, err := c.CreateFlow(context.Background(), testEnv, api.FlowProperties{DisplayName: "D"})
			var ae *api.APIError
			if !errors.As(err, &ae) || ae.Status != tt.status {
				t.Fatalf("error = %v, want an APIError with status %d", err, tt.status)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.want)
			}
			if errors.Is(err, ErrAmbiguousWrite) {
				t.Errorf("a 4xx is not ambiguous: %v", err)
			}
			if len(rec.Sleeps()) != 0 {
				t.Errorf("slept %v", rec.Sleeps())
			}
		})
	}
}

func TestCreateFlow5xxIsAmbiguous(t *testing.T) {
	s := newStub(t, testAuth, &route{method: "POST", path: flowsPath, query: av(), body: `{"properties":{"displayName":"Invoices"}}`, status: 502})
	c, rec := newTestClient(t, s)
	_, err := c.CreateFlow(context.Background(), testEnv, api.FlowProperties{DisplayName: "Invoices"})
	if !errors.Is(err, ErrAmbiguousWrite) || !errors.Is(err, api.ErrServer) {
		t.Fatalf("error = %v, want ErrAmbiguousWrite wrapping the 502", err)
	}
	if want := `create flow "Invoices" in env Default-t1: the write may have been applied (look the flow up by display name "Invoices" before creating it again): 502 BadGateway`; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error = %q, want prefix %q", err, want)
	}
	if len(rec.Sleeps()) != 0 {
		t.Errorf("slept %v", rec.Sleeps())
	}
}

func TestCreateFlow429IsResent(t *testing.T) {
	body := `{"properties":{"displayName":"D"}}`
	s := newStub(t, testAuth,
		&route{method: "POST", path: flowsPath, query: av(), body: body, status: 429, header: map[string]string{"Retry-After": "5"}, resp: gateway429},
		&route{method: "POST", path: flowsPath, query: av(), body: body, status: 201, resp: `{"name":"new","properties":{"displayName":"D"}}`},
	)
	c, rec := newTestClient(t, s)
	f, err := c.CreateFlow(context.Background(), testEnv, api.FlowProperties{DisplayName: "D"})
	if err != nil || f.Name != "new" {
		t.Fatalf("CreateFlow = %+v, %v", f, err)
	}
	if diff := cmp.Diff([]time.Duration{5 * time.Second}, rec.Sleeps()); diff != "" {
		t.Errorf("sleeps (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]bool{true, true}, rec.waits); diff != "" {
		t.Errorf("pacer waits (-want +got):\n%s", diff)
	}
}

func TestResubmit5xxIsAmbiguous(t *testing.T) {
	s := newStub(t, testAuth, &route{method: "POST", path: f1Path + "/triggers/manual/histories/r1/resubmit", query: av(), status: 500})
	c, _ := newTestClient(t, s)
	err := c.ResubmitRun(context.Background(), testEnv, testFlow, "manual", "r1")
	if !errors.Is(err, ErrAmbiguousWrite) {
		t.Errorf("error = %v, want ErrAmbiguousWrite", err)
	}
}

func TestConnectionResetOnGetIsRetried(t *testing.T) {
	s := newStub(t, testAuth)
	s.add(
		&route{method: "GET", path: f1Path + "/permissions", query: av(), handle: hangUp(t)},
		&route{method: "GET", path: f1Path + "/permissions", query: av(), resp: `{"value":[]}`},
	)
	c, rec := newTestClient(t, s)
	if _, err := c.ListPermissions(context.Background(), testEnv, testFlow, false); err != nil {
		t.Fatal(err)
	}
	if got := len(rec.Sleeps()); got != 1 {
		t.Errorf("sleeps = %d, want 1", got)
	}
}

func TestConnectionResetOnCreateIsAmbiguous(t *testing.T) {
	s := newStub(t, testAuth)
	s.add(&route{method: "POST", path: flowsPath, query: av(), body: `{"properties":{"displayName":"D"}}`, handle: hangUp(t)})
	c, rec := newTestClient(t, s)
	_, err := c.CreateFlow(context.Background(), testEnv, api.FlowProperties{DisplayName: "D"})
	if !errors.Is(err, ErrAmbiguousWrite) {
		t.Fatalf("error = %v, want ErrAmbiguousWrite", err)
	}
	if len(rec.Sleeps()) != 0 {
		t.Errorf("slept %v", rec.Sleeps())
	}
}

// TestDialErrorOnCreateIsRetried: nothing was written, so even Create Flow
// may be sent again.
func TestDialErrorOnCreateIsRetried(t *testing.T) {
	s := newStub(t, testAuth, &route{method: "POST", path: flowsPath, query: av(), body: `{"properties":{"displayName":"D"}}`, status: 201, resp: `{"name":"n","properties":{}}`})
	var dials atomic.Int32
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		if dials.Add(1) == 1 {
			return nil, &net.OpError{Op: "dial", Net: network, Err: errors.New("connection refused")}
		}
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	c, rec := newTestClient(t, s, func(cfg *Config) { cfg.HTTPClient = &http.Client{Transport: tr} })
	f, err := c.CreateFlow(context.Background(), testEnv, api.FlowProperties{DisplayName: "D"})
	if err != nil || f.Name != "n" {
		t.Fatalf("CreateFlow = %+v, %v", f, err)
	}
	if got := len(rec.Sleeps()); got != 1 {
		t.Errorf("sleeps = %d, want 1", got)
	}
}

func TestTruncatedBodies(t *testing.T) {
	tests := []struct {
		name   string
		handle func(http.ResponseWriter, *http.Request)
	}{
		{"content-length mismatch", shortBody},
		{"short JSON", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"value":[{"name":`) }},
		{"empty 200", func(w http.ResponseWriter, r *http.Request) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStub(t, testAuth,
				&route{method: "GET", path: paPath + "/apis", query: withQuery("$filter", "environment eq 'Default-t1'"), handle: tt.handle},
				&route{method: "GET", path: paPath + "/apis", query: withQuery("$filter", "environment eq 'Default-t1'"), resp: `{"value":[{"name":"shared_x","properties":{}}]}`},
			)
			c, rec := newTestClient(t, s)
			got, err := c.ListConnectors(context.Background(), testEnv)
			if err != nil || len(got) != 1 {
				t.Fatalf("ListConnectors = %v, %v", got, err)
			}
			if n := len(rec.Sleeps()); n != 1 {
				t.Errorf("sleeps = %d, want 1", n)
			}
		})
	}
}

func TestTruncatedCreateIsAmbiguous(t *testing.T) {
	s := newStub(t, testAuth, &route{method: "POST", path: flowsPath, query: av(), body: `{"properties":{}}`, handle: shortBody})
	c, _ := newTestClient(t, s)
	_, err := c.CreateFlow(context.Background(), testEnv, api.FlowProperties{})
	if !errors.Is(err, ErrAmbiguousWrite) {
		t.Errorf("error = %v, want ErrAmbiguousWrite", err)
	}
}

func TestWrongShapeIsNotRetried(t *testing.T) {
	s := newStub(t, testAuth, &route{method: "GET", path: flowPath + "/environments", query: av(), resp: `{"value":"not a list"}`})
	c, rec := newTestClient(t, s)
	if _, err := c.ListEnvironments(context.Background()); err == nil {
		t.Fatal("want a decode error")
	}
	if len(rec.Sleeps()) != 0 {
		t.Errorf("slept %v", rec.Sleeps())
	}
}

func TestRedirectIsNotFollowed(t *testing.T) {
	s := newStub(t, testAuth, &route{method: "GET", path: f1Path, query: av(), status: 302, header: map[string]string{"Location": "https://collector.example.net/x"}})
	c, _ := newTestClient(t, s)
	_, err := c.GetFlow(context.Background(), testEnv, testFlow, GetFlowOptions{})
	var ae *api.APIError
	if !errors.As(err, &ae) || ae.Status != 302 {
		t.Errorf("error = %v, want an APIError with status 302", err)
	}
}

// TestCancelDuringRetryAfter uses the real sleep: the call must end when ctx
// does, not when the hour-long Retry-After runs out.
func TestCancelDuringRetryAfter(t *testing.T) {
	s := newStub(t, testAuth, &route{method: "GET", path: f1Path, query: av(), status: 429, header: map[string]string{"Retry-After": "3600"}, resp: gateway429})
	rec := &recorder{pauseCh: make(chan time.Time, 1)}
	c, _ := newTestClient(t, s, func(cfg *Config) {
		cfg.Sleep = nil
		cfg.Pacer = rec.pacerFor
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := c.GetFlow(ctx, testEnv, testFlow, GetFlowOptions{})
		done <- err
	}()
	select {
	case <-rec.pauseCh: // the client is about to sleep
	case err := <-done:
		t.Fatalf("call ended before waiting: %v", err)
	}
	cancel()
	// A call that ignores the cancel hangs here until the test binary's
	// -timeout reports it; no wall-clock deadline of our own.
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want context.Canceled", err)
	}
}

func TestCanceledContextSendsNothing(t *testing.T) {
	s := newStub(t, testAuth)
	c, _ := newTestClient(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.CreateFlow(ctx, testEnv, api.FlowProperties{}); !errors.Is(err, context.Canceled) || errors.Is(err, ErrAmbiguousWrite) {
		t.Errorf("error = %v, want context.Canceled and not ambiguous", err)
	}
}

// TestCancelDuringCreateIsAmbiguous: a write cut off by ctx after it was
// sent may still have been applied.
func TestCancelDuringCreateIsAmbiguous(t *testing.T) {
	arrived := make(chan struct{})
	release := make(chan struct{})
	s := newStub(t, testAuth, &route{method: "POST", path: flowsPath, query: av(), body: `{"properties":{}}`, handle: func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-release
	}})
	defer close(release)
	c, _ := newTestClient(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.CreateFlow(ctx, testEnv, api.FlowProperties{})
		done <- err
	}()
	<-arrived
	cancel()
	err := <-done
	if !errors.Is(err, context.Canceled) || !errors.Is(err, ErrAmbiguousWrite) {
		t.Errorf("error = %v, want context.Canceled and ErrAmbiguousWrite", err)
	}
}

func TestTokenErrorSendsNothing(t *testing.T) {
	s := newStub(t, testAuth)
	boom := errors.New("no credential")
	c, _ := newTestClient(t, s, func(cfg *Config) {
		cfg.Tokens = TokenFunc(func(context.Context, string) (string, error) { return "", boom })
	})
	_, err := c.ListEnvironments(context.Background())
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "list environments: get token for https://service.flow.microsoft.com//.default") {
		t.Errorf("error = %v", err)
	}
}

func TestPacerIdentityAndCache(t *testing.T) {
	s := newStub(t, "",
		&route{method: "GET", path: flowPath + "/environments", query: av(), resp: `{"value":[]}`, times: 2},
	)
	c, rec := newTestClient(t, s, func(cfg *Config) { cfg.Tokens = StaticToken("opaque-token") })
	for range 2 {
		if _, err := c.ListEnvironments(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff([]string{"unknown"}, rec.pacerIDs); diff != "" {
		t.Errorf("pacer factory calls (-want +got):\n%s", diff)
	}
}

func TestShouldRetry(t *testing.T) {
	apiErr := func(status int) outcome {
		return outcome{status: status, apiErr: &api.APIError{Status: status}, sent: true}
	}
	netErr := func(sent bool) outcome { return outcome{err: io.ErrUnexpectedEOF, sent: sent} }
	tests := []struct {
		name string
		s    safety
		o    outcome
		want verdict
	}{
		{"429 read", read, apiErr(429), retryThrottled},
		{"429 unsafe", unsafe, apiErr(429), retryThrottled},
		{"500 read", read, apiErr(500), retryBackoff},
		{"503 idempotent", idempotent, apiErr(503), retryBackoff},
		{"502 unsafe", unsafe, apiErr(502), ambiguous},
		{"400 read", read, apiErr(400), giveUp},
		{"404 idempotent", idempotent, apiErr(404), giveUp},
		{"409 unsafe", unsafe, apiErr(409), giveUp},
		{"302", read, apiErr(302), giveUp},
		{"reset read", read, netErr(true), retryBackoff},
		{"reset idempotent", idempotent, netErr(true), retryBackoff},
		{"reset unsafe", unsafe, netErr(true), ambiguous},
		{"dial unsafe", unsafe, netErr(false), retryBackoff},
		{"certificate", read, outcome{err: errors.New("x509"), permanent: true}, giveUp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := shouldRetry(tt.s, tt.o); got != tt.want {
				t.Errorf("shouldRetry = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	c := &Client{baseDelay: time.Second, maxDelay: 60 * time.Second}
	tests := []struct {
		n  int
		hi time.Duration
	}{{1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second}, {7, 60 * time.Second}, {100, 60 * time.Second}}
	for _, tt := range tests {
		for range 50 {
			between(t, fmt.Sprintf("backoff(%d)", tt.n), c.backoff(tt.n), tt.hi/2, tt.hi)
		}
	}
}

func TestUnauthorizedNamesScope(t *testing.T) {
	s := newStub(t, testAuth, &route{method: "GET", path: bapPath + "/scopes/admin/environments", query: av(), status: 401,
		resp: `{"error":{"code":"AuthenticationFailed","message":"Bad audience."}}`})
	c, _ := newTestClient(t, s)
	_, err := c.AdminListEnvironments(context.Background())
	want := "list environments (admin): 401 AuthenticationFailed: Bad audience. (the token for scope https://service.powerapps.com//.default was refused)"
	if err == nil || err.Error() != want || !errors.Is(err, api.ErrUnauthorized) {
		t.Errorf("error = %v, want %q", err, want)
	}
}

func TestConcurrentCalls(t *testing.T) {
	const n = 8
	s := newStub(t, testAuth,
		&route{method: "GET", path: f1Path, query: av(), status: 503, times: n},
		&route{method: "GET", path: f1Path, query: av(), resp: `{"name":"f1","properties":{}}`, times: n},
	)
	// Any goroutine may meet several of the 503s; enough attempts for all.
	c, rec := newTestClient(t, s, func(cfg *Config) { cfg.MaxAttempts = n + 2 })
	errs := make(chan error, n)
	for range n {
		go func() {
			_, err := c.GetFlow(context.Background(), testEnv, testFlow, GetFlowOptions{})
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if diff := cmp.Diff([]string{"user:" + testOID}, rec.pacerIDs); diff != "" {
		t.Errorf("pacer factory calls (-want +got):\n%s", diff)
	}
	if got := len(rec.Sleeps()); got != n {
		t.Errorf("sleeps = %d, want %d", got, n)
	}
}
