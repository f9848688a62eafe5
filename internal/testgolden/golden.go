// Package testgolden compares test output with golden files.
//
// A golden file holds the output a test expects, kept in testdata and
// reviewed like code. Each package declares its own -update flag (flags
// belong to the test binary) and passes it to Check: with it, Check writes
// the output as the new golden file; without it, any difference fails the
// test with a diff and the command that rewrites the file.
package testgolden

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Check compares got with the golden file at path, or (update) rewrites
// the file with got, creating its directory.
func Check(tb testing.TB, path string, got []byte, update bool) {
	tb.Helper()
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("golden file: %v (go test -update in this package writes it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		tb.Errorf("%s differs (-want +got); go test -update in this package rewrites it if the change is intended:\n%s", path, diff)
	}
}
