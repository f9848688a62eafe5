package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/flowsync/flowsync/history"
	"github.com/flowsync/flowsync/repo"
)

// logOptions are the options of `flowsync log`.
type logOptions struct {
	Repo  string
	Rev   string
	Env   string
	Flow  string
	Since string
	Limit int
	// now is the clock --since durations count back from.
	now func() time.Time
}

func logCommand(g *globalOptions) *ucli.Command {
	o := logOptions{now: time.Now}
	return &ucli.Command{
		Name:      "log",
		Usage:     "show what changed in an environment, or in one flow, backup by backup",
		UsageText: "flowsync log --repo DIR --env ENV [--flow F] [--since WHEN] [--rev REV] [--limit N]",
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "repo", Usage: "the backup repository", Destination: &o.Repo, EnvVars: []string{"FLOWSYNC_REPO"}},
			&ucli.StringFlag{Name: "env", Usage: "environment name or display name", Destination: &o.Env},
			&ucli.StringFlag{Name: "flow", Usage: "only this flow: GUID, display name, or a display name it had before", Destination: &o.Flow},
			&ucli.StringFlag{Name: "since", Usage: "only backups made at or after WHEN: 2025-03-01, 2025-03-01T02:00:00Z, or an age such as 36h or 7d", Destination: &o.Since},
			&ucli.StringFlag{Name: "rev", Value: "HEAD", Usage: "where the history ends: a branch, tag or commit", Destination: &o.Rev},
			&ucli.IntFlag{Name: "limit", Aliases: []string{"n"}, Usage: "show at most N backups (newest first)", Destination: &o.Limit},
		},
		Action: func(c *ucli.Context) error {
			if err := noArgs(c, "log", "flows go in --flow"); err != nil {
				return err
			}
			return runLog(c.Context, g, o)
		},
	}
}

func runLog(ctx context.Context, g *globalOptions, o logOptions) error {
	switch {
	case o.Repo == "":
		return usagef("log: --repo DIR is required (the backup repository)")
	case o.Env == "":
		return usagef("log: --env ENV is required (an environment name or display name)")
	case o.Limit < 0:
		return usagef("log: --limit %d: want 0 (all) or more", o.Limit)
	}
	var since time.Time
	if o.Since != "" {
		var err error
		if since, err = parseSince(o.Since, o.now()); err != nil {
			return usagef("log: --since: %v", err)
		}
	}
	rp, err := openBackupRepo(ctx, o.Repo)
	if err != nil {
		return err
	}
	defer rp.Close()
	l, err := history.ReadLog(ctx, rp, history.LogOptions{Rev: o.Rev, Env: o.Env, Flow: o.Flow, Since: since, Limit: o.Limit})
	if err != nil {
		return fmt.Errorf("log of %s: %w", o.Repo, err)
	}
	if g.Output == "json" {
		return history.RenderLogJSON(g.io.Out, l)
	}
	return history.RenderLogText(g.io.Out, l)
}

// parseSince reads a point in time: RFC 3339, a date (midnight UTC), or an
// age counted back from now (Go durations, plus d for days and w for weeks).
func parseSince(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02", "2006-01-02T15:04", "2006-01-02 15:04"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	if n := len(s); n > 1 && (s[n-1] == 'd' || s[n-1] == 'w') {
		if k, err := strconv.Atoi(s[:n-1]); err == nil && k >= 0 {
			day := 24 * time.Hour
			if s[n-1] == 'w' {
				day *= 7
			}
			return now.Add(-time.Duration(k) * day), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a time: want 2025-03-01, 2025-03-01T02:00:00Z, or an age such as 36h, 7d or 2w", s)
}

// openBackupRepo opens an existing repository for reading. Unlike export,
// which creates one, a reader must never leave an empty repository behind
// a mistyped path.
func openBackupRepo(ctx context.Context, dir string) (*repo.Repo, error) {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("--repo %s: no such directory; name the backup repository that flowsync export writes", dir)
	case err != nil:
		return nil, fmt.Errorf("--repo %s: %w", dir, err)
	case !fi.IsDir():
		return nil, fmt.Errorf("--repo %s: is a file, not a repository", dir)
	}
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("--repo %s: %w", dir, err)
	}
	names, _ := f.Readdirnames(1)
	f.Close()
	if len(names) == 0 {
		return nil, fmt.Errorf("--repo %s: the directory is empty, not a repository", dir)
	}
	rp, err := repo.Open(ctx, dir, repo.OpenOptions{})
	if errors.Is(err, repo.ErrNotRepository) {
		// repo.Open's advice (an empty directory, git init) is for export;
		// a reader needs the backup itself.
		return nil, fmt.Errorf("--repo %s: not a Git repository: name the backup repository that flowsync export writes, or a clone of it", dir)
	}
	return rp, err
}
