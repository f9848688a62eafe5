// Package odb writes objects into a Git repository's object directory
// (objects/) without going through go-git's object writer, and answers
// "does the store have this object?" from the pack indexes in memory.
//
// A Store is one objects directory. Write stores a single object as a loose
// object (zlib of "<type> <size>\0" + content in objects/xx/yyyy…, created
// under a temporary name and renamed, so readers never see a partial
// object). A Batch collects the objects of one build: a small batch ends as
// loose objects, as Git unpacks a small fetch; a large one is streamed into
// one temporary pack file that Flush finishes with its version 2 index
// (written and read with go-git's idxfile encoder and decoder) and renames
// into place, so a reader sees the whole pack or none of it. Discard drops a
// batch, including its temporary pack.
//
// The Pack a Flush returns reads the objects just packed straight from the
// open file (whole objects at known offsets), for the diff and working-tree
// update that follow a commit, before any general-purpose reader has
// reloaded its pack list. A Reader decompresses for one goroutine.
//
// Nothing here repacks, deltifies or deletes objects; packs are never
// merged ('git gc' does that). A Store, and the Batches made from it, belong
// to one goroutine; a Pack may be read concurrently, each goroutine with its
// own Reader.
package odb
