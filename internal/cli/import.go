package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	ucli "github.com/urfave/cli/v2"

	"github.com/flowsync/flowsync/diff"
	"github.com/flowsync/flowsync/importer"
	"github.com/flowsync/flowsync/internal/pacer"
	"github.com/flowsync/flowsync/internal/safetext"
	"github.com/flowsync/flowsync/repo"
	fsync "github.com/flowsync/flowsync/sync"
)

// importOptions are the options of `flowsync import`.
type importOptions struct {
	planFlags
	Push   bool
	Remote string
	DryRun bool
	Yes    bool
	secretFlags
	KeepAccess bool
	Author     string
	gitFlags
}

func importCommand(g *globalOptions) *ucli.Command {
	var o importOptions
	var flows, links, knownHosts ucli.StringSlice
	flags := o.planFlags.flags(&flows, &links)
	flags = append(flags,
		&ucli.BoolFlag{Name: "dry-run", Usage: "show the plan and its cost, write nothing", Destination: &o.DryRun},
		&ucli.BoolFlag{Name: "yes", Usage: "apply without asking (needed when there is no terminal)", Destination: &o.Yes},
		&ucli.BoolFlag{Name: "keep-access", Usage: "an admin keeps the CanEdit it grants itself to update flows it does not own", Destination: &o.KeepAccess},
		&ucli.BoolFlag{Name: "push", Usage: "push the branch with the new links afterwards (never forced)", Destination: &o.Push},
		&ucli.StringFlag{Name: "remote", Usage: "with --push: remote name or URL; default origin", Destination: &o.Remote, EnvVars: []string{"FLOWSYNC_REMOTE"}},
		&ucli.StringFlag{Name: "author", Usage: `author of the links commits, "Name <email>"`, Destination: &o.Author},
	)
	flags = append(flags, o.secretFlags.flags()...)
	flags = append(flags, o.gitFlags.flags(&knownHosts)...)
	return &ucli.Command{
		Name:  "import",
		Usage: "make a live environment equal to an environment of the backup tree (promotion)",
		UsageText: "flowsync import --repo DIR [--rev REV] --from ENV --to ENV [--map FILE] [--flow F ...] [--state source|on|off|preserve]\n" +
			"   [--prune] [--push] [--dry-run] [--yes] [--link SRC=DST] [--identity AGE_KEY_FILE] [--secrets FILE] [--keep-access]",
		Description: "Plans and validates everything before the first write; a plan with problems writes nothing.\n" +
			"Creating and updating flows needs a delegated user identity (the service refuses application tokens).",
		Flags: flags,
		Action: func(c *ucli.Context) error {
			if err := noArgs(c, "import", ""); err != nil {
				return err
			}
			o.Flows, o.Links, o.KnownHosts = flows.Value(), links.Value(), knownHosts.Value()
			if err := o.validate(); err != nil {
				return err
			}
			return g.withSession(func(s *session) error { return runImport(c.Context, g, s, o) })
		},
	}
}

func (o importOptions) validate() error {
	if err := o.planFlags.validate("import"); err != nil {
		return err
	}
	switch {
	case o.To == "":
		return usagef("import: --to ENV is required (the live target environment)")
	case o.Remote != "" && !o.Push:
		return usagef("import: --remote names where --push sends the links; add --push")
	case o.DryRun && o.Push:
		return usagef("import: --dry-run writes nothing, so there is nothing to --push")
	}
	if _, err := parseAuthor(o.Author); err != nil {
		return usagef("import: --author %q: want \"Name <email>\"", o.Author)
	}
	return nil
}

// importDocument is the JSON document of `import --output json`: the plan
// and what the apply did (docs/IMPORT.md).
type importDocument struct {
	Plan    planDocument      `json:"plan"`
	Applied bool              `json:"applied"`
	DryRun  bool              `json:"dryRun,omitempty"`
	Result  *importer.Result  `json:"result,omitempty"`
	Errors  map[string]string `json:"errors,omitempty"`
	Links   int               `json:"linkCommits"`
	Pushed  *repo.PushResult  `json:"pushed,omitempty"`
	// Recovered says what an interrupted import's journal settled.
	Recovered []string `json:"recovered,omitempty"`
	Error     string   `json:"error,omitempty"`
}

func runImport(ctx context.Context, g *globalOptions, s *session, o importOptions) error {
	author, _ := parseAuthor(o.Author) // zero: the engine signs as the flowsync bot
	po, err := o.withSecrets()
	if err != nil {
		return err
	}
	id, admin, err := whoAmI(ctx, s, o.Scope)
	if err != nil {
		return err
	}

	rp, release, err := openLocked(ctx, o.Repo)
	if err != nil {
		return err
	}
	defer release()

	var push *repo.PushOptions
	if o.Push {
		// Checked before anything is read or written: a push that cannot
		// go anywhere must not be found out after the import.
		remote, err := pushRemote("import", rp, o.Remote)
		if err != nil {
			return err
		}
		var done func()
		if push, done, err = o.pushOptions(g.getenv, remote); err != nil {
			return err
		}
		defer done()
	}

	jsonOut := g.Output == "json"
	// The plan is shown (text) before the first write, then the question is
	// asked on a terminal unless --yes.
	ask := confirmer(g, o.Yes)
	shown := false
	confirm := func(ctx context.Context, p *diff.Plan) error {
		if !jsonOut {
			shown = true
			if err := showPlan(g, g.io.Out, *p, g.WriteLimit); err != nil {
				return err
			}
		}
		if ask == nil {
			return nil
		}
		return ask(ctx, p)
	}
	e := &fsync.Engine{Repo: rp, Live: &fsync.Live{Client: s.Client, Admin: admin}}
	var rep importer.Reporter
	if !jsonOut {
		rep = &importReporter{w: g.io.Err, verbose: g.Verbose, quiet: g.Quiet}
	}
	res, err := e.Promote(ctx, fsync.PromoteOptions{
		PlanOptions: po,
		Identity:    id,
		KeepAccess:  o.KeepAccess,
		DryRun:      o.DryRun,
		Limits:      importer.Limits{Calls: g.RateLimit, Writes: g.WriteLimit},
		Confirm:     confirm,
		Reporter:    rep,
		Author:      author,
		Push:        push,
	})
	if res == nil {
		return err
	}
	return reportImport(g, o, res, err, shown)
}

// withSecrets is the plan options with what opens the tree's secrets: the
// --identity keys and the --secrets file's values.
func (o importOptions) withSecrets() (fsync.PlanOptions, error) {
	po := o.planOptions()
	var err error
	if po.Identities, po.Secrets, err = o.secretFlags.load("import"); err != nil {
		return fsync.PlanOptions{}, err
	}
	return po, nil
}

// reportImport prints what Promote did (the plan, unless shown already, and
// each flow's result; or the JSON document) and turns err and the failed
// flows into the command's error.
func reportImport(g *globalOptions, o importOptions, res *fsync.PromoteResult, err error, shown bool) error {
	jsonOut := g.Output == "json"
	if jsonOut {
		doc := importDocument{Plan: planDocument{res.Plan}, Applied: res.Applied, DryRun: o.DryRun, Result: res.Result, Links: res.LinkCommits, Pushed: res.Pushed, Recovered: res.Recovered,
			Errors: flowErrors(res.Result)}
		if err != nil {
			doc.Error = err.Error()
		}
		if perr := printJSON(g.io.Out, doc); perr != nil {
			return perr
		}
	} else {
		if !shown {
			if perr := showPlan(g, g.io.Out, res.Plan, g.WriteLimit); perr != nil {
				return perr
			}
		}
		for _, n := range res.Recovered {
			fmt.Fprintf(g.io.Out, "resumed: %s\n", safetext.Line(n))
		}
		if res.Result != nil {
			printImportResult(g.io.Out, res)
		}
	}
	switch {
	case errors.Is(err, fsync.ErrPlanProblems):
		return fmt.Errorf("import: %d problem(s) in the plan, listed above; nothing was written", len(res.Plan.Problems))
	case errors.Is(err, importer.ErrAppIdentity):
		return fmt.Errorf("import: %w: sign in as a user (--auth devicecode, azcli or token with a user's token); an application can read and plan (--dry-run) but not write flows", err)
	case err != nil:
		return err
	}
	if o.DryRun && !jsonOut {
		fmt.Fprintln(g.io.Out, "dry run: nothing was written")
	}
	if n := res.Failed(); n > 0 {
		return fmt.Errorf("%w: %d flow(s) failed, listed above; run the same import again to finish (it resumes from the journal)", ErrPartial, n)
	}
	return nil
}

// showPlan writes the plan as text and its cost.
func showPlan(g *globalOptions, w io.Writer, p diff.Plan, writeLimit pacer.Limit) error {
	if err := renderPlan(g, w, p, "text"); err != nil {
		return err
	}
	if c := describeCost(p.Cost, writeLimit.String()); c != "" {
		fmt.Fprintln(w, c)
	}
	return nil
}

// printImportResult writes the summary per flow.
func printImportResult(w io.Writer, res *fsync.PromoteResult) {
	r := res.Result
	for _, f := range r.Flows {
		status := "ok"
		if f.Err != nil {
			status = "FAILED: " + safetext.Line(f.Err.Error())
		}
		target := string(f.Target.Flow)
		if target == "" {
			target = "-"
		}
		fmt.Fprintf(w, "%-9s %s %s -> %s (%d write(s)): %s\n", f.Action, safetext.Quote(f.DisplayName), f.Source.Flow, target, f.Writes, status)
		for _, n := range f.Notes {
			fmt.Fprintf(w, "          note: %s\n", safetext.Line(n))
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", safetext.Line(n))
	}
	fmt.Fprintf(w, "%d flow(s), %d write(s), %d failed; %d links commit(s)\n", len(r.Flows), r.Writes, r.Failed(), res.LinkCommits)
	if p := res.Pushed; p != nil {
		if p.UpToDate {
			fmt.Fprintf(w, "remote %s %s already up to date\n", p.Remote, p.Branch)
		} else {
			fmt.Fprintf(w, "pushed %s to %s %s\n", shortHash(p.Commit.String()), p.Remote, p.Branch)
		}
	}
}

// importReporter prints progress on stderr, one line per flow done.
type importReporter struct {
	w              io.Writer
	verbose, quiet bool
}

func (r *importReporter) FlowStarted(ch diff.Change) {
	if r.verbose {
		fmt.Fprintf(r.w, "  %s %s...\n", ch.Action, safetext.Quote(ch.DisplayName))
	}
}

func (r *importReporter) FlowDone(f importer.FlowResult) {
	if r.quiet && f.Err == nil {
		return
	}
	if f.Err != nil {
		fmt.Fprintf(r.w, "  %s %s (%s): %s\n", f.Action, safetext.Quote(f.DisplayName), f.Source.Flow, safetext.Line(f.Err.Error()))
		return
	}
	fmt.Fprintf(r.w, "  %s %s (%s -> %s)\n", f.Action, safetext.Quote(f.DisplayName), f.Source.Flow, f.Target.Flow)
}

func (r *importReporter) Summary(importer.Result) {}
