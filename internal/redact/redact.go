package redact

import (
	"cmp"
	"encoding/base64"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/flowsync/flowsync/internal/secrets"
)

// Placeholder replaces every removed secret.
const Placeholder = "REDACTED"

var (
	// authHeaderRE matches an Authorization (or Proxy-Authorization) header
	// echoed in a message, "Authorization: <scheme> <credentials>" or
	// "authorization=<credentials>": the scheme is kept, the rest goes.
	authHeaderRE = regexp.MustCompile(`(?i)\b((?:proxy-)?authorization["']?\s*[:=]\s*["']?)(?:([a-z][a-z0-9-]*)\s+)?[^\s"',;]+`)
	// bearerRE matches a bearer token wherever it stands.
	bearerRE = regexp.MustCompile(`(?i)\b(bearer)\s+[a-z0-9\-._~+/]+=*`)
	// basicRE matches what may be HTTP basic credentials; basicCredential
	// decides.
	basicRE = regexp.MustCompile(`(?i)\b(basic)\s+([a-z0-9+/_-]{4,}={0,2})`)
	// jwtRE matches a compact JWT (header and payload both start with "{").
	jwtRE = regexp.MustCompile(`eyJ[A-Za-z0-9_-]*\.eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*`)
	// userinfoRE matches the user information of a URL in text
	// (scheme://userinfo@): a token is often given as the user name alone,
	// so the whole of it goes.
	userinfoRE = regexp.MustCompile(`(?i)\b([a-z][a-z0-9+.\-]*://)[^\s/?#@"'<>\\]+@`)
)

// String returns s with SAS signature values, Authorization header values,
// bearer tokens, basic credentials, JWTs and URL user information replaced by
// Placeholder. It is idempotent.
func String(s string) string {
	s = sasSignatures(s)
	s = userinfoRE.ReplaceAllString(s, "${1}"+Placeholder+"@")
	s = authHeaderRE.ReplaceAllStringFunc(s, func(m string) string {
		sub := authHeaderRE.FindStringSubmatch(m)
		if sub[2] != "" {
			return sub[1] + sub[2] + " " + Placeholder
		}
		return sub[1] + Placeholder
	})
	s = bearerRE.ReplaceAllString(s, "${1} "+Placeholder)
	s = basicRE.ReplaceAllStringFunc(s, func(m string) string {
		sub := basicRE.FindStringSubmatch(m)
		if !basicCredential(sub[2]) {
			return m
		}
		return sub[1] + " " + Placeholder
	})
	s = jwtRE.ReplaceAllString(s, Placeholder)
	return s
}

// sasSignatures replaces the values of SAS signature members, found by the
// rule the tree's redaction uses (secrets.SASSignatureSpans), so an encoded
// form (%26sig%3D, &amp;sig=, \u0026sig=) is caught in a log as in a flow.
func sasSignatures(s string) string {
	spans := secrets.SASSignatureSpans(s)
	if len(spans) == 0 {
		return s
	}
	var b strings.Builder
	last := 0
	for _, sp := range spans {
		b.WriteString(s[last:sp[0]])
		b.WriteString(Placeholder)
		last = sp[1]
	}
	b.WriteString(s[last:])
	return b.String()
}

// basicCredential reports whether v is base64 of "user:password", as HTTP
// basic auth sends it (so "Basic realm" or "basic setup" stay as they are).
func basicCredential(v string) bool {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(v); err == nil {
			return strings.IndexByte(string(b), ':') >= 0
		}
	}
	return false
}

// URL returns u with its user information (user name and password: either
// may be the token) and SAS signature replaced, for printing a remote or an
// endpoint: https://user:tok@host/x → https://REDACTED@host/x, and the
// scp-like user@host:path → REDACTED@host:path. Local paths and URLs without
// credentials are returned unchanged; a string that does not parse as a URL
// is redacted as text.
func URL(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		if p, err := url.Parse(u); err == nil {
			if p.User != nil {
				p.User = url.User(Placeholder)
				u = p.String()
			}
			return String(u)
		}
		// Unparsable: replace everything between the scheme and the last
		// '@' of the authority.
		rest := u[i+3:]
		end := strings.IndexAny(rest, "/?#")
		if end < 0 {
			end = len(rest)
		}
		if at := strings.LastIndexByte(rest[:end], '@'); at >= 0 {
			u = u[:i+3] + Placeholder + rest[at:]
		}
		return String(u)
	}
	// scp-like user@host:path (a ':' before any '/')
	colon := strings.IndexByte(u, ':')
	slash := strings.IndexByte(u, '/')
	if colon > 0 && (slash < 0 || colon < slash) {
		if at := strings.LastIndexByte(u[:colon], '@'); at >= 0 {
			u = Placeholder + u[at:]
		}
	}
	return String(u)
}

// Values returns String(s) with every occurrence of the given secrets
// removed too, in each form a server, a proxy or a library might echo one:
// as given, percent-encoded by any encoder (each byte other than a letter or
// digit either as it is or as %XX in either case, a space also as '+'), and
// base64 (standard and URL alphabets, padded or not). Pass "user:password"
// as a secret to remove an echoed basic-auth header whatever its alignment.
// Empty secrets are ignored.
func Values(s string, secrets ...string) string {
	var forms []string
	for _, sec := range secrets {
		if sec == "" {
			continue
		}
		forms = append(forms, escapedForms(sec),
			regexp.QuoteMeta(base64.RawStdEncoding.EncodeToString([]byte(sec))),
			regexp.QuoteMeta(base64.RawURLEncoding.EncodeToString([]byte(sec))))
	}
	if len(forms) > 0 {
		// Longest first, so a form is never cut by a shorter one inside it.
		slices.SortFunc(forms, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
		s = regexp.MustCompile(strings.Join(forms, "|")).ReplaceAllLiteralString(s, Placeholder)
	}
	return String(s)
}

// escapedForms returns a pattern matching sec with any of its characters
// other than ASCII letters and digits percent-encoded (its UTF-8 bytes) or
// not.
func escapedForms(sec string) string {
	var b strings.Builder
	for _, r := range sec {
		if 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' {
			b.WriteRune(r)
			continue
		}
		var enc strings.Builder
		for _, c := range []byte(string(r)) {
			fmt.Fprintf(&enc, "%%(?i:%02x)", c)
		}
		alts := []string{regexp.QuoteMeta(string(r)), enc.String()}
		if r == ' ' {
			alts = append(alts, `\+`)
		}
		b.WriteString("(?:" + strings.Join(alts, "|") + ")")
	}
	return b.String()
}

// redactedError is an error whose message went through Values. Unwrap still
// exposes the cause to errors.Is and errors.As; whoever prints a cause's own
// text must redact it again.
type redactedError struct {
	err     error
	secrets []string
}

func (e *redactedError) Error() string { return Values(e.err.Error(), e.secrets...) }

func (e *redactedError) Unwrap() error { return e.err }

// Error wraps err so that its message never shows the given secrets, nor any
// credential String recognizes. A nil err gives nil.
func Error(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	return &redactedError{err: err, secrets: slices.Clone(secrets)}
}
