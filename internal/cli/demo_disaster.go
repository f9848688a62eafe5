package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/client"
	"github.com/flowsync/flowsync/internal/emulator/seed"
)

// disaster ends the demo: a flow of Dev is deleted and another broken,
// the history shows the backups, restore brings Dev back to the last one
// (the deleted flow from the recycle bin, with its id), and a diff of Dev
// against its backup is clean.
func (d *demo) disaster(ctx context.Context) error {
	g, s, repoDir, step := d.g, d.s, d.repoDir, d.step
	env := seed.DemoEnvDev

	step("disaster in Contoso Dev: %q deleted, %q broken", "Request a laptop", "Daily flow inventory (renamed)")
	if _, err := s.Client.DeleteFlow(ctx, env, seed.DemoFlowRequestLaptop, true); err != nil {
		return fmt.Errorf("delete Request a laptop: %w", err)
	}
	// The admin created this one, so it can save a bad version of it.
	const inventory api.FlowName = "2a94111e-9bfd-49f0-8dd3-e14ee682b32d"
	f, err := s.Client.GetFlow(ctx, env, inventory, client.GetFlowOptions{})
	if err != nil {
		return fmt.Errorf("read Daily flow inventory: %w", err)
	}
	var def map[string]json.RawMessage
	if err := json.Unmarshal(f.Properties.Definition, &def); err != nil {
		return err
	}
	def["actions"] = json.RawMessage(`{"Oops":{"type":"Compose","inputs":"saved by mistake","runAfter":{}}}`)
	broken, err := json.Marshal(def)
	if err != nil {
		return err
	}
	if _, err := s.Client.UpdateFlow(ctx, env, inventory, api.FlowProperties{Definition: broken, ConnectionReferences: f.Properties.ConnectionReferences}); err != nil {
		return fmt.Errorf("break Daily flow inventory: %w", err)
	}

	step("flowsync log --repo %s --env \"Contoso Dev\" --limit 2", repoDir)
	if err := runLog(ctx, g, logOptions{Repo: repoDir, Rev: "HEAD", Env: "Contoso Dev", Limit: 2, now: time.Now}); err != nil {
		return err
	}
	step("flowsync restore --repo %s --env \"Contoso Dev\" --rev main --yes", repoDir)
	err = runRestore(ctx, g, s, restoreOptions{Repo: repoDir, Branch: "main", Rev: "main", Env: "Contoso Dev", Yes: true, Scope: "admin", now: time.Now}, time.Time{})
	if err != nil {
		return err
	}
	step("flowsync diff --exit-code --repo %s --from \"Contoso Dev\" --to \"Contoso Dev\": Dev equals its backup", repoDir)
	err = runDiff(ctx, g, s, diffOptions{planFlags: planFlags{Repo: repoDir, Branch: "main", From: "Contoso Dev", To: "Contoso Dev", State: "source", Scope: "admin"}, Format: "text", ExitCode: true})
	if errors.Is(err, errChanges) {
		return fmt.Errorf("after the restore Dev still differs from its backup (the plan is above)")
	}
	return err
}
