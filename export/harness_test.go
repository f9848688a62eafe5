package export_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/flowsync/flowsync/export"
	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/client"
	"github.com/flowsync/flowsync/internal/emulator"
	"github.com/flowsync/flowsync/internal/testemu"
	"github.com/flowsync/flowsync/internal/testgit"
	"github.com/flowsync/flowsync/repo"
)

// The tests drive real parts end to end: the emulator on loopback, the API
// client, the engine and Git repositories on disk, checked with the git CLI.

// fixedWhen is the author time of every test commit, so hashes are stable.
var fixedWhen = time.Date(2025, 7, 1, 9, 30, 0, 0, time.UTC)

func testAuthor() repo.Signature {
	return repo.Signature{Name: "Export Test", Email: "export-test@example.invalid", When: fixedWhen}
}

// emu is a running emulator with a client signed in as the tenant's admin.
type emu struct {
	*testemu.Emu
	t      *testing.T
	client *client.Client
	src    export.ClientSource
}

type emuOptions struct {
	faults   emulator.FaultConfig
	pageSize int
	// maxAttempts bounds the client's sends per call (default: the client's).
	maxAttempts int
}

// startEmu loads snap into an emulator with throttling off and a manual
// clock, and returns an admin client whose waits return at once.
func startEmu(t *testing.T, snap *emulator.Snapshot, o emuOptions) *emu {
	t.Helper()
	te := testemu.Start(t, testemu.Options{
		Snapshot:    snap,
		Emulator:    emulator.Options{Faults: o.faults, PageSize: o.pageSize},
		MaxAttempts: o.maxAttempts,
	})
	e := &emu{Emu: te, t: t}
	e.client = te.Client(te.Admin().ID)
	e.src = export.ClientSource{Client: e.client, Admin: true}
	return e
}

// requestEntry is one line of GET /_emulator/requests.
type requestEntry struct {
	Seq    uint64 `json:"seq"`
	Method string `json:"method"`
	Path   string `json:"path"`
	Query  string `json:"query"`
	Status int    `json:"status"`
	Fault  string `json:"fault"`
}

// requests returns the API requests logged after seq (identity calls excluded).
func (e *emu) requests(after uint64) []requestEntry {
	e.t.Helper()
	var out struct {
		Value []struct {
			requestEntry
			Kind string `json:"kind"`
		} `json:"value"`
	}
	e.Control(http.MethodGet, "/_emulator/requests", &out)
	var reqs []requestEntry
	for _, r := range out.Value {
		if r.Kind == "api" && r.Seq > after {
			reqs = append(reqs, r.requestEntry)
		}
	}
	return reqs
}

// lastSeq is the sequence number of the newest logged request (0 for none).
func (e *emu) lastSeq() uint64 {
	e.t.Helper()
	var out struct {
		Value []requestEntry `json:"value"`
	}
	e.Control(http.MethodGet, "/_emulator/requests?limit=1", &out)
	if len(out.Value) == 0 {
		return 0
	}
	return out.Value[0].Seq
}

// advance moves the emulator clock, so that a change made next gets a new
// lastModifiedTime.
func (e *emu) advance(d time.Duration) { e.Clock.Advance(d) }

// ---- Git ----

// newRepo opens (creates) a repository in a fresh directory; git fsck
// --strict runs on it when the test ends, whatever the test did.
func newRepo(t *testing.T, bare bool) *repo.Repo {
	t.Helper()
	return openRepoAt(t, filepath.Join(t.TempDir(), "backup"), bare)
}

// openRepoAt opens the repository at dir (creating it) and checks it with
// git fsck --strict when the test ends.
func openRepoAt(t *testing.T, dir string, bare bool) *repo.Repo {
	t.Helper()
	rp, err := repo.Open(context.Background(), dir, repo.OpenOptions{Bare: bare})
	if err != nil {
		t.Fatalf("open repository %s: %v", dir, err)
	}
	t.Cleanup(func() {
		if err := rp.Close(); err != nil {
			t.Error(err)
		}
		testgit.FsckStrict(t, dir)
	})
	return rp
}

// exportOpts are the options every test starts from: a fixed author and time.
func exportOpts(envs ...api.EnvName) export.Options {
	o := export.Options{Author: testAuthor(), Concurrency: 4}
	for _, e := range envs {
		o.Envs = append(o.Envs, string(e))
	}
	if len(envs) == 0 {
		o.AllEnvs = true
	}
	return o
}

// runExport takes the repository lock, as the CLI does, and runs an export.
func runExport(t *testing.T, src export.Source, rp *repo.Repo, opts export.Options) (*export.Result, error) {
	t.Helper()
	unlock, err := rp.Lock(context.Background())
	if err != nil {
		t.Fatalf("lock: %v", err)
	}
	defer unlock()
	res, _, err := export.Run(context.Background(), src, rp, opts, nil)
	return res, err
}

// mustExportReplay is mustExport that also returns the run's Replay (for a
// push that may have to rebuild).
func mustExportReplay(t *testing.T, src export.Source, rp *repo.Repo, opts export.Options) (*export.Result, *export.Replay) {
	t.Helper()
	unlock, err := rp.Lock(context.Background())
	if err != nil {
		t.Fatalf("lock: %v", err)
	}
	defer unlock()
	res, replay, err := export.Run(context.Background(), src, rp, opts, nil)
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	return res, replay
}

// mustExport is runExport that fails the test on error.
func mustExport(t *testing.T, src export.Source, rp *repo.Repo, opts export.Options) *export.Result {
	t.Helper()
	res, err := runExport(t, src, rp, opts)
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	return res
}

func treeHash(t *testing.T, rp *repo.Repo, commit plumbing.Hash) plumbing.Hash {
	t.Helper()
	tr, err := rp.ReadTree(context.Background(), commit)
	if err != nil {
		t.Fatal(err)
	}
	return tr.Hash()
}

// blobHashes reads every file of commit: path → blob hash.
func blobHashes(t *testing.T, rp *repo.Repo, commit plumbing.Hash) map[string]plumbing.Hash {
	t.Helper()
	tr, err := rp.ReadTree(context.Background(), commit)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]plumbing.Hash{}
	if err := tr.Walk("", func(p string, h plumbing.Hash) error { out[p] = h; return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// commitCount counts the commits reachable from branch in dir (git CLI).
func commitCount(t *testing.T, dir, branch string) int {
	t.Helper()
	out := strings.TrimSpace(testgit.Run(t, dir, "rev-list", "--count", branch))
	var n int
	if _, err := fmt.Sscanf(out, "%d", &n); err != nil {
		t.Fatalf("rev-list --count: %q", out)
	}
	return n
}

// commitMessage is the full message of commit in dir (git CLI).
func commitMessage(t *testing.T, dir string, commit string) string {
	t.Helper()
	return testgit.Run(t, dir, "log", "-1", "--format=%B", commit)
}

// demoFlows returns the demo seed's flows of env that the admin list shows
// without --include-deleted, by name.
func demoFlows(snap *emulator.Snapshot, env api.EnvName) map[api.FlowName]emulator.Flow {
	out := map[api.FlowName]emulator.Flow{}
	for _, f := range snap.Flows {
		if f.Environment == env && f.DeletedTime == nil {
			out[f.Name] = f
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// ---- changing the service the way makers do ----

// flowOf finds a flow of snap.
func flowOf(t *testing.T, snap *emulator.Snapshot, env api.EnvName, flow api.FlowName) emulator.Flow {
	t.Helper()
	for _, f := range snap.Flows {
		if f.Environment == env && strings.EqualFold(string(f.Name), string(flow)) {
			return f
		}
	}
	t.Fatalf("flow %s/%s is not in the snapshot", env, flow)
	return emulator.Flow{}
}

// asCreator returns a client signed in as the flow's creator (user-scope
// writes need an owner).
func (e *emu) asCreator(snap *emulator.Snapshot, env api.EnvName, flow api.FlowName) *client.Client {
	e.t.Helper()
	return e.ClientWithAttempts(flowOf(e.t, snap, env, flow).Creator, 0)
}

// rename changes a flow's display name through the API, a minute later
// than the last change so that lastModifiedTime moves.
func (e *emu) rename(snap *emulator.Snapshot, env api.EnvName, flow api.FlowName, name string) {
	e.t.Helper()
	e.advance(time.Minute)
	if _, err := e.asCreator(snap, env, flow).UpdateFlow(context.Background(), env, flow, api.FlowProperties{DisplayName: name}); err != nil {
		e.t.Fatalf("rename %s: %v", flow, err)
	}
}

// changeDefinition saves the flow with a different definition description.
func (e *emu) changeDefinition(snap *emulator.Snapshot, env api.EnvName, flow api.FlowName, description string) {
	e.t.Helper()
	ctx := context.Background()
	e.advance(time.Minute)
	f, err := e.client.AdminGetFlow(ctx, env, flow, true)
	if err != nil {
		e.t.Fatal(err)
	}
	var def map[string]json.RawMessage
	if err := json.Unmarshal(f.Properties.Definition, &def); err != nil {
		e.t.Fatal(err)
	}
	def["description"], _ = json.Marshal(description)
	raw, _ := json.Marshal(def)
	props := api.FlowProperties{Definition: raw, ConnectionReferences: f.Properties.ConnectionReferences}
	if _, err := e.asCreator(snap, env, flow).UpdateFlow(ctx, env, flow, props); err != nil {
		e.t.Fatalf("change definition of %s: %v", flow, err)
	}
}

// deleteFlow deletes a flow as admin (soft for ordinary flows).
func (e *emu) deleteFlow(env api.EnvName, flow api.FlowName) {
	e.t.Helper()
	e.advance(time.Minute)
	if _, err := e.client.DeleteFlow(context.Background(), env, flow, true); err != nil {
		e.t.Fatalf("delete %s: %v", flow, err)
	}
}

// minimalDefinition is a flow with a schedule and one Compose action: it
// needs no connection.
const minimalDefinition = `{
  "$schema": "https://schema.management.azure.com/providers/Microsoft.Logic/schemas/2016-06-01/workflowdefinition.json#",
  "contentVersion": "1.0.0.0",
  "parameters": {
    "$connections": {"defaultValue": {}, "type": "Object"},
    "$authentication": {"defaultValue": {}, "type": "SecureObject"}
  },
  "triggers": {"Recurrence": {"type": "Recurrence", "recurrence": {"frequency": "Day", "interval": 1}}},
  "actions": {"Compose": {"type": "Compose", "inputs": "hello", "runAfter": {}}}
}`

// createFlow creates a connection-less flow as principal and returns its name.
func (e *emu) createFlow(env api.EnvName, principal api.PrincipalID, displayName string) api.FlowName {
	e.t.Helper()
	e.advance(time.Minute)
	f, err := e.ClientWithAttempts(principal, 0).CreateFlow(context.Background(), env, api.FlowProperties{
		DisplayName: displayName, State: api.StateStopped, Definition: json.RawMessage(minimalDefinition),
		ConnectionReferences: map[string]api.ConnectionReference{},
	})
	if err != nil {
		e.t.Fatalf("create flow %q: %v", displayName, err)
	}
	return f.Name
}
