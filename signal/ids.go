package signal

import (
	"crypto/rand"
	"crypto/sha256"
)

// idLen is the length of the swarm ids and tokens that [rand.Text]
// returns: 26 base32 characters, 130 random bits.
const idLen = 26

// newSecret returns an unguessable swarm id or token.
func newSecret() string { return rand.Text() }

// validID reports whether s could be a swarm id, so that a request for
// anything else is answered without consulting the store.
func validID(s string) bool {
	if len(s) != idLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'A' || c > 'Z') && (c < '2' || c > '7') {
			return false
		}
	}
	return true
}

// TokenDigest is the SHA-256 digest of a token: what a [Store] keeps
// of it, and all it is shown.
type TokenDigest [sha256.Size]byte

func digest(token string) TokenDigest { return sha256.Sum256([]byte(token)) }
