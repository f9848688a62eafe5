package conformance

import (
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/client"
)

// The read-only checks: everything here is a GET, or listCallbackUrl, which
// is a POST that only reads. They run against a live tenant too.

func (s *suite) environments(t *testing.T) {
	s.need(t, s.fx.Env != "", "environment")
	t.Run("user", func(t *testing.T) {
		m := s.client(t, RoleMaker)
		envs, err := m.ListEnvironments(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		checkEnvironments(t, envs, s.fx.Env)
		env, err := m.GetEnvironment(t.Context(), s.fx.Env)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.EqualFold(string(env.Name), string(s.fx.Env)) {
			t.Errorf("GetEnvironment(%s) answered %s", s.fx.Env, env.Name)
		}
	})
	t.Run("admin (BAP)", func(t *testing.T) {
		envs, err := s.client(t, RoleAdmin).AdminListEnvironments(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		checkEnvironments(t, envs, s.fx.Env)
		if s.fx.PagingEnv != "" && !hasEnv(envs, s.fx.PagingEnv) {
			t.Errorf("the admin list lacks environment %s", s.fx.PagingEnv)
		}
	})
}

func hasEnv(envs []api.Environment, name api.EnvName) bool {
	for _, e := range envs {
		if strings.EqualFold(string(e.Name), string(name)) {
			return true
		}
	}
	return false
}

func checkEnvironments(t *testing.T, envs []api.Environment, want api.EnvName) {
	t.Helper()
	if !hasEnv(envs, want) {
		t.Errorf("environment %s is not listed among %d", want, len(envs))
	}
	defaults := 0
	for _, e := range envs {
		if e.Name == "" || e.Properties.DisplayName == "" {
			t.Errorf("environment without name or display name: %+v", e)
		}
		if e.Properties.IsDefault {
			defaults++
		}
	}
	if defaults > 1 {
		t.Errorf("%d default environments listed", defaults)
	}
}

func (s *suite) listMyFlows(t *testing.T) {
	s.need(t, s.fx.Env != "" && s.fx.MakerFlow != "", "environment and maker flow")
	m := s.client(t, RoleMaker)
	list := func(t *testing.T, opts client.ListFlowsOptions) []api.Flow {
		t.Helper()
		fs, err := m.ListFlows(t.Context(), s.fx.Env, opts)
		if err != nil {
			t.Fatal(err)
		}
		if d := duplicates(flowNames(fs)); len(d) > 0 {
			t.Errorf("flows listed twice: %v", d)
		}
		for _, f := range fs {
			if len(f.Properties.Definition) > 0 {
				t.Errorf("flow %s is listed with its definition", f.Name)
			}
		}
		return fs
	}
	expect := func(t *testing.T, fs []api.Flow, in, out []api.FlowName) {
		t.Helper()
		for _, f := range in {
			if f != "" && !hasFlow(fs, f) {
				t.Errorf("flow %s is not listed", f)
			}
		}
		for _, f := range out {
			if f != "" && hasFlow(fs, f) {
				t.Errorf("flow %s is listed", f)
			}
		}
	}
	t.Run("no filter", func(t *testing.T) {
		fs := list(t, client.ListFlowsOptions{})
		expect(t, fs, []api.FlowName{s.fx.MakerFlow}, []api.FlowName{s.fx.ForeignFlow, s.fx.DeletedFlow, s.fx.SolutionFlow})
		for _, f := range fs {
			if f.Properties.State == api.StateDeleted {
				t.Errorf("flow %s is listed as Deleted in user scope", f.Name)
			}
		}
	})
	// Without the fixtures (a live tenant) the filters still run: the
	// answers must list no flow twice, carry no definition, and the
	// solution-inclusive list must hold every flow of the plain one.
	t.Run("personal", func(t *testing.T) {
		fs := list(t, client.ListFlowsOptions{Filter: client.FilterPersonal})
		expect(t, fs, []api.FlowName{s.fx.PersonalFlow}, []api.FlowName{s.fx.TeamFlow, s.fx.ForeignFlow})
		s.need(t, s.fx.PersonalFlow != "" && s.fx.TeamFlow != "", "personal and team flows")
	})
	t.Run("team", func(t *testing.T) {
		fs := list(t, client.ListFlowsOptions{Filter: client.FilterTeam})
		expect(t, fs, []api.FlowName{s.fx.TeamFlow}, []api.FlowName{s.fx.PersonalFlow, s.fx.ForeignFlow})
		s.need(t, s.fx.PersonalFlow != "" && s.fx.TeamFlow != "", "personal and team flows")
	})
	t.Run("includeSolutionCloudFlows", func(t *testing.T) {
		plain := list(t, client.ListFlowsOptions{})
		fs := list(t, client.ListFlowsOptions{IncludeSolutionFlows: true})
		for _, f := range plain {
			if !hasFlow(fs, f.Name) {
				t.Errorf("flow %s is listed without solution flows but not with them", f.Name)
			}
		}
		expect(t, fs, []api.FlowName{s.fx.SolutionFlow, s.fx.MakerFlow}, []api.FlowName{s.fx.ForeignFlow})
		s.need(t, s.fx.SolutionFlow != "", "solution flow")
	})
}

func (s *suite) adminListFlows(t *testing.T) {
	s.need(t, s.fx.Env != "", "environment")
	a := s.client(t, RoleAdmin)
	list := func(t *testing.T, opts client.AdminListFlowsOptions) []api.Flow {
		t.Helper()
		fs, err := a.AdminListFlows(t.Context(), s.fx.Env, opts)
		if err != nil {
			t.Fatal(err)
		}
		if d := duplicates(flowNames(fs)); len(d) > 0 {
			t.Errorf("flows listed twice: %v", d)
		}
		for _, f := range fs {
			if len(f.Properties.Definition) > 0 || len(f.Properties.ConnectionReferences) > 0 {
				t.Errorf("flow %s is listed with its definition or connection references", f.Name)
			}
		}
		return fs
	}
	var live []api.Flow
	t.Run("without deleted", func(t *testing.T) {
		live = list(t, client.AdminListFlowsOptions{})
		for _, f := range []api.FlowName{s.fx.MakerFlow, s.fx.ForeignFlow, s.fx.SolutionFlow, s.fx.AdminFlow} {
			if f != "" && !hasFlow(live, f) {
				t.Errorf("flow %s is not listed", f)
			}
		}
		for _, f := range live {
			if f.Properties.State == api.StateDeleted {
				t.Errorf("flow %s is listed as Deleted without include=softDeletedFlows", f.Name)
			}
		}
		if s.fx.DeletedFlow != "" && hasFlow(live, s.fx.DeletedFlow) {
			t.Errorf("soft-deleted flow %s is listed without include=softDeletedFlows", s.fx.DeletedFlow)
		}
	})
	t.Run("with deleted", func(t *testing.T) {
		all := list(t, client.AdminListFlowsOptions{IncludeDeleted: true})
		for _, f := range live {
			if !hasFlow(all, f.Name) {
				t.Errorf("flow %s is missing once deleted flows are included", f.Name)
			}
		}
		s.need(t, s.fx.DeletedFlow != "", "soft-deleted flow")
		f, ok := findFlow(all, s.fx.DeletedFlow)
		if !ok {
			t.Fatalf("soft-deleted flow %s is not listed with include=softDeletedFlows", s.fx.DeletedFlow)
		}
		if f.Properties.State != api.StateDeleted {
			t.Errorf("soft-deleted flow state = %q, want %q", f.Properties.State, api.StateDeleted)
		}
	})
}

// refsWithAPIDefinition counts the references that carry an expanded
// apiDefinition.
func refsWithAPIDefinition(f api.Flow) int {
	n := 0
	for _, r := range f.Properties.ConnectionReferences {
		if _, ok := r.Extra["apiDefinition"]; ok {
			n++
		}
	}
	return n
}

func (s *suite) getFlow(t *testing.T) {
	s.need(t, s.fx.Env != "" && s.fx.MakerFlow != "", "environment and maker flow")
	m := s.client(t, RoleMaker)
	f, err := m.GetFlow(t.Context(), s.fx.Env, s.fx.MakerFlow, client.GetFlowOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.EqualFold(string(f.Name), string(s.fx.MakerFlow)) || f.ID == "" || f.Type == "" {
		t.Errorf("flow resource: name %q id %q type %q", f.Name, f.ID, f.Type)
	}
	if def := strings.TrimSpace(string(f.Properties.Definition)); !strings.HasPrefix(def, "{") {
		t.Errorf("definition is not an object: %.100s", def)
	}
	if n := refsWithAPIDefinition(f); n != 0 {
		t.Errorf("%d references carry apiDefinition without $expand", n)
	}
	if s.fx.Maker != "" && (f.Properties.Creator == nil || !strings.EqualFold(string(f.Properties.Creator.ObjectID), string(s.fx.Maker))) {
		t.Errorf("creator %+v, want %s", f.Properties.Creator, s.fx.Maker)
	}

	t.Run("expand apiDefinition", func(t *testing.T) {
		s.need(t, len(f.Properties.ConnectionReferences) > 0, "connection references on flow "+string(s.fx.MakerFlow))
		x, err := m.GetFlow(t.Context(), s.fx.Env, s.fx.MakerFlow, client.GetFlowOptions{ExpandAPIDefinition: true})
		if err != nil {
			t.Fatal(err)
		}
		if n := refsWithAPIDefinition(x); n != len(x.Properties.ConnectionReferences) {
			t.Errorf("%d of %d references carry apiDefinition", n, len(x.Properties.ConnectionReferences))
		}
		sameJSON(t, "definition with and without $expand", f.Properties.Definition, x.Properties.Definition)
	})
}

func (s *suite) adminGetFlow(t *testing.T) {
	s.need(t, s.fx.Env != "" && s.fx.AdminFlow != "", "environment and admin flow")
	a := s.client(t, RoleAdmin)
	bare, err := a.AdminGetFlow(t.Context(), s.fx.Env, s.fx.AdminFlow, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(bare.Properties.Definition) > 0 || len(bare.Properties.ConnectionReferences) > 0 {
		t.Error("definition or references without includeFlowDefinition")
	}
	full, err := a.AdminGetFlow(t.Context(), s.fx.Env, s.fx.AdminFlow, true)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(strings.TrimSpace(string(full.Properties.Definition)), "{") {
		t.Error("no definition with includeFlowDefinition=true")
	}
	if bare.Properties.DisplayName != full.Properties.DisplayName || !strings.EqualFold(string(bare.Name), string(full.Name)) {
		t.Errorf("the two answers name different flows: %q/%q and %q/%q", bare.Name, bare.Properties.DisplayName, full.Name, full.Properties.DisplayName)
	}
}

// paging reads an environment with more flows than a page, through small
// ($top 7) and default (50) pages, and checks every flow comes exactly once.
func (s *suite) paging(t *testing.T) {
	s.need(t, s.fx.PagingEnv != "", "paging environment")
	want := s.fx.PagingFlows
	check := func(t *testing.T, names []string, pages []int, top int) {
		t.Helper()
		if d := duplicates(names); len(d) > 0 {
			t.Errorf("%d flows listed twice, e.g. %s", len(d), d[0])
		}
		for i, n := range pages {
			if n > top {
				t.Errorf("page %d holds %d flows, more than %d", i+1, n, top)
			}
		}
		if want == 0 {
			return
		}
		if len(names) != want {
			t.Errorf("%d flows listed, want %d", len(names), want)
		}
		if wantPages := (want + top - 1) / top; len(pages) != wantPages {
			t.Errorf("%d pages, want %d", len(pages), wantPages)
		}
	}
	collect := func(pagesFn func(fn func([]api.Flow) error) error) ([]string, []int, error) {
		var names []string
		var pages []int
		err := pagesFn(func(fs []api.Flow) error {
			pages = append(pages, len(fs))
			names = append(names, flowNames(fs)...)
			return nil
		})
		return names, pages, err
	}
	var userNames []string
	t.Run("user $top=7", func(t *testing.T) {
		m := s.client(t, RoleMaker)
		names, pages, err := collect(func(fn func([]api.Flow) error) error {
			return m.ListFlowsPages(t.Context(), s.fx.PagingEnv, client.ListFlowsOptions{Top: 7}, fn)
		})
		if err != nil {
			t.Fatal(err)
		}
		check(t, names, pages, 7)
		userNames = names
	})
	t.Run("admin default pages", func(t *testing.T) {
		a := s.client(t, RoleAdmin)
		names, pages, err := collect(func(fn func([]api.Flow) error) error {
			return a.AdminListFlowsPages(t.Context(), s.fx.PagingEnv, client.AdminListFlowsOptions{}, fn)
		})
		if err != nil {
			t.Fatal(err)
		}
		check(t, names, pages, 50)
		if want > 0 && userNames != nil {
			slices.Sort(names)
			if diff := cmp.Diff(userNames, names); diff != "" {
				t.Errorf("admin and user lists differ (-user +admin):\n%s", diff)
			}
		}
	})
	t.Run("admin $top=7", func(t *testing.T) {
		a := s.client(t, RoleAdmin)
		names, pages, err := collect(func(fn func([]api.Flow) error) error {
			return a.AdminListFlowsPages(t.Context(), s.fx.PagingEnv, client.AdminListFlowsOptions{Top: 7}, fn)
		})
		if err != nil {
			t.Fatal(err)
		}
		check(t, names, pages, 7)
	})
	t.Run("stop early", func(t *testing.T) {
		m := s.client(t, RoleMaker)
		stop := errors.New("enough")
		calls := 0
		err := m.ListFlowsPages(t.Context(), s.fx.PagingEnv, client.ListFlowsOptions{Top: 7}, func([]api.Flow) error {
			calls++
			return stop
		})
		if !errors.Is(err, stop) || calls != 1 {
			t.Errorf("callback error: got %v after %d pages, want it unchanged after 1", err, calls)
		}
	})
}

func (s *suite) permissions(t *testing.T) {
	s.need(t, s.fx.Env != "" && s.fx.MakerFlow != "", "environment and maker flow")
	t.Run("owner present", func(t *testing.T) {
		ps, err := s.client(t, RoleMaker).ListPermissions(t.Context(), s.fx.Env, s.fx.MakerFlow, false)
		if err != nil {
			t.Fatal(err)
		}
		owner := false
		for _, p := range ps {
			if p.Properties.RoleName == api.RoleOwner {
				owner = true
				if s.fx.Maker != "" && !strings.EqualFold(string(p.Properties.Principal.ID), string(s.fx.Maker)) {
					t.Errorf("Owner is %s, want the maker %s", p.Properties.Principal.ID, s.fx.Maker)
				}
			}
			if p.Properties.Principal.ID == "" || p.Properties.Principal.Type == "" {
				t.Errorf("permission without principal id or type: %+v", p)
			}
		}
		if !owner {
			t.Errorf("no Owner among %d permissions", len(ps))
		}
	})
	t.Run("owners and run-only users split", func(t *testing.T) {
		s.need(t, s.fx.RunOnlyFlow != "", "flow with run-only users")
		m := s.client(t, RoleMaker)
		ctx := t.Context()
		all, err := m.ListPermissions(ctx, s.fx.Env, s.fx.RunOnlyFlow, false)
		if err != nil {
			t.Fatal(err)
		}
		owners, err := m.ListOwners(ctx, s.fx.Env, s.fx.RunOnlyFlow, false)
		if err != nil {
			t.Fatal(err)
		}
		runOnly, err := m.ListRunOnlyUsers(ctx, s.fx.Env, s.fx.RunOnlyFlow, false)
		if err != nil {
			t.Fatal(err)
		}
		var wantOwners, wantRunOnly []string
		for _, p := range all {
			switch p.Properties.RoleName {
			case api.RoleOwner, api.RoleCanEdit:
				wantOwners = append(wantOwners, permKey(p))
			case api.RoleCanView, api.RoleCanViewWithShare:
				wantRunOnly = append(wantRunOnly, permKey(p))
			default:
				t.Errorf("unexpected role %q", p.Properties.RoleName)
			}
		}
		if len(wantRunOnly) == 0 {
			t.Errorf("flow %s has no run-only user", s.fx.RunOnlyFlow)
		}
		if diff := cmp.Diff(sorted(wantOwners), sorted(permKeys(owners))); diff != "" {
			t.Errorf("ListOwners (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(sorted(wantRunOnly), sorted(permKeys(runOnly))); diff != "" {
			t.Errorf("ListRunOnlyUsers (-want +got):\n%s", diff)
		}
	})
	t.Run("admin scope", func(t *testing.T) {
		flow := s.fx.AdminFlow
		s.need(t, flow != "", "admin flow")
		ps, err := s.client(t, RoleAdmin).ListPermissions(t.Context(), s.fx.Env, flow, true)
		if err != nil {
			t.Fatal(err)
		}
		owners := 0
		for _, p := range ps {
			if p.Properties.RoleName == api.RoleOwner {
				owners++
			}
		}
		if owners != 1 {
			t.Errorf("%d Owners, want 1", owners)
		}
	})
}

func permKey(p api.Permission) string {
	return p.Properties.RoleName + " " + strings.ToLower(string(p.Properties.Principal.ID))
}

func permKeys(ps []api.Permission) []string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		out = append(out, permKey(p))
	}
	return out
}

func sorted(s []string) []string {
	out := append([]string{}, s...)
	slices.Sort(out)
	return out
}

func (s *suite) callbackURL(t *testing.T) {
	s.need(t, s.fx.RequestFlow != "" && s.fx.RequestTrigger != "", "Request-trigger flow")
	got, err := s.client(t, RoleMaker).ListCallbackURL(t.Context(), s.fx.Env, s.fx.RequestFlow, s.fx.RequestTrigger)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(got)
	if err != nil {
		t.Fatalf("callback URL does not parse: %v", err)
	}
	sig := u.Query().Get("sig")
	if u.Scheme != "https" || sig == "" {
		t.Fatalf("callback URL is not https with a sig= value (scheme %q, sig of %d characters)", u.Scheme, len(sig))
	}
	// noSecretsInLogs checks that neither the value nor the whole URL was logged.
	s.secrets.add(sig, "a callback URL's sig= value")
	s.secrets.add(got, "a callback URL")
}

func (s *suite) runsAndTriggers(t *testing.T) {
	s.need(t, s.fx.RunsFlow != "", "flow with runs")
	m := s.client(t, RoleMaker)
	t.Run("runs across pages", func(t *testing.T) {
		var pages []int
		var names []string
		err := m.ListRunsPages(t.Context(), s.fx.Env, s.fx.RunsFlow, client.ListRunsOptions{}, func(rs []api.Run) error {
			pages = append(pages, len(rs))
			for _, r := range rs {
				names = append(names, r.Name)
				if r.Properties.Status == "" || r.Properties.StartTime == "" {
					t.Errorf("run %s without status or start time", r.Name)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if d := duplicates(names); len(d) > 0 {
			t.Errorf("runs listed twice: %v", d)
		}
		if len(pages) < 2 {
			t.Errorf("%d runs came in %d page(s), want more than one page", len(names), len(pages))
		}
		if s.fx.RunsFlowRuns > 0 && len(names) != s.fx.RunsFlowRuns {
			t.Errorf("%d runs, want %d", len(names), s.fx.RunsFlowRuns)
		}
		all, err := m.ListRuns(t.Context(), s.fx.Env, s.fx.RunsFlow, client.ListRunsOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != len(names) {
			t.Errorf("ListRuns returned %d runs, the pages %d", len(all), len(names))
		}
		if s.fx.RunningRun != "" && !hasRun(all, s.fx.RunningRun) {
			t.Errorf("run %s is not listed", s.fx.RunningRun)
		}
	})
	t.Run("get run", func(t *testing.T) {
		s.need(t, s.fx.FinishedRun != "", "finished run")
		ctx := t.Context()
		listed, err := m.ListRuns(ctx, s.fx.Env, s.fx.RunsFlow, client.ListRunsOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var want api.Run
		for _, r := range listed {
			if strings.EqualFold(r.Name, s.fx.FinishedRun) {
				want = r
			}
		}
		if want.Name == "" {
			t.Fatalf("run %s is not listed", s.fx.FinishedRun)
		}
		got, err := m.GetRun(ctx, s.fx.Env, s.fx.RunsFlow, s.fx.FinishedRun, client.GetRunOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.EqualFold(got.Name, want.Name) || got.ID != want.ID || got.Properties.Status != want.Properties.Status ||
			got.Properties.StartTime != want.Properties.StartTime || got.Properties.EndTime != want.Properties.EndTime {
			t.Errorf("GetRun = %s %s %s %s..%s; the list has %s %s %s %s..%s", got.Name, got.ID, got.Properties.Status,
				got.Properties.StartTime, got.Properties.EndTime, want.Name, want.ID, want.Properties.Status,
				want.Properties.StartTime, want.Properties.EndTime)
		}
		if len(got.Properties.Actions) != 0 {
			t.Errorf("GetRun without $expand has %d actions, want none", len(got.Properties.Actions))
		}
		exp, err := m.GetRun(ctx, s.fx.Env, s.fx.RunsFlow, s.fx.FinishedRun, client.GetRunOptions{Actions: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(exp.Properties.Actions) == 0 {
			t.Fatal("GetRun with $expand=properties/actions has no actions")
		}
		for name, a := range exp.Properties.Actions {
			if name == "" || a.Status == "" {
				t.Errorf("action %q has no status: %+v", name, a)
			}
		}
		wantErr(t, func() error {
			_, err := m.GetRun(ctx, s.fx.Env, s.fx.RunsFlow, "08584000000000000000000000000CU00", client.GetRunOptions{})
			return err
		}(), api.ErrRunNotFound)
	})
	t.Run("runs by status", func(t *testing.T) {
		rs, err := m.ListRuns(t.Context(), s.fx.Env, s.fx.RunsFlow, client.ListRunsOptions{Status: "Succeeded"})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			if r.Properties.Status != "Succeeded" {
				t.Errorf("run %s has status %q in a Succeeded filter", r.Name, r.Properties.Status)
			}
		}
	})
	t.Run("triggers", func(t *testing.T) {
		ts, err := m.ListTriggers(t.Context(), s.fx.Env, s.fx.RunsFlow)
		if err != nil {
			t.Fatal(err)
		}
		if len(ts) == 0 {
			t.Fatal("no triggers")
		}
		found := s.fx.RunsTrigger == ""
		for _, tr := range ts {
			if tr.Name == "" || tr.ID == "" {
				t.Errorf("trigger without name or id: %+v", tr)
			}
			if strings.EqualFold(tr.Name, s.fx.RunsTrigger) {
				found = true
			}
		}
		if !found {
			t.Errorf("trigger %s is not listed", s.fx.RunsTrigger)
		}
	})
}

func hasRun(rs []api.Run, name string) bool {
	for _, r := range rs {
		if strings.EqualFold(r.Name, name) {
			return true
		}
	}
	return false
}

func (s *suite) connectors(t *testing.T) {
	s.need(t, s.fx.Env != "", "environment")
	m := s.client(t, RoleMaker)
	cs, err := m.ListConnectors(t.Context(), s.fx.Env)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) == 0 {
		t.Fatal("no connectors listed")
	}
	for _, want := range []api.APIName{s.fx.Connector, s.fx.OAuthConnector} {
		found := want == ""
		for _, c := range cs {
			if strings.EqualFold(string(c.Name), string(want)) {
				found = true
			}
		}
		if !found {
			t.Errorf("connector %s is not listed among %d", want, len(cs))
		}
	}
	name := s.fx.Connector
	if name == "" {
		name = cs[0].Name
	}
	c, err := m.GetConnector(t.Context(), s.fx.Env, name)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.EqualFold(string(c.Name), string(name)) || c.Properties.DisplayName == "" {
		t.Errorf("GetConnector(%s) = name %q, display name %q", name, c.Name, c.Properties.DisplayName)
	}
	_, err = m.GetConnector(t.Context(), s.fx.Env, "shared_flowsync-5fno-20such-20connector-5f0000")
	wantErr(t, err, api.ErrConnectorNotFound)
	s.need(t, s.fx.Connector != "" && s.fx.OAuthConnector != "", "connectors with and without OAuth")
}

func (s *suite) connections(t *testing.T) {
	s.need(t, s.fx.Env != "", "environment")
	mine, err := s.client(t, RoleMaker).ListConnections(t.Context(), s.fx.Env)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range mine {
		if c.Name == "" || c.Properties.APIID == "" {
			t.Errorf("connection without name or apiId: %+v", c)
		}
	}
	t.Run("admin", func(t *testing.T) {
		all, err := s.client(t, RoleAdmin).AdminListConnections(t.Context(), s.fx.Env)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range mine {
			if _, ok := findConnection(all, c.Name); !ok {
				t.Errorf("the maker's connection %s is not in the admin list", c.Name)
			}
		}
	})
	t.Run("fixture connection", func(t *testing.T) {
		s.need(t, s.fx.Connection != "", "connection")
		c, ok := findConnection(mine, s.fx.Connection)
		if !ok {
			t.Fatalf("connection %s is not among the maker's %d", s.fx.Connection, len(mine))
		}
		if !strings.HasSuffix(strings.ToLower(c.Properties.APIID), "/apis/"+strings.ToLower(string(s.fx.Connector))) {
			t.Errorf("apiId %q does not name connector %s", c.Properties.APIID, s.fx.Connector)
		}
		if len(c.Properties.Statuses) == 0 || c.Properties.Statuses[0].Status != "Connected" {
			t.Errorf("statuses %+v, want Connected", c.Properties.Statuses)
		}
	})
}

func findConnection(cs []api.Connection, name api.ConnectionName) (api.Connection, bool) {
	for _, c := range cs {
		if strings.EqualFold(string(c.Name), string(name)) {
			return c, true
		}
	}
	return api.Connection{}, false
}

// unknownEnv is an environment no tenant has.
const unknownEnv api.EnvName = "00000000-0000-4000-8000-00000000dead"

// accessErrors checks CONTRACT decisions 2 and 3 through the client's
// sentinels.
func (s *suite) accessErrors(t *testing.T) {
	s.need(t, s.fx.Env != "", "environment")
	tests := []struct {
		name    string
		role    Role
		foreign bool // the case needs Fixtures.ForeignFlow
		call    func(t *testing.T, c *client.Client) error
		want    error
	}{
		{"app token on a user-scope path", RoleApp, false, func(t *testing.T, c *client.Client) error {
			_, err := c.ListFlows(t.Context(), s.fx.Env, client.ListFlowsOptions{})
			return err
		}, api.ErrForbidden},
		{"non-admin user on an admin path", RoleMaker, false, func(t *testing.T, c *client.Client) error {
			_, err := c.AdminListFlows(t.Context(), s.fx.Env, client.AdminListFlowsOptions{})
			return err
		}, api.ErrForbidden},
		{"non-admin user on the BAP admin path", RoleMaker, false, func(t *testing.T, c *client.Client) error {
			_, err := c.AdminListEnvironments(t.Context())
			return err
		}, api.ErrForbidden},
		{"unknown environment, user", RoleMaker, false, func(t *testing.T, c *client.Client) error {
			_, err := c.ListFlows(t.Context(), unknownEnv, client.ListFlowsOptions{})
			return err
		}, api.ErrEnvironmentNotFound},
		{"unknown environment, admin", RoleAdmin, false, func(t *testing.T, c *client.Client) error {
			_, err := c.AdminListFlows(t.Context(), unknownEnv, client.AdminListFlowsOptions{})
			return err
		}, api.ErrEnvironmentNotFound},
		{"another maker's flow", RoleMaker, true, func(t *testing.T, c *client.Client) error {
			_, err := c.GetFlow(t.Context(), s.fx.Env, s.fx.ForeignFlow, client.GetFlowOptions{})
			return err
		}, api.ErrFlowNotFound},
		{"another maker's flow's permissions", RoleMaker, true, func(t *testing.T, c *client.Client) error {
			_, err := c.ListPermissions(t.Context(), s.fx.Env, s.fx.ForeignFlow, false)
			return err
		}, api.ErrFlowNotFound},
		{"flow that does not exist, admin", RoleAdmin, false, func(t *testing.T, c *client.Client) error {
			_, err := c.AdminGetFlow(t.Context(), s.fx.Env, "00000000-0000-4000-8000-00000000f10e", false)
			return err
		}, api.ErrFlowNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.foreign {
				s.need(t, s.fx.ForeignFlow != "", "foreign flow")
			}
			err := tt.call(t, s.client(t, tt.role))
			wantErr(t, err, tt.want)
			apiError(t, err) // the sentinel comes from a decoded answer, not a local check
		})
	}
}

// errorShapes checks that the client surfaces both error bodies as
// *api.APIError: the standard one and the double-wrapped one the service
// relays from the Logic Apps backend.
func (s *suite) errorShapes(t *testing.T) {
	t.Run("standard", func(t *testing.T) {
		s.need(t, s.fx.Env != "", "environment")
		_, err := s.client(t, RoleAdmin).AdminGetFlow(t.Context(), s.fx.Env, "00000000-0000-4000-8000-00000000f10e", false)
		ae := apiError(t, err)
		want := api.APIError{Status: 404, Code: api.CodeFlowNotFound}
		if ae.Status != want.Status || ae.Code != want.Code || ae.InnerCode != "" || ae.Message == "" {
			t.Errorf("got status %d code %q inner %q message %q, want %d %s with a message and no inner code",
				ae.Status, ae.Code, ae.InnerCode, ae.Message, want.Status, want.Code)
		}
	})
	t.Run("double-wrapped (unknown trigger)", func(t *testing.T) {
		s.need(t, s.fx.RequestFlow != "", "Request-trigger flow")
		_, err := s.client(t, RoleMaker).ListCallbackURL(t.Context(), s.fx.Env, s.fx.RequestFlow, "No_such_trigger")
		ae := apiError(t, err)
		if ae.Status != 404 || ae.Code != api.CodeARMRequestFailed || ae.InnerCode != "WorkflowTriggerNotFound" || ae.InnerMessage == "" {
			t.Errorf("got status %d code %q inner %q (%q), want 404 %s/WorkflowTriggerNotFound",
				ae.Status, ae.Code, ae.InnerCode, ae.InnerMessage, api.CodeARMRequestFailed)
		}
	})
	t.Run("double-wrapped (missing run)", func(t *testing.T) {
		s.needWrites(t) // a POST, although it changes nothing
		s.need(t, s.fx.RunsFlow != "", "flow with runs")
		m := s.client(t, RoleMaker)
		const missing = "08584000000000000000000000000CU00"
		for _, c := range []struct {
			name string
			call func() error
		}{
			{"cancel", func() error { return m.CancelRun(t.Context(), s.fx.Env, s.fx.RunsFlow, missing) }},
			{"resubmit", func() error { return m.ResubmitRun(t.Context(), s.fx.Env, s.fx.RunsFlow, s.fx.RunsTrigger, missing) }},
		} {
			name, err := c.name, c.call()
			wantErr(t, err, api.ErrRunNotFound)
			ae := apiError(t, err)
			if ae.Status != 404 || ae.Code != api.CodeARMRequestFailed || ae.InnerCode != api.CodeWorkflowRunNotFound {
				t.Errorf("%s: got status %d code %q inner %q, want 404 %s/%s",
					name, ae.Status, ae.Code, ae.InnerCode, api.CodeARMRequestFailed, api.CodeWorkflowRunNotFound)
			}
		}
	})
}
