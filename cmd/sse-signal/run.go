package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/roomcast/sse/backplane/redis"
	"github.com/roomcast/sse/backplane/redis/signalstore"
	"github.com/roomcast/sse/signal"
)

// Timeouts of the HTTP server. There is no WriteTimeout: streams last.
const (
	readHeaderTimeout = 10 * time.Second
	idleTimeout       = 2 * time.Minute
	shutdownTimeout   = 10 * time.Second
	redisTimeout      = 5 * time.Second // to reach Redis at the start
)

// run is the program: it parses args, serves until ctx is done, then
// stops gracefully. The start-up line goes to stdout; log lines, usage
// errors and --help's text for a bad command line to stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	opts, err := parseArgs(args)
	switch {
	case errors.Is(err, flag.ErrHelp) || opts.help:
		_, err := io.WriteString(stdout, usage)
		return err
	case err != nil:
		return err
	case opts.version:
		_, err := fmt.Fprintln(stdout, "sse-signal", versionString())
		return err
	}
	who, err := resolveIdentity(opts.uid, opts.gid)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	opts.cfg.Logger = logger
	shared := ""
	if opts.redis != "" {
		ropts, _ := goredis.ParseURL(opts.redis) // checked by parseArgs
		// A retried publish could be delivered twice (backplane/redis
		// refuses a client that retries).
		ropts.MaxRetries = -1
		rdb := goredis.NewClient(ropts)
		defer rdb.Close()
		if err := reach(ctx, rdb, ropts.Addr); err != nil {
			return err
		}
		bp, err := redis.New(redis.Config{Client: rdb, Prefix: "sse-signal:bp:", Logger: logger})
		if err != nil {
			return err
		}
		opts.cfg.Store = signalstore.New(signalstore.Config{Client: rdb, Prefix: "sse-signal:"})
		opts.cfg.Backplane = bp
		shared = fmt.Sprintf(", sharing swarms on redis %s", ropts.Addr)
	}
	srv, err := signal.New(opts.cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(opts.host, strconv.Itoa(opts.port)))
	if err == nil {
		if err = who.drop(); err != nil {
			_ = ln.Close()
			err = fmt.Errorf("dropping privileges: %w", err)
		}
	}
	if err != nil {
		_ = srv.Shutdown(context.Background())
		return err
	}

	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	fmt.Fprintf(stdout, "sse-signal %s listening on http://%s%s\n", versionString(), ln.Addr(), shared)

	select {
	case err := <-served:
		_ = srv.Shutdown(context.Background())
		return err
	case <-ctx.Done():
	}
	logger.Info("stopping: ending streams")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	// End the streams first: http.Server.Shutdown waits for connections
	// to go idle, which streams never do. Meanwhile new streams are
	// answered 204 and posts 503, until the listener closes.
	err = errors.Join(srv.Shutdown(sctx), hs.Shutdown(sctx))
	if serveErr := <-served; !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(err, serveErr)
	}
	if err == nil {
		logger.Info("stopped")
	}
	return err
}

// reach checks that Redis answers before the server starts, so that an
// unreachable one is reported as that, in one sentence, rather than as
// the backplane's failure to subscribe.
func reach(ctx context.Context, rdb *goredis.Client, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, redisTimeout)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("cannot reach Redis at %s (--redis): %w", addr, err)
	}
	return nil
}
