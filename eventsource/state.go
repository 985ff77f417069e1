package eventsource

// State is where an [EventSource] stands, as the standard's readyState.
type State int

const (
	// Connecting: a request is about to be sent or is waiting for its
	// answer, or the EventSource waits to reconnect.
	Connecting State = iota
	// Open: a stream has been accepted and is being read.
	Open
	// Closed: the EventSource has stopped for good, by Close or by an
	// error that ends it.
	Closed
)

func (s State) String() string {
	switch s {
	case Connecting:
		return "connecting"
	case Open:
		return "open"
	case Closed:
		return "closed"
	}
	return "invalid state"
}
