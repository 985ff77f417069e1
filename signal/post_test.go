package signal_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/roomcast/sse/signal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBroadcastAndDirect(t *testing.T) {
	t.Parallel()
	_, base := newServer(t, signal.Config{})
	sw := newSwarm(t, base, 2)

	// A broadcast reaches every peer, the sender too, as koa-signal did.
	code, _ := sendJSON(t, sw.url(), map[string]any{"token": sw.conns[0].Token, "data": map[string]any{"boom": "boom"}})
	require.Equal(t, http.StatusNoContent, code)
	for _, s := range sw.all() {
		assert.Equal(t, `{"boom":"boom"}`, signalData(t, s))
	}

	// A direct message reaches its peer alone, from any peer.
	code, _ = sendJSON(t, sw.url(), map[string]any{"token": sw.conns[1].Token, "cid": sw.conns[0].CID, "data": "psst"})
	require.Equal(t, http.StatusNoContent, code)
	code, _ = sendJSON(t, sw.url(), map[string]any{"token": sw.conns[0].Token, "cid": sw.initC.CID, "data": "to the queen"})
	require.Equal(t, http.StatusNoContent, code)
	code, _ = sendJSON(t, sw.url(), map[string]any{"token": sw.initC.Token, "data": "everyone"})
	require.Equal(t, http.StatusNoContent, code)

	assert.Equal(t, `"to the queen"`, signalData(t, sw.init))
	assert.Equal(t, `"everyone"`, signalData(t, sw.init))
	assert.Equal(t, `"psst"`, signalData(t, sw.peers[0]))
	assert.Equal(t, `"everyone"`, signalData(t, sw.peers[0]))
	assert.Equal(t, `"everyone"`, signalData(t, sw.peers[1]))
}

func TestPostErrors(t *testing.T) {
	t.Parallel()
	_, base := newServer(t, signal.Config{BodyLimit: 128})
	sw := newSwarm(t, base, 1)
	other := newSwarm(t, base, 0)
	tok := sw.conns[0].Token
	big := `{"token":"` + tok + `","data":"` + strings.Repeat("x", 128) + `"}`

	for _, tc := range []struct {
		name, contentType, body string
		header                  http.Header
		code                    int
	}{
		{"missing token", "application/json", `{"data":1}`, nil, http.StatusUnauthorized},
		{"empty token", "application/json", `{"token":"","data":1}`, nil, http.StatusUnauthorized},
		{"missing token in form", "application/x-www-form-urlencoded", `data=1`, nil, http.StatusUnauthorized},
		{"wrong token", "application/json", `{"token":"` + strings.Repeat("A", 26) + `","data":1}`, nil, http.StatusForbidden},
		{"another swarm's token", "application/json", `{"token":"` + other.initC.Token + `","data":1}`, nil, http.StatusForbidden},
		{"wrong bearer token", "application/json", `{"data":1}`, http.Header{"Authorization": {"Bearer nope"}}, http.StatusForbidden},
		{"unknown cid", "application/json", `{"token":"` + tok + `","cid":"nobody","data":1}`, nil, http.StatusNotFound},
		{"another swarm's cid", "application/json", `{"token":"` + tok + `","cid":"` + other.initC.CID + `","data":1}`, nil, http.StatusNotFound},
		{"missing data", "application/json", `{"token":"` + tok + `"}`, nil, http.StatusBadRequest},
		{"malformed JSON", "application/json", `{"token":`, nil, http.StatusBadRequest},
		{"not an object", "application/json", `["token"]`, nil, http.StatusBadRequest},
		{"null", "application/json", `null`, nil, http.StatusBadRequest},
		{"two objects", "application/json", `{"token":"` + tok + `","data":1}{}`, nil, http.StatusBadRequest},
		{"token not a string", "application/json", `{"token":1,"data":1}`, nil, http.StatusBadRequest},
		{"cid not a string", "application/json", `{"token":"` + tok + `","cid":[],"data":1}`, nil, http.StatusBadRequest},
		{"invalid UTF-8", "application/json", "{\"token\":\"" + tok + "\",\"data\":\"\xff\"}", nil, http.StatusBadRequest},
		{"malformed form", "application/x-www-form-urlencoded", `token=%zz&data=1`, nil, http.StatusBadRequest},
		{"form value not UTF-8", "application/x-www-form-urlencoded", `token=` + tok + `&data=%FF`, nil, http.StatusBadRequest},
		{"form key not UTF-8", "application/x-www-form-urlencoded", `token=` + tok + `&data[%C3]=1`, nil, http.StatusBadRequest},
		{"two tokens", "application/x-www-form-urlencoded", `token=` + tok + `&token=` + tok + `&data=1`, nil, http.StatusBadRequest},
		{"form shape conflict", "application/x-www-form-urlencoded", `token=` + tok + `&data=1&data[a]=2`, nil, http.StatusBadRequest},
		{"too large", "application/json", big, nil, http.StatusRequestEntityTooLarge},
		{"no content type", "", `{"token":"` + tok + `","data":1}`, nil, http.StatusUnsupportedMediaType},
		{"text", "text/plain", `{"token":"` + tok + `","data":1}`, nil, http.StatusUnsupportedMediaType},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := send(t, sw.url(), tc.contentType, tc.body, tc.header)
			assert.Equal(t, tc.code, code)
			errorMessage(t, body)
		})
	}

	// Nothing was delivered: the next event anyone sees is this one.
	code, _ := sendJSON(t, sw.url(), map[string]any{"token": tok, "data": "first"})
	require.Equal(t, http.StatusNoContent, code)
	for _, s := range append(sw.all(), other.init) {
		if s == other.init {
			continue
		}
		assert.Equal(t, `"first"`, signalData(t, s))
	}
	code, _ = sendJSON(t, other.url(), map[string]any{"token": other.initC.Token, "data": "other first"})
	require.Equal(t, http.StatusNoContent, code)
	assert.Equal(t, `"other first"`, signalData(t, other.init))
}

func TestMissingTokenAsksForOne(t *testing.T) {
	t.Parallel()
	_, base := newServer(t, signal.Config{})
	sw := newSwarm(t, base, 0)
	req, err := http.NewRequest(http.MethodPost, sw.url(), strings.NewReader(`{"data":1}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Equal(t, `Bearer realm="signal"`, resp.Header.Get("WWW-Authenticate"))
	assert.Equal(t, "application/json; charset=utf-8", resp.Header.Get("Content-Type"))
}

func TestBearerToken(t *testing.T) {
	t.Parallel()
	_, base := newServer(t, signal.Config{})
	sw := newSwarm(t, base, 0)
	code, _ := send(t, sw.url(), "application/json", `{"data":"by header"}`,
		http.Header{"Authorization": {"Bearer " + sw.initC.Token}})
	require.Equal(t, http.StatusNoContent, code)
	assert.Equal(t, `"by header"`, signalData(t, sw.init))
}
