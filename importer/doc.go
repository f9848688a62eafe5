// Package importer applies a promotion plan (diff.Plan) to a live
// environment. It is the only package that writes flows to the service.
//
// Apply walks the plan's changes, children before their parents: a Create
// makes the flow Stopped with its connection references already bound in
// the target, an Update patches what the plan says differs, then owners and
// run-only users are made equal to the mapped source (the service never
// grants Owner: a source Owner is granted CanEdit; the flow's creator and the
// importing identity keep their access), and last the state is set: a flow
// is turned on only after its connections are bound and its child flows are
// on. Deletions happen only when the plan has them (made with prune).
//
// Creating a flow is the one write that cannot be repeated safely: a Create
// Flow the service applied can still answer 502 or lose its connection. The
// importer therefore writes a journal entry (intent) before each create and
// another (done) after it, atomically. When a create is ambiguous, or a
// journal left by a killed run holds an intent without its done record, the
// importer looks the flow up by display name among the target's flows that
// nothing else is linked to, adopts the newest, and says so; it never creates
// a second flow. Each new pairing of a source flow with its target flow is
// reported through Links as soon as it is known. A journal from another
// promotion (other source or target environment) is refused; a finished
// import removes it. Recover settles a journal before the next plan is
// made, so that the flows a killed run made pair by link rather than by a
// display name that may now match twice. An admin that is not an owner of
// a target flow grants itself CanEdit through the admin scope to save it and
// takes it back afterwards; those grants are journalled too, so a killed
// run's grant is taken back by the next.
//
// The importer speaks to the service through Target, the few client calls
// it needs (*client.Client implements it). Dry run is Recorder, a Target
// that reads through and records the writes it is asked for instead of
// sending them (Preview wires it up). Progress goes to a Reporter; the
// importer never prints.
//
// Secrets redacted at export come back before a write: values the caller
// supplies (SecretValues: the tree's secrets.age, or a --secrets file, see
// ParseSecretsFile) fill their placeholders, as the planner already shows
// them; every other placeholder of an existing target flow takes the value
// the flow holds at that spot, so the target keeps it; a flow whose
// placeholders cannot all be filled is refused. A placeholder is never sent to the service: every Create and
// Update body is checked right before it goes.
package importer
