package diff

import (
	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/model"
)

// Action is what a plan does to one flow.
type Action string

// The actions. Extra is a flow only in the target: it is left alone unless
// the plan was made with pruning, which turns it into Delete.
const (
	Unchanged Action = "unchanged"
	Create    Action = "create"
	Update    Action = "update"
	Extra     Action = "extra"
	Delete    Action = "delete"
	// Restore brings a soft-deleted target flow back from the recycle bin
	// (same id), after which it is updated like any other (disaster recovery).
	Restore Action = "restore"
)

// LinkKind says how a source flow was paired with its target flow.
type LinkKind string

// The ways a pair is found. Across environments an explicit link wins over
// a stored one, and both over a display name (Pair).
const (
	// LinkSame: the same flow name on both sides (a tree against the live
	// environment it came from, or two trees of one environment).
	LinkSame LinkKind = "same"
	// LinkStored: a link recorded by an earlier import (links.json).
	LinkStored LinkKind = "link"
	// LinkExplicit: a --link SRC=DST given for this run; it overrides a
	// stored link of the same source flow.
	LinkExplicit LinkKind = "explicit"
	// LinkName: a unique display-name match.
	LinkName LinkKind = "name"
	// LinkNone: unpaired (create or extra).
	LinkNone LinkKind = ""
)

// Plan is everything an apply needs and everything a reader must see before
// it: per flow what will change, and the problems that forbid any write.
type Plan struct {
	// Source describes the desired side: environment and revision.
	Source Side `json:"source"`
	// Target describes the actual side: a live environment or a revision.
	Target Side `json:"target"`
	// Changes, one per source flow and per target-only flow, sorted by
	// action then source display name then key (Sort).
	Changes []Change `json:"changes"`
	// Problems forbid every write: a plan with any is shown, never applied.
	Problems []Problem `json:"problems,omitempty"`
	// Warnings are shown and do not stop the apply.
	Warnings []Problem `json:"warnings,omitempty"`
	// Cost is the calls an apply will make (filled by the importer, which
	// knows the limits; zero for a plan between two trees).
	Cost *Cost `json:"cost,omitempty"`
}

// Side is one side of a plan.
type Side struct {
	Env api.EnvName `json:"env"`
	// Rev is the commit, when the side is a tree; empty for a live environment.
	Rev string `json:"rev,omitempty"`
	// Live is true when the side is a live environment.
	Live bool `json:"live,omitempty"`
}

// Change is the plan for one flow.
type Change struct {
	Action Action `json:"action"`
	// Source is the desired flow's key (zero for Extra/Delete).
	Source model.Key `json:"source"`
	// Target is the paired target flow's key (zero for Create).
	Target model.Key `json:"target"`
	// DisplayName is the desired display name, or the target's for Extra/Delete.
	DisplayName string   `json:"displayName"`
	Link        LinkKind `json:"link,omitempty"`
	// Parts says what differs, for Update (and what will be set, for Create).
	Parts Parts `json:"parts"`
	// Bindings says how every connection reference of the desired flow is
	// bound in the target and where the binding came from (a mapping entry,
	// an auto-mapping, the same environment), changed or not, so that
	// auto-mappings are always visible in the plan.
	Bindings []ConnectionChange `json:"bindings,omitempty"`
	// Desired is the source flow already mapped into target terms
	// (connections, principals, child-flow references that are known);
	// nil for Extra/Delete. Actual is the target flow; nil for Create.
	Desired *model.Flow `json:"-"`
	Actual  *model.Flow `json:"-"`
	// Children are the source keys of the child flows this flow calls that
	// are part of the same plan: the importer applies them first and
	// rewrites the references to their target ids.
	Children []model.Key `json:"children,omitempty"`
	// Problems and Warnings of this flow (also counted in Plan.Problems).
	Problems []Problem `json:"problems,omitempty"`
	Warnings []Problem `json:"warnings,omitempty"`
}

// Parts is a change broken down by what the service stores separately.
type Parts struct {
	// Meta names differing flow.json fields by their JSON names (displayName,
	// extra.<name>); state is reported in State, not here.
	Meta []string `json:"meta,omitempty"`
	// Definition lists the differing definition paths (dot-separated, as the
	// secrets package names paths), sorted; a whole-document change is "".
	Definition []string `json:"definition,omitempty"`
	// Connections lists each reference whose target connection changes.
	Connections []ConnectionChange `json:"connections,omitempty"`
	// Owners and RunOnly are the principals to add and remove.
	Owners  PrincipalDelta `json:"owners"`
	RunOnly PrincipalDelta `json:"runOnly"`
	// State is set when the state changes.
	State *StateChange `json:"state,omitempty"`
}

// Empty reports whether nothing differs.
func (p Parts) Empty() bool {
	return len(p.Meta) == 0 && len(p.Definition) == 0 && len(p.Connections) == 0 &&
		p.Owners.Empty() && p.RunOnly.Empty() && p.State == nil
}

// ConnectionChange is one connection reference's binding in the target.
type ConnectionChange struct {
	// Key is the reference key (shared_office365_1).
	Key string      `json:"key"`
	API api.APIName `json:"api"`
	// From is the target's current connection ("" when new); To the one it
	// will be bound to.
	From api.ConnectionName `json:"from,omitempty"`
	To   api.ConnectionName `json:"to"`
	// How says where To came from: "byConnection", "byConnector", "auto",
	// "same" (same environment).
	How string `json:"how,omitempty"`
}

// PrincipalDelta is the principals to grant and to remove for one role group.
type PrincipalDelta struct {
	Add    []model.Permission `json:"add,omitempty"`
	Remove []model.Permission `json:"remove,omitempty"`
}

// Empty reports whether nothing is added or removed.
func (d PrincipalDelta) Empty() bool { return len(d.Add) == 0 && len(d.Remove) == 0 }

// StateChange is a state transition (Started, Stopped).
type StateChange struct {
	From string `json:"from,omitempty"`
	To   string `json:"to"`
}

// Problem is one thing wrong (or worth saying) about a plan.
type Problem struct {
	// Code is a stable identifier (unmapped-connection, unknown-principal,
	// missing-connector, connection-not-connected, unresolved-secret,
	// managed-flow, deleted-record, ambiguous-name, unknown-child, ...).
	Code string `json:"code"`
	// Flow is the source key concerned, when there is one.
	Flow *model.Key `json:"flow,omitempty"`
	// Where is a file:line (mapping file) or a path in the tree, when known.
	Where string `json:"where,omitempty"`
	// Message says what is wrong and what to do, in one sentence.
	Message string `json:"message"`
}

// Cost is what an apply will cost in calls and time.
type Cost struct {
	Reads  int `json:"reads"`
	Writes int `json:"writes"`
	// ETASeconds is the time the limits need for those calls.
	ETASeconds float64 `json:"etaSeconds"`
}
