package engine

import (
	"errors"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fjordlb/fjord/balancer"
	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/engine/h1"
	"github.com/fjordlb/fjord/rules"
)

// HTTP mode. A request head is peeked (recv MSG_PEEK) into the loop's
// scratch buffer and parsed in place; the backend is chosen from it; only
// then is the head consumed and written to a server connection, and the
// body follows with exact lengths through the same copy-or-splice flows as
// tcp mode. The response head is peeked the same way. One request is in
// flight per client connection: a pipelined request waits in the client's
// socket until the response before it has ended, which keeps answers in
// order without buffering anything in userspace.

type reqPhase uint8

const (
	rqHead reqPhase = iota // waiting for the next request head
	rqBody                 // forwarding the request body
	rqDone                 // request forwarded; waiting for the response
)

type rspPhase uint8

const (
	rsNone rspPhase = iota
	rsHead          // waiting for the response head
	rsBody          // forwarding the response body
)

// httpSession is the HTTP state of a session; tcp sessions have none.
type httpSession struct {
	rq   reqPhase
	rs   rspPhase
	mode config.HTTPConnMode // effective for the current request

	requests  int       // request heads parsed on this client connection
	headLen   int       // the current request head, peeked, not consumed
	inHead    int       // body bytes consumed together with the head
	headStart time.Time // first byte of an incomplete head (zero: none)
	idleSince time.Time // end of the previous response
	reqDoneAt time.Time // request fully forwarded: "timeout server" runs
	lingerAt  time.Time

	reqKind, rspKind   h1.BodyKind
	reqChunk, rspChunk chunkScan

	isHead, isConnect, upgrade bool
	stale                      bool // the head must be parsed again (scratch reused)
	drained                    bool // the peek saw the client's last byte
	rspDrained                 bool // the response peek saw the server's last byte
	reqKeepAlive               bool // the request lets the server keep its connection
	closeAfter                 bool // close the client after this response
	reusable                   bool // the server connection may serve another request
	counted                    bool // SessionStart done for this request
	answered                   bool // response bytes reached the client
	local                      bool // fjord answers this request itself (a redirect, an error)
	reusedConn                 bool // the request went on a kept server connection
	resend                     bool // send retryHead on the new connection, not the client's bytes
	bodyWait                   bool // the head is whole; its body is awaited (option http-buffer-request)
	tunnel                     bool
	// reqParsed says the loop's request (l.req) is this session's
	// current request, parsed in this turn (httpNextHead): answers
	// rendered outside the rules may read it (replyTxn).
	reqParsed bool
	// continued says a 100 Continue answered the current request's
	// "Expect: 100-continue" (expectContinue).
	continued bool
	// reading: httpReadHead's loop runs; next: an answer of fjord's
	// own kept the connection, and the loop goes on with the next head
	// (nextHead).
	reading, next bool
	// What an answer of fjord's own needs of the current request, as
	// it came (noteRequest): its head's length in the client's socket
	// (0: none parsed yet) and its body's framing; reqBodied: it has a
	// body; cliClose: the client does not let the connection live.
	reqHL               int
	reqBody             h1.BodyKind
	reqCL               int64
	reqBodied, cliClose bool
	// noKeep: the connection closes after the current request's answer
	// whatever it is, something of the request being still on its way
	// (a queue's grant).
	noKeep bool
	// hold is the request or response a wait-for-body rule holds
	// (waitbody.go); allocated at a session's first wait, then kept.
	hold *bodyHold

	// routedTo is the backend the current request was routed to, nil
	// before routing: its error pages come before the frontend's.
	routedTo *backend

	conSrv *balancer.Server // the server the attached connection s.svr goes to

	line []byte // the request line, for the access log and capture.req.* (nil when neither reads it)
	// reqMinor and rspMinor are the HTTP/1 minor versions of the
	// current request and of its final response, -1 before their head
	// (capture.req.ver, capture.res.ver).
	reqMinor, rspMinor int8

	// retryHead is the bodiless request sent on a kept server connection,
	// until its response begins (retryOnNewConn).
	retryHead []byte
	// caps holds the current request's captured headers; nil when the
	// frontend captures none.
	caps *Captures
	// uid is the current request's unique id; nil without
	// "unique-id-format".
	uid *uniqueIDBuf

	// edited is the request head http-request rules rewrote, until it
	// is sent; nil when it goes as the client sent it.
	edited []byte
	// sniHost is the request's Host without its port, kept when a server
	// of the backend is named by it over TLS ("sni req.hdr(host)"): the
	// head is gone from the scratch buffer by the time the connection
	// is up.
	sniHost string
}

// modeRank orders connection modes as HAProxy 1.5's combination matrix
// does: the frontend's and the backend's options combine to the higher
// rank, keep-alive (the default) giving way to any explicit mode.
var modeRank = [...]int{
	config.HTTPKeepAlive:   0,
	config.HTTPTunnel:      1,
	config.HTTPServerClose: 2,
	config.HTTPClose:       3,
}

func combineModes(a, b config.HTTPConnMode) config.HTTPConnMode {
	if modeRank[b] > modeRank[a] {
		return b
	}
	return a
}

// httpStart begins HTTP processing of a new client connection.
func (s *session) httpStart() {
	s.h = &httpSession{}
	if s.logsTraffic() || s.fe.uid != nil || s.l.eng.keepLine {
		s.h.line = make([]byte, 0, MaxRequestLine) // also a unique id's %r, capture.req.*
	}
	if s.fe.uid != nil {
		s.h.uid = &uniqueIDBuf{}
	}
	if s.fe.caps != nil {
		s.h.caps = &Captures{} // once per connection, kept for its requests
	}
	s.c2s.keepOpen, s.s2c.keepOpen = true, true
	s.c2s.setLimit(0)
	s.s2c.setLimit(0)
	s.state = stHTTPHead
	s.rearm()
	s.httpReadHead()
}

// contentRejected ends a connection whose request a tcp-request content
// rule rejected. HAProxy logs the stream as one without a request line
// ("<BADREQ>", status -1, "PR"): the rules ran before the request line
// was taken for the log.
func (s *session) contentRejected(req *h1.Request) {
	if s.logsTraffic() {
		s.logRequestStart(req) // the request's timings and a fresh record
		s.h.line = s.h.line[:0]
	}
	s.tcpRejected()
}

// httpReadHead peeks at the client's next request head and, once it is
// whole, routes it. Requests fjord answers on the loop itself (a
// redirect, a deny, an error) are answered one after the other, without
// recursion however many a client pipelines: an answer that keeps the
// connection asks for the next head (nextHead), which this loop reads.
func (s *session) httpReadHead() {
	h := s.h
	h.reading = true
	for {
		s.httpNextHead()
		h.reqParsed = false
		if !h.next {
			break
		}
		h.next = false
	}
	h.reading = false
}

// httpNextHead handles one request head.
func (s *session) httpNextHead() {
	h, l := s.h, s.l
	// Nothing is known of the next request yet: an error before its head
	// is parsed is the frontend's, and a body would go with it.
	h.routedTo, h.isHead, h.reqHL = nil, false, 0
	s.at.localBe = nil
	if !s.cli.readable && !s.cli.holds() {
		return
	}
	buf := l.scratch[:l.eng.bufSize]
	n, err := s.cli.peek(buf)
	switch {
	case err == unix.EAGAIN:
		s.cli.readable = false
		if h.holding(false) && h.hold.expired {
			s.requestWaitExpired() // nothing came since the last look
		}
		return
	case err != nil:
		s.close(true)
		return
	case n == 0:
		s.close(false) // the client closed between requests
		return
	}
	req := &l.req
	hl, err := h1.ParseRequest(buf[:n], req)
	if err == h1.ErrNeedMore {
		switch {
		case n == len(buf):
			s.httpFailRaw(400, "request head larger than tune.bufsize (%d bytes)", len(buf))
		case s.cli.hup:
			s.close(false) // truncated head: nothing to answer
		default:
			if h.headStart.IsZero() {
				h.headStart = l.now
				s.rearm()
			}
			s.lastCli = l.now
			s.cli.readable = false
		}
		return
	}
	if err != nil {
		s.httpFailRaw(400, "%v", err)
		return
	}
	h.reqParsed = true
	s.noteRequest(req, hl)
	if h.holding(false) {
		s.resumeRequest(req, hl, n)
		return
	}
	if s.fe.bufferBody && !s.bodyArrived(req, buf[hl:n], n >= l.eng.recvLimit) {
		// "option http-buffer-request": wait for the body before
		// anything acts on the request, under "timeout http-request".
		// The request line is known now: a timeout logs it, as
		// HAProxy's "cD" (the client timed out sending its data).
		if !h.bodyWait && s.logsTraffic() {
			s.logRequestStart(req)
		}
		s.expectContinue(req, nil) // the field goes once the rules see the request
		h.bodyWait = true
		if h.headStart.IsZero() {
			h.headStart = l.now
			s.rearm()
		}
		s.lastCli = l.now
		s.cli.readable = false
		return
	}
	h.bodyWait = false
	h.isHead = req.IsMethod("HEAD")
	if !s.checkRequestChunks(req, hl, n) {
		return
	}
	h.requests++
	h.reqMinor, h.rspMinor = int8(req.Minor), -1
	s.lastRule = nil     // a new request is a new stream for HAProxy, whose last rule starts unset
	s.at.counted = false // a new request takes a new %rt
	if h.uid != nil {
		h.uid.set = false // and a new unique id
	}
	// Each request is a new stream in HAProxy, which its H1 mux creates
	// once the head is in: the transaction's variables start empty, and
	// the frontend's tcp-request content rules run first, so that the
	// variables they set are this request's.
	s.newStream() // each request starts from the session's addresses
	if rs := s.fe.tcpContent; len(rs) > 0 {
		t := s.txn(req)
		s.sessionVars(t, true)
		v, _ := tcpRulesRun(rs, t)
		s.lastRule = t.LastRule
		s.keepAddrs(t)
		switch v {
		case tcpReject:
			s.contentRejected(req)
			return
		case tcpSilentDrop:
			s.silentDrop()
			return
		}
	}
	s.fe.counters.Requests.Add(1)
	if s.fe.conf.MonitorURI != "" && isMonitorRequest(s.fe.conf.MonitorURI, req.URI) {
		s.monitorReply(s.txn(req)) // before anything else, and not logged
		return
	}
	if h.caps != nil {
		s.fe.caps.reset(h.caps)
		s.fe.caps.capture(h.caps, req.Headers, false)
	}
	if s.logsTraffic() || s.fe.uid != nil {
		s.logRequestStart(req) // before the head is consumed
	} else if h.line != nil {
		s.keepRequestLine(req) // for capture.req.*
	}
	// HAProxy's order (http_process_req_common, for the frontend, then
	// for the backend): the monitor URI (above), the frontend's
	// http-request rules, its stats
	// page, its redirect rules, the routing, the backend's http-request
	// rules, its stats page, its redirect rules.
	if h.edited != nil { // a previous request's, answered by fjord
		l.putEditBuf(h.edited)
		h.edited = nil
	}
	t := s.txn(req)
	t.Req.Room = l.eng.rewriteRoom(hl, bodyWithHead(req.Body(), req.ContentLength, n-hl))
	s.sessionVars(t, len(s.fe.tcpContent) == 0) // else started above
	if len(s.fe.logSamples) > 0 {
		s.clearSamples()
		s.captureSamples(t, atRequest) // the request as the client sent it
	}
	if s.fe.bufferBody {
		// What HAProxy's buffer holds: tune.bufsize - tune.maxrewrite.
		t.Body = l.requestBody(req, buf[hl:max(hl, min(n, l.eng.recvLimit))])
		s.expectContinue(req, t.Req)
	}
	s.processRequest(t, req, hl, n, nil, rules.Resume{})
}

// checkRequestChunks checks the chunk framing that came with a chunked
// request's head (hl bytes, n peeked) before the head goes anywhere: a
// request refused for its body should not have reached a server at all.
func (s *session) checkRequestChunks(req *h1.Request, hl, n int) bool {
	if !req.Chunked || n <= hl {
		return true
	}
	var cs chunkScan
	if _, err := cs.scan(s.l.scratch[hl:n]); err != nil && err != h1.ErrNeedMore {
		s.httpFail(400, "request body: %v", err)
		return false
	}
	return true
}

// processRequest runs a parsed request's http-request rules and routes
// it: from the frontend's rules, or, when a wait-for-body rule of
// backend be held it, from where be's rules stopped (from). The head
// (hl bytes, n peeked with its body) is still in the client's socket.
func (s *session) processRequest(t *rules.Txn, req *h1.Request, hl, n int, be *backend, from rules.Resume) {
	h, l := s.h, s.l
	if be == nil {
		var handled bool
		if be, handled = s.routeRequest(t, req, hl, n, from); handled {
			return
		}
		from = rules.Resume{}
	}
	if be.Conf != s.fe.conf {
		if s.runRequestRules(be.rules, be, t, hl, n, from) {
			return
		}
		if s.restrictHeaderNames(be.Conf, be, t) {
			return
		}
	}
	if len(be.redirects) > 0 && be.Conf != s.fe.conf { // a listen's were tried
		if r := matchRedirect(be.redirects, t); r != nil {
			s.httpRedirect(r, be, hl)
			return
		}
	}
	s.be = be
	s.at.routed = true
	h.routedTo = be
	s.retriesLeft = be.Conf.Retries
	h.mode = combineModes(s.fe.conf.HTTPConnMode, be.Conf.HTTPConnMode)
	h.headLen, h.inHead = hl, 0
	h.isConnect = req.IsMethod("CONNECT")
	h.upgrade = req.Upgrade
	// HTTP/1.0 clients are answered and closed: keeping them alive would
	// need the response rewritten to announce it.
	h.closeAfter = req.Close || req.Minor == 0 || h.mode == config.HTTPClose
	// A server must close after answering a request that asked it to,
	// announced or not: such a connection is never reused.
	h.reqKeepAlive = !req.Close && (req.Minor == 1 || req.KeepAlive)
	h.reqKind = req.Body()
	h.reqChunk = chunkScan{}
	if h.reqKind == h1.BodyLength {
		// Body bytes that came with the head go in the same read.
		h.inHead = int(min(int64(n-hl), req.ContentLength))
	}
	// A peek that returned less than it could and ends where this
	// request ends proves the socket holds nothing more: after the head
	// is consumed the next request needs no EAGAIN probe, its arrival
	// brings a new edge.
	h.drained = n < l.eng.bufSize && n == hl+h.inHead && !s.cli.hup
	h.stale = false
	h.answered = false
	breq := balancer.Request{Src: s.src().Addr(), URI: req.URI, Headers: req}
	sv, err := be.Acquire(breq, nil, s)
	switch {
	case err != nil:
		s.httpFail(503, "%s: %v", be.Conf, err)
		return
	case sv == nil:
		h.stale = true
		s.state = stQueued
		s.queued = l.now
		s.at.beQueue = be.Counters.QueueCur.Load() - 1
		s.rearm()
		return
	}
	s.srv = sv
	s.at.slot = l.now
	s.httpAttach()
}

// routeRequest runs the frontend's part of a request, from where its
// http-request rules stopped (from): its rules, its stats page, its
// redirect rules, the routing, the backend's tcp-request content rules.
// It returns the backend, or handled when the request was answered (or
// the session ended, or it waits).
func (s *session) routeRequest(t *rules.Txn, req *h1.Request, hl, n int, from rules.Resume) (be *backend, handled bool) {
	h, l := s.h, s.l
	if s.runRequestRules(s.fe.rules, nil, t, hl, n, from) {
		return nil, true
	}
	if s.restrictHeaderNames(s.fe.conf, nil, t) {
		return nil, true
	}
	ic := l.eng.intercept
	if fe := s.fe; len(fe.redirects) > 0 {
		if ic != nil {
			if ans := ic(fe.conf.Name, "", req); ans.claimed() {
				s.answerLocal(ans, nil)
				return nil, true
			}
		}
		if r := matchRedirect(fe.redirects, t); r != nil {
			s.httpRedirect(r, nil, hl)
			return nil, true
		}
	}
	be = s.fe.route.backend(t)
	if be != nil && be.sniFromHost {
		h.sniHost = hostName(req.Host)
	}
	if ic != nil {
		// After routing: a stats page declared in a backend answers the
		// requests routed to that backend, as in HAProxy.
		beName := ""
		if be != nil {
			beName = be.Name
		}
		if ans := ic(s.fe.conf.Name, beName, req); ans.claimed() {
			s.answerLocal(ans, be)
			return nil, true
		}
	}
	if be == nil {
		s.httpFail(503, "no backend for %s", req.Path)
		return nil, true
	}
	if be.Conf != s.fe.conf && !s.runContentRules(be.tcpContent, t) {
		return nil, true
	}
	t.Backend, t.BackendID = be.Name, be.id
	return be, false
}

// answerLocal hands a request Intercept claimed to its answer; be is the
// backend it was routed to, nil when the frontend's page claimed it.
func (s *session) answerLocal(ans Local, be *backend) {
	s.at.localBe = be
	s.h.routedTo = be
	if ans.Reply != nil {
		s.localReply(ans.Status, ans.Reply, ans.Authenticate, be)
		return
	}
	s.handOff(ans.Serve, be)
}

// httpAttach finds a connection to s.srv for the current request: the one
// the session already holds, an idle one of the loop, or a new one.
func (s *session) httpAttach() {
	h, l := s.h, s.l
	key := idleKey{srv: s.srv, sni: s.serverSNI(s.srv)}
	if s.svr.fd >= 0 {
		if h.conSrv == s.srv && s.svr.sni() == key.sni && !s.svr.readable && !s.svr.hup {
			h.reusedConn = true
			s.httpSendHead()
			return
		}
		s.releaseServerConn()
	}
	// "http-reuse safe": a session's first request gets its own
	// connection; later ones may take one another session left.
	if h.requests > 1 {
		if fd, t := l.idle.take(key); fd >= 0 {
			s.svr = endpoint{fd: fd, s: s, writable: true, tls: t, unix: s.srv.Conf.Unix.IsValid()}
			s.svrSrc = netip.AddrPort{}
			l.byFD[fd] = &s.svr
			h.conSrv = s.srv
			s.lastSrv = l.now
			h.reusedConn = true
			s.httpSendHead()
			return
		}
	}
	h.reusedConn = false
	h.stale = true // connecting returns to the loop; scratch will be reused
	s.connect()
}

// releaseServerConn gives the attached server connection to the loop's
// idle pool when it can serve another request, and closes it otherwise.
func (s *session) releaseServerConn() {
	h := s.h
	if s.svr.fd < 0 {
		return
	}
	// A connection that began with a PROXY header speaks for one client:
	// it is never given to another. A TLS one goes with its session.
	if h.reusable && h.conSrv != nil && !s.svr.hup && !s.svr.readable && h.conSrv.Conf.SendProxy == 0 &&
		s.c2s.inPipe == 0 && s.s2c.inPipe == 0 && h.mode == config.HTTPKeepAlive && (s.svr.tls == nil || s.svr.tls.quiet()) {
		s.l.idle.put(s.svr.fd, h.conSrv, s.svr.tls)
	} else {
		s.svr.dropTLS()
		s.l.closeFD(s.svr.fd)
	}
	s.svr = endpoint{fd: -1}
	s.svrSrc = netip.AddrPort{}
	h.conSrv, h.reusable = nil, false
}

// httpSendHead consumes the request head (and a body that came with it),
// writes it to the server, possibly rewritten, and starts the exchange.
func (s *session) httpSendHead() {
	h, l := s.h, s.l
	s.state = stEstablished
	if s.at.conn.IsZero() {
		s.at.conn = l.now // a kept connection: no connect time
	}
	if h.resend {
		s.httpResend()
		return
	}
	total := h.headLen + h.inHead
	buf := l.scratch[:total]
	if n, err := s.cli.read(buf); err != nil || n != total {
		// The bytes were peeked, so only a reset can take them away.
		s.close(true)
		return
	}
	if h.drained && !h.stale {
		// Only right after the peek: while the session waited for a
		// connection, an edge for new bytes may have come and gone.
		s.cli.readable = false
	}
	req := &l.req
	head := buf[:h.headLen]
	if h.edited != nil {
		head = h.edited // rules rewrote it
	}
	if h.stale {
		if _, err := h1.ParseRequest(head, req); err != nil {
			s.close(true)
			return
		}
		h.stale = false
	}
	out := buf
	xff, addXFF := s.forwardFor()
	xot, addXOT := s.originalTo()
	if addXFF || addXOT || req.Reframe || s.closeToServer(req) || h.edited != nil || s.fe.uidHeader != "" {
		out = s.rewriteRequest(req, head, xff, xot)
		out = append(out, buf[h.headLen:]...)
	}
	if h.edited != nil {
		l.putEditBuf(h.edited)
		h.edited = nil
	}
	// A request sent whole on a kept connection (no body, or a body
	// that came with the head) is kept until its response begins: the
	// server may have closed that connection as the request left, and
	// then it goes again on a new one.
	h.retryHead = h.retryHead[:0]
	if h.reusedConn && (h.reqKind == h1.BodyNone || h.reqKind == h1.BodyLength && int64(h.inHead) == req.ContentLength) {
		h.retryHead = append(h.retryHead, out...)
	}
	s.be.Counters.SessionStart() // the server's count is the balancer's
	s.be.Counters.Requests.Add(1)
	h.counted = true
	s.c2s.bytes += int64(len(out))
	// Awaiting the response from here on: if the server turns out to
	// have closed (a kept connection it just dropped), writeFailed ends
	// the request and the missing answer becomes a 502.
	h.rs = rsHead
	h.rq = rqBody
	if !s.c2s.writeHead(s, out) {
		return
	}
	if h.rq == rqDone { // the write failed
		s.httpForward()
		return
	}
	s.touch(&s.cli)
	switch h.reqKind {
	case h1.BodyLength:
		s.c2s.setLimit(l.req.ContentLength - int64(h.inHead))
	case h1.BodyChunked:
		s.c2s.setLimit(0)
	default:
		s.c2s.setLimit(0)
	}
	h.rq = rqBody
	if h.reqKind == h1.BodyNone || (h.reqKind == h1.BodyLength && s.c2s.left == 0) {
		h.rq = rqDone
		h.reqDoneAt = l.now
	}
	h.rs = rsHead
	if h.mode == config.HTTPTunnel {
		// Only the first request is analysed; from here on the
		// connection is a plain spliced stream, HAProxy 1.4's default.
		// Its response is never parsed: logasap logs it now.
		s.logASAP()
		s.httpTunnel()
		return
	}
	s.httpForward()
}

// httpTunnel turns the session into a TCP tunnel (Upgrade, CONNECT,
// option http-tunnel). Bytes already stashed in a flow's pipe go first.
func (s *session) httpTunnel() {
	h := s.h
	h.tunnel = true
	h.rq, h.rs = rqDone, rsNone
	s.c2s.unlimit()
	s.s2c.unlimit()
	s.rearm()
	s.forward()
}

// httpForward moves the current request's body and the response.
func (s *session) httpForward() {
	h := s.h
	for {
		if h.rq == rqBody || s.c2s.inPipe > 0 {
			done, ok := s.moveBody(&s.c2s, h.reqKind, &h.reqChunk, true)
			if !ok {
				return
			}
			if done && h.rq == rqBody {
				h.rq = rqDone
				h.reqDoneAt = s.l.now
			}
		}
		switch h.rs {
		case rsHead:
			again, ok := s.httpReadResponse()
			if !ok {
				return
			}
			if again {
				continue
			}
		case rsBody:
			done, ok := s.moveBody(&s.s2c, h.rspKind, &h.rspChunk, false)
			if !ok {
				return
			}
			if done {
				s.httpResponseDone()
				return
			}
		}
		break
	}
	s.rearm()
}

// moveBody forwards a message body on f and reports whether it ended. It
// returns ok false when it closed the session.
func (s *session) moveBody(f *flow, kind h1.BodyKind, cs *chunkScan, request bool) (done, ok bool) {
	for {
		if !f.pump(s) {
			return false, false
		}
		if kind == h1.BodyClose {
			return f.eof && f.inPipe == 0, true
		}
		if !f.idle() {
			if f.eof {
				// The peer closed in the middle of the message.
				s.close(true)
				return false, false
			}
			return false, true
		}
		if kind != h1.BodyChunked || cs.done() {
			return true, true
		}
		if !f.src.readable && !f.src.holds() {
			return false, true
		}
		buf := s.l.scratch[:s.l.eng.bufSize]
		n, err := f.src.peek(buf)
		switch {
		case err == unix.EAGAIN:
			f.src.readable = false
			return false, true
		case err != nil || n == 0:
			s.close(true) // reset, or closed inside the chunked body
			return false, false
		}
		saved := *cs
		adv, err := cs.scan(buf[:n])
		if err == h1.ErrNeedMore && n == len(buf) {
			err = errFramingTooLong // trailers that do not fit tune.bufsize
		}
		if request && err == nil && adv < int64(n) && !cs.done() && n < len(buf) && !f.src.hup {
			// What follows adv is the start of a size line (or of the
			// trailers) that is not whole yet. Wait for it: the bytes
			// before it go on only once the framing after them is known
			// to be valid, so that a body ending in a 400 has not had
			// its last good chunk sent ahead of the bad line. Responses
			// are not held: a bad line there ends in a reset either way.
			*cs = saved
			f.src.readable = false
			return false, true
		}
		if err == h1.ErrNeedMore {
			if f.src.hup {
				s.close(true)
				return false, false
			}
			f.src.readable = false
			return false, true
		}
		if err != nil {
			if request && !s.h.answered {
				s.httpFail(400, "request body: %v", err)
			} else {
				s.l.eng.logf("%s, server '%s': chunked body: %v", s.be.Conf, s.srvName(), err)
				s.close(true)
			}
			return false, false
		}
		f.setLimit(adv)
	}
}

var errFramingTooLong = errors.New("chunk framing or trailers larger than tune.bufsize")

// httpReadResponse peeks at the response head and forwards it. again is
// true when it forwarded an interim (1xx) response and another head follows.
func (s *session) httpReadResponse() (again, ok bool) {
	h, l := s.h, s.l
	if s.s2c.inPipe > 0 {
		// The tail of an interim response waits in the pipe: the next
		// head goes after it, never ahead.
		if !s.s2c.pump(s) {
			return false, false
		}
		if s.s2c.inPipe > 0 {
			return false, true
		}
	}
	if !s.svr.readable {
		return false, true
	}
	buf := l.scratch[:l.eng.bufSize]
	n, err := s.svr.peek(buf)
	switch {
	case err == unix.EAGAIN:
		s.svr.readable = false
		if h.holding(true) && h.hold.expired {
			s.responseWaitExpired() // nothing came since the last look
			return false, false
		}
		return false, true
	case err != nil:
		if s.retryOnNewConn() {
			return false, false
		}
		s.httpFail(502, "server %s: %v", s.srvName(), err)
		return false, false
	case n == 0:
		if s.retryOnNewConn() {
			return false, false
		}
		s.httpFail(502, "server %s closed the connection without a response", s.srvName())
		return false, false
	}
	h.retryHead = h.retryHead[:0] // the server answers: no retry now
	resp := &l.resp
	hl, err := h1.ParseResponse(buf[:n], resp)
	if err == h1.ErrNeedMore {
		switch {
		case n == len(buf):
			s.httpFail(502, "server %s: response head larger than tune.bufsize", s.srvName())
			return false, false
		case s.svr.hup:
			s.httpFail(502, "server %s: truncated response head", s.srvName())
			return false, false
		}
		s.svr.readable = false
		return false, true
	}
	if err != nil {
		s.setTerm('P', 'H') // an invalid response
		s.httpFail(502, "server %s: %v", s.srvName(), err)
		return false, false
	}
	s.lastSrv = l.now
	status := resp.Status
	resuming := h.holding(true) // the head was counted when first seen
	if !resuming {
		s.countResponse(resp)
	}
	tunnel := false
	switch {
	case status == 101:
		if !h.upgrade {
			s.httpFail(502, "server %s: 101 Switching Protocols without an Upgrade request", s.srvName())
			return false, false
		}
		tunnel = true
	case status < 200:
		// Interim response (100 Continue, 103 Early Hints): forward it
		// and wait for the next head.
		if !s.forwardResponseHead(hl, 0, false) {
			return false, false
		}
		return true, true
	case h.isConnect && status < 300:
		tunnel = true
		resp.OpensTunnel()
	}
	if tunnel {
		if !s.forwardResponseHead(hl, 0, false) {
			return false, false
		}
		s.logASAP()
		s.httpTunnel()
		return false, false
	}
	h.rspKind = resp.Body(h.isHead)
	h.rspChunk = chunkScan{}
	h.reusable = h.reqKeepAlive && !resp.Close && (resp.Minor == 1 || resp.KeepAlive) && h.rspKind != h1.BodyClose
	if h.rspKind == h1.BodyClose {
		h.closeAfter = true
	}
	if l.draining {
		h.closeAfter = true // soft stop: this response is the connection's last
	}
	inHead := 0
	if h.rspKind == h1.BodyLength {
		inHead = int(min(int64(n-hl), resp.ContentLength))
	}
	// Whether the server sent anything after this response: bytes out of
	// turn would be taken for the answer to the next request.
	whole := h.rspKind == h1.BodyNone || (h.rspKind == h1.BodyLength && int64(inHead) == resp.ContentLength)
	h.rspDrained = false
	if whole {
		if n > hl+inHead {
			h.reusable = false
		} else if n < len(buf) && !s.svr.hup {
			h.rspDrained = true // the peek saw the server's last byte
		}
	}
	room := l.eng.rewriteRoom(hl, bodyWithHead(h.rspKind, resp.ContentLength, n-hl))
	full := n >= l.eng.recvLimit
	if resuming && !s.resumeResponse(room, buf[hl:n], full) || !resuming && !s.runResponseRules(room, buf[hl:n], full) {
		return false, false
	}
	if !s.forwardResponseHead(hl, inHead, h.closeAfter && !resp.Close) {
		return false, false
	}
	s.logASAP()
	switch h.rspKind {
	case h1.BodyLength:
		s.s2c.setLimit(resp.ContentLength - int64(inHead))
	case h1.BodyClose:
		s.s2c.limited = false
	default:
		s.s2c.setLimit(0)
	}
	h.rs = rsBody
	return true, true
}

// countResponse accounts for a response head once it is parsed: its
// status (log, counters, passive checks) and its captured fields.
func (s *session) countResponse(resp *h1.Response) {
	h, l := s.h, s.l
	status := resp.Status
	if status >= 200 || status == 101 {
		s.at.status, s.at.resp = status, l.now
		h.rspMinor = int8(resp.Minor)
	}
	if h.caps != nil && (status >= 200 || status == 101) {
		s.fe.caps.capture(h.caps, resp.Headers, true)
	}
	s.srv.Counters.CountStatus(status)
	s.be.Counters.CountStatus(status)
	s.fe.counters.CountStatus(status)
	if status >= 200 {
		s.observeHTTP(status)
	}
}

// forwardResponseHead consumes a response head of hl bytes and inHead body
// bytes from the server and writes them to the client, announcing
// "Connection: close" when the client will be closed after it, and with
// the framing fjord parsed when the server's was not canonical.
func (s *session) forwardResponseHead(hl, inHead int, addClose bool) bool {
	l := s.l
	buf := l.scratch[:hl+inHead]
	if n, err := s.svr.read(buf); err != nil || n != len(buf) {
		s.close(true)
		return false
	}
	out := buf
	if m := &l.resMsg; m.Edited {
		// Response rules changed the head: it is written from their
		// Msg, whose slices alias what was peeked, and the read put
		// back the very same bytes.
		out = rewriteResponseMsg(l.out[:0], buf[:hl], m, &l.resp, addClose)
		out = append(out, buf[hl:]...)
		l.out = out[:0]
		m.Edited = false
	} else if addClose || l.resp.Reframe {
		// The read put back the very bytes that were peeked and parsed,
		// so l.resp still describes them.
		out = rewriteResponse(l.out[:0], buf[:hl], &l.resp, addClose)
		out = append(out, buf[hl:]...)
		l.out = out[:0]
	}
	s.h.answered = true
	s.s2c.bytes += int64(len(out))
	s.touch(&s.svr)
	return s.s2c.writeHead(s, out)
}

// httpResponseDone ends a request/response exchange: it frees the server
// slot, keeps or drops the server connection, and either waits for the
// next request or closes the client.
func (s *session) httpResponseDone() {
	h, l := s.h, s.l
	if h.local {
		s.httpLocalDone()
		return
	}
	if s.logsTraffic() && s.at.pending {
		s.emit(RecordHTTP)
	}
	s.endRequest()
	if h.rq != rqDone {
		// The server answered before the whole request arrived: the
		// rest of it cannot be told from a next request.
		h.closeAfter = true
		h.reusable = false
	}
	if h.reusable && !h.rspDrained && s.serverSpoke() {
		h.reusable = false
	}
	if h.mode != config.HTTPKeepAlive || !h.reusable {
		s.releaseServerConn()
	} else {
		// The response was taken exactly; "readable" only meant "not
		// drained yet". Whatever the server sends from now on (a FIN,
		// or bytes out of turn) comes with a new edge, and the
		// connection is dropped then.
		s.svr.readable = false
	}
	if h.closeAfter || l.draining { // soft stop: see httpReadResponse
		s.lingerClose()
		return
	}
	h.rq, h.rs = rqHead, rsNone
	h.headStart, h.continued = time.Time{}, false
	h.idleSince = l.now
	s.c2s.setLimit(0)
	s.s2c.setLimit(0)
	s.state = stHTTPHead
	s.rearm()
	s.nextHead() // a pipelined request may be waiting
}

// serverSpoke reports bytes (or a close) waiting on the server connection
// after a response whose end the response peek could not vouch for.
func (s *session) serverSpoke() bool {
	if s.svr.fd < 0 {
		return false
	}
	if t := s.svr.tls; t != nil && !t.quiet() {
		return true // bytes the record layer took from the socket
	}
	var b [1]byte
	_, err := sysPeek(s.svr.fd, b[:])
	return err != unix.EAGAIN
}

// endRequest gives back the current request's server slot and accounts
// for it.
func (s *session) endRequest() {
	h := s.h
	if s.srv != nil {
		s.srv.Counters.BytesIn.Add(s.c2s.bytes)
		s.srv.Counters.BytesOut.Add(s.s2c.bytes)
		s.be.Release(s.srv) // the balancer counts the server's sessions
		s.srv = nil
	}
	if s.be != nil {
		s.be.Counters.BytesIn.Add(s.c2s.bytes)
		s.be.Counters.BytesOut.Add(s.s2c.bytes)
		if h.counted {
			s.be.Counters.SessionEnd()
		}
	}
	s.fe.counters.BytesIn.Add(s.c2s.bytes)
	s.fe.counters.BytesOut.Add(s.s2c.bytes)
	h.counted = false
	s.c2s.resetCount()
	s.s2c.resetCount()
}

// srvID is the server's id (srv_id), 0 before one is chosen.
func (s *session) srvID() int {
	if s.srv != nil {
		return s.srv.ID
	}
	return 0
}

func (s *session) srvName() string {
	if s.srv != nil {
		return s.srv.Name
	}
	return "-"
}

// httpHeadDeadline: "timeout http-request" bounds the wait for a whole
// head once it has begun (and for the first one); between requests "timeout
// http-keep-alive" bounds the wait for the next one to begin. Each falls
// back as in HAProxy: keep-alive to http-request, http-request to client.
func (s *session) httpHeadDeadline(earliest func(time.Time, time.Duration)) {
	h, t := s.h, &s.fe.conf.Timeouts
	if h.holding(false) {
		s.holdDeadline(earliest) // the head is whole: its body is awaited
		return
	}
	hr := t.HTTPRequest
	if hr <= 0 {
		hr = t.Client
	}
	switch {
	case h.requests == 0:
		// The first head is timed from the connection's start, so that
		// trickling bytes cannot extend it.
		earliest(s.start, hr)
	case !h.headStart.IsZero():
		earliest(h.headStart, hr)
	default:
		ka := t.HTTPKeepAlive
		if ka <= 0 {
			ka = hr
		}
		earliest(h.idleSince, ka)
	}
}

// httpDeadline is the deadline of an exchange in progress: "timeout client"
// while fjord waits on the client, "timeout server" while it waits on the
// server (from the end of the request for the response head: 504). While
// bytes wait for a peer that does not take them (clientBlocks,
// serverBlocks), fjord waits on that peer only, and it is the one closed
// at its timeout ("cD" or "sD"), as in HAProxy.
func (s *session) httpDeadline(earliest func(time.Time, time.Duration)) {
	h, t := s.h, &s.fe.conf.Timeouts
	if h.local {
		// An answer of fjord's own waits for the client to take it;
		// there may be no backend at all.
		earliest(s.lastCli, t.Client)
		return
	}
	bt := &s.be.Conf.Timeouts
	if h.holding(true) {
		s.holdDeadline(earliest)
	}
	if (h.rq == rqBody || h.rs == rsBody || s.c2s.inPipe > 0 || s.s2c.inPipe > 0) && !s.serverBlocks() {
		earliest(s.lastCli, t.Client)
	}
	if s.serverBlocks() {
		earliest(s.lastSrv, s.serverTimeout(bt)) // a request body the server does not read
	}
	switch h.rs {
	case rsHead:
		if h.rq == rqDone && !h.holding(true) {
			earliest(h.reqDoneAt, s.serverTimeout(bt))
		}
	case rsBody:
		if !s.clientBlocks() {
			earliest(s.lastSrv, s.serverTimeout(bt))
		}
	}
}

// retryOnNewConn sends the request again on a new connection to the same
// server when the kept connection it went on closed before any byte of
// a response: the server closed it as the request left, which HAProxy
// retries too. Only a request sent whole in one write is kept for this
// (retryHead), and only once. It reports whether the request was sent
// again.
func (s *session) retryOnNewConn() bool {
	h := s.h
	if !h.reusedConn || len(h.retryHead) == 0 || h.answered || s.s2c.inPipe > 0 {
		return false
	}
	s.l.eng.logf("%s: server %s closed a kept connection as a request left: sending it again on a new one", s.be.Conf, s.srvName())
	s.dropServer()
	h.conSrv, h.reusedConn, h.resend = nil, false, true
	h.rq, h.rs = rqDone, rsNone
	s.c2s.setLimit(0)
	s.s2c.setLimit(0)
	s.at.conn = time.Time{}
	s.connect()
	return true
}

// httpResend writes the kept request, whole, to the new server connection
// and waits for its response.
func (s *session) httpResend() {
	h := s.h
	h.resend = false
	out := h.retryHead
	h.retryHead = h.retryHead[:0] // once
	h.rs, h.rq = rsHead, rqBody
	if !s.c2s.writeHead(s, out) {
		return
	}
	if h.rq == rqDone { // the write failed
		s.httpForward()
		return
	}
	s.touch(&s.cli)
	s.c2s.setLimit(0)
	h.rq = rqDone
	h.reqDoneAt = s.l.now
	s.httpForward()
}
