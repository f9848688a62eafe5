package importer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/flowsync/flowsync/diff"
	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/client"
	"github.com/flowsync/flowsync/internal/model"
	"github.com/flowsync/flowsync/internal/secrets"
	"github.com/flowsync/flowsync/internal/token"
)

// Target is the live environment the importer reads and writes: the client
// calls it needs, with *client.Client's signatures. admin selects the
// scopes/admin variant of a call. Errors are the client's: errors.Is with
// the api sentinels and client.ErrAmbiguousWrite must keep working through
// any wrapper.
type Target interface {
	// ListFlows lists the flows the caller created (user scope); the
	// importer calls it only to find a flow after an ambiguous create.
	ListFlows(ctx context.Context, env api.EnvName, opts client.ListFlowsOptions) ([]api.Flow, error)
	// GetFlow reads a flow with its definition (user scope; the caller must
	// be an owner).
	GetFlow(ctx context.Context, env api.EnvName, flow api.FlowName, opts client.GetFlowOptions) (api.Flow, error)
	// AdminGetFlow reads any flow of env through the admin scope.
	AdminGetFlow(ctx context.Context, env api.EnvName, flow api.FlowName, includeDefinition bool) (api.Flow, error)
	CreateFlow(ctx context.Context, env api.EnvName, props api.FlowProperties) (api.Flow, error)
	UpdateFlow(ctx context.Context, env api.EnvName, flow api.FlowName, props api.FlowProperties) (api.Flow, error)
	DeleteFlow(ctx context.Context, env api.EnvName, flow api.FlowName, admin bool) (deleted bool, err error)
	StartFlow(ctx context.Context, env api.EnvName, flow api.FlowName, admin bool) error
	StopFlow(ctx context.Context, env api.EnvName, flow api.FlowName, admin bool) error
	RestoreFlow(ctx context.Context, env api.EnvName, flow api.FlowName) error
	ModifyPermissions(ctx context.Context, env api.EnvName, flow api.FlowName, admin bool, req api.ModifyPermissionsRequest) error
}

var _ Target = (*client.Client)(nil)

// Links receives each pairing of a source flow with its target flow as soon
// as the importer knows it (a create succeeded, or an ambiguous create was
// resolved). Record must be idempotent: a resumed import records the
// pairings of its journal again. It is called from one goroutine at a time.
type Links interface {
	Record(ctx context.Context, src, dst model.Key) error
}

// LinkFlusher is implemented by Links that keep records before storing
// them. Apply calls Flush before it removes its journal: until then the
// journal can rebuild every pairing (Recover), after it only the store can.
type LinkFlusher interface {
	Flush(ctx context.Context) error
}

// Reporter hears about progress. Its methods are called from one goroutine,
// in order: FlowStarted and FlowDone around each change the importer acts
// on, Summary once at the end (also when Apply fails early).
type Reporter interface {
	FlowStarted(ch diff.Change)
	FlowDone(r FlowResult)
	Summary(r Result)
}

// Identity is who imports: the caller of the target's token.
type Identity struct {
	// ID is the caller's object id (users and service principals alike);
	// it is the principal the service makes Owner of the flows it creates.
	ID api.PrincipalID
	// App is true for an application (service principal) token, which the
	// service refuses for creating and updating flows.
	App bool
	// Admin is true when the token carries the Power Platform or Global
	// Administrator role, which opens the admin scope.
	Admin bool
}

// IdentityFromClaims reads the importing identity from its token's claims.
func IdentityFromClaims(c token.Claims) Identity {
	return Identity{ID: api.PrincipalID(c.ObjectID), App: c.IsApp(), Admin: c.IsAdmin()}
}

// SecretValues are values for redacted secrets supplied by the caller, per
// source flow (its GUID, lower case): decrypted from the tree's secrets.age
// or read from a --secrets file (ParseSecretsFile).
type SecretValues map[api.FlowName]secrets.Values

// Format keeps values out of logs, whatever the verb.
func (s SecretValues) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, "importer.SecretValues(%d flows)", len(s))
}

// Options configure Apply.
type Options struct {
	// Identity is the importing identity (required).
	Identity Identity
	// Links records new pairings; nil records nothing.
	Links Links
	// Journal is the journal file's path; "" runs without one (the import
	// is then not resumable after a kill: use it for tests and dry runs).
	Journal string
	// Secrets are the caller's values for redacted secrets.
	Secrets SecretValues
	// KeepAccess keeps the CanEdit an admin grants itself on a flow it does
	// not own (to update it) instead of removing it afterwards.
	KeepAccess bool
	// Reporter hears progress; nil hears nothing.
	Reporter Reporter
}

// FlowResult is what happened to one flow.
type FlowResult struct {
	Action diff.Action `json:"action"`
	// Source and Target are the flow's keys; Target is the new flow's for a
	// create (zero when it failed before the flow existed).
	Source      model.Key `json:"source"`
	Target      model.Key `json:"target"`
	DisplayName string    `json:"displayName"`
	// Writes is the number of write calls made for this flow (dry run: the
	// number recorded).
	Writes int `json:"writes"`
	// Steps say what was done, in order ("created Stopped", "granted
	// CanEdit to …", "started").
	Steps []string `json:"steps,omitempty"`
	// Notes say what the importer decided on its own: an ambiguous create
	// resolved, a journal entry resumed, a step skipped and why.
	Notes []string `json:"notes,omitempty"`
	// Err is why the flow failed; nil when it succeeded.
	Err error `json:"-"`
}

// Failed reports whether the flow failed.
func (r FlowResult) Failed() bool { return r.Err != nil }

// MarshalJSON writes the result with its error as text ("error"), for
// --output json. The text names flows and display names, never secret
// values; a renderer escapes it like any maker-typed string.
func (r FlowResult) MarshalJSON() ([]byte, error) {
	type plain FlowResult
	out := struct {
		plain
		Error string `json:"error,omitempty"`
	}{plain: plain(r)}
	if r.Err != nil {
		out.Error = r.Err.Error()
	}
	return json.Marshal(out)
}

// Result is what an Apply did.
type Result struct {
	Flows []FlowResult `json:"flows"`
	// Writes counts every write call made (dry run: recorded).
	Writes int `json:"writes"`
	// Notes are remarks about the whole import (a journal resumed, grants
	// left by an interrupted run removed).
	Notes []string `json:"notes,omitempty"`
}

// Failed counts the flows that failed.
func (r Result) Failed() int {
	n := 0
	for _, f := range r.Flows {
		if f.Failed() {
			n++
		}
	}
	return n
}

// Errors returned by Apply before it writes anything (errors.Is).
var (
	// ErrPlanProblems: the plan has problems; nothing was written.
	ErrPlanProblems = errors.New("the plan has problems")
	// ErrAppIdentity: an application token cannot create or update flows.
	ErrAppIdentity = errors.New("creating and updating flows needs a delegated user identity")
	// ErrJournalMismatch: the journal belongs to another promotion.
	ErrJournalMismatch = errors.New("the journal belongs to another import")
)
