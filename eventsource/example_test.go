package eventsource_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/roomcast/sse"
	"github.com/roomcast/sse/eventsource"
)

// A stream read one event at a time, with the event type, data and id.
func ExampleEventSource_Next() {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, ": a comment, skipped\n\nevent: greeting\nid: 1\ndata: hello\ndata: world\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer ts.Close()

	es, err := eventsource.New(ts.URL, eventsource.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer es.Close()
	ev, err := es.Next(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s %s %q\n", ev.ID, ev.Type, ev.Data)
	// Output: 1 greeting "hello\nworld"
}

// A Broker's room read in a range loop; the loop ends when the server
// answers 204 No Content, as a Broker does once shut down.
func ExampleEventSource_All() {
	b, _ := sse.New(sse.Config{})
	mux := http.NewServeMux()
	mux.Handle("GET /events/{room}", b)
	ts := httptest.NewServer(mux)
	defer ts.Close()

	opened := make(chan struct{}, 1)
	es, _ := eventsource.New(ts.URL+"/events/news", eventsource.Options{
		RetryDelay: time.Millisecond,
		OnState: func(s eventsource.State) {
			if s == eventsource.Open {
				opened <- struct{}{}
			}
		},
	})
	defer es.Close()
	go func() {
		<-opened // the broker joins a client to its room before answering
		b.Publish(context.Background(), "news", sse.Event{Name: "headline", Data: "SSE in Go"})
		b.Publish(context.Background(), "news", sse.Event{Data: "details"})
		b.Shutdown(context.Background()) // ends the stream; the reconnection gets 204
	}()
	for ev, err := range es.All(context.Background()) {
		if errors.Is(err, eventsource.ErrNoContent) {
			fmt.Println("done")
			break
		}
		fmt.Println(ev.Type, ev.Data)
	}
	// Output:
	// headline SSE in Go
	// message details
	// done
}

// Options with credentials, a resumed stream and hooks for what the
// EventSource recovers from on its own.
func ExampleNew() {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer secret" {
			http.Error(w, "who are you?", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprintf(w, "data: resumed after %s\n\n", r.Header.Get("Last-Event-ID"))
	}))
	defer ts.Close()

	var states []eventsource.State // written by the EventSource's goroutine
	es, err := eventsource.New(ts.URL, eventsource.Options{
		Header:      http.Header{"Authorization": {"Bearer secret"}},
		LastEventID: "41",
		NoReconnect: true,
		OnState:     func(s eventsource.State) { states = append(states, s) },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for ev, err := range es.All(context.Background()) {
		if err != nil {
			fmt.Println(err)
			break
		}
		fmt.Println(ev.Data)
	}
	es.Close() // waits for the goroutine: states is complete
	fmt.Println(states)
	// Output:
	// resumed after 41
	// eventsource: the server ended the stream
	// [connecting open closed]
}
