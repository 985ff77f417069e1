package sse_test

import (
	"testing"

	"github.com/roomcast/sse/internal/ssetest"
)

// TestMain runs every test in each of ssetest.Modes, with goleak's check.
func TestMain(m *testing.M) { ssetest.Main(m) }

// testMode is the stream mode of this process ("dense" or "").
var testMode = map[bool]string{true: "dense"}[ssetest.Dense()]
