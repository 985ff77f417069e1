package redis_test

import (
	"testing"

	"github.com/roomcast/sse"
	"github.com/roomcast/sse/internal/ssetest"
)

// TestMain runs every test in each of ssetest.Modes, with goleak's check.
func TestMain(m *testing.M) { ssetest.Main(m) }

// newSSE is sse.New in the stream mode under test.
func newSSE(cfg sse.Config) (*sse.Broker, error) {
	cfg.Dense = cfg.Dense || ssetest.Dense()
	return sse.New(cfg)
}
