package signal_test

import (
	"regexp"
	"testing"

	"github.com/roomcast/sse/signal"
	"github.com/stretchr/testify/assert"
)

func TestSecrets(t *testing.T) {
	t.Parallel()
	base32 := regexp.MustCompile(`^[A-Z2-7]{26}$`) // 130 bits
	seen := make(map[string]bool)
	for range 10000 {
		s := signal.NewSecret()
		assert.Regexp(t, base32, s)
		assert.True(t, signal.ValidID(s))
		assert.False(t, seen[s], "repeated %s", s)
		seen[s] = true
	}
	for _, bad := range []string{"", "abcdefghijklmnopqrstuvwxyz", "AAAAAAAAAAAAAAAAAAAAAAAAA1", "AAAAAAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAAAAAAA/"} {
		assert.False(t, signal.ValidID(bad), bad)
	}
}
