// Package export backs up whole environments into a Git repository.
//
// A run lists the flows of each environment, reads each flow and its
// permissions through the shared pacer, normalizes them into the tree
// documented in docs/FORMAT.md, and writes one commit straight to the object
// store. The run is careful with what it already has: a flow that cannot be
// read keeps its previous version (the run is partial), and a listing that
// shrinks by more than half — or to nothing — commits nothing unless the
// caller allows it, because a broken listing must never wipe a backup.
//
// Run returns a Result, the report of what it did (flows read, reused,
// kept, environments skipped under AllEnvs), and a Replay, the handle a push
// uses to rebuild the run on a newer remote tip. --incremental reuses only
// stored files that parse and are canonical; whether a flow's sealed secrets
// are kept is secrets.ShouldReseal's decision. Text typed by makers reaches
// the commit message only through safetext, so no name can put a control
// character into a commit.
//
// Reading is concurrent (bounded); Git is owned by a single goroutine, the
// writer, which receives normalized files from the readers.
package export
