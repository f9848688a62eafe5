package testgit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunIsolatedFromMachineConfig: a global configuration the machine
// points at (an alias, an identity) does not reach the commands, and the
// commit the CLI makes carries the fixed identity and date.
func TestRunIsolatedFromMachineConfig(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "gitconfig")
	if err := os.WriteFile(cfg, []byte("[user]\n\tname = Machine User\n[alias]\n\tst = status\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GIT_CONFIG_GLOBAL", cfg)
	dir := t.TempDir()
	Run(t, dir, "init", "-q", "-b", "main")
	if _, err := Try(t, dir, "st"); err == nil {
		t.Error("git st ran: the machine's alias reached the command")
	}
	Run(t, dir, "commit", "-q", "--allow-empty", "-m", "one")
	got := strings.TrimSpace(Run(t, dir, "log", "-1", "--format=%an <%ae> %cn <%ce> %aI"))
	if want := Name + " <" + Email + "> " + Name + " <" + Email + "> 2025-03-04T05:06:07+00:00"; got != want {
		t.Errorf("commit identity %q, want %q", got, want)
	}
	FsckStrict(t, dir)
	if err := os.MkdirAll(filepath.Join(dir, "envs", "e"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "envs", "e", "f.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := WorkingFiles(t, dir); len(got) != 1 || got["envs/e/f.json"] != "{}" {
		t.Errorf("working files %q, want envs/e/f.json alone (nothing from .git)", got)
	}
}

// TestTryNamesTheCommand: a failing command's error names it, its
// directory and git's own complaint.
func TestTryNamesTheCommand(t *testing.T) {
	dir := t.TempDir()
	_, err := Try(t, dir, "rev-parse", "--verify", "no-such-ref")
	if err == nil {
		t.Fatal("rev-parse of a missing ref outside a repository succeeded")
	}
	for _, want := range []string{"git rev-parse --verify no-such-ref", dir, "not a git repository"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}
