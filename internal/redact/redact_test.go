package redact

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	// Fake values built at test time; none is a real credential.
	const sig = "FAKEsig0123%2Babc%3D"
	jwt := "eyJhbGciOiJub25lIn0" + "." + "eyJvaWQiOiJ4In0" + "."
	basic := base64.StdEncoding.EncodeToString([]byte("x-access-token:FAKE-not-a-token"))
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
		// Encoded forms, as secrets.SASSignatureSpans reads them.
		{"encoded ampersand and equals", "next=h%3Fa%3D1%26sig%3D" + sig + "%26se%3D2", "next=h%3Fa%3D1%26sig%3DREDACTED%26se%3D2"},
		{"encoded question mark", "next=h%3Fsig%3D" + sig, "next=h%3Fsig%3DREDACTED"},
		{"double encoded", "next=h%253Fsig%253D" + sig + "%2526a=1", "next=h%253Fsig%253DREDACTED%2526a=1"},
		{"html entity ampersand", "<a href=\"h?a=1&amp;sig=" + sig + "&amp;se=2\">", "<a href=\"h?a=1&amp;sig=REDACTED&amp;se=2\">"},
		{"semicolon", "h?a=1;sig=" + sig + ";b=2", "h?a=1;sig=REDACTED;b=2"},
		{"fragment", "h#sig=" + sig, "h#sig=REDACTED"},
		{"mixed case encoded", "h%3fSiG%3d" + sig, "h%3fSiG%3dREDACTED"},
		{"connection string", "Endpoint=sb://h/;SharedAccessSignature=sv=1&sig=" + sig + ";x=1", "Endpoint=sb://h/;SharedAccessSignature=REDACTED;x=1"},
		{"bearer", "Authorization: Bearer abc.def-ghi_jkl==", "Authorization: Bearer REDACTED"},
		{"bearer lower case", "bearer abc123 rest", "bearer REDACTED rest"},
		{"jwt", "token " + jwt + "sig0nature rest", "token REDACTED rest"},
		{"authorization header", "echo: Authorization: token FAKEghp0123 end", "echo: Authorization: token REDACTED end"},
		{"authorization header without scheme", `{"authorization":"FAKE0123"}`, `{"authorization":"REDACTED"}`},
		{"authorization idempotent", "Authorization: REDACTED", "Authorization: REDACTED"},
		{"proxy authorization", "Proxy-Authorization: Basic eDp5", "Proxy-Authorization: Basic REDACTED"},
		{"basic credentials", "sent basic " + basic + " to the proxy", "sent basic REDACTED to the proxy"},
		{"basic realm stays", `WWW-Authenticate: Basic realm="git"`, `WWW-Authenticate: Basic realm="git"`},
		{"basic words stay", "basic auth failed", "basic auth failed"},
		{"url userinfo in text", "clone https://x-access-token:FAKEtok@h/r.git failed", "clone https://REDACTED@h/r.git failed"},
		{"url user in text", `remote "https://FAKEtok@h/r.git"`, `remote "https://REDACTED@h/r.git"`},
		{"url without userinfo", "https://h/r.git?x=a@b", "https://h/r.git?x=a@b"},
		{"authorization failed stays", "authorization failed", "authorization failed"},
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
		{"password", "https://user:FAKEpass@h/x", "https://REDACTED@h/x"},
		{"user only (may be a token)", "https://FAKEtoken@h/x", "https://REDACTED@h/x"},
		{"token user and password", "https://x-access-token:abc@host.example/org/repo.git", "https://REDACTED@host.example/org/repo.git"},
		{"plain", "https://h/x?a=1", "https://h/x?a=1"},
		{"port kept", "http://127.0.0.1:8080/r.git", "http://127.0.0.1:8080/r.git"},
		{"ssh user", "ssh://git@host.example:2222/r.git", "ssh://REDACTED@host.example:2222/r.git"},
		{"scp-like", "git@host.example:org/r.git", "REDACTED@host.example:org/r.git"},
		{"path", "/srv/git/r.git", "/srv/git/r.git"},
		{"relative path with colon after slash", "dir/a:b", "dir/a:b"},
		{"file URL", "file:///srv/git/r.git", "file:///srv/git/r.git"},
		{"unparsable with password", "https://u:p%zz@host/x", "https://REDACTED@host/x"},
		{"unparsable", "%zz?sig=FAKE", "%zz?sig=REDACTED"},
		{"idempotent", "https://REDACTED@h/x", "https://REDACTED@h/x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := URL(tt.in); got != tt.want {
				t.Errorf("URL(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestValues(t *testing.T) {
	const secret = "FAKE+secret/value=1" // characters that encodings change
	pair := "x-access-token:" + secret
	tests := []struct {
		name, in string
	}{
		{"as given", "error: " + secret},
		{"query escaped", "u?p=" + url.QueryEscape(secret)},
		{"path escaped", "https://h/" + url.PathEscape(secret) + "/x"},
		{"base64", "echo " + base64.StdEncoding.EncodeToString([]byte(secret))},
		{"base64 url alphabet", "echo " + base64.RawURLEncoding.EncodeToString([]byte(secret))},
		{"basic pair", "hdr=" + base64.StdEncoding.EncodeToString([]byte(pair))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Values(tt.in, "", secret, pair)
			for _, form := range secretForms(secret, pair) {
				if strings.Contains(got, form) {
					t.Errorf("Values(%q) = %q still holds %q", tt.in, got, form)
				}
			}
			if !strings.Contains(got, Placeholder) {
				t.Errorf("Values(%q) = %q has no placeholder", tt.in, got)
			}
			if again := Values(got, secret, pair); again != got {
				t.Errorf("not idempotent: %q then %q", got, again)
			}
		})
	}
	for _, tc := range []struct{ secret, in string }{
		{"FAKE~tilde", "x=FAKE%7Etilde"},
		{"FAKE~tilde", "x=FAKE%7etilde"},
		{"FAKE pass word", "p=FAKE+pass%20word"},
		{"FAKEpässword", "p=FAKEp%C3%A4ssword and FAKEpässword"},
		{"FAKE.dot", "FAKE.dot but not FAKExdot"},
	} {
		got := Values(tc.in, tc.secret)
		if strings.Contains(got, "FAKE") && !strings.Contains(got, "FAKExdot") {
			t.Errorf("Values(%q, %q) = %q", tc.in, tc.secret, got)
		}
		if strings.Contains(tc.in, "FAKExdot") && !strings.Contains(got, "FAKExdot") {
			t.Errorf("Values(%q, %q) = %q: a dot in a secret matched any character", tc.in, tc.secret, got)
		}
	}
	if got := Values("nothing here", ""); got != "nothing here" {
		t.Errorf("an empty secret changed the text: %q", got)
	}
}

// secretForms are the forms of secrets a test must not find.
func secretForms(secrets ...string) []string {
	var out []string
	for _, s := range secrets {
		out = append(out, s, url.QueryEscape(s), base64.StdEncoding.EncodeToString([]byte(s)),
			base64.RawStdEncoding.EncodeToString([]byte(s)), base64.RawURLEncoding.EncodeToString([]byte(s)))
	}
	return out
}

func TestError(t *testing.T) {
	if Error(nil, "x") != nil {
		t.Error("Error(nil) is not nil")
	}
	cause := fmt.Errorf("open key: %w", fs.ErrNotExist)
	err := Error(fmt.Errorf("login with FAKEsecret: %w", cause), "FAKEsecret")
	if got, want := err.Error(), "login with REDACTED: open key: file does not exist"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Error("the cause is not reachable with errors.Is")
	}
}

// TestEveryKindThroughEveryPath feeds each kind of credential through each
// function that error paths use: the shape-based ones (String, URL) for the
// kinds recognizable by shape, Values and Error for all, and checks that no
// form of the secret survives.
func TestEveryKindThroughEveryPath(t *testing.T) {
	// Fake values built at test time; none is a real credential.
	token := "FAKEtok" + strings.Repeat("x", 20)
	clientSecret := "FAKE~client.secret_" + strings.Repeat("s", 10)
	sig := "FAKEsig%2Bzz%3D"
	basicUser, basicPass := "someone", "FAKEpass-word"
	kinds := []struct {
		name    string
		text    string   // how the credential shows up in a message
		secrets []string // what must not survive (any encoding)
		known   []string // what a caller knows by value and passes to Values/Error
		byShape bool     // String alone must remove it
	}{
		{"bearer token", "401 for Authorization: Bearer " + token, []string{token}, []string{token}, true},
		{"token echoed as basic auth", "proxy saw Basic " + base64.StdEncoding.EncodeToString([]byte("x-access-token:"+token)), []string{token, "x-access-token:" + token}, []string{token, "x-access-token:" + token}, true},
		{"token alone", "remote said: bad token " + token, []string{token}, []string{token}, false},
		{"sig= URL", "GET https://prod-1.westus.logic.azure.com/workflows/1/triggers/manual/paths/invoke?api-version=1&sig=" + sig + " failed", []string{sig}, nil, true},
		{"basic-auth URL", "push to https://" + basicUser + ":" + basicPass + "@git.example/r.git failed", []string{basicPass, basicUser + ":" + basicPass}, []string{basicPass}, true},
		{"client secret", "AADSTS7000215: Invalid client secret provided: " + clientSecret, []string{clientSecret}, []string{clientSecret}, false},
	}
	paths := []struct {
		name  string
		shape bool // finds credentials by shape only
		run   func(text string, known []string) string
	}{
		{"String", true, func(s string, _ []string) string { return String(s) }},
		{"Values", false, func(s string, k []string) string { return Values(s, k...) }},
		{"Error", false, func(s string, k []string) string { return Error(errors.New(s), k...).Error() }},
		{"Error wrapped", false, func(s string, k []string) string {
			return fmt.Errorf("outer: %w", Error(fmt.Errorf("inner: %s", s), k...)).Error()
		}},
	}
	for _, k := range kinds {
		for _, p := range paths {
			if p.shape && !k.byShape {
				continue // String cannot know a bare value
			}
			t.Run(k.name+"/"+p.name, func(t *testing.T) {
				got := p.run(k.text, k.known)
				for _, form := range secretForms(k.secrets...) {
					if strings.Contains(got, form) {
						t.Errorf("%s(%q) = %q still holds %q", p.name, k.text, got, form)
					}
				}
				if !strings.Contains(got, Placeholder) {
					t.Errorf("%s(%q) = %q shows no placeholder", p.name, k.text, got)
				}
			})
		}
	}
	// URL, for the kinds a URL carries.
	for _, u := range []string{
		"https://" + basicUser + ":" + basicPass + "@git.example/r.git",
		"https://" + token + "@git.example/r.git",
		"https://h/x?sig=" + sig,
	} {
		got := URL(u)
		for _, form := range secretForms(basicPass, token, sig) {
			if strings.Contains(got, form) {
				t.Errorf("URL(%q) = %q still holds %q", u, got, form)
			}
		}
	}
}
