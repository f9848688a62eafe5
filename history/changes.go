package history

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/model"
	"github.com/flowsync/flowsync/repo"
)

// Kind names one sort of change to a flow. The values are part of the JSON
// output (docs/HISTORY.md).
type Kind string

// The kinds, in the order a FlowChange lists them.
const (
	Created      Kind = "created"      // the flow appeared in the environment
	Restored     Kind = "restored"     // it was in the recycle bin and is back
	Renamed      Kind = "renamed"      // its display name changed
	Definition   Kind = "definition"   // its definition changed
	References   Kind = "references"   // its connection references changed
	Owners       Kind = "owners"       // Owner or CanEdit entries changed
	RunOnlyUsers Kind = "runOnlyUsers" // CanView or CanViewWithShare entries changed
	State        Kind = "state"        // Started, Stopped, Suspended
	Properties   Kind = "properties"   // other flow.json fields
	Deleted      Kind = "deleted"      // to the recycle bin, or gone
	Unreadable   Kind = "unreadable"   // a stored file could not be parsed
)

var kindOrder = []Kind{Created, Restored, Renamed, Definition, References, Owners, RunOnlyUsers, State, Properties, Deleted, Unreadable}

// How a flow was deleted.
const (
	// DeletedToRecycleBin: the backup recorded the flow as soft-deleted
	// (state Deleted); the service can restore it within its retention.
	DeletedToRecycleBin = "recycleBin"
	// DeletedGone: the flow is no longer in the environment's listing.
	DeletedGone = "gone"
)

// FlowChange is how one flow differs from the commit's first parent.
type FlowChange struct {
	Flow api.FlowName `json:"flow"`
	// DisplayName is the name after the change (before it, for a flow
	// that is gone).
	DisplayName string `json:"displayName"`
	Changes     []Kind `json:"changes"`
	// FormerName is the display name before a rename.
	FormerName string `json:"formerDisplayName,omitempty"`
	// Definition names the parts of the definition that changed: top-level
	// members, and actions.<name> / triggers.<name> for actions and
	// triggers (an action nested in a scope shows as its top-level scope).
	Definition []string `json:"definition,omitempty"`
	// References are the connection reference keys added, removed or changed.
	References   []string     `json:"references,omitempty"`
	Owners       *Delta       `json:"owners,omitempty"`
	RunOnlyUsers *Delta       `json:"runOnlyUsers,omitempty"`
	State        *StateChange `json:"state,omitempty"`
	// Properties names other flow.json fields that changed (extra.<name>
	// for unknown properties).
	Properties []string `json:"properties,omitempty"`
	// Deletion is DeletedToRecycleBin or DeletedGone for a deleted flow.
	Deletion string `json:"deletion,omitempty"`
	// Error says why a stored file could not be read (Unreadable).
	Error string `json:"error,omitempty"`
}

// Has reports whether the change includes kind k.
func (c FlowChange) Has(k Kind) bool { return slices.Contains(c.Changes, k) }

// Delta is the permissions added and removed in one group of roles.
type Delta struct {
	Added   []model.Permission `json:"added,omitempty"`
	Removed []model.Permission `json:"removed,omitempty"`
}

// StateChange is a flow's state before and after ("" when absent).
type StateChange struct {
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
}

// EnvChange is a change to the environment's own record.
type EnvChange struct {
	// Added: the environment's first commit in this history.
	Added bool `json:"added,omitempty"`
	// Fields of environment.json that changed (when not Added).
	Fields []string `json:"fields,omitempty"`
}

// diffEnv compares env between two trees (old may be the empty tree). only,
// when set, limits the flows compared to that one. It returns nil flows and
// nil env change when env did not change.
func diffEnv(ctx context.Context, s Store, old, cur *repo.Tree, env api.EnvName, only api.FlowName) ([]FlowChange, *EnvChange, error) {
	dir, err := model.EnvDir(env)
	if err != nil {
		return nil, nil, err
	}
	ho, err := old.SubtreeHash(dir)
	if err != nil {
		return nil, nil, err
	}
	hc, err := cur.SubtreeHash(dir)
	if err != nil {
		return nil, nil, err
	}
	if ho == hc {
		return nil, nil, nil
	}
	var ec *EnvChange
	if only == "" {
		if ec, err = diffEnvRecord(ctx, s, old, cur, env); err != nil {
			return nil, nil, err
		}
	}
	fo, err := flowDirs(old, env)
	if err != nil {
		return nil, nil, err
	}
	fc, err := flowDirs(cur, env)
	if err != nil {
		return nil, nil, err
	}
	var out []FlowChange
	for _, n := range unionKeys(fc, fo) {
		if only != "" && n != only {
			continue
		}
		if fo[n] == fc[n] {
			continue
		}
		ch, err := diffFlow(ctx, s, old, cur, env, n, fo[n], fc[n])
		if err != nil {
			return nil, nil, err
		}
		out = append(out, ch)
	}
	slices.SortFunc(out, func(a, b FlowChange) int {
		return cmpNames(a.DisplayName, a.Flow, b.DisplayName, b.Flow)
	})
	return out, ec, nil
}

// cmpNames orders flows as the environment's README does: by display name
// ignoring case, then exactly, then by GUID.
func cmpNames(an string, af api.FlowName, bn string, bf api.FlowName) int {
	if c := strings.Compare(strings.ToLower(an), strings.ToLower(bn)); c != 0 {
		return c
	}
	if c := strings.Compare(an, bn); c != 0 {
		return c
	}
	return strings.Compare(string(af), string(bf))
}

func diffEnvRecord(ctx context.Context, s Store, old, cur *repo.Tree, env api.EnvName) (*EnvChange, error) {
	eo, okO, err := readEnvironment(ctx, s, old, env)
	if err != nil {
		return nil, err
	}
	ec, okC, err := readEnvironment(ctx, s, cur, env)
	if err != nil {
		return nil, err
	}
	switch {
	case !okO && okC:
		return &EnvChange{Added: true}, nil
	case okO && okC:
		fields, err := jsonFieldDiff(eo, ec)
		if err != nil || len(fields) == 0 {
			return nil, err
		}
		return &EnvChange{Fields: fields}, nil
	}
	return nil, nil
}

// diffFlow says how flow n differs between the trees; a file that cannot be
// parsed makes the change Unreadable rather than failing the whole log.
func diffFlow(ctx context.Context, s Store, old, cur *repo.Tree, env api.EnvName, n api.FlowName, ho, hc plumbing.Hash) (FlowChange, error) {
	ch := FlowChange{Flow: n}
	var fo, fc *model.Flow
	var perr []string
	if !ho.IsZero() {
		f, err := readFlow(ctx, s, old, env, n)
		if err != nil {
			if ctx.Err() != nil {
				return ch, ctx.Err()
			}
			perr = append(perr, "before: "+err.Error())
		}
		fo = f
	}
	if !hc.IsZero() {
		f, err := readFlow(ctx, s, cur, env, n)
		if err != nil {
			if ctx.Err() != nil {
				return ch, ctx.Err()
			}
			perr = append(perr, "after: "+err.Error())
		}
		fc = f
	}
	if len(perr) > 0 {
		ch.Changes = []Kind{Unreadable}
		ch.Error = strings.Join(perr, "; ")
		if fc != nil {
			ch.DisplayName = fc.Meta.DisplayName
		} else if fo != nil {
			ch.DisplayName = fo.Meta.DisplayName
		}
		return ch, nil
	}
	classify(&ch, fo, fc)
	return ch, nil
}

// classify fills ch from the flow before (nil: absent) and after (nil: gone).
func classify(ch *FlowChange, old, cur *model.Flow) {
	add := func(k Kind) {
		if !ch.Has(k) {
			ch.Changes = append(ch.Changes, k)
		}
	}
	defer func() {
		slices.SortFunc(ch.Changes, func(a, b Kind) int {
			return slices.Index(kindOrder, a) - slices.Index(kindOrder, b)
		})
	}()
	switch {
	case cur == nil:
		ch.DisplayName = old.Meta.DisplayName
		add(Deleted)
		ch.Deletion = DeletedGone
		if old.Meta.State == api.StateDeleted {
			// Was in the recycle bin; now past retention (or restored
			// elsewhere): gone for good.
			ch.State = &StateChange{From: old.Meta.State}
		}
		return
	case old == nil:
		ch.DisplayName = cur.Meta.DisplayName
		if cur.Meta.State == api.StateDeleted {
			// First seen already deleted: a record of a flow deleted
			// before it was ever backed up.
			add(Deleted)
			ch.Deletion = DeletedToRecycleBin
			return
		}
		add(Created)
		return
	}
	ch.DisplayName = cur.Meta.DisplayName
	if old.Meta.DisplayName != cur.Meta.DisplayName {
		add(Renamed)
		ch.FormerName = old.Meta.DisplayName
	}
	wasDeleted, isDeleted := old.Meta.State == api.StateDeleted, cur.Meta.State == api.StateDeleted
	switch {
	case isDeleted && !wasDeleted:
		add(Deleted)
		ch.Deletion = DeletedToRecycleBin
		ch.State = &StateChange{From: old.Meta.State, To: cur.Meta.State}
		// A soft-deleted flow keeps its last definition; nothing else
		// is news.
		return
	case wasDeleted && !isDeleted:
		add(Restored)
		ch.State = &StateChange{From: old.Meta.State, To: cur.Meta.State}
	case old.Meta.State != cur.Meta.State:
		add(State)
		ch.State = &StateChange{From: old.Meta.State, To: cur.Meta.State}
	}
	// A record (flow.json alone) has no definition to compare.
	if old.Definition != nil && cur.Definition != nil {
		if ch.Definition = definitionParts(old.Definition, cur.Definition); len(ch.Definition) > 0 {
			add(Definition)
		}
		if ch.References = referenceKeys(old.Connections, cur.Connections); len(ch.References) > 0 {
			add(References)
		}
		if ch.Owners = permDelta(old.Owners(), cur.Owners()); ch.Owners != nil {
			add(Owners)
		}
		if ch.RunOnlyUsers = permDelta(old.RunOnlyUsers(), cur.RunOnlyUsers()); ch.RunOnlyUsers != nil {
			add(RunOnlyUsers)
		}
	} else if cur.Definition != nil {
		// The backup now has the definition a record lacked.
		add(Definition)
	}
	props, _ := jsonFieldDiff(old.Meta, cur.Meta)
	props = slices.DeleteFunc(props, func(p string) bool {
		switch p {
		case "displayName", "state":
			return true // reported as Renamed and State
		case "triggerKind":
			return ch.Has(Definition) // derived from the definition
		}
		return false
	})
	// lastModifiedTime moves on every save: news only when nothing else
	// explains the commit.
	if len(ch.Changes) > 0 || len(props) > 1 {
		props = slices.DeleteFunc(props, func(p string) bool { return p == "lastModifiedTime" })
	}
	if len(props) > 0 {
		ch.Properties = props
		add(Properties)
	}
}

// definitionParts names the parts of two canonical definitions that differ.
func definitionParts(a, b json.RawMessage) []string {
	if bytes.Equal(a, b) {
		return nil
	}
	ma, errA := members(a)
	mb, errB := members(b)
	if errA != nil || errB != nil {
		return []string{"(whole definition)"}
	}
	var out []string
	for _, k := range unionKeys(ma, mb) {
		va, vb := ma[k], mb[k]
		if bytes.Equal(va, vb) {
			continue
		}
		if k == "actions" || k == "triggers" {
			na, errA := membersOrEmpty(va)
			nb, errB := membersOrEmpty(vb)
			if errA == nil && errB == nil {
				for _, n := range unionKeys(na, nb) {
					if !bytes.Equal(na[n], nb[n]) {
						out = append(out, k+"."+n)
					}
				}
				continue
			}
		}
		out = append(out, k)
	}
	return out
}

func members(raw json.RawMessage) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, fmt.Errorf("not an object")
	}
	return m, nil
}

func membersOrEmpty(raw json.RawMessage) (map[string]json.RawMessage, error) {
	if raw == nil {
		return map[string]json.RawMessage{}, nil
	}
	return members(raw)
}

// unionKeys returns the keys of a and b, sorted, each once.
func unionKeys[K cmp.Ordered, V any](a, b map[K]V) []K {
	keys := slices.Collect(maps.Keys(a))
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// referenceKeys names the connection references added, removed or changed.
func referenceKeys(a, b []model.ConnectionRef) []string {
	ma := map[string][]byte{}
	mb := map[string][]byte{}
	for _, c := range a {
		ma[c.Key], _ = json.Marshal(c)
	}
	for _, c := range b {
		mb[c.Key], _ = json.Marshal(c)
	}
	var out []string
	for k, v := range ma {
		if w, ok := mb[k]; !ok || !bytes.Equal(v, w) {
			out = append(out, k)
		}
	}
	for k := range mb {
		if _, ok := ma[k]; !ok {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// permDelta is nil when both lists hold the same entries.
func permDelta(a, b []model.Permission) *Delta {
	var d Delta
	for _, p := range b {
		if !slices.Contains(a, p) {
			d.Added = append(d.Added, p)
		}
	}
	for _, p := range a {
		if !slices.Contains(b, p) {
			d.Removed = append(d.Removed, p)
		}
	}
	if d.Added == nil && d.Removed == nil {
		return nil
	}
	return &d
}

// jsonFieldDiff names the JSON members that differ between two values of
// the same struct type, with "extra" opened up as extra.<name>.
func jsonFieldDiff(a, b any) ([]string, error) {
	ja, err := json.Marshal(a)
	if err != nil {
		return nil, err
	}
	jb, err := json.Marshal(b)
	if err != nil {
		return nil, err
	}
	ma, err := members(ja)
	if err != nil {
		return nil, err
	}
	mb, err := members(jb)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, k := range unionKeys(ma, mb) {
		if bytes.Equal(ma[k], mb[k]) {
			continue
		}
		if k == "extra" {
			ea, _ := membersOrEmpty(ma[k])
			eb, _ := membersOrEmpty(mb[k])
			for _, n := range unionKeys(ea, eb) {
				if !bytes.Equal(ea[n], eb[n]) {
					out = append(out, "extra."+n)
				}
			}
			continue
		}
		out = append(out, k)
	}
	return out, nil
}
