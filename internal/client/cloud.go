package client

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/flowsync/flowsync/internal/redact"
)

// Cloud names a Microsoft cloud; each has its own hosts and token audiences.
type Cloud string

// The clouds flowsync knows (CONTRACT.md, Hosts, clouds, tokens).
const (
	Public    Cloud = "public"
	USGov     Cloud = "usgov"     // GCC
	USGovHigh Cloud = "usgovhigh" // GCC High
	DoD       Cloud = "dod"
	China     Cloud = "china" // operated by 21Vianet
)

var clouds = []Cloud{Public, USGov, USGovHigh, DoD, China}

// Endpoints are the three service hosts, Microsoft Graph (for principal
// lookups) and the token scopes that reach them. The fields are plain so
// that a caller can override any one of them (the sovereign audiences are
// not settled, NOTES.md §12.6). The BAP host takes tokens for
// PowerAppsScope. Graph is optional: without it LookupPrincipals fails and
// everything else works.
type Endpoints struct {
	Flow, PowerApps, BAP      string // base URLs, "https://host" (a path prefix is allowed)
	FlowScope, PowerAppsScope string // OAuth2 scopes, "<audience>/.default"
	Graph, GraphScope         string // Microsoft Graph base URL and scope
}

// EndpointsFor returns the hosts and scopes of a cloud.
func EndpointsFor(c Cloud) (Endpoints, error) {
	switch c {
	case Public:
		return Endpoints{
			Flow: "https://api.flow.microsoft.com", PowerApps: "https://api.powerapps.com", BAP: "https://api.bap.microsoft.com",
			FlowScope: "https://service.flow.microsoft.com//.default", PowerAppsScope: "https://service.powerapps.com//.default",
			Graph: "https://graph.microsoft.com", GraphScope: "https://graph.microsoft.com/.default",
		}, nil
	case USGov:
		// Uncertain: sources disagree on the GCC audiences (NOTES.md §12.6); these
		// follow Microsoft's own PowerShell modules. Override the scope fields if
		// a tenant rejects them.
		return Endpoints{
			Flow: "https://gov.api.flow.microsoft.us", PowerApps: "https://gov.api.powerapps.us", BAP: "https://gov.api.bap.microsoft.us",
			FlowScope: "https://gov.service.flow.microsoft.us//.default", PowerAppsScope: "https://gov.service.powerapps.us//.default",
			// Uncertain: Microsoft's GCC guidance puts GCC tenants on the global
			// Graph service; one third-party table lists graph.microsoft.us for
			// GCC too. Override Graph and GraphScope if the tenant refuses.
			Graph: "https://graph.microsoft.com", GraphScope: "https://graph.microsoft.com/.default",
		}, nil
	case USGovHigh:
		// Uncertain: as for USGov, the PowerApps audience differs between sources.
		return Endpoints{
			Flow: "https://high.api.flow.microsoft.us", PowerApps: "https://high.api.powerapps.us", BAP: "https://high.api.bap.microsoft.us",
			FlowScope: "https://high.service.flow.microsoft.us//.default", PowerAppsScope: "https://high.service.powerapps.us//.default",
			Graph: "https://graph.microsoft.us", GraphScope: "https://graph.microsoft.us/.default",
		}, nil
	case DoD:
		return Endpoints{
			Flow: "https://api.flow.appsplatform.us", PowerApps: "https://api.apps.appsplatform.us", BAP: "https://api.bap.appsplatform.us",
			FlowScope: "https://service.flow.appsplatform.us//.default", PowerAppsScope: "https://service.apps.appsplatform.us//.default",
			Graph: "https://dod-graph.microsoft.us", GraphScope: "https://dod-graph.microsoft.us/.default",
		}, nil
	case China:
		// Uncertain: the China Flow host comes from one source and its audience
		// from none, so FlowScope is left empty and New refuses to start until
		// the caller sets it. The PowerApps audience is derived from its host.
		return Endpoints{
			Flow: "https://api.powerautomate.cn", PowerApps: "https://api.powerapps.cn", BAP: "https://api.bap.partner.microsoftonline.cn",
			PowerAppsScope: "https://service.powerapps.cn//.default",
			Graph:          "https://microsoftgraph.chinacloudapi.cn", GraphScope: "https://microsoftgraph.chinacloudapi.cn/.default",
		}, nil
	}
	return Endpoints{}, fmt.Errorf("unknown cloud %q (want one of %s)", string(c), cloudNames())
}

// ParseCloud reads a cloud name as given on the command line (case-insensitive).
func ParseCloud(s string) (Cloud, error) {
	c := Cloud(strings.ToLower(strings.TrimSpace(s)))
	for _, k := range clouds {
		if c == k {
			return c, nil
		}
	}
	return "", fmt.Errorf("unknown cloud %q (want one of %s)", s, cloudNames())
}

func cloudNames() string {
	names := make([]string, len(clouds))
	for i, c := range clouds {
		names[i] = string(c)
	}
	return strings.Join(names, ", ")
}

// WithBaseURL points all hosts, Graph included, at one server (the
// emulator serves every path), keeping the scopes. Validate (called by New)
// rejects a bad URL.
func (e Endpoints) WithBaseURL(u string) Endpoints {
	u = strings.TrimRight(strings.TrimSpace(u), "/")
	e.Flow, e.PowerApps, e.BAP, e.Graph = u, u, u, u
	return e
}

// Validate checks that every host is an absolute http(s) URL without query or
// fragment and that every scope is set.
func (e Endpoints) Validate() error {
	for _, f := range []struct{ name, v string }{{"Flow", e.Flow}, {"PowerApps", e.PowerApps}, {"BAP", e.BAP}} {
		if err := ValidateBaseURL(f.v); err != nil {
			return fmt.Errorf("%s endpoint: %w", f.name, err)
		}
	}
	if e.FlowScope == "" {
		return fmt.Errorf("no token scope for the Flow endpoint %s: set one", e.Flow)
	}
	if e.PowerAppsScope == "" {
		return fmt.Errorf("no token scope for the PowerApps endpoint %s: set one", e.PowerApps)
	}
	if e.Graph != "" {
		if err := ValidateBaseURL(e.Graph); err != nil {
			return fmt.Errorf("the Graph endpoint: %w", err)
		}
		if e.GraphScope == "" {
			return fmt.Errorf("no token scope for the Graph endpoint %s: set one", e.Graph)
		}
	}
	return nil
}

// ValidateBaseURL checks a base URL such as the --api-url flag: absolute,
// http or https, with a host and without query, fragment or credentials.
func ValidateBaseURL(u string) error {
	if u == "" {
		return fmt.Errorf("empty base URL")
	}
	p, err := url.Parse(u)
	if err != nil {
		return fmt.Errorf("base URL %q: want an absolute http or https URL", redact.URL(u))
	}
	u = redact.URL(u)
	switch {
	case p.Scheme != "http" && p.Scheme != "https":
		return fmt.Errorf("base URL %q: want an absolute http or https URL", u)
	case p.Host == "":
		return fmt.Errorf("base URL %q: no host", u)
	case p.RawQuery != "" || p.ForceQuery:
		return fmt.Errorf("base URL %q: must not have a query", u)
	case p.Fragment != "":
		return fmt.Errorf("base URL %q: must not have a fragment", u)
	case p.User != nil:
		return fmt.Errorf("base URL %q: must not carry credentials", u)
	}
	return nil
}
