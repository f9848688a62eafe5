package cli

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/flowsync/flowsync/internal/auth"
	"github.com/flowsync/flowsync/internal/redact"
)

func TestExitCode(t *testing.T) {
	missing := fmt.Errorf("get token for https://graph.microsoft.com/.default: %w: set FLOWSYNC_GRAPH_TOKEN", auth.ErrMissingSetting)
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, ExitOK},
		{"failure", errors.New("boom"), ExitFailure},
		{"usage", usagef("--x: bad"), ExitUsage},
		{"wrapped usage", fmt.Errorf("export: %w", usagef("--x: bad")), ExitUsage},
		{"missing setting mid-run", fmt.Errorf("look up principal p: %w", missing), ExitUsage},
		{"missing setting through redaction", redact.Error(fmt.Errorf("list: %w", missing)), ExitUsage},
		{"partial", fmt.Errorf("2 of 3 flows: %w", ErrPartial), ExitPartial},
		{"partial wins over a missing setting", fmt.Errorf("%w: %w", ErrPartial, missing), ExitPartial},
	}
	for _, tt := range tests {
		if got := exitCode(tt.err); got != tt.want {
			t.Errorf("%s: exitCode(%v) = %d, want %d", tt.name, tt.err, got, tt.want)
		}
	}
}

// TestPrintTry: the printed lines name every token variable a session
// reads, each with the audience it needs, and with --tls the certificate.
func TestPrintTry(t *testing.T) {
	var b bytes.Buffer
	printTry(&b, "https://127.0.0.1:8787", "admin@x.example", true, "/tmp/my ca.pem")
	out := b.String()
	for _, want := range []string{
		"export FLOWSYNC_CA_CERT='/tmp/my ca.pem'\n",
		"export FLOWSYNC_API_URL=https://127.0.0.1:8787 FLOWSYNC_AUTH=token\n",
		"export FLOWSYNC_TOKEN=$(flowsync emulator token --url https://127.0.0.1:8787 --principal admin@x.example)\n",
		"export FLOWSYNC_POWERAPPS_TOKEN=$(flowsync emulator token --url https://127.0.0.1:8787 --principal admin@x.example --audience powerapps)\n",
		"export FLOWSYNC_GRAPH_TOKEN=$(flowsync emulator token --url https://127.0.0.1:8787 --principal admin@x.example --audience graph)\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if i, j := strings.Index(out, "FLOWSYNC_CA_CERT"), strings.Index(out, "FLOWSYNC_TOKEN="); i > j {
		t.Errorf("the certificate must be exported before the token commands use it:\n%s", out)
	}
	b.Reset()
	printTry(&b, "http://127.0.0.1:8787", "it's", false, "")
	if out := b.String(); strings.Contains(out, "CA_CERT") || !strings.Contains(out, `--principal 'it'\''s'`) {
		t.Errorf("plain http: %s", out)
	}
	for _, env := range []string{auth.EnvToken, auth.EnvPowerAppsToken, auth.EnvGraphToken} {
		found := false
		for _, tt := range tryTokens {
			found = found || tt.env == env
		}
		if !found {
			t.Errorf("printTry does not set %s", env)
		}
	}
}
