package importer

import (
	"fmt"
	"strings"
	"time"

	"github.com/flowsync/flowsync/diff"
	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/pacer"
	"github.com/flowsync/flowsync/internal/secrets"
)

// Limits are the pacing limits an import runs under (the client's pacer):
// all calls, and non-GET calls. Zero values take the service's published
// limits, 5 calls per 60 s and 300 writes per hour.
type Limits struct {
	Calls  pacer.Limit
	Writes pacer.Limit
}

// Cost is what applying p will cost: the calls Apply makes when nothing
// goes wrong, and the time the limits need for them when the identity starts
// with empty windows. At 300 writes an hour a promotion of a few hundred
// flows takes hours; the engine shows this before asking.
func Cost(p diff.Plan, id Identity, l Limits) (diff.Cost, error) {
	var c diff.Cost
	for _, ch := range p.Changes {
		r, w := callsFor(ch, id)
		c.Reads += r
		c.Writes += w
	}
	clock := pacer.NewFakeClock(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	pc, err := pacer.New(pacer.Config{Calls: l.Calls, Writes: l.Writes, Clock: clock})
	if err != nil {
		return diff.Cost{}, fmt.Errorf("import cost: %w", err)
	}
	c.ETASeconds = pc.ETA(c.Reads+c.Writes, c.Writes).Sub(clock.Now()).Seconds()
	return c, nil
}

// callsFor counts the calls Apply makes for one change, in the order of
// create and update.
func callsFor(ch diff.Change, id Identity) (reads, writes int) {
	switch ch.Action {
	case diff.Create:
		writes++ // create
		if grantsFor(ch, id.ID) {
			writes++
		}
		if ch.Parts.State != nil && ch.Parts.State.To == api.StateStarted {
			writes++
		}
	case diff.Update, diff.Restore:
		if ch.Action == diff.Restore {
			writes++
		}
		if needsPatch(ch) {
			writes++
			if !ownerIn(ch, id) {
				writes += 2 // grant and remove CanEdit
			}
			if ch.Desired != nil && len(ch.Desired.Definition) > 0 {
				if holes, err := secrets.Placeholders(ch.Desired.Definition); err == nil && len(holes) > 0 {
					reads++ // the target's current values
				}
			}
		}
		if !ch.Parts.Owners.Empty() || !ch.Parts.RunOnly.Empty() {
			writes++
		}
		if s := ch.Parts.State; s != nil && s.To != s.From && (s.To == api.StateStarted || s.To == api.StateStopped) {
			writes++
		}
	case diff.Delete:
		writes++
	}
	return reads, writes
}

// grantsFor reports whether a create grants anyone besides its creator.
func grantsFor(ch diff.Change, creator api.PrincipalID) bool {
	for _, d := range []diff.PrincipalDelta{ch.Parts.Owners, ch.Parts.RunOnly} {
		for _, p := range d.Add {
			if !strings.EqualFold(string(p.Principal), string(creator)) {
				return true
			}
		}
	}
	return false
}

// AdminGrants lists the changes of p that save a target flow the identity
// is not an owner of: Apply grants the admin CanEdit on each for the update
// (and removes it afterwards unless KeepAccess). For an identity without the
// admin role they will fail.
func AdminGrants(p diff.Plan, id Identity) []diff.Change {
	var out []diff.Change
	for _, ch := range p.Changes {
		if needsGrant(ch, id) {
			out = append(out, ch)
		}
	}
	return out
}

func needsGrant(ch diff.Change, id Identity) bool {
	return (ch.Action == diff.Update || ch.Action == diff.Restore) && needsPatch(ch) && !ownerIn(ch, id)
}

// ownerIn reports whether the identity is an owner (Owner or CanEdit) of
// the change's target flow as the plan read it.
func ownerIn(ch diff.Change, id Identity) bool {
	if ch.Actual == nil {
		return false
	}
	for _, p := range ch.Actual.Permissions {
		if strings.EqualFold(string(p.Principal), string(id.ID)) && (p.Role == api.RoleOwner || p.Role == api.RoleCanEdit) {
			return true
		}
	}
	return false
}

// Annotate puts what the importer knows into the plan before it is shown:
// the cost (Plan.Cost) and, for each update that needs a temporary admin
// grant, a warning (code admin-access) on the change and on the plan.
func Annotate(p *diff.Plan, id Identity, l Limits, keepAccess bool) error {
	c, err := Cost(*p, id, l)
	if err != nil {
		return err
	}
	p.Cost = &c
	for i := range p.Changes {
		ch := &p.Changes[i]
		if !needsGrant(*ch, id) {
			continue
		}
		var msg string
		switch {
		case !id.Admin:
			msg = fmt.Sprintf("%s is not an owner of target flow %s and has no admin role: the update will fail; ask an owner to add it as co-owner", id.ID, ch.Target.Flow)
		case keepAccess:
			msg = fmt.Sprintf("%s is not an owner of target flow %s: it grants itself CanEdit through the admin scope to update it, and keeps it (--keep-access)", id.ID, ch.Target.Flow)
		default:
			msg = fmt.Sprintf("%s is not an owner of target flow %s: it grants itself CanEdit through the admin scope to update it, and removes it afterwards", id.ID, ch.Target.Flow)
		}
		src := ch.Source
		w := diff.Problem{Code: "admin-access", Flow: &src, Message: msg}
		ch.Warnings = append(ch.Warnings, w)
		p.Warnings = append(p.Warnings, w)
	}
	return nil
}
