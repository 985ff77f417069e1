package sseread

import (
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func readAll(t *testing.T, stream string) []Item {
	t.Helper()
	r := NewReader(strings.NewReader(stream), 0)
	var items []Item
	for {
		it, err := r.Next()
		if err == io.EOF {
			return items
		}
		require.NoError(t, err)
		items = append(items, it)
	}
}

func TestStandardExamples(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		stream string
		want   []Item
	}{
		{"two data lines", "data: YHOO\ndata: +2\ndata: 10\n\n",
			[]Item{{Kind: KindEvent, Type: "message", Data: "YHOO\n+2\n10"}}},
		{"comment and id", ": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n\n",
			[]Item{{Kind: KindComment, Comment: " test stream"},
				{Kind: KindEvent, Type: "message", Data: "first event", LastEventID: "1"},
				{Kind: KindEvent, Type: "message", Data: "second event"},
				{Kind: KindEvent, Type: "message", Data: " third event"}}},
		{"empty data dispatches", "data\n\ndata\ndata\n\ndata:",
			[]Item{{Kind: KindEvent, Type: "message", Data: ""}, {Kind: KindEvent, Type: "message", Data: "\n"}}},
		{"space after colon optional", "data:test\n\ndata: test\n\n",
			[]Item{{Kind: KindEvent, Type: "message", Data: "test"}, {Kind: KindEvent, Type: "message", Data: "test"}}},
		{"CR and CRLF line ends", "event: a\rdata: 1\r\n\r\ndata: 2\r\r",
			[]Item{{Kind: KindEvent, Type: "a", Data: "1"}, {Kind: KindEvent, Type: "message", Data: "2"}}},
		{"BOM stripped once", "\uFEFFdata: x\n\n",
			[]Item{{Kind: KindEvent, Type: "message", Data: "x"}}},
		{"id with NUL ignored", "id: 1\n\nid: a\x00b\ndata: x\n\n",
			[]Item{{Kind: KindEvent, Type: "message", Data: "x", LastEventID: "1"}}},
		{"retry digits only", "retry: 1000\nretry: 10x\nretry:\n\n",
			[]Item{{Kind: KindRetry, Retry: 1000}}},
		{"unknown fields ignored", "foo: bar\ndata: x\n\n",
			[]Item{{Kind: KindEvent, Type: "message", Data: "x"}}},
		{"event type reset without data", "event: lost\n\ndata: x\n\n",
			[]Item{{Kind: KindEvent, Type: "message", Data: "x"}}},
		{"unterminated event dropped", "data: x\n\ndata: y\n",
			[]Item{{Kind: KindEvent, Type: "message", Data: "x"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, readAll(t, tc.stream))
		})
	}
}

func TestLineTooLong(t *testing.T) {
	t.Parallel()
	r := NewReader(strings.NewReader("data: "+strings.Repeat("x", 100)+"\n\n"), 50)
	_, err := r.Next()
	assert.ErrorIs(t, err, ErrLineTooLong)
}

func TestSetMaxEventSkipsLargeBlocks(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 1<<20)
	stream := "id: 1\ndata: small\n\n" +
		"event: huge\ndata: " + big + "\nid: 2\n\n" + // one long line
		": " + big + "\n" + // a long comment is dropped
		"data: 12345\ndata: 12345\ndata: 12345\nid: 3\n\n" + // small lines adding up
		"data: after\n\n"
	r := NewReader(strings.NewReader(stream), 0)
	r.SetMaxEvent(32)
	var items []Item
	for {
		it, err := r.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		items = append(items, it)
	}
	assert.Equal(t, []Item{
		{Kind: KindEvent, Type: "message", Data: "small", LastEventID: "1"},
		{Kind: KindTooLarge, Type: "huge", LastEventID: "2"},
		{Kind: KindTooLarge, Type: "message", LastEventID: "3"},
		{Kind: KindEvent, Type: "message", Data: "after", LastEventID: "3"},
	}, items)
}

func TestSetLastEventID(t *testing.T) {
	t.Parallel()
	r := NewReader(strings.NewReader("data: a\n\nid\ndata: b\n\n"), 0)
	r.SetLastEventID("7")
	assert.Equal(t, "7", r.LastEventID())
	it, err := r.Next()
	require.NoError(t, err)
	assert.Equal(t, Item{Kind: KindEvent, Type: "message", Data: "a", LastEventID: "7"}, it)
	it, err = r.Next()
	require.NoError(t, err)
	assert.Equal(t, Item{Kind: KindEvent, Type: "message", Data: "b"}, it)
}

func TestReportIDs(t *testing.T) {
	t.Parallel()
	stream := "retry: 100\nid: 7\n\n: c\n\nid: 8\ndata: x\n\nid\n\nretry: 5\n\nid: a\x00b\n\ndata: y\n\n"
	r := NewReader(strings.NewReader(stream), 0)
	r.ReportIDs("3")
	assert.Equal(t, "3", r.LastEventID(), "starts at the id carried over")
	var items []Item
	for {
		it, err := r.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		items = append(items, it)
	}
	assert.Equal(t, []Item{
		{Kind: KindRetry, Retry: 100},
		{Kind: KindID, LastEventID: "7"},
		{Kind: KindComment, Comment: " c"},
		{Kind: KindEvent, Type: "message", Data: "x", LastEventID: "8", HasID: true},
		{Kind: KindID, LastEventID: ""},
		{Kind: KindRetry, Retry: 5},
		{Kind: KindEvent, Type: "message", Data: "y"},
	}, items, "a data-less block with an id is reported; one without, or with a NUL id, is not")

	// Without ReportIDs, nothing changes: the id is only seen on events.
	plain := readAll(t, "id: 7\n\ndata: x\n\n")
	assert.Equal(t, []Item{{Kind: KindEvent, Type: "message", Data: "x", LastEventID: "7"}}, plain)
}
