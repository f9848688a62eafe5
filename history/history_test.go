package history

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowsync/flowsync/history/historytest"
	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/model"
	"github.com/flowsync/flowsync/internal/testgit"
	"github.com/flowsync/flowsync/internal/testgolden"
	"github.com/flowsync/flowsync/repo"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/history")

const goldenDir = "../testdata/history"

// fixture builds the history fixture once per test and opens it.
func fixture(t *testing.T) (string, *repo.Repo, []historytest.Step) {
	t.Helper()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "backup")
	steps, err := historytest.Build(ctx, dir, false)
	if err != nil {
		t.Fatal(err)
	}
	r, err := repo.Open(ctx, dir, repo.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return dir, r, steps
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	testgolden.Check(t, filepath.Join(goldenDir, name), got, *update)
}

func TestFixtureIsAValidRepository(t *testing.T) {
	dir, _, steps := fixture(t)
	if out := testgit.Run(t, dir, "fsck", "--strict", "--no-dangling"); len(strings.TrimSpace(out)) > 0 {
		t.Fatalf("git fsck: %s", out)
	}
	if n := len(strings.Fields(string(testgit.Run(t, dir, "rev-list", "main")))); n != len(steps) {
		t.Fatalf("%d commits, want %d", n, len(steps))
	}
	if st := testgit.Run(t, dir, "status", "--porcelain"); len(st) > 0 {
		t.Fatalf("worktree not clean:\n%s", st)
	}
}

func TestLogGolden(t *testing.T) {
	_, r, steps := fixture(t)
	ctx := context.Background()
	tests := []struct {
		name string
		opts LogOptions
	}{
		{"dev", LogOptions{Env: "Contoso Dev"}},
		{"dev-by-name-case", LogOptions{Env: strings.ToUpper(string(historytest.Dev))}},
		{"dev-since", LogOptions{Env: string(historytest.Dev), Since: steps[5].Time}},
		{"dev-limit", LogOptions{Env: string(historytest.Dev), Limit: 2}},
		{"dev-at-rev", LogOptions{Env: string(historytest.Dev), Rev: "main~5"}},
		{"prod", LogOptions{Env: "contoso production"}},
		{"flow-current-name", LogOptions{Env: string(historytest.Dev), Flow: "Sales report"}},
		{"flow-former-name", LogOptions{Env: string(historytest.Dev), Flow: "Sales report (EU)"}},
		{"flow-guid-upper", LogOptions{Env: string(historytest.Dev), Flow: strings.ToUpper(string(historytest.Nightly))}},
		{"flow-hostile", LogOptions{Env: string(historytest.Dev), Flow: string(historytest.Hostile)}},
		{"flow-record", LogOptions{Env: string(historytest.Dev), Flow: "old cleanup"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := ReadLog(ctx, r, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			var txt, js bytes.Buffer
			if err := RenderLogText(&txt, l); err != nil {
				t.Fatal(err)
			}
			if err := RenderLogJSON(&js, l); err != nil {
				t.Fatal(err)
			}
			golden(t, "log-"+tt.name+".txt", txt.Bytes())
			golden(t, "log-"+tt.name+".json", js.Bytes())
			for _, bad := range []string{"\x1b", "\u202e", "\a", "now\n"} {
				if strings.Contains(txt.String(), bad) {
					t.Errorf("text output holds %q raw:\n%s", bad, txt.String())
				}
			}
		})
	}
}

// TestLogFacts checks what the golden files show, so that an -update that
// breaks the classification cannot pass unnoticed.
func TestLogFacts(t *testing.T) {
	_, r, steps := fixture(t)
	ctx := context.Background()
	l, err := ReadLog(ctx, r, LogOptions{Env: string(historytest.Dev)})
	if err != nil {
		t.Fatal(err)
	}
	var commits []string
	for _, e := range l.Entries {
		commits = append(commits, e.Commit)
	}
	// Steps 3 (links, outside environments/) and 8 (prod only) did not
	// change dev.
	var want []string
	for i := len(steps) - 1; i >= 0; i-- {
		if i != 3 && i != 8 {
			want = append(want, steps[i].Commit.String())
		}
	}
	if diff := cmp.Diff(want, commits); diff != "" {
		t.Fatalf("commits (-want +got):\n%s", diff)
	}
	kinds := func(step int, flow api.FlowName) []Kind {
		for _, e := range l.Entries {
			if e.Commit != steps[step].Commit.String() {
				continue
			}
			for _, c := range e.Flows {
				if c.Flow == flow {
					return c.Changes
				}
			}
		}
		return nil
	}
	checks := []struct {
		step int
		flow api.FlowName
		want []Kind
	}{
		{0, historytest.Invoice, []Kind{Created}},
		{1, historytest.Invoice, []Kind{Definition}},
		{1, historytest.Sales, []Kind{Renamed}},
		{2, historytest.Nightly, []Kind{Owners, RunOnlyUsers}},
		{2, historytest.Hostile, []Kind{State}},
		{4, historytest.Sales, []Kind{Deleted}},
		{4, historytest.Invoice, []Kind{References}},
		{5, historytest.Sales, []Kind{Deleted}},
		{5, historytest.NewSales, []Kind{Created}},
		{6, historytest.Record, []Kind{Deleted}},
		{7, historytest.Record, []Kind{Restored, Definition, Properties}}, // createdTime: the record had none
	}
	for _, c := range checks {
		if diff := cmp.Diff(c.want, kinds(c.step, c.flow)); diff != "" {
			t.Errorf("step %d flow %s (-want +got):\n%s", c.step, c.flow, diff)
		}
	}
	if got := l.Entries[0].Environment; got == nil || !cmp.Equal(got.Fields, []string{"displayName"}) {
		t.Errorf("environment change of the last commit = %+v, want displayName", got)
	}
	if l.EnvDisplayName != "Contoso Dev" {
		t.Errorf("environment display name %q", l.EnvDisplayName)
	}
}

func TestLogFlowNames(t *testing.T) {
	_, r, _ := fixture(t)
	ctx := context.Background()
	tests := []struct {
		spec string
		want api.FlowName
	}{
		{"Sales report", historytest.NewSales},   // its name now wins over a former one
		{"Sales report (EU)", historytest.Sales}, // a former name
		{"sales REPORT (eu)", historytest.Sales}, // ignoring case
		{"Invoice approval", historytest.Invoice},
		{string(historytest.Invoice), historytest.Invoice},
	}
	for _, tt := range tests {
		l, err := ReadLog(ctx, r, LogOptions{Env: string(historytest.Dev), Flow: tt.spec})
		if err != nil {
			t.Errorf("%q: %v", tt.spec, err)
			continue
		}
		if l.Flow != tt.want {
			t.Errorf("%q resolved to %s, want %s", tt.spec, l.Flow, tt.want)
		}
		for _, e := range l.Entries {
			if len(e.Flows) != 1 || e.Flows[0].Flow != tt.want {
				t.Errorf("%q: entry %s lists %+v", tt.spec, e.Commit, e.Flows)
			}
		}
	}
	if _, err := ReadLog(ctx, r, LogOptions{Env: string(historytest.Dev), Flow: "No such flow"}); !errors.Is(err, ErrNoSuchFlow) {
		t.Errorf("unknown name: %v, want ErrNoSuchFlow", err)
	}
	if _, err := ReadLog(ctx, r, LogOptions{Env: "Nowhere at all"}); !errors.Is(err, ErrNoSuchEnv) {
		t.Errorf("unknown environment: %v, want ErrNoSuchEnv", err)
	}
	if _, err := ReadLog(ctx, r, LogOptions{Env: string(historytest.Dev), Rev: "no-such-branch"}); !errors.Is(err, repo.ErrNotFound) {
		t.Errorf("unknown revision: %v, want ErrNotFound", err)
	}
}

func TestMatchFlowAmbiguous(t *testing.T) {
	a, b := api.FlowName("00000000-0000-4000-8000-00000000000a"), api.FlowName("00000000-0000-4000-8000-00000000000b")
	tests := []struct {
		name    string
		current map[api.FlowName]string
		entries []Entry
		spec    string
		want    api.FlowName
		err     error
	}{
		{"two now", map[api.FlowName]string{a: "Same", b: "Same"}, nil, "Same", "", ErrAmbiguous},
		{"exact beats folded", map[api.FlowName]string{a: "Same", b: "same"}, nil, "same", b, nil},
		{"now beats before", map[api.FlowName]string{a: "New"}, []Entry{{Flows: []FlowChange{{Flow: b, DisplayName: "Other", FormerName: "New"}}}}, "New", a, nil},
		{"two before", nil, []Entry{{Flows: []FlowChange{{Flow: a, DisplayName: "X", FormerName: "Old"}, {Flow: b, DisplayName: "Y", FormerName: "Old"}}}}, "Old", "", ErrAmbiguous},
		{"none", map[api.FlowName]string{a: "A"}, nil, "B", "", ErrNoSuchFlow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := matchFlow(tt.spec, "env", tt.current, tt.entries)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				if errors.Is(err, ErrAmbiguous) && (!strings.Contains(err.Error(), string(a)) || !strings.Contains(err.Error(), string(b))) {
					t.Errorf("ambiguity error does not list both flows: %v", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %s, %v; want %s", got, err, tt.want)
			}
		})
	}
}

func TestShowIsByteIdentical(t *testing.T) {
	dir, r, steps := fixture(t)
	ctx := context.Background()
	for i, st := range steps {
		tree, err := r.ReadTree(ctx, st.Commit)
		if err != nil {
			t.Fatal(err)
		}
		dirs, err := flowDirs(tree, historytest.Dev)
		if err != nil {
			t.Fatal(err)
		}
		for flow := range dirs {
			for _, part := range Parts() {
				got, err := Show(ctx, r, ShowOptions{Rev: st.Commit.String(), Env: string(historytest.Dev), Flow: string(flow), Part: part})
				fdir, _ := model.FlowDir(historytest.Dev, flow)
				path := fdir + "/" + partFiles[part]
				if _, lerr := tree.Lookup(path); lerr != nil {
					if err == nil {
						t.Errorf("step %d %s %s: shown though not stored", i, flow, part)
					}
					continue
				}
				if err != nil {
					t.Fatalf("step %d %s %s: %v", i, flow, part, err)
				}
				want := testgit.Run(t, dir, "cat-file", "blob", st.Commit.String()+":"+path)
				if !bytes.Equal(got.Data, []byte(want)) {
					t.Errorf("step %d %s: show differs from git cat-file:\n%s\nwant:\n%s", i, path, got.Data, want)
				}
				if got.Path != path {
					t.Errorf("path %q, want %q", got.Path, path)
				}
			}
		}
	}
}

func TestShow(t *testing.T) {
	_, r, steps := fixture(t)
	ctx := context.Background()
	whole, err := Show(ctx, r, ShowOptions{Env: "Contoso Dev", Flow: "Nightly sync"})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "show-nightly.json", whole.Data)

	// A former name at a revision where the flow is still there.
	got, err := Show(ctx, r, ShowOptions{Rev: steps[2].Commit.String(), Env: string(historytest.Dev), Flow: "Sales report", Part: "flow"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Flow != historytest.Sales || got.DisplayName != "Sales report (EU)" {
		t.Errorf("former name at step 2 showed %s %q", got.Flow, got.DisplayName)
	}

	errs := []struct {
		name string
		opts ShowOptions
		want error
		text string // in the message
	}{
		{"gone at head", ShowOptions{Env: string(historytest.Dev), Flow: "Sales report (EU)"}, ErrNoSuchFlow, "--rev " + steps[5].Commit.String()[:12] + "^"},
		{"record has no definition", ShowOptions{Rev: steps[6].Commit.String(), Env: string(historytest.Dev), Flow: "Old cleanup", Part: "definition"}, ErrNoSuchFlow, "only its record"},
		{"unknown flow", ShowOptions{Env: string(historytest.Dev), Flow: "0b1c2d3e-0000-4000-8000-0000000000ff"}, ErrNoSuchFlow, "or before it"},
		{"unknown env", ShowOptions{Env: "Fabrikam", Flow: "x"}, ErrNoSuchEnv, "Fabrikam"},
		{"not yet created", ShowOptions{Rev: steps[0].Commit.String(), Env: string(historytest.Dev), Flow: string(historytest.NewSales)}, ErrNoSuchFlow, "or before it"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Show(ctx, r, tt.opts)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.text) {
				t.Fatalf("err = %v; want %v mentioning %q", err, tt.want, tt.text)
			}
		})
	}
	if _, err := Show(ctx, r, ShowOptions{Env: string(historytest.Dev), Flow: "Nightly sync", Part: "secrets"}); err == nil || !strings.Contains(err.Error(), "definition") {
		t.Errorf("unknown part: %v", err)
	}
}

func TestAt(t *testing.T) {
	_, r, steps := fixture(t)
	ctx := context.Background()
	tests := []struct {
		name string
		when time.Time
		env  api.EnvName
		want atWant
	}{
		{"exactly a commit", steps[4].Time, historytest.Dev, atWant{step: 4}},
		{"between commits", steps[4].Time.Add(30 * time.Minute), historytest.Dev, atWant{step: 4}},
		// Steps 8 and 3 did not change dev: the backup before them is chosen.
		{"after a prod-only commit", steps[8].Time.Add(time.Minute), historytest.Dev, atWant{step: 7}},
		{"after a links commit", steps[3].Time, historytest.Dev, atWant{step: 2}},
		{"prod", steps[7].Time, historytest.Prod, atWant{step: 0}},
		{"long after", steps[9].Time.Add(1000 * time.Hour), historytest.Dev, atWant{step: 9}},
		{"before the first", steps[0].Time.Add(-time.Second), historytest.Dev, atWant{err: ErrNoCommits}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := At(ctx, r, "", tt.env, tt.when)
			if tt.want.err != nil {
				if !errors.Is(err, tt.want.err) {
					t.Fatalf("err = %v, want %v", err, tt.want.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Hash != steps[tt.want.step].Commit {
				t.Errorf("chose %s, want step %d (%s)", c.Hash, tt.want.step, steps[tt.want.step].Commit)
			}
		})
	}
}

type atWant struct {
	step int
	err  error
}
