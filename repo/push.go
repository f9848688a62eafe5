package repo

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"golang.org/x/crypto/ssh"

	"github.com/flowsync/flowsync/internal/redact"
	"github.com/flowsync/flowsync/internal/safetext"
)

// RemoteTipRef is the private ref Push fetches a moved remote branch into.
const RemoteTipRef plumbing.ReferenceName = "refs/flowsync/remote-tip"

// DefaultMaxAttempts bounds Push's push attempts when PushOptions leaves it 0.
const DefaultMaxAttempts = 5

// anonRemote names the in-memory remote Push uses; it is never written to
// the repository's config.
const anonRemote = "flowsync-push"

// Auth holds the credentials for a remote, as values: repo reads no
// environment variable, agent socket or default file (the CLI looks them up).
// Only the part matching the remote's protocol is used.
type Auth struct {
	// Token is sent to http(s) remotes as the password of HTTP basic auth,
	// never stored or printed. Empty: the password in the remote's URL, if
	// any, else no credentials.
	Token string
	// TokenSource says where Token comes from, for the hint of an error
	// (e.g. "FLOWSYNC_GIT_TOKEN"); never the token itself.
	TokenSource string
	// HTTPUsername is the basic-auth user sent with the token; default
	// "x-access-token" (hosting services ignore or accept it for tokens).
	HTTPUsername string
	// CABundle adds PEM certificates trusted for HTTPS remotes.
	CABundle []byte

	// SSHKeys returns the private keys to offer to an ssh remote (a key
	// file's, an ssh-agent's); it is called once per Push, and only for an
	// ssh remote. Nil: ssh remotes are refused with a clear error.
	SSHKeys func() ([]ssh.Signer, error)
	// SSHUser defaults to the URL's user, else "git".
	SSHUser string
	// KnownHostsFiles verify an ssh server's host key; required for ssh
	// remotes (host keys are always checked; a missing file is an error).
	KnownHostsFiles []string
}

// PushOptions say what to push where.
type PushOptions struct {
	// Remote is a configured remote's name, a URL (https://, ssh://, file://,
	// or scp-like user@host:path) or a local path. URLs are used without
	// adding a remote to the repository's config.
	Remote string
	Branch string // local and remote branch name
	Auth   Auth
	// Rebuild is called when the remote branch has commits the local branch
	// lacks, with newTip (the fetched remote tip, present locally). It must
	// make the local branch a descendant of newTip carrying this run's changes
	// and return the new local tip; Builder.Rebuilder does exactly that. Nil
	// makes such a push fail with ErrPushRejected.
	Rebuild func(ctx context.Context, newTip plumbing.Hash) (plumbing.Hash, error)
	// MaxAttempts bounds push attempts (each may follow a rebuild); 0 means
	// DefaultMaxAttempts.
	MaxAttempts int
}

// PushResult says what Push did.
type PushResult struct {
	Remote   string        // the remote, with any credentials removed
	Branch   string        // the branch pushed
	Commit   plumbing.Hash // what the remote branch points to now
	Attempts int           // push attempts made
	Rebuilds int           // times the commit was rebuilt on a moved remote tip
	UpToDate bool          // the remote already had the local tip
}

// Push sends the local branch to the remote branch, never forcing. When the
// remote branch has moved on (another run pushed), Push fetches it into
// RemoteTipRef, lets Rebuild replay this run's commit on top and tries again,
// up to MaxAttempts. Errors name the remote without credentials, and the
// local commit always stays on the local branch.
func (r *Repo) Push(ctx context.Context, opts PushOptions) (PushResult, error) {
	res := PushResult{Branch: opts.Branch}
	if opts.Branch == "" {
		return res, errors.New("push: no branch given")
	}
	name, err := r.branchRef(opts.Branch)
	if err != nil {
		return res, fmt.Errorf("push: %w", err)
	}
	tgt, err := r.remoteTarget(opts.Remote, opts.Auth)
	if err != nil {
		return res, err
	}
	res.Remote = tgt.display
	max := opts.MaxAttempts
	if max <= 0 {
		max = DefaultMaxAttempts
	}
	rem := git.NewRemote(r.st, &config.RemoteConfig{Name: anonRemote, URLs: []string{tgt.url}})

	for attempt := 1; attempt <= max; attempt++ {
		local, err := r.refHash(name)
		if err != nil {
			return res, err
		}
		if local.IsZero() {
			return res, fmt.Errorf("push to %s: local branch %s has no commits", tgt.display, opts.Branch)
		}
		remoteTip, err := tgt.tip(ctx, rem, name)
		if err != nil {
			return res, tgt.fail("read", opts.Branch, local, err, ErrRemoteUnreachable)
		}
		if remoteTip == local {
			res.Commit, res.UpToDate = local, res.Attempts == 0
			r.updateTracking(opts.Remote, name, local)
			return res, nil
		}
		if !remoteTip.IsZero() {
			ff, err := r.isAncestor(remoteTip, local)
			if err != nil {
				return res, fmt.Errorf("push to %s: %w", tgt.display, err)
			}
			if !ff {
				if opts.Rebuild == nil {
					return res, tgt.rejected(opts.Branch, local, "the remote branch has commits the local one lacks and no rebuild was given")
				}
				newTip, err := r.fetchTip(ctx, rem, tgt, name)
				if err != nil {
					return res, tgt.fail("fetch", opts.Branch, local, err, ErrRemoteUnreachable)
				}
				rebuilt, err := opts.Rebuild(ctx, newTip)
				if err != nil {
					return res, fmt.Errorf("push to %s: rebuild branch %s on remote tip %s: %w", tgt.display, opts.Branch, short(newTip), err)
				}
				if ok, err := r.isAncestor(newTip, rebuilt); err != nil || !ok {
					return res, fmt.Errorf("push to %s: rebuilt commit %s does not descend from remote tip %s", tgt.display, short(rebuilt), short(newTip))
				}
				if cur, err := r.refHash(name); err != nil || cur != rebuilt {
					return res, fmt.Errorf("push to %s: rebuild returned %s but branch %s is at %s", tgt.display, short(rebuilt), opts.Branch, hashOrNone(cur))
				}
				res.Rebuilds++
				local = rebuilt
			}
		}

		res.Attempts = attempt
		if r.beforePush != nil {
			r.beforePush()
		}
		// Packs are sent from a separate, streaming view of the object store,
		// made per attempt so it sees packs fetched by earlier attempts.
		ps := r.pushStorage()
		sender := git.NewRemote(ps, &config.RemoteConfig{Name: anonRemote, URLs: []string{tgt.url}})
		err = sender.PushContext(ctx, &git.PushOptions{
			RemoteName: anonRemote,
			RefSpecs:   []config.RefSpec{config.RefSpec(name.String() + ":" + name.String())},
			Auth:       tgt.auth,
			CABundle:   tgt.caBundle,
		})
		ps.Close() // only releases open pack files; nothing to report
		if err == nil || errors.Is(err, git.NoErrAlreadyUpToDate) {
			res.Commit = local
			r.updateTracking(opts.Remote, name, local)
			return res, nil
		}
		if ctx.Err() != nil {
			return res, tgt.fail("push", opts.Branch, local, err, ErrRemoteUnreachable)
		}
		// Classify by looking, not by parsing messages: if the remote branch
		// moved since we read it, someone pushed in between; go around.
		if now, lerr := tgt.tip(ctx, rem, name); lerr == nil && now != remoteTip {
			continue
		}
		return res, tgt.fail("push", opts.Branch, local, err, ErrPushRejected)
	}
	local, _ := r.refHash(name)
	return res, tgt.rejected(opts.Branch, local, fmt.Sprintf("the remote branch kept moving during %d attempts", max))
}

// updateTracking moves the remote-tracking branch of a configured remote
// (refs/remotes/origin/main, through the remote's fetch refspecs) to what
// the remote branch now holds, as git push does; otherwise `git status` in
// a working clone says the branch is ahead and asks for a push that was
// already made. A URL has no tracking branch. Failing to move it is not a
// failure of the push (the next git fetch corrects it), so it is ignored.
func (r *Repo) updateTracking(remote string, branch plumbing.ReferenceName, commit plumbing.Hash) {
	rem, err := r.git.Remote(remote)
	if err != nil {
		return
	}
	for _, rs := range rem.Config().Fetch {
		if rs.IsExactSHA1() || !rs.Match(branch) {
			continue
		}
		dst := rs.Dst(branch)
		if !strings.HasPrefix(dst.String(), "refs/remotes/") {
			continue
		}
		_ = r.st.SetReference(plumbing.NewHashReference(dst, commit))
	}
}

// pushStorage returns a view of the object store for building the pack a
// push sends. go-git's pack encoder first loads every object to send, and
// with delta search on (its default window of 10) compares them pairwise: a
// first push of 10,000 flows took minutes and gigabytes of allocations. This
// view hands out objects lazily (read when encoded, so memory stays flat) and
// turns delta search off; the pack is larger but built in one streaming pass,
// and the receiving side may repack.
func (r *Repo) pushStorage() noDeltaStorage {
	fs := r.st.Filesystem()
	st := filesystem.NewStorageWithOptions(fs, cache.NewObjectLRU(4*cache.MiByte),
		filesystem.Options{LargeObjectThreshold: 1, MaxOpenDescriptors: maxOpenPacks})
	return noDeltaStorage{st}
}

type noDeltaStorage struct{ *filesystem.Storage }

func (s noDeltaStorage) Config() (*config.Config, error) {
	cfg, err := s.Storage.Config()
	if err != nil {
		return nil, err
	}
	cfg.Pack.Window = 0
	return cfg, nil
}

// IsAncestor reports whether anc is desc or one of desc's ancestors; the
// zero hash (no commit) is an ancestor of everything.
func (r *Repo) IsAncestor(ctx context.Context, anc, desc plumbing.Hash) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if anc.IsZero() {
		return true, nil
	}
	return r.isAncestor(anc, desc)
}

// isAncestor reports whether anc is desc or one of its ancestors. A commit
// missing locally is no ancestor.
func (r *Repo) isAncestor(anc, desc plumbing.Hash) (bool, error) {
	if anc == desc {
		return true, nil
	}
	if r.st.HasEncodedObject(anc) != nil {
		return false, nil
	}
	seen := map[plumbing.Hash]bool{desc: true}
	queue := []plumbing.Hash{desc}
	for len(queue) > 0 {
		h := queue[0]
		queue = queue[1:]
		c, err := object.GetCommit(r.st, h)
		if err != nil {
			return false, fmt.Errorf("walk history at %s: %w", short(h), err)
		}
		for _, p := range c.ParentHashes {
			if p == anc {
				return true, nil
			}
			if !seen[p] {
				seen[p] = true
				queue = append(queue, p)
			}
		}
	}
	return false, nil
}

// fetchTip fetches the remote branch into RemoteTipRef and returns it.
func (r *Repo) fetchTip(ctx context.Context, rem *git.Remote, tgt *remoteTarget, name plumbing.ReferenceName) (plumbing.Hash, error) {
	err := rem.FetchContext(ctx, &git.FetchOptions{
		RemoteName: anonRemote,
		RefSpecs:   []config.RefSpec{config.RefSpec("+" + name.String() + ":" + RemoteTipRef.String())},
		Auth:       tgt.auth,
		CABundle:   tgt.caBundle,
		Tags:       git.NoTags,
	})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return plumbing.ZeroHash, err
	}
	h, err := r.refHash(RemoteTipRef)
	if err == nil && h.IsZero() {
		err = fmt.Errorf("remote branch %s vanished", name.Short())
	}
	return h, err
}

// remoteTarget is a resolved remote: what go-git is given, what may be shown,
// and which strings must never be shown.
type remoteTarget struct {
	url      string // passed to go-git; never contains a password
	display  string // credentials removed
	auth     transport.AuthMethod
	caBundle []byte
	secrets  []string
	hint     string // what to check when it fails
}

func (r *Repo) remoteTarget(remote string, a Auth) (*remoteTarget, error) {
	if remote == "" {
		return nil, errors.New("push: no remote given")
	}
	raw := remote
	if cfg, err := r.git.Remote(remote); err == nil && len(cfg.Config().URLs) > 0 {
		urls := cfg.Config().URLs
		raw = urls[len(urls)-1]
	}
	ep, err := transport.NewEndpoint(raw)
	if err != nil {
		return nil, fmt.Errorf("push: remote %s: unrecognized URL", redact.URL(raw))
	}
	t := &remoteTarget{display: redact.URL(raw)}
	switch ep.Protocol {
	case "http", "https":
		u, err := url.Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("push: remote %s: unrecognized URL", t.display)
		}
		var urlUser, urlPass string
		if u.User != nil {
			urlUser = u.User.Username()
			urlPass, _ = u.User.Password()
			if urlPass != "" {
				t.secrets = append(t.secrets, u.User.String(), urlPass, urlUser+":"+urlPass)
			} else {
				t.secrets = append(t.secrets, urlUser) // may be a token given as the user name
			}
		}
		// Credentials go to go-git as auth, never in the URL, so they are
		// neither stored nor shown.
		u.User = nil
		t.url = u.String()
		t.display = redact.URL(t.url)
		t.caBundle = a.CABundle
		user := a.HTTPUsername
		if user == "" {
			user = "x-access-token"
		}
		switch {
		case a.Token != "":
			t.auth = &githttp.BasicAuth{Username: user, Password: a.Token}
			t.secrets = append(t.secrets, a.Token, user+":"+a.Token)
		case urlPass != "":
			t.auth = &githttp.BasicAuth{Username: urlUser, Password: urlPass}
		}
		tokenHint := "the token"
		if a.TokenSource != "" {
			tokenHint += " in " + a.TokenSource
		}
		// Basic auth over plain http hands the token to anyone on the path.
		// Loopback stays allowed (a local test server, a tunnel's end).
		if t.auth != nil && u.Scheme == "http" && !loopbackHost(u.Hostname()) {
			return nil, fmt.Errorf("push: remote %s is plain http: %s is sent only over https (or to this machine); use the https URL", t.display, tokenHint)
		}
		t.hint = "check the URL, network access, TLS trust and " + tokenHint
	case "ssh":
		t.url = raw
		// Shown without the user: a login name, but one URL form for all.
		shown := *ep
		shown.User, shown.Password = "", ""
		t.display = redact.URL(shown.String())
		if ep.Password != "" {
			t.secrets = append(t.secrets, ep.Password)
		}
		am, err := sshAuth(ep, a)
		if err != nil {
			return nil, fmt.Errorf("push to %s: %w", t.display, redact.Error(err, t.secrets...))
		}
		t.auth = am
		t.hint = "check the URL, network access, the SSH key and the host's entry in known_hosts"
	case "file":
		p := ep.Path
		if !filepath.IsAbs(p) {
			if p, err = filepath.Abs(p); err != nil {
				return nil, fmt.Errorf("push: remote %s: %w", t.display, err)
			}
		}
		t.url, t.display = p, p
		t.hint = "check that the path is a Git repository (bare, or with the branch not checked out)"
	default:
		return nil, fmt.Errorf("push: remote %s: unsupported protocol %q", t.display, ep.Protocol)
	}
	return t, nil
}

// sshAuth builds public-key auth with the keys a.SSHKeys gives, whose host
// key check uses a.KnownHostsFiles; an unknown or changed host key is
// refused.
func sshAuth(ep *transport.Endpoint, a Auth) (transport.AuthMethod, error) {
	user := a.SSHUser
	if user == "" {
		user = ep.User
	}
	if user == "" {
		user = "git"
	}
	if len(a.KnownHostsFiles) == 0 {
		return nil, errors.New("no known_hosts file given; host keys are always verified: name one that holds the server's key (ssh-keyscan)")
	}
	var existing []string
	for _, f := range a.KnownHostsFiles {
		if _, err := os.Stat(f); err == nil {
			existing = append(existing, f)
		}
	}
	if len(existing) == 0 {
		return nil, fmt.Errorf("no known_hosts file found (looked for %s); host keys are always verified: add the server's key (ssh-keyscan) to one",
			strings.Join(a.KnownHostsFiles, ", "))
	}
	db, err := gitssh.NewKnownHostsDb(existing...)
	if err != nil {
		return nil, fmt.Errorf("read known_hosts %s: %w", strings.Join(existing, ", "), err)
	}
	if a.SSHKeys == nil {
		return nil, errors.New("no SSH key given (a key file or an ssh-agent)")
	}
	keys, err := a.SSHKeys()
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, errors.New("no SSH key to offer (the ssh-agent holds none)")
	}
	port := ep.Port
	if port == 0 {
		port = 22
	}
	hostPort := net.JoinHostPort(ep.Host, fmt.Sprint(port))
	return &gitssh.PublicKeysCallback{
		User:     user,
		Callback: func() ([]ssh.Signer, error) { return keys, nil },
		HostKeyCallbackHelper: gitssh.HostKeyCallbackHelper{
			HostKeyCallback:   db.HostKeyCallback(),
			HostKeyAlgorithms: db.HostKeyAlgorithms(hostPort),
		},
	}, nil
}

// tip reads the remote branch (zero when it or the whole remote is empty).
func (t *remoteTarget) tip(ctx context.Context, rem *git.Remote, name plumbing.ReferenceName) (plumbing.Hash, error) {
	refs, err := rem.ListContext(ctx, &git.ListOptions{Auth: t.auth, CABundle: t.caBundle})
	if errors.Is(err, transport.ErrEmptyRemoteRepository) {
		return plumbing.ZeroHash, nil
	}
	if err != nil {
		return plumbing.ZeroHash, err
	}
	for _, ref := range refs {
		if ref.Name() == name && ref.Type() == plumbing.HashReference {
			return ref.Hash(), nil
		}
	}
	return plumbing.ZeroHash, nil
}

// RemoteError is a failed remote operation, already stripped of credentials.
// errors.Is matches its Kind (ErrAuth, ErrRemoteUnreachable, ErrPushRejected)
// and context errors; the underlying transport error is not kept, since its
// text may hold what must not be shown.
type RemoteError struct {
	Kind error
	msg  string
	ctx  error
}

func (e *RemoteError) Error() string { return e.msg }

func (e *RemoteError) Unwrap() []error {
	if e.ctx != nil {
		return []error{e.Kind, e.ctx}
	}
	return []error{e.Kind}
}

func (t *remoteTarget) fail(op, branch string, local plumbing.Hash, err error, kind error) error {
	var ctxErr error
	switch {
	case errors.Is(err, context.Canceled):
		ctxErr = context.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		ctxErr = context.DeadlineExceeded
	}
	if errors.Is(err, transport.ErrAuthenticationRequired) || errors.Is(err, transport.ErrAuthorizationFailed) {
		kind = ErrAuth
	}
	detail := remoteText(err.Error(), t.secrets)
	return &RemoteError{
		Kind: kind,
		ctx:  ctxErr,
		msg: fmt.Sprintf("%s remote %s (branch %s): %v: %s; %s; the local commit %s stays on branch %s",
			op, t.display, branch, kind, detail, t.hint, short(local), branch),
	}
}

func (t *remoteTarget) rejected(branch string, local plumbing.Hash, why string) error {
	return &RemoteError{
		Kind: ErrPushRejected,
		msg: fmt.Sprintf("push to remote %s (branch %s): %v: %s; nothing was forced; the local commit %s stays on branch %s",
			t.display, branch, ErrPushRejected, why, hashOrNone(local), branch),
	}
}

// maxRemoteText bounds how much of a remote's answer an error quotes: a
// proxy's error page can be long.
const maxRemoteText = 600

// remoteText makes the text of a transport error fit to show: go-git puts
// what the remote sent back (an HTTP error body, a rejection reason) into
// its errors, and a server or proxy may echo the request's Authorization
// header there. So every credential goes (the secrets of this remote in any
// encoding, and whatever redact recognizes by shape), whitespace runs become
// one space, the length is bounded, and hostile runes are escaped
// (safetext.Line) so the text cannot drive a terminal or forge a log line.
func remoteText(msg string, secrets []string) string {
	msg = strings.Join(strings.Fields(redact.Values(msg, secrets...)), " ")
	if i := runeOffset(msg, maxRemoteText); i < len(msg) {
		msg = msg[:i] + "…"
	}
	return safetext.Line(msg)
}

// runeOffset returns the byte offset of s's n-th rune (len(s) if s has no
// more than n). An invalid byte counts as one rune.
func runeOffset(s string, n int) int {
	for i := range s {
		if n == 0 {
			return i
		}
		n--
	}
	return len(s)
}

// loopbackHost reports whether host (a URL's host name, without port) is
// this machine: localhost or a loopback address.
func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
