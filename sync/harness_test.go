package sync_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowsync/flowsync/export"
	"github.com/flowsync/flowsync/importer"
	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/client"
	"github.com/flowsync/flowsync/internal/emulator"
	"github.com/flowsync/flowsync/internal/emulator/embedded"
	"github.com/flowsync/flowsync/internal/emulator/seed"
	"github.com/flowsync/flowsync/internal/model"
	"github.com/flowsync/flowsync/repo"
	fsync "github.com/flowsync/flowsync/sync"
)

// The scenario tests drive real parts: the emulator on loopback, the API
// client, export, the engine and Git repositories on disk checked with
// the git CLI.

// emu is a running emulator with a client signed in as the tenant's admin
// (a user with the Power Platform Administrator role: a delegated identity
// that may create flows).
type emu struct {
	t      testing.TB
	inst   *embedded.Instance
	clock  *emulator.ManualClock
	hc     *http.Client
	client *client.Client
	admin  emulator.Principal
}

func startEmu(t testing.TB, snap *emulator.Snapshot) *emu {
	t.Helper()
	if snap == nil {
		snap = seed.Demo()
	}
	clock := emulator.NewManualClock(seed.DemoNow())
	inst, err := embedded.Start(context.Background(), embedded.Options{
		Snapshot: snap,
		Emulator: emulator.Options{Clock: clock, Throttle: emulator.ThrottleConfig{Profile: emulator.ProfileOff}},
	})
	if err != nil {
		t.Fatalf("start emulator: %v", err)
	}
	t.Cleanup(func() { inst.Close() })
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	admin, ok := embedded.AdminUser(snap)
	if !ok {
		t.Fatal("snapshot has no admin user")
	}
	e := &emu{t: t, inst: inst, clock: clock, hc: &http.Client{Transport: tr}, admin: admin}
	e.client = e.newClient(admin.ID)
	return e
}

func (e *emu) newClient(principal api.PrincipalID) *client.Client {
	e.t.Helper()
	ep, err := client.EndpointsFor(client.Public)
	if err != nil {
		e.t.Fatal(err)
	}
	c, err := client.New(client.Config{
		Endpoints: ep.WithBaseURL(e.inst.URL),
		Tokens: client.TokenFunc(func(_ context.Context, scope string) (string, error) {
			return e.inst.Server.MintToken(principal, strings.TrimSuffix(scope, ".default"))
		}),
		HTTPClient: e.hc,
		Sleep:      func(ctx context.Context, _ time.Duration) error { return ctx.Err() },
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// identity is the admin as the importer sees it.
func (e *emu) identity() importer.Identity {
	return importer.Identity{ID: e.admin.ID, Admin: true}
}

// stats returns the admitted calls and writes of every identity.
func (e *emu) stats() (calls, writes int) {
	e.t.Helper()
	var out struct {
		Identities map[string]emulator.Stats `json:"identities"`
	}
	e.control(http.MethodGet, "/_emulator/stats", &out)
	for _, s := range out.Identities {
		calls += s.Calls
		writes += s.NonGet
	}
	return calls, writes
}

func (e *emu) control(method, path string, out any) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.inst.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	resp, err := e.hc.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("%s %s: %s: %s", method, path, resp.Status, buf.String())
	}
	if out != nil {
		if err := json.Unmarshal(buf.Bytes(), out); err != nil {
			e.t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

// flows returns the live (not deleted) flows of env in the emulator state.
func (e *emu) flows(env api.EnvName) []emulator.Flow {
	var out []emulator.Flow
	for _, f := range e.inst.Server.Dump().Flows {
		if f.Environment == env && f.DeletedTime == nil {
			out = append(out, f)
		}
	}
	return out
}

// byName returns the live flows of env with that display name.
func (e *emu) byName(env api.EnvName, display string) []emulator.Flow {
	var out []emulator.Flow
	for _, f := range e.flows(env) {
		if f.DisplayName == display {
			out = append(out, f)
		}
	}
	return out
}

// exportEnv backs env up into rp (a commit on main) as the nightly job does.
func (e *emu) exportEnv(rp *repo.Repo, envs ...api.EnvName) {
	e.t.Helper()
	var names []string
	for _, env := range envs {
		names = append(names, string(env))
	}
	_, _, err := export.Run(context.Background(), export.ClientSource{Client: e.client, Admin: true}, rp, export.Options{
		Envs: names, Branch: "main", Author: testAuthor(), Now: func() time.Time { return fixedWhen },
	}, nil)
	if err != nil {
		e.t.Fatalf("export %v: %v", envs, err)
	}
}

// engine returns an engine on rp reading through the admin client.
func (e *emu) engine(rp *repo.Repo) *fsync.Engine {
	return &fsync.Engine{Repo: rp, Live: &fsync.Live{Client: e.client, Admin: true}}
}

// writeMap writes a mapping file and returns its path.
func writeMap(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "map.yaml")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// promote runs an import with --yes and fails the test on an error.
func (e *emu) promote(rp *repo.Repo, o fsync.PromoteOptions) *fsync.PromoteResult {
	e.t.Helper()
	if o.Identity.ID == "" {
		o.Identity = e.identity()
	}
	o.Author = testAuthor()
	res, err := e.engine(rp).Promote(context.Background(), o)
	if err != nil {
		if res != nil {
			for _, p := range res.Plan.Problems {
				e.t.Logf("problem %s %s: %s", p.Code, p.Where, p.Message)
			}
		}
		e.t.Fatalf("promote: %v", err)
	}
	if res.Failed() > 0 {
		for _, f := range res.Result.Flows {
			if f.Err != nil {
				e.t.Errorf("flow %s %q: %v", f.Source.Flow, f.DisplayName, f.Err)
			}
		}
		e.t.FailNow()
	}
	return res
}

var _ = model.Key{}
