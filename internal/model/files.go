package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/canon"
	"github.com/flowsync/flowsync/internal/safetext"
)

// FormatVersion is the version of the tree format (docs/FORMAT.md). A reader
// refuses a tree with another version.
const FormatVersion = 1

// rootFile is flowsync.json: the format version and nothing run-specific,
// so that it never changes between exports.
type rootFile struct {
	Format int `json:"format"`
}

// RootFile returns the content of flowsync.json.
func RootFile() []byte {
	b, err := canon.Marshal(rootFile{Format: FormatVersion})
	if err != nil {
		panic(err) // a constant struct always marshals
	}
	return b
}

// ParseRootFile checks flowsync.json and returns its format version; a
// version other than FormatVersion is an error.
func ParseRootFile(data []byte) (int, error) {
	var r rootFile
	if err := decodeStrict(data, &r); err != nil {
		return 0, fmt.Errorf("%s: %w", RootFileName, err)
	}
	if r.Format != FormatVersion {
		return r.Format, fmt.Errorf("%s: format %d, this flowsync reads format %d", RootFileName, r.Format, FormatVersion)
	}
	return r.Format, nil
}

// EnvironmentFile returns the content of environment.json.
func EnvironmentFile(env Environment) ([]byte, error) {
	if err := ValidateEnvName(env.Name); err != nil {
		return nil, err
	}
	b, err := canon.Marshal(env)
	if err != nil {
		return nil, fmt.Errorf("environment %s: %w", env.Name, err)
	}
	return b, nil
}

// ParseEnvironmentFile reads environment.json.
func ParseEnvironmentFile(data []byte) (Environment, error) {
	var env Environment
	if err := decodeStrict(data, &env); err != nil {
		return Environment{}, fmt.Errorf("%s: %w", EnvironmentFileName, err)
	}
	if err := ValidateEnvName(env.Name); err != nil {
		return Environment{}, fmt.Errorf("%s: %w", EnvironmentFileName, err)
	}
	return env, nil
}

// connectionFile is a reference in connections.json, keyed by its Key.
type connectionsFile map[string]ConnectionRef

// permissionsFile is permissions.json.
type permissionsFile struct {
	Permissions []Permission `json:"permissions"`
}

// Files returns the four files of a flow's directory, by name relative to
// FlowDir(f.Key), in canonical bytes. secrets.age is not among them: the
// export seals it separately.
func Files(f Flow) (map[string][]byte, error) {
	if len(f.Definition) == 0 {
		return nil, fmt.Errorf("flow %s: %w", f.Key, errNoDefinition)
	}
	def, err := canon.Canonicalize(f.Definition)
	if err != nil {
		return nil, fmt.Errorf("flow %s: %s: %w", f.Key, DefinitionFileName, err)
	}
	meta, err := canon.Marshal(f.Meta)
	if err != nil {
		return nil, fmt.Errorf("flow %s: %s: %w", f.Key, FlowFileName, err)
	}
	conns := make(connectionsFile, len(f.Connections))
	for _, c := range f.Connections {
		if _, dup := conns[c.Key]; dup {
			return nil, fmt.Errorf("flow %s: connection reference %q twice", f.Key, c.Key)
		}
		conns[c.Key] = c
	}
	connBytes, err := canon.Marshal(conns)
	if err != nil {
		return nil, fmt.Errorf("flow %s: %s: %w", f.Key, ConnectionsFileName, err)
	}
	perms := slices.Clone(f.Permissions)
	if perms == nil {
		perms = []Permission{}
	}
	SortPermissions(perms)
	permBytes, err := canon.Marshal(permissionsFile{Permissions: perms})
	if err != nil {
		return nil, fmt.Errorf("flow %s: %s: %w", f.Key, PermissionsFileName, err)
	}
	return map[string][]byte{
		FlowFileName:        meta,
		DefinitionFileName:  def,
		ConnectionsFileName: connBytes,
		PermissionsFileName: permBytes,
	}, nil
}

// ParseFiles reads a flow's directory back (file names as Files gives
// them). All four files are required, except for the record of a
// soft-deleted flow, which may be flow.json alone (its Definition is then
// nil); secrets.age is ignored (it is not
// part of the model) and any other name is an error, so a stray or
// misspelt file is noticed. Files(ParseFiles(Files(f))) equals Files(f).
func ParseFiles(key Key, files map[string][]byte) (Flow, error) {
	name, err := CanonicalFlowName(key.Flow)
	if err != nil {
		return Flow{}, err
	}
	if err := ValidateEnvName(key.Env); err != nil {
		return Flow{}, err
	}
	key.Flow = name
	fail := func(file string, err error) (Flow, error) {
		return Flow{}, fmt.Errorf("flow %s: %s: %w", key, file, err)
	}
	for n := range files {
		switch n {
		case FlowFileName, DefinitionFileName, ConnectionsFileName, PermissionsFileName, SecretsFileName:
		default:
			return fail(n, fmt.Errorf("unexpected file in a flow directory"))
		}
	}
	if _, ok := files[FlowFileName]; !ok {
		return fail(FlowFileName, fmt.Errorf("missing"))
	}
	f := Flow{Key: key}
	if err := decodeStrict(files[FlowFileName], &f.Meta); err != nil {
		return fail(FlowFileName, err)
	}
	if f.Meta.Extra, err = canonicalValues(f.Meta.Extra); err != nil {
		return fail(FlowFileName, err)
	}
	// A soft-deleted flow that was never exported before its deletion is a
	// record only: the service no longer serves its definition, so its
	// directory may hold flow.json alone (docs/FORMAT.md).
	if f.Meta.State == api.StateDeleted && len(files) == 1 {
		f.Connections, f.Permissions = []ConnectionRef{}, []Permission{}
		return f, nil
	}
	for _, n := range []string{DefinitionFileName, ConnectionsFileName, PermissionsFileName} {
		if _, ok := files[n]; !ok {
			return fail(n, fmt.Errorf("missing"))
		}
	}
	if f.Definition, err = canon.Canonicalize(files[DefinitionFileName]); err != nil {
		return fail(DefinitionFileName, err)
	}
	var conns connectionsFile
	if err := decodeStrict(files[ConnectionsFileName], &conns); err != nil {
		return fail(ConnectionsFileName, err)
	}
	f.Connections = make([]ConnectionRef, 0, len(conns))
	for k, c := range conns {
		c.Key = k
		if c.API == "" {
			return fail(ConnectionsFileName, fmt.Errorf("reference %q names no api", k))
		}
		if c.Extra, err = canonicalValues(c.Extra); err != nil {
			return fail(ConnectionsFileName, err)
		}
		f.Connections = append(f.Connections, c)
	}
	SortConnections(f.Connections)
	var perms permissionsFile
	if err := decodeStrict(files[PermissionsFileName], &perms); err != nil {
		return fail(PermissionsFileName, err)
	}
	f.Permissions = perms.Permissions
	if f.Permissions == nil {
		f.Permissions = []Permission{}
	}
	SortPermissions(f.Permissions)
	return f, nil
}

// decodeStrict decodes a tree file: canonical JSON rules first (no
// duplicate keys, valid UTF-8), then no members the format does not define.
func decodeStrict(data []byte, v any) error {
	c, err := canon.Canonicalize(data)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(c))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func canonicalValues(m map[string]json.RawMessage) (map[string]json.RawMessage, error) {
	if len(m) == 0 {
		return nil, nil
	}
	out := make(map[string]json.RawMessage, len(m))
	for k, v := range m {
		c, err := canon.Canonicalize(v)
		if err != nil {
			return nil, fmt.Errorf("extra %s: %w", k, err)
		}
		out[k] = c
	}
	return out, nil
}

// EnvReadme returns environments/<env>/README.md: an index of the
// environment's flows sorted by display name (case-insensitively, then
// exactly, then by GUID), one table row each with a link to its folder.
// Display names are escaped so that none can break the table or inject
// markup. It depends only on its arguments, so it is as deterministic as
// the rest of the tree.
func EnvReadme(env Environment, flows []Flow) []byte {
	var b strings.Builder
	title := env.DisplayName
	if title == "" {
		title = string(env.Name)
	}
	fmt.Fprintf(&b, "# %s\n\n", mdEscape(title))
	b.WriteString("Generated by flowsync from the service; edits here are overwritten by the next export.\n\n")
	fmt.Fprintf(&b, "- Environment: `%s`\n", env.Name)
	if env.Sku != "" {
		fmt.Fprintf(&b, "- SKU: %s\n", mdEscape(env.Sku))
	}
	if env.Location != "" {
		fmt.Fprintf(&b, "- Location: %s\n", mdEscape(env.Location))
	}
	fmt.Fprintf(&b, "- Flows: %d\n\n", len(flows))
	if len(flows) == 0 {
		return []byte(b.String())
	}
	sorted := slices.Clone(flows)
	slices.SortFunc(sorted, func(x, y Flow) int {
		if c := strings.Compare(strings.ToLower(x.Meta.DisplayName), strings.ToLower(y.Meta.DisplayName)); c != 0 {
			return c
		}
		if c := strings.Compare(x.Meta.DisplayName, y.Meta.DisplayName); c != 0 {
			return c
		}
		return x.Key.Compare(y.Key)
	})
	b.WriteString("| Flow | State | Trigger | Connectors | Owners | Last modified |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- |\n")
	for _, f := range sorted {
		name := f.Meta.DisplayName
		if strings.TrimSpace(name) == "" {
			name = "(no name)"
		}
		var apis, owners []string
		for _, a := range f.APIs() {
			apis = append(apis, mdCode(string(a)))
		}
		for _, o := range f.Owners() {
			owners = append(owners, mdEscape(string(o.Principal)))
		}
		fmt.Fprintf(&b, "| [%s](%s/%s/) | %s | %s | %s | %s | %s |\n",
			mdEscape(name), FlowsDir, strings.ToLower(string(f.Key.Flow)),
			mdEscape(f.Meta.State), mdEscape(f.Meta.TriggerKind),
			strings.Join(apis, ", "), strings.Join(owners, ", "), mdEscape(f.Meta.LastModifiedTime))
	}
	return []byte(b.String())
}

// mdCode writes an identifier as a code span, or escaped when it holds
// characters a code span in a table cannot.
func mdCode(s string) string {
	if s == "" || strings.ContainsAny(s, "`|") || safetext.Line(s) != s {
		return mdEscape(s)
	}
	return "`" + s + "`"
}

// mdEscape makes user text inert inside a Markdown table cell: hostile runes
// (control characters, line breaks, BiDi formatting) are written as escapes
// the way every other output shows them (safetext.Line), and punctuation that
// could start markup, end the cell or the link text is backslash-escaped
// (CommonMark allows it before any ASCII punctuation), so an escape such as
// \x00 renders as written.
func mdEscape(s string) string {
	s = safetext.Line(s)
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune("\\`*_[]<>|~&", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
