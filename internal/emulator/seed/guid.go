package seed

import (
	"crypto/sha1"
	"encoding/hex"
	"strings"
)

// nameSpace is the RFC 4122 namespace under which flowsync derives GUIDs
// from names (flow file names, connection keys). It is our own invented
// value: changing it renames every derived flow and connection.
const nameSpace = "6b1d2c4e-8f3a-4b5c-9d7e-0a1b2c3d4e5f"

// nameGUID returns the RFC 4122 version 5 (SHA-1, name-based) GUID of name in
// flowsync's namespace, lower case with hyphens.
func nameGUID(name string) string {
	ns, _ := parseGUID(nameSpace)
	return uuidV5(ns, name)
}

// uuidV5 is the RFC 4122 version 5 GUID of name in namespace ns.
func uuidV5(ns [16]byte, name string) string {
	h := sha1.New()
	h.Write(ns[:])
	h.Write([]byte(name))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50 // version 5
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	return formatGUID(u)
}

func formatGUID(u [16]byte) string {
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}

// parseGUID parses the 8-4-4-4-12 hex form, either case.
func parseGUID(s string) ([16]byte, bool) {
	var u [16]byte
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, false
	}
	h := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:]
	if _, err := hex.Decode(u[:], []byte(h)); err != nil {
		return u, false
	}
	return u, true
}

// isGUID reports whether s is a GUID in the 8-4-4-4-12 hex form.
func isGUID(s string) bool {
	_, ok := parseGUID(s)
	return ok
}

// trailingGUID returns the GUID that ends s after a '-' or '_' separator
// (unpacked solutions name workflow files "<Name>-<GUID>.json"), lower-cased,
// and s without it.
func trailingGUID(s string) (rest, guid string, ok bool) {
	if len(s) < 37 {
		return s, "", false
	}
	tail := s[len(s)-36:]
	sep := s[len(s)-37]
	if !isGUID(tail) || (sep != '-' && sep != '_') {
		return s, "", false
	}
	return s[:len(s)-37], strings.ToLower(tail), true
}
