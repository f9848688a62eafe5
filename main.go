// Command flowsync keeps Microsoft Power Automate cloud flows in Git.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/flowsync/flowsync/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args, cli.IO{In: os.Stdin, Out: os.Stdout, Err: os.Stderr, Getenv: os.Getenv})
	stop()
	os.Exit(code)
}
