package signal_test

import (
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/roomcast/sse/internal/ssetest"
	"github.com/roomcast/sse/signal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Hostile POST bodies: each is answered with a clear 4xx, and the swarm
// goes on: the next message is the next thing every peer sees.
func TestHostileBodies(t *testing.T) {
	t.Parallel()
	_, base := newServer(t, signal.Config{BodyLimit: 8 << 20})
	sw := newSwarm(t, base, 1)
	tok := sw.conns[0].Token
	jsonBody := func(data string) string { return `{"token":"` + tok + `","data":` + data + `}` }
	formPrefix := "token=" + url.QueryEscape(tok) + "&"
	deepForm := "data" + strings.Repeat("[a]", 1000) + "=x"

	for _, tc := range []struct {
		name, contentType, body string
		code                    int
		msg                     string // part of the error message
	}{
		{"JSON nested past encoding/json's depth", "application/json",
			jsonBody(strings.Repeat("[", 20000) + strings.Repeat("]", 20000)), 400, "JSON"},
		{"JSON nested objects past the depth", "application/json",
			jsonBody(strings.Repeat(`{"a":`, 20000) + "1" + strings.Repeat("}", 20000)), 400, "JSON"},
		{"JSON larger than a client's queue", "application/json",
			jsonBody(`"` + strings.Repeat("x", 5<<20) + `"`), 413, ""},
		{"JSON with a huge number of keys", "application/json",
			`{"token":"` + tok + `",` + strings.Repeat(`"k":1,`, 200000) + `"data":1}`, 204, ""},
		{"form larger than a client's queue", "application/x-www-form-urlencoded",
			formPrefix + "data=" + strings.Repeat("x", 5<<20), 413, ""},
		{"form with too many fields", "application/x-www-form-urlencoded",
			formPrefix + "data=1" + strings.Repeat("&f=1", 1000), 400, "1000 fields"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := send(t, sw.url(), tc.contentType, tc.body, nil)
			require.Equal(t, tc.code, code, body)
			if code != http.StatusNoContent {
				assert.Contains(t, errorMessage(t, body), tc.msg)
				return
			}
			for _, s := range sw.all() {
				assert.Equal(t, "1", signalData(t, s))
			}
		})
	}

	// A key nested deeper than qs's five levels keeps the rest as one
	// key: five maps, then a sixth keyed by "[a][a]...".
	code, body := send(t, sw.url(), "application/x-www-form-urlencoded", formPrefix+deepForm, nil)
	require.Equal(t, http.StatusNoContent, code, body)
	var got map[string]any
	for _, s := range sw.all() {
		require.NoError(t, json.Unmarshal([]byte(signalData(t, s)), &got))
	}
	depth := 0
	for v := any(got); ; depth++ {
		m, ok := v.(map[string]any)
		if !ok {
			break
		}
		require.Len(t, m, 1)
		for _, v = range m {
		}
	}
	assert.Equal(t, 6, depth)

	code, _ = sendJSON(t, sw.url(), map[string]any{"token": tok, "data": "after"})
	require.Equal(t, http.StatusNoContent, code)
	for _, s := range sw.all() {
		assert.Equal(t, `"after"`, signalData(t, s), "the swarm goes on")
	}
}

// TestGuessing tries swarm ids and tokens that are not the server's: the
// answers tell a guesser nothing about how close a guess came, and the
// swarm is not disturbed.
func TestGuessing(t *testing.T) {
	t.Parallel()
	_, base := newServer(t, signal.Config{})
	sw := newSwarm(t, base, 1)
	tok := sw.conns[0].Token

	// Swarm ids: any well-formed id that is not a swarm is 404 to
	// streams and posts alike, however much of it is right.
	for _, id := range []string{signal.NewSecret(), sw.initC.ID[:25] + flip(sw.initC.ID[25:]), flip(sw.initC.ID[:1]) + sw.initC.ID[1:]} {
		s := ssetest.Open(t, nil, base+"/"+id, nil)
		assert.Equal(t, http.StatusNotFound, s.Resp.StatusCode)
		code, body := sendJSON(t, base+"/"+id, map[string]any{"token": tok, "data": 1})
		assert.Equal(t, http.StatusNotFound, code)
		assert.Equal(t, "unknown swarm", errorMessage(t, body))
	}

	// Tokens: every wrong token, close or not, gets the same answer.
	var answers []string
	for _, guess := range []string{
		signal.NewSecret(),
		tok[:25] + flip(tok[25:]), // all but the last character right
		flip(tok[:1]) + tok[1:],   // all but the first
		tok + "A", tok[:25], "", strings.Repeat("A", 1000),
		sw.initC.ID, sw.conns[0].CID,
	} {
		if guess == "" {
			continue
		}
		code, body := sendJSON(t, sw.url(), map[string]any{"token": guess, "data": 1})
		assert.Equal(t, http.StatusForbidden, code)
		answers = append(answers, body)
	}
	for _, a := range answers {
		assert.Equal(t, answers[0], a, "the answer to a wrong token is always the same")
	}

	code, _ := sendJSON(t, sw.url(), map[string]any{"token": tok, "data": "still here"})
	require.Equal(t, http.StatusNoContent, code)
	for _, s := range sw.all() {
		assert.Equal(t, `"still here"`, signalData(t, s))
	}
}

// flip changes every character of a base32 secret to another valid one.
func flip(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
	}
	return string(b)
}

// TestFailedAuthLimit guesses tokens from one address past
// Config.FailedAuthLimit: further posts from it are answered 429, even
// with the right token, while another address is served.
func TestFailedAuthLimit(t *testing.T) {
	t.Parallel()
	_, base := newServer(t, signal.Config{FailedAuthLimit: 3})
	sw := newSwarm(t, base, 1)
	tok := sw.conns[0].Token

	for range 3 {
		code, _ := sendJSON(t, sw.url(), map[string]any{"token": signal.NewSecret(), "data": 1})
		assert.Equal(t, http.StatusForbidden, code)
	}
	code, _ := sendJSON(t, base+"/"+signal.NewSecret(), map[string]any{"token": tok, "data": 1})
	assert.Equal(t, http.StatusTooManyRequests, code, "unknown swarms count too, and the limit is reached")
	code, body := sendJSON(t, sw.url(), map[string]any{"token": tok, "data": 1})
	assert.Equal(t, http.StatusTooManyRequests, code, "even the right token, from this address")
	assert.Equal(t, "too many failed attempts", errorMessage(t, body))

	// 127.0.0.2 is another address on the loopback interface.
	other := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{
		LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)},
	}).DialContext}}
	defer other.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sw.url(), strings.NewReader(`{"token":"`+tok+`","data":"from elsewhere"}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := other.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	for _, s := range sw.all() {
		assert.Equal(t, `"from elsewhere"`, signalData(t, s))
	}
}
