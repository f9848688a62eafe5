// Package token reads and writes the claims of Entra ID access tokens as the
// Power Automate service uses them: who the caller is (oid, or appid with
// idtyp=app), which tenant, and which directory roles (wids).
//
// Parse does not verify signatures: the client only needs the caller's
// identity (to key its pacer), and the emulator checks claims, not signatures
// (CONTRACT.md decision 2). Mint writes unsigned tokens for the emulator.
package token

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Well-known directory role template ids that grant admin scope.
const (
	RolePowerPlatformAdmin = "11648597-926c-4cf3-9c36-bcebb0ba8dcc"
	RoleGlobalAdmin        = "62e90394-69f5-4237-9190-012177145e10"
)

// Claims are the token claims flowsync and its emulator read.
type Claims struct {
	Audience  string   `json:"aud,omitempty"`
	Issuer    string   `json:"iss,omitempty"`
	TenantID  string   `json:"tid,omitempty"`
	ObjectID  string   `json:"oid,omitempty"`
	AppID     string   `json:"appid,omitempty"`
	IDType    string   `json:"idtyp,omitempty"` // "app" for application tokens
	Roles     []string `json:"wids,omitempty"`
	UPN       string   `json:"upn,omitempty"`
	Name      string   `json:"name,omitempty"`
	Scope     string   `json:"scp,omitempty"`
	IssuedAt  int64    `json:"iat,omitempty"`
	NotBefore int64    `json:"nbf,omitempty"`
	Expires   int64    `json:"exp,omitempty"`
}

// IsApp reports whether the token is an application (service principal) token.
func (c Claims) IsApp() bool { return c.IDType == "app" }

// Identity is the stable key of the caller: the object id for users, the
// application id for service principals.
func (c Claims) Identity() string {
	if c.IsApp() && c.AppID != "" {
		return "app:" + c.AppID
	}
	if c.ObjectID != "" {
		return "user:" + c.ObjectID
	}
	if c.AppID != "" {
		return "app:" + c.AppID
	}
	return ""
}

// IsAdmin reports whether the token carries a Power Platform or Global Administrator role.
func (c Claims) IsAdmin() bool {
	for _, r := range c.Roles {
		if r == RolePowerPlatformAdmin || r == RoleGlobalAdmin {
			return true
		}
	}
	return false
}

// ErrMalformed is returned for strings that are not a three-part JWT with a JSON payload.
var ErrMalformed = errors.New("malformed token")

// Parse returns the claims of a JWT without verifying its signature.
func Parse(raw string) (Claims, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return Claims{}, fmt.Errorf("%w: want 3 dot-separated parts, got %d", ErrMalformed, len(parts))
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return Claims{}, fmt.Errorf("%w: payload is not base64url", ErrMalformed)
	}
	var c Claims
	if err := json.Unmarshal(payload, &c); err != nil {
		return Claims{}, fmt.Errorf("%w: payload is not JSON", ErrMalformed)
	}
	return c, nil
}

// Mint writes an unsigned JWT (alg "none") carrying c.
func Mint(c Claims) string {
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
	payload, _ := json.Marshal(c) // Claims has only marshalable fields
	return header + "." + base64.RawURLEncoding.EncodeToString(payload) + "."
}
