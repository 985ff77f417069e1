package exact

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/roomcast/sse"
	"github.com/roomcast/sse/internal/sseread"
)

// Handler serves a stream in the rooms named, comma-separated, by the
// query parameter "rooms", through [sse.Broker.Add]. The broker reads
// Last-Event-ID, and the lastEventId query parameter, itself.
func Handler(b *sse.Broker) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var rooms []string
		if s := r.URL.Query().Get("rooms"); s != "" {
			rooms = strings.Split(s, ",")
		}
		if c, err := b.Add(w, r, rooms...); err == nil {
			_ = c.Serve()
		}
	})
}

// fenceToken is the data of the PublishAll that ends a run: every
// lineage must get to it.
const fenceToken = "fence"

// stream is one open connection, read on its own goroutine into conn.
type stream struct {
	conn   Conn
	cancel context.CancelFunc
	done   chan struct{} // closed when the reader has stopped; conn is final then
}

// open connects to base with the lineage's rooms and last event id, as
// EventSource would (the id in Last-Event-ID, or in the lastEventId query
// parameter as polyfills send it), and returns once the response headers
// are in. onRec is called by the reading goroutine with each record.
func open(ctx context.Context, client *http.Client, node int, base string, rooms []string, lastID string, byQuery bool, onRec func(Rec)) *stream {
	ctx, cancel := context.WithCancel(ctx)
	s := &stream{conn: Conn{Node: node, LastID: lastID, ByQuery: byQuery, End: lastID}, cancel: cancel, done: make(chan struct{})}
	q := url.Values{"rooms": {strings.Join(rooms, ",")}}
	if byQuery {
		q.Set("lastEventId", lastID)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/?"+q.Encode(), nil)
	if err != nil {
		panic(err) // the URL is ours
	}
	req.Header.Set("Accept", "text/event-stream")
	if lastID != "" && !byQuery {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := client.Do(req)
	if err != nil {
		s.conn.Err = err.Error()
		close(s.done)
		return s
	}
	s.conn.Status = resp.StatusCode
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		close(s.done)
		return s
	}
	go s.read(resp.Body, onRec)
	return s
}

func (s *stream) read(body io.ReadCloser, onRec func(Rec)) {
	defer close(s.done)
	defer body.Close()
	r := sseread.NewReader(body, 0)
	r.ReportIDs(s.conn.LastID)
	for {
		it, err := r.Next()
		if err != nil {
			s.conn.End = r.LastEventID()
			if err != io.EOF && s.conn.Err == "" {
				s.conn.Err = err.Error()
			}
			return
		}
		var rec Rec
		switch {
		case it.Kind == sseread.KindID:
			rec = Rec{Kind: RecPosition, ID: it.LastEventID, HasID: true}
		case it.Kind != sseread.KindEvent:
			continue
		case it.Type == sse.ResyncEvent:
			rec = Rec{Kind: RecResync, ID: it.LastEventID, HasID: it.HasID, Data: it.Data}
		case it.Type == "message":
			rec = Rec{Kind: RecEvent, ID: it.LastEventID, HasID: it.HasID, Token: it.Data}
		default:
			rec = Rec{Kind: RecOther, ID: it.LastEventID, HasID: it.HasID, Data: it.Type}
		}
		s.conn.Recs = append(s.conn.Recs, rec)
		onRec(rec)
	}
}

// stop cuts the connection and waits for the reader.
func (s *stream) stop() {
	s.cancel()
	<-s.done
}

// ended reports whether the stream ended by itself.
func (s *stream) ended() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}
