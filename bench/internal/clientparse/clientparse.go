// Package clientparse measures how fast SSE clients parse a stream: this
// repository's eventsource package, r3labs/sse and tmaxmax/go-sse, each
// reading the same bytes through its own HTTP client code from an
// in-memory transport, so that only the clients' work is measured (no
// sockets, no server). See clientparse_test.go for the benchmark.
package clientparse

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Stream returns a text/event-stream of n events, each with an id, a
// type and a data line of size bytes, as a typical server writes them.
func Stream(n, size int) []byte {
	var b bytes.Buffer
	pad := strings.Repeat("x", size)
	for i := range n {
		fmt.Fprintf(&b, "id: %d\nevent: tick\ndata: %s\n\n", i+1, pad)
	}
	return b.Bytes()
}

// Transport answers every request with 200, Content-Type
// text/event-stream and Body as the body, without a network.
type Transport struct{ Body []byte }

// RoundTrip implements http.RoundTripper.
func (t Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	return &http.Response{
		StatusCode: http.StatusOK,
		Header:     http.Header{"Content-Type": {"text/event-stream"}},
		Body:       io.NopCloser(bytes.NewReader(t.Body)),
		Request:    req,
	}, nil
}
