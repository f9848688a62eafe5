package history

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/canon"
	"github.com/flowsync/flowsync/internal/model"
	"github.com/flowsync/flowsync/repo"
)

// Parts a flow is stored in, by the name `show --part` takes.
var partFiles = map[string]string{
	"flow":        model.FlowFileName,
	"definition":  model.DefinitionFileName,
	"connections": model.ConnectionsFileName,
	"permissions": model.PermissionsFileName,
}

// Parts lists the part names Show accepts, sorted.
func Parts() []string {
	out := make([]string, 0, len(partFiles))
	for p := range partFiles {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// ShowOptions name a flow at a revision.
type ShowOptions struct {
	Rev  string // default HEAD
	Env  string // name or display name
	Flow string // GUID, display name, or a former display name
	// Part is one of Parts, or "" for all parts in one JSON document.
	Part string
}

// Shown is a flow's stored JSON at a revision.
type Shown struct {
	Commit      string
	Env         api.EnvName
	Flow        api.FlowName
	DisplayName string
	// Path is the file Data came from ("" for the whole flow).
	Path string
	// Data is the stored file byte for byte, or for the whole flow a
	// canonical JSON object with one member per stored part.
	Data []byte
}

// Show returns a flow's stored JSON at a revision: one part exactly as the
// tree holds it, or all of them.
func Show(ctx context.Context, s Store, opts ShowOptions) (*Shown, error) {
	file, ok := partFiles[opts.Part]
	if opts.Part != "" && !ok {
		return nil, fmt.Errorf("part %q: want one of %s", opts.Part, strings.Join(Parts(), ", "))
	}
	head, t, err := readRev(ctx, s, opts.Rev)
	if err != nil {
		return nil, err
	}
	env, err := ResolveEnv(ctx, s, t, opts.Env)
	if err != nil {
		return nil, err
	}
	flow, err := resolveFlowAt(ctx, s, head, t, env, opts.Flow)
	if err != nil {
		return nil, err
	}
	files, err := readFlowFiles(ctx, s, t, env, flow)
	if err != nil {
		return nil, err
	}
	var name struct {
		DisplayName string `json:"displayName"`
		State       string `json:"state"`
	}
	if err := json.Unmarshal(files[model.FlowFileName], &name); err != nil {
		return nil, fmt.Errorf("flow %s/%s: %s: %w", env, flow, model.FlowFileName, err)
	}
	out := &Shown{Commit: head.String(), Env: env, Flow: flow, DisplayName: name.DisplayName}
	dir, _ := model.FlowDir(env, flow)
	if opts.Part != "" {
		b, ok := files[file]
		if !ok {
			why := "it is not stored"
			if name.State == api.StateDeleted {
				why = "the flow was deleted before it was first backed up, so only its record (flow.json) is stored"
			}
			return nil, fmt.Errorf("%w: flow %s (%q) at %s has no %s: %s", ErrNoSuchFlow, flow, name.DisplayName, short(head.String()), file, why)
		}
		out.Path, out.Data = dir+"/"+file, b
		return out, nil
	}
	whole := map[string]json.RawMessage{}
	for part, f := range partFiles {
		if b, ok := files[f]; ok {
			whole[part] = b
		}
	}
	if out.Data, err = canon.Marshal(whole); err != nil {
		return nil, fmt.Errorf("flow %s/%s: %w", env, flow, err)
	}
	return out, nil
}

// resolveFlowAt finds the flow spec names in env at commit head (tree t):
// a GUID, a display name it has there, or one it had before. A flow that is
// not in t is an error naming the last commit that stored it.
func resolveFlowAt(ctx context.Context, s Store, head plumbing.Hash, t *repo.Tree, env api.EnvName, spec string) (api.FlowName, error) {
	if strings.TrimSpace(spec) == "" {
		return "", fmt.Errorf("%w: no flow named (give its GUID or display name)", ErrNoSuchFlow)
	}
	dirs, err := flowDirs(t, env)
	if err != nil {
		return "", err
	}
	flow, guidErr := model.CanonicalFlowName(api.FlowName(spec))
	if guidErr == nil {
		if _, ok := dirs[flow]; ok {
			return flow, nil
		}
	} else {
		current, err := currentNames(ctx, s, t, env)
		if err != nil {
			return "", err
		}
		var entries []Entry
		if !slices.Contains(mapValues(current), spec) {
			// Only a former name can match: read the history for names.
			if entries, err = walk(ctx, s, head, env, ""); err != nil {
				return "", err
			}
		}
		if flow, err = matchFlow(spec, env, current, entries); err != nil {
			return "", err
		}
		if _, ok := dirs[flow]; ok {
			return flow, nil
		}
	}
	// Not in this tree: say when it last was.
	entries, err := walk(ctx, s, head, env, flow)
	if err != nil {
		return "", err
	}
	for _, e := range entries {
		for _, c := range e.Flows {
			if c.Deletion == DeletedGone {
				return "", fmt.Errorf("%w: flow %s (%q) is not in environment %s at %s: commit %s (%s) removed it; show it with --rev %s^",
					ErrNoSuchFlow, flow, c.DisplayName, env, short(head.String()), short(e.Commit), e.Time.Format("2006-01-02T15:04:05Z"), short(e.Commit))
			}
		}
	}
	if len(entries) > 0 {
		return "", fmt.Errorf("%w: flow %s is not in environment %s at %s", ErrNoSuchFlow, flow, env, short(head.String()))
	}
	return "", fmt.Errorf("%w: no flow %s in environment %s at %s or before it", ErrNoSuchFlow, flow, env, short(head.String()))
}

func mapValues(m map[api.FlowName]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// At finds the commit that holds env as it was at time when: the newest
// commit on the first-parent line from rev (default HEAD) made at or before
// when that changed env, or, when none changed it, the newest commit at or
// before when that has it. It returns that commit and its time.
func At(ctx context.Context, s Store, rev string, env api.EnvName, when time.Time) (repo.CommitInfo, error) {
	head, err := resolveRev(ctx, s, rev)
	if err != nil {
		return repo.CommitInfo{}, err
	}
	dir, err := model.EnvDir(env)
	if err != nil {
		return repo.CommitInfo{}, err
	}
	var found, fallback *repo.CommitInfo
	err = s.FirstParentLog(ctx, head, func(c repo.CommitInfo) error {
		if c.Committer.When.After(when) {
			return nil
		}
		t, err := s.ReadTree(ctx, c.Hash)
		if err != nil {
			return err
		}
		h, err := t.SubtreeHash(dir)
		if err != nil {
			return err
		}
		if h.IsZero() {
			return repo.ErrStopWalk // the environment is not in the tree yet
		}
		if fallback == nil {
			c := c
			fallback = &c
		}
		p, err := s.ReadTree(ctx, c.FirstParent())
		if err != nil {
			return err
		}
		ph, err := p.SubtreeHash(dir)
		if err != nil {
			return err
		}
		if ph != h {
			found = &c
			return repo.ErrStopWalk
		}
		return nil
	})
	if err != nil {
		return repo.CommitInfo{}, err
	}
	if found != nil {
		return *found, nil
	}
	if fallback != nil {
		return *fallback, nil
	}
	return repo.CommitInfo{}, fmt.Errorf("%w: no backup of environment %s was made at or before %s (flowsync log --env %s lists the backups)",
		ErrNoCommits, env, when.UTC().Format(time.RFC3339), env)
}
