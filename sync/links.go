package sync

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/canon"
	"github.com/flowsync/flowsync/internal/model"
	"github.com/flowsync/flowsync/repo"
)

// LinksDir holds the links between environments, outside environments/ so
// that exports (which replace environments/<env>) never touch them.
const LinksDir = "links"

// LinksPath is links/<from>/<to>.json.
func LinksPath(from, to api.EnvName) (string, error) {
	if err := model.ValidateEnvName(from); err != nil {
		return "", err
	}
	if err := model.ValidateEnvName(to); err != nil {
		return "", err
	}
	return LinksDir + "/" + string(from) + "/" + string(to) + ".json", nil
}

// linksFile is the stored form: source flow name -> target flow name, both
// lower-case GUIDs.
type linksFile struct {
	Format int                           `json:"format"`
	Links  map[api.FlowName]api.FlowName `json:"links"`
}

const linksFormat = 1

// ReadLinks returns the links from one environment to another stored at
// commit; none stored gives an empty map. A zero commit has none.
func ReadLinks(ctx context.Context, rp *repo.Repo, commit plumbing.Hash, from, to api.EnvName) (map[api.FlowName]api.FlowName, error) {
	p, err := LinksPath(from, to)
	if err != nil {
		return nil, err
	}
	out := map[api.FlowName]api.FlowName{}
	if commit.IsZero() {
		return out, nil
	}
	t, err := rp.ReadTree(ctx, commit)
	if err != nil {
		return nil, err
	}
	h, err := t.Lookup(p)
	if err != nil {
		return out, nil // no import between these environments yet
	}
	b, err := rp.ReadBlob(ctx, h)
	if err != nil {
		return nil, err
	}
	return parseLinks(p, b)
}

func parseLinks(p string, b []byte) (map[api.FlowName]api.FlowName, error) {
	c, err := canon.Canonicalize(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	var lf linksFile
	if err := decodeStrictJSON(c, &lf); err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	if lf.Format != linksFormat {
		return nil, fmt.Errorf("%s: format %d, this flowsync reads format %d", p, lf.Format, linksFormat)
	}
	out := make(map[api.FlowName]api.FlowName, len(lf.Links))
	for src, dst := range lf.Links {
		s, err := model.CanonicalFlowName(src)
		if err != nil {
			return nil, fmt.Errorf("%s: source %w", p, err)
		}
		d, err := model.CanonicalFlowName(dst)
		if err != nil {
			return nil, fmt.Errorf("%s: target of %s: %w", p, s, err)
		}
		out[s] = d
	}
	return out, nil
}

func linksBytes(links map[api.FlowName]api.FlowName) ([]byte, error) {
	if links == nil {
		links = map[api.FlowName]api.FlowName{}
	}
	return canon.Marshal(linksFile{Format: linksFormat, Links: links})
}

// LinkStore records links in the repository as an import makes them. By
// default each Record is its own commit on the branch (a few milliseconds,
// no network). A buffered store (Buffer) keeps the records until Flush
// commits them together: the importer flushes before it removes its
// journal, and until then the journal holds every pairing a kill could
// lose, so a promotion of hundreds of flows makes one links commit instead
// of one a flow. The caller holds the repository's lock and owns rp (one
// goroutine).
type LinkStore struct {
	rp       *repo.Repo
	branch   string
	from, to api.EnvName
	author   repo.Signature
	links    map[api.FlowName]api.FlowName
	// pending are buffered records not committed yet (Buffer).
	pending map[api.FlowName]api.FlowName
	// commits counts the commits Record made in this run.
	commits int
}

// OpenLinkStore reads the links stored on the branch head.
func OpenLinkStore(ctx context.Context, rp *repo.Repo, branch string, from, to api.EnvName, author repo.Signature) (*LinkStore, error) {
	head, err := rp.Head(ctx, branch)
	if err != nil {
		return nil, err
	}
	links, err := ReadLinks(ctx, rp, head, from, to)
	if err != nil {
		return nil, err
	}
	return &LinkStore{rp: rp, branch: branch, from: from, to: to, author: author, links: links}, nil
}

// Buffer makes Record keep links until Flush.
func (s *LinkStore) Buffer() { s.pending = map[api.FlowName]api.FlowName{} }

// Flush commits the buffered links in one commit (nothing when none are
// new). A store that is not buffered has nothing to flush.
func (s *LinkStore) Flush(ctx context.Context) error {
	if len(s.pending) == 0 {
		return nil
	}
	if err := s.commit(ctx, s.pending); err != nil {
		return err
	}
	clear(s.pending)
	return nil
}

// Links returns a copy of the links known now, buffered ones included.
func (s *LinkStore) Links() map[api.FlowName]api.FlowName {
	out := maps.Clone(s.links)
	maps.Copy(out, s.pending)
	return out
}

// Commits is the number of commits this store made.
func (s *LinkStore) Commits() int { return s.commits }

// Record stores src -> dst and commits it (buffers it, after Buffer),
// unless that link is already stored. A source linked to another target
// before is relinked (the old target was deleted or the user gave --link).
func (s *LinkStore) Record(ctx context.Context, src, dst model.Key) error {
	add := map[api.FlowName]api.FlowName{src.Flow: dst.Flow}
	if s.pending != nil {
		return s.buffer(add)
	}
	return s.commit(ctx, add)
}

// RecordAll stores several links in one commit (nothing when all are
// stored already); after Buffer, together with the buffered ones.
func (s *LinkStore) RecordAll(ctx context.Context, add map[api.FlowName]api.FlowName) error {
	if s.pending != nil {
		if err := s.buffer(add); err != nil {
			return err
		}
		return s.Flush(ctx)
	}
	return s.commit(ctx, add)
}

// buffer adds links to pending, in canonical form.
func (s *LinkStore) buffer(add map[api.FlowName]api.FlowName) error {
	for src, dst := range add {
		sn, err := model.CanonicalFlowName(src)
		if err != nil {
			return fmt.Errorf("record link: source %w", err)
		}
		dn, err := model.CanonicalFlowName(dst)
		if err != nil {
			return fmt.Errorf("record link from %s: target %w", sn, err)
		}
		s.pending[sn] = dn
	}
	return nil
}

// commit writes the links of add that are new in one commit.
func (s *LinkStore) commit(ctx context.Context, add map[api.FlowName]api.FlowName) error {
	next := maps.Clone(s.links)
	changed := []string{}
	for src, dst := range add {
		sn, err := model.CanonicalFlowName(src)
		if err != nil {
			return fmt.Errorf("record link: source %w", err)
		}
		dn, err := model.CanonicalFlowName(dst)
		if err != nil {
			return fmt.Errorf("record link from %s: target %w", sn, err)
		}
		if next[sn] == dn {
			continue
		}
		next[sn] = dn
		changed = append(changed, string(sn)+" -> "+string(dn))
	}
	if len(changed) == 0 {
		return nil
	}
	slices.Sort(changed)
	p, err := LinksPath(s.from, s.to)
	if err != nil {
		return err
	}
	content, err := linksBytes(next)
	if err != nil {
		return fmt.Errorf("record links %s: %w", p, err)
	}
	head, err := s.rp.Head(ctx, s.branch)
	if err != nil {
		return fmt.Errorf("record links %s: %w", p, err)
	}
	b, err := s.rp.NewBuilder(ctx, head)
	if err != nil {
		return fmt.Errorf("record links %s: %w", p, err)
	}
	if err := b.Put(p, content); err != nil {
		b.Discard()
		return fmt.Errorf("record links %s: %w", p, err)
	}
	msg := fmt.Sprintf("Links %s -> %s: %d flow(s)\n\n%s\n", s.from, s.to, len(changed), strings.Join(changed, "\n"))
	if _, err := b.Commit(ctx, repo.CommitOptions{Branch: s.branch, Message: msg, Author: s.author}); err != nil {
		b.Discard()
		return fmt.Errorf("record links %s: %w", p, err)
	}
	s.links = next
	s.commits++
	return nil
}
