package diff

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/canon"
)

// A "Run a Child Flow" action is an action of type Workflow whose
// inputs.host.workflowReferenceName names the child. Actions nest in
// scopes, conditions (actions, else.actions), switches (cases.*.actions,
// default.actions) and loops, so the whole definition is searched for
// objects of that shape rather than following the schema's containers.
//
// Uncertain: for solution flows the reference may be the child's Dataverse
// workflow id (flow.json workflowEntityId) rather than its flow name; Make
// matches either.

// ChildRefs returns the distinct child flows a definition calls, sorted (in
// lower case, the service's own form). A definition that is not JSON has none.
func ChildRefs(def json.RawMessage) []api.FlowName {
	if len(def) == 0 {
		return nil
	}
	root, err := canon.Parse(def)
	if err != nil {
		return nil
	}
	var out []api.FlowName
	eachChildRef(root, func(ref *canon.Value) {
		out = append(out, api.FlowName(strings.ToLower(ref.Str)))
	})
	slices.Sort(out)
	return slices.Compact(out)
}

// RewriteChildRefs replaces child references that m maps (matched in any
// case) and returns the definition in canonical form. References m does not
// name stay as they are.
func RewriteChildRefs(def json.RawMessage, m map[api.FlowName]api.FlowName) (json.RawMessage, error) {
	root, err := canon.Parse(def)
	if err != nil {
		return nil, fmt.Errorf("rewrite child flow references: %w", err)
	}
	lower := make(map[string]api.FlowName, len(m))
	for k, v := range m {
		lower[strings.ToLower(string(k))] = v
	}
	eachChildRef(root, func(ref *canon.Value) {
		if to, ok := lower[strings.ToLower(ref.Str)]; ok {
			ref.Str = string(to)
		}
	})
	out, err := root.Encode()
	if err != nil {
		return nil, fmt.Errorf("rewrite child flow references: %w", err)
	}
	return out, nil
}

// eachChildRef calls fn with the workflowReferenceName string of every
// Workflow action under v. An expression in place of a name (computed at
// run time) is not a reference flowsync can follow and is skipped.
func eachChildRef(v *canon.Value, fn func(*canon.Value)) {
	switch v.Kind {
	case canon.Object:
		if t := v.Get("type"); t != nil && t.Kind == canon.String && strings.EqualFold(t.Str, "Workflow") {
			if ref := v.Get("inputs").Get("host").Get("workflowReferenceName"); ref != nil &&
				ref.Kind == canon.String && ref.Str != "" && !strings.HasPrefix(ref.Str, "@") {
				fn(ref)
			}
		}
		for _, m := range v.Members {
			eachChildRef(m.Value, fn)
		}
	case canon.Array:
		for _, e := range v.Elems {
			eachChildRef(e, fn)
		}
	}
}
