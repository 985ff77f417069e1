// Command chat is a small roomcast/sse server: GET /events/{room} streams a
// room, POST /rooms/{room} publishes the request body to it, and a schedule
// publishes the server time to everyone every second.
//
//	go run ./examples/chat
//	curl -N localhost:8080/events/lobby
//	curl -d 'hello' localhost:8080/rooms/lobby
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
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/roomcast/sse"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "chat:", err)
		os.Exit(1)
	}
}

// maxMessage bounds a posted message.
const maxMessage = 64 << 10

// run serves until ctx ends. It prints one line with the address once the
// server is listening.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("chat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "localhost:8080", "listen address")
	headerTimeout := fs.Duration("read-header-timeout", 10*time.Second,
		"how long a client may take to send its request headers (a bound on slow-header attacks)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	b, err := sse.New(sse.Config{
		LenientAccept: true, // let curl in
		History:       sse.History{Size: 1000, MaxAge: 10 * time.Minute},
		Logger:        logger,
	})
	if err != nil {
		return err
	}
	if _, err := b.Schedule("@every 1s", func(ctx context.Context) {
		_ = b.PublishAll(ctx, sse.Event{Name: "time", Data: time.Now().Format(time.RFC3339)})
	}); err != nil {
		return err
	}

	mux := http.NewServeMux()
	mux.Handle("GET /events/{room}", b)
	mux.HandleFunc("POST /rooms/{room}", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxMessage))
		if err != nil {
			http.Error(w, "message too large", http.StatusRequestEntityTooLarge)
			return
		}
		err = b.Publish(r.Context(), r.PathValue("room"), sse.Event{Name: "message", Data: body})
		switch {
		case errors.Is(err, sse.ErrInvalidRoom), errors.Is(err, sse.ErrInvalidEvent):
			http.Error(w, err.Error(), http.StatusBadRequest)
		case err != nil:
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	})

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: *headerTimeout}
	srv.RegisterOnShutdown(func() { _ = b.Shutdown(context.Background()) })
	fmt.Fprintf(stdout, "chat: listening on http://%s (GET /events/{room}, POST /rooms/{room})\n", ln.Addr())

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := b.Shutdown(sctx); err != nil && !errors.Is(err, sse.ErrClosed) {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
