package redact

import "testing"

func TestString(t *testing.T) {
	// Fake values built at test time; none is a real credential.
	const sig = "FAKEsig0123%2Babc%3D"
	jwt := "eyJhbGciOiJub25lIn0" + "." + "eyJvaWQiOiJ4In0" + "."
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"no secret", "Could not find flow 'abc'.", "Could not find flow 'abc'."},
		{"query member", "https://h/x?api-version=1&sp=%2Fread&sig=" + sig + "&se=2", "https://h/x?api-version=1&sp=%2Fread&sig=REDACTED&se=2"},
		{"first member", "https://h/x?sig=" + sig, "https://h/x?sig=REDACTED"},
		{"at start", "sig=" + sig, "sig=REDACTED"},
		{"upper case", "https://h/x?SIG=" + sig, "https://h/x?SIG=REDACTED"},
		{"ends at quote", `url 'https://h/x?a=1&sig=` + sig + `' failed`, `url 'https://h/x?a=1&sig=REDACTED' failed`},
		{"ends at double quote", `{"u":"https://h/x?sig=` + sig + `"}`, `{"u":"https://h/x?sig=REDACTED"}`},
		{"ends at space", "see https://h/x?sig=" + sig + " now", "see https://h/x?sig=REDACTED now"},
		{"ends at fragment", "https://h/x?sig=" + sig + "#frag", "https://h/x?sig=REDACTED#frag"},
		{"json escaped ampersand", `"https://h/x?a=1\u0026sig=` + sig + `\u0026se=2"`, `"https://h/x?a=1\u0026sig=REDACTED\u0026se=2"`},
		{"percent encoded ampersand", "next=https%3A%2F%2Fh%2Fx%3Fa%3D1%26sig=" + sig, "next=https%3A%2F%2Fh%2Fx%3Fa%3D1%26sig=REDACTED"},
		{"two urls", "a?sig=one b?sig=two", "a?sig=REDACTED b?sig=REDACTED"},
		{"not a sig member", "design=1&xsig=keep&signature=keep", "design=1&xsig=keep&signature=keep"},
		{"idempotent", "x?sig=REDACTED", "x?sig=REDACTED"},
		{"bearer", "Authorization: Bearer abc.def-ghi_jkl==", "Authorization: Bearer REDACTED"},
		{"bearer lower case", "bearer abc123 rest", "bearer REDACTED rest"},
		{"jwt", "token " + jwt + "sig0nature rest", "token REDACTED rest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := String(tt.in); got != tt.want {
				t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestURL(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"sig", "https://prod-00.westus.logic.azure.com/workflows/1/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=FAKE-sig_value", "https://prod-00.westus.logic.azure.com/workflows/1/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=REDACTED"},
		{"password", "https://user:FAKEpass@h/x", "https://user:REDACTED@h/x"},
		{"user only", "https://user@h/x", "https://user@h/x"},
		{"plain", "https://h/x?a=1", "https://h/x?a=1"},
		{"unparsable", "%zz?sig=FAKE", "%zz?sig=REDACTED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := URL(tt.in); got != tt.want {
				t.Errorf("URL(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
