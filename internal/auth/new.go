package auth

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/flowsync/flowsync/internal/token"
)

// devicecodeClientID is the public client that device-code sign-in uses when
// no --client-id is given: the Azure PowerShell application, which the
// PowerShell modules for Power Automate use against the Flow service (NOTES §1.2).
const devicecodeClientID = "1950a258-227b-4e31-a9cf-717495945fc2"

// microsoftAuthorityHosts are the Entra hosts that answer instance
// discovery. Any other host (the emulator, a private cloud) gets discovery
// turned off, or the first token request would go to the public cloud.
var microsoftAuthorityHosts = map[string]bool{
	"login.microsoftonline.com":        true,
	"login.microsoftonline.us":         true,
	"login-us.microsoftonline.com":     true,
	"login.usgovcloudapi.net":          true,
	"login.chinacloudapi.cn":           true,
	"login.partner.microsoftonline.cn": true,
	"login.microsoftonline.de":         true,
	"login.microsoft.com":              true,
	"login.windows.net":                true,
	"sts.windows.net":                  true,
}

// New builds the token source that opts describe. It checks that everything
// the method needs is present (naming the flag and the variable that supply
// a missing value) and, for certificates, that the file can be read; it does
// not contact Entra.
func New(opts Options) (*Source, error) {
	o, err := resolve(opts)
	if err != nil {
		return nil, redactErr(err, opts.secrets())
	}
	if o.Method == MethodToken {
		return newTokenSource(o)
	}
	cred, err := newCredential(o)
	if err != nil {
		return nil, redactErr(fmt.Errorf("auth %s: %w", o.Method, err), o.secrets())
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	bypass := bypassesCache(o)
	fetch := func(ctx context.Context, scope string, fresh bool) (accessToken, error) {
		tro := policy.TokenRequestOptions{Scopes: []string{scope}}
		if fresh && bypass {
			tro.Claims = freshClaims(now())
		}
		t, err := cred.GetToken(ctx, tro)
		if err != nil {
			return accessToken{}, err
		}
		return accessToken{Token: t.Token, ExpiresOn: t.ExpiresOn}, nil
	}
	src := newSource(o.Method, fetch, o.Now, o.secrets())
	src.stale = func(scope string) string {
		switch o.Method {
		case MethodAzureCLI:
			return "the Azure CLI handed back the same token from its cache: sign in again (az login) or wait until it expires, and check this machine's clock"
		case MethodDefault:
			return "the Azure SDK's default credential handed back the same token: check this machine's clock, or choose a method with --auth (secret, certificate, workloadidentity, managedidentity)"
		}
		return "Entra handed back the same token: check this machine's clock and run again"
	}
	return src, nil
}

// bypassesCache reports whether the credential New builds for o answers a
// request that carries claims with a new token from Entra, skipping the
// cache it keeps (every credential built on the Entra library does; the
// Azure CLI refuses claims and would ask for "az login --claims-challenge",
// and the SDK's default chain may end at the Azure CLI).
func bypassesCache(o Options) bool {
	switch o.Method {
	case MethodSecret, MethodCertificate, MethodWorkloadIdentity, MethodDeviceCode, MethodManagedIdentity:
		return true
	case MethodDefault:
		// The explicit service-principal settings newCredential prefers.
		return o.ClientSecret != "" || o.CertificatePath != "" ||
			(o.FederatedTokenFile != "" && o.ClientID != "" && o.Tenant != "")
	}
	return false
}

// freshClaims is the claims request that makes the Entra library skip its
// cache and ask Entra again: the shape of the claims challenge a service
// sends for a revoked token, asking for a token issued no earlier than now
// (OpenID Connect "claims" parameter, access_token member, nbf essential).
// Uncertain: Entra documents this claims value as coming from a service's
// 401 challenge; here flowsync writes it itself after the service refused
// the token as expired. It carries no secret and names only a time.
func freshClaims(now time.Time) string {
	return fmt.Sprintf(`{"access_token":{"nbf":{"essential":true,"value":"%d"}}}`, now.Unix())
}

// resolve fills empty fields from the environment and normalizes the authority host.
func resolve(opts Options) (Options, error) {
	o := opts
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	o.Getenv = getenv
	m, err := ParseMethod(string(o.Method))
	if err != nil {
		return o, err
	}
	o.Method = m
	fill := func(field *string, env string) {
		if *field == "" {
			*field = strings.TrimSpace(getenv(env))
		}
	}
	fill(&o.Tenant, EnvTenantID)
	fill(&o.ClientID, EnvClientID)
	fill(&o.CertificatePath, EnvCertificatePath)
	fill(&o.FederatedTokenFile, EnvFederatedTokenFile)
	fill(&o.AuthorityHost, EnvAuthorityHost)
	// Secrets are taken verbatim: a space may be part of one.
	if o.ClientSecret == "" {
		o.ClientSecret = getenv(EnvClientSecret)
	}
	if o.CertificatePassword == "" {
		o.CertificatePassword = getenv(EnvCertificatePassword)
	}
	if o.AuthorityHost != "" {
		host, err := normalizeAuthorityHost(o.AuthorityHost)
		if err != nil {
			return o, err
		}
		o.AuthorityHost = host
		if u, _ := url.Parse(host); !microsoftAuthorityHosts[strings.ToLower(u.Host)] {
			o.DisableInstanceDiscovery = true
		}
	}
	return o, nil
}

// normalizeAuthorityHost accepts a bare host name (login.microsoftonline.us)
// as well as a URL, and insists on https as Entra libraries do.
func normalizeAuthorityHost(h string) (string, error) {
	h = strings.TrimSpace(h)
	if !strings.Contains(h, "://") {
		h = "https://" + h
	}
	u, err := url.Parse(h)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("%s %q: not a host name or https URL", FlagAuthorityHost, h)
	}
	if u.Scheme != "https" {
		return "", fmt.Errorf("%s %q: Entra authorities must use https", FlagAuthorityHost, h)
	}
	return strings.TrimSuffix(u.String(), "/") + "/", nil
}

func newTokenSource(o Options) (*Source, error) {
	raw := bearer(o.Getenv(EnvToken))
	if raw == "" {
		return nil, fmt.Errorf("auth %s: %w", MethodToken, missingError{describe("bearer token", "", EnvToken)})
	}
	// A token has one audience. Pipelines that hold a second one for the
	// PowerApps and BAP hosts (connections, the admin environment list) give
	// it in EnvPowerAppsToken, and one for Microsoft Graph (principal
	// lookups) in EnvGraphToken; otherwise FLOWSYNC_TOKEN serves every scope
	// it can.
	powerApps := bearer(o.Getenv(EnvPowerAppsToken))
	graph := bearer(o.Getenv(EnvGraphToken))
	// variable names where the token for scope comes from, "" when there is
	// none: Graph refuses a Power Automate token, so FLOWSYNC_TOKEN serves
	// Graph only when it is one Graph accepts (no audience, as the
	// emulator's "any" tokens, or Graph's own).
	variable := func(scope string) string {
		switch {
		case IsGraphScope(scope) && graph != "":
			return EnvGraphToken
		case IsGraphScope(scope) && !servesGraph(raw):
			return ""
		case IsPowerAppsScope(scope) && powerApps != "":
			return EnvPowerAppsToken
		}
		return EnvToken
	}
	values := map[string]string{EnvToken: raw, EnvPowerAppsToken: powerApps, EnvGraphToken: graph}
	// The caller vouches for the tokens; their lifetime is unknown here, so
	// they are handed out until the process ends or the service refuses them.
	fetch := func(_ context.Context, scope string, _ bool) (accessToken, error) {
		v := variable(scope)
		if v == "" {
			return accessToken{}, fmt.Errorf("%w: Microsoft Graph (principal lookups) needs a token of its own; %s is for the Power Automate APIs, which Graph refuses: set %s to a token for %s (for example: az account get-access-token --resource %s)",
				ErrMissingSetting, EnvToken, EnvGraphToken, resourceOf(scope), resourceOf(scope))
		}
		return accessToken{Token: values[v], ExpiresOn: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)}, nil
	}
	src := newSource(MethodToken, fetch, o.Now, nil)
	src.stale = func(scope string) string {
		v := variable(scope)
		return fmt.Sprintf("%s holds a fixed token: set %s to a new token for %s (for example: az account get-access-token --resource %s) and run again, or sign in with another --auth method",
			v, v, resourceOf(scope), resourceOf(scope))
	}
	return src, nil
}

// resourceOf is the resource (audience) a scope asks for: the scope without
// its "/.default" suffix, as az account get-access-token --resource takes it.
func resourceOf(scope string) string {
	return strings.TrimSuffix(scope, "/.default")
}

// servesGraph reports whether a bearer token may be sent to Microsoft Graph:
// it is a JWT whose audience is Graph's or empty (the emulator's tokens for
// every path). A token whose audience cannot be read is not sent: Entra
// access tokens for the Power Automate APIs are readable JWTs.
func servesGraph(raw string) bool {
	c, err := token.Parse(raw)
	if err != nil {
		return false
	}
	return c.Audience == "" || isGraphAudience(c.Audience)
}

// bearer trims a token and a leading "Bearer ".
func bearer(raw string) string {
	raw = strings.TrimSpace(raw)
	if len(raw) > len("bearer ") && strings.EqualFold(raw[:len("bearer ")], "bearer ") {
		raw = strings.TrimSpace(raw[len("bearer "):])
	}
	return raw
}

// IsPowerAppsScope reports whether scope asks for the PowerApps/BAP
// audience (service.powerapps.*, or service.apps.appsplatform.us for DoD)
// rather than the Flow one.
func IsPowerAppsScope(scope string) bool {
	s := strings.ToLower(scope)
	return strings.Contains(s, "service.powerapps.") || strings.Contains(s, "service.apps.appsplatform.")
}

// graphHosts are Microsoft Graph's hosts in the clouds flowsync knows
// (internal/client EndpointsFor) and Graph's application id, which Entra
// also writes as the audience of Graph tokens.
var graphHosts = map[string]bool{
	"graph.microsoft.com":                  true,
	"graph.microsoft.us":                   true,
	"dod-graph.microsoft.us":               true,
	"microsoftgraph.chinacloudapi.cn":      true,
	"00000003-0000-0000-c000-000000000000": true,
}

// IsGraphScope reports whether scope asks for Microsoft Graph (principal
// lookups) rather than a Power Automate API.
func IsGraphScope(scope string) bool {
	return isGraphAudience(strings.TrimSuffix(strings.TrimSpace(scope), ".default"))
}

// isGraphAudience reports whether a token audience (or a scope's resource)
// is Microsoft Graph's: the host of a URL, with or without a trailing slash,
// or the application id.
func isGraphAudience(aud string) bool {
	a := strings.ToLower(strings.TrimSpace(aud))
	a = strings.TrimPrefix(a, "https://")
	host, _, _ := strings.Cut(a, "/")
	return graphHosts[host]
}

// ErrMissingSetting is matched (errors.Is) by New's errors for a method
// whose tenant, client id, secret, certificate or token file is not set.
var ErrMissingSetting = errors.New("missing setting")

// missingError lists the settings a method needs and did not get.
type missingError []string

func (m missingError) Error() string { return "missing " + strings.Join(m, " and ") }

func (m missingError) Is(target error) bool { return target == ErrMissingSetting }

// check returns nil when nothing is missing.
func (m missingError) check() error {
	if len(m) == 0 {
		return nil
	}
	return m
}

func describe(what, flag, env string) string {
	if flag == "" {
		return fmt.Sprintf("%s (set %s)", what, env)
	}
	return fmt.Sprintf("%s (set %s or %s)", what, flag, env)
}

func (o Options) clientOptions() azcore.ClientOptions {
	co := azcore.ClientOptions{Transport: o.Transport}
	co.Telemetry.ApplicationID = "flowsync"
	if o.AuthorityHost != "" {
		co.Cloud = cloud.Configuration{ActiveDirectoryAuthorityHost: o.AuthorityHost}
	}
	return co
}

// needApp lists which of the tenant and client id, which every
// service-principal method needs, are missing.
func (o Options) needApp() missingError {
	var m missingError
	if o.Tenant == "" {
		m = append(m, describe("tenant id", FlagTenant, EnvTenantID))
	}
	if o.ClientID == "" {
		m = append(m, describe("application (client) id", FlagClientID, EnvClientID))
	}
	return m
}

func newCredential(o Options) (azcore.TokenCredential, error) {
	switch o.Method {
	case MethodSecret:
		return secretCredential(o)
	case MethodCertificate:
		return certificateCredential(o)
	case MethodDeviceCode:
		if o.DeviceCodePrompt == nil {
			return nil, errors.New("no device-code prompt configured")
		}
		clientID := o.ClientID
		if clientID == "" {
			clientID = devicecodeClientID
		}
		prompt := o.DeviceCodePrompt
		return azidentity.NewDeviceCodeCredential(&azidentity.DeviceCodeCredentialOptions{
			ClientOptions:            o.clientOptions(),
			ClientID:                 clientID,
			TenantID:                 o.Tenant, // "" means organizations
			DisableInstanceDiscovery: o.DisableInstanceDiscovery,
			UserPrompt: func(ctx context.Context, m azidentity.DeviceCodeMessage) error {
				return prompt(ctx, m.Message)
			},
		})
	case MethodAzureCLI:
		return azidentity.NewAzureCLICredential(&azidentity.AzureCLICredentialOptions{TenantID: o.Tenant})
	case MethodManagedIdentity:
		mo := &azidentity.ManagedIdentityCredentialOptions{ClientOptions: o.clientOptions()}
		if o.ClientID != "" {
			mo.ID = azidentity.ClientID(o.ClientID)
		}
		return azidentity.NewManagedIdentityCredential(mo)
	case MethodWorkloadIdentity:
		return workloadCredential(o)
	case MethodDefault:
		// Explicit service-principal settings win, in the order the Azure
		// SDK's own chain tries them; otherwise the SDK's chain (managed
		// identity, Azure CLI, …) decides.
		switch {
		case o.ClientSecret != "":
			return secretCredential(o)
		case o.CertificatePath != "":
			return certificateCredential(o)
		case o.FederatedTokenFile != "" && o.ClientID != "" && o.Tenant != "":
			return workloadCredential(o)
		}
		return azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{
			ClientOptions:            o.clientOptions(),
			TenantID:                 o.Tenant,
			DisableInstanceDiscovery: o.DisableInstanceDiscovery,
		})
	}
	return nil, fmt.Errorf("unknown method %q", o.Method)
}

func secretCredential(o Options) (azcore.TokenCredential, error) {
	m := o.needApp()
	if o.ClientSecret == "" {
		m = append(m, describe("client secret", FlagClientSecret, EnvClientSecret))
	}
	if err := m.check(); err != nil {
		return nil, err
	}
	return azidentity.NewClientSecretCredential(o.Tenant, o.ClientID, o.ClientSecret, &azidentity.ClientSecretCredentialOptions{
		ClientOptions:            o.clientOptions(),
		DisableInstanceDiscovery: o.DisableInstanceDiscovery,
	})
}

func certificateCredential(o Options) (azcore.TokenCredential, error) {
	m := o.needApp()
	if o.CertificatePath == "" {
		m = append(m, describe("client certificate", FlagCertificate, EnvCertificatePath))
	}
	if err := m.check(); err != nil {
		return nil, err
	}
	certs, key, err := LoadCertificate(o.CertificatePath, o.CertificatePassword)
	if err != nil {
		return nil, err
	}
	if _, ok := key.(*rsa.PrivateKey); !ok {
		return nil, fmt.Errorf("certificate %s: the private key is %T; Entra client assertions need an RSA key", o.CertificatePath, key)
	}
	return azidentity.NewClientCertificateCredential(o.Tenant, o.ClientID, certs, key, &azidentity.ClientCertificateCredentialOptions{
		ClientOptions:            o.clientOptions(),
		DisableInstanceDiscovery: o.DisableInstanceDiscovery,
	})
}

// workloadCredential exchanges an OIDC token that a CI system wrote to a file
// (GitHub Actions, Azure DevOps, Kubernetes) for an Entra token.
func workloadCredential(o Options) (azcore.TokenCredential, error) {
	m := o.needApp()
	if o.FederatedTokenFile == "" {
		m = append(m, describe("federated token file", "", EnvFederatedTokenFile))
	}
	if err := m.check(); err != nil {
		return nil, err
	}
	return azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{
		ClientOptions:            o.clientOptions(),
		ClientID:                 o.ClientID,
		TenantID:                 o.Tenant,
		TokenFilePath:            o.FederatedTokenFile,
		DisableInstanceDiscovery: o.DisableInstanceDiscovery,
	})
}
