package hop

import (
	"errors"
	"fmt"
)

// exchange is the HTTP bookkeeping of one client connection and its
// server connection, the same for both loop designs: it frames what
// passes each way, and knows which requests still wait for their
// response, so that a loop can tell when a connection may close.
type exchange struct {
	req, resp framer
	waiting   fifo // one bit per request forwarded and not yet answered: HEAD or not
}

var errUnsolicited = errors.New("response: bytes from the server with no request waiting")

func newExchange() exchange {
	return exchange{req: newFramer(false), resp: newFramer(true)}
}

// request frames bytes from the client before they go to the server.
func (x *exchange) request(p []byte) error {
	for len(p) > 0 {
		n, ev, err := x.req.feed(p)
		if err != nil {
			return fmt.Errorf("request: %w", err)
		}
		if ev == evHead {
			if err := x.waiting.push(x.req.wasHEAD); err != nil {
				return err
			}
		}
		p = p[n:]
	}
	return nil
}

// response frames bytes from the server before they go to the client.
func (x *exchange) response(p []byte) error {
	for len(p) > 0 {
		if x.resp.atStart() {
			head, ok := x.waiting.front()
			if !ok {
				return errUnsolicited
			}
			x.resp.noBody = head
		}
		n, ev, err := x.resp.feed(p)
		if err != nil {
			return fmt.Errorf("response: %w", err)
		}
		if ev == evEnd && !x.resp.interim {
			x.waiting.pop()
		}
		p = p[n:]
	}
	return nil
}

// serverClosed ends a response whose body runs until the close. Calling
// it again does nothing.
func (x *exchange) serverClosed() {
	if ended, _ := x.resp.eof(); ended {
		x.waiting.pop()
	}
}

// answered reports whether every request framed so far has had its whole
// response framed: a client that has closed may then be let go.
func (x *exchange) answered() bool {
	return x.waiting.len() == 0 && x.resp.atStart()
}

// fifo is a queue of bits, grown by doubling: the requests in flight on
// one connection. It is bounded, so that a client pipelining without end
// is cut off rather than filling memory (the sockets' buffers bound it
// first in practice: a million requests is 16 MiB of the shortest ones).
type fifo struct {
	words []uint64
	first int // the first bit's index
	n     int
}

const maxWaiting = 1 << 20

var errTooManyWaiting = fmt.Errorf("more than %d requests waiting for their response", maxWaiting)

func (q *fifo) len() int { return q.n }

func (q *fifo) cap() int { return len(q.words) * 64 }

func (q *fifo) push(b bool) error {
	if q.n == q.cap() {
		if q.n >= maxWaiting {
			return errTooManyWaiting
		}
		q.grow()
	}
	i := (q.first + q.n) % q.cap()
	if b {
		q.words[i/64] |= 1 << (i % 64)
	} else {
		q.words[i/64] &^= 1 << (i % 64)
	}
	q.n++
	return nil
}

func (q *fifo) front() (bool, bool) {
	if q.n == 0 {
		return false, false
	}
	return q.words[q.first/64]&(1<<(q.first%64)) != 0, true
}

func (q *fifo) pop() {
	if q.n == 0 {
		return
	}
	q.first = (q.first + 1) % q.cap()
	q.n--
}

// grow doubles the queue, its bits copied in order to the start.
func (q *fifo) grow() {
	words := make([]uint64, max(1, 2*len(q.words)))
	for i := range q.n {
		j := (q.first + i) % q.cap()
		if q.words[j/64]&(1<<(j%64)) != 0 {
			words[i/64] |= 1 << (i % 64)
		}
	}
	q.words, q.first = words, 0
}
