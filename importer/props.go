package importer

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strings"

	"github.com/flowsync/flowsync/diff"
	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/client"
	"github.com/flowsync/flowsync/internal/model"
	"github.com/flowsync/flowsync/internal/secrets"
)

// props builds the Create or Update body of a change: the desired flow with
// its child-flow references pointing at the children's target flows and
// its secrets back. existing is the target flow for an update (its current
// values fill the placeholders first); nil for a create.
func (a *applier) props(ctx context.Context, ch diff.Change, existing *api.FlowName, fr *FlowResult) (api.FlowProperties, error) {
	fail := func(err error) (api.FlowProperties, error) {
		return api.FlowProperties{}, fmt.Errorf("%s flow %s (%q): %w", ch.Action, ch.Source, ch.DisplayName, err)
	}
	def := ch.Desired.Definition
	if len(ch.Children) > 0 {
		refs := map[api.FlowName]api.FlowName{}
		for _, c := range ch.Children {
			st := a.flows[c]
			if st == nil || st.target == "" {
				return fail(fmt.Errorf("its child flow %s was not imported, so it would call a flow that does not exist in the target: import the child first", c))
			}
			refs[c.Flow] = st.target
			// A solution flow may be called by its Dataverse workflow id.
			if id := a.workflowID(c); id != "" {
				refs[id] = st.target
			}
		}
		var err error
		if def, err = diff.RewriteChildRefs(def, refs); err != nil {
			return fail(err)
		}
	}
	if len(def) > 0 {
		holes, err := secrets.Placeholders(def)
		if err != nil {
			return fail(err)
		}
		if len(holes) > 0 {
			// Supplied values win, as the planner (diff.Make) already applied
			// them to the plan's desired flow; what is left takes the value the
			// target flow holds at the same spot, so the target keeps it.
			values := secrets.Values{}
			if existing != nil {
				cur, err := a.currentSecrets(ctx, *existing)
				if err != nil {
					return fail(fmt.Errorf("read the target's current secrets: %w", err))
				}
				maps.Copy(values, cur)
			}
			maps.Copy(values, a.opts.Secrets[lowerFlow(ch.Source.Flow)])
			restored, missing, err := secrets.Restore(def, values)
			if err != nil {
				return fail(err)
			}
			if len(missing) > 0 {
				return fail(fmt.Errorf("no value for the redacted secrets at %s: supply them with --secrets FILE (or --identity for the tree's secrets.age); nothing was written for this flow",
					strings.Join(missing, ", ")))
			}
			def = restored
			fr.Notes = append(fr.Notes, fmt.Sprintf("restored %d redacted secrets", len(holes)))
		}
	}
	f := *ch.Desired
	f.Definition = def
	props, err := f.ToAPI()
	if err != nil {
		return fail(err)
	}
	if err := checkNoPlaceholder(props); err != nil {
		return fail(err)
	}
	return props, nil
}

// currentSecrets reads the values the target flow holds at the spots the
// redaction would replace, keyed by the same paths as the placeholders.
func (a *applier) currentSecrets(ctx context.Context, flow api.FlowName) (secrets.Values, error) {
	var f api.Flow
	var err error
	if a.opts.Identity.Admin {
		f, err = a.t.AdminGetFlow(ctx, a.env, flow, true)
	} else {
		f, err = a.t.GetFlow(ctx, a.env, flow, client.GetFlowOptions{})
	}
	if err != nil {
		return nil, err
	}
	if len(f.Properties.Definition) == 0 {
		return secrets.Values{}, nil
	}
	_, _, values, err := secrets.RedactWithValues(f.Properties.Definition, "")
	if err != nil {
		return nil, err
	}
	return values, nil
}

// checkNoPlaceholder refuses a body that still carries a placeholder
// anywhere: the definition (parsed, so escapes cannot hide one), the
// display name and the connection references. It is the last check before
// the service sees the body, whatever the steps before it did.
func checkNoPlaceholder(p api.FlowProperties) error {
	if len(p.Definition) > 0 {
		holes, err := secrets.Placeholders(p.Definition)
		if err != nil {
			return fmt.Errorf("check the definition for placeholders: %w", err)
		}
		if len(holes) > 0 {
			return fmt.Errorf("refusing to write a redaction placeholder into a live flow (at %s)", strings.Join(holes, ", "))
		}
	}
	for k, raw := range p.Extra {
		holes, err := secrets.Placeholders(raw)
		if err != nil {
			return fmt.Errorf("property %s: %w", k, err)
		}
		if len(holes) > 0 {
			return fmt.Errorf("refusing to write a redaction placeholder into a live flow (property %s)", k)
		}
	}
	if strings.Contains(p.DisplayName, secrets.PlaceholderPrefix) {
		return fmt.Errorf("refusing to write a redaction placeholder into a live flow (in its display name)")
	}
	for k, r := range p.ConnectionReferences {
		raw, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("connection reference %q: %w", k, err)
		}
		holes, err := secrets.Placeholders(raw)
		if err != nil {
			return fmt.Errorf("connection reference %q: %w", k, err)
		}
		if len(holes) > 0 || strings.Contains(string(r.ConnectionName), secrets.PlaceholderPrefix) {
			return fmt.Errorf("refusing to write a redaction placeholder into a live flow (connection reference %q)", k)
		}
	}
	return nil
}

// workflowID is the Dataverse workflow id of a source flow of the plan, ""
// when it has none.
func (a *applier) workflowID(src model.Key) api.FlowName {
	for _, ch := range a.plan.Changes {
		if ch.Source == src && ch.Desired != nil {
			return api.FlowName(ch.Desired.Meta.WorkflowEntityID)
		}
	}
	return ""
}
