package signal

import (
	"context"
	"net/http"
)

// stream serves GET / (id == "": create a swarm, whose initiator this
// stream is) and GET /{id} (join swarm id).
func (s *Server) stream(w http.ResponseWriter, r *http.Request, id string) {
	if !s.enter() {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	defer s.handlers.Done()
	if !acceptsEventStream(r.Header.Values("Accept")) {
		writeError(w, http.StatusNotAcceptable, "the Accept header excludes text/event-stream")
		return
	}
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
	cid := c.ID()
	token := newSecret()
	creating := id == ""
	if creating {
		id = newSecret()
	}
	// connect goes into c's queue before c is in the room or the store,
	// where a message could be sent to it, so that it is the first event.
	// c joins the room before the store: a swarm that ends once c is in
	// the store closes its room with c in it.
	// keepAlive beats c only once connect is queued.
	conn, err := newEvent(EventConnect, Connect{ID: id, CID: cid, Token: token, ICEServers: s.ice.servers(cid)})
	if err == nil {
		err = s.b.Send(ctx, c, conn)
	}
	if err == nil {
		s.keep.add(c)
		err = c.Join(id)
	}
	initiator := ""
	if err == nil {
		m := member{cid: cid, token: digest(token)}
		if creating {
			err = s.store.create(ctx, id, m)
		} else {
			initiator, err = s.store.join(ctx, id, m)
		}
	}
	if err != nil {
		// The client went, or since admit the server reached MaxSwarms,
		// or the swarm filled up or ended: to the client, the swarm ended
		// as it joined.
		s.ice.forget(cid)
		s.keep.remove(c)
		s.b.Remove(c)
		_ = c.Serve()
		return
	}
	// Nothing is written before Serve runs: by the time c learns its
	// token it can post, and by the time anyone learns its cid it can be
	// sent to.
	announced := false
	if initiator != "" {
		join, err := newEvent(EventJoin, PeerEvent{CID: cid})
		announced = err == nil && s.b.SendTo(ctx, initiator, join) == nil
	}
	_ = c.Serve()
	s.keep.remove(c)
	s.depart(id, cid, announced)
}

// depart takes a peer whose stream ended out of its swarm. An initiator
// takes the swarm with it: every stream in its room ends. Another peer
// is reported to the initiator, if the initiator was told it joined.
func (s *Server) depart(id, cid string, announced bool) {
	s.ice.forget(cid)
	// The request is over; the store's work is not.
	ctx := context.Background()
	d, err := s.store.leave(ctx, id, cid)
	switch {
	case err != nil: // the swarm ended already
	case d.ended:
		_ = s.b.CloseRoom(ctx, id)
	case announced:
		if leave, err := newEvent(EventLeave, PeerEvent{CID: cid}); err == nil {
			_ = s.b.SendTo(ctx, d.initiator, leave)
		}
	}
}
