package sync

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/sourcegraph/conc/pool"

	"github.com/flowsync/flowsync/export"
	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/client"
	"github.com/flowsync/flowsync/internal/model"
	"github.com/flowsync/flowsync/internal/secrets"
)

// Live reads a live environment through the API client. As admin it uses
// the admin list and Get (every flow of the environment, and the way a
// service principal reads); otherwise the user-scope calls, which see the
// flows the identity owns or co-owns.
type Live struct {
	Client *client.Client
	Admin  bool
	// Concurrency bounds the flows read at once (default 4); the pacer,
	// not this number, keeps the calls under the service's limits.
	Concurrency int
}

// listPage is the page size asked for: the most the service gives, so a
// large environment costs the fewest list calls.
const listPage = 250

// Environment finds the environment a user named (name, GUID or display
// name) among those the identity can see.
func (l Live) Environment(ctx context.Context, name string) (api.Environment, error) {
	var all []api.Environment
	var err error
	if l.Admin {
		all, err = l.Client.AdminListEnvironments(ctx)
	} else {
		all, err = l.Client.ListEnvironments(ctx)
	}
	if err != nil {
		return api.Environment{}, fmt.Errorf("list environments: %w", err)
	}
	envs, err := export.ResolveEnvironments(all, []string{name})
	if err != nil {
		return api.Environment{}, err
	}
	return envs[0], nil
}

// ListFlows returns the environment's flow summaries (no definitions),
// sorted by name, each once; soft-deleted ones only when includeDeleted
// (admin only). A name that is not a GUID is an error: it could never be
// stored or linked.
func (l Live) ListFlows(ctx context.Context, env api.EnvName, includeDeleted bool) ([]api.Flow, error) {
	var out []api.Flow
	seen := map[api.FlowName]bool{}
	add := func(page []api.Flow) error {
		for _, f := range page {
			name, err := model.CanonicalFlowName(f.Name)
			if err != nil {
				return fmt.Errorf("flow %q in %s: %w", f.Properties.DisplayName, env, err)
			}
			if seen[name] {
				continue
			}
			seen[name] = true
			f.Name = name
			out = append(out, f)
		}
		return nil
	}
	var err error
	if l.Admin {
		err = l.Client.AdminListFlowsPages(ctx, env, client.AdminListFlowsOptions{IncludeDeleted: includeDeleted, Top: listPage}, add)
	} else {
		// Uncertain (as in export): 'team AND personal' is taken to list the
		// flows the caller created and those shared with it.
		err = l.Client.ListFlowsPages(ctx, env, client.ListFlowsOptions{Filter: client.FilterTeamAndPersonal, IncludeSolutionFlows: true, Top: listPage}, add)
	}
	if err != nil {
		return nil, fmt.Errorf("list flows of environment %s: %w", env, err)
	}
	slices.SortFunc(out, func(a, b api.Flow) int { return strings.Compare(string(a.Name), string(b.Name)) })
	return out, nil
}

// ReadFlows reads each summary's flow in full (definition, connection
// references, permissions: two calls) and normalizes it as an export
// would, so that it compares with the tree. Summaries that read returns
// false for are converted from the listing alone (no definition, no
// permissions, no call): a flow nothing can pair with needs no more to be
// reported as extra. Results keep the summaries' order. The first read
// error stops the reads and is returned, naming the flow.
func (l Live) ReadFlows(ctx context.Context, env api.EnvName, summaries []api.Flow, read func(api.Flow) bool) ([]model.Flow, error) {
	out := make([]model.Flow, len(summaries))
	conc := l.Concurrency
	if conc <= 0 {
		conc = 4
	}
	p := pool.New().WithContext(ctx).WithMaxGoroutines(conc).WithCancelOnError().WithFirstError()
	for i, s := range summaries {
		if read != nil && !read(s) {
			f, _, err := model.Normalize(env, s, nil, model.NormalizeOptions{})
			if err != nil {
				return nil, err
			}
			f.Permissions = nil // unknown, not empty
			out[i] = f
			continue
		}
		p.Go(func(ctx context.Context) error {
			f, err := l.readFlow(ctx, env, s)
			if err != nil {
				return err
			}
			out[i] = f
			return nil
		})
	}
	if err := p.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

func (l Live) readFlow(ctx context.Context, env api.EnvName, s api.Flow) (model.Flow, error) {
	var full api.Flow
	var err error
	if s.Properties.State == api.StateDeleted {
		// The service serves no definition of a soft-deleted flow: its
		// summary is all there is.
		full = s
	} else if l.Admin {
		full, err = l.Client.AdminGetFlow(ctx, env, s.Name, true)
	} else {
		full, err = l.Client.GetFlow(ctx, env, s.Name, client.GetFlowOptions{})
	}
	if err != nil {
		return model.Flow{}, fmt.Errorf("read flow %s (%q) in %s: %w", s.Name, s.Properties.DisplayName, env, err)
	}
	var perms []api.Permission
	if s.Properties.State != api.StateDeleted {
		if perms, err = l.Client.ListPermissions(ctx, env, s.Name, l.Admin); err != nil {
			return model.Flow{}, fmt.Errorf("read permissions of flow %s (%q) in %s: %w", s.Name, s.Properties.DisplayName, env, err)
		}
	}
	full.Name = s.Name
	f, rep, err := model.Normalize(env, full, perms, model.NormalizeOptions{KeepSecretValues: true})
	if err != nil {
		return model.Flow{}, err
	}
	// The live definition keeps its secret values: a placeholder of the
	// tree is compared with what the target really holds, so a value
	// supplied with --identity or --secrets that the target already has is
	// no change (and a restore or import with them makes no write the
	// second time). The plan shows paths, never these values.
	if len(rep.Values) > 0 && f.Definition != nil {
		def, _, err := secrets.Restore(f.Definition, rep.Values)
		if err != nil {
			return model.Flow{}, fmt.Errorf("read flow %s (%q) in %s: %w", s.Name, s.Properties.DisplayName, env, err)
		}
		f.Definition = def
	}
	return f, nil
}

// Connections lists the environment's connections (admin: every
// connection of the environment; otherwise the caller's).
func (l Live) Connections(ctx context.Context, env api.EnvName) ([]api.Connection, error) {
	var cs []api.Connection
	var err error
	if l.Admin {
		cs, err = l.Client.AdminListConnections(ctx, env)
	} else {
		cs, err = l.Client.ListConnections(ctx, env)
	}
	if err != nil {
		return nil, fmt.Errorf("list connections of environment %s: %w", env, err)
	}
	slices.SortFunc(cs, func(a, b api.Connection) int { return strings.Compare(string(a.Name), string(b.Name)) })
	return cs, nil
}

// Connectors lists the connectors available in the environment.
func (l Live) Connectors(ctx context.Context, env api.EnvName) ([]api.Connector, error) {
	cs, err := l.Client.ListConnectors(ctx, env)
	if err != nil {
		return nil, fmt.Errorf("list connectors of environment %s: %w", env, err)
	}
	slices.SortFunc(cs, func(a, b api.Connector) int { return strings.Compare(string(a.Name), string(b.Name)) })
	return cs, nil
}
