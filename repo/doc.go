// Package repo stores a tree of files (slash-separated paths mapped to bytes)
// in a Git repository, using go-git's plumbing rather than its worktree.
//
// A Repo is a local repository, bare or not, opened or created by Open; Close
// releases the pack files it keeps open for reading. Writers
// take the repository lock (Lock) so two runs never write one repository at
// once, start a Builder on a branch tip, stream file contents in with Put (each
// blob is written out at once, so callers never hold a whole export in
// memory: a small build's blobs become loose objects at Commit, a large
// build's are streamed into one pack file that Commit finishes; see pack.go), declare with ReplaceSubtree which directories must end up
// containing exactly what was Put under them, and Commit once. Commit writes
// only the trees on changed paths (unchanged subtrees are reused by hash),
// makes no commit when the root tree is unchanged, and moves the branch with a
// compare-and-swap so a concurrent writer is detected (ErrConcurrentUpdate).
//
// A Builder records operations, not bytes (path → blob hash, deletions,
// replaced prefixes), so the same build can be replayed onto another base with
// Rebase. Push uses that when a remote rejects a non-fast-forward update: it
// fetches the remote tip into refs/flowsync/remote-tip, rebuilds this run's
// commit on top of it and retries, never forcing. Remotes are given as URLs or
// paths and used without being added to the repository's config; HTTPS
// tokens come from FLOWSYNC_GIT_TOKEN, SSH host keys are always checked
// against known_hosts, and errors never show credentials.
//
// In a non-bare repository whose HEAD is the committed branch, Commit also
// brings the working files and the index up to date for the paths the commit
// changed, and only those: it never re-hashes the whole worktree. It refuses,
// before committing, when the user changed any of those paths. Because the
// branch moves first, a run killed while writing the working tree (or one
// that could not write it) leaves the tree behind the branch; RepairWorktree,
// run under the lock before the next build, brings what an export wrote back
// in step and leaves local edits alone (repair.go).
//
// Open reports whether it created the repository (Created); RemoveCreated
// undoes that while no commit exists, so a first run that fails leaves
// nothing behind.
//
// Concurrency: go-git is not safe for concurrent use, and neither is this
// package. One goroutine owns a Repo and the Builders made from it; callers
// serialize. Nothing here locks internally, so misuse shows up under the race
// detector instead of being hidden. Separate Repo values (even on one
// directory, even in one process) are independent; the repository Lock and the
// compare-and-swap on the branch keep them from overwriting each other.
package repo
