package model

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strings"

	"github.com/flowsync/flowsync/internal/canon"
	"github.com/google/go-cmp/cmp"
)

// Action is what a Change does to a flow.
type Action int

// The actions. Delete is a flow present only on the old (live) side: export
// records it as removed; an import calls it extra and deletes it only with
// --prune.
const (
	Unchanged Action = iota
	Create
	Update
	Delete
)

func (a Action) String() string {
	switch a {
	case Unchanged:
		return "unchanged"
	case Create:
		return "create"
	case Update:
		return "update"
	case Delete:
		return "delete"
	}
	return "Action(?)"
}

// Change is the difference between an old and a new state of one flow.
type Change struct {
	Key    Key
	Action Action
	// DisplayName is the new display name, or the old one for Delete.
	DisplayName string
	// Fields name what differs for Update: flow.json fields by their JSON
	// name (displayName, state, extra.<name>), "definition",
	// "connections.<reference key>" and "permissions".
	Fields []string
}

// Pairing is one key with the flow on each side; a side without the flow is nil.
type Pairing struct {
	Key     Key
	Desired *Flow
	Live    *Flow
}

// Pair matches desired and live flows by Key and returns the pairs sorted by
// key. Keys are expected unique on each side (CheckKeys); if one repeats,
// its last flow wins.
func Pair(desired, live []Flow) []Pairing {
	byKey := make(map[Key]*Pairing, len(desired)+len(live))
	get := func(k Key) *Pairing {
		p, ok := byKey[k]
		if !ok {
			p = &Pairing{Key: k}
			byKey[k] = p
		}
		return p
	}
	for i := range desired {
		get(desired[i].Key).Desired = &desired[i]
	}
	for i := range live {
		get(live[i].Key).Live = &live[i]
	}
	out := make([]Pairing, 0, len(byKey))
	for _, p := range byKey {
		out = append(out, *p)
	}
	slices.SortFunc(out, func(a, b Pairing) int { return a.Key.Compare(b.Key) })
	return out
}

// rawJSON compares JSON values by meaning in canonical form, so that a value
// read back from an indented file equals the one normalized from the service.
var rawJSON = cmp.Comparer(rawJSONEqual)

func rawJSONEqual(a, b json.RawMessage) bool {
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

// Compare says how new differs from old, ignoring their keys: Update with
// the differing fields, or Unchanged.
func Compare(old, new Flow) Change {
	ch := Change{Key: new.Key, Action: Unchanged, DisplayName: new.Meta.DisplayName}
	ch.Fields = metaDiff(old.Meta, new.Meta)
	if !rawJSONEqual(old.Definition, new.Definition) {
		ch.Fields = append(ch.Fields, "definition")
	}
	ch.Fields = append(ch.Fields, connectionsDiff(old.Connections, new.Connections)...)
	if !cmp.Equal(sortedPerms(old.Permissions), sortedPerms(new.Permissions)) {
		ch.Fields = append(ch.Fields, "permissions")
	}
	if len(ch.Fields) > 0 {
		ch.Action = Update
	}
	return ch
}

func sortedPerms(ps []Permission) []Permission {
	if len(ps) == 0 {
		return nil
	}
	out := slices.Clone(ps)
	SortPermissions(out)
	return out
}

// metaDiff names the Meta fields that differ by their flow.json names.
func metaDiff(a, b Meta) []string {
	var out []string
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	t := va.Type()
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name == "extra" {
			continue
		}
		if !cmp.Equal(va.Field(i).Interface(), vb.Field(i).Interface()) {
			out = append(out, name)
		}
	}
	return append(out, extraDiff("extra.", a.Extra, b.Extra)...)
}

func extraDiff(prefix string, a, b map[string]json.RawMessage) []string {
	var out []string
	for k, va := range a {
		if vb, ok := b[k]; !ok || !rawJSONEqual(va, vb) {
			out = append(out, prefix+k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			out = append(out, prefix+k)
		}
	}
	slices.Sort(out)
	return out
}

// connectionsDiff names the references that were added, removed or changed.
func connectionsDiff(a, b []ConnectionRef) []string {
	byKey := func(cs []ConnectionRef) map[string]ConnectionRef {
		m := make(map[string]ConnectionRef, len(cs))
		for _, c := range cs {
			m[c.Key] = c
		}
		return m
	}
	ma, mb := byKey(a), byKey(b)
	var out []string
	for k, ca := range ma {
		if cb, ok := mb[k]; !ok || !cmp.Equal(ca, cb, rawJSON, emptyMapsEqual) {
			out = append(out, "connections."+k)
		}
	}
	for k := range mb {
		if _, ok := ma[k]; !ok {
			out = append(out, "connections."+k)
		}
	}
	slices.Sort(out)
	return out
}

// emptyMapsEqual treats a nil and an empty Extra alike.
var emptyMapsEqual = cmp.FilterValues(func(a, b map[string]json.RawMessage) bool {
	return len(a) == 0 && len(b) == 0
}, cmp.Comparer(func(a, b map[string]json.RawMessage) bool { return true }))

// Diff compares two sets of flows (old: the previous tree or the live side;
// new: this export or the desired side) and returns the changes sorted by
// key: Create for flows only in new, Delete for flows only in old, Update
// for flows that differ. Unchanged flows are left out.
func Diff(old, new []Flow) []Change {
	var out []Change
	for _, p := range Pair(new, old) {
		switch {
		case p.Live == nil:
			out = append(out, Change{Key: p.Key, Action: Create, DisplayName: p.Desired.Meta.DisplayName})
		case p.Desired == nil:
			out = append(out, Change{Key: p.Key, Action: Delete, DisplayName: p.Live.Meta.DisplayName})
		default:
			if ch := Compare(*p.Live, *p.Desired); ch.Action != Unchanged {
				out = append(out, ch)
			}
		}
	}
	return out
}
