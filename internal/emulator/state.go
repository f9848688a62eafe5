package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/flowsync/flowsync/internal/api"
)

// retention is how long a soft-deleted flow can be restored.
const retention = 21 * 24 * time.Hour

// state is the indexed form of a Snapshot. Every map is keyed by the
// lower-cased name because the service treats names case-insensitively;
// records keep the spelling they were created with. A state is guarded by
// Server.mu: readers hold the read lock for a whole request.
type state struct {
	tenant     string
	principals map[string]*principalRec // by lower object id
	byAppID    map[string]*principalRec // service principals by lower app id
	envs       map[string]*envRec
	envOrder   []*envRec // the default first, then sorted by key
	connectors map[string]*connectorRec
	connOrder  []*connectorRec // sorted by key
}

// principalRec is a principal plus the groups it belongs to (directly).
type principalRec struct {
	Principal
	groups []string // lower group ids
}

type connectorRec struct {
	Connector
	key string
}

type envRec struct {
	Environment
	key   string
	flows map[string]*flowRec
	// flowKeys is kept sorted on every insert and delete so that paging is a
	// binary search, never a sort per request.
	flowKeys []string
	conns    map[string]*connRec
	connKeys []string
	runs     map[string][]*runRec // by flow key, sorted by runRec.key
}

type connRec struct {
	Connection
	key string
}

type runRec struct {
	Run
	key string // orders newest first
}

// flowRec is a flow with what the emulator derives from its definition.
// Definition and ConnectionReferences stay raw (compact) bytes: memory is
// proportional to the data, and answers splice them in without re-encoding.
type flowRec struct {
	Flow
	key  string
	info *defInfo
	refs map[string]refInfo
}

func newState(tenant string) *state {
	return &state{
		tenant:     tenant,
		principals: map[string]*principalRec{},
		byAppID:    map[string]*principalRec{},
		envs:       map[string]*envRec{},
		connectors: map[string]*connectorRec{},
	}
}

func lower(s string) string { return strings.ToLower(s) }

// runKey orders runs newest first, then by name.
func runKey(r Run) string {
	return fmt.Sprintf("%020d|%s", int64(1<<62)-r.StartTime.UnixNano(), lower(r.Name))
}

// buildState validates snap and indexes it, in dependency order: who
// exists, where, which connectors and connections, then flows and their
// runs. It copies what it keeps, so the caller may reuse snap.
func buildState(snap *Snapshot) (*state, error) {
	if snap == nil {
		return nil, fmt.Errorf("snapshot is nil")
	}
	if snap.Tenant == "" {
		return nil, fmt.Errorf("snapshot has no tenant")
	}
	st := newState(snap.Tenant)
	for _, step := range []func(*state, *Snapshot) error{
		addPrincipals, linkGroupMembers, addEnvironments, addConnectors, addConnections, addFlows, addRuns,
	} {
		if err := step(st, snap); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// addPrincipals indexes users, groups and service principals by object id
// and service principals by application id too.
func addPrincipals(st *state, snap *Snapshot) error {
	for _, p := range snap.Principals {
		if p.ID == "" {
			return fmt.Errorf("principal %q: empty id", p.DisplayName)
		}
		switch p.Type {
		case api.PrincipalUser, api.PrincipalGroup, api.PrincipalServicePrincipal:
		default:
			return fmt.Errorf("principal %s: type %q: want User, Group or ServicePrincipal", p.ID, p.Type)
		}
		k := lower(string(p.ID))
		if _, dup := st.principals[k]; dup {
			return fmt.Errorf("principal %s: duplicate id", p.ID)
		}
		rec := &principalRec{Principal: p}
		rec.Members = slices.Clone(p.Members)
		rec.CertificatesPEM = slices.Clone(p.CertificatesPEM)
		st.principals[k] = rec
		if p.Type == api.PrincipalServicePrincipal {
			if p.AppID == "" {
				return fmt.Errorf("service principal %s: empty appId", p.ID)
			}
			ak := lower(p.AppID)
			if _, dup := st.byAppID[ak]; dup {
				return fmt.Errorf("service principal %s: duplicate appId %s", p.ID, p.AppID)
			}
			st.byAppID[ak] = rec
		}
	}
	return nil
}

// linkGroupMembers records, on each member, the groups it belongs to, so
// that visibility checks need no scan of every group.
func linkGroupMembers(st *state, _ *Snapshot) error {
	for _, g := range st.principals {
		if g.Type != api.PrincipalGroup {
			if len(g.Members) > 0 {
				return fmt.Errorf("principal %s: only groups have members", g.ID)
			}
			continue
		}
		for _, m := range g.Members {
			mr, ok := st.principals[lower(string(m))]
			if !ok {
				return fmt.Errorf("group %s: member %s is not a principal", g.ID, m)
			}
			mr.groups = append(mr.groups, lower(string(g.ID)))
		}
	}
	for _, p := range st.principals {
		slices.Sort(p.groups)
	}
	return nil
}

// addEnvironments indexes environments, the default one first, then by name.
func addEnvironments(st *state, snap *Snapshot) error {
	for _, e := range snap.Environments {
		if e.Name == "" {
			return fmt.Errorf("environment %q: empty name", e.DisplayName)
		}
		k := lower(string(e.Name))
		if _, dup := st.envs[k]; dup {
			return fmt.Errorf("environment %s: duplicate name", e.Name)
		}
		if e.Location == "" {
			e.Location = "unitedstates"
		}
		e.CreatedTime = e.CreatedTime.UTC()
		rec := &envRec{Environment: e, key: k, flows: map[string]*flowRec{}, conns: map[string]*connRec{}, runs: map[string][]*runRec{}}
		st.envs[k] = rec
		st.envOrder = append(st.envOrder, rec)
	}
	slices.SortFunc(st.envOrder, func(a, b *envRec) int {
		if a.IsDefault != b.IsDefault {
			if a.IsDefault {
				return -1
			}
			return 1
		}
		return strings.Compare(a.key, b.key)
	})
	defaults := 0
	for _, e := range st.envOrder {
		if e.IsDefault {
			defaults++
		}
	}
	if defaults > 1 {
		return fmt.Errorf("snapshot has %d default environments, want at most one", defaults)
	}
	return nil
}

// addConnectors indexes the tenant's connectors (custom ones belong to an
// environment).
func addConnectors(st *state, snap *Snapshot) error {
	for _, c := range snap.Connectors {
		if c.Name == "" {
			return fmt.Errorf("connector %q: empty name", c.DisplayName)
		}
		if c.Environment != "" && st.env(string(c.Environment)) == nil {
			return fmt.Errorf("connector %s: unknown environment %s", c.Name, c.Environment)
		}
		k := lower(string(c.Name))
		if _, dup := st.connectors[k]; dup {
			return fmt.Errorf("connector %s: duplicate name", c.Name)
		}
		rec := &connectorRec{Connector: c, key: k}
		st.connectors[k] = rec
		st.connOrder = append(st.connOrder, rec)
	}
	slices.SortFunc(st.connOrder, func(a, b *connectorRec) int { return strings.Compare(a.key, b.key) })
	return nil
}

// addConnections files each connection under its environment, checking its
// connector is available there.
func addConnections(st *state, snap *Snapshot) error {
	for _, c := range snap.Connections {
		e := st.env(string(c.Environment))
		if e == nil {
			return fmt.Errorf("connection %s: unknown environment %s", c.Name, c.Environment)
		}
		if c.Name == "" || c.API == "" {
			return fmt.Errorf("connection %q in %s: name and api are required", c.Name, c.Environment)
		}
		if st.connectorIn(string(c.API), e) == nil {
			return fmt.Errorf("connection %s: connector %s is not available in environment %s", c.Name, c.API, c.Environment)
		}
		switch c.Status {
		case statusConnected, statusError, statusUnauthenticated:
		default:
			return fmt.Errorf("connection %s: status %q: want Connected, Error or Unauthenticated", c.Name, c.Status)
		}
		k := lower(string(c.Name))
		if _, dup := e.conns[k]; dup {
			return fmt.Errorf("connection %s in %s: duplicate name", c.Name, c.Environment)
		}
		c.CreatedTime = c.CreatedTime.UTC()
		e.addConn(&connRec{Connection: c, key: k})
	}
	return nil
}

// addFlows files each flow under its environment (loadFlow checks it).
func addFlows(st *state, snap *Snapshot) error {
	for _, f := range snap.Flows {
		e := st.env(string(f.Environment))
		if e == nil {
			return fmt.Errorf("flow %s: unknown environment %s", f.Name, f.Environment)
		}
		if f.Name == "" {
			return fmt.Errorf("flow %q in %s: empty name", f.DisplayName, f.Environment)
		}
		k := lower(string(f.Name))
		if _, dup := e.flows[k]; dup {
			return fmt.Errorf("flow %s in %s: duplicate name", f.Name, f.Environment)
		}
		if st.principal(string(f.Creator)) == nil {
			return fmt.Errorf("flow %s: creator %s is not a principal", f.Name, f.Creator)
		}
		rec, err := loadFlow(st, f)
		if err != nil {
			return fmt.Errorf("flow %s: %w", f.Name, err)
		}
		e.addFlow(rec)
	}
	return nil
}

// addRuns files each run under its flow, newest first.
func addRuns(st *state, snap *Snapshot) error {
	for _, r := range snap.Runs {
		e := st.env(string(r.Environment))
		if e == nil {
			return fmt.Errorf("run %s: unknown environment %s", r.Name, r.Environment)
		}
		f := e.flows[lower(string(r.Flow))]
		if f == nil {
			return fmt.Errorf("run %s: unknown flow %s in %s", r.Name, r.Flow, r.Environment)
		}
		if r.Name == "" {
			return fmt.Errorf("run of flow %s: empty name", r.Flow)
		}
		r.StartTime = r.StartTime.UTC()
		if r.EndTime != nil {
			t := r.EndTime.UTC()
			r.EndTime = &t
		}
		for _, old := range e.runs[f.key] {
			if lower(old.Name) == lower(r.Name) {
				return fmt.Errorf("run %s of flow %s: duplicate name", r.Name, r.Flow)
			}
		}
		e.addRun(f.key, &runRec{Run: r, key: runKey(r)})
	}
	return nil
}

// loadFlow checks a snapshot flow leniently (seeds may hold any real
// definition) and derives what answers need.
func loadFlow(st *state, f Flow) (*flowRec, error) {
	def, err := compactObject(f.Definition, "definition")
	if err != nil {
		return nil, err
	}
	f.Definition = def
	refs := f.ConnectionReferences
	if len(bytes.TrimSpace(refs)) == 0 || string(bytes.TrimSpace(refs)) == "null" {
		refs = json.RawMessage(`{}`)
	}
	if refs, err = compactObject(refs, "connectionReferences"); err != nil {
		return nil, err
	}
	f.ConnectionReferences = refs
	parsed, perr := parseRefs(refs)
	if perr != "" {
		return nil, fmt.Errorf("connectionReferences: %s", perr)
	}
	switch f.State {
	case api.StateStarted, api.StateStopped, api.StateSuspended:
	case "":
		f.State = api.StateStopped
	default:
		return nil, fmt.Errorf("state %q: want Started, Stopped or Suspended", f.State)
	}
	for i, p := range f.Permissions {
		if st.principal(string(p.Principal)) == nil && lower(string(p.Principal)) != lower(st.tenant) {
			return nil, fmt.Errorf("permission %d: principal %s is unknown", i, p.Principal)
		}
		if _, ok := grantableRole(p.Role); !ok {
			return nil, fmt.Errorf("permission %d: role %q: want CanEdit, CanView or CanViewWithShare", i, p.Role)
		}
	}
	f.Permissions = slices.Clone(f.Permissions)
	extra, err := compactExtra(f.Extra)
	if err != nil {
		return nil, err
	}
	f.Extra = extra
	f.CreatedTime = f.CreatedTime.UTC()
	f.LastModifiedTime = f.LastModifiedTime.UTC()
	if f.DeletedTime != nil {
		t := f.DeletedTime.UTC()
		f.DeletedTime = &t
	}
	info, err := analyze(def)
	if err != nil {
		return nil, err
	}
	return &flowRec{Flow: f, key: lower(string(f.Name)), info: info, refs: parsed}, nil
}

// compactExtra copies extra members, checking that each is valid JSON.
func compactExtra(m map[string]json.RawMessage) (map[string]json.RawMessage, error) {
	if len(m) == 0 {
		return nil, nil
	}
	out := make(map[string]json.RawMessage, len(m))
	for k, v := range m {
		c, err := compactJSON(v)
		if err != nil {
			return nil, fmt.Errorf("extra %q: %w", k, err)
		}
		out[k] = c
	}
	return out, nil
}

func cloneExtra(m map[string]json.RawMessage) map[string]json.RawMessage {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]json.RawMessage, len(m))
	for k, v := range m {
		out[k] = slices.Clone(v)
	}
	return out
}

func compactJSON(raw []byte) (json.RawMessage, error) {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// compactObject returns raw compacted, insisting on a JSON object.
func compactObject(raw []byte, what string) (json.RawMessage, error) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || t[0] != '{' {
		return nil, fmt.Errorf("%s must be a JSON object", what)
	}
	c, err := compactJSON(t)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return c, nil
}

func (st *state) principal(id string) *principalRec { return st.principals[lower(id)] }

// env finds an environment by name or the ~default alias.
func (st *state) env(name string) *envRec {
	if name == "~default" {
		for _, e := range st.envOrder {
			if e.IsDefault {
				return e
			}
		}
		return nil
	}
	return st.envs[lower(name)]
}

// connectorIn finds a connector available in environment e.
func (st *state) connectorIn(name string, e *envRec) *connectorRec {
	c := st.connectors[lower(name)]
	if c == nil || (c.Environment != "" && lower(string(c.Environment)) != e.key) {
		return nil
	}
	return c
}

func (e *envRec) addFlow(f *flowRec) {
	e.flows[f.key] = f
	i, found := slices.BinarySearch(e.flowKeys, f.key)
	if !found {
		e.flowKeys = slices.Insert(e.flowKeys, i, f.key)
	}
}

func (e *envRec) removeFlow(key string) {
	delete(e.flows, key)
	if i, found := slices.BinarySearch(e.flowKeys, key); found {
		e.flowKeys = slices.Delete(e.flowKeys, i, i+1)
	}
	delete(e.runs, key)
}

func (e *envRec) addConn(c *connRec) {
	e.conns[c.key] = c
	i, found := slices.BinarySearch(e.connKeys, c.key)
	if !found {
		e.connKeys = slices.Insert(e.connKeys, i, c.key)
	}
}

func (e *envRec) addRun(flowKey string, r *runRec) {
	runs := e.runs[flowKey]
	i, _ := slices.BinarySearchFunc(runs, r.key, func(x *runRec, k string) int { return strings.Compare(x.key, k) })
	e.runs[flowKey] = slices.Insert(runs, i, r)
}

// expired reports whether a soft-deleted flow is past retention.
func (f *flowRec) expired(now time.Time) bool {
	return f.DeletedTime != nil && now.Sub(*f.DeletedTime) >= retention
}

// dump writes the state back as a Snapshot in a deterministic order.
// Soft-deleted flows past retention are gone for good.
func (st *state) dump(now time.Time) *Snapshot {
	snap := &Snapshot{
		Tenant:       st.tenant,
		Now:          now.UTC(),
		Principals:   []Principal{},
		Environments: []Environment{},
		Connectors:   []Connector{},
		Connections:  []Connection{},
		Flows:        []Flow{},
	}
	ids := make([]string, 0, len(st.principals))
	for k := range st.principals {
		ids = append(ids, k)
	}
	slices.Sort(ids)
	for _, k := range ids {
		p := st.principals[k].Principal
		p.Members = slices.Clone(p.Members)
		slices.SortFunc(p.Members, func(a, b api.PrincipalID) int { return strings.Compare(lower(string(a)), lower(string(b))) })
		p.CertificatesPEM = slices.Clone(p.CertificatesPEM)
		snap.Principals = append(snap.Principals, p)
	}
	for _, c := range st.connOrder {
		snap.Connectors = append(snap.Connectors, c.Connector)
	}
	for _, e := range st.envOrder {
		snap.Environments = append(snap.Environments, e.Environment)
		for _, k := range e.connKeys {
			snap.Connections = append(snap.Connections, e.conns[k].Connection)
		}
		for _, k := range e.flowKeys {
			f := e.flows[k]
			if f.expired(now) {
				continue
			}
			out := f.Flow
			out.Definition = slices.Clone(f.Definition)
			out.ConnectionReferences = slices.Clone(f.ConnectionReferences)
			out.Permissions = slices.Clone(f.Permissions)
			slices.SortFunc(out.Permissions, func(a, b FlowPermission) int {
				return strings.Compare(lower(string(a.Principal)), lower(string(b.Principal)))
			})
			if len(out.Permissions) == 0 {
				out.Permissions = nil
			}
			out.Extra = cloneExtra(f.Extra)
			if f.DeletedTime != nil {
				t := *f.DeletedTime
				out.DeletedTime = &t
			}
			snap.Flows = append(snap.Flows, out)
			for _, r := range e.runs[k] {
				run := r.Run
				if r.EndTime != nil {
					t := *r.EndTime
					run.EndTime = &t
				}
				snap.Runs = append(snap.Runs, run)
			}
		}
	}
	return snap
}
