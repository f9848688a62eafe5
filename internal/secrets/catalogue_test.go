package secrets

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

// plant replaces the stand-ins of a test document by throwaway secrets made
// at test time and returns the document with every string that must not
// survive redaction: SECRET1..3, BASIC1 (Basic credentials:
// base64("svc-user:"+SECRET1)) and JWT1 (a signed JWT carrying SECRET2).
func plant(t *testing.T, doc string) ([]byte, []string) {
	t.Helper()
	s := []string{fake(t), fake(t), fake(t)}
	basic := base64.StdEncoding.EncodeToString([]byte("svc-user:" + s[0]))
	b64 := base64.RawURLEncoding.EncodeToString
	jwt := b64([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + b64([]byte(`{"sub":"`+s[1]+`"}`)) + "." + b64([]byte(s[2]))
	in := strings.NewReplacer("SECRET1", s[0], "SECRET2", s[1], "SECRET3", s[2], "BASIC1", basic, "JWT1", jwt).Replace(doc)
	return []byte(in), append(s, basic, jwt)
}

// catalogueCases are one row per credential shape of issue #7 ("Credentials
// that reach the history today"); export/catalogue_test.go runs the same
// shapes through a real export.
func catalogueCases() []redactCase {
	return []redactCase{
		// Connector actions.
		{
			name: "sharepoint http request parameters/headers",
			doc: `{"actions":{"Send_an_HTTP_request_to_SharePoint":{"type":"OpenApiConnection","inputs":{"host":{"apiId":"/providers/Microsoft.PowerApps/apis/shared_sharepointonline","operationId":"HttpRequest"},
				"parameters":{"dataset":"https://contoso.sharepoint.com/sites/x","parameters/method":"GET","parameters/uri":"_api/web/lists",
				"parameters/headers":{"Accept":"application/json;odata=nometadata","Authorization":"Bearer SECRET1","X-Partner-Token":"SECRET2","Cookie":"FedAuth=SECRET3"}}}}}}`,
			want: []Finding{
				{"actions.Send_an_HTTP_request_to_SharePoint.inputs.parameters.parameters/headers.Authorization", KindAuthorization},
				{"actions.Send_an_HTTP_request_to_SharePoint.inputs.parameters.parameters/headers.Cookie", KindCookie},
				{"actions.Send_an_HTTP_request_to_SharePoint.inputs.parameters.parameters/headers.X-Partner-Token", KindAccessToken},
			},
			keep: []string{"application/json;odata=nometadata", "_api/web/lists"},
		},
		{
			name: "http with entra id request/headers and request/url",
			doc: `{"actions":{"Invoke_an_HTTP_request":{"type":"OpenApiConnection","inputs":{"host":{"apiId":"/providers/Microsoft.PowerApps/apis/shared_webcontents","operationId":"InvokeHttp"},
				"parameters":{"request/method":"GET","request/url":"https://acct.blob.core.windows.net/c/b.txt?sv=2022-11-02&se=2030-01-01&sr=b&sp=r&sig=SECRET1",
				"request/headers":{"x-ms-version":"2022-11-02","X-Vendor-Key":"SECRET2"}}}}}}`,
			want: []Finding{
				{"actions.Invoke_an_HTTP_request.inputs.parameters.request/headers.X-Vendor-Key", KindAPIKey},
				{"actions.Invoke_an_HTTP_request.inputs.parameters.request/url#sig", KindSASSignature},
			},
			keep: []string{"sv=2022-11-02&se=2030-01-01&sr=b&sp=r&sig=<redacted:", `"2022-11-02"`},
		},
		{
			name: "flattened header parameter",
			doc:  `{"actions":{"C":{"type":"OpenApiConnection","inputs":{"parameters":{"headers/Authorization":"Basic BASIC1","headers/Accept":"text/plain"}}}}}`,
			want: []Finding{{"actions.C.inputs.parameters.headers/Authorization", KindAuthorization}},
			keep: []string{`"text/plain"`},
		},
		// Encoded SAS signatures.
		{
			name: "encoded sas signatures",
			doc: `{"actions":{"C":{"type":"Compose","inputs":{
				"amp":"<a href=\"https://h.invalid/x?sv=1&amp;sig=SECRET1&amp;se=2\">link</a>",
				"double":"https://h.invalid/r?u=https%253A%252F%252Fh%252Fp%253Fa%253D1%2526sig%253DSECRET2%2526se%253D2",
				"encamp":"https://h.invalid/r?next=https%3A%2F%2Fh2%2Fp%3Fsv%3D1%26sig%3DSECRET3%26se%3D2",
				"encname":"https://h.invalid/x?sv=1&%73ig=SECRET1",
				"encq":"https://h.invalid/x%3Fsig%3DSECRET2",
				"fragment":"https://h.invalid/x#sig=SECRET3",
				"semicolon":"https://h.invalid/x;sig=SECRET1",
				"upper":"https://h.invalid/x?SIG=SECRET2&Sig=SECRET3"}}}}`,
			want: []Finding{
				{"actions.C.inputs.amp#sig", KindSASSignature},
				{"actions.C.inputs.double#sig", KindSASSignature},
				{"actions.C.inputs.encamp#sig", KindSASSignature},
				{"actions.C.inputs.encname#sig", KindSASSignature},
				{"actions.C.inputs.encq#sig", KindSASSignature},
				{"actions.C.inputs.fragment#sig", KindSASSignature},
				{"actions.C.inputs.semicolon#sig", KindSASSignature},
				{"actions.C.inputs.upper#sig", KindSASSignature},
				{"actions.C.inputs.upper#sig2", KindSASSignature},
			},
			keep: []string{"&amp;se=2", "%2526se%253D2", "%26se%3D2", "&%73ig=<redacted:"},
		},
		// Literal credential shapes anywhere in a string.
		{
			name: "literal credential shapes in any member",
			doc: `{"actions":{"C":{"type":"Compose","inputs":{
				"basic":"send it with Basic BASIC1 and nothing else",
				"bearer":"Authorization was Bearer SECRET1 yesterday",
				"jwt":"token JWT1 expired",
				"storage":"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=SECRET2==;EndpointSuffix=core.windows.net",
				"servicebus":"Endpoint=sb://x.servicebus.windows.net/;SharedAccessKeyName=Root;SharedAccessKey=SECRET3",
				"sql":"Server=tcp:s.database.windows.net,1433;Database=db;User ID=u;Password=p@ss SECRET1;Encrypt=true",
				"odbc":"Driver={ODBC};Server=s;Uid=u;Pwd=SECRET2;",
				"raw":"POST /api HTTP/1.1\nHost: h.invalid\nCookie: session=SECRET3; theme=dark\nSet-Cookie: id=SECRET1\nX-Acme-Api-Key: SECRET2\n\n{}"}}}}`,
			want: []Finding{
				{"actions.C.inputs.basic#basic", KindAuthorization},
				{"actions.C.inputs.bearer#bearer", KindAuthorization},
				{"actions.C.inputs.jwt#jwt", KindAccessToken},
				{"actions.C.inputs.odbc#pwd", KindPassword},
				{"actions.C.inputs.raw#cookie", KindCookie},
				{"actions.C.inputs.raw#header", KindAPIKey},
				{"actions.C.inputs.raw#set-cookie", KindCookie},
				{"actions.C.inputs.servicebus#sharedaccesskey", KindConnectionString},
				{"actions.C.inputs.sql#password", KindPassword},
				{"actions.C.inputs.storage#accountkey", KindConnectionString},
			},
			keep: []string{"send it with Basic <redacted:", " and nothing else", "AccountName=acct;AccountKey=<redacted:", ";EndpointSuffix=core.windows.net",
				"SharedAccessKeyName=Root;", ";Encrypt=true", `Host: h.invalid\nCookie: <redacted:`, "Uid=u;Pwd=<redacted:flowsync:actions.C.inputs.odbc#pwd>;"},
		},
		{
			name: "prose is not a credential",
			doc: `{"actions":{"C":{"type":"Compose","inputs":{"a":"Basic information for the bearer of this card","b":"token expires; password reset needed",
				"c":"Basic settings","d":"sign=1&signature=2&mysig=3&sigma=4","e":"eyJustAWord.not.aJWT","f":"continuationToken=abc&$skiptoken=def"}}}}`,
			keep: []string{"Basic information for the bearer of this card", "token expires; password reset needed", "Basic settings",
				"sign=1&signature=2&mysig=3&sigma=4", "eyJustAWord.not.aJWT", "continuationToken=abc&$skiptoken=def"},
		},
		// More member names.
		{
			name: "credential member names",
			doc: `{"actions":{"C":{"type":"Compose","inputs":{"token":"SECRET1","refresh_token":"SECRET2","access_token":"SECRET3","apiKey":"SECRET1",
				"api_key":"SECRET2","PWD":"SECRET3","aws_secret_access_key":"SECRET1","secretKey":"SECRET2","body/password":"SECRET3",
				"nextToken":"keep-me","tokenType":"Bearer","key":"keep-too"}}}}`,
			want: []Finding{
				{"actions.C.inputs.PWD", KindPassword},
				{"actions.C.inputs.access_token", KindAccessToken},
				{"actions.C.inputs.apiKey", KindAPIKey},
				{"actions.C.inputs.api_key", KindAPIKey},
				{"actions.C.inputs.aws_secret_access_key", KindSecretKey},
				{"actions.C.inputs.body/password", KindPassword},
				{"actions.C.inputs.refresh_token", KindAccessToken},
				{"actions.C.inputs.secretKey", KindSecretKey},
				{"actions.C.inputs.token", KindAccessToken},
			},
			keep: []string{`"keep-me"`, `"tokenType": "Bearer"`, `"keep-too"`},
		},
		{
			name: "credential members holding expressions stay",
			doc:  `{"actions":{"C":{"type":"Compose","inputs":{"token":"@{body('Get_token')?['access_token']}","password":"@triggerBody()?['text_4']","apiKey":"@variables('key')"}}}}`,
			keep: []string{`"@{body('Get_token')?['access_token']}"`, `"@triggerBody()?['text_4']"`, `"@variables('key')"`},
		},
		// Literals inside expressions in secret positions.
		{
			name: "concat bearer literal in an authorization header",
			doc:  `{"actions":{"H":{"type":"Http","inputs":{"headers":{"Authorization":"@concat('Bearer ', 'SECRET1')"}}}}}`,
			want: []Finding{{"actions.H.inputs.headers.Authorization#literal", KindAuthorization}},
			keep: []string{`"@concat('Bearer ', '<redacted:flowsync:actions.H.inputs.headers.Authorization#literal>')"`},
		},
		{
			name: "interpolated concat basic literal in any member",
			doc:  `{"actions":{"C":{"type":"Compose","inputs":{"note":"@{concat('Basic ', 'BASIC1')}","n2":"@concat('https://h.invalid/p?sv=1&sig=', 'SECRET2')"}}}}`,
			want: []Finding{
				{"actions.C.inputs.n2#sig", KindSASSignature},
				{"actions.C.inputs.note#basic", KindAuthorization},
			},
			keep: []string{`"@{concat('Basic ', '<redacted:flowsync:actions.C.inputs.note#basic>')}"`, `'https://h.invalid/p?sv=1&sig=', '<redacted:`},
		},
		{
			name: "concat scheme then a literal of any characters",
			doc:  `{"actions":{"C":{"type":"Compose","inputs":{"note":"@concat('Bearer ', 'SECRET1!x:y', ' tail')"}}}}`,
			want: []Finding{{"actions.C.inputs.note#bearer", KindAuthorization}},
			keep: []string{`"@concat('Bearer ', '<redacted:flowsync:actions.C.inputs.note#bearer>', ' tail')"`},
		},
		{
			name: "literal after an interpolated token",
			doc: `{"actions":{"H":{"type":"Http","inputs":{"uri":"https://h.invalid/p?sv=1&sig=@{variables('s')}SECRET1&se=2",
				"headers":{"Authorization":"Bearer @{variables('x')}SECRET2"},"body":"Bearer @{variables('y')}SECRET3"}}}}`,
			want: []Finding{
				{"actions.H.inputs.body#bearer", KindAuthorization},
				{"actions.H.inputs.headers.Authorization#literal", KindAuthorization},
				{"actions.H.inputs.uri#sig", KindSASSignature},
			},
			keep: []string{"sig=@{variables('s')}<redacted:flowsync:actions.H.inputs.uri#sig>&se=2", `"Bearer @{variables('x')}<redacted:`},
		},
		{
			name: "escaped quote in a secret literal",
			doc:  `{"actions":{"H":{"type":"Http","inputs":{"authentication":{"type":"Raw","value":"@concat('Basic ', 'it''sSECRET1')"}}}}}`,
			want: []Finding{{"actions.H.inputs.authentication.value#literal", KindCredential}},
			keep: []string{`"@concat('Basic ', '<redacted:flowsync:actions.H.inputs.authentication.value#literal>')"`},
		},
		{
			name: "secret expression keeps names and schemes",
			doc: `{"actions":{"H":{"type":"Http","inputs":{"headers":{"Authorization":"Bearer  @{body('Get_Token')?['access_token']}",
				"x-api-key":"@{parameters('ApiKey')}","Ocp-Apim-Subscription-Key":"@variables('k')"}}}}}`,
			keep: []string{`"Bearer  @{body('Get_Token')?['access_token']}"`, `"@{parameters('ApiKey')}"`, `"@variables('k')"`},
		},
		// Places: trigger.
		{
			name: "webhook trigger",
			doc: `{"triggers":{"Hook":{"type":"HttpWebhook","inputs":{"subscribe":{"method":"POST","uri":"https://fn.invalid/api/sub?code=SECRET1SECRET2",
				"headers":{"X-Hook-Token":"SECRET3"},"body":{"callback":"@{listCallbackUrl()}"}}}}}}`,
			want: []Finding{
				{"triggers.Hook.inputs.subscribe.headers.X-Hook-Token", KindAccessToken},
				{"triggers.Hook.inputs.subscribe.uri#code", KindFunctionKey},
			},
			keep: []string{`"@{listCallbackUrl()}"`},
		},
		// Placeholders a maker typed keep their meaning.
		{
			name: "typed placeholder text",
			doc: `{"description":"see <redacted:flowsync:actions.H.inputs.headers.Authorization> and <redacted:flowsync:abc sig=SECRET2",
				"actions":{"H":{"type":"Http","inputs":{"headers":{"Authorization":"Bearer SECRET1"}}}}}`,
			want: []Finding{
				{"actions.H.inputs.headers.Authorization~2", KindAuthorization},
				{"description#sig", KindSASSignature},
			},
			keep: []string{"see <redacted:flowsync:actions.H.inputs.headers.Authorization> and <redacted:flowsync:abc sig=<redacted:flowsync:description#sig>"},
		},
		{
			name: "a referenced parameter's default keeps what was found inside it",
			doc: `{"parameters":{"P":{"type":"String","defaultValue":"https://h.invalid/x?sig=SECRET1"}},
				"actions":{"H":{"type":"Http","inputs":{"headers":{"x-api-key":"@parameters('P')"}}}}}`,
			want: []Finding{{"parameters.P.defaultValue", KindSecretParameter}},
			keep: []string{`"@parameters('P')"`},
		},
		{
			name: "key needing an at-sign escape",
			doc:  `{"actions":{"a@{b}":{"type":"Compose","inputs":{"u":"x?sig=SECRET1"}}}}`,
			want: []Finding{{"actions.a%40%7Bb%7D.inputs.u#sig", KindSASSignature}},
		},
	}
}

func TestJWTShapes(t *testing.T) {
	hdr := "eyJhbGciOiJub25lIn0" // {"alg":"none"}
	tests := []struct {
		name, in string
		found    bool
	}{
		{"signed", "a " + hdr + ".eyJzdWIiOiJ4In0.c2ln b", true},
		{"unsigned, alg none", "a " + hdr + ".eyJzdWIiOiJ4In0. b", true},
		{"sentence end", "it was " + hdr + ".eyJzdWIiOiJ4In0.c2ln.", true},
		{"header only", "a " + hdr + " b", false},
		{"not a header", "eyJustAWord.not.aJWT", false},
		{"dotted run", strings.Repeat("eyJ.", 5000), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, _ := json.Marshal(map[string]string{"s": tt.in})
			out, fs, err := Redact(doc, "")
			if err != nil {
				t.Fatal(err)
			}
			if got := len(fs) == 1; got != tt.found {
				t.Errorf("found %v, want %v: %s", fs, tt.found, out)
			}
			if tt.found && bytes.Contains(out, []byte("eyJzdWIiOiJ4In0")) {
				t.Errorf("payload left: %s", out)
			}
		})
	}
}
