package testgit

import (
	"crypto/subtle"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// HTTPServer serves the bare repositories under root with git's own
// http-backend (smart HTTP; a repository allows pushes once its
// http.receivepack is true) over TLS on loopback, as a Git host does. It
// requires basic auth with password token and user (any non-empty user
// when user is ""). It returns the started server, closed when tb ends,
// the PEM of its certificate, and a count of the requests it refused.
func HTTPServer(tb testing.TB, root, user, token string) (srv *httptest.Server, caPEM []byte, denied *atomic.Int32) {
	tb.Helper()
	execPath := strings.TrimSpace(Run(tb, root, "--exec-path"))
	if _, err := os.Stat(filepath.Join(execPath, "git-http-backend")); err != nil {
		tb.Fatalf("git-http-backend is required for this test and was not found in %s: %v", execPath, err)
	}
	gitPath, err := exec.LookPath("git")
	if err != nil {
		tb.Fatal(err)
	}
	backend := &cgi.Handler{
		Path: gitPath,
		Args: []string{"http-backend"},
		Env: []string{
			"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1",
			"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=" + os.DevNull, "HOME=" + tb.TempDir(),
		},
	}
	denied = &atomic.Int32{}
	srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, pass, ok := r.BasicAuth()
		if !ok || u == "" || (user != "" && u != user) || subtle.ConstantTimeCompare([]byte(pass), []byte(token)) != 1 {
			denied.Add(1)
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		backend.ServeHTTP(w, r)
	}))
	// A client that does not trust the certificate makes the server log a
	// handshake error; tests provoke that on purpose.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	tb.Cleanup(srv.Close)
	return srv, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), denied
}
