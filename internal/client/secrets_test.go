package client

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/flowsync/flowsync/internal/api"
)

// TestNoSecretsInLogsOrErrors drives calls whose URLs, answers and failures
// carry a SAS signature and the bearer token, and checks that neither reaches
// a log line or an error string.
func TestNoSecretsInLogsOrErrors(t *testing.T) {
	b := make([]byte, 12)
	rand.Read(b)
	sig := "FAKEsig" + hex.EncodeToString(b)

	s := newStub(t, testAuth)
	nextLink := s.srv.URL + flowsPath + "?api-version=2016-11-01&$skiptoken=t&sig=" + sig
	s.add(
		&route{method: "POST", path: f1Path + "/triggers/manual/listCallbackUrl", query: av(),
			resp: `{"response":{"value":"https://cb.example/invoke?api-version=1&sp=%2Frun&sv=1.0&sig=` + sig + `"}}`},
		&route{method: "GET", path: f1Path, query: av(), status: 429, header: map[string]string{"Retry-After": "1"},
			resp: `{"error":{"code":"TooManyRequests","message":"slow down for https://cb.example/x?sig=` + sig + `"}}`},
		&route{method: "GET", path: f1Path, query: av(), status: 404,
			resp: `{"error":{"code":"FlowNotFound","message":"no flow at https://cb.example/x?a=1&sig=` + sig + ` for Bearer ` + testToken + `"}}`},
		&route{method: "GET", path: flowsPath, query: av(), resp: `{"value":[],"nextLink":"` + nextLink + `"}`},
		&route{method: "GET", path: flowsPath, anyQuery: true, handle: hangUp(t), times: 2},
	)
	logs := &logBuffer{}
	c, _ := newTestClient(t, s, func(cfg *Config) {
		cfg.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		cfg.MaxAttempts = 2
		// Fresh connections, so that net/http never re-sends the GET itself
		// on a reused one and the request count stays exact.
		cfg.HTTPClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	})
	ctx := context.Background()

	u, err := c.ListCallbackURL(ctx, testEnv, testFlow, "manual")
	if err != nil || !strings.Contains(u, sig) {
		t.Fatalf("ListCallbackURL = %q, %v; the caller gets the real URL", u, err)
	}
	var errs []error
	_, err = c.GetFlow(ctx, testEnv, testFlow, GetFlowOptions{})
	if !errors.Is(err, api.ErrFlowNotFound) {
		t.Fatalf("GetFlow error = %v, want FlowNotFound", err)
	}
	errs = append(errs, err)
	_, err = c.ListFlows(ctx, testEnv, ListFlowsOptions{})
	if err == nil {
		t.Fatal("ListFlows: want an error after the resets")
	}
	errs = append(errs, err)

	out := logs.String()
	for _, want := range []string{`"path":"` + f1Path + `"`, `"api-version":"2016-11-01"`, `"status":429`, `"msg":"retrying"`, `"attempt":2`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
	for _, secret := range []string{sig, testToken, "Authorization", "$skiptoken"} {
		if strings.Contains(out, secret) {
			t.Errorf("log contains %q:\n%s", secret, out)
		}
		for _, e := range errs {
			if strings.Contains(e.Error(), secret) {
				t.Errorf("error contains %q: %v", secret, e)
			}
		}
	}
	if !strings.Contains(errs[0].Error(), "sig=REDACTED") {
		t.Errorf("error = %v, want the redacted message kept", errs[0])
	}
}
