package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/roomcast/sse/internal/ssetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// startChat runs the example on a free port and returns its base URL.
func startChat(t *testing.T, args ...string) string {
	t.Helper()
	return serveUntilCleanup(t, func(ctx context.Context, stdout io.Writer) error {
		return run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), stdout, io.Discard)
	}, nil)
}

// serveUntilCleanup runs serve on its own goroutine and returns the URL
// of the line it prints once listening. At the test's end it calls
// beforeStop, if any, then ends serve's context and checks that serve
// returns nil in time.
func serveUntilCleanup(t *testing.T, serve func(ctx context.Context, stdout io.Writer) error, beforeStop func()) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, pw)
		_ = pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	require.NoError(t, err)
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	url := regexp.MustCompile(`https?://\S+`).FindString(line)
	require.NotEmpty(t, url, line)
	t.Cleanup(func() {
		if beforeStop != nil {
			beforeStop()
		}
		cancel()
		select {
		case err := <-done:
			assert.NoError(t, err)
		case <-time.After(ssetest.Timeout):
			t.Error("chat did not stop")
		}
	})
	return url
}

func TestChat(t *testing.T) {
	url := startChat(t)
	// Raw, with curl's Accept: */*, which LenientAccept lets in (an
	// EventSource always sends text/event-stream).
	s := ssetest.OpenRaw(t, nil, url+"/events/lobby", http.Header{"Accept": {"*/*"}})
	require.Equal(t, http.StatusOK, s.Resp.StatusCode)

	resp, err := http.Post(url+"/rooms/lobby", "text/plain", bytes.NewBufferString("hello\nworld"))
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, http.StatusNoContent, resp.StatusCode)

	sawTime, sawMessage := false, false
	for !sawTime || !sawMessage {
		ev := s.Event(t)
		switch ev.Type {
		case "time":
			_, err := time.Parse(time.RFC3339, ev.Data)
			require.NoError(t, err)
			sawTime = true
		case "message":
			assert.Equal(t, "hello\nworld", ev.Data)
			assert.NotEmpty(t, ev.LastEventID, "history gives every event an id")
			sawMessage = true
		}
	}

	resp, err = http.Post(url+"/rooms/lobby", "text/plain", strings.NewReader(strings.Repeat("x", maxMessage+1)))
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)

	// The page and the metrics are served beside the streams.
	for _, tt := range []struct{ path, contentType, contains string }{
		{"/", "text/html", "<title>roomcast chat</title>"},
		{"/chat.js", "text/javascript", "new EventSource("},
		{"/metrics", "text/plain", "sse_events_delivered_total"},
	} {
		resp, err := http.Get(url + tt.path)
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, tt.path)
		assert.Contains(t, resp.Header.Get("Content-Type"), tt.contentType, tt.path)
		assert.Contains(t, string(body), tt.contains, tt.path)
	}
}

func TestFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"defaults", nil, ""},
		{"tls", []string{"-cert", "c.pem", "-key", "k.pem", "-retry", "250ms"}, ""},
		{"cert without key", []string{"-cert", "c.pem"}, "-cert and -key go together"},
		{"negative retry", []string{"-retry", "-1s"}, "-retry must not be negative"},
		{"zero header timeout", []string{"-read-header-timeout", "0"}, "-read-header-timeout must be positive"},
		{"stray argument", []string{"lobby"}, `unexpected argument "lobby"`},
		{"unknown flag", []string{"-nope"}, "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := parseFlags(tt.args)
			if tt.wantErr == "" {
				assert.NoError(t, err)
			} else {
				assert.ErrorContains(t, err, tt.wantErr)
				assert.ErrorIs(t, err, errUsage, "a bad command line")
				assert.Equal(t, 2, exitCode(err))
			}
		})
	}
	_, err := parseFlags([]string{"-h"})
	assert.ErrorIs(t, err, flag.ErrHelp)
}

// TestBinaryFlags runs the built command as a user would: -h prints the
// usage, every flag in it, and exits 0; a bad command line prints one
// line and exits 2, the flag package's status for it.
func TestBinaryFlags(t *testing.T) {
	t.Parallel()
	gobin, err := exec.LookPath("go")
	require.NoError(t, err, "the go tool is needed to build the binary")
	bin := filepath.Join(t.TempDir(), "chat")
	out, err := exec.Command(gobin, "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)

	for _, tc := range []struct {
		args           []string
		code           int
		stdout, stderr string
	}{
		{[]string{"-h"}, 0, "usage: chat [flags]", ""},
		{[]string{"--help"}, 0, "usage: chat [flags]", ""},
		{[]string{"-nope"}, 2, "", "chat: bad usage (see -h): flag provided but not defined: -nope\n"},
		{[]string{"-retry", "-1s"}, 2, "", "chat: bad usage (see -h): -retry must not be negative\n"},
	} {
		var stdout, stderr bytes.Buffer
		cmd := exec.Command(bin, tc.args...)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			code = exit.ExitCode()
		} else {
			require.NoError(t, err)
		}
		assert.Equal(t, tc.code, code, "%q: %s", tc.args, stderr.String())
		assert.Equal(t, tc.stderr, stderr.String(), "%q", tc.args)
		if tc.code == 0 {
			assert.True(t, strings.HasPrefix(stdout.String(), tc.stdout), "%q: %s", tc.args, stdout.String())
			for _, f := range []string{"-addr", "-cert", "-key", "-retry", "-read-header-timeout"} {
				assert.Contains(t, stdout.String(), "  "+f+" ", "%q", tc.args)
			}
		} else {
			assert.Empty(t, stdout.String(), "%q", tc.args)
		}
	}
}

func TestBadCertificate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	err := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-cert", dir + "/none.pem", "-key", dir + "/none.pem"}, io.Discard, io.Discard)
	assert.ErrorContains(t, err, "none.pem")
}

// TestSlowHeaders sends request headers slower than the server's
// ReadHeaderTimeout: the server hangs up on that connection, and an open
// stream goes on.
func TestSlowHeaders(t *testing.T) {
	url := startChat(t, "-read-header-timeout", "200ms")
	s := ssetest.Open(t, nil, url+"/events/lobby", nil)
	require.Equal(t, http.StatusOK, s.Resp.StatusCode)

	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "GET /events/lobby HTTP/1.1\r\nHost: x\r\n") // and never the blank line
	require.NoError(t, err)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(ssetest.Timeout)))
	start := time.Now()
	_, err = io.Copy(io.Discard, conn) // returns when the server closes
	require.NoError(t, err, "the server closed the connection before the test's deadline")
	t.Logf("closed after %v", time.Since(start).Round(time.Millisecond))

	assert.Equal(t, "time", s.Event(t).Type, "the open stream goes on")
}

// TestMessageNotUTF8 posts bytes that are not UTF-8: a browser could not
// show them as sent, so the message is refused.
func TestMessageNotUTF8(t *testing.T) {
	url := startChat(t)
	resp, err := http.Post(url+"/rooms/lobby", "text/plain", strings.NewReader("not UTF-8: \xff"))
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
}
