// Package benchserver is the HTTP side of sse-bench-server: one
// implementation's event streams at GET /events/{room}, plus the control
// endpoints the load generator drives it with.
//
//	POST /ctl/publish?rooms=R&rounds=K[&size=128][&rate=E][&prefix=r][&until=T]
//	     publishes K rounds; a round is one event to each of the rooms
//	     prefix0 .. prefix(R-1). With rate=E (rounds per second) the rounds
//	     are paced, else they go as fast as the implementation accepts
//	     them; no round starts after the Unix time T in nanoseconds. Each event's data is a wire payload with the room's next
//	     sequence number and the time Publish was called. Answers a
//	     [wire.PublishResult] as JSON.
//	GET  /ctl/stats[?gc=1]  the process's [procstat.Sample] as JSON
//	POST /ctl/shutdown      calls the implementation's Shutdown (once; with
//	     a 30 s bound) and answers a [wire.ShutdownResult] with its time
//	GET  /debug/pprof/...   the standard profiles
package benchserver

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/pprof"
	"strconv"
	"sync"
	"time"

	"github.com/roomcast/sse/bench/internal/impl"
	"github.com/roomcast/sse/bench/internal/procstat"
	"github.com/roomcast/sse/bench/internal/wire"
)

// Server serves one implementation and its control endpoints.
type Server struct {
	impl impl.Impl
	mux  *http.ServeMux

	mu   sync.Mutex // held for a whole publish request: one publisher at a time
	seqs map[string]*uint64
	sets map[string][]room // by prefix and count

	shutOnce sync.Once
	shut     wire.ShutdownResult
}

type room struct {
	name string
	seq  *uint64
}

// New returns a Server for im.
func New(im impl.Impl) *Server {
	s := &Server{impl: im, mux: http.NewServeMux(), seqs: map[string]*uint64{}, sets: map[string][]room{}}
	s.mux.Handle("GET /events/{room}", im)
	s.mux.HandleFunc("POST /ctl/publish", s.publish)
	s.mux.HandleFunc("GET /ctl/stats", stats)
	s.mux.HandleFunc("POST /ctl/shutdown", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
		defer cancel()
		writeJSON(w, s.Shutdown(ctx))
	})
	s.mux.HandleFunc("/debug/pprof/", pprof.Index)
	s.mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	s.mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return s
}

// Shutdown shuts the implementation down the first time it is called and
// reports how long that took; later calls return the first one's result.
func (s *Server) Shutdown(ctx context.Context) wire.ShutdownResult {
	s.shutOnce.Do(func() {
		start := time.Now()
		err := s.impl.Shutdown(ctx)
		s.shut.Elapsed = time.Since(start).Seconds()
		if err != nil {
			s.shut.Err = err.Error()
		}
	})
	return s.shut
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func stats(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, procstat.Read(r.URL.Query().Get("gc") == "1"))
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// PublishParams is what POST /ctl/publish takes.
type PublishParams struct {
	Rooms  int     // rooms in the set, at least 1
	Rounds int     // rounds to publish, at least 1
	Size   int     // payload bytes; zero: 128
	Rate   float64 // rounds per second; zero: as fast as accepted
	Prefix string  // room name prefix; empty: "r"
	Until  time.Time
}

func parsePublish(r *http.Request) (PublishParams, error) {
	q := r.URL.Query()
	p := PublishParams{Rooms: 1, Rounds: 1, Size: 128, Prefix: "r"}
	var err error
	atoi := func(key string, dst *int, lo int) {
		if v := q.Get(key); v != "" && err == nil {
			*dst, err = strconv.Atoi(v)
			if err == nil && *dst < lo {
				err = fmt.Errorf("%s below %d", key, lo)
			}
		}
	}
	atoi("rooms", &p.Rooms, 1)
	atoi("rounds", &p.Rounds, 1)
	atoi("size", &p.Size, 1)
	if v := q.Get("rate"); v != "" && err == nil {
		p.Rate, err = strconv.ParseFloat(v, 64)
	}
	if v := q.Get("prefix"); v != "" {
		p.Prefix = v
	}
	if v := q.Get("until"); v != "" && err == nil {
		var ns int64
		ns, err = strconv.ParseInt(v, 10, 64)
		p.Until = time.Unix(0, ns)
	}
	return p, err
}

func (s *Server) publish(w http.ResponseWriter, r *http.Request) {
	p, err := parsePublish(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	writeJSON(w, s.Publish(r.Context(), p))
}

// Publish runs one publish request; see the package comment.
func (s *Server) Publish(ctx context.Context, p PublishParams) wire.PublishResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	set := s.roomSet(p.Prefix, p.Rooms)
	res := wire.PublishResult{FirstSeq: *set[0].seq}
	start := time.Now()
	var period time.Duration
	if p.Rate > 0 {
		period = time.Duration(float64(time.Second) / p.Rate)
	}
	for i := range p.Rounds {
		if period > 0 {
			if d := time.Until(start.Add(time.Duration(i) * period)); d > 0 {
				time.Sleep(d)
			}
		}
		if ctx.Err() != nil {
			res.Err = ctx.Err().Error()
			break
		}
		if !p.Until.IsZero() && time.Now().After(p.Until) {
			break
		}
		for _, rm := range set {
			data := wire.Encode(*rm.seq, time.Now().UnixNano(), p.Size)
			*rm.seq++
			if err := s.impl.Publish(ctx, rm.name, data); err != nil && res.Err == "" {
				res.Err = err.Error()
			}
			res.Events++
		}
		res.Rounds++
	}
	res.Elapsed = time.Since(start).Seconds()
	return res
}

// roomSet returns the rooms prefix0 .. prefix(n-1), each with its own
// sequence counter shared with every other set that names it.
func (s *Server) roomSet(prefix string, n int) []room {
	key := prefix + "\x00" + strconv.Itoa(n)
	if set, ok := s.sets[key]; ok {
		return set
	}
	set := make([]room, n)
	for i := range set {
		name := prefix + strconv.Itoa(i)
		seq := s.seqs[name]
		if seq == nil {
			seq = new(uint64)
			s.seqs[name] = seq
		}
		set[i] = room{name: name, seq: seq}
	}
	s.sets[key] = set
	return set
}
