package export_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowsync/flowsync/export"
	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/emulator/seed"
	"github.com/flowsync/flowsync/internal/model"
	"github.com/flowsync/flowsync/internal/testgit"
	"github.com/flowsync/flowsync/internal/testrepo"
	"github.com/flowsync/flowsync/repo"
)

// TestDeterminism: the same service state exported into two fresh
// repositories, with different read concurrency (so reads finish in another
// order), gives the same tree and the same commit; exporting again makes no
// commit and leaves the branch where it was.
func TestDeterminism(t *testing.T) {
	t.Parallel()
	e := startEmu(t, seed.Demo(), emuOptions{})
	a, b := newRepo(t, false), newRepo(t, true)

	oa := exportOpts()
	oa.Concurrency = 8
	ob := exportOpts()
	ob.Concurrency = 1
	ra := mustExport(t, e.src, a, oa)
	rb := mustExport(t, e.src, b, ob)
	if !ra.Committed || !rb.Committed {
		t.Fatalf("first exports committed %v, %v; want both", ra.Committed, rb.Committed)
	}
	ha, hb := testrepo.Head(t, a, "main"), testrepo.Head(t, b, "main")
	if ta, tb := treeHash(t, a, ha), treeHash(t, b, hb); ta != tb {
		t.Errorf("tree hashes differ: %s vs %s", ta, tb)
	}
	if ha != hb {
		t.Errorf("commit hashes differ with the same author time: %s vs %s", ha, hb)
	}
	if ra.Commit != ha.String() {
		t.Errorf("Result.Commit = %s, branch at %s", ra.Commit, ha)
	}
	if diff := cmp.Diff(ra.Secrets, rb.Secrets); diff != "" {
		t.Errorf("secret reports differ (-a +b):\n%s", diff)
	}

	again := mustExport(t, e.src, a, oa)
	if again.Committed {
		t.Errorf("second export of an unchanged state committed %s", again.Commit)
	}
	if got := testrepo.Head(t, a, "main"); got != ha {
		t.Errorf("branch moved from %s to %s without changes", ha, got)
	}
	if again.Commit != ha.String() {
		t.Errorf("unchanged export reports commit %s, want the tip %s", again.Commit, ha)
	}
	if n := commitCount(t, a.Dir(), "main"); n != 1 {
		t.Errorf("%d commits, want 1", n)
	}
}

// TestWorktreeAndBare: a working clone's files match HEAD after every
// export (git status is clean, also after changes and removals); a bare
// repository receives the same commit, and a git clone of it checks out
// exactly the exported tree.
func TestWorktreeAndBare(t *testing.T) {
	t.Parallel()
	snap := seed.Demo()
	e := startEmu(t, snap, emuOptions{})
	work := newRepo(t, false)
	bare := newRepo(t, true)
	if work.Bare() || !bare.Bare() {
		t.Fatalf("Bare() = %v, %v", work.Bare(), bare.Bare())
	}
	o := exportOpts(seed.DemoEnvDev, seed.DemoEnvProd)

	checkWorktree := func(step string) {
		t.Helper()
		if st := testgit.Run(t, work.Dir(), "status", "--porcelain", "--untracked-files=all"); st != "" {
			t.Errorf("%s: git status is not clean:\n%s", step, st)
		}
		want := testrepo.TreeFiles(t, work, testrepo.Head(t, work, "main"))
		got := testgit.WorkingFiles(t, work.Dir())
		if diff := cmp.Diff(sortedKeys(want), sortedKeys(got)); diff != "" {
			t.Errorf("%s: working files differ from HEAD (-want +got):\n%s", step, diff)
		}
		for p, b := range want {
			if string(got[p]) != string(b) {
				t.Errorf("%s: working file %s differs from HEAD", step, p)
			}
		}
	}

	mustExport(t, e.src, work, o)
	checkWorktree("first export")
	mustExport(t, e.src, bare, o)

	e.rename(snap, seed.DemoEnvDev, seed.DemoFlowChild, "Child - Get manager (v2)")
	e.deleteFlow(seed.DemoEnvProd, "4327c805-6d4e-4c5d-bf70-79f649cd3c61")
	r := mustExport(t, e.src, work, o)
	if !r.Committed || len(r.Changed) != 1 || len(r.Removed) != 1 {
		t.Fatalf("second export: committed %v, changed %v, removed %v", r.Committed, r.Changed, r.Removed)
	}
	checkWorktree("after a change and a removal")
	mustExport(t, e.src, bare, o)

	if hw, hb := testrepo.Head(t, work, "main"), testrepo.Head(t, bare, "main"); hw != hb {
		t.Errorf("working and bare repositories differ: %s vs %s", hw, hb)
	}
	if n := commitCount(t, bare.Dir(), "main"); n != 2 {
		t.Errorf("bare repository has %d commits, want 2", n)
	}

	clone := filepath.Join(t.TempDir(), "clone")
	testgit.Run(t, t.TempDir(), "clone", "-q", bare.Dir(), clone)
	t.Cleanup(func() { testgit.FsckStrict(t, clone) })
	want := testrepo.TreeFiles(t, bare, testrepo.Head(t, bare, "main"))
	for p, b := range want {
		got, err := os.ReadFile(filepath.Join(clone, filepath.FromSlash(p)))
		if err != nil || string(got) != string(b) {
			t.Errorf("clone: %s differs from the exported tree (%v)", p, err)
		}
	}
	if st := testgit.Run(t, clone, "status", "--porcelain"); st != "" {
		t.Errorf("fresh clone is not clean:\n%s", st)
	}
}

// TestAddedChangedRemoved: flows created, changed (renamed, definition
// edited) and deleted between two exports are reported by display name, in
// (environment, flow) order, in the Result and in the commit message, and
// the removed flow's directory is gone while history keeps it.
func TestAddedChangedRemoved(t *testing.T) {
	t.Parallel()
	snap := seed.Demo()
	e := startEmu(t, snap, emuOptions{})
	rp := newRepo(t, false)
	o := exportOpts(seed.DemoEnvProd, seed.DemoEnvTest)
	first := mustExport(t, e.src, rp, o)
	firstCommit := first.Commit

	const (
		prodInvoice = api.FlowName("94487233-1c15-44a9-ac8e-08b0eee84489")
		prodWebhook = api.FlowName("4327c805-6d4e-4c5d-bf70-79f649cd3c61")
	)
	zeta := e.createFlow(seed.DemoEnvTest, seed.DemoPriya, "Zeta: nightly cleanup")
	alpha := e.createFlow(seed.DemoEnvTest, seed.DemoMarcus, "Alpha: morning digest")
	e.rename(snap, seed.DemoEnvProd, prodInvoice, "Invoice approval (v2)")
	e.changeDefinition(snap, seed.DemoEnvTest, seed.DemoFlowAccountOnboard, "changed in Test")
	e.deleteFlow(seed.DemoEnvProd, prodWebhook)

	res := mustExport(t, e.src, rp, o)
	if !res.Committed {
		t.Fatal("second export made no commit")
	}
	ref := func(env api.EnvName, flow api.FlowName, name string) export.FlowRef {
		return export.FlowRef{Env: env, Flow: flow, DisplayName: name}
	}
	wantAdded := []export.FlowRef{ref(seed.DemoEnvTest, zeta, "Zeta: nightly cleanup"), ref(seed.DemoEnvTest, alpha, "Alpha: morning digest")}
	slices.SortFunc(wantAdded, func(a, b export.FlowRef) int { return strings.Compare(string(a.Flow), string(b.Flow)) })
	wantChanged := []export.FlowRef{
		ref(seed.DemoEnvProd, prodInvoice, "Invoice approval (v2)"), // Prod's name sorts first
		ref(seed.DemoEnvTest, seed.DemoFlowAccountOnboard, "Account onboarding"),
	}
	wantRemoved := []export.FlowRef{ref(seed.DemoEnvProd, prodWebhook, "Order intake webhook")}
	if diff := cmp.Diff(wantAdded, res.Added); diff != "" {
		t.Errorf("Added (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantChanged, res.Changed); diff != "" {
		t.Errorf("Changed (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantRemoved, res.Removed); diff != "" {
		t.Errorf("Removed (-want +got):\n%s", diff)
	}
	wantEnvs := []export.EnvResult{
		{Name: seed.DemoEnvProd, DisplayName: "Contoso Prod", Flows: 2, Read: 2},
		{Name: seed.DemoEnvTest, DisplayName: "Contoso Test", Flows: 5, Read: 5},
	}
	if diff := cmp.Diff(wantEnvs, res.Environments); diff != "" {
		t.Errorf("Environments (-want +got):\n%s", diff)
	}

	line := func(r export.FlowRef) string { return fmt.Sprintf("- %s (%s, %s)\n", r.DisplayName, r.Env, r.Flow) }
	var want strings.Builder
	want.WriteString("Export 2 environments, 7 flows: 2 added, 2 changed, 1 removed\n\nAdded:\n")
	for _, r := range wantAdded {
		want.WriteString(line(r))
	}
	want.WriteString("\nChanged:\n")
	for _, r := range wantChanged {
		want.WriteString(line(r))
	}
	want.WriteString("\nRemoved:\n")
	for _, r := range wantRemoved {
		want.WriteString(line(r))
	}
	got := commitMessage(t, rp.Dir(), res.Commit)
	if diff := cmp.Diff(want.String(), strings.TrimRight(got, "\n")+"\n"); diff != "" {
		t.Errorf("commit message (-want +got):\n%s", diff)
	}

	files := testrepo.TreeFiles(t, rp, testrepo.Head(t, rp, "main"))
	if f := testrepo.FlowFiles(files, seed.DemoEnvProd, prodWebhook); len(f) != 0 {
		t.Errorf("removed flow still in the tree: %v", sortedKeys(f))
	}
	for _, f := range []api.FlowName{zeta, alpha} {
		if got := len(testrepo.FlowFiles(files, seed.DemoEnvTest, f)); got != 4 {
			t.Errorf("added flow %s has %d files, want 4", f, got)
		}
	}
	hist := strings.Fields(testgit.Run(t, rp.Dir(), "log", "--format=%H", "--", testrepo.FlowDir(seed.DemoEnvProd, prodWebhook)))
	if len(hist) != 2 || hist[1] != firstCommit {
		t.Errorf("history of the removed flow = %v, want [removal, %s]", hist, firstCommit)
	}
	var meta model.Meta
	if err := json.Unmarshal(files[testrepo.FlowDir(seed.DemoEnvProd, prodInvoice)+"flow.json"], &meta); err != nil || meta.DisplayName != "Invoice approval (v2)" {
		t.Errorf("renamed flow.json: %+v, %v", meta, err)
	}
	readme := string(files["environments/"+string(seed.DemoEnvTest)+"/README.md"])
	for _, name := range []string{"Zeta: nightly cleanup", "Alpha: morning digest", "- Flows: 5"} {
		if !strings.Contains(readme, name) {
			t.Errorf("Test README lacks %q:\n%s", name, readme)
		}
	}

	// A given subject replaces the generated one (on one line); the body
	// still lists the changes.
	e.advance(time.Minute)
	if _, err := e.ClientWithAttempts(seed.DemoPriya, 0).UpdateFlow(context.Background(), seed.DemoEnvTest, zeta, api.FlowProperties{DisplayName: "Zeta: nightly cleanup (v2)"}); err != nil {
		t.Fatal(err)
	}
	withSubject := o
	withSubject.Message = "Nightly\nbackup"
	res = mustExport(t, e.src, rp, withSubject)
	wantMsg := "Nightly backup\n\nChanged:\n" + line(ref(seed.DemoEnvTest, zeta, "Zeta: nightly cleanup (v2)"))
	if got := strings.TrimRight(commitMessage(t, rp.Dir(), res.Commit), "\n") + "\n"; got != wantMsg {
		t.Errorf("commit message with a subject (-want +got):\n%s", cmp.Diff(wantMsg, got))
	}
}

// TestShrinkGuard: a listing that shrinks by more than half, or to zero,
// commits nothing (for any selected environment) unless AllowShrink is set;
// shrinking to exactly half is allowed.
func TestShrinkGuard(t *testing.T) {
	t.Parallel()
	snap := seed.Demo()
	e := startEmu(t, snap, emuOptions{})
	rp := newRepo(t, false)
	o := exportOpts(seed.DemoEnvDev, seed.DemoEnvProd)
	mustExport(t, e.src, rp, o)
	before := testrepo.Head(t, rp, "main")

	refuse := func(step string) {
		t.Helper()
		tip := testrepo.Head(t, rp, "main")
		res, err := runExport(t, e.src, rp, o)
		if !errors.Is(err, export.ErrShrink) {
			t.Fatalf("%s: export = %v, %v; want ErrShrink", step, res, err)
		}
		if got := testrepo.Head(t, rp, "main"); got != tip {
			t.Errorf("%s: branch moved to %s after a refused export", step, got)
		}
		if st := testgit.Run(t, rp.Dir(), "status", "--porcelain"); st != "" {
			t.Errorf("%s: working tree changed:\n%s", step, st)
		}
	}

	// Dev: 14 flows, 8 deleted → 6 left, fewer than half.
	devFlows := sortedFlowNames(demoFlows(snap, seed.DemoEnvDev))
	if len(devFlows) != 14 {
		t.Fatalf("demo Dev has %d flows, the test expects 14", len(devFlows))
	}
	deleted := devFlows[:8]
	for _, f := range deleted {
		e.deleteFlow(seed.DemoEnvDev, f)
	}
	// Prod changes too: the refusal must hold back every environment.
	e.rename(snap, seed.DemoEnvProd, "94487233-1c15-44a9-ac8e-08b0eee84489", "Invoice approval (Prod)")
	refuse("Dev shrank from 14 to 6")
	if testrepo.Head(t, rp, "main") != before {
		t.Fatal("branch moved")
	}

	allow := o
	allow.AllowShrink = true
	res := mustExport(t, e.src, rp, allow)
	if !res.Committed {
		t.Fatal("AllowShrink made no commit")
	}
	var wantRemoved []export.FlowRef
	for _, f := range deleted {
		wantRemoved = append(wantRemoved, export.FlowRef{Env: seed.DemoEnvDev, Flow: f, DisplayName: flowOf(t, snap, seed.DemoEnvDev, f).DisplayName})
	}
	if diff := cmp.Diff(wantRemoved, res.Removed); diff != "" {
		t.Errorf("Removed (-want +got):\n%s", diff)
	}
	if len(res.Changed) != 1 || res.Changed[0].DisplayName != "Invoice approval (Prod)" {
		t.Errorf("Changed = %v", res.Changed)
	}
	msg := commitMessage(t, rp.Dir(), res.Commit)
	for _, r := range wantRemoved {
		if !strings.Contains(msg, "- "+r.DisplayName+" (") {
			t.Errorf("commit message does not name removed %q:\n%s", r.DisplayName, msg)
		}
	}

	// Prod: 3 → 2 → 1 is never more than half at a time; 1 → 0 is refused.
	prod := sortedFlowNames(demoFlows(snap, seed.DemoEnvProd))
	po := exportOpts(seed.DemoEnvProd)
	for i, f := range prod[:2] {
		e.deleteFlow(seed.DemoEnvProd, f)
		if r := mustExport(t, e.src, rp, po); !r.Committed || len(r.Removed) != 1 {
			t.Fatalf("Prod deletion %d: committed %v, removed %v", i+1, r.Committed, r.Removed)
		}
	}
	e.deleteFlow(seed.DemoEnvProd, prod[2])
	o = po
	refuse("Prod shrank to zero")
	po.AllowShrink = true
	res = mustExport(t, e.src, rp, po)
	if !res.Committed || len(res.Removed) != 1 || res.Removed[0].Flow != prod[2] {
		t.Fatalf("zero with AllowShrink: committed %v, removed %v", res.Committed, res.Removed)
	}
	files := testrepo.TreeFiles(t, rp, testrepo.Head(t, rp, "main"))
	for p := range files {
		if strings.HasPrefix(p, "environments/"+string(seed.DemoEnvProd)+"/flows/") {
			t.Errorf("Prod still holds %s", p)
		}
	}
	if _, ok := files["environments/"+string(seed.DemoEnvProd)+"/environment.json"]; !ok {
		t.Error("an environment without flows lost environment.json")
	}
}

func sortedFlowNames[V any](m map[api.FlowName]V) []api.FlowName {
	out := make([]api.FlowName, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestIncludeDeleted: with IncludeDeleted, a soft-deleted flow is recorded
// with state Deleted; one exported before its deletion keeps its previous
// definition, references and permissions, and flow.json keeps what it said
// apart from the state. Without IncludeDeleted the flow is removed.
func TestIncludeDeleted(t *testing.T) {
	t.Parallel()
	snap := seed.Demo()
	e := startEmu(t, snap, emuOptions{})
	withDeleted := export.ClientSource{Client: e.client, Admin: true, IncludeDeleted: true}
	rp := newRepo(t, false)
	o := exportOpts(seed.DemoEnvDev)

	mustExport(t, withDeleted, rp, o)
	files := testrepo.TreeFiles(t, rp, testrepo.Head(t, rp, "main"))
	var m model.Meta
	deletedDir := testrepo.FlowDir(seed.DemoEnvDev, seed.DemoFlowDeleted)
	if err := json.Unmarshal(files[deletedDir+"flow.json"], &m); err != nil {
		t.Fatalf("flow.json of the seed's soft-deleted flow: %v", err)
	}
	if m.State != api.StateDeleted || m.DisplayName != flowOf(t, snap, seed.DemoEnvDev, seed.DemoFlowDeleted).DisplayName {
		t.Errorf("soft-deleted flow recorded as %+v", m)
	}

	// Delete a flow that the backup holds in full.
	victim := seed.DemoFlowInvoiceApproval
	dir := testrepo.FlowDir(seed.DemoEnvDev, victim)
	before := blobHashes(t, rp, testrepo.Head(t, rp, "main"))
	var prevMeta model.Meta
	if err := json.Unmarshal(files[dir+"flow.json"], &prevMeta); err != nil {
		t.Fatal(err)
	}
	e.deleteFlow(seed.DemoEnvDev, victim)
	res := mustExport(t, withDeleted, rp, o)
	if len(res.Failed) != 0 || len(res.Removed) != 0 {
		t.Fatalf("failed %v, removed %v", res.Failed, res.Removed)
	}
	if len(res.Changed) != 1 || res.Changed[0].Flow != victim {
		t.Errorf("Changed = %v, want the deleted flow", res.Changed)
	}
	after := blobHashes(t, rp, testrepo.Head(t, rp, "main"))
	for _, f := range []string{"definition.json", "connections.json", "permissions.json"} {
		if before[dir+f].IsZero() || after[dir+f] != before[dir+f] {
			t.Errorf("%s of the deleted flow: %s before, %s after; want it kept", f, before[dir+f], after[dir+f])
		}
	}
	files = testrepo.TreeFiles(t, rp, testrepo.Head(t, rp, "main"))
	var gotMeta model.Meta
	if err := json.Unmarshal(files[dir+"flow.json"], &gotMeta); err != nil {
		t.Fatal(err)
	}
	wantMeta := prevMeta
	wantMeta.State = api.StateDeleted
	if diff := cmp.Diff(wantMeta, gotMeta); diff != "" {
		t.Errorf("flow.json of the deleted flow (-want +got):\n%s", diff)
	}

	// Without IncludeDeleted both deleted flows leave the tree.
	res = mustExport(t, e.src, rp, o)
	var removed []api.FlowName
	for _, r := range res.Removed {
		removed = append(removed, r.Flow)
	}
	want := []api.FlowName{seed.DemoFlowDeleted, victim}
	slices.Sort(want)
	if diff := cmp.Diff(want, removed); diff != "" {
		t.Errorf("Removed without IncludeDeleted (-want +got):\n%s", diff)
	}
}

// gatedSource holds an export inside Environments until released, so a
// test can act while the export holds the repository lock.
type gatedSource struct {
	export.Source
	entered chan struct{}
	release chan struct{}
}

func (g gatedSource) Environments(ctx context.Context) ([]api.Environment, error) {
	close(g.entered)
	select {
	case <-g.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return g.Source.Environments(ctx)
}

// TestLock: while one export runs, a second export into the same repository
// (another Repo value, as another process would have) cannot take the lock,
// and the error names the holder; after the first finishes, it can.
func TestLock(t *testing.T) {
	t.Parallel()
	e := startEmu(t, seed.Demo(), emuOptions{})
	dir := filepath.Join(t.TempDir(), "backup")
	first := openRepoAt(t, dir, false)
	second, err := repo.Open(context.Background(), dir, repo.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()

	g := gatedSource{Source: e.src, entered: make(chan struct{}), release: make(chan struct{})}
	type outcome struct {
		res *export.Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		unlock, err := first.Lock(context.Background())
		if err != nil {
			close(g.entered)
			done <- outcome{err: err}
			return
		}
		res, _, err := export.Run(context.Background(), g, first, exportOpts(seed.DemoEnvProd), nil)
		// Unlock before reporting: the test takes the lock as soon as it
		// hears the outcome.
		if uerr := unlock(); uerr != nil && err == nil {
			err = uerr
		}
		done <- outcome{res, err}
	}()
	<-g.entered

	_, err = second.Lock(context.Background())
	if !errors.Is(err, repo.ErrLocked) {
		close(g.release)
		<-done
		t.Fatalf("second Lock = %v, want ErrLocked", err)
	}
	host, _ := os.Hostname()
	for _, want := range []string{strconv.Itoa(os.Getpid()), host} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("lock error %q does not name the holder (%q)", err, want)
		}
	}
	close(g.release)
	out := <-done
	if out.err != nil || !out.res.Committed {
		t.Fatalf("first export: %v, %+v", out.err, out.res)
	}

	unlock, err := second.Lock(context.Background())
	if err != nil {
		t.Fatalf("Lock after the first export finished: %v", err)
	}
	defer unlock()
	res, _, err := export.Run(context.Background(), e.src, second, exportOpts(seed.DemoEnvProd), nil)
	if err != nil || res.Committed {
		t.Errorf("export through the second handle: %v, committed %v", err, res != nil && res.Committed)
	}
}

// TestUserScope: identities without the admin role export through the
// user-scope calls (solution flows included) and get exactly the flows they
// own or co-own, directly or through a group, each with the same files an
// admin export writes for it.
func TestUserScope(t *testing.T) {
	t.Parallel()
	snap := seed.Demo()
	e := startEmu(t, snap, emuOptions{})
	admin := newRepo(t, true)
	mustExport(t, e.src, admin, exportOpts(seed.DemoEnvDev))
	af := testrepo.TreeFiles(t, admin, testrepo.Head(t, admin, "main"))

	solutionFlows := 0
	for _, maker := range []api.PrincipalID{seed.DemoPriya, seed.DemoMarcus, seed.DemoSofia} {
		groups := map[api.PrincipalID]bool{maker: true}
		for _, p := range snap.Principals {
			for _, m := range p.Members {
				if m == maker {
					groups[p.ID] = true
				}
			}
		}
		want := map[api.FlowName]bool{}
		for name, f := range demoFlows(snap, seed.DemoEnvDev) {
			editable := f.Creator == maker
			for _, p := range f.Permissions {
				editable = editable || (p.Role == api.RoleCanEdit && groups[p.Principal])
			}
			if editable {
				want[name] = true
				if f.WorkflowEntityID != "" {
					solutionFlows++
				}
			}
		}
		if len(want) == 0 {
			t.Fatalf("%s can edit no Dev flow; the test needs some", maker)
		}

		user := newRepo(t, false)
		res := mustExport(t, export.ClientSource{Client: e.ClientWithAttempts(maker, 0)}, user, exportOpts(seed.DemoEnvDev))
		got := map[api.FlowName]bool{}
		for _, r := range res.Added {
			got[r.Flow] = true
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: flows exported in user scope (-editable +exported):\n%s", maker, diff)
		}
		uf := testrepo.TreeFiles(t, user, testrepo.Head(t, user, "main"))
		for name := range got {
			if diff := cmp.Diff(testrepo.FlowFiles(af, seed.DemoEnvDev, name), testrepo.FlowFiles(uf, seed.DemoEnvDev, name)); diff != "" {
				t.Errorf("%s: flow %s differs between admin and user scope (-admin +user):\n%s", maker, name, diff)
			}
		}
	}
	if solutionFlows == 0 {
		t.Error("no solution flow was among the makers' flows: the test proves nothing about them")
	}
}

// TestHostileNames: flow names that are no GUID (one shaped like a path)
// never become paths — they are reported as failed and the rest is
// committed; an upper-case GUID is stored under its lower-case form; a
// display name with line breaks and Markdown cannot break the commit
// message or the index.
func TestHostileNames(t *testing.T) {
	t.Parallel()
	snap := seed.Demo()
	base := flowOf(t, snap, seed.DemoEnvProd, "4327c805-6d4e-4c5d-bf70-79f649cd3c61") // no connections
	add := func(name api.FlowName, display string) {
		f := base
		f.Name, f.DisplayName, f.Permissions = name, display, nil
		snap.Flows = append(snap.Flows, f)
	}
	const upper = api.FlowName("ABCDEF01-2345-4789-ABCD-EF0123456789")
	add("not-a-guid", "Odd name")
	add("../../../../tmp/evil", "Path-shaped name")
	add(upper, "Upper-case name")
	add("0f0e0d0c-0b0a-4908-8706-050403020100", "Line one\nLine two | `code` [link](http://example.invalid) <b>")
	e := startEmu(t, snap, emuOptions{})
	rp := newRepo(t, false)

	res, err := runExport(t, e.src, rp, exportOpts(seed.DemoEnvProd))
	if err != nil {
		t.Fatal(err)
	}
	var failed []string
	for _, f := range res.Failed {
		failed = append(failed, string(f.Flow))
		if f.Kept || !strings.Contains(f.Err, "not a GUID") {
			t.Errorf("failure %+v", f)
		}
	}
	slices.Sort(failed)
	if diff := cmp.Diff([]string{"../../../../tmp/evil", "not-a-guid"}, failed); diff != "" {
		t.Errorf("Failed (-want +got):\n%s", diff)
	}
	if !res.Committed || len(res.Added) != 5 {
		t.Fatalf("committed %v, added %v", res.Committed, res.Added)
	}
	files := testrepo.TreeFiles(t, rp, testrepo.Head(t, rp, "main"))
	for p := range files {
		if err := repo.ValidatePath(p); err != nil || !strings.HasPrefix(p, "environments/"+string(seed.DemoEnvProd)+"/") && p != "flowsync.json" {
			t.Errorf("path %q: %v", p, err)
		}
		if strings.Contains(p, "evil") || strings.Contains(p, "not-a-guid") || strings.Contains(p, "ABCDEF") {
			t.Errorf("path %q comes from a bad or non-canonical name", p)
		}
	}
	if len(testrepo.FlowFiles(files, seed.DemoEnvProd, upper)) != 4 {
		t.Errorf("the upper-case flow is not stored under %s", testrepo.FlowDir(seed.DemoEnvProd, upper))
	}
	msg := commitMessage(t, rp.Dir(), res.Commit)
	if !strings.Contains(msg, "\n- Line one\\nLine two | `code` [link](http://example.invalid) <b> (") {
		t.Errorf("the multi-line display name broke the message layout:\n%s", msg)
	}
	if !strings.Contains(msg, "Not read") || !strings.Contains(msg, "- Odd name (") {
		t.Errorf("the message does not name the flows it could not store:\n%s", msg)
	}
	readme := string(files["environments/"+string(seed.DemoEnvProd)+"/README.md"])
	if strings.Contains(readme, "Line one\nLine two") || strings.Contains(readme, "| `code`") {
		t.Errorf("the index does not escape display names:\n%s", readme)
	}
	if st := testgit.Run(t, rp.Dir(), "status", "--porcelain", "--untracked-files=all"); st != "" {
		t.Errorf("working tree not clean:\n%s", st)
	}
}

// cancellingSource cancels the run's context when the n-th flow is read.
type cancellingSource struct {
	export.Source
	cancel context.CancelFunc
	n      *atomic.Int32
}

func (c cancellingSource) Flow(ctx context.Context, env api.EnvName, name api.FlowName) (api.Flow, error) {
	if c.n.Add(-1) == 0 {
		c.cancel()
	}
	return c.Source.Flow(ctx, env, name)
}

// TestCancelCommitsNothing: an export whose context ends while flows are
// being read returns the context's error and commits nothing — no flow is
// recorded as "kept" or "failed" into a partial commit.
func TestCancelCommitsNothing(t *testing.T) {
	t.Parallel()
	snap := seed.Demo()
	e := startEmu(t, snap, emuOptions{})
	rp := newRepo(t, false)
	o := exportOpts(seed.DemoEnvDev)
	mustExport(t, e.src, rp, o)
	tip := testrepo.Head(t, rp, "main")
	e.rename(snap, seed.DemoEnvDev, seed.DemoFlowChild, "Child - Get manager (renamed)")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := &atomic.Int32{}
	n.Store(3)
	unlock, err := rp.Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	res, _, err := export.Run(ctx, cancellingSource{Source: e.src, cancel: cancel, n: n}, rp, o, nil)
	unlock()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %+v, %v; want context.Canceled", res, err)
	}
	if got := testrepo.Head(t, rp, "main"); got != tip {
		t.Errorf("a cancelled export moved the branch to %s", got)
	}
	if st := testgit.Run(t, rp.Dir(), "status", "--porcelain"); st != "" {
		t.Errorf("a cancelled export changed the working tree:\n%s", st)
	}
}

// TestWorktreeLocalChanges: when someone edited a working file that the
// export would overwrite, the export fails with ErrWorktreeConflict before
// committing, and the edit survives.
func TestWorktreeLocalChanges(t *testing.T) {
	t.Parallel()
	snap := seed.Demo()
	e := startEmu(t, snap, emuOptions{})
	rp := newRepo(t, false)
	o := exportOpts(seed.DemoEnvDev)
	mustExport(t, e.src, rp, o)
	tip := testrepo.Head(t, rp, "main")

	edited := filepath.Join(rp.Dir(), filepath.FromSlash(testrepo.FlowDir(seed.DemoEnvDev, seed.DemoFlowChild)), "flow.json")
	if err := os.WriteFile(edited, []byte("{\"edited\": \"by hand\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.rename(snap, seed.DemoEnvDev, seed.DemoFlowChild, "Child - Get manager (renamed)")
	res, err := runExport(t, e.src, rp, o)
	if !errors.Is(err, repo.ErrWorktreeConflict) {
		t.Fatalf("export over a local edit = %+v, %v; want ErrWorktreeConflict", res, err)
	}
	if got := testrepo.Head(t, rp, "main"); got != tip {
		t.Errorf("branch moved to %s", got)
	}
	if b, _ := os.ReadFile(edited); !strings.Contains(string(b), "by hand") {
		t.Error("the local edit was overwritten")
	}
}

// cancelAfterReporter cancels the run once n flows were written, and notes
// whether the build had started a pack file by then (it runs on the
// writer goroutine, right after the flow's files were put).
type cancelAfterReporter struct {
	n       int
	cancel  context.CancelFunc
	packDir string
	sawPack bool
}

func (c *cancelAfterReporter) EnvironmentStarted(api.Environment, int) {}

func (c *cancelAfterReporter) FlowDone(export.FlowEvent) {
	if c.n--; c.n != 0 {
		return
	}
	ents, _ := os.ReadDir(c.packDir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "tmp_pack_") {
			c.sawPack = true
		}
	}
	c.cancel()
}

// TestCancelLargeExportLeavesNoPack: a first export big enough to stream
// its objects into a pack, cancelled half-way, leaves no pack, no temporary
// file and no object behind.
func TestCancelLargeExportLeavesNoPack(t *testing.T) {
	t.Parallel()
	e := startEmu(t, seed.Demo(), emuOptions{})
	for i := range 120 { // each adds one distinct blob (flow.json); the rest is shared
		e.createFlow(seed.DemoEnvDev, seed.DemoPriya, fmt.Sprintf("Bulk flow %03d", i))
	}
	rp := newRepo(t, true)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rep := &cancelAfterReporter{n: 110, cancel: cancel, packDir: filepath.Join(rp.GitDir(), "objects", "pack")}
	unlock, err := rp.Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	o := exportOpts(seed.DemoEnvDev)
	o.Concurrency = 1
	res, _, err := export.Run(ctx, e.src, rp, o, rep)
	unlock()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %+v, %v; want context.Canceled", res, err)
	}
	if !rep.sawPack {
		t.Fatal("the build had not started a pack when it was cancelled: the test no longer covers that path")
	}
	ents, err := os.ReadDir(rep.packDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		t.Errorf("left in objects/pack: %s", e.Name())
	}
	loose, err := filepath.Glob(filepath.Join(rp.GitDir(), "objects", "[0-9a-f][0-9a-f]", "*"))
	if err != nil || len(loose) != 0 {
		t.Errorf("loose objects left: %v (%v)", loose, err)
	}
	if got := testrepo.Head(t, rp, "main"); !got.IsZero() {
		t.Errorf("a cancelled export created the branch at %s", got)
	}
}
