package sseread_test

import (
	"bufio"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roomcast/sse/bench/internal/sseread"
)

// decode feeds resp to a Decoder in pieces of the given sizes (cycled)
// and returns the events' first data prefixes.
func decode(t *testing.T, resp string, sizes []int) ([]string, int, error) {
	t.Helper()
	var got []string
	d := &sseread.Decoder{Event: func(p []byte) { got = append(got, string(p)) }}
	b := []byte(resp)
	for i := 0; len(b) > 0; i++ {
		n := min(sizes[i%len(sizes)], len(b))
		if err := d.Feed(b[:n]); err != nil {
			return got, d.Comments, err
		}
		b = b[n:]
	}
	return got, d.Comments, nil
}

func chunk(s string) string { return fmt.Sprintf("%x\r\n%s\r\n", len(s), s) }

const okHead = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"

func TestDecoder(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("y", 300)
	tests := []struct {
		name     string
		resp     string
		want     []string
		comments int
	}{
		{
			name: "plain body LF",
			resp: okHead + "\r\n" + "data: 1 2 x\n\n: ping\n\ndata: 3 4 x\n\n",
			want: []string{"1 2 x", "3 4 x"}, comments: 1,
		},
		{
			name: "chunked with extension and trailer",
			resp: okHead + "Transfer-Encoding: chunked\r\n\r\n" +
				chunk("data: a\n\nda") + "3;ext=1\r\nta:\r\n" + chunk(" b\n\n") + "0\r\nX-T: 1\r\n\r\n",
			want: []string{"a", "b"},
		},
		{
			name: "CRLF and CR line ends",
			resp: okHead + "\r\n" + "data:a\r\n\r\ndata:b\r\rdata: c\r\n\n",
			want: []string{"a", "b", "c"},
		},
		{
			name: "only the first data line is kept",
			resp: okHead + "\r\n" + "id: 9\nevent: e\ndata: first\ndata: second\nretry: 5\n\n",
			want: []string{"first"},
		},
		{
			name: "no data field: not an event",
			resp: okHead + "\r\n" + "id: 9\n\nevent: x\n\n\n\ndata\n\n",
			want: []string{""},
		},
		{
			name: "field named like data is not data",
			resp: okHead + "\r\n" + "database: no\ndata: yes\n\n",
			want: []string{"yes"},
		},
		{
			name: "long lines are cut to PrefixLen",
			resp: okHead + "\r\n" + "data: " + long + "\n\n",
			want: []string{long[:sseread.PrefixLen-len("data: ")]},
		},
	}
	splits := map[string][]int{
		"whole": {1 << 20}, "bytes": {1}, "odd": {3, 7, 1, 2, 13}, "page": {4096},
	}
	for _, tt := range tests {
		for sname, sizes := range splits {
			t.Run(tt.name+"/"+sname, func(t *testing.T) {
				t.Parallel()
				got, comments, err := decode(t, tt.resp, sizes)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got, tt.want) || comments != tt.comments {
					t.Fatalf("events %q comments %d, want %q %d", got, comments, tt.want, tt.comments)
				}
			})
		}
	}
}

func TestDecoderErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		resp string
		want error
	}{
		{name: "status", resp: "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"},
		{name: "not http", resp: "SSH-2.0-x\r\n\r\n", want: sseread.ErrBadResponse},
		{name: "bad header", resp: "HTTP/1.1 200 OK\r\nnocolon\r\n\r\n", want: sseread.ErrBadResponse},
		{name: "bad chunk size", resp: okHead + "Transfer-Encoding: chunked\r\n\r\nzz\r\n", want: sseread.ErrBadChunk},
		{name: "missing chunk CRLF", resp: okHead + "Transfer-Encoding: chunked\r\n\r\n2\r\nabX", want: sseread.ErrBadChunk},
		{name: "huge head", resp: "HTTP/1.1 200 OK\r\n" + strings.Repeat("X-A: b\r\n", 4000), want: sseread.ErrHeaderTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := decode(t, tt.resp, []int{5})
			if tt.want == nil {
				var se *sseread.StatusError
				if !errors.As(err, &se) || se.Code != 404 {
					t.Fatalf("err = %v, want StatusError 404", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestDecoderNetHTTP reads a real net/http stream (chunked, flushed per
// event) through a raw TCP connection in random-sized reads.
func TestDecoderNetHTTP(t *testing.T) {
	t.Parallel()
	const n = 500
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		rc := http.NewResponseController(w)
		for i := range n {
			fmt.Fprintf(w, "id: %d\ndata: %d %s\n\n", i, i, strings.Repeat("z", i%200))
			if i%3 == 0 {
				_ = rc.Flush()
			}
		}
	}))
	defer ts.Close()
	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
	var got []string
	d := &sseread.Decoder{Event: func(p []byte) { got = append(got, strings.Fields(string(p))[0]) }}
	r := bufio.NewReader(conn)
	buf := make([]byte, 1000)
	for len(got) < n {
		k, err := r.Read(buf[:1+rand.IntN(len(buf)-1)])
		if err != nil {
			t.Fatalf("after %d events: %v", len(got), err)
		}
		if err := d.Feed(buf[:k]); err != nil {
			t.Fatal(err)
		}
	}
	for i, s := range got {
		if s != fmt.Sprint(i) {
			t.Fatalf("event %d has data %q", i, s)
		}
	}
}

func BenchmarkDecoder(b *testing.B) {
	ev := "data: 123456 1700000000123456789 " + strings.Repeat("x", 95) + "\n\n"
	body := strings.Repeat(ev, 30)
	stream := []byte(chunk(body))
	d := &sseread.Decoder{Event: func([]byte) {}}
	if err := d.Feed([]byte(okHead + "Transfer-Encoding: chunked\r\n\r\n")); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	for b.Loop() {
		if err := d.Feed(stream); err != nil {
			b.Fatal(err)
		}
	}
}

func TestDecoderEnded(t *testing.T) {
	d := &sseread.Decoder{Event: func([]byte) {}}
	head := okHead + "Transfer-Encoding: chunked\r\n\r\n" + chunk("data: a\n\n")
	if err := d.Feed([]byte(head)); err != nil {
		t.Fatal(err)
	}
	if d.Ended() {
		t.Fatal("Ended before the last chunk")
	}
	if err := d.Feed([]byte("0\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	if !d.Ended() {
		t.Fatal("not Ended after the last chunk")
	}
}
