package cli

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// testKey makes a fresh ed25519 key; with a passphrase, its file is
// encrypted.
func testKey(t *testing.T, passphrase string) (file string, pub ssh.PublicKey, priv ed25519.PrivateKey) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var block *pem.Block
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(priv, "test key")
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(priv, "test key", []byte(passphrase))
	}
	if err != nil {
		t.Fatal(err)
	}
	file = filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(file, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return file, s.PublicKey(), priv
}

func TestGitAuthTokenAndCA(t *testing.T) {
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, []byte("-----BEGIN CERTIFICATE-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	token := "FAKE-token-for-test"
	a, done, err := gitAuth(gitCredentials{Getenv: envMap(map[string]string{gitTokenEnv: token}), CABundle: ca})
	if err != nil {
		t.Fatal(err)
	}
	done()
	if a.Token != token || a.TokenSource != gitTokenEnv {
		t.Errorf("token %q from %q, want the value of %s", a.Token, a.TokenSource, gitTokenEnv)
	}
	if !bytes.HasPrefix(a.CABundle, []byte("-----BEGIN CERTIFICATE-----")) {
		t.Errorf("CA bundle %q not read from %s", a.CABundle, ca)
	}

	missing := filepath.Join(t.TempDir(), "absent.pem")
	_, _, err = gitAuth(gitCredentials{Getenv: envMap(nil), CABundle: missing})
	if err == nil || !strings.Contains(err.Error(), "--git-ca-cert") || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing CA file: %v, want an error naming the flag and the file", err)
	}
}

func TestGitAuthKnownHosts(t *testing.T) {
	home := func() (string, error) { return "/home/someone", nil }
	noHome := func() (string, error) { return "", errors.New("no home") }
	tests := []struct {
		name string
		flag []string
		env  map[string]string
		home func() (string, error)
		want []string
	}{
		{"flag wins", []string{"/a", "/b"}, map[string]string{"SSH_KNOWN_HOSTS": "/env"}, home, []string{"/a", "/b"}},
		{"variable is a path list", nil, map[string]string{"SSH_KNOWN_HOSTS": "/x" + string(filepath.ListSeparator) + "/y"}, home, []string{"/x", "/y"}},
		{"home default", nil, nil, home, []string{filepath.Join("/home/someone", ".ssh", "known_hosts")}},
		{"nothing", nil, nil, noHome, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, done, err := gitAuth(gitCredentials{Getenv: envMap(tt.env), HomeDir: tt.home, KnownHosts: tt.flag})
			if err != nil {
				t.Fatal(err)
			}
			defer done()
			if diff := cmp.Diff(tt.want, a.KnownHostsFiles); diff != "" {
				t.Errorf("known_hosts files (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGitAuthKeyFile(t *testing.T) {
	file, pub, _ := testKey(t, "")
	a, done, err := gitAuth(gitCredentials{Getenv: envMap(nil), SSHKey: file})
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	keys, err := a.SSHKeys()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || !bytes.Equal(keys[0].PublicKey().Marshal(), pub.Marshal()) {
		t.Errorf("keys %v, want the one in %s", keys, file)
	}

	encrypted, _, _ := testKey(t, "FAKE-passphrase")
	missing := filepath.Join(t.TempDir(), "no-such-key")
	for _, tc := range []struct {
		name, file string
		want       []string
	}{
		{"missing file", missing, []string{missing}},
		{"not a key", writeTemp(t, "not a key"), []string{"ssh key", "not-a-key"}},
		{"passphrase", encrypted, []string{encrypted, "passphrase", "ssh-add"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, done, err := gitAuth(gitCredentials{Getenv: envMap(map[string]string{"SSH_AUTH_SOCK": "/unused"}), SSHKey: tc.file})
			if err != nil {
				t.Fatal(err) // keys are read only when needed
			}
			defer done()
			_, err = a.SSHKeys()
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func writeTemp(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "not-a-key")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestGitAuthAgent: without --ssh-key the keys come from the ssh-agent that
// SSH_AUTH_SOCK names (a real agent protocol server on a unix socket here),
// and the connection is closed afterwards.
func TestGitAuthAgent(t *testing.T) {
	_, pub, priv := testKey(t, "")
	keyring := agent.NewKeyring()
	if err := keyring.Add(agent.AddedKey{PrivateKey: priv}); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var served sync.WaitGroup
	served.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			served.Go(func() {
				agent.ServeAgent(keyring, c) // returns when the client closes
				c.Close()
			})
		}
	})
	t.Cleanup(func() { ln.Close(); served.Wait() })

	a, done, err := gitAuth(gitCredentials{Getenv: envMap(map[string]string{"SSH_AUTH_SOCK": sock})})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := a.SSHKeys()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || !bytes.Equal(keys[0].PublicKey().Marshal(), pub.Marshal()) {
		t.Errorf("agent keys %v, want the one added", keys)
	}
	// The agent signs for the key: what the SSH handshake will ask.
	sig, err := keys[0].Sign(rand.Reader, []byte("data"))
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Verify([]byte("data"), sig); err != nil {
		t.Errorf("agent signature does not verify: %v", err)
	}
	done()

	// done closed the connection, or the cleanup's wait for the server
	// would not return.

	a, done, err = gitAuth(gitCredentials{Getenv: envMap(nil)})
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	if _, err := a.SSHKeys(); err == nil || !strings.Contains(err.Error(), "SSH_AUTH_SOCK is unset") {
		t.Errorf("no key and no agent: %v", err)
	}
}

// TestExportPushNeverShowsTheToken: `export --push` to an https remote whose
// server (or proxy) refuses and echoes the request's Authorization header
// keeps the commit and says the push failed, without the token from
// FLOWSYNC_GIT_TOKEN in any form on either output.
func TestExportPushNeverShowsTheToken(t *testing.T) {
	inst, env := startEmulator(t)
	token := "FAKE-git-token-" + strings.Repeat("z", 12) // not a real credential
	env[gitTokenEnv] = token
	var echoed atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		echoed.Add(1)
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, "denied; you sent Authorization: %s\n", r.Header.Get("Authorization"))
	}))
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "backup")
	code, out, stderr := run(t, env, "--api-url", inst.URL, "--auth", "token", "--rate-limit", "1000/1s",
		"export", "--repo", dir, "--env", "Contoso Prod", "--push", "--remote", srv.URL+"/flows.git", "--git-ca-cert", ca)
	if code != ExitFailure {
		t.Fatalf("exit %d, want %d\n%s%s", code, ExitFailure, out, stderr)
	}
	if echoed.Load() == 0 {
		t.Fatalf("the server was never asked; the test proves nothing:\n%s", stderr)
	}
	t.Logf("stderr: %s", stderr)
	if !strings.Contains(stderr, "push failed") || !strings.Contains(stderr, "denied") || !strings.Contains(stderr, gitTokenEnv) {
		t.Errorf("stderr does not say the push failed, quote the server and name %s:\n%s", gitTokenEnv, stderr)
	}
	for _, s := range []string{token, "x-access-token:" + token} {
		for _, form := range []string{s, base64.StdEncoding.EncodeToString([]byte(s)), base64.RawStdEncoding.EncodeToString([]byte(s))} {
			if strings.Contains(stderr, form) || strings.Contains(out, form) {
				t.Errorf("output reveals %q", form)
			}
		}
	}
}
