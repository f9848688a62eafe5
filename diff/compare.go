package diff

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/canon"
	"github.com/flowsync/flowsync/internal/model"
	"github.com/flowsync/flowsync/internal/secrets"
	"github.com/google/go-cmp/cmp"
)

// CompareOptions tune Compare.
type CompareOptions struct {
	// Strict compares every stored field as it is: two states of one
	// environment (an export against the previous tree). Without it the
	// import rules apply: fields the service sets (creator, times, workflow
	// entity id, trigger kind, suspension reason) are not compared, an
	// Owner is desired as CanEdit, the target's Owner and Keep are never
	// removed, placeholders equal whatever the target holds, and the state
	// follows State.
	Strict bool
	// Keep is the importing identity, never removed.
	Keep api.PrincipalID
	// State is the state mode ("" is StateSource).
	State StateMode
	// Secrets are values supplied for the desired flow's placeholders; they
	// win over the target's current values.
	Secrets secrets.Values
	// Bindings, when set, give the How of connection changes.
	Bindings []ConnectionChange
}

// Comparison is what Compare found.
type Comparison struct {
	// Parts is what differs (for a create, actual nil: what will be set).
	Parts Parts
	// Desired is the desired flow as it must be written: placeholders
	// replaced by supplied values or by the target's current values, and
	// the state the mode asks for. It may hold secrets: never render it.
	Desired model.Flow
	// Unresolved are the paths of placeholders left without a value (a
	// create, or a spot the target does not have).
	Unresolved []string
}

// Compare says how actual must change to become desired. actual nil means
// the flow does not exist in the target (a create).
func Compare(desired model.Flow, actual *model.Flow, opts CompareOptions) Comparison {
	c := Comparison{Desired: cloneFlow(desired)}
	d := &c.Desired
	if !opts.Strict {
		c.Unresolved = resolveFlow(d, actual, opts.Secrets)
		d.Meta.State = desiredState(desired.Meta.State, actual, opts.State)
	}
	var a model.Flow
	if actual != nil {
		a = *actual
	}
	p := &c.Parts
	p.Meta = metaDiff(a.Meta, d.Meta, opts.Strict, actual == nil)
	switch {
	case actual == nil:
		p.Definition = []string{""}
	default:
		p.Definition = definitionPaths(a.Definition, d.Definition)
	}
	p.Connections = connectionChanges(a.Connections, d.Connections, opts.Bindings)
	if opts.Strict {
		p.Owners, p.RunOnly = strictDelta(a.Permissions, d.Permissions)
	} else {
		p.Owners, p.RunOnly = permissionDelta(a.Permissions, d.Permissions, opts.Keep, actual == nil)
	}
	if d.Meta.State != "" && (actual == nil || a.Meta.State != d.Meta.State) {
		p.State = &StateChange{From: a.Meta.State, To: d.Meta.State}
	}
	return c
}

func cloneFlow(f model.Flow) model.Flow {
	out := f
	out.Definition = slices.Clone(f.Definition)
	out.Connections = slices.Clone(f.Connections)
	out.Permissions = slices.Clone(f.Permissions)
	if f.Meta.Extra != nil {
		out.Meta.Extra = make(map[string]json.RawMessage, len(f.Meta.Extra))
		for k, v := range f.Meta.Extra {
			out.Meta.Extra[k] = slices.Clone(v)
		}
	}
	return out
}

// desiredState applies the state mode. "" means the state is not managed
// (a source without a state).
func desiredState(source string, actual *model.Flow, mode StateMode) string {
	switch mode {
	case StateOn:
		return api.StateStarted
	case StateOff:
		return api.StateStopped
	case StatePreserve:
		if actual != nil && actual.Meta.State != api.StateDeleted {
			return actual.Meta.State
		}
		return api.StateStopped
	}
	if source == api.StateSuspended {
		return api.StateStopped
	}
	return source
}

// importIgnored are the flow.json fields an import does not compare: the
// service sets them (creator from the caller, times, the Dataverse id, the
// suspension reason) or derives them (triggerKind). State is reported in
// Parts.State and isManaged as a problem.
var importIgnored = map[string]bool{
	"creator": true, "createdTime": true, "lastModifiedTime": true, "workflowEntityId": true,
	"triggerKind": true, "flowSuspensionReason": true, "state": true, "isManaged": true,
	// An import sends displayName, state, definition and references only
	// (model.Flow.ToAPI): these cannot be written, so comparing them would
	// leave a difference no import can remove.
	"templateName": true, "flowFailureAlertSubscribed": true, "provisioningMethod": true,
}

// metaDiff names the Meta fields that differ by their flow.json names; for a
// create, the fields that will be set.
func metaDiff(a, b model.Meta, strict, create bool) []string {
	var out []string
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	t := va.Type()
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name == "extra" || name == "state" || (!strict && importIgnored[name]) {
			continue
		}
		fa, fb := va.Field(i).Interface(), vb.Field(i).Interface()
		if create {
			if !vb.Field(i).IsZero() {
				out = append(out, name)
			}
			continue
		}
		if !cmp.Equal(fa, fb) {
			out = append(out, name)
		}
	}
	if !strict {
		return out // unknown properties cannot be written by an import either
	}
	return append(out, extraDiff("extra.", a.Extra, b.Extra)...)
}

func extraDiff(prefix string, a, b map[string]json.RawMessage) []string {
	var out []string
	for k, vb := range b {
		if va, ok := a[k]; !ok || !jsonEqual(va, vb) {
			out = append(out, prefix+k)
		}
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			out = append(out, prefix+k)
		}
	}
	slices.Sort(out)
	return out
}

// jsonEqual compares JSON values by meaning in canonical form, so that a
// value read back from an indented file equals one normalized from the service.
func jsonEqual(a, b json.RawMessage) bool {
	if bytes.Equal(a, b) {
		return true
	}
	ca, errA := canon.Canonicalize(a)
	cb, errB := canon.Canonicalize(b)
	if errA != nil || errB != nil {
		return false
	}
	return bytes.Equal(ca, cb)
}

// definitionPaths lists where two definitions differ, as paths named the
// way the secrets package names them; "" is the whole document (one side
// missing or unparsable, or different types at the root).
func definitionPaths(a, b json.RawMessage) []string {
	if jsonEqual(a, b) {
		return nil
	}
	if len(a) == 0 || len(b) == 0 {
		return []string{""}
	}
	va, errA := canon.Parse(a)
	vb, errB := canon.Parse(b)
	if errA != nil || errB != nil {
		return []string{""}
	}
	var out []string
	valuePaths(va, vb, "", &out)
	slices.Sort(out)
	return out
}

func valuePaths(a, b *canon.Value, path string, out *[]string) {
	if a.Kind != b.Kind {
		*out = append(*out, path)
		return
	}
	switch a.Kind {
	case canon.Object:
		for _, m := range a.Members {
			if bv := b.Get(m.Key); bv != nil {
				valuePaths(m.Value, bv, joinPath(path, m.Key), out)
			} else {
				*out = append(*out, joinPath(path, m.Key))
			}
		}
		for _, m := range b.Members {
			if a.Get(m.Key) == nil {
				*out = append(*out, joinPath(path, m.Key))
			}
		}
	case canon.Array:
		if len(a.Elems) != len(b.Elems) {
			*out = append(*out, path)
			return
		}
		for i := range a.Elems {
			valuePaths(a.Elems[i], b.Elems[i], path+"["+strconv.Itoa(i)+"]", out)
		}
	default:
		if a.Str != b.Str || a.Bool != b.Bool {
			*out = append(*out, path)
		}
	}
}

// joinPath adds an object key to a path. Keys are escaped as the secrets
// package escapes them (the characters that structure paths and
// placeholders, and control characters, percent-encoded), so a definition
// path in a plan and a placeholder's path name a spot the same way.
func joinPath(path, key string) string {
	seg := escapeSegment(key)
	if path == "" {
		return seg
	}
	return path + "." + seg
}

func escapeSegment(key string) string {
	needs := func(c byte) bool {
		switch c {
		case '.', '[', ']', '#', '<', '>', '%', '&', '"', '\'', '\\':
			return true
		}
		return c < 0x20 || c == 0x7f
	}
	var sb strings.Builder
	for i := 0; i < len(key); i++ {
		c := key[i]
		if needs(c) {
			sb.WriteByte('%')
			sb.WriteByte("0123456789ABCDEF"[c>>4])
			sb.WriteByte("0123456789ABCDEF"[c&15])
			continue
		}
		sb.WriteByte(c)
	}
	return sb.String()
}

// connectionChanges lists the references whose binding or content changes:
// added and changed ones with their new connection, removed ones with To
// empty. How comes from bindings, by reference key.
func connectionChanges(a, b []model.ConnectionRef, bindings []ConnectionChange) []ConnectionChange {
	how := map[string]string{}
	for _, bc := range bindings {
		how[bc.Key] = bc.How
	}
	ma := map[string]model.ConnectionRef{}
	for _, c := range a {
		ma[c.Key] = c
	}
	mb := map[string]bool{}
	var out []ConnectionChange
	for _, cb := range b {
		mb[cb.Key] = true
		ca, ok := ma[cb.Key]
		if ok && refEqual(ca, cb) {
			continue
		}
		out = append(out, ConnectionChange{Key: cb.Key, API: cb.API, From: ca.Connection, To: cb.Connection, How: how[cb.Key]})
	}
	for _, ca := range a {
		if !mb[ca.Key] {
			out = append(out, ConnectionChange{Key: ca.Key, API: ca.API, From: ca.Connection})
		}
	}
	slices.SortFunc(out, func(x, y ConnectionChange) int { return strings.Compare(x.Key, y.Key) })
	return out
}

func refEqual(a, b model.ConnectionRef) bool {
	if a.API != b.API || a.Source != b.Source || a.LogicalName != b.LogicalName ||
		!strings.EqualFold(string(a.Connection), string(b.Connection)) || a.Tier != b.Tier || a.DisplayName != b.DisplayName {
		return false
	}
	if len(a.Extra) != len(b.Extra) {
		return false
	}
	for k, va := range a.Extra {
		if vb, ok := b.Extra[k]; !ok || !jsonEqual(va, vb) {
			return false
		}
	}
	return true
}

// permissionDelta applies the import rules: the source's Owner is desired as
// CanEdit (only a flow's creator is its Owner, and an import creates it as
// the importing identity); a desired CanEdit is met by the target's Owner;
// the target's Owner and keep are never removed. A principal whose role
// changes appears once, in Add of its new role's group, and not in Remove:
// a grant replaces the principal's role (Uncertain: CONTRACT.md does not
// say whether modifyPermissions replaces or adds a second role; the
// emulator keeps one role per principal).
func permissionDelta(actual, desired []model.Permission, keep api.PrincipalID, create bool) (owners, runOnly PrincipalDelta) {
	type held struct{ roles []string }
	has := map[string]*held{}
	for _, p := range actual {
		k := strings.ToLower(string(p.Principal))
		if has[k] == nil {
			has[k] = &held{}
		}
		has[k].roles = append(has[k].roles, p.Role)
	}
	want := map[string]bool{}
	add := func(p model.Permission) {
		if isOwnerRole(p.Role) {
			owners.Add = append(owners.Add, p)
		} else {
			runOnly.Add = append(runOnly.Add, p)
		}
	}
	for _, p := range desired {
		k := strings.ToLower(string(p.Principal))
		want[k] = true
		if p.Role == api.RoleOwner {
			p.Role = api.RoleCanEdit
		}
		if create && keep != "" && samePrincipal(p.Principal, keep) {
			continue // the importing identity is the new flow's Owner
		}
		h := has[k]
		switch {
		case h == nil:
			add(p)
		case slices.Contains(h.roles, p.Role):
		case p.Role == api.RoleCanEdit && slices.Contains(h.roles, api.RoleOwner):
		default:
			add(p)
		}
	}
	for _, p := range actual {
		k := strings.ToLower(string(p.Principal))
		if want[k] || p.Role == api.RoleOwner || (keep != "" && samePrincipal(p.Principal, keep)) {
			continue
		}
		if isOwnerRole(p.Role) {
			owners.Remove = append(owners.Remove, p)
		} else {
			runOnly.Remove = append(runOnly.Remove, p)
		}
	}
	for _, d := range []*PrincipalDelta{&owners, &runOnly} {
		model.SortPermissions(d.Add)
		model.SortPermissions(d.Remove)
	}
	return owners, runOnly
}

func isOwnerRole(role string) bool { return role == api.RoleOwner || role == api.RoleCanEdit }

// strictDelta is the plain set difference, for two states of one
// environment, split into owners (Owner, CanEdit) and the rest (run-only
// users, and roles flowsync does not know, so that no change is lost).
func strictDelta(a, b []model.Permission) (owners, others PrincipalDelta) {
	key := func(p model.Permission) string {
		return strings.ToLower(string(p.Principal)) + "\x00" + p.Role + "\x00" + p.Type
	}
	in := func(ps []model.Permission) map[string]bool {
		m := map[string]bool{}
		for _, p := range ps {
			m[key(p)] = true
		}
		return m
	}
	group := func(p model.Permission) *PrincipalDelta {
		if isOwnerRole(p.Role) {
			return &owners
		}
		return &others
	}
	ina, inb := in(a), in(b)
	for _, p := range b {
		if !ina[key(p)] {
			g := group(p)
			g.Add = append(g.Add, p)
		}
	}
	for _, p := range a {
		if !inb[key(p)] {
			g := group(p)
			g.Remove = append(g.Remove, p)
		}
	}
	for _, d := range []*PrincipalDelta{&owners, &others} {
		model.SortPermissions(d.Add)
		model.SortPermissions(d.Remove)
	}
	return owners, others
}
