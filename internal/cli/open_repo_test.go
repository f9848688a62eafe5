package cli

import (
	"os"
	"strings"
	"testing"

	"github.com/flowsync/flowsync/internal/emulator"
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
