package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	ucli "github.com/urfave/cli/v2"

	fsync "github.com/flowsync/flowsync/sync"
)

// mappingInitOptions are the options of `flowsync mapping init`.
type mappingInitOptions struct {
	Repo, Branch, Rev, From, To, Out, Scope string
	Force                                   bool
}

func mappingCommand(g *globalOptions) *ucli.Command {
	var o mappingInitOptions
	return &ucli.Command{
		Name:  "mapping",
		Usage: "work with mapping files (connections and principals of a promotion)",
		Subcommands: []*ucli.Command{{
			Name:      "init",
			Usage:     "write a starter mapping file from the tree and the target's connections and principals",
			UsageText: "flowsync mapping init --repo DIR --from ENV --to ENV [--out FILE]",
			Flags: []ucli.Flag{
				&ucli.StringFlag{Name: "repo", Usage: "the backup Git repository", Destination: &o.Repo, EnvVars: []string{"FLOWSYNC_REPO"}},
				&ucli.StringFlag{Name: "branch", Value: "main", Usage: "branch whose head is the default revision", Destination: &o.Branch},
				&ucli.StringFlag{Name: "rev", Usage: "revision of the tree (default: the branch head)", Destination: &o.Rev},
				&ucli.StringFlag{Name: "from", Usage: "source environment in the tree", Destination: &o.From},
				&ucli.StringFlag{Name: "to", Usage: "live target environment", Destination: &o.To},
				&ucli.StringFlag{Name: "out", Usage: "file to write (default or -: standard output); never overwritten unless --force", Destination: &o.Out},
				&ucli.BoolFlag{Name: "force", Usage: "overwrite --out when it exists", Destination: &o.Force},
				&ucli.StringFlag{Name: "scope", Value: "auto", Usage: "auto, admin or user: how the target is read", Destination: &o.Scope},
			},
			Action: func(c *ucli.Context) error {
				if err := noArgs(c, "mapping init", ""); err != nil {
					return err
				}
				switch {
				case o.Repo == "":
					return usagef("mapping init: --repo DIR is required")
				case o.From == "" || o.To == "":
					return usagef("mapping init: --from ENV and --to ENV are required")
				}
				switch o.Scope {
				case "auto", "admin", "user":
				default:
					return usagef("mapping init: --scope %q: want auto, admin or user", o.Scope)
				}
				if o.Out == "-" {
					o.Out = "" // the usual spelling of standard output
				}
				return g.withSession(func(s *session) error { return runMappingInit(c.Context, g, s, o) })
			},
		}},
	}
}

func runMappingInit(ctx context.Context, g *globalOptions, s *session, o mappingInitOptions) error {
	if o.Out != "" && !o.Force {
		if _, err := os.Stat(o.Out); err == nil {
			return usagef("mapping init: --out %s exists; pass --force to overwrite it", o.Out)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("--out %s: %w", o.Out, err)
		}
	}
	rp, err := openRepo(ctx, o.Repo)
	if err != nil {
		return err
	}
	defer rp.Close()
	_, admin, err := whoAmI(ctx, s, o.Scope)
	if err != nil {
		return err
	}
	e := &fsync.Engine{Repo: rp, Live: &fsync.Live{Client: s.Client, Admin: admin}}
	b, err := e.InitMapping(ctx, fsync.PlanOptions{Branch: o.Branch, Rev: o.Rev, From: o.From, To: o.To})
	if err != nil {
		return err
	}
	if o.Out == "" {
		_, err := g.io.Out.Write(b)
		return err
	}
	flag := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if !o.Force {
		flag = os.O_WRONLY | os.O_CREATE | os.O_EXCL // never overwrite a file written meanwhile
	}
	f, err := os.OpenFile(o.Out, flag, 0o644)
	if err != nil {
		return fmt.Errorf("mapping init: write %s: %w", o.Out, err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("mapping init: write %s: %w", o.Out, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("mapping init: write %s: %w", o.Out, err)
	}
	if !g.Quiet {
		fmt.Fprintf(g.io.Err, "wrote %s: fill in what it leaves open, then pass it to diff and import with --map\n", o.Out)
	}
	return nil
}
