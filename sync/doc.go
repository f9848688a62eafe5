// Package sync is the engine behind the commands that move flows between a
// Git tree and live environments: Backup (export a live environment into
// the tree and push it), Promote (make a live environment equal to a tree's
// environment, mapped for it: import and, with the tree's own environment
// as source, restore) and Diff (say what Promote would do, or what changed
// between two trees).
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
// a file in the Git directory, never in the tree.
package sync
