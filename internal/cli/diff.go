package cli

import (
	"context"
	"fmt"

	ucli "github.com/urfave/cli/v2"

	"github.com/flowsync/flowsync/diff"
	"github.com/flowsync/flowsync/importer"
	fsync "github.com/flowsync/flowsync/sync"
)

// diffOptions are the options of `flowsync diff`.
type diffOptions struct {
	planFlags
	secretFlags
	ToRev    string
	Format   string
	ExitCode bool
}

func diffCommand(g *globalOptions) *ucli.Command {
	var o diffOptions
	var flows, links ucli.StringSlice
	flags := o.planFlags.flags(&flows, &links)
	flags = append(flags,
		&ucli.StringFlag{Name: "to-rev", Usage: "compare with the tree at this revision instead of the live environment (no API call)", Destination: &o.ToRev},
		&ucli.StringFlag{Name: "format", Usage: "text, json or markdown (default: text, or json with --output json)", Destination: &o.Format},
		&ucli.BoolFlag{Name: "exit-code", Usage: fmt.Sprintf("exit %d when something would change (0 when nothing would)", ExitChanges), Destination: &o.ExitCode},
	)
	// The secrets import would write, so that the plan is the one import makes.
	flags = append(flags, o.secretFlags.flags()...)
	return &ucli.Command{
		Name:  "diff",
		Usage: "show what an import would change in a live environment, or what changed between two trees",
		UsageText: "flowsync diff --repo DIR [--rev REV] --from ENV (--to ENV | --to-rev REV2) [--map FILE] [--flow F ...] [--format text|json|markdown] [--exit-code]\n" +
			"   [--identity AGE_KEY_FILE] [--secrets FILE]",
		Flags: flags,
		Action: func(c *ucli.Context) error {
			if err := noArgs(c, "diff", ""); err != nil {
				return err
			}
			o.Flows, o.Links = flows.Value(), links.Value()
			if o.Format == "" {
				o.Format = "text"
				if g.Output == "json" {
					o.Format = "json"
				}
			}
			if err := o.validate(); err != nil {
				return err
			}
			var s *session
			if o.ToRev == "" {
				var err error
				if s, err = g.connect(); err != nil {
					return err
				}
				defer s.close()
			}
			return runDiff(c.Context, g, s, o)
		},
	}
}

func (o diffOptions) validate() error {
	if err := o.planFlags.validate("diff"); err != nil {
		return err
	}
	if o.To == "" && o.ToRev == "" {
		return usagef("diff: name the target with --to ENV (a live environment) or --to-rev REV (the tree at another revision; --to then names its environment, default --from)")
	}
	switch o.Format {
	case "text", "json", "markdown":
	default:
		return usagef("diff: --format %q: want text, json or markdown", o.Format)
	}
	return nil
}

// runDiff prints the plan; s is nil for a tree-to-tree diff.
func runDiff(ctx context.Context, g *globalOptions, s *session, o diffOptions) error {
	rp, err := openRepo(ctx, o.Repo)
	if err != nil {
		return err
	}
	defer rp.Close()
	e := &fsync.Engine{Repo: rp}
	po := o.planOptions()
	po.ToRev = o.ToRev
	if po.Identities, po.Secrets, err = o.secretFlags.load("diff"); err != nil {
		return err
	}
	var id importer.Identity
	if s != nil {
		var admin bool
		if id, admin, err = whoAmI(ctx, s, o.Scope); err != nil {
			return err
		}
		e.Live = &fsync.Live{Client: s.Client, Admin: admin}
		po.Keep = id.ID
	}
	planned, err := e.MakePlan(ctx, po)
	if err != nil {
		return err
	}
	if planned.Live {
		// What an import of this plan would cost, and the flows an admin
		// would grant itself access to, as import shows them.
		if err := importer.Annotate(&planned.Plan, id, importer.Limits{Calls: g.RateLimit, Writes: g.WriteLimit}, false); err != nil {
			return err
		}
	}
	if err := renderPlan(g, g.io.Out, planned.Plan, o.Format); err != nil {
		return err
	}
	if n := len(planned.Plan.Problems); n > 0 {
		return fmt.Errorf("%w: %d problem(s), listed above", fsync.ErrPlanProblems, n)
	}
	if o.ExitCode && planHasChanges(planned) {
		return errChanges
	}
	return nil
}

// planHasChanges: against a live environment, anything an import would
// write; between two trees, any difference, flows only in the second too.
func planHasChanges(p *fsync.Planned) bool {
	if fsync.HasWork(p.Plan) {
		return true
	}
	if !p.Live {
		for _, ch := range p.Plan.Changes {
			if ch.Action != diff.Unchanged {
				return true
			}
		}
	}
	return false
}
