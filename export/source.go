package export

import (
	"context"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/client"
)

// Source is the live side of an export. Implementations must be safe for
// concurrent use: the engine reads flows from several goroutines.
type Source interface {
	// Environments lists the environments the identity can export.
	Environments(ctx context.Context) ([]api.Environment, error)
	// Flows calls fn with each page of the environment's flow listing
	// (summaries without definitions), in order.
	Flows(ctx context.Context, env api.EnvName, fn func([]api.Flow) error) error
	// Flow reads one flow with its definition and connection references.
	Flow(ctx context.Context, env api.EnvName, name api.FlowName) (api.Flow, error)
	// Permissions reads the flow's owners and run-only users in one call.
	Permissions(ctx context.Context, env api.EnvName, name api.FlowName) ([]api.Permission, error)
}

// ClientSource reads through the API client. As admin it uses the V2 admin
// list and the admin Get with includeFlowDefinition=true, which works for a
// service principal; otherwise the user-scope calls, including solution
// flows, which see the flows the identity owns or co-owns.
type ClientSource struct {
	Client         *client.Client
	Admin          bool
	IncludeDeleted bool // admin only: soft-deleted flows too
}

var _ Source = ClientSource{}

// Environments implements Source.
func (s ClientSource) Environments(ctx context.Context) ([]api.Environment, error) {
	if s.Admin {
		return s.Client.AdminListEnvironments(ctx)
	}
	return s.Client.ListEnvironments(ctx)
}

// Flows implements Source.
func (s ClientSource) Flows(ctx context.Context, env api.EnvName, fn func([]api.Flow) error) error {
	if s.Admin {
		return s.Client.AdminListFlowsPages(ctx, env, client.AdminListFlowsOptions{IncludeDeleted: s.IncludeDeleted}, fn)
	}
	// Uncertain: the user-scope listing without a filter returns the flows
	// the caller created; 'team AND personal' adds those shared with it
	// (co-owned). The engine de-duplicates by name in case both overlap.
	return s.Client.ListFlowsPages(ctx, env, client.ListFlowsOptions{Filter: client.FilterTeamAndPersonal, IncludeSolutionFlows: true}, fn)
}

// Flow implements Source.
func (s ClientSource) Flow(ctx context.Context, env api.EnvName, name api.FlowName) (api.Flow, error) {
	if s.Admin {
		return s.Client.AdminGetFlow(ctx, env, name, true)
	}
	return s.Client.GetFlow(ctx, env, name, client.GetFlowOptions{})
}

// Permissions implements Source.
func (s ClientSource) Permissions(ctx context.Context, env api.EnvName, name api.FlowName) ([]api.Permission, error) {
	return s.Client.ListPermissions(ctx, env, name, s.Admin)
}
