package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/redact"
)

// pages GETs u and every page its nextLink (or @odata.nextLink) names, and
// hands each page's items to fn in order; fn's error stops the walk and is
// returned as it is. Links are followed verbatim: they already carry
// api-version, filters and a skip token, and may name another host, which
// must pass checkURL. The same link twice is a loop and an error.
func pages[T any](ctx context.Context, c *Client, op string, u *url.URL, scope string, fn func([]T) error) error {
	seen := map[string]bool{}
	for page := 1; u != nil; page++ {
		link := u.String()
		if seen[link] {
			return fmt.Errorf("%s: page %d: nextLink loop: %s was already read", op, page, redactedLink(u))
		}
		seen[link] = true
		pageOp := op
		if page > 1 {
			pageOp = fmt.Sprintf("%s: page %d", op, page)
		}
		var list api.List[T]
		_, err := c.exec(ctx, &call{
			op: pageOp, method: http.MethodGet, url: u, scope: scope, safety: read,
			decode: func(b []byte) error {
				list = api.List[T]{}
				return json.Unmarshal(b, &list)
			},
		})
		if err != nil {
			return err
		}
		if err := fn(list.Value); err != nil {
			return err
		}
		next := list.Next()
		if next == "" {
			return nil
		}
		nu, err := u.Parse(next) // relative links resolve against the page; absolute ones stay as they are
		if err != nil {
			return fmt.Errorf("%s: page %d: bad nextLink: %s", op, page, redact.String(err.Error()))
		}
		nu.RawQuery = wireSafeQuery(nu.RawQuery)
		scope = c.scopeFor(nu, u, scope)
		u = nu
	}
	return nil
}

// collect gathers every page into one slice.
func collect[T any](ctx context.Context, c *Client, op string, u *url.URL, scope string) ([]T, error) {
	var all []T
	err := pages(ctx, c, op, u, scope, func(items []T) error {
		all = append(all, items...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if all == nil {
		all = []T{}
	}
	return all, nil
}

// wireSafeQuery percent-encodes the bytes a request line cannot carry
// (spaces, controls, non-ASCII) and nothing else, so that a link written with
// a literal space still arrives as its author meant while every escape
// already present is sent unchanged.
func wireSafeQuery(q string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(q); i++ {
		c := q[i]
		if c <= ' ' || c >= 0x7f {
			if b.Len() == 0 {
				b.WriteString(q[:i])
			}
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(c)
		}
	}
	if b.Len() == 0 {
		return q
	}
	return b.String()
}

// redactedLink shows a link in an error without its query values.
func redactedLink(u *url.URL) string {
	return u.Scheme + "://" + u.Host + u.EscapedPath()
}
