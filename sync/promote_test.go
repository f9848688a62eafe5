package sync_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowsync/flowsync/diff"
	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/client"
	"github.com/flowsync/flowsync/internal/emulator"
	"github.com/flowsync/flowsync/internal/emulator/seed"
	"github.com/flowsync/flowsync/internal/testgit"
	"github.com/flowsync/flowsync/repo"
	fsync "github.com/flowsync/flowsync/sync"
)

// Connections of the demo tenant the scenarios map explicitly.
const (
	connDevOutlookSupport api.ConnectionName = "1544ab383a2645d39fb8fdc65c14b98f"
	connProdOutlook       api.ConnectionName = "shared-office365-5ed268a3-26fa-4693-a36d-497ff37fdc5d"
	connProdSharePoint    api.ConnectionName = "shared-sharepointonl-2311abf9-258d-4cf8-8656-09b1177f0dfb"
	prodInvoiceApproval   api.FlowName       = "94487233-1c15-44a9-ac8e-08b0eee84489"
)

// promotable are the Dev flows whose connectors all have a connection in
// Prod (the others use Teams, a custom connector or Flow management, which
// Prod lacks, and would be refused by the plan).
var promotable = []string{
	"Invoice approval", "Request a laptop", string(seed.DemoFlowStopped), "Support inbox digest",
	string(seed.DemoFlowChild), string(seed.DemoFlowParent), "Order intake webhook",
}

// devProdMap maps one connection explicitly, one connector explicitly,
// leaves the rest to auto-mapping, and maps the Finance Approvers group
// of Dev to the Field Staff group.
func devProdMap(t *testing.T) string {
	return writeMap(t, `connections:
  byConnector:
    shared_sharepointonline: `+string(connProdSharePoint)+`
  byConnection:
    `+string(connDevOutlookSupport)+`: `+string(connProdOutlook)+`
principals:
  `+string(seed.DemoFinanceApprovers)+`: `+string(seed.DemoFieldStaff)+`
`)
}

func devToProd(mapFile string) fsync.PromoteOptions {
	return fsync.PromoteOptions{PlanOptions: fsync.PlanOptions{
		From: string(seed.DemoEnvDev), To: string(seed.DemoEnvProd), MapFile: mapFile, Flows: promotable,
	}}
}

func refsOf(t *testing.T, f emulator.Flow) map[string]struct {
	ConnectionName api.ConnectionName `json:"connectionName"`
} {
	t.Helper()
	var refs map[string]struct {
		ConnectionName api.ConnectionName `json:"connectionName"`
	}
	if err := json.Unmarshal(f.ConnectionReferences, &refs); err != nil {
		t.Fatalf("flow %s references: %v", f.Name, err)
	}
	return refs
}

func one(t *testing.T, e *emu, env api.EnvName, display string) emulator.Flow {
	t.Helper()
	fs := e.byName(env, display)
	if len(fs) != 1 {
		t.Fatalf("%d flows named %q in %s, want exactly 1", len(fs), display, env)
	}
	return fs[0]
}

func TestPromoteDevToProdMapsConnectionsAndPrincipalsAndConverges(t *testing.T) {
	e := startEmu(t, nil)
	rp := openRepo(t, false)
	e.exportEnv(rp, seed.DemoEnvDev)
	mapFile := devProdMap(t)

	res := e.promote(rp, devToProd(mapFile))
	if !res.Applied || res.Result == nil || len(res.Result.Flows) == 0 {
		t.Fatalf("nothing applied: %+v", res)
	}
	// How each reference was bound is in the plan: explicit and automatic.
	hows := map[string]bool{}
	for _, ch := range res.Plan.Changes {
		for _, c := range ch.Parts.Connections {
			hows[c.How] = true
		}
	}
	for _, want := range []string{"byConnection", "byConnector", "auto"} {
		if !hows[want] {
			t.Errorf("no connection bound %s in the plan (bindings: %v)", want, hows)
		}
	}

	// The existing Prod flow of the same name was updated, not duplicated.
	inv := one(t, e, seed.DemoEnvProd, "Invoice approval")
	if inv.Name != prodInvoiceApproval {
		t.Errorf("Invoice approval in Prod is %s, want the existing %s updated", inv.Name, prodInvoiceApproval)
	}
	// Principal map: Finance Approvers (Dev) became Field Staff (Prod).
	var sawFieldStaff bool
	for _, p := range inv.Permissions {
		if p.Principal == seed.DemoFinanceApprovers {
			t.Errorf("Invoice approval in Prod grants the unmapped Dev group %s", p.Principal)
		}
		if p.Principal == seed.DemoFieldStaff && p.Role == api.RoleCanEdit {
			sawFieldStaff = true
		}
	}
	if !sawFieldStaff {
		t.Errorf("Invoice approval in Prod: Field Staff not CanEdit: %+v", inv.Permissions)
	}
	// Explicit connection map: the support mailbox reference is bound to
	// the Prod Outlook connection; the SharePoint connector map holds.
	digest := one(t, e, seed.DemoEnvProd, "Support inbox digest")
	refs := refsOf(t, digest)
	if refs["shared_office365_1"].ConnectionName != connProdOutlook {
		t.Errorf("Support inbox digest shared_office365_1 -> %s, want %s", refs["shared_office365_1"].ConnectionName, connProdOutlook)
	}
	laptop := one(t, e, seed.DemoEnvProd, "Request a laptop")
	if got := refsOf(t, laptop)["shared_sharepointonline"].ConnectionName; got != connProdSharePoint {
		t.Errorf("Request a laptop SharePoint -> %s, want %s", got, connProdSharePoint)
	}
	// States as in the source.
	if st := one(t, e, seed.DemoEnvProd, "Archive old files").State; st != api.StateStopped {
		t.Errorf("Archive old files is %s in Prod, want Stopped as in Dev", st)
	}
	if laptop.State != api.StateStarted {
		t.Errorf("Request a laptop is %s in Prod, want Started", laptop.State)
	}

	// Links were committed outside environments/.
	head, _ := rp.Head(context.Background(), "main")
	links, err := fsync.ReadLinks(context.Background(), rp, head, seed.DemoEnvDev, seed.DemoEnvProd)
	if err != nil {
		t.Fatal(err)
	}
	if links[seed.DemoFlowInvoiceApproval] != prodInvoiceApproval || len(links) != len(promotable) {
		t.Errorf("links = %v, want %d with Invoice approval -> %s", links, len(promotable), prodInvoiceApproval)
	}
	// In two commits whatever the number of flows: the creates (flushed
	// before the journal goes) and the pairings the plan found.
	creates := 0
	for _, f := range res.Result.Flows {
		if f.Action == diff.Create {
			creates++
		}
	}
	if creates < 2 || res.LinkCommits < 1 || res.LinkCommits > 2 {
		t.Errorf("%d creates made %d links commits, want one or two in all", creates, res.LinkCommits)
	}
	testgit.FsckStrict(t, rp.Dir())

	// Afterwards a diff is clean and a second import writes nothing.
	po := devToProd(mapFile).PlanOptions
	po.Keep = e.admin.ID // as the diff command does: the identity's own access stays
	planned, err := e.engine(rp).MakePlan(context.Background(), po)
	if err != nil {
		t.Fatal(err)
	}
	if fsync.HasWork(planned.Plan) {
		for _, ch := range planned.Plan.Changes {
			if ch.Action != diff.Unchanged {
				t.Logf("%s %q: %+v", ch.Action, ch.DisplayName, ch.Parts)
			}
		}
		t.Fatal("the diff after the import is not clean")
	}
	_, writesBefore := e.stats()
	second := e.promote(rp, devToProd(mapFile))
	_, writesAfter := e.stats()
	if writesAfter != writesBefore {
		t.Errorf("second import made %d writes, want 0", writesAfter-writesBefore)
	}
	if second.Result != nil && second.Result.Writes != 0 {
		t.Errorf("second import reports %d writes", second.Result.Writes)
	}
}

func TestPromoteParentCallsTheTargetsChild(t *testing.T) {
	e := startEmu(t, nil)
	rp := openRepo(t, false)
	e.exportEnv(rp, seed.DemoEnvDev)
	e.promote(rp, devToProd(devProdMap(t)))

	child := one(t, e, seed.DemoEnvProd, "Child - Get manager")
	parent := one(t, e, seed.DemoEnvProd, "Parent - Escalate overdue invoices")
	refs := diff.ChildRefs(parent.Definition)
	if len(refs) == 0 {
		t.Fatalf("the parent in Prod calls no child flow:\n%s", parent.Definition)
	}
	for _, r := range refs {
		if !strings.EqualFold(string(r), string(child.Name)) {
			t.Errorf("the parent in Prod calls %s, want the Prod child %s", r, child.Name)
		}
	}
	if child.State != api.StateStarted || parent.State != api.StateStarted {
		t.Errorf("child %s, parent %s; want both Started", child.State, parent.State)
	}
}

func TestPromoteFollowsARenameThroughStoredLinksAlsoFromAFreshClone(t *testing.T) {
	ctx := context.Background()
	e := startEmu(t, nil)
	remote := filepath.Join(t.TempDir(), "remote.git")
	testgit.Run(t, "", "init", "-q", "--bare", "-b", "main", remote)
	push := &repo.PushOptions{Remote: "file://" + remote}
	rp := openRepo(t, false)
	e.exportEnv(rp, seed.DemoEnvDev)
	o := devToProd(devProdMap(t))
	o.Push = push
	e.promote(rp, o)
	target := one(t, e, seed.DemoEnvProd, "Archive old files").Name

	rename := func(to string) {
		t.Helper()
		// Priya, the maker, renames her flow.
		if _, err := e.Client(seed.DemoPriya).UpdateFlow(ctx, seed.DemoEnvDev, seed.DemoFlowStopped, api.FlowProperties{DisplayName: to}); err != nil {
			t.Fatal(err)
		}
		e.exportEnv(rp, seed.DemoEnvDev)
		if _, err := rp.Push(ctx, repo.PushOptions{Remote: "file://" + remote, Branch: "main"}); err != nil {
			t.Fatal(err)
		}
	}
	check := func(display string) {
		t.Helper()
		got := one(t, e, seed.DemoEnvProd, display)
		if got.Name != target {
			t.Errorf("%q in Prod is %s, want the linked flow %s updated", display, got.Name, target)
		}
		if old := e.byName(seed.DemoEnvProd, "Archive old files"); len(old) != 0 {
			t.Errorf("the old name is still in Prod: %d flow(s)", len(old))
		}
	}

	// From a fresh clone of the backup repository.
	rename("Archive old files (renamed)")
	clone := filepath.Join(t.TempDir(), "clone")
	testgit.Run(t, "", "clone", "-q", remote, clone)
	rc, err := repo.Open(ctx, clone, repo.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	o.Push = nil
	e.promote(rc, o)
	check("Archive old files (renamed)")

	// And from the original repository.
	rename("Archive old files (renamed twice)")
	e.promote(rp, o)
	check("Archive old files (renamed twice)")
	if n := len(e.flows(seed.DemoEnvProd)); n != 3+len(promotable)-2 {
		t.Errorf("Prod has %d flows, want %d (3 before, %d promoted of which 2 existed)", n, 3+len(promotable)-2, len(promotable))
	}
}

// TestPromoteAmbiguousNameAsksForALink: two Prod flows share a Dev flow's
// display name; the plan pairs nothing by name, says so and asks for
// --link; with --link the named flow is updated and the link stored.
func TestPromoteAmbiguousNameAsksForALink(t *testing.T) {
	ctx := context.Background()
	e := startEmu(t, nil)
	rp := openRepo(t, false)
	e.exportEnv(rp, seed.DemoEnvDev)
	// A second "Invoice approval" in Prod, made by its maker.
	priya := e.Client(seed.DemoPriya)
	orig, err := priya.GetFlow(ctx, seed.DemoEnvProd, prodInvoiceApproval, client.GetFlowOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dup, err := priya.CreateFlow(ctx, seed.DemoEnvProd, api.FlowProperties{DisplayName: "Invoice approval", State: api.StateStopped,
		Definition: orig.Properties.Definition, ConnectionReferences: orig.Properties.ConnectionReferences})
	if err != nil {
		t.Fatal(err)
	}
	o := devToProd(devProdMap(t))
	o.Flows = []string{"Invoice approval"}
	o.Identity = e.identity()
	o.Author = testAuthor()
	res, err := e.engine(rp).Promote(ctx, o)
	if !errors.Is(err, fsync.ErrPlanProblems) {
		t.Fatalf("err = %v, want the plan's problems", err)
	}
	var asked bool
	for _, p := range res.Plan.Problems {
		if p.Code == diff.CodeAmbiguousName && strings.Contains(p.Message, "--link") {
			asked = true
		}
	}
	if !asked {
		t.Fatalf("no ambiguous-name problem asking for --link: %+v", res.Plan.Problems)
	}
	if n := len(e.byName(seed.DemoEnvProd, "Invoice approval")); n != 2 {
		t.Fatalf("%d Invoice approval flows in Prod after a refused plan, want the 2 there were", n)
	}

	o.Links = map[api.FlowName]api.FlowName{seed.DemoFlowInvoiceApproval: dup.Name}
	e.promote(rp, o)
	head, _ := rp.Head(ctx, "main")
	links, err := fsync.ReadLinks(ctx, rp, head, seed.DemoEnvDev, seed.DemoEnvProd)
	if err != nil {
		t.Fatal(err)
	}
	if links[seed.DemoFlowInvoiceApproval] != dup.Name {
		t.Errorf("stored link %s -> %s, want -> %s (the --link target)", seed.DemoFlowInvoiceApproval, links[seed.DemoFlowInvoiceApproval], dup.Name)
	}
	// The next run follows the stored link without --link.
	o.Links = nil
	planned, err := e.engine(rp).MakePlan(ctx, o.PlanOptions)
	if err != nil {
		t.Fatal(err)
	}
	if len(planned.Plan.Problems) != 0 {
		t.Fatalf("plan after the link is stored has problems: %+v", planned.Plan.Problems)
	}
	for _, ch := range planned.Plan.Changes {
		if ch.Source.Flow == seed.DemoFlowInvoiceApproval && (ch.Target.Flow != dup.Name || ch.Link != diff.LinkStored) {
			t.Errorf("Invoice approval pairs with %s (%s), want %s by the stored link", ch.Target.Flow, ch.Link, dup.Name)
		}
	}
}
