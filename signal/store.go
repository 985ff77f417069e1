package signal

import (
	"context"
	"sync"
)

// member is one connection's place in a swarm.
type member struct {
	cid   string
	token tokenDigest
}

// departure says what a peer's leaving means for the rest of its swarm.
type departure struct {
	initiator string // a peer left: the initiator, who is to be told
	ended     bool   // the initiator left: the swarm is no more
}

// store keeps the swarms: their members, each swarm's initiator, and the
// digests of the members' tokens. Each method is atomic and safe for
// concurrent use.
//
// memStore is the only implementation. The interface is where a store
// shared by several processes would plug in, which is why it speaks of
// ids, never of connections, and takes a ctx; connections stay with the
// process that serves them, and the swarm's room reaches them.
type store interface {
	// admit reports whether a swarm could be created now (id == "") or
	// swarm id joined: nil, errTooManySwarms, errUnknownSwarm or
	// errSwarmFull. It reserves nothing: create and join check again.
	admit(ctx context.Context, id string) error
	// create makes swarm id with m as its initiator, or returns
	// errTooManySwarms.
	create(ctx context.Context, id string, m member) error
	// join adds m to swarm id and returns the initiator's cid, or
	// errUnknownSwarm or errSwarmFull.
	join(ctx context.Context, id string, m member) (initiator string, err error)
	// leave removes cid from swarm id. The initiator's leaving destroys
	// the swarm. It returns errUnknownSwarm if the swarm is gone.
	leave(ctx context.Context, id, cid string) (departure, error)
	// authorize reports whether token is held by a member of swarm id:
	// nil, errUnknownSwarm or errBadToken.
	authorize(ctx context.Context, id, token string) error
	// check reports whether cid is a member of swarm id: nil,
	// errUnknownSwarm or errUnknownPeer.
	check(ctx context.Context, id, cid string) error
}

// memStore is the in-process store.
type memStore struct {
	maxSwarms, maxPeers int // zero: no cap

	mu     sync.Mutex
	swarms map[string]*swarm
}

type swarm struct {
	initiator string
	members   map[string]tokenDigest // by cid
	// tokens finds a member by its token's digest. Tokens are never
	// compared byte by byte, where the time taken would tell a guesser
	// how much of a guess was right: the lookup hashes the SHA-256 digest
	// of the guess, which the guesser cannot steer, and compares whole
	// digests.
	tokens map[tokenDigest]string
}

var _ store = (*memStore)(nil)

func newMemStore(maxSwarms, maxPeers int) *memStore {
	return &memStore{maxSwarms: maxSwarms, maxPeers: maxPeers, swarms: make(map[string]*swarm)}
}

func (m *memStore) admit(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if id == "" {
		return m.canCreateLocked()
	}
	_, err := m.joinableLocked(id)
	return err
}

func (m *memStore) canCreateLocked() error {
	if m.maxSwarms > 0 && len(m.swarms) >= m.maxSwarms {
		return errTooManySwarms
	}
	return nil
}

func (m *memStore) joinableLocked(id string) (*swarm, error) {
	s := m.swarms[id]
	switch {
	case s == nil:
		return nil, errUnknownSwarm
	case m.maxPeers > 0 && len(s.members) >= m.maxPeers:
		return nil, errSwarmFull
	}
	return s, nil
}

func (m *memStore) create(_ context.Context, id string, first member) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.canCreateLocked(); err != nil {
		return err
	}
	s := &swarm{
		initiator: first.cid,
		members:   make(map[string]tokenDigest),
		tokens:    make(map[tokenDigest]string),
	}
	s.add(first)
	m.swarms[id] = s
	return nil
}

func (m *memStore) join(_ context.Context, id string, p member) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, err := m.joinableLocked(id)
	if err != nil {
		return "", err
	}
	s.add(p)
	return s.initiator, nil
}

func (s *swarm) add(p member) {
	s.members[p.cid] = p.token
	s.tokens[p.token] = p.cid
}

func (m *memStore) leave(_ context.Context, id, cid string) (departure, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.swarms[id]
	if s == nil {
		return departure{}, errUnknownSwarm
	}
	tok, ok := s.members[cid]
	if !ok {
		return departure{}, errUnknownPeer
	}
	if cid != s.initiator {
		delete(s.members, cid)
		delete(s.tokens, tok)
		return departure{initiator: s.initiator}, nil
	}
	delete(m.swarms, id)
	return departure{ended: true}, nil
}

func (m *memStore) authorize(_ context.Context, id, token string) error {
	d := digest(token)
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.swarms[id]
	if s == nil {
		return errUnknownSwarm
	}
	if _, ok := s.tokens[d]; !ok {
		return errBadToken
	}
	return nil
}

func (m *memStore) check(_ context.Context, id, cid string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.swarms[id]
	if s == nil {
		return errUnknownSwarm
	}
	if _, ok := s.members[cid]; !ok {
		return errUnknownPeer
	}
	return nil
}
