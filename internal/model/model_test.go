package model

import (
	"testing"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/google/go-cmp/cmp"
)

func TestOwnersAndRunOnlyUsers(t *testing.T) {
	f := Flow{Permissions: []Permission{
		{Principal: "o", Type: "User", Role: api.RoleOwner},
		{Principal: "e", Type: "User", Role: api.RoleCanEdit},
		{Principal: "v", Type: "Group", Role: api.RoleCanView},
		{Principal: "s", Type: "User", Role: api.RoleCanViewWithShare},
		{Principal: "x", Type: "User", Role: "Custom"},
	}}
	owners := []Permission{f.Permissions[0], f.Permissions[1]}
	if diff := cmp.Diff(owners, f.Owners()); diff != "" {
		t.Errorf("Owners (-want +got):\n%s", diff)
	}
	runOnly := []Permission{f.Permissions[2], f.Permissions[3]}
	if diff := cmp.Diff(runOnly, f.RunOnlyUsers()); diff != "" {
		t.Errorf("RunOnlyUsers (-want +got):\n%s", diff)
	}
	shuffled := []Permission{f.Permissions[4], f.Permissions[2], f.Permissions[0], f.Permissions[3], f.Permissions[1]}
	SortPermissions(shuffled)
	if diff := cmp.Diff(f.Permissions, shuffled); diff != "" {
		t.Errorf("SortPermissions (-want +got):\n%s", diff)
	}
}
