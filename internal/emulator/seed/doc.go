// Package seed produces the emulator's starting states as data
// (*emulator.Snapshot) and loads real flow files into them.
//
// Two named seeds exist (Names, Lookup): "empty" is the Contoso tenant with
// its administrator and default environment only; "demo" is a fixed,
// deterministic Contoso tenant (Dev, Test and Prod environments, makers,
// groups, service principals, connectors, connections and 22 flows written
// for flowsync, stored in flows/*.json) that covers approval, SharePoint,
// Teams, Dataverse, HTTP request, recurrence, parent/child, run-only,
// co-owned, stopped, suspended, soft-deleted, duplicate-reference, custom
// connector and inline-secret flows. The secrets in it are obviously fake
// ("DEMO-ONLY-…") and exist so that redaction can be tested.
//
// # Flow files
//
// LoadFlowFile reads the two formats flows are found in, in UTF-8, UTF-8
// with BOM or UTF-16 (see package textenc):
//
//   - package: Microsoft.Flow/flows/<guid>/definition.json of a legacy export
//     package, an ARM resource {name, id, type, properties{displayName,
//     definition, connectionReferences, …}} whose references are already in
//     the Flow RP's dictionary shape. They are kept byte-for-byte.
//   - solution: Workflows/<Name>-<GUID>.json of an unpacked Dataverse
//     solution, {properties{connectionReferences, definition, …},
//     schemaVersion}. Such a flow becomes a solution flow: its
//     WorkflowEntityID is its flow name.
//
// Solution references use Dataverse's clientdata shape and are converted, one
// entry at a time, to the Flow RP shape:
//
//	api.name                              -> id: "/providers/Microsoft.PowerApps/apis/<api.name>"
//	connection.name (if present)          -> connectionName
//	connection.connectionReferenceLogicalName (if present)
//	                                      -> connectionReferenceLogicalName
//	runtimeSource "embedded"|"invoker"    -> source "Embedded"|"Invoker" (first letter
//	                                         upper-cased; absent means "Embedded")
//	any other member (e.g. impersonation) -> kept unchanged
//	api / connection with members beyond the ones mapped above (e.g.
//	api.logicalName of custom connectors) -> kept unchanged as a whole
//
// Converted entries are written id, connectionName, connectionReferenceLogicalName,
// source, then the kept members in file order; entry order is kept.
//
// The definition is kept as the exact bytes of properties.definition in the
// decoded text. The display name is properties.displayName, else
// FileOptions.DisplayName, else the file's base name without a trailing GUID.
// The flow name is the top-level name when it is a GUID, else
// FileOptions.Name, else a GUID ending the file's base name, else an RFC 4122
// version 5 GUID of the base name in flowsync's own namespace. Other
// properties members go to Flow.Extra unless they map to a field with a
// non-zero value (state, templateName, isManaged, workflowEntityId,
// createdTime, lastModifiedTime), so writing the flow back loses nothing.
// Top-level id, type and schemaVersion describe the file, not the flow, and
// are dropped.
//
// FromFiles and FromCorpus add loaded flows to a snapshot together with what
// the emulator needs to accept them: the environment, connectors (custom when
// not a known Microsoft connector or when the name carries the "-5f" escape)
// and one Connected connection per distinct connection. A reference that
// names no connection gets "shared-<api, cut like the service does>-<GUID>",
// the GUID derived from environment, api and logical name, so references to
// one Dataverse connection reference share one connection.
package seed
