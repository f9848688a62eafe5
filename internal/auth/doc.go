// Package auth obtains the bearer tokens flowsync sends to the Power Automate
// APIs.
//
// A Method names where tokens come from: a service principal's client
// secret or certificate, a user's device-code sign-in, the Azure CLI's
// signed-in account, a managed identity, a workload identity (an OIDC token
// a CI system such as GitHub Actions or Azure DevOps wrote to the file named
// by AZURE_FEDERATED_TOKEN_FILE), the Azure SDK's default chain, or a token
// the caller already holds (FLOWSYNC_TOKEN). New turns Options into a
// Source, which asks Entra for a token per scope (for example
// "https://service.flow.microsoft.com//.default") and reuses it until five
// minutes before it expires.
//
// A token the service refuses although it has not expired by our clock (the
// service's clock is ahead, or the token was revoked) is reported through
// InvalidateToken: the Source drops it, and its next fetch for that scope
// sends Entra a claims request, which makes the Entra library skip its own
// cache and ask for a new token. A credential that cannot do that (the Azure
// CLI) or a token the caller gave (FLOWSYNC_TOKEN) fails with
// ErrNotRefreshable and an error that says what to do.
//
// With the token method, one token serves the Power Automate scopes;
// FLOWSYNC_POWERAPPS_TOKEN, when set, the PowerApps and BAP scope, and
// FLOWSYNC_GRAPH_TOKEN the Microsoft Graph scope (principal lookups). Graph
// refuses a Power Automate token, so FLOWSYNC_TOKEN is sent to Graph only when
// it has Graph's audience or none (the emulator's tokens for every path).
//
// Options left empty fall back to the AZURE_* variables the Azure SDK reads.
// AuthorityHost points token requests at a sovereign cloud or at the
// emulator's Entra endpoint. Client secrets and certificate passwords never
// appear in errors or in the printed, logged or JSON form of Options.
//
// Certificates load from PFX/PKCS#12 files (including the AES/PBKDF2-SHA256
// files OpenSSL 3 writes by default, which the Azure SDK's own parser
// rejects) and from PEM files with a plain or encrypted PKCS#8, PKCS#1 or EC
// key; Entra client assertions need an RSA key.
package auth
