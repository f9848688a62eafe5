package cli

import (
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/flowsync/flowsync/internal/emulator"
	"github.com/flowsync/flowsync/internal/emulator/seed"
)

// The partner health check's three secrets, by placeholder path.
var partnerSecrets = []string{
	"actions.Check_partner_API.inputs.authentication.password",
	"actions.Check_partner_API.inputs.headers.x-api-key",
	"parameters.partnerApiToken.defaultValue",
}

// TestImportFillsSecretsFromASecretsFile: a flow with redacted secrets is
// created with the values of a --secrets file; no placeholder reaches the
// service.
func TestImportFillsSecretsFromASecretsFile(t *testing.T) {
	p := startPromoteEmu(t, emulator.Options{})
	repoDir := p.backup()
	var b strings.Builder
	b.WriteString(string(seed.DemoFlowSecrets) + ":\n")
	for i, path := range partnerSecrets {
		b.WriteString("  " + path + ": \"supplied-value-" + string(rune('a'+i)) + "\"\n")
	}
	secretsFile := writeFile(t, "secrets.yaml", b.String())
	diffArgs := []string{"diff", "--repo", repoDir, "--from", "Contoso Dev", "--to", "Contoso Prod", "--flow", "Partner API health check"}
	// diff takes the same secrets as import, so it shows the plan import
	// would apply: without them the secrets are unresolved, with them not.
	if code, out, stderr := p.run(diffArgs...); code != ExitFailure || !strings.Contains(out, "unresolved-secret") {
		t.Fatalf("diff without --secrets: exit %d, want %d with unresolved-secret\n%s%s", code, ExitFailure, out, stderr)
	}
	code, out, stderr := p.run(append(diffArgs, "--secrets", secretsFile)...)
	if code != 0 || strings.Contains(out, "unresolved-secret") || strings.Contains(out+stderr, "supplied-value-") {
		t.Fatalf("diff --secrets: exit %d, want 0, no unresolved secret and no value shown\n%s%s", code, out, stderr)
	}
	code, out, stderr = p.run("import", "--repo", repoDir, "--from", "Contoso Dev", "--to", "Contoso Prod", "--yes",
		"--flow", "Partner API health check", "--secrets", secretsFile)
	if code != 0 {
		t.Fatalf("import: exit %d\n%s%s", code, out, stderr)
	}
	if strings.Contains(out+stderr, "supplied-value-") {
		t.Error("the output shows a supplied secret value")
	}
	checkPartnerInProd(t, p, "supplied-value-a", "supplied-value-b", "supplied-value-c")
	if code, out, stderr := p.run(append(diffArgs, "--secrets", secretsFile, "--exit-code")...); code != 0 {
		t.Errorf("diff --secrets --exit-code after the import: exit %d, want 0\n%s%s", code, out, stderr)
	}
}

// TestImportOpensSealedSecretsWithIdentity: an export sealed the secrets
// with --encrypt-to; import --identity opens them and the flow is created
// with the source's own values.
func TestImportOpensSealedSecretsWithIdentity(t *testing.T) {
	p := startPromoteEmu(t, emulator.Options{})
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	keyFile := writeFile(t, "key.txt", id.String()+"\n")
	repoDir := filepath.Join(t.TempDir(), "backup")
	if code, out, stderr := p.run("export", "--repo", repoDir, "--env", "Contoso Dev", "--scope", "admin", "--encrypt-to", id.Recipient().String()); code != 0 {
		t.Fatalf("export: exit %d\n%s%s", code, out, stderr)
	}
	args := []string{"import", "--repo", repoDir, "--from", "Contoso Dev", "--to", "Contoso Prod", "--yes", "--flow", "Partner API health check"}
	// Without the identity the plan says the secrets are unresolved.
	if code, out, stderr := p.run(args...); code != ExitFailure || !strings.Contains(out+stderr, "unresolved-secret") {
		t.Fatalf("import without --identity: exit %d\n%s%s", code, out, stderr)
	}
	code, out, stderr := p.run(append(args, "--identity", keyFile)...)
	if code != 0 {
		t.Fatalf("import --identity: exit %d\n%s%s", code, out, stderr)
	}
	if strings.Contains(out+stderr, "DEMO-ONLY-") {
		t.Error("the output shows a secret value")
	}
	checkPartnerInProd(t, p, "DEMO-ONLY-not-a-real-password", "DEMO-ONLY-fake-api-key-0000", "DEMO-ONLY-fake-token-0000")
	// A bad identity file is a usage error naming the flag, never its content.
	bad := writeFile(t, "bad.txt", "AGE-SECRET-KEY-NOTAKEY\n")
	code, _, stderr = p.run(append(args, "--identity", bad)...)
	if code != ExitUsage || !strings.Contains(stderr, "--identity") || strings.Contains(stderr, "NOTAKEY") {
		t.Errorf("bad --identity: exit %d\n%s", code, stderr)
	}
}

func checkPartnerInProd(t *testing.T, p *promoteEmu, values ...string) {
	t.Helper()
	var found bool
	for _, f := range p.prodFlows() {
		if f.DisplayName != "Partner API health check" {
			continue
		}
		found = true
		def := string(f.Definition)
		if strings.Contains(def, "<redacted:") {
			t.Errorf("a placeholder reached the service:\n%s", def)
		}
		for _, v := range values {
			if !strings.Contains(def, v) {
				t.Errorf("the Prod flow's definition lacks the value %q", v)
			}
		}
	}
	if !found {
		t.Fatal("no Partner API health check in Prod")
	}
}

// TestImportRefusesASecretsPathTheFlowDoesNotHave: a misspelt path in a
// --secrets file is an error naming the path and the flow's real
// placeholders (never a value), and nothing is written; before, the value
// was dropped without a word and the maker believed the secret was set.
func TestImportRefusesASecretsPathTheFlowDoesNotHave(t *testing.T) {
	p := startPromoteEmu(t, emulator.Options{})
	repoDir := p.backup()
	var b strings.Builder
	b.WriteString(string(seed.DemoFlowSecrets) + ":\n")
	for _, path := range partnerSecrets {
		b.WriteString("  " + path + ": \"supplied-value\"\n")
	}
	b.WriteString("  actions.Check_partner_API.inputs.authentication.pasword: \"typo-value\"\n")
	secretsFile := writeFile(t, "secrets.yaml", b.String())
	code, out, stderr := p.run("import", "--repo", repoDir, "--from", "Contoso Dev", "--to", "Contoso Prod", "--yes",
		"--flow", "Partner API health check", "--secrets", secretsFile)
	if code != ExitFailure {
		t.Fatalf("import: exit %d, want %d\n%s%s", code, ExitFailure, out, stderr)
	}
	for _, want := range []string{"authentication.pasword", partnerSecrets[0], string(seed.DemoFlowSecrets)} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr does not name %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(out+stderr, "-value") {
		t.Error("the output shows a supplied secret value")
	}
	if n := p.writes(); n != 0 {
		t.Errorf("wrote %d time(s)", n)
	}
}
