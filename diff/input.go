package diff

import (
	"fmt"
	"slices"
	"strings"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/model"
	"github.com/flowsync/flowsync/internal/secrets"
)

// StateMode says which state (Started, Stopped) a plan gives the flows it
// creates or updates.
type StateMode string

// The state modes (import --state).
const (
	// StateSource gives each flow the state it has in the source (the
	// default). A Suspended source flow is desired Stopped: suspension is
	// set by the service, never by a caller.
	StateSource StateMode = "source"
	// StateOn turns every imported flow on.
	StateOn StateMode = "on"
	// StateOff turns every imported flow off.
	StateOff StateMode = "off"
	// StatePreserve leaves the target's state as it is; a created flow is
	// created Stopped, since there is nothing to preserve and a new flow
	// that starts running unasked is the riskier surprise.
	StatePreserve StateMode = "preserve"
)

// ParseStateMode checks a --state value; "" is StateSource.
func ParseStateMode(s string) (StateMode, error) {
	switch m := StateMode(s); m {
	case "":
		return StateSource, nil
	case StateSource, StateOn, StateOff, StatePreserve:
		return m, nil
	}
	return "", fmt.Errorf("state mode %q: want source, on, off or preserve", s)
}

// Bindings says how a flow's connection references were bound in the
// target. *mapping.Resolution implements it; Make calls it once per desired
// flow and reads From of the results from the actual flow itself.
type Bindings interface {
	// Connections returns one entry per reference of the flow with source
	// key key (To and How set), or nil when the flow is unknown.
	Connections(key model.Key) []ConnectionChange
}

// Input is everything Make needs. Nothing in it is read from the network or
// Git by Make: the caller loads both sides first.
type Input struct {
	// Source and Target describe the two sides, for the plan's header.
	Source Side
	Target Side
	// Desired are the source flows already mapped into target terms
	// (mapping.Resolution.Apply), still with their source keys.
	Desired []model.Flow
	// Actual are the target's flows (normalized live flows, or read from a tree).
	Actual []model.Flow
	// Links are the stored links, source flow -> target flow.
	Links map[api.FlowName]api.FlowName
	// Explicit are this run's --link SRC=DST pairs; they win over stored links.
	Explicit map[api.FlowName]api.FlowName
	// Prune turns extra target flows into deletions.
	Prune bool
	// State is the state mode; "" is StateSource.
	State StateMode
	// Keep is the importing identity: its access is never removed.
	Keep api.PrincipalID
	// Selected limits the plan to these source flows (--flow), each a flow
	// GUID or an exact display name. Empty: every flow. With a selection no
	// target flow is reported extra.
	Selected []string
	// SameEnv is set when the desired tree is of the target environment
	// itself (restore): flows pair by flow name.
	SameEnv bool
	// Secrets are the values supplied for placeholders (--identity,
	// --secrets), by source flow name.
	Secrets map[api.FlowName]secrets.Values
	// Bindings, when set, says how references were bound (shown in the plan).
	Bindings Bindings
	// Problems found before planning (mapping.Resolve) are carried into the
	// plan: they forbid any write just as the plan's own do.
	Problems []Problem
}

// stateMode returns the effective mode.
func (in Input) stateMode() StateMode {
	if in.State == "" {
		return StateSource
	}
	return in.State
}

// sameFlow compares flow names as the service does: GUIDs, any case.
func sameFlow(a, b api.FlowName) bool { return strings.EqualFold(string(a), string(b)) }

func samePrincipal(a, b api.PrincipalID) bool { return strings.EqualFold(string(a), string(b)) }

func lowerFlow(n api.FlowName) string { return strings.ToLower(string(n)) }

// select resolves Input.Selected against the desired flows: the set of
// selected source keys (nil: everything) and a problem per selector that
// matches no flow or, by display name, several.
func selectFlows(desired []model.Flow, selectors []string) (map[model.Key]bool, []Problem) {
	if len(selectors) == 0 {
		return nil, nil
	}
	sel := map[model.Key]bool{}
	var probs []Problem
	for _, s := range selectors {
		var byName, byGUID []model.Key
		for _, f := range desired {
			if sameFlow(f.Key.Flow, api.FlowName(s)) {
				byGUID = append(byGUID, f.Key)
			} else if f.Meta.DisplayName == s {
				byName = append(byName, f.Key)
			}
		}
		switch {
		case len(byGUID) > 0:
			for _, k := range byGUID {
				sel[k] = true
			}
		case len(byName) == 1:
			sel[byName[0]] = true
		case len(byName) > 1:
			probs = append(probs, Problem{Code: CodeAmbiguousFlow,
				Message: fmt.Sprintf("--flow %q matches %d source flows by display name (%s): name one by its GUID", s, len(byName), keyList(byName))})
		default:
			probs = append(probs, Problem{Code: CodeUnknownFlow,
				Message: fmt.Sprintf("--flow %q matches no source flow by GUID or display name", s)})
		}
	}
	return sel, probs
}

func keyList(ks []model.Key) string {
	ss := make([]string, len(ks))
	for i, k := range ks {
		ss[i] = string(k.Flow)
	}
	slices.Sort(ss)
	return strings.Join(ss, ", ")
}

// Problem codes Make and Pair produce (mapping adds its own, listed in
// docs/PLAN.md).
const (
	CodeAmbiguousName     = "ambiguous-name"
	CodeAmbiguousFlow     = "ambiguous-flow"
	CodeUnknownFlow       = "unknown-flow"
	CodeUnknownChild      = "unknown-child"
	CodeDeletedRecord     = "deleted-record"
	CodeManagedFlow       = "managed-flow"
	CodeUnresolvedSecret  = "unresolved-secret"
	CodeBadLink           = "bad-link"
	CodeStaleLink         = "stale-link"
	CodeBadStateMode      = "bad-state-mode"
	CodeDuplicateFlow     = "duplicate-flow"
	CodeSuspendedInSource = "suspended-source"
)
