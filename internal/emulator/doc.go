// Package emulator is a local, standalone server for the Power Automate
// Management API as CONTRACT.md describes it: the Flow (Microsoft.ProcessSimple),
// PowerApps (Microsoft.PowerApps) and BAP (Microsoft.BusinessAppPlatform)
// paths on one host. It is flowsync's test bed and the demo's backend.
//
// It is not a mock that accepts whatever it is sent. Like the service it
// insists on api-version, on a bearer token whose caller is a principal of
// the tenant, on the admin role for scopes/admin paths and on delegated
// tokens for user-scope flow paths; it hides flows the caller cannot edit
// (404 FlowNotFound), refuses unknown environments (403
// EnvironmentAccessDenied), checks definitions, connection references and
// connections on save and on Turn On, soft-deletes flows for 21 days, pages
// lists with opaque $skiptokens and throttles each identity in sliding
// windows. Uncertain behaviour is decided in one place each, marked
// "Uncertain:".
//
// Besides CONTRACT.md's table it serves Get Flow Run and Microsoft Graph's
// POST /v1.0/directoryObjects/getByIds (graph.go), from the snapshot's
// principals, for Graph-audience tokens.
//
// State is a Snapshot (snapshot.go) loaded into maps; Dump writes it back
// sorted, and a state file keeps it across restarts. Time comes from a
// Clock, so retention and throttling are driven by tests, not waited for.
// Access tokens are the exception: their exp and nbf are checked against
// Options.TokenClock, the wall clock by default (lifetime.go), because
// tokens minted by other tools carry real times.
//
// Faults (429 storms, 5xx, 5xx after an applied write, dropped connections,
// slow and truncated answers) are drawn from a seeded generator so that a
// failing run can be replayed; targeted rules hit the Nth call of one
// operation (op=create:nth=1, op=write:count=20; see ParseFaults). OnWrite
// tells an in-process test of each applied write before its answer leaves,
// so a crash test can stop a client at exactly its Nth write.
//
// # Control paths
//
// Everything under /_emulator/ is for tests, the demo and the CLI; it needs
// no token and is never throttled, faulted or counted:
//
//	GET    /_emulator                       this list
//	GET    /_emulator/requests?limit=N      request log, oldest first; query values
//	                                        other than api-version, $top, $filter,
//	                                        include, $expand, $select and
//	                                        includeFlowDefinition are redacted
//	GET    /_emulator/stats                 {"identities":{id:{calls,nonGet,throttled,applied}}}
//	                                        (applied: writes answered 2xx, as OnWrite sees them)
//	GET    /_emulator/state                 the state as a Snapshot
//	POST   /_emulator/reset[?empty=true]    back to the last loaded snapshot (or empty);
//	                                        clears log, stats, throttle windows and
//	                                        fault counters
//	POST   /_emulator/seed?name=demo        load a named seed (Options.Seeds)
//	POST   /_emulator/seed                  load the Snapshot in the body
//	GET    /_emulator/clock                 {"now":…}
//	POST   /_emulator/clock/advance?by=72h  move the emulator clock forward
//	GET    /_emulator/faults                rules with seen/fired counts
//	POST   /_emulator/faults?spec=…         replace the rules (spec as in ParseFaults;
//	                                        also accepted as the body; an empty or
//	                                        oversized spec is refused)
//	DELETE /_emulator/faults                remove all rules
//	POST   /_emulator/token?principal=<id>[&audience=<aud>][&ttl=1h]
//	                                        {"access_token":…} for a user or service principal;
//	                                        a negative ttl mints an expired token
//
// Entra paths (/{tenant}/oauth2/…, /{tenant}/v2.0/…, /{tenant}/.well-known/…,
// /{tenant}/discovery/…) go to the handler set with SetIdentityHandler.
package emulator
