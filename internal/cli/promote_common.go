package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"filippo.io/age"
	ucli "github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/flowsync/flowsync/diff"
	"github.com/flowsync/flowsync/importer"
	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/model"
	"github.com/flowsync/flowsync/internal/token"
	"github.com/flowsync/flowsync/repo"
	fsync "github.com/flowsync/flowsync/sync"
)

// ExitChanges is diff --exit-code's answer when something would change:
// distinct from failure (1), usage (2) and partial (3).
const ExitChanges = 4

// errChanges makes Main exit with ExitChanges; its message is not printed.
var errChanges = errors.New("the plan has changes")

// planFlags are the options diff, import and mapping init share.
type planFlags struct {
	Repo    string
	Branch  string
	Rev     string
	From    string
	To      string
	MapFile string
	Flows   []string
	State   string
	Prune   bool
	Links   []string
	Scope   string
}

func (p *planFlags) flags(flows, links *ucli.StringSlice) []ucli.Flag {
	return []ucli.Flag{
		&ucli.StringFlag{Name: "repo", Usage: "the backup Git repository", Destination: &p.Repo, EnvVars: []string{"FLOWSYNC_REPO"}},
		&ucli.StringFlag{Name: "branch", Value: "main", Usage: "branch whose head is the default revision and which receives the links", Destination: &p.Branch},
		&ucli.StringFlag{Name: "rev", Usage: "revision of the tree to read (default: the branch head)", Destination: &p.Rev},
		&ucli.StringFlag{Name: "from", Usage: "source environment in the tree (name, GUID or display name)", Destination: &p.From},
		&ucli.StringFlag{Name: "to", Usage: "target environment (name, GUID or display name)", Destination: &p.To},
		&ucli.StringFlag{Name: "map", Usage: "mapping file (YAML: connections, principals); see docs/MAPPING.md", Destination: &p.MapFile},
		&ucli.StringSliceFlag{Name: "flow", Usage: "only this source flow (GUID or display name; repeatable)", Destination: flows},
		&ucli.StringFlag{Name: "state", Value: "source", Usage: "flow states: source (as in the tree), on, off or preserve (keep the target's)", Destination: &p.State},
		&ucli.BoolFlag{Name: "prune", Usage: "delete target flows the source does not have (listed in the plan)", Destination: &p.Prune},
		&ucli.StringSliceFlag{Name: "link", Usage: "pair source flow SRC with target flow DST (GUIDs), SRC=DST; repeatable", Destination: links},
		&ucli.StringFlag{Name: "scope", Value: "auto", Usage: "auto, admin or user: how the target is read (auto: admin for admin tokens)", Destination: &p.Scope},
	}
}

// validate checks what every command needs; cmd names the command in messages.
func (p *planFlags) validate(cmd string) error {
	switch {
	case p.Repo == "":
		return usagef("%s: --repo DIR is required (the backup repository)", cmd)
	case p.From == "":
		return usagef("%s: --from ENV is required (the source environment in the tree)", cmd)
	}
	switch p.State {
	case "source", "on", "off", "preserve":
	default:
		return usagef("%s: --state %q: want source, on, off or preserve", cmd, p.State)
	}
	switch p.Scope {
	case "auto", "admin", "user":
	default:
		return usagef("%s: --scope %q: want auto, admin or user", cmd, p.Scope)
	}
	if _, err := parseLinks(p.Links); err != nil {
		return usagef("%s: %v", cmd, err)
	}
	return nil
}

// parseLinks reads --link SRC=DST pairs of flow GUIDs.
func parseLinks(in []string) (map[api.FlowName]api.FlowName, error) {
	out := map[api.FlowName]api.FlowName{}
	for _, l := range in {
		src, dst, ok := strings.Cut(l, "=")
		if !ok {
			return nil, fmt.Errorf("--link %q: want SRC=DST (source and target flow GUIDs)", l)
		}
		s, err := model.CanonicalFlowName(api.FlowName(strings.TrimSpace(src)))
		if err != nil {
			return nil, fmt.Errorf("--link %q: source: %v", l, err)
		}
		d, err := model.CanonicalFlowName(api.FlowName(strings.TrimSpace(dst)))
		if err != nil {
			return nil, fmt.Errorf("--link %q: target: %v", l, err)
		}
		if prev, dup := out[s]; dup && prev != d {
			return nil, fmt.Errorf("--link: source %s is linked twice (%s and %s)", s, prev, d)
		}
		out[s] = d
	}
	return out, nil
}

func (p *planFlags) planOptions() fsync.PlanOptions {
	links, _ := parseLinks(p.Links) // validated before
	return fsync.PlanOptions{
		Branch:  p.Branch,
		Rev:     p.Rev,
		From:    p.From,
		To:      p.To,
		MapFile: p.MapFile,
		Flows:   p.Flows,
		State:   p.State,
		Prune:   p.Prune,
		Links:   links,
	}
}

// openRepo opens an existing backup repository (never creates one: a
// typo in --repo must not make an empty repository, and an empty
// directory must not be turned into one, since repo.Open creates a
// repository there).
func openRepo(ctx context.Context, dir string) (*repo.Repo, error) {
	return openBackupRepo(ctx, dir)
}

// openLocked opens the repository (openRepo) and takes its lock, for a
// command that writes to it; release unlocks and closes it.
func openLocked(ctx context.Context, dir string) (rp *repo.Repo, release func(), err error) {
	if rp, err = openRepo(ctx, dir); err != nil {
		return nil, nil, err
	}
	unlock, err := rp.Lock(ctx)
	if err != nil {
		rp.Close()
		return nil, nil, err
	}
	return rp, func() { unlock(); rp.Close() }, nil
}

// whoAmI reads the importing identity and decides the scope from the
// token; an opaque token gives user scope and no identity.
func whoAmI(ctx context.Context, s *session, scope string) (importer.Identity, bool, error) {
	tok, err := s.Tokens.Token(ctx, s.Client.Endpoints().FlowScope)
	if err != nil {
		return importer.Identity{}, false, fmt.Errorf("sign in: %w", err)
	}
	var id importer.Identity
	c, perr := token.Parse(tok)
	if perr == nil {
		id = importer.IdentityFromClaims(c)
	}
	switch scope {
	case "admin":
		return id, true, nil
	case "user":
		return id, false, nil
	}
	return id, perr == nil && (c.IsAdmin() || c.IsApp()), nil
}

// loadIdentities reads an age identity file (--identity).
func loadIdentities(path string) ([]age.Identity, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, usagef("--identity: %v", err)
	}
	defer f.Close()
	ids, err := age.ParseIdentities(f)
	if err != nil {
		// The parser's message never quotes key material.
		return nil, usagef("--identity %s: not an age identity file: %v", path, err)
	}
	return ids, nil
}

// flowErrors is the JSON documents' "errors" member: each failed flow's
// error by source flow name (nil when none failed or nothing was applied).
func flowErrors(r *importer.Result) map[string]string {
	if r == nil {
		return nil
	}
	var out map[string]string
	for _, f := range r.Flows {
		if f.Err == nil {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[string(f.Source.Flow)] = f.Err.Error()
	}
	return out
}

// renderPlan writes the plan in the format asked for; colour only on a terminal.
func renderPlan(g *globalOptions, w io.Writer, p diff.Plan, format string) error {
	return diff.Render(w, p, format, diff.RenderOptions{Color: format == "text" && isTerminal(w) && g.getenv("NO_COLOR") == ""})
}

// isTerminal reports whether f is a terminal. Main wraps stdout and stderr
// in a lockedWriter, so it looks through that to the file underneath. A
// character device is not enough: /dev/null is one, and it is the standard
// input of cron jobs, systemd units and `docker run` without -t, where an
// import must refuse (pass --yes) rather than prompt and read end-of-file as
// "no".
func isTerminal(f any) bool {
	if lw, ok := f.(*lockedWriter); ok {
		f = lw.w
	}
	file, ok := f.(*os.File)
	if !ok {
		return false
	}
	return term.IsTerminal(int(file.Fd()))
}

// confirmer asks on the terminal before an import writes; without a
// terminal it refuses (exit 2) unless --yes.
func confirmer(g *globalOptions, yes bool) func(context.Context, *diff.Plan) error {
	if yes {
		return nil
	}
	return func(ctx context.Context, p *diff.Plan) error {
		if !isTerminal(g.io.In) {
			return usagef("import: the plan above writes to the target, and there is no terminal to confirm on: pass --yes to apply it, or --dry-run to only show it")
		}
		writes := 0
		if p.Cost != nil {
			writes = p.Cost.Writes
		}
		fmt.Fprintf(g.io.Err, "Apply this plan (%d write(s))? Type yes to go on: ", writes)
		line, err := bufio.NewReader(g.io.In).ReadString('\n')
		if err != nil && line == "" {
			return fsync.ErrDeclined
		}
		if strings.TrimSpace(strings.ToLower(line)) != "yes" {
			return fsync.ErrDeclined
		}
		return ctx.Err()
	}
}

// describeCost says plainly what a long apply means; the plan's own cost
// line gives the figures.
func describeCost(c *diff.Cost, writeLimit string) string {
	if c == nil {
		return ""
	}
	eta := time.Duration(c.ETASeconds * float64(time.Second)).Round(time.Second)
	if eta < time.Hour {
		return ""
	}
	return fmt.Sprintf("This import takes about %s: writes are limited to %s per identity, so a large promotion takes hours. It can be interrupted and run again: it resumes where it stopped.", eta, writeLimit)
}
