package export_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/google/go-cmp/cmp"

	"github.com/flowsync/flowsync/export"
	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/emulator"
	"github.com/flowsync/flowsync/internal/emulator/seed"
	"github.com/flowsync/flowsync/internal/secrets"
	"github.com/flowsync/flowsync/internal/testgit"
	"github.com/flowsync/flowsync/internal/testrepo"
	"github.com/flowsync/flowsync/repo"
)

// sigFlowName is a flow the secrets tests add to the demo seed: it calls
// another flow by its signed callback URL and carries a signed URL in a
// property flowsync does not know.
const sigFlowName = api.FlowName("5b1c7d0e-2f3a-4b6c-8d9e-0a1b2c3d4e5f")

// randomSig makes a SAS-like signature at test time (never a real one).
func randomSig(t *testing.T) string {
	t.Helper()
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "TESTSIG" + hex.EncodeToString(b)
}

// withSigFlow returns the demo seed plus sigFlowName in Dev, and the two
// signatures planted in it.
func withSigFlow(t *testing.T) (*emulator.Snapshot, []string) {
	t.Helper()
	sigDef, sigExtra := randomSig(t), randomSig(t)
	callback := func(sig string) string {
		return "https://prod-27.westeurope.logic.azure.com:443/workflows/0a1b2c3d4e5f46a7b8c9d0e1f2a3b4c5/triggers/manual/paths/invoke" +
			"?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=" + sig
	}
	def := `{
  "$schema": "https://schema.management.azure.com/providers/Microsoft.Logic/schemas/2016-06-01/workflowdefinition.json#",
  "contentVersion": "1.0.0.0",
  "parameters": {
    "$connections": {"defaultValue": {}, "type": "Object"},
    "$authentication": {"defaultValue": {}, "type": "SecureObject"}
  },
  "triggers": {"Recurrence": {"type": "Recurrence", "recurrence": {"frequency": "Hour", "interval": 1}}},
  "actions": {
    "Call_child_by_URL": {
      "type": "Http", "runAfter": {},
      "inputs": {"method": "POST", "uri": "` + callback(sigDef) + `", "body": {"reason": "hourly"}}
    }
  }
}`
	extra, _ := json.Marshal(callback(sigExtra))
	snap := seed.Demo()
	snap.Flows = append(snap.Flows, emulator.Flow{
		Environment: seed.DemoEnvDev, Name: sigFlowName, DisplayName: "Call the child flow by URL",
		State: api.StateStopped, Creator: seed.DemoPriya,
		CreatedTime: seed.DemoNow().Add(-72 * time.Hour), LastModifiedTime: seed.DemoNow().Add(-48 * time.Hour),
		Definition:           json.RawMessage(def),
		ConnectionReferences: json.RawMessage(`{}`),
		Extra:                map[string]json.RawMessage{"callbackUrl": extra},
	})
	return snap, []string{sigDef, sigExtra}
}

// demoSecretValues are the secrets planted in the demo seed's
// "Partner API health check" flow, by the path redaction reports.
var demoSecretValues = map[string]string{
	"actions.Check_partner_API.inputs.authentication.password": "DEMO-ONLY-not-a-real-password",
	"actions.Check_partner_API.inputs.headers.x-api-key":       "DEMO-ONLY-fake-api-key-0000",
	"parameters.partnerApiToken.defaultValue":                  "DEMO-ONLY-fake-token-0000",
}

// assertNoSecrets looks for each needle in every object of the repository's
// object store (blobs, trees and commits, reachable or not, so commit
// messages and anything an aborted write left behind too), in the working
// files of a non-bare repository, and in extra texts (run output).
func assertNoSecrets(t *testing.T, rp *repo.Repo, needles []string, texts map[string]string) {
	t.Helper()
	cmd := exec.Command("git", "cat-file", "--batch-all-objects", "--batch", "--unordered")
	cmd.Dir = rp.GitDir()
	cmd.Env = testgit.Env(t)
	var objects, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &objects, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("git cat-file: %v: %s", err, stderr.String())
	}
	if objects.Len() == 0 {
		t.Fatal("the object store is empty: nothing was checked")
	}
	msgs := testgit.Run(t, rp.GitDir(), "log", "--all", "--format=%B")
	for _, n := range needles {
		if bytes.Contains(objects.Bytes(), []byte(n)) {
			t.Errorf("a Git object of %s contains the secret %.12s…", rp.Dir(), n)
		}
		if strings.Contains(msgs, n) {
			t.Errorf("a commit message contains the secret %.12s…", n)
		}
		for name, text := range texts {
			if strings.Contains(text, n) {
				t.Errorf("%s contains the secret %.12s…", name, n)
			}
		}
	}
	if rp.Bare() {
		return
	}
	for p, b := range testgit.WorkingFiles(t, rp.Dir()) {
		for _, n := range needles {
			if strings.Contains(b, n) {
				t.Errorf("working file %s contains the secret %.12s…", p, n)
			}
		}
	}
}

func resultJSON(t *testing.T, res *export.Result) string {
	t.Helper()
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestSecretsNeverReachTheTree: the planted secrets of the demo seed
// (password, API key header, SecureString default) and SAS signatures in
// a callback URL, in the definition and in an unknown property, appear in
// no Git object, commit message, working file or run result; the result
// lists each by flow, path and kind; placeholders stand where they were.
func TestSecretsNeverReachTheTree(t *testing.T) {
	t.Parallel()
	snap, sigs := withSigFlow(t)
	e := startEmu(t, snap, emuOptions{})
	rp := newRepo(t, false)
	o := exportOpts(seed.DemoEnvDev)
	res := mustExport(t, e.src, rp, o)
	// A second, changed export writes more objects and a second message.
	e.changeDefinition(snap, seed.DemoEnvDev, seed.DemoFlowSecrets, "touched")
	res2 := mustExport(t, e.src, rp, o)
	if !res2.Committed {
		t.Fatal("changed export made no commit")
	}

	needles := append([]string{"DEMO-ONLY-"}, sigs...)
	assertNoSecrets(t, rp, needles, map[string]string{"result": resultJSON(t, res), "second result": resultJSON(t, res2)})

	partner := export.FlowRef{Env: seed.DemoEnvDev, Flow: seed.DemoFlowSecrets, DisplayName: "Partner API health check"}
	sigRef := export.FlowRef{Env: seed.DemoEnvDev, Flow: sigFlowName, DisplayName: "Call the child flow by URL"}
	want := []export.SecretRef{
		{FlowRef: sigRef, Path: "actions.Call_child_by_URL.inputs.uri#sig", Kind: string(secrets.KindSASSignature)},
		{FlowRef: sigRef, Path: "flow.json.extra.callbackUrl#sig", Kind: string(secrets.KindSASSignature)},
		{FlowRef: partner, Path: "actions.Check_partner_API.inputs.authentication.password", Kind: string(secrets.KindPassword)},
		{FlowRef: partner, Path: "actions.Check_partner_API.inputs.headers.x-api-key", Kind: string(secrets.KindAPIKey)},
		{FlowRef: partner, Path: "parameters.partnerApiToken.defaultValue", Kind: string(secrets.KindSecureParameter)},
	}
	if diff := cmp.Diff(want, res.Secrets); diff != "" {
		t.Errorf("Result.Secrets (-want +got):\n%s", diff)
	}
	if !strings.Contains(commitMessage(t, rp.Dir(), res.Commit), "5 secrets redacted") {
		t.Errorf("commit message does not count the redacted secrets:\n%s", commitMessage(t, rp.Dir(), res.Commit))
	}

	files := testrepo.TreeFiles(t, rp, testrepo.Head(t, rp, "main"))
	def := string(files[testrepo.FlowDir(seed.DemoEnvDev, seed.DemoFlowSecrets)+"definition.json"])
	for path := range demoSecretValues {
		if !strings.Contains(def, secrets.Placeholder(path)) {
			t.Errorf("definition.json lacks the placeholder for %s", path)
		}
	}
	sigDef := string(files[testrepo.FlowDir(seed.DemoEnvDev, sigFlowName)+"definition.json"])
	if !strings.Contains(sigDef, "&sig="+secrets.Placeholder("actions.Call_child_by_URL.inputs.uri#sig")) {
		t.Errorf("the callback URL lost its shape:\n%s", sigDef)
	}
	for p := range files {
		if strings.HasSuffix(p, "/secrets.age") {
			t.Errorf("%s written without a sealer", p)
		}
	}
}

// TestSealedSecrets: with a Sealer, the redacted values of a flow go to its
// secrets.age, which opens with the identity to exactly the planted values
// and restores the source definition; an export of the unchanged state makes
// no commit (the sealed file is reused, since sealing again would change
// it); a changed flow is sealed again.
func TestSealedSecrets(t *testing.T) {
	t.Parallel()
	snap, sigs := withSigFlow(t)
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	e := startEmu(t, snap, emuOptions{})
	rp := newRepo(t, true)
	o := exportOpts(seed.DemoEnvDev)
	o.Sealer = export.AgeSealer{id.Recipient()}
	res := mustExport(t, e.src, rp, o)
	assertNoSecrets(t, rp, append([]string{"DEMO-ONLY-"}, sigs...), map[string]string{"result": resultJSON(t, res)})

	ctx := context.Background()
	tip := testrepo.Head(t, rp, "main")
	open := func(flow api.FlowName) secrets.Values {
		t.Helper()
		b, err := rp.ReadFile(ctx, testrepo.Head(t, rp, "main"), testrepo.FlowDir(seed.DemoEnvDev, flow)+"secrets.age")
		if err != nil {
			t.Fatalf("secrets.age of %s: %v", flow, err)
		}
		v, err := secrets.Open(b, []age.Identity{id})
		if err != nil {
			t.Fatalf("open secrets.age of %s: %v", flow, err)
		}
		return v
	}
	got := map[string]string{}
	for path, raw := range open(seed.DemoFlowSecrets) {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			t.Fatalf("value at %s is not a string", path)
		}
		got[path] = s
	}
	if diff := cmp.Diff(demoSecretValues, got); diff != "" {
		t.Errorf("sealed values (-want +got):\n%s", diff)
	}
	sigVals := open(sigFlowName)
	if len(sigVals) != 2 {
		t.Errorf("the signed-URL flow sealed %d values, want 2", len(sigVals))
	}

	// The tree plus the sealed values give the source definition back.
	for _, flow := range []api.FlowName{seed.DemoFlowSecrets, sigFlowName} {
		def, err := rp.ReadFile(ctx, tip, testrepo.FlowDir(seed.DemoEnvDev, flow)+"definition.json")
		if err != nil {
			t.Fatal(err)
		}
		restored, missing, err := secrets.Restore(def, open(flow))
		if err != nil || len(missing) != 0 {
			t.Fatalf("restore %s: missing %v, %v", flow, missing, err)
		}
		assertSameJSON(t, "restored definition of "+string(flow), flowOf(t, snap, seed.DemoEnvDev, flow).Definition, restored)
	}
	// Every flow without secrets has no sealed file.
	tr, err := rp.ReadTree(ctx, tip)
	if err != nil {
		t.Fatal(err)
	}
	paths, err := tr.Files("")
	if err != nil {
		t.Fatal(err)
	}
	var sealed []string
	for _, p := range paths {
		if strings.HasSuffix(p, "/secrets.age") {
			sealed = append(sealed, p)
		}
	}
	wantSealed := []string{testrepo.FlowDir(seed.DemoEnvDev, sigFlowName) + "secrets.age", testrepo.FlowDir(seed.DemoEnvDev, seed.DemoFlowSecrets) + "secrets.age"}
	if diff := cmp.Diff(wantSealed, sealed); diff != "" {
		t.Errorf("sealed files (-want +got):\n%s", diff)
	}

	// Unchanged: no commit, full or incremental.
	for _, incremental := range []bool{false, true} {
		oi := o
		oi.Incremental = incremental
		if r := mustExport(t, e.src, rp, oi); r.Committed {
			t.Errorf("unchanged export (incremental %v) committed %s", incremental, r.Commit)
		}
	}
	if testrepo.Head(t, rp, "main") != tip {
		t.Fatal("branch moved")
	}

	// Changed: sealed again, to the same values.
	before := blobHashes(t, rp, tip)
	e.changeDefinition(snap, seed.DemoEnvDev, seed.DemoFlowSecrets, "rotated nothing")
	r := mustExport(t, e.src, rp, o)
	after := blobHashes(t, rp, testrepo.Head(t, rp, "main"))
	p := testrepo.FlowDir(seed.DemoEnvDev, seed.DemoFlowSecrets) + "secrets.age"
	if !r.Committed || after[p] == before[p] {
		t.Errorf("changed flow: committed %v, secrets.age %s → %s; want it sealed again", r.Committed, before[p], after[p])
	}
	if q := testrepo.FlowDir(seed.DemoEnvDev, sigFlowName) + "secrets.age"; after[q] != before[q] {
		t.Errorf("an unchanged flow's secrets.age was sealed again")
	}
	if len(open(seed.DemoFlowSecrets)) != len(demoSecretValues) {
		t.Error("resealed file lost values")
	}

	// New recipients: --reseal encrypts every flow's secrets to them, full
	// or incremental; the old identity no longer opens them.
	for _, incremental := range []bool{false, true} {
		id2, err := age.GenerateX25519Identity()
		if err != nil {
			t.Fatal(err)
		}
		or := o
		or.Sealer, or.Reseal, or.Incremental = export.AgeSealer{id2.Recipient()}, true, incremental
		if r := mustExport(t, e.src, rp, or); !r.Committed {
			t.Fatalf("reseal (incremental %v) made no commit", incremental)
		}
		for _, flow := range []api.FlowName{seed.DemoFlowSecrets, sigFlowName} {
			b, err := rp.ReadFile(ctx, testrepo.Head(t, rp, "main"), testrepo.FlowDir(seed.DemoEnvDev, flow)+"secrets.age")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := secrets.Open(b, []age.Identity{id2}); err != nil {
				t.Errorf("reseal (incremental %v): %s not sealed to the new recipient: %v", incremental, flow, err)
			}
			if _, err := secrets.Open(b, []age.Identity{id}); err == nil {
				t.Errorf("reseal (incremental %v): %s still opens with the old identity", incremental, flow)
			}
		}
		id = id2
	}
}

// assertSameJSON compares two JSON documents by meaning.
func assertSameJSON(t *testing.T, what string, want, got []byte) {
	t.Helper()
	var w, g any
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("%s: want: %v", what, err)
	}
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: got: %v", what, err)
	}
	if diff := cmp.Diff(w, g); diff != "" {
		t.Errorf("%s (-want +got):\n%s", what, diff)
	}
}

func newAgeIdentity(t *testing.T) *age.X25519Identity {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id
}
