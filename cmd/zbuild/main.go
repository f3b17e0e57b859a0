// Command zbuild is a daemonless container image builder.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/zbuild/zbuild/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Execute(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
