package sse_test

import (
	"testing"
	"time"

	"github.com/roomcast/sse"
	"github.com/roomcast/sse/internal/sseread"
	"github.com/roomcast/sse/internal/ssetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEventsOverTheWire(t *testing.T) {
	t.Parallel()
	b, ts := newBroker(t, sse.Config{})
	s := ssetest.Open(t, nil, ts.URL+"/events/r", nil)
	type point struct{ X, Y int }
	raw := []byte("raw\nbytes")
	events := []struct {
		ev       sse.Event
		typ, dat string
	}{
		{sse.Event{Data: "plain"}, "message", "plain"},
		{sse.Event{Name: "named", Data: "x"}, "named", "x"},
		{sse.Event{Data: "a\nb\r\nc\rd"}, "message", "a\nb\nc\nd"},
		{sse.Event{Data: "trailing\n"}, "message", "trailing\n"},
		{sse.Event{Data: " leading space"}, "message", " leading space"},
		{sse.Event{Data: raw}, "message", "raw\nbytes"},
		{sse.Event{Data: point{1, 2}}, "message", `{"X":1,"Y":2}`},
		{sse.Event{Data: map[string]string{"html": "<b>&"}}, "message", `{"html":"<b>&"}`},
		{sse.Event{Name: "empty"}, "empty", ""},
		{sse.Event{Data: "", ID: "7"}, "message", ""},
	}
	for _, e := range events {
		require.NoError(t, b.Publish(ctx, "r", e.ev))
	}
	for _, e := range events {
		got := s.Event(t)
		assert.Equal(t, e.typ, got.Type)
		assert.Equal(t, e.dat, got.Data)
	}
	assert.Equal(t, "raw\nbytes", string(raw), "the caller's data is not modified")
}

func TestEventEncoding(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		ev   sse.Event
		want string
	}{
		{"data", sse.Event{Data: "hi"}, "data: hi\n\n"},
		{"all fields", sse.Event{ID: "1", Name: "n", Data: "d", Retry: 1500 * time.Millisecond, Comment: "c"},
			"id: 1\n: c\nretry: 1500\nevent: n\ndata: d\n\n"},
		{"multiline", sse.Event{Data: "a\r\nb\rc\nd"}, "data: a\ndata: b\ndata: c\ndata: d\n\n"},
		{"comment lines", sse.Event{Comment: "x\ny"}, ": x\n: y\n\n"},
		{"retry rounds up", sse.Event{Retry: time.Microsecond}, "retry: 1\n\n"},
		{"json", sse.Event{Data: []int{1, 2}}, "data: [1,2]\n\n"},
		{"named no data", sse.Event{Name: "ping"}, "event: ping\ndata: \n\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.ev.MarshalText()
			require.NoError(t, err)
			assert.Equal(t, tc.want, string(got))
		})
	}
}

func TestInjectionRefused(t *testing.T) {
	t.Parallel()
	b, ts := newBroker(t, sse.Config{})
	s := ssetest.Open(t, nil, ts.URL+"/events/r", nil)
	bad := []sse.Event{
		{Name: "a\nevent: b", Data: "x"},
		{Name: "a\rb", Data: "x"},
		{ID: "1\ndata: injected", Data: "x"},
		{ID: "1\r", Data: "x"},
		{ID: "nul\x00", Data: "x"},
		{Retry: -time.Second},
		{},
		{Data: func() {}},
	}
	for _, ev := range bad {
		err := b.Publish(ctx, "r", ev)
		require.ErrorIs(t, err, sse.ErrInvalidEvent, "%#v", ev)
		var ee *sse.EventError
		require.ErrorAs(t, err, &ee)
		require.ErrorIs(t, ev.Validate(), sse.ErrInvalidEvent)
	}
	_, err := sse.NewEvent("bad\nname", nil)
	require.ErrorIs(t, err, sse.ErrInvalidEvent)
	assert.Panics(t, func() { sse.MustEvent("bad\rname", nil) })
	assert.Equal(t, "ok", sse.MustEvent("ok", 1).Name)

	require.NoError(t, b.Publish(ctx, "r", sse.Event{Data: "after"}))
	got := s.Event(t)
	assert.Equal(t, "after", got.Data, "nothing of the refused events reached the wire")
	assert.Equal(t, "message", got.Type)
}

func TestRetryAndResetLastEventID(t *testing.T) {
	t.Parallel()
	cfg := sse.Config{Retry: 2500 * time.Millisecond}
	h := newHooks(&cfg)
	b, ts := newBroker(t, cfg)
	// Raw: the retry fields are items of the wire, which an EventSource
	// only reports as the Retry of the next event.
	s := ssetest.OpenRaw(t, nil, ts.URL+"/events/r", nil)
	c := h.client(t)
	it := s.Item(t)
	require.Equal(t, sseread.KindRetry, it.Kind)
	assert.Equal(t, int64(2500), it.Retry)

	require.NoError(t, c.SetRetry(10*time.Second))
	it = s.Item(t)
	require.Equal(t, sseread.KindRetry, it.Kind)
	assert.Equal(t, int64(10000), it.Retry)
	require.Error(t, c.SetRetry(0))

	require.NoError(t, b.Publish(ctx, "r", sse.Event{ID: "42", Data: "x"}))
	assert.Equal(t, "42", s.Event(t).LastEventID)
	require.NoError(t, c.ResetLastEventID())
	require.NoError(t, b.Publish(ctx, "r", sse.Event{Data: "y"}))
	assert.Equal(t, "", s.Event(t).LastEventID, "the id was reset")
}
