package secrets

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/flowsync/flowsync/internal/canon"
	"github.com/flowsync/flowsync/internal/testcorpus"
)

// corpusDefinitions reads the definition of every corpus flow (package and
// solution files both keep it at properties.definition), by file name.
func corpusDefinitions(tb testing.TB, dir string) map[string]json.RawMessage {
	tb.Helper()
	out := map[string]json.RawMessage{}
	for _, row := range testcorpus.Rows(tb, dir, "file") {
		name := row["file"]
		raw, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			tb.Fatal(err)
		}
		b := testcorpus.Text(tb, raw)
		var f struct {
			Properties struct {
				Definition json.RawMessage `json:"definition"`
			} `json:"properties"`
		}
		if err := json.Unmarshal(b, &f); err != nil {
			tb.Fatalf("%s: %v", name, err)
		}
		out[name] = f.Properties.Definition
	}
	return out
}

// corpusFindings is everything redaction finds in the corpus's 69 real
// flows, reviewed one by one. The one finding is an environment-variable
// parameter whose default value is an Entra ID client secret, referenced by
// an ActiveDirectoryOAuth secret field. Everything else that looks like a
// credential is a reference and stays: the Authorization headers are
// "Bearer @{body('Get_Token')?['access_token']}", a form body sends
// password=@{triggerBody()['text_4']}, the "token" members are schema
// properties, and 'X-MS-APIM-Tokens' and 'body/cat_password' are names in
// indexes. The 26 parameters/headers objects carry Accept, Content-Type,
// If-Match, X-HTTP-Method and the like.
var corpusFindings = map[string][]Finding{
	"034-sharepoint-assistant-site-creation.json": {
		{"parameters.SharePointAssistantKey (kch_SharePointAssistantKey).defaultValue", KindSecretParameter},
	},
}

// TestCorpusRedaction: redaction finds exactly the reviewed findings in the
// corpus (a new rule that hits a real flow shows up here and must be
// justified), is idempotent on every flow and restores each exactly.
func TestCorpusRedaction(t *testing.T) {
	defs := corpusDefinitions(t, testcorpus.Dir(t))
	if len(defs) == 0 {
		t.Fatal("no corpus flows")
	}
	got := map[string][]Finding{}
	for name, def := range defs {
		out, fs, values, err := RedactWithValues(def, "")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(fs) > 0 {
			got[name] = fs
		}
		again, fs2, err := Redact(out, "")
		if err != nil || len(fs2) != 0 || !bytes.Equal(again, out) {
			t.Errorf("%s: second redaction changed the output or found %v (%v)", name, fs2, err)
		}
		restored, missing, err := Restore(out, values)
		if err != nil || len(missing) != 0 {
			t.Fatalf("%s: restore: missing %v, %v", name, missing, err)
		}
		want, err := canon.Canonicalize(def)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(restored, want) {
			t.Errorf("%s: Restore(Redact(x)) != x", name)
		}
	}
	if diff := cmp.Diff(corpusFindings, got); diff != "" {
		t.Errorf("corpus findings (-reviewed +got):\n%s", diff)
	}
}
