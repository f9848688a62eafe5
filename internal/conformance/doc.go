// Package conformance holds flowsync's conformance tests: one suite that runs
// every operation of CONTRACT.md's table through the real client, against a
// Target that supplies the clients of a few roles (administrator, maker,
// application), the objects to read (Fixtures), whether it may write, and,
// for the emulator only, fault injection and a clock (Control).
//
// The emulator target runs the whole suite, writes and faults included, over
// loopback HTTP on every `go test`. The live target runs the same suite
// read-only against a real tenant, and only when FLOWSYNC_LIVE_TEST=1 is set:
// it never runs in CI. Beside the suite, the package checks the emulator
// itself against the contract's table with raw HTTP requests, drives
// thousands of paced calls through one client to prove that the pacer keeps
// an identity out of 429s, and signs in with real Azure SDK credentials
// against the emulator's Entra endpoint.
//
// Everything lives in test files; this file only documents the package.
package conformance
