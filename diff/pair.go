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
	desired := sortedFlows(in.Desired)
	actual := sortedFlows(in.Actual)
	dp := make([]*Pairing, len(desired))
	for i := range desired {
		dp[i] = &Pairing{Desired: &desired[i]}
	}
	claimed := make([]bool, len(actual))
	usable := func(j int) bool {
		return !claimed[j] && (in.SameEnv || actual[j].Meta.State != api.StateDeleted)
	}
	byName := map[string]int{}
	for j := range actual {
		byName[lowerFlow(actual[j].Key.Flow)] = j
	}
	claim := func(i, j int, kind LinkKind) {
		dp[i].Actual, dp[i].Link, claimed[j] = &actual[j], kind, true
	}
	desiredByName := map[string]int{}
	for i := range desired {
		desiredByName[lowerFlow(desired[i].Key.Flow)] = i
	}

	if in.SameEnv {
		for i := range desired {
			if j, ok := byName[lowerFlow(desired[i].Key.Flow)]; ok && usable(j) {
				claim(i, j, LinkSame)
			}
		}
		// A flow that is gone (past the recycle bin's retention, or a
		// solution flow, which has none) is recreated under a new name by a
		// restore, which links the two: a later restore or diff pairs them
		// instead of creating it again.
		for i := range desired {
			if dp[i].Actual != nil {
				continue
			}
			d, ok := in.Links[desired[i].Key.Flow]
			if !ok {
				d, ok = in.Links[api.FlowName(lowerFlow(desired[i].Key.Flow))]
			}
			if !ok {
				continue
			}
			if _, taken := desiredByName[lowerFlow(d)]; taken {
				continue // that name is a flow of the tree itself
			}
			if j, ok := byName[lowerFlow(d)]; ok && usable(j) {
				claim(i, j, LinkStored)
			}
		}
		return collect(dp, actual, claimed), nil, nil
	}

	// Explicit links, in source order so that problems are listed stably.
	srcs := make([]api.FlowName, 0, len(in.Explicit))
	for s := range in.Explicit {
		srcs = append(srcs, s)
	}
	slices.SortFunc(srcs, func(a, b api.FlowName) int { return strings.Compare(lowerFlow(a), lowerFlow(b)) })
	for _, s := range srcs {
		d := in.Explicit[s]
		i, okS := desiredByName[lowerFlow(s)]
		j, okD := byName[lowerFlow(d)]
		switch {
		case !okS:
			problems = append(problems, Problem{Code: CodeBadLink,
				Message: fmt.Sprintf("--link %s=%s: no source flow %s in the tree: check the GUID (flowsync flows --env on the source, or the tree's environments/<env>/flows/)", s, d, s)})
		case !okD || actual[j].Meta.State == api.StateDeleted:
			problems = append(problems, Problem{Code: CodeBadLink, Flow: &desired[i].Key,
				Message: fmt.Sprintf("--link %s=%s: the target has no flow %s: check the GUID (flowsync flows --env on the target)", s, d, d)})
		case claimed[j]:
			problems = append(problems, Problem{Code: CodeBadLink, Flow: &desired[i].Key,
				Message: fmt.Sprintf("--link %s=%s: target flow %s is already linked to another source flow: give each target flow one --link", s, d, d)})
		default:
			claim(i, j, LinkExplicit)
		}
	}

	// Stored links.
	links := make(map[string]api.FlowName, len(in.Links))
	for s, d := range in.Links {
		links[lowerFlow(s)] = d
	}
	for i := range desired {
		if dp[i].Actual != nil {
			continue
		}
		d, ok := links[lowerFlow(desired[i].Key.Flow)]
		if !ok {
			continue
		}
		if j, ok := byName[lowerFlow(d)]; ok && usable(j) {
			claim(i, j, LinkStored)
			continue
		}
		warnings = append(warnings, Problem{Code: CodeStaleLink, Flow: &desired[i].Key,
			Message: fmt.Sprintf("the stored link %s -> %s points to a target flow that no longer exists or is linked otherwise; the flow is paired by display name or created", desired[i].Key.Flow, d)})
	}

	// Unique display names.
	srcByName := map[string][]int{}
	for i := range desired {
		if dp[i].Actual == nil {
			n := desired[i].Meta.DisplayName
			srcByName[n] = append(srcByName[n], i)
		}
	}
	dstByName := map[string][]int{}
	for j := range actual {
		if usable(j) {
			n := actual[j].Meta.DisplayName
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
			claim(src[0], dst[0], LinkName)
		default:
			cands := make([]model.Key, len(dst))
			for k, j := range dst {
				cands[k] = actual[j].Key
			}
			for _, i := range src {
				problems = append(problems, Problem{Code: CodeAmbiguousName, Flow: &desired[i].Key,
					Message: fmt.Sprintf("%d source and %d target flows are named %q (target flows %s): pair this one with --link %s=<target flow GUID>",
						len(src), len(dst), n, keyList(cands), desired[i].Key.Flow)})
			}
		}
	}
	return collect(dp, actual, claimed), problems, warnings
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
