package sync

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"filippo.io/age"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/flowsync/flowsync/diff"
	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/model"
	"github.com/flowsync/flowsync/internal/secrets"
	"github.com/flowsync/flowsync/mapping"
	"github.com/flowsync/flowsync/repo"
)

// ErrPlanProblems is returned (wrapped) when a plan has problems: nothing
// was written. The plan itself is still returned for display.
var ErrPlanProblems = errors.New("the plan has problems; nothing was written")

// PlanOptions say what to compare: the tree's environment From at Rev
// (default: the head of Branch) as desired, mapped for To, against To live,
// or against the tree at ToRev when ToRev is set (no API call at all).
type PlanOptions struct {
	Branch string
	Rev    string
	From   string
	To     string
	// ToRev compares with the tree at this revision instead of the live
	// environment To (To defaults to From).
	ToRev string
	// MapFile is the mapping file ("" for none: everything auto-maps).
	MapFile string
	// Flows selects source flows by GUID or display name (all when empty).
	Flows []string
	// State is the state mode: source (default), on, off or preserve.
	State string
	Prune bool
	// Links are explicit --link SRC=DST pairs (flow GUIDs).
	Links map[api.FlowName]api.FlowName
	// Keep is the importing identity: its access is never removed.
	Keep api.PrincipalID
	// Identities open the tree's secrets.age files (--identity).
	Identities []age.Identity
	// Secrets are values supplied per source flow (--secrets FILE), over
	// those opened from secrets.age.
	Secrets map[api.FlowName]secrets.Values
	// IncludeDeleted also reads the target's soft-deleted flows (admin;
	// restore needs them).
	IncludeDeleted bool
}

// Planned is a plan with what was read to make it.
type Planned struct {
	Plan diff.Plan
	// Source is the tree's environment at the revision read.
	Source *Snapshot
	// TargetEnv is the target environment's name.
	TargetEnv api.EnvName
	// Live is true when the target is a live environment.
	Live bool
	// Secrets are the values available per source flow (opened and supplied).
	Secrets map[api.FlowName]secrets.Values
	// Links are the stored links used (source -> target).
	Links map[api.FlowName]api.FlowName
	// Head is the branch head the links were read from.
	Head plumbing.Hash
}

// Engine runs the jobs on one repository and, for live targets, one
// client. It is used by one goroutine (the repository is).
type Engine struct {
	Repo *repo.Repo
	// Live reads live environments; nil when only trees are compared.
	Live *Live
}

// MakePlan reads both sides and returns the plan. Problems of the mapping
// file and of the plan are in Plan.Problems; the error is for failures to
// read (repository, service, files).
func (e *Engine) MakePlan(ctx context.Context, o PlanOptions) (*Planned, error) {
	if o.Branch == "" {
		o.Branch = "main"
	}
	snap, err := LoadTreeEnv(ctx, e.Repo, o.Rev, o.Branch, o.From)
	if err != nil {
		return nil, err
	}
	values, err := openSecrets(snap, o.Identities, o.Secrets)
	if err != nil {
		return nil, err
	}
	p := &Planned{Source: snap, Secrets: values}
	source := diff.Side{Env: snap.Env.Name, Rev: snap.Commit.String()}
	mf, err := mapping.Load(o.MapFile)
	if err != nil {
		var me *mapping.Error
		if errors.As(err, &me) {
			// A mapping file that does not parse: its problems (with
			// file:line) are the plan; nothing else can be planned.
			p.Plan = diff.Plan{Source: source, Problems: me.Problems}
			return p, nil
		}
		return nil, err
	}

	var t planTarget
	if o.ToRev != "" {
		var done bool
		if t, done, err = e.treeTarget(ctx, o, p); err != nil {
			return nil, err
		}
		if done {
			return p, nil
		}
	} else if t, err = e.liveTarget(ctx, o, p, mf); err != nil {
		return nil, err
	}
	sameEnv := p.TargetEnv == snap.Env.Name
	t.inv.SameEnv = sameEnv

	if p.Head, err = e.Repo.Head(ctx, o.Branch); err != nil {
		return nil, err
	}
	// In the same environment the links are those a restore made when it
	// recreated a flow that was gone (links/<env>/<env>.json).
	if p.Links, err = ReadLinks(ctx, e.Repo, p.Head, snap.Env.Name, p.TargetEnv); err != nil {
		return nil, err
	}
	// Only the selected flows are mapped and read: an unselected flow's
	// unmapped connection must not stop the import of the others.
	chosen := selectFlows(snap.Flows, o.Flows)
	if p.Live {
		summaries, err := e.Live.ListFlows(ctx, p.TargetEnv, o.IncludeDeleted)
		if err != nil {
			return nil, err
		}
		want := candidates(chosen, p.Links, o.Links, sameEnv, o.Prune)
		if t.actual, err = e.Live.ReadFlows(ctx, p.TargetEnv, summaries, want); err != nil {
			return nil, err
		}
	}

	mode, err := diff.ParseStateMode(o.State)
	if err != nil {
		return nil, err
	}
	res, problems := mapping.Resolve(mf, chosen, t.inv)
	in := diff.Input{
		Source:   source,
		Target:   t.side,
		Desired:  mapFlows(res, chosen),
		Actual:   t.actual,
		Links:    p.Links,
		Explicit: o.Links,
		Prune:    o.Prune,
		State:    mode,
		Keep:     o.Keep,
		Selected: o.Flows,
		SameEnv:  sameEnv,
		Secrets:  values,
		Problems: problems,
	}
	if res != nil {
		in.Bindings = res
	}
	p.Plan = diff.Make(in)
	if t.warning != nil {
		p.Plan.Warnings = append(p.Plan.Warnings, *t.warning)
	}
	return p, nil
}

// planTarget is what MakePlan knows of the target before it pairs.
type planTarget struct {
	side diff.Side
	// actual are the target's flows: from the tree, or (live) read once
	// the links say which are needed.
	actual  []model.Flow
	inv     mapping.Inventory
	warning *diff.Problem
}

// treeTarget reads the target from the tree at ToRev. Two backups of the
// source environment need no mapping: the plan is what changed from Rev to
// ToRev, every stored field compared, and it is complete (done).
func (e *Engine) treeTarget(ctx context.Context, o PlanOptions, p *Planned) (planTarget, bool, error) {
	to := o.To
	if to == "" {
		to = o.From
	}
	toSnap, err := LoadTreeEnv(ctx, e.Repo, o.ToRev, o.Branch, to)
	if err != nil {
		return planTarget{}, false, err
	}
	p.TargetEnv = toSnap.Env.Name
	side := diff.Side{Env: toSnap.Env.Name, Rev: toSnap.Commit.String()}
	if toSnap.Env.Name == p.Source.Env.Name {
		from, to := selectFlows(p.Source.Flows, o.Flows), selectFlows(toSnap.Flows, o.Flows)
		plan := diff.Plan{
			Source:  diff.Side{Env: p.Source.Env.Name, Rev: p.Source.Commit.String()},
			Target:  side,
			Changes: withUnchanged(diff.Diff(from, to), from, to),
		}
		plan.Sort()
		p.Plan = plan
		return planTarget{}, true, nil
	}
	return planTarget{side: side, actual: liveOnly(toSnap.Flows), inv: treeInventory(toSnap.Flows)}, false, nil
}

// withUnchanged adds an Unchanged change for each flow in both trees that
// diff.Diff left out (it reports differences only), so that the plan's
// summary counts them as a plan against a live target does, instead of
// saying "0 unchanged" about two equal trees.
func withUnchanged(changes []diff.Change, from, to []model.Flow) []diff.Change {
	changed := map[model.Key]bool{}
	for _, c := range changes {
		changed[c.Source], changed[c.Target] = true, true
	}
	in := map[model.Key]bool{}
	for _, f := range from {
		in[f.Key] = true
	}
	for i := range to {
		f := &to[i]
		if in[f.Key] && !changed[f.Key] {
			changes = append(changes, diff.Change{Action: diff.Unchanged, Source: f.Key, Target: f.Key,
				DisplayName: f.Meta.DisplayName, Link: diff.LinkSame, Desired: f, Actual: f})
		}
	}
	return changes
}

// liveTarget finds the live target environment and reads what mapping
// needs of it (connections, principals) for the selected flows.
func (e *Engine) liveTarget(ctx context.Context, o PlanOptions, p *Planned, mf *mapping.File) (planTarget, error) {
	if e.Live == nil {
		return planTarget{}, fmt.Errorf("comparing with a live environment needs a client")
	}
	if o.To == "" {
		return planTarget{}, fmt.Errorf("no target environment given")
	}
	env, err := e.Live.Environment(ctx, o.To)
	if err != nil {
		return planTarget{}, err
	}
	p.TargetEnv, p.Live = env.Name, true
	inv, warning, err := e.liveInventory(ctx, env.Name, mf, selectFlows(p.Source.Flows, o.Flows))
	if err != nil {
		return planTarget{}, err
	}
	return planTarget{side: diff.Side{Env: env.Name, Live: true}, inv: inv, warning: warning}, nil
}

// mapFlows applies the mapping's bindings (nil: none) to the flows.
func mapFlows(res *mapping.Resolution, flows []model.Flow) []model.Flow {
	out := make([]model.Flow, 0, len(flows))
	for _, f := range flows {
		if res != nil {
			f = res.Apply(f)
		}
		out = append(out, f)
	}
	return out
}

// openSecrets decrypts each flow's secrets.age with the identities given
// and lays the supplied values over them.
func openSecrets(snap *Snapshot, ids []age.Identity, supplied map[api.FlowName]secrets.Values) (map[api.FlowName]secrets.Values, error) {
	out := map[api.FlowName]secrets.Values{}
	if len(ids) > 0 {
		names := slices.Sorted(maps.Keys(snap.Sealed))
		for _, name := range names {
			v, err := secrets.Open(snap.Sealed[name], ids)
			if err != nil {
				return nil, fmt.Errorf("open %s/%s/%s with --identity: %w", model.FlowsDir, name, model.SecretsFileName, err)
			}
			out[name] = v
		}
	}
	for name, vs := range supplied {
		n, err := model.CanonicalFlowName(name)
		if err != nil {
			return nil, fmt.Errorf("secrets for flow %q: %w", name, err)
		}
		if err := checkSupplied(snap, n, vs); err != nil {
			return nil, err
		}
		if out[n] == nil {
			out[n] = secrets.Values{}
		}
		maps.Copy(out[n], vs)
	}
	return out, nil
}

// checkSupplied refuses supplied values at paths where the flow has no
// placeholder: a misspelt path would otherwise be ignored without a word,
// and the maker believe a secret was set. Flows that are not in this
// environment of the tree are left alone (one file may serve several
// environments). Errors name the paths, never a value.
func checkSupplied(snap *Snapshot, name api.FlowName, vs secrets.Values) error {
	i := slices.IndexFunc(snap.Flows, func(f model.Flow) bool { return f.Key.Flow == name })
	if i < 0 || len(vs) == 0 {
		return nil
	}
	files, err := model.Files(snap.Flows[i])
	if err != nil {
		return fmt.Errorf("secrets for flow %s: %w", name, err)
	}
	have := map[string]bool{}
	for _, data := range files {
		if !strings.Contains(string(data), secrets.PlaceholderPrefix) {
			continue
		}
		paths, err := secrets.Placeholders(data)
		if err != nil {
			continue // not JSON: the plan reports its placeholders as unresolved
		}
		for _, p := range paths {
			have[p] = true
		}
	}
	var unknown []string
	for _, p := range vs.Paths() {
		if !have[p] {
			unknown = append(unknown, p)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	known := slices.Sorted(maps.Keys(have))
	if len(known) == 0 {
		known = []string{"none"}
	}
	return fmt.Errorf("--secrets: flow %s (%q) has no redacted secret at %s: use the paths of its placeholders (<redacted:flowsync:PATH>): %s",
		name, snap.Flows[i].Meta.DisplayName, strings.Join(unknown, ", "), strings.Join(known, ", "))
}

// selectFlows keeps the flows a --flow selector names (flow GUID in any
// case, or exact display name); no selectors keep all. Selectors that
// match nothing or several are reported by the planner (diff.Make).
func selectFlows(fs []model.Flow, selectors []string) []model.Flow {
	if len(selectors) == 0 {
		return fs
	}
	var out []model.Flow
	for _, f := range fs {
		for _, s := range selectors {
			if strings.EqualFold(string(f.Key.Flow), s) || f.Meta.DisplayName == s {
				out = append(out, f)
				break
			}
		}
	}
	return out
}

// candidates says which target flows must be read in full: those a source
// flow can pair with (linked, same name, same display name) and, with
// prune, all (a deletion is shown with what it deletes). Others are only
// extra and their listing entry is enough, which spares two reads each.
func candidates(src []model.Flow, stored, explicit map[api.FlowName]api.FlowName, sameEnv, prune bool) func(api.Flow) bool {
	if prune {
		return nil
	}
	names := map[api.FlowName]bool{}
	display := map[string]bool{}
	for _, f := range src {
		if sameEnv {
			names[f.Key.Flow] = true
		}
		display[foldName(f.Meta.DisplayName)] = true
	}
	for _, t := range stored {
		names[t] = true
	}
	for _, t := range explicit {
		names[t] = true
	}
	return func(f api.Flow) bool {
		return names[f.Name] || display[foldName(f.Properties.DisplayName)]
	}
}

// foldName is deliberately looser than any display-name match the planner
// makes, so that every possible match is read.
func foldName(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// liveOnly drops soft-deleted records of a target tree: they are not in
// the live environment.
func liveOnly(fs []model.Flow) []model.Flow {
	var out []model.Flow
	for _, f := range fs {
		if f.Meta.State != api.StateDeleted {
			out = append(out, f)
		}
	}
	return out
}

// InitMapping writes a starter mapping file for importing the tree's
// environment From (at Rev) into the live environment To: unique matches
// filled in, ambiguous ones as comments listing the candidates.
func (e *Engine) InitMapping(ctx context.Context, o PlanOptions) ([]byte, error) {
	if o.Branch == "" {
		o.Branch = "main"
	}
	if e.Live == nil {
		return nil, fmt.Errorf("a mapping needs the live target's inventory: no client")
	}
	snap, err := LoadTreeEnv(ctx, e.Repo, o.Rev, o.Branch, o.From)
	if err != nil {
		return nil, err
	}
	srcEnv := snap.Env
	env, err := e.Live.Environment(ctx, o.To)
	if err != nil {
		return nil, err
	}
	inv, _, err := e.liveInventory(ctx, env.Name, &mapping.File{}, snap.Flows)
	if err != nil {
		return nil, err
	}
	inv.SameEnv = env.Name == srcEnv.Name
	return mapping.Init(liveOnly(snap.Flows), inv), nil
}
