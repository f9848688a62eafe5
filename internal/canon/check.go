package canon

import (
	"bytes"
	"unicode/utf8"
)

// IsCanonical reports whether data is already in canonical form, without
// building a tree or allocating. It may answer false for some canonical
// documents (keys with escapes, unpaired surrogate escapes), never true for
// a non-canonical one; Canonicalize uses it to return canonical input as it
// is, which is the common case when a tree is read back.
func IsCanonical(data []byte) bool {
	c := checker{data: data}
	if !c.value(0) || c.pos >= len(data) || data[c.pos] != '\n' {
		return false
	}
	return c.pos+1 == len(data)
}

type checker struct {
	data []byte
	pos  int
}

func (c *checker) byte(b byte) bool {
	if c.pos < len(c.data) && c.data[c.pos] == b {
		c.pos++
		return true
	}
	return false
}

func (c *checker) newlineIndent(depth int) bool {
	if !c.byte('\n') {
		return false
	}
	n := 2 * depth
	if len(c.data)-c.pos < n {
		return false
	}
	for _, b := range c.data[c.pos : c.pos+n] {
		if b != ' ' {
			return false
		}
	}
	c.pos += n
	return true
}

func (c *checker) value(depth int) bool {
	if c.pos >= len(c.data) {
		return false
	}
	switch b := c.data[c.pos]; {
	case b == '{':
		return c.object(depth)
	case b == '[':
		return c.array(depth)
	case b == '"':
		_, ok := c.str()
		return ok
	case b == 't':
		return c.word("true")
	case b == 'f':
		return c.word("false")
	case b == 'n':
		return c.word("null")
	case b == '-' || (b >= '0' && b <= '9'):
		p := parser{data: c.data, pos: c.pos}
		if p.number() != nil {
			return false
		}
		c.pos = p.pos
		return true
	}
	return false
}

func (c *checker) word(w string) bool {
	if len(c.data)-c.pos < len(w) || string(c.data[c.pos:c.pos+len(w)]) != w {
		return false
	}
	c.pos += len(w)
	return true
}

func (c *checker) object(depth int) bool {
	if depth+1 > MaxDepth {
		return false
	}
	c.pos++ // {
	if c.byte('}') {
		return true
	}
	var prev []byte
	for first := true; ; first = false {
		if !first && !c.byte(',') {
			break
		}
		if !c.newlineIndent(depth + 1) {
			return false
		}
		key, ok := c.str()
		if !ok || bytes.IndexByte(key, '\\') >= 0 {
			// Escaped keys order by their decoded value; leave them to Parse.
			return false
		}
		if !first && bytes.Compare(prev, key) >= 0 {
			return false
		}
		prev = key
		if !c.byte(':') || !c.byte(' ') || !c.value(depth+1) {
			return false
		}
	}
	return c.newlineIndent(depth) && c.byte('}')
}

func (c *checker) array(depth int) bool {
	if depth+1 > MaxDepth {
		return false
	}
	c.pos++ // [
	if c.byte(']') {
		return true
	}
	for first := true; ; first = false {
		if !first && !c.byte(',') {
			break
		}
		if !c.newlineIndent(depth+1) || !c.value(depth+1) {
			return false
		}
	}
	return c.newlineIndent(depth) && c.byte(']')
}

// str checks a string literal written the way appendString writes it and
// returns its raw content.
func (c *checker) str() ([]byte, bool) {
	if !c.byte('"') {
		return nil, false
	}
	start := c.pos
	d := c.data
	for c.pos < len(d) {
		b := d[c.pos]
		switch {
		case b == '"':
			c.pos++
			return d[start : c.pos-1], true
		case b == '\\':
			if !c.escape() {
				return nil, false
			}
		case b < 0x20:
			return nil, false
		case b < utf8.RuneSelf:
			c.pos++
		default:
			r, size := utf8.DecodeRune(d[c.pos:])
			if (r == utf8.RuneError && size == 1) || r == '\u2028' || r == '\u2029' {
				return nil, false
			}
			c.pos += size
		}
	}
	return nil, false
}

// escape accepts exactly the escapes appendString writes, except unpaired
// surrogates, which are rare enough to leave to Parse.
func (c *checker) escape() bool {
	d := c.data
	if c.pos+1 >= len(d) {
		return false
	}
	switch d[c.pos+1] {
	case '"', '\\', 'b', 'f', 'n', 'r', 't':
		c.pos += 2
		return true
	case 'u':
	default:
		return false
	}
	if c.pos+6 > len(d) {
		return false
	}
	h := string(d[c.pos+2 : c.pos+6])
	switch {
	case h == "2028" || h == "2029":
	case h[0] == '0' && h[1] == '0' && (h[2] == '0' || h[2] == '1') && isLowerHex(h[3]):
		switch h[2:] {
		case "08", "09", "0a", "0c", "0d": // written as \b \t \n \f \r
			return false
		}
	default:
		return false
	}
	c.pos += 6
	return true
}

func isLowerHex(b byte) bool { return b >= '0' && b <= '9' || b >= 'a' && b <= 'f' }
