package engine

import (
	"net"
	"time"

	"github.com/fjordlb/fjord/engine/h1"
	"github.com/fjordlb/fjord/rules"
)

// answerConn is the client connection of a request answered off the loop
// (handOff). It counts the bytes written to the client and keeps the start
// of the answer, so that the access log gets the status and size HAProxy
// logs for its own pages.
type answerConn struct {
	net.Conn
	n    int64
	head [len("HTTP/1.1 200")]byte
	got  int
}

func (c *answerConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	if c.got < len(c.head) {
		c.got += copy(c.head[c.got:], b[:n])
	}
	c.n += int64(n)
	return n, err
}

// status is the status code of the answer's status line, -1 when none was
// written (or it is not one).
func (c *answerConn) status() int {
	h := c.head[:c.got]
	if len(h) < len(c.head) || string(h[:5]) != "HTTP/" || h[8] != ' ' {
		return -1
	}
	code := 0
	for _, d := range h[9:12] {
		if d < '0' || d > '9' {
			return -1
		}
		code = code*10 + int(d-'0')
	}
	return code
}

// afterConn runs the http-after-response rules on the answer a handler
// writes on a client connection handed off the loop (the stats page),
// as HAProxy runs them on its stats applet's answer: the bytes are held
// until the head of the final answer is whole (interim answers go as
// they are), which goes out as the rules leave it; the rest passes
// through. An answer a rule fails on is replaced by the proxy's 500, and
// the connection closes after it. The handler's goroutine owns the
// session from the hand-off on (the loop never looks at it again), so
// the rules read and keep what they read and keep on the loop.
type afterConn struct {
	net.Conn
	run    afterRun
	t      rules.Txn
	resp   h1.Response
	msg    rules.Msg
	buf    []byte // a 500 that replaces the answer
	held   []byte
	state  afterState
	limit  int  // the longest head held: tune.bufsize
	closed bool // the connection was closed after a 500
}

type afterState uint8

const (
	afterHolding  afterState = iota // until the final answer's head is whole
	afterPassing                    // the rest goes as the handler writes it
	afterDropping                   // a 500 replaced the answer: the rest is dropped
)

// newAfterConn prepares, on the loop, the rules of the answer to a
// request handed off after it was routed to be (nil: the frontend's
// page), with what they read of the session; nil when there are none.
func (s *session) newAfterConn(be *backend) *afterConn {
	sets := s.afterSets(be)
	if sets[0] == nil && sets[1] == nil {
		return nil
	}
	c := &afterConn{limit: s.l.eng.bufSize}
	s.localAddress() // asked of the socket while it is the loop's
	s.fillTxn(&c.t)
	if info := s.cli.tlsInfo(); info != nil {
		cp := *info // the TLS layer leaves with the connection
		c.t.TLS = tlsView{&cp}
	}
	s.sessionVars(&c.t, false)
	if be != nil {
		c.t.Backend, c.t.BackendID = be.Name, be.id
	}
	c.run = afterRun{s: s, sets: sets, t: &c.t, resp: &c.resp, m: &c.msg, buf: &c.buf}
	return c
}

func (c *afterConn) Write(b []byte) (int, error) {
	switch c.state {
	case afterPassing:
		return c.Conn.Write(b)
	case afterDropping:
		return len(b), nil
	}
	c.held = append(c.held, b...)
	for c.state == afterHolding {
		hl, err := h1.ParseResponse(c.held, &c.resp)
		switch {
		case err == h1.ErrNeedMore && len(c.held) < c.limit:
			return len(b), nil
		case err != nil:
			// Not a head the rules can read: it goes as it is.
			c.state = afterPassing
		case c.resp.Status < 200:
			if _, err := c.Conn.Write(c.held[:hl]); err != nil {
				return 0, err
			}
			c.held = append(c.held[:0], c.held[hl:]...)
		default:
			c.held = c.answer(hl)
		}
	}
	out := c.held
	c.held = nil
	if _, err := c.Conn.Write(out); err != nil {
		return 0, err
	}
	if c.state == afterDropping {
		c.closed = true
		c.Conn.Close() // the handler's next bytes have no place
	}
	return len(b), nil
}

// answer runs the rules on the final answer, whose head (hl bytes) and
// first body bytes are held, and returns what goes to the client in
// their place.
func (c *afterConn) answer(hl int) []byte {
	c.t.Now = time.Now()
	msg, nhl, _ := c.run.run(c.resp.Status, c.held, hl)
	switch {
	case !c.run.replaced:
		c.state = afterPassing
		out := appendAnswerHead(nil, msg[:nhl], &c.resp, c.run.m, "", false)
		return append(out, msg[nhl:]...)
	case nhl < 0:
		c.state = afterDropping
		return msg
	}
	c.state = afterDropping
	out := appendAnswerHead(nil, msg[:nhl], &c.resp, c.run.m, connValueClose, true)
	if !c.run.s.h.isHead {
		out = append(out, msg[nhl:]...)
	}
	return out
}

// Close sends what is held, should the handler end without a whole head.
func (c *afterConn) Close() error {
	if c.closed {
		return nil
	}
	if c.state == afterHolding && len(c.held) > 0 {
		_, _ = c.Conn.Write(c.held)
		c.held = nil
	}
	c.closed = true
	return c.Conn.Close()
}
