package safetext

import (
	"encoding/json"
	"testing"
)

func TestLine(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "Invoice approval", "Invoice approval"},
		{"accents and emoji", "Café ✅ Überweisung", "Café ✅ Überweisung"},
		{"nul", "a\x00b", `a\x00b`},
		{"escape sequence", "\x1b[31mred\x1b]0;title\x07", `\x1b[31mred\x1b]0;title\a`},
		{"newline forges a line", "ok\nERROR fake", `ok\nERROR fake`},
		{"carriage return", "a\rb", `a\rb`},
		{"tab", "a\tb", `a\tb`},
		{"del and c1", "a\x7fb\u009bc", `a\x7fb\u009bc`},
		{"bidi override", "abc\u202etxt.exe", `abc\u202etxt.exe`},
		{"bidi isolates", "\u2066x\u2069", `\u2066x\u2069`},
		{"marks", "\u200e\u200f\u061c", `\u200e\u200f\u061c`},
		{"line separator", "a\u2028b\u2029c", `a\u2028b\u2029c`},
		{"invalid utf-8", "a\xffb", `a\xffb`},
		{"backslash kept", `C:\flows`, `C:\flows`},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Line(tt.in)
			if got != tt.want {
				t.Errorf("Line(%q) = %q, want %q", tt.in, got, tt.want)
			}
			for _, r := range got {
				if Hostile(r) {
					t.Errorf("Line(%q) keeps hostile rune %U", tt.in, r)
				}
			}
		})
	}
}

func TestQuote(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"Flow", `"Flow"`},
		{`say "hi"`, `"say \"hi\""`},
		{`a\b`, `"a\\b"`},
		{"x\x00\x1b\n\u202e", `"x\x00\x1b\n\u202e"`},
		{"Café", `"Café"`},
	}
	for _, tt := range tests {
		if got := Quote(tt.in); got != tt.want {
			t.Errorf("Quote(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestJSON(t *testing.T) {
	doc, err := json.Marshal(map[string]string{"name": "a\u202eb\u0085c\u2066d", "plain": "é"})
	if err != nil {
		t.Fatal(err)
	}
	got := JSON(doc)
	for _, r := range string(got) {
		if Hostile(r) {
			t.Fatalf("JSON(%s) keeps hostile rune %U", doc, r)
		}
	}
	var back map[string]string
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatalf("JSON output does not parse: %v\n%s", err, got)
	}
	if back["name"] != "a\u202eb\u0085c\u2066d" || back["plain"] != "é" {
		t.Errorf("JSON changed the document's meaning: %q", back)
	}
}
