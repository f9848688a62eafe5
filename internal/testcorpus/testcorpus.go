// Package testcorpus locates the shared flow corpus for tests.
//
// The corpus (real flow definitions written by others) is never copied into
// the repository: tests reach it through FLOWSYNC_CORPUS, which CI sets.
// When the variable is unset a corpus test skips and says how to enable it;
// when it is set but names no corpus the test fails, so a misconfigured CI
// never passes by running nothing.
package testcorpus

import (
	"os"
	"path/filepath"
	"testing"
)

// EnvVar names the corpus flows directory.
const EnvVar = "FLOWSYNC_CORPUS"

// Manifest is the corpus's index file, one row per flow file.
const Manifest = "MANIFEST.tsv"

// Dir returns the corpus flows directory, skipping tb when EnvVar is unset
// and failing it when EnvVar names no corpus.
func Dir(tb testing.TB) string {
	tb.Helper()
	dir := os.Getenv(EnvVar)
	if dir == "" {
		tb.Skipf("set %s to the corpus flows directory (shared/corpus/flows beside the repository) to run the corpus tests", EnvVar)
	}
	if _, err := os.Stat(filepath.Join(dir, Manifest)); err != nil {
		tb.Fatalf("%s=%s is not the corpus flows directory: %v", EnvVar, dir, err)
	}
	return dir
}
