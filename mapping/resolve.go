package mapping

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/flowsync/flowsync/diff"
	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/model"
)

// Inventory is what the target environment has, as the caller read it.
type Inventory struct {
	Connectors  []api.Connector
	Connections []api.Connection
	// Principals are the principals that exist in the target directory.
	// nil means the directory was not read: principals are then not
	// checked (an apply fails on an unknown one with PrincipalNotFound).
	Principals map[api.PrincipalID]api.Principal
	// SameEnv is set when the flows come from the target environment itself.
	SameEnv bool
}

// How values of diff.ConnectionChange.
const (
	HowByConnection = "byConnection"
	HowByConnector  = "byConnector"
	HowAuto         = "auto"
	HowSame         = "same"
)

// StatusConnected is the connection status that allows a binding.
const StatusConnected = "Connected"

// Connected reports whether a connection can be used: it has statuses and
// every one is Connected. A connection in error, unauthenticated (an OAuth
// connection nobody signed in to) or without a status is never chosen.
// Uncertain: CONTRACT.md shows one status per connection; the real service
// may list several (one per target), so all must be Connected.
func Connected(c api.Connection) bool {
	if len(c.Properties.Statuses) == 0 {
		return false
	}
	for _, s := range c.Properties.Statuses {
		if s.Status != StatusConnected {
			return false
		}
	}
	return true
}

// ConnectorOf returns the connector a connection belongs to: the last
// segment of its apiId (/providers/Microsoft.PowerApps/apis/<api>).
func ConnectorOf(c api.Connection) api.APIName {
	id := strings.TrimRight(c.Properties.APIID, "/")
	return api.APIName(id[strings.LastIndex(id, "/")+1:])
}

func statusText(c api.Connection) string {
	var ss []string
	for _, s := range c.Properties.Statuses {
		t := s.Status
		if s.Error != nil && s.Error.Code != "" {
			t += " (" + s.Error.Code + ")"
		}
		ss = append(ss, t)
	}
	if len(ss) == 0 {
		return "no status"
	}
	return strings.Join(ss, ", ")
}

// Resolution is how every reference of the resolved flows is bound and how
// principals map. It is read-only once built.
type Resolution struct {
	bindings   map[model.Key][]diff.ConnectionChange
	principals map[string]api.PrincipalID // lower-case source id -> target id
}

var _ diff.Bindings = (*Resolution)(nil)

// inventory indexes an Inventory, case-insensitively as the service compares names.
type inventory struct {
	Inventory
	connectors  map[string]bool
	connections map[string]api.Connection
	byConnector map[string][]api.Connection // connector -> connections, sorted by name
	principals  map[string]bool
}

func indexInventory(inv Inventory) *inventory {
	ix := &inventory{Inventory: inv, connectors: map[string]bool{}, connections: map[string]api.Connection{},
		byConnector: map[string][]api.Connection{}}
	for _, c := range inv.Connectors {
		ix.connectors[strings.ToLower(string(c.Name))] = true
	}
	for _, c := range inv.Connections {
		ix.connections[strings.ToLower(string(c.Name))] = c
		k := strings.ToLower(string(ConnectorOf(c)))
		ix.byConnector[k] = append(ix.byConnector[k], c)
	}
	for _, cs := range ix.byConnector {
		slices.SortFunc(cs, func(a, b api.Connection) int { return strings.Compare(string(a.Name), string(b.Name)) })
	}
	if inv.Principals != nil {
		ix.principals = map[string]bool{}
		for id := range inv.Principals {
			ix.principals[strings.ToLower(string(id))] = true
		}
	}
	return ix
}

func (ix *inventory) connection(n api.ConnectionName) (api.Connection, bool) {
	c, ok := ix.connections[strings.ToLower(string(n))]
	return c, ok
}

func (ix *inventory) hasConnector(a api.APIName) bool {
	return ix.connectors[strings.ToLower(string(a))]
}

// connectedOf returns the Connected connections of a connector, and how
// many it has in all.
func (ix *inventory) connectedOf(a api.APIName) (ok []api.Connection, all int) {
	cs := ix.byConnector[strings.ToLower(string(a))]
	for _, c := range cs {
		if Connected(c) {
			ok = append(ok, c)
		}
	}
	return ok, len(cs)
}

func (ix *inventory) principalExists(id api.PrincipalID) bool {
	return ix.principals == nil || ix.principals[strings.ToLower(string(id))]
}

// Resolve validates f against the inventory and binds every connection
// reference of flows, returning the resolution and every problem found (the
// file's entries, then each flow's references and principals). Problems
// about a line of the file carry file:line in Where; problems about a flow
// carry the flow and its file in the tree.
func Resolve(f *File, flows []model.Flow, inv Inventory) (*Resolution, []diff.Problem) {
	if f == nil {
		f = &File{}
	}
	ix := indexInventory(inv)
	var probs []diff.Problem
	at := func(line int) string { return f.Name + ":" + strconv.Itoa(line) }
	fileProblem := func(code string, line int, format string, args ...any) {
		probs = append(probs, diff.Problem{Code: code, Where: at(line), Message: fmt.Sprintf(format, args...)})
	}
	// checkTarget validates a connection an entry names; want is the
	// connector it must belong to ("" when the entry does not say).
	checkTarget := func(line int, entry string, to api.ConnectionName, want api.APIName) {
		c, ok := ix.connection(to)
		switch {
		case !ok:
			fileProblem(CodeUnknownConnection, line, "%s: the target has no connection %s: list its connections and use one of their names", entry, strconv.Quote(string(to)))
		case !Connected(c):
			fileProblem(CodeConnectionNotConnected, line, "%s: target connection %s is not Connected (%s): sign in to it in the target, or map to another connection", entry, strconv.Quote(string(to)), statusText(c))
		case want != "" && ConnectorOf(c) != "" && !strings.EqualFold(string(ConnectorOf(c)), string(want)):
			fileProblem(CodeConnectorMismatch, line, "%s: target connection %s belongs to connector %s, not %s", entry, strconv.Quote(string(to)), ConnectorOf(c), want)
		}
	}

	byConnector := map[string]ConnectorEntry{}
	for _, e := range f.ByConnector {
		byConnector[strings.ToLower(string(e.API))] = e
		entry := "connections.byConnector." + string(e.API)
		if !ix.hasConnector(e.API) {
			fileProblem(CodeMissingConnector, e.Line, "%s: the target has no connector %s: install or enable it (custom connectors must be created in the target first)", entry, e.API)
			continue
		}
		checkTarget(e.Line, entry, e.Connection, e.API)
	}
	byConnection := map[string]ConnectionEntry{}
	for _, e := range f.ByConnection {
		byConnection[strings.ToLower(string(e.From))] = e
		checkTarget(e.Line, "connections.byConnection."+string(e.From), e.To, "")
	}
	res := &Resolution{bindings: map[model.Key][]diff.ConnectionChange{}, principals: map[string]api.PrincipalID{}}
	for _, e := range f.Principals {
		res.principals[strings.ToLower(string(e.From))] = e.To
		if !ix.principalExists(e.To) {
			fileProblem(CodeUnknownPrincipal, e.Line, "principals.%s: principal %s does not exist in the target directory: use the target's object id of that user, group or service principal", e.From, e.To)
		}
	}

	for _, fl := range sortedFlows(flows) {
		if fl.Meta.State == api.StateDeleted {
			continue // never imported (diff reports it); its references do not matter
		}
		key := fl.Key
		flowProblem := func(code, file, format string, args ...any) {
			probs = append(probs, diff.Problem{Code: code, Flow: &key, Where: treePath(key, file), Message: fmt.Sprintf(format, args...)})
		}
		var bs []diff.ConnectionChange
		for _, r := range fl.Connections {
			b := diff.ConnectionChange{Key: r.Key, API: r.API}
			what := fmt.Sprintf("reference %s (%s) of flow %q", r.Key, r.API, fl.Meta.DisplayName)
			if e, ok := byConnection[strings.ToLower(string(r.Connection))]; ok && r.Connection != "" {
				b.To, b.How = e.To, HowByConnection
				if c, ok := ix.connection(e.To); ok && ConnectorOf(c) != "" && !strings.EqualFold(string(ConnectorOf(c)), string(r.API)) {
					flowProblem(CodeConnectorMismatch, model.ConnectionsFileName, "%s: %s maps source connection %s to %s, a connection of connector %s",
						what, at(e.Line), r.Connection, e.To, ConnectorOf(c))
				}
			} else if e, ok := byConnector[strings.ToLower(string(r.API))]; ok {
				b.To, b.How = e.Connection, HowByConnector
			} else if c, ok := ix.connection(r.Connection); inv.SameEnv && ok && r.Connection != "" {
				b.To, b.How = c.Name, HowSame
				if !Connected(c) {
					flowProblem(CodeConnectionNotConnected, model.ConnectionsFileName, "%s: its connection %s is not Connected (%s): sign in to it, or map the reference in the mapping file",
						what, c.Name, statusText(c))
				}
			} else if !ix.hasConnector(r.API) {
				flowProblem(CodeMissingConnector, model.ConnectionsFileName, "%s: the target has no connector %s: install or enable it in the target (custom connectors must be created there first)", what, r.API)
			} else if ok, all := ix.connectedOf(r.API); len(ok) == 1 {
				b.To, b.How = ok[0].Name, HowAuto
			} else if len(ok) == 0 {
				flowProblem(CodeUnmappedConnection, model.ConnectionsFileName, "%s: the target has no Connected connection of %s (%d in all): create one and sign in, then map it under connections.byConnector.%s",
					what, r.API, all, r.API)
			} else {
				names := make([]string, len(ok))
				for i, c := range ok {
					names[i] = string(c.Name)
				}
				src := ""
				if r.Connection != "" {
					src = fmt.Sprintf(" or connections.byConnection.%s", r.Connection)
				}
				flowProblem(CodeUnmappedConnection, model.ConnectionsFileName, "%s: the target has %d Connected connections of %s (%s): choose one under connections.byConnector.%s%s",
					what, len(ok), r.API, strings.Join(names, ", "), r.API, src)
			}
			bs = append(bs, b)
		}
		slices.SortFunc(bs, func(a, b diff.ConnectionChange) int { return strings.Compare(a.Key, b.Key) })
		res.bindings[key] = bs

		// Tenant permissions (shared with the whole organisation) name the
		// tenant id, which is the same for every environment of a tenant.
		// Uncertain: CONTRACT.md does not say how the service names the
		// principal of a Tenant permission; promotions across tenants are
		// not supported by flowsync and would need such entries mapped.
		seen := map[string]bool{}
		for _, p := range fl.Permissions {
			lp := strings.ToLower(string(p.Principal))
			if p.Type == api.PrincipalTenant || seen[lp] {
				continue
			}
			seen[lp] = true
			if _, mapped := res.principals[lp]; mapped {
				continue // checked at its line
			}
			if !ix.principalExists(p.Principal) {
				flowProblem(CodeUnknownPrincipal, model.PermissionsFileName, "%s %s (%s) of flow %q does not exist in the target directory: map it under principals: in the mapping file",
					p.Type, p.Principal, p.Role, fl.Meta.DisplayName)
			}
		}
	}
	return res, probs
}

func treePath(k model.Key, file string) string {
	return path.Join(model.EnvironmentsDir, string(k.Env), model.FlowsDir, strings.ToLower(string(k.Flow)), file)
}

func sortedFlows(fs []model.Flow) []model.Flow {
	out := slices.Clone(fs)
	slices.SortStableFunc(out, func(a, b model.Flow) int { return a.Key.Compare(b.Key) })
	return out
}

// Connections returns how each reference of the flow with source key key is
// bound, sorted by reference key; a reference left unbound has To empty.
func (r *Resolution) Connections(key model.Key) []diff.ConnectionChange {
	if r == nil {
		return nil
	}
	return slices.Clone(r.bindings[key])
}

// Principal returns the target principal for a source principal.
func (r *Resolution) Principal(id api.PrincipalID) api.PrincipalID {
	if r != nil {
		if to, ok := r.principals[strings.ToLower(string(id))]; ok {
			return to
		}
	}
	return id
}

// Apply returns f in target terms: each bound reference points at its
// target connection, and each principal is mapped. The key stays the
// source's. f is not modified.
func (r *Resolution) Apply(f model.Flow) model.Flow {
	out := f
	bound := map[string]api.ConnectionName{}
	if r != nil {
		for _, b := range r.bindings[f.Key] {
			if b.To != "" {
				bound[b.Key] = b.To
			}
		}
	}
	out.Connections = slices.Clone(f.Connections)
	for i := range out.Connections {
		if to, ok := bound[out.Connections[i].Key]; ok {
			out.Connections[i].Connection = to
		}
	}
	out.Permissions = make([]model.Permission, 0, len(f.Permissions))
	for _, p := range f.Permissions {
		if p.Type != api.PrincipalTenant {
			p.Principal = r.Principal(p.Principal)
		}
		out.Permissions = append(out.Permissions, p)
	}
	model.SortPermissions(out.Permissions)
	// Two source principals mapped to one target principal with one role
	// are one permission.
	out.Permissions = slices.CompactFunc(out.Permissions, func(a, b model.Permission) bool {
		return a.Role == b.Role && strings.EqualFold(string(a.Principal), string(b.Principal))
	})
	if len(out.Permissions) == 0 {
		out.Permissions = nil
	}
	return out
}
