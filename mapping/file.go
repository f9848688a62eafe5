package mapping

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/flowsync/flowsync/diff"
	"github.com/flowsync/flowsync/internal/api"
	"go.yaml.in/yaml/v3"
)

// File is a parsed mapping file. Entries keep their line for messages.
type File struct {
	// Name is the file's name as given (for file:line); "" for no file.
	Name         string
	ByConnector  []ConnectorEntry
	ByConnection []ConnectionEntry
	Principals   []PrincipalEntry
}

// ConnectorEntry binds every reference to a connector to one target connection.
type ConnectorEntry struct {
	API        api.APIName
	Connection api.ConnectionName
	Line       int
}

// ConnectionEntry binds the references to one source connection to one
// target connection.
type ConnectionEntry struct {
	From api.ConnectionName
	To   api.ConnectionName
	Line int
}

// PrincipalEntry maps a source object id to a target object id.
type PrincipalEntry struct {
	From api.PrincipalID
	To   api.PrincipalID
	Line int
}

// Problem codes of this package (docs/PLAN.md lists every code).
const (
	CodeBadYAML                = "bad-yaml"
	CodeUnknownKey             = "unknown-key"
	CodeUnmappedConnection     = "unmapped-connection"
	CodeMissingConnector       = "missing-connector"
	CodeUnknownConnection      = "unknown-connection"
	CodeConnectionNotConnected = "connection-not-connected"
	CodeConnectorMismatch      = "connector-mismatch"
	CodeUnknownPrincipal       = "unknown-principal"
)

// Error is a mapping file that cannot be used: every problem found in it.
type Error struct {
	Problems []diff.Problem
}

func (e *Error) Error() string {
	var sb strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			sb.WriteString("\n")
		}
		if p.Where != "" {
			sb.WriteString(p.Where + ": ")
		}
		sb.WriteString(p.Message)
	}
	return sb.String()
}

// maxFileSize bounds a mapping file: a real one is a few kilobytes.
const maxFileSize = 4 << 20

// Load reads and parses a mapping file. An empty path (no --map) is an
// empty mapping; a path that does not exist is an error, since the caller
// named it.
func Load(path string) (*File, error) {
	if path == "" {
		return &File{}, nil
	}
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("mapping file %s: not found: check --map, or run flowsync mapping init to write one", path)
	case err != nil:
		return nil, fmt.Errorf("mapping file %s: %w", path, err)
	case !st.Mode().IsRegular():
		return nil, fmt.Errorf("mapping file %s: not a regular file", path)
	case st.Size() > maxFileSize:
		return nil, fmt.Errorf("mapping file %s: %d bytes, more than a mapping file can be (%d)", path, st.Size(), maxFileSize)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("mapping file %s: %w", path, err)
	}
	return Parse(path, data)
}

// yamlLine finds the line in a YAML syntax error; the library reports it
// only in the message text ("yaml: line 3: ...").
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// Parse parses a mapping file's bytes; name is used in messages. Problems
// (syntax, unknown or repeated keys, values that are not names) are all
// returned at once in an *Error.
func Parse(name string, data []byte) (*File, error) {
	f := &File{Name: name}
	if len(data) > maxFileSize {
		return nil, &Error{Problems: []diff.Problem{{Code: CodeBadYAML, Where: name,
			Message: fmt.Sprintf("%d bytes, more than a mapping file can be (%d)", len(data), maxFileSize)}}}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		where, msg := name, err.Error()
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			where, msg = name+":"+m[1], m[2]
		}
		return nil, &Error{Problems: []diff.Problem{{Code: CodeBadYAML, Where: where,
			Message: "not valid YAML: " + msg}}}
	}
	p := &parser{f: f}
	if len(doc.Content) > 0 {
		p.root(doc.Content[0])
	}
	if len(p.problems) > 0 {
		return nil, &Error{Problems: p.problems}
	}
	return f, nil
}

type parser struct {
	f        *File
	problems []diff.Problem
}

func (p *parser) where(n *yaml.Node) string {
	return p.f.Name + ":" + strconv.Itoa(n.Line)
}

func (p *parser) fail(code string, n *yaml.Node, format string, args ...any) {
	p.problems = append(p.problems, diff.Problem{Code: code, Where: p.where(n), Message: fmt.Sprintf(format, args...)})
}

// members walks a mapping node: each key must be one of allowed (any key
// when allowed is nil) and appear once. A null node (a section with only
// comments) is an empty mapping.
func (p *parser) members(n *yaml.Node, what string, allowed []string, fn func(key string, k, v *yaml.Node)) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return
	}
	if n.Kind != yaml.MappingNode {
		p.fail(CodeBadYAML, n, "%s must be a mapping of keys to values", what)
		return
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.fail(CodeBadYAML, k, "%s: keys must be plain names", what)
			continue
		}
		key := k.Value
		if allowed != nil && !contains(allowed, key) {
			p.fail(CodeUnknownKey, k, "unknown key %s in %s: allowed are %s", strconv.Quote(key), what, strings.Join(allowed, ", "))
			continue
		}
		fold := strings.ToLower(key)
		if line, dup := seen[fold]; dup {
			p.fail(CodeBadYAML, k, "%s: key %s repeats the one at line %d", what, strconv.Quote(key), line)
			continue
		}
		seen[fold] = k.Line
		fn(key, k, v)
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// name checks a value that must be one service name.
func (p *parser) name(what string, v *yaml.Node) (string, bool) {
	if v.Kind != yaml.ScalarNode || v.Tag == "!!null" || strings.TrimSpace(v.Value) == "" {
		p.fail(CodeBadYAML, v, "%s: must be a name, found %s", what, kindName(v))
		return "", false
	}
	if strings.ContainsFunc(v.Value, func(r rune) bool { return r < 0x20 || r == 0x7f || r == ' ' }) {
		p.fail(CodeBadYAML, v, "%s: %s is not a name (spaces or control characters)", what, strconv.Quote(v.Value))
		return "", false
	}
	return v.Value, true
}

func kindName(v *yaml.Node) string {
	switch {
	case v.Kind == yaml.MappingNode:
		return "a mapping"
	case v.Kind == yaml.SequenceNode:
		return "a list"
	case v.Tag == "!!null" || strings.TrimSpace(v.Value) == "":
		return "nothing"
	}
	return "something else"
}

// pairs reads the "from: to" members of the mapping at path, both sides
// names, and hands each valid pair to add with the key's line.
func (p *parser) pairs(n *yaml.Node, path string, add func(from, to string, line int)) {
	p.members(n, path, nil, func(key string, k, v *yaml.Node) {
		if _, ok := p.name(path+" (key)", k); !ok {
			return
		}
		if to, ok := p.name(path+"."+key, v); ok {
			add(key, to, k.Line)
		}
	})
}

func (p *parser) root(n *yaml.Node) {
	p.members(n, "the mapping file", []string{"connections", "principals"}, func(key string, _, v *yaml.Node) {
		switch key {
		case "connections":
			p.members(v, "connections", []string{"byConnector", "byConnection"}, func(key string, _, v *yaml.Node) {
				switch key {
				case "byConnector":
					p.pairs(v, "connections.byConnector", func(from, to string, line int) {
						p.f.ByConnector = append(p.f.ByConnector, ConnectorEntry{API: api.APIName(from), Connection: api.ConnectionName(to), Line: line})
					})
				case "byConnection":
					p.pairs(v, "connections.byConnection", func(from, to string, line int) {
						p.f.ByConnection = append(p.f.ByConnection, ConnectionEntry{From: api.ConnectionName(from), To: api.ConnectionName(to), Line: line})
					})
				}
			})
		case "principals":
			p.pairs(v, "principals", func(from, to string, line int) {
				p.f.Principals = append(p.f.Principals, PrincipalEntry{From: api.PrincipalID(from), To: api.PrincipalID(to), Line: line})
			})
		}
	})
}
