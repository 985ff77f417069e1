// Package ssetest holds test helpers: event-stream clients over real
// HTTP, [Open] through the project's own [eventsource] client and
// [OpenRaw] with the strict [sseread] parser for the tests of the wire
// itself, and waits bounded by deadlines rather than sleeps.
package ssetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roomcast/sse/eventsource"
	"github.com/roomcast/sse/internal/sseread"
)

// Timeout bounds every wait in these helpers.
const Timeout = 10 * time.Second

// Stream is an open event stream read as a client reads it: through the
// project's own [eventsource.EventSource], with NoReconnect so that a
// test sees the stream end. A goroutine of its own buffers up to 4096
// events, so the server does not wait for the test to read. An event's
// ID is the stream's last event ID, as a browser's is: on a stream
// opened with a Last-Event-ID, events without an id of their own carry
// that one until the server sends another.
type Stream struct {
	// Resp is the answer to the request, as [eventsource.Options.OnResponse]
	// gave it: its status, protocol and headers. Its body belongs to the
	// EventSource.
	Resp *http.Response

	es       *eventsource.EventSource
	events   chan eventsource.Event
	comments chan string
	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}
	err      error // why Next failed, set before events is closed

	mu      sync.Mutex
	skipped []error // events too large for MaxEventSize
}

// maxEvent is the EventSource's MaxEventSize here: the tests' events
// are at most a few MiB, as the raw reader's 16 MiB lines allow.
const maxEvent = 16 << 20

// Open opens an [eventsource.EventSource] at url with NoReconnect, client
// (nil: http.DefaultClient) and header (a Last-Event-ID in it becomes
// Options.LastEventID), and returns once the server has answered; it
// fails the test if there is no answer (a transport error). The stream is
// closed at the test's end. On a non-200 answer (or another
// Content-Type) the EventSource ends at once, and [Stream.Err] says
// why. An EventSource
// always sends Accept: text/event-stream; a test that needs another
// Accept uses [OpenRaw].
func Open(t testing.TB, client *http.Client, url string, header http.Header) *Stream {
	t.Helper()
	if _, ok := header["Accept"]; ok {
		t.Fatalf("ssetest.Open: an EventSource always sends Accept: text/event-stream; use OpenRaw to send Accept %q", header["Accept"])
	}
	header = header.Clone()
	lastID := header.Get("Last-Event-ID")
	header.Del("Last-Event-ID")
	answered := make(chan *http.Response, 1)
	s := &Stream{
		events:   make(chan eventsource.Event, 4096),
		comments: make(chan string, 1024),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	es, err := eventsource.New(url, eventsource.Options{
		Client:       client,
		Header:       header,
		LastEventID:  lastID,
		MaxEventSize: maxEvent,
		NoReconnect:  true,
		OnResponse:   func(resp *http.Response) { answered <- resp },
		OnComment: func(c string) {
			select {
			case s.comments <- c:
			default: // nobody waits for comments: drop them
			}
		},
		OnError: func(err error) {
			var tl *eventsource.EventTooLargeError
			if errors.As(err, &tl) {
				s.mu.Lock()
				s.skipped = append(s.skipped, err)
				s.mu.Unlock()
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	s.es = es
	go s.read()
	t.Cleanup(s.Close)
	select {
	case s.Resp = <-answered:
	case <-s.done:
		// The answer comes before the end, if there was one.
		select {
		case s.Resp = <-answered:
		default:
			t.Fatalf("GET %s: %v", url, s.err)
		}
	case <-time.After(Timeout):
		t.Fatalf("GET %s: no answer within %v", url, Timeout)
	}
	return s
}

func (s *Stream) read() {
	defer close(s.done)
	defer close(s.events)
	for {
		ev, err := s.es.Next(context.Background())
		if err != nil {
			s.err = err
			return
		}
		select {
		case s.events <- ev:
		case <-s.stop:
			s.err = eventsource.ErrClosed
			return
		}
	}
}

// Close closes the EventSource and waits for its reader to stop.
func (s *Stream) Close() {
	s.stopOnce.Do(func() { close(s.stop) })
	_ = s.es.Close()
	<-s.done
}

// skippedNote says which events the EventSource skipped as too large,
// for the messages of a test that waited for them in vain.
func (s *Stream) skippedNote() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.skipped) == 0 {
		return ""
	}
	return fmt.Sprintf(" (skipped: %v)", s.skipped)
}

// Event returns the next event, failing the test after Timeout or at the
// end of the stream.
func (s *Stream) Event(t testing.TB) eventsource.Event {
	t.Helper()
	select {
	case ev, ok := <-s.events:
		if !ok {
			t.Fatalf("stream ended: %v%s", s.err, s.skippedNote())
		}
		return ev
	case <-time.After(Timeout):
		t.Fatalf("no event within %v%s", Timeout, s.skippedNote())
	}
	return eventsource.Event{}
}

// Events returns the next n events.
func (s *Stream) Events(t testing.TB, n int) []eventsource.Event {
	t.Helper()
	out := make([]eventsource.Event, 0, n)
	for range n {
		out = append(out, s.Event(t))
	}
	return out
}

// Comment returns the text of the next comment line (after its colon),
// failing the test after Timeout. Comments that came while nobody waited
// may have been dropped, past the first thousand.
func (s *Stream) Comment(t testing.TB) string {
	t.Helper()
	select {
	case c := <-s.comments:
		return c
	case <-time.After(Timeout):
		t.Fatalf("no comment within %v", Timeout)
	}
	return ""
}

// Ended waits for the stream to end and returns the events read before
// the end, failing the test after Timeout.
func (s *Stream) Ended(t testing.TB) []eventsource.Event {
	t.Helper()
	var rest []eventsource.Event
	deadline := time.After(Timeout)
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				return rest
			}
			rest = append(rest, ev)
		case <-deadline:
			t.Fatalf("stream did not end within %v", Timeout)
		}
	}
}

// Err returns the error that ended the stream (nil when the server ended
// it: [eventsource.ErrStreamEnded]), valid once the stream has ended.
func (s *Stream) Err() error {
	<-s.done
	if errors.Is(s.err, eventsource.ErrStreamEnded) {
		return nil
	}
	return s.err
}

// RawStream is an open event stream read on its own goroutine with the
// strict [sseread] parser, item by item: comments and retry fields too.
// It is for the tests that check the wire itself, or send a request no
// EventSource would (another Accept); the others read through [Open].
type RawStream struct {
	Resp   *http.Response
	items  chan sseread.Item
	done   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	err    error
}

// OpenRaw sends a GET with Accept: text/event-stream (plus header, which
// may replace it) to url and returns the stream; it fails the test on a
// transport error. The stream is closed at the test's end. A non-200
// response is returned with no reader running.
func OpenRaw(t testing.TB, client *http.Client, url string, header http.Header) *RawStream {
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
	s := &RawStream{Resp: resp, items: make(chan sseread.Item, 4096), done: make(chan struct{}), ctx: ctx, cancel: cancel}
	t.Cleanup(s.Close)
	if resp.StatusCode != http.StatusOK {
		close(s.items)
		close(s.done)
		return s
	}
	go s.read()
	return s
}

func (s *RawStream) read() {
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
func (s *RawStream) Close() {
	s.cancel()
	<-s.done
	_ = s.Resp.Body.Close()
}

// Item returns the next item of any kind, failing the test after Timeout
// or at the end of the stream.
func (s *RawStream) Item(t testing.TB) sseread.Item {
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
func (s *RawStream) Event(t testing.TB) sseread.Item {
	t.Helper()
	for {
		if it := s.Item(t); it.Kind == sseread.KindEvent {
			return it
		}
	}
}

// Events returns the next n events.
func (s *RawStream) Events(t testing.TB, n int) []sseread.Item {
	t.Helper()
	out := make([]sseread.Item, 0, n)
	for range n {
		out = append(out, s.Event(t))
	}
	return out
}

// Ended waits for the stream to end and returns everything read before
// the end, failing the test after Timeout.
func (s *RawStream) Ended(t testing.TB) []sseread.Item {
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
func (s *RawStream) Err() error {
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
		got, last = append(got, n), ev.ID
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
		id, err := strconv.ParseUint(ev.ID, 10, 64)
		if err != nil {
			t.Fatalf("event %q has id %q, not a position", ev.Data, ev.ID)
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

// OpeningPosition opens a stream at url, returns the id its opening block
// gives the new client (its position), and hangs up. It fails the test
// if an event comes first or the stream ends without one.
func OpeningPosition(t testing.TB, url string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	r := sseread.NewReader(resp.Body, 0)
	r.ReportIDs("")
	for {
		it, err := r.Next()
		if err != nil {
			t.Fatalf("no opening position: %v", err)
		}
		switch it.Kind {
		case sseread.KindID:
			if it.LastEventID == "" {
				t.Fatal("the opening block has an empty id")
			}
			return it.LastEventID
		case sseread.KindEvent:
			t.Fatalf("an event (%q) came before any opening position", it.Data)
		}
	}
}
