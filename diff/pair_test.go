package diff

import (
	"strings"
	"testing"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/model"
	"github.com/google/go-cmp/cmp"
)

// pairView is a Pairing reduced to names, for comparing.
type pairView struct {
	Src, Dst api.FlowName
	Link     LinkKind
}

func viewPairs(ps []Pairing) []pairView {
	var out []pairView
	for _, p := range ps {
		var v pairView
		if p.Desired != nil {
			v.Src = p.Desired.Key.Flow
		}
		if p.Actual != nil {
			v.Dst = p.Actual.Key.Flow
		}
		v.Link = p.Link
		out = append(out, v)
	}
	return out
}

func TestPair(t *testing.T) {
	a, b, c := srcFlow(1, "Alpha"), srcFlow(2, "Beta"), srcFlow(3, "Gamma")
	ta, tb, tc := targetOf(a, 1), targetOf(b, 2), targetOf(c, 3)
	renamed := tb
	renamed.Meta.DisplayName = "Beta (renamed in prod)"
	deleted := tc
	deleted.Meta.State = api.StateDeleted
	twinA := targetOf(a, 9) // a second target flow named Alpha

	tests := []struct {
		name      string
		in        Input
		want      []pairView
		problems  []string
		warnings  []string
		inMessage string // a problem's message must contain this
	}{
		{
			name: "unique display names",
			in:   Input{Desired: []model.Flow{b, a}, Actual: []model.Flow{tb, ta}},
			want: []pairView{{src(1), dst(1), LinkName}, {src(2), dst(2), LinkName}},
		},
		{
			name: "stored link wins over a renamed target",
			in: Input{Desired: []model.Flow{a, b}, Actual: []model.Flow{ta, renamed},
				Links: map[api.FlowName]api.FlowName{src(2): dst(2)}},
			want: []pairView{{src(1), dst(1), LinkName}, {src(2), dst(2), LinkStored}},
		},
		{
			name: "stored link in other case",
			in: Input{Desired: []model.Flow{b}, Actual: []model.Flow{renamed},
				Links: map[api.FlowName]api.FlowName{api.FlowName(strings.ToUpper(string(src(2)))): api.FlowName(strings.ToUpper(string(dst(2))))}},
			want: []pairView{{src(2), dst(2), LinkStored}},
		},
		{
			name: "explicit link wins over stored link and name",
			in: Input{Desired: []model.Flow{a}, Actual: []model.Flow{ta, tb},
				Links:    map[api.FlowName]api.FlowName{src(1): dst(1)},
				Explicit: map[api.FlowName]api.FlowName{src(1): dst(2)}},
			want: []pairView{{src(1), dst(2), LinkExplicit}, {"", dst(1), LinkNone}},
		},
		{
			name: "stale stored link falls back to the name",
			in: Input{Desired: []model.Flow{a}, Actual: []model.Flow{ta},
				Links: map[api.FlowName]api.FlowName{src(1): dst(7)}},
			want:     []pairView{{src(1), dst(1), LinkName}},
			warnings: []string{CodeStaleLink},
		},
		{
			name:      "ambiguous target names pair nothing",
			in:        Input{Desired: []model.Flow{a}, Actual: []model.Flow{ta, twinA}},
			want:      []pairView{{src(1), "", LinkNone}, {"", dst(1), LinkNone}, {"", dst(9), LinkNone}},
			problems:  []string{CodeAmbiguousName},
			inMessage: "--link " + string(src(1)) + "=",
		},
		{
			name:      "ambiguous source names pair nothing",
			in:        Input{Desired: []model.Flow{a, flow(srcEnv, src(5), "Alpha", "")}, Actual: []model.Flow{ta}},
			want:      []pairView{{src(1), "", LinkNone}, {src(5), "", LinkNone}, {"", dst(1), LinkNone}},
			problems:  []string{CodeAmbiguousName, CodeAmbiguousName},
			inMessage: string(dst(1)),
		},
		{
			name: "explicit link resolves an ambiguity",
			in: Input{Desired: []model.Flow{a}, Actual: []model.Flow{ta, twinA},
				Explicit: map[api.FlowName]api.FlowName{src(1): dst(9)}},
			want: []pairView{{src(1), dst(9), LinkExplicit}, {"", dst(1), LinkNone}},
		},
		{
			name: "explicit link to nothing",
			in: Input{Desired: []model.Flow{a}, Actual: []model.Flow{ta},
				Explicit: map[api.FlowName]api.FlowName{src(1): dst(8), src(4): dst(1)}},
			want:      []pairView{{src(1), dst(1), LinkName}},
			problems:  []string{CodeBadLink, CodeBadLink},
			inMessage: "no source flow " + string(src(4)),
		},
		{
			name: "two explicit links to one target",
			in: Input{Desired: []model.Flow{a, b}, Actual: []model.Flow{ta},
				Explicit: map[api.FlowName]api.FlowName{src(1): dst(1), src(2): dst(1)}},
			want:      []pairView{{src(1), dst(1), LinkExplicit}, {src(2), "", LinkNone}},
			problems:  []string{CodeBadLink},
			inMessage: "already linked",
		},
		{
			name: "soft-deleted target flows are not paired across environments",
			in:   Input{Desired: []model.Flow{c}, Actual: []model.Flow{deleted}},
			want: []pairView{{src(3), "", LinkNone}, {"", dst(3), LinkNone}},
		},
		{
			name: "same environment pairs by flow name, not display name",
			in: Input{SameEnv: true, Desired: []model.Flow{a, b},
				Actual: []model.Flow{withKey(renamedAs(a, "Other"), srcEnv, src(1)), withKey(b, srcEnv, src(6))}},
			want: []pairView{{src(1), src(1), LinkSame}, {src(2), "", LinkNone}, {"", src(6), LinkNone}},
		},
		{
			name: "same environment pairs soft-deleted flows (restore)",
			in: Input{SameEnv: true, Desired: []model.Flow{c},
				Actual: []model.Flow{withKey(deleted, srcEnv, src(3))}},
			want: []pairView{{src(3), src(3), LinkSame}},
		},
		{
			name: "nothing",
			in:   Input{},
			want: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pairs, probs, warns := Pair(tt.in)
			if diff := cmp.Diff(tt.want, viewPairs(pairs)); diff != "" {
				t.Errorf("pairs (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.problems, codes(probs)); diff != "" {
				t.Errorf("problems (-want +got):\n%s\n%v", diff, probs)
			}
			if diff := cmp.Diff(tt.warnings, codes(warns)); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
			if tt.inMessage != "" {
				found := false
				for _, p := range probs {
					found = found || strings.Contains(p.Message, tt.inMessage)
				}
				if !found {
					t.Errorf("no problem message contains %q: %v", tt.inMessage, probs)
				}
			}
		})
	}
}

func withKey(f model.Flow, env api.EnvName, name api.FlowName) model.Flow {
	f.Key = model.Key{Env: env, Flow: name}
	return f
}

func renamedAs(f model.Flow, display string) model.Flow {
	f.Meta.DisplayName = display
	return f
}

func TestPairIgnoresInputOrder(t *testing.T) {
	a, b := srcFlow(1, "Alpha"), srcFlow(2, "Beta")
	ta, tb := targetOf(a, 1), targetOf(b, 2)
	p1, _, _ := Pair(Input{Desired: []model.Flow{a, b}, Actual: []model.Flow{ta, tb}})
	p2, _, _ := Pair(Input{Desired: []model.Flow{b, a}, Actual: []model.Flow{tb, ta}})
	if diff := cmp.Diff(viewPairs(p1), viewPairs(p2)); diff != "" {
		t.Errorf("order changed the pairs (-first +second):\n%s", diff)
	}
}
