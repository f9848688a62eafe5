package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flowsync/flowsync/internal/emulator"
	"github.com/flowsync/flowsync/internal/emulator/seed"
	"github.com/flowsync/flowsync/internal/testgit"
)

// TestPromotionCommandsNeverTurnAnEmptyDirectoryIntoARepository: a --repo
// that names an empty directory (a mistyped or not yet cloned backup) is an
// error for every command that reads a backup, and the directory stays
// empty: none of them may leave a new .git behind.
func TestPromotionCommandsNeverTurnAnEmptyDirectoryIntoARepository(t *testing.T) {
	p := startPromoteEmu(t, emulator.Options{})
	tests := []struct {
		name string
		args []string
	}{
		{"diff", []string{"diff", "--from", "Contoso Dev", "--to", "Contoso Prod"}},
		{"diff to-rev", []string{"diff", "--from", "Contoso Dev", "--to-rev", "main"}},
		{"import", []string{"import", "--from", "Contoso Dev", "--to", "Contoso Prod", "--dry-run"}},
		{"restore", []string{"restore", "--rev", "main", "--env", "Contoso Dev", "--dry-run"}},
		{"mapping init", []string{"mapping", "init", "--from", "Contoso Dev", "--to", "Contoso Prod"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			empty := t.TempDir()
			args := append(append([]string{}, tt.args...), "--repo", empty)
			if tt.name == "mapping init" {
				args = append([]string{"mapping", "init", "--repo", empty}, tt.args[2:]...)
			}
			code, _, stderr := p.run(args...)
			if code != ExitFailure {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, ExitFailure, stderr)
			}
			if !strings.Contains(stderr, "empty") {
				t.Errorf("stderr does not say the directory is empty:\n%s", stderr)
			}
			if ents, err := os.ReadDir(empty); err != nil || len(ents) != 0 {
				t.Errorf("%s wrote into the empty directory: %v, %v", tt.name, ents, err)
			}
		})
	}
}

// TestImportAndRestoreRefuseWithStdinFromDevNull: /dev/null is a character
// device but no terminal. A nightly job runs with it as standard input; the
// import and the restore must then refuse with a usage error that names
// --yes (exit 2, nothing written), not prompt and take end-of-file for "no".
func TestImportAndRestoreRefuseWithStdinFromDevNull(t *testing.T) {
	p := startPromoteEmu(t, emulator.Options{})
	repoDir := p.backup()
	mapPath := writeFile(t, "map.yaml", goodMap())
	tests := []struct {
		name string
		args []string
	}{
		{"import", append([]string{"import", "--repo", repoDir, "--from", "Contoso Dev", "--to", "Contoso Prod", "--map", mapPath}, flowArgs(promotableFlows...)...)},
		{"restore", []string{"restore", "--repo", repoDir, "--rev", "main", "--env", "Contoso Dev", "--to", "Contoso Prod", "--map", mapPath, "--flow", promotableFlows[0]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			devNull, err := os.Open(os.DevNull)
			if err != nil {
				t.Fatal(err)
			}
			defer devNull.Close()
			var out, errOut bytes.Buffer
			getenv := func(k string) string { return p.env[k] }
			args := append(append([]string{"flowsync"}, p.globals()...), tt.args...)
			code := Main(context.Background(), args, IO{In: devNull, Out: &out, Err: &errOut, Getenv: getenv})
			if code != ExitUsage || !strings.Contains(errOut.String(), "--yes") {
				t.Errorf("exit %d, want %d naming --yes\n%s%s", code, ExitUsage, out.String(), errOut.String())
			}
			if strings.Contains(errOut.String(), "Type yes") {
				t.Errorf("prompted without a terminal:\n%s", errOut.String())
			}
			if n := p.writes(); n != 0 {
				t.Errorf("wrote %d time(s)", n)
			}
		})
	}
}

// TestImportAndRestoreJSONCarryThePlanAsDiffWritesIt: docs/IMPORT.md says
// the "plan" of import --output json is the plan as diff --format json
// writes it (docs/PLAN.md), and restore's is the same; a script reads one
// shape for all three. Before, both commands wrote the Go struct instead
// (no version or summary, "Env"/"Flow" keys).
func TestImportAndRestoreJSONCarryThePlanAsDiffWritesIt(t *testing.T) {
	p := startPromoteEmu(t, emulator.Options{})
	repoDir := p.backup()
	mapPath := writeFile(t, "map.yaml", goodMap())
	common := append([]string{"--repo", repoDir, "--from", "Contoso Dev", "--to", "Contoso Prod", "--map", mapPath}, flowArgs(promotableFlows...)...)

	code, want, stderr := p.run(append([]string{"diff", "--format", "json"}, common...)...)
	if code != 0 {
		t.Fatalf("diff: exit %d\n%s%s", code, want, stderr)
	}
	var wantPlan any
	if err := json.Unmarshal([]byte(want), &wantPlan); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := p.run(append([]string{"--output", "json", "import", "--dry-run"}, common...)...)
	if code != 0 {
		t.Fatalf("import --dry-run: exit %d\n%s%s", code, out, stderr)
	}
	var doc struct {
		Plan any `json:"plan"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(wantPlan, doc.Plan); d != "" {
		t.Errorf("import's plan differs from diff --format json (-diff +import):\n%s", d)
	}

	code, out, stderr = p.run("--output", "json", "restore", "--repo", repoDir, "--rev", "main", "--env", "Contoso Dev", "--dry-run")
	if code != 0 {
		t.Fatalf("restore --dry-run: exit %d\n%s%s", code, out, stderr)
	}
	var rdoc struct {
		Plan struct {
			Version int `json:"version"`
			Changes []struct {
				Source map[string]string `json:"source"`
			} `json:"changes"`
		} `json:"plan"`
	}
	if err := json.Unmarshal([]byte(out), &rdoc); err != nil {
		t.Fatal(err)
	}
	if rdoc.Plan.Version == 0 || len(rdoc.Plan.Changes) == 0 || rdoc.Plan.Changes[0].Source["flow"] == "" {
		t.Errorf("restore's plan is not in the shape of docs/PLAN.md:\n%s", out)
	}
}

// TestReadersNameABackupWhenRepoIsNotARepository: a --repo that is a
// directory of other files gets an error saying it is not a Git
// repository and to name the backup, not export's advice to run git init
// there (which would only make an empty repository).
func TestReadersNameABackupWhenRepoIsNotARepository(t *testing.T) {
	p := startPromoteEmu(t, emulator.Options{})
	junk := t.TempDir()
	writeFileIn(t, junk, "notes.txt", "not a backup\n")
	tests := []struct {
		name string
		args []string
	}{
		{"log", []string{"log", "--repo", junk, "--env", "Contoso Dev"}},
		{"show", []string{"show", "--repo", junk, "--env", "Contoso Dev", "--flow", "x"}},
		{"diff", []string{"diff", "--repo", junk, "--from", "Contoso Dev", "--to", "Contoso Prod"}},
		{"import", []string{"import", "--repo", junk, "--from", "Contoso Dev", "--to", "Contoso Prod", "--dry-run"}},
		{"restore", []string{"restore", "--repo", junk, "--rev", "main", "--env", "Contoso Dev", "--dry-run"}},
		{"mapping init", []string{"mapping", "init", "--repo", junk, "--from", "Contoso Dev", "--to", "Contoso Prod"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := p.run(tt.args...)
			if code != ExitFailure {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, ExitFailure, stderr)
			}
			if !strings.Contains(stderr, "not a Git repository") || !strings.Contains(stderr, "backup") || strings.Contains(stderr, "git init") {
				t.Errorf("stderr does not say to name the backup:\n%s", stderr)
			}
			if ents, err := os.ReadDir(junk); err != nil || len(ents) != 1 {
				t.Errorf("the directory changed: %v, %v", ents, err)
			}
		})
	}
}

func writeFileIn(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestDiffBetweenTwoTreesCountsUnchangedFlows: a tree compared with
// itself has every flow unchanged, and the summary says so (before, it said
// "0 unchanged" about fourteen equal flows); one change leaves the others
// counted as unchanged.
func TestDiffBetweenTwoTreesCountsUnchangedFlows(t *testing.T) {
	p := startPromoteEmu(t, emulator.Options{})
	repoDir := p.backup()
	flows := strings.Fields(testgit.Run(t, repoDir, "ls-tree", "--name-only", "HEAD:environments/"+string(seed.DemoEnvDev)+"/flows"))
	if len(flows) < 2 {
		t.Fatalf("the backup has %d flow(s)", len(flows))
	}
	code, out, stderr := p.run("diff", "--repo", repoDir, "--from", "Contoso Dev", "--to-rev", "HEAD", "--exit-code", "--format", "json")
	if code != 0 {
		t.Fatalf("a tree against itself: exit %d\n%s%s", code, out, stderr)
	}
	var doc struct {
		Summary map[string]int `json:"summary"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if want := map[string]int{"unchanged": len(flows)}; !cmp.Equal(want, doc.Summary) {
		t.Errorf("summary = %v, want %v", doc.Summary, want)
	}
	code, out, stderr = p.run("diff", "--repo", repoDir, "--from", "Contoso Dev", "--to-rev", "HEAD", "--flow", flows[0])
	if code != 0 || !strings.Contains(out, "1 unchanged") {
		t.Errorf("one flow against itself: exit %d, want a summary of 1 unchanged\n%s%s", code, out, stderr)
	}
}
