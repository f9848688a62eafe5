// Package redact removes credentials from text before it reaches a log line,
// an error message or a terminal: SAS signatures (the sig= query parameter of
// callback and trigger URLs, which grants access without any other secret),
// bearer tokens and JWT-shaped strings.
//
// Redaction is textual and conservative: it may hide a little more than the
// secret (a value up to the next delimiter) but never leaves part of it.
package redact
