package seed

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/emulator"
)

// fallbackTime stamps loaded flows and connections when base has no clock.
func fallbackTime() time.Time { return time.Date(2025, time.January, 1, 0, 0, 0, 0, time.UTC) }

// flowSource is one file to load and the options it is loaded with.
type flowSource struct {
	path string
	opts FileOptions
}

// FromFiles returns a copy of base (Empty() when nil) with the flows of the
// given files loaded into env. It creates env if base lacks it, a connector
// for every api the flows reference that base does not know, and one
// Connected connection per distinct connection the references name. A
// reference that names no connection gets an invented, deterministic one
// (see doc.go); solution references keep their logical names. The flows'
// creator is the first user of base, who becomes the connections' creator too.
func FromFiles(env api.EnvName, paths []string, base *emulator.Snapshot) (*emulator.Snapshot, error) {
	srcs := make([]flowSource, len(paths))
	for i, p := range paths {
		srcs[i] = flowSource{path: p, opts: FileOptions{FileName: p}}
	}
	return load(env, srcs, base)
}

// FromCorpus loads every file listed in dir/MANIFEST.tsv (columns described
// in the corpus README: file, source_path, display_name, …) into env, as
// FromFiles does. The manifest's display_name is used when a file has none,
// and a GUID that ends source_path's file name (unpacked solutions name
// workflow files "<Name>-<GUID>.json") becomes the flow name when the file
// has no name of its own.
func FromCorpus(dir string, env api.EnvName, base *emulator.Snapshot) (*emulator.Snapshot, error) {
	manifest := filepath.Join(dir, "MANIFEST.tsv")
	b, err := os.ReadFile(manifest)
	if err != nil {
		return nil, fmt.Errorf("read corpus manifest: %w", err)
	}
	rows, err := readManifest(b)
	if err != nil {
		return nil, fmt.Errorf("read corpus manifest %s: %w", manifest, err)
	}
	srcs := make([]flowSource, 0, len(rows))
	for _, r := range rows {
		opts := FileOptions{FileName: r.file, DisplayName: r.displayName}
		if _, guid, ok := trailingGUID(baseName(r.sourcePath)); ok {
			opts.Name = api.FlowName(guid)
		}
		srcs = append(srcs, flowSource{path: filepath.Join(dir, r.file), opts: opts})
	}
	return load(env, srcs, base)
}

// manifestRow holds the manifest columns the loader uses.
type manifestRow struct {
	file, sourcePath, displayName string
}

// readManifest parses the tab-separated manifest by its header, so that new
// columns do not break it.
func readManifest(b []byte) ([]manifestRow, error) {
	r := csv.NewReader(bytes.NewReader(b))
	r.Comma = '\t'
	r.LazyQuotes = true
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[h] = i
	}
	if _, ok := col["file"]; !ok {
		return nil, errors.New(`header has no "file" column`)
	}
	get := func(rec []string, name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return rec[i]
		}
		return ""
	}
	var rows []manifestRow
	for line := 2; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		file := get(rec, "file")
		if file == "" {
			return nil, fmt.Errorf("line %d: empty file column", line)
		}
		if filepath.Base(file) != file {
			return nil, fmt.Errorf("line %d: file %q is not a plain file name", line, file)
		}
		rows = append(rows, manifestRow{file: file, sourcePath: get(rec, "source_path"), displayName: get(rec, "display_name")})
	}
}

// load does the work of FromFiles and FromCorpus.
func load(env api.EnvName, srcs []flowSource, base *emulator.Snapshot) (*emulator.Snapshot, error) {
	if base == nil {
		base = Empty()
	}
	out := cloneSnapshot(base)
	now := out.Now
	if now.IsZero() {
		now = fallbackTime()
	}
	creator, err := firstUser(out)
	if err != nil {
		return nil, err
	}
	envIdx := slices.IndexFunc(out.Environments, func(e emulator.Environment) bool { return e.Name == env })
	if envIdx < 0 {
		out.Environments = append(out.Environments, emulator.Environment{
			Name: env, DisplayName: string(env), Location: "unitedstates",
			Sku: "Sandbox", CreatedTime: now, Dataverse: true,
		})
		envIdx = len(out.Environments) - 1
	}

	for _, src := range srcs {
		b, err := os.ReadFile(src.path)
		if err != nil {
			return nil, fmt.Errorf("load flow file: %w", err)
		}
		opts := src.opts
		opts.Environment, opts.Creator, opts.Time = env, creator.ID, now
		f, refs, err := LoadFlowFile(b, opts)
		if err != nil {
			return nil, err
		}
		if slices.ContainsFunc(out.Flows, func(g emulator.Flow) bool { return g.Environment == env && g.Name == f.Name }) {
			return nil, fmt.Errorf("load flow file %s: flow %s already exists in environment %s", src.path, f.Name, env)
		}
		if f.WorkflowEntityID != "" {
			// Solution flows live in Dataverse.
			out.Environments[envIdx].Dataverse = true
		}
		invented := map[string]api.ConnectionName{}
		for _, r := range refs {
			addConnector(out, r.API, env)
			conn := r.ConnectionName
			if conn == "" {
				conn = inventConnectionName(env, r.API, r.LogicalName)
				invented[r.Key] = conn
			}
			if err := addConnection(out, env, r.API, conn, creator, now); err != nil {
				return nil, fmt.Errorf("load flow file %s: reference %q: %w", src.path, r.Key, err)
			}
		}
		if len(invented) > 0 {
			if f.ConnectionReferences, err = setConnectionNames(f.ConnectionReferences, invented); err != nil {
				return nil, fmt.Errorf("load flow file %s: %w", src.path, err)
			}
		}
		out.Flows = append(out.Flows, f)
	}
	return out, nil
}

// cloneSnapshot copies the slices load appends to or edits, so base is left
// as it was; the flows' raw JSON is shared because it is never changed in place.
func cloneSnapshot(s *emulator.Snapshot) *emulator.Snapshot {
	out := *s
	out.Principals = slices.Clone(s.Principals)
	out.Environments = slices.Clone(s.Environments)
	out.Connectors = slices.Clone(s.Connectors)
	out.Connections = slices.Clone(s.Connections)
	out.Flows = slices.Clone(s.Flows)
	out.Runs = slices.Clone(s.Runs)
	return &out
}

// firstUser is the identity loaded flows are created by: the first user
// principal, makers and admins alike.
func firstUser(s *emulator.Snapshot) (emulator.Principal, error) {
	for _, p := range s.Principals {
		if p.Type == api.PrincipalUser {
			return p, nil
		}
	}
	return emulator.Principal{}, errors.New("base snapshot has no user to own the loaded flows")
}

// addConnector adds the connector unless env already sees one of that name.
func addConnector(s *emulator.Snapshot, name api.APIName, env api.EnvName) {
	if slices.ContainsFunc(s.Connectors, func(c emulator.Connector) bool {
		return c.Name == name && (c.Environment == "" || c.Environment == env)
	}) {
		return
	}
	s.Connectors = append(s.Connectors, connectorFor(name, env))
}

// addConnection adds a Connected connection unless env has it already; a
// connection of the same name for another api is a conflict.
func addConnection(s *emulator.Snapshot, env api.EnvName, apiName api.APIName, name api.ConnectionName, creator emulator.Principal, now time.Time) error {
	for _, c := range s.Connections {
		if c.Environment != env || c.Name != name {
			continue
		}
		if c.API != apiName {
			return fmt.Errorf("connection %s in %s belongs to %s, not %s", name, env, c.API, apiName)
		}
		return nil
	}
	display := creator.Email
	if display == "" {
		display = creator.UPN
	}
	if display == "" {
		display = connectorFor(apiName, env).DisplayName
	}
	s.Connections = append(s.Connections, emulator.Connection{
		Environment: env, API: apiName, Name: name, DisplayName: display,
		Status: "Connected", CreatedBy: creator.ID, CreatedTime: now,
	})
	return nil
}

// setConnectionNames sets connectionName in the named references (a new
// member goes right after id), leaving every other byte of the dictionary as it was.
func setConnectionNames(refs []byte, names map[string]api.ConnectionName) ([]byte, error) {
	entries, err := objectMembers(refs)
	if err != nil {
		return nil, fmt.Errorf("connectionReferences: %w", err)
	}
	for i, e := range entries {
		name, ok := names[e.Key]
		if !ok {
			continue
		}
		ms, err := objectMembers(e.Value)
		if err != nil {
			return nil, fmt.Errorf("connection reference %q: %w", e.Key, err)
		}
		value := jsonString(string(name))
		if j := slices.IndexFunc(ms, func(m member) bool { return m.Key == "connectionName" }); j >= 0 {
			ms[j].Value = value // present but empty
		} else {
			at := slices.IndexFunc(ms, func(m member) bool { return m.Key == "id" }) + 1
			ms = slices.Insert(ms, at, member{Key: "connectionName", Value: value})
		}
		entries[i].Value = encodeObject(ms)
	}
	return encodeObject(entries), nil
}
