package client

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestEndpointsFor(t *testing.T) {
	tests := []struct {
		cloud Cloud
		want  Endpoints
	}{
		{Public, Endpoints{"https://api.flow.microsoft.com", "https://api.powerapps.com", "https://api.bap.microsoft.com",
			"https://service.flow.microsoft.com//.default", "https://service.powerapps.com//.default",
			"https://graph.microsoft.com", "https://graph.microsoft.com/.default"}},
		{USGov, Endpoints{"https://gov.api.flow.microsoft.us", "https://gov.api.powerapps.us", "https://gov.api.bap.microsoft.us",
			"https://gov.service.flow.microsoft.us//.default", "https://gov.service.powerapps.us//.default",
			"https://graph.microsoft.com", "https://graph.microsoft.com/.default"}},
		{USGovHigh, Endpoints{"https://high.api.flow.microsoft.us", "https://high.api.powerapps.us", "https://high.api.bap.microsoft.us",
			"https://high.service.flow.microsoft.us//.default", "https://high.service.powerapps.us//.default",
			"https://graph.microsoft.us", "https://graph.microsoft.us/.default"}},
		{DoD, Endpoints{"https://api.flow.appsplatform.us", "https://api.apps.appsplatform.us", "https://api.bap.appsplatform.us",
			"https://service.flow.appsplatform.us//.default", "https://service.apps.appsplatform.us//.default",
			"https://dod-graph.microsoft.us", "https://dod-graph.microsoft.us/.default"}},
		{China, Endpoints{"https://api.powerautomate.cn", "https://api.powerapps.cn", "https://api.bap.partner.microsoftonline.cn",
			"", "https://service.powerapps.cn//.default",
			"https://microsoftgraph.chinacloudapi.cn", "https://microsoftgraph.chinacloudapi.cn/.default"}},
	}
	for _, tt := range tests {
		t.Run(string(tt.cloud), func(t *testing.T) {
			got, err := EndpointsFor(tt.cloud)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("EndpointsFor (-want +got):\n%s", diff)
			}
			// Every configured host is one checkURL accepts without configuration.
			for _, h := range []string{got.Flow, got.PowerApps, got.BAP, got.Graph} {
				if !isMicrosoftHost(strings.TrimPrefix(h, "https://")) {
					t.Errorf("%s is not a Microsoft service host", h)
				}
			}
		})
	}
	if _, err := EndpointsFor("mars"); err == nil || !strings.Contains(err.Error(), "public, usgov, usgovhigh, dod, china") {
		t.Errorf("EndpointsFor(mars) error = %v", err)
	}
}

func TestParseCloud(t *testing.T) {
	tests := []struct {
		in      string
		want    Cloud
		wantErr bool
	}{
		{"public", Public, false},
		{" USGov ", USGov, false},
		{"usgovhigh", USGovHigh, false},
		{"DoD", DoD, false},
		{"china", China, false},
		{"", "", true},
		{"gcc", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseCloud(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("ParseCloud(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "want one of public, usgov, usgovhigh, dod, china") {
				t.Errorf("error %q does not name the accepted values", err)
			}
		})
	}
}

func TestWithBaseURL(t *testing.T) {
	ep, _ := EndpointsFor(Public)
	got := ep.WithBaseURL("http://127.0.0.1:8080/")
	want := Endpoints{"http://127.0.0.1:8080", "http://127.0.0.1:8080", "http://127.0.0.1:8080", ep.FlowScope, ep.PowerAppsScope,
		"http://127.0.0.1:8080", ep.GraphScope}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("WithBaseURL (-want +got):\n%s", diff)
	}

	tests := []struct {
		name, url, wantErr string
	}{
		{"http", "http://127.0.0.1:8080", ""},
		{"https with prefix", "https://emu.test/api", ""},
		{"relative", "127.0.0.1:8080", "want an absolute http or https URL"},
		{"no host", "http://", "no host"},
		{"ftp", "ftp://h", "want an absolute http or https URL"},
		{"query", "http://h/?x=1", "must not have a query"},
		{"fragment", "http://h/#f", "must not have a fragment"},
		{"credentials", "https://u:FAKEpw@h", "must not carry credentials"},
		{"empty", "", "empty base URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ep.WithBaseURL(tt.url).Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("Validate = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Validate = %v, want %q", err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "FAKEpw") {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
}

func TestNewChecksConfig(t *testing.T) {
	china, _ := EndpointsFor(China)
	public, _ := EndpointsFor(Public)
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"china needs a flow scope", Config{Endpoints: china, Tokens: StaticToken("t")}, "no token scope for the Flow endpoint"},
		{"china with a flow scope", Config{Endpoints: func() Endpoints { e := china; e.FlowScope = "https://x//.default"; return e }(), Tokens: StaticToken("t")}, ""},
		{"no tokens", Config{Endpoints: public}, "no token source"},
		{"bad base", Config{Endpoints: public.WithBaseURL("http://h?x"), Tokens: StaticToken("t")}, "must not have a query"},
		{"negative attempts", Config{Endpoints: public, Tokens: StaticToken("t"), MaxAttempts: -1}, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("New = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("New = %v, want %q", err, tt.wantErr)
			}
		})
	}
}
