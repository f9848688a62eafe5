package secrets

import (
	"encoding/base64"
	"strings"
)

// match is a part of a string value to replace: raw offsets, and the
// fragment and kind its placeholder gets.
type match struct {
	start, end int
	frag       string
	kind       Kind
}

// matcher collects the matches of one string value.
type matcher struct {
	out []match
}

func (m *matcher) add(p *piece, i, j int, frag string, kind Kind) {
	if j > i {
		m.out = append(m.out, match{start: p.at(i), end: p.at(j), frag: frag, kind: kind})
	}
}

// valueMode says where a credential's value ends.
type valueMode uint8

const (
	queryValue valueMode = iota // URL query or form member: URL characters up to & # ? ;
	connValue                   // connection-string member: up to ; or the end of the line
	tokenValue                  // Bearer token: token68 characters
	basicValue                  // Basic credentials: base64
	lineValue                   // header line: up to the end of the line
	wordValue                   // up to a blank
)

// valueRun returns how many bytes of text, from its start, belong to a
// value in mode.
func valueRun(text string, mode valueMode) int {
	i := 0
	for i < len(text) {
		c := text[i]
		switch mode {
		case queryValue:
			d, n := readChar(text, i)
			if !isValueChar(c) || d == '&' || d == '#' || d == '?' || d == ';' {
				return i
			}
			i += n
			continue
		case connValue:
			if c == ';' || c == '\n' || c == '\r' || c == '"' {
				return i
			}
		case tokenValue:
			if !isValueChar(c) || c == '%' {
				return i
			}
		case basicValue:
			if !(isAlnum(c) || c == '+' || c == '/' || c == '=') {
				return i
			}
		case lineValue:
			if c == '\n' || c == '\r' {
				return i
			}
		case wordValue:
			if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
				return i
			}
		}
		i++
	}
	return i
}

// keyRule is a key=value member whose value is a credential.
type keyRule struct {
	name string // lower case, as decoded
	kind Kind
	// conn allows connection-string values (up to ;) after a ; separator.
	conn bool
	// minLen is the shortest value that counts (0: any).
	minLen int
}

// keyRules are the query, form and connection-string members whose values
// are credentials. docs/FORMAT.md lists them.
var keyRules = []keyRule{
	{name: "sig", kind: KindSASSignature},
	{name: "code", kind: KindFunctionKey, minLen: minFunctionKeyLen},
	{name: "api-key", kind: KindAPIKey},
	{name: "apikey", kind: KindAPIKey},
	{name: "api_key", kind: KindAPIKey},
	{name: "x-api-key", kind: KindAPIKey},
	{name: "subscription-key", kind: KindAPIKey},
	{name: "access_token", kind: KindAccessToken},
	{name: "refresh_token", kind: KindAccessToken},
	{name: "id_token", kind: KindAccessToken},
	{name: "token", kind: KindAccessToken},
	{name: "client_secret", kind: KindClientSecret},
	{name: "password", kind: KindPassword, conn: true},
	{name: "pwd", kind: KindPassword, conn: true},
	{name: "passwd", kind: KindPassword, conn: true},
	{name: "accountkey", kind: KindConnectionString, conn: true},
	{name: "sharedaccesskey", kind: KindConnectionString, conn: true},
	{name: "sharedaccesssignature", kind: KindSASSignature, conn: true},
}

// minFunctionKeyLen keeps short code= values (country codes, status codes)
// out of redaction: Azure Functions keys are 40 characters or more.
//
// Uncertain: a heuristic; a short code= value that is a secret stays.
const minFunctionKeyLen = 20

// readChar decodes the character at text[i]: percent-encoding, repeated
// (%2526 is &), the HTML entities &amp; &#NN; &#xHH; and JSON \u00XX
// escapes, so an encoded parameter name or separator is recognised. It
// returns the character and how many bytes it took.
func readChar(text string, i int) (byte, int) {
	c := text[i]
	switch c {
	case '%':
		if i+2 < len(text) && isHex(text[i+1]) && isHex(text[i+2]) {
			b, n := unhex(text[i+1], text[i+2]), 3
			for b == '%' && i+n+1 < len(text) && isHex(text[i+n]) && isHex(text[i+n+1]) {
				b = unhex(text[i+n], text[i+n+1])
				n += 2
			}
			return b, n
		}
	case '&':
		rest := text[i:]
		if len(rest) >= 5 && strings.EqualFold(rest[:5], "&amp;") {
			return '&', 5
		}
		if len(rest) >= 4 && rest[1] == '#' {
			j, v, hex := 2, 0, false
			if rest[j] == 'x' || rest[j] == 'X' {
				hex = true
				j++
			}
			start := j
			for j < len(rest) && j < start+4 && (hex && isHex(rest[j]) || !hex && rest[j] >= '0' && rest[j] <= '9') {
				if hex {
					v = v*16 + int(unhex('0', rest[j]))
				} else {
					v = v*10 + int(rest[j]-'0')
				}
				j++
			}
			if j > start && j < len(rest) && rest[j] == ';' && v > 0 && v < 0x80 {
				return byte(v), j + 1
			}
		}
	case '\\':
		if i+5 < len(text) && text[i+1] == 'u' && text[i+2] == '0' && text[i+3] == '0' && isHex(text[i+4]) && isHex(text[i+5]) {
			if b := unhex(text[i+4], text[i+5]); b < 0x80 {
				return b, 6
			}
		}
	}
	return c, 1
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(a, b byte) byte {
	v := func(c byte) byte {
		switch {
		case c >= '0' && c <= '9':
			return c - '0'
		case c >= 'a' && c <= 'f':
			return c - 'a' + 10
		case c >= 'A' && c <= 'F':
			return c - 'A' + 10
		}
		return 0
	}
	return v(a)<<4 | v(b)
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func isValueChar(c byte) bool {
	return isAlnum(c) || c == '%' || c == '+' || c == '/' || c == '=' || c == '_' || c == '-' || c == '.' || c == '~'
}

// scanSeq finds credentials in a sequence of pieces (a string's top-level
// pieces, or the arguments of a concat() call). A credential whose value
// reaches the end of a piece goes on into the next ones: the next literal
// (concat('Bearer ', '<literal>')), or an expression, which is then a
// secret position, and the literal text right after it
// (sig=@{…}<literal>). A placeholder stops it.
func (m *matcher) scanSeq(seq []piece) {
	// visited[i] has bit mode set once a value in that mode went on
	// through seq[i]: a later one would find the same, and a string of
	// many sig=@{…} would otherwise cost the square of its length.
	var visited []uint8
	for i := range seq {
		p := &seq[i]
		if p.kind != textPiece {
			continue
		}
		m.scanText(p, func(frag string, kind Kind, mode valueMode) {
			if visited == nil {
				visited = make([]uint8, len(seq))
			}
			m.continueValue(seq, visited, i+1, frag, kind, mode)
		})
	}
}

func (m *matcher) continueValue(seq []piece, visited []uint8, i int, frag string, kind Kind, mode valueMode) {
	for i < len(seq) {
		if visited[i]&(1<<mode) != 0 {
			return
		}
		visited[i] |= 1 << mode
		q := &seq[i]
		switch q.kind {
		case inertPiece:
			return
		case exprPiece:
			m.secretLits(q, frag, kind)
			i++
			if i >= len(seq) || seq[i].kind != textPiece {
				return
			}
		case textPiece:
			run := mode
			if mode == tokenValue || mode == basicValue {
				// The text after a scheme that ended its own piece is the
				// credential up to a blank, whatever its characters.
				run = wordValue
			}
			n := valueRun(q.text, run)
			m.add(q, 0, n, frag, kind)
			if n < len(q.text) {
				return
			}
			i++
		}
	}
}

// scanText finds the credential shapes in one text piece; cont is called
// for a credential whose value runs to the end of the piece.
func (m *matcher) scanText(p *piece, cont func(frag string, kind Kind, mode valueMode)) {
	text := p.text
	if !mayHoldShape(text) {
		return
	}
	m.keyValues(p, cont)
	lt := strings.ToLower(text)
	for _, scheme := range []struct {
		word string
		mode valueMode
	}{{"bearer", tokenValue}, {"basic", basicValue}} {
		for off := 0; ; {
			k := strings.Index(lt[off:], scheme.word)
			if k < 0 {
				break
			}
			k += off
			off = k + len(scheme.word)
			if k > 0 && isAlnum(text[k-1]) {
				continue
			}
			j := off
			for j < len(text) && (text[j] == ' ' || text[j] == '\t') {
				j++
			}
			if j == off {
				continue
			}
			n := valueRun(text[j:], scheme.mode)
			v := text[j : j+n]
			if n > 0 && !credentialValue(scheme.word, v) {
				continue
			}
			m.add(p, j, j+n, scheme.word, KindAuthorization)
			if j+n == len(text) {
				cont(scheme.word, KindAuthorization, scheme.mode)
			}
		}
	}
	m.jwts(p)
	m.headerLines(p, lt, cont)
}

// mayHoldShape is a quick test that text may hold any shape scanText finds.
func mayHoldShape(text string) bool {
	if strings.ContainsAny(text, "=") || strings.Contains(text, "eyJ") {
		return true
	}
	lt := strings.ToLower(text)
	for _, a := range []string{"%3d", "bearer", "basic", "cookie", "authorization", "-token", "-key"} {
		if strings.Contains(lt, a) {
			return true
		}
	}
	return false
}

// credentialValue guards the schemes' values in ordinary text, where the
// words also occur in prose: a Bearer token has 16 characters or more, and
// Basic credentials are base64 of user:password.
//
// Uncertain: 16 is a heuristic (access tokens the service issues are JWTs,
// far longer); a shorter literal bearer token in ordinary text stays. In a
// credential field the whole value goes, whatever its length.
func credentialValue(scheme, v string) bool {
	switch scheme {
	case "bearer":
		return len(v) >= 16
	case "basic":
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			b, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(v, "="))
		}
		return err == nil && len(v) >= 8 && strings.Contains(string(b), ":")
	}
	return false
}

// keyValues finds key=value members (keyRules) in text, whatever the
// encoding of the key and its separators.
func (m *matcher) keyValues(p *piece, cont func(frag string, kind Kind, mode valueMode)) {
	text := p.text
	dec := make([]byte, 0, len(text))
	pos := make([]int, 0, len(text)+1)
	for i := 0; i < len(text); {
		c, n := readChar(text, i)
		dec = append(dec, lower(c))
		pos = append(pos, i)
		i += n
	}
	pos = append(pos, len(text))
	hasSemicolon := strings.Contains(text, ";")
	for k := range dec {
		if k > 0 && !isKeyBoundary(dec[k-1]) {
			continue
		}
		for _, rule := range keyRules {
			e := k + len(rule.name)
			if e >= len(dec) || dec[e] != '=' || string(dec[k:e]) != rule.name {
				continue
			}
			mode := queryValue
			if rule.conn && connSeparated(dec, k, hasSemicolon) {
				mode = connValue
			}
			start := pos[e+1]
			n := valueRun(text[start:], mode)
			if n == 0 && start < len(text) {
				break
			}
			if n > 0 && n < rule.minLen {
				break
			}
			m.add(p, start, start+n, rule.name, rule.kind)
			if start+n == len(text) {
				cont(rule.name, rule.kind, mode)
			}
			break
		}
	}
}

// isKeyBoundary reports whether a key may follow c: a separator, not a
// character of a longer name.
func isKeyBoundary(c byte) bool {
	return !isAlnum(c) && c != '_' && c != '-' && c != '.' && c != '$'
}

// connSeparated reports whether the key at dec[k] is a connection-string
// member: it follows a ; (and blanks), or starts a string that has ;.
func connSeparated(dec []byte, k int, hasSemicolon bool) bool {
	j := k - 1
	for j >= 0 && (dec[j] == ' ' || dec[j] == '\t') {
		j--
	}
	if j < 0 {
		return hasSemicolon
	}
	return dec[j] == ';'
}

// jwts finds compact JWTs (JWS and JWE): a base64url JSON header naming an
// algorithm, then two or more dot-separated base64url parts.
func (m *matcher) jwts(p *piece) {
	text := p.text
	for off := 0; ; {
		k := strings.Index(text[off:], "eyJ")
		if k < 0 {
			return
		}
		k += off
		off = k + 3
		if k > 0 && isB64URL(text[k-1]) {
			continue
		}
		end, dots := k, 0
		segStart := k
		headerEnd := -1
		// At most five parts (a JWE): a hostile run of dotted words is
		// read once, not once per "eyJ" in it.
		for end < len(text) && (isB64URL(text[end]) || text[end] == '.' && dots < 4) {
			if text[end] == '.' {
				if end == segStart && dots < 2 {
					break
				}
				if headerEnd < 0 {
					headerEnd = end
				}
				dots++
				segStart = end + 1
			}
			end++
		}
		for end > k && text[end-1] == '.' {
			end-- // a full stop after the token, or the empty signature of alg none
		}
		if dots < 2 || headerEnd < 0 {
			continue
		}
		h, err := base64.RawURLEncoding.DecodeString(text[k:headerEnd])
		if err != nil || !strings.HasPrefix(string(h), "{") || !strings.Contains(string(h), `"alg"`) {
			continue
		}
		m.add(p, k, end, "jwt", KindAccessToken)
		off = end
	}
}

func isB64URL(c byte) bool { return isAlnum(c) || c == '-' || c == '_' }

// headerLines finds header lines (name: value at the start of a line) of
// credential headers in text, such as a raw HTTP request in a body.
func (m *matcher) headerLines(p *piece, lt string, cont func(frag string, kind Kind, mode valueMode)) {
	text := p.text
	for ls := 0; ls < len(text); {
		le := strings.IndexByte(text[ls:], '\n')
		if le < 0 {
			le = len(text)
		} else {
			le += ls
		}
		if ls == 0 && p.midLine {
			ls = le + 1 // the first line started before this piece
			continue
		}
		i := ls
		for i < le && (text[i] == ' ' || text[i] == '\t') {
			i++
		}
		colon := strings.IndexByte(lt[i:le], ':')
		if colon > 0 {
			name := strings.TrimRight(lt[i:i+colon], " \t")
			if kind, frag := headerLineKind(name); kind != "" {
				j := i + colon + 1
				for j < le && (text[j] == ' ' || text[j] == '\t') {
					j++
				}
				if kind == KindAuthorization {
					j = skipScheme(text, j)
				}
				n := valueRun(text[j:], lineValue)
				m.add(p, j, trimRightSpace(text, j, j+n), frag, kind)
				if j+n == len(text) {
					cont(frag, kind, lineValue)
				}
			}
		}
		ls = le + 1
	}
}

func headerLineKind(name string) (Kind, string) {
	switch name {
	case "cookie":
		return KindCookie, "cookie"
	case "set-cookie":
		return KindCookie, "set-cookie"
	case "authorization", "proxy-authorization":
		return KindAuthorization, "authorization"
	}
	if k := customHeaderKind(name); k != "" {
		return k, "header"
	}
	return "", ""
}

// customHeaderKind classifies X-…-Token and X-…-Key headers (lower case).
//
// Uncertain: a naming convention, not a standard; a custom header that
// carries a credential under another name (X-Signature) is not found.
func customHeaderKind(name string) Kind {
	if !strings.HasPrefix(name, "x-") || strings.ContainsAny(name, " \t") {
		return ""
	}
	switch {
	case strings.HasSuffix(name, "-token") && len(name) > len("x--token"):
		return KindAccessToken
	case strings.HasSuffix(name, "-key") && len(name) > len("x--key"):
		return KindAPIKey
	}
	return ""
}

func trimRightSpace(text string, i, j int) int {
	for j > i && (text[j-1] == ' ' || text[j-1] == '\t' || text[j-1] == '\r') {
		j--
	}
	return j
}

// schemes are the authorization scheme words a secret position may start
// with; they are kept, the credential after them is not.
var schemes = []string{"bearer", "basic", "digest", "negotiate", "token", "sharedaccesssignature"}

// skipScheme returns the offset after a scheme word and its blanks at
// text[i], or i.
func skipScheme(text string, i int) int {
	for _, s := range schemes {
		e := i + len(s)
		if e <= len(text) && strings.EqualFold(text[i:e], s) && (e == len(text) || text[e] == ' ' || text[e] == '\t') {
			for e < len(text) && (text[e] == ' ' || text[e] == '\t') {
				e++
			}
			return e
		}
	}
	return i
}

// secretText redacts a text piece in a secret position (a credential
// field's expression, or the expression after a credential's key): all of
// it but blanks and a leading scheme word, when it holds a letter or digit.
func (m *matcher) secretText(p *piece, frag string, kind Kind) {
	text := p.text
	i := 0
	for i < len(text) && (text[i] == ' ' || text[i] == '\t') {
		i++
	}
	i = skipScheme(text, i)
	j := trimRightSpace(text, i, len(text))
	for k := i; k < j; k++ {
		if isAlnum(text[k]) || text[k] >= 0x80 {
			m.add(p, i, j, frag, kind)
			return
		}
	}
}

// secretLits redacts the data literals of an expression piece in a secret
// position; names (ref) stay, and a literal is visited once however deep
// the expressions around it nest.
func (m *matcher) secretLits(p *piece, frag string, kind Kind) {
	p.scan.eachUnvisited(p.from, p.to, func(l *literal) {
		if l.ref {
			return
		}
		for _, q := range splitInert(l.text) {
			if q.kind == textPiece {
				m.secretText(&q, frag, kind)
			}
		}
	})
}

// SASSignatureSpans returns the byte ranges [start, end) of the SAS
// signature values in plain text (not a JSON document): the values of sig=
// and SharedAccessSignature= members, whatever the case and the encoding of
// the key and its separators (%26sig%3D, &amp;sig=, \u0026sig=, ;sig=,
// #sig=). The ranges are ascending and do not overlap. internal/redact uses
// it, so logs and the tree recognise a signature by one rule.
func SASSignatureSpans(text string) [][2]int {
	if !strings.ContainsAny(text, "=%&\\") {
		return nil // no way to write the '=' a member needs
	}
	p := piece{kind: textPiece, text: text}
	var m matcher
	m.keyValues(&p, func(string, Kind, valueMode) {})
	var out [][2]int
	for _, x := range m.out {
		if x.kind != KindSASSignature {
			continue
		}
		// A sig= inside a SharedAccessSignature= value is already covered.
		if n := len(out); n > 0 && x.start < out[n-1][1] {
			out[n-1][1] = max(out[n-1][1], x.end)
			continue
		}
		out = append(out, [2]int{x.start, x.end})
	}
	return out
}
