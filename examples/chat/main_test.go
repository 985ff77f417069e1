package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
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
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), pw, io.Discard)
		_ = pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	require.NoError(t, err)
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	i := strings.Index(line, "http://")
	require.GreaterOrEqual(t, i, 0, line)
	url := strings.Fields(line[i:])[0]
	t.Cleanup(func() {
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
	s := ssetest.Open(t, nil, url+"/events/lobby", http.Header{"Accept": {"*/*"}})
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

	resp, err = http.Post(url+"/rooms/lobby", "text/plain", strings.NewReader("not UTF-8: \xff"))
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
}

// TestSlowHeaders sends request headers slower than the server's
// ReadHeaderTimeout: the server hangs up on that connection, and an open
// stream goes on.
func TestSlowHeaders(t *testing.T) {
	url := startChat(t, "-read-header-timeout", "200ms")
	s := ssetest.Open(t, nil, url+"/events/lobby", http.Header{"Accept": {"*/*"}})
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
