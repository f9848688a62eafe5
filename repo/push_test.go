package repo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowsync/flowsync/internal/testgit"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/ssh"
)

// newBareRemote makes an empty bare repository with the git CLI.
func newBareRemote(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "remote.git")
	testgit.Run(t, filepath.Dir(dir), "init", "-q", "--bare", "-b", "main", dir)
	return dir
}

func TestPushToBareFileRemote(t *testing.T) {
	ctx := context.Background()
	remote := newBareRemote(t)
	dir := t.TempDir()
	r := openRepo(t, dir, OpenOptions{})
	configBefore, err := os.ReadFile(filepath.Join(dir, ".git", "config"))
	if err != nil {
		t.Fatal(err)
	}
	_, res := buildAndCommit(t, r, nil, map[string]string{"envs/e/f.json": "{}"}, "export")

	pr, err := r.Push(ctx, PushOptions{Remote: remote, Branch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	want := PushResult{Remote: remote, Branch: "main", Commit: res.Commit, Attempts: 1}
	if diff := cmp.Diff(want, pr); diff != "" {
		t.Errorf("push result (-want +got):\n%s", diff)
	}
	if got := strings.TrimSpace(testgit.Run(t, remote, "rev-parse", "main")); got != res.Commit.String() {
		t.Errorf("remote main = %s, want %s", got, res.Commit)
	}
	testgit.FsckStrict(t, remote)
	clone := filepath.Join(t.TempDir(), "clone")
	testgit.Run(t, filepath.Dir(clone), "clone", "-q", remote, clone)
	if diff := cmp.Diff(map[string]string{"envs/e/f.json": "{}"}, testgit.WorkingFiles(t, clone)); diff != "" {
		t.Errorf("git clone of the remote (-want +got):\n%s", diff)
	}

	// Pushing again is a no-op; file:// URLs work too.
	pr, err = r.Push(ctx, PushOptions{Remote: "file://" + remote, Branch: "main"})
	if err != nil || !pr.UpToDate || pr.Attempts != 0 {
		t.Errorf("second push = %+v, %v; want up to date", pr, err)
	}
	configAfter, _ := os.ReadFile(filepath.Join(dir, ".git", "config"))
	if string(configAfter) != string(configBefore) {
		t.Errorf(".git/config changed by push:\n%s", configAfter)
	}

	// A remote configured by name works as well.
	testgit.Run(t, dir, "remote", "add", "origin", remote)
	_, res = buildAndCommit(t, r, nil, map[string]string{"envs/e/g.json": "[]"}, "export 2")
	if _, err := r.Push(ctx, PushOptions{Remote: "origin", Branch: "main"}); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(testgit.Run(t, remote, "rev-parse", "main")); got != res.Commit.String() {
		t.Errorf("remote main = %s, want %s", got, res.Commit)
	}
}

func TestPushRebuildsOnMovedRemote(t *testing.T) {
	ctx := context.Background()
	remote := newBareRemote(t)
	dir := t.TempDir()
	r := openRepo(t, dir, OpenOptions{})
	buildAndCommit(t, r, nil, map[string]string{"envs/a/1.json": "a1", "envs/b/1.json": "b1"}, "base")
	if _, err := r.Push(ctx, PushOptions{Remote: remote, Branch: "main"}); err != nil {
		t.Fatal(err)
	}

	// Another job (a plain git clone) pushes a change to envs/b.
	other := filepath.Join(t.TempDir(), "other")
	testgit.Run(t, filepath.Dir(other), "clone", "-q", remote, other)
	writeFile(t, filepath.Join(other, "envs/b/2.json"), "b2")
	testgit.Run(t, other, "add", "-A")
	testgit.Run(t, other, "commit", "-q", "-m", "other job")
	testgit.Run(t, other, "push", "-q", "origin", "main")
	theirs := strings.TrimSpace(testgit.Run(t, other, "rev-parse", "HEAD"))

	// This job changes envs/a on its stale base.
	opts := commitOpts("this job")
	b, mine := buildAndCommit(t, r, []string{"envs/a"}, map[string]string{"envs/a/1.json": "a1-new"}, "this job")
	pr, err := r.Push(ctx, PushOptions{Remote: remote, Branch: "main", Rebuild: b.Rebuilder(opts)})
	if err != nil {
		t.Fatal(err)
	}
	if pr.Rebuilds != 1 || pr.Commit == mine.Commit {
		t.Errorf("push result %+v: want one rebuild to a new commit", pr)
	}
	if got := strings.TrimSpace(testgit.Run(t, remote, "rev-parse", "main")); got != pr.Commit.String() {
		t.Errorf("remote main = %s, want %s", got, pr.Commit)
	}
	if _, err := testgit.Try(t, remote, "merge-base", "--is-ancestor", theirs, "main"); err != nil {
		t.Errorf("the other job's commit is not an ancestor of remote main: %v", err)
	}
	if got := testgit.Run(t, remote, "log", "--format=%s", "main"); got != "this job\nother job\nbase\n" {
		t.Errorf("remote log = %q", got)
	}
	want := map[string]string{"envs/a/1.json": "a1-new", "envs/b/1.json": "b1", "envs/b/2.json": "b2"}
	if diff := cmp.Diff(want, readAllFiles(t, r, pr.Commit)); diff != "" {
		t.Errorf("pushed tree (-want +got):\n%s", diff)
	}
	if h, err := r.refHash(RemoteTipRef); err != nil || h.String() != theirs {
		t.Errorf("%s = %s, %v; want %s", RemoteTipRef, h, err, theirs)
	}
	// The local worktree followed the rebuilt commit.
	if got := gitStatus(t, dir); got != "" {
		t.Errorf("local git status:\n%s", got)
	}
	if diff := cmp.Diff(want, testgit.WorkingFiles(t, dir)); diff != "" {
		t.Errorf("local files (-want +got):\n%s", diff)
	}
	testgit.FsckStrict(t, remote)
}

func TestPushWithoutRebuildIsRejected(t *testing.T) {
	ctx := context.Background()
	remote := newBareRemote(t)
	r1 := openRepo(t, t.TempDir(), OpenOptions{Bare: true})
	r2 := openRepo(t, t.TempDir(), OpenOptions{Bare: true})
	_, first := buildAndCommit(t, r1, nil, map[string]string{"a": "1"}, "one")
	if _, err := r1.Push(ctx, PushOptions{Remote: remote, Branch: "main"}); err != nil {
		t.Fatal(err)
	}
	_, second := buildAndCommit(t, r2, nil, map[string]string{"b": "2"}, "two")
	_, err := r2.Push(ctx, PushOptions{Remote: remote, Branch: "main"})
	if !errors.Is(err, ErrPushRejected) {
		t.Fatalf("push = %v, want ErrPushRejected", err)
	}
	for _, want := range []string{remote, "branch main", short(second.Commit)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if got := strings.TrimSpace(testgit.Run(t, remote, "rev-parse", "main")); got != first.Commit.String() {
		t.Errorf("remote main = %s, want untouched %s", got, first.Commit)
	}
	if h, _ := r2.Head(ctx, "main"); h != second.Commit {
		t.Errorf("local commit lost: main = %s", h)
	}
}

func TestPushConcurrentPushersBothLand(t *testing.T) {
	ctx := context.Background()
	remote := newBareRemote(t)
	seed := openRepo(t, t.TempDir(), OpenOptions{Bare: true})
	buildAndCommit(t, seed, nil, map[string]string{"envs/a/0.json": "a0", "envs/b/0.json": "b0"}, "seed")
	if _, err := seed.Push(ctx, PushOptions{Remote: remote, Branch: "main"}); err != nil {
		t.Fatal(err)
	}

	type job struct {
		env string
		r   *Repo
		b   *Builder
	}
	var jobs []*job
	for _, env := range []string{"a", "b"} {
		dir := filepath.Join(t.TempDir(), env)
		testgit.Run(t, filepath.Dir(dir), "clone", "-q", remote, dir)
		j := &job{env: env, r: openRepo(t, dir, OpenOptions{})}
		j.b, _ = buildAndCommit(t, j.r, []string{"envs/" + env}, map[string]string{
			"envs/" + env + "/1.json": env + "1",
		}, "export "+env)
		jobs = append(jobs, j)
	}

	type outcome struct {
		res PushResult
		err error
	}
	start := make(chan struct{})
	results := make(chan outcome, len(jobs))
	for _, j := range jobs {
		go func() {
			<-start
			res, err := j.r.Push(ctx, PushOptions{Remote: remote, Branch: "main", Rebuild: j.b.Rebuilder(commitOpts("export " + j.env))})
			if err != nil {
				err = fmt.Errorf("job %s: %w", j.env, err)
			}
			results <- outcome{res, err}
		}()
	}
	close(start)
	rebuilds := 0
	for range jobs {
		o := <-results
		if o.err != nil {
			t.Error(o.err)
		}
		rebuilds += o.res.Rebuilds
	}
	// Both started from the seed, so whichever came second had to rebuild.
	if rebuilds < 1 {
		t.Errorf("no push rebuilt its commit")
	}
	log := testgit.Run(t, remote, "log", "--format=%s", "main")
	for _, msg := range []string{"export a", "export b", "seed"} {
		if !strings.Contains(log, msg+"\n") {
			t.Errorf("remote log lacks %q:\n%s", msg, log)
		}
	}
	if n := strings.Count(log, "\n"); n != 3 {
		t.Errorf("remote has %d commits, want 3:\n%s", n, log)
	}
	files := testgit.Run(t, remote, "ls-tree", "-r", "--name-only", "main")
	if files != "envs/a/1.json\nenvs/b/1.json\n" {
		t.Errorf("remote files:\n%s", files)
	}
	testgit.FsckStrict(t, remote)
}

func TestPushUnreachableRemote(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		remote   string
		shown    string
		notShown []string
	}{
		{name: "missing path", remote: filepath.Join(t.TempDir(), "nope.git"), shown: "nope.git"},
		{
			name:     "closed port with credentials in the URL",
			remote:   "http://someone:hunter2-secret@127.0.0.1:1/repo.git",
			shown:    "http://127.0.0.1:1/repo.git",
			notShown: []string{"hunter2-secret", "someone"},
		},
		{
			name:     "closed port with a token as the URL's user",
			remote:   "https://FAKEtoken0123456789@127.0.0.1:1/repo.git",
			shown:    "https://127.0.0.1:1/repo.git",
			notShown: []string{"FAKEtoken0123456789"},
		},
		{
			name:     "closed port with a sig= in the URL",
			remote:   "http://127.0.0.1:1/repo.git?sv=1&sig=FAKEsig%2Bvalue",
			shown:    "http://127.0.0.1:1/repo.git",
			notShown: []string{"FAKEsig"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			r := openRepo(t, dir, OpenOptions{Bare: true})
			_, res := buildAndCommit(t, r, nil, map[string]string{"a": "1"}, "one")
			_, err := r.Push(ctx, PushOptions{Remote: tc.remote, Branch: "main"})
			if !errors.Is(err, ErrRemoteUnreachable) {
				t.Fatalf("push = %v, want ErrRemoteUnreachable", err)
			}
			msg := err.Error()
			t.Logf("error shown: %s", msg)
			for _, want := range []string{tc.shown, "branch main", "check", short(res.Commit)} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not mention %q", msg, want)
				}
			}
			for _, secret := range tc.notShown {
				if strings.Contains(msg, secret) {
					t.Errorf("error %q reveals %q", msg, secret)
				}
			}
			if h, _ := r.Head(ctx, "main"); h != res.Commit {
				t.Errorf("local commit lost")
			}
			cfg, _ := os.ReadFile(filepath.Join(dir, "config"))
			if strings.Contains(string(cfg), "hunter2") || strings.Contains(string(cfg), "127.0.0.1") {
				t.Errorf("config mentions the remote:\n%s", cfg)
			}
		})
	}
}

// TestRemoteDisplay: a remote is shown without its user information, as the
// URL (or path) it is reached at; the credentials go separately.
func TestRemoteDisplay(t *testing.T) {
	r := openRepo(t, t.TempDir(), OpenOptions{Bare: true})
	known := writeKnownHostsFile(t)
	keys := func() ([]ssh.Signer, error) { k, _ := sshClientKey(t); return []ssh.Signer{k}, nil }
	tests := []struct{ in, want string }{
		{"https://x-access-token:abc@host.example/org/repo.git", "https://host.example/org/repo.git"},
		{"https://user@host.example/repo", "https://host.example/repo"},
		{"http://127.0.0.1:8080/r.git", "http://127.0.0.1:8080/r.git"},
		{"ssh://git@host.example:2222/r.git", "ssh://host.example:2222/r.git"},
		{"git@host.example:org/r.git", "ssh://host.example/org/r.git"},
		{"/srv/git/r.git", "/srv/git/r.git"},
		{"file:///srv/git/r.git", "/srv/git/r.git"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			tgt, err := r.remoteTarget(tc.in, Auth{SSHKeys: keys, KnownHostsFiles: []string{known}})
			if err != nil {
				t.Fatal(err)
			}
			if tgt.display != tc.want {
				t.Errorf("remote %q shown as %q, want %q", tc.in, tgt.display, tc.want)
			}
			if strings.Contains(tgt.url, "abc") {
				t.Errorf("URL given to go-git holds the password: %q", tgt.url)
			}
		})
	}
	// An URL that does not parse is named with its credentials removed.
	_, err := r.remoteTarget("https://u:p%zz@host/x", Auth{})
	if err == nil || !strings.Contains(err.Error(), "https://REDACTED@host/x") || strings.Contains(err.Error(), "p%zz") {
		t.Errorf("unparsable remote: %v", err)
	}
}

// writeKnownHostsFile writes a known_hosts file with one unrelated entry.
func writeKnownHostsFile(t *testing.T) string {
	t.Helper()
	_, pub := sshClientKey(t)
	return writeKnownHosts(t, "192.0.2.1:22", pub)
}

func TestPushGivesUpWhenRemoteKeepsMoving(t *testing.T) {
	ctx := context.Background()
	remote := newBareRemote(t)
	r := openRepo(t, t.TempDir(), OpenOptions{Bare: true})
	buildAndCommit(t, r, nil, map[string]string{"envs/a/0": "0"}, "base")
	if _, err := r.Push(ctx, PushOptions{Remote: remote, Branch: "main"}); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "other")
	testgit.Run(t, filepath.Dir(other), "clone", "-q", remote, other)
	n := 0
	moveRemote := func() {
		n++
		writeFile(t, filepath.Join(other, fmt.Sprintf("envs/b/%d", n)), "x")
		testgit.Run(t, other, "add", "-A")
		testgit.Run(t, other, "commit", "-q", "-m", fmt.Sprint("other ", n))
		testgit.Run(t, other, "push", "-q", "origin", "main")
	}
	moveRemote()

	b, _ := buildAndCommit(t, r, nil, map[string]string{"envs/a/1": "1"}, "mine")
	rebuild := b.Rebuilder(commitOpts("mine"))
	pr, err := r.Push(ctx, PushOptions{Remote: remote, Branch: "main", MaxAttempts: 3,
		Rebuild: func(ctx context.Context, tip plumbing.Hash) (plumbing.Hash, error) {
			h, err := rebuild(ctx, tip)
			moveRemote() // another job wins the race every time
			return h, err
		},
	})
	if !errors.Is(err, ErrPushRejected) {
		t.Fatalf("push = %+v, %v; want ErrPushRejected", pr, err)
	}
	if pr.Attempts != 3 || pr.Rebuilds != 3 {
		t.Errorf("attempts %d, rebuilds %d; want 3 and 3", pr.Attempts, pr.Rebuilds)
	}
	if !strings.Contains(err.Error(), remote) || !strings.Contains(err.Error(), "branch main") {
		t.Errorf("error %q does not name the remote and branch", err)
	}
	if got := testgit.Run(t, remote, "log", "-1", "--format=%s", "main"); got != "other 4\n" {
		t.Errorf("remote tip = %q; nothing may be forced", got)
	}
}

func TestPushCanceled(t *testing.T) {
	remote := newBareRemote(t)
	r := openRepo(t, t.TempDir(), OpenOptions{Bare: true})
	buildAndCommit(t, r, nil, map[string]string{"a": "1"}, "one")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.Push(ctx, PushOptions{Remote: remote, Branch: "main"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("push with a canceled context = %v, want context.Canceled", err)
	}
}

// TestPushRemoteMovesDuringPush makes another job push between this push's
// read of the remote and its send, so the first attempt is rejected and the
// second must fetch, rebuild and send objects from the fetched pack.
func TestPushRemoteMovesDuringPush(t *testing.T) {
	ctx := context.Background()
	remote := newBareRemote(t)
	r := openRepo(t, t.TempDir(), OpenOptions{Bare: true})
	buildAndCommit(t, r, nil, map[string]string{"envs/a/0": "a0", "envs/b/0": "b0"}, "base")
	if _, err := r.Push(ctx, PushOptions{Remote: remote, Branch: "main"}); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "other")
	testgit.Run(t, filepath.Dir(other), "clone", "-q", remote, other)

	b, _ := buildAndCommit(t, r, []string{"envs/a"}, map[string]string{"envs/a/1": "a1"}, "mine")
	moved := false
	r.beforePush = func() {
		if moved {
			return
		}
		moved = true
		writeFile(t, filepath.Join(other, "envs/b/1"), "b1")
		testgit.Run(t, other, "add", "-A")
		testgit.Run(t, other, "commit", "-q", "-m", "theirs")
		testgit.Run(t, other, "push", "-q", "origin", "main")
	}
	pr, err := r.Push(ctx, PushOptions{Remote: remote, Branch: "main", Rebuild: b.Rebuilder(commitOpts("mine"))})
	if err != nil {
		t.Fatal(err)
	}
	if pr.Attempts != 2 || pr.Rebuilds != 1 {
		t.Errorf("attempts %d, rebuilds %d; want 2 and 1", pr.Attempts, pr.Rebuilds)
	}
	if got := testgit.Run(t, remote, "log", "--format=%s", "main"); got != "mine\ntheirs\nbase\n" {
		t.Errorf("remote log = %q", got)
	}
	if got := testgit.Run(t, remote, "ls-tree", "-r", "--name-only", "main"); got != "envs/a/1\nenvs/b/0\nenvs/b/1\n" {
		t.Errorf("remote files = %q", got)
	}
	testgit.FsckStrict(t, remote)
}

// TestPushMovesTheRemoteTrackingBranch: after a push to a configured
// remote, refs/remotes/<remote>/<branch> names the pushed commit, as after
// git push, so `git status` in the working clone does not say "ahead" and
// ask for a push that was already made. A push to a URL adds no tracking
// branch.
func TestPushMovesTheRemoteTrackingBranch(t *testing.T) {
	ctx := context.Background()
	remote := newBareRemote(t)
	dir := t.TempDir()
	r := openRepo(t, dir, OpenOptions{})
	_, first := buildAndCommit(t, r, nil, map[string]string{"envs/e/f.json": "{}"}, "export")
	if _, err := r.Push(ctx, PushOptions{Remote: remote, Branch: "main"}); err != nil {
		t.Fatal(err)
	}
	if refs := testgit.Run(t, dir, "for-each-ref", "refs/remotes/"); refs != "" {
		t.Errorf("a push to a URL made tracking branches:\n%s", refs)
	}

	testgit.Run(t, dir, "remote", "add", "origin", remote)
	testgit.Run(t, dir, "fetch", "-q", "origin")
	_, second := buildAndCommit(t, r, nil, map[string]string{"envs/e/g.json": "[]"}, "export 2")
	if second.Commit == first.Commit {
		t.Fatal("the second commit is the first")
	}
	if _, err := r.Push(ctx, PushOptions{Remote: "origin", Branch: "main"}); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(testgit.Run(t, dir, "rev-parse", "refs/remotes/origin/main")); got != second.Commit.String() {
		t.Errorf("origin/main = %s, want the pushed %s", got, second.Commit)
	}
	if st := testgit.Run(t, dir, "status", "-sb"); strings.Contains(st, "ahead") {
		t.Errorf("git status after the push:\n%s", st)
	}
	testgit.FsckStrict(t, dir)
}
