package importer

import (
	"context"
	"fmt"
	"sync"

	"github.com/flowsync/flowsync/diff"
	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/client"
)

// Call is one write a Recorder was asked for.
type Call struct {
	// Op is create, update, delete, start, stop, restore or permissions.
	Op    string       `json:"op"`
	Env   api.EnvName  `json:"env"`
	Flow  api.FlowName `json:"flow,omitempty"`
	Admin bool         `json:"admin,omitempty"`
	// DisplayName is the flow's name for create and update.
	DisplayName string `json:"displayName,omitempty"`
	// Put and Delete are the permission changes (principal and role; principal).
	Put    []string `json:"put,omitempty"`
	Delete []string `json:"delete,omitempty"`
}

// Recorder is the dry-run Target: reads go to the wrapped target, writes are
// recorded and answered as the service would answer them, never sent.
// Created flows get made-up names (00000000-0000-0000-0000-00000000000N)
// that no real flow has. It is safe for concurrent use.
type Recorder struct {
	Target Target

	mu    sync.Mutex
	calls []Call
}

var _ Target = (*Recorder)(nil)

// NewRecorder wraps t.
func NewRecorder(t Target) *Recorder { return &Recorder{Target: t} }

// Calls returns the writes recorded so far, in order.
func (r *Recorder) Calls() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Call, len(r.calls))
	copy(out, r.calls)
	return out
}

func (r *Recorder) add(c Call) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, c)
	return len(r.calls)
}

// ListFlows reads through.
func (r *Recorder) ListFlows(ctx context.Context, env api.EnvName, opts client.ListFlowsOptions) ([]api.Flow, error) {
	return r.Target.ListFlows(ctx, env, opts)
}

// GetFlow reads through.
func (r *Recorder) GetFlow(ctx context.Context, env api.EnvName, flow api.FlowName, opts client.GetFlowOptions) (api.Flow, error) {
	return r.Target.GetFlow(ctx, env, flow, opts)
}

// AdminGetFlow reads through.
func (r *Recorder) AdminGetFlow(ctx context.Context, env api.EnvName, flow api.FlowName, includeDefinition bool) (api.Flow, error) {
	return r.Target.AdminGetFlow(ctx, env, flow, includeDefinition)
}

// CreateFlow records the create and answers a flow with a made-up name.
func (r *Recorder) CreateFlow(ctx context.Context, env api.EnvName, props api.FlowProperties) (api.Flow, error) {
	if err := ctx.Err(); err != nil {
		return api.Flow{}, err
	}
	n := r.add(Call{Op: "create", Env: env, DisplayName: props.DisplayName})
	props.Definition, props.ConnectionReferences = nil, nil
	return api.Flow{Name: api.FlowName(fmt.Sprintf("00000000-0000-0000-0000-%012d", n)), Properties: props}, nil
}

// UpdateFlow records the update.
func (r *Recorder) UpdateFlow(ctx context.Context, env api.EnvName, flow api.FlowName, props api.FlowProperties) (api.Flow, error) {
	if err := ctx.Err(); err != nil {
		return api.Flow{}, err
	}
	r.add(Call{Op: "update", Env: env, Flow: flow, DisplayName: props.DisplayName})
	props.Definition, props.ConnectionReferences = nil, nil
	return api.Flow{Name: flow, Properties: props}, nil
}

// DeleteFlow records the delete.
func (r *Recorder) DeleteFlow(ctx context.Context, env api.EnvName, flow api.FlowName, admin bool) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	r.add(Call{Op: "delete", Env: env, Flow: flow, Admin: admin})
	return true, nil
}

// StartFlow records the start.
func (r *Recorder) StartFlow(ctx context.Context, env api.EnvName, flow api.FlowName, admin bool) error {
	return r.simple(ctx, Call{Op: "start", Env: env, Flow: flow, Admin: admin})
}

// StopFlow records the stop.
func (r *Recorder) StopFlow(ctx context.Context, env api.EnvName, flow api.FlowName, admin bool) error {
	return r.simple(ctx, Call{Op: "stop", Env: env, Flow: flow, Admin: admin})
}

// RestoreFlow records the restore.
func (r *Recorder) RestoreFlow(ctx context.Context, env api.EnvName, flow api.FlowName) error {
	return r.simple(ctx, Call{Op: "restore", Env: env, Flow: flow, Admin: true})
}

// ModifyPermissions records the permission changes.
func (r *Recorder) ModifyPermissions(ctx context.Context, env api.EnvName, flow api.FlowName, admin bool, req api.ModifyPermissionsRequest) error {
	c := Call{Op: "permissions", Env: env, Flow: flow, Admin: admin}
	for _, p := range req.Put {
		c.Put = append(c.Put, string(p.Properties.Principal.ID)+" "+p.Properties.RoleName)
	}
	for _, d := range req.Delete {
		c.Delete = append(c.Delete, d.ID)
	}
	return r.simple(ctx, c)
}

func (r *Recorder) simple(ctx context.Context, c Call) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r.add(c)
	return nil
}

// Preview is a dry run of Apply: the same steps against a Recorder around t,
// with no journal and no links recorded. It returns what Apply would do and
// the writes it would send. Reads (secrets of existing flows, lookups) do go
// to t.
func Preview(ctx context.Context, t Target, p diff.Plan, opts Options) (Result, []Call, error) {
	rec := NewRecorder(t)
	opts.Journal = ""
	opts.Links = nil
	res, err := Apply(ctx, rec, p, opts)
	return res, rec.Calls(), err
}
