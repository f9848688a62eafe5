package sync

import (
	"context"
	"fmt"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/flowsync/flowsync/diff"
	"github.com/flowsync/flowsync/history"
	"github.com/flowsync/flowsync/importer"
	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/model"
	"github.com/flowsync/flowsync/internal/secrets"
	"github.com/flowsync/flowsync/repo"
)

// RestoreOptions configure Restore.
type RestoreOptions struct {
	// Branch is the branch read (default main); links go there.
	Branch string
	// Rev is the revision to restore to; or, when At is set, the point in
	// time (the last backup of Env made at or before it). One of the two.
	Rev string
	At  time.Time
	// Env is the environment of the tree (name or display name).
	Env string
	// To is the live environment to restore into; "" is Env itself.
	To string
	// MapFile maps connections and principals for another environment
	// ("" for none: the same environment rebinds its own connections).
	MapFile string
	// Flows limits the restore to these flows (GUID or display name).
	Flows []string
	// Prune deletes flows the tree at Rev does not have (created later).
	Prune bool
	// Identities open the tree's secrets.age; Secrets supply values.
	Identities []age.Identity
	Secrets    map[api.FlowName]secrets.Values
	// Identity is who restores (from its token). Restoring from the
	// recycle bin needs the admin role.
	Identity   importer.Identity
	KeepAccess bool
	// DryRun stops after the plan and its cost.
	DryRun   bool
	Limits   importer.Limits
	Confirm  func(ctx context.Context, p *diff.Plan) error
	Reporter importer.Reporter
	Author   repo.Signature
}

// RestoreResult is what Restore did.
type RestoreResult struct {
	*PromoteResult
	// Commit is the revision restored to: with At, the commit chosen.
	Commit repo.CommitInfo
	// Settled is the second pass over flows restored from the recycle
	// bin (their permissions, unknown while they were deleted); nil when
	// there were none.
	Settled *importer.Result
	// Health says, after the apply, how each flow was restored and whether
	// it is as the tree says (empty for a dry run or a plan not applied).
	Health []FlowHealth
}

// How a flow was restored (FlowHealth.How).
const (
	HowRecycleBin = "recycleBin" // Restore Deleted Flow: same id, run history kept
	HowRecreated  = "recreated"  // created again from the tree, a new id (linked)
	HowUpdated    = "updated"    // it existed and differed
	HowUnchanged  = "unchanged"  // it was as the tree says
	HowDeleted    = "deleted"    // --prune: created after the revision
	HowLeftAlone  = "leftAlone"  // created after the revision, no --prune
)

// FlowHealth is one flow after a restore.
type FlowHealth struct {
	Source      model.Key `json:"source"`
	Target      model.Key `json:"target"`
	DisplayName string    `json:"displayName"`
	How         string    `json:"how"`
	// Want is the state the tree gives it; State what the service reports
	// after the restore ("" for a deleted flow).
	Want  string `json:"want,omitempty"`
	State string `json:"state,omitempty"`
	// Failed is true when a step failed; Problem says why (the service's
	// reason), also for a flow that could not be turned on.
	Failed  bool   `json:"failed,omitempty"`
	Problem string `json:"problem,omitempty"`
}

// OK reports whether the flow is as the tree says.
func (h FlowHealth) OK() bool { return !h.Failed && h.Problem == "" }

// Healthy reports whether every flow is as the tree says.
func (r *RestoreResult) Healthy() bool {
	for _, h := range r.Health {
		if !h.OK() {
			return false
		}
	}
	return r.PromoteResult == nil || r.Failed() == 0
}

// Restore brings a live environment back to the tree of one of its
// backups: the promotion path with the tree's own environment as the
// source (same environment: flows pair by name, and the recycle bin is
// used), or, with To, another environment (a fresh one after a loss, with a
// mapping file). Per flow: a flow deleted and still in the recycle bin is
// restored (same id, back Stopped) and then updated; a flow that is gone is
// created again and linked; one that differs is updated; then connections
// are bound, owners and run-only users set, and states set as in the tree,
// children first. Flows created after the revision are left alone unless
// Prune. Afterwards the live environment is read again for the health
// report. The caller holds the repository's lock.
func (e *Engine) Restore(ctx context.Context, o RestoreOptions) (*RestoreResult, error) {
	if e.Live == nil {
		return nil, fmt.Errorf("restore needs a live environment: no client")
	}
	if o.Branch == "" {
		o.Branch = "main"
	}
	commit, env, err := e.RestorePoint(ctx, o)
	if err != nil {
		return nil, err
	}
	to := o.To
	if to == "" {
		to = string(env.Name)
	}
	po := PromoteOptions{
		PlanOptions: PlanOptions{
			Branch:     o.Branch,
			Rev:        commit.Hash.String(),
			From:       string(env.Name),
			To:         to,
			MapFile:    o.MapFile,
			Flows:      o.Flows,
			State:      string(diff.StateSource),
			Prune:      o.Prune,
			Identities: o.Identities,
			Secrets:    o.Secrets,
			// The recycle bin is listed to admins only; without it a
			// deleted flow is recreated instead.
			IncludeDeleted: e.Live.Admin,
		},
		Identity:   o.Identity,
		KeepAccess: o.KeepAccess,
		DryRun:     o.DryRun,
		Limits:     o.Limits,
		Confirm:    o.Confirm,
		Reporter:   o.Reporter,
		Author:     o.Author,
	}
	res, err := e.Promote(ctx, po)
	out := &RestoreResult{PromoteResult: res, Commit: commit}
	if err != nil || res == nil || !res.Applied {
		return out, err
	}
	// A flow restored from the recycle bin was planned from its summary,
	// which has no permissions: it comes back with the owners and run-only
	// users it had when it was deleted, which the plan could not see.
	// Plan those flows again, now that they are live, and apply that.
	// Uncertain: CONTRACT has no way to read a soft-deleted flow's
	// permissions, and does not say whether a restored flow keeps them;
	// planning again after the restore is right either way.
	if again := fromRecycleBin(res); len(again) > 0 {
		po.Flows, po.Prune, po.Confirm = again, false, nil
		settle, err := e.Promote(ctx, po)
		if settle != nil {
			out.Settled = settle.Result
		}
		if err != nil {
			return out, fmt.Errorf("flows restored from the recycle bin: setting their owners and run-only users: %w", err)
		}
	}
	if out.Health, err = e.health(ctx, res, out.Settled); err != nil {
		return out, fmt.Errorf("the restore is applied, but reading the environment back for the health report failed: %w", err)
	}
	return out, nil
}

// RestorePoint says which backup a restore with these options goes back
// to (for At: the last commit at or before it that changed the
// environment) and which environment of the tree it restores, without
// reading the service, so that a caller can say so before the plan.
func (e *Engine) RestorePoint(ctx context.Context, o RestoreOptions) (repo.CommitInfo, model.Environment, error) {
	if o.Branch == "" {
		o.Branch = "main"
	}
	if o.Rev != "" && !o.At.IsZero() {
		return repo.CommitInfo{}, model.Environment{}, fmt.Errorf("restore: give a revision or a time, not both")
	}
	head, err := ResolveRev(ctx, e.Repo, "", o.Branch)
	if err != nil {
		return repo.CommitInfo{}, model.Environment{}, err
	}
	env, err := ResolveTreeEnv(ctx, e.Repo, head, o.Env)
	if err != nil {
		return repo.CommitInfo{}, model.Environment{}, err
	}
	if !o.At.IsZero() {
		c, err := history.At(ctx, e.Repo, o.Branch, env.Name, o.At)
		return c, env, err
	}
	h, err := ResolveRev(ctx, e.Repo, o.Rev, o.Branch)
	if err != nil {
		return repo.CommitInfo{}, model.Environment{}, err
	}
	c, err := e.Repo.Commit(ctx, h)
	return c, env, err
}

// health reads the target's flows again and says, per change of the plan,
// how the flow was restored and whether it is now as the tree says.
func (e *Engine) health(ctx context.Context, res *PromoteResult, settled *importer.Result) ([]FlowHealth, error) {
	live, err := e.Live.ListFlows(ctx, res.TargetEnv, false)
	if err != nil {
		return nil, err
	}
	state := make(map[api.FlowName]string, len(live))
	for _, f := range live {
		state[f.Name] = f.Properties.State
	}
	results := map[model.Key]importer.FlowResult{}
	if res.Result != nil {
		for _, r := range res.Result.Flows {
			if r.Source != (model.Key{}) {
				results[r.Source] = r
			} else {
				results[r.Target] = r
			}
		}
	}
	// A failure of the second pass is the flow's failure.
	if settled != nil {
		for _, r := range settled.Flows {
			if r.Err != nil {
				results[r.Source] = r
			}
		}
	}
	var out []FlowHealth
	for _, ch := range res.Plan.Changes {
		h := FlowHealth{Source: ch.Source, Target: ch.Target, DisplayName: ch.DisplayName}
		key := ch.Source
		if key == (model.Key{}) {
			key = ch.Target
		}
		r, ran := results[key]
		if ran && r.Target.Flow != "" {
			h.Target = r.Target
		}
		switch ch.Action {
		case diff.Restore:
			h.How = HowRecycleBin
		case diff.Create:
			h.How = HowRecreated
		case diff.Update:
			h.How = HowUpdated
		case diff.Unchanged:
			h.How = HowUnchanged
		case diff.Delete:
			h.How = HowDeleted
		case diff.Extra:
			h.How = HowLeftAlone
		default:
			h.How = string(ch.Action)
		}
		if ran && r.Err != nil {
			h.Failed = true
			h.Problem = r.Err.Error()
		}
		if ch.Action == diff.Delete || ch.Action == diff.Extra {
			h.State = state[h.Target.Flow]
			out = append(out, h)
			continue
		}
		if ch.Desired != nil {
			h.Want = wantState(ch)
		}
		if h.Target.Flow != "" {
			s, ok := state[h.Target.Flow]
			switch {
			case !ok && !h.Failed:
				h.Problem = fmt.Sprintf("flow %s is not in the environment after the restore", h.Target.Flow)
			case ok:
				h.State = s
			}
		}
		if h.Problem == "" && h.Want != "" && h.State != "" && h.State != h.Want {
			if h.Want == api.StateStarted {
				h.Problem = fmt.Sprintf("the service left it %s", h.State)
			} else {
				h.Problem = fmt.Sprintf("it is %s, the tree says %s", h.State, h.Want)
			}
		}
		out = append(out, h)
	}
	return out, nil
}

// wantState is the state the plan gives a flow: its state change's target,
// or (unchanged) the desired flow's own state. Suspended is the service's
// verdict and is not asked for.
func wantState(ch diff.Change) string {
	if ch.Parts.State != nil && ch.Parts.State.To != "" {
		return ch.Parts.State.To
	}
	s := ch.Desired.Meta.State
	if s == api.StateSuspended || strings.TrimSpace(s) == "" {
		return ""
	}
	return s
}

// fromRecycleBin lists the source flows the plan restored from the recycle
// bin without a failure.
func fromRecycleBin(res *PromoteResult) []string {
	failed := map[model.Key]bool{}
	if res.Result != nil {
		for _, r := range res.Result.Flows {
			if r.Err != nil {
				failed[r.Source] = true
			}
		}
	}
	var out []string
	for _, ch := range res.Plan.Changes {
		if ch.Action == diff.Restore && !failed[ch.Source] {
			out = append(out, string(ch.Source.Flow))
		}
	}
	return out
}
