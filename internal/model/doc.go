// Package model holds flowsync's normalized flow model and the pure functions
// that move flows between the service's API objects and the files of the
// export tree (docs/FORMAT.md).
//
// A Flow is what both sides of a sync agree on: export normalizes live API
// objects into Flows and writes their files; import and diff read files back
// into Flows and compare them with normalized live ones. Normalization is a
// pipeline of small pure steps (canonical JSON, secret redaction, portable
// connection references, metadata with volatile fields dropped, sorted
// permissions), so two exports of the same service state produce the same
// bytes. Paths come only from validated service names (environment names and
// flow GUIDs), never from display names, which users control.
//
// Comparing flows (pairing, what differs, plans) lives in package diff.
//
// Importers usually alias this package (fsync) to keep it apart from the
// standard library's sync.
package model
