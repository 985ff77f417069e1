// Command sse-bench-server serves one SSE implementation for the
// benchmark: event streams at GET /events/{room}, and the control
// endpoints of package benchserver for the load generator. It prints its
// base URL as the first line on standard output.
//
//	sse-bench-server -impl=roomcast -addr=127.0.0.1:0
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/roomcast/sse/bench/internal/benchserver"
	"github.com/roomcast/sse/bench/internal/impl"
	"github.com/roomcast/sse/bench/internal/procstat"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "sse-bench-server:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sse-bench-server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("impl", "roomcast", "implementation: "+strings.Join(impl.Names(), ", "))
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	queue := fs.Int("queue", 0, "per-client queue length for the floor (0: its default)")
	fds := fs.Uint64("fds", 1<<20, "open-file limit to ask for")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if got, err := procstat.RaiseFDLimit(*fds); err != nil {
		fmt.Fprintf(stderr, "sse-bench-server: warning: %v; at most about %d streams\n", err, got)
	}
	im, err := impl.New(*name, impl.Options{QueueEvents: *queue})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	bs := benchserver.New(im)
	srv := &http.Server{
		Handler:           bs,
		ReadHeaderTimeout: 10 * time.Second,
		// No WriteTimeout: streams are long-lived.
	}
	fmt.Fprintf(stdout, "http://%s\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if res := bs.Shutdown(sctx); res.Err != "" {
		err = errors.New(res.Err)
	}
	// Streams do not end on their own: Close rather than Shutdown.
	err = errors.Join(err, srv.Close())
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}
