// Package historytest builds a backup repository with a known history for
// tests of log, show and restore: renames, definition and reference
// changes, owners, run-only users, states, soft deletion, removal, a record
// of a flow deleted before its first backup, a restore from the recycle
// bin, hostile display names, a second environment and a commit outside
// environments/. Authors and times are pinned, so commit hashes are the
// same on every run.
package historytest

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/model"
	"github.com/flowsync/flowsync/repo"
)

// The fixture's environments and flows.
const (
	Dev  api.EnvName = "Default-581dfb11-c1e5-4df0-ac34-6c2bb50be172"
	Prod api.EnvName = "854f8e6e-8897-43b2-8aa1-402bab90c075"

	Invoice  api.FlowName = "0b1c2d3e-0000-4000-8000-000000000001" // "Invoice approval": definition, then references
	Sales    api.FlowName = "0b1c2d3e-0000-4000-8000-000000000002" // "Sales report" renamed "Sales report (EU)", recycle bin, gone
	Nightly  api.FlowName = "0b1c2d3e-0000-4000-8000-000000000003" // "Nightly sync": owners and run-only users
	Hostile  api.FlowName = "0b1c2d3e-0000-4000-8000-000000000004" // a name with escape sequences; state change
	NewSales api.FlowName = "0b1c2d3e-0000-4000-8000-000000000005" // "Sales report" again, a new flow
	Record   api.FlowName = "0b1c2d3e-0000-4000-8000-000000000006" // first seen deleted (record), then restored
	ProdFlow api.FlowName = "0b1c2d3e-0000-4000-8000-0000000000f1"

	// HostileName holds an ANSI colour sequence, a bidi override, a
	// newline and a bell.
	HostileName = "\x1b[31mPay\u202eyap\nnow\a"
)

// Start is the time of the first commit; commit i is i hours later.
var Start = time.Date(2025, 3, 1, 2, 0, 0, 0, time.UTC)

// Step is one commit of the fixture.
type Step struct {
	Commit plumbing.Hash
	Time   time.Time
	// Subject is the commit's first line.
	Subject string
}

// Author is the pinned author and committer of every fixture commit.
var Author = repo.Signature{Name: "flowsync backup", Email: "backup@example.invalid"}

// Build writes the fixture into a new repository at dir (bare or not) on
// branch main and returns its commits, oldest first.
func Build(ctx context.Context, dir string, bare bool) ([]Step, error) {
	r, err := repo.Open(ctx, dir, repo.OpenOptions{Bare: bare})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	b := &builder{r: r, envs: map[api.EnvName]map[api.FlowName]model.Flow{
		Dev:  {},
		Prod: {},
	}, names: map[api.EnvName]string{Dev: "Contoso (default)", Prod: "Contoso Production"}}
	for i, s := range script {
		at := Start.Add(time.Duration(i) * time.Hour)
		h, err := b.step(ctx, s, at)
		if err != nil {
			return nil, fmt.Errorf("fixture step %d (%s): %w", i, s.subject, err)
		}
		b.steps = append(b.steps, Step{Commit: h, Time: at, Subject: s.subject})
	}
	return b.steps, nil
}

type builder struct {
	r     *repo.Repo
	envs  map[api.EnvName]map[api.FlowName]model.Flow
	names map[api.EnvName]string
	steps []Step
}

type scriptStep struct {
	subject string
	// change edits the state; it returns extra files outside environments/.
	change func(b *builder) map[string]string
}

func def(actions ...string) json.RawMessage {
	acts := map[string]any{}
	for i, a := range actions {
		acts[a] = map[string]any{"type": "Compose", "inputs": fmt.Sprintf("step %d of %s", i, a), "runAfter": map[string]any{}}
	}
	b, _ := json.Marshal(map[string]any{
		"$schema":        "https://schema.management.azure.com/providers/Microsoft.Logic/schemas/2016-06-01/workflowdefinition.json#",
		"contentVersion": "1.0.0.0",
		"triggers":       map[string]any{"manual": map[string]any{"type": "Request", "kind": "Button"}},
		"actions":        acts,
	})
	return b
}

func newFlow(env api.EnvName, name api.FlowName, display, state string, owner api.PrincipalID) model.Flow {
	return model.Flow{
		Key: model.Key{Env: env, Flow: name},
		Meta: model.Meta{
			DisplayName: display, State: state, TriggerKind: "Request/Button",
			CreatedTime: "2025-02-01T00:00:00Z", LastModifiedTime: "2025-02-01T00:00:00Z",
		},
		Definition: def("Compose"),
		Connections: []model.ConnectionRef{{
			Key: "shared_office365", API: "shared_office365", Source: "Embedded",
			Connection: "shared-office365-0001", DisplayName: "Office 365 Outlook",
		}},
		Permissions: []model.Permission{{Principal: owner, Type: "User", Role: api.RoleOwner}},
	}
}

// The users of the fixture.
const (
	Dana  api.PrincipalID = "a0000000-0000-4000-8000-00000000da0a"
	Lee   api.PrincipalID = "a0000000-0000-4000-8000-0000000001ee"
	Group api.PrincipalID = "a0000000-0000-4000-8000-0000000009a0"
)

func (b *builder) edit(env api.EnvName, flow api.FlowName, fn func(f *model.Flow)) {
	f := b.envs[env][flow]
	fn(&f)
	f.Meta.LastModifiedTime = Start.Add(time.Duration(len(b.steps)) * time.Hour).Format(time.RFC3339)
	b.envs[env][flow] = f
}

var script = []scriptStep{
	{"Backup of 2 environments: 5 flows", func(b *builder) map[string]string {
		b.envs[Dev][Invoice] = newFlow(Dev, Invoice, "Invoice approval", api.StateStarted, Dana)
		b.envs[Dev][Sales] = newFlow(Dev, Sales, "Sales report", api.StateStarted, Dana)
		b.envs[Dev][Nightly] = newFlow(Dev, Nightly, "Nightly sync", api.StateStopped, Lee)
		b.envs[Dev][Hostile] = newFlow(Dev, Hostile, HostileName, api.StateStarted, Lee)
		b.envs[Prod][ProdFlow] = newFlow(Prod, ProdFlow, "Invoice approval", api.StateStarted, Dana)
		return nil
	}},
	{"Backup: 2 changed", func(b *builder) map[string]string {
		b.edit(Dev, Invoice, func(f *model.Flow) { f.Definition = def("Compose", "Send_email") })
		b.edit(Dev, Sales, func(f *model.Flow) { f.Meta.DisplayName = "Sales report (EU)" })
		return nil
	}},
	{"Backup: 2 changed", func(b *builder) map[string]string {
		b.edit(Dev, Nightly, func(f *model.Flow) {
			f.Permissions = append(f.Permissions,
				model.Permission{Principal: Dana, Type: "User", Role: api.RoleCanEdit},
				model.Permission{Principal: Group, Type: "Group", Role: api.RoleCanView})
			model.SortPermissions(f.Permissions)
		})
		b.edit(Dev, Hostile, func(f *model.Flow) { f.Meta.State = api.StateStopped })
		return nil
	}},
	{"Links dev -> prod", func(b *builder) map[string]string {
		return map[string]string{"links/" + string(Dev) + "/" + string(Prod) + ".json": "{\n  \"" + string(Invoice) + "\": \"" + string(ProdFlow) + "\"\n}\n"}
	}},
	{"Backup: 2 changed", func(b *builder) map[string]string {
		b.edit(Dev, Sales, func(f *model.Flow) { f.Meta.State = api.StateDeleted })
		b.edit(Dev, Invoice, func(f *model.Flow) { f.Connections[0].Connection = "shared-office365-0002" })
		return nil
	}},
	{"Backup: 1 added, 1 removed", func(b *builder) map[string]string {
		delete(b.envs[Dev], Sales)
		b.envs[Dev][NewSales] = newFlow(Dev, NewSales, "Sales report", api.StateStarted, Dana)
		return nil
	}},
	{"Backup: 1 added", func(b *builder) map[string]string {
		b.envs[Dev][Record] = model.Flow{
			Key:  model.Key{Env: Dev, Flow: Record},
			Meta: model.Meta{DisplayName: "Old cleanup", State: api.StateDeleted, LastModifiedTime: "2025-01-01T00:00:00Z"},
		}
		return nil
	}},
	{"Backup: 1 changed", func(b *builder) map[string]string {
		f := newFlow(Dev, Record, "Old cleanup", api.StateStopped, Lee)
		b.envs[Dev][Record] = f
		return nil
	}},
	{"Backup: prod changed", func(b *builder) map[string]string {
		b.edit(Prod, ProdFlow, func(f *model.Flow) { f.Definition = def("Compose", "Approve") })
		return nil
	}},
	{"Backup: environment renamed", func(b *builder) map[string]string {
		b.names[Dev] = "Contoso Dev"
		return nil
	}},
}

func (b *builder) step(ctx context.Context, s scriptStep, at time.Time) (plumbing.Hash, error) {
	extra := s.change(b)
	head, err := b.r.Head(ctx, "main")
	if err != nil {
		return plumbing.ZeroHash, err
	}
	bl, err := b.r.NewBuilder(ctx, head)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if err := bl.Put(model.RootFileName, model.RootFile()); err != nil {
		return plumbing.ZeroHash, err
	}
	for _, env := range slices.Sorted(maps.Keys(b.envs)) {
		dir, _ := model.EnvDir(env)
		if err := bl.ReplaceSubtree(dir); err != nil {
			return plumbing.ZeroHash, err
		}
		e := model.Environment{Name: env, DisplayName: b.names[env], Location: "europe", Sku: "Production"}
		ef, err := model.EnvironmentFile(e)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		if err := bl.Put(dir+"/"+model.EnvironmentFileName, ef); err != nil {
			return plumbing.ZeroHash, err
		}
		for _, name := range slices.Sorted(maps.Keys(b.envs[env])) {
			f := b.envs[env][name]
			fdir, err := model.FlowDir(env, name)
			if err != nil {
				return plumbing.ZeroHash, err
			}
			files, err := flowFiles(f)
			if err != nil {
				return plumbing.ZeroHash, err
			}
			for _, n := range slices.Sorted(maps.Keys(files)) {
				if err := bl.Put(fdir+"/"+n, files[n]); err != nil {
					return plumbing.ZeroHash, err
				}
			}
		}
		// No README.md: readers ignore it, and its layout is not this
		// fixture's business (commit hashes stay put when it changes).
	}
	for _, p := range slices.Sorted(maps.Keys(extra)) {
		if err := bl.Put(p, []byte(extra[p])); err != nil {
			return plumbing.ZeroHash, err
		}
	}
	sig := Author
	sig.When = at
	res, err := bl.Commit(ctx, repo.CommitOptions{Branch: "main", Message: s.subject, Author: sig})
	if err != nil {
		return plumbing.ZeroHash, err
	}
	return res.Commit, nil
}

// flowFiles is model.Files, or flow.json alone for a record.
func flowFiles(f model.Flow) (map[string][]byte, error) {
	if f.Definition == nil {
		// Files needs a definition; keep only its canonical flow.json.
		full := f
		full.Definition = json.RawMessage(`{}`)
		files, err := model.Files(full)
		if err != nil {
			return nil, err
		}
		return map[string][]byte{model.FlowFileName: files[model.FlowFileName]}, nil
	}
	return model.Files(f)
}
