package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/flowsync/flowsync/internal/emulator"
	"github.com/flowsync/flowsync/internal/emulator/seed"
	"github.com/flowsync/flowsync/internal/safetext"
	"github.com/flowsync/flowsync/internal/testgit"
	"github.com/flowsync/flowsync/repo"
)

// assertSafeOutput fails when text holds a raw control character (other
// than the newlines that end lines), a BiDi formatting rune or invalid UTF-8.
func assertSafeOutput(t *testing.T, what, text string) {
	t.Helper()
	if !utf8.ValidString(text) {
		t.Errorf("%s is not valid UTF-8: %q", what, text)
	}
	for _, r := range text {
		if r != '\n' && safetext.Hostile(r) {
			t.Errorf("%s holds the raw rune %U:\n%q", what, r, text)
			return
		}
	}
}

// hostileNames are display names a maker could type.
var hostileNames = []string{
	"Invoice\x00approval",
	"\x1b[31mRed\x1b[0m \x1b]8;;http://evil.invalid\x07link\x1b]8;;\x07 \x1b]0;title\x07",
	"Line one\nflowsync: added: \"forged\" (x/y)",
	"Report \u202etxt.exe\u2066 isolated\u2069 \u200f",
	"C1 \u0085next\u2028line \u009b31m",
}

// hostileSnapshot gives the dev environment's flows and the environment
// itself hostile display names.
func hostileSnapshot(t *testing.T) *emulator.Snapshot {
	t.Helper()
	snap := seed.Demo()
	i := 0
	for k := range snap.Flows {
		if snap.Flows[k].Environment == seed.DemoEnvDev && i < len(hostileNames) {
			snap.Flows[k].DisplayName = hostileNames[i]
			i++
		}
	}
	if i < len(hostileNames) {
		t.Fatalf("the demo dev environment has %d flows, want at least %d", i, len(hostileNames))
	}
	for k := range snap.Environments {
		if snap.Environments[k].Name == seed.DemoEnvDev {
			snap.Environments[k].DisplayName = "Dev\x1b[2J\x00\u202e\nenv"
		}
	}
	return snap
}

// TestExportHostileNames: flows and an environment whose display names hold
// NUL, ESC sequences, newlines and BiDi overrides export and push to a
// remote with receive.fsckObjects (as hosted Git has), twice; git fsck
// --strict is clean on both sides; no output of envs, flows or export
// holds a raw control character; the commit message and the README show
// the names escaped.
func TestExportHostileNames(t *testing.T) {
	snap := hostileSnapshot(t)
	inst, env := startSnapshot(t, snap)
	remote := filepath.Join(t.TempDir(), "remote.git")
	if err := os.MkdirAll(remote, 0o777); err != nil {
		t.Fatal(err)
	}
	testgit.Run(t, remote, "init", "-q", "--bare")
	testgit.Run(t, remote, "config", "receive.fsckObjects", "true")
	dir := filepath.Join(t.TempDir(), "backup")
	global := []string{"--api-url", inst.URL, "--auth", "token", "--rate-limit", "1000/1s"}
	exportArgs := append(append([]string{}, global...), "--verbose", "export", "--repo", dir, "--env", string(seed.DemoEnvDev),
		"--push", "--remote", "file://"+remote, "--author", "CLI Test <cli-test@example.invalid>")

	code, out, errOut := run(t, env, exportArgs...)
	if code != ExitOK {
		t.Fatalf("export: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	assertSafeOutput(t, "export stdout", out)
	assertSafeOutput(t, "export stderr", errOut)
	if !strings.Contains(out, `Invoice\x00approval`) || !strings.Contains(out, `\u202e`) {
		t.Errorf("the output does not show the names escaped:\n%s", out)
	}
	if strings.Contains(out, "\nflowsync: added:") {
		t.Errorf("a display name forged an output line:\n%s", out)
	}

	// A change pushes again through the remote's object checks.
	rename := snap.Flows
	for k := range rename {
		if rename[k].Environment == seed.DemoEnvDev && rename[k].DisplayName == hostileNames[0] {
			rename[k].DisplayName = "Invoice\x00approval\x1b[0m (renamed)"
			rename[k].LastModifiedTime = rename[k].LastModifiedTime.Add(time.Hour)
		}
	}
	if err := inst.Server.Load(snap); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = run(t, env, exportArgs...)
	if code != ExitOK || !strings.Contains(out, "pushed ") {
		t.Fatalf("second export: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	assertSafeOutput(t, "second export stdout", out)
	assertSafeOutput(t, "second export stderr", errOut)

	testgit.FsckStrict(t, dir)
	testgit.FsckStrict(t, remote)
	if n := strings.TrimSpace(testgit.Run(t, remote, "rev-list", "--count", "main")); n != "2" {
		t.Errorf("remote has %s commits, want 2", n)
	}
	msgs := testgit.Run(t, remote, "log", "--format=%B", "main")
	assertSafeOutput(t, "commit messages", msgs)
	if !strings.Contains(msgs, `Invoice\x00approval\x1b[0m (renamed)`) {
		t.Errorf("the commit message does not name the renamed flow escaped:\n%s", msgs)
	}
	readme := testgit.Run(t, remote, "show", "main:environments/"+string(seed.DemoEnvDev)+"/README.md")
	assertSafeOutput(t, "README", readme)
	if !strings.Contains(readme, `Invoice\\x00approval`) {
		t.Errorf("the README does not show the name escaped:\n%s", readme)
	}

	// Listing commands, text and JSON.
	for _, args := range [][]string{
		{"envs", "--admin"},
		{"flows", "--admin", "--env", string(seed.DemoEnvDev)},
		{"--output", "json", "envs", "--admin"},
		{"--output", "json", "flows", "--admin", "--env", string(seed.DemoEnvDev)},
		{"flows", "--admin", "--env", "no such \x1b[2J env"},
	} {
		code, out, errOut := run(t, env, append(append([]string{}, global...), args...)...)
		what := strings.Join(args, " ")
		if code != ExitOK && !strings.Contains(what, "no such") {
			t.Errorf("%q: exit %d: %s", what, code, errOut)
		}
		assertSafeOutput(t, fmt.Sprintf("%q stdout", what), out)
		assertSafeOutput(t, fmt.Sprintf("%q stderr", what), errOut)
	}
}

// TestExportAllEnvsSkipsExit3: under --all-envs an environment whose name
// cannot be stored is skipped and named (escaped) in the output; the others
// are committed and the run exits 3. The JSON report lists it.
func TestExportAllEnvsSkipsExit3(t *testing.T) {
	snap := seed.Demo()
	var evil emulator.Environment
	for _, e := range snap.Environments {
		if e.Name == seed.DemoEnvTest {
			evil = e
		}
	}
	evil.Name, evil.DisplayName = "../evil\x1b[2J", "Evil \u202e env"
	snap.Environments = append(snap.Environments, evil)
	inst, env := startSnapshot(t, snap)
	dir := filepath.Join(t.TempDir(), "backup")
	global := []string{"--api-url", inst.URL, "--auth", "token", "--rate-limit", "1000/1s"}
	code, out, errOut := run(t, env, append(global, "export", "--repo", dir, "--all-envs", "--scope", "admin")...)
	if code != ExitPartial {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, ExitPartial, out, errOut)
	}
	assertSafeOutput(t, "stdout", out)
	assertSafeOutput(t, "stderr", errOut)
	if !strings.Contains(out, `skipped environment ../evil\x1b[2J`) || !strings.Contains(out, "committed ") {
		t.Errorf("the output does not name the skipped environment or the commit:\n%s", out)
	}
	if !strings.Contains(errOut, "skipped") {
		t.Errorf("the error does not say environments were skipped:\n%s", errOut)
	}
	testgit.FsckStrict(t, dir)

	code, out, _ = run(t, env, append(global, "--output", "json", "export", "--repo", dir, "--all-envs", "--scope", "admin")...)
	var res cliOutput
	if err := json.Unmarshal([]byte(out), &res); err != nil || code != ExitPartial {
		t.Fatalf("JSON run: exit %d, %v\n%s", code, err, out)
	}
	if len(res.Skipped) != 1 || res.Skipped[0].Name != evil.Name || res.Committed {
		t.Errorf("JSON report: skipped %+v, committed %v", res.Skipped, res.Committed)
	}
}

// deadPID returns the pid of a process that has exited.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

// TestExportRepairsWorkingTree: the working clone is left behind the branch
// as a run killed while writing it leaves it (index.lock, the old index with
// staged changes nobody made, some files old, some missing, a temporary
// file, the dead run's flowsync.lock), or as a run that could not write it
// leaves it (index and files of the previous commit). The next run puts it
// back in step, says so, commits nothing and exits 0 with a clean tree. An
// index.lock without a dead run behind it is not removed: the run fails
// naming the file, and succeeds once it is gone.
func TestExportRepairsWorkingTree(t *testing.T) {
	tests := []struct {
		name     string
		simulate func(t *testing.T, dir, old string)
		wantCode int
	}{
		{"killed while writing", func(t *testing.T, dir, old string) {
			changed := testgit.Run(t, dir, "diff", "--name-only", old, "main")
			testgit.Run(t, dir, "read-tree", old) // the index the killed run had not replaced yet
			files := strings.Fields(changed)
			if len(files) < 2 {
				t.Fatalf("want at least two changed files, got %v", files)
			}
			// One file still old, one missing (written or removed midway).
			if err := os.WriteFile(filepath.Join(dir, files[0]), []byte(testgit.Run(t, dir, "show", old+":"+files[0])), 0o666); err != nil {
				t.Fatal(err)
			}
			os.Remove(filepath.Join(dir, files[1]))
			tmp := filepath.Join(dir, filepath.Dir(files[0]), ".flowsync-tmp-0123456789abcdef")
			if err := os.WriteFile(tmp, []byte("half"), 0o666); err != nil {
				t.Fatal(err)
			}
			idx, err := os.ReadFile(filepath.Join(dir, ".git", "index"))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, ".git", "index.lock"), idx[:len(idx)/2], 0o666); err != nil {
				t.Fatal(err)
			}
			host, _ := os.Hostname()
			lock := fmt.Sprintf("pid %d\nhost %s\nstarted 2025-07-01T09:30:00Z\ntoken deadbeef\n", deadPID(t), host)
			if err := os.WriteFile(filepath.Join(dir, ".git", repo.LockFileName), []byte(lock), 0o666); err != nil {
				t.Fatal(err)
			}
		}, ExitOK},
		{"working tree not written", func(t *testing.T, dir, old string) {
			tip := strings.TrimSpace(testgit.Run(t, dir, "rev-parse", "main"))
			testgit.Run(t, dir, "reset", "-q", "--hard", old)
			testgit.Run(t, dir, "update-ref", "refs/heads/main", tip, old)
		}, ExitOK},
		{"index.lock of a live git", func(t *testing.T, dir, old string) {
			tip := strings.TrimSpace(testgit.Run(t, dir, "rev-parse", "main"))
			testgit.Run(t, dir, "reset", "-q", "--hard", old)
			testgit.Run(t, dir, "update-ref", "refs/heads/main", tip, old)
			if err := os.WriteFile(filepath.Join(dir, ".git", "index.lock"), nil, 0o666); err != nil {
				t.Fatal(err)
			}
		}, ExitFailure},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap := seed.Demo()
			inst, env := startSnapshot(t, snap)
			dir := filepath.Join(t.TempDir(), "backup")
			args := []string{"--api-url", inst.URL, "--auth", "token", "--rate-limit", "1000/1s",
				"export", "--repo", dir, "--env", string(seed.DemoEnvDev), "--author", "CLI Test <cli-test@example.invalid>"}
			exportOK := func(step string) string {
				t.Helper()
				code, out, errOut := run(t, env, args...)
				if code != ExitOK {
					t.Fatalf("%s: exit %d\nstdout:\n%s\nstderr:\n%s", step, code, out, errOut)
				}
				return errOut
			}
			exportOK("first export")
			old := strings.TrimSpace(testgit.Run(t, dir, "rev-parse", "main"))

			// A rename, a removal and a new flow change, add and delete files.
			var kept []emulator.Flow
			renamed, dropped := false, false
			for _, f := range snap.Flows {
				if f.Environment == seed.DemoEnvDev && f.DeletedTime == nil {
					switch {
					case !renamed:
						f.DisplayName += " (renamed)"
						f.LastModifiedTime = f.LastModifiedTime.Add(time.Hour)
						renamed = true
					case !dropped:
						dropped = true
						continue
					}
				}
				kept = append(kept, f)
			}
			added := kept[0]
			for _, f := range kept {
				if f.Environment == seed.DemoEnvDev {
					added = f
				}
			}
			added.Name, added.DisplayName = "0f0e0d0c-0b0a-4908-8706-050403020100", "Brand new"
			snap.Flows = append(kept, added)
			if err := inst.Server.Load(snap); err != nil {
				t.Fatal(err)
			}
			exportOK("second export")
			tip := strings.TrimSpace(testgit.Run(t, dir, "rev-parse", "main"))

			tt.simulate(t, dir, old)
			if st := testgit.Run(t, dir, "status", "--porcelain", "--untracked-files=all"); st == "" {
				t.Fatal("the simulation left the working tree clean")
			}
			code, out, errOut := run(t, env, args...)
			if code != tt.wantCode {
				t.Fatalf("run after the damage: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, out, errOut)
			}
			if tt.wantCode != ExitOK {
				if !strings.Contains(errOut, "index.lock") || !strings.Contains(errOut, "delete") {
					t.Errorf("the error does not say which file to delete:\n%s", errOut)
				}
				if _, err := os.Stat(filepath.Join(dir, ".git", "index.lock")); err != nil {
					t.Errorf("the index.lock of a possibly live git was removed: %v", err)
				}
				os.Remove(filepath.Join(dir, ".git", "index.lock"))
				if errOut := exportOK("after the lock is gone"); !strings.Contains(errOut, "repaired the working tree") {
					t.Errorf("the run after the lock is gone does not say it repaired the tree:\n%s", errOut)
				}
			} else {
				if !strings.Contains(errOut, "repaired the working tree") || !strings.Contains(out, "no changes") {
					t.Errorf("the run does not say it repaired the tree, or committed:\nstdout:\n%s\nstderr:\n%s", out, errOut)
				}
			}
			if st := testgit.Run(t, dir, "status", "--porcelain", "--untracked-files=all"); st != "" {
				t.Errorf("working tree not clean after the run:\n%s", st)
			}
			if got := strings.TrimSpace(testgit.Run(t, dir, "rev-parse", "main")); got != tip {
				t.Errorf("branch at %s, want %s (nothing new to commit)", got, tip)
			}
			for _, f := range []string{"index.lock", repo.LockFileName} {
				if _, err := os.Stat(filepath.Join(dir, ".git", f)); err == nil {
					t.Errorf(".git/%s left behind", f)
				}
			}
			testgit.FsckStrict(t, dir)

			// The next change commits as usual.
			for k := range snap.Flows {
				if snap.Flows[k].Name == added.Name {
					snap.Flows[k].DisplayName = "Brand new (renamed)"
					snap.Flows[k].LastModifiedTime = snap.Flows[k].LastModifiedTime.Add(2 * time.Hour)
				}
			}
			if err := inst.Server.Load(snap); err != nil {
				t.Fatal(err)
			}
			exportOK("export after the repair")
			if st := testgit.Run(t, dir, "status", "--porcelain", "--untracked-files=all"); st != "" {
				t.Errorf("working tree not clean after the next export:\n%s", st)
			}
		})
	}
}

// TestFailedFirstRunLeavesNoRepository: a first run that fails before it
// can commit (unknown environment, bad token) leaves no empty repository:
// a directory it created is gone, an empty one it was given is empty again.
// A repository that exists is never removed.
func TestFailedFirstRunLeavesNoRepository(t *testing.T) {
	inst, env := startSnapshot(t, seed.Demo())
	badToken := map[string]string{"FLOWSYNC_TOKEN": "not-a-token", "FLOWSYNC_POWERAPPS_TOKEN": "not-a-token", "FLOWSYNC_CACHE_DIR": t.TempDir()}
	tests := []struct {
		name  string
		env   map[string]string
		envs  string
		empty bool // the directory exists and is empty before the run
	}{
		{"unknown environment, new directory", env, "No such environment", false},
		{"unknown environment, empty directory", env, "No such environment", true},
		{"bad token, new directory", badToken, string(seed.DemoEnvDev), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "backup")
			if tt.empty {
				if err := os.Mkdir(dir, 0o777); err != nil {
					t.Fatal(err)
				}
			}
			code, out, errOut := run(t, tt.env, "--api-url", inst.URL, "--auth", "token", "--rate-limit", "1000/1s",
				"export", "--repo", dir, "--env", tt.envs, "--scope", "admin")
			if code != ExitFailure {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, ExitFailure, out, errOut)
			}
			ents, err := os.ReadDir(dir)
			switch {
			case tt.empty && err != nil:
				t.Errorf("the empty directory given is gone: %v", err)
			case tt.empty && len(ents) != 0:
				t.Errorf("the run left %d entries in the empty directory, e.g. %s", len(ents), ents[0].Name())
			case !tt.empty && err == nil:
				t.Errorf("the run left the directory it created, with %d entries", len(ents))
			}
		})
	}

	// An existing repository with commits stays.
	dir := filepath.Join(t.TempDir(), "backup")
	args := []string{"--api-url", inst.URL, "--auth", "token", "--rate-limit", "1000/1s", "export", "--repo", dir, "--scope", "admin", "--env"}
	if code, _, errOut := run(t, env, append(args, string(seed.DemoEnvDev))...); code != ExitOK {
		t.Fatalf("export: exit %d: %s", code, errOut)
	}
	if code, _, _ := run(t, env, append(args, "No such environment")...); code != ExitFailure {
		t.Fatalf("unknown environment: exit %d", code)
	}
	testgit.FsckStrict(t, dir)
	if n := strings.TrimSpace(testgit.Run(t, dir, "rev-list", "--count", "main")); n != "1" {
		t.Errorf("the existing repository has %s commits, want 1", n)
	}
}

// TestExportUsageErrorsBeforeAPI: flags that can never work are usage errors
// (exit 2) found before any API call: the API URL points at a port nothing
// listens on, so a call would fail with exit 1 instead. No repository is
// left behind.
func TestExportUsageErrorsBeforeAPI(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"branch with double dot", []string{"--branch", "a..b"}, "--branch"},
		{"branch with space", []string{"--branch", "my branch"}, "--branch"},
		{"branch ending in .lock", []string{"--branch", "main.lock"}, "--branch"},
		{"remote with unknown scheme", []string{"--push", "--remote", "ftp://git.example.invalid/flows.git"}, "--remote"},
		{"remote url without host", []string{"--push", "--remote", "https:///flows.git"}, "--remote"},
		{"remote with control characters", []string{"--push", "--remote", "origin\x1b[2J"}, "--remote"},
		{"remote name not configured", []string{"--push", "--remote", "backup-server"}, "backup-server"},
		{"push without remote or origin", []string{"--push"}, "origin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "backup")
			args := append([]string{"--api-url", "http://127.0.0.1:1", "--auth", "token", "export", "--repo", dir, "--env", "dev"}, tt.args...)
			code, _, errOut := run(t, map[string]string{"FLOWSYNC_TOKEN": "unused", "FLOWSYNC_CACHE_DIR": t.TempDir()}, args...)
			if code != ExitUsage {
				t.Fatalf("exit %d, want %d (usage)\n%s", code, ExitUsage, errOut)
			}
			if !strings.Contains(errOut, tt.want) {
				t.Errorf("stderr does not name %q:\n%s", tt.want, errOut)
			}
			assertSafeOutput(t, "stderr", errOut)
			if _, err := os.Stat(dir); err == nil {
				t.Errorf("the usage error left %s behind", dir)
			}
		})
	}

	// A configured remote name is accepted.
	dir := filepath.Join(t.TempDir(), "backup")
	testgit.Run(t, filepath.Dir(dir), "init", "-q", "-b", "main", dir)
	testgit.Run(t, dir, "remote", "add", "backup-server", "file://"+filepath.Join(t.TempDir(), "remote.git"))
	if err := checkRemote("backup-server"); err != nil {
		t.Fatalf("checkRemote(backup-server) = %v", err)
	}
	rp, err := repo.Open(context.Background(), dir, repo.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rp.Close()
	if !rp.HasRemote("backup-server") || rp.HasRemote("origin") {
		t.Errorf("HasRemote: backup-server %v, origin %v", rp.HasRemote("backup-server"), rp.HasRemote("origin"))
	}
}

func TestCheckRemote(t *testing.T) {
	for _, ok := range []string{
		"origin", "backup-server", "https://git.example.invalid/it/flows.git", "http://127.0.0.1:8080/flows.git",
		"ssh://git@git.example.invalid/it/flows.git", "git@git.example.invalid:it/flows.git", "file:///srv/git/flows.git",
		"/srv/git/flows.git", "./flows.git",
	} {
		if err := checkRemote(ok); err != nil {
			t.Errorf("checkRemote(%q) = %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{
		"", " origin", "ftp://x/y", "https://", "file://", "a b", "bad..name", "with/slash", "x\nfake line",
	} {
		if err := checkRemote(bad); err == nil {
			t.Errorf("checkRemote(%q) = nil, want a usage error", bad)
		} else if exitCode(err) != ExitUsage {
			t.Errorf("checkRemote(%q) = %v: not a usage error", bad, err)
		}
	}
}
