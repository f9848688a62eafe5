package importer_test

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"

	"github.com/flowsync/flowsync/diff"
	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/canon"
	"github.com/flowsync/flowsync/internal/model"
)

// makePlan is a small planner for these tests, following the promotion
// design's comparison rules (PROMOTION.md): links first, then a unique
// display name; a source Owner is desired as CanEdit; the target's creator
// and the importing identity are never removed; child references to paired
// children are rewritten; placeholders compare equal because both sides are
// redacted the same way. The real planner is diff.Make; the importer must
// work with any plan of this shape.
type planInput struct {
	source, target api.EnvName
	desired        []model.Flow // mapped into target terms, source keys
	actual         []model.Flow // the target, normalized
	links          map[api.FlowName]api.FlowName
	keep           api.PrincipalID
	prune          bool
	state          string // source (default), on, off, preserve
}

func makePlan(in planInput) diff.Plan {
	p := diff.Plan{Source: diff.Side{Env: in.source, Rev: "test"}, Target: diff.Side{Env: in.target, Live: true}}
	actualBy := map[api.FlowName]*model.Flow{}
	for i := range in.actual {
		actualBy[in.actual[i].Key.Flow] = &in.actual[i]
	}
	used := map[api.FlowName]bool{}
	pair := map[api.FlowName]*model.Flow{} // source flow -> actual
	link := map[api.FlowName]diff.LinkKind{}
	for _, d := range in.desired {
		if to, ok := in.links[d.Key.Flow]; ok {
			if a := actualBy[to]; a != nil {
				pair[d.Key.Flow], used[to], link[d.Key.Flow] = a, true, diff.LinkStored
			}
		}
	}
	for _, d := range in.desired {
		if pair[d.Key.Flow] != nil {
			continue
		}
		var match []*model.Flow
		for i := range in.actual {
			a := &in.actual[i]
			if !used[a.Key.Flow] && a.Meta.DisplayName == d.Meta.DisplayName {
				match = append(match, a)
			}
		}
		if len(match) == 1 {
			pair[d.Key.Flow], used[match[0].Key.Flow], link[d.Key.Flow] = match[0], true, diff.LinkName
		}
	}
	// Child references to paired children point at the target's child.
	childTarget := map[api.FlowName]api.FlowName{}
	sources := map[api.FlowName]bool{}
	for _, d := range in.desired {
		sources[d.Key.Flow] = true
		if a := pair[d.Key.Flow]; a != nil {
			childTarget[d.Key.Flow] = a.Key.Flow
		}
	}
	for _, d := range in.desired {
		d := d
		ch := diff.Change{Source: d.Key, DisplayName: d.Meta.DisplayName, Link: link[d.Key.Flow]}
		for _, ref := range childRefs(d.Definition) {
			if sources[ref] && ref != d.Key.Flow {
				ch.Children = append(ch.Children, model.Key{Env: in.source, Flow: ref})
			}
		}
		d.Definition = rewriteRefs(d.Definition, childTarget)
		ch.Desired = &d
		a := pair[d.Key.Flow]
		want := desiredState(in.state, d, a)
		if a == nil {
			ch.Action = diff.Create
			ch.Parts = diff.Parts{Meta: []string{"displayName"}, Definition: []string{""}}
			for _, c := range d.Connections {
				ch.Parts.Connections = append(ch.Parts.Connections, diff.ConnectionChange{Key: c.Key, API: c.API, To: c.Connection})
			}
			ch.Parts.Owners, ch.Parts.RunOnly = permDelta(d, nil, in.keep)
			if want != "" {
				ch.Parts.State = &diff.StateChange{To: want}
			}
		} else {
			ch.Target, ch.Actual = a.Key, a
			if d.Meta.DisplayName != a.Meta.DisplayName {
				ch.Parts.Meta = []string{"displayName"}
			}
			if !jsonEqual(d.Definition, a.Definition) {
				ch.Parts.Definition = []string{""}
			}
			ch.Parts.Connections = connDelta(d, *a)
			ch.Parts.Owners, ch.Parts.RunOnly = permDelta(d, a, in.keep)
			if want != "" && want != a.Meta.State {
				ch.Parts.State = &diff.StateChange{From: a.Meta.State, To: want}
			}
			ch.Action = diff.Update
			if ch.Parts.Empty() {
				ch.Action = diff.Unchanged
			}
		}
		p.Changes = append(p.Changes, ch)
	}
	for i := range in.actual {
		a := &in.actual[i]
		if used[a.Key.Flow] {
			continue
		}
		act := diff.Extra
		if in.prune {
			act = diff.Delete
		}
		p.Changes = append(p.Changes, diff.Change{Action: act, Target: a.Key, DisplayName: a.Meta.DisplayName, Actual: a})
	}
	return p
}

func desiredState(mode string, d model.Flow, a *model.Flow) string {
	switch mode {
	case "on":
		return api.StateStarted
	case "off":
		return api.StateStopped
	case "preserve":
		if a != nil {
			return a.Meta.State
		}
		return api.StateStopped
	}
	if d.Meta.State == api.StateStarted || d.Meta.State == api.StateStopped {
		return d.Meta.State
	}
	return ""
}

func connDelta(d, a model.Flow) []diff.ConnectionChange {
	have := map[string]model.ConnectionRef{}
	for _, c := range a.Connections {
		have[c.Key] = c
	}
	var out []diff.ConnectionChange
	for _, c := range d.Connections {
		h, ok := have[c.Key]
		if !ok || h.Connection != c.Connection || h.API != c.API || h.Source != c.Source {
			out = append(out, diff.ConnectionChange{Key: c.Key, API: c.API, From: h.Connection, To: c.Connection})
		}
	}
	for _, c := range a.Connections {
		if !slices.ContainsFunc(d.Connections, func(x model.ConnectionRef) bool { return x.Key == c.Key }) {
			out = append(out, diff.ConnectionChange{Key: c.Key, API: c.API, From: c.Connection})
		}
	}
	return out
}

// permDelta: owners (Owner -> CanEdit) and run-only users to add and
// remove; the target's Owner and keep are never removed.
func permDelta(d model.Flow, a *model.Flow, keep api.PrincipalID) (owners, runOnly diff.PrincipalDelta) {
	lower := func(id api.PrincipalID) string { return strings.ToLower(string(id)) }
	isOwner := func(r string) bool { return r == api.RoleOwner || r == api.RoleCanEdit }
	want := map[string]model.Permission{}
	for _, p := range d.Permissions {
		if p.Role == api.RoleOwner {
			p.Role = api.RoleCanEdit
		}
		want[lower(p.Principal)] = p
	}
	have := map[string]model.Permission{}
	if a != nil {
		for _, p := range a.Permissions {
			have[lower(p.Principal)] = p
		}
	}
	for _, k := range sortedKeys(want) {
		w := want[k]
		h, ok := have[k]
		switch {
		case ok && isOwner(w.Role) && isOwner(h.Role):
		case ok && w.Role == h.Role:
		case isOwner(w.Role):
			owners.Add = append(owners.Add, w)
		default:
			if ok && h.Role == api.RoleOwner {
				continue // the creator keeps Owner
			}
			runOnly.Add = append(runOnly.Add, w)
		}
	}
	for _, k := range sortedKeys(have) {
		h := have[k]
		if h.Role == api.RoleOwner || k == lower(keep) {
			continue
		}
		w, ok := want[k]
		if ok && (w.Role == h.Role || (isOwner(w.Role) && isOwner(h.Role))) {
			continue
		}
		if isOwner(h.Role) {
			owners.Remove = append(owners.Remove, h)
		} else {
			runOnly.Remove = append(runOnly.Remove, h)
		}
	}
	return owners, runOnly
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func jsonEqual(a, b json.RawMessage) bool {
	ca, errA := canon.Canonicalize(a)
	cb, errB := canon.Canonicalize(b)
	return errA == nil && errB == nil && bytes.Equal(ca, cb)
}

// childRefs lists the workflowReferenceName of every Workflow action.
func childRefs(def json.RawMessage) []api.FlowName {
	root, err := canon.Parse(def)
	if err != nil {
		return nil
	}
	var out []api.FlowName
	walkWorkflowActions(root, func(ref *canon.Value) { out = append(out, api.FlowName(strings.ToLower(ref.Str))) })
	return out
}

func rewriteRefs(def json.RawMessage, to map[api.FlowName]api.FlowName) json.RawMessage {
	root, err := canon.Parse(def)
	if err != nil {
		return def
	}
	walkWorkflowActions(root, func(ref *canon.Value) {
		if t, ok := to[api.FlowName(strings.ToLower(ref.Str))]; ok {
			ref.Str = string(t)
		}
	})
	out, err := root.Encode()
	if err != nil {
		return def
	}
	return out
}

func walkWorkflowActions(v *canon.Value, fn func(ref *canon.Value)) {
	switch v.Kind {
	case canon.Object:
		if t := v.Get("type"); t != nil && t.Kind == canon.String && strings.EqualFold(t.Str, "Workflow") {
			if ref := v.Get("inputs").Get("host").Get("workflowReferenceName"); ref != nil && ref.Kind == canon.String {
				fn(ref)
			}
		}
		for _, m := range v.Members {
			walkWorkflowActions(m.Value, fn)
		}
	case canon.Array:
		for _, e := range v.Elems {
			walkWorkflowActions(e, fn)
		}
	}
}
