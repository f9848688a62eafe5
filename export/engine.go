package export

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/sourcegraph/conc/pool"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/model"
	"github.com/flowsync/flowsync/internal/safetext"
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

// EnvFailure is an environment that --all-envs skipped: its name cannot be
// stored, or its flows could not be listed. Its stored files stay as they
// were.
type EnvFailure struct {
	Name        api.EnvName `json:"name"`
	DisplayName string      `json:"displayName"`
	Err         string      `json:"error"`
}

// Result is the report of a run: what it read, changed and committed.
type Result struct {
	Environments []EnvResult   `json:"environments"`
	Skipped      []EnvFailure  `json:"skippedEnvironments"`
	Added        []FlowRef     `json:"added"`
	Changed      []FlowRef     `json:"changed"`
	Removed      []FlowRef     `json:"removed"`
	Failed       []FlowFailure `json:"failed"`
	Secrets      []SecretRef   `json:"secrets"`
	Commit       string        `json:"commit,omitempty"`
	Committed    bool          `json:"committed"`
	Files        repo.Stats    `json:"files"`
}

// sort orders every list by environment, then flow, so that the commit
// message and the report do not depend on the order reads finished in.
func (r *Result) sort() {
	byRef := func(a, b FlowRef) int {
		return cmp.Or(cmp.Compare(a.Env, b.Env), cmp.Compare(a.Flow, b.Flow))
	}
	for _, refs := range [][]FlowRef{r.Added, r.Changed, r.Removed} {
		slices.SortFunc(refs, byRef)
	}
	slices.SortFunc(r.Failed, func(a, b FlowFailure) int { return byRef(a.FlowRef, b.FlowRef) })
	slices.SortStableFunc(r.Secrets, func(a, b SecretRef) int {
		return cmp.Or(byRef(a.FlowRef, b.FlowRef), cmp.Compare(a.Path, b.Path))
	})
	slices.SortFunc(r.Skipped, func(a, b EnvFailure) int { return cmp.Compare(a.Name, b.Name) })
}

// Partial reports whether some flows could not be read or some
// environments were skipped.
func (r *Result) Partial() bool { return len(r.Failed) > 0 || len(r.Skipped) > 0 }

// Replay is what a push needs from a run besides its report: the way to
// replay the run's work onto another tip when another job moved the remote
// branch meanwhile.
type Replay struct {
	rp         *repo.Repo
	builder    *repo.Builder
	commitOpts repo.CommitOptions
	committed  bool
}

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
func (r *Replay) Rebuilder() func(ctx context.Context, newTip plumbing.Hash) (plumbing.Hash, error) {
	if r == nil || r.rp == nil {
		return nil
	}
	// Units of replay: environments/<env> and top-level files.
	const unitDepth = 2
	if !r.committed {
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
// and is listed in Result.Failed; the run still commits the rest. With
// AllEnvs, an environment whose name cannot be stored or whose flows cannot
// be listed is skipped (Result.Skipped) and keeps what was stored. The
// Replay is for a push that has to rebuild the run on a newer remote tip.
func Run(ctx context.Context, src Source, rp *repo.Repo, opts Options, rep Reporter) (*Result, *Replay, error) {
	opts = withDefaults(opts)
	if rep == nil {
		rep = nopReporter{}
	}
	envs, err := selectEnvironments(ctx, src, opts)
	if err != nil {
		return nil, nil, err
	}

	base, err := rp.Head(ctx, opts.Branch)
	if err != nil {
		return nil, nil, fmt.Errorf("read branch %s: %w", opts.Branch, err)
	}
	prevTree, err := rp.ReadTree(ctx, base)
	if err != nil {
		return nil, nil, err
	}
	listings, skipped, err := listAll(ctx, src, envs, prevTree, opts)
	if err != nil {
		return nil, nil, err
	}

	b, err := rp.NewBuilder(ctx, base)
	if err != nil {
		return nil, nil, err
	}
	defer b.Discard() // a run that fails leaves no temporary pack behind
	w := &writer{rp: rp, b: b, prev: prevTree, opts: opts, rep: rep, src: src, res: &Result{Skipped: skipped}}
	if opts.Incremental {
		w.sound = loadSoundCache(rp.GitDir())
	}
	if err := w.put(RootFileName, rootFile()); err != nil {
		return nil, nil, err
	}
	for _, l := range listings {
		if err := w.exportEnvironment(ctx, l); err != nil {
			return nil, nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	res := w.res
	res.sort()
	commitOpts := repo.CommitOptions{
		Branch:  opts.Branch,
		Message: commitMessage(opts.Message, res),
		Author:  opts.Author,
	}
	if commitOpts.Author.When.IsZero() {
		commitOpts.Author.When = opts.Now()
	}
	cr, err := b.Commit(ctx, commitOpts)
	if err != nil {
		return nil, nil, err
	}
	if w.sound != nil {
		// Only a shortcut for the next run: a cache that cannot be
		// written costs that run time, never correctness.
		_ = w.sound.save()
	}
	res.Committed = cr.Changed
	res.Files = cr.Stats
	if !cr.Commit.IsZero() {
		res.Commit = cr.Commit.String()
	}
	return res, &Replay{rp: rp, builder: b, commitOpts: commitOpts, committed: cr.Changed}, nil
}

// selectEnvironments resolves the selection against the source's listing,
// sorted by name. A named environment whose name cannot be stored is an
// error; under AllEnvs it is left to listAll, which skips it.
func selectEnvironments(ctx context.Context, src Source, opts Options) ([]api.Environment, error) {
	all, err := src.Environments(ctx)
	if err != nil {
		return nil, fmt.Errorf("list environments: %w", err)
	}
	var envs []api.Environment
	if opts.AllEnvs {
		envs = slices.Clone(all)
		slices.SortFunc(envs, func(a, b api.Environment) int { return cmp.Compare(a.Name, b.Name) })
	} else {
		if envs, err = ResolveEnvironments(all, opts.Envs); err != nil {
			return nil, err
		}
		for _, e := range envs {
			if err := validateEnv(e.Name); err != nil {
				return nil, err
			}
		}
	}
	if len(envs) == 0 {
		return nil, ErrNoEnvironments
	}
	return envs, nil
}

// listAll lists every environment before anything is written: the shrink
// guard must see them all first. Under AllEnvs an environment that cannot
// be stored or listed is skipped; a named one fails the run. A cancelled
// context always fails it.
func listAll(ctx context.Context, src Source, envs []api.Environment, prevTree *repo.Tree, opts Options) ([]listing, []EnvFailure, error) {
	var listings []listing
	var skipped []EnvFailure
	for _, e := range envs {
		l, err := listEnvironment(ctx, src, e, prevTree)
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return nil, nil, ctxErr
			}
			if !opts.AllEnvs {
				return nil, nil, err
			}
			skipped = append(skipped, EnvFailure{Name: e.Name, DisplayName: e.Properties.DisplayName, Err: err.Error()})
			continue
		}
		if err := checkShrink(l, opts.AllowShrink); err != nil {
			return nil, nil, err
		}
		listings = append(listings, l)
	}
	if len(listings) == 0 {
		return nil, nil, fmt.Errorf("no environment could be listed: %s", describeSkipped(skipped))
	}
	return listings, skipped, nil
}

func describeSkipped(skipped []EnvFailure) string {
	parts := make([]string, len(skipped))
	for i, s := range skipped {
		parts[i] = fmt.Sprintf("%s: %s", safetext.Quote(string(s.Name)), s.Err)
	}
	return strings.Join(parts, "; ")
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
	slices.SortFunc(l.flows, func(a, b api.Flow) int { return cmp.Compare(a.Name, b.Name) })

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
	// sound caches the definitions found sound by --incremental runs.
	sound *soundCache
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
	meta *storedMeta // previous flow.json, references and permissions, read by the writer
	// storedSound: the stored files parse and are in canonical form, so they
	// may be reused as they are (--incremental).
	storedSound bool
	// unsealed: the stored definition has placeholders but no secrets.age.
	unsealed bool
	// sealedPaths are the placeholder paths of the stored definition when a
	// secrets.age is stored beside it (for secrets.ShouldReseal).
	sealedPaths []string
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

// exportEnvironment writes one environment's directory: environment.json,
// each flow (read concurrently, written here), and the README index.
func (w *writer) exportEnvironment(ctx context.Context, l listing) error {
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
	summaries, err := w.writeFlows(ctx, l, w.prepareJobs(ctx, l), &er)
	if err != nil {
		return err
	}
	for _, bad := range l.bad {
		w.res.Failed = append(w.res.Failed, bad)
		er.Failed++
	}
	w.recordRemoved(ctx, l)

	slices.SortFunc(summaries, func(a, b FlowSummary) int { return cmp.Compare(a.Key.Flow, b.Key.Flow) })
	readme, err := environmentIndex(l.env, summaries)
	if err != nil {
		return err
	}
	if err := w.put(l.dir+IndexFileName, readme); err != nil {
		return err
	}
	w.res.Environments = append(w.res.Environments, er)
	return nil
}

// prepareJobs pairs each listed flow with what the previous commit stored of
// it. Not only --incremental needs the stored files: a flow that cannot be
// read keeps its index row from them, a soft-deleted flow its metadata, and
// an unmodified flow its sealed secrets.
func (w *writer) prepareJobs(ctx context.Context, l listing) []flowJob {
	jobs := make([]flowJob, 0, len(l.flows))
	for _, f := range l.flows {
		j := flowJob{sum: f}
		if pf, ok := l.prev[f.Name]; ok {
			j.prev = &pf
			if m, err := w.readStoredMeta(ctx, pf); err == nil {
				j.meta = m
			}
			if w.opts.Sealer != nil && (w.opts.Incremental || hasFiles(&pf, SecretsFileName)) {
				j.sealedPaths, j.unsealed = w.storedSecrets(ctx, pf)
			}
			// Reading every stored definition costs time; only a flow that
			// could be reused needs the check.
			if w.opts.Incremental && j.meta != nil && j.meta.LastModifiedTime == f.Properties.LastModifiedTime {
				j.storedSound = w.storedSound(ctx, l.env.Name, f.Name, pf)
			}
		}
		jobs = append(jobs, j)
	}
	return jobs
}

// writeFlows reads the jobs on bounded reader goroutines and writes their
// output as it arrives; it returns the index rows. A write error stops the
// readers; the run then fails.
func (w *writer) writeFlows(ctx context.Context, l listing, jobs []flowJob, er *EnvResult) ([]FlowSummary, error) {
	results := make(chan flowOut, w.opts.Concurrency)
	readCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		p := pool.New().WithMaxGoroutines(w.opts.Concurrency)
		for _, j := range jobs {
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
		s, err := w.writeFlow(l, out, er)
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
		return nil, werr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return summaries, nil
}

// recordRemoved lists the flows gone from the listing: ReplaceSubtree
// already dropped their files (history keeps them).
func (w *writer) recordRemoved(ctx context.Context, l listing) {
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
	slices.Sort(removed)
	for _, name := range removed {
		ref := FlowRef{Env: l.env.Name, Flow: name}
		if m, err := w.readStoredMeta(ctx, l.prev[name]); err == nil {
			ref.DisplayName = m.DisplayName
		}
		w.res.Removed = append(w.res.Removed, ref)
	}
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
	slices.Sort(names)
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

// readStoredMeta reads a stored flow.json, connections.json and
// permissions.json (writer goroutine only): the index row of a flow that
// cannot be read comes from them, as do the files it keeps.
func (w *writer) readStoredMeta(ctx context.Context, pf prevFlow) (*storedMeta, error) {
	read := func(name string) ([]byte, bool, error) {
		h, ok := pf.files[name]
		if !ok {
			return nil, false, nil
		}
		b, err := w.rp.ReadBlob(ctx, h)
		if err != nil {
			return nil, false, fmt.Errorf("%s%s: %w", pf.dir, name, err)
		}
		return b, true, nil
	}
	b, ok, err := read(FlowFileName)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%s%s: %w", pf.dir, FlowFileName, repo.ErrNotFound)
	}
	m, err := parseStoredMeta(b)
	if err != nil {
		return nil, fmt.Errorf("%s%s: %w", pf.dir, FlowFileName, err)
	}
	if b, ok, err = read(ConnectionsFileName); err != nil {
		return nil, err
	} else if ok {
		if m.connections, err = parseStoredConnections(b); err != nil {
			return nil, fmt.Errorf("%s%s: %w", pf.dir, ConnectionsFileName, err)
		}
	}
	if b, ok, err = read(PermissionsFileName); err != nil {
		return nil, err
	} else if ok {
		if m.permissions, err = parseStoredPermissions(b); err != nil {
			return nil, fmt.Errorf("%s%s: %w", pf.dir, PermissionsFileName, err)
		}
	}
	return m, nil
}

// storedSecrets reads the placeholder paths of a stored flow (writer
// goroutine only): secrets are redacted in the definition and in the extra
// members of flow.json and the connection references. With a secrets.age
// beside them, they are the paths it sealed; without one, placeholders mean
// the flow was stored by an export without --encrypt-to, so its secrets were
// never sealed (unsealed). When a file cannot be read or parsed, it says
// unsealed: reading the flow again is the safe side.
func (w *writer) storedSecrets(ctx context.Context, pf prevFlow) (sealedPaths []string, unsealed bool) {
	var paths []string
	for _, n := range []string{FlowFileName, DefinitionFileName, ConnectionsFileName} {
		h, ok := pf.files[n]
		if !ok {
			continue
		}
		b, err := w.rp.ReadBlob(ctx, h)
		if err != nil {
			return nil, true
		}
		ps, err := secrets.Placeholders(b)
		if err != nil {
			return nil, true
		}
		paths = append(paths, ps...)
	}
	if hasFiles(&pf, SecretsFileName) {
		return paths, false
	}
	return nil, len(paths) > 0
}

// storedSound reports whether a stored flow's files parse as the format
// says and are byte for byte what an export would write for them (writer
// goroutine only). A hand-edited or corrupted file (a merge-conflict
// marker, invalid JSON, other formatting) fails, so the flow is read again
// instead of the damage being kept forever.
//
// A definition found sound before (w.sound, by blob hash) is not read
// again: the other three files are checked against a stand-in definition.
func (w *writer) storedSound(ctx context.Context, env api.EnvName, name api.FlowName, pf prevFlow) bool {
	def, ok := pf.files[DefinitionFileName]
	if !ok {
		return false
	}
	cached := w.sound != nil && w.sound.has(def)
	stored := make(map[string][]byte, len(pf.files))
	for _, n := range []string{FlowFileName, DefinitionFileName, ConnectionsFileName, PermissionsFileName} {
		h, ok := pf.files[n]
		if !ok {
			return false
		}
		if n == DefinitionFileName && cached {
			stored[n] = []byte("{}\n")
			continue
		}
		b, err := w.rp.ReadBlob(ctx, h)
		if err != nil {
			return false
		}
		stored[n] = b
	}
	f, err := model.ParseFiles(model.Key{Env: env, Flow: name}, stored)
	if err != nil {
		return false
	}
	again, err := model.Files(f)
	if err != nil {
		return false
	}
	for n, b := range stored {
		if !bytes.Equal(again[n], b) {
			return false
		}
	}
	if w.sound != nil {
		w.sound.add(def)
	}
	return true
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
	// The operator's --message may span lines; the subject is one.
	sb.WriteString(safetext.Line(strings.Join(strings.Fields(subject), " ")))
	sb.WriteString("\n")
	section := func(title string, refs []FlowRef) {
		if len(refs) == 0 {
			return
		}
		fmt.Fprintf(&sb, "\n%s:\n", title)
		for _, f := range refs {
			name := safetext.Line(f.DisplayName)
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
			fmt.Fprintf(&sb, "- %s (%s, %s)\n", safetext.Line(f.DisplayName), f.Env, safetext.Line(string(f.Flow)))
		}
	}
	if len(r.Skipped) > 0 {
		fmt.Fprintf(&sb, "\nEnvironments skipped (stored files kept):\n")
		for _, e := range r.Skipped {
			fmt.Fprintf(&sb, "- %s (%s)\n", safetext.Line(e.DisplayName), safetext.Line(string(e.Name)))
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
