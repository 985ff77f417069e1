// Command sse-load opens many Server-Sent Events streams and measures
// what arrives: events per second, lost and reordered events (for
// payloads that carry a sequence number) and latency (for payloads that
// carry their publish time), with a live progress line and its own CPU
// use. Pointed at any SSE endpoint it observes; pointed also at an
// sse-bench-server's control URL it drives the benchmark scenarios.
//
//	sse-load -url 'http://127.0.0.1:8080/events/{room}' -c 1000 -rooms 10 -d 30s
//	sse-load -url http://127.0.0.1:41234/events/{room} -control http://127.0.0.1:41234 \
//	    -mode throughput -c 10000 -json result.json
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/roomcast/sse/bench/internal/load"
	"github.com/roomcast/sse/bench/internal/procstat"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "sse-load:", err)
		os.Exit(1)
	}
}

// listFlag collects a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ", ") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sse-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg load.Config
	var headers listFlag
	fs.StringVar(&cfg.URL, "url", "", "event stream URL, http or https; {room} is replaced by each stream's room (required)")
	fs.IntVar(&cfg.Conns, "c", 100, "streams to open")
	fs.IntVar(&cfg.Rooms, "rooms", 1, "rooms to spread the streams over (stream i joins room i mod rooms)")
	fs.StringVar(&cfg.RoomPrefix, "room-prefix", "r", "room names are this prefix and a number")
	roomNames := fs.String("room-names", "", "comma-separated room names, instead of -rooms and -room-prefix (observe mode)")
	src := fs.String("src", "", "source addresses to connect from, comma-separated; a.b.c.d-e is a range of last octets (e.g. 127.0.0.1-8)")
	fs.Var(&headers, "H", "extra request header \"Name: value\" (repeatable)")
	fs.BoolVar(&cfg.Insecure, "insecure", false, "skip TLS certificate checks")
	fs.IntVar(&cfg.DialConcurrency, "dial-concurrency", 64, "connections dialled at once")
	fs.DurationVar(&cfg.ConnectTimeout, "connect-timeout", 0, "per dial, and for all streams to be ready (default 30s)")
	fs.IntVar(&cfg.BufSize, "buf", 4096, "read buffer per stream, bytes")
	fs.StringVar(&cfg.Mode, "mode", load.Observe, "observe, throughput, latency, idle or conns (all but observe need -control)")
	fs.StringVar(&cfg.Control, "control", "", "base URL of an sse-bench-server to drive")
	fs.DurationVar(&cfg.Duration, "d", 0, "measured phase (default 5s)")
	fs.IntVar(&cfg.Window, "window", 64, "throughput: rounds allowed between publisher and slowest stream (negative: no bound)")
	fs.IntVar(&cfg.Batch, "batch", 0, "throughput: rounds per publish request (default window/4)")
	fs.Float64Var(&cfg.Rate, "rate", 200, "latency: rounds per second")
	fs.IntVar(&cfg.Size, "size", 128, "payload bytes")
	fs.DurationVar(&cfg.Settle, "settle", 0, "idle: pause before reading server memory (default 2s)")
	fs.DurationVar(&cfg.Drain, "drain", 0, "longest wait for the last events (default 10s)")
	fs.StringVar(&cfg.ServerProfile, "server-profile", "", "write the server's CPU profile of the phase to this file")
	progress := fs.Duration("progress", 1e9, "progress line interval (0: none)")
	jsonOut := fs.String("json", "", "write the result as JSON to this file (- for stdout)")
	mdOut := fs.String("md", "-", "write the result as a Markdown table to this file (- for stdout, empty: none)")
	fds := fs.Uint64("fds", 1<<20, "open-file limit to ask for")
	cpuProfile := fs.String("cpuprofile", "", "write this generator's own CPU profile to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if cfg.URL == "" {
		fs.Usage()
		return errors.New("-url is required")
	}
	cfg.Headers = headers
	if *roomNames != "" {
		cfg.RoomNames = strings.Split(*roomNames, ",")
	}
	var err error
	if cfg.Sources, err = parseSources(*src); err != nil {
		return err
	}
	if *progress > 0 {
		cfg.Progress, cfg.ProgressEvery = stderr, *progress
		if f, ok := stderr.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
				cfg.ProgressLive = true
			}
		}
	}
	if got, err := procstat.RaiseFDLimit(*fds); err != nil && uint64(cfg.Conns)+64 > got {
		fmt.Fprintf(stderr, "sse-load: warning: %v\n", err)
	}

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	res, runErr := load.Run(ctx, cfg)
	if res == nil {
		return runErr
	}
	if err := writeOut(*jsonOut, stdout, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}); err != nil {
		return err
	}
	if err := writeOut(*mdOut, stdout, res.WriteMarkdown); err != nil {
		return err
	}
	return runErr
}

// writeOut writes with write to path, or to stdout for "-"; an empty
// path writes nothing.
func writeOut(path string, stdout io.Writer, write func(io.Writer) error) error {
	switch path {
	case "":
		return nil
	case "-":
		return write(stdout)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// parseSources reads "a,b,c" where each item is an IP or an IPv4 range
// of last octets "a.b.c.d-e".
func parseSources(s string) ([]net.IP, error) {
	var ips []net.IP
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if ip := net.ParseIP(item); ip != nil {
			ips = append(ips, ip)
			continue
		}
		base, last, ok := strings.Cut(item, "-")
		ip := net.ParseIP(base).To4()
		var end int
		if ok && ip != nil {
			_, err := fmt.Sscanf(last, "%d", &end)
			ok = err == nil && end >= int(ip[3]) && end <= 255
		}
		if !ok || ip == nil {
			return nil, fmt.Errorf("bad source address %q (want an IP or a range like 127.0.0.1-8)", item)
		}
		for o := int(ip[3]); o <= end; o++ {
			ips = append(ips, net.IPv4(ip[0], ip[1], ip[2], byte(o)))
		}
	}
	return ips, nil
}
