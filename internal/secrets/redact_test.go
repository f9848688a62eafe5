package secrets

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/flowsync/flowsync/internal/canon"
	"github.com/google/go-cmp/cmp"
)

// fake returns a throwaway secret made at test time, long enough that finding
// it in output cannot be a coincidence.
func fake(t *testing.T) string {
	t.Helper()
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "FAKE" + hex.EncodeToString(b)
}

type redactCase struct {
	name string
	// doc is a definition in which SECRET1, SECRET2 and SECRET3 stand for secrets.
	doc  string
	want []Finding
	// keep lists substrings that must survive unchanged.
	keep []string
}

func redactCases() []redactCase {
	return []redactCase{
		{
			name: "basic authentication",
			doc: `{"actions":{"HTTP":{"type":"Http","inputs":{"method":"GET","uri":"https://example.invalid/api",
				"authentication":{"type":"Basic","username":"svc-user","password":"SECRET1"}}}}}`,
			want: []Finding{{"actions.HTTP.inputs.authentication.password", KindPassword}},
			keep: []string{`"svc-user"`},
		},
		{
			name: "client certificate",
			doc:  `{"actions":{"HTTP":{"type":"Http","inputs":{"authentication":{"type":"ClientCertificate","pfx":"SECRET1","password":"SECRET2"}}}}}`,
			want: []Finding{
				{"actions.HTTP.inputs.authentication.password", KindPassword},
				{"actions.HTTP.inputs.authentication.pfx", KindPFX},
			},
		},
		{
			name: "active directory oauth with secret",
			doc: `{"actions":{"HTTP":{"type":"Http","inputs":{"authentication":{"type":"ActiveDirectoryOAuth",
				"tenant":"00000000-0000-0000-0000-000000000001","audience":"https://graph.microsoft.com","clientId":"00000000-0000-0000-0000-000000000002","secret":"SECRET1"}}}}}`,
			want: []Finding{{"actions.HTTP.inputs.authentication.secret", KindClientSecret}},
			keep: []string{"https://graph.microsoft.com", "00000000-0000-0000-0000-000000000002"},
		},
		{
			name: "active directory oauth with certificate",
			doc:  `{"actions":{"HTTP":{"type":"Http","inputs":{"authentication":{"type":"ActiveDirectoryOAuth","tenant":"t","audience":"a","clientId":"c","pfx":"SECRET1","password":"SECRET2"}}}}}`,
			want: []Finding{
				{"actions.HTTP.inputs.authentication.password", KindPassword},
				{"actions.HTTP.inputs.authentication.pfx", KindPFX},
			},
		},
		{
			name: "raw literal value",
			doc:  `{"actions":{"HTTP":{"type":"Http","inputs":{"authentication":{"type":"Raw","value":"Bearer SECRET1"}}}}}`,
			want: []Finding{{"actions.HTTP.inputs.authentication.value", KindCredential}},
		},
		{
			name: "raw expression value is a reference",
			doc:  `{"actions":{"S":{"type":"OpenApiConnection","inputs":{"authentication":{"type":"Raw","value":"@json(decodeBase64(triggerOutputs().headers['X-MS-APIM-Tokens']))['$ConnectionKey']"}}}}}`,
			keep: []string{`"@json(decodeBase64(triggerOutputs().headers['X-MS-APIM-Tokens']))['$ConnectionKey']"`},
		},
		{
			name: "value is not secret outside raw",
			doc:  `{"actions":{"HTTP":{"inputs":{"authentication":{"type":"Basic","username":"u","value":"plain"}}}}}`,
			keep: []string{`"plain"`},
		},
		{
			name: "managed identity has no secret",
			doc:  `{"actions":{"HTTP":{"type":"Http","inputs":{"authentication":{"type":"ManagedServiceIdentity","audience":"https://vault.azure.net"}}}}}`,
			keep: []string{"https://vault.azure.net"},
		},
		{
			name: "connector authentication expression",
			doc:  `{"actions":{"Send":{"type":"OpenApiConnection","inputs":{"authentication":"@parameters('$authentication')"}}}}`,
			keep: []string{`"@parameters('$authentication')"`},
		},
		{
			name: "api key headers",
			doc: `{"actions":{"HTTP":{"type":"Http","inputs":{"headers":{"X-API-Key":"SECRET1","Ocp-Apim-Subscription-Key":"SECRET2",
				"x-functions-key":"SECRET3","Content-Type":"application/json","Accept":"application/json"}}}}}`,
			want: []Finding{
				{"actions.HTTP.inputs.headers.Ocp-Apim-Subscription-Key", KindAPIKey},
				{"actions.HTTP.inputs.headers.X-API-Key", KindAPIKey},
				{"actions.HTTP.inputs.headers.x-functions-key", KindFunctionKey},
			},
			keep: []string{`"application/json"`},
		},
		{
			name: "literal authorization header",
			doc:  `{"actions":{"HTTP":{"inputs":{"headers":{"Authorization":"Basic SECRET1"}}}}}`,
			want: []Finding{{"actions.HTTP.inputs.headers.Authorization", KindAuthorization}},
		},
		{
			name: "authorization header interpolating a token is a reference",
			doc:  `{"actions":{"HTTP":{"inputs":{"headers":{"Authorization":"Bearer @{body('Get_Token')?['access_token']}"}}}}}`,
			keep: []string{`"Bearer @{body('Get_Token')?['access_token']}"`},
		},
		{
			name: "escaped at sign is a literal",
			doc:  `{"actions":{"HTTP":{"inputs":{"authentication":{"type":"Basic","username":"u","password":"@@SECRET1"}}}}}`,
			want: []Finding{{"actions.HTTP.inputs.authentication.password", KindPassword}},
		},
		{
			name: "sas signature in a url keeps the rest",
			doc:  `{"actions":{"Call":{"type":"Http","inputs":{"uri":"https://prod-00.example.invalid/workflows/w/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=SECRET1"}}}}`,
			want: []Finding{{"actions.Call.inputs.uri#sig", KindSASSignature}},
			keep: []string{"api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=<redacted:flowsync:actions.Call.inputs.uri#sig>\""},
		},
		{
			name: "two signatures in one string",
			doc:  `{"actions":{"Compose":{"type":"Compose","inputs":"first https://a.invalid/x?sig=SECRET1&se=1 then https://b.invalid/y?SIG=SECRET2"}}}`,
			want: []Finding{
				{"actions.Compose.inputs#sig", KindSASSignature},
				{"actions.Compose.inputs#sig2", KindSASSignature},
			},
			keep: []string{"&se=1 then https://b.invalid/y?SIG=<redacted:flowsync:actions.Compose.inputs#sig2>"},
		},
		{
			name: "signature in a nested encoded url",
			doc:  `{"actions":{"C":{"inputs":{"u":"https://x.invalid/r?next=https%3A%2F%2Fh%2Fp%3Fa%3D1%26sig=SECRET1"}}}}`,
			want: []Finding{{"actions.C.inputs.u#sig", KindSASSignature}},
		},
		{
			name: "signature computed in an expression is a reference",
			doc:  `{"actions":{"C":{"inputs":{"uri":"@{concat('https://h.invalid/p?sig=', variables('sig'))}","u2":"https://h.invalid/p?sig=@{variables('sig')}"}}}}`,
			keep: []string{"?sig=', variables('sig'))}", "?sig=@{variables('sig')}"},
		},
		{
			name: "function key in query, short codes kept",
			doc:  `{"actions":{"F":{"type":"Http","inputs":{"uri":"https://fn.invalid/api/run?code=SECRET1SECRET2&clientId=default","other":"https://h.invalid/?country=1&code=US"}}}}`,
			want: []Finding{{"actions.F.inputs.uri#code", KindFunctionKey}},
			keep: []string{"&clientId=default", "&code=US"},
		},
		{
			name: "credential parameters in a form body",
			doc:  `{"actions":{"Token":{"type":"Http","inputs":{"body":"grant_type=client_credentials&client_id=abc&client_secret=SECRET1&scope=x"}}}}`,
			want: []Finding{{"actions.Token.inputs.body#client_secret", KindClientSecret}},
			keep: []string{"grant_type=client_credentials&client_id=abc&client_secret=<redacted:", "&scope=x"},
		},
		{
			name: "not a parameter boundary",
			doc:  `{"actions":{"C":{"inputs":"design=1&xsig=keep&signature=keep&mycode=abcdefghijklmnopqrstuvwxyz"}}}`,
			keep: []string{"design=1&xsig=keep&signature=keep&mycode=abcdefghijklmnopqrstuvwxyz"},
		},
		{
			name: "secure parameters",
			doc: `{"parameters":{"$authentication":{"defaultValue":{},"type":"SecureObject"},"$connections":{"defaultValue":{},"type":"Object"},
				"ApiToken":{"defaultValue":"SECRET1","type":"SecureString"},"Creds":{"defaultValue":{"user":"u","key":"SECRET2"},"type":"secureobject"},
				"Empty":{"defaultValue":"","type":"SecureString"},"Plain":{"defaultValue":"visible","type":"String"}}}`,
			want: []Finding{
				{"parameters.ApiToken.defaultValue", KindSecureParameter},
				{"parameters.Creds.defaultValue", KindSecureParameter},
			},
			keep: []string{`"visible"`, `"$authentication": {
      "defaultValue": {}`},
		},
		{
			name: "environment variable referenced by a secret field",
			doc: `{"parameters":{"Key (pre_Key)":{"defaultValue":"SECRET1","type":"String","metadata":{"schemaName":"pre_Key"}},
				"Tenant (pre_Tenant)":{"defaultValue":"contoso.invalid","type":"String"},"It's (pre_q)":{"defaultValue":"SECRET2","type":"String"}},
				"actions":{"HTTP":{"type":"Http","inputs":{"authentication":{"type":"ActiveDirectoryOAuth","tenant":"@parameters('Tenant (pre_Tenant)')",
				"clientId":"c","secret":"@parameters('Key (pre_Key)')"},"headers":{"x-api-key":"@{parameters('It''s (pre_q)')}"}}}}}`,
			want: []Finding{
				{"parameters.It%27s (pre_q).defaultValue", KindSecretParameter},
				{"parameters.Key (pre_Key).defaultValue", KindSecretParameter},
			},
			keep: []string{`"@parameters('Key (pre_Key)')"`, `"contoso.invalid"`},
		},
		{
			name: "password member in a connector body, schema untouched",
			doc: `{"triggers":{"manual":{"type":"Request","kind":"Button","inputs":{"schema":{"properties":{"password":{"type":"string"}}}}}},
				"actions":{"Create_user":{"type":"OpenApiConnection","inputs":{"parameters":{"body":{"passwordProfile":{"password":"SECRET1"},"mailNickname":"x"}}}}}}`,
			want: []Finding{{"actions.Create_user.inputs.parameters.body.passwordProfile.password", KindPassword}},
			keep: []string{`"password": {
              "type": "string"`},
		},
		{
			name: "keys needing escapes",
			doc:  `{"actions":{"Call v1.2 [prod]#1":{"inputs":{"authentication":{"type":"Basic","password":"SECRET1"}}}}}`,
			want: []Finding{{"actions.Call v1%2E2 %5Bprod%5D%231.inputs.authentication.password", KindPassword}},
		},
		{
			name: "array indices",
			doc:  `{"actions":{"A":{"inputs":{"calls":[{"headers":{"apikey":"x"}},{"headers":{"apikey":"SECRET1"}}]}}}}`,
			want: []Finding{
				{"actions.A.inputs.calls[0].headers.apikey", KindAPIKey},
				{"actions.A.inputs.calls[1].headers.apikey", KindAPIKey},
			},
		},
		{
			name: "empty, null and boolean secrets are not findings",
			doc:  `{"actions":{"H":{"inputs":{"authentication":{"type":"Basic","username":"","password":""},"headers":{"Authorization":null,"api-key":true}}}}}`,
		},
	}
}

func TestRedact(t *testing.T) {
	for _, tt := range append(redactCases(), catalogueCases()...) {
		t.Run(tt.name, func(t *testing.T) {
			in, secrets := plant(t, tt.doc)
			out, findings, values, err := RedactWithValues(in, "")
			if err != nil {
				t.Fatalf("RedactWithValues: %v", err)
			}
			if diff := cmp.Diff(tt.want, findings); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
			for i, s := range secrets {
				if strings.Contains(string(in), s) && bytes.Contains(out, []byte(s)) {
					t.Errorf("secret %d still in output:\n%s", i+1, out)
				}
			}
			for _, k := range tt.keep {
				if !bytes.Contains(out, []byte(k)) {
					t.Errorf("output lost %q:\n%s", k, out)
				}
			}
			for _, f := range findings {
				if !bytes.Contains(out, []byte(Placeholder(f.Path))) {
					t.Errorf("no placeholder for %s in output:\n%s", f.Path, out)
				}
				if _, ok := values[f.Path]; !ok {
					t.Errorf("no value kept for %s", f.Path)
				}
			}
			if len(values) != len(findings) {
				t.Errorf("%d values for %d findings", len(values), len(findings))
			}

			// Stable: the same input redacts to the same bytes (placeholders
			// come from paths, not values), and Redact agrees with RedactWithValues.
			again, findings2, err := Redact(in, "")
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, out) || !cmp.Equal(findings, findings2) {
				t.Errorf("Redact differs from RedactWithValues")
			}
			// Idempotent: redacted output has nothing left to redact.
			twice, f2, err := Redact(out, "")
			if err != nil {
				t.Fatal(err)
			}
			if len(f2) != 0 || !bytes.Equal(twice, out) {
				t.Errorf("second redaction changed output or found %v", f2)
			}
			// Lossless with the values: Restore gives back the input. Only
			// placeholder text the input already had has no value.
			typed, err := Placeholders(in)
			if err != nil {
				t.Fatal(err)
			}
			restored, missing, err := Restore(out, values)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(typed, missing, cmpEmpty); diff != "" {
				t.Errorf("missing on restore (-typed in the input +missing):\n%s", diff)
			}
			want, err := canon.Canonicalize(in)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(restored, want) {
				t.Errorf("Restore(Redact(x)) != x:\n%s\nwant\n%s", restored, want)
			}
			// The placeholders list the findings' paths.
			paths, err := Placeholders(out)
			if err != nil {
				t.Fatal(err)
			}
			wantPaths := append(values.Paths(), typed...)
			slices.Sort(wantPaths)
			if diff := cmp.Diff(wantPaths, paths, cmpEmpty); diff != "" {
				t.Errorf("Placeholders (-values +placeholders):\n%s", diff)
			}
		})
	}
}

var cmpEmpty = cmp.Comparer(func(a, b []string) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return cmp.Equal([]string(a), []string(b))
})

func TestRedactWhere(t *testing.T) {
	in := []byte(`{"uri":"https://h.invalid/x?sig=FAKEabcdef"}`)
	out, findings, err := Redact(in, "properties")
	if err != nil {
		t.Fatal(err)
	}
	want := []Finding{{Path: "properties.uri#sig", Kind: KindSASSignature}}
	if diff := cmp.Diff(want, findings); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	if !bytes.Contains(out, []byte("sig=<redacted:flowsync:properties.uri#sig>")) {
		t.Errorf("output %s", out)
	}
}

func TestRedactErrors(t *testing.T) {
	_, _, err := Redact([]byte(`{"a":1,"a":2}`), "definition")
	if err == nil || !strings.Contains(err.Error(), "redact definition") || !strings.Contains(err.Error(), `"a"`) {
		t.Errorf("error = %v", err)
	}
}

func TestRestoreMissingAndBadValues(t *testing.T) {
	doc := []byte(`{"p":"<redacted:flowsync:a.b>","u":"x?sig=<redacted:flowsync:u#sig>&y=1"}`)
	out, missing, err := Restore(doc, Values{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a.b", "u#sig"}, missing); diff != "" {
		t.Errorf("missing (-want +got):\n%s", diff)
	}
	want, _ := canon.Canonicalize(doc)
	if !bytes.Equal(out, want) {
		t.Errorf("Restore without values changed the document:\n%s", out)
	}
	if _, _, err := Restore(doc, Values{"u#sig": json.RawMessage(`{"not":"a string"}`)}); err == nil {
		t.Errorf("Restore accepted an object inside a string")
	}
	out, _, err = Restore(doc, Values{"a.b": json.RawMessage(`{"k":[1]}`), "u#sig": json.RawMessage(`"abc"`)})
	if err != nil {
		t.Fatal(err)
	}
	if want := "{\n  \"p\": {\n    \"k\": [\n      1\n    ]\n  },\n  \"u\": \"x?sig=abc&y=1\"\n}\n"; string(out) != want {
		t.Errorf("Restore = %s", out)
	}
}

func TestValuesNeverFormatted(t *testing.T) {
	secret := fake(t)
	v := Values{"a": json.RawMessage(`"` + secret + `"`)}
	type holder struct{ V Values }
	for _, s := range []string{
		fmt.Sprint(v), fmt.Sprintf("%v %+v %#v %s %q %x", v, v, v, v, v, v), fmt.Sprintf("%+v %#v", holder{v}, holder{v}),
	} {
		if strings.Contains(s, secret) || strings.Contains(s, hex.EncodeToString([]byte(secret))) {
			t.Errorf("formatted Values reveal the secret: %s", s)
		}
	}
}

func TestIsExpression(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"@parameters('$authentication')", true},
		{"@{parameters('x')}", true},
		{"Bearer @{body('t')}", true},
		{"@@literal", false},
		{"user@example.invalid", false},
		{"", false},
		{"plain", false},
	}
	for _, tt := range tests {
		if got := IsExpression(tt.in); got != tt.want {
			t.Errorf("IsExpression(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func BenchmarkRedact(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"parameters":{"$authentication":{"defaultValue":{},"type":"SecureObject"}},"actions":{`)
	for i := range 600 {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `"HTTP_%d":{"type":"Http","inputs":{"uri":"https://h.invalid/p?a=1&sig=FAKE%d","headers":{"Content-Type":"application/json","x-api-key":"FAKE"},"body":{"text":"@{triggerBody()?['text']} résumé"},"authentication":"@parameters('$authentication')"},"runAfter":{}}`, i, i)
	}
	sb.WriteString("}}")
	in := []byte(sb.String())
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, _, err := RedactWithValues(in, ""); err != nil {
			b.Fatal(err)
		}
	}
}
