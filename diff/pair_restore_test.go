package diff

import (
	"testing"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/model"
)

// TestPairSameEnvFollowsRestoreLinks: in the same environment a flow that a
// restore recreated under a new name pairs with it through the stored link,
// so that a second restore (or a diff) does not create it again.
func TestPairSameEnvFollowsRestoreLinks(t *testing.T) {
	gone := flow(srcEnv, src(1), "Gone and recreated", "")
	kept := flow(srcEnv, src(2), "Still there", "")
	recreated := flow(srcEnv, src(9), "Gone and recreated", "")
	other := flow(srcEnv, src(3), "Another tree flow", "")
	tests := []struct {
		name  string
		in    Input
		want  map[api.FlowName]api.FlowName // desired -> actual ("" unpaired)
		kinds map[api.FlowName]LinkKind
	}{
		{
			name: "link to the recreated flow",
			in: Input{SameEnv: true, Desired: []model.Flow{gone, kept}, Actual: []model.Flow{kept, recreated},
				Links: map[api.FlowName]api.FlowName{src(1): src(9)}},
			want:  map[api.FlowName]api.FlowName{src(1): src(9), src(2): src(2)},
			kinds: map[api.FlowName]LinkKind{src(1): LinkStored, src(2): LinkSame},
		},
		{
			name: "the same name wins over a link",
			in: Input{SameEnv: true, Desired: []model.Flow{gone}, Actual: []model.Flow{gone, recreated},
				Links: map[api.FlowName]api.FlowName{src(1): src(9)}},
			want:  map[api.FlowName]api.FlowName{src(1): src(1)},
			kinds: map[api.FlowName]LinkKind{src(1): LinkSame},
		},
		{
			name: "a link to a flow of the tree itself is not followed",
			in: Input{SameEnv: true, Desired: []model.Flow{gone, other}, Actual: []model.Flow{other},
				Links: map[api.FlowName]api.FlowName{src(1): src(3)}},
			want: map[api.FlowName]api.FlowName{src(1): "", src(3): src(3)},
		},
		{
			name: "a link to a flow that is gone too",
			in: Input{SameEnv: true, Desired: []model.Flow{gone}, Actual: nil,
				Links: map[api.FlowName]api.FlowName{src(1): src(9)}},
			want: map[api.FlowName]api.FlowName{src(1): ""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pairs, problems, _ := Pair(tt.in)
			if len(problems) > 0 {
				t.Fatalf("problems: %v", problems)
			}
			got := map[api.FlowName]api.FlowName{}
			for _, p := range pairs {
				if p.Desired == nil {
					continue
				}
				var a api.FlowName
				if p.Actual != nil {
					a = p.Actual.Key.Flow
				}
				got[p.Desired.Key.Flow] = a
				if k, ok := tt.kinds[p.Desired.Key.Flow]; ok && p.Link != k {
					t.Errorf("%s paired by %q, want %q", p.Desired.Key.Flow, p.Link, k)
				}
			}
			for d, a := range tt.want {
				if got[d] != a {
					t.Errorf("%s paired with %q, want %q", d, got[d], a)
				}
			}
		})
	}
}
