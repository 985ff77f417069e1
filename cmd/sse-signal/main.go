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

	goredis "github.com/redis/go-redis/v9"
)

func main() {
	// go-redis prints its own lines to stderr, one per failed dial; the
	// backplane logs reconnections through our logger, and run reports an
	// unreachable Redis in one line.
	goredis.SetLogger(quietRedis{})
	ctx, stop := ossignal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "sse-signal:", err)
		os.Exit(exitCode(err))
	}
}

// quietRedis is a go-redis logger that prints nothing.
type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}
