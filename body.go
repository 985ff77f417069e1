package sse

import (
	"io"
	"time"
)

// maxDrainedBody bounds the request body a stream request may send.
const maxDrainedBody = 1 << 20

// drainBody reads and discards a stream request's body on its own
// goroutine, so that net/http never waits for it, and so that the
// client's going is noticed: net/http watches the connection only once
// the body has been read to its end. A read error ends the stream, as
// does a body over maxDrainedBody.
func (c *Client) drainBody() {
	c.bodyDone = make(chan struct{})
	go func() {
		defer close(c.bodyDone)
		n, err := io.Copy(io.Discard, io.LimitReader(c.req.Body, maxDrainedBody+1))
		if err != nil || n > maxDrainedBody {
			c.close(ReasonClientGone)
			c.wakeUp()
		}
	}()
}

// endBody stops drainBody's goroutine, if any, before the handler
// returns, and keeps the connection from waiting for the rest of a body.
func (c *Client) endBody() {
	if c.bodyDone != nil {
		_ = c.rc.SetReadDeadline(time.Now())
		<-c.bodyDone
	}
}
