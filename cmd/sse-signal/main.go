// Command sse-signal serves the swarm signalling protocol of koa-signal
// and moshpit over Server-Sent Events; it is moshpit's CLI. See
// sse-signal --help.
package main

import (
	"context"
	"fmt"
	"os"
	ossignal "os/signal"
	"syscall"
)

func main() {
	ctx, stop := ossignal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "sse-signal:", err)
		os.Exit(exitCode(err))
	}
}
