package signal_test

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roomcast/sse/signal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// turnPassword is the TURN REST API password, computed here apart from
// the package: base64(HMAC-SHA1(secret, username)).
func turnPassword(secret, username string) string {
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(username))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func TestTURNCredentials(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 250_000_000)
	turn := signal.TURN{URLs: []string{"turn:turn.example:3478"}, Secret: "s3cret", TTL: time.Hour}
	got := turn.Credentials("peer1", now)
	// Expiry rounds up to the second, so the credentials last at least TTL.
	assert.Equal(t, "1700003601:peer1", got.Username)
	assert.Equal(t, turnPassword("s3cret", "1700003601:peer1"), got.Credential)
	assert.Equal(t, turn.URLs, got.URLs)
	got.URLs[0] = "changed"
	assert.Equal(t, "turn:turn.example:3478", turn.URLs[0], "the URLs are copied")

	whole := signal.TURN{URLs: []string{"turn:t"}, Secret: "s3cret", TTL: time.Hour}.Credentials("p", time.Unix(100, 0))
	assert.Equal(t, "3700:p", whole.Username)

	def := signal.TURN{URLs: []string{"turn:t"}, Secret: "s"}.Credentials("p", time.Unix(0, 0))
	assert.Equal(t, strconv.Itoa(int(signal.DefaultTURNTTL/time.Second))+":p", def.Username)
}

// expiry returns the expiry and the user of a TURN REST API username.
func expiry(t *testing.T, username string) (time.Time, string) {
	t.Helper()
	exp, user, ok := strings.Cut(username, ":")
	require.True(t, ok, username)
	sec, err := strconv.ParseInt(exp, 10, 64)
	require.NoError(t, err)
	return time.Unix(sec, 0), user
}

func TestConnectCarriesICEServers(t *testing.T) {
	t.Parallel()
	stun := signal.ICEServer{URLs: []string{"stun:stun.example:3478"}}
	fixed := signal.ICEServer{URLs: []string{"turns:fixed.example"}, Username: "u", Credential: "c"}
	turn := signal.TURN{URLs: []string{"turn:turn.example?transport=udp", "turn:turn.example?transport=tcp"}, Secret: "k", TTL: time.Hour}
	_, base := newServer(t, signal.Config{ICEServers: []signal.ICEServer{stun, fixed}, TURN: turn})

	before := time.Now()
	_, c := open(t, base+"/")
	require.Len(t, c.ICEServers, 3)
	assert.Equal(t, stun, c.ICEServers[0])
	assert.Equal(t, fixed, c.ICEServers[1])
	got := c.ICEServers[2]
	assert.Equal(t, turn.URLs, got.URLs)
	exp, user := expiry(t, got.Username)
	assert.Equal(t, c.CID, user)
	assert.False(t, exp.Before(before.Add(time.Hour).Truncate(time.Second)), "expires %v", exp)
	assert.False(t, exp.After(time.Now().Add(time.Hour+time.Second)), "expires %v", exp)
	assert.Equal(t, turnPassword("k", got.Username), got.Credential)
}

func TestCredentialsRenewed(t *testing.T) {
	t.Parallel()
	// Two seconds: renewal comes a second or more after issue, so the
	// renewed expiry, in whole seconds, is later.
	turn := signal.TURN{URLs: []string{"turn:turn.example"}, Secret: "k", TTL: 2 * time.Second}
	_, base := newServer(t, signal.Config{TURN: turn})
	s, c := open(t, base+"/")
	first, _ := expiry(t, c.ICEServers[0].Username)

	// Renewed after half the lifetime, within three quarters of it.
	ev := s.Event(t)
	require.Equal(t, signal.EventCredentials, ev.Type)
	var cr signal.Credentials
	require.NoError(t, json.Unmarshal([]byte(ev.Data), &cr))
	require.Len(t, cr.ICEServers, 1)
	next, user := expiry(t, cr.ICEServers[0].Username)
	assert.Equal(t, c.CID, user)
	assert.True(t, next.After(first), "renewed credentials expire later: %v, then %v", first, next)
	assert.Equal(t, turnPassword("k", cr.ICEServers[0].Username), cr.ICEServers[0].Credential)
}
