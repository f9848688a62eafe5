package testgit

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The identity of commits the git CLI makes in tests.
const (
	Name  = "Flow Sync"
	Email = "flowsync@example.invalid"
)

// Date is the author and committer date of commits the git CLI makes, so
// that a test's commits hash the same every run (and can be compared with
// go-git's, given the same signature).
const Date = "2025-03-04T05:06:07Z"

// Env is the environment for a git CLI command: the process's own without
// any GIT_*, HOME or XDG_CONFIG_HOME setting, then the isolation settings
// identity and date, then extra (which may override them).
func Env(tb testing.TB, extra ...string) []string {
	tb.Helper()
	home := tb.TempDir()
	env := make([]string, 0, len(os.Environ())+10+len(extra))
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "GIT_") || strings.HasPrefix(kv, "HOME=") || strings.HasPrefix(kv, "XDG_CONFIG_HOME=") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env,
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull,
		"HOME="+home, "XDG_CONFIG_HOME="+home, "GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME="+Name, "GIT_AUTHOR_EMAIL="+Email,
		"GIT_COMMITTER_NAME="+Name, "GIT_COMMITTER_EMAIL="+Email,
		"GIT_AUTHOR_DATE="+Date, "GIT_COMMITTER_DATE="+Date,
	)
	return append(env, extra...)
}

// Try runs the git CLI in dir (the process's directory when "") and returns
// its stdout, or an error naming the command and carrying its stderr.
func Try(tb testing.TB, dir string, args ...string) (string, error) {
	tb.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = Env(tb)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("git %s (in %s): %w: %s", strings.Join(args, " "), dir, err, stderr.String())
	}
	return stdout.String(), nil
}

// Run is Try that fails the test when the command fails.
func Run(tb testing.TB, dir string, args ...string) string {
	tb.Helper()
	out, err := Try(tb, dir, args...)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// FsckStrict insists that git fsck --strict finds nothing wrong in dir
// (dangling objects aside: an aborted write may leave some, which is fine).
func FsckStrict(tb testing.TB, dir string) {
	tb.Helper()
	out, err := Try(tb, dir, "fsck", "--strict", "--no-dangling", "--no-progress")
	if err != nil || strings.TrimSpace(out) != "" {
		tb.Errorf("git fsck --strict in %s: %v\n%s", dir, err, out)
	}
}

// WorkingFiles reads the working files of the repository in dir (every
// file outside .git), by slash-separated path relative to dir.
func WorkingFiles(tb testing.TB, dir string) map[string]string {
	tb.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		out[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	if err != nil {
		tb.Fatalf("read the working files of %s: %v", dir, err)
	}
	return out
}
