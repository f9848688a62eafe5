package secrets

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/flowsync/flowsync/internal/canon"
)

// Kind names what kind of secret a Finding removed.
type Kind string

// The kinds of secret Redact recognises.
const (
	KindPassword        Kind = "password"         // authentication password, any "password" member
	KindClientSecret    Kind = "client-secret"    // ActiveDirectoryOAuth secret, clientSecret, client_secret
	KindPFX             Kind = "pfx"              // base64 client certificate
	KindCredential      Kind = "credential"       // Raw authentication value
	KindAuthorization   Kind = "authorization"    // literal Authorization header
	KindAPIKey          Kind = "api-key"          // API key header or query parameter
	KindAccessToken     Kind = "access-token"     // token header or access_token parameter
	KindSASSignature    Kind = "sas-signature"    // sig= query parameter
	KindFunctionKey     Kind = "function-key"     // Azure Functions code= parameter or x-functions-key header
	KindSecureParameter Kind = "secure-parameter" // defaultValue of a SecureString/SecureObject parameter
	KindSecretParameter Kind = "secret-parameter" // defaultValue of a parameter a secret field references
)

// Finding is one redacted secret: where it was and what it was, never its value.
type Finding struct {
	Path string `json:"path"`
	Kind Kind   `json:"kind"`
}

// PlaceholderPrefix starts every placeholder; PlaceholderSuffix ends it.
const (
	PlaceholderPrefix = "<redacted:flowsync:"
	PlaceholderSuffix = ">"
)

// Placeholder returns the string that stands for the secret at path.
func Placeholder(path string) string { return PlaceholderPrefix + path + PlaceholderSuffix }

// Values maps a placeholder's path to the JSON value it replaced (for a
// secret inside a longer string, the JSON string of the removed part). It
// holds live credentials: its fmt verbs print a count only.
type Values map[string]json.RawMessage

// Format keeps values out of logs and error messages, whatever the verb.
func (v Values) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, "secrets.Values(%d redacted)", len(v))
}

// Paths returns the sorted paths of v.
func (v Values) Paths() []string {
	ps := make([]string, 0, len(v))
	for p := range v {
		ps = append(ps, p)
	}
	slices.Sort(ps)
	return ps
}

// Redact returns doc in canonical form with every recognised secret replaced
// by its placeholder, and what it replaced. where, when not empty, prefixes
// every path (use it when doc is a part of a larger document).
func Redact(doc json.RawMessage, where string) (json.RawMessage, []Finding, error) {
	out, fs, _, err := redact(doc, where, false)
	return out, fs, err
}

// RedactWithValues is Redact that also returns the removed values, for Seal.
func RedactWithValues(doc json.RawMessage, where string) (json.RawMessage, []Finding, Values, error) {
	return redact(doc, where, true)
}

func redact(doc json.RawMessage, where string, keep bool) (json.RawMessage, []Finding, Values, error) {
	root, err := canon.Parse(doc)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("redact %s: %w", whereName(where), err)
	}
	var vals Values
	if keep {
		vals = Values{}
	}
	fs, err := RedactValue(root, where, vals)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("redact %s: %w", whereName(where), err)
	}
	out, err := root.Encode()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("redact %s: %w", whereName(where), err)
	}
	return out, fs, vals, nil
}

func whereName(where string) string {
	if where == "" {
		return "document"
	}
	return where
}

// RedactValue redacts the tree in place and returns the findings sorted by
// path. When values is not nil it receives the removed values.
func RedactValue(root *canon.Value, where string, values Values) ([]Finding, error) {
	r := redactor{values: values, tainted: map[string]bool{}}
	if where != "" {
		r.path = []string{where}
	}
	params := root.Get("parameters")
	if params != nil {
		r.push("parameters")
		for i := range params.Members {
			m := &params.Members[i]
			if t := m.Value.Get("type"); t != nil && t.Kind == canon.String &&
				(strings.EqualFold(t.Str, "SecureString") || strings.EqualFold(t.Str, "SecureObject")) {
				r.push(segment(m.Key))
				if err := r.defaultValue(m.Value, KindSecureParameter); err != nil {
					return nil, err
				}
				r.pop()
			}
		}
		r.pop()
	}
	if err := r.walk(root, ""); err != nil {
		return nil, err
	}
	if params != nil && len(r.tainted) > 0 {
		r.push("parameters")
		for i := range params.Members {
			m := &params.Members[i]
			if r.tainted[m.Key] {
				r.push(segment(m.Key))
				if err := r.defaultValue(m.Value, KindSecretParameter); err != nil {
					return nil, err
				}
				r.pop()
			}
		}
		r.pop()
	}
	slices.SortFunc(r.findings, func(a, b Finding) int { return strings.Compare(a.Path, b.Path) })
	return r.findings, nil
}

type redactor struct {
	path     []string
	values   Values
	findings []Finding
	// tainted holds the names of parameters that secret fields reference.
	tainted map[string]bool
}

func (r *redactor) push(seg string) { r.path = append(r.path, seg) }
func (r *redactor) pop()            { r.path = r.path[:len(r.path)-1] }

func (r *redactor) pathString() string {
	var sb strings.Builder
	for i, s := range r.path {
		if i > 0 && !strings.HasPrefix(s, "[") {
			sb.WriteByte('.')
		}
		sb.WriteString(s)
	}
	return sb.String()
}

// segment escapes a key for a path: the characters that structure paths and
// placeholders (. [ ] # < > %) and those that end URL values or quoted
// strings are percent-encoded, so a path names one location and a
// placeholder ends at its first '>'.
func segment(key string) string {
	if !strings.ContainsFunc(key, needsEscape) {
		return key
	}
	var sb strings.Builder
	for i := 0; i < len(key); i++ {
		c := key[i]
		if c < 0x80 && needsEscape(rune(c)) {
			fmt.Fprintf(&sb, "%%%02X", c)
			continue
		}
		sb.WriteByte(c)
	}
	return sb.String()
}

func needsEscape(c rune) bool {
	switch c {
	case '.', '[', ']', '#', '<', '>', '%', '&', '"', '\'', '\\':
		return true
	}
	return c < 0x20 || c == 0x7f
}

// replace removes the whole value of m, recording it under the current path.
func (r *redactor) replace(m *canon.Member, kind Kind) error {
	p := r.pathString()
	if r.values != nil {
		raw, err := m.Value.Encode()
		if err != nil {
			return fmt.Errorf("at %s: %w", p, err)
		}
		r.values[p] = compact(raw)
	}
	m.Value = canon.NewString(Placeholder(p))
	r.findings = append(r.findings, Finding{Path: p, Kind: kind})
	return nil
}

// compact strips the canonical indentation from a value kept in Values; the
// sealed file is canonicalized as a whole anyway.
func compact(raw []byte) json.RawMessage {
	var out strings.Builder
	inStr, esc := false, false
	for _, c := range raw {
		switch {
		case inStr:
			out.WriteByte(c)
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
		case c == '"':
			inStr = true
			out.WriteByte(c)
		case c == ' ' || c == '\n':
		default:
			out.WriteByte(c)
		}
	}
	return json.RawMessage(out.String())
}

// defaultValue redacts param's literal, non-empty defaultValue.
func (r *redactor) defaultValue(param *canon.Value, kind Kind) error {
	if param == nil || param.Kind != canon.Object {
		return nil
	}
	for i := range param.Members {
		m := &param.Members[i]
		if m.Key != "defaultValue" || !isSecretLiteral(m.Value, true) {
			continue
		}
		r.push("defaultValue")
		err := r.replace(m, kind)
		r.pop()
		return err
	}
	return nil
}

// isSecretLiteral reports whether v holds something worth hiding: a
// non-empty string that is neither an expression nor a placeholder, a number,
// or (when containers is set) a non-empty object or array.
func isSecretLiteral(v *canon.Value, containers bool) bool {
	switch v.Kind {
	case canon.String:
		return v.Str != "" && !IsExpression(v.Str) && !IsPlaceholder(v.Str)
	case canon.Number:
		return true
	case canon.Object:
		return containers && len(v.Members) > 0
	case canon.Array:
		return containers && len(v.Elems) > 0
	}
	return false
}

// IsExpression reports whether s is a workflow expression rather than a
// literal: it starts with a single @ ("@@" escapes a literal @), or it
// interpolates one with @{...}. Expressions are references and are never
// redacted.
//
// Uncertain: a literal secret written inside an expression
// (@{concat('Basic ', 'dXNlcjpwYXNz')}) is not found; parsing the expression
// language is out of scope, and query-parameter secrets inside it still are.
func IsExpression(s string) bool {
	if strings.HasPrefix(s, "@") && !strings.HasPrefix(s, "@@") {
		return true
	}
	return strings.Contains(s, "@{")
}

// IsPlaceholder reports whether s is exactly one placeholder.
func IsPlaceholder(s string) bool {
	return strings.HasPrefix(s, PlaceholderPrefix) && strings.HasSuffix(s, PlaceholderSuffix) &&
		!strings.Contains(s[len(PlaceholderPrefix):len(s)-len(PlaceholderSuffix)], PlaceholderSuffix)
}

func (r *redactor) walk(v *canon.Value, parentKey string) error {
	switch v.Kind {
	case canon.String:
		r.scanQuery(v)
	case canon.Array:
		for i, e := range v.Elems {
			r.push("[" + strconv.Itoa(i) + "]")
			if err := r.walk(e, ""); err != nil {
				return err
			}
			r.pop()
		}
	case canon.Object:
		var classify func(string) Kind
		switch {
		case strings.EqualFold(parentKey, "authentication"):
			authType := ""
			if t := v.Get("type"); t != nil && t.Kind == canon.String {
				authType = strings.ToLower(t.Str)
			}
			classify = func(k string) Kind { return authFieldKind(authType, k) }
		case strings.EqualFold(parentKey, "headers"):
			classify = headerKind
		default:
			classify = memberKind
		}
		for i := range v.Members {
			m := &v.Members[i]
			r.push(segment(m.Key))
			kind := classify(m.Key)
			if kind != "" && isSecretLiteral(m.Value, false) {
				if err := r.replace(m, kind); err != nil {
					return err
				}
			} else {
				if kind != "" && m.Value.Kind == canon.String && IsExpression(m.Value.Str) {
					r.taint(m.Value.Str)
				}
				if err := r.walk(m.Value, m.Key); err != nil {
					return err
				}
			}
			r.pop()
		}
	}
	return nil
}

// authFieldKind classifies a member of an authentication object by the
// Workflow Definition Language authentication types: Basic {username,
// password}, ClientCertificate {pfx, password}, ActiveDirectoryOAuth
// {tenant, audience, clientId, secret | pfx + password}, Raw {value},
// ManagedServiceIdentity (no secret). Unknown types get the same field rules.
func authFieldKind(authType, key string) Kind {
	switch strings.ToLower(key) {
	case "password":
		return KindPassword
	case "secret", "clientsecret", "client_secret":
		return KindClientSecret
	case "pfx":
		return KindPFX
	case "value":
		if authType == "raw" {
			return KindCredential
		}
	}
	return ""
}

// headerKind classifies an HTTP header by name.
func headerKind(name string) Kind {
	switch strings.ToLower(name) {
	case "authorization", "proxy-authorization":
		return KindAuthorization
	case "x-api-key", "api-key", "apikey", "ocp-apim-subscription-key", "subscription-key":
		return KindAPIKey
	case "x-functions-key":
		return KindFunctionKey
	case "x-auth-token", "x-access-token":
		return KindAccessToken
	}
	return ""
}

// memberKind classifies members anywhere else: only names that cannot mean
// anything but a credential, so schemas and ordinary data stay intact (a
// schema's "password" property is an object and is never a literal).
func memberKind(key string) Kind {
	switch strings.ToLower(key) {
	case "password":
		return KindPassword
	case "clientsecret", "client_secret":
		return KindClientSecret
	}
	return ""
}

// taint records the parameters an expression in a secret field references.
func (r *redactor) taint(expr string) {
	const fn = "parameters('"
	for {
		i := strings.Index(expr, fn)
		if i < 0 {
			return
		}
		expr = expr[i+len(fn):]
		// A quote inside a name is doubled, as in all expression string literals.
		var name strings.Builder
		j := 0
		for j < len(expr) {
			if expr[j] == '\'' {
				if j+1 < len(expr) && expr[j+1] == '\'' {
					name.WriteByte('\'')
					j += 2
					continue
				}
				break
			}
			name.WriteByte(expr[j])
			j++
		}
		if j < len(expr) {
			r.tainted[name.String()] = true
		}
		expr = expr[j:]
	}
}

// queryParams are the URL query (or form body) parameters whose values are
// credentials, matched case-insensitively.
var queryParams = []struct {
	name string
	kind Kind
}{
	{"sig", KindSASSignature},
	{"code", KindFunctionKey},
	{"api-key", KindAPIKey},
	{"apikey", KindAPIKey},
	{"api_key", KindAPIKey},
	{"x-api-key", KindAPIKey},
	{"subscription-key", KindAPIKey},
	{"access_token", KindAccessToken},
	{"client_secret", KindClientSecret},
}

// minFunctionKeyLen keeps short code= values (country codes, status codes)
// out of redaction: Azure Functions keys are 40 characters or more.
//
// Uncertain: a heuristic; a short code= value that is a secret stays.
const minFunctionKeyLen = 20

// scanQuery replaces credential query parameters inside a string, keeping
// the rest of the string. Parameter names match case-insensitively and must
// start the string or follow ?, & or their percent-encodings (a URL nested
// in another URL). The value runs over URL-safe characters; anything else
// (a quote ending an expression literal, @{ starting an interpolation, the
// < of an existing placeholder) ends it, and an empty value is left alone.
func (r *redactor) scanQuery(v *canon.Value) {
	s := v.Str
	if !strings.Contains(s, "=") {
		return
	}
	var out strings.Builder
	last := 0
	count := map[string]int{}
	for i := 0; i < len(s); i++ {
		if s[i] != '=' {
			continue
		}
		name, kind := queryParamBefore(s, i)
		if name == "" {
			continue
		}
		end := i + 1
		for end < len(s) && isValueChar(s[end]) {
			end++
		}
		val := s[i+1 : end]
		if val == "" || (kind == KindFunctionKey && len(val) < minFunctionKeyLen) {
			continue
		}
		count[name]++
		frag := name
		if n := count[name]; n > 1 {
			frag += strconv.Itoa(n)
		}
		p := r.pathString() + "#" + frag
		if r.values != nil {
			raw, _ := json.Marshal(val) // a string always marshals
			r.values[p] = raw
		}
		r.findings = append(r.findings, Finding{Path: p, Kind: kind})
		out.WriteString(s[last : i+1])
		out.WriteString(Placeholder(p))
		last = end
		i = end - 1
	}
	if last > 0 {
		out.WriteString(s[last:])
		v.Str = out.String()
	}
}

// queryParamBefore returns the credential parameter whose name ends at
// s[eq] (an '='), if it starts a query member.
func queryParamBefore(s string, eq int) (string, Kind) {
	for _, q := range queryParams {
		start := eq - len(q.name)
		if start >= 0 && strings.EqualFold(s[start:eq], q.name) && paramBoundary(s, start) {
			return q.name, q.kind
		}
	}
	return "", ""
}

func isValueChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '%' || c == '+' || c == '/' || c == '=' || c == '_' || c == '-' || c == '.' || c == '~'
}

func paramBoundary(s string, start int) bool {
	if start == 0 {
		return true
	}
	switch s[start-1] {
	case '?', '&':
		return true
	}
	if start >= 3 {
		enc := strings.ToUpper(s[start-3 : start])
		return enc == "%26" || enc == "%3F"
	}
	return false
}
