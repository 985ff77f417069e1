package benchserver_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/roomcast/sse/bench/internal/benchserver"
	"github.com/roomcast/sse/bench/internal/impl"
	"github.com/roomcast/sse/bench/internal/procstat"
	"github.com/roomcast/sse/bench/internal/wire"
)

// recorder is an Impl that records what is published.
type recorder struct {
	http.Handler
	mu   sync.Mutex
	got  map[string][]uint64
	size int
}

func (r *recorder) Publish(_ context.Context, room string, data []byte) error {
	seq, _, ok := wire.Decode(data)
	r.mu.Lock()
	defer r.mu.Unlock()
	if !ok {
		panic("undecodable payload")
	}
	r.got[room] = append(r.got[room], seq)
	r.size = len(data)
	return nil
}

func (r *recorder) Shutdown(context.Context) error { return nil }

var _ impl.Impl = (*recorder)(nil)

func post(t *testing.T, ts *httptest.Server, query string) wire.PublishResult {
	t.Helper()
	resp, err := http.Post(ts.URL+"/ctl/publish?"+query, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("publish?%s: %s", query, resp.Status)
	}
	var res wire.PublishResult
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		t.Fatal(err)
	}
	return res
}

func TestPublish(t *testing.T) {
	t.Parallel()
	rec := &recorder{Handler: http.NotFoundHandler(), got: map[string][]uint64{}}
	ts := httptest.NewServer(benchserver.New(rec))
	defer ts.Close()

	res := post(t, ts, "rooms=3&rounds=4&size=100")
	if res.Rounds != 4 || res.Events != 12 || res.FirstSeq != 0 || res.Err != "" {
		t.Fatalf("first publish: %+v", res)
	}
	// A set with one room shares r0's counter with the first set.
	res = post(t, ts, "rounds=2")
	if res.Rounds != 2 || res.FirstSeq != 4 {
		t.Fatalf("second publish: %+v", res)
	}
	// Other prefix, paced: 5 rounds at 100/s take about 40 ms.
	res = post(t, ts, "prefix=x&rounds=5&rate=100")
	if res.Rounds != 5 || res.FirstSeq != 0 || res.Elapsed < 0.035 {
		t.Fatalf("paced publish: %+v", res)
	}
	// A deadline in the past publishes nothing.
	res = post(t, ts, "rounds=50&until=1")
	if res.Rounds != 0 {
		t.Fatalf("publish past its deadline: %+v", res)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	want := map[string]int{"r0": 6, "r1": 4, "r2": 4, "x0": 5}
	for room, n := range want {
		seqs := rec.got[room]
		if len(seqs) != n {
			t.Fatalf("room %s got %v, want %d events", room, seqs, n)
		}
		for i, s := range seqs {
			if s != uint64(i) {
				t.Fatalf("room %s got %v, want 0..%d", room, seqs, n-1)
			}
		}
	}
	if rec.size != 128 {
		t.Fatalf("default size %d, want 128", rec.size)
	}
}

func TestPublishBadParams(t *testing.T) {
	t.Parallel()
	ts := httptest.NewServer(benchserver.New(&recorder{Handler: http.NotFoundHandler()}))
	defer ts.Close()
	for _, q := range []string{"rooms=0", "rounds=x", "size=-1", "rate=fast", "until=soon"} {
		resp, err := http.Post(ts.URL+"/ctl/publish?"+q, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("publish?%s: %s, want 400", q, resp.Status)
		}
	}
}

func TestStats(t *testing.T) {
	t.Parallel()
	ts := httptest.NewServer(benchserver.New(&recorder{Handler: http.NotFoundHandler()}))
	defer ts.Close()
	resp, err := http.Get(ts.URL + "/ctl/stats?gc=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s procstat.Sample
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	if s.RSS <= 0 || s.Goroutines < 1 || s.NumGC < 1 {
		t.Fatalf("implausible stats %+v", s)
	}
}
