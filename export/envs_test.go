package export

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flowsync/flowsync/internal/api"
)

func TestResolveEnvironments(t *testing.T) {
	env := func(name, display string) api.Environment {
		return api.Environment{Name: api.EnvName(name), Properties: api.EnvironmentProperties{DisplayName: display}}
	}
	all := []api.Environment{
		env("Default-1111", "Contoso (default)"),
		env("aaaa-bbbb", "Dev"),
		env("cccc-dddd", "Test"),
		env("eeee-ffff", "test"),
	}
	tests := []struct {
		name    string
		wanted  []string
		want    []api.EnvName
		wantErr string
	}{
		{"by name", []string{"aaaa-bbbb"}, []api.EnvName{"aaaa-bbbb"}, ""},
		{"by name any case", []string{"AAAA-BBBB"}, []api.EnvName{"aaaa-bbbb"}, ""},
		{"by display name", []string{"dev"}, []api.EnvName{"aaaa-bbbb"}, ""},
		{"dedup and sort", []string{"Dev", "Default-1111", "aaaa-bbbb"}, []api.EnvName{"Default-1111", "aaaa-bbbb"}, ""},
		{"ambiguous display", []string{"TEST"}, nil, "ambiguous"},
		{"unknown", []string{"Prod"}, nil, `environment "Prod" not found`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ResolveEnvironments(all, tt.wanted)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []api.EnvName
			for _, e := range got {
				names = append(names, e.Name)
			}
			if diff := cmp.Diff(tt.want, names); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
