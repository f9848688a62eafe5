package diff

import (
	"fmt"
	"slices"
	"strings"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/model"
)

// Pairing is one source flow with the target flow it was paired with, or a
// flow of one side alone; a side without the flow is nil.
type Pairing struct {
	Desired *model.Flow
	Actual  *model.Flow
	Link    LinkKind
}

// Pair matches desired and actual flows. In the same environment
// (in.SameEnv) a flow pairs with the flow of the same name, or else with
// the flow a stored link names (a restore recreated it). Across
// environments the order is: this run's explicit links (in.Explicit), then
// stored links (in.Links), then a display name that exactly one unpaired
// source flow and exactly one unpaired target flow share. Names shared by
// more flows on either side pair nothing and are an ambiguous-name problem
// asking for --link. Soft-deleted target flows (state Deleted) take part
// only in the same environment, where they can be restored.
//
// The result lists every desired flow once, sorted by source key, then the
// target flows left alone, sorted by key. Problems forbid an apply; warnings
// do not (a stored link to a flow that no longer exists).
func Pair(in Input) (pairs []Pairing, problems, warnings []Problem) {
	pr := newPairer(in)
	if in.SameEnv {
		pr.sameEnv(in.Links)
		return pr.collect(), nil, nil
	}
	problems = pr.explicit(in.Explicit)
	warnings = pr.stored(in.Links)
	problems = append(problems, pr.byDisplayName()...)
	return pr.collect(), problems, warnings
}

// pairer holds Pair's state: both sides sorted, each desired flow's
// pairing so far, and which actual flows are taken. Each step pairs only
// what the steps before it left.
type pairer struct {
	sameEnvs        bool
	desired, actual []model.Flow
	dp              []*Pairing
	claimed         []bool
	// byName and desiredByName index the sides by lower-case flow name.
	byName, desiredByName map[string]int
}

func newPairer(in Input) *pairer {
	pr := &pairer{sameEnvs: in.SameEnv, desired: sortedFlows(in.Desired), actual: sortedFlows(in.Actual),
		byName: map[string]int{}, desiredByName: map[string]int{}}
	pr.dp = make([]*Pairing, len(pr.desired))
	for i := range pr.desired {
		pr.dp[i] = &Pairing{Desired: &pr.desired[i]}
		pr.desiredByName[lowerFlow(pr.desired[i].Key.Flow)] = i
	}
	pr.claimed = make([]bool, len(pr.actual))
	for j := range pr.actual {
		pr.byName[lowerFlow(pr.actual[j].Key.Flow)] = j
	}
	return pr
}

// usable says whether actual flow j may still be paired: not taken, and
// not a soft-deleted flow of another environment.
func (pr *pairer) usable(j int) bool {
	return !pr.claimed[j] && (pr.sameEnvs || pr.actual[j].Meta.State != api.StateDeleted)
}

func (pr *pairer) claim(i, j int, kind LinkKind) {
	pr.dp[i].Actual, pr.dp[i].Link, pr.claimed[j] = &pr.actual[j], kind, true
}

func (pr *pairer) collect() []Pairing { return collect(pr.dp, pr.actual, pr.claimed) }

// sameEnv pairs a tree with its own environment: by flow name, else by a
// link a restore stored.
func (pr *pairer) sameEnv(links map[api.FlowName]api.FlowName) {
	for i := range pr.desired {
		if j, ok := pr.byName[lowerFlow(pr.desired[i].Key.Flow)]; ok && pr.usable(j) {
			pr.claim(i, j, LinkSame)
		}
	}
	// A flow that is gone (past the recycle bin's retention, or a
	// solution flow, which has none) is recreated under a new name by a
	// restore, which links the two: a later restore or diff pairs them
	// instead of creating it again.
	for i := range pr.desired {
		if pr.dp[i].Actual != nil {
			continue
		}
		d, ok := links[pr.desired[i].Key.Flow]
		if !ok {
			d, ok = links[api.FlowName(lowerFlow(pr.desired[i].Key.Flow))]
		}
		if !ok {
			continue
		}
		if _, taken := pr.desiredByName[lowerFlow(d)]; taken {
			continue // that name is a flow of the tree itself
		}
		if j, ok := pr.byName[lowerFlow(d)]; ok && pr.usable(j) {
			pr.claim(i, j, LinkStored)
		}
	}
}

// explicit pairs the --link pairs, in source order so that problems are
// listed stably.
func (pr *pairer) explicit(links map[api.FlowName]api.FlowName) (problems []Problem) {
	srcs := make([]api.FlowName, 0, len(links))
	for s := range links {
		srcs = append(srcs, s)
	}
	slices.SortFunc(srcs, func(a, b api.FlowName) int { return strings.Compare(lowerFlow(a), lowerFlow(b)) })
	for _, s := range srcs {
		d := links[s]
		i, okS := pr.desiredByName[lowerFlow(s)]
		j, okD := pr.byName[lowerFlow(d)]
		switch {
		case !okS:
			problems = append(problems, Problem{Code: CodeBadLink,
				Message: fmt.Sprintf("--link %s=%s: no source flow %s in the tree: check the GUID (flowsync flows --env on the source, or the tree's environments/<env>/flows/)", s, d, s)})
		case !okD || pr.actual[j].Meta.State == api.StateDeleted:
			problems = append(problems, Problem{Code: CodeBadLink, Flow: &pr.desired[i].Key,
				Message: fmt.Sprintf("--link %s=%s: the target has no flow %s: check the GUID (flowsync flows --env on the target)", s, d, d)})
		case pr.claimed[j]:
			problems = append(problems, Problem{Code: CodeBadLink, Flow: &pr.desired[i].Key,
				Message: fmt.Sprintf("--link %s=%s: target flow %s is already linked to another source flow: give each target flow one --link", s, d, d)})
		default:
			pr.claim(i, j, LinkExplicit)
		}
	}
	return problems
}

// stored pairs by the links earlier imports recorded; a link whose target
// is gone or taken is a warning, and the flow goes on to the next step.
func (pr *pairer) stored(links map[api.FlowName]api.FlowName) (warnings []Problem) {
	lower := make(map[string]api.FlowName, len(links))
	for s, d := range links {
		lower[lowerFlow(s)] = d
	}
	for i := range pr.desired {
		if pr.dp[i].Actual != nil {
			continue
		}
		d, ok := lower[lowerFlow(pr.desired[i].Key.Flow)]
		if !ok {
			continue
		}
		if j, ok := pr.byName[lowerFlow(d)]; ok && pr.usable(j) {
			pr.claim(i, j, LinkStored)
			continue
		}
		warnings = append(warnings, Problem{Code: CodeStaleLink, Flow: &pr.desired[i].Key,
			Message: fmt.Sprintf("the stored link %s -> %s points to a target flow that no longer exists or is linked otherwise; the flow is paired by display name or created", pr.desired[i].Key.Flow, d)})
	}
	return warnings
}

// byDisplayName pairs the flows left whose display name is unique on both
// sides; a name several flows share is a problem for each source flow.
func (pr *pairer) byDisplayName() (problems []Problem) {
	srcByName := map[string][]int{}
	for i := range pr.desired {
		if pr.dp[i].Actual == nil {
			n := pr.desired[i].Meta.DisplayName
			srcByName[n] = append(srcByName[n], i)
		}
	}
	dstByName := map[string][]int{}
	for j := range pr.actual {
		if pr.usable(j) {
			n := pr.actual[j].Meta.DisplayName
			dstByName[n] = append(dstByName[n], j)
		}
	}
	names := make([]string, 0, len(srcByName))
	for n := range srcByName {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		src, dst := srcByName[n], dstByName[n]
		switch {
		case len(dst) == 0:
		case len(src) == 1 && len(dst) == 1:
			pr.claim(src[0], dst[0], LinkName)
		default:
			cands := make([]model.Key, len(dst))
			for k, j := range dst {
				cands[k] = pr.actual[j].Key
			}
			for _, i := range src {
				problems = append(problems, Problem{Code: CodeAmbiguousName, Flow: &pr.desired[i].Key,
					Message: fmt.Sprintf("%d source and %d target flows are named %q (target flows %s): pair this one with --link %s=<target flow GUID>",
						len(src), len(dst), n, keyList(cands), pr.desired[i].Key.Flow)})
			}
		}
	}
	return problems
}

func collect(dp []*Pairing, actual []model.Flow, claimed []bool) []Pairing {
	out := make([]Pairing, 0, len(dp)+len(actual))
	for _, p := range dp {
		out = append(out, *p)
	}
	for j := range actual {
		if !claimed[j] {
			out = append(out, Pairing{Actual: &actual[j]})
		}
	}
	return out
}

// sortedFlows returns a sorted copy, so that pairing never depends on the
// order flows were listed in.
func sortedFlows(fs []model.Flow) []model.Flow {
	out := slices.Clone(fs)
	slices.SortStableFunc(out, func(a, b model.Flow) int { return a.Key.Compare(b.Key) })
	return out
}
