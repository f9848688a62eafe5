package textenc

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func TestDecode(t *testing.T) {
	tests := []struct {
		name     string
		in       []byte
		want     string
		wantEnc  Encoding
		wantErr  string // substring of the error; "" = no error
		wantOffs int
	}{
		{name: "empty", in: nil, want: "", wantEnc: UTF8},
		{name: "ascii", in: []byte(`{"a":1}`), want: `{"a":1}`, wantEnc: UTF8},
		{name: "utf8 multibyte", in: []byte("caf\u00e9 \u26a0 \u00a0"), want: "caf\u00e9 \u26a0 \u00a0", wantEnc: UTF8},
		{name: "utf8 bom", in: []byte("\xEF\xBB\xBF{}"), want: "{}", wantEnc: UTF8BOM},
		{name: "utf8 bom only", in: []byte("\xEF\xBB\xBF"), want: "", wantEnc: UTF8BOM},
		{name: "utf16le bom", in: []byte("\xFF\xFE{\x00}\x00"), want: "{}", wantEnc: UTF16LE},
		{name: "utf16le bom only", in: []byte("\xFF\xFE"), want: "", wantEnc: UTF16LE},
		{name: "utf16le non-ascii", in: []byte("\xFF\xFE\xE9\x00\x13\x20"), want: "\u00e9\u2013", wantEnc: UTF16LE},
		{name: "utf16le surrogate pair", in: []byte("\xFF\xFE\x3D\xD8\x00\xDE"), want: "\U0001F600", wantEnc: UTF16LE},
		{name: "utf16be bom", in: []byte("\xFE\xFF\x00{\x00}"), want: "{}", wantEnc: UTF16BE},
		{name: "utf16be surrogate pair", in: []byte("\xFE\xFF\xD8\x3D\xDE\x00"), want: "\U0001F600", wantEnc: UTF16BE},
		{name: "utf16le keeps inner BOM char", in: []byte("\xFF\xFE\xFF\xFEa\x00"), want: "\uFEFFa", wantEnc: UTF16LE},

		{name: "invalid utf8", in: []byte("ab\xFFcd"), wantEnc: UTF8, wantErr: "invalid UTF-8 byte 0xFF", wantOffs: 2},
		{name: "truncated utf8", in: []byte("abc\xE2\x82"), wantEnc: UTF8, wantErr: "invalid UTF-8", wantOffs: 3},
		{name: "invalid utf8 after bom", in: []byte("\xEF\xBB\xBFa\xC0\x80"), wantEnc: UTF8BOM, wantErr: "invalid UTF-8 byte 0xC0", wantOffs: 4},
		{name: "latin1 without bom", in: []byte("caf\xE9"), wantEnc: UTF8, wantErr: "invalid UTF-8 byte 0xE9", wantOffs: 3},
		{name: "utf16le odd length", in: []byte("\xFF\xFE{\x00}"), wantEnc: UTF16LE, wantErr: "odd number of bytes (5)", wantOffs: 4},
		{name: "utf16le lone low surrogate", in: []byte("\xFF\xFEa\x00\x00\xDC"), wantEnc: UTF16LE, wantErr: "unpaired low surrogate U+DC00", wantOffs: 4},
		{name: "utf16le high surrogate at end", in: []byte("\xFF\xFEa\x00\x3D\xD8"), wantEnc: UTF16LE, wantErr: "unpaired high surrogate U+D83D at end of input", wantOffs: 4},
		{name: "utf16le high surrogate then ascii", in: []byte("\xFF\xFE\x3D\xD8a\x00"), wantEnc: UTF16LE, wantErr: "unpaired high surrogate U+D83D", wantOffs: 2},
		{name: "utf16be two high surrogates", in: []byte("\xFE\xFF\xD8\x3D\xD8\x3D"), wantEnc: UTF16BE, wantErr: "unpaired high surrogate", wantOffs: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, enc, err := Decode(tc.in)
			if enc != tc.wantEnc {
				t.Errorf("encoding = %v, want %v", enc, tc.wantEnc)
			}
			if tc.wantErr != "" {
				var de *Error
				if !errors.As(err, &de) {
					t.Fatalf("err = %v, want *Error containing %q", err, tc.wantErr)
				}
				if !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("err = %q, want it to contain %q", err, tc.wantErr)
				}
				if de.Offset != tc.wantOffs {
					t.Errorf("offset = %d, want %d", de.Offset, tc.wantOffs)
				}
				if got != nil {
					t.Errorf("got %q with an error, want nil", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if diff := cmp.Diff(tc.want, string(got)); diff != "" {
				t.Errorf("text (-want +got):\n%s", diff)
			}
		})
	}
}

func TestErrorMessage(t *testing.T) {
	_, _, err := Decode([]byte("\xFF\xFEa\x00\x00\xDC"))
	want := "decode utf-16le: unpaired low surrogate U+DC00 at byte offset 4"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
}

func TestEncodingString(t *testing.T) {
	tests := []struct {
		enc  Encoding
		want string
	}{
		{UTF8, "utf-8"}, {UTF8BOM, "utf-8-bom"}, {UTF16LE, "utf-16le"}, {UTF16BE, "utf-16be"}, {Encoding(9), "Encoding(9)"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			if got := tc.enc.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	text := "Flow \u2013 caf\u00e9 \u26a0 \U0001F600 \u200b end"
	for _, enc := range []Encoding{UTF8, UTF8BOM, UTF16LE, UTF16BE} {
		t.Run(enc.String(), func(t *testing.T) {
			b := Encode([]byte(text), enc)
			if !bytes.HasPrefix(b, enc.BOM()) {
				t.Errorf("Encode(%v) does not start with its BOM: % X", enc, b[:4])
			}
			got, gotEnc, err := Decode(b)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if gotEnc != enc {
				t.Errorf("encoding = %v, want %v", gotEnc, enc)
			}
			if diff := cmp.Diff(text, string(got)); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	for _, seed := range [][]byte{
		nil, []byte("{}"), []byte("\xEF\xBB\xBF{}"), []byte("\xFF\xFE{\x00}\x00"), []byte("\xFE\xFF\x00{"),
		[]byte("\xFF\xFE\x3D\xD8\x00\xDE"), []byte("\xFF\xFE\x00\xDC"), []byte("ab\xFF"), []byte("\xFF\xFE{"),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		out, _, err := Decode(b)
		if err == nil && !utf8.Valid(out) {
			t.Fatalf("Decode(% X) returned invalid UTF-8 % X", b, out)
		}
		text := strings.ToValidUTF8(string(b), "\uFFFD")
		for _, enc := range []Encoding{UTF8BOM, UTF16LE, UTF16BE} {
			got, gotEnc, err := Decode(Encode([]byte(text), enc))
			if err != nil {
				t.Fatalf("Decode(Encode(%q, %v)): %v", text, enc, err)
			}
			if gotEnc != enc || string(got) != text {
				t.Fatalf("round trip %v: got %q (%v), want %q", enc, got, gotEnc, text)
			}
		}
	})
}
