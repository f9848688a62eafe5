// Package diff compares a desired set of flows (a tree at a revision, mapped
// for a target environment) with an actual one (a live environment, or
// another tree) and returns a Plan: data, never text, with no network and
// no Git inside. Rendering a plan for people (text, Markdown) and scripts
// (JSON) lives here too, as pure functions of the Plan.
//
// Pairing comes first (Pair): source flows meet their target flows through
// stored links, then through a unique display-name match; what stays
// unpaired is a create (desired only) or extra (actual only). Comparison
// comes second (Compare), part by part: flow metadata, definition paths,
// connection references, owners, run-only users and state.
package diff
