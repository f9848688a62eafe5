// Package mapping reads the mapping file that says how a source
// environment's connections and principals translate into a target's, checks
// it against the target's inventory, and binds every connection reference
// of the flows being imported (docs/MAPPING.md).
//
// A reference is bound, in order: by its source connection (byConnection),
// by its connector (byConnector), in the same environment to its own
// connection, or automatically when the target has exactly one Connected
// connection of that connector. A connection in error is never chosen. How
// each reference was bound is kept (diff.ConnectionChange.How) so that the
// plan shows auto-mappings. Principals map through the file's principals
// section; one without an entry maps to itself and must exist in the target.
//
// Validation reports every problem at once, as diff.Problems with file:line
// where a line of the file is concerned, so that one edit fixes them all;
// any problem forbids a write. The package is pure: the caller reads the
// file (Load is the one exception, a convenience) and the inventory.
package mapping
