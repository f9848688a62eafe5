// Package api holds the wire types of the Power Automate Management API as
// flowsync speaks it (see shared CONTRACT.md): ARM-style resources, list
// envelopes, permissions, connections and the one error type both the client
// decodes and the emulator produces.
//
// Types keep the fields they do not know in an Extra map so that a flow read
// from the service and written back loses nothing: the backup must round-trip
// definitions and connection references in meaning.
package api
