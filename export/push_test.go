package export_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/flowsync/flowsync/export"
	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/emulator/seed"
	"github.com/flowsync/flowsync/internal/testgit"
	"github.com/flowsync/flowsync/internal/testrepo"
	"github.com/flowsync/flowsync/repo"
)

// newBareRemote creates an empty bare repository with the git CLI; git fsck
// --strict checks it when the test ends.
func newBareRemote(t *testing.T, parent, name string) string {
	t.Helper()
	dir := filepath.Join(parent, name)
	testgit.Run(t, parent, "init", "-q", "--bare", "-b", "main", dir)
	t.Cleanup(func() { testgit.FsckStrict(t, dir) })
	return dir
}

// exportAndPush runs one exporter's job the way `flowsync export --push`
// does: lock, export, push with the run's rebuilder.
func exportAndPush(ctx context.Context, src export.Source, rp *repo.Repo, o export.Options, remote string, auth repo.Auth) (*export.Result, repo.PushResult, error) {
	unlock, err := rp.Lock(ctx)
	if err != nil {
		return nil, repo.PushResult{}, err
	}
	defer unlock()
	res, replay, err := export.Run(ctx, src, rp, o, nil)
	if err != nil {
		return nil, repo.PushResult{}, err
	}
	pr, err := rp.Push(ctx, repo.PushOptions{Remote: remote, Branch: "main", Rebuild: replay.Rebuilder(), Auth: auth})
	return res, pr, err
}

func isAncestor(t *testing.T, dir string, a, b plumbing.Hash) bool {
	t.Helper()
	_, err := testgit.Try(t, dir, "merge-base", "--is-ancestor", a.String(), b.String())
	return err == nil
}

func revParse(t *testing.T, dir, rev string) plumbing.Hash {
	t.Helper()
	return plumbing.NewHash(strings.TrimSpace(testgit.Run(t, dir, "rev-parse", rev)))
}

// subtree is the tree hash of an environment's directory at commit.
func subtree(t *testing.T, rp *repo.Repo, commit plumbing.Hash, env api.EnvName) plumbing.Hash {
	t.Helper()
	tr, err := rp.ReadTree(context.Background(), commit)
	if err != nil {
		t.Fatal(err)
	}
	h, err := tr.SubtreeHash("environments/" + string(env))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestConcurrentExportersPushToOneRemote: two exporters of different
// environments — one a git clone of the remote with a working tree, one a
// fresh bare repository — export and push to one bare file remote at the
// same time. Both commits end up on the remote branch (the later one
// rebuilt on the earlier), the final tree holds every environment as each
// exporter exported it, and no push was forced: every tip the remote had is
// an ancestor of the final one.
func TestConcurrentExportersPushToOneRemote(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := startEmu(t, seed.Demo(), emuOptions{})
	root := t.TempDir()
	remote := newBareRemote(t, root, "backup.git")
	remoteURL := "file://" + remote

	// The remote starts with the default environment.
	first := newRepo(t, false)
	_, pr0, err := exportAndPush(ctx, e.src, first, exportOpts(seed.DemoEnvDefault), remoteURL, repo.Auth{})
	if err != nil {
		t.Fatalf("first push: %v", err)
	}
	t0 := revParse(t, remote, "main")
	if pr0.Commit != t0 {
		t.Fatalf("first push reports %s, remote at %s", pr0.Commit, t0)
	}

	cloneDir := filepath.Join(root, "clone")
	testgit.Run(t, root, "clone", "-q", remoteURL, cloneDir)
	a := openRepoAt(t, cloneDir, false)
	b := newRepo(t, true)

	type job struct {
		rp     *repo.Repo
		env    api.EnvName
		remote string
		res    *export.Result
		pr     repo.PushResult
		err    error
	}
	// The clone pushes to its origin (as the CLI does by default), the
	// fresh repository to the remote's path.
	jobs := []*job{{rp: a, env: seed.DemoEnvDev, remote: "origin"}, {rp: b, env: seed.DemoEnvProd, remote: remote}}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			j.res, j.pr, j.err = exportAndPush(ctx, e.src, j.rp, exportOpts(j.env), j.remote, repo.Auth{})
		}()
	}
	close(start)
	wg.Wait()
	for _, j := range jobs {
		if j.err != nil {
			t.Fatalf("exporter of %s: %v", j.env, j.err)
		}
		if !j.res.Committed {
			t.Fatalf("exporter of %s committed nothing", j.env)
		}
	}

	final := revParse(t, remote, "main")
	if n := commitCount(t, remote, "main"); n != 3 {
		t.Errorf("remote main has %d commits, want 3 (first, Dev, Prod):\n%s", n, testgit.Run(t, remote, "log", "--format=%h %s", "main"))
	}
	for _, h := range []plumbing.Hash{t0, jobs[0].pr.Commit, jobs[1].pr.Commit} {
		if !isAncestor(t, remote, h, final) {
			t.Errorf("remote tip %s is not an ancestor of the final tip %s: history was rewritten", h, final)
		}
	}
	if jobs[0].pr.Commit != final && jobs[1].pr.Commit != final {
		t.Errorf("neither push left the final tip %s (%s, %s)", final, jobs[0].pr.Commit, jobs[1].pr.Commit)
	}
	t.Logf("rebuilds: %s %d, %s %d", jobs[0].env, jobs[0].pr.Rebuilds, jobs[1].env, jobs[1].pr.Rebuilds)
	if rebuilds := jobs[0].pr.Rebuilds + jobs[1].pr.Rebuilds; rebuilds < 1 {
		t.Errorf("no push rebuilt its commit, but both were made on the same base")
	}

	rr, err := repo.Open(ctx, remote, repo.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Close()
	if got, want := subtree(t, rr, final, seed.DemoEnvDefault), subtree(t, first, testrepo.Head(t, first, "main"), seed.DemoEnvDefault); got != want {
		t.Errorf("default environment on the remote %s, exported %s", got, want)
	}
	for _, j := range jobs {
		exported := subtree(t, j.rp, plumbing.NewHash(j.res.Commit), j.env)
		if got := subtree(t, rr, final, j.env); got != exported || got.IsZero() {
			t.Errorf("%s on the remote %s, exported %s", j.env, got, exported)
		}
		if got := testrepo.Head(t, j.rp, "main"); got != j.pr.Commit {
			t.Errorf("exporter of %s: local main %s, pushed %s", j.env, got, j.pr.Commit)
		}
	}
	msgs := testgit.Run(t, remote, "log", "--format=%B", "main")
	for _, name := range []string{"Invoice approval (" + string(seed.DemoEnvDev), "Invoice approval (" + string(seed.DemoEnvProd)} {
		if !strings.Contains(msgs, name) {
			t.Errorf("remote history does not name %q:\n%s", name, msgs)
		}
	}
	// The clone's working files follow its branch, also after a rebuild
	// brought the other exporter's files in. Which exporter lost the race
	// above varies; here the clone surely rebuilds.
	e.rename(seed.Demo(), seed.DemoEnvProd, "94487233-1c15-44a9-ac8e-08b0eee84489", "Invoice approval (Prod, renamed)")
	e.rename(seed.Demo(), seed.DemoEnvDev, seed.DemoFlowChild, "Child - Get manager (renamed)")
	if _, _, err := exportAndPush(ctx, e.src, b, exportOpts(seed.DemoEnvProd), remote, repo.Auth{}); err != nil {
		t.Fatal(err)
	}
	_, pa, err := exportAndPush(ctx, e.src, a, exportOpts(seed.DemoEnvDev), "origin", repo.Auth{})
	if err != nil || pa.Rebuilds != 1 {
		t.Fatalf("clone's push: rebuilds %d, %v; want one rebuild", pa.Rebuilds, err)
	}
	if st := testgit.Run(t, cloneDir, "status", "--porcelain", "--untracked-files=all"); st != "" {
		t.Errorf("the exporter's working clone is not clean after a rebuilt push:\n%s", st)
	}
	renamed, err := os.ReadFile(filepath.Join(cloneDir, filepath.FromSlash(testrepo.FlowDir(seed.DemoEnvProd, "94487233-1c15-44a9-ac8e-08b0eee84489")), "flow.json"))
	if err != nil || !strings.Contains(string(renamed), "Invoice approval (Prod, renamed)") {
		t.Errorf("the clone's working files lack the other exporter's change: %v\n%s", err, renamed)
	}
	if n := commitCount(t, remote, "main"); n != 5 {
		t.Errorf("remote main has %d commits, want 5", n)
	}
}

// TestPushHTTPS: exports pushed over HTTPS to git http-backend with a token
// (the repo package tests the transport itself; this is the export's
// path): the first lands as is, the second — made before the first was
// pushed — is rebuilt on it after fetching over HTTPS, and the remote holds
// both environments.
func TestPushHTTPS(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := startEmu(t, seed.Demo(), emuOptions{})
	root := t.TempDir()
	remote := newBareRemote(t, root, "flows.git")
	testgit.Run(t, remote, "config", "http.receivepack", "true")
	tok := make([]byte, 16)
	if _, err := rand.Read(tok); err != nil {
		t.Fatal(err)
	}
	token := "test-" + hex.EncodeToString(tok) // generated per run
	srv, ca, _ := testgit.HTTPServer(t, root, "", token)
	url := srv.URL
	auth := repo.Auth{CABundle: ca, Token: token}

	a, b := newRepo(t, false), newRepo(t, true)
	ra, replayA := mustExportReplay(t, e.src, a, exportOpts(seed.DemoEnvTest))
	rb, replayB := mustExportReplay(t, e.src, b, exportOpts(seed.DemoEnvProd))

	pa, err := a.Push(ctx, repo.PushOptions{Remote: url + "/flows.git", Branch: "main", Rebuild: replayA.Rebuilder(), Auth: auth})
	if err != nil {
		t.Fatalf("push over https: %v", err)
	}
	if pa.Rebuilds != 0 || pa.Commit.String() != ra.Commit {
		t.Errorf("first push %+v, want %s as is", pa, ra.Commit)
	}
	pb, err := b.Push(ctx, repo.PushOptions{Remote: url + "/flows.git", Branch: "main", Rebuild: replayB.Rebuilder(), Auth: auth})
	if err != nil {
		t.Fatalf("second push over https: %v", err)
	}
	if pb.Rebuilds != 1 {
		t.Errorf("second push rebuilt %d times, want 1", pb.Rebuilds)
	}
	final := revParse(t, remote, "main")
	if final != pb.Commit || !isAncestor(t, remote, pa.Commit, final) {
		t.Errorf("remote at %s; pushes %s then %s", final, pa.Commit, pb.Commit)
	}
	rr, err := repo.Open(ctx, remote, repo.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Close()
	if got, want := subtree(t, rr, final, seed.DemoEnvTest), subtree(t, a, plumbing.NewHash(ra.Commit), seed.DemoEnvTest); got != want {
		t.Errorf("Test on the remote %s, exported %s", got, want)
	}
	if got, want := subtree(t, rr, final, seed.DemoEnvProd), subtree(t, b, plumbing.NewHash(rb.Commit), seed.DemoEnvProd); got != want {
		t.Errorf("Prod on the remote %s, exported %s", got, want)
	}
	cfg, err := os.ReadFile(filepath.Join(a.GitDir(), "config"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(cfg), token) {
		t.Error("the token was written to the repository's config")
	}
}

// unpushedScene is the start of the push-recovery tests (see
// unpushedThenOtherJob).
type unpushedScene struct {
	e       *emu
	remote  string
	a, b    *repo.Repo
	rTest   *export.Result
	prodTip plumbing.Hash
}

// unpushedThenOtherJob: job a exports Test but its push fails (the remote is
// away), then job b exports Prod and pushes it.
func unpushedThenOtherJob(t *testing.T) unpushedScene {
	t.Helper()
	ctx := context.Background()
	sc := unpushedScene{e: startEmu(t, seed.Demo(), emuOptions{}), remote: newBareRemote(t, t.TempDir(), "flows.git")}
	sc.a, sc.b = newRepo(t, false), newRepo(t, true)
	var err error
	sc.rTest, _, err = exportAndPush(ctx, sc.e.src, sc.a, exportOpts(seed.DemoEnvTest), filepath.Join(t.TempDir(), "missing.git"), repo.Auth{})
	if !errors.Is(err, repo.ErrRemoteUnreachable) {
		t.Fatalf("push to a missing remote: %v, want ErrRemoteUnreachable", err)
	}
	if !sc.rTest.Committed {
		t.Fatal("the first run committed nothing")
	}
	if _, _, err := exportAndPush(ctx, sc.e.src, sc.b, exportOpts(seed.DemoEnvProd), sc.remote, repo.Auth{}); err != nil {
		t.Fatal(err)
	}
	sc.prodTip = revParse(t, sc.remote, "main")
	return sc
}

// envAt names an environment's directory as a local repository committed it.
type envAt struct {
	env  api.EnvName
	from *repo.Repo
	at   plumbing.Hash
}

// checkRemoteEnvs checks that the remote's commit holds each environment's
// directory exactly as exported.
func checkRemoteEnvs(t *testing.T, remote string, commit plumbing.Hash, want []envAt) {
	t.Helper()
	rr, err := repo.Open(context.Background(), remote, repo.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Close()
	for _, w := range want {
		if got, exp := subtree(t, rr, commit, w.env), subtree(t, w.from, w.at, w.env); got != exp {
			t.Errorf("%s on the remote %s, exported %s", w.env, got, exp)
		}
	}
}

// TestPushAfterFailedPushWithNothingNew: a run whose push failed leaves its
// commit local; while another job pushes its environment, the next run finds
// nothing new (no commit) and must still deliver that earlier commit, rebuilt
// on the remote tip, rather than fail until some flow changes.
func TestPushAfterFailedPushWithNothingNew(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sc := unpushedThenOtherJob(t)
	e, remote, a, b, ra, prodTip := sc.e, sc.remote, sc.a, sc.b, sc.rTest, sc.prodTip

	// a's next run: nothing changed, nothing committed; the push rebuilds.
	ra2, pr, err := exportAndPush(ctx, e.src, a, exportOpts(seed.DemoEnvTest), remote, repo.Auth{})
	if err != nil {
		t.Fatalf("push of the earlier, unpushed export: %v", err)
	}
	if ra2.Committed || pr.Rebuilds != 1 {
		t.Errorf("second run committed %v, push %+v; want no commit and one rebuild", ra2.Committed, pr)
	}
	final := revParse(t, remote, "main")
	if !isAncestor(t, remote, prodTip, final) || final != pr.Commit {
		t.Errorf("remote at %s, push says %s; want a descendant of %s", final, pr.Commit, prodTip)
	}
	checkRemoteEnvs(t, remote, final, []envAt{
		{seed.DemoEnvTest, a, plumbing.NewHash(ra.Commit)},
		{seed.DemoEnvProd, b, prodTip},
	})
	if msg := testgit.Run(t, remote, "log", "-1", "--format=%B", "main"); !strings.Contains(msg, "not pushed") || !strings.Contains(msg, ra.Commit[:12]) {
		t.Errorf("rebuilt commit message does not name the replayed commit %s:\n%s", ra.Commit[:12], msg)
	}
	// And a third run is simply up to date.
	_, pr, err = exportAndPush(ctx, e.src, a, exportOpts(seed.DemoEnvTest), remote, repo.Auth{})
	if err != nil || !pr.UpToDate {
		t.Errorf("third run's push %+v, %v; want up to date", pr, err)
	}
}

// TestPushCarriesEarlierUnpushedCommit: two jobs share one local clone; the
// first one's push failed. When the second job's push finds the remote
// moved, its rebuild must carry the first job's environment too, not only
// its own.
func TestPushCarriesEarlierUnpushedCommit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sc := unpushedThenOtherJob(t)
	e, remote, a, b, rTest, prodTip := sc.e, sc.remote, sc.a, sc.b, sc.rTest, sc.prodTip

	rDev, pr, err := exportAndPush(ctx, e.src, a, exportOpts(seed.DemoEnvDev), remote, repo.Auth{})
	if err != nil {
		t.Fatal(err)
	}
	if !rDev.Committed || pr.Rebuilds != 1 {
		t.Errorf("Dev run committed %v, push %+v; want a commit and one rebuild", rDev.Committed, pr)
	}
	final := revParse(t, remote, "main")
	if !isAncestor(t, remote, prodTip, final) {
		t.Errorf("remote at %s does not descend from the other job's %s", final, prodTip)
	}
	checkRemoteEnvs(t, remote, final, []envAt{
		{seed.DemoEnvTest, a, plumbing.NewHash(rTest.Commit)},
		{seed.DemoEnvDev, a, plumbing.NewHash(rDev.Commit)},
		{seed.DemoEnvProd, b, prodTip},
	})
	msg := testgit.Run(t, remote, "log", "-1", "--format=%B", "main")
	if !strings.HasPrefix(msg, "Export ") || !strings.Contains(msg, rTest.Commit[:12]) || !strings.Contains(msg, rDev.Commit[:12]) {
		t.Errorf("rebuilt commit message should be the Dev run's and list both local commits:\n%s", msg)
	}
}
