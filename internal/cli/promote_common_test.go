package cli

import (
	"strings"
	"testing"

	"github.com/flowsync/flowsync/diff"
)

func TestDescribeCostSaysPlainlyWhenAnImportTakesHours(t *testing.T) {
	tests := []struct {
		name string
		cost *diff.Cost
		want []string // empty: no sentence
	}{
		{"no cost", nil, nil},
		{"minutes", &diff.Cost{Writes: 15, ETASeconds: 180}, nil},
		{"hours", &diff.Cost{Reads: 2000, Writes: 3000, ETASeconds: 10 * 3600}, []string{"10h0m0s", "300/1h0m0s", "takes hours", "resumes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := describeCost(tt.cost, "300/1h0m0s")
			if len(tt.want) == 0 {
				if got != "" {
					t.Errorf("got %q, want nothing", got)
				}
				return
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("%q lacks %q", got, w)
				}
			}
		})
	}
}

func TestParseLinks(t *testing.T) {
	const a, b = "2409D8E9-A70A-4DD9-B1AC-73400D02421D", "94487233-1c15-44a9-ac8e-08b0eee84489"
	got, err := parseLinks([]string{a + " = " + b})
	if err != nil || string(got["2409d8e9-a70a-4dd9-b1ac-73400d02421d"]) != b {
		t.Fatalf("parseLinks = %v, %v", got, err)
	}
	for _, bad := range [][]string{{"x"}, {a + "=x"}, {"x=" + b}, {a + "=" + b, a + "=2409d8e9-a70a-4dd9-b1ac-73400d02421d"}} {
		if _, err := parseLinks(bad); err == nil {
			t.Errorf("parseLinks(%q) accepted", bad)
		}
	}
}
