package repo

import "errors"

// Sentinel errors; classify with errors.Is. Returned errors wrap them with the
// path, branch or remote concerned.
var (
	// ErrNotFound: a path, blob or commit does not exist.
	ErrNotFound = errors.New("not found")
	// ErrNotRepository: a directory is neither a Git repository nor empty.
	ErrNotRepository = errors.New("not a git repository")
	// ErrLocked: another live process holds the repository lock.
	ErrLocked = errors.New("repository is locked")
	// ErrInvalidPath: a path given to a Builder is not a clean relative path.
	ErrInvalidPath = errors.New("invalid path")
	// ErrPathConflict: a path would be both a file and a directory.
	ErrPathConflict = errors.New("path conflict")
	// ErrConcurrentUpdate: the branch moved since the Builder's base was read.
	ErrConcurrentUpdate = errors.New("branch was updated concurrently")
	// ErrWorktreeConflict: the user changed working files that a commit would
	// overwrite; nothing was committed.
	ErrWorktreeConflict = errors.New("working tree has local changes")
	// ErrWorktreeSync: the commit was made and the branch moved, but bringing
	// the working files or the index up to date failed.
	ErrWorktreeSync = errors.New("working tree not updated")
	// ErrBuilderDone: the Builder was committed or rebased and takes no more
	// operations.
	ErrBuilderDone = errors.New("builder already committed or rebased")
	// ErrAuth: the remote refused the credentials (or asked for some).
	ErrAuth = errors.New("remote authentication failed")
	// ErrRemoteUnreachable: the remote could not be contacted or read.
	ErrRemoteUnreachable = errors.New("remote unreachable")
	// ErrPushRejected: the remote still refused the update after all attempts.
	ErrPushRejected = errors.New("push rejected")
)
