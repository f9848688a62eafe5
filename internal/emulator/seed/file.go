package seed

import (
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/emulator"
	"github.com/flowsync/flowsync/internal/textenc"
)

// apiIDPrefix starts every connector id in a connection reference.
const apiIDPrefix = "/providers/Microsoft.PowerApps/apis/"

// FileOptions fill what a flow file does not say. Values found in the file
// win over these, except where a field says otherwise.
type FileOptions struct {
	// FileName is the file's path or name: it names the file in errors and
	// is the last resort for the display name and the flow name.
	FileName string
	// Name is the flow name when the file has no GUID name of its own.
	Name api.FlowName
	// DisplayName is used when properties.displayName is absent or empty.
	DisplayName string
	// Environment and Creator are copied into the flow.
	Environment api.EnvName
	Creator     api.PrincipalID
	// State is used when properties.state is absent; "" means Started.
	State string
	// Time is the created and modified time when the file has none.
	Time time.Time
}

// RefInfo describes one connection reference of a loaded flow, so that a
// caller can create the connectors and connections the flow needs.
type RefInfo struct {
	// Key is the reference's key in connectionReferences ("shared_office365_1").
	Key string
	// API is the connector's name ("shared_office365").
	API api.APIName
	// ConnectionName is the connection the reference names; "" when the file
	// names none (solution files name a connection reference instead).
	ConnectionName api.ConnectionName
	// LogicalName is the Dataverse connection reference's logical name, if any.
	LogicalName string
	// Source is "Embedded" or "Invoker".
	Source string
}

// fileFormat is the shape of a flow file (see doc.go).
type fileFormat int

const (
	formatPackage fileFormat = iota
	formatSolution
)

// LoadFlowFile parses a flow file in package or solution format (see doc.go)
// in any encoding textenc knows and returns it as an emulator flow plus its
// connection references. Definition bytes are kept as they are in the file.
func LoadFlowFile(b []byte, opts FileOptions) (emulator.Flow, []RefInfo, error) {
	fail := func(err error) (emulator.Flow, []RefInfo, error) {
		return emulator.Flow{}, nil, fmt.Errorf("load flow file %s: %w", fileLabel(opts.FileName), err)
	}
	text, _, err := textenc.Decode(b)
	if err != nil {
		return fail(err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(text, &top); err != nil {
		return fail(jsonError(err))
	}
	propsRaw, ok := top["properties"]
	if !ok {
		return fail(errors.New("no top-level properties"))
	}
	props, err := objectMembers(propsRaw)
	if err != nil {
		return fail(fmt.Errorf("properties: %w", err))
	}

	def, ok := find(props, "definition")
	if !ok || string(def) == "null" {
		return fail(errors.New("no properties.definition"))
	}
	if def[0] != '{' {
		return fail(errors.New("properties.definition is not a JSON object"))
	}

	refsRaw, _ := find(props, "connectionReferences")
	refs, infos, converted, err := convertReferences(refsRaw)
	if err != nil {
		return fail(err)
	}
	format := detectFormat(top, converted)

	name, err := flowName(top, opts)
	if err != nil {
		return fail(err)
	}
	f := emulator.Flow{
		Environment:          opts.Environment,
		Name:                 name,
		Creator:              opts.Creator,
		Definition:           def,
		ConnectionReferences: refs,
	}
	mapProperties(&f, props)
	if f.DisplayName == "" {
		f.DisplayName = opts.DisplayName
	}
	if f.DisplayName == "" {
		f.DisplayName = displayNameFromFile(opts.FileName)
	}
	if f.DisplayName == "" {
		f.DisplayName = string(name)
	}
	if f.State == "" {
		f.State = opts.State
	}
	if f.State == "" {
		f.State = api.StateStarted
	}
	if f.CreatedTime.IsZero() {
		f.CreatedTime = opts.Time
	}
	if f.LastModifiedTime.IsZero() {
		f.LastModifiedTime = f.CreatedTime
	}
	if format == formatSolution && f.WorkflowEntityID == "" {
		f.WorkflowEntityID = string(name)
	}
	return f, infos, nil
}

func fileLabel(name string) string {
	if name == "" {
		return "(unnamed)"
	}
	return name
}

// jsonError names the byte offset of a JSON error; offsets count bytes of the
// decoded UTF-8 text, which for UTF-16 files differs from the file offset.
func jsonError(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("invalid JSON at offset %d of the decoded text: %w", se.Offset, err)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("top level is a JSON %s, not an object (offset %d)", te.Value, te.Offset)
	}
	return fmt.Errorf("invalid JSON: %w", err)
}

// detectFormat tells the two file shapes apart by their top level: package
// files are ARM resources (name/id/type), solution files carry schemaVersion.
// A file with neither is a solution file if its references had the
// clientdata shape.
func detectFormat(top map[string]json.RawMessage, clientdataRefs bool) fileFormat {
	for _, k := range []string{"name", "id", "type"} {
		if _, ok := top[k]; ok {
			return formatPackage
		}
	}
	if _, ok := top["schemaVersion"]; ok || clientdataRefs {
		return formatSolution
	}
	return formatPackage
}

// flowName picks the flow's GUID: the file's own name, then opts.Name, then
// a GUID that ends the file's base name, then one derived from the base name.
func flowName(top map[string]json.RawMessage, opts FileOptions) (api.FlowName, error) {
	if s, ok := stringValue(top["name"]); ok && isGUID(s) {
		return api.FlowName(strings.ToLower(s)), nil
	}
	if opts.Name != "" {
		return opts.Name, nil
	}
	base := baseName(opts.FileName)
	if base == "" {
		return "", errors.New("no flow name: the file has no GUID name and FileOptions has neither Name nor FileName")
	}
	if _, guid, ok := trailingGUID(base); ok {
		return api.FlowName(guid), nil
	}
	return api.FlowName(nameGUID("flow-file\x00" + base)), nil
}

// baseName is the file name without directory and extension; it accepts
// both slash kinds so Windows paths work on every OS.
func baseName(file string) string {
	b := path.Base(strings.ReplaceAll(file, `\`, "/"))
	if b == "." || b == "/" {
		return ""
	}
	return strings.TrimSuffix(b, path.Ext(b))
}

// displayNameFromFile is the file's base name without a trailing GUID.
func displayNameFromFile(file string) string {
	base := baseName(file)
	if rest, _, ok := trailingGUID(base); ok && rest != "" {
		return rest
	}
	return base
}

// mapProperties moves the properties the emulator models into fields and
// keeps every other member, and every zero or oddly typed value of a mapped
// one, in Extra so that writing the flow back loses nothing.
func mapProperties(f *emulator.Flow, props []member) {
	for _, m := range props {
		mapped := false
		switch m.Key {
		case "definition", "connectionReferences":
			continue
		case "displayName":
			// Always set on the flow (from a fallback if need be), so never extra.
			f.DisplayName, _ = stringValue(m.Value)
			continue
		case "state":
			f.State, mapped = nonEmptyString(m.Value)
		case "templateName":
			f.TemplateName, mapped = nonEmptyString(m.Value)
		case "workflowEntityId":
			f.WorkflowEntityID, mapped = nonEmptyString(m.Value)
		case "isManaged":
			mapped = string(m.Value) == "true"
			f.IsManaged = mapped
		case "createdTime", "lastModifiedTime":
			s, _ := stringValue(m.Value)
			t, err := time.Parse(time.RFC3339Nano, s)
			if mapped = err == nil; mapped {
				if m.Key == "createdTime" {
					f.CreatedTime = t
				} else {
					f.LastModifiedTime = t
				}
			}
		}
		if mapped {
			continue
		}
		if f.Extra == nil {
			f.Extra = map[string]json.RawMessage{}
		}
		f.Extra[m.Key] = m.Value
	}
}

func nonEmptyString(raw json.RawMessage) (string, bool) {
	s, ok := stringValue(raw)
	return s, ok && s != ""
}

// convertReferences returns the references as the Flow RP dictionary, their
// RefInfo sorted by key, and whether any entry was in the solution shape. A
// dictionary already in the service shape is returned byte-for-byte.
func convertReferences(raw json.RawMessage) (json.RawMessage, []RefInfo, bool, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return json.RawMessage("{}"), nil, false, nil
	}
	entries, err := objectMembers(raw)
	if err != nil {
		return nil, nil, false, fmt.Errorf("properties.connectionReferences: %w", err)
	}
	converted := false
	infos := make([]RefInfo, 0, len(entries))
	for i, e := range entries {
		ms, err := objectMembers(e.Value)
		if err != nil {
			return nil, nil, false, fmt.Errorf("connection reference %q: %w", e.Key, err)
		}
		var info RefInfo
		_, hasAPI := find(ms, "api")
		_, hasID := find(ms, "id")
		if hasAPI && !hasID { // clientdata shape; a converted entry may keep api but always has id
			var out []member
			out, info, err = convertSolutionEntry(ms)
			if err != nil {
				return nil, nil, false, fmt.Errorf("connection reference %q: %w", e.Key, err)
			}
			entries[i].Value = encodeObject(out)
			converted = true
		} else if info, err = rawEntryInfo(ms); err != nil {
			return nil, nil, false, fmt.Errorf("connection reference %q: %w", e.Key, err)
		}
		info.Key = e.Key
		infos = append(infos, info)
	}
	slices.SortFunc(infos, func(a, b RefInfo) int { return strings.Compare(a.Key, b.Key) })
	if !converted {
		return raw, infos, false, nil
	}
	return encodeObject(entries), infos, true, nil
}

// rawEntryInfo reads an entry already in the Flow RP shape.
func rawEntryInfo(ms []member) (RefInfo, error) {
	var info RefInfo
	id, _ := find(ms, "id")
	idStr, _ := stringValue(id)
	apiName, ok := apiFromID(idStr)
	if !ok {
		return info, fmt.Errorf("no connector id (want %q<api>, got %s)", apiIDPrefix, orNone(id))
	}
	info.API = apiName
	if v, ok := find(ms, "connectionName"); ok {
		s, _ := stringValue(v)
		info.ConnectionName = api.ConnectionName(s)
	}
	if v, ok := find(ms, "connectionReferenceLogicalName"); ok {
		info.LogicalName, _ = stringValue(v)
	}
	info.Source = "Embedded"
	if v, ok := find(ms, "source"); ok {
		if s, ok := stringValue(v); ok && s != "" {
			info.Source = capitalize(s)
		}
	}
	return info, nil
}

func orNone(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "none"
	}
	return string(raw)
}

// apiFromID takes the api name from "/providers/Microsoft.PowerApps/apis/<api>"
// (the leading slash is optional, as in some exports).
func apiFromID(id string) (api.APIName, bool) {
	i := strings.LastIndex(strings.ToLower(id), "/apis/")
	if i < 0 {
		return "", false
	}
	name := id[i+len("/apis/"):]
	if name == "" || strings.Contains(name, "/") {
		return "", false
	}
	return api.APIName(name), true
}

// convertSolutionEntry maps a Dataverse clientdata entry
// {api{name}, connection{connectionReferenceLogicalName|name}, runtimeSource,
// …} to the Flow RP shape; see doc.go for the mapping.
func convertSolutionEntry(ms []member) ([]member, RefInfo, error) {
	var info RefInfo
	apiRaw, _ := find(ms, "api")
	apiMembers, err := objectMembers(apiRaw)
	if err != nil {
		return nil, info, fmt.Errorf("api: %w", err)
	}
	nameRaw, _ := find(apiMembers, "name")
	name, ok := nonEmptyString(nameRaw)
	if !ok {
		return nil, info, errors.New("api.name missing or not a string")
	}
	info.API = api.APIName(name)
	info.Source = "Embedded"

	var connMembers []member
	if connRaw, ok := find(ms, "connection"); ok && string(connRaw) != "null" {
		if connMembers, err = objectMembers(connRaw); err != nil {
			return nil, info, fmt.Errorf("connection: %w", err)
		}
	}
	if v, ok := find(connMembers, "connectionReferenceLogicalName"); ok {
		info.LogicalName, _ = stringValue(v)
	}
	if v, ok := find(connMembers, "name"); ok {
		s, _ := stringValue(v)
		info.ConnectionName = api.ConnectionName(s)
	}
	if v, ok := find(ms, "runtimeSource"); ok {
		s, isString := stringValue(v)
		if !isString {
			return nil, info, fmt.Errorf("runtimeSource %s is not a string", v)
		}
		if s != "" {
			info.Source = capitalize(s)
		}
	}

	out := []member{{Key: "id", Value: jsonString(apiIDPrefix + name)}}
	if info.ConnectionName != "" {
		out = append(out, member{Key: "connectionName", Value: jsonString(string(info.ConnectionName))})
	}
	if info.LogicalName != "" {
		out = append(out, member{Key: "connectionReferenceLogicalName", Value: jsonString(info.LogicalName)})
	}
	out = append(out, member{Key: "source", Value: jsonString(info.Source)})
	for _, m := range ms {
		switch m.Key {
		case "runtimeSource":
			continue
		case "api":
			if onlyKeys(apiMembers, "name") {
				continue
			}
		case "connection":
			if onlyKeys(connMembers, "name", "connectionReferenceLogicalName") {
				continue
			}
		}
		out = append(out, m)
	}
	return out, info, nil
}

// onlyKeys reports whether every member of ms is one of keys (so the object
// is fully represented elsewhere and can be dropped).
func onlyKeys(ms []member, keys ...string) bool {
	for _, m := range ms {
		found := false
		for _, k := range keys {
			if m.Key == k {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func capitalize(s string) string {
	r := []rune(s)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}
