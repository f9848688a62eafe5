package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/flowsync/flowsync/internal/emulator/seed"
	"github.com/flowsync/flowsync/internal/token"
)

// TestEmulatorTokenTTL: --ttl sets the token's lifetime from the wall
// clock; a negative one gives a token the emulator refuses as expired, and
// --audience graph a token for principal lookups.
func TestEmulatorTokenTTL(t *testing.T) {
	inst, _ := startEmulator(t)
	// The token's expiry is bracketed by the wall clock read before and after
	// the command, so the check holds however slow the machine is.
	before := time.Now().Truncate(time.Second)
	code, out, stderr := run(t, nil, "emulator", "token", "--url", inst.URL, "--ttl", "-1h", "--audience", "graph")
	after := time.Now()
	if code != 0 {
		t.Fatalf("token --ttl -1h: exit %d: %s", code, stderr)
	}
	expired := strings.TrimSpace(out)
	claims, err := token.Parse(expired)
	if err != nil {
		t.Fatal(err)
	}
	if claims.Audience != tokenAudiences["graph"] || claims.ObjectID != string(seed.DemoAdmin) {
		t.Errorf("claims %+v: want the admin and the Graph audience", claims)
	}
	if exp := time.Unix(claims.Expires, 0); exp.Before(before.Add(-time.Hour)) || exp.After(after.Add(-time.Hour)) {
		t.Errorf("exp %v: want an hour before the command ran (between %v and %v)", exp, before, after)
	}
	code, out, stderr = run(t, nil, "emulator", "token", "--url", inst.URL, "--ttl", "2h")
	if code != 0 {
		t.Fatalf("token --ttl 2h: exit %d: %s", code, stderr)
	}
	claims, err = token.Parse(strings.TrimSpace(out))
	if err != nil {
		t.Fatal(err)
	}
	if got := time.Duration(claims.Expires-claims.IssuedAt) * time.Second; got != 2*time.Hour {
		t.Errorf("lifetime %v, want 2h", got)
	}
	code, out, stderr = run(t, nil, "emulator", "token", "--url", inst.URL, "--audience", "any")
	if code != 0 {
		t.Fatalf("token --audience any: exit %d: %s", code, stderr)
	}
	if claims, err = token.Parse(strings.TrimSpace(out)); err != nil || claims.Audience != "" {
		t.Errorf("--audience any: claims %+v, %v; want no audience", claims, err)
	}
	// An expired Flow token is refused as expired.
	code, out, stderr = run(t, nil, "emulator", "token", "--url", inst.URL, "--ttl", "-10m")
	if code != 0 {
		t.Fatalf("token --ttl -10m: exit %d: %s", code, stderr)
	}
	expired = strings.TrimSpace(out)
	env := map[string]string{"FLOWSYNC_TOKEN": expired, "FLOWSYNC_CACHE_DIR": t.TempDir()}
	code, _, stderr = run(t, env, "--api-url", inst.URL, "--auth", "token", "--rate-limit", "1000/1s", "envs")
	if code == 0 || !strings.Contains(stderr, "ExpiredAuthenticationToken") {
		t.Errorf("envs with an expired token: exit %d, want a failure naming ExpiredAuthenticationToken: %s", code, stderr)
	}
	if strings.Contains(stderr, expired) {
		t.Error("the error output carries the token")
	}
}
