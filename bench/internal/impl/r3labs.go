package impl

import (
	"context"
	"net/http"
	"net/url"

	r3 "github.com/r3labs/sse/v2"
)

func init() { register("r3labs", newR3labs) }

// r3labs adapts github.com/r3labs/sse/v2. It takes the stream name from
// the "stream" query parameter, so the adapter rewrites the path's room
// into it. AutoStream creates a stream on first subscription; AutoReplay
// (on by default) is turned off, since it keeps every event published in
// memory forever. One goroutine per stream hands each event to every
// subscriber's channel (64 deep), waiting on any that is full.
type r3labs struct{ s *r3.Server }

func newR3labs(Options) (Impl, error) {
	s := r3.New()
	s.AutoStream = true
	s.AutoReplay = false
	return &r3labs{s: s}, nil
}

func (a *r3labs) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u := *r.URL
	u.RawQuery = url.Values{"stream": {r.PathValue("room")}}.Encode()
	r2 := r.WithContext(r.Context())
	r2.URL = &u
	a.s.ServeHTTP(w, r2)
}

func (a *r3labs) Publish(_ context.Context, room string, data []byte) error {
	a.s.Publish(room, &r3.Event{Data: data})
	return nil
}

func (a *r3labs) Shutdown(context.Context) error {
	a.s.Close()
	return nil
}
