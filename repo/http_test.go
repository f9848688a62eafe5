package repo

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/flowsync/flowsync/internal/redact"
	"github.com/flowsync/flowsync/internal/testgit"
)

func TestPushHTTPSWithToken(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	bare := filepath.Join(root, "flows.git")
	testgit.Run(t, root, "init", "-q", "--bare", "-b", "main", bare)
	testgit.Run(t, bare, "config", "http.receivepack", "true")

	token := "test-token-" + randomToken() // generated per run; not a real credential
	srv, caPEM, denied := testgit.HTTPServer(t, root, "x-access-token", token)
	remoteURL := srv.URL + "/flows.git"
	const tokenSource = "TEST_GIT_TOKEN" // named in hints; the CLI passes FLOWSYNC_GIT_TOKEN

	dir := t.TempDir()
	r := openRepo(t, dir, OpenOptions{})
	_, res := buildAndCommit(t, r, nil, map[string]string{"envs/e/f.json": `{"x":1}`}, "export")

	t.Run("right token", func(t *testing.T) {
		pr, err := r.Push(ctx, PushOptions{Remote: remoteURL, Branch: "main", Auth: Auth{Token: token, TokenSource: tokenSource, CABundle: caPEM}})
		if err != nil {
			t.Fatal(err)
		}
		if pr.Remote != remoteURL || pr.Commit != res.Commit {
			t.Errorf("push result %+v", pr)
		}
		if got := strings.TrimSpace(testgit.Run(t, bare, "rev-parse", "main")); got != res.Commit.String() {
			t.Errorf("remote main = %s, want %s", got, res.Commit)
		}
		testgit.FsckStrict(t, bare)
	})

	t.Run("wrong token", func(t *testing.T) {
		_, res := buildAndCommit(t, r, nil, map[string]string{"envs/e/g.json": "[]"}, "export 2")
		wrong := "wrong-" + token
		before := denied.Load()
		_, err := r.Push(ctx, PushOptions{Remote: remoteURL, Branch: "main", Auth: Auth{Token: wrong, TokenSource: tokenSource, CABundle: caPEM}})
		if !errors.Is(err, ErrAuth) {
			t.Fatalf("push = %v, want ErrAuth", err)
		}
		if denied.Load() == before {
			t.Error("server saw no denied request")
		}
		msg := err.Error()
		t.Logf("error shown: %s", msg)
		for _, secret := range []string{wrong, token, "x-access-token:", "@127.0.0.1"} {
			if strings.Contains(msg, secret) {
				t.Errorf("error %q reveals %q", msg, secret)
			}
		}
		for _, want := range []string{remoteURL, "branch main", tokenSource, short(res.Commit)} {
			if !strings.Contains(msg, want) {
				t.Errorf("error %q does not mention %q", msg, want)
			}
		}
	})

	t.Run("credentials in the URL are stripped from output", func(t *testing.T) {
		urlSecret := "url-secret-" + randomToken()
		withCreds := strings.Replace(srv.URL, "https://", "https://someone:"+urlSecret+"@", 1) + "/flows.git"
		pr, err := r.Push(ctx, PushOptions{Remote: withCreds, Branch: "main", Auth: Auth{Token: token, TokenSource: tokenSource, CABundle: caPEM}})
		if err != nil {
			t.Fatal(err)
		}
		if pr.Remote != remoteURL {
			t.Errorf("reported remote %q, want %q", pr.Remote, remoteURL)
		}
		cfg, err := os.ReadFile(filepath.Join(dir, ".git", "config"))
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{token, urlSecret, "127.0.0.1"} {
			if strings.Contains(string(cfg), secret) {
				t.Errorf(".git/config contains %q:\n%s", secret, cfg)
			}
		}
	})

	t.Run("remote moves during push", func(t *testing.T) {
		// Over HTTP go-git computes what to send by walking the remote's
		// history in the local store, so the retry must see the fetched pack.
		auth := Auth{Token: token, TokenSource: tokenSource, CABundle: caPEM}
		other := filepath.Join(t.TempDir(), "other")
		testgit.Run(t, filepath.Dir(other), "clone", "-q", bare, other)
		b, _ := buildAndCommit(t, r, []string{"envs/mine"}, map[string]string{"envs/mine/1.json": "m"}, "mine")
		moved := false
		r.beforePush = func() {
			if moved {
				return
			}
			moved = true
			writeFile(t, filepath.Join(other, "envs/theirs/1.json"), "t")
			testgit.Run(t, other, "add", "-A")
			testgit.Run(t, other, "commit", "-q", "-m", "theirs")
			testgit.Run(t, other, "push", "-q", "origin", "main")
		}
		defer func() { r.beforePush = nil }()
		pr, err := r.Push(ctx, PushOptions{Remote: remoteURL, Branch: "main", Auth: auth, Rebuild: b.Rebuilder(commitOpts("mine"))})
		if err != nil {
			t.Fatal(err)
		}
		if pr.Attempts != 2 || pr.Rebuilds != 1 {
			t.Errorf("attempts %d, rebuilds %d; want 2 and 1", pr.Attempts, pr.Rebuilds)
		}
		if got := testgit.Run(t, bare, "log", "-2", "--format=%s", "main"); got != "mine\ntheirs\n" {
			t.Errorf("remote log = %q", got)
		}
		testgit.FsckStrict(t, bare)
	})

	t.Run("untrusted certificate is refused", func(t *testing.T) {
		buildAndCommit(t, r, nil, map[string]string{"envs/e/h.json": "[]"}, "export 3")
		_, err := r.Push(ctx, PushOptions{Remote: remoteURL, Branch: "main", Auth: Auth{Token: token, TokenSource: tokenSource}})
		if !errors.Is(err, ErrRemoteUnreachable) {
			t.Fatalf("push without the CA = %v, want ErrRemoteUnreachable", err)
		}
		t.Logf("error shown: %v", err)
		if strings.Contains(err.Error(), token) {
			t.Errorf("error reveals the token: %v", err)
		}
	})
}

// TestPushErrorRedactsWhatTheRemoteEchoes: a server or proxy that echoes the
// request's headers in its error body must not put the token on the screen,
// in any encoding; its control characters must not reach the terminal.
func TestPushErrorRedactsWhatTheRemoteEchoes(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	bare := filepath.Join(root, "flows.git")
	testgit.Run(t, root, "init", "-q", "--bare", "-b", "main", bare)
	testgit.Run(t, bare, "config", "http.receivepack", "true")

	token := "test-token-" + randomToken() // generated per run; not a real credential
	srv, caPEM, _ := testgit.HTTPServer(t, root, "x-access-token", token)
	backend := srv.Config.Handler
	var echoed atomic.Int32
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("service") != "git-receive-pack" {
			backend.ServeHTTP(w, r) // reads work, so the push gets as far as sending
			return
		}
		echoed.Add(1)
		_, pass, _ := r.BasicAuth()
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, "\x1b[31mproxy denied\x1b[0m\r\nrequest headers:\r\nAuthorization: %s\r\n", r.Header.Get("Authorization"))
		fmt.Fprintf(w, "X-Echo: %s\n", strings.TrimPrefix(r.Header.Get("Authorization"), "Basic "))
		fmt.Fprintf(w, "password seen: %s (%s)\n", pass, base64.StdEncoding.EncodeToString([]byte(pass)))
		fmt.Fprintf(w, "retry at https://x-access-token:%s@proxy.example/flows.git or https://proxy.example/x?sig=%s\n", pass, pass)
		fmt.Fprintf(w, "forward header: Bearer %s\u202e\n", pass)
	})
	remoteURL := srv.URL + "/flows.git"

	for _, tc := range []struct {
		name, remote string
		auth         Auth
		secrets      []string
	}{
		{"token", remoteURL, Auth{Token: token, CABundle: caPEM}, []string{token, "x-access-token:" + token}},
		{"token as the password in the URL", strings.Replace(remoteURL, "https://", "https://x-access-token:"+token+"@", 1), Auth{CABundle: caPEM}, []string{token, "x-access-token:" + token}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := openRepo(t, t.TempDir(), OpenOptions{Bare: true})
			_, res := buildAndCommit(t, r, nil, map[string]string{"envs/e/f.json": "{}"}, "export")
			before := echoed.Load()
			_, err := r.Push(ctx, PushOptions{Remote: tc.remote, Branch: "main", Auth: tc.auth})
			if err == nil {
				t.Fatal("push through the echoing proxy succeeded")
			}
			if echoed.Load() == before {
				t.Fatalf("the proxy echoed nothing; the test proves nothing: %v", err)
			}
			if !errors.Is(err, ErrAuth) {
				t.Errorf("push = %v, want ErrAuth", err)
			}
			msg := err.Error()
			t.Logf("error shown: %s", msg)
			for _, s := range tc.secrets {
				for _, form := range []string{s, base64.StdEncoding.EncodeToString([]byte(s)), base64.RawStdEncoding.EncodeToString([]byte(s))} {
					if strings.Contains(msg, form) {
						t.Errorf("error reveals %q:\n%s", form, msg)
					}
				}
			}
			if strings.ContainsAny(msg, "\x1b\r\n\u202e") {
				t.Errorf("error carries control characters: %q", msg)
			}
			for _, want := range []string{"proxy denied", remoteURL, "branch main", short(res.Commit), redact.Placeholder} {
				if !strings.Contains(msg, want) {
					t.Errorf("error does not mention %q:\n%s", want, msg)
				}
			}
		})
	}
}

// TestPushRefusesTokenOverPlainHTTP: a token (or a password in the URL) is
// never sent over plain http to another machine; the push fails before any
// connection, naming https. The context is cancelled, so a push that did try
// to connect would fail on that instead, without leaving this machine.
func TestPushRefusesTokenOverPlainHTTP(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := openRepo(t, t.TempDir(), OpenOptions{})
	buildAndCommit(t, r, nil, map[string]string{"envs/e/f.json": `{"x":1}`}, "export")
	token := "test-token-" + randomToken() // generated per run; not a real credential
	for _, tc := range []struct {
		name, url string
		auth      Auth
	}{
		{"token", "http://git.example.invalid/flows.git", Auth{Token: token, TokenSource: "TEST_GIT_TOKEN"}},
		{"password in the URL", "http://user:" + token + "@192.0.2.1/flows.git", Auth{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := r.Push(ctx, PushOptions{Remote: tc.url, Branch: "main", Auth: tc.auth})
			if err == nil || !strings.Contains(err.Error(), "plain http") || !strings.Contains(err.Error(), "https") {
				t.Fatalf("push = %v, want a refusal naming plain http and https", err)
			}
			if strings.Contains(err.Error(), token) {
				t.Errorf("the error shows the token: %v", err)
			}
		})
	}
	for _, host := range []string{"localhost", "127.0.0.1", "[::1]"} {
		if !loopbackHost(strings.Trim(host, "[]")) {
			t.Errorf("loopbackHost(%q) = false; loopback http stays allowed", host)
		}
	}
	if loopbackHost("192.0.2.1") || loopbackHost("example.com") {
		t.Error("loopbackHost says yes to another machine")
	}
}
