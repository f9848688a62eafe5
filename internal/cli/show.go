package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"

	ucli "github.com/urfave/cli/v2"

	"github.com/flowsync/flowsync/history"
	"github.com/flowsync/flowsync/internal/safetext"
)

// showOptions are the options of `flowsync show`.
type showOptions struct {
	Repo string
	Rev  string
	Env  string
	Flow string
	Part string
}

func showCommand(g *globalOptions) *ucli.Command {
	var o showOptions
	return &ucli.Command{
		Name:      "show",
		Usage:     "print a flow's stored JSON at a revision",
		UsageText: "flowsync show --repo DIR [--rev REV] --env ENV --flow F [--part " + strings.Join(history.Parts(), "|") + "]",
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "repo", Usage: "the backup repository", Destination: &o.Repo, EnvVars: []string{"FLOWSYNC_REPO"}},
			&ucli.StringFlag{Name: "rev", Value: "HEAD", Usage: "a branch, tag or commit", Destination: &o.Rev},
			&ucli.StringFlag{Name: "env", Usage: "environment name or display name", Destination: &o.Env},
			&ucli.StringFlag{Name: "flow", Usage: "GUID, display name, or a display name it had before", Destination: &o.Flow},
			&ucli.StringFlag{Name: "part", Usage: "one stored file, byte for byte: " + strings.Join(history.Parts(), ", ") + " (default: all of them in one JSON document)", Destination: &o.Part},
		},
		Action: func(c *ucli.Context) error {
			if err := noArgs(c, "show", "the flow goes in --flow"); err != nil {
				return err
			}
			return runShow(c.Context, g, o)
		},
	}
}

func runShow(ctx context.Context, g *globalOptions, o showOptions) error {
	switch {
	case o.Repo == "":
		return usagef("show: --repo DIR is required (the backup repository)")
	case o.Env == "":
		return usagef("show: --env ENV is required (an environment name or display name)")
	case o.Flow == "":
		return usagef("show: --flow F is required (a flow GUID or display name)")
	case o.Part != "" && !slices.Contains(history.Parts(), o.Part):
		return usagef("show: --part %q: want one of %s", o.Part, strings.Join(history.Parts(), ", "))
	}
	rp, err := openBackupRepo(ctx, o.Repo)
	if err != nil {
		return err
	}
	defer rp.Close()
	s, err := history.Show(ctx, rp, history.ShowOptions{Rev: o.Rev, Env: o.Env, Flow: o.Flow, Part: o.Part})
	if err != nil {
		return fmt.Errorf("show from %s: %w", o.Repo, err)
	}
	// The stored bytes, nothing added: `show --part definition > f.json`
	// gives the file exactly as Git holds it. Canonical JSON keeps C1 and
	// BiDi runes of maker-typed text raw, so on a terminal they are written
	// as \u escapes instead: the same JSON, but inert (no reordered or
	// hidden text, no 8-bit control sequences).
	data := s.Data
	if isTerminal(g.io.Out) {
		data = safetext.JSON(data)
	}
	_, err = g.io.Out.Write(data)
	return err
}
