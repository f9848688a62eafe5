package client

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flowsync/flowsync/internal/api"
)

func flowNames(fs []api.Flow) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = string(f.Name)
	}
	return out
}

// TestPagingThreePages follows nextLink and @odata.nextLink verbatim: the
// second and third requests carry exactly the query the links name.
func TestPagingThreePages(t *testing.T) {
	s := newStub(t, testAuth)
	page2 := s.srv.URL + flowsPath + "?api-version=2016-11-01&$skiptoken=eyJhIjoxfQ%3D%3D&$top=2"
	page3 := s.srv.URL + flowsPath + "?$skiptoken=second%2Bpage&api-version=2016-11-01"
	s.add(
		&route{method: "GET", path: flowsPath, query: withQuery("$top", "2"), resp: `{"value":[` + flowsJSON("a", "b") + `],"nextLink":"` + page2 + `"}`},
		&route{method: "GET", path: flowsPath, anyQuery: true, rawQuery: "api-version=2016-11-01&$skiptoken=eyJhIjoxfQ%3D%3D&$top=2",
			resp: `{"value":[` + flowsJSON("c", "d") + `],"@odata.nextLink":"` + page3 + `"}`},
		&route{method: "GET", path: flowsPath, anyQuery: true, rawQuery: "$skiptoken=second%2Bpage&api-version=2016-11-01",
			resp: `{"value":[` + flowsJSON("e") + `]}`},
	)
	c, rec := newTestClient(t, s)
	var sizes []int
	err := c.ListFlowsPages(context.Background(), testEnv, ListFlowsOptions{Top: 2}, func(fs []api.Flow) error {
		sizes = append(sizes, len(fs))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int{2, 2, 1}, sizes); diff != "" {
		t.Errorf("page sizes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]bool{false, false, false}, rec.waits); diff != "" {
		t.Errorf("pacer waits (-want +got):\n%s", diff)
	}

	// The collecting form sees the same items in order.
	s.add(
		&route{method: "GET", path: flowsPath, query: av(), resp: `{"value":[` + flowsJSON("a") + `],"nextLink":"` + page2 + `"}`},
		&route{method: "GET", path: flowsPath, anyQuery: true, rawQuery: "api-version=2016-11-01&$skiptoken=eyJhIjoxfQ%3D%3D&$top=2", resp: `{"value":[` + flowsJSON("b") + `]}`},
	)
	all, err := c.ListFlows(context.Background(), testEnv, ListFlowsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a", "b"}, flowNames(all)); diff != "" {
		t.Errorf("flows (-want +got):\n%s", diff)
	}
}

func TestPagingCallbackErrorStops(t *testing.T) {
	s := newStub(t, testAuth)
	s.add(&route{method: "GET", path: admEnv + "/v2/flows", query: av(),
		resp: `{"value":[` + flowsJSON("a") + `],"nextLink":"` + s.srv.URL + admEnv + `/v2/flows?api-version=2016-11-01&$skiptoken=x"}`})
	c, _ := newTestClient(t, s)
	stop := errors.New("enough")
	err := c.AdminListFlowsPages(context.Background(), testEnv, AdminListFlowsOptions{}, func([]api.Flow) error { return stop })
	if err != stop {
		t.Errorf("error = %v, want the callback's error unchanged", err)
	}
}

// TestPagingSecondHost: a nextLink to another configured host gets that
// host's token scope.
func TestPagingSecondHost(t *testing.T) {
	flowSrv := newStub(t, "Bearer tok-for-flow")
	paSrv := newStub(t, "Bearer tok-for-pa")
	flowSrv.add(&route{method: "GET", path: flowsPath, query: av(),
		resp: `{"value":[` + flowsJSON("a") + `],"nextLink":"` + paSrv.srv.URL + `/elsewhere/flows?api-version=2016-11-01&$skiptoken=p2"}`})
	paSrv.add(&route{method: "GET", path: "/elsewhere/flows", query: withQuery("$skiptoken", "p2"),
		resp: `{"value":[` + flowsJSON("b") + `],"nextLink":"` + flowSrv.srv.URL + flowsPath + `?api-version=2016-11-01&$skiptoken=p3"}`})
	flowSrv.add(&route{method: "GET", path: flowsPath, query: withQuery("$skiptoken", "p3"), resp: `{"value":[` + flowsJSON("c") + `]}`})

	c, _ := newTestClient(t, flowSrv, func(cfg *Config) {
		cfg.Endpoints = Endpoints{Flow: flowSrv.srv.URL, PowerApps: paSrv.srv.URL, BAP: flowSrv.srv.URL, FlowScope: "flow-scope", PowerAppsScope: "pa-scope"}
		cfg.Tokens = TokenFunc(func(_ context.Context, scope string) (string, error) {
			return map[string]string{"flow-scope": "tok-for-flow", "pa-scope": "tok-for-pa"}[scope], nil
		})
	})
	all, err := c.ListFlows(context.Background(), testEnv, ListFlowsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a", "b", "c"}, flowNames(all)); diff != "" {
		t.Errorf("flows (-want +got):\n%s", diff)
	}
}

func TestPagingLoop(t *testing.T) {
	s := newStub(t, testAuth)
	first := s.srv.URL + flowsPath + "?api-version=2016-11-01&$skiptoken=1"
	second := s.srv.URL + flowsPath + "?api-version=2016-11-01&$skiptoken=2"
	s.add(
		&route{method: "GET", path: flowsPath, query: av(), resp: `{"value":[],"nextLink":"` + first + `"}`},
		&route{method: "GET", path: flowsPath, query: withQuery("$skiptoken", "1"), resp: `{"value":[],"nextLink":"` + second + `"}`},
		&route{method: "GET", path: flowsPath, query: withQuery("$skiptoken", "2"), resp: `{"value":[],"nextLink":"` + first + `"}`},
	)
	c, _ := newTestClient(t, s)
	_, err := c.ListFlows(context.Background(), testEnv, ListFlowsOptions{})
	if err == nil || !strings.Contains(err.Error(), "list flows in env Default-t1: page 4: nextLink loop") {
		t.Errorf("error = %v, want a nextLink loop error", err)
	}
}

// TestPagingRefusesForeignHosts: no token leaves for a host that is neither
// configured nor a Microsoft service host, nor over plain http.
func TestPagingRefusesForeignHosts(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("token sent to an unconfigured host: %s %s", r.Method, r.URL)
	}))
	t.Cleanup(other.Close)
	tests := []struct {
		name, link, want string
	}{
		{"foreign https host", "https://collector.example.net/steal?x=1", "refusing to send a token to host collector.example.net"},
		{"unconfigured loopback", other.URL + "/x", "refusing to send a token over \"http\" to " + strings.TrimPrefix(other.URL, "http://")},
		{"microsoft host over http", "http://api.flow.microsoft.com/x", `refusing to send a token over "http" to api.flow.microsoft.com`},
		{"lookalike domain", "https://api.flow.notmicrosoft.com/x", "refusing to send a token to host api.flow.notmicrosoft.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStub(t, testAuth, &route{method: "GET", path: flowsPath, query: av(), resp: `{"value":[],"nextLink":"` + tt.link + `"}`})
			c, _ := newTestClient(t, s)
			_, err := c.ListFlows(context.Background(), testEnv, ListFlowsOptions{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestCheckURLAndScopeFor(t *testing.T) {
	c, err := New(Config{
		Endpoints: Endpoints{Flow: "http://127.0.0.1:8080", PowerApps: "https://pa.test:9443/prefix", BAP: "https://api.bap.microsoft.com",
			FlowScope: "fs", PowerAppsScope: "ps"},
		Tokens: StaticToken("t"),
	})
	if err != nil {
		t.Fatal(err)
	}
	allowed := []string{
		"http://127.0.0.1:8080/x", "https://127.0.0.1:8080/x", "https://pa.test:9443/other",
		"https://api.flow.microsoft.com/x", "https://europe.api.flow.microsoft.com/x", "https://management.azure.com/x",
		"https://gov.api.flow.microsoft.us/x", "https://api.flow.appsplatform.us/x", "https://api.powerapps.cn/x",
		"https://api.bap.partner.microsoftonline.cn/x", "https://API.Flow.Microsoft.COM./x", "https://api.powerapps.com:443/x",
	}
	refused := []string{
		"http://127.0.0.1:8081/x", "http://pa.test:9443/x", "https://pa.test/x", "https://evilmicrosoft.com/x",
		"https://api.flow.microsoft.com:8443/x", "https://management.azure.com.example/x", "ftp://api.flow.microsoft.com/x",
		"https://azure.com/x",
	}
	for _, s := range allowed {
		u, _ := url.Parse(s)
		if err := c.checkURL(u); err != nil {
			t.Errorf("checkURL(%s) = %v, want allowed", s, err)
		}
	}
	for _, s := range refused {
		u, _ := url.Parse(s)
		if err := c.checkURL(u); err == nil {
			t.Errorf("checkURL(%s) allowed, want refused", s)
		}
	}

	scopes := []struct{ next, prev, prevScope, want string }{
		{"http://127.0.0.1:8080/b", "http://127.0.0.1:8080/a", "ps", "ps"}, // same host keeps the scope
		{"https://pa.test:9443/b", "http://127.0.0.1:8080/a", "fs", "ps"},  // configured PowerApps host
		{"https://api.bap.microsoft.com/b", "https://pa.test:9443/a", "ps", "ps"},
		{"https://management.azure.com/b", "https://pa.test:9443/a", "ps", "ps"}, // unconfigured: the list's scope
		{"https://management.azure.com/b", "http://127.0.0.1:8080/a", "fs", "fs"},
	}
	for _, tt := range scopes {
		n, _ := url.Parse(tt.next)
		p, _ := url.Parse(tt.prev)
		if got := c.scopeFor(n, p, tt.prevScope); got != tt.want {
			t.Errorf("scopeFor(%s after %s with %s) = %s, want %s", tt.next, tt.prev, tt.prevScope, got, tt.want)
		}
	}
}

func TestWireSafeQuery(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"api-version=1&$skiptoken=a%3D%3D", "api-version=1&$skiptoken=a%3D%3D"},
		{"$filter=environment eq 'x'", "$filter=environment%20eq%20'x'"},
		{" a", "%20a"},
		{"a\tb\x7f", "a%09b%7F"},
		{"n=é", "n=%C3%A9"},
	}
	for _, tt := range tests {
		if got := wireSafeQuery(tt.in); got != tt.want {
			t.Errorf("wireSafeQuery(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestPagingLinkWithSpaces: a link written with literal spaces still reaches
// the server as the query its author meant.
func TestPagingLinkWithSpaces(t *testing.T) {
	s := newStub(t, testAuth)
	s.add(
		&route{method: "GET", path: paPath + "/connections", query: withQuery("$filter", "environment eq 'Default-t1'"),
			resp: `{"value":[],"nextLink":"` + s.srv.URL + paPath + `/connections?api-version=2016-11-01&$filter=environment eq 'Default-t1'&$skiptoken=2"}`},
		&route{method: "GET", path: paPath + "/connections", query: withQuery("$filter", "environment eq 'Default-t1'", "$skiptoken", "2"),
			rawQuery: "api-version=2016-11-01&$filter=environment%20eq%20'Default-t1'&$skiptoken=2", resp: `{"value":[]}`},
	)
	c, _ := newTestClient(t, s)
	if _, err := c.ListConnections(context.Background(), testEnv); err != nil {
		t.Fatal(err)
	}
}
