package signal

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/roomcast/sse"
)

// DefaultTURNTTL is the lifetime of TURN credentials when [TURN.TTL] is
// zero.
const DefaultTURNTTL = 24 * time.Hour

// ICEServer is one STUN or TURN server, in the shape of WebRTC's
// RTCIceServer, so that a browser can pass the list to
// RTCPeerConnection as it is.
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// TURN hands each peer short-lived credentials for TURN servers that
// share a secret with this server, as the TURN REST API scheme does
// (coturn's use-auth-secret with static-auth-secret): the username is
// "expiry:cid", expiry in Unix seconds, and the password is the base64
// HMAC-SHA1 of the username keyed with the secret. A peer still connected
// when half the lifetime has passed is sent fresh credentials in an
// [EventCredentials] event. The zero value hands out none.
type TURN struct {
	// URLs are the TURN servers ("turn:" or "turns:" URLs) that accept
	// the credentials. Empty: TURN credentials are off.
	URLs []string
	// Secret is the secret shared with the TURN servers. Required with
	// URLs.
	Secret string
	// TTL is how long credentials are valid; at least a second. Zero:
	// DefaultTURNTTL.
	TTL time.Duration
}

// Credentials returns an ICE server entry for t's URLs with credentials
// for user (a peer's cid) valid from now for t.TTL (or DefaultTURNTTL),
// rounded up to the second. It is safe for concurrent use.
func (t TURN) Credentials(user string, now time.Time) ICEServer {
	ttl := t.TTL
	if ttl == 0 {
		ttl = DefaultTURNTTL
	}
	expiry := now.Add(ttl + time.Second - 1).Unix()
	name := strconv.FormatInt(expiry, 10) + ":" + user
	mac := hmac.New(sha1.New, []byte(t.Secret))
	mac.Write([]byte(name))
	return ICEServer{
		URLs:       slices.Clone(t.URLs),
		Username:   name,
		Credential: base64.StdEncoding.EncodeToString(mac.Sum(nil)),
	}
}

func checkICE(servers []ICEServer, t TURN) error {
	for i, s := range servers {
		if len(s.URLs) == 0 {
			return fmt.Errorf("%w: ICEServers[%d] has no URL", ErrInvalidConfig, i)
		}
		for _, u := range s.URLs {
			if !hasScheme(u, "stun:", "stuns:", "turn:", "turns:") {
				return fmt.Errorf("%w: ICE server URL %q is not a stun:, stuns:, turn: or turns: URL", ErrInvalidConfig, u)
			}
		}
	}
	switch {
	case len(t.URLs) == 0 && t.Secret != "":
		return fmt.Errorf("%w: TURN.Secret without TURN.URLs", ErrInvalidConfig)
	case len(t.URLs) == 0:
		return nil
	case t.Secret == "":
		return fmt.Errorf("%w: TURN.URLs without TURN.Secret", ErrInvalidConfig)
	case t.TTL < 0 || (t.TTL > 0 && t.TTL < time.Second):
		return fmt.Errorf("%w: TURN.TTL %v is shorter than a second", ErrInvalidConfig, t.TTL)
	}
	for _, u := range t.URLs {
		if !hasScheme(u, "turn:", "turns:") {
			return fmt.Errorf("%w: TURN URL %q is not a turn: or turns: URL", ErrInvalidConfig, u)
		}
	}
	return nil
}

func hasScheme(u string, schemes ...string) bool {
	for _, s := range schemes {
		if len(u) > len(s) && strings.EqualFold(u[:len(s)], s) {
			return true
		}
	}
	return false
}

// iceList builds each peer's ICE server list and, with TURN on, renews
// the credentials of the peers connected to this process before they
// expire, from one goroutine for all of them.
type iceList struct {
	static []ICEServer
	turn   TURN
	ttl    time.Duration // zero: TURN off
	b      *sse.Broker

	mu     sync.Mutex
	issued map[string]time.Time // by cid: when its credentials were issued
}

func newICEList(static []ICEServer, t TURN, b *sse.Broker) *iceList {
	l := &iceList{static: static, b: b}
	if len(t.URLs) > 0 {
		l.turn, l.ttl = t, t.TTL
		if l.ttl == 0 {
			l.ttl = DefaultTURNTTL
		}
		l.turn.TTL = l.ttl
		l.issued = make(map[string]time.Time)
	}
	return l
}

// servers returns cid's list, with TURN credentials issued now.
func (l *iceList) servers(cid string) []ICEServer {
	if l.ttl == 0 {
		return l.static
	}
	now := time.Now()
	l.mu.Lock()
	l.issued[cid] = now
	l.mu.Unlock()
	return append(slices.Clone(l.static), l.turn.Credentials(cid, now))
}

// forget stops renewing cid's credentials.
func (l *iceList) forget(cid string) {
	if l.ttl == 0 {
		return
	}
	l.mu.Lock()
	delete(l.issued, cid)
	l.mu.Unlock()
}

// renew runs until done is closed, renewing credentials issued at least
// half a lifetime ago. It looks every quarter lifetime, so none is used
// past three quarters of its life.
func (l *iceList) renew(done <-chan struct{}) {
	t := time.NewTicker(l.ttl / 4)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case now := <-t.C:
			l.renewOnce(now)
		}
	}
}

func (l *iceList) renewOnce(now time.Time) {
	var due []string
	l.mu.Lock()
	for cid, at := range l.issued {
		if now.Sub(at) >= l.ttl/2 {
			due = append(due, cid)
		}
	}
	l.mu.Unlock()
	for _, cid := range due {
		ev, err := newEvent(EventCredentials, Credentials{ICEServers: l.servers(cid)})
		if err != nil || l.b.SendTo(context.Background(), cid, ev) != nil {
			l.forget(cid) // gone meanwhile
		}
	}
}
