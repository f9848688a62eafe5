package cli

import (
	"strings"
	"testing"
)

// TestExportBranchNames: export --branch takes what git check-ref-format
// --branch takes; HEAD (which would make HEAD ambiguous) and full ref names
// (which would nest under refs/heads/) are usage errors before any API call.
func TestExportBranchNames(t *testing.T) {
	for _, tc := range []struct {
		branch string
		ok     bool
	}{
		{"main", true},
		{"backup/flows", true},
		{"HEAD", false},
		{"refs/heads/main", false},
		{"refs/x", false},
		{"../evil", false},
		{"main.lock", false},
		{"-x", false},
		{"a b", false},
		{"@", false},
		{"", false},
	} {
		t.Run(tc.branch, func(t *testing.T) {
			if got := validBranch(tc.branch); got != tc.ok {
				t.Errorf("validBranch(%q) = %v, want %v", tc.branch, got, tc.ok)
			}
			if tc.ok {
				return
			}
			code, _, stderr := run(t, nil, "export", "--repo", t.TempDir(), "--env", "Dev", "--branch", tc.branch)
			if code != ExitUsage || !strings.Contains(stderr, "--branch") {
				t.Errorf("export --branch %q: exit %d, stderr %q; want %d naming --branch", tc.branch, code, stderr, ExitUsage)
			}
		})
	}
}
