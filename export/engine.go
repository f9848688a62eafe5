package export

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/sourcegraph/conc/pool"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/secrets"
	"github.com/flowsync/flowsync/repo"
)

// ErrShrink is returned when an environment's listing shrank by more than
// half, or to zero, and the caller did not allow it. Nothing is committed.
var ErrShrink = errors.New("flow listing shrank")

// ErrNoEnvironments is returned when the selection names no environment.
var ErrNoEnvironments = errors.New("no environments selected")

// Options configure a Run.
type Options struct {
	// Envs names the environments (name, GUID or display name); AllEnvs
	// takes every environment the source lists.
	Envs    []string
	AllEnvs bool
	// Branch receives the commit (default "main").
	Branch string
	// Message replaces the generated subject line; the body listing the
	// changes is always added.
	Message string
	// Author of the commit; zero fields take the bot identity and now.
	Author repo.Signature
	// Incremental reuses the stored definition of flows whose
	// lastModifiedTime did not change (permissions are still read).
	Incremental bool
	// AllowShrink commits even when a listing shrank by more than half.
	AllowShrink bool
	// Concurrency bounds the flows read at once (default 4). The pacer,
	// not this number, keeps the calls under the service's limits.
	Concurrency int
	// Sealer, when set, stores the values of redacted secrets encrypted in
	// the tree so that a restore is complete (--encrypt-to).
	Sealer Sealer
	// Reseal encrypts every flow's secrets again instead of keeping the
	// sealed file of an unmodified flow (after a change of recipients).
	Reseal bool
	// Now is the clock for the commit time (default time.Now).
	Now func() time.Time
}

// DefaultAuthor is the bot identity commits are made with by default.
var DefaultAuthor = repo.Signature{Name: "flowsync", Email: "flowsync@users.noreply.flowsync.invalid"}

// Reporter hears about progress. The engine calls it from one goroutine at a
// time, never concurrently.
type Reporter interface {
	EnvironmentStarted(env api.Environment, flows int)
	FlowDone(ev FlowEvent)
}

// Outcome says what happened to one flow.
type Outcome string

// Outcomes of a flow in a run.
const (
	OutcomeRead   Outcome = "read"   // read from the service
	OutcomeReused Outcome = "reused" // --incremental: stored definition reused
	OutcomeKept   Outcome = "kept"   // could not be read: previous version kept
	OutcomeFailed Outcome = "failed" // could not be read and nothing stored before
)

// FlowEvent reports one flow.
type FlowEvent struct {
	Env         api.EnvName
	Flow        api.FlowName
	DisplayName string
	Outcome     Outcome
	Err         error
}

// FlowRef names a flow in the result.
type FlowRef struct {
	Env         api.EnvName  `json:"environment"`
	Flow        api.FlowName `json:"flow"`
	DisplayName string       `json:"displayName"`
}

// FlowFailure is a flow that could not be read.
type FlowFailure struct {
	FlowRef
	Kept bool   `json:"keptPrevious"`
	Err  string `json:"error"`
}

// SecretRef names a secret that was redacted (never its value).
type SecretRef struct {
	FlowRef
	Path string `json:"path"`
	Kind string `json:"kind"`
}

// EnvResult summarizes one environment.
type EnvResult struct {
	Name        api.EnvName `json:"name"`
	DisplayName string      `json:"displayName"`
	Flows       int         `json:"flows"`
	Read        int         `json:"read"`
	Reused      int         `json:"reused"`
	Failed      int         `json:"failed"`
}

// Result is what a run did.
type Result struct {
	Environments []EnvResult   `json:"environments"`
	Added        []FlowRef     `json:"added"`
	Changed      []FlowRef     `json:"changed"`
	Removed      []FlowRef     `json:"removed"`
	Failed       []FlowFailure `json:"failed"`
	Secrets      []SecretRef   `json:"secrets"`
	Commit       string        `json:"commit,omitempty"`
	Committed    bool          `json:"committed"`
	Files        repo.Stats    `json:"files"`
	builder      *repo.Builder // for push rebuilds
	rp           *repo.Repo
	commitOpts   repo.CommitOptions
}

// sort orders every list by environment, then flow, so that the commit
// message and the report do not depend on the order reads finished in.
func (r *Result) sort() {
	byRef := func(a, b FlowRef) bool {
		if a.Env != b.Env {
			return a.Env < b.Env
		}
		return a.Flow < b.Flow
	}
	for _, refs := range [][]FlowRef{r.Added, r.Changed, r.Removed} {
		sort.Slice(refs, func(i, j int) bool { return byRef(refs[i], refs[j]) })
	}
	sort.Slice(r.Failed, func(i, j int) bool { return byRef(r.Failed[i].FlowRef, r.Failed[j].FlowRef) })
	sort.SliceStable(r.Secrets, func(i, j int) bool {
		if r.Secrets[i].FlowRef != r.Secrets[j].FlowRef {
			return byRef(r.Secrets[i].FlowRef, r.Secrets[j].FlowRef)
		}
		return r.Secrets[i].Path < r.Secrets[j].Path
	})
}

// Partial reports whether some flows could not be read.
func (r *Result) Partial() bool { return len(r.Failed) > 0 }

// Rebuilder replays this run's work onto another tip (used by push when
// another job moved the remote branch): this run's commit when it made one.
// When it made none, the branch may still hold commits of earlier runs whose
// push failed; then the environment directories and top-level files those
// commits changed are replayed as one commit (repo.UnpushedRebuilder), so a
// backup that stopped changing still reaches the remote.
//
// When this run committed on top of earlier unpushed commits (a shared local
// clone where another job's push failed), replaying this run alone would
// leave those out of the pushed history, so everything unpushed is replayed
// as one commit with this run's message.
func (r *Result) Rebuilder() func(ctx context.Context, newTip plumbing.Hash) (plumbing.Hash, error) {
	if r.rp == nil {
		return nil
	}
	// Units of replay: environments/<env> and top-level files.
	const unitDepth = 2
	if !r.Committed {
		opts := r.commitOpts
		opts.Message = "Export: earlier exports that were not pushed, rebuilt on the remote branch"
		return r.rp.UnpushedRebuilder(opts.Branch, unitDepth, opts)
	}
	own := r.builder.Rebuilder(r.commitOpts)
	all := r.rp.UnpushedRebuilder(r.commitOpts.Branch, unitDepth, r.commitOpts)
	replayedAll := false
	return func(ctx context.Context, newTip plumbing.Hash) (plumbing.Hash, error) {
		if !replayedAll {
			onlyOurs, err := r.rp.IsAncestor(ctx, r.builder.Base(), newTip)
			if err != nil {
				return plumbing.ZeroHash, err
			}
			if onlyOurs {
				return own(ctx, newTip)
			}
		}
		replayedAll = true
		return all(ctx, newTip)
	}
}

// Run exports the selected environments of src into the repository: one
// commit on opts.Branch, or none when nothing changed. The caller holds the
// repository's lock. A flow that cannot be read keeps its previous version
// and is listed in Result.Failed; the run still commits the rest.
func Run(ctx context.Context, src Source, rp *repo.Repo, opts Options, rep Reporter) (*Result, error) {
	opts = withDefaults(opts)
	if rep == nil {
		rep = nopReporter{}
	}
	all, err := src.Environments(ctx)
	if err != nil {
		return nil, fmt.Errorf("list environments: %w", err)
	}
	var envs []api.Environment
	if opts.AllEnvs {
		envs = append(envs, all...)
		sort.Slice(envs, func(i, j int) bool { return envs[i].Name < envs[j].Name })
	} else if envs, err = ResolveEnvironments(all, opts.Envs); err != nil {
		return nil, err
	}
	if len(envs) == 0 {
		return nil, ErrNoEnvironments
	}
	for _, e := range envs {
		if err := validateEnv(e.Name); err != nil {
			return nil, err
		}
	}

	base, err := rp.Head(ctx, opts.Branch)
	if err != nil {
		return nil, fmt.Errorf("read branch %s: %w", opts.Branch, err)
	}
	prevTree, err := rp.ReadTree(ctx, base)
	if err != nil {
		return nil, err
	}

	// List everything first: the shrink guard must see every environment
	// before anything is written.
	listings := make([]listing, len(envs))
	for i, e := range envs {
		l, err := listEnvironment(ctx, src, e, prevTree)
		if err != nil {
			return nil, err
		}
		if err := checkShrink(l, opts.AllowShrink); err != nil {
			return nil, err
		}
		listings[i] = l
	}

	b, err := rp.NewBuilder(ctx, base)
	if err != nil {
		return nil, err
	}
	defer b.Discard() // a run that fails leaves no temporary pack behind
	w := &writer{rp: rp, b: b, prev: prevTree, opts: opts, rep: rep, src: src, res: &Result{}}
	if err := w.put(RootFileName, rootFile()); err != nil {
		return nil, err
	}
	for _, l := range listings {
		if err := w.exportEnvironment(ctx, l); err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res := w.res
	res.sort()
	res.commitOpts = repo.CommitOptions{
		Branch:  opts.Branch,
		Message: commitMessage(opts.Message, res),
		Author:  opts.Author,
	}
	if res.commitOpts.Author.When.IsZero() {
		res.commitOpts.Author.When = opts.Now()
	}
	cr, err := b.Commit(ctx, res.commitOpts)
	if err != nil {
		return nil, err
	}
	res.builder, res.rp = b, rp
	res.Committed = cr.Changed
	res.Files = cr.Stats
	if !cr.Commit.IsZero() {
		res.Commit = cr.Commit.String()
	}
	return res, nil
}

func withDefaults(o Options) Options {
	if o.Branch == "" {
		o.Branch = "main"
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Author.Name == "" {
		o.Author.Name = DefaultAuthor.Name
	}
	if o.Author.Email == "" {
		o.Author.Email = DefaultAuthor.Email
	}
	return o
}

type nopReporter struct{}

func (nopReporter) EnvironmentStarted(api.Environment, int) {}
func (nopReporter) FlowDone(FlowEvent)                      {}

// listing is one environment's flow summaries and what the tree held before.
type listing struct {
	env   api.Environment
	dir   string                    // environments/<env>/
	flows []api.Flow                // summaries, sorted by name, unique
	bad   []FlowFailure             // names that cannot be stored
	prev  map[api.FlowName]prevFlow // flows stored before
}

// prevFlow is a flow as the previous commit stored it: file name → blob.
type prevFlow struct {
	dir   string
	files map[string]plumbing.Hash
}

func listEnvironment(ctx context.Context, src Source, e api.Environment, prevTree *repo.Tree) (listing, error) {
	dir, err := envDir(e.Name)
	if err != nil {
		return listing{}, err
	}
	l := listing{env: e, dir: dir, prev: map[api.FlowName]prevFlow{}}
	seen := map[api.FlowName]bool{}
	err = src.Flows(ctx, e.Name, func(page []api.Flow) error {
		for _, f := range page {
			// Flow names are GUIDs; the tree uses their lower-case form, and a
			// name that is no GUID can never become a path.
			name, err := canonicalFlowName(f.Name)
			if err != nil {
				l.bad = append(l.bad, FlowFailure{
					FlowRef: FlowRef{Env: e.Name, Flow: f.Name, DisplayName: f.Properties.DisplayName},
					Err:     err.Error(),
				})
				continue
			}
			if seen[name] {
				continue
			}
			seen[name] = true
			f.Name = name
			l.flows = append(l.flows, f)
		}
		return nil
	})
	if err != nil {
		return listing{}, fmt.Errorf("list flows of environment %s: %w", e.Name, err)
	}
	sort.Slice(l.flows, func(i, j int) bool { return l.flows[i].Name < l.flows[j].Name })

	flowsDir := dir + "flows/"
	err = prevTree.Walk(strings.TrimSuffix(flowsDir, "/"), func(p string, h plumbing.Hash) error {
		rel := strings.TrimPrefix(p, flowsDir)
		name, file, ok := strings.Cut(rel, "/")
		if !ok {
			return nil
		}
		pf, ok := l.prev[api.FlowName(name)]
		if !ok {
			pf = prevFlow{dir: flowsDir + name + "/", files: map[string]plumbing.Hash{}}
			l.prev[api.FlowName(name)] = pf
		}
		pf.files[file] = h
		return nil
	})
	if err != nil {
		return listing{}, fmt.Errorf("read stored flows of environment %s: %w", e.Name, err)
	}
	return l, nil
}

// checkShrink refuses a listing that shrank by more than half, or to zero,
// against what the tree stored: a broken listing must never wipe a backup.
func checkShrink(l listing, allow bool) error {
	before, now := len(l.prev), len(l.flows)+len(l.bad)
	if allow || before == 0 {
		return nil
	}
	if now == 0 || now*2 < before {
		return fmt.Errorf("%w: environment %s listed %d flows, the backup holds %d; nothing was committed (pass --allow-shrink if flows were really deleted)",
			ErrShrink, l.env.Name, now, before)
	}
	return nil
}

// writer owns the repository builder: only its goroutine touches Git.
type writer struct {
	rp   *repo.Repo
	b    *repo.Builder
	prev *repo.Tree
	opts Options
	rep  Reporter
	src  Source
	res  *Result
}

func (w *writer) put(p string, content []byte) error {
	if err := w.b.Put(p, content); err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	return nil
}

// flowJob is one flow to read; flowOut is what a reader hands the writer.
type flowJob struct {
	sum  api.Flow
	prev *prevFlow
	meta *storedMeta // previous flow.json and references, read by the writer
	// unsealed: the stored definition has placeholders but no secrets.age.
	unsealed bool
}

type flowOut struct {
	job     flowJob
	files   map[string][]byte        // file name → content to write
	reuse   map[string]plumbing.Hash // file name → stored blob to keep
	summary FlowSummary              // for the environment index
	secrets []SecretRef
	outcome Outcome
	err     error
}

func (w *writer) exportEnvironment(ctx context.Context, l listing) error {
	res := w.res
	er := EnvResult{Name: l.env.Name, DisplayName: l.env.Properties.DisplayName, Flows: len(l.flows)}
	w.rep.EnvironmentStarted(l.env, len(l.flows))
	if err := w.b.ReplaceSubtree(strings.TrimSuffix(l.dir, "/")); err != nil {
		return err
	}
	envJSON, err := environmentFile(l.env)
	if err != nil {
		return err
	}
	if err := w.put(l.dir+EnvironmentFileName, envJSON); err != nil {
		return err
	}

	jobs := make([]flowJob, 0, len(l.flows))
	for _, f := range l.flows {
		j := flowJob{sum: f}
		if pf, ok := l.prev[f.Name]; ok {
			pf := pf
			j.prev = &pf
			// Not only --incremental needs the stored flow.json: a flow that
			// cannot be read keeps its index row from it, a soft-deleted
			// flow its metadata, and an unmodified flow its sealed secrets.
			if m, err := w.readStoredMeta(ctx, pf); err == nil {
				j.meta = m
			}
			if w.opts.Incremental && w.opts.Sealer != nil && !hasFiles(&pf, SecretsFileName) {
				// Stored by an export without --encrypt-to: secrets it
				// redacted were never sealed, so the flow is read again.
				j.unsealed = w.hasPlaceholders(ctx, pf)
			}
		}
		jobs = append(jobs, j)
	}

	results := make(chan flowOut, w.opts.Concurrency)
	readCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		p := pool.New().WithMaxGoroutines(w.opts.Concurrency)
		for _, j := range jobs {
			j := j
			p.Go(func() { results <- readFlow(readCtx, w.src, l.env.Name, j, w.opts) })
		}
		p.Wait()
		close(results)
	}()

	var summaries []FlowSummary
	var werr error
	for out := range results {
		if werr != nil {
			continue // drain after a write error
		}
		s, err := w.writeFlow(l, out, &er)
		if err != nil {
			werr = err
			cancel()
			continue
		}
		if s != nil {
			summaries = append(summaries, *s)
		}
	}
	if werr != nil {
		return werr
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, bad := range l.bad {
		res.Failed = append(res.Failed, bad)
		er.Failed++
	}
	// Flows gone from the listing are removed (history keeps them).
	listed := make(map[api.FlowName]bool, len(l.flows))
	for _, f := range l.flows {
		listed[f.Name] = true
	}
	removed := make([]api.FlowName, 0)
	for name := range l.prev {
		if !listed[name] {
			removed = append(removed, name)
		}
	}
	sort.Slice(removed, func(i, j int) bool { return removed[i] < removed[j] })
	for _, name := range removed {
		ref := FlowRef{Env: l.env.Name, Flow: name}
		if m, err := w.readStoredMeta(ctx, l.prev[name]); err == nil {
			ref.DisplayName = m.DisplayName
		}
		res.Removed = append(res.Removed, ref)
	}

	sort.Slice(summaries, func(i, j int) bool { return summaries[i].Key.Flow < summaries[j].Key.Flow })
	readme, err := environmentIndex(l.env, summaries)
	if err != nil {
		return err
	}
	if err := w.put(l.dir+IndexFileName, readme); err != nil {
		return err
	}
	res.Environments = append(res.Environments, er)
	return nil
}

// writeFlow stores one reader's output and records what changed.
func (w *writer) writeFlow(l listing, out flowOut, er *EnvResult) (*FlowSummary, error) {
	res := w.res
	j := out.job
	ref := FlowRef{Env: l.env.Name, Flow: j.sum.Name, DisplayName: j.sum.Properties.DisplayName}
	dir, err := flowDir(l.env.Name, j.sum.Name)
	if err != nil {
		return nil, err
	}
	if out.err != nil {
		if errors.Is(out.err, context.Canceled) {
			return nil, out.err
		}
		f := FlowFailure{FlowRef: ref, Err: out.err.Error()}
		if j.prev != nil {
			// Keep the previous version as it was.
			for name, h := range j.prev.files {
				if err := w.b.PutBlob(dir+name, h); err != nil {
					return nil, err
				}
			}
			f.Kept = true
			out.outcome = OutcomeKept
		} else {
			out.outcome = OutcomeFailed
		}
		res.Failed = append(res.Failed, f)
		er.Failed++
		w.rep.FlowDone(FlowEvent{Env: ref.Env, Flow: ref.Flow, DisplayName: ref.DisplayName, Outcome: out.outcome, Err: out.err})
		if j.meta != nil {
			s := j.meta.summary(l.env.Name, j.sum.Name)
			return &s, nil
		}
		return nil, nil
	}

	changed := j.prev == nil
	names := make([]string, 0, len(out.files)+len(out.reuse))
	for name := range out.files {
		names = append(names, name)
	}
	for name := range out.reuse {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		var h plumbing.Hash
		if content, ok := out.files[name]; ok {
			h = plumbing.ComputeHash(plumbing.BlobObject, content)
			if err := w.put(dir+name, content); err != nil {
				return nil, err
			}
		} else {
			h = out.reuse[name]
			if err := w.b.PutBlob(dir+name, h); err != nil {
				return nil, err
			}
		}
		if j.prev != nil && j.prev.files[name] != h {
			changed = true
		}
	}
	if j.prev != nil && len(j.prev.files) != len(names) {
		changed = true
	}
	switch {
	case j.prev == nil:
		res.Added = append(res.Added, ref)
	case changed:
		res.Changed = append(res.Changed, ref)
	}
	if out.outcome == OutcomeReused {
		er.Reused++
	} else {
		er.Read++
	}
	res.Secrets = append(res.Secrets, out.secrets...)
	w.rep.FlowDone(FlowEvent{Env: ref.Env, Flow: ref.Flow, DisplayName: ref.DisplayName, Outcome: out.outcome})
	return &out.summary, nil
}

// readStoredMeta reads a stored flow.json (writer goroutine only).
func (w *writer) readStoredMeta(ctx context.Context, pf prevFlow) (*storedMeta, error) {
	h, ok := pf.files[FlowFileName]
	if !ok {
		return nil, fmt.Errorf("%s%s: %w", pf.dir, FlowFileName, repo.ErrNotFound)
	}
	b, err := w.rp.ReadBlob(ctx, h)
	if err != nil {
		return nil, err
	}
	m, err := parseStoredMeta(b)
	if err != nil {
		return nil, fmt.Errorf("%s%s: %w", pf.dir, FlowFileName, err)
	}
	if h, ok := pf.files[ConnectionsFileName]; ok {
		if b, err = w.rp.ReadBlob(ctx, h); err != nil {
			return nil, err
		}
		if m.connections, err = parseStoredConnections(b); err != nil {
			return nil, fmt.Errorf("%s%s: %w", pf.dir, ConnectionsFileName, err)
		}
	}
	return m, nil
}

// hasPlaceholders reports whether a stored definition had secrets redacted
// (writer goroutine only). When it cannot tell, it says yes: reading the
// flow again is the safe side.
func (w *writer) hasPlaceholders(ctx context.Context, pf prevFlow) bool {
	h, ok := pf.files[DefinitionFileName]
	if !ok {
		return false
	}
	b, err := w.rp.ReadBlob(ctx, h)
	if err != nil {
		return true
	}
	paths, err := secrets.Placeholders(b)
	return err != nil || len(paths) > 0
}

// commitMessage summarizes the run: counts, then the flows added, changed
// and removed by display name.
func commitMessage(subject string, r *Result) string {
	var sb strings.Builder
	flows := 0
	for _, e := range r.Environments {
		flows += e.Flows
	}
	if subject == "" {
		subject = fmt.Sprintf("Export %d environment%s, %d flow%s: %d added, %d changed, %d removed",
			len(r.Environments), plural(len(r.Environments)), flows, plural(flows), len(r.Added), len(r.Changed), len(r.Removed))
	}
	sb.WriteString(oneLine(subject))
	sb.WriteString("\n")
	section := func(title string, refs []FlowRef) {
		if len(refs) == 0 {
			return
		}
		fmt.Fprintf(&sb, "\n%s:\n", title)
		for _, f := range refs {
			name := oneLine(f.DisplayName)
			if name == "" {
				name = string(f.Flow)
			}
			fmt.Fprintf(&sb, "- %s (%s, %s)\n", name, f.Env, f.Flow)
		}
	}
	section("Added", r.Added)
	section("Changed", r.Changed)
	section("Removed", r.Removed)
	if len(r.Failed) > 0 {
		fmt.Fprintf(&sb, "\nNot read (previous version kept where there was one):\n")
		for _, f := range r.Failed {
			fmt.Fprintf(&sb, "- %s (%s, %s)\n", oneLine(f.DisplayName), f.Env, f.Flow)
		}
	}
	if n := len(r.Secrets); n > 0 {
		fmt.Fprintf(&sb, "\n%d secret%s redacted (see the run report for paths).\n", n, plural(n))
	}
	return sb.String()
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// oneLine keeps user-controlled names from breaking the message layout.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
