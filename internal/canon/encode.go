package canon

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"unicode/utf8"
)

// Canonicalize returns the canonical form of a JSON document (see the
// package comment). Canonicalize(Canonicalize(x)) equals Canonicalize(x).
func Canonicalize(raw []byte) ([]byte, error) {
	if IsCanonical(raw) {
		return bytes.Clone(raw), nil
	}
	return canonicalizeSlow(raw)
}

func canonicalizeSlow(raw []byte) ([]byte, error) {
	v, err := Parse(raw)
	if err != nil {
		return nil, err
	}
	return encode(v, 2*len(raw)+64)
}

// Marshal encodes v with encoding/json (HTML escaping off) and returns the
// canonical form of the result.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return Canonicalize(buf.Bytes())
}

// Encode writes v in canonical form. It sorts object members a caller left
// unsorted, and fails on duplicate keys and on Number literals that are not
// JSON numbers.
func (v *Value) Encode() ([]byte, error) {
	return encode(v, 4096)
}

func encode(v *Value, sizeHint int) ([]byte, error) {
	e := encoder{buf: make([]byte, 0, sizeHint)}
	if err := e.value(v, 0); err != nil {
		return nil, err
	}
	e.buf = append(e.buf, '\n')
	// Callers keep results (a flow's extra properties live until the export
	// writes its index), so a small value must not pin a mostly empty
	// sizeHint buffer: copy it out when more than half would be wasted.
	if waste := cap(e.buf) - len(e.buf); waste > 512 && waste > len(e.buf) {
		return append([]byte(nil), e.buf...), nil
	}
	return e.buf, nil
}

type encoder struct {
	buf []byte
}

func (e *encoder) indent(n int) {
	e.buf = append(e.buf, '\n')
	for range n {
		e.buf = append(e.buf, ' ', ' ')
	}
}

func (e *encoder) value(v *Value, depth int) error {
	if v == nil {
		e.buf = append(e.buf, "null"...)
		return nil
	}
	switch v.Kind {
	case Null:
		e.buf = append(e.buf, "null"...)
	case Bool:
		if v.Bool {
			e.buf = append(e.buf, "true"...)
		} else {
			e.buf = append(e.buf, "false"...)
		}
	case Number:
		if !validNumber(v.Str) {
			return &Error{Err: ErrSyntax, Offset: -1, Msg: fmt.Sprintf("invalid number literal %q", v.Str)}
		}
		e.buf = append(e.buf, v.Str...)
	case String:
		e.buf = appendString(e.buf, v.Str)
	case Object:
		if len(v.Members) == 0 {
			e.buf = append(e.buf, "{}"...)
			return nil
		}
		ms := v.Members
		if !isSorted(ms) {
			ms = slices.Clone(ms)
			if err := sortMembers(ms); err != nil {
				return err
			}
		}
		e.buf = append(e.buf, '{')
		for i, m := range ms {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			e.indent(depth + 1)
			e.buf = appendString(e.buf, m.Key)
			e.buf = append(e.buf, ':', ' ')
			if err := e.value(m.Value, depth+1); err != nil {
				return prefixPath(err, m.Key)
			}
		}
		e.indent(depth)
		e.buf = append(e.buf, '}')
	case Array:
		if len(v.Elems) == 0 {
			e.buf = append(e.buf, "[]"...)
			return nil
		}
		e.buf = append(e.buf, '[')
		for i, el := range v.Elems {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			e.indent(depth + 1)
			if err := e.value(el, depth+1); err != nil {
				return prefixPath(err, strconv.Itoa(i))
			}
		}
		e.indent(depth)
		e.buf = append(e.buf, ']')
	default:
		return &Error{Err: ErrSyntax, Offset: -1, Msg: "unknown value kind " + v.Kind.String()}
	}
	return nil
}

func isSorted(ms []Member) bool {
	for i := 1; i < len(ms); i++ {
		if ms[i-1].Key >= ms[i].Key {
			return false
		}
	}
	return true
}

func validNumber(s string) bool {
	if s == "" {
		return false
	}
	p := parser{data: []byte(s)}
	return p.number() == nil && p.pos == len(s)
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string literal with the minimal escapes
// described in the package comment.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			if sr, ok := surrogateAt(s[i:]); ok {
				b = append(b, '\\', 'u', hexDigits[sr>>12], hexDigits[sr>>8&0xF], hexDigits[sr>>4&0xF], hexDigits[sr&0xF])
				size = 3
			} else {
				// Only reachable for strings a caller built: Parse refuses invalid UTF-8.
				b = append(b, "\ufffd"...)
			}
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// surrogateAt recognises the three-byte form appendRuneOrSurrogate gives an
// unpaired surrogate.
func surrogateAt(s string) (rune, bool) {
	if len(s) < 3 || s[0] != 0xED || s[1] < 0xA0 || s[1] > 0xBF || s[2] < 0x80 || s[2] > 0xBF {
		return 0, false
	}
	return rune(s[0]&0x0F)<<12 | rune(s[1]&0x3F)<<6 | rune(s[2]&0x3F), true
}
