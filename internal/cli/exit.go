package cli

import (
	"errors"
	"fmt"

	ucli "github.com/urfave/cli/v2"

	"github.com/flowsync/flowsync/internal/auth"
)

// Exit codes, decided in one place.
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2
	ExitPartial = 3
)

// usageError is a bad flag or value: exit 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// noArgs refuses positional arguments: every input of cmd is a flag. hint,
// when not empty, says where the argument probably belongs.
func noArgs(c *ucli.Context, cmd, hint string) error {
	if c.Args().Len() == 0 {
		return nil
	}
	if hint != "" {
		hint = " (" + hint + ")"
	}
	return usagef("%s takes no arguments, got %q%s", cmd, c.Args().First(), hint)
}

// ErrPartial marks a run that did its job for some items and failed for
// others (exit 3). Wrap it with the summary.
var ErrPartial = errors.New("partial success")

// exitCode maps an error to the process exit code. An authentication
// setting found missing mid-run (FLOWSYNC_GRAPH_TOKEN when the first
// principal lookup asks for it) is a usage error like one found at start:
// the fix is the same setting. A partial run stays 3: some items were done.
func exitCode(err error) int {
	var ue *usageError
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, ErrPartial):
		return ExitPartial
	case errors.As(err, &ue), errors.Is(err, auth.ErrMissingSetting):
		return ExitUsage
	default:
		return ExitFailure
	}
}
