package signal_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/roomcast/sse/signal"
)

// Moshpit's ping-pong: the initiator pings each peer that joins with a
// direct message, the peer pongs back to the sender named in it, and the
// initiator leaves, which ends the swarm.
func Example() {
	srv, _ := signal.New(signal.Config{})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	defer srv.Shutdown(context.Background())
	ctx := context.Background()

	initiator, err := signal.Dial(ctx, ts.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	peerDone := make(chan struct{})
	for m := range initiator.Messages() {
		switch m.Event {
		case signal.EventConnect:
			peer, err := signal.Join(ctx, ts.URL, initiator.ID())
			if err != nil {
				fmt.Println(err)
				return
			}
			go func() {
				defer close(peerDone)
				defer peer.Close()
				for m := range peer.Messages() {
					var msg struct{ Message, From string }
					if m.Event == signal.EventSignal && m.Decode(&msg) == nil {
						fmt.Println("peer:", msg.Message)
						_ = peer.Write(map[string]string{"message": "pong", "_cid": msg.From})
					}
				}
				fmt.Println("peer:", peer.Err())
			}()
		case signal.EventJoin:
			var joined signal.PeerEvent
			_ = m.Decode(&joined)
			_ = initiator.Write(map[string]string{"message": "ping", "from": initiator.CID(), "_cid": joined.CID})
		case signal.EventSignal:
			var msg struct{ Message string }
			_ = m.Decode(&msg)
			fmt.Println("initiator:", msg.Message)
			initiator.Close()
		}
	}
	<-peerDone
	// Output:
	// peer: ping
	// initiator: pong
	// peer: signal: stream ended by the server
}

// A server mounted under a prefix, with its limits, as a program would
// start it.
func ExampleNew() {
	srv, err := signal.New(signal.Config{
		MaxSwarms: 10_000,
		MaxPeers:  64,
		CORS:      signal.CORS{Origins: []string{"https://app.example"}},
		ICEServers: []signal.ICEServer{
			{URLs: []string{"stun:stun.l.google.com:19302"}},
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	mux := http.NewServeMux()
	mux.Handle("/signal/", http.StripPrefix("/signal", srv))
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	_ = hs // hs.ListenAndServe(), then on the way out:
	fmt.Println(srv.Shutdown(context.Background()))
	// Output: <nil>
}

// TURN REST API credentials, as the server hands them to each peer; a
// TURN server with the same secret (coturn: use-auth-secret,
// static-auth-secret) accepts them until the expiry in the username.
func ExampleTURN_Credentials() {
	turn := signal.TURN{URLs: []string{"turn:turn.example:3478"}, Secret: "north", TTL: time.Hour}
	ice := turn.Credentials("d4k2ls8r3s2g00b5nqeg", time.Unix(1_700_000_000, 0))
	fmt.Println(ice.URLs)
	fmt.Println(ice.Username)
	fmt.Println(ice.Credential)
	// Output:
	// [turn:turn.example:3478]
	// 1700003600:d4k2ls8r3s2g00b5nqeg
	// 4AyXsO4t/+uXX2V2fuaSOO0toxs=
}
