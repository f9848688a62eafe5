package secrets

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/google/go-cmp/cmp"
)

func TestSealOpenRoundTrip(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	other, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	pw, sig := fake(t), fake(t)
	doc := []byte(`{"actions":{"HTTP":{"inputs":{"uri":"https://h.invalid/?sig=` + sig + `","authentication":{"type":"Basic","username":"u","password":"` + pw + `"}}}}}`)
	redacted, _, values, err := RedactWithValues(doc, "")
	if err != nil {
		t.Fatal(err)
	}

	recipients, err := ParseRecipients([]string{id.Recipient().String(), " " + other.Recipient().String() + " "})
	if err != nil {
		t.Fatal(err)
	}
	sealedBytes, err := Seal(values, recipients)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(sealedBytes, []byte("-----BEGIN AGE ENCRYPTED FILE-----\n")) {
		t.Errorf("not armored: %q", sealedBytes[:min(40, len(sealedBytes))])
	}
	for _, s := range []string{pw, sig} {
		if bytes.Contains(sealedBytes, []byte(s)) {
			t.Errorf("sealed file contains a secret in clear")
		}
	}

	for _, ident := range []age.Identity{id, other} {
		got, err := Open(sealedBytes, []age.Identity{ident})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if diff := cmp.Diff(values, got, cmp.Comparer(jsonEqual)); diff != "" {
			t.Errorf("Open (-want +got):\n%s", diff)
		}
		restored, missing, err := Restore(redacted, got)
		if err != nil || len(missing) != 0 {
			t.Fatalf("Restore: %v, missing %v", err, missing)
		}
		if !bytes.Contains(restored, []byte(pw)) || !bytes.Contains(restored, []byte("?sig="+sig)) {
			t.Errorf("restore after open lost the secrets")
		}
	}

	stranger, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(sealedBytes, []age.Identity{stranger}); err == nil {
		t.Errorf("Open with a foreign identity succeeded")
	}
	if _, err := Open([]byte("not an age file"), []age.Identity{id}); err == nil {
		t.Errorf("Open of garbage succeeded")
	}
}

func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return cmp.Equal(x, y)
}

func TestSealEmptyAndNoRecipients(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	data, err := Seal(nil, []age.Recipient{id.Recipient()})
	if err != nil {
		t.Fatal(err)
	}
	got, err := Open(data, []age.Identity{id})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Errorf("Open = %d values, want 0", len(got))
	}
	if _, err := Seal(Values{}, nil); err == nil {
		t.Errorf("Seal without recipients succeeded")
	}
}

func TestParseRecipients(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseRecipients(nil); err == nil {
		t.Errorf("no recipients accepted")
	}
	if _, err := ParseRecipients([]string{"", "  "}); err == nil {
		t.Errorf("blank recipients accepted")
	}
	// A private key passed by mistake is refused without being echoed.
	_, err = ParseRecipients([]string{id.String()})
	if err == nil {
		t.Fatalf("private key accepted as recipient")
	}
	if strings.Contains(err.Error(), id.String()) {
		t.Errorf("error echoes the private key")
	}
	if !strings.Contains(err.Error(), "recipient 1") {
		t.Errorf("error %q does not say which recipient", err)
	}
}

func TestShouldReseal(t *testing.T) {
	const t1, t2 = "2025-01-02T03:04:05.1234567Z", "2025-02-02T03:04:05.1234567Z"
	tests := []struct {
		name            string
		prev, next      []string
		prevMod, newMod string
		want            bool
	}{
		{"unchanged", []string{"a", "b"}, []string{"b", "a"}, t1, t1, false},
		{"modified", []string{"a"}, []string{"a"}, t1, t2, true},
		{"path added", []string{"a"}, []string{"a", "b"}, t1, t1, true},
		{"path removed", []string{"a", "b"}, []string{"a"}, t1, t1, true},
		{"path renamed", []string{"a"}, []string{"c"}, t1, t1, true},
		{"unknown previous time", []string{"a"}, []string{"a"}, "", t1, true},
		{"unknown new time", []string{"a"}, []string{"a"}, t1, "", true},
		{"nothing to seal", []string{"a"}, nil, t1, t2, false},
		{"first secret", nil, []string{"a"}, t1, t1, true},
		{"duplicates ignored", []string{"a", "a"}, []string{"a"}, t1, t1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ShouldReseal(tt.prev, tt.next, tt.prevMod, tt.newMod); got != tt.want {
				t.Errorf("ShouldReseal = %v, want %v", got, tt.want)
			}
		})
	}
}
