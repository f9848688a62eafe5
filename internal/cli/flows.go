package cli

import (
	"cmp"
	"context"
	"slices"

	ucli "github.com/urfave/cli/v2"

	"github.com/flowsync/flowsync/export"
	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/client"
)

// flowsOptions are the options of `flowsync flows`.
type flowsOptions struct {
	Env            string
	Admin          bool
	IncludeDeleted bool
}

func flowsCommand(g *globalOptions) *ucli.Command {
	var o flowsOptions
	return &ucli.Command{
		Name:  "flows",
		Usage: "list the flows of an environment",
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "env", Usage: "environment name or display name", Destination: &o.Env},
			&ucli.BoolFlag{Name: "admin", Usage: "use the admin list (every flow of the environment)", Destination: &o.Admin},
			&ucli.BoolFlag{Name: "include-deleted", Usage: "with --admin: also soft-deleted flows", Destination: &o.IncludeDeleted},
		},
		Action: func(c *ucli.Context) error {
			if o.Env == "" {
				return usagef("flows: --env ENV is required (an environment name or display name)")
			}
			if o.IncludeDeleted && !o.Admin {
				return usagef("flows: --include-deleted needs --admin")
			}
			return g.withSession(func(s *session) error { return runFlows(c.Context, g, s, o) })
		},
	}
}

func runFlows(ctx context.Context, g *globalOptions, s *session, o flowsOptions) error {
	all, err := s.environments(ctx, o.Admin)
	if err != nil {
		return err
	}
	envs, err := export.ResolveEnvironments(all, []string{o.Env})
	if err != nil {
		return err
	}
	env := envs[0].Name
	var flows []api.Flow
	if o.Admin {
		flows, err = s.Client.AdminListFlows(ctx, env, client.AdminListFlowsOptions{IncludeDeleted: o.IncludeDeleted})
	} else {
		flows, err = s.Client.ListFlows(ctx, env, client.ListFlowsOptions{IncludeSolutionFlows: true})
	}
	if err != nil {
		return err
	}
	slices.SortFunc(flows, func(a, b api.Flow) int {
		return cmp.Or(cmp.Compare(a.Properties.DisplayName, b.Properties.DisplayName), cmp.Compare(a.Name, b.Name))
	})
	if g.Output == "json" {
		return printJSON(g.io.Out, nonNilSlice(flows))
	}
	rows := make([][]string, 0, len(flows))
	for _, f := range flows {
		rows = append(rows, []string{string(f.Name), f.Properties.DisplayName, f.Properties.State, f.Properties.LastModifiedTime})
	}
	return table(g.io.Out, []string{"NAME", "DISPLAY NAME", "STATE", "LAST MODIFIED"}, rows)
}

// clientListAll lists every flow the caller can see, solution flows included.
func clientListAll() client.ListFlowsOptions {
	return client.ListFlowsOptions{Filter: client.FilterTeamAndPersonal, IncludeSolutionFlows: true}
}
