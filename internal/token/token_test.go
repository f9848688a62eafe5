package token

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMintParseRoundTrip(t *testing.T) {
	tests := []struct {
		name     string
		claims   Claims
		identity string
		admin    bool
	}{
		{"user", Claims{TenantID: "t", ObjectID: "u1", Expires: 10}, "user:u1", false},
		{"admin user", Claims{ObjectID: "u2", Roles: []string{RolePowerPlatformAdmin}}, "user:u2", true},
		{"app", Claims{ObjectID: "sp-oid", AppID: "app1", IDType: "app", Roles: []string{RoleGlobalAdmin}}, "app:app1", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(Mint(tt.claims))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.claims, got); diff != "" {
				t.Errorf("claims (-want +got):\n%s", diff)
			}
			if got.Identity() != tt.identity || got.IsAdmin() != tt.admin {
				t.Errorf("identity %q admin %v, want %q %v", got.Identity(), got.IsAdmin(), tt.identity, tt.admin)
			}
		})
	}
}

func TestParseMalformed(t *testing.T) {
	for _, raw := range []string{"", "abc", "a.b", "a.!!!.c", "a." + "bm90anNvbg" + ".c"} {
		if _, err := Parse(raw); !errors.Is(err, ErrMalformed) {
			t.Errorf("Parse(%q) = %v, want ErrMalformed", raw, err)
		}
	}
}
