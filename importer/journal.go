package importer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/flowsync/flowsync/diff"
	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/model"
)

// journalVersion is the format of the journal file; another version is refused.
const journalVersion = 1

// journalFile is the journal on disk (JSON). It holds only what a killed
// run cannot find out again from the service: which creates were under way
// and what they made, and which temporary grants are still in place.
type journalFile struct {
	Version int `json:"version"`
	// Source and Target name the promotion; a journal of another is refused.
	Source diff.Side `json:"source"`
	Target diff.Side `json:"target"`
	// Creates are the creates under way (Target "") or made (Target set)
	// whose pairing may not be stored yet.
	Creates []createEntry `json:"creates,omitempty"`
	// Grants are CanEdit permissions the importing admin gave itself and
	// has not removed yet.
	Grants []grantEntry `json:"grants,omitempty"`
}

type createEntry struct {
	Source      model.Key `json:"source"`
	DisplayName string    `json:"displayName"`
	// Before are the target flows with this display name that existed when
	// the create was intended: a lookup never takes them for the new flow.
	Before []api.FlowName `json:"before,omitempty"`
	// Target is the flow the create made; "" while it is only intended.
	Target api.FlowName `json:"target,omitempty"`
}

type grantEntry struct {
	Flow      api.FlowName    `json:"flow"`
	Principal api.PrincipalID `json:"principal"`
	// Previous is the run-only role the principal held before (CanView,
	// CanViewWithShare), given back instead of removing the permission.
	Previous string `json:"previous,omitempty"`
}

// journalError is a failure to write the journal: it stops the import, since
// going on would make writes a rerun could not account for.
type journalError struct{ err error }

func (e *journalError) Error() string { return e.err.Error() }
func (e *journalError) Unwrap() error { return e.err }

// journal is the open journal of a run. With no path it keeps everything in
// memory (tests, dry runs).
type journal struct {
	path    string
	f       journalFile
	loaded  bool // the file existed when the run began
	written bool // the file exists now
	// pinned keeps the file at the end: something in it still needs a rerun.
	pinned bool
}

// openJournal loads the journal at path, refusing one of another promotion,
// or starts an empty one (written at the first entry).
func openJournal(path string, p diff.Plan) (*journal, error) {
	j := &journal{path: path, f: journalFile{Version: journalVersion, Source: p.Source, Target: p.Target}}
	if path == "" {
		return j, nil
	}
	// A temporary file is what a kill during a save leaves; the journal
	// itself is still the previous, complete version.
	_ = os.Remove(path + ".tmp")
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return j, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read import journal %s: %w", path, err)
	}
	var f journalFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("import journal %s is unreadable (%v): it is written atomically, so no interrupted import leaves it so; move it aside, check env %s for flows an earlier import may have created, and run again",
			path, err, p.Target.Env)
	}
	if f.Version != journalVersion {
		return nil, fmt.Errorf("import journal %s has version %d, this flowsync writes %d: finish that import with the flowsync that started it", path, f.Version, journalVersion)
	}
	// The revision is not compared: a resumed import may well plan from a
	// newer commit (the links of the first run are committed on top).
	if !strings.EqualFold(string(f.Source.Env), string(p.Source.Env)) || !strings.EqualFold(string(f.Target.Env), string(p.Target.Env)) {
		return nil, fmt.Errorf("%w: %s records an unfinished import from env %s to env %s, not from %s to %s: finish it first (run that import again), or remove the file if you are sure it was abandoned (then check env %s for flows it may have created)",
			ErrJournalMismatch, path, f.Source.Env, f.Target.Env, p.Source.Env, p.Target.Env, f.Target.Env)
	}
	f.Source, f.Target = p.Source, p.Target
	j.f, j.loaded, j.written = f, true, true
	return j, nil
}

func (j *journal) resumed() bool { return j.loaded && (len(j.f.Creates) > 0 || len(j.f.Grants) > 0) }

func (j *journal) creates() []createEntry { return slices.Clone(j.f.Creates) }
func (j *journal) grants() []grantEntry   { return slices.Clone(j.f.Grants) }

// keep leaves the journal in place at the end of the run.
func (j *journal) keep() { j.pinned = true }

func (j *journal) create(src model.Key) (createEntry, bool) {
	i := j.createIndex(src)
	if i < 0 {
		return createEntry{}, false
	}
	return j.f.Creates[i], true
}

func (j *journal) createIndex(src model.Key) int {
	return slices.IndexFunc(j.f.Creates, func(e createEntry) bool {
		return strings.EqualFold(string(e.Source.Env), string(src.Env)) && strings.EqualFold(string(e.Source.Flow), string(src.Flow))
	})
}

// intendCreate records, before Create Flow is sent, that it will be.
func (j *journal) intendCreate(src model.Key, displayName string, before []api.FlowName) error {
	if i := j.createIndex(src); i >= 0 {
		j.f.Creates = slices.Delete(j.f.Creates, i, i+1)
	}
	j.f.Creates = append(j.f.Creates, createEntry{Source: src, DisplayName: displayName, Before: before})
	return j.save()
}

// doneCreate records the flow a create made.
func (j *journal) doneCreate(src model.Key, target api.FlowName) error {
	i := j.createIndex(src)
	if i < 0 {
		j.f.Creates = append(j.f.Creates, createEntry{Source: src})
		i = len(j.f.Creates) - 1
	}
	j.f.Creates[i].Target = target
	return j.save()
}

// dropCreate forgets a create that made nothing (the service refused it).
func (j *journal) dropCreate(src model.Key) error {
	if i := j.createIndex(src); i >= 0 {
		j.f.Creates = slices.Delete(j.f.Creates, i, i+1)
		return j.save()
	}
	return nil
}

// forgetCreate is dropCreate for an entry the plan has settled.
func (j *journal) forgetCreate(src model.Key) error { return j.dropCreate(src) }

// intendGrant records a temporary grant before it is made and returns the
// entry in force: an earlier run's entry for the flow wins, since it knows
// the role held before any grant.
func (j *journal) intendGrant(g grantEntry) (grantEntry, error) {
	if i := slices.IndexFunc(j.f.Grants, func(e grantEntry) bool { return strings.EqualFold(string(e.Flow), string(g.Flow)) }); i >= 0 {
		return j.f.Grants[i], nil
	}
	j.f.Grants = append(j.f.Grants, g)
	return g, j.save()
}

func (j *journal) grant(flow api.FlowName) (grantEntry, bool) {
	i := slices.IndexFunc(j.f.Grants, func(e grantEntry) bool { return strings.EqualFold(string(e.Flow), string(flow)) })
	if i < 0 {
		return grantEntry{}, false
	}
	return j.f.Grants[i], true
}

func (j *journal) dropGrant(flow api.FlowName) error {
	n := len(j.f.Grants)
	j.f.Grants = slices.DeleteFunc(j.f.Grants, func(g grantEntry) bool { return strings.EqualFold(string(g.Flow), string(flow)) })
	if len(j.f.Grants) == n {
		return nil
	}
	return j.save()
}

// finish removes the journal when nothing in it needs a rerun: every
// intended create resolved, every grant removed, every link recorded.
func (j *journal) finish() error {
	if j.path == "" || !j.written {
		return nil
	}
	if j.pinned || len(j.f.Grants) > 0 || slices.ContainsFunc(j.f.Creates, func(e createEntry) bool { return e.Target == "" }) {
		return nil
	}
	if err := os.Remove(j.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return &journalError{fmt.Errorf("remove finished import journal %s: %w", j.path, err)}
	}
	j.written = false
	return syncDir(filepath.Dir(j.path))
}

// save writes the journal atomically: a temporary file in the same
// directory, synced, renamed over the journal, and the directory synced, so
// that a kill at any instant leaves either the old or the new journal.
func (j *journal) save() error {
	if j.path == "" {
		return nil
	}
	data, err := json.MarshalIndent(j.f, "", "  ")
	if err != nil {
		return &journalError{fmt.Errorf("encode import journal: %w", err)}
	}
	data = append(data, '\n')
	if err := writeAtomic(j.path, data); err != nil {
		return &journalError{fmt.Errorf("write import journal %s (the import stops: it could not account for its next write): %w", j.path, err)}
	}
	j.written = true
	return nil
}

func writeAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(filepath.Dir(path))
}

// syncDir makes a rename or removal in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return err
	}
	return nil
}
