// Package client calls the Power Automate Management API (the Flow service),
// and the PowerApps and BAP services beside it, as CONTRACT.md describes:
// every action of the Power Automate Management connector plus runs,
// triggers, connectors and connections, typed with internal/api.
//
// One request path carries every call. Before each attempt it asks the
// TokenSource for a token of the host's scope and waits on the caller
// identity's Pacer; after it, shouldRetry (retry.go) decides: 429 is always
// retried after Retry-After with the identity paused; 5xx and connection
// errors are retried with backoff for reads and idempotent writes, while a
// non-idempotent write (Create Flow, Resubmit) that may have reached the
// server is never re-sent and fails with ErrAmbiguousWrite; 4xx is final,
// except a 401 that says the token expired (ExpiredAuthenticationToken, or
// Graph's InvalidAuthenticationToken): the client gets a fresh token once
// (asking a TokenInvalidator to drop the refused one) and sends again.
//
// LookupPrincipals is the one call outside the Power Automate services: it
// resolves principal ids through Microsoft Graph (directoryObjects/getByIds,
// the cloud's Graph host, its own scope, not paced with the connector
// limits).
//
// Lists follow nextLink verbatim across hosts, but a bearer token goes only
// to a configured endpoint or a Microsoft service host over https. Logs and
// errors never carry tokens, bodies or SAS signatures (internal/redact).
package client
