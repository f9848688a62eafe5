package textenc

import (
	"bytes"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// Encoding is the encoding Decode found in its input.
type Encoding int

// The encodings Decode recognises. UTF8 (no BOM) is the zero value.
const (
	UTF8 Encoding = iota
	UTF8BOM
	UTF16LE
	UTF16BE
)

// String returns a short lower-case name: utf-8, utf-8-bom, utf-16le, utf-16be.
func (e Encoding) String() string {
	switch e {
	case UTF8:
		return "utf-8"
	case UTF8BOM:
		return "utf-8-bom"
	case UTF16LE:
		return "utf-16le"
	case UTF16BE:
		return "utf-16be"
	}
	return fmt.Sprintf("Encoding(%d)", int(e))
}

// BOM returns the byte order mark that introduces e (nil for UTF8).
func (e Encoding) BOM() []byte {
	switch e {
	case UTF8BOM:
		return []byte{0xEF, 0xBB, 0xBF}
	case UTF16LE:
		return []byte{0xFF, 0xFE}
	case UTF16BE:
		return []byte{0xFE, 0xFF}
	}
	return nil
}

// Error is a decoding failure: what is wrong and where.
type Error struct {
	Encoding Encoding
	// Offset is the byte offset in the input (BOM included) where the problem starts.
	Offset  int
	Problem string
}

func (e *Error) Error() string {
	return fmt.Sprintf("decode %s: %s at byte offset %d", e.Encoding, e.Problem, e.Offset)
}

// Decode returns b's text as UTF-8 without a BOM and the encoding it found.
// A BOM selects UTF-8, UTF-16 LE or UTF-16 BE; no BOM means UTF-8. Invalid
// UTF-8, an odd number of UTF-16 bytes and unpaired surrogates are errors
// (*Error). For UTF-8 input the result shares memory with b.
func Decode(b []byte) ([]byte, Encoding, error) {
	switch {
	case bytes.HasPrefix(b, UTF8BOM.BOM()):
		out := b[3:]
		if err := validUTF8(out, 3, UTF8BOM); err != nil {
			return nil, UTF8BOM, err
		}
		return out, UTF8BOM, nil
	case bytes.HasPrefix(b, UTF16LE.BOM()):
		out, err := decodeUTF16(b, UTF16LE)
		return out, UTF16LE, err
	case bytes.HasPrefix(b, UTF16BE.BOM()):
		out, err := decodeUTF16(b, UTF16BE)
		return out, UTF16BE, err
	}
	if err := validUTF8(b, 0, UTF8); err != nil {
		return nil, UTF8, err
	}
	return b, UTF8, nil
}

// Encode returns text (UTF-8) in encoding e, BOM included. It is Decode's
// inverse for valid input; invalid UTF-8 sequences become U+FFFD in UTF-16.
func Encode(text []byte, e Encoding) []byte {
	switch e {
	case UTF16LE, UTF16BE:
		units := utf16.Encode([]rune(string(text)))
		out := make([]byte, 0, 2+2*len(units))
		out = append(out, e.BOM()...)
		for _, u := range units {
			if e == UTF16LE {
				out = append(out, byte(u), byte(u>>8))
			} else {
				out = append(out, byte(u>>8), byte(u))
			}
		}
		return out
	}
	out := make([]byte, 0, len(e.BOM())+len(text))
	out = append(out, e.BOM()...)
	return append(out, text...)
}

// validUTF8 reports the first invalid sequence in b; base is b's offset in the input.
func validUTF8(b []byte, base int, e Encoding) error {
	if utf8.Valid(b) {
		return nil
	}
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return &Error{Encoding: e, Offset: base + i, Problem: fmt.Sprintf("invalid UTF-8 byte 0x%02X", b[i])}
		}
		i += size
	}
	return nil
}

// decodeUTF16 decodes b (BOM included) as UTF-16 in byte order e.
func decodeUTF16(b []byte, e Encoding) ([]byte, error) {
	if len(b)%2 != 0 {
		return nil, &Error{Encoding: e, Offset: len(b) - 1, Problem: fmt.Sprintf("odd number of bytes (%d) for UTF-16", len(b))}
	}
	unit := func(i int) rune {
		if e == UTF16LE {
			return rune(b[i]) | rune(b[i+1])<<8
		}
		return rune(b[i])<<8 | rune(b[i+1])
	}
	out := make([]byte, 0, len(b)/2)
	for i := 2; i < len(b); i += 2 {
		u := unit(i)
		switch {
		case !utf16.IsSurrogate(u):
			out = utf8.AppendRune(out, u)
		case u >= 0xDC00:
			return nil, &Error{Encoding: e, Offset: i, Problem: fmt.Sprintf("unpaired low surrogate U+%04X", u)}
		default:
			if i+2 >= len(b) {
				return nil, &Error{Encoding: e, Offset: i, Problem: fmt.Sprintf("unpaired high surrogate U+%04X at end of input", u)}
			}
			r := utf16.DecodeRune(u, unit(i+2))
			if r == utf8.RuneError {
				return nil, &Error{Encoding: e, Offset: i, Problem: fmt.Sprintf("unpaired high surrogate U+%04X", u)}
			}
			out = utf8.AppendRune(out, r)
			i += 2
		}
	}
	return out, nil
}
