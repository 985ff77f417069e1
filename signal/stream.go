package signal

import (
	"context"
	"net/http"

	"github.com/roomcast/sse"
)

// stream serves GET / (id == "": create a swarm, whose initiator this
// stream is) and GET /{id} (join swarm id).
func (s *Server) stream(w http.ResponseWriter, r *http.Request, id string) {
	if !s.enter() {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	defer s.handlers.Done()
	ctx := r.Context()
	if err := s.store.admit(ctx, id); err != nil {
		s.fail(w, err)
		return
	}
	c, err := s.b.Add(w, r)
	if err != nil {
		return // Add has answered
	}
	// The answer is a stream from here on: a failure can only end it.
	token := newSecret()
	m := member{cid: c.ID(), token: digest(token)}
	initiator := ""
	if id == "" {
		id = newSecret()
		err = s.store.create(ctx, id, m)
	} else {
		initiator, err = s.store.join(ctx, id, m)
	}
	if err != nil {
		// Since admit, the server reached MaxSwarms, or the swarm filled
		// up or went with its initiator.
		s.b.Remove(c)
		_ = c.Serve()
		return
	}
	announced := s.welcome(ctx, c, id, token, initiator)
	_ = c.Serve()
	s.depart(id, c.ID(), announced)
}

// welcome sends c its connect event and only then puts it in the swarm's
// room, so that connect is its first event, and tells the initiator, if c
// is not the initiator itself, that c joined. It reports whether the
// initiator was told. Nothing is written before c.Serve runs, so c can
// post (its token is in the store) and be sent to (it is in the room)
// before it knows it may.
func (s *Server) welcome(ctx context.Context, c *sse.Client, id, token, initiator string) bool {
	conn := Connect{ID: id, CID: c.ID(), Token: token, ICEServers: s.ice.servers(c.ID())}
	if s.b.Send(ctx, c, sse.Event{Name: EventConnect, Data: conn}) != nil || c.Join(id) != nil {
		return false
	}
	if initiator == "" {
		return false
	}
	return s.b.SendTo(ctx, initiator, sse.Event{Name: EventJoin, Data: PeerEvent{CID: c.ID()}}) == nil
}

// depart takes a peer whose stream ended out of its swarm. An initiator
// takes the swarm with it: every other stream of the swarm ends. Another
// peer is reported to the initiator, if the initiator was told it joined.
func (s *Server) depart(id, cid string, announced bool) {
	s.ice.forget(cid)
	// The request is over; the store's work is not.
	ctx := context.Background()
	d, err := s.store.leave(ctx, id, cid)
	if err != nil {
		return // the swarm went with its initiator
	}
	for _, other := range d.closed {
		if c := s.b.Client(other); c != nil {
			s.b.Remove(c)
		}
	}
	if announced && d.initiator != "" {
		_ = s.b.SendTo(ctx, d.initiator, sse.Event{Name: EventLeave, Data: PeerEvent{CID: cid}})
	}
}
