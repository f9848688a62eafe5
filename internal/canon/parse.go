package canon

import (
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Parse reads one JSON document (an optional UTF-8 BOM, one value, optional
// whitespace) into a tree whose object members are sorted by key. It fails on
// syntax errors, invalid UTF-8, nesting deeper than MaxDepth and duplicate keys.
func Parse(data []byte) (*Value, error) {
	data = trimBOM(data)
	p := parser{data: data}
	p.skipWS()
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.skipWS()
	if p.pos < len(p.data) {
		return nil, p.fail("data after the top-level value")
	}
	return v, nil
}

func trimBOM(data []byte) []byte {
	if len(data) >= 3 && data[0] == 0xEF && data[1] == 0xBB && data[2] == 0xBF {
		return data[3:]
	}
	return data
}

// parser is a recursive-descent scanner over the input bytes. Values are
// carved out of slabs and container children are gathered on shared stacks,
// so a large document costs a few allocations per thousand values.
type parser struct {
	data    []byte
	pos     int
	slab    []Value
	members []Member
	elems   []*Value
	buf     []byte
	// keys interns object keys: definitions repeat a few dozen names
	// ("type", "inputs", "runAfter") thousands of times.
	keys map[string]string
}

func (p *parser) newValue(k Kind) *Value {
	if len(p.slab) == 0 {
		p.slab = make([]Value, 256)
	}
	v := &p.slab[0]
	p.slab = p.slab[1:]
	v.Kind = k
	return v
}

func (p *parser) fail(msg string) error {
	return &Error{Err: ErrSyntax, Offset: p.pos, Msg: msg}
}

func (p *parser) skipWS() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) value(depth int) (*Value, error) {
	if p.pos >= len(p.data) {
		return nil, p.fail("unexpected end of input")
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object(depth + 1)
	case c == '[':
		return p.array(depth + 1)
	case c == '"':
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		v := p.newValue(String)
		v.Str = s
		return v, nil
	case c == '-' || (c >= '0' && c <= '9'):
		start := p.pos
		if err := p.number(); err != nil {
			return nil, err
		}
		v := p.newValue(Number)
		v.Str = string(p.data[start:p.pos])
		return v, nil
	case c == 't':
		if err := p.literal("true"); err != nil {
			return nil, err
		}
		v := p.newValue(Bool)
		v.Bool = true
		return v, nil
	case c == 'f':
		if err := p.literal("false"); err != nil {
			return nil, err
		}
		return p.newValue(Bool), nil
	case c == 'n':
		if err := p.literal("null"); err != nil {
			return nil, err
		}
		return p.newValue(Null), nil
	default:
		return nil, p.fail("unexpected character " + strconv.QuoteRune(rune(c)))
	}
}

func (p *parser) literal(word string) error {
	if len(p.data)-p.pos < len(word) || string(p.data[p.pos:p.pos+len(word)]) != word {
		return p.fail("invalid literal, want " + word)
	}
	p.pos += len(word)
	return nil
}

// number scans -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? (RFC 8259).
func (p *parser) number() error {
	d := p.data
	if p.pos < len(d) && d[p.pos] == '-' {
		p.pos++
	}
	switch {
	case p.pos < len(d) && d[p.pos] == '0':
		p.pos++
	case p.pos < len(d) && d[p.pos] >= '1' && d[p.pos] <= '9':
		for p.pos < len(d) && isDigit(d[p.pos]) {
			p.pos++
		}
	default:
		return p.fail("invalid number")
	}
	if p.pos < len(d) && d[p.pos] == '.' {
		p.pos++
		if p.pos >= len(d) || !isDigit(d[p.pos]) {
			return p.fail("invalid number: digit expected after decimal point")
		}
		for p.pos < len(d) && isDigit(d[p.pos]) {
			p.pos++
		}
	}
	if p.pos < len(d) && (d[p.pos] == 'e' || d[p.pos] == 'E') {
		p.pos++
		if p.pos < len(d) && (d[p.pos] == '+' || d[p.pos] == '-') {
			p.pos++
		}
		if p.pos >= len(d) || !isDigit(d[p.pos]) {
			return p.fail("invalid number: digit expected in exponent")
		}
		for p.pos < len(d) && isDigit(d[p.pos]) {
			p.pos++
		}
	}
	return nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// str scans a string starting at its opening quote and returns its value.
func (p *parser) str() (string, error) {
	p.pos++ // opening quote
	start := p.pos
	d := p.data
	// Fast path: no escapes.
	for p.pos < len(d) {
		c := d[p.pos]
		switch {
		case c == '"':
			s := string(d[start:p.pos])
			p.pos++
			return s, nil
		case c == '\\':
			return p.strSlow(start)
		case c < 0x20:
			return "", p.fail("control character in string")
		case c < utf8.RuneSelf:
			p.pos++
		default:
			r, size := utf8.DecodeRune(d[p.pos:])
			if r == utf8.RuneError && size == 1 {
				return "", &Error{Err: ErrInvalidUTF8, Offset: p.pos}
			}
			p.pos += size
		}
	}
	return "", p.fail("unterminated string")
}

// key scans an object key, interning escape-free keys.
func (p *parser) key() (string, error) {
	start := p.pos + 1
	for i := start; i < len(p.data) && i-start < 64; i++ {
		c := p.data[i]
		if c == '"' {
			raw := p.data[start:i]
			if k, ok := p.keys[string(raw)]; ok {
				p.pos = i + 1
				return k, nil
			}
			break
		}
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			break
		}
	}
	k, err := p.str()
	if err != nil {
		return "", err
	}
	if len(k) <= 64 {
		if p.keys == nil {
			p.keys = make(map[string]string)
		}
		p.keys[k] = k
	}
	return k, nil
}

// strSlow decodes a string with escapes; p.pos is at the first backslash.
func (p *parser) strSlow(start int) (string, error) {
	d := p.data
	b := append(p.buf[:0], d[start:p.pos]...)
	for p.pos < len(d) {
		c := d[p.pos]
		switch {
		case c == '"':
			p.pos++
			p.buf = b
			return string(b), nil
		case c == '\\':
			if p.pos+1 >= len(d) {
				return "", p.fail("unterminated escape")
			}
			e := d[p.pos+1]
			p.pos += 2
			switch e {
			case '"', '\\', '/':
				b = append(b, e)
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r, ok := p.hex4()
				if !ok {
					return "", p.fail("invalid \\u escape")
				}
				if r >= 0xD800 && r < 0xDC00 && p.pos+6 <= len(d) && d[p.pos] == '\\' && d[p.pos+1] == 'u' {
					save := p.pos
					p.pos += 2
					lo, ok := p.hex4()
					if ok && lo >= 0xDC00 && lo < 0xE000 {
						b = utf8.AppendRune(b, 0x10000+(r-0xD800)<<10+(lo-0xDC00))
						continue
					}
					p.pos = save
				}
				b = appendRuneOrSurrogate(b, r)
			default:
				p.pos -= 2
				return "", p.fail("invalid escape")
			}
		case c < 0x20:
			return "", p.fail("control character in string")
		case c < utf8.RuneSelf:
			b = append(b, c)
			p.pos++
		default:
			r, size := utf8.DecodeRune(d[p.pos:])
			if r == utf8.RuneError && size == 1 {
				return "", &Error{Err: ErrInvalidUTF8, Offset: p.pos}
			}
			b = append(b, d[p.pos:p.pos+size]...)
			p.pos += size
		}
	}
	return "", p.fail("unterminated string")
}

func (p *parser) hex4() (rune, bool) {
	if p.pos+4 > len(p.data) {
		return 0, false
	}
	var r rune
	for _, c := range p.data[p.pos : p.pos+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	p.pos += 4
	return r, true
}

// appendRuneOrSurrogate appends r as UTF-8, or an unpaired surrogate in the
// three-byte form UTF-8 would give it, which the encoder recognises and
// writes back as a \u escape: its value survives although it is no character.
func appendRuneOrSurrogate(b []byte, r rune) []byte {
	if r >= 0xD800 && r < 0xE000 {
		return append(b, 0xE0|byte(r>>12), 0x80|byte(r>>6)&0x3F, 0x80|byte(r)&0x3F)
	}
	return utf8.AppendRune(b, r)
}

func (p *parser) object(depth int) (*Value, error) {
	if depth > MaxDepth {
		return nil, &Error{Err: ErrTooDeep, Offset: p.pos}
	}
	p.pos++ // {
	base := len(p.members)
	p.skipWS()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		return p.newValue(Object), nil
	}
	for {
		p.skipWS()
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return nil, p.fail("object key expected")
		}
		key, err := p.key()
		if err != nil {
			return nil, err
		}
		p.skipWS()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return nil, prefixPath(p.fail("':' expected after object key"), key)
		}
		p.pos++
		p.skipWS()
		val, err := p.value(depth)
		if err != nil {
			return nil, prefixPath(err, key)
		}
		p.members = append(p.members, Member{Key: key, Value: val})
		p.skipWS()
		if p.pos >= len(p.data) {
			return nil, p.fail("unterminated object")
		}
		if p.data[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.data[p.pos] == '}' {
			p.pos++
			break
		}
		return nil, p.fail("',' or '}' expected in object")
	}
	ms := slices.Clone(p.members[base:])
	clear(p.members[base:]) // drop references so the stack does not pin the tree
	p.members = p.members[:base]
	if err := sortMembers(ms); err != nil {
		return nil, err
	}
	v := p.newValue(Object)
	v.Members = ms
	return v, nil
}

// sortMembers sorts by key and reports the first duplicate.
func sortMembers(ms []Member) error {
	sorted := true
	for i := 1; i < len(ms); i++ {
		if ms[i-1].Key >= ms[i].Key {
			sorted = false
			break
		}
	}
	if sorted {
		return nil
	}
	slices.SortStableFunc(ms, func(a, b Member) int { return strings.Compare(a.Key, b.Key) })
	for i := 1; i < len(ms); i++ {
		if ms[i-1].Key == ms[i].Key {
			return &Error{Err: ErrDuplicateKey, Offset: -1, Key: ms[i].Key}
		}
	}
	return nil
}

func (p *parser) array(depth int) (*Value, error) {
	if depth > MaxDepth {
		return nil, &Error{Err: ErrTooDeep, Offset: p.pos}
	}
	p.pos++ // [
	base := len(p.elems)
	p.skipWS()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		return p.newValue(Array), nil
	}
	for i := 0; ; i++ {
		p.skipWS()
		val, err := p.value(depth)
		if err != nil {
			return nil, prefixPath(err, strconv.Itoa(i))
		}
		p.elems = append(p.elems, val)
		p.skipWS()
		if p.pos >= len(p.data) {
			return nil, p.fail("unterminated array")
		}
		if p.data[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.data[p.pos] == ']' {
			p.pos++
			break
		}
		return nil, p.fail("',' or ']' expected in array")
	}
	es := slices.Clone(p.elems[base:])
	clear(p.elems[base:])
	p.elems = p.elems[:base]
	v := p.newValue(Array)
	v.Elems = es
	return v, nil
}
