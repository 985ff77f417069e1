package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"runtime/debug"
	"strconv"
	"strings"

	goredis "github.com/redis/go-redis/v9"
	"github.com/roomcast/sse/signal"
)

// version is the program's version; release builds set it with
// -ldflags "-X main.version=v1.2.3".
var version = ""

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

// errUsage marks a bad command line; main exits 2 for it.
var errUsage = errors.New("bad usage (see --help)")

func exitCode(err error) int {
	if errors.Is(err, errUsage) {
		return 2
	}
	return 1
}

const usage = `usage: sse-signal [options]

Serves the swarm signalling protocol of koa-signal and moshpit over
Server-Sent Events: GET / creates a swarm, GET /{id} joins it, POST /{id}
sends a message. Stops gracefully on SIGINT or SIGTERM.

Options:
  -h, --help                show this message
  -V, --version             show the version
  -p, --port PORT           listen on this port (default 5000; 0 picks a free one)
      --host HOST           listen on this interface (default: all)
  -u, --uid USER            after binding, drop privileges to this user (name or number)
  -g, --gid GROUP           after binding, drop privileges to this group (default with
                            --uid: the user's primary group)
      --limit SIZE          largest POST body, such as 512b, 10kb or 1mb (default 10kb)
      --max-swarms N        most swarms at once (default 0: no cap)
      --max-peers N         most connections in one swarm (default 0: no cap)
      --max-failed-auth N   most posts with a wrong token or to an unknown swarm from one
                            address in a minute, then 429 (default 0: no cap)
      --cors-origin ORIGIN  allow this origin only; repeat it or separate origins by
                            commas (default: every origin; "none": CORS off)
      --redis URL           share swarms with every sse-signal on this Redis, such as
                            redis://localhost:6379/0 (default: $SSE_SIGNAL_REDIS;
                            none: this process alone)
`

// options is a parsed command line.
type options struct {
	help, version bool
	port          int
	host          string
	uid, gid      string
	redis         string
	cfg           signal.Config
}

// parseArgs reads the command line into options; an error wraps
// errUsage.
func parseArgs(args []string) (options, error) {
	o := options{}
	fs := flag.NewFlagSet("sse-signal", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // run prints the errors and the usage
	fs.Usage = func() {}
	for _, name := range []string{"h", "help"} {
		fs.BoolVar(&o.help, name, false, "")
	}
	for _, name := range []string{"V", "version"} {
		fs.BoolVar(&o.version, name, false, "")
	}
	for _, name := range []string{"p", "port"} {
		fs.IntVar(&o.port, name, 5000, "")
	}
	fs.StringVar(&o.host, "host", "", "")
	for _, name := range []string{"u", "uid"} {
		fs.StringVar(&o.uid, name, "", "")
	}
	for _, name := range []string{"g", "gid"} {
		fs.StringVar(&o.gid, name, "", "")
	}
	fs.Func("limit", "", func(s string) error {
		n, err := parseSize(s)
		o.cfg.BodyLimit = n
		return err
	})
	fs.StringVar(&o.redis, "redis", os.Getenv("SSE_SIGNAL_REDIS"), "")
	fs.IntVar(&o.cfg.MaxSwarms, "max-swarms", 0, "")
	fs.IntVar(&o.cfg.MaxPeers, "max-peers", 0, "")
	fs.IntVar(&o.cfg.FailedAuthLimit, "max-failed-auth", 0, "")
	fs.Func("cors-origin", "", func(s string) error {
		for _, origin := range strings.Split(s, ",") {
			switch origin = strings.TrimSpace(origin); origin {
			case "":
			case "none":
				o.cfg.CORS.Disabled = true
			default:
				o.cfg.CORS.Origins = append(o.cfg.CORS.Origins, origin)
			}
		}
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return o, fmt.Errorf("%w: %w", errUsage, err)
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	case o.port < 0 || o.port > 65535:
		return o, fmt.Errorf("%w: port %d is not in 0-65535", errUsage, o.port)
	case o.cfg.MaxSwarms < 0 || o.cfg.MaxPeers < 0 || o.cfg.FailedAuthLimit < 0:
		return o, fmt.Errorf("%w: --max-swarms, --max-peers and --max-failed-auth cannot be negative", errUsage)
	}
	if o.redis != "" {
		if err := checkRedisURL(o.redis); err != nil {
			return o, fmt.Errorf("%w: --redis: %w", errUsage, err)
		}
	}
	return o, nil
}

// checkRedisURL says what is wrong with a --redis URL, in words that
// name the URL: go-redis alone reports "invalid URL scheme: " for one
// without a scheme.
func checkRedisURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "unix") {
		return fmt.Errorf("%q is not a Redis URL, such as redis://localhost:6379/0 (schemes redis, rediss and unix)", s)
	}
	if _, err := goredis.ParseURL(s); err != nil {
		return fmt.Errorf("%q is not a Redis URL go-redis accepts (%w)", s, err)
	}
	return nil
}

// parseSize reads a size such as 512, 512b, 10kb or 1mb (units of 1024,
// as the bytes package behind koa's body parser counted).
func parseSize(s string) (int64, error) {
	num := strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"gb", 1 << 30}, {"mb", 1 << 20}, {"kb", 1 << 10}, {"b", 1}} {
		if strings.HasSuffix(num, u.suffix) {
			num, mult = strings.TrimSpace(strings.TrimSuffix(num, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("size %q is not a positive number of bytes, kb, mb or gb", s)
	}
	return n * mult, nil
}
