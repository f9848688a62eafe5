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
	out := g.io.Out
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
		return fmt.Errorf("start the emulator: %w", err)
	}
	defer inst.Close()
	admin, ok := embedded.AdminUser(inst.Server.Dump())
	if !ok {
		return fmt.Errorf("the demo seed has no admin user")
	}
	dg := *g
	dg.APIURL = inst.URL
	dg.RateLimit, dg.WriteLimit = limit, writes
	// Sign in as the admin with a token of the right audience for each host.
	dg.tokens = client.TokenFunc(func(_ context.Context, scope string) (string, error) {
		return inst.Server.MintToken(admin.ID, strings.TrimSuffix(scope, ".default"))
	})
	s, err := dg.connect()
	if err != nil {
		return err
	}
	defer s.close()

	step := func(format string, args ...any) { fmt.Fprintf(out, "\n== "+format+"\n", args...) }
	step("emulator at %s, signed in as %s (%s)", inst.URL, admin.DisplayName, admin.UPN)

	step("flowsync envs --admin")
	if err := runEnvs(ctx, &dg, s, envsOptions{Admin: true}); err != nil {
		return err
	}
	envs, err := s.Client.AdminListEnvironments(ctx)
	if err != nil {
		return err
	}
	for _, e := range envs {
		step("flowsync flows --admin --env %q", e.Properties.DisplayName)
		if err := runFlows(ctx, &dg, s, flowsOptions{Env: string(e.Name), Admin: true}); err != nil {
			return err
		}
	}

	repoDir := filepath.Join(o.Dir, "backup")
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return err
	}
	exp := exportOptions{Repo: repoDir, AllEnvs: true, Branch: "main", Scope: "admin", Concurrency: 4, IncludeDeleted: true}
	step("flowsync export --repo %s --all-envs --include-deleted", repoDir)
	if err := runExport(ctx, &dg, s, exp); err != nil {
		return err
	}
	step("the same export again: nothing changed, so no new commit")
	if err := runExport(ctx, &dg, s, exp); err != nil {
		return err
	}

	// Change one flow through the API, as a maker would, and export again.
	var changed api.Flow
	for _, e := range envs {
		flows, err := s.Client.ListFlows(ctx, e.Name, clientListAll())
		if err != nil || len(flows) == 0 {
			continue
		}
		changed = flows[0]
		props := api.FlowProperties{DisplayName: changed.Properties.DisplayName + " (renamed)"}
		if _, err := s.Client.UpdateFlow(ctx, e.Name, changed.Name, props); err != nil {
			return fmt.Errorf("rename flow %s: %w", changed.Name, err)
		}
		step("renamed %s in %s; flowsync export --incremental", safetext.Quote(changed.Properties.DisplayName), safetext.Quote(e.Properties.DisplayName))
		break
	}
	exp.Incremental = true
	if err := runExport(ctx, &dg, s, exp); err != nil {
		return err
	}

	git := func(args ...string) error {
		cmd := exec.CommandContext(ctx, "git", append([]string{"-C", repoDir}, args...)...)
		cmd.Stdout, cmd.Stderr = out, g.io.Err
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("git %s (is git installed?): %w", strings.Join(args, " "), err)
		}
		return nil
	}
	step("git log (the backup is an ordinary Git repository)")
	if err := git("log", "--format=%h %an %ad  %s", "--date=short"); err != nil {
		return err
	}
	step("git show --stat HEAD: the incremental export changed one flow")
	if err := git("show", "--stat=120", "--format=%B", "HEAD"); err != nil {
		return err
	}
	step("git grep redacted: secrets in flow definitions are placeholders, never values")
	if err := git("grep", "-h", "-o", "<redacted:flowsync:[^>]*>"); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nBrowse it: each environments/<env>/README.md in %s indexes that environment's flows.\n", repoDir)
	if err := demoPromote(ctx, &dg, s, o.Dir, repoDir); err != nil {
		return err
	}
	return demoDisaster(ctx, &dg, s, repoDir)
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

// demoPromote promotes Dev to Prod: a mapping file from mapping init,
// filled in, the plan, the import, and a diff that is clean afterwards.
func demoPromote(ctx context.Context, g *globalOptions, s *session, dir, repoDir string) error {
	out := g.io.Out
	step := func(format string, args ...any) { fmt.Fprintf(out, "\n== "+format+"\n", args...) }
	mapFile := filepath.Join(dir, "dev-to-prod.yaml")
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
	cmd := exec.CommandContext(ctx, "git", "-C", repoDir, "log", "--format=%h %s", "-n", "3")
	cmd.Stdout, cmd.Stderr = out, g.io.Err
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("git log: %w", err)
	}
	return nil
}
