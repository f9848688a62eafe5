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
// stable, so an unchanged flow exports to identical bytes. A placeholder a
// maker typed keeps its path; a new one that would share it gets ~2.
//
// Secrets are found two ways. By position: credential fields (an
// authentication object's password, a headers object's Authorization, a
// member named token or apiKey) lose a literal value whole. By shape: any
// string loses the credential part of a sig= or AccountKey= member (in any
// case and encoding), a Bearer or Basic credential, a JWT or a Cookie line,
// and keeps the rest; the path gets a fragment naming what was there:
// ...&sig=<redacted:flowsync:actions.Call.inputs.uri#sig>&...
//
// Expressions are references and stay, but they are read, not skipped: a
// string is a sequence of literal text, @{...} interpolations and
// placeholders, and an expression's single-quoted string literals are data
// unless they name something (variables('x'), ['access_token']). So
// @concat('Bearer ', '<literal>') in a credential field, or
// ...&sig=@{...}<literal> anywhere, loses only the literal, and the
// expression stays valid. When an expression in a credential field names a
// definition parameter, that parameter's literal defaultValue is redacted:
// solution flows keep secrets in environment-variable parameters.
//
// The removed values can be kept with the placeholders' paths (Values) and
// sealed to age recipients (Seal, Open). Restore puts them back: each string
// gets its exact original bytes again, also where only a part was replaced.
// Values are never logged: their fmt verbs print a count only.
//
// docs/FORMAT.md lists every rule and the known limits.
package secrets
