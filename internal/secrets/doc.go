// Package secrets keeps credentials out of the exported tree.
//
// Redaction walks a JSON document (a flow definition) and replaces each
// secret it recognises with a placeholder string,
//
//	<redacted:flowsync:PATH>
//
// where PATH is where the secret was, e.g.
// actions.HTTP.inputs.authentication.password. The placeholder is derived
// from the location only, never from the value: a hash of the value would let
// anyone holding the tree test guesses of short passwords, and a location is
// stable, so an unchanged flow exports to identical bytes. A secret inside a
// longer string (a sig= or code= query parameter of a URL) is replaced in
// place and its path gets a fragment naming the parameter:
// ...&sig=<redacted:flowsync:actions.Call.inputs.uri#sig>&...
//
// Expressions are references, not secrets, and are never redacted: a string
// that starts with a single @ (@parameters('$authentication'),
// @body('Get_token')) or contains an @{...} interpolation stays as it is.
// When such a reference names a definition parameter from a secret field
// (authentication secret, password, API key header), that parameter's literal
// defaultValue is redacted instead: solution flows keep secrets in
// environment-variable parameters of type String.
//
// The removed values can be kept with the placeholders' paths (Values) and
// sealed to age recipients (Seal, Open), so a disaster-recovery restore can
// put them back (Restore). Values are never logged: their fmt verbs print a
// count only.
package secrets
