package importer

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/model"
	"github.com/flowsync/flowsync/internal/secrets"
)

// LoadSecretsFile reads a --secrets file (ParseSecretsFile).
func LoadSecretsFile(path string) (SecretValues, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read secrets file: %w", err)
	}
	return ParseSecretsFile(path, data)
}

// ParseSecretsFile reads the values of redacted secrets that a caller
// supplies for an import. The file is YAML or JSON: a map from source flow
// GUID to a map from placeholder path (what follows "<redacted:flowsync:"
// in the tree, e.g. actions.HTTP.inputs.authentication.password, or
// actions.Call.inputs.uri#sig for a part of a URL) to the value:
//
//	2409d8e9-a70a-4dd9-b1ac-73400d02421d:
//	  actions.HTTP.inputs.authentication.password: "s3cret"
//	  actions.Call.inputs.uri#sig: "AbC..."
//
// A value is any YAML/JSON value and replaces the whole placeholder; a
// placeholder inside a longer string (a path with #) takes a string. name
// only labels errors; errors name the line and never quote a value.
func ParseSecretsFile(name string, data []byte) (SecretValues, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("secrets file %s: not YAML or JSON: %s", name, redactYAMLError(err))
	}
	out := SecretValues{}
	if len(root.Content) == 0 {
		return out, nil
	}
	top := root.Content[0]
	if top.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("secrets file %s:%d: want a map from flow GUID to {path: value}", name, top.Line)
	}
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := top.Content[i], top.Content[i+1]
		flow, err := model.CanonicalFlowName(api.FlowName(strings.TrimSpace(k.Value)))
		if err != nil {
			return nil, fmt.Errorf("secrets file %s:%d: %q is not a flow GUID (the key is the source flow's name, as in the tree)", name, k.Line, k.Value)
		}
		if _, dup := out[flow]; dup {
			return nil, fmt.Errorf("secrets file %s:%d: flow %s appears twice", name, k.Line, flow)
		}
		if v.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("secrets file %s:%d: flow %s: want a map from placeholder path to value", name, v.Line, flow)
		}
		vals := secrets.Values{}
		for j := 0; j+1 < len(v.Content); j += 2 {
			pk, pv := v.Content[j], v.Content[j+1]
			path := strings.TrimSpace(pk.Value)
			path = strings.TrimSuffix(strings.TrimPrefix(path, secrets.PlaceholderPrefix), secrets.PlaceholderSuffix)
			if path == "" {
				return nil, fmt.Errorf("secrets file %s:%d: flow %s: empty placeholder path", name, pk.Line, flow)
			}
			if _, dup := vals[path]; dup {
				return nil, fmt.Errorf("secrets file %s:%d: flow %s: path %s appears twice", name, pk.Line, flow, path)
			}
			var val any
			if err := pv.Decode(&val); err != nil {
				return nil, fmt.Errorf("secrets file %s:%d: flow %s: path %s: the value cannot be read", name, pv.Line, flow, path)
			}
			raw, err := json.Marshal(jsonable(val))
			if err != nil {
				return nil, fmt.Errorf("secrets file %s:%d: flow %s: path %s: the value is not JSON-compatible", name, pv.Line, flow, path)
			}
			if strings.Contains(path, "#") {
				if _, ok := val.(string); !ok {
					return nil, fmt.Errorf("secrets file %s:%d: flow %s: path %s is part of a string and takes a string value", name, pv.Line, flow, path)
				}
			}
			vals[path] = raw
		}
		out[flow] = vals
	}
	return out, nil
}

// jsonable turns YAML's map[string]any / map[any]any into what encoding/json takes.
func jsonable(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = jsonable(e)
		}
		return t
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[fmt.Sprint(k)] = jsonable(e)
		}
		return m
	case []any:
		for i, e := range t {
			t[i] = jsonable(e)
		}
		return t
	}
	return v
}

// redactYAMLError keeps the line of a YAML syntax error and drops any quoted
// input, which could be a secret.
func redactYAMLError(err error) string {
	s := err.Error()
	if i := strings.IndexAny(s, "`'\""); i >= 0 {
		s = strings.TrimSpace(s[:i]) + " …"
	}
	return s
}
