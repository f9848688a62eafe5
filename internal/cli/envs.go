package cli

import (
	"cmp"
	"context"
	"slices"

	ucli "github.com/urfave/cli/v2"

	"github.com/flowsync/flowsync/internal/api"
)

// envsOptions are the options of `flowsync envs`.
type envsOptions struct {
	Admin bool
}

func envsCommand(g *globalOptions) *ucli.Command {
	var o envsOptions
	return &ucli.Command{
		Name:  "envs",
		Usage: "list the environments the identity can see",
		Flags: []ucli.Flag{
			&ucli.BoolFlag{Name: "admin", Usage: "use the admin list (works for service principals)", Destination: &o.Admin},
		},
		Action: func(c *ucli.Context) error {
			if err := noArgs(c, "envs", ""); err != nil {
				return err
			}
			return g.withSession(func(s *session) error { return runEnvs(c.Context, g, s, o) })
		},
	}
}

func runEnvs(ctx context.Context, g *globalOptions, s *session, o envsOptions) error {
	envs, err := s.environments(ctx, o.Admin)
	if err != nil {
		return err
	}
	slices.SortFunc(envs, func(a, b api.Environment) int { return cmp.Compare(a.Name, b.Name) })
	if g.Output == "json" {
		return printJSON(g.io.Out, nonNilSlice(envs))
	}
	rows := make([][]string, 0, len(envs))
	for _, e := range envs {
		def := ""
		if e.Properties.IsDefault {
			def = "yes"
		}
		rows = append(rows, []string{string(e.Name), e.Properties.DisplayName, e.Location, e.Properties.EnvironmentSku, def})
	}
	return table(g.io.Out, []string{"NAME", "DISPLAY NAME", "LOCATION", "SKU", "DEFAULT"}, rows)
}

func nonNilSlice[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// environments lists the environments the identity can see: through the
// admin list when admin (a service principal sees none otherwise).
func (s *session) environments(ctx context.Context, admin bool) ([]api.Environment, error) {
	if admin {
		return s.Client.AdminListEnvironments(ctx)
	}
	return s.Client.ListEnvironments(ctx)
}
