// Package sync is the engine behind the commands that move flows between a
// Git tree and live environments: Backup (export a live environment into
// the tree and push it), Promote (make a live environment equal to a tree's
// environment, mapped for it: import, and Restore, the same path with the
// tree's own environment as source) and MakePlan (what Promote would do,
// or what changed between two trees: the diff command).
//
// Each job wires a source, a target and the Git store; the pure parts live
// elsewhere: pairing and comparison in diff, connection and principal
// mapping in mapping, the writes in importer. The engine never prints,
// prompts or exits: it returns data (a diff.Plan, an importer result) and
// asks its caller through the Confirm callback before the first write.
//
// Identity across environments lives in the Git repository beside the
// backups: links/<from>/<to>.json maps each source flow to the target flow
// an import created or paired with it (canonical JSON). Links are committed
// in their own commits, outside environments/, so an export never removes
// them and any clone of a pushed backup repository carries on where the
// last import stopped. The importer's journal (resumable after a kill) is
// a file in the Git directory, never in the tree; an import first settles
// a journal an interrupted run left (importer.Recover), then plans.
//
// Reads are bounded: of the target's flows only those a source flow can
// pair with (linked, same name, same display name; all with prune) are
// read in full, two calls each; the others come from the listing.
package sync
