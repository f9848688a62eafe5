package redact

import (
	"net/url"
	"regexp"
)

// Placeholder replaces every removed secret.
const Placeholder = "REDACTED"

var (
	// sigRE matches a sig= parameter that starts a query member: at the start,
	// after a non-word character (?, &, ;, quote, space), or after an encoded
	// ampersand (%26, or \u0026 as JSON writes it). The value runs to the next
	// delimiter; sig values are base64 with percent escapes, so none of these
	// characters can occur inside one.
	sigRE = regexp.MustCompile(`(?i)(^|[^a-z0-9_]|%26|\\u0026)(sig=)[^&"'\s#\\<>]*`)
	// bearerRE matches an Authorization header value or its echo in a message.
	bearerRE = regexp.MustCompile(`(?i)\b(bearer)\s+[a-z0-9\-._~+/]+=*`)
	// jwtRE matches a compact JWT (header and payload both start with "{").
	jwtRE = regexp.MustCompile(`eyJ[A-Za-z0-9_-]*\.eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*`)
)

// String returns s with SAS signature values, bearer tokens and JWTs
// replaced by Placeholder. It is idempotent.
func String(s string) string {
	s = sigRE.ReplaceAllString(s, "${1}${2}"+Placeholder)
	s = bearerRE.ReplaceAllString(s, "${1} "+Placeholder)
	s = jwtRE.ReplaceAllString(s, Placeholder)
	return s
}

// URL returns u with its SAS signature and any userinfo password replaced.
// A string that does not parse as a URL is redacted as text.
func URL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return String(u)
	}
	if p.User != nil {
		if _, ok := p.User.Password(); ok {
			p.User = url.UserPassword(p.User.Username(), Placeholder)
			u = p.String()
		}
	}
	return String(u)
}
