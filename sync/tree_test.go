package sync_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/model"
	"github.com/flowsync/flowsync/internal/testgit"
	"github.com/flowsync/flowsync/repo"
	fsync "github.com/flowsync/flowsync/sync"
)

var fixedWhen = time.Date(2025, 7, 1, 9, 30, 0, 0, time.UTC)

func testAuthor() repo.Signature {
	return repo.Signature{Name: "Sync Test", Email: "sync-test@example.invalid", When: fixedWhen}
}

func testFlow(env api.EnvName, name api.FlowName, display string) model.Flow {
	return model.Flow{
		Key:         model.Key{Env: env, Flow: name},
		Meta:        model.Meta{DisplayName: display, State: api.StateStarted},
		Definition:  []byte(`{"actions":{},"triggers":{"manual":{"type":"Request"}}}`),
		Connections: []model.ConnectionRef{{Key: "shared_office365", API: "shared_office365", Connection: "shared-office365-1"}},
		Permissions: []model.Permission{{Principal: "0b1c0000-0000-0000-0000-000000000001", Type: "User", Role: api.RoleOwner}},
	}
}

// commitTree writes an environment and its flows with the model's own file
// functions and returns the commit.
func commitTree(t *testing.T, rp *repo.Repo, env model.Environment, flows []model.Flow) plumbing.Hash {
	t.Helper()
	ctx := context.Background()
	head, err := rp.Head(ctx, "main")
	if err != nil {
		t.Fatal(err)
	}
	b, err := rp.NewBuilder(ctx, head)
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(b.Put(model.RootFileName, model.RootFile()))
	envJSON, err := model.EnvironmentFile(env)
	must(err)
	dir, _ := model.EnvDir(env.Name)
	must(b.ReplaceSubtree(dir))
	must(b.Put(dir+"/"+model.EnvironmentFileName, envJSON))
	for _, f := range flows {
		files, err := model.Files(f)
		must(err)
		fd, _ := model.FlowDir(f.Key.Env, f.Key.Flow)
		for n, c := range files {
			must(b.Put(fd+"/"+n, c))
		}
	}
	res, err := b.Commit(ctx, repo.CommitOptions{Branch: "main", Message: "test export", Author: testAuthor()})
	must(err)
	return res.Commit
}

func openRepo(t *testing.T, bare bool) *repo.Repo {
	t.Helper()
	rp, err := repo.Open(context.Background(), t.TempDir()+"/backup", repo.OpenOptions{Bare: bare})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rp.Close() })
	return rp
}

const (
	envDev  api.EnvName  = "854f8e6e-8897-43b2-8aa1-402bab90c075"
	envProd api.EnvName  = "538a59ca-e7ed-416f-b21f-011ab58fc164"
	flowA   api.FlowName = "2409d8e9-a70a-4dd9-b1ac-73400d02421d"
	flowB   api.FlowName = "3841e8ce-90fb-4878-860a-ee6395044cd6"
	flowP   api.FlowName = "94487233-1c15-44a9-ac8e-08b0eee84489"
)

func TestLoadSnapshotReadsEveryFlowOfTheEnvironment(t *testing.T) {
	ctx := context.Background()
	rp := openRepo(t, false)
	want := []model.Flow{testFlow(envDev, flowA, "Invoice approval"), testFlow(envDev, flowB, "Order intake")}
	commitTree(t, rp, model.Environment{Name: envDev, DisplayName: "Contoso Dev"}, want)
	commit, err := fsync.ResolveRev(ctx, rp, "", "main")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{string(envDev), strings.ToUpper(string(envDev)), "contoso dev"} {
		env, err := fsync.ResolveTreeEnv(ctx, rp, commit, name)
		if err != nil {
			t.Fatalf("resolve %q: %v", name, err)
		}
		if env.Name != envDev {
			t.Errorf("resolve %q = %s", name, env.Name)
		}
	}
	if _, err := fsync.ResolveTreeEnv(ctx, rp, commit, "Contoso Prod"); !errors.Is(err, fsync.ErrEnvNotInTree) || !strings.Contains(err.Error(), "Contoso Dev") {
		t.Errorf("unknown environment: %v, want ErrEnvNotInTree listing what the tree has", err)
	}
	snap, err := fsync.LoadSnapshot(ctx, rp, commit, model.Environment{Name: envDev})
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Flows) != 2 || snap.Flows[0].Key.Flow != flowA || snap.Flows[1].Meta.DisplayName != "Order intake" {
		t.Fatalf("snapshot flows = %+v", snap.Flows)
	}
	for i := range want {
		wf, _ := model.Files(want[i])
		gf, _ := model.Files(snap.Flows[i])
		for n := range wf {
			if string(wf[n]) != string(gf[n]) {
				t.Errorf("flow %s file %s differs:\n%s\n%s", want[i].Key, n, wf[n], gf[n])
			}
		}
	}
}

func TestResolveRevOfEmptyRepositorySaysToExportFirst(t *testing.T) {
	rp := openRepo(t, true)
	_, err := fsync.ResolveRev(context.Background(), rp, "", "main")
	if err == nil || !strings.Contains(err.Error(), "export") {
		t.Fatalf("err = %v, want one saying to export first", err)
	}
	if _, err := fsync.ResolveRev(context.Background(), rp, "nosuchrev", "main"); !errors.Is(err, repo.ErrNotFound) {
		t.Fatalf("unknown rev: %v", err)
	}
}

func TestLinkStoreCommitsLinksThatExportsKeep(t *testing.T) {
	ctx := context.Background()
	rp := openRepo(t, false)
	commitTree(t, rp, model.Environment{Name: envDev}, []model.Flow{testFlow(envDev, flowA, "A")})
	ls, err := fsync.OpenLinkStore(ctx, rp, "main", envDev, envProd, testAuthor())
	if err != nil {
		t.Fatal(err)
	}
	if len(ls.Links()) != 0 {
		t.Fatalf("fresh store has links %v", ls.Links())
	}
	if err := ls.Record(ctx, model.Key{Env: envDev, Flow: flowA}, model.Key{Env: envProd, Flow: api.FlowName(strings.ToUpper(string(flowP)))}); err != nil {
		t.Fatal(err)
	}
	// The same link again makes no commit.
	if err := ls.Record(ctx, model.Key{Env: envDev, Flow: flowA}, model.Key{Env: envProd, Flow: flowP}); err != nil {
		t.Fatal(err)
	}
	if ls.Commits() != 1 {
		t.Errorf("commits = %d, want 1", ls.Commits())
	}
	// An export replaces environments/<env> only: the links stay.
	commitTree(t, rp, model.Environment{Name: envDev}, []model.Flow{testFlow(envDev, flowB, "B")})
	head, _ := rp.Head(ctx, "main")
	links, err := fsync.ReadLinks(ctx, rp, head, envDev, envProd)
	if err != nil {
		t.Fatal(err)
	}
	if len(links) != 1 || links[flowA] != flowP {
		t.Fatalf("links after export = %v, want %s -> %s", links, flowA, flowP)
	}
	testgit.FsckStrict(t, rp.Dir())
	if st := testgit.Run(t, rp.Dir(), "status", "--porcelain"); st != "" {
		t.Errorf("working tree not clean:\n%s", st)
	}
	body := testgit.Run(t, rp.Dir(), "show", "HEAD~1:links/"+string(envDev)+"/"+string(envProd)+".json")
	if !strings.Contains(body, string(flowP)) || !strings.Contains(body, `"format": 1`) {
		t.Errorf("stored links file = %s", body)
	}
}

func TestReadLinksRefusesABrokenFile(t *testing.T) {
	ctx := context.Background()
	rp := openRepo(t, true)
	p, _ := fsync.LinksPath(envDev, envProd)
	for name, content := range map[string]string{
		"not json":     `{`,
		"unknown key":  `{"format":1,"links":{},"extra":1}`,
		"other format": `{"format":2,"links":{}}`,
		"not a guid":   `{"format":1,"links":{"../x":"94487233-1c15-44a9-ac8e-08b0eee84489"}}`,
		"bad target":   `{"format":1,"links":{"2409d8e9-a70a-4dd9-b1ac-73400d02421d":"x"}}`,
	} {
		t.Run(name, func(t *testing.T) {
			head, _ := rp.Head(ctx, "main")
			b, _ := rp.NewBuilder(ctx, head)
			if err := b.Put(p, []byte(content)); err != nil {
				t.Fatal(err)
			}
			res, err := b.Commit(ctx, repo.CommitOptions{Branch: "main", Message: "x", Author: testAuthor()})
			if err != nil {
				t.Fatal(err)
			}
			_, err = fsync.ReadLinks(ctx, rp, res.Commit, envDev, envProd)
			if err == nil || !strings.Contains(err.Error(), p) {
				t.Fatalf("err = %v, want an error naming %s", err, p)
			}
		})
	}
}
