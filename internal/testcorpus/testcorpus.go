// Package testcorpus locates the shared flow corpus for tests.
//
// The corpus (real flow definitions written by others) is never copied into
// the repository: tests reach it through FLOWSYNC_CORPUS, which CI sets.
// When the variable is unset a corpus test skips and says how to enable it;
// when it is set but names no corpus the test fails, so a misconfigured CI
// never passes by running nothing.
package testcorpus

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"
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

// Table reads the manifest of the corpus in dir: its header and its rows,
// each as long as the header. A manifest that cannot be read, has no rows,
// or has a row of another length fails tb: a corpus test never runs on
// nothing.
func Table(tb testing.TB, dir string) (header []string, rows [][]string) {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(dir, Manifest))
	if err != nil {
		tb.Fatalf("read the corpus manifest: %v", err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\r\n"), "\n")
	if len(lines) < 2 {
		tb.Fatalf("%s in %s has no rows", Manifest, dir)
	}
	header = strings.Split(strings.TrimRight(lines[0], "\r"), "\t")
	for i, l := range lines[1:] {
		row := strings.Split(strings.TrimRight(l, "\r"), "\t")
		if len(row) != len(header) {
			tb.Fatalf("%s row %d has %d fields, the header %d: %q", Manifest, i+1, len(row), len(header), l)
		}
		rows = append(rows, row)
	}
	return header, rows
}

// Rows is Table with each row as a map from column name to value; a
// column in want that the header lacks fails tb.
func Rows(tb testing.TB, dir string, want ...string) []map[string]string {
	tb.Helper()
	header, rows := Table(tb, dir)
	for _, w := range want {
		if !slices.Contains(header, w) {
			tb.Fatalf("%s has no column %q", Manifest, w)
		}
	}
	out := make([]map[string]string, 0, len(rows))
	for _, row := range rows {
		m := make(map[string]string, len(header))
		for i, h := range header {
			m[h] = row[i]
		}
		out = append(out, m)
	}
	return out
}

// Column is the index of column name in header; a missing one fails tb.
func Column(tb testing.TB, header []string, name string) int {
	tb.Helper()
	i := slices.Index(header, name)
	if i < 0 {
		tb.Fatalf("%s has no column %q", Manifest, name)
	}
	return i
}

// Text is the content of a corpus file as UTF-8. Corpus files come as
// exported: a UTF-8 byte order mark is dropped and UTF-16 LE (with its
// mark) is transcoded. The test's own decoding, independent of the code
// under test, so that the two can be compared.
func Text(tb testing.TB, b []byte) []byte {
	tb.Helper()
	switch {
	case bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}):
		return b[3:]
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE}):
		b = b[2:]
		if len(b)%2 != 0 {
			tb.Fatalf("UTF-16 corpus file with an odd number of bytes")
		}
		units := make([]uint16, len(b)/2)
		for i := range units {
			units[i] = binary.LittleEndian.Uint16(b[2*i:])
		}
		return []byte(string(utf16.Decode(units)))
	}
	if !utf8.Valid(b) {
		tb.Fatalf("corpus file neither UTF-8 nor UTF-16 with a byte order mark")
	}
	return b
}
