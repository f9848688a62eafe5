package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
)

// request describes a call by its parts; do builds and sends it.
type request struct {
	op     string
	method string
	svc    service
	query  []param
	segs   []string
	body   any // marshalled as JSON; nil: no body
	safety safety
	hint   string
	// unpaced calls skip the identity's pacer: Microsoft Graph counts its
	// own calls, not against the Power Automate limits the pacer keeps.
	unpaced bool
}

// do sends r; decode (may be nil) reads the 2xx body.
func (c *Client) do(ctx context.Context, r request, decode func([]byte) error) (int, error) {
	u, scope, err := c.endpoint(r.svc, r.query, r.segs...)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", r.op, err)
	}
	var body []byte
	if r.body != nil {
		if body, err = json.Marshal(r.body); err != nil {
			return 0, fmt.Errorf("%s: encode body: %w", r.op, err)
		}
	}
	return c.exec(ctx, &call{
		op: r.op, method: r.method, url: u, scope: scope, body: body,
		safety: r.safety, hint: r.hint, decode: decode, unpaced: r.unpaced,
	})
}

// get sends a GET and decodes its body into a T.
func get[T any](ctx context.Context, c *Client, op string, svc service, q []param, segs ...string) (T, error) {
	var out T
	_, err := c.do(ctx, request{op: op, method: http.MethodGet, svc: svc, query: q, segs: segs, safety: read}, into(&out))
	return out, err
}

// into returns a decoder that replaces *dst only when the whole body decodes.
func into[T any](dst *T) func([]byte) error {
	return func(b []byte) error {
		var v T
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*dst = v
		return nil
	}
}

// listURL builds the first page's URL of a list.
func (c *Client) listURL(op string, svc service, q []param, segs ...string) (*url.URL, string, error) {
	u, scope, err := c.endpoint(svc, q, segs...)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", op, err)
	}
	return u, scope, nil
}

// list collects every page of a list.
func list[T any](ctx context.Context, c *Client, op string, svc service, q []param, segs ...string) ([]T, error) {
	u, scope, err := c.listURL(op, svc, q, segs...)
	if err != nil {
		return nil, err
	}
	return collect[T](ctx, c, op, u, scope)
}

// listPages streams every page of a list to fn.
func listPages[T any](ctx context.Context, c *Client, op string, fn func([]T) error, svc service, q []param, segs ...string) error {
	u, scope, err := c.listURL(op, svc, q, segs...)
	if err != nil {
		return err
	}
	return pages(ctx, c, op, u, scope, fn)
}
