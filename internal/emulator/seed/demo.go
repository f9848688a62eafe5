package seed

import (
	"embed"
	"encoding/json"
	"fmt"
	"time"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/emulator"
)

// flowDefinitions holds the demo flows' definitions: our own Workflow
// Definition Language documents, one per file, kept as JSON so they read
// like the flows people export.
//
//go:embed flows/*.json
var flowDefinitions embed.FS

// Identifiers of the demo tenant. They are invented, fixed GUIDs so that
// tests and golden files can name demo objects.
const (
	DemoTenant                 = "581dfb11-c1e5-4df0-ac34-6c2bb50be172"
	DemoEnvDefault api.EnvName = "Default-" + DemoTenant
	DemoEnvDev     api.EnvName = "854f8e6e-8897-43b2-8aa1-402bab90c075"
	DemoEnvTest    api.EnvName = "e2157b61-8ac1-4d7b-aeba-fd5cf7ce486e"
	DemoEnvProd    api.EnvName = "538a59ca-e7ed-416f-b21f-011ab58fc164"

	DemoAdmin  api.PrincipalID = "ec5b00b3-53e4-41e8-add3-0c76c8fdb4b3" // Dana Whitfield, Power Platform admin
	DemoPriya  api.PrincipalID = "149ea352-6b66-468a-a7c0-fe5774919982" // maker
	DemoMarcus api.PrincipalID = "56e21253-f1d9-46d5-956c-921ce6350cfa" // maker
	DemoSofia  api.PrincipalID = "6aa358fb-ee8a-44e4-bc7a-98284e8254c3" // maker
	DemoTomas  api.PrincipalID = "d1f55a33-279b-44fc-9927-a7dadfdd5dec" // maker
	// DemoFieldStaff is a group (Sofia, Tomás) that may run the laptop request flow.
	DemoFieldStaff api.PrincipalID = "c43e8288-a009-4e00-ba4b-d948439cdb99"
	// DemoFinanceApprovers is a group (Priya, Marcus).
	DemoFinanceApprovers api.PrincipalID = "56acc49f-f2b0-451d-915e-4615e879a373"
	// DemoBackupSP is an admin service principal (register its secret in tests).
	DemoBackupSP         api.PrincipalID = "9ed6a9af-0e6a-4403-989a-7445e1193e63"
	DemoBackupAppID                      = "575a0961-5a6c-4d21-9b18-ea3e78fc415d"
	DemoIntegrationSP    api.PrincipalID = "86d56f45-b656-4faf-8430-77a5dfd2c6b2" // not an admin
	DemoIntegrationAppID                 = "2450d1bd-e590-4b11-8e4c-a4cd29d430ae"

	// DemoCustomAPI is the custom connector available in Dev only.
	DemoCustomAPI api.APIName = "shared_contoso-5finvoice-20api-5f0123456789abcdef"

	// Flows in Dev worth naming in tests.
	DemoFlowInvoiceApproval api.FlowName = "2409d8e9-a70a-4dd9-b1ac-73400d02421d"
	DemoFlowOrderWebhook    api.FlowName = "3841e8ce-90fb-4878-860a-ee6395044cd6"
	DemoFlowAccountOnboard  api.FlowName = "c606907d-673e-468e-af71-da1ad05c1366" // solution flow, also in Test and Prod
	DemoFlowChild           api.FlowName = "c73e0dfd-99a2-45c7-96d4-5866938f47da"
	DemoFlowParent          api.FlowName = "78dc7fbb-6d0c-4084-8365-b52af5abe3ef"
	DemoFlowRequestLaptop   api.FlowName = "7974f035-6225-497d-a726-7f8485be5fd3"
	DemoFlowStopped         api.FlowName = "1643d2c0-eb17-43b5-b657-ab7d8a0d5677"
	DemoFlowSuspended       api.FlowName = "e03b325c-068d-4461-a039-bb268d70a7b6"
	DemoFlowDeleted         api.FlowName = "00db4df7-ed00-4e0b-9447-42889ebd5e47"
	DemoFlowSecrets         api.FlowName = "e364e500-d758-49a2-bf7d-97650064d0a8"
)

// Demo is the Contoso tenant: a default environment plus Dev, Test and Prod,
// five users (one admin), two groups, two service principals, the usual
// Microsoft connectors and one custom connector, connections in every
// environment (one broken in Test) and 22 flows covering the cases flowsync
// must handle. Everything is fixed: two calls return equal snapshots.
func Demo() *emulator.Snapshot {
	s := &emulator.Snapshot{
		Tenant:       DemoTenant,
		Now:          DemoNow(),
		Principals:   demoPrincipals(),
		Environments: demoEnvironments(),
		Connectors:   demoConnectors(),
		Connections:  demoConnections(),
		Runs:         demoRuns(),
	}
	for _, f := range demoFlows() {
		s.Flows = append(s.Flows, f.build())
	}
	return s
}

func demoPrincipals() []emulator.Principal {
	user := func(id api.PrincipalID, name, local string) emulator.Principal {
		return emulator.Principal{ID: id, Type: api.PrincipalUser, DisplayName: name,
			Email: local + "@contoso.com", UPN: local + "@contoso.onmicrosoft.com"}
	}
	return []emulator.Principal{
		demoAdmin(),
		user(DemoPriya, "Priya Raman", "priya.raman"),
		user(DemoMarcus, "Marcus Lee", "marcus.lee"),
		user(DemoSofia, "Sofia Alvarez", "sofia.alvarez"),
		user(DemoTomas, "Tomás Novák", "tomas.novak"),
		{ID: DemoFieldStaff, Type: api.PrincipalGroup, DisplayName: "Contoso Field Staff",
			Email: "field-staff@contoso.com", Members: []api.PrincipalID{DemoSofia, DemoTomas}},
		{ID: DemoFinanceApprovers, Type: api.PrincipalGroup, DisplayName: "Contoso Finance Approvers",
			Email: "finance-approvers@contoso.com", Members: []api.PrincipalID{DemoPriya, DemoMarcus}},
		{ID: DemoBackupSP, Type: api.PrincipalServicePrincipal, DisplayName: "flowsync-backup",
			AppID: DemoBackupAppID, Admin: true},
		{ID: DemoIntegrationSP, Type: api.PrincipalServicePrincipal, DisplayName: "contoso-integration",
			AppID: DemoIntegrationAppID},
	}
}

func demoEnvironments() []emulator.Environment {
	env := func(name api.EnvName, display, sku string, created time.Time) emulator.Environment {
		return emulator.Environment{Name: name, DisplayName: display, Location: "unitedstates",
			Sku: sku, CreatedTime: created, Dataverse: true}
	}
	return []emulator.Environment{
		demoDefaultEnvironment(),
		env(DemoEnvDev, "Contoso Dev", "Sandbox", at(2024, time.September, 2, 9, 15)),
		env(DemoEnvTest, "Contoso Test", "Sandbox", at(2024, time.September, 2, 9, 40)),
		env(DemoEnvProd, "Contoso Prod", "Production", at(2024, time.September, 3, 8, 5)),
	}
}

func demoConnectors() []emulator.Connector {
	var out []emulator.Connector
	for _, name := range []api.APIName{
		"shared_approvals", "shared_commondataserviceforapps", "shared_flowmanagement",
		"shared_logicflows", "shared_office365", "shared_office365users",
		"shared_sharepointonline", "shared_teams",
	} {
		out = append(out, connectorFor(name, ""))
	}
	custom := connectorFor(DemoCustomAPI, DemoEnvDev)
	custom.DisplayName = "Contoso Invoice API"
	custom.Publisher = "Contoso"
	return append(out, custom)
}

// Connection names, in the two forms the service uses: "shared-<api>-<guid>"
// (api cut to 20 characters with the prefix) and bare 32-hex GUIDs.
const (
	connDevOutlook        api.ConnectionName = "shared-office365-96019e95-dc4a-4068-b887-9f37f1293872"
	connDevOutlookSupport api.ConnectionName = "1544ab383a2645d39fb8fdc65c14b98f"
	connDevSharePoint     api.ConnectionName = "shared-sharepointonl-00084864-f7b0-4bb5-b160-89df5b51c5e8"
	connDevTeams          api.ConnectionName = "shared-teams-8f34127d-1602-4951-91bf-0ef60882a805"
	connDevApprovals      api.ConnectionName = "shared-approvals-7a8558ab-4027-46fa-822b-b0b5b267f35f"
	connDevDataverse      api.ConnectionName = "shared-commondataser-7fa85e67-53de-429f-9a9b-f78939a0dca6"
	connDevUsers          api.ConnectionName = "shared-office365user-b9bfff85-be68-4fc1-bff5-9001dd31aa5f"
	connDevFlowMgmt       api.ConnectionName = "shared-flowmanagemen-491fe1dd-7fb5-4102-bda3-e151344b95ab"
	connDevInvoiceAPI     api.ConnectionName = "7a6719a30f3f47ebbbba45e96481a5f6"

	connTestOutlook    api.ConnectionName = "shared-office365-c88491ff-9a6d-4d82-8595-73346903fc6b"
	connTestSharePoint api.ConnectionName = "shared-sharepointonl-b4d9bb0e-17d1-4bfe-881b-ac24cbe97fa8"
	connTestApprovals  api.ConnectionName = "shared-approvals-cab22b5e-3831-4c8a-8311-84abe9e76af4"
	connTestTeams      api.ConnectionName = "shared-teams-843bc45e-55f1-48c4-b2e8-28fd370ce913" // status Error
	connTestDataverse  api.ConnectionName = "shared-commondataser-5e4ed947-7d4f-4e9f-9ef7-39e3eb0d1a70"
	connTestUsers      api.ConnectionName = "shared-office365user-e7329654-322b-460a-9d66-bf5c9001bf0c"

	connProdOutlook    api.ConnectionName = "shared-office365-5ed268a3-26fa-4693-a36d-497ff37fdc5d"
	connProdSharePoint api.ConnectionName = "shared-sharepointonl-2311abf9-258d-4cf8-8656-09b1177f0dfb"
	connProdApprovals  api.ConnectionName = "shared-approvals-a7ccc998-cb07-44f8-a197-62e1c01a19b9"
	connProdDataverse  api.ConnectionName = "shared-commondataser-73c17fba-8d91-4733-b086-5d51923497d8"
	connProdUsers      api.ConnectionName = "shared-office365user-b3f04011-9054-45c9-9de7-d55decf8989c"

	connDefaultOutlook    api.ConnectionName = "947f900ea5384ccda6b3513d06b52294"
	connDefaultSharePoint api.ConnectionName = "9b22f1dfec1b4d979d16d18d4ed767db"
)

func demoConnections() []emulator.Connection {
	c := func(env api.EnvName, apiName api.APIName, name api.ConnectionName, display string, by api.PrincipalID, created time.Time) emulator.Connection {
		return emulator.Connection{Environment: env, API: apiName, Name: name, DisplayName: display,
			Status: "Connected", CreatedBy: by, CreatedTime: created}
	}
	const (
		priya  = "priya.raman@contoso.com"
		marcus = "marcus.lee@contoso.com"
		sofia  = "sofia.alvarez@contoso.com"
		tomas  = "tomas.novak@contoso.com"
		svc    = "svc-flows@contoso.com"
	)
	brokenTeams := c(DemoEnvTest, "shared_teams", connTestTeams, marcus, DemoMarcus, at(2025, time.February, 11, 10, 2))
	brokenTeams.Status = "Error"
	return []emulator.Connection{
		c(DemoEnvDev, "shared_office365", connDevOutlook, priya, DemoPriya, at(2025, time.January, 13, 9, 0)),
		c(DemoEnvDev, "shared_office365", connDevOutlookSupport, "support@contoso.com", DemoMarcus, at(2025, time.January, 20, 14, 30)),
		c(DemoEnvDev, "shared_sharepointonline", connDevSharePoint, priya, DemoPriya, at(2025, time.January, 13, 9, 2)),
		c(DemoEnvDev, "shared_teams", connDevTeams, marcus, DemoMarcus, at(2025, time.January, 14, 11, 45)),
		c(DemoEnvDev, "shared_approvals", connDevApprovals, "Approvals", DemoPriya, at(2025, time.January, 13, 9, 5)),
		c(DemoEnvDev, "shared_commondataserviceforapps", connDevDataverse, sofia, DemoSofia, at(2025, time.January, 21, 8, 10)),
		c(DemoEnvDev, "shared_office365users", connDevUsers, sofia, DemoSofia, at(2025, time.January, 21, 8, 12)),
		c(DemoEnvDev, "shared_flowmanagement", connDevFlowMgmt, "dana.whitfield@contoso.com", DemoAdmin, at(2025, time.February, 3, 16, 20)),
		c(DemoEnvDev, DemoCustomAPI, connDevInvoiceAPI, "Contoso Invoice API (dev key)", DemoMarcus, at(2025, time.March, 5, 10, 0)),

		c(DemoEnvTest, "shared_office365", connTestOutlook, svc, DemoPriya, at(2025, time.February, 10, 9, 30)),
		c(DemoEnvTest, "shared_sharepointonline", connTestSharePoint, svc, DemoPriya, at(2025, time.February, 10, 9, 31)),
		c(DemoEnvTest, "shared_approvals", connTestApprovals, "Approvals", DemoPriya, at(2025, time.February, 10, 9, 33)),
		brokenTeams,
		c(DemoEnvTest, "shared_commondataserviceforapps", connTestDataverse, svc, DemoSofia, at(2025, time.February, 12, 15, 0)),
		c(DemoEnvTest, "shared_office365users", connTestUsers, svc, DemoSofia, at(2025, time.February, 12, 15, 1)),

		c(DemoEnvProd, "shared_office365", connProdOutlook, svc, DemoPriya, at(2025, time.March, 3, 7, 45)),
		c(DemoEnvProd, "shared_sharepointonline", connProdSharePoint, svc, DemoPriya, at(2025, time.March, 3, 7, 46)),
		c(DemoEnvProd, "shared_approvals", connProdApprovals, "Approvals", DemoPriya, at(2025, time.March, 3, 7, 48)),
		c(DemoEnvProd, "shared_commondataserviceforapps", connProdDataverse, svc, DemoSofia, at(2025, time.March, 3, 8, 0)),
		c(DemoEnvProd, "shared_office365users", connProdUsers, svc, DemoSofia, at(2025, time.March, 3, 8, 1)),

		c(DemoEnvDefault, "shared_office365", connDefaultOutlook, tomas, DemoTomas, at(2024, time.November, 18, 12, 0)),
		c(DemoEnvDefault, "shared_sharepointonline", connDefaultSharePoint, tomas, DemoTomas, at(2024, time.November, 18, 12, 1)),
	}
}

// demoRef is one connection reference of a demo flow.
type demoRef struct {
	key     string
	api     api.APIName
	conn    api.ConnectionName
	source  string // "" = Embedded
	logical string // solution flows: the connection reference's logical name
}

// demoFlow is a demo flow before its definition file is read.
type demoFlow struct {
	env              api.EnvName
	name             api.FlowName
	display          string
	file             string // under flows/
	state            string // "" = Started
	creator          api.PrincipalID
	created, changed time.Time
	refs             []demoRef
	solution         bool
	managed          bool
	perms            []emulator.FlowPermission
	deleted          *time.Time
	extra            map[string]json.RawMessage
}

// rawReference is a connection reference in the Flow RP's dictionary shape.
type rawReference struct {
	ConnectionName                 api.ConnectionName `json:"connectionName"`
	Source                         string             `json:"source"`
	ID                             string             `json:"id"`
	Tier                           string             `json:"tier"`
	ConnectionReferenceLogicalName string             `json:"connectionReferenceLogicalName,omitempty"`
}

func (d demoFlow) build() emulator.Flow {
	def, err := flowDefinitions.ReadFile("flows/" + d.file)
	if err != nil {
		// The files are embedded at build time; a miss is a typo in this file.
		panic(fmt.Sprintf("demo flow %s: %v", d.file, err))
	}
	refs := map[string]rawReference{}
	for _, r := range d.refs {
		source := r.source
		if source == "" {
			source = "Embedded"
		}
		refs[r.key] = rawReference{ConnectionName: r.conn, Source: source, ID: apiIDPrefix + string(r.api),
			Tier: "NotSpecified", ConnectionReferenceLogicalName: r.logical}
	}
	refJSON, err := json.Marshal(refs) // map keys marshal sorted: deterministic
	if err != nil {
		panic(fmt.Sprintf("demo flow %s: %v", d.file, err))
	}
	state := d.state
	if state == "" {
		state = api.StateStarted
	}
	f := emulator.Flow{
		Environment: d.env, Name: d.name, DisplayName: d.display, State: state,
		CreatedTime: d.created, LastModifiedTime: d.changed, Creator: d.creator,
		Definition: json.RawMessage(def), ConnectionReferences: refJSON,
		IsManaged: d.managed, Permissions: d.perms, DeletedTime: d.deleted, Extra: d.extra,
	}
	if d.solution {
		f.WorkflowEntityID = string(d.name)
	}
	return f
}

func demoFlows() []demoFlow {
	ref := func(key string, apiName api.APIName, conn api.ConnectionName) demoRef {
		return demoRef{key: key, api: apiName, conn: conn}
	}
	solRef := func(key string, apiName api.APIName, conn api.ConnectionName, logical string) demoRef {
		return demoRef{key: key, api: apiName, conn: conn, logical: logical}
	}
	perm := func(p api.PrincipalID, role string) emulator.FlowPermission {
		return emulator.FlowPermission{Principal: p, Role: role}
	}
	deletedAt := at(2025, time.June, 26, 15, 42)
	falseJSON := json.RawMessage("false")

	approvalRefs := func(sp, appr, mail api.ConnectionName) []demoRef {
		return []demoRef{
			ref("shared_sharepointonline", "shared_sharepointonline", sp),
			ref("shared_approvals", "shared_approvals", appr),
			ref("shared_office365", "shared_office365", mail),
		}
	}
	onboardingRefs := func(dv, users, mail api.ConnectionName) []demoRef {
		return []demoRef{
			solRef("shared_commondataserviceforapps", "shared_commondataserviceforapps", dv, "contoso_sharedcommondataserviceforapps_4f1c2"),
			solRef("shared_office365users", "shared_office365users", users, "contoso_sharedoffice365users_9a7d3"),
			solRef("shared_office365", "shared_office365", mail, "contoso_sharedoffice365_2be81"),
		}
	}

	return []demoFlow{
		// --- Dev ---
		{env: DemoEnvDev, name: DemoFlowInvoiceApproval, display: "Invoice approval", file: "invoice-approval.json",
			creator: DemoPriya, created: at(2025, time.January, 15, 10, 12), changed: at(2025, time.May, 20, 14, 3),
			refs:  approvalRefs(connDevSharePoint, connDevApprovals, connDevOutlook),
			perms: []emulator.FlowPermission{perm(DemoMarcus, api.RoleCanEdit), perm(DemoFinanceApprovers, api.RoleCanEdit)},
			extra: map[string]json.RawMessage{"flowFailureAlertSubscribed": falseJSON}},
		{env: DemoEnvDev, name: "3f14acfb-cfe2-4ea3-bd73-5dafa5b82a90", display: "New contract → Teams channel", file: "new-contract-teams-post.json",
			creator: DemoMarcus, created: at(2025, time.January, 16, 9, 30), changed: at(2025, time.February, 4, 11, 0),
			refs: []demoRef{ref("shared_sharepointonline", "shared_sharepointonline", connDevSharePoint), ref("shared_teams", "shared_teams", connDevTeams)}},
		{env: DemoEnvDev, name: "c5fd4d9c-a373-4fc4-b650-c01207b32c92", display: "Weekly timesheet reminder (adaptive card)", file: "timesheet-reminder-card.json",
			creator: DemoMarcus, created: at(2025, time.January, 17, 15, 0), changed: at(2025, time.January, 17, 15, 40),
			refs: []demoRef{ref("shared_teams", "shared_teams", connDevTeams)}},
		{env: DemoEnvDev, name: DemoFlowAccountOnboard, display: "Account onboarding", file: "account-onboarding.json",
			creator: DemoSofia, created: at(2025, time.January, 22, 8, 30), changed: at(2025, time.April, 2, 13, 15), solution: true,
			refs: onboardingRefs(connDevDataverse, connDevUsers, connDevOutlook)},
		{env: DemoEnvDev, name: DemoFlowOrderWebhook, display: "Order intake webhook", file: "order-intake-webhook.json",
			creator: DemoMarcus, created: at(2025, time.February, 5, 10, 0), changed: at(2025, time.March, 18, 16, 45)},
		{env: DemoEnvDev, name: "2a94111e-9bfd-49f0-8dd3-e14ee682b32d", display: "Daily flow inventory", file: "daily-flow-inventory.json",
			creator: DemoAdmin, created: at(2025, time.February, 3, 16, 30), changed: at(2025, time.February, 3, 17, 5),
			refs: []demoRef{ref("shared_flowmanagement", "shared_flowmanagement", connDevFlowMgmt), ref("shared_office365", "shared_office365", connDevOutlook)}},
		{env: DemoEnvDev, name: DemoFlowChild, display: "Child - Get manager", file: "child-get-manager.json",
			creator: DemoSofia, created: at(2025, time.February, 17, 9, 0), changed: at(2025, time.February, 17, 9, 25), solution: true,
			refs: []demoRef{solRef("shared_office365users", "shared_office365users", connDevUsers, "contoso_sharedoffice365users_9a7d3")}},
		{env: DemoEnvDev, name: DemoFlowParent, display: "Parent - Escalate overdue invoices", file: "parent-escalate-overdue.json",
			creator: DemoSofia, created: at(2025, time.February, 17, 9, 40), changed: at(2025, time.March, 1, 10, 10), solution: true,
			refs: []demoRef{
				solRef("shared_sharepointonline", "shared_sharepointonline", connDevSharePoint, "contoso_sharedsharepointonline_71c0e"),
				solRef("shared_office365", "shared_office365", connDevOutlook, "contoso_sharedoffice365_2be81"),
			}},
		{env: DemoEnvDev, name: DemoFlowRequestLaptop, display: "Request a laptop", file: "request-a-laptop.json",
			creator: DemoPriya, created: at(2025, time.February, 24, 11, 0), changed: at(2025, time.April, 14, 9, 20),
			refs: []demoRef{
				ref("shared_sharepointonline", "shared_sharepointonline", connDevSharePoint),
				{key: "shared_office365", api: "shared_office365", conn: connDevOutlook, source: "Invoker"},
			},
			perms: []emulator.FlowPermission{perm(DemoSofia, api.RoleCanView), perm(DemoFieldStaff, api.RoleCanView)}},
		{env: DemoEnvDev, name: DemoFlowStopped, display: "Archive old files", file: "archive-old-files.json", state: api.StateStopped,
			creator: DemoPriya, created: at(2025, time.March, 3, 13, 0), changed: at(2025, time.June, 2, 8, 0),
			refs: []demoRef{ref("shared_sharepointonline", "shared_sharepointonline", connDevSharePoint)}},
		{env: DemoEnvDev, name: DemoFlowSuspended, display: "Vendor portal sync", file: "vendor-portal-sync.json", state: api.StateSuspended,
			creator: DemoMarcus, created: at(2025, time.March, 10, 10, 30), changed: at(2025, time.March, 10, 11, 0),
			refs: []demoRef{ref("shared_sharepointonline", "shared_sharepointonline", connDevSharePoint)}},
		{env: DemoEnvDev, name: DemoFlowDeleted, display: "Monthly expense reminder", file: "monthly-expense-reminder.json", state: api.StateStopped,
			creator: DemoTomas, created: at(2025, time.January, 28, 12, 0), changed: at(2025, time.June, 26, 15, 42), deleted: &deletedAt,
			refs: []demoRef{ref("shared_office365", "shared_office365", connDevOutlook)}},
		{env: DemoEnvDev, name: "77335bd4-bf96-4d42-a26e-36e4aa9f537d", display: "Support inbox digest", file: "shared-mailbox-digest.json",
			creator: DemoMarcus, created: at(2025, time.March, 12, 17, 0), changed: at(2025, time.March, 12, 17, 30),
			refs: []demoRef{ref("shared_office365", "shared_office365", connDevOutlook), ref("shared_office365_1", "shared_office365", connDevOutlookSupport)}},
		{env: DemoEnvDev, name: "39cf3799-baa8-4f14-8e2f-b73c776d372d", display: "Sync invoices to ERP", file: "sync-invoices-to-erp.json",
			creator: DemoMarcus, created: at(2025, time.March, 5, 10, 30), changed: at(2025, time.May, 7, 12, 0),
			refs: []demoRef{ref(string(DemoCustomAPI), DemoCustomAPI, connDevInvoiceAPI), ref("shared_sharepointonline", "shared_sharepointonline", connDevSharePoint)}},
		{env: DemoEnvDev, name: DemoFlowSecrets, display: "Partner API health check", file: "partner-api-health-check.json",
			creator: DemoMarcus, created: at(2025, time.April, 1, 8, 0), changed: at(2025, time.April, 1, 8, 20),
			refs: []demoRef{ref("shared_office365", "shared_office365", connDevOutlook)}},

		// --- Default ---
		{env: DemoEnvDefault, name: "06283c2e-579d-406e-9adf-dd94ce57572b", display: "Save receipts to OneDrive folder", file: "save-email-attachments.json",
			creator: DemoTomas, created: at(2024, time.November, 18, 12, 5), changed: at(2024, time.December, 2, 9, 0),
			refs: []demoRef{ref("shared_office365", "shared_office365", connDefaultOutlook), ref("shared_sharepointonline", "shared_sharepointonline", connDefaultSharePoint)}},

		// --- Test: promoted copies (new names, except the solution flow, which keeps its workflow id) ---
		{env: DemoEnvTest, name: "81c68f43-04c4-4a6f-8660-608dd846fd3a", display: "Invoice approval", file: "invoice-approval.json",
			creator: DemoPriya, created: at(2025, time.February, 10, 10, 0), changed: at(2025, time.May, 21, 9, 0),
			refs:  approvalRefs(connTestSharePoint, connTestApprovals, connTestOutlook),
			perms: []emulator.FlowPermission{perm(DemoMarcus, api.RoleCanEdit)}},
		{env: DemoEnvTest, name: "f0556d5f-4243-4ad0-8c01-6b5ef220ec65", display: "New contract → Teams channel", file: "new-contract-teams-post.json",
			creator: DemoMarcus, created: at(2025, time.February, 11, 10, 5), changed: at(2025, time.February, 11, 10, 5),
			refs: []demoRef{ref("shared_sharepointonline", "shared_sharepointonline", connTestSharePoint), ref("shared_teams", "shared_teams", connTestTeams)}},
		{env: DemoEnvTest, name: DemoFlowAccountOnboard, display: "Account onboarding", file: "account-onboarding.json",
			creator: DemoSofia, created: at(2025, time.February, 12, 15, 10), changed: at(2025, time.April, 3, 9, 0), solution: true,
			refs: onboardingRefs(connTestDataverse, connTestUsers, connTestOutlook)},

		// --- Prod ---
		{env: DemoEnvProd, name: "94487233-1c15-44a9-ac8e-08b0eee84489", display: "Invoice approval", file: "invoice-approval.json",
			creator: DemoPriya, created: at(2025, time.March, 3, 8, 10), changed: at(2025, time.May, 22, 7, 30),
			refs:  approvalRefs(connProdSharePoint, connProdApprovals, connProdOutlook),
			perms: []emulator.FlowPermission{perm(DemoMarcus, api.RoleCanEdit), perm(DemoAdmin, api.RoleCanViewWithShare)}},
		{env: DemoEnvProd, name: DemoFlowAccountOnboard, display: "Account onboarding", file: "account-onboarding.json",
			creator: DemoSofia, created: at(2025, time.March, 3, 8, 20), changed: at(2025, time.April, 7, 7, 0), solution: true, managed: true,
			refs: onboardingRefs(connProdDataverse, connProdUsers, connProdOutlook)},
		{env: DemoEnvProd, name: "4327c805-6d4e-4c5d-bf70-79f649cd3c61", display: "Order intake webhook", file: "order-intake-webhook.json",
			creator: DemoMarcus, created: at(2025, time.March, 20, 9, 0), changed: at(2025, time.March, 20, 9, 0)},
	}
}

// demoRuns gives a few flows a run history for list, cancel and resubmit.
func demoRuns() []emulator.Run {
	end := func(t time.Time) *time.Time { return &t }
	return []emulator.Run{
		{Environment: DemoEnvDev, Flow: DemoFlowInvoiceApproval, Name: "08584630124387502581773958211CU07", Trigger: "When_an_item_is_created",
			Status: "Succeeded", StartTime: at(2025, time.June, 27, 9, 14), EndTime: end(at(2025, time.June, 27, 11, 2))},
		{Environment: DemoEnvDev, Flow: DemoFlowInvoiceApproval, Name: "08584629980157334496209136870CU12", Trigger: "When_an_item_is_created",
			Status: "Failed", StartTime: at(2025, time.June, 28, 13, 40), EndTime: end(at(2025, time.June, 28, 13, 41))},
		{Environment: DemoEnvDev, Flow: DemoFlowInvoiceApproval, Name: "08584629430015962219741105823CU03", Trigger: "When_an_item_is_created",
			Status: "Running", StartTime: at(2025, time.June, 30, 10, 5)},
		{Environment: DemoEnvDev, Flow: DemoFlowOrderWebhook, Name: "08584629512208849105302918446CU21", Trigger: "manual",
			Status: "Succeeded", StartTime: at(2025, time.June, 29, 22, 17), EndTime: end(at(2025, time.June, 29, 22, 17))},
		{Environment: DemoEnvProd, Flow: "4327c805-6d4e-4c5d-bf70-79f649cd3c61", Name: "08584629440730581163629034117CU09", Trigger: "manual",
			Status: "Cancelled", StartTime: at(2025, time.June, 30, 8, 0), EndTime: end(at(2025, time.June, 30, 8, 1))},
	}
}
