package impl

import (
	"context"
	"net/http"

	tm "github.com/tmaxmax/go-sse"
)

func init() { register("tmaxmax", newTmaxmax) }

// tmaxmax adapts github.com/tmaxmax/go-sse with its default provider, Joe,
// and no replayer. Joe is one goroutine that writes and flushes each
// event to every subscribed connection in turn. A session sends its
// response headers only with its first event.
type tmaxmax struct{ s *tm.Server }

func newTmaxmax(Options) (Impl, error) {
	return &tmaxmax{s: &tm.Server{
		OnSession: func(_ http.ResponseWriter, r *http.Request) ([]string, bool) {
			return []string{r.PathValue("room")}, true
		},
	}}, nil
}

func (a *tmaxmax) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.s.ServeHTTP(w, r) }

func (a *tmaxmax) Publish(_ context.Context, room string, data []byte) error {
	m := &tm.Message{}
	m.AppendData(string(data))
	return a.s.Publish(m, room)
}

func (a *tmaxmax) Shutdown(ctx context.Context) error { return a.s.Shutdown(ctx) }
