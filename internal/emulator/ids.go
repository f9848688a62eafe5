package emulator

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
)

// newGUID is a random version-4 GUID, the form the service gives new flows.
func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// guidFrom is a GUID derived from s, for stable fake identifiers.
func guidFrom(s string) string {
	b := sha256.Sum256([]byte(s))
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// hexFrom is n bytes of hex derived from s.
func hexFrom(s string, n int) string {
	b := sha256.Sum256([]byte(s))
	return hex.EncodeToString(b[:n])
}

func shortHash(s string) string { return hexFrom(s, 4) }

// fakeSig is a random SAS signature: 32 bytes, base64url, 43 characters.
// It is generated per answer and grants nothing; it only has the shape of
// the bearer secrets backups must redact.
func fakeSig() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
