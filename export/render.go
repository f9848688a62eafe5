package export

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"filippo.io/age"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/model"
	"github.com/flowsync/flowsync/internal/secrets"
)

// File names of the tree (docs/FORMAT.md).
const (
	RootFileName        = model.RootFileName
	EnvironmentFileName = model.EnvironmentFileName
	IndexFileName       = model.ReadmeFileName
	FlowFileName        = model.FlowFileName
	DefinitionFileName  = model.DefinitionFileName
	ConnectionsFileName = model.ConnectionsFileName
	PermissionsFileName = model.PermissionsFileName
	SecretsFileName     = model.SecretsFileName
)

// Sealer encrypts the values of a flow's redacted secrets (--encrypt-to).
type Sealer interface {
	Seal(values secrets.Values) ([]byte, error)
}

// AgeSealer seals to age recipients.
type AgeSealer []age.Recipient

// Seal implements Sealer.
func (a AgeSealer) Seal(v secrets.Values) ([]byte, error) { return secrets.Seal(v, a) }

// FlowSummary is a flow without its definition: what the environment index
// needs, small enough to keep for every flow of an environment.
type FlowSummary = model.Flow

func envDir(env api.EnvName) (string, error) {
	d, err := model.EnvDir(env)
	return d + "/", err
}

func flowDir(env api.EnvName, flow api.FlowName) (string, error) {
	d, err := model.FlowDir(env, flow)
	return d + "/", err
}

func validateEnv(env api.EnvName) error { return model.ValidateEnvName(env) }

func canonicalFlowName(name api.FlowName) (api.FlowName, error) { return model.CanonicalFlowName(name) }

func rootFile() []byte { return model.RootFile() }

func environmentFile(e api.Environment) ([]byte, error) {
	return model.EnvironmentFile(model.EnvironmentFromAPI(e))
}

func environmentIndex(e api.Environment, flows []FlowSummary) ([]byte, error) {
	return model.EnvReadme(model.EnvironmentFromAPI(e), flows), nil
}

// storedMeta is what a previous export stored of a flow besides its
// definition: flow.json, the connection references and the permissions.
type storedMeta struct {
	model.Meta
	connections []model.ConnectionRef
	permissions []model.Permission
}

// summary rebuilds the index entry of a stored flow from its stored files,
// owners included, so that the row of a flow that could not be read stays
// as it was.
func (m *storedMeta) summary(env api.EnvName, name api.FlowName) FlowSummary {
	return FlowSummary{Key: model.Key{Env: env, Flow: name}, Meta: m.Meta, Connections: m.connections, Permissions: m.permissions}
}

func parseStoredMeta(flowJSON []byte) (*storedMeta, error) {
	var m model.Meta
	if err := json.Unmarshal(flowJSON, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", FlowFileName, err)
	}
	return &storedMeta{Meta: m}, nil
}

func parseStoredConnections(data []byte) ([]model.ConnectionRef, error) {
	var m map[string]model.ConnectionRef
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", ConnectionsFileName, err)
	}
	out := make([]model.ConnectionRef, 0, len(m))
	for k, c := range m {
		c.Key = k
		out = append(out, c)
	}
	model.SortConnections(out)
	return out, nil
}

func parseStoredPermissions(data []byte) ([]model.Permission, error) {
	var f struct {
		Permissions []model.Permission `json:"permissions"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", PermissionsFileName, err)
	}
	model.SortPermissions(f.Permissions)
	return f.Permissions, nil
}

// reusable reports whether --incremental may keep the stored definition and
// connection references of j's flow instead of reading it: the definition
// cannot have changed without lastModifiedTime moving (permissions and
// state can, so they are read again). Not when the flow is soft-deleted
// (there is nothing to read), when its stored files are damaged or not in
// canonical form, when its secrets were stored without being sealed and
// --encrypt-to now asks for them, or when --reseal asks for new sealing.
func (j flowJob) reusable(opts Options) bool {
	switch {
	case !opts.Incremental, j.prev == nil, j.meta == nil, !j.storedSound:
		return false
	case j.sum.Properties.State == api.StateDeleted:
		return false
	case j.meta.LastModifiedTime == "", j.meta.LastModifiedTime != j.sum.Properties.LastModifiedTime:
		return false
	case j.unsealed, opts.Reseal && opts.Sealer != nil && hasFiles(j.prev, SecretsFileName):
		return false
	}
	return true
}

// readFlow reads one flow and renders its files. It runs on reader
// goroutines: it never touches Git; what it reuses from the previous
// commit it names by blob hash.
func readFlow(ctx context.Context, src Source, env api.EnvName, j flowJob, opts Options) flowOut {
	out := flowOut{job: j, outcome: OutcomeRead}
	if err := ctx.Err(); err != nil {
		out.err = err
		return out
	}
	name := j.sum.Name
	deleted := j.sum.Properties.State == api.StateDeleted

	if j.reusable(opts) {
		return readReused(ctx, src, env, j, opts, out)
	}

	fl, err := src.Flow(ctx, env, name)
	if err != nil {
		if deleted && errors.Is(err, api.ErrFlowNotFound) {
			return readDeleted(ctx, src, env, j, out)
		}
		out.err = fmt.Errorf("read flow: %w", err)
		return out
	}
	perms, err := src.Permissions(ctx, env, name)
	if err != nil {
		out.err = fmt.Errorf("read permissions: %w", err)
		return out
	}
	nf, rep, err := model.Normalize(env, fl, perms, model.NormalizeOptions{KeepSecretValues: opts.Sealer != nil})
	if err != nil {
		out.err = fmt.Errorf("normalize: %w", err)
		return out
	}
	if deleted {
		nf.Meta.State = api.StateDeleted
	}
	if out.err = out.render(nf); out.err != nil {
		return out
	}
	for _, fd := range rep.Findings {
		out.secrets = append(out.secrets, SecretRef{
			FlowRef: FlowRef{Env: env, Flow: nf.Key.Flow, DisplayName: nf.Meta.DisplayName},
			Path:    fd.Path, Kind: string(fd.Kind),
		})
	}
	if opts.Sealer != nil && len(rep.Values) > 0 {
		out.err = out.seal(j, nf.Meta.LastModifiedTime, rep.Values, opts)
	}
	return out
}

// seal stores the flow's secret values encrypted, or keeps the sealed file
// stored before when secrets.ShouldReseal says it still holds them: age
// encryption is randomized, so sealing an unchanged flow again would change
// the tree on every run. --reseal forces new encryption, for a change of
// recipients, which the tree cannot show.
func (out *flowOut) seal(j flowJob, modified string, values secrets.Values, opts Options) error {
	prevModified := ""
	if j.meta != nil {
		prevModified = j.meta.LastModifiedTime
	}
	h, stored := j.prev.file(SecretsFileName)
	if stored && !opts.Reseal && !secrets.ShouldReseal(j.sealedPaths, values.Paths(), prevModified, modified) {
		out.reuse = map[string]plumbing.Hash{SecretsFileName: h}
		return nil
	}
	sealed, err := opts.Sealer.Seal(values)
	if err != nil {
		return fmt.Errorf("seal secrets: %w", err)
	}
	out.files[SecretsFileName] = sealed
	return nil
}

// readReused reads what may have changed without the definition doing so
// (permissions, state, display name) and reuses the stored definition and
// connection references (and sealed secrets with --encrypt-to).
func readReused(ctx context.Context, src Source, env api.EnvName, j flowJob, opts Options, out flowOut) flowOut {
	perms, err := src.Permissions(ctx, env, j.sum.Name)
	if err != nil {
		out.err = fmt.Errorf("read permissions: %w", err)
		return out
	}
	meta := j.meta.Meta
	meta.State = j.sum.Properties.State
	meta.DisplayName = j.sum.Properties.DisplayName
	// The service suspends a flow, and a maker subscribes to its failure
	// alerts, without saving it: take both from the listing.
	// Uncertain: the V2 admin list carries them (NOTES §4.3); a listing
	// without them keeps what the last full read stored.
	if r := j.sum.Properties.FlowSuspensionReason; r != "" {
		meta.FlowSuspensionReason = r
	}
	if a := j.sum.Properties.FlowFailureAlertSubscribed; a != nil {
		meta.FlowFailureAlertSubscribed = a
	}
	f, err := metaOnly(env, j.sum.Name, meta, j.meta.connections, perms)
	if err != nil {
		out.err = err
		return out
	}
	if out.err = out.render(f, FlowFileName, PermissionsFileName); out.err != nil {
		return out
	}
	keep := []string{DefinitionFileName, ConnectionsFileName}
	if opts.Sealer != nil {
		keep = append(keep, SecretsFileName) // as in a full export
	}
	out.reuse = reuse(j.prev, keep...)
	out.outcome = OutcomeReused
	return out
}

// readDeleted records a soft-deleted flow whose definition the service no
// longer serves: flow.json from the listing; the definition, references and
// permissions stored before, if any.
func readDeleted(ctx context.Context, src Source, env api.EnvName, j flowJob, out flowOut) flowOut {
	meta := model.Meta{}
	var conns []model.ConnectionRef
	var perms []model.Permission
	if j.meta != nil {
		meta, conns, perms = j.meta.Meta, j.meta.connections, j.meta.permissions
	}
	p := j.sum.Properties
	meta.DisplayName, meta.State = p.DisplayName, api.StateDeleted
	if meta.LastModifiedTime == "" {
		meta.LastModifiedTime = p.LastModifiedTime
	}
	if meta.CreatedTime == "" {
		meta.CreatedTime = p.CreatedTime
	}
	f, err := metaOnly(env, j.sum.Name, meta, conns, nil)
	if err != nil {
		out.err = err
		return out
	}
	// Only flow.json is written; the index row shows the owners of the
	// permissions.json that is kept.
	f.Permissions = perms
	if out.err = out.render(f, FlowFileName); out.err != nil {
		return out
	}
	out.reuse = reuse(j.prev, DefinitionFileName, ConnectionsFileName, PermissionsFileName, SecretsFileName)
	return out
}

// metaOnly builds a flow whose definition is not at hand; only flow.json,
// connections.json and permissions.json may be rendered from it.
func metaOnly(env api.EnvName, name api.FlowName, meta model.Meta, conns []model.ConnectionRef, perms []api.Permission) (model.Flow, error) {
	canonical, err := model.CanonicalFlowName(name)
	if err != nil {
		return model.Flow{}, err
	}
	f := model.Flow{Key: model.Key{Env: env, Flow: canonical}, Meta: meta, Connections: conns, Definition: json.RawMessage(`{}`)}
	for _, p := range perms {
		f.Permissions = append(f.Permissions, model.Permission{
			Principal: p.Properties.Principal.ID, Type: p.Properties.Principal.Type, Role: p.Properties.RoleName,
		})
	}
	model.SortPermissions(f.Permissions)
	return f, nil
}

// render fills out.files with f's files (only the named ones when given)
// and out.summary with f minus its definition.
func (out *flowOut) render(f model.Flow, only ...string) error {
	files, err := model.Files(f)
	if err != nil {
		return err
	}
	if len(only) > 0 {
		keep := make(map[string][]byte, len(only))
		for _, n := range only {
			keep[n] = files[n]
		}
		files = keep
	}
	out.files = files
	f.Definition = nil
	out.summary = f
	return nil
}

func hasFiles(p *prevFlow, names ...string) bool {
	for _, n := range names {
		if _, ok := p.files[n]; !ok {
			return false
		}
	}
	return true
}

// reuse names the stored blobs of the given files that exist.
func reuse(p *prevFlow, names ...string) map[string]plumbing.Hash {
	if p == nil {
		return nil
	}
	out := map[string]plumbing.Hash{}
	for _, n := range names {
		if h, ok := p.files[n]; ok {
			out[n] = h
		}
	}
	return out
}

func (p *prevFlow) file(name string) (plumbing.Hash, bool) {
	if p == nil {
		return plumbing.ZeroHash, false
	}
	h, ok := p.files[name]
	return h, ok
}
