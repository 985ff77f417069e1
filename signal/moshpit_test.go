package signal_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/roomcast/sse/internal/ssetest"
	"github.com/roomcast/sse/signal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// moshpit is a Go mirror of the client of moshpit 0.1.0 (index.js), the
// seed's own client, so that no change can put a block onto a signal
// stream that it cannot read. It does what that client does:
//
//   - GET uri (or uri/id) with no Accept header, as the request module
//     sends none;
//   - read the body with split2 1.x and separator "\n\n": each chunk is
//     decoded as UTF-8 by itself, split on "\n\n", the first piece joined
//     to what was left of the previous chunk, the last piece kept for
//     the next; what is left at the end is pushed too. (A separator cut
//     by a chunk boundary is not seen, as in split2.) Empty pieces are
//     pushed: they are rows too;
//   - turn each piece into a row: split it on "\n" and keep, of each
//     line, line.split(": ")[1], JSON.parse'd for every line after the
//     first. A line after the first without ": ", or whose text does not
//     parse, makes JSON.parse throw: moshpit crashes;
//   - post writes as a form, the message under data[...], with token,
//     and cid taken from _cid.
type moshpit struct {
	uri    string
	rows   chan moshpitRow
	cancel context.CancelFunc
	done   chan struct{}
}

// moshpitRow is what moshpit emits for one piece: row[0] is the event
// name (undefined when the line has no ": "), the rest parsed JSON.
type moshpitRow struct {
	event     string
	undefined bool
	data      []json.RawMessage
	err       error // what JSON.parse threw; the stream ends after it
}

func (r moshpitRow) String() string {
	if r.err != nil {
		return "throws: " + r.err.Error()
	}
	name := fmt.Sprintf("%q", r.event)
	if r.undefined {
		name = "undefined"
	}
	return fmt.Sprintf("[%s %s]", name, r.data)
}

// pit opens a moshpit stream: pit(id) in moshpit, id "" for a new swarm.
func pit(t *testing.T, uri, id string) *moshpit {
	t.Helper()
	if id != "" {
		uri += "/" + id
	}
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatalf("GET %s: %v", uri, err)
	}
	m := &moshpit{uri: uri, rows: make(chan moshpitRow, 1024), cancel: cancel, done: make(chan struct{})}
	go m.read(resp.Body)
	t.Cleanup(m.close)
	return m
}

func (m *moshpit) close() {
	m.cancel()
	<-m.done
}

// read is split2("\n\n") piped into moshpit's row parser.
func (m *moshpit) read(body io.ReadCloser) {
	defer close(m.done)
	defer close(m.rows)
	defer body.Close()
	last := ""
	buf := make([]byte, 64<<10)
	for {
		n, err := body.Read(buf)
		if n > 0 {
			// Buffer.toString('utf8') of one chunk: a character cut by
			// the chunk boundary becomes U+FFFD.
			list := strings.Split(strings.ToValidUTF8(string(buf[:n]), "\uFFFD"), "\n\n")
			remaining := list[len(list)-1]
			list = list[:len(list)-1]
			if len(list) >= 1 {
				list[0] = last + list[0]
			} else {
				remaining = last + remaining
			}
			for _, piece := range list {
				if !m.push(piece) {
					return
				}
			}
			last = remaining
		}
		if err != nil {
			if last != "" && errors.Is(err, io.EOF) {
				m.push(last)
			}
			return
		}
	}
}

// push parses one piece as moshpit's write() does; it reports whether
// the stream goes on.
func (m *moshpit) push(piece string) bool {
	var row moshpitRow
	for i, line := range strings.Split(piece, "\n") {
		parts := strings.Split(line, ": ")
		if i == 0 {
			if len(parts) < 2 {
				row.undefined = true
			} else {
				row.event = parts[1]
			}
			continue
		}
		if len(parts) < 2 {
			row.err = fmt.Errorf("JSON.parse(undefined) on line %d of %q", i, piece)
		} else if !json.Valid([]byte(parts[1])) {
			row.err = fmt.Errorf("JSON.parse(%q) on line %d of %q", parts[1], i, piece)
		}
		if row.err != nil {
			m.rows <- row
			return false
		}
		row.data = append(row.data, json.RawMessage(parts[1]))
	}
	m.rows <- row
	return true
}

// row returns the next row.
func (m *moshpit) row(t *testing.T) moshpitRow {
	t.Helper()
	select {
	case r, ok := <-m.rows:
		require.True(t, ok, "the stream ended")
		require.NoError(t, r.err)
		return r
	case <-time.After(ssetest.Timeout):
		t.Fatal("no row from the stream")
	}
	return moshpitRow{}
}

// isHeartbeat reports whether r is what moshpit makes of a ": heartbeat"
// block: an event named "heartbeat" with no data, which it emits and
// nobody listens to.
func (r moshpitRow) isHeartbeat() bool {
	return !r.undefined && r.event == "heartbeat" && len(r.data) == 0
}

// event returns the next row that is not a heartbeat, checks that it is
// [name, data] exactly, and decodes the data into v.
func (m *moshpit) event(t *testing.T, name string, v any) {
	t.Helper()
	for {
		r := m.row(t)
		if r.isHeartbeat() {
			continue
		}
		require.False(t, r.undefined, "row %v", r)
		require.Equal(t, name, r.event, "row %v", r)
		require.Len(t, r.data, 1, "row %v: one data line", r)
		require.NoError(t, json.Unmarshal(r.data[0], v), "row %v", r)
		return
	}
}

// heartbeat waits for a heartbeat row, checking that rows before it are
// events moshpit can read.
func (m *moshpit) heartbeat(t *testing.T) {
	t.Helper()
	for {
		r := m.row(t)
		if r.isHeartbeat() {
			return
		}
		require.False(t, r.undefined, "row %v", r)
		require.Len(t, r.data, 1, "row %v", r)
	}
}

// write is moshpit's write(row): a form post of {data: row without _cid,
// token, cid: row._cid}, as the request module encodes it (qs).
func (m *moshpit) write(t *testing.T, token string, msg [][2]string) {
	t.Helper()
	var form []string
	cid := ""
	for _, kv := range msg {
		if kv[0] == "_cid" {
			cid = kv[1]
			continue
		}
		form = append(form, url.QueryEscape("data["+kv[0]+"]")+"="+url.QueryEscape(kv[1]))
	}
	form = append(form, "token="+url.QueryEscape(token))
	if cid != "" {
		form = append(form, "cid="+url.QueryEscape(cid))
	}
	code, body := send(t, m.uri, "application/x-www-form-urlencoded", strings.Join(form, "&"), nil)
	require.Equal(t, http.StatusNoContent, code, body)
}

// TestMoshpitSession runs moshpit's ping-pong and the rest of a session
// through the mirror of its parser: connect, join, a broadcast, direct
// messages both ways, leave and heartbeats, every row read as moshpit
// reads it.
func TestMoshpitSession(t *testing.T) {
	t.Parallel()
	srv, err := signal.New(signal.Config{HeartbeatInterval: 5 * time.Millisecond})
	require.NoError(t, err)
	ts := httptest.NewServer(srv) // at the root, as moshpit's own server
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), ssetest.Timeout)
		defer cancel()
		_ = srv.Shutdown(ctx)
		ts.Close()
	})

	initiator := pit(t, ts.URL, "")
	first := initiator.row(t)
	require.Equal(t, "connect", first.event, "the first row is connect: %v", first)
	require.Len(t, first.data, 1)
	var ic signal.Connect
	require.NoError(t, json.Unmarshal(first.data[0], &ic))
	initiator.uri = ts.URL + "/" + ic.ID // moshpit: uri = geturi(uri, data.id)

	peer := pit(t, ts.URL, ic.ID)
	first = peer.row(t)
	require.Equal(t, "connect", first.event, "the first row is connect: %v", first)
	var pc signal.Connect
	require.NoError(t, json.Unmarshal(first.data[0], &pc))
	assert.Equal(t, ic.ID, pc.ID)

	var joined signal.PeerEvent
	initiator.event(t, "join", &joined)
	assert.Equal(t, pc.CID, joined.CID)

	// A broadcast, with ": " in it, reaches both.
	peer.write(t, pc.Token, [][2]string{{"boom", "boom: boom"}})
	for _, m := range []*moshpit{initiator, peer} {
		var got map[string]string
		m.event(t, "signal", &got)
		assert.Equal(t, map[string]string{"boom": "boom: boom"}, got)
	}

	// Ping-pong with _cid: each message reaches its addressee only.
	initiator.write(t, ic.Token, [][2]string{{"message", "ping " + pc.CID}, {"from", ic.CID}, {"_cid", pc.CID}})
	var ping map[string]string
	peer.event(t, "signal", &ping)
	assert.Equal(t, map[string]string{"message": "ping " + pc.CID, "from": ic.CID}, ping)
	peer.write(t, pc.Token, [][2]string{{"message", "pong " + ping["from"]}, {"_cid", ping["from"]}})
	var pong map[string]string
	initiator.event(t, "signal", &pong)
	assert.Equal(t, map[string]string{"message": "pong " + ic.CID}, pong)
	initiator.write(t, ic.Token, [][2]string{{"last", "word"}})
	for _, m := range []*moshpit{peer, initiator} {
		var got map[string]string
		m.event(t, "signal", &got)
		assert.Equal(t, map[string]string{"last": "word"}, got, "no direct message went astray")
	}

	peer.heartbeat(t)
	initiator.heartbeat(t)

	peer.close()
	var left signal.PeerEvent
	initiator.event(t, "leave", &left)
	assert.Equal(t, pc.CID, left.CID)
	initiator.heartbeat(t)
}
