package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roomcast/sse/internal/redistest"
	"github.com/roomcast/sse/internal/ssetest"
	"github.com/roomcast/sse/signal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// start runs the program on a free loopback port until the test ends
// and returns its URL, its stderr, and a function that stops it and
// returns run's error.
func start(t *testing.T, args ...string) (string, *output, func() error) {
	t.Helper()
	rctx, cancel := context.WithCancel(ctx)
	stdout, stderr := newOutput(), newOutput()
	done := make(chan error, 1)
	go func() {
		done <- run(rctx, append([]string{"--host", "127.0.0.1", "--port", "0"}, args...), stdout, stderr)
	}()
	stopped := false
	var err error
	stop := func() error {
		if !stopped {
			stopped = true
			cancel()
			err = within(t, done)
		}
		return err
	}
	t.Cleanup(func() { _ = stop() })
	select {
	case line := <-stdout.lines:
		m := startLine.FindStringSubmatch(line)
		require.NotNil(t, m, "start-up line %q", line)
		return m[1], stderr, stop
	case err := <-done:
		t.Fatalf("run returned %v before starting; stderr: %s", err, stderr)
	}
	return "", nil, nil
}

func within(t *testing.T, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(ssetest.Timeout):
		t.Fatal("run did not return")
	}
	return nil
}

func TestRunHelpAndVersion(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"--help"}, {"-h"}, {"--version"}, {"-V"}} {
		stdout, stderr := newOutput(), newOutput()
		require.NoError(t, run(ctx, args, stdout, stderr))
		if strings.Contains(args[0], "h") {
			assert.Equal(t, usage, stdout.String())
		} else {
			assert.Equal(t, "sse-signal "+versionString()+"\n", stdout.String())
		}
		assert.Empty(t, stderr.String())
	}
}

func TestRunErrors(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	port := strconv.Itoa(busy.Addr().(*net.TCPAddr).Port)
	// A port that nothing listens on, for a Redis that cannot be reached.
	gone, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := gone.Addr().String()
	require.NoError(t, gone.Close())

	for _, tc := range []struct {
		args  []string
		msg   string
		usage bool
	}{
		{[]string{"--bogus"}, "flag provided but not defined", true},
		{[]string{"--cors-origin", "example.com"}, "invalid config", false},
		{[]string{"--host", "127.0.0.1", "--port", port}, "address already in use", false},
		{[]string{"--uid", "no-such-user-here"}, `--uid: unknown user "no-such-user-here"`, true},
		{[]string{"--gid", "no-such-group-here"}, `--gid: unknown group "no-such-group-here"`, true},
		{[]string{"--redis", "http://not-redis"}, `--redis: "http://not-redis" is not a Redis URL`, true},
		{[]string{"--redis", "notaurl"}, `--redis: "notaurl" is not a Redis URL, such as redis://localhost:6379/0`, true},
		{[]string{"--redis", "redis://" + closed + "/0"}, "cannot reach Redis at " + closed + " (--redis): dial tcp", false},
	} {
		stdout, stderr := newOutput(), newOutput()
		err := run(ctx, tc.args, stdout, stderr)
		require.ErrorContains(t, err, tc.msg, "%q", tc.args)
		assert.Equal(t, tc.usage, errors.Is(err, errUsage))
		assert.Empty(t, stdout.String(), "no start-up line")
	}
}

func TestRunServesAndStops(t *testing.T) {
	t.Parallel()
	url, stderr, stop := start(t, "--limit", "1kb", "--max-peers", "2", "--cors-origin", "https://app.example")
	init, peer := pingPong(t, url)

	// The options reached the server.
	code := post(t, url+"/"+init.ID(), `{"token":"`+init.Token()+`","data":"`+strings.Repeat("x", 1024)+`"}`)
	assert.Equal(t, http.StatusRequestEntityTooLarge, code)
	full := ssetest.Open(t, nil, url+"/"+init.ID(), nil)
	assert.Equal(t, http.StatusServiceUnavailable, full.Resp.StatusCode)
	cors := ssetest.Open(t, nil, url+"/", http.Header{"Origin": {"https://app.example"}})
	assert.Equal(t, "https://app.example", cors.Resp.Header.Get("Access-Control-Allow-Origin"))
	cors.Close()

	require.NoError(t, stop())
	assert.ErrorIs(t, streamEnded(t, init), signal.ErrStreamEnded)
	assert.ErrorIs(t, streamEnded(t, peer), signal.ErrStreamEnded)
	assert.Contains(t, stderr.String(), "msg=stopped")
	_, err := http.Get(url + "/")
	assert.Error(t, err, "no longer listening")
}

func TestRunDropsPrivileges(t *testing.T) {
	if os.Geteuid() != 0 {
		stdout, stderr := newOutput(), newOutput()
		err := run(ctx, []string{"--host", "127.0.0.1", "--port", "0", "--uid", "0"}, stdout, stderr)
		require.ErrorContains(t, err, "dropping privileges")
		return
	}
	// As root, become root: every call runs and succeeds.
	url, _, stop := start(t, "--uid", strconv.Itoa(os.Getuid()), "--gid", strconv.Itoa(os.Getgid()))
	pingPong(t, url)
	require.NoError(t, stop())
}

// post posts a JSON body and returns the status.
func post(t *testing.T, url, body string) int {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

// TestRunSlowHeaders sends request headers that never end: the server
// hangs up after its ReadHeaderTimeout, and serves others meanwhile.
func TestRunSlowHeaders(t *testing.T) {
	t.Parallel()
	url, _, _ := start(t)
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	require.NoError(t, err)
	defer conn.Close()
	_, err = conn.Write([]byte("POST /AAAAAAAAAAAAAAAAAAAAAAAAAA HTTP/1.1\r\nHost: x\r\n")) // never the blank line
	require.NoError(t, err)
	pingPong(t, url)

	require.NoError(t, conn.SetReadDeadline(time.Now().Add(readHeaderTimeout+ssetest.Timeout)))
	start := time.Now()
	_, err = io.Copy(io.Discard, conn) // returns when the server hangs up
	require.NoError(t, err, "the server kept a connection with unfinished headers")
	t.Logf("hung up after %v", time.Since(start).Round(time.Millisecond))
}

// TestRunSharesSwarmsOnRedis runs two servers on one Redis: a swarm made
// on one is joined on the other, and messages cross both ways.
func TestRunSharesSwarmsOnRedis(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	urlA, _, _ := start(t, "--redis", "redis://"+srv.Addr+"/0")
	urlB, _, _ := start(t, "--redis", "redis://"+srv.Addr+"/0")

	init, peer := pingPong(t, urlA, urlB)
	require.NoError(t, init.Close())
	assert.ErrorIs(t, streamEnded(t, peer), signal.ErrStreamEnded, "the swarm ends on the other server too")
}

func TestRedisFromEnvironment(t *testing.T) {
	t.Setenv("SSE_SIGNAL_REDIS", "redis://127.0.0.1:6379/2")
	o, err := parseArgs(nil)
	require.NoError(t, err)
	assert.Equal(t, "redis://127.0.0.1:6379/2", o.redis)
	o, err = parseArgs([]string{"--redis", ""})
	require.NoError(t, err)
	assert.Empty(t, o.redis, "the flag overrides the variable")
}
