package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"filippo.io/age"
	"github.com/go-git/go-git/v5/plumbing"
	ucli "github.com/urfave/cli/v2"
	"golang.org/x/time/rate"

	"github.com/flowsync/flowsync/export"
	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/pacer"
	"github.com/flowsync/flowsync/internal/safetext"
	"github.com/flowsync/flowsync/internal/secrets"
	"github.com/flowsync/flowsync/internal/token"
	"github.com/flowsync/flowsync/repo"
	fsync "github.com/flowsync/flowsync/sync"
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
	gitFlags

	// Filled by validate from the flags above, so that each is parsed once.
	author     repo.Signature
	recipients []age.Recipient
}

func exportCommand(g *globalOptions) *ucli.Command {
	var o exportOptions
	var envs, encryptTo, knownHosts ucli.StringSlice
	return &ucli.Command{
		Name:      "export",
		Usage:     "back up every flow of environments into a Git repository",
		UsageText: "flowsync export --repo DIR (--env ENV ... | --all-envs) [options]",
		Flags: append([]ucli.Flag{
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
		}, o.gitFlags.flags(&knownHosts)...),
		Action: func(c *ucli.Context) error {
			if err := noArgs(c, "export", "environments go in --env"); err != nil {
				return err
			}
			o.Envs, o.EncryptTo, o.KnownHosts = envs.Value(), encryptTo.Value(), knownHosts.Value()
			if err := o.validate(); err != nil {
				return err
			}
			return g.withSession(func(s *session) error { return runExport(c.Context, g, s, o) })
		},
	}
}

// validBranch reports whether name is a short branch name as git
// check-ref-format --branch accepts it, and not a full ref name. "HEAD" is
// refused as git refuses it: refs/heads/HEAD makes every later "HEAD" in the
// repository ambiguous. "refs/…" would become refs/heads/refs/…, a branch
// nobody meant.
func validBranch(name string) bool {
	if strings.TrimSpace(name) == "" || name == "HEAD" || strings.HasPrefix(name, "refs/") {
		return false
	}
	return plumbing.NewBranchReferenceName(name).Validate() == nil
}

// validate checks every flag before any API call and keeps what it parsed.
func (o *exportOptions) validate() error {
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
	if !validBranch(o.Branch) {
		return usagef("export: --branch %s is not a valid branch name (see git check-ref-format --branch), e.g. main or backup/flows", safetext.Quote(o.Branch))
	}
	if o.Remote != "" {
		if err := checkRemote(o.Remote); err != nil {
			return err
		}
	}
	if o.Reseal && len(o.EncryptTo) == 0 {
		return usagef("export: --reseal needs --encrypt-to (the recipients to encrypt to)")
	}
	switch o.Scope {
	case "auto", "admin", "user":
	default:
		return usagef("export: --scope %s: want auto, admin or user", safetext.Quote(o.Scope))
	}
	if o.IncludeDeleted && o.Scope == "user" {
		return usagef("export: --include-deleted needs the admin scope (soft-deleted flows are listed only to admins)")
	}
	var err error
	if o.author, err = parseAuthor(o.Author); err != nil {
		return err
	}
	if len(o.EncryptTo) > 0 {
		if o.recipients, err = secrets.ParseRecipients(o.EncryptTo); err != nil {
			return usagef("export: --encrypt-to: %s", safetext.Error(err))
		}
	}
	return nil
}

// checkRemote accepts what a push can use: a URL (https, http, ssh, file),
// an scp-like ssh address (user@host:path) or a remote name, which the
// repository must configure (checked once it is open).
func checkRemote(remote string) error {
	bad := func(why string) error {
		return usagef("export: --remote %s %s: give an https, ssh or file URL, user@host:path, or the name of a remote of the repository",
			safetext.Quote(remote), why)
	}
	if strings.TrimSpace(remote) != remote || remote == "" || safetext.Line(remote) != remote || strings.ContainsAny(remote, " \t") {
		return bad("has spaces or control characters")
	}
	if scheme, rest, ok := strings.Cut(remote, "://"); ok {
		u, err := url.Parse(remote)
		if err != nil {
			return bad("is not a URL")
		}
		switch strings.ToLower(scheme) {
		case "https", "http", "ssh":
			if u.Host == "" {
				return bad("names no host")
			}
		case "file":
			if strings.Trim(rest, "/") == "" {
				return bad("names no path")
			}
		default:
			return bad("has an unsupported scheme " + safetext.Quote(scheme))
		}
		return nil
	}
	if isSCPLike(remote) {
		return nil
	}
	if filepath.IsAbs(remote) || strings.HasPrefix(remote, ".") {
		return nil // a local path; whether it is reachable, the push finds out
	}
	if err := plumbing.ReferenceName("refs/remotes/" + remote + "/x").Validate(); err != nil || strings.Contains(remote, "/") {
		return bad("is neither a URL nor a valid remote name")
	}
	return nil
}

// parseAuthor reads "Name <email>"; empty means the bot identity.
func parseAuthor(s string) (repo.Signature, error) {
	if strings.TrimSpace(s) == "" {
		return repo.Signature{}, nil
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name == "" || safetext.Line(a.Name) != a.Name || safetext.Line(a.Address) != a.Address {
		return repo.Signature{}, usagef(`export: --author %s: want "Name <email>"`, safetext.Quote(s))
	}
	return repo.Signature{Name: a.Name, Email: a.Address}, nil
}

// isSCPLike reports an ssh address written as [user@]host:path.
func isSCPLike(s string) bool {
	hostPart, path, ok := strings.Cut(s, ":")
	if !ok || path == "" || strings.Contains(hostPart, "/") {
		return false
	}
	if _, host, ok := strings.Cut(hostPart, "@"); ok {
		hostPart = host
	}
	return len(hostPart) > 1 // "C:" is a drive letter, not a host
}

// isRemoteName: not a URL, a path or an scp-like address (checkRemote passed).
// pushRemote checks, before anything is read or written, that --push has
// somewhere to go: the named remote exists in the repository (origin when
// --remote is not given), or the remote is a URL or path.
func pushRemote(cmd string, rp *repo.Repo, remote string) (string, error) {
	if remote == "" {
		if !rp.HasRemote("origin") {
			return "", usagef("%s: --push without --remote sends to the remote origin, but %s has none: pass --remote URL or add one with 'git remote add origin URL'", cmd, rp.Dir())
		}
		return "origin", nil
	}
	if isRemoteName(remote) && !rp.HasRemote(remote) {
		return "", usagef("%s: --remote %s is not a remote of %s: give its URL, or add it with 'git remote add %s URL'", cmd, safetext.Quote(remote), rp.Dir(), remote)
	}
	return remote, nil
}

func isRemoteName(remote string) bool {
	return !strings.Contains(remote, "://") && !isSCPLike(remote) && !filepath.IsAbs(remote) && !strings.HasPrefix(remote, ".")
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

func runExport(ctx context.Context, g *globalOptions, s *session, o exportOptions) (err error) {
	rp, err := repo.Open(ctx, o.Repo, repo.OpenOptions{Bare: o.Bare, InitialBranch: o.Branch})
	if err != nil {
		return err
	}
	defer rp.Close()
	// A first run that fails before committing leaves no empty repository.
	defer func() {
		if err != nil && rp.Created() {
			if _, rerr := rp.RemoveCreated(); rerr != nil {
				err = fmt.Errorf("%w (and removing the repository this run created failed: %v)", err, rerr)
			}
		}
	}()
	remote := o.Remote
	if o.Push {
		if remote, err = pushRemote("export", rp, o.Remote); err != nil {
			return err
		}
	}
	return exportLocked(ctx, g, s, o, rp, remote)
}

// exportLocked is the export proper, under the repository lock.
func exportLocked(ctx context.Context, g *globalOptions, s *session, o exportOptions, rp *repo.Repo, remote string) error {
	unlock, err := rp.Lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	admin, identity, err := adminScope(ctx, s, o.Scope)
	if err != nil {
		return err
	}
	if o.IncludeDeleted && !admin {
		return usagef("export: --include-deleted needs the admin scope; this identity has no admin role (pass --scope admin to try anyway)")
	}
	var sealer export.Sealer
	if len(o.recipients) > 0 {
		sealer = export.AgeSealer(o.recipients)
	}
	rep := newExportReporter(g)
	if identity != "" && s.Pacers != nil {
		rep.pacer = s.Pacers.For(identity)
	}
	var push *repo.PushOptions
	if o.Push {
		var done func()
		if push, done, err = o.pushOptions(g.getenv, remote); err != nil {
			return err
		}
		defer done()
	}
	// The engine repairs a working tree a killed run left behind, exports
	// and pushes.
	e := &fsync.Engine{Repo: rp, Live: &fsync.Live{Client: s.Client, Admin: admin}}
	br, err := e.Backup(ctx, fsync.BackupOptions{
		Options: export.Options{
			Envs:        o.Envs,
			AllEnvs:     o.AllEnvs,
			Branch:      o.Branch,
			Message:     o.Message,
			Author:      o.author,
			Incremental: o.Incremental,
			AllowShrink: o.AllowShrink,
			Concurrency: o.Concurrency,
			Sealer:      sealer,
			Reseal:      o.Reseal,
		},
		Admin:          admin,
		IncludeDeleted: o.IncludeDeleted,
		Reporter:       rep,
		Repaired: func(fixed repo.WorktreeRepair) {
			if g.Quiet || g.Output == "json" {
				return
			}
			fmt.Fprintf(g.io.Err, "repaired the working tree of %s: %d file(s) brought back in step with %s", rp.Dir(), len(fixed.Restored), o.Branch)
			if fixed.RemovedIndexLock {
				fmt.Fprint(g.io.Err, " (a killed run's index.lock removed)")
			}
			fmt.Fprintln(g.io.Err)
		},
		Push: push,
	})
	if errors.Is(err, fsync.ErrPush) {
		// The local commit stays; say so.
		res := br.Result
		if perr := printExportResult(g, res, nil); perr != nil {
			return perr
		}
		if !res.Committed {
			return fmt.Errorf("nothing new to commit, but pushing the earlier local commits failed (they stay on the local branch; the next run pushes them): %w", err)
		}
		return fmt.Errorf("the export is committed locally (%s) but the push failed: %w", shortHash(res.Commit), err)
	}
	if err != nil {
		return err
	}
	res, pushed := br.Result, br.Pushed
	if err := printExportResult(g, res, pushed); err != nil {
		return err
	}
	switch {
	case len(res.Skipped) > 0 && len(res.Failed) > 0:
		return fmt.Errorf("%w: %d environment(s) skipped and %d flow(s) could not be read; their stored files were kept", ErrPartial, len(res.Skipped), len(res.Failed))
	case len(res.Skipped) > 0:
		return fmt.Errorf("%w: %d environment(s) skipped (%s); their stored files were kept", ErrPartial, len(res.Skipped), skippedNames(res.Skipped))
	case res.Partial():
		return fmt.Errorf("%w: %d flow(s) could not be read; their previous version was kept where there was one", ErrPartial, len(res.Failed))
	}
	return nil
}

func skippedNames(s []export.EnvFailure) string {
	names := make([]string, len(s))
	for i, e := range s {
		names[i] = safetext.Line(string(e.Name))
	}
	return strings.Join(names, ", ")
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
	fmt.Fprintf(r.g.io.Err, "exporting %s (%s): %d flows", safetext.Line(string(env.Name)), safetext.Quote(env.Properties.DisplayName), flows)
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
			fmt.Fprintf(r.g.io.Err, "  %s %s (%s): %s\n", ev.Outcome, safetext.Quote(ev.DisplayName), safetext.Line(string(ev.Flow)), safetext.Error(ev.Err))
		}
		return
	}
	if r.g.Verbose {
		fmt.Fprintf(r.g.io.Err, "  %s %s (%s)\n", ev.Outcome, safetext.Quote(ev.DisplayName), safetext.Line(string(ev.Flow)))
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
		fmt.Fprintf(w, "%s (%s): %d flows (%d read, %d reused, %d failed)\n", safetext.Line(string(e.Name)), safetext.Quote(e.DisplayName), e.Flows, e.Read, e.Reused, e.Failed)
	}
	for _, e := range res.Skipped {
		fmt.Fprintf(w, "skipped environment %s (%s): %s; its stored files were kept\n", safetext.Line(string(e.Name)), safetext.Quote(e.DisplayName), safetext.Line(e.Err))
	}
	printRefs(w, "added", res.Added)
	printRefs(w, "changed", res.Changed)
	printRefs(w, "removed", res.Removed)
	for _, f := range res.Failed {
		kept := "nothing stored before"
		if f.Kept {
			kept = "previous version kept"
		}
		fmt.Fprintf(w, "not read: %s (%s/%s): %s; %s\n", safetext.Quote(f.DisplayName), safetext.Line(string(f.Env)), safetext.Line(string(f.Flow)), safetext.Line(f.Err), kept)
	}
	if len(res.Secrets) > 0 {
		fmt.Fprintf(w, "%d secret(s) redacted:\n", len(res.Secrets))
		for _, s := range res.Secrets {
			fmt.Fprintf(w, "  %s (%s): %s %s\n", safetext.Quote(s.DisplayName), safetext.Line(string(s.Flow)), s.Kind, safetext.Line(s.Path))
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
			fmt.Fprintf(w, "remote %s %s already up to date\n", safetext.Line(pushed.Remote), pushed.Branch)
		default:
			fmt.Fprintf(w, "pushed %s to %s %s", shortHash(pushed.Commit.String()), safetext.Line(pushed.Remote), pushed.Branch)
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
		fmt.Fprintf(w, "%s: %s (%s/%s)\n", what, safetext.Quote(r.DisplayName), safetext.Line(string(r.Env)), safetext.Line(string(r.Flow)))
	}
}
