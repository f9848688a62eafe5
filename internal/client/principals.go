package client

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/flowsync/flowsync/internal/api"
)

// MaxLookupBatch is the most ids one getByIds call takes (Microsoft Graph's
// published limit); LookupPrincipals splits longer lists.
const MaxLookupBatch = 1000

// principalTypes are the directory object types LookupPrincipals asks for:
// the principal types a flow permission can name (tenants are no directory
// objects).
var principalTypes = []string{"user", "group", "servicePrincipal"}

// LookupPrincipals resolves object ids to the users, groups and service
// principals the directory holds, through Microsoft Graph's
// POST /v1.0/directoryObjects/getByIds, in batches of MaxLookupBatch. The
// map holds the ids found, keyed as given; an id missing from it is not a
// principal of the tenant ("principal not found"), which is an answer, not
// an error. Ids must be object ids (GUIDs): any other string is an error
// naming it, since Graph would refuse the whole batch for it.
//
// The token is for Endpoints.GraphScope and needs Directory.Read.All (or
// more); Graph calls do not go through the Power Automate pacer. getByIds
// is a POST that only reads, so it is retried like a GET.
//
// Not in CONTRACT.md: Graph is a separate service. The emulator serves the
// same path from its principals (internal/emulator graph.go).
func (c *Client) LookupPrincipals(ctx context.Context, ids []api.PrincipalID) (map[api.PrincipalID]api.Principal, error) {
	if c.ep.Graph == "" {
		return nil, fmt.Errorf("look up principals: no Microsoft Graph endpoint is configured (Endpoints.Graph)")
	}
	byLower := map[string]api.PrincipalID{}
	var batch []string
	for _, id := range ids {
		if !isObjectID(string(id)) {
			return nil, fmt.Errorf("look up principals: %q is not an object id (a GUID such as 00000000-0000-0000-0000-000000000000)", string(id))
		}
		k := strings.ToLower(string(id))
		if _, dup := byLower[k]; dup {
			continue
		}
		byLower[k] = id
		batch = append(batch, k)
	}
	// Sorted so that the same ids make the same batches, whatever their order.
	slices.Sort(batch)
	out := make(map[api.PrincipalID]api.Principal, len(batch))
	for chunk := range slices.Chunk(batch, MaxLookupBatch) {
		op := fmt.Sprintf("look up %d principals in Microsoft Graph", len(chunk))
		var res api.List[api.DirectoryObject]
		_, err := c.do(ctx, request{
			op: op, method: http.MethodPost, svc: graphService,
			segs:   []string{"directoryObjects", "getByIds"},
			body:   api.GetByIDsRequest{IDs: chunk, Types: principalTypes},
			safety: idempotent, unpaced: true,
		}, into(&res))
		if err != nil {
			return nil, err
		}
		for _, o := range res.Value {
			asked, ok := byLower[strings.ToLower(o.ID)]
			typ := o.PrincipalType()
			if !ok || typ == "" {
				continue // not asked for, or not a principal: never trust extra entries
			}
			out[asked] = api.Principal{
				ID: asked, Type: typ, DisplayName: o.DisplayName,
				Email: o.Mail, UserPrincipalName: o.UserPrincipalName,
			}
		}
	}
	return out, nil
}

// isObjectID reports whether s has the 8-4-4-4-12 hex form of an Entra
// object id.
func isObjectID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := range len(s) {
		ch := s[i]
		switch i {
		case 8, 13, 18, 23:
			if ch != '-' {
				return false
			}
		default:
			if !('0' <= ch && ch <= '9' || 'a' <= ch && ch <= 'f' || 'A' <= ch && ch <= 'F') {
				return false
			}
		}
	}
	return true
}
