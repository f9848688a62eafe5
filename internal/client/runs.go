package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/flowsync/flowsync/internal/api"
)

// ListRunsOptions narrow a flow's run history.
type ListRunsOptions struct {
	// Status keeps runs with this status (Succeeded, Failed, Running, Cancelled…).
	Status string
	// StartedAfter keeps runs started at or after it; StartedBefore runs
	// started strictly before it. Zero means unbounded.
	StartedAfter, StartedBefore time.Time
}

func (o ListRunsOptions) query() []param {
	q := []param{apiVersion(api.APIVersion)}
	var terms []string
	if o.Status != "" {
		terms = append(terms, "status eq "+odataString(o.Status))
	}
	// Uncertain: date filters on runs are used by public callers but not
	// confirmed by every source (NOTES.md §12.13).
	if !o.StartedAfter.IsZero() {
		terms = append(terms, "startTime ge "+o.StartedAfter.UTC().Format(time.RFC3339Nano))
	}
	if !o.StartedBefore.IsZero() {
		terms = append(terms, "startTime lt "+o.StartedBefore.UTC().Format(time.RFC3339Nano))
	}
	if len(terms) > 0 {
		q = append(q, param{"$filter", strings.Join(terms, " and ")})
	}
	return q
}

// ListRuns lists a flow's runs, newest first as the service orders them.
func (c *Client) ListRuns(ctx context.Context, env api.EnvName, flow api.FlowName, opts ListRunsOptions) ([]api.Run, error) {
	return list[api.Run](ctx, c, fmt.Sprintf("list runs of flow %s in env %s", flow, env), flowService, opts.query(),
		"environments", string(env), "flows", string(flow), "runs")
}

// ListRunsPages is ListRuns one page (of 50) at a time.
func (c *Client) ListRunsPages(ctx context.Context, env api.EnvName, flow api.FlowName, opts ListRunsOptions, fn func([]api.Run) error) error {
	return listPages(ctx, c, fmt.Sprintf("list runs of flow %s in env %s", flow, env), fn, flowService, opts.query(),
		"environments", string(env), "flows", string(flow), "runs")
}

// GetRunOptions shape Get Flow Run.
type GetRunOptions struct {
	// Actions asks for the run's top-level action results
	// ($expand=properties/actions) in Run.Properties.Actions.
	Actions bool
}

// GetRun reads one run of a flow, as real clients do after listing runs.
// An unknown run is an error matching api.ErrRunNotFound (404
// WorkflowRunNotFound, wrapped in AzureResourceManagerRequestFailed).
func (c *Client) GetRun(ctx context.Context, env api.EnvName, flow api.FlowName, run string, opts GetRunOptions) (api.Run, error) {
	q := []param{apiVersion(api.APIVersion)}
	if opts.Actions {
		q = append(q, param{"$expand", "properties/actions"})
	}
	return get[api.Run](ctx, c, fmt.Sprintf("get run %s of flow %s in env %s", run, flow, env), flowService, q,
		"environments", string(env), "flows", string(flow), "runs", run)
}

// CancelRun cancels a running flow run.
func (c *Client) CancelRun(ctx context.Context, env api.EnvName, flow api.FlowName, run string) error {
	_, err := c.do(ctx, request{
		op:     fmt.Sprintf("cancel run %s of flow %s in env %s", run, flow, env),
		method: http.MethodPost, svc: flowService, query: []param{apiVersion(api.APIVersion)},
		segs: []string{"environments", string(env), "flows", string(flow), "runs", run, "cancel"}, safety: idempotent,
	}, nil)
	return err
}

// ListTriggers lists a flow's triggers (resubmit needs the trigger name).
func (c *Client) ListTriggers(ctx context.Context, env api.EnvName, flow api.FlowName) ([]api.Trigger, error) {
	return list[api.Trigger](ctx, c, fmt.Sprintf("list triggers of flow %s in env %s", flow, env), flowService,
		[]param{apiVersion(api.APIVersion)}, "environments", string(env), "flows", string(flow), "triggers")
}

// ResubmitRun starts a new run with a past run's trigger outputs. Every copy
// of the request starts a run, so a failure in transit wraps
// ErrAmbiguousWrite rather than being re-sent.
func (c *Client) ResubmitRun(ctx context.Context, env api.EnvName, flow api.FlowName, trigger, run string) error {
	_, err := c.do(ctx, request{
		op:     fmt.Sprintf("resubmit run %s of flow %s in env %s", run, flow, env),
		method: http.MethodPost, svc: flowService, query: []param{apiVersion(api.APIVersion)},
		segs:   []string{"environments", string(env), "flows", string(flow), "triggers", trigger, "histories", run, "resubmit"},
		safety: unsafe, hint: "look for a new run of the flow before resubmitting again",
	}, nil)
	return err
}

// ListCallbackURL returns the URL that invokes a Request trigger. The URL
// carries a SAS signature (sig=) that grants access by itself: never log it.
func (c *Client) ListCallbackURL(ctx context.Context, env api.EnvName, flow api.FlowName, trigger string) (string, error) {
	op := fmt.Sprintf("list callback URL of trigger %s of flow %s in env %s", trigger, flow, env)
	var out api.CallbackURLResponse
	// POST, but it only reads: safe to repeat.
	_, err := c.do(ctx, request{
		op: op, method: http.MethodPost, svc: flowService, query: []param{apiVersion(api.APIVersion)},
		segs:   []string{"environments", string(env), "flows", string(flow), "triggers", trigger, "listCallbackUrl"},
		safety: idempotent,
	}, into(&out))
	if err != nil {
		return "", err
	}
	if out.URL() == "" {
		return "", fmt.Errorf("%s: %w", op, errors.New("no URL in the answer (response.value and value are empty)"))
	}
	return out.URL(), nil
}
