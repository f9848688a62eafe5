package canon

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCanonicalize(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"sorted keys and indent", `{"b":1,"a":{"d":[1,2],"c":true}}`,
			"{\n  \"a\": {\n    \"c\": true,\n    \"d\": [\n      1,\n      2\n    ]\n  },\n  \"b\": 1\n}\n"},
		{"empty containers on one line", `{"o":{ },"a":[ ]}`, "{\n  \"a\": [],\n  \"o\": {}\n}\n"},
		{"empty top level object", `{}`, "{}\n"},
		{"top level scalar", ` "x" `, "\"x\"\n"},
		{"null and false", `[null,false]`, "[\n  null,\n  false\n]\n"},
		{"numbers as written", `[1.0,1e3,-0,1E+2,12345678901234567890123,0.10]`,
			"[\n  1.0,\n  1e3,\n  -0,\n  1E+2,\n  12345678901234567890123,\n  0.10\n]\n"},
		{"escapes decoded", `"\u00e9\/\u0041\u20ac"`, "\"é/A€\"\n"},
		{"html characters raw", `"<a href='x'>&amp;</a>"`, "\"<a href='x'>&amp;</a>\"\n"},
		{"short escapes", `"\b\f\n\r\t\"\\"`, "\"\\b\\f\\n\\r\\t\\\"\\\\\"\n"},
		{"other controls", `"\u0001\u001F\u0000"`, "\"\\u0001\\u001f\\u0000\"\n"},
		{"line separators stay escaped", "\"a\u2028b\\u2029c\"", "\"a\\u2028b\\u2029c\"\n"},
		{"surrogate pair decoded", `"\ud83d\ude00"`, "\"😀\"\n"},
		{"lone surrogate kept lower case", `"x\uD800y\udc00"`, "\"x\\ud800y\\udc00\"\n"},
		{"high surrogate before non-low escape", `"\ud800\u0041"`, "\"\\ud800A\"\n"},
		{"no-break and zero-width spaces raw", "\"a\u00a0b\u200bc\"", "\"a\u00a0b\u200bc\"\n"},
		{"DEL is not a control", "\"\x7f\"", "\"\x7f\"\n"},
		{"utf-8 bom stripped", "\xef\xbb\xbf{\"a\":1}", "{\n  \"a\": 1\n}\n"},
		{"crlf whitespace", "{\r\n\t\"a\" :\r\n 1 }\r\n", "{\n  \"a\": 1\n}\n"},
		{"keys by byte order", `{"é":1,"a":2,"B":3,"_":4,"aa":5}`,
			"{\n  \"B\": 3,\n  \"_\": 4,\n  \"a\": 2,\n  \"aa\": 5,\n  \"é\": 1\n}\n"},
		{"escaped keys sort by value", `{"\u0062":1,"a":2}`, "{\n  \"a\": 2,\n  \"b\": 1\n}\n"},
		{"empty key", `{"":1}`, "{\n  \"\": 1\n}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Canonicalize([]byte(tt.in))
			if err != nil {
				t.Fatalf("Canonicalize: %v", err)
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("Canonicalize (-want +got):\n%s", diff)
			}
			again, err := Canonicalize(got)
			if err != nil {
				t.Fatalf("Canonicalize(output): %v", err)
			}
			if !bytes.Equal(again, got) {
				t.Errorf("not a fixed point:\n%s\nthen\n%s", got, again)
			}
		})
	}
}

func TestIsCanonical(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"object", "{\n  \"a\": 1,\n  \"b\": [\n    true,\n    null\n  ]\n}\n", true},
		{"empty", "{}\n", true},
		{"scalar", "\"x\"\n", true},
		{"escapes", "\"\\u0001\\n\\u2028\\\"\"\n", true},
		{"no trailing newline", "{}", false},
		{"two newlines", "{}\n\n", false},
		{"bom", "\xef\xbb\xbf{}\n", false},
		{"unsorted", "{\n  \"b\": 1,\n  \"a\": 2\n}\n", false},
		{"duplicate", "{\n  \"a\": 1,\n  \"a\": 2\n}\n", false},
		{"wrong indent", "{\n   \"a\": 1\n}\n", false},
		{"tab indent", "{\n\t\"a\": 1\n}\n", false},
		{"no space after colon", "{\n  \"a\":1\n}\n", false},
		{"crlf", "{\r\n  \"a\": 1\r\n}\r\n", false},
		{"compact", "{\"a\":1}\n", false},
		{"empty with space", "{ }\n", false},
		{"escaped slash", "\"\\/\"\n", false},
		{"escaped letter", "\"\\u0041\"\n", false},
		{"upper hex", "\"\\u001F\"\n", false},
		{"long form of newline", "\"\\u000a\"\n", false},
		{"raw line separator", "\"\u2028\"\n", false},
		{"invalid utf-8", "\"\xff\"\n", false},
		{"escaped key deferred", "{\n  \"\\n\": 1\n}\n", false},
		{"bad number", "01\n", false},
		{"trailing comma", "[\n  1,\n]\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsCanonical([]byte(tt.in)); got != tt.want {
				t.Errorf("IsCanonical(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func BenchmarkCanonicalizeCanonical(b *testing.B) {
	in, err := Canonicalize([]byte(synthDefinition(75)))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Canonicalize(in); err != nil {
			b.Fatal(err)
		}
	}
}

func TestCanonicalizeErrors(t *testing.T) {
	deep := strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1)
	okDeep := strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth)
	if _, err := Canonicalize([]byte(okDeep)); err != nil {
		t.Fatalf("depth %d refused: %v", MaxDepth, err)
	}
	tests := []struct {
		name    string
		in      string
		wantErr error
		wantMsg string
	}{
		{"duplicate key names key and path", `{"actions":{"Call":{"inputs":{"a":1,"b":2,"a":3}}}}`, ErrDuplicateKey,
			`duplicate object key "a" in object at /actions/Call/inputs`},
		{"duplicate at root", `{"x":1,"x":1}`, ErrDuplicateKey, `duplicate object key "x" in object at (root)`},
		{"duplicate via escape", `{"a":1,"\u0061":2}`, ErrDuplicateKey, `"a"`},
		{"duplicate inside array", `[{},{"k":1,"k":2}]`, ErrDuplicateKey, `at /1`},
		{"pointer escaping", `{"a/b~c":{"k":1,"k":2}}`, ErrDuplicateKey, `at /a~1b~0c`},
		{"trailing data", `{} {}`, ErrSyntax, "data after"},
		{"empty input", ``, ErrSyntax, "end of input"},
		{"only bom", "\xef\xbb\xbf", ErrSyntax, ""},
		{"leading zero", `01`, ErrSyntax, ""},
		{"bare minus", `-`, ErrSyntax, ""},
		{"dot without digits", `1.`, ErrSyntax, ""},
		{"exponent without digits", `1e+`, ErrSyntax, ""},
		{"plus sign", `+1`, ErrSyntax, ""},
		{"single quotes", `{'a':1}`, ErrSyntax, ""},
		{"trailing comma", `[1,]`, ErrSyntax, ""},
		{"raw control in string", "\"a\tb\"", ErrSyntax, "control character"},
		{"bad escape", `"\x"`, ErrSyntax, "invalid escape"},
		{"short unicode escape", `"\u12"`, ErrSyntax, ""},
		{"unterminated string", `"abc`, ErrSyntax, ""},
		{"unterminated object", `{"a":1`, ErrSyntax, ""},
		{"invalid utf-8", "\"\xff\"", ErrInvalidUTF8, ""},
		{"overlong utf-8", "\"\xc0\xaf\"", ErrInvalidUTF8, ""},
		{"raw surrogate bytes", "\"\xed\xa0\x80\"", ErrInvalidUTF8, ""},
		{"utf-16 bom is not json", "\xff\xfe{\x00}\x00", ErrSyntax, ""},
		{"too deep", deep, ErrTooDeep, ""},
		{"literal typo", `tru`, ErrSyntax, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Canonicalize([]byte(tt.in))
			if err == nil {
				t.Fatalf("Canonicalize = %q, want error %v", got, tt.wantErr)
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not contain %q", err, tt.wantMsg)
			}
		})
	}
}

func TestEncodeValue(t *testing.T) {
	v := &Value{Kind: Object, Members: []Member{
		{Key: "z", Value: NewString("last")},
		{Key: "a", Value: &Value{Kind: Array, Elems: []*Value{{Kind: Number, Str: "1.50"}, nil}}},
	}}
	got, err := v.Encode()
	if err != nil {
		t.Fatal(err)
	}
	want := "{\n  \"a\": [\n    1.50,\n    null\n  ],\n  \"z\": \"last\"\n}\n"
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("Encode (-want +got):\n%s", diff)
	}
	if v.Members[0].Key != "z" {
		t.Errorf("Encode reordered the caller's members")
	}

	bad := []struct {
		name string
		v    *Value
		want error
	}{
		{"duplicate keys", &Value{Kind: Object, Members: []Member{{Key: "b", Value: NewString("")}, {Key: "a"}, {Key: "b"}}}, ErrDuplicateKey},
		{"invalid number", &Value{Kind: Object, Members: []Member{{Key: "n", Value: &Value{Kind: Number, Str: "NaN"}}}}, ErrSyntax},
		{"empty number", &Value{Kind: Number}, ErrSyntax},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.v.Encode(); !errors.Is(err, tt.want) {
				t.Errorf("Encode error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestEncodeInvalidUTF8FromCaller(t *testing.T) {
	got, err := NewString("a\xffb").Encode()
	if err != nil {
		t.Fatal(err)
	}
	if want := "\"a\ufffdb\"\n"; string(got) != want {
		t.Errorf("Encode = %q, want %q", got, want)
	}
}

func TestParseGet(t *testing.T) {
	v, err := Parse([]byte(`{"triggers":{"manual":{"type":"Request","kind":"Button"}},"n":2}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := v.Get("triggers").Get("manual").Get("kind"); got == nil || got.Str != "Button" {
		t.Errorf("Get kind = %+v", got)
	}
	if got := v.Get("missing").Get("x"); got != nil {
		t.Errorf("Get on missing = %+v, want nil", got)
	}
	if got := v.Get("n").Get("x"); got != nil {
		t.Errorf("Get on number = %+v, want nil", got)
	}
}

func TestMarshal(t *testing.T) {
	type inner struct {
		URL  string `json:"url"`
		Zero int    `json:"zero,omitempty"`
	}
	got, err := Marshal(map[string]any{"b": inner{URL: "https://h/x?a=1&b=<2>"}, "a": []string{}})
	if err != nil {
		t.Fatal(err)
	}
	want := "{\n  \"a\": [],\n  \"b\": {\n    \"url\": \"https://h/x?a=1&b=<2>\"\n  }\n}\n"
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("Marshal (-want +got):\n%s", diff)
	}
	if _, err := Marshal(func() {}); err == nil {
		t.Errorf("Marshal(func) succeeded")
	}
}

// TestAgreesWithEncodingJSON checks that the strings and structure we write
// decode, with the standard library, to what the input decodes to.
func TestAgreesWithEncodingJSON(t *testing.T) {
	in := []byte(synthDefinition(75))
	out, err := Canonicalize(in)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(decodeStd(t, in), decodeStd(t, out)); diff != "" {
		t.Errorf("value changed (-in +out):\n%s", diff)
	}
}

func decodeStd(t testing.TB, b []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("encoding/json decode: %v", err)
	}
	return v
}

func FuzzCanonicalize(f *testing.F) {
	seeds := []string{
		`{}`, `[]`, `{"b":1,"a":[1,2,{"c":null}]}`, `"\u2028\ud800\ud83d\ude00\/"`,
		`[1.0,-0,1e10,0.5E-3]`, "\xef\xbb\xbf{\"a\":\"\u00a0\"}", `{"a":1,"a":2}`,
		`{"$schema":"x","actions":{"A":{"inputs":{"headers":{"X":"@{x}"}}}}}`,
		"\"\\u0000\\u001f\x7f\"", `[[[[[]]]]]`, `{"a":"b" `,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := Canonicalize(data)
		stdValid := json.Valid(trimBOM(data))
		if err != nil {
			if errors.Is(err, ErrSyntax) && stdValid {
				t.Fatalf("refused as syntax error but encoding/json accepts it: %v", err)
			}
			return
		}
		if !stdValid {
			t.Fatalf("accepted input encoding/json rejects: %q", data)
		}
		if bytes.HasPrefix(out, []byte("\xef\xbb\xbf")) || !bytes.HasSuffix(out, []byte("\n")) || bytes.Contains(out, []byte("\r")) {
			t.Fatalf("output framing wrong: %q", out)
		}
		again, err := Canonicalize(out)
		if err != nil {
			t.Fatalf("output does not canonicalize: %v\n%s", err, out)
		}
		if !bytes.Equal(again, out) {
			t.Fatalf("not a fixed point:\n%s\nthen\n%s", out, again)
		}
		// The fast path agrees with the parser: whatever IsCanonical
		// accepts, the parser writes back unchanged, and it accepts what
		// the encoder writes unless an escape makes it defer.
		if IsCanonical(data) {
			slow, err := canonicalizeSlow(data)
			if err != nil || !bytes.Equal(slow, data) {
				t.Fatalf("IsCanonical accepted non-canonical input %q (slow path: %q, %v)", data, slow, err)
			}
		}
		if !bytes.Contains(out, []byte(`\`)) && !IsCanonical(out) {
			t.Fatalf("IsCanonical refused encoder output %q", out)
		}
		if diff := cmp.Diff(decodeStd(t, trimBOM(data)), decodeStd(t, out)); diff != "" {
			t.Fatalf("value changed (-in +out):\n%s", diff)
		}
	})
}

// synthDefinition builds a workflow-definition-shaped document with n
// actions, each nesting a scope with a few children, unicode and numbers.
func synthDefinition(n int) string {
	var sb strings.Builder
	sb.WriteString(`{"$schema":"https://schema.management.azure.com/providers/Microsoft.Logic/schemas/2016-06-01/workflowdefinition.json#","contentVersion":"1.0.0.0",`)
	sb.WriteString(`"parameters":{"$connections":{"defaultValue":{},"type":"Object"},"$authentication":{"defaultValue":{},"type":"SecureObject"}},`)
	sb.WriteString(`"triggers":{"manual":{"type":"Request","kind":"Button","inputs":{"schema":{"type":"object","properties":{},"required":[]}}}},"actions":{`)
	for i := range n {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `"Scope_%d":{"type":"Scope","runAfter":{"Scope_%d":["Succeeded","Failed"]},"actions":{`, i, i-1)
		for j := range 8 {
			if j > 0 {
				sb.WriteByte(',')
			}
			fmt.Fprintf(&sb, `"Send_an_email_(V2)_%d_%d":{"type":"OpenApiConnection","inputs":{"host":{"connectionName":"shared_office365","operationId":"SendEmailV2","apiId":"/providers/Microsoft.PowerApps/apis/shared_office365"},`+
				`"parameters":{"emailMessage/To":"@{triggerBody()?['email']}","emailMessage/Subject":"Réunion \u00a0⚠ \"%d\"","emailMessage/Body":"<p>Hello\n@{items('Apply_to_each')?['Title']}</p>","emailMessage/Importance":"Normal","count":%d.50},`+
				`"authentication":"@parameters('$authentication')"},"runAfter":{},"metadata":{"operationMetadataId":"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"}}`, i, j, i*j, j)
		}
		sb.WriteString(`}}`)
	}
	sb.WriteString(`},"outputs":{}}`)
	return sb.String()
}

func BenchmarkCanonicalize(b *testing.B) {
	in := []byte(synthDefinition(75)) // about 350 KB, the corpus's largest flow
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Canonicalize(in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStdlibRoundTrip measures the obvious alternative (decode into
// any with UseNumber, MarshalIndent) for comparison; it cannot detect
// duplicate keys and escapes differently.
func BenchmarkStdlibRoundTrip(b *testing.B) {
	in := []byte(synthDefinition(75))
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		dec := json.NewDecoder(bytes.NewReader(in))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			b.Fatal(err)
		}
		if _, err := json.MarshalIndent(v, "", "  "); err != nil {
			b.Fatal(err)
		}
	}
}

func TestEncodeSmallValueDoesNotPinBuffer(t *testing.T) {
	v, err := Parse([]byte(`true`))
	if err != nil {
		t.Fatal(err)
	}
	b, err := v.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != "true\n" {
		t.Fatalf("Encode = %q", b)
	}
	if cap(b) > 64 {
		t.Errorf("a 5-byte encoding keeps a %d-byte buffer alive", cap(b))
	}
}
