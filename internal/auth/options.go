package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// Names of the flags and environment variables that carry credentials. Error
// messages name both so a user knows every way to supply a missing value.
const (
	EnvToken               = "FLOWSYNC_TOKEN"
	EnvPowerAppsToken      = "FLOWSYNC_POWERAPPS_TOKEN"
	EnvGraphToken          = "FLOWSYNC_GRAPH_TOKEN"
	EnvTenantID            = "AZURE_TENANT_ID"
	EnvClientID            = "AZURE_CLIENT_ID"
	EnvClientSecret        = "AZURE_CLIENT_SECRET"
	EnvCertificatePath     = "AZURE_CLIENT_CERTIFICATE_PATH"
	EnvCertificatePassword = "AZURE_CLIENT_CERTIFICATE_PASSWORD"
	EnvFederatedTokenFile  = "AZURE_FEDERATED_TOKEN_FILE"
	EnvAuthorityHost       = "AZURE_AUTHORITY_HOST"

	FlagTenant              = "--tenant"
	FlagClientID            = "--client-id"
	FlagClientSecret        = "--client-secret"
	FlagCertificate         = "--certificate"
	FlagCertificatePassword = "--certificate-password"
	FlagAuthorityHost       = "--authority-host"
)

// Entra authority hosts of the clouds flowsync knows (NOTES §1.1). GCC
// (usgov) signs in at the public host; GCC High and DoD at the US Government one.
const (
	AuthorityPublic       = "https://login.microsoftonline.com/"
	AuthorityUSGovernment = "https://login.microsoftonline.us/"
	AuthorityChina        = "https://login.chinacloudapi.cn/"
)

// Options configure New. Empty credential fields fall back to the AZURE_*
// variables read through Getenv.
type Options struct {
	Method Method

	Tenant              string
	ClientID            string
	ClientSecret        string // redacted by String, Format, LogValue and MarshalJSON
	CertificatePath     string
	CertificatePassword string // redacted like ClientSecret
	// FederatedTokenFile holds the OIDC token a CI system issued (workload
	// identity); default AZURE_FEDERATED_TOKEN_FILE.
	FederatedTokenFile string

	// AuthorityHost is the Entra host, e.g. AuthorityPublic or the emulator's
	// https URL; default AZURE_AUTHORITY_HOST, then the public cloud.
	AuthorityHost string
	// DisableInstanceDiscovery skips the metadata request Entra libraries send
	// to the public cloud before the first token. New turns it on by itself for
	// authority hosts that are not Microsoft's (the emulator, private clouds).
	DisableInstanceDiscovery bool
	// Transport sends the token requests; an *http.Client that trusts the
	// emulator's CA fits. Nil means the default transport.
	Transport policy.Transporter

	// Getenv reads the environment; nil means os.Getenv.
	Getenv func(string) string
	// DeviceCodePrompt shows the device-code sign-in instructions to the user;
	// required for MethodDeviceCode.
	DeviceCodePrompt func(ctx context.Context, message string) error
	// Now is the clock the token cache uses; nil means time.Now.
	Now func() time.Time
}

func redactField(v string) string {
	if v == "" {
		return ""
	}
	return redacted
}

// String describes the options with secrets redacted.
func (o Options) String() string {
	var b strings.Builder
	b.WriteString("auth.Options{")
	fields := [][2]string{
		{"Method", string(o.Method)},
		{"Tenant", o.Tenant},
		{"ClientID", o.ClientID},
		{"ClientSecret", redactField(o.ClientSecret)},
		{"CertificatePath", o.CertificatePath},
		{"CertificatePassword", redactField(o.CertificatePassword)},
		{"FederatedTokenFile", o.FederatedTokenFile},
		{"AuthorityHost", o.AuthorityHost},
	}
	for i, f := range fields {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%s:%q", f[0], f[1])
	}
	fmt.Fprintf(&b, " DisableInstanceDiscovery:%t}", o.DisableInstanceDiscovery)
	return b.String()
}

// GoString keeps %#v from printing the secret fields.
func (o Options) GoString() string { return o.String() }

// Format makes every fmt verb (%v, %+v, %#v, %s, %d, …) print the redacted form.
func (o Options) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(o.String())) }

// LogValue makes slog print the redacted form.
func (o Options) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("method", string(o.Method)),
		slog.String("tenant", o.Tenant),
		slog.String("clientID", o.ClientID),
		slog.String("clientSecret", redactField(o.ClientSecret)),
		slog.String("certificatePath", o.CertificatePath),
		slog.String("certificatePassword", redactField(o.CertificatePassword)),
		slog.String("federatedTokenFile", o.FederatedTokenFile),
		slog.String("authorityHost", o.AuthorityHost),
		slog.Bool("disableInstanceDiscovery", o.DisableInstanceDiscovery),
	)
}

// MarshalJSON writes the redacted form, so a debug dump cannot leak secrets.
func (o Options) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Method                   Method `json:"method,omitempty"`
		Tenant                   string `json:"tenant,omitempty"`
		ClientID                 string `json:"clientId,omitempty"`
		ClientSecret             string `json:"clientSecret,omitempty"`
		CertificatePath          string `json:"certificatePath,omitempty"`
		CertificatePassword      string `json:"certificatePassword,omitempty"`
		FederatedTokenFile       string `json:"federatedTokenFile,omitempty"`
		AuthorityHost            string `json:"authorityHost,omitempty"`
		DisableInstanceDiscovery bool   `json:"disableInstanceDiscovery,omitempty"`
	}{
		o.Method, o.Tenant, o.ClientID, redactField(o.ClientSecret), o.CertificatePath,
		redactField(o.CertificatePassword), o.FederatedTokenFile, o.AuthorityHost, o.DisableInstanceDiscovery,
	})
}

// secrets lists the values no error may contain.
func (o Options) secrets() []string {
	var s []string
	for _, v := range []string{o.ClientSecret, o.CertificatePassword} {
		if v != "" {
			s = append(s, v)
		}
	}
	return s
}
