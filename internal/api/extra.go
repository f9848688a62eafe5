package api

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"sync"
)

// knownFields caches, per struct type, the JSON names of its tagged fields.
var knownFields sync.Map // reflect.Type -> map[string]bool

func fieldNames(t reflect.Type) map[string]bool {
	if v, ok := knownFields.Load(t); ok {
		return v.(map[string]bool)
	}
	names := map[string]bool{}
	for i := 0; i < t.NumField(); i++ {
		tag := t.Field(i).Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name != "" && name != "-" {
			names[name] = true
		}
	}
	knownFields.Store(t, names)
	return names
}

// unmarshalWithExtra decodes data into v, a pointer to an alias struct type
// without methods (so the call does not recurse) that has an
// Extra map[string]json.RawMessage field tagged "-": the members v's type
// does not name go there. v is zeroed first, so nothing of an earlier value
// stays.
func unmarshalWithExtra(data []byte, v any) error {
	rv := reflect.ValueOf(v).Elem()
	rv.SetZero()
	if err := json.Unmarshal(data, v); err != nil {
		return err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(data, &all); err != nil {
		return err
	}
	known := fieldNames(rv.Type())
	var extra map[string]json.RawMessage
	for k, raw := range all {
		if known[k] {
			continue
		}
		if extra == nil {
			extra = map[string]json.RawMessage{}
		}
		extra[k] = raw
	}
	rv.FieldByName("Extra").Set(reflect.ValueOf(extra))
	return nil
}

// marshalWithExtra encodes v (an alias struct) and adds the extra members that
// v does not already set. Known fields win over extra ones of the same name.
func marshalWithExtra(v any, extra map[string]json.RawMessage) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil || len(extra) == 0 {
		return b, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	for k, raw := range extra {
		if _, ok := m[k]; !ok {
			m[k] = raw
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// The wire types below keep the members they do not model in Extra and
// write them back: each UnmarshalJSON and MarshalJSON goes through an alias
// type, which has the fields but not the methods.

// UnmarshalJSON keeps unknown members in Extra.
func (p *FlowProperties) UnmarshalJSON(data []byte) error {
	type alias FlowProperties
	return unmarshalWithExtra(data, (*alias)(p))
}

// MarshalJSON writes Extra back alongside the known members.
func (p FlowProperties) MarshalJSON() ([]byte, error) {
	type alias FlowProperties
	return marshalWithExtra(alias(p), p.Extra)
}

// UnmarshalJSON keeps unknown members in Extra.
func (r *ConnectionReference) UnmarshalJSON(data []byte) error {
	type alias ConnectionReference
	return unmarshalWithExtra(data, (*alias)(r))
}

// MarshalJSON writes Extra back alongside the known members.
func (r ConnectionReference) MarshalJSON() ([]byte, error) {
	type alias ConnectionReference
	return marshalWithExtra(alias(r), r.Extra)
}

// UnmarshalJSON keeps unknown members in Extra.
func (p *EnvironmentProperties) UnmarshalJSON(data []byte) error {
	type alias EnvironmentProperties
	return unmarshalWithExtra(data, (*alias)(p))
}

// MarshalJSON writes Extra back alongside the known members.
func (p EnvironmentProperties) MarshalJSON() ([]byte, error) {
	type alias EnvironmentProperties
	return marshalWithExtra(alias(p), p.Extra)
}

// UnmarshalJSON keeps unknown members in Extra.
func (p *ConnectorProperties) UnmarshalJSON(data []byte) error {
	type alias ConnectorProperties
	return unmarshalWithExtra(data, (*alias)(p))
}

// MarshalJSON writes Extra back alongside the known members.
func (p ConnectorProperties) MarshalJSON() ([]byte, error) {
	type alias ConnectorProperties
	return marshalWithExtra(alias(p), p.Extra)
}

// UnmarshalJSON keeps unknown members in Extra.
func (p *ConnectionProperties) UnmarshalJSON(data []byte) error {
	type alias ConnectionProperties
	return unmarshalWithExtra(data, (*alias)(p))
}

// MarshalJSON writes Extra back alongside the known members.
func (p ConnectionProperties) MarshalJSON() ([]byte, error) {
	type alias ConnectionProperties
	return marshalWithExtra(alias(p), p.Extra)
}

// UnmarshalJSON keeps unknown members in Extra.
func (p *RunProperties) UnmarshalJSON(data []byte) error {
	type alias RunProperties
	return unmarshalWithExtra(data, (*alias)(p))
}

// MarshalJSON writes Extra back alongside the known members.
func (p RunProperties) MarshalJSON() ([]byte, error) {
	type alias RunProperties
	return marshalWithExtra(alias(p), p.Extra)
}
