package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// countingFetch issues "scope#n" tokens valid for lifetime and counts fetches per scope.
type countingFetch struct {
	clock    *fakeClock
	lifetime time.Duration
	mu       sync.Mutex
	calls    map[string]int
}

func (f *countingFetch) fetch(_ context.Context, scope string, _ bool) (accessToken, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[scope]++
	return accessToken{Token: fmt.Sprintf("%s#%d", scope, f.calls[scope]), ExpiresOn: f.clock.Now().Add(f.lifetime)}, nil
}

func TestSourceCachesUntilFiveMinutesBeforeExpiry(t *testing.T) {
	clock := &fakeClock{now: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
	f := &countingFetch{clock: clock, lifetime: time.Hour}
	s := newSource(MethodSecret, f.fetch, clock.Now, nil)
	ctx := context.Background()
	const flow, apps = "https://service.flow.microsoft.com//.default", "https://service.powerapps.com//.default"

	steps := []struct {
		name    string
		advance time.Duration
		scope   string
		want    string
	}{
		{"first call fetches", 0, flow, flow + "#1"},
		{"second call is cached", 0, flow, flow + "#1"},
		{"another scope fetches its own", 0, apps, apps + "#1"},
		{"54m59s later still cached", 54*time.Minute + 59*time.Second, flow, flow + "#1"},
		{"55m later refreshes", time.Second, flow, flow + "#2"},
		{"refreshed token is cached", time.Minute, flow, flow + "#2"},
		{"other scope refreshes on its own schedule", 0, apps, apps + "#2"},
	}
	for _, st := range steps {
		clock.Advance(st.advance)
		got, err := s.Token(ctx, st.scope)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got != st.want {
			t.Errorf("%s: got %q, want %q", st.name, got, st.want)
		}
	}
	if diff := cmp.Diff(map[string]int{flow: 2, apps: 2}, f.calls); diff != "" {
		t.Errorf("fetches (-want +got):\n%s", diff)
	}
}

func TestSourceShortLivedTokenIsNotReused(t *testing.T) {
	clock := &fakeClock{now: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
	f := &countingFetch{clock: clock, lifetime: 4 * time.Minute}
	s := newSource(MethodSecret, f.fetch, clock.Now, nil)
	for i := 1; i <= 2; i++ {
		got, err := s.Token(context.Background(), "s")
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("s#%d", i); got != want {
			t.Errorf("call %d: got %q, want %q", i, got, want)
		}
	}
}

func TestSourceErrorsAreNotCachedAndRedacted(t *testing.T) {
	const secret = "s3cr3t-value"
	calls := 0
	fetch := func(context.Context, string, bool) (accessToken, error) {
		calls++
		if calls == 1 {
			return accessToken{}, errors.New("AADSTS7000215: invalid secret " + secret)
		}
		return accessToken{Token: "ok", ExpiresOn: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}, nil
	}
	s := newSource(MethodSecret, fetch, func() time.Time { return time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC) }, []string{secret})
	_, err := s.Token(context.Background(), "scope-a")
	if err == nil {
		t.Fatal("first call: no error")
	}
	for _, want := range []string{"scope-a", "auth secret", "AADSTS7000215", redacted} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("error %q contains the secret", err)
	}
	got, err := s.Token(context.Background(), "scope-a")
	if err != nil || got != "ok" {
		t.Errorf("second call = %q, %v; want ok after the failure", got, err)
	}
}

func TestSourceEmptyScope(t *testing.T) {
	s := newSource(MethodSecret, func(context.Context, string, bool) (accessToken, error) {
		t.Error("fetch called for an empty scope")
		return accessToken{}, nil
	}, nil, nil)
	if _, err := s.Token(context.Background(), " "); err == nil {
		t.Error("no error for an empty scope")
	}
}

func TestSourceConcurrentCallersShareOneFetch(t *testing.T) {
	const callers = 8
	started := make(chan struct{})
	release := make(chan struct{})
	var mu sync.Mutex
	fetches := 0
	fetch := func(context.Context, string, bool) (accessToken, error) {
		mu.Lock()
		fetches++
		mu.Unlock()
		close(started) // a second fetch would panic here
		<-release
		return accessToken{Token: "shared", ExpiresOn: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}, nil
	}
	s := newSource(MethodSecret, fetch, func() time.Time { return time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC) }, nil)
	joined := make(chan struct{}, callers)
	s.onJoin = func(string) { joined <- struct{}{} }

	results := make(chan string, callers)
	call := func() {
		tok, err := s.Token(context.Background(), "scope")
		if err != nil {
			tok = "error: " + err.Error()
		}
		results <- tok
	}
	go call()
	<-started
	for range callers - 1 {
		go call()
	}
	for range callers - 1 {
		<-joined
	}
	close(release)
	for range callers {
		if got := <-results; got != "shared" {
			t.Errorf("caller got %q, want shared", got)
		}
	}
	if fetches != 1 {
		t.Errorf("%d fetches, want 1", fetches)
	}
}

func TestSourceWaiterOutlivesCanceledLeader(t *testing.T) {
	started := make(chan struct{}, 2)
	var mu sync.Mutex
	fetches := 0
	fetch := func(ctx context.Context, _ string, _ bool) (accessToken, error) {
		mu.Lock()
		fetches++
		n := fetches
		mu.Unlock()
		started <- struct{}{}
		if n == 1 {
			<-ctx.Done()
			return accessToken{}, ctx.Err()
		}
		return accessToken{Token: "second", ExpiresOn: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}, nil
	}
	s := newSource(MethodSecret, fetch, func() time.Time { return time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC) }, nil)
	joined := make(chan struct{}, 1)
	s.onJoin = func(string) { joined <- struct{}{} }

	leaderCtx, cancel := context.WithCancel(context.Background())
	leaderErr := make(chan error, 1)
	go func() {
		_, err := s.Token(leaderCtx, "scope")
		leaderErr <- err
	}()
	<-started
	waiter := make(chan string, 1)
	go func() {
		tok, err := s.Token(context.Background(), "scope")
		if err != nil {
			tok = "error: " + err.Error()
		}
		waiter <- tok
	}()
	<-joined
	cancel()
	if err := <-leaderErr; !errors.Is(err, context.Canceled) {
		t.Errorf("leader error = %v, want context.Canceled", err)
	}
	if got := <-waiter; got != "second" {
		t.Errorf("waiter got %q, want the token of its own fetch", got)
	}
}

func TestSourceWaiterCanceled(t *testing.T) {
	started := make(chan struct{})
	release := make(chan struct{})
	fetch := func(context.Context, string, bool) (accessToken, error) {
		close(started)
		<-release
		return accessToken{Token: "late", ExpiresOn: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}, nil
	}
	s := newSource(MethodSecret, fetch, func() time.Time { return time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC) }, nil)
	joined := make(chan struct{}, 1)
	s.onJoin = func(string) { joined <- struct{}{} }
	leader := make(chan string, 1)
	go func() {
		tok, _ := s.Token(context.Background(), "scope")
		leader <- tok
	}()
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	waitErr := make(chan error, 1)
	go func() {
		_, err := s.Token(ctx, "scope")
		waitErr <- err
	}()
	<-joined
	cancel()
	if err := <-waitErr; !errors.Is(err, context.Canceled) {
		t.Errorf("waiter error = %v, want context.Canceled", err)
	}
	close(release)
	if got := <-leader; got != "late" {
		t.Errorf("leader got %q, want late", got)
	}
}

func TestResolveAuthorityHost(t *testing.T) {
	tests := []struct {
		name        string
		host        string
		env         string
		wantHost    string
		wantDisable bool
		wantErr     string
	}{
		{"none", "", "", "", false, ""},
		{"public cloud keeps discovery", AuthorityPublic, "", AuthorityPublic, false, ""},
		{"bare US Government host", "login.microsoftonline.us", "", AuthorityUSGovernment, false, ""},
		{"from AZURE_AUTHORITY_HOST", "", "https://login.chinacloudapi.cn", AuthorityChina, false, ""},
		{"emulator turns discovery off", "https://127.0.0.1:8443", "", "https://127.0.0.1:8443/", true, ""},
		{"private cloud turns discovery off", "https://login.example.test/", "", "https://login.example.test/", true, ""},
		{"http refused", "http://127.0.0.1:8080", "", "", false, "must use https"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := resolve(Options{Method: MethodSecret, AuthorityHost: tt.host, Getenv: func(k string) string {
				if k == EnvAuthorityHost {
					return tt.env
				}
				return ""
			}})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if o.AuthorityHost != tt.wantHost || o.DisableInstanceDiscovery != tt.wantDisable {
				t.Errorf("got %q, disable=%t; want %q, disable=%t", o.AuthorityHost, o.DisableInstanceDiscovery, tt.wantHost, tt.wantDisable)
			}
		})
	}
}

// freshRecorder issues "scope#n" tokens and records, per fetch, whether it
// was asked to bypass the credential's cache. same, when set, makes every
// fetch hand back that token instead (a credential that cannot refresh).
type freshRecorder struct {
	mu    sync.Mutex
	n     int
	fresh []bool
	same  string
}

func (f *freshRecorder) fetch(_ context.Context, scope string, fresh bool) (accessToken, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	f.fresh = append(f.fresh, fresh)
	tok := fmt.Sprintf("%s#%d", scope, f.n)
	if f.same != "" {
		tok = f.same
	}
	return accessToken{Token: tok, ExpiresOn: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}, nil
}

func TestSourceInvalidateToken(t *testing.T) {
	f := &freshRecorder{}
	s := newSource(MethodSecret, f.fetch, func() time.Time { return time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC) }, nil)
	var _ TokenInvalidator = s
	ctx := context.Background()
	steps := []struct {
		name       string
		invalidate string // token to invalidate for "a" before the call
		scope      string
		want       string
	}{
		{"first call fetches", "", "a", "a#1"},
		{"cached", "", "a", "a#1"},
		{"other scope", "", "b", "b#2"},
		{"refused token is dropped and a fresh one fetched", "a#1", "a", "a#3"},
		{"the fresh token is cached", "", "a", "a#3"},
		{"a late refusal of the old token keeps the newer one", "a#1", "a", "a#3"},
		{"the other scope keeps its token", "", "b", "b#2"},
		{"a refusal of the current token fetches again", "a#3", "a", "a#4"},
	}
	for _, st := range steps {
		if st.invalidate != "" {
			s.InvalidateToken("a", st.invalidate)
		}
		got, err := s.Token(ctx, st.scope)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got != st.want {
			t.Errorf("%s: got %q, want %q", st.name, got, st.want)
		}
	}
	// Only the fetches after a refusal bypass the credential's cache.
	if diff := cmp.Diff([]bool{false, false, true, true}, f.fresh); diff != "" {
		t.Errorf("fresh per fetch (-want +got):\n%s", diff)
	}
}

func TestSourceRefusedTokenComesBack(t *testing.T) {
	f := &freshRecorder{same: "stuck-token-value"}
	s := newSource(MethodAzureCLI, f.fetch, func() time.Time { return time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC) }, nil)
	s.stale = func(scope string) string { return "sign in again for " + scope }
	ctx := context.Background()
	if _, err := s.Token(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	s.InvalidateToken("a", "stuck-token-value")
	for i := range 2 {
		_, err := s.Token(ctx, "a")
		if !errors.Is(err, ErrNotRefreshable) {
			t.Fatalf("call %d after the refusal: error %v, want ErrNotRefreshable", i+1, err)
		}
		for _, want := range []string{"sign in again for a", "auth azcli", "get token for a"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not name %q", err, want)
			}
		}
		if strings.Contains(err.Error(), "stuck-token-value") {
			t.Errorf("error %q contains the token", err)
		}
	}
	// Once the credential has a new token, it is used and the refusal forgotten.
	f.mu.Lock()
	f.same = ""
	f.mu.Unlock()
	got, err := s.Token(ctx, "a")
	if err != nil || got != "a#4" {
		t.Fatalf("after the credential refreshed: %q, %v; want a#4", got, err)
	}
	if diff := cmp.Diff([]bool{false, true, true, true}, f.fresh); diff != "" {
		t.Errorf("fresh per fetch (-want +got):\n%s", diff)
	}
}

// A refusal that arrives while an ordinary fetch is under way: that fetch
// may bring back the refused token from the credential's cache, which must
// not reach the callers; a fresh fetch follows at once.
func TestSourceRefusalDuringFetch(t *testing.T) {
	started := make(chan struct{})
	release := make(chan struct{})
	var fresh []bool
	fetch := func(_ context.Context, _ string, f bool) (accessToken, error) {
		fresh = append(fresh, f) // fetches of one scope never overlap
		if !f {
			close(started)
			<-release
			return accessToken{Token: "old", ExpiresOn: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}, nil
		}
		return accessToken{Token: "new", ExpiresOn: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}, nil
	}
	s := newSource(MethodSecret, fetch, func() time.Time { return time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC) }, nil)
	got := make(chan string, 1)
	go func() {
		tok, err := s.Token(context.Background(), "a")
		if err != nil {
			tok = "error: " + err.Error()
		}
		got <- tok
	}()
	<-started
	s.InvalidateToken("a", "old")
	close(release)
	if tok := <-got; tok != "new" {
		t.Errorf("got %q, want the fresh token", tok)
	}
	if diff := cmp.Diff([]bool{false, true}, fresh); diff != "" {
		t.Errorf("fresh per fetch (-want +got):\n%s", diff)
	}
}

// TestTokenErrorsRedactEveryKind: whatever a token endpoint or library puts
// into a sign-in error (the client secret, a token it echoes, a sig= URL, a
// URL with a password) is redacted on the way out of the token source.
func TestTokenErrorsRedactEveryKind(t *testing.T) {
	const clientSecret = "FAKE~client.secret_0123"
	token := "eyJhbGciOiJub25lIn0" + "." + "eyJvaWQiOiJ4In0" + ".FAKEsig" // not a real token
	tests := []struct {
		name, echo, secret string
	}{
		{"client secret", "AADSTS7000215: Invalid client secret provided: " + clientSecret, clientSecret},
		{"client secret percent-encoded", "POST body client_secret=" + strings.ReplaceAll(clientSecret, "~", "%7E"), clientSecret},
		{"bearer token", "request had Authorization: Bearer " + token, token},
		{"jwt", "assertion " + token + " rejected", token},
		{"sig= URL", "GET https://h.example/x?sv=1&sig=FAKEsig%2Bzz%3D failed", "FAKEsig%2Bzz%3D"},
		{"basic-auth URL", "proxy https://someone:FAKEpass@proxy.example:8080 refused", "FAKEpass"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fetch := func(context.Context, string, bool) (accessToken, error) {
				return accessToken{}, fmt.Errorf("azidentity: %s", tt.echo)
			}
			s := newSource(MethodSecret, fetch, func() time.Time { return time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC) }, []string{clientSecret})
			_, err := s.Token(context.Background(), "scope-a")
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), tt.secret) || !strings.Contains(err.Error(), redacted) {
				t.Errorf("error %q shows %q or no placeholder", err, tt.secret)
			}
		})
	}
}
