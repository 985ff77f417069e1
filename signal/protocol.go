package signal

// The events a peer's stream carries. Every event's data is one line of
// JSON.
const (
	// EventConnect is the first event of every stream; its data is a
	// [Connect].
	EventConnect = "connect"
	// EventJoin tells the initiator that a peer joined; its data is a
	// [PeerEvent].
	EventJoin = "join"
	// EventLeave tells the initiator that a peer's stream ended; its data
	// is a [PeerEvent].
	EventLeave = "leave"
	// EventSignal carries a message posted to the swarm; its data is the
	// message's data field, as JSON.
	EventSignal = "signal"
	// EventCredentials hands a peer fresh TURN credentials before its
	// current ones expire; its data is a [Credentials]. It is only sent
	// when [Config.TURN] is set.
	EventCredentials = "credentials"
)

// Connect is the data of the [EventConnect] event.
type Connect struct {
	// ID is the swarm's id: the path to join it and to post to it.
	ID string `json:"id"`
	// CID is this connection's id within the swarm, which other peers use
	// to send it direct messages.
	CID string `json:"cid"`
	// Token authenticates this peer's posts. It is secret: whoever holds
	// it can post as this peer.
	Token string `json:"token"`
	// ICEServers lists the STUN and TURN servers for WebRTC, with TURN
	// credentials for this peer; absent unless the server is configured
	// with some.
	ICEServers []ICEServer `json:"iceServers,omitempty"`
}

// PeerEvent is the data of the [EventJoin] and [EventLeave] events.
type PeerEvent struct {
	CID string `json:"cid"`
}

// Credentials is the data of the [EventCredentials] event: the peer's
// whole ICE server list, with renewed TURN credentials.
type Credentials struct {
	ICEServers []ICEServer `json:"iceServers"`
}
