package signal

import (
	"context"
	"sync"
	"time"
)

// Store keeps the swarms of a [Server]: their members, each swarm's
// initiator, and the digests of the members' tokens. A Server keeps them
// in its own memory unless [Config.Store] names another Store; one shared
// by several Servers, such as the Redis store of package
// github.com/roomcast/sse/backplane/redis/signalstore, makes them serve one
// set of swarms.
//
// A Store speaks of ids, never of connections: connections stay with the
// Server that serves them, and the swarm's room reaches them. Each method
// is atomic and safe for concurrent use, and returns the errors named, or
// another error when the Store cannot answer (the request is then
// answered 500). Each Server needs a Store value of its own, since a
// shared Store also keeps track of the swarms that this Server has
// members of (see Maintain).
type Store interface {
	// Admit reports whether a swarm could be created now (id == "") or
	// swarm id joined: nil, ErrTooManySwarms, ErrUnknownSwarm or
	// ErrSwarmFull. maxSwarms and maxPeers are the caps of [Config]
	// (zero: none). It reserves nothing: Create and Join check again.
	Admit(ctx context.Context, id string, maxSwarms, maxPeers int) error
	// Create makes swarm id with initiator as its only member, or
	// returns ErrTooManySwarms if maxSwarms (when positive) exist.
	Create(ctx context.Context, id string, initiator Member, maxSwarms int) error
	// Join adds m to swarm id and returns the cid of the swarm's
	// initiator, or returns ErrUnknownSwarm, or ErrSwarmFull if the swarm
	// has maxPeers (when positive) members.
	Join(ctx context.Context, id string, m Member, maxPeers int) (initiator string, err error)
	// Leave removes cid from swarm id. The initiator's leaving destroys
	// the swarm. It returns ErrUnknownSwarm if the swarm is gone and
	// ErrUnknownPeer if cid is not in it.
	Leave(ctx context.Context, id, cid string) (Departure, error)
	// Authorize reports whether a member of swarm id holds the token
	// whose digest is given: nil, ErrUnknownSwarm or ErrBadToken.
	Authorize(ctx context.Context, id string, token TokenDigest) error
	// Check reports whether cid is a member of swarm id: nil,
	// ErrUnknownSwarm or ErrUnknownPeer.
	Check(ctx context.Context, id, cid string) error
	// Maintain is called every MaintainInterval, from one goroutine,
	// while the Server runs. It keeps alive what the Store must refresh
	// and returns the ids of swarms that this Server has members of and
	// that are gone without a Leave here (their initiator's server
	// died): the Server closes their rooms.
	Maintain(ctx context.Context) (gone []string)
}

// MaintainInterval is how often a Server calls [Store.Maintain].
const MaintainInterval = 20 * time.Second

// Member is one connection's place in a swarm: its cid and the SHA-256
// digest of its token. A Store never sees a token itself.
type Member struct {
	CID   string
	Token TokenDigest
}

// Departure says what a member's leaving means for the rest of its
// swarm: another member left, and Initiator is the cid of the swarm's
// initiator, who is told; or the initiator left, and Ended is true.
type Departure struct {
	Initiator string
	Ended     bool
}

// member and departure are the Server's own names for a Member and a
// Departure.
type member struct {
	cid   string
	token TokenDigest
}

type departure struct {
	initiator string // a peer left: the initiator, who is to be told
	ended     bool   // the initiator left: the swarm is no more
}

// store is what the Server's handlers call: a Store with the Server's
// caps applied.
type store struct {
	st                  Store
	maxSwarms, maxPeers int
}

func (s store) admit(ctx context.Context, id string) error {
	return s.st.Admit(ctx, id, s.maxSwarms, s.maxPeers)
}

func (s store) create(ctx context.Context, id string, m member) error {
	return s.st.Create(ctx, id, Member{CID: m.cid, Token: m.token}, s.maxSwarms)
}

func (s store) join(ctx context.Context, id string, m member) (string, error) {
	return s.st.Join(ctx, id, Member{CID: m.cid, Token: m.token}, s.maxPeers)
}

func (s store) leave(ctx context.Context, id, cid string) (departure, error) {
	d, err := s.st.Leave(ctx, id, cid)
	return departure{initiator: d.Initiator, ended: d.Ended}, err
}

func (s store) authorize(ctx context.Context, id, token string) error {
	return s.st.Authorize(ctx, id, digest(token))
}

func (s store) check(ctx context.Context, id, cid string) error { return s.st.Check(ctx, id, cid) }

// memStore is the in-process Store, the default.
type memStore struct {
	mu     sync.Mutex
	swarms map[string]*swarm
}

type swarm struct {
	initiator string
	members   map[string]TokenDigest // by cid
	// tokens finds a member by its token's digest. Tokens are never
	// compared byte by byte, where the time taken would tell a guesser
	// how much of a guess was right: the lookup hashes the SHA-256 digest
	// of the guess, which the guesser cannot steer, and compares whole
	// digests.
	tokens map[TokenDigest]string
}

var _ Store = (*memStore)(nil)

func newMemStore() *memStore {
	return &memStore{swarms: make(map[string]*swarm)}
}

func (m *memStore) Admit(_ context.Context, id string, maxSwarms, maxPeers int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if id == "" {
		return m.canCreateLocked(maxSwarms)
	}
	_, err := m.joinableLocked(id, maxPeers)
	return err
}

func (m *memStore) canCreateLocked(maxSwarms int) error {
	if maxSwarms > 0 && len(m.swarms) >= maxSwarms {
		return ErrTooManySwarms
	}
	return nil
}

func (m *memStore) joinableLocked(id string, maxPeers int) (*swarm, error) {
	s := m.swarms[id]
	switch {
	case s == nil:
		return nil, ErrUnknownSwarm
	case maxPeers > 0 && len(s.members) >= maxPeers:
		return nil, ErrSwarmFull
	}
	return s, nil
}

func (m *memStore) Create(_ context.Context, id string, first Member, maxSwarms int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.canCreateLocked(maxSwarms); err != nil {
		return err
	}
	s := &swarm{
		initiator: first.CID,
		members:   make(map[string]TokenDigest),
		tokens:    make(map[TokenDigest]string),
	}
	s.add(first)
	m.swarms[id] = s
	return nil
}

func (m *memStore) Join(_ context.Context, id string, p Member, maxPeers int) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, err := m.joinableLocked(id, maxPeers)
	if err != nil {
		return "", err
	}
	s.add(p)
	return s.initiator, nil
}

func (s *swarm) add(p Member) {
	s.members[p.CID] = p.Token
	s.tokens[p.Token] = p.CID
}

func (m *memStore) Leave(_ context.Context, id, cid string) (Departure, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.swarms[id]
	if s == nil {
		return Departure{}, ErrUnknownSwarm
	}
	tok, ok := s.members[cid]
	if !ok {
		return Departure{}, ErrUnknownPeer
	}
	if cid != s.initiator {
		delete(s.members, cid)
		delete(s.tokens, tok)
		return Departure{Initiator: s.initiator}, nil
	}
	delete(m.swarms, id)
	return Departure{Ended: true}, nil
}

func (m *memStore) Authorize(_ context.Context, id string, token TokenDigest) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.swarms[id]
	if s == nil {
		return ErrUnknownSwarm
	}
	if _, ok := s.tokens[token]; !ok {
		return ErrBadToken
	}
	return nil
}

func (m *memStore) Check(_ context.Context, id, cid string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.swarms[id]
	if s == nil {
		return ErrUnknownSwarm
	}
	if _, ok := s.members[cid]; !ok {
		return ErrUnknownPeer
	}
	return nil
}

// Maintain has nothing to do: every swarm of a memStore lives and ends
// in this process.
func (m *memStore) Maintain(context.Context) []string { return nil }
