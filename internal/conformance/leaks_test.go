package conformance

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestLeaks checks the log check itself, so that a suite run that passes
// NoSecretsInLogs means something.
func TestLeaks(t *testing.T) {
	t.Parallel()
	// Fake values made up for this test.
	const tok = "eyJhbGciOiJub25lIn0.eyJvaWQiOiJmYWtlIn0."
	secrets := map[string]string{tok: "a token", "FAKEsig0123": "a callback sig"}
	tests := []struct {
		name, logs string
		want       []string
	}{
		{"clean", `level=DEBUG msg=http method=GET path=/providers/x status=200`, nil},
		{"redacted sig", `msg=http path="/x?a=1&sig=REDACTED"`, nil},
		{"token", `msg=retrying reason="Bearer ` + tok + `"`, []string{"a token"}},
		{"sig value", `reason="https://h/x?sp=%2Fread&sig=abc123"`, []string{"a sig= value (6 characters)"}},
		{"encoded ampersand", `next=https%3A%2F%2Fh%2Fx%3Fa%3D1%26sig=abc`, []string{"a sig= value (3 characters)"}},
		{"json ampersand", `"u":"https://h/x?a=1\u0026sig=abcd"`, []string{"a sig= value (4 characters)"}},
		{"known sig value", `url=https://h/x?sig=FAKEsig0123`, []string{"a callback sig", "a sig= value (11 characters)"}},
		{"not a sig member", `design=1&xsig=keep&signature=keep`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, leaks(tt.logs, secrets)); diff != "" {
				t.Errorf("leaks (-want +got):\n%s", diff)
			}
		})
	}
}
