package signal_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/roomcast/sse/signal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDataHasNoColonSpace: moshpit's client keeps the text of a line
// between its first and second ": ", so a data line carries no ": " but
// the one after "data". The JSON still decodes to what was posted.
func TestDataHasNoColonSpace(t *testing.T) {
	t.Parallel()
	_, base := newServer(t, signal.Config{HeartbeatInterval: -1})
	init := get(t, base+"/", nil)
	require.Equal(t, http.StatusOK, init.StatusCode)
	br := bufio.NewReader(init.Body)
	c := firstBlockConnect(t, br)

	posted := map[string]any{
		"sdp":    "v=0\r\na=group: BUNDLE 0\r\n",
		"k: ey":  `a: b: "c": \: `,
		"nested": map[string]any{"list": []any{"x: y", 1.5, true, nil}},
		"text":   "é: ü",
	}
	code, body := sendJSON(t, base+"/"+c.ID, map[string]any{"token": c.Token, "data": posted})
	require.Equal(t, http.StatusNoContent, code, body)

	event, err := br.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "event: signal\n", event)
	line, err := br.ReadString('\n')
	require.NoError(t, err)
	data, ok := strings.CutPrefix(strings.TrimSuffix(line, "\n"), "data: ")
	require.True(t, ok, "line %q", line)
	assert.NotContains(t, data, ": ")
	var got map[string]any
	require.NoError(t, json.Unmarshal([]byte(data), &got))
	assert.Equal(t, posted, got)
	end, err := br.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "\n", end)
}
