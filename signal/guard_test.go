package signal

import (
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestGuard(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		assert.Nil(t, newGuard(0), "no limit, no guard")
		g := newGuard(3)
		for range 3 {
			_, blocked := g.blocked("a")
			assert.False(t, blocked)
			g.fail("a")
		}
		wait, blocked := g.blocked("a")
		assert.True(t, blocked)
		assert.Equal(t, time.Minute, wait)
		_, blocked = g.blocked("b")
		assert.False(t, blocked, "other addresses are not affected")

		time.Sleep(40 * time.Second)
		wait, blocked = g.blocked("a")
		assert.True(t, blocked)
		assert.Equal(t, 20*time.Second, wait)
		time.Sleep(20 * time.Second)
		_, blocked = g.blocked("a")
		assert.False(t, blocked, "a new window starts after a minute")
		g.fail("a")
		_, blocked = g.blocked("a")
		assert.False(t, blocked)

		// Failures from many addresses are forgotten once their window
		// is over, so the guard stays small.
		for i := range 5000 {
			g.fail(strconv.Itoa(i))
		}
		time.Sleep(time.Minute)
		g.fail("late")
		g.mu.Lock()
		n := len(g.addrs)
		g.mu.Unlock()
		assert.Less(t, n, 1100)
	})
}
