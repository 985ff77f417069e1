// Command chat is a small roomcast/sse server with a web page: GET /
// serves the page, GET /events/{room} streams a room, POST /rooms/{room}
// publishes the request body to it, a schedule sends the server time to
// everyone every second (not kept for replay), and GET /metrics serves
// Prometheus metrics.
//
//	go run . # in examples/chat
//	open http://localhost:8080/#lobby
//	curl -N localhost:8080/events/lobby
//	curl -d 'hello' localhost:8080/rooms/lobby
//
// With -cert and -key it serves HTTPS, where browsers speak HTTP/2 and so
// can hold more than six streams to it; see README.md.
package main

import (
	"context"
	"crypto/tls"
	"embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/roomcast/sse"
	"github.com/roomcast/sse/metrics"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "chat:", err)
		os.Exit(exitCode(err))
	}
}

// errUsage marks a bad command line; main exits 2 for it, as the flag
// package and sse-signal do, and 1 for any other failure.
var errUsage = errors.New("bad usage (see -h)")

func exitCode(err error) int {
	if errors.Is(err, errUsage) {
		return 2
	}
	return 1
}

// maxMessage bounds a posted message.
const maxMessage = 64 << 10

// web holds the page: plain HTML, CSS and JavaScript, no build step.
//
//go:embed web
var web embed.FS

// run serves until ctx ends. It prints one line with the address once the
// server is listening; with -h, the usage, and returns nil. An error for a
// bad command line wraps errUsage; main prints errors.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args)
	if errors.Is(err, flag.ErrHelp) {
		_, err = io.WriteString(stdout, usage())
		return err
	}
	if err != nil {
		return err
	}
	a, err := newApp(o, stderr)
	if err != nil {
		return err
	}
	return a.serve(ctx, stdout)
}

// options are run's flags.
type options struct {
	addr     string
	certFile string
	keyFile  string
	retry    time.Duration
	// readHeaderTimeout bounds how long a client may take to send its
	// request headers, so that slow ones cannot hold connections open.
	readHeaderTimeout time.Duration
}

// flags returns the command's flag set, which parses into o and prints
// nothing: run and main print the usage and the errors.
func flags(o *options) *flag.FlagSet {
	fs := flag.NewFlagSet("chat", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.StringVar(&o.addr, "addr", "localhost:8080", "listen address")
	fs.StringVar(&o.certFile, "cert", "", "TLS certificate `file` (PEM); with -key, serve HTTPS and HTTP/2")
	fs.StringVar(&o.keyFile, "key", "", "TLS private key `file` (PEM)")
	fs.DurationVar(&o.retry, "retry", 0, "reconnection delay sent to browsers (0: about 3s, jittered)")
	fs.DurationVar(&o.readHeaderTimeout, "read-header-timeout", 10*time.Second, "how long a client may take to send its request headers")
	return fs
}

// usage is the text -h prints.
func usage() string {
	var b strings.Builder
	b.WriteString("usage: chat [flags]\n\nA chat server on roomcast/sse: GET / is the page, GET /events/{room} streams\na room, POST /rooms/{room} publishes to it. Stops on SIGINT or SIGTERM.\n\nFlags:\n")
	fs := flags(new(options))
	fs.SetOutput(&b)
	fs.PrintDefaults()
	return b.String()
}

// parseFlags reads the command line. It returns flag.ErrHelp for -h, and
// errors that wrap errUsage for a bad command line.
func parseFlags(args []string) (options, error) {
	var o options
	fs := flags(&o)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, err
		}
		return o, fmt.Errorf("%w: %w", errUsage, err)
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	case (o.certFile == "") != (o.keyFile == ""):
		return o, fmt.Errorf("%w: -cert and -key go together", errUsage)
	case o.retry < 0:
		return o, fmt.Errorf("%w: -retry must not be negative", errUsage)
	case o.readHeaderTimeout <= 0:
		return o, fmt.Errorf("%w: -read-header-timeout must be positive", errUsage)
	}
	return o, nil
}

// app is the chat server: its broker and its routes.
type app struct {
	opts   options
	broker *sse.Broker
	// handler serves every route; tests may wrap it before serve.
	handler http.Handler
}

func newApp(o options, stderr io.Writer) (*app, error) {
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	b, err := sse.New(sse.Config{
		LenientAccept: true, // let curl in
		History:       sse.History{Size: 1000, MaxAge: 10 * time.Minute},
		Retry:         o.retry,
		Logger:        logger,
	})
	if err != nil {
		return nil, err
	}
	// The clock goes to every client with Broadcast, whose events are not
	// kept: a client back after an absence is replayed the messages it
	// missed, not a tick for every second of it (PublishAll would keep
	// each tick in the history of every room).
	everyone := func(*sse.Client) bool { return true }
	if _, err := b.Schedule("@every 1s", func(ctx context.Context) {
		_ = b.Broadcast(ctx, everyone, sse.Event{Name: "time", Data: time.Now().Format(time.RFC3339)})
	}); err != nil {
		_ = b.Shutdown(context.Background())
		return nil, err
	}

	reg := prometheus.NewRegistry()
	col, err := metrics.New(b, metrics.Config{})
	if err != nil {
		_ = b.Shutdown(context.Background())
		return nil, err
	}
	reg.MustRegister(col, collectors.NewGoCollector())

	page, err := fs.Sub(web, "web")
	if err != nil {
		_ = b.Shutdown(context.Background())
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /", pageHeaders(http.FileServerFS(page)))
	mux.Handle("GET /events/{room}", b)
	mux.HandleFunc("POST /rooms/{room}", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxMessage))
		if err != nil {
			http.Error(w, "message too large", http.StatusRequestEntityTooLarge)
			return
		}
		// No event name: browsers dispatch it as the default "message"
		// event, to EventSource.onmessage.
		err = b.Publish(r.Context(), r.PathValue("room"), sse.Event{Data: body})
		switch {
		case errors.Is(err, sse.ErrInvalidRoom), errors.Is(err, sse.ErrInvalidEvent):
			http.Error(w, err.Error(), http.StatusBadRequest)
		case err != nil:
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return &app{opts: o, broker: b, handler: mux}, nil
}

// pageHeaders keeps the page to its own scripts and styles, so that a
// message can never run as code even if the page had a bug.
func pageHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		h.ServeHTTP(w, r)
	})
}

// serve listens on the address of the options, prints it, and serves
// until ctx ends; then it shuts the server and the broker down.
func (a *app) serve(ctx context.Context, stdout io.Writer) error {
	// WriteTimeout stays zero: streams never end by themselves, and the
	// broker bounds each write on its own (Limits.WriteTimeout).
	srv := &http.Server{Handler: a.handler, ReadHeaderTimeout: a.opts.readHeaderTimeout}
	if a.opts.certFile != "" {
		cert, err := tls.LoadX509KeyPair(a.opts.certFile, a.opts.keyFile)
		if err != nil {
			_ = a.broker.Shutdown(context.Background())
			return err
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	}
	ln, err := net.Listen("tcp", a.opts.addr)
	if err != nil {
		_ = a.broker.Shutdown(context.Background())
		return err
	}
	srv.RegisterOnShutdown(func() { _ = a.broker.Shutdown(context.Background()) })
	scheme := "http"
	if srv.TLSConfig != nil {
		scheme = "https"
	}
	fmt.Fprintf(stdout, "chat: listening on %s://%s (GET /, /events/{room}, /metrics; POST /rooms/{room})\n", scheme, ln.Addr())

	errc := make(chan error, 1)
	go func() {
		if srv.TLSConfig != nil {
			// ServeTLS offers HTTP/2 through ALPN, and browsers take it.
			errc <- srv.ServeTLS(ln, "", "")
			return
		}
		errc <- srv.Serve(ln)
	}()
	select {
	case err := <-errc:
		_ = a.broker.Shutdown(context.Background())
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		// Past the grace period (an HTTP/2 connection still waiting
		// for its client's preface keeps Shutdown waiting up to 10s).
		_ = srv.Close()
		return err
	}
	if err := a.broker.Shutdown(sctx); err != nil && !errors.Is(err, sse.ErrClosed) {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
