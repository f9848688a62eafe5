// Package redact removes credentials from text before it reaches a log line,
// an error message or a terminal. It is the one place that does so, and
// Placeholder is the one mark it leaves.
//
// String finds credentials by their shape: SAS signatures (the sig= query
// parameter of callback and trigger URLs, which grants access without any
// other secret; found by internal/secrets' rule, in any case and encoding:
// %26sig%3D, &amp;sig=, ;sig=), bearer tokens, HTTP basic credentials, Authorization header
// values, JWT-shaped strings and the user information of URLs
// (https://user:password@host). URL does the same for one URL. Values and
// Error also remove secrets known by value (a client secret, a Git token, a
// certificate password) in every form a lower layer or a remote might echo
// them: as given, percent-encoded and base64-encoded.
//
// Redaction is textual and conservative: it may hide a little more than the
// secret (a value up to the next delimiter, a user name with its password)
// but never leaves part of it. Every function is idempotent.
package redact
