package sync_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/flowsync/flowsync/export"
	"github.com/flowsync/flowsync/importer"
	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/client"
	"github.com/flowsync/flowsync/internal/emulator"
	"github.com/flowsync/flowsync/internal/model"
	"github.com/flowsync/flowsync/internal/testemu"
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
	*testemu.Emu
	t      testing.TB
	client *client.Client
	admin  emulator.Principal
}

// startEmu loads snap (nil: the demo tenant) with throttling off and a
// manual clock.
func startEmu(t testing.TB, snap *emulator.Snapshot) *emu {
	t.Helper()
	te := testemu.Start(t, testemu.Options{Snapshot: snap})
	e := &emu{Emu: te, t: t, admin: te.Admin()}
	e.client = te.Client(e.admin.ID)
	return e
}

// identity is the admin as the importer sees it.
func (e *emu) identity() importer.Identity {
	return importer.Identity{ID: e.admin.ID, Admin: true}
}

// stats returns the admitted calls and writes of every identity.
func (e *emu) stats() (calls, writes int) {
	e.t.Helper()
	sum := e.Total()
	return sum.Calls, sum.NonGet
}

// flows returns the live (not deleted) flows of env in the emulator state.
func (e *emu) flows(env api.EnvName) []emulator.Flow {
	var out []emulator.Flow
	for _, f := range e.Inst.Server.Dump().Flows {
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
