// Package ssetest holds test helpers: an event-stream client over real
// HTTP that reads with the strict [sseread] parser, and waits bounded by
// deadlines rather than sleeps.
package ssetest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roomcast/sse/internal/sseread"
)

// Timeout bounds every wait in these helpers.
const Timeout = 10 * time.Second

// Stream is an open event stream read on its own goroutine.
type Stream struct {
	Resp   *http.Response
	items  chan sseread.Item
	done   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	err    error
}

// Open sends a GET with Accept: text/event-stream (plus header) to url and
// returns the stream; it fails the test on a transport error. The stream
// is closed at the test's end. A non-200 response is returned with no
// reader running.
func Open(t testing.TB, client *http.Client, url string, header http.Header) *Stream {
	t.Helper()
	if client == nil {
		client = http.DefaultClient
	}
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	if err != nil {
		cancel()
		t.Fatalf("GET %s: %v", url, err)
	}
	s := &Stream{Resp: resp, items: make(chan sseread.Item, 4096), done: make(chan struct{}), ctx: ctx, cancel: cancel}
	t.Cleanup(s.Close)
	if resp.StatusCode != http.StatusOK {
		close(s.items)
		close(s.done)
		return s
	}
	go s.read()
	return s
}

func (s *Stream) read() {
	defer close(s.done)
	defer close(s.items)
	r := sseread.NewReader(s.Resp.Body, 0)
	for {
		it, err := r.Next()
		if err != nil {
			s.err = err
			return
		}
		select {
		case s.items <- it:
		case <-s.ctx.Done(): // closed while nobody reads
			s.err = s.ctx.Err()
			return
		}
	}
}

// Close cancels the request and waits for the reader to stop.
func (s *Stream) Close() {
	s.cancel()
	<-s.done
	_ = s.Resp.Body.Close()
}

// Item returns the next item of any kind, failing the test after Timeout
// or at the end of the stream.
func (s *Stream) Item(t testing.TB) sseread.Item {
	t.Helper()
	select {
	case it, ok := <-s.items:
		if !ok {
			t.Fatalf("stream ended: %v", s.err)
		}
		return it
	case <-time.After(Timeout):
		t.Fatalf("no item within %v", Timeout)
	}
	return sseread.Item{}
}

// Event returns the next dispatched event, skipping comments and retry
// fields.
func (s *Stream) Event(t testing.TB) sseread.Item {
	t.Helper()
	for {
		if it := s.Item(t); it.Kind == sseread.KindEvent {
			return it
		}
	}
}

// Events returns the next n events.
func (s *Stream) Events(t testing.TB, n int) []sseread.Item {
	t.Helper()
	out := make([]sseread.Item, 0, n)
	for range n {
		out = append(out, s.Event(t))
	}
	return out
}

// Ended waits for the stream to end and returns everything read before
// the end, failing the test after Timeout.
func (s *Stream) Ended(t testing.TB) []sseread.Item {
	t.Helper()
	var rest []sseread.Item
	deadline := time.After(Timeout)
	for {
		select {
		case it, ok := <-s.items:
			if !ok {
				return rest
			}
			rest = append(rest, it)
		case <-deadline:
			t.Fatalf("stream did not end within %v", Timeout)
		}
	}
}

// Err returns the error that ended the reader (io.EOF at a clean end),
// valid once the stream has ended.
func (s *Stream) Err() error {
	<-s.done
	if s.err == io.EOF {
		return nil
	}
	return s.err
}

// Wait polls cond until it is true, failing the test after Timeout. It is
// for state that has no channel to wait on (the broker's counters); it
// yields between polls rather than sleeping a fixed time.
func Wait(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(Timeout)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

// CheckResume publishes total events, numbered 0 to total-1 in their
// data, with publish running on its own goroutine. Meanwhile it reads
// the first `before` events from a stream at firstURL, closes it, and
// reconnects at secondURL with the last id it saw, reading until the
// last event. It fails the test unless the two streams together carried
// every event once, in order: replay and live stream met with no
// duplicate and no gap.
func CheckResume(t testing.TB, total, before int, firstURL, secondURL string, publish func(i int) error) {
	t.Helper()
	first := Open(t, nil, firstURL, nil)
	published := make(chan error, 1)
	go func() {
		for i := range total {
			if err := publish(i); err != nil {
				published <- err
				return
			}
		}
		published <- nil
	}()
	var got []int
	var last string
	read := func(s *Stream) {
		t.Helper()
		ev := s.Event(t)
		n, err := strconv.Atoi(ev.Data)
		if err != nil {
			t.Fatalf("event data %q: %v", ev.Data, err)
		}
		got, last = append(got, n), ev.LastEventID
	}
	for range before {
		read(first)
	}
	first.Close()
	if last == "" {
		t.Fatal("events carry no id")
	}
	second := Open(t, nil, secondURL, http.Header{"Last-Event-ID": {last}})
	for got[len(got)-1] != total-1 {
		read(second)
	}
	if err := <-published; err != nil {
		t.Fatal(err)
	}
	for i, n := range got {
		if i != n {
			t.Fatalf("event %d is %d: out of order, duplicated or missing", i, n)
		}
	}
}

// CheckOrder runs each publisher on its own goroutine, publishing n
// events with data "<publisher>/<i>" through publish(p, ev), to a client
// that reads at urls[0] and, every cutEvery events, hangs up and resumes
// with the last id it saw at the next URL in turn (through the
// Last-Event-ID header, or every other time the lastEventId query
// parameter). The publishers' events must all be kept for replay (rooms
// or PublishAll with History on), and every id must be a position: a
// decimal number. It fails the test unless ids only increased on the
// client's streams and the pieces add up to every event once, each
// publisher's in order.
func CheckOrder(t testing.TB, urls []string, publishers, n, cutEvery int, publish func(p int, data string) error) {
	t.Helper()
	s := Open(t, nil, urls[0], nil)
	var wg sync.WaitGroup
	for p := range publishers {
		wg.Go(func() {
			for i := range n {
				if err := publish(p, fmt.Sprintf("%d/%d", p, i)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	defer wg.Wait()
	next := make([]int, publishers)
	var last uint64
	for got, cut := 0, 0; got < n*publishers; got++ {
		if got > 0 && got%cutEvery == 0 {
			s.Close()
			cut++
			u, id := urls[cut%len(urls)], strconv.FormatUint(last, 10)
			if cut%2 == 0 {
				sep := "?"
				if strings.Contains(u, "?") {
					sep = "&"
				}
				s = Open(t, nil, u+sep+"lastEventId="+id, nil)
			} else {
				s = Open(t, nil, u, http.Header{"Last-Event-ID": {id}})
			}
		}
		ev := s.Event(t)
		id, err := strconv.ParseUint(ev.LastEventID, 10, 64)
		if err != nil {
			t.Fatalf("event %q has id %q, not a position", ev.Data, ev.LastEventID)
		}
		if id <= last {
			t.Fatalf("event %q has id %d after %d: ids must only increase on a stream", ev.Data, id, last)
		}
		last = id
		var p, i int
		if _, err := fmt.Sscanf(ev.Data, "%d/%d", &p, &i); err != nil || p < 0 || p >= publishers {
			t.Fatalf("event data %q", ev.Data)
		}
		if i != next[p] {
			t.Fatalf("publisher %d's event %d came when %d was due: duplicated, reordered or lost", p, i, next[p])
		}
		next[p]++
	}
}
