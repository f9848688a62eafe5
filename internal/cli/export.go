package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"strings"
	"time"

	ucli "github.com/urfave/cli/v2"
	"golang.org/x/time/rate"

	"github.com/flowsync/flowsync/export"
	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/pacer"
	"github.com/flowsync/flowsync/internal/secrets"
	"github.com/flowsync/flowsync/internal/token"
	"github.com/flowsync/flowsync/repo"
)

// exportOptions are the options of `flowsync export`.
type exportOptions struct {
	Repo           string
	Bare           bool
	Envs           []string
	AllEnvs        bool
	Branch         string
	Remote         string
	Push           bool
	Message        string
	Author         string
	Incremental    bool
	IncludeDeleted bool
	AllowShrink    bool
	EncryptTo      []string
	Reseal         bool
	Scope          string // auto, admin, user
	Concurrency    int
	SSHKey         string
	KnownHosts     []string
	CABundle       string
}

func exportCommand(g *globalOptions) *ucli.Command {
	var o exportOptions
	var envs, encryptTo, knownHosts ucli.StringSlice
	return &ucli.Command{
		Name:      "export",
		Usage:     "back up every flow of environments into a Git repository",
		UsageText: "flowsync export --repo DIR (--env ENV ... | --all-envs) [options]",
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "repo", Usage: "local Git repository (created when absent)", Destination: &o.Repo, EnvVars: []string{"FLOWSYNC_REPO"}},
			&ucli.BoolFlag{Name: "bare", Usage: "create the repository bare when it does not exist", Destination: &o.Bare},
			&ucli.StringSliceFlag{Name: "env", Usage: "environment name, GUID or display name (repeatable)", Destination: &envs},
			&ucli.BoolFlag{Name: "all-envs", Usage: "every environment the identity can see", Destination: &o.AllEnvs},
			&ucli.StringFlag{Name: "branch", Value: "main", Usage: "branch that receives the commit", Destination: &o.Branch},
			&ucli.StringFlag{Name: "remote", Usage: "with --push: remote name or URL (https, ssh, file); default origin", Destination: &o.Remote, EnvVars: []string{"FLOWSYNC_REMOTE"}},
			&ucli.BoolFlag{Name: "push", Usage: "push the branch after the export (never forced)", Destination: &o.Push},
			&ucli.StringFlag{Name: "message", Usage: "commit subject (the body always lists the changes)", Destination: &o.Message},
			&ucli.StringFlag{Name: "author", Usage: `commit author, "Name <email>" (default: the flowsync bot)`, Destination: &o.Author},
			&ucli.BoolFlag{Name: "incremental", Usage: "reuse stored definitions of flows whose lastModifiedTime did not change", Destination: &o.Incremental},
			&ucli.BoolFlag{Name: "include-deleted", Usage: "also record soft-deleted flows (admin)", Destination: &o.IncludeDeleted},
			&ucli.BoolFlag{Name: "allow-shrink", Usage: "commit even when a listing shrank by more than half or to zero", Destination: &o.AllowShrink},
			&ucli.StringSliceFlag{Name: "encrypt-to", Usage: "age recipient (age1...): store redacted secrets encrypted (repeatable)", Destination: &encryptTo},
			&ucli.BoolFlag{Name: "reseal", Usage: "with --encrypt-to: encrypt every stored secret again (after changing recipients)", Destination: &o.Reseal},
			&ucli.StringFlag{Name: "scope", Value: "auto", Usage: "auto, admin or user: admin lists every flow (service principals need it); auto picks admin for admin and app tokens", Destination: &o.Scope},
			&ucli.IntFlag{Name: "concurrency", Value: 4, Usage: "flows read at once (the rate limits still apply)", Destination: &o.Concurrency},
			&ucli.StringFlag{Name: "ssh-key", Usage: "private key for ssh remotes (default: ssh-agent)", Destination: &o.SSHKey},
			&ucli.StringSliceFlag{Name: "known-hosts", Usage: "known_hosts files for ssh remotes (default ~/.ssh/known_hosts)", Destination: &knownHosts},
			&ucli.StringFlag{Name: "git-ca-cert", Usage: "extra PEM CA to trust for https remotes", Destination: &o.CABundle},
		},
		Action: func(c *ucli.Context) error {
			if c.Args().Len() > 0 {
				return usagef("export: unexpected argument %q (environments go in --env)", c.Args().First())
			}
			o.Envs, o.EncryptTo, o.KnownHosts = envs.Value(), encryptTo.Value(), knownHosts.Value()
			if err := o.validate(); err != nil {
				return err
			}
			s, err := g.connect()
			if err != nil {
				return err
			}
			defer s.close()
			return runExport(c.Context, g, s, o)
		},
	}
}

func (o exportOptions) validate() error {
	switch {
	case o.Repo == "":
		return usagef("export: --repo DIR is required (a local Git repository, created when absent)")
	case len(o.Envs) == 0 && !o.AllEnvs:
		return usagef("export: name environments with --env ENV (repeatable) or pass --all-envs")
	case len(o.Envs) > 0 && o.AllEnvs:
		return usagef("export: --env and --all-envs exclude each other")
	case o.Remote != "" && !o.Push:
		return usagef("export: --remote names where --push sends the branch; add --push")
	case o.Concurrency < 1 || o.Concurrency > 64:
		return usagef("export: --concurrency %d is out of range: want 1 to 64", o.Concurrency)
	}
	if o.Reseal && len(o.EncryptTo) == 0 {
		return usagef("export: --reseal needs --encrypt-to (the recipients to encrypt to)")
	}
	switch o.Scope {
	case "auto", "admin", "user":
	default:
		return usagef("export: --scope %q: want auto, admin or user", o.Scope)
	}
	if o.IncludeDeleted && o.Scope == "user" {
		return usagef("export: --include-deleted needs the admin scope (soft-deleted flows are listed only to admins)")
	}
	if _, err := parseAuthor(o.Author); err != nil {
		return err
	}
	if _, err := secrets.ParseRecipients(o.EncryptTo); err != nil && len(o.EncryptTo) > 0 {
		return usagef("export: --encrypt-to: %v", err)
	}
	return nil
}

// parseAuthor reads "Name <email>"; empty means the bot identity.
func parseAuthor(s string) (repo.Signature, error) {
	if strings.TrimSpace(s) == "" {
		return repo.Signature{}, nil
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name == "" {
		return repo.Signature{}, usagef(`export: --author %q: want "Name <email>"`, s)
	}
	return repo.Signature{Name: a.Name, Email: a.Address}, nil
}

// adminScope decides the scope: explicit, or from the token's claims.
// It also returns the caller's identity (the key of its pacer), "" when the
// token is opaque.
func adminScope(ctx context.Context, s *session, scope string) (admin bool, identity string, err error) {
	tok, err := s.Tokens.Token(ctx, s.Client.Endpoints().FlowScope)
	if err != nil {
		return false, "", fmt.Errorf("sign in: %w", err)
	}
	c, perr := token.Parse(tok)
	if perr == nil {
		identity = c.Identity()
	}
	switch scope {
	case "admin":
		return true, identity, nil
	case "user":
		return false, identity, nil
	}
	if perr != nil {
		return false, "", nil // opaque token: user scope is the safe guess
	}
	return c.IsAdmin() || c.IsApp(), identity, nil
}

func runExport(ctx context.Context, g *globalOptions, s *session, o exportOptions) error {
	author, _ := parseAuthor(o.Author)
	admin, identity, err := adminScope(ctx, s, o.Scope)
	if err != nil {
		return err
	}
	if o.IncludeDeleted && !admin {
		return usagef("export: --include-deleted needs the admin scope; this identity has no admin role (pass --scope admin to try anyway)")
	}
	var sealer export.Sealer
	if len(o.EncryptTo) > 0 {
		recips, err := secrets.ParseRecipients(o.EncryptTo)
		if err != nil {
			return usagef("export: --encrypt-to: %v", err)
		}
		sealer = export.AgeSealer(recips)
	}

	rp, err := repo.Open(ctx, o.Repo, repo.OpenOptions{Bare: o.Bare, InitialBranch: o.Branch})
	if err != nil {
		return err
	}
	defer rp.Close()
	unlock, err := rp.Lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()

	rep := newExportReporter(g)
	if identity != "" && s.Pacers != nil {
		rep.pacer = s.Pacers.For(identity)
	}
	res, err := export.Run(ctx, export.ClientSource{Client: s.Client, Admin: admin, IncludeDeleted: o.IncludeDeleted}, rp, export.Options{
		Envs:        o.Envs,
		AllEnvs:     o.AllEnvs,
		Branch:      o.Branch,
		Message:     o.Message,
		Author:      author,
		Incremental: o.Incremental,
		AllowShrink: o.AllowShrink,
		Concurrency: o.Concurrency,
		Sealer:      sealer,
		Reseal:      o.Reseal,
	}, rep)
	if err != nil {
		return fmt.Errorf("export to %s: %w", o.Repo, err)
	}

	var pushed *repo.PushResult
	if o.Push {
		remote := o.Remote
		if remote == "" {
			remote = "origin"
		}
		auth, closeAuth, err := gitAuth(gitCredentials{Getenv: g.getenv, SSHKey: o.SSHKey, KnownHosts: o.KnownHosts, CABundle: o.CABundle})
		if err != nil {
			return err
		}
		defer closeAuth()
		pr, err := rp.Push(ctx, repo.PushOptions{
			Remote:  remote,
			Branch:  o.Branch,
			Rebuild: res.Rebuilder(),
			Auth:    auth,
		})
		if err != nil {
			// The local commit stays; say so.
			printExportResult(g, res, nil)
			if !res.Committed {
				return fmt.Errorf("nothing new to commit, but pushing the earlier local commits failed (they stay on the local branch; the next run pushes them): %w", err)
			}
			return fmt.Errorf("the export is committed locally (%s) but the push failed: %w", shortHash(res.Commit), err)
		}
		pushed = &pr
	}
	if err := printExportResult(g, res, pushed); err != nil {
		return err
	}
	if res.Partial() {
		return fmt.Errorf("%w: %d flow(s) could not be read; their previous version was kept where there was one", ErrPartial, len(res.Failed))
	}
	return nil
}

func shortHash(h string) string {
	if len(h) > 10 {
		return h[:10]
	}
	return h
}

// exportReporter prints progress: one line per environment, failures as they
// happen, every flow with --verbose.
type exportReporter struct {
	g     *globalOptions
	pacer *pacer.Pacer // the identity's pacer, for the time estimate; may be nil
	// A long export (thousands of flows at 5 calls a minute) reports how far
	// it got, at most every progressEvery.
	progress    rate.Sometimes
	total, done int
}

const progressEvery = 30 * time.Second

func newExportReporter(g *globalOptions) *exportReporter {
	return &exportReporter{g: g, progress: rate.Sometimes{Interval: progressEvery}}
}

func (r *exportReporter) EnvironmentStarted(env api.Environment, flows int) {
	r.total, r.done = flows, 0
	r.progress = rate.Sometimes{Interval: progressEvery}
	r.progress.Do(func() {}) // the line below says where it starts
	if r.g.Quiet || r.g.Output == "json" {
		return
	}
	fmt.Fprintf(r.g.io.Err, "exporting %s (%s): %d flows", env.Name, env.Properties.DisplayName, flows)
	if r.pacer != nil && flows > 0 {
		// A full read is two calls a flow (definition and permissions).
		eta := r.pacer.ETA(2*flows, 0)
		if d := time.Until(eta); d > time.Second {
			fmt.Fprintf(r.g.io.Err, "; the rate limits allow the reads by %s (%s)", eta.Format("15:04:05"), d.Round(time.Second))
		}
	}
	fmt.Fprintln(r.g.io.Err)
}

func (r *exportReporter) FlowDone(ev export.FlowEvent) {
	r.done++
	if !r.g.Quiet && !r.g.Verbose && r.g.Output != "json" && r.done < r.total {
		r.progress.Do(func() { fmt.Fprintf(r.g.io.Err, "  %d of %d flows\n", r.done, r.total) })
	}
	if ev.Err != nil {
		if !r.g.Quiet {
			fmt.Fprintf(r.g.io.Err, "  %s %q (%s): %v\n", ev.Outcome, ev.DisplayName, ev.Flow, ev.Err)
		}
		return
	}
	if r.g.Verbose {
		fmt.Fprintf(r.g.io.Err, "  %s %q (%s)\n", ev.Outcome, ev.DisplayName, ev.Flow)
	}
}

func printExportResult(g *globalOptions, res *export.Result, pushed *repo.PushResult) error {
	if g.Output == "json" {
		type out struct {
			*export.Result
			Pushed *repo.PushResult `json:"pushed,omitempty"`
		}
		return printJSON(g.io.Out, out{Result: res, Pushed: pushed})
	}
	w := g.io.Out
	for _, e := range res.Environments {
		fmt.Fprintf(w, "%s (%s): %d flows (%d read, %d reused, %d failed)\n", e.Name, e.DisplayName, e.Flows, e.Read, e.Reused, e.Failed)
	}
	printRefs(w, "added", res.Added)
	printRefs(w, "changed", res.Changed)
	printRefs(w, "removed", res.Removed)
	for _, f := range res.Failed {
		kept := "nothing stored before"
		if f.Kept {
			kept = "previous version kept"
		}
		fmt.Fprintf(w, "not read: %q (%s/%s): %s; %s\n", f.DisplayName, f.Env, f.Flow, f.Err, kept)
	}
	if len(res.Secrets) > 0 {
		fmt.Fprintf(w, "%d secret(s) redacted:\n", len(res.Secrets))
		for _, s := range res.Secrets {
			fmt.Fprintf(w, "  %q (%s): %s %s\n", s.DisplayName, s.Flow, s.Kind, s.Path)
		}
	}
	if res.Committed {
		fmt.Fprintf(w, "committed %s\n", shortHash(res.Commit))
	} else {
		fmt.Fprintln(w, "no changes: nothing committed")
	}
	if pushed != nil {
		switch {
		case pushed.UpToDate:
			fmt.Fprintf(w, "remote %s %s already up to date\n", pushed.Remote, pushed.Branch)
		default:
			fmt.Fprintf(w, "pushed %s to %s %s", shortHash(pushed.Commit.String()), pushed.Remote, pushed.Branch)
			if pushed.Rebuilds > 0 {
				fmt.Fprintf(w, " (rebuilt on the remote's new tip %d time(s))", pushed.Rebuilds)
			}
			fmt.Fprintln(w)
		}
	}
	return nil
}

func printRefs(w io.Writer, what string, refs []export.FlowRef) {
	for _, r := range refs {
		fmt.Fprintf(w, "%s: %q (%s/%s)\n", what, r.DisplayName, r.Env, r.Flow)
	}
}

var _ = errors.Is
