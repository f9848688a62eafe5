package emulator

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/flowsync/flowsync/internal/api"
)

// codeCannotChangeCreator refuses changes to the creator's Owner role.
// Uncertain: the service's code for this was not captured.
const codeCannotChangeCreator = "CannotChangeFlowCreatorRole"

type permPrincipalJSON struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

type permPropsJSON struct {
	RoleName       string            `json:"roleName"`
	PermissionType string            `json:"permissionType"`
	Principal      permPrincipalJSON `json:"principal"`
}

type permJSON struct {
	Name       string        `json:"name"`
	ID         string        `json:"id"`
	Type       string        `json:"type"`
	Properties permPropsJSON `json:"properties"`
}

// principalType is the type of a permission's principal: the tenant's
// record, or Tenant for the tenant id itself.
func (st *state) principalType(id api.PrincipalID) string {
	if strings.EqualFold(string(id), st.tenant) {
		return api.PrincipalTenant
	}
	if p := st.principal(string(id)); p != nil {
		return p.Type
	}
	return api.PrincipalUser
}

func (st *state) renderPerm(e *envRec, f *flowRec, pid api.PrincipalID, role string) permJSON {
	return permJSON{
		Name: string(pid),
		ID:   flowID(e, f) + "/permissions/" + string(pid),
		Type: "/providers/Microsoft.ProcessSimple/environments/flows/permissions",
		Properties: permPropsJSON{
			RoleName:       role,
			PermissionType: "Principal",
			Principal:      permPrincipalJSON{ID: string(pid), Type: st.principalType(pid)},
		},
	}
}

// listPermissions answers owners (Owner, CanEdit) and run-only users
// (CanView, CanViewWithShare) in one list: the creator first, then the
// others by principal id.
func (s *Server) listPermissions(c *call) *response {
	return s.read(func(st *state) *response {
		e, f, resp := findFlow(st, c)
		if resp != nil {
			return resp
		}
		out := listJSON[permJSON]{Value: []permJSON{st.renderPerm(e, f, f.Creator, api.RoleOwner)}}
		perms := slices.Clone(f.Permissions)
		slices.SortFunc(perms, func(a, b FlowPermission) int {
			return strings.Compare(lower(string(a.Principal)), lower(string(b.Principal)))
		})
		for _, p := range perms {
			out.Value = append(out.Value, st.renderPerm(e, f, p.Principal, p.Role))
		}
		return jsonResp(http.StatusOK, out)
	})
}

// modifyPermissions applies put and delete together, all or nothing:
// every entry is checked before any is applied.
func (s *Server) modifyPermissions(c *call) *response {
	var req api.ModifyPermissionsRequest
	if err := json.Unmarshal(c.body, &req); err != nil {
		return errResp(http.StatusBadRequest, api.CodeInvalidRequestContent,
			"The request content must be {\"put\":[…],\"delete\":[…]}.")
	}
	if len(req.Put) == 0 && len(req.Delete) == 0 {
		return errResp(http.StatusBadRequest, api.CodeInvalidRequestContent, "The request has no 'put' or 'delete' entries.")
	}
	return s.mutate(c, func(st *state) *response {
		e, f, resp := findFlow(st, c)
		if resp != nil {
			return resp
		}
		creator := lower(string(f.Creator))
		type grant struct {
			id   api.PrincipalID
			role string
		}
		var grants []grant
		for _, p := range req.Put {
			pr := p.Properties.Principal
			if pr.ID == "" {
				return errResp(http.StatusBadRequest, api.CodeInvalidRequestContent, "A 'put' entry has no principal id.")
			}
			if strings.EqualFold(p.Properties.RoleName, api.RoleOwner) {
				return errResp(http.StatusBadRequest, api.CodeInvalidRoleName,
					"The role 'Owner' cannot be granted: the flow's creator is its Owner; grant 'CanEdit' to add a co-owner.")
			}
			role, ok := grantableRole(p.Properties.RoleName)
			if !ok {
				return errResp(http.StatusBadRequest, api.CodeInvalidRoleName,
					"The role '%s' is not valid: want CanEdit, CanView or CanViewWithShare.", p.Properties.RoleName)
			}
			id := pr.ID
			known := ""
			if strings.EqualFold(string(id), st.tenant) {
				known = api.PrincipalTenant
				id = api.PrincipalID(st.tenant)
			} else if rec := st.principal(string(id)); rec != nil {
				known = rec.Type
				id = rec.ID
			} else {
				return errResp(http.StatusBadRequest, api.CodePrincipalNotFound,
					"The principal '%s' was not found in tenant '%s'.", pr.ID, st.tenant)
			}
			if pr.Type == "" {
				return errResp(http.StatusBadRequest, api.CodeInvalidRequestContent, "The principal '%s' has no type.", pr.ID)
			}
			if !strings.EqualFold(pr.Type, known) {
				return errResp(http.StatusBadRequest, api.CodeInvalidRequestContent,
					"The principal '%s' is a %s, not a %s.", pr.ID, known, pr.Type)
			}
			if lower(string(id)) == creator {
				return errResp(http.StatusBadRequest, codeCannotChangeCreator,
					"The role of the flow's creator '%s' (Owner) cannot be changed.", id)
			}
			grants = append(grants, grant{id: id, role: role})
		}
		var removals []string
		for _, d := range req.Delete {
			id, ok := permissionPrincipal(d.ID, string(e.Name), string(f.Name))
			if !ok {
				return errResp(http.StatusBadRequest, api.CodeInvalidRequestContent,
					"The 'delete' id '%s' is neither a principal id nor a permission id of this flow.", d.ID)
			}
			if lower(id) == creator {
				return errResp(http.StatusBadRequest, codeCannotChangeCreator,
					"The flow's creator '%s' is its Owner and cannot be removed.", id)
			}
			removals = append(removals, lower(id))
		}
		perms := slices.DeleteFunc(slices.Clone(f.Permissions), func(p FlowPermission) bool {
			return slices.Contains(removals, lower(string(p.Principal)))
		})
		for _, g := range grants {
			perms = slices.DeleteFunc(perms, func(p FlowPermission) bool { return strings.EqualFold(string(p.Principal), string(g.id)) })
			perms = append(perms, FlowPermission{Principal: g.id, Role: g.role})
		}
		f.Permissions = perms
		return empty(http.StatusOK)
	})
}

// permissionPrincipal reads a delete id: a bare principal id, or a
// permission id …/environments/{env}/flows/{flow}/permissions/{principal}
// of this flow (with or without scopes/admin).
func permissionPrincipal(id, env, flow string) (string, bool) {
	id = strings.TrimSpace(id)
	if id == "" {
		return "", false
	}
	if !strings.Contains(id, "/") {
		return id, true
	}
	l := lower(id)
	i := strings.LastIndex(l, "/permissions/")
	if i < 0 || !strings.HasSuffix(l[:i], lower("/environments/"+env+"/flows/"+flow)) {
		return "", false
	}
	p := id[i+len("/permissions/"):]
	return p, p != "" && !strings.Contains(p, "/")
}
