package engine

import (
	"time"

	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/engine/h1"
	"github.com/fjordlb/fjord/rules"
)

// http-request and http-response wait-for-body, HAProxy 2.4's: a rule
// that holds its rule set until the message's body is there (as much of
// it as the buffer holds, tune.bufsize - tune.maxrewrite), or its first
// at-least bytes, or the rule's time is up (408 for a request, 504 for a
// response, as http_wait_for_msg_body answers). fjord reads nothing
// while it waits: the message stays in its socket, peeked again as bytes
// arrive, as "option http-buffer-request" waits. What the rules before
// the wait did to the head is kept with the session (bodyHold), and the
// rules go on from the one after the wait, in the strict mode they were
// in, as HAProxy resumes a rule that yielded.

// bodyHold is a message whose rules wait for its body.
type bodyHold struct {
	active   bool
	response bool // an http-response rule waits (else an http-request one)
	// be is, for a request, the backend whose rules wait (nil: the
	// frontend's); stage is, for a response, the rule set
	// (evalResponseRules).
	be     *backend
	stage  int
	resume rules.Resume
	rule   *config.HTTPRule
	since  time.Time
	// expired: the rule's time, or a timeout, came. Unless the body is
	// there when the message is looked at once more, it is answered.
	expired bool
	msg     rules.Msg // the head as the rules before the wait left it
	arena   []byte    // msg's bytes
}

// holding reports whether the session's request (response false) or
// response waits for its body.
func (h *httpSession) holding(response bool) bool {
	return h.hold != nil && h.hold.active && h.hold.response == response
}

// hold starts a wait for rule r: the rules' message, as they left it, is
// kept with the session.
func (s *session) hold(response bool, v rules.Verdict, m *rules.Msg) *bodyHold {
	h := s.h
	if h.hold == nil {
		h.hold = &bodyHold{} // kept for the session's later waits
	}
	w := h.hold
	w.active, w.response, w.be, w.stage, w.expired = true, response, nil, 0, false
	w.resume, w.rule, w.since = v.Resume(), v.Rule, s.l.now
	w.arena = m.Keep(&w.msg, w.arena)
	return w
}

// bodyWaitOver reports whether a wait-for-body rule waits no more for a
// message's body, of kind and length clen, of which after came with the
// head: it is all there, or at-least bytes of it (data, for a chunked
// body); or full, the buffer holds all it may; or no more bytes will
// come (ended).
func bodyWaitOver(r *config.HTTPRule, kind h1.BodyKind, clen int64, after []byte, full, ended bool) bool {
	if full || ended {
		return true
	}
	atLeast := int64(r.AtLeast)
	switch kind {
	case h1.BodyLength:
		got := min(int64(len(after)), clen)
		return got == clen || atLeast > 0 && got >= atLeast
	case h1.BodyChunked:
		var cs chunkScan
		if _, err := cs.scan(after); err != nil && err != h1.ErrNeedMore {
			return true // a framing error, answered as the message goes on
		}
		return cs.done() || atLeast > 0 && chunkedData(after) >= atLeast
	case h1.BodyClose:
		return atLeast > 0 && int64(len(after)) >= atLeast
	}
	return true // no body
}

// chunkedData is how many data bytes of a chunked body b holds, the part
// of a chunk that arrived counted, as HAProxy counts the data it holds.
func chunkedData(b []byte) int64 {
	var n int64
	for {
		size, hl, err := h1.ParseChunkSize(b)
		if err != nil || size == 0 {
			return n
		}
		b = b[hl:]
		if int64(len(b)) <= size {
			return n + int64(len(b))
		}
		n += size
		b = b[size:]
		if len(b) < 2 {
			return n
		}
		b = b[2:]
	}
}

// requestWaitOver is bodyWaitOver for the current request, whose head
// (hl bytes) and n bytes in all were peeked.
func (s *session) requestWaitOver(r *config.HTTPRule, req *h1.Request, hl, n int) bool {
	buf := s.l.scratch[:n]
	return bodyWaitOver(r, req.Body(), req.ContentLength, buf[hl:], n >= s.l.eng.recvLimit, s.cli.hup)
}

// holdRequest starts the wait of the request rules of be (nil: the
// frontend's) v decided on: what they did so far takes effect (early
// hints, timeouts), and the head waits in the client's socket.
func (s *session) holdRequest(be *backend, v rules.Verdict, t *rules.Txn) {
	h, l := s.h, s.l
	w := s.hold(false, v, t.Req)
	w.be = be
	s.requestRulesDone(t)
	h.bodyWait = true // a timeout now logs "D": the body was awaited
	if h.headStart.IsZero() {
		h.headStart = l.now
	}
	s.lastCli = l.now
	s.cli.readable = false // the peek took what the socket had
	s.rearm()
}

// resumeRequest looks at a held request once more (its head parsed
// again from the socket: hl bytes, n peeked): while its wait goes on it
// waits, answering 408 once the wait expired; then its rules go on where
// they stopped, on the head they left.
func (s *session) resumeRequest(req *h1.Request, hl, n int) {
	h, l := s.h, s.l
	w := h.hold
	h.isHead = req.IsMethod("HEAD")
	h.routedTo = w.be
	if !s.requestWaitOver(w.rule, req, hl, n) {
		if w.expired {
			s.requestWaitExpired()
			return
		}
		s.lastCli = l.now
		s.cli.readable = false
		return
	}
	w.active, h.bodyWait = false, false
	if !s.checkRequestChunks(req, hl, n) {
		return
	}
	buf := l.scratch[:n]
	body := l.requestBody(req, buf[hl:max(hl, min(n, l.eng.recvLimit))])
	room := l.eng.rewriteRoom(hl, bodyWithHead(req.Body(), req.ContentLength, n-hl))
	if h.edited != nil {
		// The frontend's rules rewrote the head before a backend's
		// waited: routing and the send go on with their head.
		if _, err := h1.ParseRequest(h.edited, req); err != nil {
			s.close(true)
			return
		}
	}
	t := s.txn(req)
	t.Req.Load(&w.msg)
	t.Req.Room = room
	t.Body = body
	s.sessionVars(t, false)
	if w.be != nil {
		t.Backend, t.BackendID = w.be.Name, w.be.id
	}
	s.processRequest(t, req, hl, n, w.be, w.resume)
}

// requestWaitExpired answers a request whose body did not come in time:
// 408, HAProxy's "cD".
func (s *session) requestWaitExpired() {
	w := s.h.hold
	w.active = false
	s.at.localBe = w.be
	s.setTerm('c', 'D')
	s.httpFail(408, "'http-request wait-for-body' at %s: the body did not come within %v", w.rule.Pos, w.rule.Timeout)
}

// holdResponse starts the wait of the response rule set stage v decided
// on; the response stays in the server's socket.
func (s *session) holdResponse(stage int, v rules.Verdict, t *rules.Txn) {
	w := s.hold(true, v, t.Res)
	w.stage = stage
	s.svr.readable = false // the peek took what the socket had
	s.rearm()
}

// resumeResponse looks at a held response once more (its head parsed
// again, room and after as runResponseRules takes them): while its wait
// goes on it waits, answering 504 once the wait expired; then its rules
// go on where they stopped. It reports runResponseRules' result.
func (s *session) resumeResponse(room int, after []byte, full bool) bool {
	h, l := s.h, s.l
	w := h.hold
	if !bodyWaitOver(w.rule, h.rspKind, l.resp.ContentLength, after, full, s.svr.hup) {
		if w.expired {
			s.responseWaitExpired()
			return false
		}
		s.svr.readable = false
		s.rearm()
		return false
	}
	w.active = false
	t := s.responseTxn(room)
	t.Res.Load(&w.msg)
	t.Res.Room = room
	return s.evalResponseRules(t, w.stage, w.resume, after, full)
}

// responseWaitExpired answers a response whose body did not come in
// time: 504, HAProxy's "sD"; the server connection is closed.
func (s *session) responseWaitExpired() {
	w := s.h.hold
	w.active = false
	s.setTerm('s', 'D')
	s.httpFail(504, "'http-response wait-for-body' at %s: the body from server %s did not come within %v", w.rule.Pos, s.srvName(), w.rule.Timeout)
}

// holdDeadline is the deadline of a message waiting for its body: the
// rule's time (none for 0, as HAProxy reads it), and the timeout of the
// side it waits on, from its last bytes.
func (s *session) holdDeadline(earliest func(time.Time, time.Duration)) {
	w := s.h.hold
	earliest(w.since, w.rule.Timeout)
	if w.response {
		earliest(s.lastSrv, s.serverTimeout(&s.be.Conf.Timeouts))
	} else {
		earliest(s.lastCli, s.fe.conf.Timeouts.Client)
	}
}

// holdTimer handles the session's timer while a message waits for its
// body: it is looked at once more, and answered if its body is still
// not there.
func (s *session) holdTimer() {
	w := s.h.hold
	w.expired = true
	if w.response {
		s.svr.readable = true
		s.httpForward()
		return
	}
	s.cli.readable = true
	s.httpReadHead()
}

// expectContinue answers a request's "Expect: 100-continue" with a 100
// Continue before fjord waits for its body, and removes the field from
// m, as HAProxy's http_handle_expect_hdr does: the client sends its body
// at once, and the server, which gets the body right after the head, is
// not asked for another 100. Only for an HTTP/1.1 request with a body,
// once a request.
func (s *session) expectContinue(req *h1.Request, m *rules.Msg) {
	h := s.h
	if !h.continued && expectsContinue(req) {
		h.continued = true
		s.sendInterim(continue100)
	}
	if h.continued && m != nil {
		dropExpect(m)
	}
}

var continue100 = []byte("HTTP/1.1 100 Continue\r\n\r\n")

// expectsContinue reports whether req asks for a 100 Continue before
// its body.
func expectsContinue(req *h1.Request) bool {
	if req.Minor != 1 || req.Body() == h1.BodyNone {
		return false
	}
	for _, hd := range req.Headers {
		if asciiEqualFold(hd.Name, "expect") {
			return asciiEqualFold(trimOWS(hd.Value), "100-continue")
		}
	}
	return false
}

// dropExpect removes the first Expect field, the one a 100 Continue
// answered.
func dropExpect(m *rules.Msg) {
	for i, hd := range m.Headers {
		if asciiEqualFold(hd.Name, "expect") {
			m.Headers = append(m.Headers[:i], m.Headers[i+1:]...)
			m.Edited = true
			return
		}
	}
}
