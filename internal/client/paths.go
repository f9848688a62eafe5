package client

import (
	"fmt"
	"net/url"
	"strings"
	"unicode"

	"github.com/flowsync/flowsync/internal/api"
)

// service selects a host and its resource provider.
type service int

const (
	flowService      service = iota // Flow host, Microsoft.ProcessSimple
	powerAppsService                // PowerApps host, Microsoft.PowerApps
	bapService                      // BAP host, Microsoft.BusinessAppPlatform
	graphService                    // Microsoft Graph, v1.0
)

func (c *Client) base(s service) (base, provider, scope string) {
	switch s {
	case powerAppsService:
		return c.ep.PowerApps, "/providers/Microsoft.PowerApps", c.ep.PowerAppsScope
	case bapService:
		return c.ep.BAP, "/providers/Microsoft.BusinessAppPlatform", c.ep.PowerAppsScope
	case graphService:
		return c.ep.Graph, "/v1.0", c.ep.GraphScope
	}
	return c.ep.Flow, "/providers/Microsoft.ProcessSimple", c.ep.FlowScope
}

// param is one query member; a list keeps the order stable and readable in logs.
type param struct{ key, value string }

// apiVersion is the first member of every query.
func apiVersion(v string) param { return param{"api-version", v} }

// envFilter names the environment of a PowerApps user-scope call.
func envFilter(env api.EnvName) param {
	return param{"$filter", "environment eq " + odataString(string(env))}
}

// odataString quotes s as an OData string literal (quotes doubled).
func odataString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// encodeQuery writes members in order. Values are escaped with %20 for
// spaces: '+' is only a space in form encoding, which not every server
// applies to query strings.
func encodeQuery(ps []param) string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.key)
		b.WriteByte('=')
		b.WriteString(strings.ReplaceAll(url.QueryEscape(p.value), "+", "%20"))
	}
	return b.String()
}

// endpoint builds the URL of a call: base, provider, the segments (each
// checked as an id and escaped), then the query. It returns the scope too.
func (c *Client) endpoint(s service, q []param, segments ...string) (*url.URL, string, error) {
	base, provider, scope := c.base(s)
	var b strings.Builder
	b.WriteString(base)
	b.WriteString(provider)
	for _, seg := range segments {
		if err := checkID(seg); err != nil {
			return nil, "", err
		}
		b.WriteByte('/')
		b.WriteString(url.PathEscape(seg))
	}
	if len(q) > 0 {
		b.WriteByte('?')
		b.WriteString(encodeQuery(q))
	}
	u, err := url.Parse(b.String())
	if err != nil {
		return nil, "", fmt.Errorf("build URL: %w", err)
	}
	return u, scope, nil
}

// checkID refuses path segments that could leave the intended resource
// (separators, dot segments) or that no service id contains.
func checkID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("invalid id: empty")
	case id == "." || id == "..":
		return fmt.Errorf("invalid id %q: a dot segment", id)
	case strings.ContainsAny(id, `/\`):
		return fmt.Errorf("invalid id %q: contains a path separator", id)
	case strings.IndexFunc(id, unicode.IsControl) >= 0:
		return fmt.Errorf("invalid id %q: contains a control character", id)
	}
	return nil
}

// adminSegments prefixes segments with scopes/admin when admin is set: the
// {adm} part of CONTRACT.md paths.
func adminSegments(admin bool, segments ...string) []string {
	if admin {
		return append([]string{"scopes", "admin"}, segments...)
	}
	return segments
}

// adminTag marks admin-scope operations in error messages.
func adminTag(admin bool) string {
	if admin {
		return " (admin)"
	}
	return ""
}
