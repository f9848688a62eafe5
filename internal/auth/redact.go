package auth

import "strings"

// redactedError hides secrets that a lower layer might have put into an
// error message. Unwrap still exposes the cause to errors.Is and errors.As.
type redactedError struct {
	err     error
	secrets []string
}

func (e *redactedError) Error() string {
	msg := e.err.Error()
	for _, s := range e.secrets {
		msg = strings.ReplaceAll(msg, s, redacted)
	}
	return msg
}

func (e *redactedError) Unwrap() error { return e.err }

// redact wraps err so its message never contains one of secrets.
func redact(err error, secrets []string) error {
	if err == nil || len(secrets) == 0 {
		return err
	}
	return &redactedError{err: err, secrets: secrets}
}
