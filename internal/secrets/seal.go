package secrets

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"filippo.io/age"
	"filippo.io/age/armor"

	"github.com/flowsync/flowsync/internal/canon"
)

// SealedVersion is the version of the plaintext inside a sealed file.
const SealedVersion = 1

// sealed is the plaintext of a secrets.age file.
type sealed struct {
	Version int    `json:"version"`
	Values  Values `json:"values"`
}

// Seal encrypts values to every recipient and returns an ASCII-armored age
// file. The plaintext is canonical JSON {"version":1,"values":{path: value}}.
// Encryption is randomized: sealing the same values twice gives different
// bytes, so callers decide with ShouldReseal whether to keep an old file.
func Seal(values Values, recipients []age.Recipient) ([]byte, error) {
	if len(recipients) == 0 {
		return nil, errors.New("seal secrets: no recipients")
	}
	plain, err := canon.Marshal(sealed{Version: SealedVersion, Values: nonNil(values)})
	if err != nil {
		return nil, fmt.Errorf("seal secrets: %w", err)
	}
	var buf bytes.Buffer
	aw := armor.NewWriter(&buf)
	w, err := age.Encrypt(aw, recipients...)
	if err != nil {
		return nil, fmt.Errorf("seal secrets: %w", err)
	}
	if _, err := w.Write(plain); err != nil {
		return nil, fmt.Errorf("seal secrets: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("seal secrets: %w", err)
	}
	if err := aw.Close(); err != nil {
		return nil, fmt.Errorf("seal secrets: %w", err)
	}
	return buf.Bytes(), nil
}

func nonNil(v Values) Values {
	if v == nil {
		return Values{}
	}
	return v
}

// maxSealed bounds what Open decrypts: a flow's secrets are a few kilobytes.
const maxSealed = 16 << 20

// Open decrypts a file written by Seal with any of the identities.
func Open(data []byte, identities []age.Identity) (Values, error) {
	r, err := age.Decrypt(armor.NewReader(bytes.NewReader(data)), identities...)
	if err != nil {
		return nil, fmt.Errorf("open secrets: %w", err)
	}
	plain, err := io.ReadAll(io.LimitReader(r, maxSealed+1))
	if err != nil {
		return nil, fmt.Errorf("open secrets: %w", err)
	}
	if len(plain) > maxSealed {
		return nil, errors.New("open secrets: plaintext too large")
	}
	var s sealed
	if err := json.Unmarshal(plain, &s); err != nil {
		return nil, fmt.Errorf("open secrets: decode: %w", err)
	}
	if s.Version != SealedVersion {
		return nil, fmt.Errorf("open secrets: unsupported version %d", s.Version)
	}
	return nonNil(s.Values), nil
}

// ParseRecipients parses age recipients given as strings ("age1…" X25519
// keys, or post-quantum hybrid "age1pq1…" keys).
func ParseRecipients(keys []string) ([]age.Recipient, error) {
	var out []age.Recipient
	for i, k := range keys {
		k = strings.TrimSpace(k)
		if k == "" {
			continue
		}
		rs, err := age.ParseRecipients(strings.NewReader(k))
		if err != nil {
			// The key itself is not quoted: a private key pasted by mistake
			// must not end up in an error message.
			return nil, fmt.Errorf("recipient %d: %w", i+1, err)
		}
		out = append(out, rs...)
	}
	if len(out) == 0 {
		return nil, errors.New("no age recipients")
	}
	return out, nil
}

// ShouldReseal decides whether an export writes a new secrets.age for a flow
// that already has one. Sealing is randomized, so resealing an unchanged
// flow would change the tree on every run; keeping the old file is correct
// when the flow's lastModifiedTime is unchanged (its definition, and so its
// secrets, cannot change without it) and the same paths are redacted. The
// paths of the previous export come from its placeholders (Placeholders),
// so no decryption is needed. An empty time on either side means unknown and
// reseals. When newPaths is empty there is nothing to seal and the caller
// removes the file instead; ShouldReseal returns false.
//
// It cannot see a change of recipients: after changing --encrypt-to the
// export must reseal every flow regardless.
func ShouldReseal(prevPaths, newPaths []string, prevModified, newModified string) bool {
	if len(newPaths) == 0 {
		return false
	}
	if prevModified == "" || newModified == "" || prevModified != newModified {
		return true
	}
	a, b := slices.Clone(prevPaths), slices.Clone(newPaths)
	slices.Sort(a)
	slices.Sort(b)
	return !slices.Equal(slices.Compact(a), slices.Compact(b))
}
