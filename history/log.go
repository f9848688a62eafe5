package history

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/model"
	"github.com/flowsync/flowsync/repo"
)

// LogOptions select the history to read.
type LogOptions struct {
	// Rev is where the history ends (default HEAD).
	Rev string
	// Env is the environment: its name or display name.
	Env string
	// Flow, when set, limits the log to one flow: its GUID, its display
	// name, or a display name it had before.
	Flow string
	// Since drops commits made before it (committer time); zero keeps all.
	Since time.Time
	// Limit keeps the newest Limit entries; 0 keeps all.
	Limit int
}

// Log is the history of an environment, or of one flow in it, newest first.
type Log struct {
	Commit         string      `json:"commit"` // what Rev resolved to
	Env            api.EnvName `json:"environment"`
	EnvDisplayName string      `json:"environmentDisplayName,omitempty"`
	// Flow and FlowDisplayName are set when the log is of one flow.
	Flow            api.FlowName `json:"flow,omitempty"`
	FlowDisplayName string       `json:"flowDisplayName,omitempty"`
	Entries         []Entry      `json:"entries"`
}

// Entry is one commit that changed the environment (or the flow).
type Entry struct {
	Commit  string    `json:"commit"`
	Time    time.Time `json:"time"` // committer time, UTC
	Author  string    `json:"author"`
	Subject string    `json:"subject"`
	// Environment is set when environment.json changed.
	Environment *EnvChange   `json:"environment,omitempty"`
	Flows       []FlowChange `json:"flows"`
}

// ReadLog reads the history of an environment, or of one flow in it.
func ReadLog(ctx context.Context, s Store, opts LogOptions) (*Log, error) {
	head, tip, err := readRev(ctx, s, opts.Rev)
	if err != nil {
		return nil, err
	}
	env, err := ResolveEnv(ctx, s, tip, opts.Env)
	if errors.Is(err, ErrNoSuchEnv) && model.ValidateEnvName(api.EnvName(opts.Env)) == nil {
		// Not in the tree at Rev, but its history may hold it (the walk
		// says so when it does not).
		env, err = api.EnvName(opts.Env), nil
	}
	if err != nil {
		return nil, err
	}
	out := &Log{Commit: head.String(), Env: env, Entries: []Entry{}}
	if e, ok, err := readEnvironment(ctx, s, tip, env); err != nil {
		return nil, err
	} else if ok {
		out.EnvDisplayName = e.DisplayName
	}

	// A GUID limits the walk's reads to that flow; a name needs every
	// flow's names over the whole history first.
	var only api.FlowName
	if opts.Flow != "" {
		if name, err := model.CanonicalFlowName(api.FlowName(opts.Flow)); err == nil {
			only = name
		}
	}
	entries, err := walk(ctx, s, head, env, only)
	if err != nil {
		return nil, err
	}
	if opts.Flow != "" {
		if only == "" {
			current, err := currentNames(ctx, s, tip, env)
			if err != nil {
				return nil, err
			}
			if only, err = matchFlow(opts.Flow, env, current, entries); err != nil {
				return nil, err
			}
		}
		out.Flow = only
		entries = filterFlow(entries, only)
		if len(entries) == 0 {
			return nil, fmt.Errorf("%w: flow %s has no history in environment %s up to %s", ErrNoSuchFlow, only, env, short(head.String()))
		}
		out.FlowDisplayName = entries[0].Flows[0].DisplayName
	} else if len(entries) == 0 {
		return nil, fmt.Errorf("%w: environment %s has no history up to %s (export it first, or check --env)", ErrNoSuchEnv, env, short(head.String()))
	}
	for _, e := range entries {
		if !opts.Since.IsZero() && e.Time.Before(opts.Since) {
			continue
		}
		out.Entries = append(out.Entries, e)
		if opts.Limit > 0 && len(out.Entries) == opts.Limit {
			break
		}
	}
	return out, nil
}

// walk lists the commits from head along first parents that changed env
// (or flow only), newest first.
func walk(ctx context.Context, s Store, head plumbing.Hash, env api.EnvName, only api.FlowName) ([]Entry, error) {
	var entries []Entry
	var cur *repo.Tree
	err := s.FirstParentLog(ctx, head, func(c repo.CommitInfo) error {
		if cur == nil {
			t, err := s.ReadTree(ctx, c.Hash)
			if err != nil {
				return err
			}
			cur = t
		}
		parent, err := s.ReadTree(ctx, c.FirstParent())
		if err != nil {
			return err
		}
		flows, ec, err := diffEnv(ctx, s, parent, cur, env, only)
		if err != nil {
			return fmt.Errorf("commit %s: %w", short(c.Hash.String()), err)
		}
		cur = parent // the next commit's tree: reuse its decoded directories
		if len(flows) == 0 && ec == nil {
			return nil
		}
		if flows == nil {
			flows = []FlowChange{}
		}
		subject, _, _ := strings.Cut(strings.TrimSpace(c.Message), "\n")
		entries = append(entries, Entry{
			Commit:      c.Hash.String(),
			Time:        c.Committer.When.UTC(),
			Author:      c.Author.Name,
			Subject:     subject,
			Environment: ec,
			Flows:       flows,
		})
		return nil
	})
	return entries, err
}

func filterFlow(entries []Entry, flow api.FlowName) []Entry {
	var out []Entry
	for _, e := range entries {
		i := slices.IndexFunc(e.Flows, func(c FlowChange) bool { return c.Flow == flow })
		if i < 0 {
			continue
		}
		e.Flows = []FlowChange{e.Flows[i]}
		e.Environment = nil
		out = append(out, e)
	}
	return out
}

// currentNames reads the display name of every flow of env in t.
func currentNames(ctx context.Context, s Store, t *repo.Tree, env api.EnvName) (map[api.FlowName]string, error) {
	dirs, err := flowDirs(t, env)
	if err != nil {
		return nil, err
	}
	out := make(map[api.FlowName]string, len(dirs))
	for n := range dirs {
		name, err := readDisplayName(ctx, s, t, env, n)
		if err != nil {
			return nil, err
		}
		out[n] = name
	}
	return out, nil
}

// matchFlow finds the one flow a display name means: a flow that has it now
// (at the log's revision), else a flow that had it before; exact matches
// first, then ignoring case. Several candidates are an error listing them.
func matchFlow(spec string, env api.EnvName, current map[api.FlowName]string, entries []Entry) (api.FlowName, error) {
	former := map[api.FlowName][]string{}
	note := func(f api.FlowName, name string) {
		if !slices.Contains(former[f], name) {
			former[f] = append(former[f], name)
		}
	}
	for _, e := range entries {
		for _, c := range e.Flows {
			note(c.Flow, c.DisplayName)
			if c.FormerName != "" {
				note(c.Flow, c.FormerName)
			}
		}
	}
	for _, eq := range []func(a, b string) bool{func(a, b string) bool { return a == b }, strings.EqualFold} {
		for _, pass := range []string{"now", "before"} {
			var hits []api.FlowName
			if pass == "now" {
				for f, name := range current {
					if eq(name, spec) {
						hits = append(hits, f)
					}
				}
			} else {
				for f, names := range former {
					if slices.ContainsFunc(names, func(n string) bool { return eq(n, spec) }) {
						hits = append(hits, f)
					}
				}
			}
			switch len(hits) {
			case 0:
				continue
			case 1:
				return hits[0], nil
			}
			slices.Sort(hits)
			var list []string
			for _, f := range hits {
				name, ok := current[f]
				if !ok {
					name = strings.Join(former[f], " / ")
				}
				list = append(list, fmt.Sprintf("%s (%q)", f, name))
			}
			return "", fmt.Errorf("%w: %q fits %d flows in environment %s (%s): name one by its GUID",
				ErrAmbiguous, spec, len(hits), env, strings.Join(list, ", "))
		}
	}
	return "", fmt.Errorf("%w: no flow in environment %s is or was named %q (flowsync log --env %s lists every flow's changes)",
		ErrNoSuchFlow, env, spec, env)
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
