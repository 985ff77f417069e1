package impl

import (
	"context"
	"net/http"

	av "github.com/alexandrevicenzi/go-sse"
)

func init() { register("alexandrevicenzi", newAlexandrevicenzi) }

// alexandrevicenzi adapts github.com/alexandrevicenzi/go-sse. The channel
// name comes from the path's room; a non-nil Options with a nil Logger
// keeps it from logging every message. SendMessage hands the event to
// each client's unbuffered channel in turn, waiting for each handler to
// take it, and every handler encodes the event again. Its handlers also
// write the shared message's retry field, a data race inside the library
// when a channel has more than one client.
type alexandrevicenzi struct{ s *av.Server }

func newAlexandrevicenzi(Options) (Impl, error) {
	return &alexandrevicenzi{s: av.NewServer(&av.Options{
		ChannelNameFunc: func(r *http.Request) string { return r.PathValue("room") },
	})}, nil
}

func (a *alexandrevicenzi) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.s.ServeHTTP(w, r) }

func (a *alexandrevicenzi) Publish(_ context.Context, room string, data []byte) error {
	a.s.SendMessage(room, av.SimpleMessage(string(data)))
	return nil
}

// Shutdown does nothing: the library's own Shutdown closes the channel
// that handlers later send on when their clients go, which panics while
// any client is still connected. Closing the listener ends the streams.
func (a *alexandrevicenzi) Shutdown(context.Context) error { return nil }
