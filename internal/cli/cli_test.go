package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/emulator/embedded"
	"github.com/flowsync/flowsync/internal/emulator/seed"
	"github.com/flowsync/flowsync/internal/testgit"
	"github.com/flowsync/flowsync/internal/token"
)

// run calls Main in-process with the given environment and returns the exit
// code and what it printed.
func run(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	getenv := func(k string) string { return env[k] }
	code := Main(context.Background(), append([]string{"flowsync"}, args...), IO{In: strings.NewReader(""), Out: &out, Err: &errOut, Getenv: getenv})
	return code, out.String(), errOut.String()
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"unknown flag", []string{"--bogus", "envs"}, "bogus"},
		{"bad output", []string{"--output", "xml", "envs"}, "--output"},
		{"bad cloud", []string{"--cloud", "mars", "envs"}, "--cloud"},
		{"bad rate limit", []string{"--rate-limit", "5per60", "envs"}, "--rate-limit"},
		{"bad write limit", []string{"--write-limit", "0/1s", "envs"}, "--write-limit"},
		{"rate limit window under a millisecond", []string{"--rate-limit", "5/500us", "envs"}, "--rate-limit"},
		{"write limit window under a millisecond", []string{"--write-limit", "300/10ns", "envs"}, "--write-limit"},
		{"bad auth", []string{"--auth", "password", "envs"}, "--auth"},
		{"bad api url", []string{"--api-url", "not a url", "envs"}, "--api-url"},
		{"verbose and quiet", []string{"--verbose", "--quiet", "envs"}, "exclude"},
		{"export without repo", []string{"export", "--env", "x"}, "repo"},
		{"export without env", []string{"export", "--repo", "x"}, "--all-envs"},
		{"export env and all", []string{"export", "--repo", "x", "--env", "a", "--all-envs"}, "exclude"},
		{"export remote without push", []string{"export", "--repo", "x", "--all-envs", "--remote", "file:///x"}, "--push"},
		{"export bad author", []string{"export", "--repo", "x", "--all-envs", "--author", "nobody"}, "--author"},
		{"export author with control characters", []string{"export", "--repo", "x", "--all-envs", "--author", "\"Evil\x1b[2J\" <evil@example.invalid>"}, "--author"},
		{"export bad scope", []string{"export", "--repo", "x", "--all-envs", "--scope", "root"}, "--scope"},
		{"export bad recipient", []string{"export", "--repo", "x", "--all-envs", "--encrypt-to", "age1nope"}, "--encrypt-to"},
		{"export deleted as user", []string{"export", "--repo", "x", "--all-envs", "--scope", "user", "--include-deleted"}, "admin"},
		{"export reseal without recipients", []string{"export", "--repo", "x", "--all-envs", "--reseal"}, "--encrypt-to"},
		{"flows without env", []string{"flows"}, "env"},
		{"flows deleted without admin", []string{"flows", "--env", "x", "--include-deleted"}, "--admin"},
		{"envs argument", []string{"envs", "extra"}, "no arguments"},
		{"emulator bad throttle", []string{"emulator", "--throttle", "fast"}, "--throttle"},
		{"emulator bad calls", []string{"emulator", "--calls", "x"}, "--calls"},
		{"emulator bad faults", []string{"emulator", "--faults", "explode:p=2"}, "--faults"},
		{"emulator bad seed", []string{"emulator", "--seed", "nope"}, "--seed"},
		{"token bad audience", []string{"emulator", "token", "--audience", "mars"}, "--audience"},
		{"token ttl out of range", []string{"emulator", "token", "--ttl", "48h"}, "--ttl"},
		{"missing token", []string{"--auth", "token", "envs"}, "FLOWSYNC_TOKEN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := run(t, nil, tt.args...)
			if code != ExitUsage {
				t.Fatalf("exit %d, want %d (usage); stderr:\n%s", code, ExitUsage, stderr)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr does not name %q:\n%s", tt.want, stderr)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := run(t, nil, "--version")
	if code != 0 || !strings.Contains(out, Version) {
		t.Fatalf("exit %d, output %q", code, out)
	}
}

// startEmulator runs the demo tenant on loopback without throttling and
// returns its URL and an environment with tokens for the admin user.
func startEmulator(t *testing.T) (*embedded.Instance, map[string]string) {
	t.Helper()
	return startSnapshot(t, nil)
}

func TestEnvsAndFlowsJSON(t *testing.T) {
	inst, env := startEmulator(t)
	code, out, stderr := run(t, env, "--api-url", inst.URL, "--auth", "token", "--rate-limit", "1000/1s", "--output", "json", "envs", "--admin")
	if code != 0 {
		t.Fatalf("envs: exit %d: %s", code, stderr)
	}
	var envs []api.Environment
	if err := json.Unmarshal([]byte(out), &envs); err != nil {
		t.Fatalf("envs output is not JSON: %v\n%s", err, out)
	}
	want := map[api.EnvName]bool{seed.DemoEnvDefault: true, seed.DemoEnvDev: true, seed.DemoEnvTest: true, seed.DemoEnvProd: true}
	if len(envs) != len(want) {
		t.Fatalf("got %d environments, want %d", len(envs), len(want))
	}
	for _, e := range envs {
		if !want[e.Name] {
			t.Errorf("unexpected environment %s", e.Name)
		}
	}

	code, out, stderr = run(t, env, "--api-url", inst.URL, "--auth", "token", "--rate-limit", "1000/1s", "flows", "--admin", "--env", "Contoso Dev")
	if code != 0 {
		t.Fatalf("flows: exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, string(seed.DemoFlowInvoiceApproval)) || !strings.Contains(out, "Invoice approval") {
		t.Errorf("flows output lacks the invoice approval flow:\n%s", out)
	}
	code, _, stderr = run(t, env, "--api-url", inst.URL, "--auth", "token", "--rate-limit", "1000/1s", "flows", "--admin", "--env", "No such env")
	if code != ExitFailure || !strings.Contains(stderr, `"No such env" not found`) {
		t.Errorf("unknown env: exit %d, stderr %s", code, stderr)
	}
}

func TestExportCommand(t *testing.T) {
	inst, env := startEmulator(t)
	dir := filepath.Join(t.TempDir(), "backup")
	args := []string{"--api-url", inst.URL, "--auth", "token", "--rate-limit", "1000/1s", "export", "--repo", dir, "--env", "Contoso Prod", "--env", string(seed.DemoEnvTest)}
	code, out, stderr := run(t, env, args...)
	if code != 0 {
		t.Fatalf("export: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
	if !strings.Contains(out, "committed ") {
		t.Errorf("first export did not commit:\n%s", out)
	}
	code, out, stderr = run(t, env, args...)
	if code != 0 || !strings.Contains(out, "nothing committed") {
		t.Fatalf("second export: exit %d\n%s%s", code, out, stderr)
	}
	logOut := testgit.Run(t, dir, "log", "--format=%s")
	if n := strings.Count(strings.TrimSpace(logOut), "\n") + 1; n != 1 {
		t.Errorf("%d commits, want 1:\n%s", n, logOut)
	}
	testgit.FsckStrict(t, dir)
}

func TestEmulatorCommandAndToken(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	var errOut bytes.Buffer
	go func() {
		code := Main(ctx, []string{"flowsync", "emulator", "--addr", "127.0.0.1:0", "--seed", "demo", "--throttle", "off"},
			IO{Out: pw, Err: &errOut, Getenv: func(string) string { return "" }})
		pw.Close()
		done <- code
	}()
	sc := bufio.NewScanner(pr)
	if !sc.Scan() {
		t.Fatalf("emulator printed nothing: %s", errOut.String())
	}
	first := sc.Text()
	const prefix = "flowsync emulator listening on "
	if !strings.HasPrefix(first, prefix) {
		t.Fatalf("first line %q", first)
	}
	url := strings.Fields(strings.TrimPrefix(first, prefix))[0]
	go io.Copy(io.Discard, pr) // keep the emulator's output flowing

	code, out, stderr := run(t, nil, "emulator", "token", "--url", url, "--principal", "dana.whitfield@contoso.onmicrosoft.com")
	if code != 0 {
		t.Fatalf("token: exit %d: %s", code, stderr)
	}
	claims, err := token.Parse(strings.TrimSpace(out))
	if err != nil {
		t.Fatal(err)
	}
	if claims.ObjectID != string(seed.DemoAdmin) || claims.Audience != tokenAudiences["flow"] {
		t.Errorf("claims %+v", claims)
	}
	code, out, stderr = run(t, map[string]string{"FLOWSYNC_TOKEN": strings.TrimSpace(out), "FLOWSYNC_CACHE_DIR": t.TempDir()},
		"--api-url", url, "--auth", "token", "--rate-limit", "1000/1s", "envs")
	if code != 0 || !strings.Contains(out, "Contoso Dev") {
		t.Fatalf("envs against the standalone emulator: exit %d\n%s%s", code, out, stderr)
	}
	code, _, stderr = run(t, nil, "emulator", "token", "--url", url, "--principal", "nobody@example.invalid")
	if code != ExitFailure || !strings.Contains(stderr, "no principal") {
		t.Errorf("unknown principal: exit %d: %s", code, stderr)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("emulator exit %d: %s", code, errOut.String())
	}
}

func TestDemo(t *testing.T) {
	dir := t.TempDir()
	code, out, stderr := run(t, map[string]string{"FLOWSYNC_CACHE_DIR": t.TempDir()}, "demo", "--dir", dir)
	if code != 0 {
		t.Fatalf("demo: exit %d\n%s\n%s", code, out, stderr)
	}
	for _, want := range []string{
		"Contoso Dev", "no changes: nothing committed", "changed: \"Daily flow inventory (renamed)\"",
		"<redacted:flowsync:actions.Check_partner_API.inputs.authentication.password>",
		// The disaster at the end: restored, and Dev equals its backup.
		`recycle bin  "Request a laptop" (7974f035-6225-497d-a726-7f8485be5fd3): Started`,
		`updated      "Daily flow inventory (renamed)"`, "every flow is as the backup says",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	if strings.Contains(out, "DEMO-ONLY-") {
		t.Error("demo output shows a planted secret value")
	}
	logOut, err := testgit.Try(t, filepath.Join(dir, "backup"), "rev-list", "--count", "HEAD", "--", "environments")
	if err != nil || strings.TrimSpace(logOut) != "2" {
		t.Errorf("backup has %q export commits (%v), want 2: the unchanged export must not commit", logOut, err)
	}
	// The promotion: a mapping from mapping init, the plan, the import, a clean diff, links committed.
	for _, want := range []string{"flowsync mapping init", "byConnector:", "Plan:", "diff --exit-code: 0", "Links "} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	links, err := testgit.Try(t, filepath.Join(dir, "backup"), "ls-tree", "-r", "--name-only", "HEAD", "links")
	if err != nil || !strings.Contains(links, "links/"+string(seed.DemoEnvDev)+"/"+string(seed.DemoEnvProd)+".json") {
		t.Errorf("backup has no Dev -> Prod links file (%v):\n%s", err, links)
	}
}

func TestExportUnreachableRemoteKeepsLocalCommit(t *testing.T) {
	inst, env := startEmulator(t)
	dir := filepath.Join(t.TempDir(), "backup")
	remote := filepath.Join(t.TempDir(), "no", "such", "remote.git")
	code, out, stderr := run(t, env, "--api-url", inst.URL, "--auth", "token", "--rate-limit", "1000/1s",
		"export", "--repo", dir, "--env", "Contoso Prod", "--push", "--remote", remote)
	if code != ExitFailure {
		t.Fatalf("exit %d, want %d\n%s%s", code, ExitFailure, out, stderr)
	}
	if !strings.Contains(stderr, "committed locally") || !strings.Contains(stderr, "push failed") {
		t.Errorf("the error does not say the commit is kept and the push failed:\n%s", stderr)
	}
	n, err := testgit.Try(t, dir, "rev-list", "--count", "main")
	if err != nil || strings.TrimSpace(n) != "1" {
		t.Errorf("local branch has %q commits (%v), want the export's 1", n, err)
	}
}
