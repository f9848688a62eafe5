package conformance

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/client"
)

// principals checks LookupPrincipals (Microsoft Graph getByIds, not in
// CONTRACT.md's table): known principals come back with their type and
// name, unknown ids are simply absent, non-GUIDs are refused before any
// call, and long lists go in batches of client.MaxLookupBatch.
func (s *suite) principals(t *testing.T) {
	s.need(t, s.fx.Maker != "" && s.fx.Grantee != "" && s.fx.Group != "", "maker, grantee and group principals")
	m := s.client(t, RoleMaker)
	ctx := t.Context()
	const unknown api.PrincipalID = "0badc0de-0000-4000-8000-00000000dead"
	t.Run("known and unknown", func(t *testing.T) {
		ids := []api.PrincipalID{s.fx.Maker, s.fx.Grantee, s.fx.Group, unknown, api.PrincipalID(strings.ToUpper(string(s.fx.Maker)))}
		want := map[api.PrincipalID]string{s.fx.Maker: api.PrincipalUser, s.fx.Grantee: api.PrincipalUser, s.fx.Group: api.PrincipalGroup}
		if s.fx.ServicePrincipal != "" {
			ids = append(ids, s.fx.ServicePrincipal)
			want[s.fx.ServicePrincipal] = api.PrincipalServicePrincipal
		}
		got, err := m.LookupPrincipals(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Errorf("%d principals found, want %d: %v", len(got), len(want), got)
		}
		for id, typ := range want {
			p, ok := got[id]
			switch {
			case !ok:
				t.Errorf("principal %s not found", id)
			case p.Type != typ || p.DisplayName == "" || !strings.EqualFold(string(p.ID), string(id)):
				t.Errorf("principal %s = %+v, want type %s, its id and a display name", id, p, typ)
			}
		}
		if _, ok := got[unknown]; ok {
			t.Errorf("unknown id %s was found", unknown)
		}
	})
	t.Run("not an object id", func(t *testing.T) {
		_, err := m.LookupPrincipals(ctx, []api.PrincipalID{s.fx.Maker, "alice@example.com"})
		if err == nil || !strings.Contains(err.Error(), `"alice@example.com" is not an object id`) {
			t.Errorf("error %v, want one naming the id that is not a GUID", err)
		}
	})
	t.Run("batches", func(t *testing.T) {
		var calls atomic.Int32
		c := s.newClient(t, RoleMaker, func(cfg *client.Config) {
			base := http.DefaultTransport
			if cfg.HTTPClient != nil && cfg.HTTPClient.Transport != nil {
				base = cfg.HTTPClient.Transport
			}
			hc := http.Client{Transport: pathCounter{next: base, path: "/directoryObjects/getByIds", n: &calls}}
			cfg.HTTPClient = &hc
		})
		ids := []api.PrincipalID{s.fx.Grantee}
		for i := range 2 * client.MaxLookupBatch {
			ids = append(ids, api.PrincipalID(fmt.Sprintf("0badc0de-0000-4000-8000-%012x", i)))
		}
		got, err := c.LookupPrincipals(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[s.fx.Grantee].Type != api.PrincipalUser {
			t.Errorf("found %v, want only the grantee", got)
		}
		if n := calls.Load(); n != 3 {
			t.Errorf("%d ids took %d getByIds calls, want 3 (batches of %d)", len(ids), n, client.MaxLookupBatch)
		}
	})
	if s.tg.Live {
		return
	}
	t.Run("audience", func(t *testing.T) {
		// A token for the Flow service is refused by Graph, as by the real one.
		c := s.newClient(t, RoleMaker, func(cfg *client.Config) {
			ep := cfg.Endpoints
			ep.GraphScope = ep.FlowScope
			cfg.Endpoints = ep
		})
		_, err := c.LookupPrincipals(ctx, []api.PrincipalID{s.fx.Maker})
		if ae := apiError(t, err); ae.Status != http.StatusUnauthorized || ae.Code != api.CodeInvalidAuthenticationToken {
			t.Errorf("Flow token on Graph: %v, want 401 InvalidAuthenticationToken", err)
		}
	})
}

// pathCounter counts requests whose path ends with path.
type pathCounter struct {
	next http.RoundTripper
	path string
	n    *atomic.Int32
}

func (c pathCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, c.path) {
		c.n.Add(1)
	}
	return c.next.RoundTrip(r)
}
