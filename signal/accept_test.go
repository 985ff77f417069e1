package signal_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/roomcast/sse/internal/ssetest"
	"github.com/roomcast/sse/signal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// get sends a GET to url with exactly these headers (none: no Accept
// header at all) and returns the response, closed at the test's end.
func get(t *testing.T, url string, header http.Header) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	req.Header = header.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestStreamAccept(t *testing.T) {
	t.Parallel()
	_, base := newServer(t, signal.Config{})
	sw := newSwarm(t, base, 0)
	served := []string{
		"text/event-stream",
		"*/*", // curl's
		"text/*",
		"application/json, text/event-stream;q=0.5",
		"TEXT/EVENT-STREAM; charset=utf-8",
	}
	refused := []string{
		"application/json",
		"text/html, application/xhtml+xml",
		"text/event-stream;q=0",
		"text/event-stream;q=0, */*", // the most specific range decides
		"",
		"not a media type",
	}
	for _, url := range []string{base + "/", sw.url()} {
		for _, accept := range served {
			// Raw: an EventSource sends only Accept: text/event-stream.
			s := ssetest.OpenRaw(t, nil, url, http.Header{"Accept": {accept}})
			require.Equal(t, http.StatusOK, s.Resp.StatusCode, "%s with Accept %q", url, accept)
			assert.Equal(t, signal.EventConnect, s.Event(t).Type)
			s.Close()
			if url == sw.url() {
				assert.Equal(t, signal.EventJoin, sw.init.Event(t).Type)
				assert.Equal(t, signal.EventLeave, sw.init.Event(t).Type)
			}
		}
		for _, accept := range refused {
			resp := get(t, url, http.Header{"Accept": {accept}})
			assert.Equal(t, http.StatusNotAcceptable, resp.StatusCode, "%s with Accept %q", url, accept)
			assert.Equal(t, "application/json; charset=utf-8", resp.Header.Get("Content-Type"))
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			assert.Equal(t, "the Accept header excludes text/event-stream", errorMessage(t, string(body)))
		}
	}
	// The refused requests created and joined nothing: the initiator
	// heard of no one but the next peer.
	_, peer := open(t, sw.url())
	ev := sw.init.Event(t)
	assert.Equal(t, signal.EventJoin, ev.Type)
	assert.JSONEq(t, `{"cid":"`+peer.CID+`"}`, ev.Data)
}

// TestStreamWithoutAccept: moshpit's client and the request module send
// no Accept header; koa served them, and so does the server, with
// connect as the stream's first block.
func TestStreamWithoutAccept(t *testing.T) {
	t.Parallel()
	_, base := newServer(t, signal.Config{})
	init := get(t, base+"/", nil)
	require.Equal(t, http.StatusOK, init.StatusCode)
	assert.Equal(t, "text/event-stream", init.Header.Get("Content-Type"))
	ic := firstBlockConnect(t, bufio.NewReader(init.Body))

	peer := get(t, base+"/"+ic.ID, nil)
	require.Equal(t, http.StatusOK, peer.StatusCode)
	pc := firstBlockConnect(t, bufio.NewReader(peer.Body))
	assert.Equal(t, ic.ID, pc.ID)
}

// firstBlockConnect reads the stream's first block from br, checks that
// it is exactly "event: connect" and one data line, and returns the data.
func firstBlockConnect(t *testing.T, br *bufio.Reader) signal.Connect {
	t.Helper()
	var block strings.Builder
	for !strings.HasSuffix(block.String(), "\n\n") {
		line, err := br.ReadString('\n')
		require.NoError(t, err, "the stream so far: %q", block.String()+line)
		block.WriteString(line)
	}
	data, ok := strings.CutPrefix(block.String(), "event: connect\ndata: ")
	require.True(t, ok, "first block %q", block.String())
	data, ok = strings.CutSuffix(data, "\n\n")
	require.True(t, ok && !strings.Contains(data, "\n"), "first block %q", block.String())
	var c signal.Connect
	require.NoError(t, json.Unmarshal([]byte(data), &c))
	require.NotEmpty(t, c.Token)
	return c
}
