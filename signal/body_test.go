package signal_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/roomcast/sse/signal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBodyLimit(t *testing.T) {
	t.Parallel()
	_, base := newServer(t, signal.Config{})
	sw := newSwarm(t, base, 0)
	body := func(n int) string {
		prefix := `{"token":"` + sw.initC.Token + `","data":"`
		return prefix + strings.Repeat("x", n-len(prefix)-2) + `"}`
	}
	code, _ := send(t, sw.url(), "application/json", body(signal.DefaultBodyLimit), nil)
	assert.Equal(t, http.StatusNoContent, code, "10 kB is accepted")
	assert.Len(t, signalData(t, sw.init), signal.DefaultBodyLimit-len(`{"token":"`+sw.initC.Token+`","data":}`))

	code, _ = send(t, sw.url(), "application/json", body(signal.DefaultBodyLimit+1), nil)
	assert.Equal(t, http.StatusRequestEntityTooLarge, code)

	// Without a Content-Length (an unknown reader is sent chunked) the
	// limit applies while reading.
	req, err := http.NewRequest(http.MethodPost, sw.url(), struct{ *strings.Reader }{strings.NewReader(body(signal.DefaultBodyLimit + 1))})
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
}

func TestJSONDataKeptAsSent(t *testing.T) {
	t.Parallel()
	_, base := newServer(t, signal.Config{})
	sw := newSwarm(t, base, 0)
	for _, tc := range []struct{ data, want string }{
		{`{"a": 1,
		   "b": [true, null]}`, `{"a":1,"b":[true,null]}`}, // compacted to one line
		{`12345678901234567890123`, `12345678901234567890123`}, // numbers untouched
		{`1e400`, `1e400`},
		{`"<b>&amp;</b>"`, `"<b>&amp;</b>"`}, // not HTML-escaped
		{`"line\nbreak\u2028"`, `"line\nbreak\u2028"`},
		{`"héllo"`, `"héllo"`},
		{`null`, `null`},
		{`false`, `false`},
		{`{}`, `{}`},
	} {
		body := `{"token":"` + sw.initC.Token + `","data":` + tc.data + `}`
		code, answer := send(t, sw.url(), "application/json; charset=utf-8", body, nil)
		require.Equal(t, http.StatusNoContent, code, answer)
		assert.Equal(t, tc.want, signalData(t, sw.init))
	}
}

func TestJSONKeysAreCaseSensitive(t *testing.T) {
	t.Parallel()
	_, base := newServer(t, signal.Config{})
	sw := newSwarm(t, base, 0)
	code, _ := send(t, sw.url(), "application/json", `{"TOKEN":"`+sw.initC.Token+`","data":1}`, nil)
	assert.Equal(t, http.StatusUnauthorized, code)
	code, _ = send(t, sw.url(), "application/json", `{"token":"`+sw.initC.Token+`","Data":1}`, nil)
	assert.Equal(t, http.StatusBadRequest, code)
}
