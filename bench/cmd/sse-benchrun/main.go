// Command sse-benchrun runs the whole benchmark: it builds sse-bench-server
// and sse-load, runs each scenario against each implementation with a
// fresh server process, and writes RESULTS.md, bench.png, results.json
// and server CPU profiles to the results directory. Run it from bench/:
//
//	go run ./cmd/sse-benchrun
//
// Flags shrink or grow the run; -h lists them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/roomcast/sse/bench/internal/benchrun"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "sse-benchrun:", err)
		os.Exit(1)
	}
}

// defaultImpls is every implementation but floor-chan, which is there to
// be compared on request.
const defaultImpls = "roomcast,roomcast-dense,r3labs,tmaxmax,alexandrevicenzi,floor,floor-park"

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sse-benchrun", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := benchrun.Config{Log: stdout}
	impls := fs.String("impls", defaultImpls, "implementations, comma-separated (also: floor-chan)")
	scenarios := fs.String("scenarios", "fanout,rooms,latency,idle", "scenarios, comma-separated (also: conns)")
	subs := fs.String("subs", "100,1000,10000", "fan-out subscriber counts")
	fs.DurationVar(&cfg.Duration, "d", 5*time.Second, "throughput phase")
	fs.IntVar(&cfg.Window, "window", 64, "throughput: rounds the publisher may lead the slowest subscriber by")
	fs.IntVar(&cfg.LatencyConns, "latency-subs", 1000, "latency: subscribers")
	fs.Float64Var(&cfg.LatencyRate, "latency-rate", 200, "latency: events per second")
	fs.DurationVar(&cfg.LatencyDuration, "latency-d", 10*time.Second, "latency phase")
	fs.IntVar(&cfg.IdleConns, "idle-conns", 10000, "idle: connections")
	connCounts := fs.String("conns", "1000,5000,10000,19000", "conns: connection counts")
	fs.IntVar(&cfg.RoomsConns, "rooms-subs", 10000, "rooms: subscribers")
	fs.IntVar(&cfg.Rooms, "rooms", 1000, "rooms: rooms")
	fs.IntVar(&cfg.Repeat, "repeat", 1, "runs of each scenario and implementation (the median is reported)")
	fs.StringVar(&cfg.Sources, "src", "", "sse-load source addresses, e.g. 127.0.0.1-8 for more than 28 000 connections")
	fs.StringVar(&cfg.Out, "out", "results", "results directory")
	fs.StringVar(&cfg.BinDir, "bin", "", "directory with prebuilt sse-bench-server and sse-load (default: build them)")
	fs.BoolVar(&cfg.Profile, "profile", true, "CPU-profile roomcast and the floor in the largest fan-out and in the rooms scenario")
	fs.DurationVar(&cfg.QuietWait, "quiet-wait", 20*time.Second, "longest wait before each run for other processes to go quiet")
	fs.IntVar(&cfg.Retries, "retries", 2, "runs again a run that other processes disturbed, up to this many times")
	replot := fs.String("replot", "", "render RESULTS.md and bench.png again from this results.json into -out, running nothing")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *replot != "" {
		return benchrun.Replot(*replot, cfg.Out)
	}
	cfg.Impls = split(*impls)
	cfg.Scenarios = split(*scenarios)
	for _, s := range split(*subs) {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return fmt.Errorf("bad -subs entry %q", s)
		}
		cfg.Subs = append(cfg.Subs, n)
	}
	for _, s := range split(*connCounts) {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return fmt.Errorf("bad -conns entry %q", s)
		}
		cfg.ConnCounts = append(cfg.ConnCounts, n)
	}
	if len(cfg.Impls) == 0 || len(cfg.Scenarios) == 0 || cfg.Repeat < 1 {
		return errors.New("need at least one implementation, one scenario and one repeat")
	}
	cfg.Command = strings.Join(append([]string{"go run ./cmd/sse-benchrun"}, args...), " ")
	rep, err := benchrun.Run(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nwrote %s/RESULTS.md, bench.png and results.json\n\n", cfg.Out)
	for _, t := range rep.Targets() {
		verdict := "met"
		if !t.Known {
			verdict = "not measured"
		} else if !t.Met {
			verdict = "MISSED"
		}
		fmt.Fprintf(stdout, "%-13s %s: %s\n", verdict, t.Goal, t.Measured)
	}
	return nil
}

func split(s string) []string {
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
