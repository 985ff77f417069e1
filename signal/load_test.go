package signal_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roomcast/sse/signal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// payload is a load-test message: who sent it to whom, and a body of
// random length with its checksum, so corruption shows.
type payload struct {
	Swarm string `json:"swarm"`
	N     int    `json:"n"`
	To    string `json:"to"` // a cid, or "*"
	Body  string `json:"body"`
	Sum   string `json:"sum"`
}

func checksum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:8])
}

// loadSwarm is a swarm of Peers for the load test.
type loadSwarm struct {
	name  string
	peers []*signal.Peer // initiator first
}

func newLoadSwarm(t *testing.T, base, name string, n int) *loadSwarm {
	t.Helper()
	ls := &loadSwarm{name: name, peers: []*signal.Peer{dial(t, base)}}
	for range n - 1 {
		ls.peers = append(ls.peers, join(t, base, ls.peers[0].ID()))
		require.Equal(t, signal.EventJoin, next(t, ls.peers[0]).Event)
	}
	return ls
}

// post is one planned POST.
type plannedPost struct {
	from *signal.Peer
	p    payload
}

// plan draws n posts from random senders, a third of them direct, and
// counts what each peer should receive.
func (ls *loadSwarm) plan(n int, rng *rand.Rand) ([]plannedPost, map[string]int) {
	want := make(map[string]int)
	posts := make([]plannedPost, n)
	for i := range posts {
		from := ls.peers[rng.IntN(len(ls.peers))]
		body := strings.Repeat(string(rune('a'+i%26)), rng.IntN(300)) + fmt.Sprintf("\n\"%d\" é <&>", i)
		p := payload{Swarm: ls.name, N: i, To: "*", Body: body, Sum: checksum(body)}
		if rng.IntN(3) == 0 {
			p.To = ls.peers[rng.IntN(len(ls.peers))].CID()
			want[p.To]++
		} else {
			for _, peer := range ls.peers {
				want[peer.CID()]++
			}
		}
		posts[i] = plannedPost{from, p}
	}
	return posts, want
}

// collect reads each peer's messages until the "end" broadcast and
// returns, per cid, how many times each message number arrived.
func (ls *loadSwarm) collect(t *testing.T) map[string]chan map[int]int {
	out := make(map[string]chan map[int]int)
	for _, peer := range ls.peers {
		ch := make(chan map[int]int, 1)
		out[peer.CID()] = ch
		go func() {
			got := make(map[int]int)
			defer func() { ch <- got }()
			for m := range peer.Messages() {
				if m.Event != signal.EventSignal {
					continue
				}
				if string(m.Data) == `"end"` {
					return
				}
				var p payload
				switch err := m.Decode(&p); {
				case err != nil:
					t.Errorf("undecodable message %q: %v", m.Data, err)
				case p.Swarm != ls.name:
					t.Errorf("%s got message %s/%d from another swarm", ls.name, p.Swarm, p.N)
				case p.To != "*" && p.To != peer.CID():
					t.Errorf("%s got message %d meant for %s", peer.CID(), p.N, p.To)
				case checksum(p.Body) != p.Sum:
					t.Errorf("message %s/%d corrupted: %q", p.Swarm, p.N, p.Body)
				}
				got[p.N]++
			}
		}()
	}
	return out
}

// TestLoad puts 50 peers in a swarm and sends 1000 concurrent POSTs
// among them, a third of them direct, while a second swarm is busy
// alongside. Every message reaches each of its recipients exactly once,
// intact, and no swarm sees the other's.
func TestLoad(t *testing.T) {
	t.Parallel()
	_, base := newServer(t, signal.Config{})
	rng := rand.New(rand.NewPCG(1, 2))
	big := newLoadSwarm(t, base, "big", 50)
	small := newLoadSwarm(t, base, "small", 5)
	bigPosts, bigWant := big.plan(1000, rng)
	smallPosts, smallWant := small.plan(200, rng)

	transport := &http.Transport{MaxConnsPerHost: 64, MaxIdleConnsPerHost: 64}
	client := &http.Client{Transport: transport}
	t.Cleanup(transport.CloseIdleConnections)
	send := func(from *signal.Peer, data any, to string) error {
		body, err := json.Marshal(map[string]any{"token": from.Token(), "data": data, "cid": to})
		if err != nil {
			return err
		}
		resp, err := client.Post(base+"/"+from.ID(), "application/json", bytes.NewReader(body))
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}

	bigGot, smallGot := big.collect(t), small.collect(t)
	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, len(bigPosts)+len(smallPosts))
	for _, pp := range append(bigPosts, smallPosts...) {
		wg.Go(func() {
			<-start
			to := pp.p.To
			if to == "*" {
				to = ""
			}
			if err := send(pp.from, pp.p, to); err != nil {
				errs <- fmt.Errorf("post %s/%d: %w", pp.p.Swarm, pp.p.N, err)
			}
		})
	}
	began := time.Now()
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("%d posts in %v", len(bigPosts)+len(smallPosts), time.Since(began))

	// Every post was accepted, so every message is queued ahead of these.
	require.NoError(t, send(big.peers[0], "end", ""))
	require.NoError(t, send(small.peers[0], "end", ""))
	for _, ls := range []struct {
		sw    *loadSwarm
		posts []plannedPost
		want  map[string]int
		got   map[string]chan map[int]int
	}{{big, bigPosts, bigWant, bigGot}, {small, smallPosts, smallWant, smallGot}} {
		for _, peer := range ls.sw.peers {
			got := within(t, ls.got[peer.CID()], "the messages of "+peer.CID())
			total := 0
			for n, count := range got {
				if count != 1 {
					t.Errorf("message %s/%d arrived %d times at %s", ls.sw.name, n, count, peer.CID())
				}
				total += count
			}
			assert.Equal(t, ls.want[peer.CID()], total, "messages for %s", peer.CID())
			for _, pp := range ls.posts {
				if (pp.p.To == "*" || pp.p.To == peer.CID()) && got[pp.p.N] != 1 {
					t.Errorf("message %s/%d to %s arrived %d times", ls.sw.name, pp.p.N, peer.CID(), got[pp.p.N])
				}
			}
		}
	}
}
