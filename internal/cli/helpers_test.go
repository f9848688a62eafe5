package cli

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/emulator"
	"github.com/flowsync/flowsync/internal/emulator/embedded"
	"github.com/flowsync/flowsync/internal/emulator/seed"
	"github.com/flowsync/flowsync/repo"
)

// startSnapshot runs an emulator loaded with snap on loopback, without
// throttling, and returns it with an environment holding tokens for the
// demo tenant's admin and a private pacer cache.
func startSnapshot(t *testing.T, snap *emulator.Snapshot) (*embedded.Instance, map[string]string) {
	t.Helper()
	inst, err := embedded.Start(context.Background(), embedded.Options{
		Snapshot: snap,
		Emulator: emulator.Options{Throttle: emulator.ThrottleConfig{Profile: emulator.ProfileOff}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inst.Close() })
	env := map[string]string{"FLOWSYNC_CACHE_DIR": t.TempDir()}
	for k, aud := range map[string]string{"FLOWSYNC_TOKEN": tokenAudiences["flow"], "FLOWSYNC_POWERAPPS_TOKEN": tokenAudiences["powerapps"]} {
		tok, err := inst.Server.MintToken(seed.DemoAdmin, aud)
		if err != nil {
			t.Fatal(err)
		}
		env[k] = tok
	}
	return inst, env
}

// gitIn runs the git CLI in dir, isolated from the machine's configuration,
// and returns its output; a failure fails the test.
func gitIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := gitTry(t, dir, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func gitTry(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=CLI Test", "-c", "user.email=cli-test@example.invalid"}, args...)...)
	cmd.Dir = dir
	home := t.TempDir()
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GIT_") && !strings.HasPrefix(kv, "HOME=") && !strings.HasPrefix(kv, "XDG_CONFIG_HOME=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "GIT_CONFIG_NOSYSTEM=1", "HOME="+home, "XDG_CONFIG_HOME="+home, "GIT_TERMINAL_PROMPT=0")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), &gitError{args: args, dir: dir, err: err, stderr: stderr.String()}
	}
	return stdout.String(), nil
}

type gitError struct {
	args        []string
	dir, stderr string
	err         error
}

func (e *gitError) Error() string {
	return "git " + strings.Join(e.args, " ") + " (in " + e.dir + "): " + e.err.Error() + ": " + e.stderr
}

// fsckStrict insists that git fsck --strict finds nothing wrong in dir.
func fsckStrict(t *testing.T, dir string) {
	t.Helper()
	out, err := gitTry(t, dir, "fsck", "--strict", "--no-dangling", "--no-progress")
	if err != nil || strings.TrimSpace(out) != "" {
		t.Errorf("git fsck --strict in %s: %v\n%s", dir, err, out)
	}
}

func head(t *testing.T, rp *repo.Repo, branch string) plumbing.Hash {
	t.Helper()
	h, err := rp.Head(context.Background(), branch)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// treeFiles reads every file of commit: path → content.
func treeFiles(t *testing.T, rp *repo.Repo, commit plumbing.Hash) map[string][]byte {
	t.Helper()
	ctx := context.Background()
	tr, err := rp.ReadTree(ctx, commit)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	err = tr.Walk("", func(p string, h plumbing.Hash) error {
		b, err := rp.ReadBlob(ctx, h)
		files[p] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func flowDirOf(env api.EnvName, flow api.FlowName) string {
	return "environments/" + string(env) + "/flows/" + strings.ToLower(string(flow)) + "/"
}

// flowFiles picks a flow's files out of a tree: file name → content.
func flowFiles(files map[string][]byte, env api.EnvName, flow api.FlowName) map[string][]byte {
	dir := flowDirOf(env, flow)
	out := map[string][]byte{}
	for p, b := range files {
		if strings.HasPrefix(p, dir) {
			out[strings.TrimPrefix(p, dir)] = b
		}
	}
	return out
}
