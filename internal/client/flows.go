package client

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/flowsync/flowsync/internal/api"
)

// Values of ListFlowsOptions.Filter.
const (
	FilterPersonal        = "personal"          // flows the caller created
	FilterTeam            = "team"              // flows shared with the caller
	FilterTeamAndPersonal = "team AND personal" // both
)

// ListFlowsOptions narrow List My Flows.
type ListFlowsOptions struct {
	// Filter is "", FilterPersonal, FilterTeam or FilterTeamAndPersonal.
	Filter string
	// IncludeSolutionFlows adds solution-aware flows, which the service
	// leaves out of this list by default.
	IncludeSolutionFlows bool
	// Top is the page size (the service allows up to 250); 0 leaves it to
	// the service. Every page is still read.
	Top int
}

func (o ListFlowsOptions) query() ([]param, error) {
	q := []param{apiVersion(api.APIVersion)}
	switch o.Filter {
	case "":
	case FilterPersonal, FilterTeam, FilterTeamAndPersonal:
		// Uncertain: only search('personal') and search('team') are seen in
		// public callers; the combined form follows the service's search syntax.
		q = append(q, param{"$filter", "search(" + odataString(o.Filter) + ")"})
	default:
		return nil, fmt.Errorf("unknown flow filter %q (want %q, %q or %q)", o.Filter, FilterPersonal, FilterTeam, FilterTeamAndPersonal)
	}
	if o.Top < 0 {
		return nil, fmt.Errorf("negative $top %d", o.Top)
	}
	if o.Top > 0 {
		q = append(q, param{"$top", strconv.Itoa(o.Top)})
	}
	if o.IncludeSolutionFlows {
		q = append(q, param{"include", "includeSolutionCloudFlows"})
	}
	return q, nil
}

// ListFlows lists the flows the caller owns or co-owns in env, without
// definitions.
func (c *Client) ListFlows(ctx context.Context, env api.EnvName, opts ListFlowsOptions) ([]api.Flow, error) {
	var all []api.Flow
	err := c.ListFlowsPages(ctx, env, opts, func(fs []api.Flow) error {
		all = append(all, fs...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return nonNil(all), nil
}

// ListFlowsPages is ListFlows one page at a time, so that memory stays
// bounded; fn's error stops the listing and is returned unchanged.
func (c *Client) ListFlowsPages(ctx context.Context, env api.EnvName, opts ListFlowsOptions, fn func([]api.Flow) error) error {
	op := fmt.Sprintf("list flows in env %s", env)
	q, err := opts.query()
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return listPages(ctx, c, op, fn, flowService, q, "environments", string(env), "flows")
}

// AdminListFlowsOptions narrow List Flows as Admin (V2).
type AdminListFlowsOptions struct {
	// IncludeDeleted adds soft-deleted flows (state api.StateDeleted).
	IncludeDeleted bool
	// Top is the page size; 0 leaves it to the service.
	Top int
}

func (o AdminListFlowsOptions) query() ([]param, error) {
	q := []param{apiVersion(api.APIVersion)}
	if o.Top < 0 {
		return nil, fmt.Errorf("negative $top %d", o.Top)
	}
	if o.Top > 0 {
		q = append(q, param{"$top", strconv.Itoa(o.Top)})
	}
	if o.IncludeDeleted {
		// Uncertain: the connector's parameter is known, its query form is
		// not (NOTES.md §12.4); include=softDeletedFlows is the contract's.
		q = append(q, param{"include", "softDeletedFlows"})
	}
	return q, nil
}

// AdminListFlows lists every flow of env through the admin scope (V2): no
// definitions, no connection references.
func (c *Client) AdminListFlows(ctx context.Context, env api.EnvName, opts AdminListFlowsOptions) ([]api.Flow, error) {
	var all []api.Flow
	err := c.AdminListFlowsPages(ctx, env, opts, func(fs []api.Flow) error {
		all = append(all, fs...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return nonNil(all), nil
}

// AdminListFlowsPages is AdminListFlows one page at a time.
func (c *Client) AdminListFlowsPages(ctx context.Context, env api.EnvName, opts AdminListFlowsOptions, fn func([]api.Flow) error) error {
	op := fmt.Sprintf("list flows in env %s (admin)", env)
	q, err := opts.query()
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return listPages(ctx, c, op, fn, flowService, q, "scopes", "admin", "environments", string(env), "v2", "flows")
}

// GetFlowOptions shape Get Flow's answer.
type GetFlowOptions struct {
	// ExpandAPIDefinition adds each connection reference's connector
	// definition (apiDefinition), which makes the answer much larger.
	ExpandAPIDefinition bool
}

// GetFlow reads a flow with its definition and connection references. A flow
// the caller cannot see is a 404 (errors.Is api.ErrFlowNotFound).
func (c *Client) GetFlow(ctx context.Context, env api.EnvName, flow api.FlowName, opts GetFlowOptions) (api.Flow, error) {
	q := []param{apiVersion(api.APIVersion)}
	if opts.ExpandAPIDefinition {
		q = append(q, param{"$expand", "properties.connectionreferences.apidefinition"})
	}
	return get[api.Flow](ctx, c, fmt.Sprintf("get flow %s in env %s", flow, env), flowService, q,
		"environments", string(env), "flows", string(flow))
}

// AdminGetFlow reads any flow of env through the admin scope; the definition
// and connection references come only with includeDefinition.
func (c *Client) AdminGetFlow(ctx context.Context, env api.EnvName, flow api.FlowName, includeDefinition bool) (api.Flow, error) {
	q := []param{apiVersion(api.APIVersion)}
	if includeDefinition {
		// Uncertain: parameter name from the connector (NOTES.md §12.4).
		q = append(q, param{"includeFlowDefinition", "true"})
	}
	return get[api.Flow](ctx, c, fmt.Sprintf("get flow %s in env %s (admin)", flow, env), flowService, q,
		"scopes", "admin", "environments", string(env), "flows", string(flow))
}

// flowBody is the Create and Update body.
type flowBody struct {
	Properties api.FlowProperties `json:"properties"`
}

// CreateFlow creates a flow; the server assigns its name. props is sent as
// given (Extra included): callers send displayName, state, definition and
// connectionReferences. Create is not idempotent: after a 5xx or a dropped
// connection the flow may exist, and the error wraps ErrAmbiguousWrite
// instead of creating a second one.
func (c *Client) CreateFlow(ctx context.Context, env api.EnvName, props api.FlowProperties) (api.Flow, error) {
	var out api.Flow
	_, err := c.do(ctx, request{
		op:     fmt.Sprintf("create flow %q in env %s", props.DisplayName, env),
		method: http.MethodPost, svc: flowService, query: []param{apiVersion(api.APIVersion)},
		segs: []string{"environments", string(env), "flows"}, body: flowBody{props}, safety: unsafe,
		hint: fmt.Sprintf("look the flow up by display name %q before creating it again", props.DisplayName),
	}, into(&out))
	return out, err
}

// UpdateFlow patches a flow with props (sent as given) and returns the flow
// the server now holds. A definition without connection references is a
// 400 InvalidOpenApiFlow.
func (c *Client) UpdateFlow(ctx context.Context, env api.EnvName, flow api.FlowName, props api.FlowProperties) (api.Flow, error) {
	var out api.Flow
	_, err := c.do(ctx, request{
		op:     fmt.Sprintf("update flow %s in env %s", flow, env),
		method: http.MethodPatch, svc: flowService, query: []param{apiVersion(api.APIVersion)},
		segs: []string{"environments", string(env), "flows", string(flow)}, body: flowBody{props}, safety: idempotent,
	}, into(&out))
	return out, err
}

// DeleteFlow deletes a flow (non-solution flows are soft-deleted for 21
// days). deleted is false when the service answered 204: the flow was
// already absent, possibly because an earlier attempt of this call that
// failed in transit deleted it.
func (c *Client) DeleteFlow(ctx context.Context, env api.EnvName, flow api.FlowName, admin bool) (deleted bool, err error) {
	status, err := c.do(ctx, request{
		op:     fmt.Sprintf("delete flow %s in env %s%s", flow, env, adminTag(admin)),
		method: http.MethodDelete, svc: flowService, query: []param{apiVersion(api.APIVersion)},
		segs: adminSegments(admin, "environments", string(env), "flows", string(flow)), safety: idempotent,
	}, nil)
	if err != nil {
		return false, err
	}
	return status != http.StatusNoContent, nil
}

// StartFlow turns a flow on. Turning on a flow whose connection is not
// connected is a 400 ConnectionAuthorizationFailed.
func (c *Client) StartFlow(ctx context.Context, env api.EnvName, flow api.FlowName, admin bool) error {
	return c.flowAction(ctx, "start", env, flow, admin)
}

// StopFlow turns a flow off.
func (c *Client) StopFlow(ctx context.Context, env api.EnvName, flow api.FlowName, admin bool) error {
	return c.flowAction(ctx, "stop", env, flow, admin)
}

func (c *Client) flowAction(ctx context.Context, action string, env api.EnvName, flow api.FlowName, admin bool) error {
	_, err := c.do(ctx, request{
		op:     fmt.Sprintf("%s flow %s in env %s%s", action, flow, env, adminTag(admin)),
		method: http.MethodPost, svc: flowService, query: []param{apiVersion(api.APIVersion)},
		segs: adminSegments(admin, "environments", string(env), "flows", string(flow), action), safety: idempotent,
	}, nil)
	return err
}

// RestoreFlow restores a soft-deleted flow (admin scope); it comes back
// stopped. Past retention, or for a solution flow, it is a 404 FlowNotFound.
func (c *Client) RestoreFlow(ctx context.Context, env api.EnvName, flow api.FlowName) error {
	_, err := c.do(ctx, request{
		op:     fmt.Sprintf("restore flow %s in env %s (admin)", flow, env),
		method: http.MethodPost, svc: flowService, query: []param{apiVersion(api.APIVersion)},
		segs: []string{"scopes", "admin", "environments", string(env), "flows", string(flow), "restore"}, safety: idempotent,
	}, nil)
	return err
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
