package client

import (
	"fmt"
	"net/url"
	"strings"
)

// endpointHost is one configured service host and the scope its tokens need.
type endpointHost struct {
	scheme, host, scope string
}

func endpointHosts(e Endpoints) ([]endpointHost, error) {
	var out []endpointHost
	for _, f := range []struct{ base, scope string }{{e.Flow, e.FlowScope}, {e.PowerApps, e.PowerAppsScope}, {e.BAP, e.PowerAppsScope}, {e.Graph, e.GraphScope}} {
		if f.base == "" {
			continue // Graph is optional
		}
		u, err := url.Parse(f.base)
		if err != nil {
			return nil, fmt.Errorf("endpoint %q: %w", f.base, err)
		}
		out = append(out, endpointHost{scheme: strings.ToLower(u.Scheme), host: strings.ToLower(u.Host), scope: f.scope})
	}
	return out, nil
}

// microsoftDomains are the service domains a nextLink may name besides the
// configured hosts: the Flow, PowerApps and BAP families of every cloud.
var microsoftDomains = []string{
	"microsoft.com", "microsoft.us", "appsplatform.us",
	"powerapps.com", "powerapps.us",
	"powerautomate.cn", "powerapps.cn", "microsoftonline.cn",
}

// microsoftHosts are single hosts outside those domains: PowerApps list
// nextLinks have been seen on Azure Resource Manager (NOTES.md §2.2).
// Uncertain: the sovereign ARM hosts are listed by analogy, not observation.
var microsoftHosts = []string{"management.azure.com", "management.usgovcloudapi.net", "management.chinacloudapi.cn",
	"microsoftgraph.chinacloudapi.cn"}

func isMicrosoftHost(hostname string) bool {
	h := strings.TrimSuffix(strings.ToLower(hostname), ".")
	for _, x := range microsoftHosts {
		if h == x {
			return true
		}
	}
	for _, d := range microsoftDomains {
		if h == d || strings.HasSuffix(h, "."+d) {
			return true
		}
	}
	return false
}

// checkURL decides whether a bearer token may be sent to u: a configured
// endpoint (by scheme and host, so the emulator may speak plain http), or an
// https Microsoft service host on the default port. Anything else would hand
// a token to a server nobody chose.
func (c *Client) checkURL(u *url.URL) error {
	scheme, host := strings.ToLower(u.Scheme), strings.ToLower(u.Host)
	for _, e := range c.hosts {
		if host == e.host && (scheme == e.scheme || scheme == "https") {
			return nil
		}
	}
	if scheme != "https" {
		return fmt.Errorf("refusing to send a token over %q to %s: only https, or a configured endpoint", u.Scheme, u.Host)
	}
	if port := u.Port(); isMicrosoftHost(u.Hostname()) && (port == "" || port == "443") {
		return nil
	}
	return fmt.Errorf("refusing to send a token to host %s: neither a configured endpoint nor a Microsoft service host", u.Host)
}

// scopeFor returns the scope for a link that follows a request to prev made
// with prevScope: on the same host, the same scope (all endpoints may share a
// host under --api-url); on another configured host, that host's scope;
// elsewhere (Azure Resource Manager), the same scope as before, since the
// link continues the same list.
func (c *Client) scopeFor(next, prev *url.URL, prevScope string) string {
	host := strings.ToLower(next.Host)
	if host == strings.ToLower(prev.Host) {
		return prevScope
	}
	for _, e := range c.hosts {
		if host == e.host {
			return e.scope
		}
	}
	return prevScope
}
