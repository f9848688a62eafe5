package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/flowsync/flowsync/diff"
	"github.com/flowsync/flowsync/importer"
	"github.com/flowsync/flowsync/internal/safetext"
	"github.com/flowsync/flowsync/repo"
	fsync "github.com/flowsync/flowsync/sync"
)

// restoreOptions are the options of `flowsync restore`.
type restoreOptions struct {
	Repo    string
	Branch  string
	Rev     string
	At      string
	Env     string
	To      string
	Flows   []string
	MapFile string
	secretFlags
	Prune      bool
	DryRun     bool
	Yes        bool
	KeepAccess bool
	Scope      string
	Author     string
	// now is the clock --at ages count back from.
	now func() time.Time
}

func restoreCommand(g *globalOptions) *ucli.Command {
	o := restoreOptions{now: time.Now}
	var flows ucli.StringSlice
	return &ucli.Command{
		Name:  "restore",
		Usage: "bring an environment (or a new one) back to a backup: recycle bin, recreate, update, rebind, owners, states",
		UsageText: "flowsync restore --repo DIR (--rev REV | --at TIME) --env ENV [--to ENV] [--flow F ...] [--map FILE]\n" +
			"   [--identity AGE_KEY_FILE] [--secrets FILE] [--prune] [--dry-run] [--yes]",
		Description: "Shows the plan (reads, writes, ETA) first; --dry-run stops there. Exit 0 when every flow is as the\n" +
			"backup says, 3 when some flow failed or could not be turned on (the report says why). Idempotent:\n" +
			"run it again to finish an interrupted restore. Restoring from the recycle bin needs an administrator.",
		Flags: append([]ucli.Flag{
			&ucli.StringFlag{Name: "repo", Usage: "the backup repository", Destination: &o.Repo, EnvVars: []string{"FLOWSYNC_REPO"}},
			&ucli.StringFlag{Name: "branch", Value: "main", Usage: "branch to read (and to record links on)", Destination: &o.Branch},
			&ucli.StringFlag{Name: "rev", Usage: "the backup to restore: a commit, tag or branch", Destination: &o.Rev},
			&ucli.StringFlag{Name: "at", Usage: "restore to the last backup made at or before TIME (2025-03-01, 2025-03-01T02:00:00Z, or an age such as 36h or 7d)", Destination: &o.At},
			&ucli.StringFlag{Name: "env", Usage: "the environment in the backup (name or display name)", Destination: &o.Env},
			&ucli.StringFlag{Name: "to", Usage: "restore into this live environment instead (e.g. a new one after a loss; use --map)", Destination: &o.To},
			&ucli.StringSliceFlag{Name: "flow", Usage: "only this flow (GUID or display name; repeatable)", Destination: &flows},
			&ucli.StringFlag{Name: "map", Usage: "mapping file for --to (connections, principals); see docs/MAPPING.md", Destination: &o.MapFile},
			&ucli.BoolFlag{Name: "prune", Usage: "delete flows created after the backup (listed in the plan)", Destination: &o.Prune},
			&ucli.BoolFlag{Name: "dry-run", Usage: "show the plan and its cost, write nothing", Destination: &o.DryRun},
			&ucli.BoolFlag{Name: "yes", Usage: "apply without asking (needed when there is no terminal)", Destination: &o.Yes},
			&ucli.BoolFlag{Name: "keep-access", Usage: "an admin keeps the CanEdit it grants itself to update flows it does not own", Destination: &o.KeepAccess},
			&ucli.StringFlag{Name: "scope", Value: "auto", Usage: "auto, admin or user: how the environment is read (the recycle bin needs admin)", Destination: &o.Scope},
			&ucli.StringFlag{Name: "author", Usage: `author of the links commits, "Name <email>"`, Destination: &o.Author},
		}, o.secretFlags.flags()...),
		Action: func(c *ucli.Context) error {
			if err := noArgs(c, "restore", "flows go in --flow"); err != nil {
				return err
			}
			o.Flows = flows.Value()
			at, err := o.validate()
			if err != nil {
				return err
			}
			return g.withSession(func(s *session) error { return runRestore(c.Context, g, s, o, at) })
		},
	}
}

// validate checks the options and reads --at.
func (o restoreOptions) validate() (time.Time, error) {
	switch {
	case o.Repo == "":
		return time.Time{}, usagef("restore: --repo DIR is required (the backup repository)")
	case o.Env == "":
		return time.Time{}, usagef("restore: --env ENV is required (the environment in the backup)")
	case o.Rev == "" && o.At == "":
		return time.Time{}, usagef("restore: name the backup with --rev REV or --at TIME (flowsync log --env ENV lists them)")
	case o.Rev != "" && o.At != "":
		return time.Time{}, usagef("restore: --rev and --at exclude each other")
	case o.MapFile != "" && o.To == "":
		return time.Time{}, usagef("restore: --map is for restoring into another environment (--to); the same environment rebinds its own connections")
	}
	switch o.Scope {
	case "auto", "admin", "user":
	default:
		return time.Time{}, usagef("restore: --scope %q: want auto, admin or user", o.Scope)
	}
	if _, err := parseAuthor(o.Author); err != nil {
		return time.Time{}, usagef("restore: --author %q: want \"Name <email>\"", o.Author)
	}
	if o.At == "" {
		return time.Time{}, nil
	}
	at, err := parseSince(o.At, o.now())
	if err != nil {
		return time.Time{}, usagef("restore: --at: %v", err)
	}
	return at, nil
}

// restoreDocument is the JSON document of `restore --output json`
// (docs/RESTORE.md).
type restoreDocument struct {
	Commit  restoreCommit      `json:"commit"`
	Plan    *planDocument      `json:"plan,omitempty"`
	Applied bool               `json:"applied"`
	DryRun  bool               `json:"dryRun,omitempty"`
	Result  *importer.Result   `json:"result,omitempty"`
	Settled *importer.Result   `json:"settled,omitempty"`
	Errors  map[string]string  `json:"errors,omitempty"`
	Health  []fsync.FlowHealth `json:"health,omitempty"`
	Healthy bool               `json:"healthy"`
	Links   int                `json:"linkCommits"`
	Error   string             `json:"error,omitempty"`
}

type restoreCommit struct {
	Hash    string    `json:"hash,omitempty"`
	Time    time.Time `json:"time,omitempty"`
	Subject string    `json:"subject,omitempty"`
}

func runRestore(ctx context.Context, g *globalOptions, s *session, o restoreOptions, at time.Time) error {
	author, _ := parseAuthor(o.Author)
	if author.Name == "" {
		author = repo.Signature{Name: "flowsync", Email: "flowsync@users.noreply.flowsync.invalid"}
	}
	ids, vals, err := o.secretFlags.load("restore")
	if err != nil {
		return err
	}
	ro := fsync.RestoreOptions{
		Branch: o.Branch, Rev: o.Rev, At: at, Env: o.Env, To: o.To, MapFile: o.MapFile, Flows: o.Flows,
		Prune: o.Prune, Identities: ids, Secrets: vals, KeepAccess: o.KeepAccess, DryRun: o.DryRun, Author: author,
		Limits: importer.Limits{Calls: g.RateLimit, Writes: g.WriteLimit},
	}
	id, admin, err := whoAmI(ctx, s, o.Scope)
	if err != nil {
		return err
	}
	ro.Identity = id

	rp, release, err := openLocked(ctx, o.Repo)
	if err != nil {
		return err
	}
	defer release()

	jsonOut := g.Output == "json"
	shown := false
	if !o.Yes {
		ask := confirmer(g, false)
		ro.Confirm = func(ctx context.Context, p *diff.Plan) error {
			if !jsonOut {
				if err := showPlan(g, g.io.Out, *p, g.WriteLimit); err != nil {
					return err
				}
				shown = true
			}
			if !isTerminal(g.io.In) {
				return usagef("restore: the plan above writes to the environment, and there is no terminal to confirm on: pass --yes to apply it, or --dry-run to only show it")
			}
			return ask(ctx, p)
		}
	}
	if !jsonOut {
		ro.Reporter = &importReporter{w: g.io.Err, verbose: g.Verbose, quiet: g.Quiet}
	}
	e := &fsync.Engine{Repo: rp, Live: &fsync.Live{Client: s.Client, Admin: admin}}
	// Say which backup before anything else, and restore exactly it.
	point, _, err := e.RestorePoint(ctx, ro)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if !jsonOut {
		printChosen(g.io.Out, point, o.At)
	}
	ro.Rev, ro.At = point.Hash.String(), time.Time{}
	res, err := e.Restore(ctx, ro)
	if res == nil {
		return fmt.Errorf("restore: %w", err)
	}
	if jsonOut {
		if perr := printJSON(g.io.Out, restoreDoc(res, o.DryRun, err)); perr != nil {
			return perr
		}
	} else {
		w := g.io.Out
		if res.PromoteResult != nil {
			if !shown {
				if perr := showPlan(g, w, res.Plan, g.WriteLimit); perr != nil {
					return perr
				}
			}
			if res.Result != nil {
				printImportResult(w, res.PromoteResult)
			}
			if len(res.Health) > 0 {
				printHealth(w, res)
			}
		}
	}
	switch {
	case errors.Is(err, fsync.ErrPlanProblems):
		return fmt.Errorf("restore: %d problem(s) in the plan, listed above; nothing was written", len(res.Plan.Problems))
	case errors.Is(err, importer.ErrAppIdentity):
		return fmt.Errorf("restore: %w: sign in as a user with the administrator role (--auth devicecode, azcli, or token with a user's token)", err)
	case err != nil:
		return fmt.Errorf("restore: %w", err)
	}
	if o.DryRun {
		if !jsonOut {
			fmt.Fprintln(g.io.Out, "dry run: nothing was written")
		}
		return nil
	}
	if !res.Healthy() {
		return fmt.Errorf("%w: some flows are not as the backup says (see the health report); run the same restore again to retry", ErrPartial)
	}
	return nil
}

func restoreDoc(res *fsync.RestoreResult, dryRun bool, err error) restoreDocument {
	subject, _, _ := strings.Cut(strings.TrimSpace(res.Commit.Message), "\n")
	doc := restoreDocument{
		Commit:  restoreCommit{Time: res.Commit.Committer.When.UTC(), Subject: subject},
		DryRun:  dryRun,
		Health:  res.Health,
		Settled: res.Settled,
		Healthy: err == nil && res.Healthy(),
	}
	if !res.Commit.Hash.IsZero() {
		doc.Commit.Hash = res.Commit.Hash.String()
	}
	if pr := res.PromoteResult; pr != nil {
		doc.Plan, doc.Applied, doc.Result, doc.Links = &planDocument{pr.Plan}, pr.Applied, pr.Result, pr.LinkCommits
		doc.Errors = flowErrors(pr.Result)
	}
	if err != nil {
		doc.Error = err.Error()
	}
	return doc
}

// printChosen says which backup is restored, and for --at why that one.
func printChosen(w io.Writer, c repo.CommitInfo, at string) {
	subject, _, _ := strings.Cut(strings.TrimSpace(c.Message), "\n")
	when := c.Committer.When.UTC().Format(time.RFC3339)
	if at != "" {
		fmt.Fprintf(w, "--at %s: the last backup at or before it is commit %s of %s (%s)\n", safetext.Line(at), shortHash(c.Hash.String()), when, safetext.Line(subject))
		return
	}
	fmt.Fprintf(w, "restoring to commit %s of %s (%s)\n", shortHash(c.Hash.String()), when, safetext.Line(subject))
}

var howLabel = map[string]string{
	fsync.HowRecycleBin: "recycle bin",
	fsync.HowRecreated:  "recreated",
	fsync.HowUpdated:    "updated",
	fsync.HowUnchanged:  "unchanged",
	fsync.HowDeleted:    "deleted",
	fsync.HowLeftAlone:  "left alone",
}

// printHealth writes the health report: each flow, how it was restored,
// its state, and what is wrong with those that are not as the backup says.
func printHealth(w io.Writer, res *fsync.RestoreResult) {
	fmt.Fprintf(w, "\nhealth after restoring to %s:\n", shortHash(res.Commit.Hash.String()))
	counts := map[string]int{}
	bad := 0
	for _, h := range res.Health {
		counts[h.How]++
		label := howLabel[h.How]
		if label == "" {
			label = h.How
		}
		ids := string(h.Source.Flow)
		if h.Target.Flow != "" && h.Target.Flow != h.Source.Flow {
			if ids == "" {
				ids = string(h.Target.Flow)
			} else {
				ids += " -> " + string(h.Target.Flow)
			}
		}
		line := fmt.Sprintf("  %-12s %s (%s)", label, safetext.Quote(h.DisplayName), ids)
		if h.State != "" {
			line += ": " + safetext.Line(h.State)
		}
		if h.How == fsync.HowLeftAlone {
			line += "; created after the backup (--prune deletes it)"
		}
		if !h.OK() {
			bad++
			line += "\n    NOT OK: " + safetext.Line(h.Problem)
		}
		fmt.Fprintln(w, line)
	}
	var parts []string
	for _, k := range []string{fsync.HowRecycleBin, fsync.HowRecreated, fsync.HowUpdated, fsync.HowUnchanged, fsync.HowDeleted, fsync.HowLeftAlone} {
		if counts[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[k], howLabel[k]))
		}
	}
	if bad == 0 {
		fmt.Fprintf(w, "%d flow(s): %s; every flow is as the backup says\n", len(res.Health), strings.Join(parts, ", "))
	} else {
		fmt.Fprintf(w, "%d flow(s): %s; %d flow(s) need attention (above)\n", len(res.Health), strings.Join(parts, ", "), bad)
	}
}
