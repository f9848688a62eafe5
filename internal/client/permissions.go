package client

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/flowsync/flowsync/internal/api"
)

// IsOwnerRole reports whether a permission role makes its principal an
// owner: Owner (the creator) or CanEdit (co-owners). CONTRACT.md decision 1.
func IsOwnerRole(role string) bool {
	return strings.EqualFold(role, api.RoleOwner) || strings.EqualFold(role, api.RoleCanEdit)
}

// IsRunOnlyRole reports whether a permission role makes its principal a
// run-only user: CanView or CanViewWithShare. CONTRACT.md decision 1.
func IsRunOnlyRole(role string) bool {
	return strings.EqualFold(role, api.RoleCanView) || strings.EqualFold(role, api.RoleCanViewWithShare)
}

// ListPermissions lists every permission of a flow: owners and run-only
// users alike.
func (c *Client) ListPermissions(ctx context.Context, env api.EnvName, flow api.FlowName, admin bool) ([]api.Permission, error) {
	return list[api.Permission](ctx, c, fmt.Sprintf("list permissions of flow %s in env %s%s", flow, env, adminTag(admin)),
		flowService, []param{apiVersion(api.APIVersion)},
		adminSegments(admin, "environments", string(env), "flows", string(flow), "permissions")...)
}

// ListOwners is List Flow Owners: the permissions IsOwnerRole accepts.
func (c *Client) ListOwners(ctx context.Context, env api.EnvName, flow api.FlowName, admin bool) ([]api.Permission, error) {
	return c.permissionsWhere(ctx, env, flow, admin, IsOwnerRole)
}

// ListRunOnlyUsers is List Flow Run-Only Users: the permissions
// IsRunOnlyRole accepts.
func (c *Client) ListRunOnlyUsers(ctx context.Context, env api.EnvName, flow api.FlowName, admin bool) ([]api.Permission, error) {
	return c.permissionsWhere(ctx, env, flow, admin, IsRunOnlyRole)
}

func (c *Client) permissionsWhere(ctx context.Context, env api.EnvName, flow api.FlowName, admin bool, keep func(string) bool) ([]api.Permission, error) {
	all, err := c.ListPermissions(ctx, env, flow, admin)
	if err != nil {
		return nil, err
	}
	out := []api.Permission{}
	for _, p := range all {
		if keep(p.Properties.RoleName) {
			out = append(out, p)
		}
	}
	return out, nil
}

// ModifyPermissions grants (put) and revokes (delete) flow permissions in one
// call. Owner cannot be granted (400 InvalidRoleName); an unknown principal is
// a 400 PrincipalNotFound. An empty request sends nothing.
func (c *Client) ModifyPermissions(ctx context.Context, env api.EnvName, flow api.FlowName, admin bool, req api.ModifyPermissionsRequest) error {
	if len(req.Put) == 0 && len(req.Delete) == 0 {
		return nil
	}
	_, err := c.do(ctx, request{
		op:     fmt.Sprintf("modify permissions of flow %s in env %s%s", flow, env, adminTag(admin)),
		method: http.MethodPost, svc: flowService, query: []param{apiVersion(api.APIVersion)},
		segs: adminSegments(admin, "environments", string(env), "flows", string(flow), "modifyPermissions"),
		body: req, safety: idempotent,
	}, nil)
	return err
}

// ModifyOwners makes add co-owners (CanEdit) and removes the permissions of
// remove (bare principal ids).
func (c *Client) ModifyOwners(ctx context.Context, env api.EnvName, flow api.FlowName, admin bool, add []api.Principal, remove []api.PrincipalID) error {
	return c.ModifyPermissions(ctx, env, flow, admin, grants(api.RoleCanEdit, add, remove))
}

// ModifyRunOnlyUsers makes add run-only users (CanView) and removes the
// permissions of remove.
func (c *Client) ModifyRunOnlyUsers(ctx context.Context, env api.EnvName, flow api.FlowName, admin bool, add []api.Principal, remove []api.PrincipalID) error {
	return c.ModifyPermissions(ctx, env, flow, admin, grants(api.RoleCanView, add, remove))
}

func grants(role string, add []api.Principal, remove []api.PrincipalID) api.ModifyPermissionsRequest {
	var req api.ModifyPermissionsRequest
	for _, p := range add {
		req.Put = append(req.Put, api.PermissionPut{Properties: api.PermissionPutProperties{
			Principal: api.Principal{ID: p.ID, Type: p.Type}, RoleName: role,
		}})
	}
	for _, id := range remove {
		req.Delete = append(req.Delete, api.PermissionDelete{ID: string(id)})
	}
	return req
}
