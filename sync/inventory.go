package sync

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/flowsync/flowsync/diff"
	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/auth"
	"github.com/flowsync/flowsync/internal/model"
	"github.com/flowsync/flowsync/mapping"
)

// liveInventory reads what the mapping is validated against: the target's
// connectors and connections, and which of the principals the source flows
// name (after the mapping file's principal map) exist in the directory.
// The warning, when not nil, belongs in the plan.
func (e *Engine) liveInventory(ctx context.Context, env api.EnvName, mf *mapping.File, src []model.Flow) (mapping.Inventory, *diff.Problem, error) {
	var inv mapping.Inventory
	var err error
	if inv.Connectors, err = e.Live.Connectors(ctx, env); err != nil {
		return inv, nil, err
	}
	if inv.Connections, err = e.Live.Connections(ctx, env); err != nil {
		return inv, nil, err
	}
	ids := principalIDs(mf, src)
	inv.Principals = map[api.PrincipalID]api.Principal{}
	if len(ids) > 0 {
		found, err := e.Live.Client.LookupPrincipals(ctx, ids)
		var ae *api.APIError
		switch {
		case errors.As(err, &ae) && (ae.Status == http.StatusForbidden || ae.Status == http.StatusUnauthorized):
			// Uncertain: a delegated user may lack Directory.Read.All on
			// Graph. Then the principals are not checked before the apply
			// (nil Principals; an unknown one fails that flow with
			// PrincipalNotFound) and the plan says so.
			inv.Principals = nil
			warn := diff.Problem{Code: CodePrincipalsNotChecked, Message: fmt.Sprintf(
				"the directory could not be read (%d %s): principals are not checked before the import; grant the identity Directory.Read.All on Microsoft Graph to check them", ae.Status, ae.Code)}
			return inv, &warn, nil
		case errors.Is(err, auth.ErrMissingSetting):
			// No token for Graph at all (--auth token without
			// FLOWSYNC_GRAPH_TOKEN): the same as a refused directory, and
			// the warning says which setting would check them.
			inv.Principals = nil
			warn := diff.Problem{Code: CodePrincipalsNotChecked, Message: fmt.Sprintf(
				"principals are not checked before the import: %v", err)}
			return inv, &warn, nil
		case err != nil:
			return inv, nil, fmt.Errorf("look up %d principal(s) in the directory: %w", len(ids), err)
		}
		inv.Principals = found
	}
	return inv, nil, nil
}

// CodePrincipalsNotChecked is the plan warning for a directory that could
// not be read.
const CodePrincipalsNotChecked = "principals-not-checked"

// principalIDs are the target principals an import would grant: each
// source principal through the mapping file, or itself.
func principalIDs(mf *mapping.File, src []model.Flow) []api.PrincipalID {
	mapped := map[api.PrincipalID]api.PrincipalID{}
	for _, pe := range mf.Principals {
		mapped[pe.From] = pe.To
	}
	seen := map[api.PrincipalID]bool{}
	for _, f := range src {
		for _, p := range f.Permissions {
			if p.Type == api.PrincipalTenant {
				continue // everyone in the tenant: not a directory object
			}
			id := p.Principal
			if to, ok := mapped[id]; ok {
				id = to
			}
			seen[id] = true
		}
	}
	// Every target the mapping file names is checked too, whether or not
	// a selected flow uses it.
	for _, pe := range mf.Principals {
		seen[pe.To] = true
	}
	out := make([]api.PrincipalID, 0, len(seen))
	for id := range seen {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// treeInventory stands in for a live inventory when the target is a tree:
// the connectors and connections its flows reference (taken as
// Connected: a tree does not record connection health) and the principals
// its flows name.
func treeInventory(fs []model.Flow) mapping.Inventory {
	inv := mapping.Inventory{Principals: map[api.PrincipalID]api.Principal{}}
	apis := map[api.APIName]bool{}
	conns := map[api.ConnectionName]bool{}
	for _, f := range fs {
		for _, c := range f.Connections {
			if !apis[c.API] {
				apis[c.API] = true
				inv.Connectors = append(inv.Connectors, api.Connector{Name: c.API})
			}
			if c.Connection != "" && !conns[c.Connection] {
				conns[c.Connection] = true
				inv.Connections = append(inv.Connections, api.Connection{
					Name: c.Connection,
					Properties: api.ConnectionProperties{
						APIID:    "/providers/Microsoft.PowerApps/apis/" + string(c.API),
						Statuses: []api.ConnectionStatus{{Status: "Connected"}},
					},
				})
			}
		}
		for _, p := range f.Permissions {
			inv.Principals[p.Principal] = api.Principal{ID: p.Principal, Type: p.Type}
		}
	}
	return inv
}
