package secrets

import "strings"

// A string value is read as a sequence of pieces before it is searched for
// credentials: literal text, workflow expressions (an @{...} interpolation)
// and placeholders already in it. Literal text inside an expression (the
// Workflow Definition Language's single-quoted string literals) is read the
// same way, so a credential written as concat('Bearer ', '<literal>') is
// found while the expression around it stays.

type pieceKind uint8

const (
	textPiece  pieceKind = iota // literal characters
	exprPiece                   // an expression: opaque, but its literals are known
	inertPiece                  // an existing placeholder: never searched again
)

// piece is a part of a string value. Offsets into the whole string (raw
// offsets) are what replacements use, so a literal's ” escapes survive.
type piece struct {
	kind pieceKind
	// text is a textPiece's characters, unescaped.
	text string
	// raw maps text offsets to raw offsets: raw[i] is where text[i] starts,
	// raw[len(text)] where the text ends. When nil, text[i] is at base+i.
	base int
	raw  []int
	// midLine is set when the text does not start a line: it follows a
	// placeholder, an interpolation or another concat() argument.
	midLine bool
	// scan and lits[from:to] of it are an exprPiece's literals.
	scan     *exprScan
	from, to int
}

// at returns the raw offset of text offset i.
func (p *piece) at(i int) int {
	if p.raw == nil {
		return p.base + i
	}
	return p.raw[i]
}

// sub returns the text piece text[i:j].
func (p *piece) sub(i, j int) piece {
	mid := p.midLine || i > 0
	if p.raw == nil {
		return piece{kind: textPiece, text: p.text[i:j], base: p.base + i, midLine: mid}
	}
	return piece{kind: textPiece, text: p.text[i:j], raw: p.raw[i : j+1], midLine: mid}
}

// literal is a string literal of an expression.
type literal struct {
	text piece
	// ref is set for a name rather than data: an argument of a function that
	// refers to something by name (parameters, variables, body, outputs, …)
	// or an index (['access_token']).
	ref bool
	// inConcat is set for a direct argument of concat(): it is searched as
	// part of that call's sequence of arguments.
	inConcat bool
}

// exprScan is what an expression holds for redaction.
type exprScan struct {
	lits []*literal
	// concats are the argument lists of its concat() calls.
	concats [][]piece
	// next[i] is the first literal at or after i not yet redacted as a
	// secret position (path-compressed), so nested expressions cost each
	// literal once: the literals of an argument are a run of lits.
	next []int
}

// eachUnvisited calls fn for each literal of lits[from:to] not visited
// before, and marks them visited.
func (e *exprScan) eachUnvisited(from, to int, fn func(*literal)) {
	if e.next == nil {
		e.next = make([]int, len(e.lits)+1)
		for i := range e.next {
			e.next[i] = i
		}
	}
	find := func(i int) int {
		for e.next[i] != i {
			e.next[i] = e.next[e.next[i]]
			i = e.next[i]
		}
		return i
	}
	for i := find(from); i < to; i = find(i) {
		fn(e.lits[i])
		e.next[i] = i + 1
	}
}

// refFuncs are the functions whose string arguments name things (actions,
// parameters, variables, form fields) rather than carry data.
var refFuncs = map[string]bool{
	"parameters": true, "variables": true, "body": true, "outputs": true, "actions": true,
	"items": true, "iterationindexes": true, "result": true, "appsetting": true,
	"formdatavalue": true, "formdatamultivalues": true, "multipartbody": true,
	"triggerformdatavalue": true, "triggerformdatamultivalues": true, "triggermultipartbody": true,
}

// frame is an open call, index or parenthesis while an expression is read.
type frame struct {
	call  string // lower-cased function name, "" for an index or a group
	index bool
	args  []*argAcc
}

// argAcc collects one argument of a call. The literals inside an argument,
// nested ones too, are a run of the expression's literals in reading order,
// so an argument keeps where its run starts instead of a copy.
type argAcc struct {
	tokens int
	from   int      // index of the argument's first literal in exprScan.lits
	only   *literal // the argument's literal when it is nothing else
}

// scanExpr reads the expression s[start:end]. It never fails: a malformed
// expression (an unterminated literal, unbalanced brackets) is read as far
// as it goes, so its literals are still searched.
func scanExpr(s string, start, end int) *exprScan {
	out := &exprScan{}
	arg := func(f *frame) *argAcc {
		if len(f.args) == 0 {
			f.args = append(f.args, &argAcc{from: len(out.lits)})
		}
		return f.args[len(f.args)-1]
	}
	stack := []*frame{{}}
	closeTop := func() {
		top := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if top.call == "concat" {
			seq := make([]piece, 0, len(top.args))
			for i, a := range top.args {
				if a.tokens == 1 && a.only != nil {
					a.only.inConcat = true
					lit := a.only.text
					lit.midLine = i > 0
					seq = append(seq, splitInert(lit)...)
					continue
				}
				to := len(out.lits)
				if i+1 < len(top.args) {
					to = top.args[i+1].from
				}
				seq = append(seq, piece{kind: exprPiece, scan: out, from: a.from, to: to})
			}
			out.concats = append(out.concats, seq)
		}
		arg(stack[len(stack)-1]).tokens++
	}
	i := start
	for i < end {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '\'':
			lit, next := readLiteral(s, i, end)
			top := stack[len(stack)-1]
			lit.ref = top.index || refFuncs[top.call]
			a := arg(top)
			out.lits = append(out.lits, lit)
			a.tokens++
			if a.tokens == 1 {
				a.only = lit
			}
			i = next
		case isIdentStart(c):
			j := i + 1
			for j < end && isIdentChar(s[j]) {
				j++
			}
			k := j
			for k < end && (s[k] == ' ' || s[k] == '\t') {
				k++
			}
			if k < end && s[k] == '(' {
				arg(stack[len(stack)-1])
				stack = append(stack, &frame{call: strings.ToLower(s[i:j])})
				i = k + 1
				continue
			}
			arg(stack[len(stack)-1]).tokens++
			i = j
		case c == '(':
			arg(stack[len(stack)-1])
			stack = append(stack, &frame{})
			i++
		case c == '[':
			arg(stack[len(stack)-1])
			stack = append(stack, &frame{index: true})
			i++
		case c == ')' || c == ']':
			if len(stack) > 1 {
				closeTop()
			}
			i++
		case c == ',':
			top := stack[len(stack)-1]
			arg(top)
			top.args = append(top.args, &argAcc{from: len(out.lits)})
			i++
		default:
			arg(stack[len(stack)-1]).tokens++
			i++
		}
	}
	for len(stack) > 1 {
		closeTop()
	}
	return out
}

func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '$'
}

func isIdentChar(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }

// readLiteral reads the single-quoted literal that starts at s[i] (” is a
// quote inside it) and returns it with the offset after its closing quote.
func readLiteral(s string, i, end int) (*literal, int) {
	var text strings.Builder
	raw := []int{}
	j := i + 1
	for j < end {
		if s[j] == '\'' {
			if j+1 < end && s[j+1] == '\'' {
				raw = append(raw, j)
				text.WriteByte('\'')
				j += 2
				continue
			}
			break
		}
		raw = append(raw, j)
		text.WriteByte(s[j])
		j++
	}
	raw = append(raw, j)
	next := j
	if next < end {
		next++ // the closing quote
	}
	return &literal{text: piece{kind: textPiece, text: text.String(), raw: raw}}, next
}

// stringPieces splits a string value into its top-level pieces and returns
// the expressions in it. A string that starts with a single @ (not @@ or @{)
// is one expression and has no top-level text.
func stringPieces(s string) ([]piece, []*exprScan) {
	if strings.HasPrefix(s, "@") && !strings.HasPrefix(s, "@@") && !strings.HasPrefix(s, "@{") {
		return nil, []*exprScan{scanExpr(s, 1, len(s))}
	}
	var seq []piece
	var exprs []*exprScan
	last := 0
	for {
		i := strings.Index(s[last:], "@{")
		if i < 0 {
			break
		}
		i += last
		j := interpolationEnd(s, i+2)
		seq = append(seq, splitInert(piece{kind: textPiece, text: s[last:i], base: last, midLine: last > 0})...)
		e := scanExpr(s, i+2, j)
		exprs = append(exprs, e)
		seq = append(seq, piece{kind: exprPiece, scan: e, from: 0, to: len(e.lits)})
		last = min(j+1, len(s))
	}
	seq = append(seq, splitInert(piece{kind: textPiece, text: s[last:], base: last, midLine: last > 0})...)
	return seq, exprs
}

// interpolationEnd returns the offset of the } that closes an interpolation
// whose expression starts at s[i] (quoted literals may hold braces), or
// len(s) when none does.
func interpolationEnd(s string, i int) int {
	depth := 0
	for i < len(s) {
		switch s[i] {
		case '\'':
			_, i = readLiteral(s, i, len(s))
			continue
		case '{':
			depth++
		case '}':
			if depth == 0 {
				return i
			}
			depth--
		}
		i++
	}
	return len(s)
}

// splitInert splits a text piece at the placeholders in it.
func splitInert(p piece) []piece {
	spans := placeholderSpans(p.text)
	if len(spans) == 0 {
		if p.text == "" {
			return nil
		}
		return []piece{p}
	}
	var out []piece
	last := 0
	for _, sp := range spans {
		if sp.start > last {
			out = append(out, p.sub(last, sp.start))
		}
		out = append(out, piece{kind: inertPiece})
		last = sp.end
	}
	if last < len(p.text) {
		out = append(out, p.sub(last, len(p.text)))
	}
	return out
}
