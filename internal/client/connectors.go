package client

import (
	"context"
	"fmt"
	"net/http"

	"github.com/flowsync/flowsync/internal/api"
)

// ListConnectors lists the connectors available in env (PowerApps host).
func (c *Client) ListConnectors(ctx context.Context, env api.EnvName) ([]api.Connector, error) {
	return list[api.Connector](ctx, c, fmt.Sprintf("list connectors in env %s", env), powerAppsService,
		[]param{apiVersion(api.APIVersion), envFilter(env)}, "apis")
}

// GetConnector reads one connector in env (PowerApps host).
func (c *Client) GetConnector(ctx context.Context, env api.EnvName, name api.APIName) (api.Connector, error) {
	return get[api.Connector](ctx, c, fmt.Sprintf("get connector %s in env %s", name, env), powerAppsService,
		[]param{apiVersion(api.APIVersion), envFilter(env)}, "apis", string(name))
}

// ListConnections lists the caller's connections in env (PowerApps host).
func (c *Client) ListConnections(ctx context.Context, env api.EnvName) ([]api.Connection, error) {
	return list[api.Connection](ctx, c, fmt.Sprintf("list connections in env %s", env), powerAppsService,
		[]param{apiVersion(api.APIVersion), envFilter(env)}, "connections")
}

// AdminListConnections lists every connection in env through the admin
// scope: the way a service principal sees connections.
func (c *Client) AdminListConnections(ctx context.Context, env api.EnvName) ([]api.Connection, error) {
	return list[api.Connection](ctx, c, fmt.Sprintf("list connections in env %s (admin)", env), powerAppsService,
		[]param{apiVersion(api.APIVersion)}, "scopes", "admin", "environments", string(env), "connections")
}

// AdminListConnectionsPages is AdminListConnections one page at a time.
func (c *Client) AdminListConnectionsPages(ctx context.Context, env api.EnvName, fn func([]api.Connection) error) error {
	return listPages(ctx, c, fmt.Sprintf("list connections in env %s (admin)", env), fn, powerAppsService,
		[]param{apiVersion(api.APIVersion)}, "scopes", "admin", "environments", string(env), "connections")
}

// CreateConnection creates connection newID (a client-chosen id, usually a
// dashless GUID) to connector apiName in env. An empty
// req.Properties.Environment.Name is set to env. The PUT names its target,
// so a repeat cannot make a second connection; OAuth connectors come back
// unauthenticated until a person signs in.
func (c *Client) CreateConnection(ctx context.Context, env api.EnvName, apiName api.APIName, newID api.ConnectionName, req api.CreateConnectionRequest) (api.Connection, error) {
	if req.Properties.Environment.Name == "" {
		req.Properties.Environment.Name = env
	}
	var out api.Connection
	_, err := c.do(ctx, request{
		op:     fmt.Sprintf("create connection %s to %s in env %s", newID, apiName, env),
		method: http.MethodPut, svc: powerAppsService,
		query: []param{apiVersion(api.ConnectionPutAPIVersion), envFilter(env)},
		segs:  []string{"apis", string(apiName), "connections", string(newID)}, body: req, safety: idempotent,
	}, into(&out))
	return out, err
}
