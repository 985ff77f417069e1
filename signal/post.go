package signal

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/roomcast/sse"
)

// post serves POST /{id}: a message from a peer of swarm id to the whole
// swarm, or to the peer its cid names.
func (s *Server) post(w http.ResponseWriter, r *http.Request, id string) {
	select {
	case <-s.done:
		s.fail(w, ErrClosed)
		return
	default:
	}
	addr := clientAddr(r)
	if s.guard != nil {
		if wait, blocked := s.guard.blocked(addr); blocked {
			w.Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
			writeError(w, http.StatusTooManyRequests, "too many failed attempts")
			return
		}
	}
	ctx := r.Context()
	p, err := readPost(w, r, s.bodyLimit)
	if err != nil {
		s.fail(w, err)
		return
	}
	if p.token == "" {
		p.token = bearer(r)
	}
	if p.token == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="signal"`)
		writeError(w, http.StatusUnauthorized, "missing token")
		return
	}
	if err := s.store.authorize(ctx, id, p.token); err != nil {
		if s.guard != nil && (errors.Is(err, errBadToken) || errors.Is(err, errUnknownSwarm)) {
			s.guard.fail(addr)
		}
		s.fail(w, err)
		return
	}
	if p.data == nil {
		writeError(w, http.StatusBadRequest, "missing data")
		return
	}
	ev, err := newEvent(EventSignal, p.data)
	if err != nil {
		s.fail(w, err)
		return
	}
	if p.cid == "" {
		err = s.b.Publish(ctx, id, ev)
	} else if err = s.store.check(ctx, id, p.cid); err == nil {
		err = s.b.SendTo(ctx, p.cid, ev)
		if errors.Is(err, sse.ErrClientGone) {
			err = errUnknownPeer // its stream ended a moment ago
		}
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// bearer returns the token of an "Authorization: Bearer" header, the
// alternative to a token field in the body.
func bearer(r *http.Request) string {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}
