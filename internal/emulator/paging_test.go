package emulator_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/emulator"
)

// manyFlows adds n flows by alice to the dev environment and returns their names.
func manyFlows(snap *emulator.Snapshot, n int) []string {
	var out []string
	for i := range n {
		name := fmt.Sprintf("c%07d-0000-4000-8000-000000000000", i)
		out = append(out, name)
		snap.Flows = append(snap.Flows, emulator.Flow{
			Environment: devEnv, Name: api.FlowName(name), DisplayName: fmt.Sprintf("Flow %d", i), State: "Stopped",
			Creator: aliceID, CreatedTime: t0, LastModifiedTime: t0,
			Definition: definition("Recurrence", ""), ConnectionReferences: refs(),
		})
	}
	return out
}

func nextLinkOf(t *testing.T, r result) string {
	t.Helper()
	s, _ := r.json(t)["nextLink"].(string)
	return s
}

// walk follows nextLinks from first and returns every name in order.
func walk(t *testing.T, e *env, principal, first string) (all []string, pages int) {
	t.Helper()
	tok := e.tok(principal, first)
	link := e.hs.URL + first
	for link != "" {
		r := e.raw("GET", tok, link, nil)
		wantStatus(t, r, 200)
		all = append(all, names(t, r)...)
		pages++
		link = nextLinkOf(t, r)
		if pages > 1000 {
			t.Fatal("nextLink loop")
		}
	}
	return all, pages
}

func TestPagingWalksEveryFlowOnce(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	snap := fixture()
	want := manyFlows(snap, 137)
	if err := e.s.Load(snap); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path string
		pages      int
	}{
		{"$top 25", flowPath(devEnv, "", "?"+v+"&$top=25"), 6},
		{"default 50", flowPath(devEnv, "", "?"+v), 3},
		{"$top 250", flowPath(devEnv, "", "?"+v+"&$top=250"), 1},
		{"$top 1 with filter", flowPath(devEnv, "", "?"+v+"&$top=1&$filter=search('personal')"), 137},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, pages := walk(t, e, aliceID, tc.path)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("walked flows (-want +got):\n%s", diff)
			}
			if pages != tc.pages {
				t.Errorf("pages = %d, want %d", pages, tc.pages)
			}
		})
	}
	t.Run("admin v2", func(t *testing.T) {
		got, _ := walk(t, e, robotID, flowRP+"/scopes/admin/environments/"+devEnv+"/v2/flows?"+v+"&$top=40")
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("walked flows (-want +got):\n%s", diff)
		}
	})
}

func TestNextLinkShape(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	snap := fixture()
	manyFlows(snap, 5)
	if err := e.s.Load(snap); err != nil {
		t.Fatal(err)
	}
	r := e.call("GET", aliceID, flowPath(devEnv, "", "?"+v+"&$top=2&$filter=search('personal')"), nil)
	link := nextLinkOf(t, r)
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Scheme + "://" + u.Host; got != e.hs.URL {
		t.Errorf("nextLink host %s, want %s", got, e.hs.URL)
	}
	q := u.Query()
	for k, want := range map[string]string{"api-version": "2016-11-01", "$top": "2", "$filter": "search('personal')"} {
		if q.Get(k) != want {
			t.Errorf("nextLink %s = %q, want %q", k, q.Get(k), want)
		}
	}
	if q.Get("$skiptoken") == "" {
		t.Errorf("nextLink has no $skiptoken: %s", link)
	}
}

func TestSkipTokenIsChecked(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	snap := fixture()
	manyFlows(snap, 5)
	if err := e.s.Load(snap); err != nil {
		t.Fatal(err)
	}
	r := e.call("GET", aliceID, flowPath(devEnv, "", "?"+v+"&$top=2"), nil)
	link := nextLinkOf(t, r)
	u, _ := url.Parse(link)
	tokenValue := u.Query().Get("$skiptoken")
	with := func(mod func(q url.Values)) string {
		q := u.Query()
		mod(q)
		return u.Scheme + "://" + u.Host + u.Path + "?" + q.Encode()
	}
	tests := []struct {
		name, principal, url string
		status               int
	}{
		{"as given", aliceID, link, 200},
		{"tampered", aliceID, with(func(q url.Values) { q.Set("$skiptoken", tokenValue[:len(tokenValue)-2]+"AA") }), 400},
		{"garbage", aliceID, with(func(q url.Values) { q.Set("$skiptoken", "!!!") }), 400},
		{"other query", aliceID, with(func(q url.Values) { q.Set("$top", "3") }), 400},
		{"other caller", bobID, link, 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.raw("GET", e.tok(tc.principal, flowRP), tc.url, nil)
			wantStatus(t, r, tc.status)
		})
	}
}

// TestPagingSurvivesChanges: flows created and deleted between pages
// neither duplicate nor hide the others.
func TestPagingSurvivesChanges(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	snap := fixture()
	want := manyFlows(snap, 10)
	if err := e.s.Load(snap); err != nil {
		t.Fatal(err)
	}
	tok := e.tok(aliceID, flowRP)
	r := e.raw("GET", tok, e.hs.URL+flowPath(devEnv, "", "?"+v+"&$top=4"), nil)
	got := names(t, r)
	// Delete one already seen and one not yet seen; create one.
	wantStatus(t, e.call("DELETE", aliceID, flowPath(devEnv, want[1], "?"+v), nil), 200)
	wantStatus(t, e.call("DELETE", aliceID, flowPath(devEnv, want[7], "?"+v), nil), 200)
	wantStatus(t, e.call("POST", aliceID, flowPath(devEnv, "", "?"+v), createBody("Late", "Stopped", definition("Recurrence", ""), refs())), 201)
	link := nextLinkOf(t, r)
	for link != "" {
		r = e.raw("GET", tok, link, nil)
		wantStatus(t, r, 200)
		got = append(got, names(t, r)...)
		link = nextLinkOf(t, r)
	}
	seen := map[string]int{}
	for _, n := range got {
		seen[n]++
	}
	for i, n := range want {
		if i == 7 {
			continue
		}
		if seen[n] != 1 {
			t.Errorf("flow %s seen %d times, want once", n, seen[n])
		}
	}
	if seen[want[7]] != 0 {
		t.Errorf("flow deleted before its page was listed")
	}
}

func TestRunsPaging(t *testing.T) {
	e := newEnv(t, emulator.Options{})
	got, pages := walk(t, e, aliceID, flowPath(defaultEnv, flowAlice, "/runs?"+v))
	if len(got) != 60 || pages != 2 {
		t.Errorf("runs = %d in %d pages, want 60 in 2", len(got), pages)
	}
	for i := 1; i < len(got); i++ {
		if strings.Compare(got[i-1], got[i]) <= 0 {
			t.Fatalf("runs not newest first at %d: %s then %s", i, got[i-1], got[i])
		}
	}
	// Filters.
	since := t0.Add(-9*time.Hour - time.Minute).Format(time.RFC3339)
	r := e.call("GET", aliceID, flowPath(defaultEnv, flowAlice, "/runs?"+v+"&$filter="+url.QueryEscape("status eq 'Succeeded' and startTime ge "+since)), nil)
	wantStatus(t, r, 200)
	if n := len(names(t, r)); n != 9 {
		t.Errorf("filtered runs = %d, want 9", n)
	}
}

func TestConnectionsPaging(t *testing.T) {
	e := newEnv(t, emulator.Options{PageSize: 2})
	got, pages := walk(t, e, robotID, paRP+"/scopes/admin/environments/"+defaultEnv+"/connections?"+v)
	if diff := cmp.Diff([]string{connO365, connRSS, connSPO}, got); diff != "" {
		t.Errorf("connections (-want +got):\n%s", diff)
	}
	if pages != 2 {
		t.Errorf("pages = %d, want 2", pages)
	}
}
