package export_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/flowsync/flowsync/export"
	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/cli"
	"github.com/flowsync/flowsync/internal/client"
	"github.com/flowsync/flowsync/internal/emulator"
	"github.com/flowsync/flowsync/internal/emulator/seed"
	"github.com/flowsync/flowsync/internal/model"
	"github.com/flowsync/flowsync/internal/secrets"
	"github.com/flowsync/flowsync/internal/testgit"
	"github.com/flowsync/flowsync/internal/testrepo"
	"github.com/flowsync/flowsync/repo"
)

// credentialShape is one row of the catalogue: members to plant (JSON object
// members; SECRET, BASIC and JWT stand for values made at test time), the
// path its placeholder must have relative to where it is planted, and the
// kind the export must report.
type credentialShape struct {
	name, members, rel string
	kind               secrets.Kind
}

// credentialShapes are the shapes of issue #7, "Credentials that reach the
// history today". Each holds exactly one secret.
var credentialShapes = []credentialShape{
	// Headers, as the HTTP action, a connector's parameters/headers or any
	// headers object carries them.
	{"bearer header", `"headers":{"Accept":"application/json","Authorization":"Bearer SECRET"}`, "headers.Authorization", secrets.KindAuthorization},
	{"basic header", `"headers":{"Authorization":"Basic BASIC"}`, "headers.Authorization", secrets.KindAuthorization},
	{"api key header", `"headers":{"X-API-Key":"SECRET"}`, "headers.X-API-Key", secrets.KindAPIKey},
	{"cookie header", `"headers":{"Cookie":"session=SECRET"}`, "headers.Cookie", secrets.KindCookie},
	{"set-cookie header", `"headers":{"Set-Cookie":"id=SECRET; HttpOnly"}`, "headers.Set-Cookie", secrets.KindCookie},
	{"custom token header", `"headers":{"X-Partner-Token":"SECRET"}`, "headers.X-Partner-Token", secrets.KindAccessToken},
	{"custom key header", `"headers":{"X-Partner-Key":"SECRET"}`, "headers.X-Partner-Key", secrets.KindAPIKey},
	// SAS signatures, plain and encoded.
	{"sig", `"text":"https://acct.blob.core.windows.net/c/b?sv=2022-11-02&sr=b&sp=r&sig=SECRET"`, "text#sig", secrets.KindSASSignature},
	{"encoded ampersand sig", `"text":"https://h.invalid/r?next=https%3A%2F%2Facct.blob.core.windows.net%2Fc%2Fb%3Fsv%3D1%26sig%3DSECRET%26se%3D2"`, "text#sig", secrets.KindSASSignature},
	{"encoded question mark sig", `"text":"https://h.invalid/r?next=https%3A%2F%2Fh2.invalid%2Fp%3Fsig%3DSECRET"`, "text#sig", secrets.KindSASSignature},
	{"encoded sas url in a query", `"text":"https://login.invalid/cb?state=1&redirect=https%3A%2F%2Fprod-00.westeurope.logic.azure.com%2Fworkflows%2Fw%2Ftriggers%2Fmanual%2Fpaths%2Finvoke%3Fapi-version%3D2016-06-01%26sp%3D%252Ftriggers%252Fmanual%252Frun%26sv%3D1.0%26sig%3DSECRET"`, "text#sig", secrets.KindSASSignature},
	{"html escaped sig", `"text":"<a href=\"https://h.invalid/x?sv=1&amp;sig=SECRET&amp;se=2\">open</a>"`, "text#sig", secrets.KindSASSignature},
	{"fragment sig", `"text":"https://h.invalid/x#sig=SECRET"`, "text#sig", secrets.KindSASSignature},
	{"semicolon sig", `"text":"https://h.invalid/x;sig=SECRET"`, "text#sig", secrets.KindSASSignature},
	{"encoded name sig", `"text":"https://h.invalid/x?sv=1&%73ig=SECRET"`, "text#sig", secrets.KindSASSignature},
	{"upper case sig", `"text":"https://h.invalid/x?sv=1&SIG=SECRET"`, "text#sig", secrets.KindSASSignature},
	{"mixed case sig", `"text":"https://h.invalid/x?sv=1&Sig=SECRET"`, "text#sig", secrets.KindSASSignature},
	{"doubly encoded sig", `"text":"https://h.invalid/r?u=https%253A%252F%252Fh%252Fp%253Fa%253D1%2526sig%253DSECRET"`, "text#sig", secrets.KindSASSignature},
	// Literal credential shapes in any string.
	{"bearer literal", `"text":"retry with Bearer SECRET if needed"`, "text#bearer", secrets.KindAuthorization},
	{"basic literal", `"text":"Basic BASIC"`, "text#basic", secrets.KindAuthorization},
	{"jwt", `"text":"id JWT ok"`, "text#jwt", secrets.KindAccessToken},
	{"storage account key", `"text":"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=SECRET==;EndpointSuffix=core.windows.net"`, "text#accountkey", secrets.KindConnectionString},
	{"shared access key", `"text":"Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=Root;SharedAccessKey=SECRET="`, "text#sharedaccesskey", secrets.KindConnectionString},
	{"connection string password", `"text":"Server=tcp:db.invalid,1433;Database=d;User ID=u;Password=SECRET;Encrypt=True"`, "text#password", secrets.KindPassword},
	{"connection string pwd", `"text":"Driver={ODBC Driver 18};Server=db.invalid;Uid=u;Pwd=SECRET;"`, "text#pwd", secrets.KindPassword},
	{"cookie line", `"text":"GET / HTTP/1.1\nHost: h.invalid\nCookie: session=SECRET\n"`, "text#cookie", secrets.KindCookie},
	{"set-cookie line", `"text":"HTTP/1.1 200 OK\nSet-Cookie: id=SECRET; Secure\n"`, "text#set-cookie", secrets.KindCookie},
	{"custom token line", `"text":"X-Partner-Token: SECRET"`, "text#header", secrets.KindAccessToken},
	// Member names.
	{"token member", `"token":"SECRET"`, "token", secrets.KindAccessToken},
	{"refresh_token member", `"refresh_token":"SECRET"`, "refresh_token", secrets.KindAccessToken},
	{"access_token member", `"access_token":"SECRET"`, "access_token", secrets.KindAccessToken},
	{"apiKey member", `"apiKey":"SECRET"`, "apiKey", secrets.KindAPIKey},
	{"api_key member", `"api_key":"SECRET"`, "api_key", secrets.KindAPIKey},
	{"pwd member", `"pwd":"SECRET"`, "pwd", secrets.KindPassword},
	{"aws secret member", `"aws_secret_access_key":"SECRET"`, "aws_secret_access_key", secrets.KindSecretKey},
	{"secretKey member", `"secretKey":"SECRET"`, "secretKey", secrets.KindSecretKey},
	{"password member", `"password":"SECRET"`, "password", secrets.KindPassword},
	{"client_secret member", `"client_secret":"SECRET"`, "client_secret", secrets.KindClientSecret},
	// Literals inside expressions.
	{"concat bearer in a header", `"headers":{"Authorization":"@concat('Bearer ', 'SECRET')"}`, "headers.Authorization#literal", secrets.KindAuthorization},
	{"interpolated concat basic", `"text":"@{concat('Basic ', 'BASIC')}"`, "text#basic", secrets.KindAuthorization},
	{"bearer interpolation then literal", `"headers":{"Authorization":"Bearer @{variables('x')}SECRET"}`, "headers.Authorization#literal", secrets.KindAuthorization},
	{"sig interpolation then literal", `"text":"https://h.invalid/p?sv=1&sig=@{variables('s')}SECRET"`, "text#sig", secrets.KindSASSignature},
	{"token member expression with a literal", `"token":"@{concat(variables('prefix'), 'SECRET')}"`, "token#literal", secrets.KindAccessToken},
}

// credentialPlace is where a shape is planted: it builds the flow around the
// container object and names the container's path.
type credentialPlace struct {
	name string
	// file is the tree file the placeholder lands in.
	file string
	// prefix is the container's path.
	prefix string
	// rename maps the container's member names (connector parameters are
	// flattened: parameters/headers, body/token).
	rename func(string) string
	build  func(f *emulator.Flow, container json.RawMessage)
}

const catalogueSchema = `"$schema":"https://schema.management.azure.com/providers/Microsoft.Logic/schemas/2016-06-01/workflowdefinition.json#","contentVersion":"1.0.0.0",` +
	`"parameters":{"$connections":{"defaultValue":{},"type":"Object"},"$authentication":{"defaultValue":{},"type":"SecureObject"}}`

const catalogueRecurrence = `"Recurrence":{"type":"Recurrence","recurrence":{"frequency":"Day","interval":1}}`

var credentialPlaces = []credentialPlace{
	{
		name: "http action", file: "definition.json", prefix: "actions.HTTP.inputs",
		build: func(f *emulator.Flow, c json.RawMessage) {
			f.Definition = json.RawMessage(`{` + catalogueSchema + `,"triggers":{` + catalogueRecurrence + `},` +
				`"actions":{"HTTP":{"type":"Http","runAfter":{},"inputs":` + string(mergeMembers(c, `"method":"POST","uri":"https://partner.invalid/api"`)) + `}}}`)
		},
	},
	{
		name: "connector parameters", file: "definition.json", prefix: "actions.Send_an_HTTP_request.inputs.parameters",
		rename: func(k string) string {
			switch k {
			case "headers":
				return "parameters/headers"
			case "text":
				return "parameters/body"
			}
			return "body/" + k
		},
		build: func(f *emulator.Flow, c json.RawMessage) {
			f.Definition = json.RawMessage(`{` + catalogueSchema + `,"triggers":{` + catalogueRecurrence + `},` +
				`"actions":{"Send_an_HTTP_request":{"type":"OpenApiConnection","runAfter":{},"inputs":{"host":{"apiId":"/providers/Microsoft.PowerApps/apis/shared_sharepointonline",` +
				`"connectionName":"shared_sharepointonline","operationId":"HttpRequest"},"parameters":` +
				string(mergeMembers(c, `"dataset":"https://contoso.sharepoint.com/sites/x","parameters/method":"POST","parameters/uri":"_api/web/lists"`)) +
				`,"authentication":"@parameters('$authentication')"}}}}`)
			f.ConnectionReferences = json.RawMessage(`{"shared_sharepointonline":{"connectionName":"shared-sharepointonl-cat","source":"Embedded",` +
				`"id":"/providers/Microsoft.PowerApps/apis/shared_sharepointonline","tier":"NotSpecified"}}`)
		},
	},
	{
		name: "trigger", file: "definition.json", prefix: "triggers.Hook.inputs.subscribe",
		build: func(f *emulator.Flow, c json.RawMessage) {
			f.Definition = json.RawMessage(`{` + catalogueSchema + `,"triggers":{"Hook":{"type":"HttpWebhook","inputs":{"subscribe":` +
				string(mergeMembers(c, `"method":"POST","uri":"https://hooks.invalid/subscribe"`)) +
				`,"unsubscribe":{"method":"DELETE","uri":"https://hooks.invalid/subscription"}}}},` +
				`"actions":{"Compose":{"type":"Compose","inputs":"hello","runAfter":{}}}}`)
		},
	},
	{
		name: "connection reference extra", file: "connections.json", prefix: "connections.json.shared_webcontents.extra.settings",
		build: func(f *emulator.Flow, c json.RawMessage) {
			f.Definition = json.RawMessage(minimalDefinition)
			f.ConnectionReferences = json.RawMessage(`{"shared_webcontents":{"connectionName":"shared-webcontents-cat","source":"Embedded",` +
				`"id":"/providers/Microsoft.PowerApps/apis/shared_webcontents","tier":"Premium","settings":` + string(c) + `}}`)
		},
	},
	{
		name: "flow extra", file: "flow.json", prefix: "flow.json.extra.settings",
		build: func(f *emulator.Flow, c json.RawMessage) {
			f.Definition = json.RawMessage(minimalDefinition)
			f.Extra = map[string]json.RawMessage{"settings": c}
		},
	},
}

// mergeMembers returns the object c with more members (JSON text) added.
func mergeMembers(c json.RawMessage, more string) json.RawMessage {
	s := strings.TrimSpace(string(c))
	if s == "{}" {
		return json.RawMessage("{" + more + "}")
	}
	return json.RawMessage("{" + more + "," + s[1:])
}

// catalogueRow is one shape in one place, planted in its own flow.
type catalogueRow struct {
	shape   credentialShape
	place   credentialPlace
	flow    emulator.Flow
	path    string   // the placeholder's expected path
	needles []string // what must never be found
}

// catalogueSecrets makes the values of one row: a random SECRET, BASIC
// (base64 of svc-user:SECRET) and a JWT carrying SECRET.
func catalogueSecrets(t *testing.T) (replacer *strings.Replacer, needles []string) {
	t.Helper()
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	secret := "CATALOGUE" + hex.EncodeToString(b)
	basic := base64.StdEncoding.EncodeToString([]byte("svc-user:" + secret))
	enc := base64.RawURLEncoding.EncodeToString
	payload := enc([]byte(`{"sub":"` + secret + `"}`))
	jwt := enc([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + payload + "." + enc(b)
	return strings.NewReplacer("SECRET", secret, "BASIC", basic, "JWT", jwt), []string{secret, basic, payload}
}

func catalogueRows(t *testing.T) []catalogueRow {
	t.Helper()
	var rows []catalogueRow
	for pi, place := range credentialPlaces {
		for si, shape := range credentialShapes {
			rep, needles := catalogueSecrets(t)
			container := json.RawMessage("{" + rep.Replace(shape.members) + "}")
			rel := shape.rel
			if place.rename != nil {
				var obj map[string]json.RawMessage
				if err := json.Unmarshal(container, &obj); err != nil {
					t.Fatalf("%s: %v", shape.name, err)
				}
				renamed := map[string]json.RawMessage{}
				for k, v := range obj {
					renamed[place.rename(k)] = v
				}
				container, _ = json.Marshal(renamed)
				head, tail, _ := strings.Cut(rel, ".")
				if h, frag, ok := strings.Cut(head, "#"); ok {
					head, tail = h, "#"+frag
				} else if tail != "" {
					tail = "." + tail
				}
				rel = place.rename(head) + tail
			}
			if !json.Valid(container) {
				t.Fatalf("%s: container is not JSON: %s", shape.name, container)
			}
			f := emulator.Flow{
				Environment: seed.DemoEnvDev,
				Name:        api.FlowName(fmt.Sprintf("ca7a1090-0000-4000-8000-%06d%06d", pi, si)),
				DisplayName: "Catalogue " + place.name + ": " + shape.name,
				State:       api.StateStopped, Creator: seed.DemoPriya,
				CreatedTime: seed.DemoNow().Add(-72 * time.Hour), LastModifiedTime: seed.DemoNow().Add(-48 * time.Hour),
				ConnectionReferences: json.RawMessage(`{}`),
			}
			place.build(&f, container)
			rows = append(rows, catalogueRow{shape: shape, place: place, flow: f, path: place.prefix + "." + rel, needles: needles})
		}
	}
	return rows
}

// TestCredentialCatalogue plants every credential shape of the catalogue in
// every place it can appear (HTTP action, connector parameters, trigger,
// connection reference extra, flow extra), one flow each, and exports them
// with the flowsync command (JSON output, --encrypt-to), then once more
// with text output (--reseal). No planted value appears in any Git object,
// commit message, working file or command output; each flow reports
// exactly the expected finding, its file holds the placeholder naming that
// path, and its secrets.age, opened and restored, gives back exactly the
// definition, flow.json and connections.json the service returned.
func TestCredentialCatalogue(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir())

	rows := catalogueRows(t)
	snap := seed.Demo()
	for _, r := range rows {
		snap.Flows = append(snap.Flows, r.flow)
	}
	e := startEmu(t, snap, emuOptions{})
	id := newAgeIdentity(t)

	ep, err := client.EndpointsFor(client.Public)
	if err != nil {
		t.Fatal(err)
	}
	mint := func(scope string) string {
		tok, err := e.Inst.Server.MintToken(seed.DemoAdmin, strings.TrimSuffix(scope, ".default"))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	env := map[string]string{"FLOWSYNC_TOKEN": mint(ep.FlowScope), "FLOWSYNC_POWERAPPS_TOKEN": mint(ep.PowerAppsScope)}
	dir := filepath.Join(t.TempDir(), "backup")
	args := func(output string, more ...string) []string {
		return append([]string{
			"--api-url", e.Inst.URL, "--auth", "token", "--rate-limit", "1000/1s", "--output", output,
			"export", "--repo", dir, "--env", "Contoso Dev", "--scope", "admin",
			"--author", "Export Test <export-test@example.invalid>", "--encrypt-to", id.Recipient().String(),
		}, more...)
	}
	outputs := map[string]string{}
	code, stdout, stderr := runCLI(t, env, args("json")...)
	outputs["json stdout"], outputs["json stderr"] = stdout, stderr
	if code != 0 {
		t.Fatalf("export: exit %d\n%s", code, stderr)
	}
	var res cliOutput
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("output is not the JSON result: %v", err)
	}
	code, stdout, stderr = runCLI(t, env, args("text", "--reseal")...)
	outputs["text stdout"], outputs["text stderr"] = stdout, stderr
	if code != 0 {
		t.Fatalf("reseal export: exit %d\n%s", code, stderr)
	}

	rp, err := repo.Open(context.Background(), dir, repo.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		rp.Close()
		testgit.FsckStrict(t, dir)
	})
	if n := commitCount(t, dir, "main"); n != 2 {
		t.Errorf("%d commits, want 2 (export, reseal)", n)
	}

	var needles []string
	for _, r := range rows {
		needles = append(needles, r.needles...)
	}
	assertNoSecrets(t, rp, needles, outputs)

	found := map[api.FlowName][]foundSecret{}
	for _, s := range res.Secrets {
		found[s.Flow] = append(found[s.Flow], foundSecret{s.Path, s.Kind})
	}
	ctx := context.Background()
	tip := testrepo.Head(t, rp, "main")
	files := testrepo.TreeFiles(t, rp, tip)
	for _, r := range rows {
		t.Run(r.place.name+"/"+r.shape.name, func(t *testing.T) {
			want := []foundSecret{{r.path, string(r.shape.kind)}}
			got := found[r.flow.Name]
			if len(got) != 1 || got[0] != want[0] {
				t.Errorf("findings %v, want %v", got, want)
			}
			ff := testrepo.FlowFiles(files, r.flow.Environment, r.flow.Name)
			if !strings.Contains(string(ff[r.place.file]), secrets.Placeholder(r.path)) {
				t.Errorf("%s lacks the placeholder %s:\n%s", r.place.file, secrets.Placeholder(r.path), ff[r.place.file])
			}
			sealed, ok := ff[model.SecretsFileName]
			if !ok {
				t.Fatal("no secrets.age")
			}
			values, err := secrets.Open(sealed, []age.Identity{id})
			if err != nil {
				t.Fatal(err)
			}
			if paths := values.Paths(); len(paths) != 1 || paths[0] != r.path {
				t.Errorf("sealed paths %v, want [%s]", paths, r.path)
			}
			// The restore is exact: the files of the flow as the service
			// returns it, converted losslessly.
			live, err := e.client.AdminGetFlow(ctx, r.flow.Environment, r.flow.Name, true)
			if err != nil {
				t.Fatal(err)
			}
			lossless, err := model.FromAPI(r.flow.Environment, live, nil)
			if err != nil {
				t.Fatal(err)
			}
			wantFiles, err := model.Files(lossless)
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{model.DefinitionFileName, model.FlowFileName, model.ConnectionsFileName} {
				restored, missing, err := secrets.Restore(ff[name], values)
				if err != nil || len(missing) != 0 {
					t.Fatalf("restore %s: missing %v, %v", name, missing, err)
				}
				if string(restored) != string(wantFiles[name]) {
					t.Errorf("restored %s differs from the service's:\n%s\nwant\n%s", name, restored, wantFiles[name])
				}
			}
			assertSameJSON(t, "restored definition", r.flow.Definition, mustRestore(t, ff[model.DefinitionFileName], values))
		})
	}
	// Every row was checked: one finding per flow, nothing else.
	var flows []string
	for f := range found {
		flows = append(flows, string(f))
	}
	sort.Strings(flows)
	catalogue := 0
	for _, f := range flows {
		if strings.HasPrefix(f, "ca7a1090-") {
			catalogue++
		}
	}
	if catalogue != len(rows) {
		t.Errorf("%d catalogue flows reported findings, want %d", catalogue, len(rows))
	}
}

// foundSecret is a finding as the run result reports it.
type foundSecret struct{ Path, Kind string }

func mustRestore(t *testing.T, doc []byte, values secrets.Values) []byte {
	t.Helper()
	out, missing, err := secrets.Restore(doc, values)
	if err != nil || len(missing) != 0 {
		t.Fatalf("restore: missing %v, %v", missing, err)
	}
	return out
}

// runCLI runs flowsync in-process with tokens supplied through IO.Getenv and
// returns the exit code, stdout and stderr: the catalogue checks what the
// command prints as well as what it commits.
func runCLI(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := cli.Main(context.Background(), append([]string{"flowsync"}, args...), cli.IO{
		In: strings.NewReader(""), Out: &out, Err: &errOut,
		Getenv: func(k string) string { return env[k] },
	})
	return code, out.String(), errOut.String()
}

// cliOutput is the JSON `flowsync --output json export` prints.
type cliOutput struct {
	export.Result
}
