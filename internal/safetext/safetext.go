package safetext

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Hostile reports whether r must not reach a terminal, a log line or a
// commit as it is: control characters (C0, DEL, C1), line and paragraph
// separators, and the invisible formatting runes that reorder or hide text
// (BiDi embeddings, overrides, isolates and marks).
func Hostile(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069: // embeddings, overrides, isolates
		return true
	case r == 0x200e, r == 0x200f, r == 0x061c: // LRM, RLM, ALM
		return true
	case r == 0x2028, r == 0x2029: // line and paragraph separators
		return true
	case r == utf8.RuneError:
		return true
	}
	return false
}

// Line returns s with every hostile rune (and every byte that is not valid
// UTF-8) written as a Go escape, so the result is one line of text that
// shows what s holds. Safe text comes back unchanged.
func Line(s string) string {
	if isSafe(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case Hostile(r):
			b.WriteString(escape(r))
		default:
			b.WriteRune(r)
		}
		i += size
	}
	return b.String()
}

// escape writes r the way a Go string literal would.
func escape(r rune) string {
	switch r {
	case '\a':
		return `\a`
	case '\b':
		return `\b`
	case '\f':
		return `\f`
	case '\n':
		return `\n`
	case '\r':
		return `\r`
	case '\t':
		return `\t`
	case '\v':
		return `\v`
	}
	if r < 0x80 {
		return fmt.Sprintf(`\x%02x`, r)
	}
	return fmt.Sprintf(`\u%04x`, r)
}

func isSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return isSafeSlow(s)
		}
	}
	return true
}

func isSafeSlow(s string) bool {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size <= 1) || Hostile(r) {
			return false
		}
		i += size
	}
	return true
}

// Quote returns s between double quotes, with quotes, backslashes and
// hostile runes escaped as in a Go string literal; other text, accents,
// scripts and emoji included, stays as it is.
func Quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case Hostile(r):
			b.WriteString(escape(r))
		default:
			b.WriteRune(r)
		}
		i += size
	}
	b.WriteByte('"')
	return b.String()
}

// Error returns err's message as one safe line ("" for nil): error messages
// carry service text and names.
func Error(err error) string {
	if err == nil {
		return ""
	}
	return Line(err.Error())
}

// JSON rewrites hostile runes that encoding/json leaves raw (C1 controls,
// BiDi formatting runes) as \u escapes. In JSON text such runes can only
// stand inside strings, where the escape means the same rune, so the
// document is unchanged for a parser and inert on a terminal.
func JSON(doc []byte) []byte {
	s := string(doc)
	if isSafe(s) {
		return doc
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if size > 1 && Hostile(r) {
			fmt.Fprintf(&b, `\u%04x`, r)
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return []byte(b.String())
}
