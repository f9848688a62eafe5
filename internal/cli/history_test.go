package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowsync/flowsync/history/historytest"
	"github.com/flowsync/flowsync/internal/testgit"
)

// historyRepo builds the history fixture (bare when asked) and returns its
// directory and commits.
func historyRepo(t *testing.T, bare bool) (string, []historytest.Step) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "backup")
	steps, err := historytest.Build(context.Background(), dir, bare)
	if err != nil {
		t.Fatal(err)
	}
	return dir, steps
}

func TestLogCommand(t *testing.T) {
	for _, bare := range []bool{false, true} {
		dir, _ := historyRepo(t, bare)
		for _, tt := range []struct {
			args   []string
			golden string
		}{
			{[]string{"log", "--repo", dir, "--env", "Contoso Dev"}, "log-dev.txt"},
			{[]string{"--output", "json", "log", "--repo", dir, "--env", "Contoso Dev"}, "log-dev.json"},
			{[]string{"log", "--repo", dir, "--env", string(historytest.Dev), "--flow", "Sales report (EU)"}, "log-flow-former-name.txt"},
			{[]string{"log", "--repo", dir, "--env", string(historytest.Dev), "-n", "2"}, "log-dev-limit.txt"},
			{[]string{"log", "--repo", dir, "--env", string(historytest.Dev), "--since", "2025-03-01T07:00:00Z"}, "log-dev-since.txt"},
			{[]string{"log", "--repo", dir, "--env", string(historytest.Dev), "--rev", "main~5"}, "log-dev-at-rev.txt"},
		} {
			code, out, stderr := run(t, nil, tt.args...)
			if code != 0 {
				t.Fatalf("%v: exit %d: %s", tt.args, code, stderr)
			}
			want, err := os.ReadFile(filepath.Join("..", "..", "testdata", "history", tt.golden))
			if err != nil {
				t.Fatal(err)
			}
			if out != string(want) {
				t.Errorf("%v (bare %v): output differs from %s:\n%s", tt.args, bare, tt.golden, out)
			}
		}
	}
}

func TestShowCommandByteIdentical(t *testing.T) {
	dir, steps := historyRepo(t, false)
	for _, part := range []string{"flow", "definition", "connections", "permissions"} {
		for _, flow := range []string{"Nightly sync", string(historytest.Hostile), historytest.HostileName} {
			code, out, stderr := run(t, nil, "show", "--repo", dir, "--rev", steps[2].Commit.String(), "--env", string(historytest.Dev), "--flow", flow, "--part", part)
			if code != 0 {
				t.Fatalf("show %q %s: exit %d: %s", flow, part, code, stderr)
			}
			var file string
			switch flow {
			case "Nightly sync":
				file = string(historytest.Nightly)
			default:
				file = string(historytest.Hostile)
			}
			want := testgit.Run(t, dir, "cat-file", "blob", steps[2].Commit.String()+":environments/"+string(historytest.Dev)+"/flows/"+file+"/"+part+".json")
			if out != want {
				t.Errorf("show %q --part %s differs from git:\n%s\nwant:\n%s", flow, part, out, want)
			}
		}
	}
	// Without --part: every stored part in one JSON document.
	code, out, stderr := run(t, nil, "show", "--repo", dir, "--env", "Contoso Dev", "--flow", "Nightly sync")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want, err := os.ReadFile(filepath.Join("..", "..", "testdata", "history", "show-nightly.json"))
	if err != nil {
		t.Fatal(err)
	}
	if out != string(want) {
		t.Errorf("whole flow differs from show-nightly.json:\n%s", out)
	}
}

func TestLogShowErrors(t *testing.T) {
	dir, steps := historyRepo(t, false)
	missing := filepath.Join(t.TempDir(), "nothing-here")
	empty := t.TempDir()
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"log without repo", []string{"log", "--env", "x"}, ExitUsage, "--repo"},
		{"log without env", []string{"log", "--repo", dir}, ExitUsage, "--env"},
		{"log bad since", []string{"log", "--repo", dir, "--env", "x", "--since", "last tuesday"}, ExitUsage, "--since"},
		{"log negative limit", []string{"log", "--repo", dir, "--env", "x", "--limit", "-1"}, ExitUsage, "--limit"},
		{"log argument", []string{"log", "--repo", dir, "--env", "x", "Sales"}, ExitUsage, "--flow"},
		{"log missing repo", []string{"log", "--repo", missing, "--env", "x"}, ExitFailure, "no such directory"},
		{"log empty dir", []string{"log", "--repo", empty, "--env", "x"}, ExitFailure, "empty"},
		{"log unknown env", []string{"log", "--repo", dir, "--env", "Fabrikam Dev"}, ExitFailure, "Fabrikam Dev"},
		{"log unknown env name", []string{"log", "--repo", dir, "--env", "Default-00000000-0000-0000-0000-000000000000"}, ExitFailure, "no history"},
		{"log unknown flow", []string{"log", "--repo", dir, "--env", "Contoso Dev", "--flow", "Payroll"}, ExitFailure, `"Payroll"`},
		{"log unknown rev", []string{"log", "--repo", dir, "--env", "Contoso Dev", "--rev", "nope"}, ExitFailure, `"nope"`},
		{"show without flow", []string{"show", "--repo", dir, "--env", "x"}, ExitUsage, "--flow"},
		{"show bad part", []string{"show", "--repo", dir, "--env", "x", "--flow", "y", "--part", "secrets"}, ExitUsage, "--part"},
		{"show gone flow", []string{"show", "--repo", dir, "--env", "Contoso Dev", "--flow", "Sales report (EU)"}, ExitFailure, "--rev " + steps[5].Commit.String()[:12] + "^"},
		{"show hostile name in error", []string{"show", "--repo", dir, "--env", "Contoso Dev", "--flow", "\x1b[2Jgone"}, ExitFailure, `\x1b[2Jgone`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, stderr := run(t, nil, tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tt.code, stderr)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr does not say %q:\n%s", tt.want, stderr)
			}
			if out != "" {
				t.Errorf("printed on stdout despite the error: %q", out)
			}
			if strings.Contains(stderr, "\x1b") {
				t.Errorf("stderr holds a raw escape: %q", stderr)
			}
		})
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("log created %s: %v", missing, err)
	}
	if ents, _ := os.ReadDir(empty); len(ents) != 0 {
		t.Errorf("log wrote into the empty directory: %v", ents)
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)
	tests := map[string]time.Time{
		"2025-03-01":                time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC),
		"2025-03-01T02:30:00+01:00": time.Date(2025, 3, 1, 1, 30, 0, 0, time.UTC),
		"2025-03-01T02:30":          time.Date(2025, 3, 1, 2, 30, 0, 0, time.UTC),
		"36h":                       now.Add(-36 * time.Hour),
		"7d":                        now.Add(-7 * 24 * time.Hour),
		"2w":                        now.Add(-14 * 24 * time.Hour),
	}
	for in, want := range tests {
		got, err := parseSince(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseSince(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "yesterday", "-3d", "-1h", "2025-13-01"} {
		if _, err := parseSince(bad, now); err == nil {
			t.Errorf("parseSince(%q) accepted", bad)
		}
	}
}
