package seed

import (
	"strconv"
	"strings"

	"github.com/flowsync/flowsync/internal/api"
	"github.com/flowsync/flowsync/internal/emulator"
)

// Connector tiers as the service names them.
const (
	tierStandard = "Standard"
	tierPremium  = "Premium"
)

// microsoftConnector describes a connector Microsoft publishes to every
// environment. The list covers the demo tenant and the corpus; a name missing
// from it is treated as a custom connector.
//
// Uncertain: tiers and OAuth flags are from public connector documentation
// as we read it; the emulator only uses them for display and for the
// "unauthenticated until a person signs in" behaviour of new connections.
func microsoftConnector(name api.APIName) (displayName, tier string, oauth, ok bool) {
	switch name {
	case "shared_office365":
		return "Office 365 Outlook", tierStandard, true, true
	case "shared_office365users":
		return "Office 365 Users", tierStandard, true, true
	case "shared_office365groups":
		return "Office 365 Groups", tierStandard, true, true
	case "shared_sharepointonline":
		return "SharePoint", tierStandard, true, true
	case "shared_teams":
		return "Microsoft Teams", tierStandard, true, true
	case "shared_approvals":
		return "Approvals", tierStandard, false, true
	case "shared_commondataserviceforapps":
		return "Microsoft Dataverse", tierPremium, true, true
	case "shared_commondataservice":
		return "Microsoft Dataverse (legacy)", tierPremium, true, true
	case "shared_flowmanagement":
		return "Power Automate Management", tierStandard, true, true
	case "shared_logicflows":
		return "Logic flows", tierStandard, false, true
	case "shared_flowpush":
		return "Notifications", tierStandard, false, true
	case "shared_conversionservice":
		return "Content Conversion", tierStandard, false, true
	case "shared_planner":
		return "Planner", tierStandard, true, true
	case "shared_microsoftforms":
		return "Microsoft Forms", tierStandard, true, true
	case "shared_rss":
		return "RSS", tierStandard, false, true
	case "shared_webcontents":
		return "HTTP with Microsoft Entra ID (preauthorized)", tierPremium, true, true
	case "shared_powerappsforadmins":
		return "Power Apps for Admins", tierStandard, true, true
	case "shared_powerplatformforadmins":
		return "Power Platform for Admins", tierStandard, true, true
	case "shared_powerplatformadminv2":
		return "Power Platform for Admins V2", tierStandard, true, true
	case "shared_excelonlinebusiness":
		return "Excel Online (Business)", tierStandard, true, true
	case "shared_github":
		return "GitHub", tierStandard, true, true
	}
	return "", "", false, false
}

// isCustomAPI reports whether name is a custom connector: not a known
// Microsoft connector, or carrying the service's "-5f" escape of '_' that
// only generated custom connector names contain.
func isCustomAPI(name api.APIName) bool {
	if strings.Contains(string(name), "-5f") {
		return true
	}
	_, _, _, known := microsoftConnector(name)
	return !known
}

// connectorFor returns the connector named name as env sees it: a shared
// Microsoft connector, or a custom connector limited to env.
func connectorFor(name api.APIName, env api.EnvName) emulator.Connector {
	if display, tier, oauth, ok := microsoftConnector(name); ok && !isCustomAPI(name) {
		return emulator.Connector{Name: name, DisplayName: display, Tier: tier, OAuth: oauth, Publisher: "Microsoft"}
	}
	return emulator.Connector{
		Name:        name,
		DisplayName: customDisplayName(name),
		Tier:        tierPremium,
		Custom:      true,
		Environment: env,
	}
}

// customDisplayName undoes the service's name escaping: a custom connector
// "shared_<escaped name>-5f<hex id>" escapes characters as "-XX" (hex), so
// "shared_contoso-5finvoice-20api-5f0123456789abcdef" reads "contoso_invoice api".
func customDisplayName(name api.APIName) string {
	s := strings.TrimPrefix(string(name), "shared_")
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '-' && i+2 < len(s) {
			if c, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil && c >= 0x20 && c < 0x7f {
				b.WriteByte(byte(c))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	out := b.String()
	for {
		i := strings.LastIndexByte(out, '_')
		if i <= 0 || len(out)-i-1 < 8 || !isHex(out[i+1:]) {
			return out
		}
		out = out[:i]
	}
}

func isHex(s string) bool {
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return s != ""
}

// connectionPrefix is how the service starts connection names: "shared-"
// plus the api name without "shared_", cut to 20 characters
// ("shared-sharepointonl-…").
func connectionPrefix(name api.APIName) string {
	p := "shared-" + strings.TrimPrefix(string(name), "shared_")
	if len(p) > 20 {
		p = p[:20]
	}
	return strings.TrimRight(p, "-")
}

// inventConnectionName derives a stable connection name for a reference that
// names none: same environment, api and logical name, same connection.
func inventConnectionName(env api.EnvName, apiName api.APIName, logicalName string) api.ConnectionName {
	return api.ConnectionName(connectionPrefix(apiName) + "-" + nameGUID("connection\x00"+string(env)+"\x00"+string(apiName)+"\x00"+logicalName))
}
