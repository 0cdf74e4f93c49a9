package engine

import (
	"fmt"
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// lingerTime bounds how long a closing client connection is drained.
const lingerTime = time.Second

// httpFail answers the client with one of fjord's own error responses
// (its proxy's error page for code, or the built-in one), through the
// http-after-response rules; the connection is then kept when it can be
// (prepareAnswer). It is only called before any response byte reached
// the client.
func (s *session) httpFail(code int, format string, args ...any) {
	if s.state == stClosed {
		return
	}
	s.answerFail(code, s.errorAnswer(code, nil), answerRules, format, args...)
}

// httpFailRaw is httpFail for the errors HAProxy's H1 mux answers
// itself, before any stream exists: a request head it cannot parse
// (400), or one that did not come in time (408). No rule runs on the
// answer, and the connection closes after it.
func (s *session) httpFailRaw(code int, format string, args ...any) {
	if s.state == stClosed {
		return
	}
	s.answerFail(code, s.errorAnswer(code, nil), answerRaw, format, args...)
}

// failPage answers page, a whole response with status code (a deny, an
// error page), logs why, and ends the request.
func (s *session) failPage(code int, page []byte, format string, args ...any) {
	s.answerFail(code, page, answerRules, format, args...)
}

// answerFail is failPage, with how the answer goes (prepareAnswer).
func (s *session) answerFail(code int, page []byte, how answerHow, format string, args ...any) {
	if s.state == stClosed {
		return
	}
	msg := fmt.Sprintf(format, args...)
	if code == 502 || code == 504 {
		s.observeHTTP(0) // the server gave no valid answer
		if s.srv != nil {
			s.srv.Counters.RespErrors.Add(1)
		}
		if s.be != nil {
			s.be.Counters.RespErrors.Add(1)
		}
	}
	if code == 400 || code == 408 {
		s.fe.counters.ReqErrors.Add(1)
	}
	s.l.eng.logf("%s: client %s: %d: %s", s.fe.conf, s.src(), code, msg)
	if s.state == stQueued && !s.be.Cancel(s) {
		// A grant is on its way (granted gives it back): the
		// connection must not queue its next request before it lands,
		// where it would be taken for that request's. Once, here: the
		// backend's lock is taken to look.
		s.srv = nil
		s.h.noKeep = true
	}
	if s.s2c.inPipe > 0 {
		// Part of an interim response is still on its way: the page
		// cannot follow it in order.
		if s.logsTraffic() {
			s.logHTTPFail(code, code, len(page))
		}
		s.endAnswered()
		s.close(true)
		return
	}
	a := s.prepareAnswer(code, page, s.answerBackend(), how)
	s.fe.counters.CountStatus(a.status)
	if s.logsTraffic() {
		s.logHTTPFail(code, a.status, len(a.msg))
	}
	s.endAnswered()
	s.sendAnswer(a)
}

// endAnswered lets go of what the current request held once fjord
// answers it itself (answerFail has left its queue): its server slot,
// its server connection. A server connection an earlier request left idle, which
// this one never used (fjord answered it while it read it, or held it
// in a tarpit), is kept for the next.
func (s *session) endAnswered() {
	if s.srv != nil || s.h.counted {
		s.endRequest()
	}
	if s.h.rq == rqHead && (s.state == stHTTPHead || s.state == stTarpit) {
		return
	}
	s.h.reusable = false
	s.releaseServerConn()
}

// lingerClose ends the client connection gracefully: FIN after the last
// response byte, then the client's remaining bytes are read and dropped
// for a moment. Closing a socket that still holds unread input would send
// a reset, and a reset can destroy the response the client has not read yet.
func (s *session) lingerClose() {
	if s.h != nil {
		s.releaseServerConn()
	}
	if s.c2s.inPipe > 0 || s.s2c.inPipe > 0 {
		// Bytes still in flight to the client cannot be awaited here;
		// this only happens on errors, where a reset is the answer.
		if s.s2c.inPipe > 0 {
			s.close(true)
			return
		}
	}
	s.cli.shutWrite()
	s.state = stLinger
	if s.h != nil {
		s.h.lingerAt = s.l.now
	}
	s.rearm()
	s.drainClient()
}

// drainClient reads and drops the client's bytes until its FIN.
func (s *session) drainClient() {
	buf := s.l.scratch[:s.l.eng.bufSize]
	for s.cli.readable {
		n, err := sysRead(s.cli.fd, buf)
		switch {
		case err == unix.EAGAIN:
			s.cli.readable = false
		case err != nil || n == 0:
			s.close(false)
			return
		}
	}
}

// handOff gives the client connection to a handler that runs outside the
// event loop (the stats page), for a request routed to be (nil: the
// frontend's page). The request head is still in the socket, so the
// handler reads the request itself; its answer goes through the
// after-response rules (afterConn).
func (s *session) handOff(serve func(net.Conn), be *backend) {
	l := s.l
	after := s.newAfterConn(be) // while the session is the loop's
	fd := s.cli.fd
	// The descriptor must leave this loop's epoll set before it is
	// duplicated: epoll watches the open file, and a duplicate would keep
	// delivering events for this fd number after it is closed.
	_ = unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, fd, nil)
	l.byFD[fd] = nil
	f := os.NewFile(uintptr(fd), "client")
	conn, err := net.FileConn(f) // duplicates fd
	f.Close()
	switch {
	case err != nil || s.cli.tls == nil:
	case s.cli.tls.kernel:
		conn, err = handKTLS(conn, s.cli.tls, &l.tls)
		s.cli.tls = nil
	default:
		conn = handTLS(conn, s.cli.tls, &l.tls)
		s.cli.tls = nil
	}
	s.cli.fd = -1
	s.setTerm('L', 'R') // answered by fjord itself
	s.at.handedOff = true
	rec, log := s.handedOffRecord(), s.fe.log
	// The connection leaves the loop but not the limits: it keeps its
	// maxconn slots (and its place in the frontend's current sessions)
	// until the handler is done with it, so that clients held by a
	// handler cannot exhaust the descriptors maxconn is there to bound.
	s.slotHeld = true
	s.close(false)
	e, fe := l.eng, s.fe
	l.handed.Add(1)
	done := func() {
		fe.counters.SessionEnd()
		e.release(fe)
		if l.handed.Add(-1) == 0 && l.softStop.Load() {
			l.wake() // the soft stop may be waiting for this one
		}
	}
	if err != nil {
		e.logf("%s: client %s: hand-off: %v", fe.conf, s.src(), err)
		if rec != nil {
			log.Log(rec) // status -1: nothing was answered
		}
		done()
		return
	}
	go func() {
		defer done()
		var w *answerConn
		if rec != nil {
			w = &answerConn{Conn: conn}
			conn = w
		}
		if after != nil {
			after.Conn = conn
			conn = after
		}
		start := time.Now()
		serve(conn)
		if rec != nil {
			rec.Status, rec.Bytes = w.status(), w.n
			rec.Tt += time.Since(start).Milliseconds()
			log.Log(rec)
		}
	}()
}

// localReply answers a request with a complete response fjord decided
// on its head (Local.Reply), through the after-response rules of the
// frontend and of be, the backend whose page claimed it (nil: the
// frontend's); the connection is then kept when the request was read
// whole, as after any answer of fjord's own. A 401 that carries a
// challenge is the proxy's error page for 401 instead, when it has one,
// with the challenge.
func (s *session) localReply(code int, page, challenge []byte, be *backend) {
	if code == 401 && challenge != nil {
		if p := s.errorPage(401); p != builtinPages[errIndex(401)] {
			page = p.withChallenge(s.l.out[:0], challenge, s.h.isHead, s.replyTxn())
			if page != nil {
				s.l.out = page[:0] // keep the grown buffer
			}
		}
	}
	a := s.prepareAnswer(code, page, be, answerRules)
	s.fe.counters.CountStatus(a.status)
	if s.logsTraffic() {
		s.setTerm('P', 'R') // refused by the proxy, as HAProxy logs its auth denials
		s.at.status = a.status
		s.emitBytes(RecordHTTP, int64(len(a.msg)))
	}
	s.sendAnswer(a)
}
