package auth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/flowsync/flowsync/internal/auth"
	"github.com/flowsync/flowsync/internal/redact"
)

// env is an injected environment.
func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestParseMethod(t *testing.T) {
	tests := []struct {
		in   string
		want auth.Method
	}{
		{"", auth.MethodDefault},
		{"default", auth.MethodDefault},
		{"secret", auth.MethodSecret},
		{"Certificate", auth.MethodCertificate},
		{"devicecode", auth.MethodDeviceCode},
		{"azcli", auth.MethodAzureCLI},
		{"managedidentity", auth.MethodManagedIdentity},
		{" workloadidentity ", auth.MethodWorkloadIdentity},
		{"TOKEN", auth.MethodToken},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := auth.ParseMethod(tt.in)
			if err != nil || got != tt.want {
				t.Errorf("ParseMethod(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
	t.Run("unknown", func(t *testing.T) {
		_, err := auth.ParseMethod("password")
		if err == nil {
			t.Fatal("no error")
		}
		for _, m := range auth.Methods() {
			if !strings.Contains(err.Error(), string(m)) {
				t.Errorf("error %q does not list %q", err, m)
			}
		}
	})
}

func TestNewMissingSettings(t *testing.T) {
	tests := []struct {
		name    string
		opts    auth.Options
		want    []string
		notWant []string
	}{
		{"secret with nothing", auth.Options{Method: auth.MethodSecret},
			[]string{"--tenant or AZURE_TENANT_ID", "--client-id or AZURE_CLIENT_ID", "--client-secret or AZURE_CLIENT_SECRET"}, nil},
		{"secret without the secret", auth.Options{Method: auth.MethodSecret, Tenant: "t", ClientID: "c"},
			[]string{"client secret (set --client-secret or AZURE_CLIENT_SECRET)"}, []string{"--tenant", "--client-id"}},
		{"secret without tenant", auth.Options{Method: auth.MethodSecret, ClientID: "c", ClientSecret: "placeholder-secret"},
			[]string{"tenant id (set --tenant or AZURE_TENANT_ID)"}, []string{"--client-id", "--client-secret", "placeholder-secret"}},
		{"certificate without file", auth.Options{Method: auth.MethodCertificate, Tenant: "t", ClientID: "c"},
			[]string{"client certificate (set --certificate or AZURE_CLIENT_CERTIFICATE_PATH)"}, nil},
		{"certificate without client id", auth.Options{Method: auth.MethodCertificate, Tenant: "t", CertificatePath: "x.pfx"},
			[]string{"--client-id or AZURE_CLIENT_ID"}, nil},
		{"workload identity without token file", auth.Options{Method: auth.MethodWorkloadIdentity, Tenant: "t", ClientID: "c"},
			[]string{"federated token file (set AZURE_FEDERATED_TOKEN_FILE)"}, nil},
		{"token without variable", auth.Options{Method: auth.MethodToken},
			[]string{"auth token", "FLOWSYNC_TOKEN"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Getenv = env(nil)
			_, err := auth.New(tt.opts)
			if !errors.Is(err, auth.ErrMissingSetting) {
				t.Fatalf("error = %v, want ErrMissingSetting", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(err.Error(), w) {
					t.Errorf("error %q contains %q", err, w)
				}
			}
		})
	}
}

func TestNewReadsEnvironment(t *testing.T) {
	vars := map[string]string{
		"AZURE_TENANT_ID":     "11111111-2222-3333-4444-555555555555",
		"AZURE_CLIENT_ID":     "aaaaaaaa-0000-0000-0000-000000000001",
		"AZURE_CLIENT_SECRET": "placeholder-secret",
	}
	for _, m := range []auth.Method{auth.MethodSecret, auth.MethodDefault, "Secret", ""} {
		t.Run(string(m), func(t *testing.T) {
			s, err := auth.New(auth.Options{Method: m, Getenv: env(vars), AuthorityHost: "https://127.0.0.1:1"})
			if err != nil {
				t.Fatal(err)
			}
			want, _ := auth.ParseMethod(string(m))
			if s.Method() != want {
				t.Errorf("Method() = %q, want %q", s.Method(), want)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name string
		opts auth.Options
		want string
	}{
		{"unknown method", auth.Options{Method: "kerberos"}, "unknown authentication method"},
		{"device code without prompt", auth.Options{Method: auth.MethodDeviceCode}, "no device-code prompt"},
		{"http authority", auth.Options{Method: auth.MethodSecret, AuthorityHost: "http://127.0.0.1:1"}, "must use https"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Getenv = env(nil)
			_, err := auth.New(tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestNewCertificateNeedsRSA(t *testing.T) {
	_, err := auth.New(auth.Options{
		Method: auth.MethodCertificate, Tenant: "t", ClientID: "c", Getenv: env(nil),
		CertificatePath: writeFile(t, "ec.pem", ecPEM(t)),
	})
	if err == nil || !strings.Contains(err.Error(), "need an RSA key") {
		t.Errorf("error = %v, want the RSA requirement", err)
	}
}

func TestTokenMethod(t *testing.T) {
	tests := []struct {
		name  string
		value string
		want  string
	}{
		{"raw", "eyJ0eXAi.payload.sig", "eyJ0eXAi.payload.sig"},
		{"with Bearer prefix and newline", "Bearer eyJ0eXAi.payload.sig\n", "eyJ0eXAi.payload.sig"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := auth.New(auth.Options{Method: auth.MethodToken, Getenv: env(map[string]string{"FLOWSYNC_TOKEN": tt.value})})
			if err != nil {
				t.Fatal(err)
			}
			for _, scope := range []string{"https://service.flow.microsoft.com//.default", "anything", ""} {
				got, err := s.Token(context.Background(), scope)
				if err != nil || got != tt.want {
					t.Errorf("Token(%q) = %q, %v; want %q", scope, got, err, tt.want)
				}
			}
		})
	}
}

func TestTokenMethodPowerAppsToken(t *testing.T) {
	s, err := auth.New(auth.Options{Method: auth.MethodToken, Getenv: env(map[string]string{
		"FLOWSYNC_TOKEN": "flow-token", "FLOWSYNC_POWERAPPS_TOKEN": "Bearer powerapps-token",
	})})
	if err != nil {
		t.Fatal(err)
	}
	for scope, want := range map[string]string{
		"https://service.flow.microsoft.com//.default":     "flow-token",
		"https://service.powerapps.com//.default":          "powerapps-token",
		"https://gov.service.powerapps.us//.default":       "powerapps-token",
		"https://service.apps.appsplatform.us//.default":   "powerapps-token",
		"https://high.service.flow.microsoft.us//.default": "flow-token",
	} {
		got, err := s.Token(context.Background(), scope)
		if err != nil || got != want {
			t.Errorf("Token(%q) = %q, %v; want %q", scope, got, err, want)
		}
	}
}

func TestOptionsRedaction(t *testing.T) {
	secret := "client-secret-placeholder-7f3a"
	password := "cert-password-placeholder-91c2"
	o := auth.Options{
		Method: auth.MethodSecret, Tenant: "tenant-id", ClientID: "client-id",
		ClientSecret: secret, CertificatePath: "/certs/app.pfx", CertificatePassword: password,
		Getenv: env(nil),
	}
	var textLog, jsonLog bytes.Buffer
	slog.New(slog.NewTextHandler(&textLog, nil)).Info("auth", "opts", o)
	slog.New(slog.NewJSONHandler(&jsonLog, nil)).Info("auth", "opts", &o)
	js, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	renderings := map[string]string{
		"String":    o.String(),
		"GoString":  o.GoString(),
		"%v":        fmt.Sprintf("%v", o),
		"%+v":       fmt.Sprintf("%+v", o),
		"%#v":       fmt.Sprintf("%#v", o),
		"%s":        fmt.Sprintf("%s", o),
		"%q":        fmt.Sprintf("%q", o),
		"%d":        fmt.Sprintf("%d", o),
		"%x":        fmt.Sprintf("%x", o),
		"pointer":   fmt.Sprintf("%+v", &o),
		"in struct": fmt.Sprintf("%+v", struct{ O auth.Options }{o}),
		"Sprint":    fmt.Sprint(o),
		"slog text": textLog.String(),
		"slog json": jsonLog.String(),
		"json":      string(js),
	}
	for name, got := range renderings {
		if strings.Contains(got, secret) || strings.Contains(got, password) {
			t.Errorf("%s leaks a secret: %s", name, got)
		}
		if !strings.Contains(got, redact.Placeholder) {
			t.Errorf("%s does not show the redaction: %s", name, got)
		}
		if !strings.Contains(got, "client-id") {
			t.Errorf("%s lost the non-secret fields: %s", name, got)
		}
	}

	t.Run("errors", func(t *testing.T) {
		bad := o
		bad.Method = auth.MethodCertificate
		bad.CertificatePath = writeFile(t, "bad.pfx", []byte("not a pfx "+password))
		_, err := auth.New(bad)
		if err == nil {
			t.Fatal("no error")
		}
		if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), password) {
			t.Errorf("error leaks a secret: %v", err)
		}
	})
}
