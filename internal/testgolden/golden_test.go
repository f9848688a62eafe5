package testgolden

import (
	"os"
	"path/filepath"
	"testing"
)

// fakeTB records failures instead of ending the test, so Check's own
// failures can be asserted.
type fakeTB struct {
	testing.TB
	failed bool
}

func (f *fakeTB) Helper()               {}
func (f *fakeTB) Errorf(string, ...any) { f.failed = true }
func (f *fakeTB) Fatalf(string, ...any) { f.failed = true }
func (f *fakeTB) Fatal(...any)          { f.failed = true }

// TestCheck: -update writes the file (and its directory); then the same
// output passes, a different one fails, and a missing file fails.
func TestCheck(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "out.txt")
	Check(t, path, []byte("one\n"), true)
	if b, err := os.ReadFile(path); err != nil || string(b) != "one\n" {
		t.Fatalf("update wrote %q, %v", b, err)
	}
	Check(t, path, []byte("one\n"), false)
	for name, c := range map[string]struct {
		path string
		got  string
	}{
		"differs": {path, "two\n"},
		"missing": {filepath.Join(t.TempDir(), "none.txt"), "one\n"},
	} {
		f := &fakeTB{TB: t}
		Check(f, c.path, []byte(c.got), false)
		if !f.failed {
			t.Errorf("%s: Check passed", name)
		}
	}
}
