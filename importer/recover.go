package importer

import (
	"context"
	"fmt"
	"strings"

	"github.com/flowsync/flowsync/diff"
	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/model"
)

// RecoverOptions name the journal an interrupted import left and what the
// caller already knows.
type RecoverOptions struct {
	// Journal is the journal's path (as given to Apply).
	Journal string
	// Source and Target are the promotion's sides, as the plan will have
	// them; a journal of another promotion is refused (ErrJournalMismatch).
	Source, Target diff.Side
	// Links receives the pairings the journal settles.
	Links Links
	// Stored are the links stored so far (source flow -> target flow):
	// their target flows are never taken for a flow a lost create made.
	Stored map[api.FlowName]api.FlowName
}

// Recover settles what an interrupted import left in its journal, before a
// new plan is made: each create whose answer was lost is looked up in the
// target (as Apply does after an ambiguous create) and every pairing the
// journal knows is recorded through Links. Planning after it pairs those
// flows by their stored links, where a display-name match could be
// ambiguous (the lost flow has the same name as its source, and maybe as
// others). Apply finishes the rest (permissions, states, temporary grants)
// and removes the journal. Without a journal file Recover does nothing.
//
// It makes no writes to the service; its notes say what it decided.
func Recover(ctx context.Context, t Target, o RecoverOptions) (notes []string, err error) {
	if o.Journal == "" {
		return nil, nil
	}
	j, err := openJournal(o.Journal, diff.Plan{Source: o.Source, Target: o.Target})
	if err != nil {
		return nil, err
	}
	if !j.loaded {
		return nil, nil
	}
	a := &applier{t: t, env: o.Target.Env, j: j, linked: map[api.FlowName]bool{}}
	for _, dst := range o.Stored {
		a.linked[lowerFlow(dst)] = true
	}
	for _, e := range j.creates() {
		if e.Target != "" {
			a.linked[lowerFlow(e.Target)] = true
		}
	}
	for _, e := range j.creates() {
		if err := ctx.Err(); err != nil {
			return notes, err
		}
		target := e.Target
		if target == "" {
			if dst, ok := stored(o.Stored, e.Source.Flow); ok {
				// Someone linked it meanwhile; the plan will follow that link.
				notes = append(notes, fmt.Sprintf("%s (%q): an interrupted create, now linked to %s", e.Source, e.DisplayName, dst))
				continue
			}
			found, note, err := a.lookup(ctx, e)
			if err != nil {
				return notes, fmt.Errorf("look up flow %q left by an interrupted create: %w", e.DisplayName, err)
			}
			notes = append(notes, fmt.Sprintf("%s (%q): an interrupted create: %s", e.Source, e.DisplayName, note))
			if found == "" {
				// The intent stays: Apply creates the flow under it.
				continue
			}
			if err := j.doneCreate(e.Source, found); err != nil {
				return notes, err
			}
			a.linked[lowerFlow(found)] = true
			target = found
		}
		if o.Links != nil {
			if err := o.Links.Record(ctx, e.Source, model.Key{Env: o.Target.Env, Flow: target}); err != nil {
				return notes, fmt.Errorf("record the link %s -> %s from the import journal: %w", e.Source, target, err)
			}
		}
	}
	return notes, nil
}

func stored(m map[api.FlowName]api.FlowName, src api.FlowName) (api.FlowName, bool) {
	for k, v := range m {
		if strings.EqualFold(string(k), string(src)) {
			return v, true
		}
	}
	return "", false
}
