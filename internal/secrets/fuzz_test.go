package secrets

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/flowsync/flowsync/internal/canon"
	"github.com/flowsync/flowsync/internal/testcorpus"
)

// FuzzRedact checks, for any JSON document: redaction succeeds, is
// idempotent (redacting the output changes nothing and finds nothing), and
// Restore with the removed values gives back the input exactly (canonical
// form), with at most the placeholder text the input itself held missing.
// Run it locally: go test -run '^$' -fuzz FuzzRedact -fuzztime 60s ./internal/secrets/
func FuzzRedact(f *testing.F) {
	stand := strings.NewReplacer("SECRET1", "FAKEa1b2c3d4e5f6a7b8c9d0", "SECRET2", "FAKE0f9e8d7c6b5a4f3e2d1c",
		"SECRET3", "FAKE11223344556677889900", "BASIC1", "c3ZjLXVzZXI6RkFLRWExYjJjM2Q0",
		"JWT1", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl")
	for _, c := range append(redactCases(), catalogueCases()...) {
		f.Add([]byte(stand.Replace(c.doc)))
	}
	// The corpus's real flows seed it too, when FLOWSYNC_CORPUS names it.
	if os.Getenv(testcorpus.EnvVar) != "" {
		for _, def := range corpusDefinitions(f, testcorpus.Dir(f)) {
			f.Add([]byte(def))
		}
	}
	f.Add([]byte(`{"a":"<redacted:flowsync:a#sig> sig=x <redacted:flowsync:"}`))
	f.Add([]byte(`{"headers":{"Authorization":"@{concat('Bearer ', 'abc''d', variables('x'))}tail"}}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		want, err := canon.Canonicalize(doc)
		if err != nil {
			return // not a document redaction accepts
		}
		out, findings, values, err := RedactWithValues(doc, "")
		if err != nil {
			t.Fatalf("redact: %v", err)
		}
		if len(values) != len(findings) {
			t.Fatalf("%d values for %d findings", len(values), len(findings))
		}
		again, f2, err := Redact(out, "")
		if err != nil {
			t.Fatalf("redact the output: %v", err)
		}
		if len(f2) != 0 || !bytes.Equal(again, out) {
			t.Fatalf("not idempotent: found %v\nfirst:\n%s\nsecond:\n%s", f2, out, again)
		}
		restored, missing, err := Restore(out, values)
		if err != nil {
			t.Fatalf("restore: %v", err)
		}
		if !bytes.Equal(restored, want) {
			t.Fatalf("Restore(Redact(x)) != x:\n%s\nwant\n%s", restored, want)
		}
		typed, err := Placeholders(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range missing {
			if _, ok := values[p]; ok || !containsString(typed, p) {
				t.Fatalf("restore missed %q, which the input did not hold", p)
			}
		}
	})
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
