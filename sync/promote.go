package sync

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/flowsync/flowsync/diff"
	"github.com/flowsync/flowsync/export"
	"github.com/flowsync/flowsync/importer"
	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/model"
	"github.com/flowsync/flowsync/repo"
)

// ErrDeclined is returned when Confirm said no: nothing was written.
var ErrDeclined = errors.New("import declined; nothing was written")

// PromoteOptions configure Promote.
type PromoteOptions struct {
	PlanOptions
	// Identity is the importing identity (from its token).
	Identity importer.Identity
	// KeepAccess keeps an admin's self-granted CanEdit.
	KeepAccess bool
	// DryRun stops after the plan and its cost.
	DryRun bool
	// Limits are the pacer's limits, for the cost estimate.
	Limits importer.Limits
	// Confirm is asked, with the plan and its cost, before the first
	// write; an error (ErrDeclined) stops the import. Nil: go ahead.
	Confirm func(ctx context.Context, p *diff.Plan) error
	// Reporter hears the importer's progress; nil hears nothing.
	Reporter importer.Reporter
	// Author signs the links commits (zero: the bot).
	Author repo.Signature
	// Push, when set, sends the branch (with the new links) afterwards.
	Push *repo.PushOptions
}

// PromoteResult is what Promote did.
type PromoteResult struct {
	*Planned
	// Applied is false for a dry run, a declined import and a plan with
	// problems.
	Applied bool
	Result  *importer.Result
	// LinkCommits counts the commits that recorded links.
	LinkCommits int
	Pushed      *repo.PushResult
	// Recovered says what was settled from an interrupted import's journal.
	Recovered []string
}

// Failed reports whether some flow failed.
func (r *PromoteResult) Failed() int {
	if r == nil || r.Result == nil {
		return 0
	}
	return r.Result.Failed()
}

// JournalPath is where the journal of an import from one environment to
// another lives: in the Git directory, never in the tree, so that it is
// neither committed nor pushed and every clone has its own.
func JournalPath(rp *repo.Repo, from, to string) string {
	return filepath.Join(rp.GitDir(), "flowsync", "import-"+from+"-"+to+".journal")
}

// Promote makes the live environment To equal to the tree's environment
// From (mapped): plan, validate, cost, confirm, apply, record links, push.
// A plan with problems writes nothing and returns ErrPlanProblems. The
// caller holds the repository's lock.
func (e *Engine) Promote(ctx context.Context, o PromoteOptions) (*PromoteResult, error) {
	if o.ToRev != "" {
		return nil, fmt.Errorf("an import needs a live target environment, not a revision")
	}
	if o.Branch == "" {
		o.Branch = "main"
	}
	if o.Keep == "" {
		o.Keep = o.Identity.ID
	}
	if o.Author.Name == "" {
		o.Author.Name, o.Author.Email = export.DefaultAuthor.Name, export.DefaultAuthor.Email
	}
	// A run killed while it committed a link may have left the working
	// tree's links/ behind the branch: bring it back in step first.
	if _, err := e.Repo.RepairWorktree(ctx, o.Branch, []string{LinksDir}); err != nil {
		return nil, err
	}
	// An interrupted import left a journal: settle it before planning, so
	// that a flow whose create answer was lost pairs by its link, never by
	// a display name that could match twice.
	recovered, err := e.recover(ctx, o)
	if err != nil {
		return nil, err
	}
	planned, err := e.MakePlan(ctx, o.PlanOptions)
	if err != nil {
		return nil, err
	}
	out := &PromoteResult{Planned: planned, Recovered: recovered}
	// The cost, and a warning for each flow an admin must grant itself
	// access to, go into the plan before anyone sees it.
	if err := importer.Annotate(&planned.Plan, o.Identity, o.Limits, o.KeepAccess); err != nil {
		return out, err
	}
	if len(planned.Plan.Problems) > 0 {
		return out, fmt.Errorf("%w (%d problem(s))", ErrPlanProblems, len(planned.Plan.Problems))
	}
	if o.DryRun {
		return out, nil
	}
	if o.Identity.App && HasWork(planned.Plan) {
		return out, importer.ErrAppIdentity
	}
	if o.Confirm != nil && HasWork(planned.Plan) {
		if err := o.Confirm(ctx, &planned.Plan); err != nil {
			return out, err
		}
	}
	links, err := OpenLinkStore(ctx, e.Repo, o.Branch, planned.Source.Env.Name, planned.TargetEnv, o.Author)
	if err != nil {
		return out, err
	}
	// The importer's journal holds each new pairing until the importer
	// flushes the links: one commit for the creates, not one a flow.
	links.Buffer()
	journal := JournalPath(e.Repo, string(planned.Source.Env.Name), string(planned.TargetEnv))
	if err := os.MkdirAll(filepath.Dir(journal), 0o700); err != nil {
		return out, fmt.Errorf("journal directory: %w", err)
	}
	res, err := importer.Apply(ctx, e.Live.Client, planned.Plan, importer.Options{
		Identity:   o.Identity,
		Links:      links,
		Journal:    journal,
		Secrets:    importer.SecretValues(planned.Secrets),
		KeepAccess: o.KeepAccess,
		Reporter:   o.Reporter,
	})
	out.Result = &res
	out.Applied = true
	// Pairings the plan found (stored, explicit, by name) are links too:
	// record them so that a later rename in the source still finds its
	// target. The importer flushed the creates before it removed its
	// journal; after a failed Apply they are committed here with these
	// (and the kept journal could rebuild them).
	if lerr := links.RecordAll(ctx, planLinks(planned.Plan, res)); lerr != nil && err == nil {
		err = lerr
	}
	out.LinkCommits = links.Commits()
	if err != nil {
		return out, err
	}
	if o.Push != nil {
		po := *o.Push
		po.Branch = o.Branch
		if po.Rebuild == nil {
			// Units of replay: links/<from>/<to>.json and the files of
			// environments/<env>/ at that depth.
			po.Rebuild = e.Repo.UnpushedRebuilder(o.Branch, 3, repo.CommitOptions{
				Branch:  o.Branch,
				Message: fmt.Sprintf("Links %s -> %s, rebuilt on the remote branch", planned.Source.Env.Name, planned.TargetEnv),
				Author:  o.Author,
			})
		}
		pr, err := e.Repo.Push(ctx, po)
		if err != nil {
			return out, fmt.Errorf("the import is done and its links are committed locally, but the push failed (the next --push sends them): %w", err)
		}
		out.Pushed = &pr
	}
	return out, nil
}

// recover settles the journal an interrupted import of the same two
// environments left (nothing when there is none).
func (e *Engine) recover(ctx context.Context, o PromoteOptions) ([]string, error) {
	commit, err := ResolveRev(ctx, e.Repo, o.Rev, o.Branch)
	if err != nil {
		return nil, err
	}
	src, err := ResolveTreeEnv(ctx, e.Repo, commit, o.From)
	if err != nil {
		return nil, err
	}
	// No journal of an import from this environment: nothing to settle,
	// and no call to find the target's name.
	if m, _ := filepath.Glob(JournalPath(e.Repo, string(src.Name), "*")); len(m) == 0 {
		return nil, nil
	}
	dst, err := e.Live.Environment(ctx, o.To)
	if err != nil {
		return nil, err
	}
	journal := JournalPath(e.Repo, string(src.Name), string(dst.Name))
	if _, err := os.Stat(journal); err != nil {
		return nil, nil // no interrupted import
	}
	links, err := OpenLinkStore(ctx, e.Repo, o.Branch, src.Name, dst.Name, o.Author)
	if err != nil {
		return nil, err
	}
	notes, err := importer.Recover(ctx, e.Live.Client, importer.RecoverOptions{
		Journal: journal,
		Source:  diff.Side{Env: src.Name, Rev: commit.String()},
		Target:  diff.Side{Env: dst.Name, Live: true},
		Links:   links,
		Stored:  links.Links(),
	})
	if err != nil {
		return notes, fmt.Errorf("settle the interrupted import's journal %s: %w", journal, err)
	}
	return notes, nil
}

// HasWork reports whether a plan writes anything.
func HasWork(p diff.Plan) bool {
	for _, ch := range p.Changes {
		switch ch.Action {
		case diff.Unchanged, diff.Extra:
		default:
			return true
		}
	}
	return false
}

// planLinks are the source -> target pairs of the plan's paired changes
// that succeeded (or needed nothing).
func planLinks(p diff.Plan, res importer.Result) map[api.FlowName]api.FlowName {
	failed := map[model.Key]bool{}
	for _, f := range res.Flows {
		if f.Failed() {
			failed[f.Source] = true
		}
	}
	out := map[api.FlowName]api.FlowName{}
	for _, ch := range p.Changes {
		if ch.Source == (model.Key{}) || ch.Target == (model.Key{}) || failed[ch.Source] {
			continue
		}
		if ch.Link == diff.LinkSame || ch.Source.Env == ch.Target.Env {
			continue
		}
		switch ch.Action {
		case diff.Unchanged, diff.Update, diff.Restore:
			out[ch.Source.Flow] = ch.Target.Flow
		}
	}
	return out
}
