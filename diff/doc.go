// Package diff compares a desired set of flows (a tree at a revision, mapped
// for a target environment) with an actual one (a live environment, or
// another tree) and returns a Plan: data, never text, with no network and
// no Git inside. Rendering a plan for people (text, Markdown) and scripts
// (JSON) lives here too, as pure functions of the Plan (docs/PLAN.md).
//
// Make is the entry point: it pairs, compares, validates and sorts.
//
// Pairing comes first (Pair): in one environment flows pair by flow name;
// across environments source flows meet their target flows through this
// run's --link pairs, then stored links, then a display name that exactly one
// flow on each side has. What stays unpaired is a create (desired only) or
// extra (actual only; a deletion with prune).
//
// Comparison comes second (Compare), part by part: what the import writes
// of flow.json, definition paths, connection references, owners, run-only
// users and state. Across environments the service-set fields are not
// compared, a source Owner is desired as CanEdit, and the target's Owner and
// the importing identity keep their access. A secret placeholder in the
// desired definition equals whatever the target holds at that spot, and the
// desired flow handed to the importer carries the target's value there (or
// a supplied one), so an import never writes a placeholder. Diff is the
// strict comparison of two states of one environment (export history).
//
// Child flows: "Run a Child Flow" actions name the child by flow name;
// ChildRefs finds them, RewriteChildRefs points them at target flows.
//
// Validation that needs only the inputs becomes Problems (forbid the apply)
// and Warnings (shown), each with a stable code; problems found earlier
// (the mapping file) are carried into the plan through Input.Problems.
package diff
