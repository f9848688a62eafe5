// Package cli is flowsync's command line: urfave/cli definitions, option
// structs and the runX functions behind each command.
//
// Each command is an options struct plus a runX(ctx, opts) function; the
// urfave action only fills the struct, so tests call runX directly with
// buffers for output. Nothing below this package prints or exits: engines
// report through small interfaces, and Main alone turns errors into exit
// codes (0 ok, 1 failure, 2 usage, 3 partial).
package cli
