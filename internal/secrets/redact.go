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
	KindPassword         Kind = "password"          // authentication password, any "password" member
	KindClientSecret     Kind = "client-secret"     // ActiveDirectoryOAuth secret, clientSecret, client_secret
	KindPFX              Kind = "pfx"               // base64 client certificate
	KindCredential       Kind = "credential"        // Raw authentication value
	KindAuthorization    Kind = "authorization"     // literal Authorization header
	KindAPIKey           Kind = "api-key"           // API key header or query parameter
	KindAccessToken      Kind = "access-token"      // token header or access_token parameter
	KindSASSignature     Kind = "sas-signature"     // sig= query parameter
	KindFunctionKey      Kind = "function-key"      // Azure Functions code= parameter or x-functions-key header
	KindSecureParameter  Kind = "secure-parameter"  // defaultValue of a SecureString/SecureObject parameter
	KindSecretParameter  Kind = "secret-parameter"  // defaultValue of a parameter a secret field references
	KindSecretKey        Kind = "secret-key"        // secretKey, aws_secret_access_key, accountKey, privateKey members
	KindConnectionString Kind = "connection-string" // AccountKey=, SharedAccessKey= in a connection string
	KindCookie           Kind = "cookie"            // Cookie or Set-Cookie header
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
	r := redactor{values: values, tainted: map[string]bool{}, taken: map[string]bool{}, made: map[string]bool{}}
	// Placeholders already in the document (a maker may type one) keep
	// their paths to themselves, so Restore cannot put a value there.
	for _, p := range PlaceholdersValue(root) {
		r.taken[p] = true
	}
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
	// taken holds the paths of the placeholders in the document; made
	// those this run wrote.
	taken, made map[string]bool
}

// claim returns path, or when a placeholder already has it, path~2, path~3…
func (r *redactor) claim(path string) string {
	p := path
	for n := 2; r.taken[p]; n++ {
		p = path + "~" + strconv.Itoa(n)
	}
	r.taken[p] = true
	r.made[p] = true
	return p
}

// absorb puts back, inside a value about to be replaced as a whole, the
// secrets this run already replaced in it (a secret-parameter's default
// value is replaced after the walk that redacted inside it), and drops their
// findings: the whole value keeps them, so restoring it is exact.
func (r *redactor) absorb(v *canon.Value) error {
	var inner []string
	for _, p := range PlaceholdersValue(v) {
		if r.made[p] {
			inner = append(inner, p)
		}
	}
	if len(inner) == 0 {
		return nil
	}
	if r.values != nil {
		sub := Values{}
		for _, p := range inner {
			sub[p] = r.values[p]
			delete(r.values, p)
		}
		if _, err := RestoreValue(v, sub); err != nil {
			return err
		}
	}
	r.findings = slices.DeleteFunc(r.findings, func(f Finding) bool { return slices.Contains(inner, f.Path) })
	return nil
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

// Segment escapes a key for a path: the characters that structure paths and
// placeholders (. [ ] # < > %), those that end URL values or quoted strings,
// and @ (a placeholder must never start an expression) are percent-encoded,
// so a path names one location and a placeholder ends at its first '>'.
// Callers building a where prefix from a name use it too.
func Segment(key string) string { return segment(key) }

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
	case '.', '[', ']', '#', '<', '>', '%', '&', '"', '\'', '\\', '@', '{', '}':
		return true
	}
	return c < 0x20 || c == 0x7f
}

// replace removes the whole value of m, recording it under the current path.
func (r *redactor) replace(m *canon.Member, kind Kind) error {
	p := r.claim(r.pathString())
	if err := r.absorb(m.Value); err != nil {
		return fmt.Errorf("at %s: %w", p, err)
	}
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
// interpolates one with @{...}. An expression is never replaced as a whole:
// only the string literals in it that sit in a credential position are.
func IsExpression(s string) bool {
	if strings.HasPrefix(s, "@") && !strings.HasPrefix(s, "@@") {
		return true
	}
	return strings.Contains(s, "@{")
}

// IsPlaceholder reports whether s is exactly one placeholder.
func IsPlaceholder(s string) bool {
	sp := placeholderSpans(s)
	return len(sp) == 1 && sp[0].start == 0 && sp[0].end == len(s)
}

func (r *redactor) walk(v *canon.Value, parentKey string) error {
	switch v.Kind {
	case canon.String:
		r.scanString(v, "")
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
		case isHeadersKey(parentKey):
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
			} else if kind != "" && m.Value.Kind == canon.String && IsExpression(m.Value.Str) {
				// A credential field computed by an expression: the
				// parameters it names hold the secret, and so do the
				// literals written into it.
				r.taint(m.Value.Str)
				r.scanString(m.Value, kind)
			} else if err := r.walk(m.Value, m.Key); err != nil {
				return err
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

// isHeadersKey reports whether an object under key holds HTTP headers: the
// HTTP action's headers, and connector parameters such as
// parameters/headers (Send an HTTP request to SharePoint) or
// request/headers (HTTP with Microsoft Entra ID).
func isHeadersKey(key string) bool {
	k := strings.ToLower(key)
	return k == "headers" || strings.HasSuffix(k, "/headers")
}

// headerKind classifies an HTTP header by name.
func headerKind(name string) Kind {
	n := strings.ToLower(name)
	switch n {
	case "authorization", "proxy-authorization":
		return KindAuthorization
	case "x-api-key", "api-key", "apikey", "ocp-apim-subscription-key", "subscription-key":
		return KindAPIKey
	case "x-functions-key":
		return KindFunctionKey
	case "x-auth-token", "x-access-token":
		return KindAccessToken
	case "cookie", "set-cookie":
		return KindCookie
	}
	return customHeaderKind(n)
}

// credentialMember classifies a member name (lower case) whose literal
// value is a credential wherever it is; docs/FORMAT.md lists the names. Only
// names that cannot mean anything but a credential: schemas and ordinary
// data stay intact (a schema's "password" property is an object and is
// never a literal).
func credentialMember(name string) Kind {
	switch name {
	case "password", "passwd", "pwd", "passphrase":
		return KindPassword
	case "secret", "clientsecret", "client_secret":
		return KindClientSecret
	case "token", "access_token", "accesstoken", "refresh_token", "refreshtoken", "id_token",
		"auth_token", "authtoken", "bearer_token", "bearertoken", "session_token", "sessiontoken",
		"aws_session_token":
		return KindAccessToken
	case "apikey", "api_key", "api-key", "x-api-key", "subscriptionkey", "subscription_key":
		return KindAPIKey
	case "secretkey", "secret_key", "aws_secret_access_key", "secretaccesskey", "accountkey",
		"account_key", "sharedaccesskey", "shared_access_key", "privatekey", "private_key",
		"signingkey", "signing_key", "masterkey", "master_key":
		return KindSecretKey
	}
	return ""
}

// memberKind classifies members outside authentication and headers objects
// by name. A connector flattens nested parameters into one key
// (body/password, headers/Authorization), so the last /-separated part
// decides, and a part after headers/ is a header name.
func memberKind(key string) Kind {
	k := strings.ToLower(key)
	if i := strings.LastIndexByte(k, '/'); i >= 0 {
		if strings.HasSuffix(k[:i], "headers") && (i == len("headers") || k[i-len("headers")-1] == '/') {
			if kind := headerKind(k[i+1:]); kind != "" {
				return kind
			}
		}
		k = k[i+1:]
	}
	return credentialMember(k)
}

// scanString replaces the credentials inside a string, keeping the rest.
// secretKind, when set, says the string is a credential field's expression:
// then the literal text in it (outside names such as variables('x') and
// ['access_token']) is a secret too, except a leading scheme word.
func (r *redactor) scanString(v *canon.Value, secretKind Kind) {
	s := v.Str
	if s == "" || IsPlaceholder(s) || secretKind == "" && !mayHoldAnyShape(s) {
		return
	}
	seq, exprs := stringPieces(s)
	var m matcher
	if secretKind != "" {
		for i := range seq {
			if seq[i].kind == textPiece {
				m.secretText(&seq[i], "literal", secretKind)
			}
		}
		for _, e := range exprs {
			m.secretLits(&piece{kind: exprPiece, scan: e, from: 0, to: len(e.lits)}, "literal", secretKind)
		}
	}
	m.scanSeq(seq)
	for _, e := range exprs {
		for _, c := range e.concats {
			m.scanSeq(c)
		}
		for _, l := range e.lits {
			if !l.ref && !l.inConcat {
				m.scanSeq(splitInert(l.text))
			}
		}
	}
	if len(m.out) == 0 {
		return
	}
	v.Str = r.apply(s, m.out)
}

// mayHoldAnyShape is a quick test that s, or a literal in it, may hold a
// credential shape in any encoding.
func mayHoldAnyShape(s string) bool {
	return mayHoldShape(s) || strings.Contains(s, "&#") || strings.Contains(s, `\u00`)
}

// apply replaces the matches in s by placeholders: overlapping matches are
// merged, and each gets the path of s with a fragment naming what it was
// (#sig, #bearer, #literal…), numbered from the second of a kind (#sig2).
func (r *redactor) apply(s string, ms []match) string {
	slices.SortStableFunc(ms, func(a, b match) int {
		if a.start != b.start {
			return a.start - b.start
		}
		return b.end - a.end
	})
	merged := ms[:1]
	for _, x := range ms[1:] {
		last := &merged[len(merged)-1]
		if x.start < last.end {
			last.end = max(last.end, x.end)
			continue
		}
		merged = append(merged, x)
	}
	base := r.pathString()
	count := map[string]int{}
	var out strings.Builder
	last := 0
	for _, x := range merged {
		count[x.frag]++
		frag := x.frag
		if n := count[x.frag]; n > 1 {
			frag += strconv.Itoa(n)
		}
		p := r.claim(base + "#" + frag)
		if r.values != nil {
			raw, _ := json.Marshal(s[x.start:x.end]) // a string always marshals
			r.values[p] = raw
		}
		r.findings = append(r.findings, Finding{Path: p, Kind: x.kind})
		out.WriteString(s[last:x.start])
		out.WriteString(Placeholder(p))
		last = x.end
	}
	out.WriteString(s[last:])
	return out.String()
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
