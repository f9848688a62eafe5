package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/client"
	"github.com/flowsync/flowsync/internal/emulator"
	"github.com/flowsync/flowsync/internal/emulator/embedded"
	"github.com/flowsync/flowsync/internal/emulator/seed"
	"github.com/flowsync/flowsync/internal/pacer"
	"github.com/flowsync/flowsync/internal/safetext"
)

// demoOptions are the options of `flowsync demo`.
type demoOptions struct {
	Dir string
}

func demoCommand(g *globalOptions) *ucli.Command {
	var o demoOptions
	return &ucli.Command{
		Name:  "demo",
		Usage: "run the main job end to end on the embedded emulator",
		Description: "Starts the emulator with the demo tenant, lists environments and flows through the API client,\n" +
			"exports every environment into a Git repository, changes a flow, exports again, and shows the history.",
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "dir", Value: ".tmp/demo", Usage: "working directory (the backup repository goes in DIR/backup)", Destination: &o.Dir},
		},
		Action: func(c *ucli.Context) error { return runDemo(c.Context, g, o) },
	}
}

func runDemo(ctx context.Context, g *globalOptions, o demoOptions) error {
	inst, admin, dg, err := startDemoEmulator(ctx, g)
	if err != nil {
		return err
	}
	defer inst.Close()
	return dg.withSession(func(s *session) error {
		d := &demo{g: dg, s: s, dir: o.Dir, repoDir: filepath.Join(o.Dir, "backup")}
		d.step("emulator at %s, signed in as %s (%s)", inst.URL, admin.DisplayName, admin.UPN)
		envs, err := d.list(ctx)
		if err != nil {
			return err
		}
		if err := d.export(ctx, envs); err != nil {
			return err
		}
		if err := d.history(ctx); err != nil {
			return err
		}
		if err := d.promote(ctx); err != nil {
			return err
		}
		return d.disaster(ctx)
	})
}

// demo is one run of `flowsync demo`: the options pointed at the embedded
// emulator, the session signed in there, and where the backup goes.
type demo struct {
	g            *globalOptions
	s            *session
	dir, repoDir string
}

// step prints the heading of one step, usually the command it runs.
func (d *demo) step(format string, args ...any) {
	fmt.Fprintf(d.g.io.Out, "\n== "+format+"\n", args...)
}

// git runs the git CLI on the backup repository, its output to the demo's.
func (d *demo) git(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", d.repoDir}, args...)...)
	cmd.Stdout, cmd.Stderr = d.g.io.Out, d.g.io.Err
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("git %s (is git installed?): %w", strings.Join(args, " "), err)
	}
	return nil
}

// startDemoEmulator starts the emulator with the demo tenant and returns
// a copy of g that signs in there as its administrator.
func startDemoEmulator(ctx context.Context, g *globalOptions) (*embedded.Instance, emulator.Principal, *globalOptions, error) {
	// Generous limits keep the demo quick; the client paces itself to the
	// same numbers the emulator enforces, so it never sees a 429.
	limit := pacer.Limit{N: 100, Per: time.Second}
	writes := pacer.Limit{N: 300, Per: time.Hour}
	inst, err := embedded.Start(ctx, embedded.Options{
		Seed: seed.NameDemo,
		Emulator: emulator.Options{Throttle: emulator.ThrottleConfig{
			Profile: emulator.ProfileConnector, Calls: limit.N, Per: limit.Per, Writes: writes.N, WritesPer: writes.Per,
		}},
	})
	if err != nil {
		return nil, emulator.Principal{}, nil, fmt.Errorf("start the emulator: %w", err)
	}
	admin, ok := embedded.AdminUser(inst.Server.Dump())
	if !ok {
		inst.Close()
		return nil, emulator.Principal{}, nil, fmt.Errorf("the demo seed has no admin user")
	}
	dg := *g
	dg.APIURL = inst.URL
	dg.RateLimit, dg.WriteLimit = limit, writes
	// Sign in as the admin with a token of the right audience for each host.
	dg.tokens = client.TokenFunc(func(_ context.Context, scope string) (string, error) {
		return inst.Server.MintToken(admin.ID, strings.TrimSuffix(scope, ".default"))
	})
	return inst, admin, &dg, nil
}

// list shows the environments and the flows of each, as envs and flows do.
func (d *demo) list(ctx context.Context) ([]api.Environment, error) {
	d.step("flowsync envs --admin")
	if err := runEnvs(ctx, d.g, d.s, envsOptions{Admin: true}); err != nil {
		return nil, err
	}
	envs, err := d.s.Client.AdminListEnvironments(ctx)
	if err != nil {
		return nil, err
	}
	for _, e := range envs {
		d.step("flowsync flows --admin --env %q", e.Properties.DisplayName)
		if err := runFlows(ctx, d.g, d.s, flowsOptions{Env: string(e.Name), Admin: true}); err != nil {
			return nil, err
		}
	}
	return envs, nil
}

// export backs every environment up twice (the second run commits
// nothing), renames a flow as a maker would, and exports incrementally.
func (d *demo) export(ctx context.Context, envs []api.Environment) error {
	if err := os.MkdirAll(d.dir, 0o755); err != nil {
		return err
	}
	exp := exportOptions{Repo: d.repoDir, AllEnvs: true, Branch: "main", Scope: "admin", Concurrency: 4, IncludeDeleted: true}
	d.step("flowsync export --repo %s --all-envs --include-deleted", d.repoDir)
	if err := runExport(ctx, d.g, d.s, exp); err != nil {
		return err
	}
	d.step("the same export again: nothing changed, so no new commit")
	if err := runExport(ctx, d.g, d.s, exp); err != nil {
		return err
	}
	for _, e := range envs {
		flows, err := d.s.Client.ListFlows(ctx, e.Name, clientListAll())
		if err != nil || len(flows) == 0 {
			continue
		}
		changed := flows[0]
		props := api.FlowProperties{DisplayName: changed.Properties.DisplayName + " (renamed)"}
		if _, err := d.s.Client.UpdateFlow(ctx, e.Name, changed.Name, props); err != nil {
			return fmt.Errorf("rename flow %s: %w", changed.Name, err)
		}
		d.step("renamed %s in %s; flowsync export --incremental", safetext.Quote(changed.Properties.DisplayName), safetext.Quote(e.Properties.DisplayName))
		break
	}
	exp.Incremental = true
	return runExport(ctx, d.g, d.s, exp)
}

// history shows the backups with the git CLI: the log, the incremental
// commit, and that secrets are placeholders.
func (d *demo) history(ctx context.Context) error {
	d.step("git log (the backup is an ordinary Git repository)")
	if err := d.git(ctx, "log", "--format=%h %an %ad  %s", "--date=short"); err != nil {
		return err
	}
	d.step("git show --stat HEAD: the incremental export changed one flow")
	if err := d.git(ctx, "show", "--stat=120", "--format=%B", "HEAD"); err != nil {
		return err
	}
	d.step("git grep redacted: secrets in flow definitions are placeholders, never values")
	if err := d.git(ctx, "grep", "-h", "-o", "<redacted:flowsync:[^>]*>"); err != nil {
		return err
	}
	fmt.Fprintf(d.g.io.Out, "\nBrowse it: each environments/<env>/README.md in %s indexes that environment's flows.\n", d.repoDir)
	return nil
}

// demoFlows are the Dev flows the demo promotes: those whose connectors
// all have a connection in Prod (the others need a Teams, Flow management
// or custom connection that Prod does not have, and the plan would say so).
var demoFlows = []string{
	"Invoice approval", "Request a laptop", "Archive old files", "Support inbox digest",
	"Child - Get manager", "Parent - Escalate overdue invoices", "Order intake webhook",
}

// demoSupportMailbox is Dev's second Outlook connection (the support
// mailbox); Prod has one Outlook connection, which the demo names for it.
const (
	demoSupportMailbox = "1544ab383a2645d39fb8fdc65c14b98f"
	demoProdOutlook    = "shared-office365-5ed268a3-26fa-4693-a36d-497ff37fdc5d"
)

// promote promotes Dev to Prod: a mapping file from mapping init,
// filled in, the plan, the import, and a diff that is clean afterwards.
func (d *demo) promote(ctx context.Context) error {
	g, s, repoDir, out, step := d.g, d.s, d.repoDir, d.g.io.Out, d.step
	mapFile := filepath.Join(d.dir, "dev-to-prod.yaml")
	if err := os.Remove(mapFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	step("flowsync mapping init --repo %s --from \"Contoso Dev\" --to \"Contoso Prod\" --out %s", repoDir, mapFile)
	if err := runMappingInit(ctx, g, s, mappingInitOptions{Repo: repoDir, Branch: "main", From: "Contoso Dev", To: "Contoso Prod", Out: mapFile, Scope: "auto"}); err != nil {
		return err
	}
	b, err := os.ReadFile(mapFile)
	if err != nil {
		return err
	}
	out.Write(b)
	// Fill it in as a person would: the support mailbox's reference goes to
	// Prod's Outlook connection explicitly.
	filled := strings.Replace(string(b), "  byConnection:\n", "  byConnection:\n    "+demoSupportMailbox+": "+demoProdOutlook+"   # the support mailbox (filled in)\n", 1)
	if filled == string(b) {
		return fmt.Errorf("demo: the starter mapping file has no byConnection section to fill in")
	}
	if err := os.WriteFile(mapFile, []byte(filled), 0o644); err != nil {
		return err
	}
	step("filled in: byConnection %s -> %s", demoSupportMailbox, demoProdOutlook)

	pf := planFlags{Repo: repoDir, Branch: "main", From: "Contoso Dev", To: "Contoso Prod", MapFile: mapFile, Flows: demoFlows, State: "source", Scope: "auto"}
	var flowArgs string
	for _, f := range demoFlows {
		flowArgs += fmt.Sprintf(" --flow %q", f)
	}
	step("flowsync diff --repo %s --from \"Contoso Dev\" --to \"Contoso Prod\" --map %s%s", repoDir, mapFile, flowArgs)
	if err := runDiff(ctx, g, s, diffOptions{planFlags: pf, Format: "text"}); err != nil {
		return err
	}
	step("flowsync import --yes (same options): apply the plan")
	if err := runImport(ctx, g, s, importOptions{planFlags: pf, Yes: true}); err != nil {
		return err
	}
	step("flowsync diff --exit-code (same options): Prod now equals the tree")
	if err := runDiff(ctx, g, s, diffOptions{planFlags: pf, Format: "text", ExitCode: true}); err != nil {
		if errors.Is(err, errChanges) {
			return fmt.Errorf("demo: the diff after the import is not clean")
		}
		return err
	}
	fmt.Fprintln(out, "diff --exit-code: 0, nothing would change")
	step("git log: the import recorded its links (Dev flow -> Prod flow) beside the backups")
	return d.git(ctx, "log", "--format=%h %s", "-n", "3")
}
