package repo

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/flowsync/flowsync/internal/safetext"
)

func TestRemoteText(t *testing.T) {
	const tok = "FAKEgitTOKEN123"
	tests := []struct{ name, in, want string }{
		{"plain", "remote: permission denied", "remote: permission denied"},
		{"secret", "auth failed: token " + tok + " refused; https://x:" + tok + "@h/r.git", "auth failed: token REDACTED refused; https://REDACTED@h/r.git"},
		{"whitespace runs", "line one\r\n\tline two", "line one line two"},
		{"terminal escape", "\x1b[2Jgone", `\x1b[2Jgone`},
		{"bidi", "evil\u202egnp", `evil\u202egnp`},
		{"invalid byte", "bad\xffbyte", `bad\xffbyte`},
	}
	for _, tt := range tests {
		if got := remoteText(tt.in, []string{tok}); got != tt.want {
			t.Errorf("%s: remoteText(%q) = %q, want %q", tt.name, tt.in, got, tt.want)
		}
	}
	long := strings.Repeat("é", maxRemoteText+50)
	got := remoteText(long, nil)
	if n := utf8.RuneCountInString(got); n != maxRemoteText+1 || !strings.HasSuffix(got, "…") {
		t.Errorf("long text: %d runes, suffix %q; want %d and an ellipsis", n, got[len(got)-3:], maxRemoteText+1)
	}
	if safetext.Line(got) != got {
		t.Errorf("bounded text is not safe: %q", got)
	}
}
