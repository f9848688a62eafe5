package sync

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/model"
	"github.com/flowsync/flowsync/repo"
)

// ErrEnvNotInTree is returned when a revision holds no environment by the
// name (or display name) asked for.
var ErrEnvNotInTree = errors.New("environment not in the tree")

// Snapshot is one environment as a commit of the backup tree stores it.
type Snapshot struct {
	// Commit is the revision read.
	Commit plumbing.Hash
	Env    model.Environment
	// Flows are sorted by key; soft-deleted records (state Deleted) are
	// included, so that the plan can name them.
	Flows []model.Flow
	// Sealed holds each flow's secrets.age (the redacted secrets encrypted
	// by an export with --encrypt-to), by flow name; absent when none.
	Sealed map[api.FlowName][]byte
}

// ResolveRev turns a revision into a commit: rev when given (any form git
// accepts: hash, branch, tag, main~2), else the head of branch. An empty
// repository or an unknown revision is an error that says so.
func ResolveRev(ctx context.Context, rp *repo.Repo, rev, branch string) (plumbing.Hash, error) {
	if rev != "" {
		h, err := rp.ResolveCommit(ctx, rev)
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("revision %q in %s: %w", rev, rp.Dir(), err)
		}
		return h, nil
	}
	h, err := rp.Head(ctx, branch)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("branch %q of %s: %w", branch, rp.Dir(), err)
	}
	if h.IsZero() {
		name := branch
		if name == "" {
			name = "HEAD"
		}
		return plumbing.ZeroHash, fmt.Errorf("%s has no commit on %s yet: run flowsync export first: %w", rp.Dir(), name, repo.ErrNotFound)
	}
	return h, nil
}

// TreeEnvironments lists the environments a commit stores, sorted by name.
func TreeEnvironments(ctx context.Context, rp *repo.Repo, commit plumbing.Hash) ([]model.Environment, error) {
	t, err := rp.ReadTree(ctx, commit)
	if err != nil {
		return nil, err
	}
	entries, err := t.List(model.EnvironmentsDir)
	if err != nil {
		return nil, fmt.Errorf("list %s at %s: %w", model.EnvironmentsDir, commit, err)
	}
	var out []model.Environment
	for _, e := range entries {
		if !e.IsDir {
			continue
		}
		p := model.EnvironmentsDir + "/" + e.Name + "/" + model.EnvironmentFileName
		h, err := t.Lookup(p)
		if err != nil {
			return nil, fmt.Errorf("%s at %s: %w", p, commit, err)
		}
		b, err := rp.ReadBlob(ctx, h)
		if err != nil {
			return nil, err
		}
		env, err := model.ParseEnvironmentFile(b)
		if err != nil {
			return nil, fmt.Errorf("%s at %s: %w", p, commit, err)
		}
		if string(env.Name) != e.Name {
			return nil, fmt.Errorf("%s at %s names environment %q", p, commit, env.Name)
		}
		out = append(out, env)
	}
	return out, nil
}

// ResolveTreeEnv finds the environment a user named (its name, in any
// case, or a unique display name, case-insensitively) among those a
// commit stores.
func ResolveTreeEnv(ctx context.Context, rp *repo.Repo, commit plumbing.Hash, name string) (model.Environment, error) {
	envs, err := TreeEnvironments(ctx, rp, commit)
	if err != nil {
		return model.Environment{}, err
	}
	for _, e := range envs {
		if strings.EqualFold(string(e.Name), name) {
			return e, nil
		}
	}
	var matches []model.Environment
	for _, e := range envs {
		if strings.EqualFold(strings.TrimSpace(e.DisplayName), strings.TrimSpace(name)) {
			matches = append(matches, e)
		}
	}
	switch len(matches) {
	case 1:
		return matches[0], nil
	case 0:
		var have []string
		for _, e := range envs {
			have = append(have, fmt.Sprintf("%s (%q)", e.Name, e.DisplayName))
		}
		if len(have) == 0 {
			have = []string{"none"}
		}
		return model.Environment{}, fmt.Errorf("environment %q at %s: %w; the tree has %s", name, shortHash(commit), ErrEnvNotInTree, strings.Join(have, ", "))
	default:
		var names []string
		for _, m := range matches {
			names = append(names, string(m.Name))
		}
		return model.Environment{}, fmt.Errorf("environment display name %q is ambiguous at %s: name one of %s", name, shortHash(commit), strings.Join(names, ", "))
	}
}

// LoadTreeEnv reads the environment name (as ResolveTreeEnv finds it) of
// the tree at rev, or at branch's head when rev is empty; the snapshot
// carries the commit and the environment.
func LoadTreeEnv(ctx context.Context, rp *repo.Repo, rev, branch, name string) (*Snapshot, error) {
	commit, err := ResolveRev(ctx, rp, rev, branch)
	if err != nil {
		return nil, err
	}
	env, err := ResolveTreeEnv(ctx, rp, commit, name)
	if err != nil {
		return nil, err
	}
	return LoadSnapshot(ctx, rp, commit, env)
}

// LoadSnapshot reads every flow of env at commit. A flow directory that
// does not parse is an error naming it: a plan made from a partial tree
// could delete what it failed to read.
func LoadSnapshot(ctx context.Context, rp *repo.Repo, commit plumbing.Hash, env model.Environment) (*Snapshot, error) {
	t, err := rp.ReadTree(ctx, commit)
	if err != nil {
		return nil, err
	}
	envDir, err := model.EnvDir(env.Name)
	if err != nil {
		return nil, err
	}
	flowsDir := envDir + "/" + model.FlowsDir + "/"
	byFlow := map[string]map[string][]byte{}
	var order []string
	err = t.Walk(strings.TrimSuffix(flowsDir, "/"), func(p string, h plumbing.Hash) error {
		rel := strings.TrimPrefix(p, flowsDir)
		name, file, ok := strings.Cut(rel, "/")
		if !ok || strings.Contains(file, "/") {
			return fmt.Errorf("%s at %s: unexpected path in the flows directory", p, shortHash(commit))
		}
		b, err := rp.ReadBlob(ctx, h)
		if err != nil {
			return err
		}
		files, seen := byFlow[name]
		if !seen {
			files = map[string][]byte{}
			byFlow[name] = files
			order = append(order, name)
		}
		files[file] = b
		return nil
	})
	if err != nil {
		return nil, err
	}
	snap := &Snapshot{Commit: commit, Env: env, Sealed: map[api.FlowName][]byte{}}
	for _, name := range order {
		if sealed, ok := byFlow[name][model.SecretsFileName]; ok {
			snap.Sealed[api.FlowName(name)] = sealed
		}
		f, err := model.ParseFiles(model.Key{Env: env.Name, Flow: api.FlowName(name)}, byFlow[name])
		if err != nil {
			return nil, fmt.Errorf("%s%s at %s: %w", flowsDir, name, shortHash(commit), err)
		}
		snap.Flows = append(snap.Flows, f)
	}
	slices.SortFunc(snap.Flows, func(a, b model.Flow) int { return a.Key.Compare(b.Key) })
	return snap, nil
}

func shortHash(h plumbing.Hash) string { return h.String()[:10] }
