package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	ucli "github.com/urfave/cli/v2"

	"github.com/flowsync/flowsync/internal/safetext"
)

// Version is set at build time (Makefile ldflags).
var Version = "dev"

// IO is where a command reads and writes; tests pass buffers.
type IO struct {
	In     io.Reader
	Out    io.Writer
	Err    io.Writer
	Getenv func(string) string
}

// Main runs flowsync with args (args[0] is the program name) and returns the
// process exit code. It is the only place that decides exit codes.
func Main(ctx context.Context, args []string, stdio IO) int {
	// The API client logs (--verbose) from reader goroutines while the
	// reporter prints progress: one lock per stream keeps lines whole, and
	// keeps writers that are not safe for concurrent use (test buffers) so.
	stdio.Out, stdio.Err = &lockedWriter{w: stdio.Out}, &lockedWriter{w: stdio.Err}
	app := newApp(stdio)
	err := app.RunContext(ctx, args)
	if err == nil {
		return ExitOK
	}
	if errors.Is(err, errChanges) {
		return ExitChanges // diff --exit-code: the plan, already printed, says it
	}
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(stdio.Err, "flowsync: interrupted")
		return ExitFailure
	}
	// Errors carry names and messages from the service: one safe line.
	fmt.Fprintf(stdio.Err, "flowsync: %s\n", safetext.Error(err))
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintln(stdio.Err, "Run 'flowsync --help' for usage.")
	}
	return exitCode(err)
}

// lockedWriter serializes writes to w.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func newApp(stdio IO) *ucli.App {
	g := &globalOptions{io: stdio}
	app := &ucli.App{
		Name:                 "flowsync",
		Usage:                "keep Power Automate cloud flows in Git",
		Version:              Version,
		Writer:               stdio.Out,
		ErrWriter:            stdio.Err,
		Reader:               stdio.In,
		EnableBashCompletion: false,
		HideHelpCommand:      true,
		Flags:                g.flags(),
		Before: func(c *ucli.Context) error {
			return g.fill(c)
		},
		OnUsageError: func(_ *ucli.Context, err error, _ bool) error {
			return usagef("%s", strings.TrimPrefix(err.Error(), "flag provided but not defined: "))
		},
		Commands: []*ucli.Command{
			envsCommand(g),
			flowsCommand(g),
			exportCommand(g),
			emulatorCommand(g),
			demoCommand(g),
			diffCommand(g),
			importCommand(g),
			mappingCommand(g),
			logCommand(g),
			showCommand(g),
			restoreCommand(g),
		},
		ExitErrHandler: func(*ucli.Context, error) {}, // Main decides exit codes
	}
	for _, cmd := range app.Commands {
		setUsageHandler(cmd)
	}
	return app
}

// setUsageHandler makes flag parse errors of every (sub)command usage errors (exit 2).
func setUsageHandler(cmd *ucli.Command) {
	cmd.OnUsageError = func(_ *ucli.Context, err error, _ bool) error {
		return usagef("%s: %v", cmd.Name, err)
	}
	for _, sub := range cmd.Subcommands {
		setUsageHandler(sub)
	}
}
