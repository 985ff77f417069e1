package sse_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/roomcast/sse"
)

// printEvents reads the stream at url and prints its data lines until it
// has printed n of them.
func printEvents(url string, n int, opened chan<- struct{}) {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	close(opened)
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() && n > 0 {
		if line := sc.Text(); strings.HasPrefix(line, "event:") || strings.HasPrefix(line, "data:") {
			fmt.Println(line)
			if strings.HasPrefix(line, "data:") {
				n--
			}
		}
	}
}

func ExampleNew() {
	b, err := sse.New(sse.Config{
		HeartbeatInterval: 20 * time.Second,
		History:           sse.History{Size: 500, MaxAge: time.Hour},
		Limits:            sse.Limits{MaxClients: 10000},
	})
	if err != nil {
		panic(err)
	}
	defer b.Shutdown(context.Background())

	mux := http.NewServeMux()
	mux.Handle("GET /events/{room}", b) // the room comes from the path
	srv := httptest.NewServer(mux)
	defer srv.Close()

	opened := make(chan struct{})
	done := make(chan struct{})
	go func() { printEvents(srv.URL+"/events/news", 1, opened); close(done) }()
	<-opened
	_ = b.Publish(context.Background(), "news", sse.Event{Name: "headline", Data: "SSE is simple"})
	<-done
	// Output:
	// event: headline
	// data: SSE is simple
}

func ExampleBroker_Add() {
	b, _ := sse.New(sse.Config{})
	defer b.Shutdown(context.Background())

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Join rooms at connect, in Add: the client may see the stream
		// open, and events be published to it, before a later Join.
		// On error Add has answered already.
		rooms := []string{"lobby"}
		if user := r.URL.Query().Get("user"); user != "" {
			rooms = append(rooms, "user:"+user) // a room of one, for direct messages
		}
		c, err := b.Add(w, r, rooms...)
		if err != nil {
			return
		}
		_ = c.Serve() // blocks, writing the stream, until the client goes
	}))
	defer srv.Close()

	opened := make(chan struct{})
	done := make(chan struct{})
	go func() { printEvents(srv.URL+"/?user=ada", 2, opened); close(done) }()
	<-opened
	_ = b.Publish(context.Background(), "lobby", sse.Event{Data: "hello everyone"})
	_ = b.Publish(context.Background(), "user:ada", sse.Event{Data: "hello Ada"})
	<-done
	// Output:
	// data: hello everyone
	// data: hello Ada
}

func ExampleBroker_Publish() {
	b, _ := sse.New(sse.Config{})
	defer b.Shutdown(context.Background())
	mux := http.NewServeMux()
	mux.Handle("GET /events/{room}", b)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	opened := make(chan struct{})
	done := make(chan struct{})
	go func() { printEvents(srv.URL+"/events/prices", 3, opened); close(done) }()
	<-opened
	ctx := context.Background()
	_ = b.Publish(ctx, "prices", sse.Event{Name: "quote", Data: map[string]float64{"EUR": 1.08}})
	_ = b.Publish(ctx, "prices", sse.Event{Data: "two\nlines"})
	err := b.Publish(ctx, "prices", sse.Event{Name: "bad\nname"})
	fmt.Println(err)
	<-done
	// Output:
	// sse: event name contains a line break
	// event: quote
	// data: {"EUR":1.08}
	// data: two
	// data: lines
}

func ExampleBroker_Schedule() {
	b, _ := sse.New(sse.Config{})
	defer b.Shutdown(context.Background())
	mux := http.NewServeMux()
	mux.Handle("GET /events/{room}", b)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	opened := make(chan struct{})
	done := make(chan struct{})
	go func() { printEvents(srv.URL+"/events/clock", 1, opened); close(done) }()
	<-opened
	_, err := b.Schedule("@every 1s", func(ctx context.Context) {
		_ = b.PublishAll(ctx, sse.Event{Name: "tick", Data: "every second"})
	})
	if err != nil {
		panic(err)
	}
	<-done
	// Output:
	// event: tick
	// data: every second
}

func ExampleEvent() {
	ev := sse.Event{ID: "42", Name: "update", Data: "line one\nline two", Retry: 5 * time.Second}
	wire, _ := ev.MarshalText()
	fmt.Print(string(wire))
	// Output:
	// id: 42
	// retry: 5000
	// event: update
	// data: line one
	// data: line two
}
