package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/client"
	"github.com/flowsync/flowsync/internal/emulator"
	"github.com/flowsync/flowsync/internal/emulator/embedded"
	"github.com/flowsync/flowsync/internal/emulator/seed"
	"github.com/flowsync/flowsync/internal/testemu"
)

// Objects the conformance fixture adds to the demo tenant. The ids are
// invented and obviously fake.
const (
	fxPagingEnv    api.EnvName        = "cf0000e0-0000-4000-8000-000000000001"
	fxPagingFlows                     = 130
	fxSolutionFlow api.FlowName       = "cf000000-0000-4000-8000-0000000050f1"
	fxConnection   api.ConnectionName = "shared-approvals-cf000000-0000-4000-8000-000000000001"
	fxConnector    api.APIName        = "shared_approvals" // no OAuth
	fxOAuth        api.APIName        = "shared_office365"
	fxRunsTrigger                     = "When_an_item_is_created"
	fxExtraRuns                       = 60
)

// fxRunName names the i-th run the fixture adds.
func fxRunName(i int) string { return fmt.Sprintf("085847%023dCU%02d", i, i%100) }

var (
	fxRunningRun  = fxRunName(0)
	fxFinishedRun = fxRunName(1)
)

// simpleDefinition is a valid definition with a Recurrence trigger and no
// connector: enough for flows that are only listed.
func simpleDefinition(note string) json.RawMessage {
	return json.RawMessage(`{"$schema":"https://schema.management.azure.com/providers/Microsoft.Logic/schemas/2016-06-01/workflowdefinition.json#",` +
		`"contentVersion":"1.0.0.0","parameters":{"$connections":{"defaultValue":{},"type":"Object"},"$authentication":{"defaultValue":{},"type":"SecureObject"}},` +
		`"triggers":{"Recurrence":{"type":"Recurrence","recurrence":{"frequency":"Day","interval":1}}},` +
		`"actions":{"Compose":{"type":"Compose","runAfter":{},"inputs":` + strconvQuote(note) + `}}}`)
}

func strconvQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// fixtureSnapshot is the demo tenant plus what the suite needs beyond it:
// an environment with more flows than a page, a solution flow of the maker,
// a connection of a connector without OAuth, and enough runs on the invoice
// approval flow for two pages, one of them running.
func fixtureSnapshot() *emulator.Snapshot {
	snap := seed.Demo()
	base := seed.DemoNow().Add(-30 * 24 * time.Hour)
	snap.Environments = append(snap.Environments, emulator.Environment{
		Name: fxPagingEnv, DisplayName: "Conformance paging", Location: "unitedstates", Sku: "Sandbox", CreatedTime: base,
	})
	for i := range fxPagingFlows {
		snap.Flows = append(snap.Flows, emulator.Flow{
			Environment: fxPagingEnv,
			Name:        api.FlowName(fmt.Sprintf("cf00%04x-0000-4000-8000-%012x", i, i)),
			DisplayName: fmt.Sprintf("Paging flow %03d", i),
			State:       api.StateStopped,
			CreatedTime: base.Add(time.Duration(i) * time.Minute), LastModifiedTime: base.Add(time.Duration(i) * time.Minute),
			Creator:    seed.DemoPriya,
			Definition: simpleDefinition(fmt.Sprintf("paging %d", i)),
		})
	}
	snap.Flows = append(snap.Flows, emulator.Flow{
		Environment: seed.DemoEnvDev, Name: fxSolutionFlow, DisplayName: "Conformance solution flow",
		State: api.StateStarted, CreatedTime: base, LastModifiedTime: base, Creator: seed.DemoPriya,
		Definition: simpleDefinition("solution"), WorkflowEntityID: string(fxSolutionFlow),
	})
	snap.Connections = append(snap.Connections, emulator.Connection{
		Environment: seed.DemoEnvDev, API: fxConnector, Name: fxConnection, DisplayName: "Approvals (conformance)",
		Status: "Connected", CreatedBy: seed.DemoPriya, CreatedTime: base,
	})
	for i := range fxExtraRuns {
		start := base.Add(time.Duration(i) * time.Hour)
		end := start.Add(time.Minute)
		r := emulator.Run{
			Environment: seed.DemoEnvDev, Flow: seed.DemoFlowInvoiceApproval, Name: fxRunName(i),
			Trigger: fxRunsTrigger, Status: "Succeeded", StartTime: start, EndTime: &end,
		}
		switch {
		case i == 0:
			r.Status, r.EndTime = "Running", nil
		case i%5 == 0:
			r.Status = "Failed"
		}
		snap.Runs = append(snap.Runs, r)
	}
	return snap
}

// runsOf counts the snapshot's runs of a flow.
func runsOf(snap *emulator.Snapshot, env api.EnvName, flow api.FlowName) int {
	n := 0
	for _, r := range snap.Runs {
		if r.Environment == env && r.Flow == flow {
			n++
		}
	}
	return n
}

// mintedTokens is a TokenSource of unsigned emulator tokens for principal,
// with the audience each scope names.
func mintedTokens(srv *emulator.Server, principal api.PrincipalID) client.TokenSource {
	return client.TokenFunc(func(_ context.Context, scope string) (string, error) {
		return srv.MintToken(principal, strings.TrimSuffix(scope, "/.default"))
	})
}

// emulatorRoles are the demo identities behind the suite's roles.
var emulatorRoles = map[Role]api.PrincipalID{
	RoleAdmin: seed.DemoAdmin,    // Power Platform administrator (user)
	RoleMaker: seed.DemoPriya,    // maker, not an administrator
	RoleApp:   seed.DemoBackupSP, // service principal
}

// emulatorClient builds clients against inst the way the CLI does with
// --api-url, with short backoffs so incidental retries cost nothing.
func emulatorClient(inst *embedded.Instance) func(Role, func(*client.Config)) (*client.Client, error) {
	return func(role Role, configure func(*client.Config)) (*client.Client, error) {
		p, ok := emulatorRoles[role]
		if !ok {
			return nil, ErrNoRole
		}
		ep, err := client.EndpointsFor(client.Public)
		if err != nil {
			return nil, err
		}
		cfg := client.Config{
			Endpoints: ep.WithBaseURL(inst.URL),
			Tokens:    mintedTokens(inst.Server, p),
			BaseDelay: time.Millisecond,
			MaxDelay:  10 * time.Millisecond,
		}
		if configure != nil {
			configure(&cfg)
		}
		return client.New(cfg)
	}
}

func emulatorFixtures(snap *emulator.Snapshot) Fixtures {
	return Fixtures{
		Env:            seed.DemoEnvDev,
		Maker:          seed.DemoPriya,
		MakerFlow:      seed.DemoFlowInvoiceApproval,
		PersonalFlow:   seed.DemoFlowStopped,
		TeamFlow:       seed.DemoFlowInvoiceApproval,
		SolutionFlow:   fxSolutionFlow,
		ForeignFlow:    seed.DemoFlowOrderWebhook,
		AdminFlow:      seed.DemoFlowOrderWebhook,
		DeletedFlow:    seed.DemoFlowDeleted,
		RunOnlyFlow:    seed.DemoFlowRequestLaptop,
		RequestFlow:    seed.DemoFlowRequestLaptop,
		RequestTrigger: "manual",
		RunsFlow:       seed.DemoFlowInvoiceApproval,
		RunsFlowRuns:   runsOf(snap, seed.DemoEnvDev, seed.DemoFlowInvoiceApproval),
		RunningRun:     fxRunningRun,
		FinishedRun:    fxFinishedRun,
		RunsTrigger:    fxRunsTrigger,
		PagingEnv:      fxPagingEnv,
		PagingFlows:    fxPagingFlows,
		Connector:      fxConnector,
		OAuthConnector: fxOAuth,
		Connection:     fxConnection,
		Grantee:        seed.DemoSofia,
		Group:          seed.DemoFieldStaff,

		ServicePrincipal: seed.DemoBackupSP,
	}
}

// TestConformanceEmulator runs the whole suite, writes and faults included,
// against the emulator over loopback HTTP. Its clock stands still (it moves
// only when the suite advances it), and throttling is off: the pacer has
// its own test.
func TestConformanceEmulator(t *testing.T) {
	t.Parallel()
	snap := fixtureSnapshot()
	inst := testemu.Start(t, testemu.Options{Snapshot: snap}).Inst // throttling off, manual clock at seed.DemoNow()
	RunSuite(t, Target{
		Name:      "emulator",
		Writes:    true,
		NewClient: emulatorClient(inst),
		Fixtures:  emulatorFixtures(snap),
		Control:   &httpControl{base: inst.URL, hc: &http.Client{Timeout: time.Minute}},
	})
}

// httpControl drives the emulator through its /_emulator/ control paths, as
// a test of another process would.
type httpControl struct {
	base string
	hc   *http.Client
}

var _ Control = (*httpControl)(nil)

func (c *httpControl) do(ctx context.Context, method, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, nil)
	if err != nil {
		return err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, body)
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return nil
}

func (c *httpControl) SetFaults(ctx context.Context, spec string) error {
	if _, err := emulator.ParseFaults(spec); err != nil {
		return err
	}
	return c.do(ctx, http.MethodPost, "/_emulator/faults?spec="+url.QueryEscape(spec), nil)
}

func (c *httpControl) ClearFaults(ctx context.Context) error {
	return c.do(ctx, http.MethodDelete, "/_emulator/faults", nil)
}

func (c *httpControl) Advance(ctx context.Context, d time.Duration) error {
	return c.do(ctx, http.MethodPost, "/_emulator/clock/advance?by="+url.QueryEscape(d.String()), nil)
}

func (c *httpControl) Now(ctx context.Context) (time.Time, error) {
	var out struct {
		Now string `json:"now"`
	}
	if err := c.do(ctx, http.MethodGet, "/_emulator/clock", &out); err != nil {
		return time.Time{}, err
	}
	return time.Parse(time.RFC3339Nano, out.Now)
}
