package eventsource_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/roomcast/sse/eventsource"
)

// FuzzEventSource streams arbitrary bytes to an EventSource, whole or a
// byte per Read, and checks that the events, comments and last event ID
// it reports are those of reference, and that the stream ends with
// ErrStreamEnded.
func FuzzEventSource(f *testing.F) {
	for _, s := range []string{
		"data: YHOO\ndata: +2\ndata: 10\n\n",
		": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n\n",
		"data\n\ndata\ndata\n\ndata:",
		"event: a\rdata: 1\r\n\r\ndata: 2\r\r",
		"\uFEFFdata: x\n\n\uFEFFdata: y\n\n",
		"id: a\x00b\ndata: x\n\nid: 3\n\nretry: 10x\nretry: 7\ndata\n\n",
		"event: lost\n\nid: 9\nevent: t\ndata: d\n\n:c\r\n",
		"retry: 9223372036854775807\ndata: a\n\nretry: 9223372036854775808\ndata: b\n\nretry: 0\ndata: c\n\n",
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, in []byte, oneByte bool) {
		var body io.Reader = bytes.NewReader(in)
		if oneByte {
			body = iotest.OneByteReader(body)
		}
		tr := &memTransport{at: make(chan time.Time, 1), answers: []func(*http.Request) (*http.Response, error){
			answer(200, nil, body),
		}}
		var comments []string
		es, err := eventsource.New("http://memory/", eventsource.Options{
			Client: &http.Client{Transport: tr}, NoReconnect: true,
			OnComment: func(c string) { comments = append(comments, c) },
		})
		if err != nil {
			t.Fatal(err)
		}
		defer es.Close()
		var got []eventsource.Event
		for {
			ev, err := es.Next(t.Context())
			if errors.Is(err, eventsource.ErrStreamEnded) {
				break
			}
			if err != nil {
				t.Fatalf("error %v, input %q", err, in)
			}
			got = append(got, ev)
		}
		want := reference(string(in))
		if len(got) != len(want.events) {
			t.Fatalf("%d events, want %d\ngot  %q\nwant %q\ninput %q", len(got), len(want.events), got, want.events, in)
		}
		for i := range got {
			if got[i] != want.events[i] {
				t.Fatalf("event %d: %+v, want %+v, input %q", i, got[i], want.events[i], in)
			}
		}
		if strings.Join(comments, "\n") != strings.Join(want.comments, "\n") || len(comments) != len(want.comments) {
			t.Fatalf("comments %q, want %q, input %q", comments, want.comments, in)
		}
		if id := es.LastEventID(); id != want.lastID {
			t.Fatalf("last event ID %q, want %q, input %q", id, want.lastID, in)
		}
	})
}

// decoded is what reference finds in a stream.
type decoded struct {
	events   []eventsource.Event
	comments []string
	lastID   string
}

// reference decodes a whole stream as the WHATWG standard's "Parsing an
// event stream" and "Interpreting an event stream" say, step by step,
// for one connection with the default reconnection time.
func reference(s string) decoded {
	var out decoded
	retry := eventsource.DefaultRetryDelay
	s = strings.TrimPrefix(s, "\uFEFF") // stream = [ bom ] *event
	var data, eventType, idBuffer strings.Builder
	for {
		// end-of-line = ( cr lf / cr / lf ); a line not ended before
		// the end of the stream is not a line.
		i := strings.IndexAny(s, "\r\n")
		if i < 0 {
			return out // "Once the end of the file is reached, any pending data must be discarded."
		}
		line := s[:i]
		if strings.HasPrefix(s[i:], "\r\n") {
			s = s[i+2:]
		} else {
			s = s[i+1:]
		}
		switch {
		case line == "": // "If the line is empty (a blank line): Dispatch the event"
			// 1. Set the last event ID string to the last event ID buffer.
			out.lastID = idBuffer.String()
			// 2. If the data buffer is empty, reset data and type, return.
			if data.Len() == 0 {
				data.Reset()
				eventType.Reset()
				continue
			}
			// 3. If the data buffer's last character is LF, remove it.
			d := strings.TrimSuffix(data.String(), "\n")
			// 4-5. The type defaults to "message".
			typ := eventType.String()
			if typ == "" {
				typ = "message"
			}
			out.events = append(out.events, eventsource.Event{ID: out.lastID, Type: typ, Data: d, Retry: retry})
			data.Reset()
			eventType.Reset()
		case line[0] == ':': // "If the line starts with a colon: Ignore the line."
			out.comments = append(out.comments, line[1:])
		default:
			// "If the line contains a colon": the field name before the
			// first colon, the value after it, minus one leading space;
			// otherwise the whole line is the name and the value empty.
			name, value := line, ""
			if c := strings.Index(line, ":"); c >= 0 {
				name, value = line[:c], line[c+1:]
				value = strings.TrimPrefix(value, " ")
			}
			switch name {
			case "event":
				eventType.Reset()
				eventType.WriteString(value)
			case "data":
				data.WriteString(value)
				data.WriteString("\n")
			case "id":
				if !strings.Contains(value, "\x00") {
					idBuffer.Reset()
					idBuffer.WriteString(value)
				}
			case "retry":
				if value != "" && strings.Trim(value, "0123456789") == "" {
					var ms int64
					ok := true
					for _, c := range value {
						d := int64(c - '0')
						if ms > (1<<63-1-d)/10 {
							ok = false // beyond int64: not a usable integer
							break
						}
						ms = ms*10 + d
					}
					if ok {
						retry = min(time.Duration(ms), 365*24*time.Hour/time.Millisecond) * time.Millisecond
					}
				}
			}
		}
	}
}
