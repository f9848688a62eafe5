// Package history reads the backup tree's past: what changed in an
// environment commit by commit (Log), a flow's stored files at a revision
// (Show), and which commit a point in time means (At).
//
// It reads only Git, never the service. The history of an environment is
// the first-parent line of the branch (what backups and promotions append
// to); each commit that changed environments/<env>/ is an Entry, and each
// flow directory that differs from the commit's first parent is a
// FlowChange that says what differs in the terms people use: created,
// renamed, definition, references, owners, run-only users, state, deleted
// (to the recycle bin, or gone from the environment), restored.
//
// Flows are named by GUID or by display name, including a name a flow had
// earlier: a renamed flow is still found under its old name. A name that
// fits several flows is an error that lists them, never a guess.
//
// Display names, action names and commit messages were typed by somebody
// and are treated as hostile: renderers escape control characters, and the
// JSON output is plain data.
package history
