package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/roomcast/sse/internal/ssetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPage drives the chat page in headless Chromium, once over HTTP/1.1
// and once over HTTP/2 (TLS with a test certificate). One browser serves
// every case; each case has its own server and tabs.
func TestPage(t *testing.T) {
	cert := newCert(t)
	browser := newBrowser(t, cert)
	for _, p := range []struct {
		name  string
		cert  *testCert
		proto int
	}{
		{"HTTP1", nil, 1},
		{"HTTP2", cert, 2},
	} {
		t.Run(p.name, func(t *testing.T) {
			for _, tc := range []struct {
				name string
				test func(t *testing.T, session context.Context, s *chatServer, proto int)
			}{
				{"Loads", testLoads},
				{"RoomsAreSeparate", testRoomsAreSeparate},
				{"ReconnectReplaysMissed", testReconnectReplaysMissed},
				{"SevenStreams", testSevenStreams},
				{"ShutdownStopsReconnecting", testShutdownStopsReconnecting},
			} {
				t.Run(tc.name, func(t *testing.T) {
					s := startServer(t, p.cert)
					tc.test(t, newSession(t, browser), s, p.proto)
				})
			}
		})
	}
}

// testLoads: the page connects, shows the clock (the named "time" event)
// and posts (default "message" events), and joins and leaves rooms.
func testLoads(t *testing.T, session context.Context, s *chatServer, proto int) {
	tb := newTab(t, session, s.url+"/#lobby")
	tb.waitState(t, "lobby", "open")
	tb.wait(t, "the indicator to say connected", `document.getElementById('conn').dataset.state === 'open'`)
	r := s.nextStream(t)
	assert.Equal(t, streamRequest{room: "lobby", protoMajor: proto, status: 200}, r)
	assert.Equal(t, "roomcast chat", eval[string](t, tb, `document.title`))

	tb.wait(t, "the clock", `document.getElementById('clock').dateTime !== ''`)
	stamp := eval[string](t, tb, `document.getElementById('clock').dateTime`)
	_, err := time.Parse(time.RFC3339, stamp)
	assert.NoError(t, err, "time event data %q", stamp)

	s.post(t, "lobby", "from Go")
	tb.waitText(t, "lobby", "from Go")
	tb.do(t,
		chromedp.SendKeys(chromedp.CSS("#text"), "from the page"),
		chromedp.Click(chromedp.CSS("#post button")),
	)
	tb.waitText(t, "lobby", "from the page")
	tb.wait(t, "the input to clear", `document.getElementById('text').value === ''`)
	ms := tb.messages(t)
	require.Len(t, ms, 2)
	assert.NotEmpty(t, ms[0].ID)
	assert.NotEqual(t, ms[0].ID, ms[1].ID)

	// Join a room through the form, then leave it: the server sees the
	// stream come and go.
	tb.do(t,
		chromedp.SendKeys(chromedp.CSS("#room"), "garden"),
		chromedp.Click(chromedp.CSS("#join button")),
	)
	tb.waitState(t, "garden", "open")
	ssetest.Wait(t, "a client in garden", func() bool { return s.app.broker.RoomSize("garden") == 1 })
	assert.Equal(t, "#lobby,garden", eval[string](t, tb, `location.hash`))
	tb.do(t, chromedp.Click(chromedp.CSS(`#rooms li[data-room="garden"] .leave`)))
	tb.wait(t, "garden to go", `!document.querySelector('#rooms li[data-room="garden"]')`)
	ssetest.Wait(t, "garden to empty", func() bool { return s.app.broker.RoomSize("garden") == 0 })
	assert.Equal(t, 1, s.app.broker.RoomSize("lobby"))
}

// testRoomsAreSeparate: a tab in another room gets none of the first
// room's messages.
func testRoomsAreSeparate(t *testing.T, session context.Context, s *chatServer, _ int) {
	lobby := newTab(t, session, s.url+"/#lobby")
	garden := newTab(t, session, s.url+"/#garden")
	lobby.waitState(t, "lobby", "open")
	garden.waitState(t, "garden", "open")

	s.post(t, "lobby", "for the lobby")
	s.post(t, "garden", "for the garden")
	lobby.waitText(t, "lobby", "for the lobby")
	// Had the lobby's message leaked into the garden's stream, it would
	// have come before the garden's own, which was posted after it.
	garden.waitText(t, "garden", "for the garden")
	assert.Equal(t, []message{{Room: "garden", Text: "for the garden"}}, withoutIDs(garden.messages(t)))
	assert.Equal(t, []message{{Room: "lobby", Text: "for the lobby"}}, withoutIDs(lobby.messages(t)))
}

// testReconnectReplaysMissed: the server drops a stream; while the
// browser cannot get back, messages are posted; when it can, it
// reconnects by itself with Last-Event-ID and shows exactly the missed
// messages, once each.
func testReconnectReplaysMissed(t *testing.T, session context.Context, s *chatServer, proto int) {
	tb := newTab(t, session, s.url+"/#garden,lobby")
	tb.waitState(t, "garden", "open")
	tb.waitState(t, "lobby", "open")
	for range 2 {
		r := s.nextStream(t)
		assert.Empty(t, r.lastEventID, "first connection of %s", r.room)
	}
	tb.do(t,
		chromedp.SendKeys(chromedp.CSS("#text"), "Hello, lobby!"),
		chromedp.Click(chromedp.CSS("#post button")),
	)
	tb.waitText(t, "lobby", "Hello, lobby!")
	// Two rooms are two streams, with no order between them: wait for
	// each message before the next, so that the log's order is known.
	s.post(t, "garden", "Quiet in the garden.")
	tb.waitText(t, "garden", "Quiet in the garden.")
	s.post(t, "lobby", "Anyone around?")
	tb.waitText(t, "lobby", "Anyone around?")

	// The network goes: the stream is dropped and reconnecting waits.
	s.shutGate()
	require.Equal(t, 1, s.drop(t, "lobby"))
	tb.waitState(t, "lobby", "reconnecting")
	replayed := s.app.broker.Stats().Replayed
	missed := []string{"Posted while you were away (1)", "Posted while you were away (2)"}
	for _, m := range missed {
		s.post(t, "lobby", m)
	}

	// The network is back.
	s.openGate()
	r := s.nextStream(t)
	assert.Equal(t, "lobby", r.room)
	assert.Equal(t, proto, r.protoMajor)
	assert.Equal(t, 200, r.status)
	assert.NotEmpty(t, r.lastEventID, "the browser reconnects with Last-Event-ID")
	tb.waitState(t, "lobby", "open")
	tb.waitText(t, "lobby", missed[1])
	s.post(t, "lobby", "Back live.")
	tb.waitText(t, "lobby", "Back live.")

	want := append(append([]string{"Hello, lobby!", "Anyone around?"}, missed...), "Back live.")
	assert.Equal(t, want, tb.texts(t, "lobby"), "every message once, in order")
	assert.Equal(t, []string{"Quiet in the garden."}, tb.texts(t, "garden"))
	seen := map[string]bool{}
	for _, m := range tb.messages(t) {
		assert.False(t, seen[m.ID], "event id %s shown twice", m.ID)
		seen[m.ID] = true
	}
	assert.GreaterOrEqual(t, s.app.broker.Stats().Replayed-replayed, uint64(len(missed)),
		"the missed messages came by replay")

	// The log tells the story: the loss, the return, then what was missed.
	lines := eval[[]string](t, tb, `[...document.querySelectorAll('#log li')].map(li =>
		li.classList.contains('note') ? li.textContent : li.querySelector('.text').textContent)`)
	assert.Equal(t, []string{
		"Hello, lobby!", "Quiet in the garden.", "Anyone around?",
		"Lost #lobby, reconnecting…", "Reconnected to #lobby.",
		missed[0], missed[1], "Back live.",
	}, lines)
	tb.screenshot(t, "chat")
}

// testSevenStreams: a page in seven rooms holds seven streams. Over
// HTTP/1.1 the browser opens at most six connections to a host, so the
// seventh waits for one of the others to close; over HTTP/2 all seven
// share one connection.
func testSevenStreams(t *testing.T, session context.Context, s *chatServer, proto int) {
	var rooms []string
	for i := range 7 {
		rooms = append(rooms, fmt.Sprintf("r%d", i+1))
	}
	tb := newTab(t, session, s.url+"/#"+strings.Join(rooms, ","))
	count := func(state string) string {
		return fmt.Sprintf(`document.querySelectorAll('#rooms li[data-state=%s]').length`, jsString(state))
	}
	if proto == 2 {
		tb.wait(t, "seven open rooms", count("open")+" === 7")
		assert.Equal(t, 7, s.app.broker.Stats().Clients)
		for range 7 {
			assert.Equal(t, 2, s.nextStream(t).protoMajor)
		}
		return
	}

	tb.wait(t, "six open rooms", count("open")+" === 6")
	// Let two clock ticks pass, so the seventh had time to connect.
	for range 2 {
		stamp := eval[string](t, tb, `document.getElementById('clock').dateTime`)
		tb.wait(t, "a clock tick", `document.getElementById('clock').dateTime !== `+jsString(stamp))
	}
	waiting := eval[[]string](t, tb, `[...document.querySelectorAll('#rooms li[data-state=connecting]')].map(li => li.dataset.room)`)
	require.Len(t, waiting, 1, "one stream waits for a connection")
	assert.Equal(t, 6, s.app.broker.Stats().Clients)
	assert.Equal(t, "connecting", tb.roomState(t, waiting[0]))

	// Leaving a room frees a connection, and the seventh stream takes it.
	leave := rooms[0]
	if leave == waiting[0] {
		leave = rooms[1]
	}
	tb.do(t, chromedp.Click(chromedp.CSS(`#rooms li[data-room=`+jsString(leave)+`] .leave`)))
	tb.waitState(t, waiting[0], "open")
	tb.wait(t, "six open rooms", count("open")+" === 6")
	ssetest.Wait(t, "six clients", func() bool { return s.app.broker.Stats().Clients == 6 })
}

// testShutdownStopsReconnecting: after Shutdown the browser's next
// reconnection gets 204 No Content, and EventSource stops for good.
func testShutdownStopsReconnecting(t *testing.T, session context.Context, s *chatServer, _ int) {
	tb := newTab(t, session, s.url+"/#lobby")
	tb.waitState(t, "lobby", "open")
	assert.Equal(t, 200, s.nextStream(t).status)

	ctx, cancel := context.WithTimeout(context.Background(), ssetest.Timeout)
	defer cancel()
	require.NoError(t, s.app.broker.Shutdown(ctx))
	r := s.nextStream(t)
	assert.Equal(t, streamRequest{room: "lobby", lastEventID: r.lastEventID, protoMajor: r.protoMajor, status: 204}, r)
	// The page shows "closed" only once EventSource.readyState is CLOSED,
	// the state from which it never reconnects.
	tb.waitState(t, "lobby", "closed")
	tb.wait(t, "the indicator to say closed", `document.getElementById('conn').dataset.state === 'closed'`)
}

func withoutIDs(ms []message) []message {
	for i := range ms {
		ms[i].ID = ""
	}
	return ms
}
