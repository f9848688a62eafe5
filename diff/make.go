package diff

import (
	"cmp"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/model"
)

// Make pairs the desired flows with the actual ones (Pair), compares each
// pair (Compare), and returns the plan: one Change per selected source flow
// and, without a selection, per target flow left unpaired (Extra, or
// Delete with Prune). It validates what needs only its input: soft-deleted
// records are never imported, managed flows cannot be updated, ambiguous
// names and bad links must be resolved, every placeholder needs a value, and
// child-flow references are rewritten to the paired target flows.
func Make(in Input) Plan {
	plan := Plan{Source: in.Source, Target: in.Target}
	mode := in.stateMode()
	if _, err := ParseStateMode(string(mode)); err != nil {
		plan.Problems = append(plan.Problems, Problem{Code: CodeBadStateMode, Message: err.Error()})
		mode = StateSource
	}

	sel, selProblems := selectFlows(in.Desired, in.Selected)
	plan.Problems = append(plan.Problems, selProblems...)

	// Soft-deleted records: the service no longer serves them, and bringing
	// one back is a restore, not an import.
	var live []model.Flow
	for _, f := range in.Desired {
		if f.Meta.State != api.StateDeleted {
			live = append(live, f)
			continue
		}
		p := Problem{Code: CodeDeletedRecord, Flow: keyPtr(f.Key), Where: flowPath(f.Key, model.FlowFileName),
			Message: fmt.Sprintf("flow %s (%q) is a soft-deleted record in the tree and is never imported", f.Key.Flow, f.Meta.DisplayName)}
		if sel != nil && sel[f.Key] {
			p.Message += ": remove it from --flow (restore brings deleted flows back)"
			plan.Problems = append(plan.Problems, p)
		} else if sel == nil {
			plan.Warnings = append(plan.Warnings, p)
		}
	}
	pin := in
	pin.Desired = live
	pairs, pairProblems, pairWarnings := Pair(pin)
	plan.Problems = append(plan.Problems, pairProblems...)
	plan.Warnings = append(plan.Warnings, pairWarnings...)

	selected := func(k model.Key) bool { return sel == nil || sel[k] }
	children := newChildIndex(pairs, in, selected)

	for _, p := range pairs {
		if p.Desired == nil {
			if sel != nil || p.Actual.Meta.State == api.StateDeleted {
				continue
			}
			plan.Changes = append(plan.Changes, extraChange(p.Actual, in.Prune, &plan))
			continue
		}
		if !selected(p.Desired.Key) {
			continue
		}
		plan.Changes = append(plan.Changes, flowChange(p, in, mode, children, &plan))
	}

	// Problems found before planning (the mapping) belong to their flows too.
	for _, pr := range in.Problems {
		plan.Problems = append(plan.Problems, pr)
		if pr.Flow == nil {
			continue
		}
		for i := range plan.Changes {
			if plan.Changes[i].Source == *pr.Flow {
				plan.Changes[i].Problems = append(plan.Changes[i].Problems, pr)
			}
		}
	}
	plan.Sort()
	return plan
}

func keyPtr(k model.Key) *model.Key { return &k }

// flowPath names a flow's file in the tree, for Problem.Where.
func flowPath(k model.Key, file string) string {
	return path.Join(model.EnvironmentsDir, string(k.Env), model.FlowsDir, strings.ToLower(string(k.Flow)), file)
}

func extraChange(a *model.Flow, prune bool, plan *Plan) Change {
	ch := Change{Action: Extra, Target: a.Key, DisplayName: a.Meta.DisplayName, Actual: a}
	if prune {
		if a.Meta.IsManaged {
			w := Problem{Code: CodeManagedFlow, Where: string(a.Key.Flow),
				Message: fmt.Sprintf("target flow %s (%q) is part of a managed solution and is not deleted by --prune: remove it with its solution", a.Key.Flow, a.Meta.DisplayName)}
			ch.Warnings = append(ch.Warnings, w)
			plan.Warnings = append(plan.Warnings, w)
		} else {
			ch.Action = Delete
		}
	}
	return ch
}

func flowChange(p Pairing, in Input, mode StateMode, children *childIndex, plan *Plan) Change {
	d := *p.Desired
	ch := Change{Source: d.Key, DisplayName: d.Meta.DisplayName, Link: p.Link, Actual: p.Actual}
	if p.Actual != nil {
		ch.Target = p.Actual.Key
	}
	problem := func(pr Problem) {
		pr.Flow = keyPtr(d.Key)
		ch.Problems = append(ch.Problems, pr)
		plan.Problems = append(plan.Problems, pr)
	}
	warn := func(pr Problem) {
		pr.Flow = keyPtr(d.Key)
		ch.Warnings = append(ch.Warnings, pr)
		plan.Warnings = append(plan.Warnings, pr)
	}

	// Child flows: references to paired children point at their target
	// flows; children still to be created are listed for the importer.
	if refs := ChildRefs(d.Definition); len(refs) > 0 {
		rewrite, kids, unknown := children.resolve(refs)
		ch.Children = kids
		for _, r := range unknown {
			warn(Problem{Code: CodeUnknownChild, Where: flowPath(d.Key, model.DefinitionFileName),
				Message: fmt.Sprintf("flow %q calls child flow %s, which is not among the flows being imported and has no link: import it too (--flow) or link it (--link %s=<target flow GUID>)", d.Meta.DisplayName, r, r)})
		}
		if len(rewrite) > 0 {
			if def, err := RewriteChildRefs(d.Definition, rewrite); err == nil {
				d.Definition = def
			}
		}
	}

	var bindings []ConnectionChange
	if in.Bindings != nil {
		bindings = in.Bindings.Connections(d.Key)
		for i := range bindings {
			for _, c := range actualConns(p.Actual) {
				if c.Key == bindings[i].Key {
					bindings[i].From = c.Connection
				}
			}
		}
	}
	ch.Bindings = bindings

	if d.Meta.State == api.StateSuspended && mode == StateSource {
		warn(Problem{Code: CodeSuspendedInSource,
			Message: fmt.Sprintf("flow %q is Suspended in the source; it is imported Stopped (the service suspends flows, callers cannot)", d.Meta.DisplayName)})
	}
	c := Compare(d, p.Actual, CompareOptions{Keep: in.Keep, State: mode, Secrets: in.Secrets[d.Key.Flow], Bindings: bindings})
	desired := c.Desired
	ch.Desired = &desired
	ch.Parts = c.Parts
	switch {
	case p.Actual == nil:
		ch.Action = Create
	case p.Actual.Meta.State == api.StateDeleted:
		ch.Action = Restore
	case c.Parts.Empty():
		ch.Action = Unchanged
	default:
		ch.Action = Update
	}
	if p.Actual != nil && p.Actual.Meta.IsManaged && ch.Action != Unchanged {
		problem(Problem{Code: CodeManagedFlow, Where: string(p.Actual.Key.Flow),
			Message: fmt.Sprintf("target flow %s (%q) is part of a managed solution and cannot be changed this way: deploy its solution instead, or leave it out (--flow)", p.Actual.Key.Flow, p.Actual.Meta.DisplayName)})
	}
	for _, s := range c.Unresolved {
		where := "the target does not have it"
		if p.Actual == nil {
			where = "the flow is created"
		}
		problem(Problem{Code: CodeUnresolvedSecret, Where: flowPath(d.Key, secretFile(s)),
			Message: fmt.Sprintf("secret %s of flow %q has no value (%s): supply it in a --secrets file under flow %s, or with --identity to decrypt the tree's secrets.age", s, d.Meta.DisplayName, where, d.Key.Flow)})
	}
	return ch
}

// secretFile names the file a placeholder path belongs to (docs/FORMAT.md:
// paths in flow.json and connections.json extras carry the file name).
func secretFile(path string) string {
	for _, f := range []string{model.FlowFileName, model.ConnectionsFileName} {
		if strings.HasPrefix(path, f+".") {
			return f
		}
	}
	return model.DefinitionFileName
}

func actualConns(a *model.Flow) []model.ConnectionRef {
	if a == nil {
		return nil
	}
	return a.Connections
}

// childIndex finds what a child reference names: a source flow (by flow
// name, or by Dataverse workflow id for solution flows) and its pairing, or
// a stored link, or (same environment) a target flow.
type childIndex struct {
	byRef    map[string]int  // lower-case flow name or workflow entity id -> pairs index
	byEntity map[string]bool // the byRef keys that are workflow entity ids
	pairs    []Pairing
	links    map[string]api.FlowName
	actual   map[string]bool
	selected func(model.Key) bool
	sameEnv  bool
}

func newChildIndex(pairs []Pairing, in Input, selected func(model.Key) bool) *childIndex {
	ix := &childIndex{byRef: map[string]int{}, byEntity: map[string]bool{}, pairs: pairs, links: map[string]api.FlowName{},
		actual: map[string]bool{}, selected: selected, sameEnv: in.SameEnv}
	for i, p := range pairs {
		if p.Desired != nil {
			ix.byRef[lowerFlow(p.Desired.Key.Flow)] = i
			if id := p.Desired.Meta.WorkflowEntityID; id != "" {
				if _, taken := ix.byRef[strings.ToLower(id)]; !taken {
					ix.byRef[strings.ToLower(id)] = i
					ix.byEntity[strings.ToLower(id)] = true
				}
			}
		}
	}
	for _, a := range in.Actual {
		ix.actual[lowerFlow(a.Key.Flow)] = true
	}
	for s, d := range in.Links {
		ix.links[lowerFlow(s)] = d
	}
	return ix
}

// resolve sorts a flow's child references into rewrites (reference ->
// target flow), children in the plan (source keys) and unknown references.
func (ix *childIndex) resolve(refs []api.FlowName) (rewrite map[api.FlowName]api.FlowName, kids []model.Key, unknown []api.FlowName) {
	rewrite = map[api.FlowName]api.FlowName{}
	for _, r := range refs {
		i, ok := ix.byRef[lowerFlow(r)]
		if ok {
			p := ix.pairs[i]
			inPlan := ix.selected(p.Desired.Key)
			if inPlan {
				kids = append(kids, p.Desired.Key)
			}
			switch {
			case p.Actual != nil:
				// A reference by workflow entity id (solution flows) stays
				// one: it becomes the target's entity id when known.
				to := p.Actual.Key.Flow
				if id := p.Actual.Meta.WorkflowEntityID; ix.byEntity[lowerFlow(r)] && id != "" {
					to = api.FlowName(id)
				}
				if !sameFlow(to, r) {
					rewrite[r] = to
				}
			case !inPlan:
				unknown = append(unknown, r)
			}
			continue
		}
		if d, ok := ix.links[lowerFlow(r)]; ok && ix.actual[lowerFlow(d)] {
			rewrite[r] = d
			continue
		}
		if ix.sameEnv && ix.actual[lowerFlow(r)] {
			continue
		}
		unknown = append(unknown, r)
	}
	slices.SortFunc(kids, func(a, b model.Key) int { return a.Compare(b) })
	kids = slices.Compact(kids)
	return rewrite, kids, unknown
}

// actionRank orders changes in a plan: writes first, most consequential
// last among them, then what is left alone.
func actionRank(a Action) int {
	switch a {
	case Create:
		return 0
	case Restore:
		return 1
	case Update:
		return 2
	case Delete:
		return 3
	case Extra:
		return 4
	case Unchanged:
		return 5
	}
	return 6
}

// Sort puts changes in plan order (action, then display name, then key) and
// problems and warnings in a stable order (flow, code, where, message).
func (p *Plan) Sort() {
	slices.SortStableFunc(p.Changes, func(a, b Change) int {
		return cmp.Or(
			cmp.Compare(actionRank(a.Action), actionRank(b.Action)),
			strings.Compare(a.DisplayName, b.DisplayName),
			a.Source.Compare(b.Source),
			a.Target.Compare(b.Target))
	})
	for _, ps := range []*[]Problem{&p.Problems, &p.Warnings} {
		slices.SortStableFunc(*ps, compareProblems)
		*ps = slices.CompactFunc(*ps, func(a, b Problem) bool { return compareProblems(a, b) == 0 })
	}
}

func compareProblems(a, b Problem) int {
	ka, kb := model.Key{}, model.Key{}
	if a.Flow != nil {
		ka = *a.Flow
	}
	if b.Flow != nil {
		kb = *b.Flow
	}
	return cmp.Or(ka.Compare(kb), strings.Compare(a.Code, b.Code), strings.Compare(a.Where, b.Where), strings.Compare(a.Message, b.Message))
}

// Applicable reports whether the plan may be applied: it has no problems.
func (p Plan) Applicable() bool { return len(p.Problems) == 0 }

// Counts returns how many changes have each action.
func (p Plan) Counts() map[Action]int {
	out := map[Action]int{}
	for _, c := range p.Changes {
		out[c.Action]++
	}
	return out
}

// Diff compares two states of the same flows (old: the previous tree or
// the live side; new: this export or the desired side), pairing by Key and
// comparing every stored field (CompareOptions.Strict). It returns the
// changes sorted by key: Create for flows only in new, Delete for flows
// only in old, Update with the differing parts; unchanged flows are left out.
func Diff(old, new []model.Flow) []Change {
	byKey := map[model.Key]*Pairing{}
	var keys []model.Key
	get := func(k model.Key) *Pairing {
		p, ok := byKey[k]
		if !ok {
			p = &Pairing{}
			byKey[k] = p
			keys = append(keys, k)
		}
		return p
	}
	for i := range new {
		get(new[i].Key).Desired = &new[i]
	}
	for i := range old {
		get(old[i].Key).Actual = &old[i]
	}
	slices.SortFunc(keys, func(a, b model.Key) int { return a.Compare(b) })
	var out []Change
	for _, k := range keys {
		p := byKey[k]
		switch {
		case p.Actual == nil:
			c := Compare(*p.Desired, nil, CompareOptions{Strict: true})
			out = append(out, Change{Action: Create, Source: k, DisplayName: p.Desired.Meta.DisplayName, Parts: c.Parts, Desired: p.Desired})
		case p.Desired == nil:
			out = append(out, Change{Action: Delete, Target: k, DisplayName: p.Actual.Meta.DisplayName, Actual: p.Actual})
		default:
			c := Compare(*p.Desired, p.Actual, CompareOptions{Strict: true})
			if !c.Parts.Empty() {
				out = append(out, Change{Action: Update, Source: k, Target: k, DisplayName: p.Desired.Meta.DisplayName,
					Link: LinkSame, Parts: c.Parts, Desired: p.Desired, Actual: p.Actual})
			}
		}
	}
	return out
}
