package history

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/model"
	"github.com/flowsync/flowsync/repo"
)

// Store is what history reads from the Git repository. *repo.Repo is one;
// like it, a Store belongs to one goroutine.
type Store interface {
	// ResolveCommit turns a revision into a commit hash; unknown revisions
	// give an error wrapping repo.ErrNotFound.
	ResolveCommit(ctx context.Context, rev string) (plumbing.Hash, error)
	// Commit reads one commit's metadata.
	Commit(ctx context.Context, h plumbing.Hash) (repo.CommitInfo, error)
	// FirstParentLog walks from a commit along first parents, newest first.
	FirstParentLog(ctx context.Context, from plumbing.Hash, fn func(repo.CommitInfo) error) error
	// ReadTree gives a commit's files; the zero hash gives an empty tree.
	ReadTree(ctx context.Context, commit plumbing.Hash) (*repo.Tree, error)
	// ReadBlob returns a file's content.
	ReadBlob(ctx context.Context, h plumbing.Hash) ([]byte, error)
}

var _ Store = (*repo.Repo)(nil)

// Errors a caller may want to tell apart. Each is wrapped with the name
// that was looked up and what to do.
var (
	ErrNoSuchEnv  = errors.New("no such environment")
	ErrNoSuchFlow = errors.New("no such flow")
	ErrAmbiguous  = errors.New("ambiguous name")
	ErrNoCommits  = errors.New("no commits")
)

// resolveRev resolves rev (default HEAD) and says plainly when the
// repository has no commit yet.
func resolveRev(ctx context.Context, s Store, rev string) (plumbing.Hash, error) {
	if rev == "" {
		rev = "HEAD"
	}
	h, err := s.ResolveCommit(ctx, rev)
	if err != nil {
		if rev == "HEAD" && errors.Is(err, repo.ErrNotFound) {
			return plumbing.ZeroHash, fmt.Errorf("%w: the repository has no backup yet (run flowsync export first)", ErrNoCommits)
		}
		return plumbing.ZeroHash, fmt.Errorf("revision %q: %w", rev, err)
	}
	return h, nil
}

// envNames lists the environment directories of a tree.
func envNames(t *repo.Tree) ([]api.EnvName, error) {
	ents, err := t.List(model.EnvironmentsDir)
	if err != nil {
		return nil, err
	}
	var out []api.EnvName
	for _, e := range ents {
		if e.IsDir && model.ValidateEnvName(api.EnvName(e.Name)) == nil {
			out = append(out, api.EnvName(e.Name))
		}
	}
	return out, nil
}

// readEnvironment reads environment.json of env in t; ok is false when
// there is none.
func readEnvironment(ctx context.Context, s Store, t *repo.Tree, env api.EnvName) (model.Environment, bool, error) {
	dir, err := model.EnvDir(env)
	if err != nil {
		return model.Environment{}, false, err
	}
	h, err := t.Lookup(dir + "/" + model.EnvironmentFileName)
	if errors.Is(err, repo.ErrNotFound) {
		return model.Environment{}, false, nil
	}
	if err != nil {
		return model.Environment{}, false, err
	}
	b, err := s.ReadBlob(ctx, h)
	if err != nil {
		return model.Environment{}, false, err
	}
	e, err := model.ParseEnvironmentFile(b)
	if err != nil {
		return model.Environment{}, false, fmt.Errorf("environment %s: %w", env, err)
	}
	return e, true, nil
}

// ResolveEnv finds the environment spec names in t: its directory name
// (ignoring case), or else its display name in environment.json (exactly,
// then ignoring case) when only one environment has it. Anything else is
// ErrNoSuchEnv.
func ResolveEnv(ctx context.Context, s Store, t *repo.Tree, spec string) (api.EnvName, error) {
	if strings.TrimSpace(spec) == "" {
		return "", fmt.Errorf("%w: no environment named (give its name or display name)", ErrNoSuchEnv)
	}
	names, err := envNames(t)
	if err != nil {
		return "", err
	}
	for _, n := range names {
		if strings.EqualFold(string(n), spec) {
			return n, nil
		}
	}
	displays := make(map[api.EnvName]string, len(names))
	for _, n := range names {
		e, ok, err := readEnvironment(ctx, s, t, n)
		if err != nil {
			return "", err
		}
		if ok {
			displays[n] = e.DisplayName
		}
	}
	for _, eq := range []func(a, b string) bool{func(a, b string) bool { return a == b }, strings.EqualFold} {
		var hits []api.EnvName
		for _, n := range names {
			if d, ok := displays[n]; ok && eq(d, spec) {
				hits = append(hits, n)
			}
		}
		switch len(hits) {
		case 0:
			continue
		case 1:
			return hits[0], nil
		default:
			slices.Sort(hits)
			return "", fmt.Errorf("%w: environment display name %q fits %d environments (%s); name one by its environment name",
				ErrAmbiguous, spec, len(hits), joinEnvs(hits))
		}
	}
	return "", fmt.Errorf("%w: %q is neither an environment name nor the display name of an environment in the tree (stored: %s)",
		ErrNoSuchEnv, spec, joinEnvs(names))
}

func joinEnvs(names []api.EnvName) string {
	if len(names) == 0 {
		return "none"
	}
	s := make([]string, len(names))
	for i, n := range names {
		s[i] = string(n)
	}
	return strings.Join(s, ", ")
}

// flowDirs lists the flow directories of env in t by flow name, with each
// directory's tree hash (equal hashes: equal flows).
func flowDirs(t *repo.Tree, env api.EnvName) (map[api.FlowName]plumbing.Hash, error) {
	dir, err := model.EnvDir(env)
	if err != nil {
		return nil, err
	}
	ents, err := t.List(dir + "/" + model.FlowsDir)
	if err != nil {
		return nil, err
	}
	out := make(map[api.FlowName]plumbing.Hash, len(ents))
	for _, e := range ents {
		if e.IsDir {
			out[api.FlowName(e.Name)] = e.Hash
		}
	}
	return out, nil
}

// readFlowFiles returns the files of a flow's directory by name; nil when
// the directory does not exist.
func readFlowFiles(ctx context.Context, s Store, t *repo.Tree, env api.EnvName, flow api.FlowName) (map[string][]byte, error) {
	dir, err := model.FlowDir(env, flow)
	if err != nil {
		return nil, err
	}
	ents, err := t.List(dir)
	if err != nil {
		return nil, err
	}
	if len(ents) == 0 {
		return nil, nil
	}
	files := make(map[string][]byte, len(ents))
	for _, e := range ents {
		if e.IsDir {
			files[e.Name+"/"] = nil // ParseFiles refuses it by name
			continue
		}
		b, err := s.ReadBlob(ctx, e.Hash)
		if err != nil {
			return nil, fmt.Errorf("flow %s/%s: %s: %w", env, flow, e.Name, err)
		}
		files[e.Name] = b
	}
	return files, nil
}

// readFlow reads and parses a flow of t; nil when it is not there.
func readFlow(ctx context.Context, s Store, t *repo.Tree, env api.EnvName, flow api.FlowName) (*model.Flow, error) {
	files, err := readFlowFiles(ctx, s, t, env, flow)
	if err != nil || files == nil {
		return nil, err
	}
	f, err := model.ParseFiles(model.Key{Env: env, Flow: flow}, files)
	if err != nil {
		return nil, err
	}
	return &f, nil
}

// readDisplayName reads only flow.json's displayName (for name lookups over
// many flows).
func readDisplayName(ctx context.Context, s Store, t *repo.Tree, env api.EnvName, flow api.FlowName) (string, error) {
	dir, err := model.FlowDir(env, flow)
	if err != nil {
		return "", err
	}
	h, err := t.Lookup(dir + "/" + model.FlowFileName)
	if err != nil {
		return "", err
	}
	b, err := s.ReadBlob(ctx, h)
	if err != nil {
		return "", err
	}
	var meta struct {
		DisplayName string `json:"displayName"`
	}
	if err := json.Unmarshal(b, &meta); err != nil {
		return "", fmt.Errorf("flow %s/%s: %s: %w", env, flow, model.FlowFileName, err)
	}
	return meta.DisplayName, nil
}

// readRev resolves rev (resolveRev) and reads its tree: where Log and Show
// start.
func readRev(ctx context.Context, s Store, rev string) (plumbing.Hash, *repo.Tree, error) {
	h, err := resolveRev(ctx, s, rev)
	if err != nil {
		return plumbing.ZeroHash, nil, err
	}
	t, err := s.ReadTree(ctx, h)
	if err != nil {
		return plumbing.ZeroHash, nil, err
	}
	return h, t, nil
}
