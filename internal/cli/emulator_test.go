package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowsync/flowsync/internal/api"
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

// TestLoadFlowsEnvByDisplayName: --load-env takes a display name as every
// --env does; a seed environment is filled, no look-alike is made, and only
// an unknown value names a new environment.
func TestLoadFlowsEnvByDisplayName(t *testing.T) {
	file := filepath.Join(t.TempDir(), "flow.json")
	flow := `{"name":"11111111-2222-4333-8444-555555555555","properties":{"displayName":"Loaded","state":"Started",` +
		`"definition":{"$schema":"https://schema.management.azure.com/providers/Microsoft.Logic/schemas/2016-06-01/workflowdefinition.json#",` +
		`"contentVersion":"1.0.0.0","parameters":{},"triggers":{"manual":{"type":"Request","kind":"Button","inputs":{"schema":{}}}},` +
		`"actions":{"Compose":{"type":"Compose","inputs":"hi","runAfter":{}}}},"connectionReferences":{}}}`
	if err := os.WriteFile(file, []byte(flow), 0o600); err != nil {
		t.Fatal(err)
	}
	base := seed.Demo()
	var dev api.EnvName
	for _, e := range base.Environments {
		if e.DisplayName == "Contoso Dev" {
			dev = e.Name
		}
	}
	if dev == "" {
		t.Fatal("the demo seed has no Contoso Dev")
	}
	for _, tc := range []struct {
		name, env string
		want      api.EnvName
		newEnv    bool
	}{
		{"display name", "Contoso Dev", dev, false},
		{"display name, other case", "contoso dev", dev, false},
		{"environment name", string(dev), dev, false},
		{"unknown: a new environment", "9b1d2e3f-0000-4000-8000-00000000abcd", "9b1d2e3f-0000-4000-8000-00000000abcd", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			snap, err := loadFlows(base, []string{file}, tc.env)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := len(snap.Environments), len(base.Environments)+map[bool]int{false: 0, true: 1}[tc.newEnv]; got != want {
				t.Errorf("%d environments after the load, want %d", got, want)
			}
			if got, want := len(snap.Flows), len(base.Flows)+1; got != want {
				t.Fatalf("%d flows after the load, want %d", got, want)
			}
			added := snap.Flows[len(snap.Flows)-1]
			if added.Environment != tc.want {
				t.Errorf("flow loaded into %q, want %q", added.Environment, tc.want)
			}
		})
	}
	twice := seed.Demo()
	twice.Environments = append(twice.Environments, twice.Environments[0])
	twice.Environments[len(twice.Environments)-1].Name = "0c0c0c0c-0000-4000-8000-000000000001"
	if _, err := loadFlows(twice, []string{file}, twice.Environments[0].DisplayName); err == nil || !strings.Contains(err.Error(), "give the environment name") {
		t.Errorf("an ambiguous display name: err = %v, want one asking for the environment name", err)
	}
}
