package engine

import (
	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/engine/h1"
	"github.com/fjordlb/fjord/rules"
)

// The answers fjord gives itself (a deny, a tarpit, an auth, a return, a
// redirect, an error page, the monitor URI, the stats page's 401) go out
// as HAProxy 2.6 sends its own: through the http-after-response rules,
// the backend's then the frontend's (http_ana.c, http_reply_and_close,
// http_reply_message, http_forward_proxy_resp), with the client
// connection then kept for the next request when HAProxy's H1 mux keeps
// it (mux_h1.c): the request was read whole, the client lets the
// connection live, and the answer does not say "Connection: close" (the
// built-in 400 and 408 pages do). The answers of the H1 mux itself skip
// both: a request head it could not parse (400) or that did not come in
// time (408) is answered and the connection closed.

// answerHow says what an answer goes through.
type answerHow uint8

const (
	// answerRules: the http-after-response rules, then the connection
	// is kept when it can be.
	answerRules answerHow = iota
	// answerRedirect: as answerRules, but a request with a body not yet
	// taken closes the connection, as HAProxy's
	// http_apply_redirect_rule says "Connection: close" then, whether
	// the body came or not.
	answerRedirect
	// answerRaw: neither rules nor keep-alive, as HAProxy's H1 mux
	// answers a head it could not read.
	answerRaw
)

// answerOut is an answer as it goes to the client.
type answerOut struct {
	msg    []byte // head and body; empty: the connection closes without a word
	status int    // the status the client gets, as the rules left it (logged)
	keep   bool   // the connection serves the next request after it
}

// Connection values an answer ends with (mux_h1.c,
// h1_update_res_conn_value).
const (
	connValueClose = "close"
	connValueAlive = "keep-alive"
)

// prepareAnswer makes msg, the whole answer (head and body) fjord built
// for the current request with status code, what the client gets: the
// http-after-response rules of be (nil: of the frontend alone) and of
// the frontend run on it unless how is answerRaw; the connection field
// says whether the connection is kept; a HEAD request gets the head
// alone. When the connection is kept, the request has been taken from
// the client's socket. The bytes are valid until the loop's next answer.
func (s *session) prepareAnswer(code int, msg []byte, be *backend, how answerHow) answerOut {
	h, l := s.h, s.l
	if len(msg) == 0 {
		// errorfile /dev/null: no answer, so no rules (HAProxy runs
		// none on an empty reply), and a close.
		return answerOut{status: code}
	}
	hl, err := h1.ParseResponse(msg, &l.resp)
	if err != nil {
		// An answer fjord cannot read back is a bug in fjord: sent
		// as it is, then the connection closes.
		l.eng.logf("%s: client %s: the %d answer fjord built is invalid (%v): sent as it is", s.fe.conf, s.src(), code, err)
		return answerOut{msg: msg, status: code}
	}
	var m *rules.Msg
	status := code
	if how != answerRaw {
		if sets := s.afterSets(be); sets[0] != nil || sets[1] != nil {
			a := afterRun{s: s, sets: sets, t: s.answerTxn(be), resp: &l.resp, m: &l.resMsg, buf: &l.out}
			msg, hl, status = a.run(code, msg, hl)
			m = a.m
			if len(msg) == 0 {
				return answerOut{status: status}
			}
			if hl < 0 {
				return answerOut{msg: msg, status: status}
			}
		}
	}
	keep := how != answerRaw && s.mayKeep(be, how == answerRedirect) && !answerCloses(&l.resp, m) && s.takeRequest()
	conn := answerConnValue(keep, l.resp.Minor, int(h.reqMinor))
	out := appendAnswerHead(l.ans[:0], msg[:hl], &l.resp, m, conn, true)
	if !h.isHead {
		out = append(out, msg[hl:]...)
	}
	l.ans = out[:0] // keep a grown buffer
	return answerOut{msg: out, status: status, keep: keep}
}

// afterSets are the http-after-response rule sets an answer to a
// request routed to be (nil: not routed) goes through, in HAProxy's
// order (http_eval_after_res_rules): be's, then the frontend's, once
// for a listen section. A nil set has no rule.
func (s *session) afterSets(be *backend) (sets [2]*rules.HTTPRules) {
	fe := s.fe.rules
	if be != nil && be.rules != nil && be.rules != fe {
		sets[0] = be.rules.after
	}
	if fe != nil {
		sets[1] = fe.after
	}
	return sets
}

// answerTxn fills the loop's Txn for the after-response rules of an
// answer: the request while fjord holds it (HAProxy's rules still see
// it in its buffer), the backend it was routed to (be, nil: none), the
// server, the session's variables.
func (s *session) answerTxn(be *backend) *rules.Txn {
	t := s.txn(s.heldRequest())
	s.sessionVars(t, false)
	if be != nil {
		t.Backend, t.BackendID = be.Name, be.id
	}
	t.Server, t.ServerID = s.srvName(), s.srvID()
	return t
}

// answerBackend is the backend whose rules and pages an error answer
// goes through: the one the request was routed to, or whose rules
// answered it; nil for the frontend's.
func (s *session) answerBackend() *backend {
	if h := s.h; h != nil && h.routedTo != nil {
		return h.routedTo
	}
	return s.at.localBe
}

// afterRun is an answer going through the http-after-response rules:
// on the loop (prepareAnswer) or in a handler's goroutine (afterConn),
// each with its own Txn, head and buffer.
type afterRun struct {
	s    *session
	sets [2]*rules.HTTPRules
	t    *rules.Txn
	resp *h1.Response // the answer's head, parsed
	m    *rules.Msg   // the head as the rules leave it
	buf  *[]byte      // where a 500 that replaces the answer is rendered
	// replaced: a rule failed, and the proxy's 500 took the answer's
	// place.
	replaced bool
}

// run takes msg (status code, its head parsed in a.resp, hl bytes)
// through the rule sets, as HAProxy's http_reply_and_close: an answer a
// rule fails on is replaced by the proxy's 500, whose own rules run
// once; a 500 that fails too goes without them (TX_CONST_REPLY). It
// returns the answer that goes and its head's length, -1 when it is not
// one fjord can read (it then goes as it is), and its status as the
// rules left it; a.m holds its head as they left it.
func (a *afterRun) run(code int, msg []byte, hl int) ([]byte, int, int) {
	e := a.s.l.eng
	constReply := false
	for {
		a.t.Res = fillResMsg(a.m, a.resp)
		a.t.Res.Room = e.rewriteRoom(hl, len(msg)-hl)
		a.t.Response = true
		if constReply {
			return msg, hl, code
		}
		failed := a.s.runAfterSets(a.sets, a.t)
		if failed == nil {
			if a.m.Status != a.resp.Status {
				code = a.m.Status // set-status: the client's, and the log's
			}
			return msg, hl, code
		}
		then := "answering 500 instead"
		if code == 500 {
			then = "sending the 500 without the rules"
		}
		e.logf("%s: client %s: 'http-after-response %s' at %s failed on the %d answer: %s", a.s.fe.conf, a.s.src(),
			failed.Action, failed.Pos, code, then)
		constReply = code == 500
		code = 500
		a.replaced = true
		// The failed answer is gone (HAProxy truncates it): the 500's
		// own fields read no response.
		a.t.Res, a.t.Response = nil, false
		msg = a.page500()
		if len(msg) == 0 {
			return nil, 0, code
		}
		var err error
		if hl, err = h1.ParseResponse(msg, a.resp); err != nil {
			return msg, -1, code
		}
	}
}

// page500 is the proxy's 500 for the current request, rendered into
// a.buf, its body included (a HEAD request's is left out when it is
// written).
func (a *afterRun) page500() []byte {
	p := a.s.errorPage(500)
	if p.reply == nil {
		return p.msg
	}
	out := p.reply.Append((*a.buf)[:0], a.t, "", false)
	*a.buf = out[:0]
	return out
}

// runAfterSets runs the rule sets on t.Res and keeps what they decided
// for the stream (the last rule, captures, the log level). It returns
// the rule that failed (a rewrite in strict mode), nil when none did.
func (s *session) runAfterSets(sets [2]*rules.HTTPRules, t *rules.Txn) *config.HTTPRule {
	for _, rs := range sets {
		if rs == nil {
			continue
		}
		v := rs.RunFrom(t, t.Res, rules.Resume{})
		s.lastRule = t.LastRule
		s.keepCaptures(t, true)
		switch v.Outcome {
		case rules.Continue, rules.Allow:
		default:
			return v.Rule
		}
	}
	return nil
}

// mayKeep reports whether the client connection may serve another
// request after an answer of fjord's own, the answer and the request's
// bytes aside: the client lets it live (HTTP/1.1 without "Connection:
// close", or HTTP/1.0 with keep-alive), "option httpclose" does not
// apply, fjord is not stopping, nothing of the request is still on its
// way (noKeep), and for a redirect (redirect) the request has no body
// still in the client's socket.
func (s *session) mayKeep(be *backend, redirect bool) bool {
	h := s.h
	mode := s.fe.conf.HTTPConnMode
	if be != nil {
		mode = combineModes(mode, be.Conf.HTTPConnMode)
	}
	switch {
	case h.cliClose, h.noKeep, mode == config.HTTPClose, s.l.draining:
		return false
	case redirect && h.rq == rqHead && h.reqBodied:
		return false
	}
	return true
}

// answerCloses reports whether an answer ends the connection itself:
// it says "Connection: close", as HAProxy's 400 and 408 pages and its
// errorfiles do (and a rule may), or its body has no length and ends
// with the connection (an errorfile without Content-Length); HAProxy's
// H1 mux then closes the connection after it. m is the head as the
// rules left it, nil when none ran.
func answerCloses(resp *h1.Response, m *rules.Msg) bool {
	if resp.Body(false) == h1.BodyClose {
		return true
	}
	if m == nil {
		return resp.Close
	}
	for _, hd := range m.Headers {
		if asciiEqualFold(hd.Name, "connection") && hasToken(hd.Value, "close") {
			return true
		}
	}
	return false
}

// answerUpgrades reports whether an answer's Connection field names
// "upgrade" (m as in answerCloses).
func answerUpgrades(resp *h1.Response, m *rules.Msg) bool {
	if m != nil {
		for _, hd := range m.Headers {
			if asciiEqualFold(hd.Name, "connection") && hasToken(hd.Value, "upgrade") {
				return true
			}
		}
		return false
	}
	for _, hd := range resp.Headers {
		if asciiEqualFold(hd.Name, "connection") && hasToken(hd.Value, "upgrade") {
			return true
		}
	}
	return false
}

// hasToken reports whether a comma-separated field value holds tok,
// compared without regard to case.
func hasToken(v []byte, tok string) bool {
	for len(v) > 0 {
		elem := v
		if i := indexComma(v); i >= 0 {
			elem, v = v[:i], v[i+1:]
		} else {
			v = nil
		}
		if asciiEqualFold(trimOWS(elem), tok) {
			return true
		}
	}
	return false
}

func indexComma(b []byte) int {
	for i, c := range b {
		if c == ',' {
			return i
		}
	}
	return -1
}

// answerConnValue is the Connection value an answer of HTTP/1.<minor>
// to a request of HTTP/1.<reqMinor> goes with, as HAProxy's
// h1_update_res_conn_value writes it: "close" on an HTTP/1.1 answer
// after which the connection closes, "keep-alive" when it is kept and
// either side speaks HTTP/1.0, else none.
func answerConnValue(keep bool, minor, reqMinor int) string {
	switch {
	case keep && (minor == 0 || reqMinor == 0):
		return connValueAlive
	case !keep && minor == 1:
		return connValueClose
	}
	return ""
}

// appendAnswerHead writes an answer's head (the bytes head, parsed in
// resp; m is its head as rules left it, nil when none ran): its status
// line, a new one when set-status changed the status, and its fields.
// With setConn, the first Connection field takes the value conn (its
// place and name kept, as HAProxy's H1 mux rewrites it), the others
// go, and conn goes last when there was none; an empty conn means no
// field. Without it, or when a Connection field names "upgrade" (which
// HAProxy's H1 mux leaves alone, h1_update_res_conn_value), the fields
// go as they are.
func appendAnswerHead(dst, head []byte, resp *h1.Response, m *rules.Msg, conn string, setConn bool) []byte {
	if setConn && answerUpgrades(resp, m) {
		setConn = false
	}
	dst = appendStatusLine(dst, head, m, resp)
	placed := !setConn
	if m != nil {
		for _, hd := range m.Headers {
			dst, placed = appendAnswerField(dst, hd.Name, hd.Value, conn, setConn, placed)
		}
	} else {
		for _, hd := range resp.Headers {
			dst, placed = appendAnswerField(dst, hd.Name, hd.Value, conn, setConn, placed)
		}
	}
	if !placed && conn != "" {
		dst = append(dst, "connection: "...)
		dst = append(dst, conn...)
		dst = append(dst, crlf...)
	}
	return append(dst, crlf...)
}

// appendAnswerField writes one field of an answer's head; see
// appendAnswerHead. placed says the connection field was written.
func appendAnswerField(dst, name, value []byte, conn string, setConn, placed bool) ([]byte, bool) {
	if !setConn || !asciiEqualFold(name, "connection") {
		return appendHeader(dst, name, value), placed
	}
	if placed || conn == "" {
		return dst, true
	}
	dst = append(dst, name...)
	dst = append(dst, ": "...)
	dst = append(dst, conn...)
	return append(dst, crlf...), true
}

// takeRequest consumes the current request, head and body, from the
// client's socket when all of it is there, so that the connection can
// serve the next one, and reports whether the request is all taken: a
// request fjord forwarded whole is. A body that is not all there (or
// that tune.bufsize cannot hold) cannot be told from a next request:
// the connection then closes, as HAProxy's H1 mux closes it after an
// answer of its own to a request it has not read whole.
func (s *session) takeRequest() bool {
	h, l := s.h, s.l
	switch {
	case h.rq == rqDone:
		return s.c2s.inPipe == 0
	case h.rq != rqHead || h.reqHL == 0:
		return false
	}
	buf := l.scratch[:l.eng.bufSize]
	n, err := s.cli.peek(buf)
	if err != nil || n < h.reqHL {
		return false
	}
	total := h.reqHL
	switch h.reqBody {
	case h1.BodyLength:
		if int64(n-total) < h.reqCL {
			return false
		}
		total += int(h.reqCL)
	case h1.BodyChunked:
		var cs chunkScan
		adv, err := cs.scan(buf[total:n])
		if err != nil || !cs.done() {
			return false
		}
		total += int(adv)
	}
	if m, err := s.cli.read(buf[:total]); err != nil || m != total {
		return false
	}
	if n == total && n < len(buf) && !s.cli.hup {
		s.cli.readable = false // the peek saw the socket's last byte
	}
	s.c2s.bytes += int64(total)
	return true
}

// noteRequest keeps what an answer of fjord's own needs to know of the
// current request, whose head (hl bytes) was just parsed: how much of
// the client's socket it takes, and whether the client lets the
// connection live. The head rules may rewrite is not the one in the
// socket.
func (s *session) noteRequest(req *h1.Request, hl int) {
	h := s.h
	h.reqHL = hl
	h.reqBody, h.reqCL = req.Body(), req.ContentLength
	h.reqBodied = h.reqBody == h1.BodyChunked || h.reqBody == h1.BodyLength && req.ContentLength > 0
	h.cliClose = req.Close || req.Minor == 0 && !req.KeepAlive
	h.reqMinor = int8(req.Minor)
	h.noKeep = false
}

// sendAnswer writes an answer prepared for the current request
// (prepareAnswer) and ends the request: the connection then waits for
// the next one, or closes. An answer the client does not take at once
// waits in a pipe, and the request ends once it is out
// (httpResponseDone).
func (s *session) sendAnswer(a answerOut) {
	h, l := s.h, s.l
	h.closeAfter = !a.keep
	h.local, h.answered = true, true
	h.rq, h.rs, h.rspKind = rqDone, rsBody, h1.BodyLength
	s.c2s.release(l.pipes) // request bytes on their way to a server that is gone
	s.c2s.setLimit(0)
	s.s2c.setLimit(0)
	if len(a.msg) == 0 {
		h.local = false
		s.lingerClose()
		return
	}
	if !s.s2c.writeHead(s, a.msg) {
		return
	}
	s.touch(&s.cli)
	if s.s2c.inPipe > 0 {
		s.state = stEstablished
		s.rearm()
		return
	}
	s.httpLocalDone()
}

// nextHead goes on with the client's next request: at once, or, when
// the answer was given inside httpReadHead's loop, on its next turn, so
// that a client pipelining many requests fjord answers costs no
// recursion.
func (s *session) nextHead() {
	if s.h.reading {
		s.h.next = true
		return
	}
	s.httpReadHead()
}
