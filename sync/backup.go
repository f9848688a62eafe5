package sync

import (
	"context"
	"errors"
	"fmt"

	"github.com/flowsync/flowsync/export"
	"github.com/flowsync/flowsync/repo"
)

// ErrPush is wrapped by Backup's error when the export was done (and
// committed, when anything changed) but the push failed: the local branch
// keeps the commit and the next run with a push sends it.
var ErrPush = errors.New("push failed")

// BackupPaths are the tree paths an export owns in a working clone.
var BackupPaths = []string{export.RootFileName, "environments"}

// BackupOptions configure Backup.
type BackupOptions struct {
	export.Options
	// Admin reads through the admin scope (every flow of an environment;
	// what a service principal needs); IncludeDeleted adds soft-deleted
	// flows (admin only).
	Admin, IncludeDeleted bool
	// Reporter hears the export's progress; nil hears nothing.
	Reporter export.Reporter
	// Repaired is told when a killed or failed earlier run had left the
	// working tree behind the branch and Backup brought it back in step.
	Repaired func(repo.WorktreeRepair)
	// Push, when set, sends the branch afterwards (never forced; Backup
	// sets Branch and the Rebuild that replays this run on a moved tip).
	Push *repo.PushOptions
}

// BackupResult is what Backup did.
type BackupResult struct {
	*export.Result
	// Pushed is the push's result; nil without Push or when it failed.
	Pushed *repo.PushResult
}

// Backup exports environments of the live side into the repository (one
// commit on the branch, none when nothing changed) and pushes the branch
// when asked: the nightly job. The caller holds the repository's lock.
// A push failure returns the result with an error wrapping ErrPush.
func (e *Engine) Backup(ctx context.Context, o BackupOptions) (*BackupResult, error) {
	if e.Live == nil {
		return nil, fmt.Errorf("a backup reads a live environment: no client")
	}
	branch := o.Branch
	if branch == "" {
		branch = "main"
		o.Branch = branch
	}
	fixed, err := e.Repo.RepairWorktree(ctx, branch, BackupPaths)
	if err != nil {
		return nil, err
	}
	if fixed.Repaired() && o.Repaired != nil {
		o.Repaired(fixed)
	}
	src := export.ClientSource{Client: e.Live.Client, Admin: o.Admin, IncludeDeleted: o.IncludeDeleted}
	res, replay, err := export.Run(ctx, src, e.Repo, o.Options, o.Reporter)
	if err != nil {
		return nil, fmt.Errorf("export to %s: %w", e.Repo.Dir(), err)
	}
	out := &BackupResult{Result: res}
	if o.Push == nil {
		return out, nil
	}
	po := *o.Push
	po.Branch = branch
	po.Rebuild = replay.Rebuilder()
	pr, err := e.Repo.Push(ctx, po)
	if err != nil {
		return out, fmt.Errorf("%w: %w", ErrPush, err)
	}
	out.Pushed = &pr
	return out, nil
}
