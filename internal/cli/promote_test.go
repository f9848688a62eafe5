package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/emulator"
	"github.com/flowsync/flowsync/internal/emulator/embedded"
	"github.com/flowsync/flowsync/internal/emulator/seed"
	"github.com/flowsync/flowsync/internal/testemu"
	"github.com/flowsync/flowsync/internal/testgit"
)

// promoteEmu is the demo tenant on loopback for the promotion commands, with
// the environment a CLI run needs (token without an audience, so it serves
// the Flow, PowerApps and Graph hosts alike; fast limits).
type promoteEmu struct {
	t    *testing.T
	emu  *testemu.Emu
	inst *embedded.Instance
	env  map[string]string
}

func startPromoteEmu(t *testing.T, o emulator.Options) *promoteEmu {
	t.Helper()
	return newPromoteEmu(t, testemu.Options{Emulator: o, WallClock: true}, nil)
}

// newPromoteEmu starts the emulator of o with a token without an audience
// for the demo admin, a private pacer cache and extra settings.
func newPromoteEmu(t *testing.T, o testemu.Options, extra map[string]string) *promoteEmu {
	t.Helper()
	e := testemu.Start(t, o)
	env := map[string]string{
		"FLOWSYNC_TOKEN":     e.Token(seed.DemoAdmin, ""),
		"FLOWSYNC_CACHE_DIR": t.TempDir(),
	}
	for k, v := range extra {
		env[k] = v
	}
	return &promoteEmu{t: t, emu: e, inst: e.Inst, env: env}
}

// setFaults installs the fault rules of spec in the emulator; "" leaves
// it without any.
func (p *promoteEmu) setFaults(spec string) {
	p.t.Helper()
	if spec == "" {
		return
	}
	cfg, err := emulator.ParseFaults(spec)
	if err != nil {
		p.t.Fatal(err)
	}
	if err := p.inst.Server.SetFaults(cfg); err != nil {
		p.t.Fatal(err)
	}
}

// globals are the global flags of a run against the emulator (the
// in-process runs read FLOWSYNC_* flag variables from the real
// environment, so they go as flags).
func (p *promoteEmu) globals() []string {
	return []string{"--api-url", p.inst.URL, "--auth", "token", "--rate-limit", "100000/1s", "--write-limit", "100000/1s"}
}

// run runs flowsync in-process against the emulator.
func (p *promoteEmu) run(args ...string) (int, string, string) {
	p.t.Helper()
	return run(p.t, p.env, append(p.globals(), args...)...)
}

// backup exports Dev into a new repository and returns its directory.
func (p *promoteEmu) backup() string {
	p.t.Helper()
	dir := filepath.Join(p.t.TempDir(), "backup")
	if code, out, stderr := p.run("export", "--repo", dir, "--env", "Contoso Dev", "--scope", "admin"); code != 0 {
		p.t.Fatalf("export: exit %d\n%s%s", code, out, stderr)
	}
	return dir
}

// writes is the number of applied writes of every identity.
func (p *promoteEmu) writes() int {
	p.t.Helper()
	resp, err := http.Get(p.inst.URL + "/_emulator/stats")
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Identities map[string]emulator.Stats `json:"identities"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		p.t.Fatal(err)
	}
	n := 0
	for _, s := range out.Identities {
		n += s.NonGet
	}
	return n
}

// prodFlows are Prod's live flows in the emulator state.
func (p *promoteEmu) prodFlows() []emulator.Flow {
	var out []emulator.Flow
	for _, f := range p.inst.Server.Dump().Flows {
		if f.Environment == seed.DemoEnvProd && f.DeletedTime == nil {
			out = append(out, f)
		}
	}
	return out
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// promotableFlows are Dev flows whose connectors all have a Prod connection.
var promotableFlows = []string{
	"Invoice approval", "Request a laptop", "Archive old files", "Support inbox digest",
	string(seed.DemoFlowChild), string(seed.DemoFlowParent), "Order intake webhook",
}

func flowArgs(names ...string) []string {
	var out []string
	for _, n := range names {
		out = append(out, "--flow", n)
	}
	return out
}

const (
	prodOutlook    = "shared-office365-5ed268a3-26fa-4693-a36d-497ff37fdc5d"
	prodSharePoint = "shared-sharepointonl-2311abf9-258d-4cf8-8656-09b1177f0dfb"
	testTeamsError = "shared-teams-843bc45e-55f1-48c4-b2e8-28fd370ce913"
	devSupportMail = "1544ab383a2645d39fb8fdc65c14b98f"
)

func goodMap() string {
	return "connections:\n  byConnector:\n    shared_sharepointonline: " + prodSharePoint +
		"\n  byConnection:\n    " + devSupportMail + ": " + prodOutlook + "\nprincipals:\n  " +
		string(seed.DemoFinanceApprovers) + ": " + string(seed.DemoFieldStaff) + "\n"
}

// TestImportValidationFailuresWriteNothing: every kind of validation
// failure stops the import before its first write, with a message that
// says what is wrong (and where, for the mapping file), and exit 1.
func TestImportValidationFailuresWriteNothing(t *testing.T) {
	p := startPromoteEmu(t, emulator.Options{})
	repoDir := p.backup()
	tests := []struct {
		name  string
		to    string
		mapf  string // mapping file content ("" = none)
		flows []string
		want  []string // in stdout+stderr; "MAP" is replaced by the file's path
	}{
		{"bad yaml", "Contoso Prod", "connections:\n  byConnector: [\n", promotableFlows, []string{"MAP:2"}},
		{"unknown key", "Contoso Prod", "connections:\n  byConnectr:\n    shared_office365: x\n", promotableFlows, []string{"MAP:2", "byConnectr"}},
		{"unmapped reference", "Contoso Prod", "", []string{"New contract → Teams channel"}, []string{"unmapped-connection", "shared_teams"}},
		{"missing connector", "Contoso Prod", "", []string{"Sync invoices to ERP"}, []string{"missing-connector", string(seed.DemoCustomAPI)}},
		{"connection in error", "Contoso Test", "connections:\n  byConnector:\n    shared_teams: " + testTeamsError + "\n", []string{"New contract → Teams channel"},
			[]string{"connection-not-connected", "MAP:3", testTeamsError}},
		{"unknown principal", "Contoso Prod", "principals:\n  " + string(seed.DemoFinanceApprovers) + ": 0d5e0000-0000-4000-8000-00000000dead\n", []string{"Invoice approval"},
			[]string{"unknown-principal", "MAP:2", "0d5e0000-0000-4000-8000-00000000dead"}},
		{"unresolved secret", "Contoso Prod", "", []string{"Partner API health check"}, []string{"unresolved-secret", "--secrets"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"import", "--repo", repoDir, "--from", "Contoso Dev", "--to", tt.to, "--yes"}
			mapPath := ""
			if tt.mapf != "" {
				mapPath = writeFile(t, "map.yaml", tt.mapf)
				args = append(args, "--map", mapPath)
			}
			args = append(args, flowArgs(tt.flows...)...)
			before := p.writes()
			code, out, stderr := p.run(args...)
			if code != ExitFailure {
				t.Fatalf("exit %d, want %d\n%s%s", code, ExitFailure, out, stderr)
			}
			all := out + stderr
			for _, w := range tt.want {
				w = strings.ReplaceAll(w, "MAP", mapPath)
				if !strings.Contains(all, w) {
					t.Errorf("output does not contain %q:\n%s", w, all)
				}
			}
			if !strings.Contains(all, "nothing was written") && !strings.Contains(all, mapPath) {
				t.Errorf("output does not say nothing was written:\n%s", all)
			}
			if n := p.writes() - before; n != 0 {
				t.Errorf("%d write(s) reached the service", n)
			}
		})
	}
}

// TestImportThenDiffExitCode: dev -> prod with a mapping, then diff
// --exit-code is clean (0), a changed source makes it 4, a second import
// writes nothing.
func TestImportThenDiffExitCode(t *testing.T) {
	p := startPromoteEmu(t, emulator.Options{})
	repoDir := p.backup()
	mapPath := writeFile(t, "map.yaml", goodMap())
	common := append([]string{"--repo", repoDir, "--from", "Contoso Dev", "--to", "Contoso Prod", "--map", mapPath}, flowArgs(promotableFlows...)...)

	code, out, stderr := p.run(append([]string{"diff", "--exit-code"}, common...)...)
	if code != ExitChanges {
		t.Fatalf("diff before the import: exit %d, want %d\n%s%s", code, ExitChanges, out, stderr)
	}
	code, out, stderr = p.run(append([]string{"import", "--dry-run"}, common...)...)
	if code != 0 || !strings.Contains(out, "dry run") || !strings.Contains(out, "Cost:") {
		t.Fatalf("dry run: exit %d\n%s%s", code, out, stderr)
	}
	if n := p.writes(); n != 0 {
		t.Fatalf("the dry run wrote %d time(s)", n)
	}
	code, out, stderr = p.run(append([]string{"import"}, common...)...)
	if code != ExitUsage || !strings.Contains(stderr, "--yes") {
		t.Fatalf("import without a terminal or --yes: exit %d, want %d\n%s%s", code, ExitUsage, out, stderr)
	}
	if n := p.writes(); n != 0 {
		t.Fatalf("the refused import wrote %d time(s)", n)
	}
	code, out, stderr = p.run(append([]string{"import", "--yes"}, common...)...)
	if code != 0 {
		t.Fatalf("import: exit %d\n%s%s", code, out, stderr)
	}
	code, out, stderr = p.run(append([]string{"diff", "--exit-code"}, common...)...)
	if code != 0 {
		t.Fatalf("diff after the import: exit %d, want 0\n%s%s", code, out, stderr)
	}
	before := p.writes()
	code, out, stderr = p.run(append([]string{"--output", "json", "import", "--yes"}, common...)...)
	if code != 0 {
		t.Fatalf("second import: exit %d\n%s%s", code, out, stderr)
	}
	var doc struct {
		Plan    json.RawMessage `json:"plan"`
		Applied bool            `json:"applied"`
		Result  struct {
			Writes int `json:"writes"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Plan) == 0 {
		t.Fatalf("--output json is not one document with the plan: %v\n%s", err, out)
	}
	if n := p.writes() - before; n != 0 || doc.Result.Writes != 0 {
		t.Errorf("second import: %d write(s) at the emulator, %d reported; want 0", n, doc.Result.Writes)
	}
}

// TestDiffBetweenTwoTrees needs no API: --to-rev compares revisions.
func TestDiffBetweenTwoTrees(t *testing.T) {
	p := startPromoteEmu(t, emulator.Options{})
	repoDir := p.backup()
	code, out, stderr := run(t, map[string]string{"FLOWSYNC_CACHE_DIR": t.TempDir()}, "diff", "--repo", repoDir, "--from", "Contoso Dev", "--to-rev", "HEAD", "--exit-code", "--format", "json")
	if code != 0 {
		t.Fatalf("a tree against itself: exit %d\n%s%s", code, out, stderr)
	}
	if !json.Valid([]byte(out)) {
		t.Errorf("--format json is not JSON:\n%s", out)
	}
	if code, out, stderr = run(t, nil, "diff", "--repo", repoDir, "--from", "Contoso Dev", "--to-rev", "nosuchrev"); code != ExitFailure || !strings.Contains(stderr, "nosuchrev") {
		t.Errorf("unknown revision: exit %d\n%s%s", code, out, stderr)
	}
}

func TestPromoteUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"diff without repo", []string{"diff", "--from", "a", "--to", "b"}, "--repo"},
		{"diff without target", []string{"diff", "--repo", "x", "--from", "a"}, "--to"},
		{"diff bad format", []string{"diff", "--repo", "x", "--from", "a", "--to", "b", "--format", "html"}, "--format"},
		{"import without to", []string{"import", "--repo", "x", "--from", "a"}, "--to"},
		{"import bad state", []string{"import", "--repo", "x", "--from", "a", "--to", "b", "--state", "maybe"}, "--state"},
		{"import bad link", []string{"import", "--repo", "x", "--from", "a", "--to", "b", "--link", "nope"}, "SRC=DST"},
		{"import link not guid", []string{"import", "--repo", "x", "--from", "a", "--to", "b", "--link", "a=b"}, "GUID"},
		{"import dry run push", []string{"import", "--repo", "x", "--from", "a", "--to", "b", "--dry-run", "--push"}, "--push"},
		{"mapping init without to", []string{"mapping", "init", "--repo", "x", "--from", "a"}, "--to"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := run(t, nil, tt.args...)
			if code != ExitUsage || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, want %d naming %q:\n%s", code, ExitUsage, tt.want, stderr)
			}
		})
	}
}

func TestMappingInitWritesAStarterFile(t *testing.T) {
	p := startPromoteEmu(t, emulator.Options{})
	repoDir := p.backup()
	out := filepath.Join(t.TempDir(), "map.yaml")
	code, stdout, stderr := p.run("mapping", "init", "--repo", repoDir, "--from", "Contoso Dev", "--to", "Contoso Prod", "--out", out)
	if code != 0 {
		t.Fatalf("mapping init: exit %d\n%s%s", code, stdout, stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"connections:", prodSharePoint, "principals:"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("starter file lacks %q:\n%s", want, b)
		}
	}
	code, _, stderr = p.run("mapping", "init", "--repo", repoDir, "--from", "Contoso Dev", "--to", "Contoso Prod", "--out", out)
	if code != ExitUsage || !strings.Contains(stderr, "--force") {
		t.Errorf("existing --out: exit %d, want %d asking for --force:\n%s", code, ExitUsage, stderr)
	}
	// --out - is standard output, not a file named "-" (in the working
	// directory, the package's own during tests).
	code, stdout, stderr = p.run("mapping", "init", "--repo", repoDir, "--from", "Contoso Dev", "--to", "Contoso Prod", "--out", "-")
	if code != 0 || stdout != string(b) {
		t.Errorf("--out -: exit %d, stdout differs from the file written before\n%s%s", code, stdout, stderr)
	}
	if _, err := os.Stat("-"); err == nil {
		os.Remove("-")
		t.Error(`--out - wrote a file named "-"`)
	}
}

// TestImportOutputEscapesHostileNames: a display name with terminal
// escapes, BiDi overrides and line breaks reaches the plan, the progress
// and the summary only escaped.
func TestImportOutputEscapesHostileNames(t *testing.T) {
	p := startPromoteEmu(t, emulator.Options{})
	hostile := "Evil\x1b[31m red\u202e\r\nfake: ok"
	tok, err := p.inst.Server.MintToken(seed.DemoPriya, "")
	if err != nil {
		t.Fatal(err)
	}
	// Priya renames her flow through the API, as a maker would.
	if err := renameFlow(p, seed.DemoEnvDev, seed.DemoFlowStopped, hostile, tok); err != nil {
		t.Fatal(err)
	}
	repoDir := p.backup()
	mapPath := writeFile(t, "map.yaml", goodMap())
	for _, args := range [][]string{
		{"diff", "--format", "text"},
		{"diff", "--format", "markdown"},
		{"import", "--yes"},
	} {
		all := append(append([]string{"--verbose"}, args...), "--repo", repoDir, "--from", "Contoso Dev", "--to", "Contoso Prod", "--map", mapPath, "--flow", string(seed.DemoFlowStopped))
		code, out, stderr := p.run(all...)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", args, code, out, stderr)
		}
		if !strings.Contains(out+stderr, "Evil") {
			t.Errorf("%v: the flow's name is not shown at all:\n%s", args, out+stderr)
		}
		for _, bad := range []string{"\x1b", "\u202e", "\r"} {
			if strings.Contains(out+stderr, bad) {
				t.Errorf("%v: output holds a raw %q:\n%q", args, bad, out+stderr)
			}
		}
		if strings.Contains(out+stderr, "\nfake: ok") {
			t.Errorf("%v: the name's line break starts a line of its own", args)
		}
	}
}

// renameFlow renames a flow with a maker's token, straight through the API.
func renameFlow(p *promoteEmu, env api.EnvName, flow api.FlowName, name, tok string) error {
	body, _ := json.Marshal(map[string]any{"properties": map[string]any{"displayName": name}})
	req, err := http.NewRequest(http.MethodPatch, p.inst.URL+"/providers/Microsoft.ProcessSimple/environments/"+string(env)+"/flows/"+string(flow)+"?api-version=2016-11-01", strings.NewReader(string(body)))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("rename: %s", resp.Status)
	}
	return nil
}

// TestImportPartialFailureExits3: a flow the service keeps refusing fails
// alone (the others are done), the run exits 3 naming it, and a rerun
// finishes the work.
func TestImportPartialFailureExits3(t *testing.T) {
	p := startPromoteEmu(t, emulator.Options{})
	repoDir := p.backup()
	mapPath := writeFile(t, "map.yaml", goodMap())
	args := append([]string{"import", "--yes", "--repo", repoDir, "--from", "Contoso Dev", "--to", "Contoso Prod", "--map", mapPath}, flowArgs(promotableFlows...)...)
	cfg, err := emulator.ParseFaults("5xx:op=create:count=1000")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.inst.Server.SetFaults(cfg); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := p.run(args...)
	if code != ExitPartial {
		t.Fatalf("exit %d, want %d\n%s%s", code, ExitPartial, out, stderr)
	}
	if !strings.Contains(out, "FAILED") || !strings.Contains(stderr, "failed") {
		t.Errorf("the output does not name the failed flows:\n%s%s", out, stderr)
	}
	// Creates were refused; the update of the existing flow was still done.
	var updated bool
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "update") && strings.Contains(line, `"Invoice approval"`) && strings.HasSuffix(line, ": ok") {
			updated = true
		}
	}
	if !updated {
		t.Errorf("the update that could be done was not reported done:\n%s", out)
	}
	p.inst.Server.SetFaults(emulator.FaultConfig{})
	if code, out, stderr := p.run(args...); code != 0 {
		t.Fatalf("rerun: exit %d\n%s%s", code, out, stderr)
	}
	diffArgs := append([]string{"diff", "--exit-code", "--repo", repoDir, "--from", "Contoso Dev", "--to", "Contoso Prod", "--map", mapPath}, flowArgs(promotableFlows...)...)
	if code, out, stderr := p.run(diffArgs...); code != 0 {
		t.Errorf("diff after the rerun: exit %d\n%s%s", code, out, stderr)
	}
}

// TestImportAsApplicationIsRefusedBeforeAnyWrite: a service principal can
// plan (--dry-run) but an import stops before its first write, saying a
// delegated user identity is needed.
func TestImportAsApplicationIsRefusedBeforeAnyWrite(t *testing.T) {
	p := startPromoteEmu(t, emulator.Options{})
	repoDir := p.backup()
	tok, err := p.inst.Server.MintToken(seed.DemoBackupSP, "")
	if err != nil {
		t.Fatal(err)
	}
	p.env["FLOWSYNC_TOKEN"] = tok
	mapPath := writeFile(t, "map.yaml", goodMap())
	args := append([]string{"import", "--repo", repoDir, "--from", "Contoso Dev", "--to", "Contoso Prod", "--map", mapPath}, flowArgs(promotableFlows...)...)
	if code, out, stderr := p.run(append(args, "--dry-run")...); code != 0 {
		t.Fatalf("dry run as an application: exit %d\n%s%s", code, out, stderr)
	}
	code, out, stderr := p.run(append(args, "--yes")...)
	if code != ExitFailure || !strings.Contains(stderr, "delegated user identity") {
		t.Fatalf("import as an application: exit %d, want %d saying a delegated user identity is needed\n%s%s", code, ExitFailure, out, stderr)
	}
	if n := p.writes(); n != 0 {
		t.Errorf("%d write(s) reached the service", n)
	}
}

// TestDiffWithoutDirectoryAccessWarns: a token Graph refuses (here one for
// the Flow audience only) leaves principals unchecked, and the plan says so
// instead of failing.
func TestDiffWithoutDirectoryAccessWarns(t *testing.T) {
	p := startPromoteEmu(t, emulator.Options{})
	repoDir := p.backup()
	flowTok, err := p.inst.Server.MintToken(seed.DemoAdmin, tokenAudiences["flow"])
	if err != nil {
		t.Fatal(err)
	}
	paTok, err := p.inst.Server.MintToken(seed.DemoAdmin, tokenAudiences["powerapps"])
	if err != nil {
		t.Fatal(err)
	}
	p.env["FLOWSYNC_TOKEN"], p.env["FLOWSYNC_POWERAPPS_TOKEN"] = flowTok, paTok
	code, out, stderr := p.run("diff", "--repo", repoDir, "--from", "Contoso Dev", "--to", "Contoso Prod", "--flow", "Invoice approval")
	if code != 0 || !strings.Contains(out, "principals-not-checked") && !strings.Contains(out, "principals are not checked") {
		t.Fatalf("exit %d, want 0 with a warning that principals are not checked\n%s%s", code, out, stderr)
	}
}

// TestImportPushChecksTheRemoteFirst: --push to a remote the repository
// does not have is a usage error before any read or write.
func TestImportPushChecksTheRemoteFirst(t *testing.T) {
	p := startPromoteEmu(t, emulator.Options{})
	repoDir := p.backup()
	code, out, stderr := p.run("import", "--yes", "--push", "--repo", repoDir, "--from", "Contoso Dev", "--to", "Contoso Prod", "--flow", "Order intake webhook")
	if code != ExitUsage || !strings.Contains(stderr, "origin") {
		t.Fatalf("exit %d, want %d naming the missing origin\n%s%s", code, ExitUsage, out, stderr)
	}
	if n := p.writes(); n != 0 {
		t.Errorf("%d write(s)", n)
	}
	// With a file remote the links reach it.
	remote := filepath.Join(t.TempDir(), "remote.git")
	testgit.Run(t, "", "init", "-q", "--bare", remote)
	mapPath := writeFile(t, "map.yaml", goodMap())
	code, out, stderr = p.run(append([]string{"import", "--yes", "--push", "--remote", remote, "--repo", repoDir, "--from", "Contoso Dev", "--to", "Contoso Prod", "--map", mapPath}, flowArgs(promotableFlows...)...)...)
	if code != 0 || !strings.Contains(out, "pushed ") {
		t.Fatalf("import --push: exit %d\n%s%s", code, out, stderr)
	}
	files, err := testgit.Try(t, remote, "ls-tree", "-r", "--name-only", "main")
	if err != nil || !strings.Contains(files, "links/"+string(seed.DemoEnvDev)+"/"+string(seed.DemoEnvProd)+".json") {
		t.Errorf("the remote has no links file (%v):\n%s", err, files)
	}
}
