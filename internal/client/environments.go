package client

import (
	"context"
	"fmt"

	"github.com/flowsync/flowsync/internal/api"
)

// ListEnvironments lists the environments the caller can use (Flow host).
func (c *Client) ListEnvironments(ctx context.Context) ([]api.Environment, error) {
	return list[api.Environment](ctx, c, "list environments", flowService,
		[]param{apiVersion(api.APIVersion)}, "environments")
}

// GetEnvironment reads one environment (Flow host). An unknown environment
// is a 403 EnvironmentAccessDenied (errors.Is api.ErrEnvironmentNotFound).
func (c *Client) GetEnvironment(ctx context.Context, env api.EnvName) (api.Environment, error) {
	return get[api.Environment](ctx, c, fmt.Sprintf("get env %s", env), flowService,
		[]param{apiVersion(api.APIVersion)}, "environments", string(env))
}

// AdminListEnvironments lists every environment of the tenant through the
// BAP admin scope: the way a service principal finds environments.
func (c *Client) AdminListEnvironments(ctx context.Context) ([]api.Environment, error) {
	return list[api.Environment](ctx, c, "list environments (admin)", bapService,
		[]param{apiVersion(api.APIVersion)}, "scopes", "admin", "environments")
}
