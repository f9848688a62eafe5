package auth

import "github.com/flowsync/flowsync/internal/redact"

// redacted replaces secret option values wherever options are printed.
const redacted = redact.Placeholder

// redactErr wraps err so its message never contains one of secrets (nor any
// credential redact.String recognizes, such as a token a library echoed).
// Unwrap still exposes the cause to errors.Is and errors.As.
func redactErr(err error, secrets []string) error {
	return redact.Error(err, secrets...)
}
