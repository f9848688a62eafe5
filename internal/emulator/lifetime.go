package emulator

import (
	"net/http"
	"time"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/token"
)

// TokenSkew is how far a token's exp and nbf may be off the wall clock and
// still be accepted, as identity validators allow for clock drift.
const TokenSkew = 5 * time.Minute

// tokenClock is what token lifetimes are checked against: Options.TokenClock,
// by default the wall clock and never the emulator clock. Tokens are minted
// by other tools too (Entra, azidentity, scripts), whose clocks are real;
// checking them against a simulated clock moved 30 days ahead would refuse
// every one of them.
func (s *Server) tokenNow() time.Time { return s.tokenClock.Now() }

// lifetimeProblem names what is wrong with a token's exp or nbf at now
// ("expired" or "not yet valid"), "" when it is within TokenSkew. A token
// without exp or nbf is accepted: unsigned test tokens may leave them out.
func lifetimeProblem(c token.Claims, now time.Time) string {
	n := now.Unix()
	skew := int64(TokenSkew / time.Second)
	switch {
	case c.Expires != 0 && n > c.Expires+skew:
		return "expired"
	case c.NotBefore != 0 && n < c.NotBefore-skew:
		return "not yet valid"
	}
	return ""
}

// serviceTime is the service's way of writing times in token errors:
// "4/24/2019 7:44:20 AM".
func serviceTime(t time.Time) string { return t.UTC().Format("1/2/2006 3:04:05 PM") }

// checkLifetime answers a token outside its lifetime the way the service
// does: 401 ExpiredAuthenticationToken, "The access token expiry UTC time
// '…' is earlier than current UTC time '…'." (the shape of a Power Automate
// answer quoted in a public report against the Power Automate docs).
// Uncertain: the answer to a token used before its nbf was not found; the
// emulator uses the Azure Resource Manager family's InvalidAuthenticationToken.
func (s *Server) checkLifetime(c token.Claims) *response {
	now := s.tokenNow()
	switch lifetimeProblem(c, now) {
	case "expired":
		return errResp(http.StatusUnauthorized, api.CodeExpiredAuthenticationToken,
			"The access token expiry UTC time '%s' is earlier than current UTC time '%s'.",
			serviceTime(time.Unix(c.Expires, 0)), serviceTime(now)).
			setHeader("WWW-Authenticate", `Bearer authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="invalid_token", error_description="The access token has expired."`)
	case "not yet valid":
		return errResp(http.StatusUnauthorized, api.CodeInvalidAuthenticationToken,
			"The access token is not valid before UTC time '%s'; the current UTC time is '%s'.",
			serviceTime(time.Unix(c.NotBefore, 0)), serviceTime(now)).
			setHeader("WWW-Authenticate", `Bearer error="invalid_token"`)
	}
	return nil
}
