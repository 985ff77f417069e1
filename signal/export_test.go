package signal

import (
	"context"

	goredis "github.com/redis/go-redis/v9"
)

// Access to internals for the tests of package signal_test.

var (
	ErrUnknownSwarm  = errUnknownSwarm
	ErrUnknownPeer   = errUnknownPeer
	ErrTooManySwarms = errTooManySwarms
	ErrSwarmFull     = errSwarmFull
	ErrBadToken      = errBadToken

	NewSecret = newSecret
	ValidID   = validID
)

// TestStore drives the in-process store.
type TestStore struct{ s store }

func NewTestStore(maxSwarms, maxPeers int) TestStore {
	return TestStore{newMemStore(maxSwarms, maxPeers)}
}

func (t TestStore) Admit(id string) error { return t.s.admit(context.Background(), id) }

func (t TestStore) Create(id, cid, token string) error {
	return t.s.create(context.Background(), id, member{cid: cid, token: digest(token)})
}

func (t TestStore) Join(id, cid, token string) (string, error) {
	return t.s.join(context.Background(), id, member{cid: cid, token: digest(token)})
}

func (t TestStore) Leave(id, cid string) (initiator string, ended bool, err error) {
	d, err := t.s.leave(context.Background(), id, cid)
	return d.initiator, d.ended, err
}

func (t TestStore) Authorize(id, token string) error {
	return t.s.authorize(context.Background(), id, token)
}

func (t TestStore) Check(id, cid string) error { return t.s.check(context.Background(), id, cid) }

// NewTestRedisStore drives the Redis store.
func NewTestRedisStore(rdb goredis.UniversalClient, prefix string, maxSwarms, maxPeers int) TestStore {
	return TestStore{newRedisStore(rdb, prefix, maxSwarms, maxPeers)}
}
