package importer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/flowsync/flowsync/diff"
	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/client"
	"github.com/flowsync/flowsync/internal/model"
)

// create makes a new flow Stopped, records the pairing, then grants and
// turns it on as the plan says.
func (a *applier) create(ctx context.Context, ch diff.Change, fr *FlowResult) error {
	if ch.Desired == nil {
		return fmt.Errorf("create flow %s (%q): the plan carries no desired flow", ch.Source, ch.DisplayName)
	}
	props, err := a.props(ctx, ch, nil, fr)
	if err != nil {
		return err
	}
	props.State = api.StateStopped

	target, adopted, err := a.createOnce(ctx, ch, props, fr)
	if err != nil {
		return err
	}
	fr.Target = model.Key{Env: a.env, Flow: target}
	st := &flowStatus{target: target}
	a.flows[ch.Source] = st
	a.linked[lowerFlow(target)] = true
	if a.opts.Links != nil {
		if err := a.opts.Links.Record(ctx, ch.Source, fr.Target); err != nil {
			a.j.keep()
			return fmt.Errorf("flow %s (%q) was created as %s, but its link could not be recorded (run the import again to record it): %w",
				ch.Source, ch.DisplayName, target, err)
		}
	}
	if adopted {
		// The flow was made by an earlier attempt, possibly from another
		// revision: save the desired flow over it (an idempotent write).
		if err := a.write(ctx, fr, func() error {
			_, err := a.t.UpdateFlow(ctx, a.env, target, withoutState(props))
			return err
		}); err != nil {
			return fmt.Errorf("update flow %s (%q) created by an earlier attempt: %w", target, ch.DisplayName, err)
		}
		fr.Steps = append(fr.Steps, "saved the desired flow over it")
	}
	// The creator is Owner; a grant to it would be refused.
	if err := a.permissions(ctx, ch, target, false, a.opts.Identity.ID, fr, false); err != nil {
		return err
	}
	want := api.StateStopped
	if ch.Parts.State != nil && ch.Parts.State.To != "" {
		want = ch.Parts.State.To
	}
	current := api.StateStopped
	if adopted {
		// An earlier run may have turned it on already: set the state
		// either way (start and stop are idempotent).
		current = ""
	}
	return a.setState(ctx, ch, target, current, want, false, st, fr)
}

// createOnce creates the flow exactly once across attempts and runs: an
// intent goes to the journal before Create Flow and the new name after it;
// an intent left without a name (a killed run) or an ambiguous answer is
// resolved by looking the flow up before any new attempt.
func (a *applier) createOnce(ctx context.Context, ch diff.Change, props api.FlowProperties, fr *FlowResult) (target api.FlowName, adopted bool, err error) {
	if e, ok := a.j.create(ch.Source); ok {
		if e.Target != "" {
			gone, err := a.gone(ctx, e.Target)
			if err != nil {
				return "", false, fmt.Errorf("check flow %s created by an earlier run for %s (%q): %w", e.Target, ch.Source, ch.DisplayName, err)
			}
			if !gone {
				fr.Notes = append(fr.Notes, fmt.Sprintf("an earlier run created this flow as %s (journal); it was not created again", e.Target))
				a.adopted[lowerFlow(e.Target)] = true
				return e.Target, true, nil
			}
			fr.Notes = append(fr.Notes, fmt.Sprintf("the flow %s an earlier run created no longer exists; creating it again", e.Target))
			if err := a.j.dropCreate(ch.Source); err != nil {
				return "", false, err
			}
		} else {
			found, note, err := a.lookup(ctx, e)
			if err != nil {
				return "", false, fmt.Errorf("look up flow %q left by an interrupted create: %w", ch.DisplayName, err)
			}
			fr.Notes = append(fr.Notes, "an earlier run was stopped during this flow's create: "+note)
			if found != "" {
				if err := a.j.doneCreate(ch.Source, found); err != nil {
					return "", false, err
				}
				a.adopted[lowerFlow(found)] = true
				return found, true, nil
			}
			// The intent stays: it still describes the create below.
		}
	}
	// A fresh intent, also over an earlier run's unresolved one (whose flow
	// the lookup above did not find): the display name may have changed.
	before := a.sameName(props.DisplayName)
	if prev, ok := a.j.create(ch.Source); ok {
		before = append(before, prev.Before...)
		slices.Sort(before)
		before = slices.Compact(before)
	}
	if err := a.j.intendCreate(ch.Source, props.DisplayName, before); err != nil {
		return "", false, err
	}
	e, _ := a.j.create(ch.Source)
	// One retry after an ambiguous answer whose flow cannot be found: the
	// service did not make it. A second ambiguous answer is left to a rerun.
	// Uncertain: whether List My Flows shows a flow the moment Create Flow
	// has made it; if the service lags, the retry could make a second flow.
	// The contract does not say; the emulator shows it at once.
	for attempt := 1; ; attempt++ {
		var made api.Flow
		err := a.write(ctx, fr, func() error {
			var err error
			made, err = a.t.CreateFlow(ctx, a.env, props)
			return err
		})
		if err == nil {
			name, nerr := model.CanonicalFlowName(made.Name)
			if nerr != nil {
				// Keep the intent: a lookup on the next run finds the flow.
				return "", false, fmt.Errorf("create flow %q: the service answered with an unusable flow name: %w", props.DisplayName, nerr)
			}
			if err := a.j.doneCreate(ch.Source, name); err != nil {
				return "", false, err
			}
			fr.Steps = append(fr.Steps, "created "+api.StateStopped+" as "+string(name))
			return name, false, nil
		}
		if ctx.Err() != nil || !isAmbiguous(err) {
			if ctx.Err() == nil {
				// The service refused it: nothing was made.
				if derr := a.j.dropCreate(ch.Source); derr != nil {
					return "", false, derr
				}
			}
			return "", false, fmt.Errorf("create flow %s (%q): %w%s", ch.Source, props.DisplayName, err, forbiddenHint(err))
		}
		found, note, lerr := a.lookup(ctx, e)
		if lerr != nil {
			return "", false, fmt.Errorf("create flow %q was ambiguous (%v) and looking it up failed (run the import again to resolve it): %w", props.DisplayName, err, lerr)
		}
		fr.Notes = append(fr.Notes, "the create's answer was lost ("+shortCause(err)+"): "+note)
		if found != "" {
			if err := a.j.doneCreate(ch.Source, found); err != nil {
				return "", false, err
			}
			a.adopted[lowerFlow(found)] = true
			fr.Steps = append(fr.Steps, "created "+api.StateStopped+" as "+string(found))
			return found, false, nil
		}
		if attempt == 2 {
			return "", false, fmt.Errorf("create flow %q: two ambiguous answers and no flow found; run the import again to resolve it: %w", props.DisplayName, err)
		}
	}
}

// shortCause is the last part of a wrapped error, for notes.
func shortCause(err error) string {
	var ae *api.APIError
	if errors.As(err, &ae) {
		return fmt.Sprintf("%d %s", ae.Status, ae.Code)
	}
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		return s[i+2:]
	}
	return s
}

// sameName lists the target flows the plan knows with this display name:
// they existed before the create, so a lookup never adopts them.
func (a *applier) sameName(name string) []api.FlowName {
	var out []api.FlowName
	for _, ch := range a.plan.Changes {
		if ch.Actual != nil && ch.Target.Flow != "" && ch.Actual.Meta.DisplayName == name {
			out = append(out, lowerFlow(ch.Target.Flow))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// lookup finds the flow a create may have made: the caller's flows with the
// intent's display name, minus those that existed before it and those
// linked to another source flow. Several candidates: the newest (then the
// lowest name) is taken, and the note says which and why. found is "" when
// there is none.
func (a *applier) lookup(ctx context.Context, e createEntry) (found api.FlowName, note string, err error) {
	flows, err := a.t.ListFlows(ctx, a.env, client.ListFlowsOptions{})
	if err != nil {
		return "", "", err
	}
	type cand struct {
		name    api.FlowName
		created string
	}
	var cands []cand
	for _, f := range flows {
		n := lowerFlow(f.Name)
		if f.Properties.DisplayName != e.DisplayName || slices.Contains(e.Before, n) || a.linked[n] {
			continue
		}
		cands = append(cands, cand{n, f.Properties.CreatedTime})
	}
	if len(cands) == 0 {
		return "", fmt.Sprintf("no unlinked flow named %q exists in the target, so it was not created", e.DisplayName), nil
	}
	slices.SortFunc(cands, func(x, y cand) int {
		// RFC 3339 UTC times of one service sort as strings.
		if c := strings.Compare(y.created, x.created); c != 0 {
			return c
		}
		return strings.Compare(string(x.name), string(y.name))
	})
	note = fmt.Sprintf("found it by display name as %s", cands[0].name)
	if len(cands) > 1 {
		names := make([]string, 0, len(cands)-1)
		for _, c := range cands[1:] {
			names = append(names, string(c.name))
		}
		note += fmt.Sprintf(" (the newest of %d unlinked flows with that name; also %s: check them)", len(cands), strings.Join(names, ", "))
	}
	return cands[0].name, note, nil
}

// gone reports whether a flow no longer exists in the target.
func (a *applier) gone(ctx context.Context, flow api.FlowName) (bool, error) {
	var err error
	if a.opts.Identity.Admin {
		_, err = a.t.AdminGetFlow(ctx, a.env, flow, false)
	} else {
		_, err = a.t.GetFlow(ctx, a.env, flow, client.GetFlowOptions{})
	}
	if errors.Is(err, api.ErrFlowNotFound) {
		return true, nil
	}
	return false, err
}

// update brings an existing (or restored) target flow to the desired state.
func (a *applier) update(ctx context.Context, ch diff.Change, fr *FlowResult) error {
	target := ch.Target.Flow
	if target == "" || ch.Desired == nil {
		return fmt.Errorf("%s flow %s (%q): the plan carries no target flow or no desired flow", ch.Action, ch.Source, ch.DisplayName)
	}
	st := &flowStatus{target: target}
	a.flows[ch.Source] = st
	if err := a.resolveJournal(ch, fr); err != nil {
		return err
	}

	current := ""
	var creator api.PrincipalID
	if ch.Actual != nil {
		current = ch.Actual.Meta.State
		for _, p := range ch.Actual.Permissions {
			if p.Role == api.RoleOwner {
				creator = p.Principal
			}
		}
		// A soft-deleted flow's summary carries no permissions (the
		// service serves none until it is restored): its creator is still
		// the Owner, whose role the service refuses to change.
		// Uncertain: that the admin list's entry of a deleted flow names
		// its creator (the emulator's does; CONTRACT does not say).
		if creator == "" && ch.Actual.Meta.Creator != nil {
			creator = ch.Actual.Meta.Creator.ObjectID
		}
	}
	owner := a.isOwner(ch.Actual)
	admin := !owner && a.opts.Identity.Admin
	if !owner && !a.opts.Identity.Admin {
		return fmt.Errorf("%s flow %s (%q) in env %s: %s is not an owner of it and has no admin role: ask an owner to add you as co-owner, or import as a Power Platform administrator",
			ch.Action, target, ch.DisplayName, a.env, a.opts.Identity.ID)
	}

	if ch.Action == diff.Restore {
		if !a.opts.Identity.Admin {
			return fmt.Errorf("restore flow %s (%q): restoring a deleted flow needs the admin role", target, ch.DisplayName)
		}
		if err := a.write(ctx, fr, func() error { return a.t.RestoreFlow(ctx, a.env, target) }); err != nil {
			return fmt.Errorf("restore flow %s (%q): %w", target, ch.DisplayName, err)
		}
		fr.Steps = append(fr.Steps, "restored (Stopped)")
		current = api.StateStopped
	}

	want := current
	if ch.Parts.State != nil && ch.Parts.State.To != "" {
		want = ch.Parts.State.To
	}
	patch := needsPatch(ch)
	if u := unsettable(ch.Parts.Meta); len(u) > 0 {
		fr.Notes = append(fr.Notes, fmt.Sprintf("%s differ(s) but Update Flow does not set it: change it in the target by hand", strings.Join(u, ", ")))
	}
	granted := false
	if patch && !owner {
		if err := a.grant(ctx, target, ch.Actual, fr); err != nil {
			return fmt.Errorf("%s flow %s (%q): %w", ch.Action, target, ch.DisplayName, err)
		}
		granted = true
	}
	err := a.updateBody(ctx, ch, target, current, want, creator, admin, patch, st, fr)
	switch {
	case granted && a.identitySet[lowerFlow(target)]:
		// The permissions step gave the identity the role the source wants.
		if jerr := a.j.dropGrant(target); jerr != nil {
			return errors.Join(err, jerr)
		}
	case granted && !a.opts.KeepAccess:
		if rerr := a.revoke(ctx, target, fr); rerr != nil {
			return errors.Join(err, fmt.Errorf("%s flow %s (%q): remove the temporary access (run the import again to remove it): %w", ch.Action, target, ch.DisplayName, rerr))
		}
	case granted:
		if jerr := a.j.dropGrant(target); jerr != nil {
			return errors.Join(err, jerr)
		}
		fr.Notes = append(fr.Notes, fmt.Sprintf("kept the CanEdit granted to %s (--keep-access)", a.opts.Identity.ID))
	}
	return err
}

func (a *applier) updateBody(ctx context.Context, ch diff.Change, target api.FlowName, current, want string, creator api.PrincipalID, admin, patch bool, st *flowStatus, fr *FlowResult) error {
	// A flow that will be off is turned off before it changes, so that a
	// half-saved version never runs.
	if current == api.StateStarted && want != api.StateStarted {
		if err := a.write(ctx, fr, func() error { return a.t.StopFlow(ctx, a.env, target, admin) }); err != nil {
			return fmt.Errorf("stop flow %s (%q): %w", target, ch.DisplayName, err)
		}
		fr.Steps = append(fr.Steps, "stopped")
		current = api.StateStopped
	}
	if patch {
		props, err := a.props(ctx, ch, &target, fr)
		if err != nil {
			return err
		}
		if err := a.write(ctx, fr, func() error {
			_, err := a.t.UpdateFlow(ctx, a.env, target, withoutState(props))
			return err
		}); err != nil {
			return fmt.Errorf("update flow %s (%q): %w%s", target, ch.DisplayName, err, forbiddenHint(err))
		}
		fr.Steps = append(fr.Steps, "updated "+strings.Join(patchedParts(ch), ", "))
	}
	// The admin scope serves a non-owner even with the temporary grant, so
	// that a permission change of its own cannot lock it out of the rest.
	if err := a.permissions(ctx, ch, target, admin, creator, fr, true); err != nil {
		return err
	}
	return a.setState(ctx, ch, target, current, want, admin, st, fr)
}

func patchedParts(ch diff.Change) []string {
	var out []string
	if m := settable(ch.Parts.Meta); len(m) > 0 {
		out = append(out, "properties ("+strings.Join(m, ", ")+")")
	}
	if len(ch.Parts.Definition) > 0 {
		out = append(out, fmt.Sprintf("definition (%d paths)", len(ch.Parts.Definition)))
	}
	if len(ch.Parts.Connections) > 0 {
		out = append(out, fmt.Sprintf("connections (%d)", len(ch.Parts.Connections)))
	}
	if len(out) == 0 {
		out = append(out, "flow")
	}
	return out
}

// resolveJournal settles a journal entry for a source flow that the plan
// now pairs with a target (a plan made after a kill found the flow).
func (a *applier) resolveJournal(ch diff.Change, fr *FlowResult) error {
	e, ok := a.j.create(ch.Source)
	if !ok {
		return nil
	}
	if e.Target != "" && !strings.EqualFold(string(e.Target), string(ch.Target.Flow)) {
		fr.Notes = append(fr.Notes, fmt.Sprintf("the journal says an earlier run created %s for this flow, but the plan pairs it with %s: check %s", e.Target, ch.Target.Flow, e.Target))
	} else if e.Target == "" {
		fr.Notes = append(fr.Notes, "an earlier run was stopped during this flow's create; the plan pairs it with "+string(ch.Target.Flow))
	}
	// Nothing to do but forget it: the plan's pairing is recorded by whoever made it.
	return a.j.forgetCreate(ch.Source)
}

// isOwner reports whether the identity may save the flow in user scope: it
// is its creator or a co-owner. Group membership is not known here, so an
// owner through a group counts as not one (the admin path still works).
func (a *applier) isOwner(f *model.Flow) bool {
	if f == nil {
		return false
	}
	for _, p := range f.Permissions {
		if strings.EqualFold(string(p.Principal), string(a.opts.Identity.ID)) && (p.Role == api.RoleOwner || p.Role == api.RoleCanEdit) {
			return true
		}
	}
	return false
}

// grant gives the admin CanEdit on a flow it does not own, through the
// admin scope, journalled so that a killed run's grant is removed later. A
// run-only role it held is remembered and given back by revoke.
func (a *applier) grant(ctx context.Context, target api.FlowName, actual *model.Flow, fr *FlowResult) error {
	g := grantEntry{Flow: target, Principal: a.opts.Identity.ID}
	if actual != nil {
		for _, p := range actual.Permissions {
			if strings.EqualFold(string(p.Principal), string(a.opts.Identity.ID)) {
				g.Previous = p.Role
			}
		}
	}
	if _, err := a.j.intendGrant(g); err != nil {
		return err
	}
	req := api.ModifyPermissionsRequest{Put: []api.PermissionPut{{Properties: api.PermissionPutProperties{
		Principal: api.Principal{ID: a.opts.Identity.ID, Type: a.identityType()}, RoleName: api.RoleCanEdit,
	}}}}
	if err := a.write(ctx, fr, func() error { return a.t.ModifyPermissions(ctx, a.env, target, true, req) }); err != nil {
		return fmt.Errorf("grant %s CanEdit through the admin scope (it is not an owner): %w", a.opts.Identity.ID, err)
	}
	fr.Steps = append(fr.Steps, fmt.Sprintf("granted CanEdit to %s (admin, not an owner)", a.opts.Identity.ID))
	return nil
}

// revoke takes the temporary CanEdit back: the permission goes, or returns
// to the run-only role held before.
func (a *applier) revoke(ctx context.Context, target api.FlowName, fr *FlowResult) error {
	g, ok := a.j.grant(target)
	if !ok {
		g = grantEntry{Flow: target, Principal: a.opts.Identity.ID}
	}
	var req api.ModifyPermissionsRequest
	step := fmt.Sprintf("removed the CanEdit of %s again", a.opts.Identity.ID)
	if g.Previous != "" && g.Previous != api.RoleOwner && g.Previous != api.RoleCanEdit {
		req.Put = []api.PermissionPut{{Properties: api.PermissionPutProperties{
			Principal: api.Principal{ID: a.opts.Identity.ID, Type: a.identityType()}, RoleName: g.Previous,
		}}}
		step = fmt.Sprintf("gave %s back its %s instead of the temporary CanEdit", a.opts.Identity.ID, g.Previous)
	} else {
		req.Delete = []api.PermissionDelete{{ID: string(a.opts.Identity.ID)}}
	}
	if err := a.write(ctx, fr, func() error { return a.t.ModifyPermissions(ctx, a.env, target, true, req) }); err != nil {
		return err
	}
	fr.Steps = append(fr.Steps, step)
	return a.j.dropGrant(target)
}

// revokeLeftovers removes grants a killed run made and could not remove,
// unless the source wants the identity there.
func (a *applier) revokeLeftovers(ctx context.Context) error {
	for _, g := range a.j.grants() {
		fr := FlowResult{Action: diff.Update, Target: model.Key{Env: a.env, Flow: g.Flow}}
		if a.opts.KeepAccess || a.identitySet[lowerFlow(g.Flow)] || a.desiredOwner(g.Flow) {
			if err := a.j.dropGrant(g.Flow); err != nil {
				return err
			}
			continue
		}
		if err := a.revoke(ctx, g.Flow, &fr); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			var je *journalError
			if errors.As(err, &je) {
				return err
			}
			if errors.Is(err, api.ErrFlowNotFound) {
				// The flow is gone (deleted since): no access is left to take back.
				if err := a.j.dropGrant(g.Flow); err != nil {
					return err
				}
				continue
			}
			a.res.Notes = append(a.res.Notes, fmt.Sprintf("could not remove the CanEdit an interrupted run granted %s on flow %s (run the import again): %v", a.opts.Identity.ID, g.Flow, err))
			a.j.keep()
			continue
		}
		a.res.Notes = append(a.res.Notes, fmt.Sprintf("removed the CanEdit an interrupted run granted %s on flow %s", a.opts.Identity.ID, g.Flow))
	}
	return nil
}

// desiredOwner reports whether the plan wants the identity as an owner of
// the target flow.
func (a *applier) desiredOwner(target api.FlowName) bool {
	for _, ch := range a.plan.Changes {
		if !strings.EqualFold(string(ch.Target.Flow), string(target)) || ch.Desired == nil {
			continue
		}
		for _, p := range ch.Desired.Permissions {
			if strings.EqualFold(string(p.Principal), string(a.opts.Identity.ID)) && (p.Role == api.RoleOwner || p.Role == api.RoleCanEdit) {
				return true
			}
		}
	}
	return false
}

func (a *applier) identityType() string {
	if a.opts.Identity.App {
		return api.PrincipalServicePrincipal
	}
	return api.PrincipalUser
}

// permissions makes owners and run-only users what the plan says, in one
// call. The creator (Owner) is never granted or removed, nor is the
// importing identity removed; it is granted what the source gives it.
func (a *applier) permissions(ctx context.Context, ch diff.Change, target api.FlowName, admin bool, creator api.PrincipalID, fr *FlowResult, removals bool) error {
	var req api.ModifyPermissionsRequest
	var added, removed []string
	isCreator := func(id api.PrincipalID) bool { return strings.EqualFold(string(id), string(creator)) }
	isSelf := func(id api.PrincipalID) bool { return strings.EqualFold(string(id), string(a.opts.Identity.ID)) }
	self := false
	for _, d := range []diff.PrincipalDelta{ch.Parts.Owners, ch.Parts.RunOnly} {
		for _, p := range d.Add {
			if isCreator(p.Principal) {
				continue
			}
			self = self || isSelf(p.Principal)
			role := p.Role
			if role == api.RoleOwner {
				// The service grants Owner to nobody: a source owner co-owns.
				role = api.RoleCanEdit
			}
			req.Put = append(req.Put, api.PermissionPut{Properties: api.PermissionPutProperties{
				Principal: api.Principal{ID: p.Principal, Type: p.Type}, RoleName: role,
			}})
			added = append(added, string(p.Principal)+" "+role)
		}
		if !removals {
			continue
		}
		for _, p := range d.Remove {
			if isCreator(p.Principal) || isSelf(p.Principal) || slices.ContainsFunc(req.Put, func(x api.PermissionPut) bool {
				return strings.EqualFold(string(x.Properties.Principal.ID), string(p.Principal))
			}) {
				// A principal whose role changes is re-granted, not removed.
				continue
			}
			req.Delete = append(req.Delete, api.PermissionDelete{ID: string(p.Principal)})
			removed = append(removed, string(p.Principal)+" "+p.Role)
		}
	}
	if len(req.Put) == 0 && len(req.Delete) == 0 {
		return nil
	}
	if err := a.write(ctx, fr, func() error { return a.t.ModifyPermissions(ctx, a.env, target, admin, req) }); err != nil {
		return fmt.Errorf("set owners and run-only users of flow %s (%q): %w", target, ch.DisplayName, err)
	}
	if self {
		a.identitySet[lowerFlow(target)] = true
	}
	if len(added) > 0 {
		fr.Steps = append(fr.Steps, "granted "+strings.Join(added, ", "))
	}
	if len(removed) > 0 {
		fr.Steps = append(fr.Steps, "removed "+strings.Join(removed, ", "))
	}
	return nil
}

// setState turns the flow on or off. A flow is turned on only once every
// child flow it calls in this import is on.
func (a *applier) setState(ctx context.Context, ch diff.Change, target api.FlowName, current, want string, admin bool, st *flowStatus, fr *FlowResult) error {
	st.on = current == api.StateStarted
	switch {
	case want == current || want == "":
		return nil
	case want == api.StateStarted:
		for _, c := range ch.Children {
			cs := a.flows[c]
			if cs != nil && !cs.on {
				return fmt.Errorf("flow %s (%q) was left off: its child flow %s is not on (turn the child on, then this flow)", target, ch.DisplayName, c)
			}
		}
		if err := a.write(ctx, fr, func() error { return a.t.StartFlow(ctx, a.env, target, admin) }); err != nil {
			return fmt.Errorf("turn on flow %s (%q): %w", target, ch.DisplayName, err)
		}
		fr.Steps = append(fr.Steps, "turned on")
		st.on = true
	case want == api.StateStopped:
		if err := a.write(ctx, fr, func() error { return a.t.StopFlow(ctx, a.env, target, admin) }); err != nil {
			return fmt.Errorf("turn off flow %s (%q): %w", target, ch.DisplayName, err)
		}
		fr.Steps = append(fr.Steps, "turned off")
		st.on = false
	default:
		// Suspended is the service's verdict, not something a caller sets.
		fr.Notes = append(fr.Notes, fmt.Sprintf("state %s cannot be set; the flow stays %s", want, orNone(current)))
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "as it is"
	}
	return s
}

// remove deletes a flow the plan prunes.
func (a *applier) remove(ctx context.Context, ch diff.Change, fr *FlowResult) error {
	target := ch.Target.Flow
	if target == "" {
		return fmt.Errorf("delete: the plan names no target flow for %q", ch.DisplayName)
	}
	if a.adopted[lowerFlow(target)] {
		fr.Notes = append(fr.Notes, "not deleted: this import resolved an interrupted create to this flow")
		return nil
	}
	owner := a.isOwner(ch.Actual)
	if !owner && !a.opts.Identity.Admin {
		return fmt.Errorf("delete flow %s (%q): %s is not an owner of it and has no admin role", target, ch.DisplayName, a.opts.Identity.ID)
	}
	var deleted bool
	if err := a.write(ctx, fr, func() error {
		var err error
		deleted, err = a.t.DeleteFlow(ctx, a.env, target, !owner)
		return err
	}); err != nil {
		return fmt.Errorf("delete flow %s (%q): %w", target, ch.DisplayName, err)
	}
	if deleted {
		fr.Steps = append(fr.Steps, "deleted")
	} else {
		fr.Notes = append(fr.Notes, "already gone")
	}
	return nil
}

func withoutState(p api.FlowProperties) api.FlowProperties {
	p.State = ""
	return p
}

// forbiddenHint says what a 403 on Create or Update Flow most often means.
func forbiddenHint(err error) string {
	if !errors.Is(err, api.ErrForbidden) || errors.Is(err, api.ErrEnvironmentNotFound) {
		return ""
	}
	return " (the service refuses application tokens for creating and updating flows: sign in as a user, e.g. --auth devicecode or azcli)"
}
