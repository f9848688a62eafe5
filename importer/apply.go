package importer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/flowsync/flowsync/diff"
	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/client"
	"github.com/flowsync/flowsync/internal/model"
)

// Apply carries out the plan on the live target environment p.Target.Env.
//
// It refuses, before any write, a plan with problems (ErrPlanProblems), a
// plan that creates or updates flows when the identity is an application
// (ErrAppIdentity), and a journal from another import (ErrJournalMismatch).
// After that one flow's failure does not stop the others: each is a
// FlowResult with its reason, and the error is nil. Apply returns an error
// again only for what stops everything: ctx ending (the journal is kept, so
// a rerun finishes the work) or the journal becoming unwritable.
func Apply(ctx context.Context, t Target, p diff.Plan, opts Options) (Result, error) {
	a := &applier{t: t, plan: p, opts: opts, env: p.Target.Env}
	res, err := a.run(ctx)
	if opts.Reporter != nil {
		opts.Reporter.Summary(res)
	}
	return res, err
}

// applier is one Apply run.
type applier struct {
	t    Target
	plan diff.Plan
	opts Options
	env  api.EnvName
	j    *journal
	res  Result

	// flows is what is known per source flow after its change ran (or
	// from the plan, for unchanged flows): its target and whether it is on.
	flows map[model.Key]*flowStatus
	// linked are the target flows a source flow is paired with (by the
	// plan or by this run): an ambiguous create never adopts one of them.
	linked map[api.FlowName]bool
	// adopted are target flows this run resolved an intent to; a Delete of
	// one of them (it looked extra to a plan made after a kill) is skipped.
	adopted map[api.FlowName]bool
	// identitySet are target flows on which this run gave the importing
	// identity the role the source wants: no temporary grant is undone there.
	identitySet map[api.FlowName]bool
}

type flowStatus struct {
	target api.FlowName
	on     bool
	failed bool
}

func (a *applier) run(ctx context.Context) (Result, error) {
	a.res.Flows = []FlowResult{}
	if err := a.check(); err != nil {
		return a.res, err
	}
	j, err := openJournal(a.opts.Journal, a.plan)
	if err != nil {
		return a.res, err
	}
	a.j = j
	if j.resumed() {
		a.res.Notes = append(a.res.Notes, fmt.Sprintf("resuming the import recorded in %s", a.opts.Journal))
	}
	a.index()
	if err := a.recordJournalLinks(ctx); err != nil {
		return a.res, err
	}
	// A flow the plan finds unchanged needs nothing from the journal.
	for _, ch := range a.plan.Changes {
		if ch.Action == diff.Unchanged {
			if err := a.j.forgetCreate(ch.Source); err != nil {
				return a.res, err
			}
		}
	}

	order, cyclic := a.order()
	for _, ch := range cyclic {
		if a.opts.Reporter != nil {
			a.opts.Reporter.FlowStarted(ch)
		}
		a.finish(ch, FlowResult{Action: ch.Action, Source: ch.Source, Target: ch.Target, DisplayName: ch.DisplayName,
			Err: fmt.Errorf("flow %s (%q) calls child flows that call it back: import them one at a time with --flow", ch.Source, ch.DisplayName)})
	}
	for _, ch := range order {
		if err := a.one(ctx, ch); err != nil {
			return a.res, err
		}
	}
	for _, ch := range a.plan.Changes {
		if ch.Action != diff.Delete {
			continue
		}
		if err := a.one(ctx, ch); err != nil {
			return a.res, err
		}
	}
	if err := a.revokeLeftovers(ctx); err != nil {
		return a.res, err
	}
	if f, ok := a.opts.Links.(LinkFlusher); ok {
		if err := f.Flush(ctx); err != nil {
			return a.res, fmt.Errorf("store the links of this import (its journal %s is kept; run again to store them): %w", a.opts.Journal, err)
		}
	}
	if err := a.j.finish(); err != nil {
		return a.res, err
	}
	return a.res, nil
}

// check refuses what must write nothing.
func (a *applier) check() error {
	if len(a.plan.Problems) > 0 {
		codes := make([]string, 0, len(a.plan.Problems))
		for _, pr := range a.plan.Problems {
			codes = append(codes, pr.Code)
		}
		slices.Sort(codes)
		return fmt.Errorf("import into env %s: %w (%s): fix them and plan again; nothing was written",
			a.env, ErrPlanProblems, strings.Join(slices.Compact(codes), ", "))
	}
	if a.plan.Target.Env == "" || !a.plan.Target.Live {
		return fmt.Errorf("import: the plan's target is not a live environment (env %q, rev %q): plans between two trees are for reading only", a.plan.Target.Env, a.plan.Target.Rev)
	}
	if a.opts.Identity.ID == "" {
		return errors.New("import: no importing identity (Options.Identity.ID): the importer needs it to keep its own access and find the flows it creates")
	}
	if a.opts.Identity.App {
		for _, ch := range a.plan.Changes {
			if ch.Action == diff.Create || ((ch.Action == diff.Update || ch.Action == diff.Restore) && needsPatch(ch)) {
				return fmt.Errorf("import into env %s as application %s: %w: the service refuses application (service principal) tokens for Create and Update Flow; sign in as a user who may create flows in the target (--auth devicecode or azcli, or a delegated token with --auth token); nothing was written",
					a.env, a.opts.Identity.ID, ErrAppIdentity)
			}
		}
	}
	return nil
}

// index learns the targets the plan already knows.
func (a *applier) index() {
	a.flows = map[model.Key]*flowStatus{}
	a.linked = map[api.FlowName]bool{}
	a.adopted = map[api.FlowName]bool{}
	a.identitySet = map[api.FlowName]bool{}
	for _, ch := range a.plan.Changes {
		if ch.Target.Flow != "" && ch.Action != diff.Extra && ch.Action != diff.Delete {
			a.linked[lowerFlow(ch.Target.Flow)] = true
		}
		if ch.Action == diff.Unchanged {
			st := &flowStatus{target: ch.Target.Flow}
			if ch.Actual != nil {
				st.on = ch.Actual.Meta.State == api.StateStarted
			} else if ch.Desired != nil {
				st.on = ch.Desired.Meta.State == api.StateStarted
			}
			a.flows[ch.Source] = st
		}
	}
	for _, e := range a.j.creates() {
		if e.Target != "" {
			a.linked[lowerFlow(e.Target)] = true
		}
	}
}

// recordJournalLinks records again the pairings a previous run finished
// but may not have got to the engine before it was stopped.
func (a *applier) recordJournalLinks(ctx context.Context) error {
	if a.opts.Links == nil {
		return nil
	}
	for _, e := range a.j.creates() {
		if e.Target == "" {
			continue
		}
		if err := a.opts.Links.Record(ctx, e.Source, model.Key{Env: a.env, Flow: e.Target}); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			a.res.Notes = append(a.res.Notes, fmt.Sprintf("could not record the link %s -> %s from the journal: %v", e.Source, e.Target, err))
			a.j.keep()
		}
	}
	return nil
}

// order sorts the changes that create, update or restore so that every
// child flow comes before its parents; it keeps the plan's order otherwise.
// Flows on a cycle of child calls are returned apart.
func (a *applier) order() (order, cyclic []diff.Change) {
	bySource := map[model.Key]int{}
	var todo []diff.Change
	for _, ch := range a.plan.Changes {
		switch ch.Action {
		case diff.Create, diff.Update, diff.Restore:
			bySource[ch.Source] = len(todo)
			todo = append(todo, ch)
		}
	}
	const (
		unseen = iota
		visiting
		done
	)
	mark := make([]int, len(todo))
	onCycle := make([]bool, len(todo))
	var visit func(i int) bool
	visit = func(i int) bool {
		switch mark[i] {
		case done:
			return !onCycle[i]
		case visiting:
			onCycle[i] = true
			return false
		}
		mark[i] = visiting
		ok := true
		for _, c := range todo[i].Children {
			if j, found := bySource[c]; found && j != i {
				if !visit(j) {
					ok = false
				}
			}
		}
		mark[i] = done
		if !ok {
			onCycle[i] = true
			cyclic = append(cyclic, todo[i])
			return false
		}
		order = append(order, todo[i])
		return true
	}
	for i := range todo {
		visit(i)
	}
	return order, cyclic
}

// one applies one change and records its result. Its error stops the run.
func (a *applier) one(ctx context.Context, ch diff.Change) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if a.opts.Reporter != nil {
		a.opts.Reporter.FlowStarted(ch)
	}
	fr := FlowResult{Action: ch.Action, Source: ch.Source, Target: ch.Target, DisplayName: ch.DisplayName}
	var err error
	switch ch.Action {
	case diff.Create:
		err = a.create(ctx, ch, &fr)
	case diff.Update, diff.Restore:
		err = a.update(ctx, ch, &fr)
	case diff.Delete:
		err = a.remove(ctx, ch, &fr)
	}
	if err != nil && ctx.Err() != nil {
		// Stopped from outside: what ran is in the journal; say no more
		// about this flow than that it was cut short.
		fr.Err = fmt.Errorf("stopped: %w", ctx.Err())
		a.finish(ch, fr)
		return ctx.Err()
	}
	var fatal *journalError
	if errors.As(err, &fatal) {
		fr.Err = err
		a.finish(ch, fr)
		return err
	}
	fr.Err = err
	a.finish(ch, fr)
	return nil
}

func (a *applier) finish(ch diff.Change, fr FlowResult) {
	if fr.Err != nil && ch.Action != diff.Delete {
		st := a.flows[ch.Source]
		if st == nil {
			st = &flowStatus{target: fr.Target.Flow}
			a.flows[ch.Source] = st
		}
		st.failed = true
	}
	a.res.Flows = append(a.res.Flows, fr)
	if a.opts.Reporter != nil {
		a.opts.Reporter.FlowDone(fr)
	}
}

// write makes one write call: ctx is checked first, so that a cancelled
// import never starts another write, and the call is counted.
func (a *applier) write(ctx context.Context, fr *FlowResult, fn func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	fr.Writes++
	a.res.Writes++
	return fn()
}

// needsPatch reports whether an update must save the flow itself (name,
// definition or connection references), which only an owner can do.
func needsPatch(ch diff.Change) bool {
	return ch.Action == diff.Restore || len(settable(ch.Parts.Meta)) > 0 || len(ch.Parts.Definition) > 0 || len(ch.Parts.Connections) > 0
}

// settableMeta are the flow.json fields Update Flow sets: its body is
// displayName, state, definition and connectionReferences (CONTRACT.md).
// Uncertain: the service may take more (flowFailureAlertSubscribed); the
// contract does not say, so the importer does not send them and says so.
var settableMeta = map[string]bool{"displayName": true}

// settable and unsettable split Parts.Meta.
func settable(meta []string) []string {
	var out []string
	for _, m := range meta {
		if settableMeta[m] {
			out = append(out, m)
		}
	}
	return out
}

func unsettable(meta []string) []string {
	var out []string
	for _, m := range meta {
		if !settableMeta[m] {
			out = append(out, m)
		}
	}
	return out
}

func lowerFlow(f api.FlowName) api.FlowName { return api.FlowName(strings.ToLower(string(f))) }

// isAmbiguous reports whether err leaves open whether the write happened.
func isAmbiguous(err error) bool { return errors.Is(err, client.ErrAmbiguousWrite) }
