package engine

import (
	"strconv"
	"time"

	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/engine/h1"
	"github.com/fjordlb/fjord/rules"
)

// http-request and http-response rules (package rules), run on the
// loop: a request's on its peeked head before it is routed and sent, a
// response's on its head before it is forwarded. A head a rule changed
// is written out again (rules.Msg) into a buffer the session keeps until
// the head is sent, since the loop's scratch is reused while a server
// connection is made.

// httpRuleSets are a proxy's compiled HTTP rules and the answers their
// deny, return and redirect rules give, built once.
type httpRuleSets struct {
	req, res, after *rules.HTTPRules
	pages           map[*config.HTTPRule][]byte        // auth, and deny for a status without an error page: the whole answer
	files           map[*config.HTTPRule]*errPage      // deny, tarpit, return with "errorfile(s)": the page
	redirects       map[*config.HTTPRule]*redirectRule // redirect
	vars            bool                               // the rules use variables: sessions keep theirs
}

func newHTTPRuleSets(px *config.Proxy, cp *rules.Compiler) *httpRuleSets {
	if len(px.HTTPRequest)+len(px.HTTPResponse)+len(px.HTTPAfterResponse) == 0 {
		return nil
	}
	hs := &httpRuleSets{
		req: cp.HTTPRules(px.HTTPRequest), res: cp.HTTPRules(px.HTTPResponse), after: cp.HTTPRules(px.HTTPAfterResponse),
		pages: map[*config.HTTPRule][]byte{}, files: map[*config.HTTPRule]*errPage{},
		redirects: map[*config.HTTPRule]*redirectRule{},
	}
	for _, set := range [][]*config.HTTPRule{px.HTTPRequest, px.HTTPResponse, px.HTTPAfterResponse} {
		for _, r := range set {
			switch r.Action {
			case config.ActDeny, config.ActTarpit, config.ActReturn:
				hs.pages[r] = denyPage(r.Status)
				if r.Errorfile != nil {
					hs.files[r] = configuredPage(r.Errorfile)
				}
			case config.ActAuth:
				hs.pages[r] = authPage(r.Reason)
			case config.ActRedirect:
				rr := newRedirects([]*config.Redirect{r.Redirect}, cp)
				hs.redirects[r] = &rr[0]
			case config.ActSetVar, config.ActUnsetVar:
				hs.vars = true
			}
		}
	}
	return hs
}

// denyPage is the answer of a deny rule with a status that has no error
// page: the status line alone. A status with one answers the proxy's page
// (rulePage).
func denyPage(code int) []byte {
	reason := rules.Reason(code)
	return []byte("HTTP/1.1 " + strconv.Itoa(code) + " " + reason + "\r\ncontent-length: 0\r\n\r\n")
}

// editBuf returns a buffer for a rewritten request head, from the loop's
// free list.
func (l *loop) editBuf() []byte {
	if n := len(l.editBufs); n > 0 {
		b := l.editBufs[n-1]
		l.editBufs = l.editBufs[:n-1]
		return b[:0]
	}
	return make([]byte, 0, l.eng.bufSize)
}

// putEditBuf gives a head buffer back once the head is sent.
func (l *loop) putEditBuf(b []byte) {
	if cap(b) == l.eng.bufSize && len(l.editBufs) < maxEditBufs {
		l.editBufs = append(l.editBufs, b)
	}
}

// maxEditBufs bounds the free list: more sessions than this waiting for
// a server with a rewritten head allocate their own.
const maxEditBufs = 64

// sessionVars gives the Txn the session's variables when the proxies
// use them, kept from the request to its response; a new request (start)
// begins with no transaction variable.
func (s *session) sessionVars(t *rules.Txn, start bool) {
	if !s.l.eng.usesVars {
		return
	}
	if s.vars == nil {
		s.vars = new(sessionVars)
	} else if start {
		s.vars.txn.Clear()
	}
	t.Vars, t.Sess = &s.vars.txn, &s.vars.sess
}

// runRequestRules runs a proxy's http-request rules on the peeked head
// (hl bytes, n peeked with its body), from where a wait-for-body rule
// stopped them (from). handled is set when the request was answered (or
// the session ended, or it waits for its body).
func (s *session) runRequestRules(hs *httpRuleSets, be *backend, t *rules.Txn, hl, n int, from rules.Resume) (handled bool) {
	if hs == nil || hs.req == nil {
		return s.rewriteIfEdited(t)
	}
	req := &s.l.req
	v := hs.req.RunFrom(t, t.Req, from)
	for v.Outcome == rules.WaitBody {
		// HAProxy answers an Expect: 100-continue as the rule first
		// looks, whether it then waits or not.
		s.expectContinue(req, t.Req)
		if !s.requestWaitOver(v.Rule, req, hl, n) {
			break
		}
		// The rules after it read the body (req.body), as much as the
		// buffer holds.
		t.Body = s.l.requestBody(req, s.l.scratch[hl:max(hl, min(n, s.l.eng.recvLimit))])
		v = hs.req.RunFrom(t, t.Req, v.Resume())
	}
	s.lastRule = t.LastRule
	s.keepCaptures(t, false)
	s.keepAddrs(t)
	switch v.Outcome {
	case rules.SilentDrop:
		s.at.localBe = be
		s.silentDrop()
		return true
	case rules.WaitBody:
		s.holdRequest(be, v, t)
		return true
	case rules.Deny:
		s.at.localBe = be
		s.httpDeny(v.Status, s.replyBytes(hs, hs.req, t, v), "denied by 'http-request deny' at %s", v.Rule.Pos)
		return true
	case rules.Failed:
		s.at.localBe = be // its after-response rules, should it be a backend's
		s.httpFail(500, "'http-request %s' at %s could not rewrite the request (strict-mode on)", v.Rule.Action, v.Rule.Pos)
		return true
	case rules.Tarpit:
		s.at.localBe = be
		// The answer is built now, while the request is at hand, and
		// kept: a tarpit is rare enough to own its bytes.
		s.startTarpit(v.Status, append([]byte(nil), s.replyBytes(hs, hs.req, t, v)...))
		return true
	case rules.Reject:
		s.at.localBe = be
		s.tcpRejected()
	case rules.Invalid:
		// HAProxy's ACT_RET_INV: a bad request (400, counted as
		// one), not a failed rewrite.
		s.at.localBe = be
		s.httpFail(400, "invalid request for 'http-request %s' at %s", v.Rule.Action, v.Rule.Pos)
		return true
	case rules.Auth:
		s.at.localBe = be
		s.httpDeny(401, hs.pages[v.Rule], "credentials requested by 'http-request auth' at %s", v.Rule.Pos)
		return true
	case rules.Redirect:
		s.httpRedirect(hs.redirects[v.Rule], be, hl)
		return true
	case rules.Return:
		if errorReply(v.Rule) {
			s.at.localBe = be
			s.failPage(v.Status, s.replyBytes(hs, hs.req, t, v), "answered by 'http-request return' at %s", v.Rule.Pos)
			return true
		}
		out := hs.req.AppendReturn(s.l.out[:0], t, v, "")
		s.l.out = out[:0]
		s.answerHere(out, v.Status, be, hl, answerRules)
		return true
	}
	s.requestRulesDone(t)
	return s.rewriteIfEdited(t)
}

// rewriteIfEdited writes out the request head when it was changed (by
// rules, or by a 100 Continue that took its Expect field); handled is
// set when it could not be, and the request was answered 500.
func (s *session) rewriteIfEdited(t *rules.Txn) (handled bool) {
	if t.Req.Edited && !s.rewriteEdited(t.Req) {
		s.httpFail(500, "the rewritten request head is larger than tune.bufsize (%d bytes) or invalid", s.l.eng.bufSize)
		return true
	}
	return false
}

// requestRulesDone gives effect to what a request's rules set for it:
// their timeouts, and the early hints, sent at once (before fjord waits
// for the body, when a wait-for-body rule follows them, as HAProxy sends
// them when the next rule is not an early-hint).
func (s *session) requestRulesDone(t *rules.Txn) {
	if tm := t.Timeouts; tm.Server > 0 || tm.Tunnel > 0 {
		if tm.Server > 0 {
			s.tmoServer = tm.Server
		}
		if tm.Tunnel > 0 {
			s.tmoTunnel = tm.Tunnel
		}
	}
	if hints := t.EarlyHints(); len(hints) > 0 && t.Req.Minor == 1 {
		s.sendEarlyHints(hints)
	}
}

// rewriteRoom is the size a message head of hl bytes may grow to under
// the rules, when body of its body's bytes came with it: tune.bufsize
// less the body bytes HAProxy's buffer would hold with the head (up to
// tune.bufsize - tune.maxrewrite in all), so that a rewrite fails where
// HAProxy's would, its buffer full (rules.Msg.Room).
func (e *Engine) rewriteRoom(hl, body int) int {
	return e.bufSize - min(body, max(0, e.recvLimit-hl))
}

// bodyWithHead is how many bytes of a message's body came with its head
// (after): Content-Length bytes, a chunked body's bytes (framing
// included), none for a message without a body, whose next bytes are the
// next message's.
func bodyWithHead(kind h1.BodyKind, contentLength int64, after int) int {
	switch kind {
	case h1.BodyLength:
		return int(min(int64(after), contentLength))
	case h1.BodyChunked, h1.BodyClose:
		return after
	}
	return 0
}

// rewriteEdited writes the head rules changed into the session's head
// buffer and parses it again into the loop's request, so that routing,
// balancing and the send all see the new head.
func (s *session) rewriteEdited(m *rules.Msg) bool {
	l, h := s.l, s.h
	buf := h.edited
	if buf == nil {
		buf = l.editBuf()
	}
	buf = appendMsgHead(buf[:0], m)
	h.edited = buf
	if len(buf) > l.eng.bufSize {
		return false
	}
	if _, err := h1.ParseRequest(buf, &l.req); err != nil {
		return false
	}
	// The Msg now describes the new head, its slices in the session's
	// buffer: later rules and conditions read it, with the same room.
	room := m.Room
	fillMsg(m, &l.req)
	m.Room = room
	return true
}

// appendMsgHead writes a request head from m.
func appendMsgHead(dst []byte, m *rules.Msg) []byte {
	dst = append(dst, m.Method...)
	dst = append(dst, ' ')
	dst = append(dst, m.URI...)
	dst = append(dst, " HTTP/1."...)
	dst = append(dst, byte('0'+m.Minor))
	dst = append(dst, crlf...)
	for _, hd := range m.Headers {
		dst = appendHeader(dst, hd.Name, hd.Value)
	}
	return append(dst, crlf...)
}

// httpDeny answers a deny rule's page (failPage).
func (s *session) httpDeny(code int, page []byte, format string, args ...any) {
	s.failPage(code, page, format, args...)
}

// runResponseRules runs the backend's http-response rules, then the
// frontend's, then the http-after-response rules, on the response head
// just parsed (l.resp), which may grow to room bytes (rewriteRoom);
// after is what came with the head, full says the buffer holds all it
// may of it. It reports false when the rules answered instead (deny,
// return, redirect) or wait for the body, and the session is closing,
// went on with the next request, or waits.
func (s *session) runResponseRules(room int, after []byte, full bool) bool {
	if len(s.fe.logSamples) > 0 {
		t := s.txn(nil)
		s.sessionVars(t, false)
		t.Backend, t.Server = s.be.Name, s.srvName()
		t.Res, t.Response = fillResMsg(&s.l.resMsg, &s.l.resp), true
		s.captureSamples(t, atResponse)
	}
	if rs := s.be.tcpResponse; len(rs) > 0 {
		t := s.txn(nil)
		s.sessionVars(t, false)
		t.Backend, t.Server = s.be.Name, s.srvName()
		t.BackendID, t.ServerID = s.be.id, s.srvID()
		v, _ := tcpRulesRun(rs, t)
		s.lastRule = t.LastRule
		switch v {
		case tcpReject:
			s.responseRejected()
			return false
		case tcpSilentDrop:
			s.silentDrop()
			return false
		}
	}
	if s.fe.rules == nil && s.be.rules == nil {
		return true
	}
	return s.evalResponseRules(s.responseTxn(room), 0, rules.Resume{}, after, full)
}

// responseTxn fills the loop's Txn for the response rules.
func (s *session) responseTxn(room int) *rules.Txn {
	l := s.l
	t := &l.txn
	t.Reset()
	s.fillAddrs(t, rules.AddrStream)
	if info := s.cli.tlsInfo(); info != nil {
		t.TLS = tlsView{info}
	}
	t.Frontend, t.Backend, t.Server, t.Now = s.fe.conf.Name, s.be.Name, s.srvName(), l.now
	t.FrontendID, t.BackendID, t.ServerID = s.fe.id, s.be.id, s.srvID()
	if s.ln != nil && s.ln.bind != nil {
		t.BindName = s.ln.bind.Name
	}
	t.Env = engineEnv{l.eng}
	t.Captured = captureView{s}
	if s.fe.uid != nil {
		t.UniqueID = uniqueIDView{s}
	}
	t.LastRule = s.lastRule
	s.sessionVars(t, false)
	t.Res = fillResMsg(&l.resMsg, &l.resp)
	t.Res.Room = room
	t.Response = true
	return t
}

// Response rule sets in HAProxy's order: the backend's http-response
// rules, the frontend's, then the http-after-response rules the same way.
const (
	stageBackendResponse = iota
	stageFrontendResponse
	stageBackendAfter
	stageFrontendAfter
	stagesDone
)

// evalResponseRules runs the response rule sets from stage on, the first
// from where a wait-for-body rule stopped it (from); see runResponseRules.
func (s *session) evalResponseRules(t *rules.Txn, stage int, from rules.Resume, after []byte, full bool) bool {
	fe, be := s.fe.rules, s.be.rules
	if be == fe { // a listen section: its rules once
		be = nil
	}
	for ; stage < stagesDone; stage, from = stage+1, (rules.Resume{}) {
		hs := be
		if stage == stageFrontendResponse || stage == stageFrontendAfter {
			hs = fe
		}
		if hs == nil {
			continue
		}
		rs := hs.res
		if stage >= stageBackendAfter {
			rs = hs.after
		}
		if rs == nil {
			continue
		}
		v := rs.RunFrom(t, t.Res, from)
		for v.Outcome == rules.WaitBody && bodyWaitOver(v.Rule, s.h.rspKind, s.l.resp.ContentLength, after, full, s.svr.hup) {
			v = rs.RunFrom(t, t.Res, v.Resume())
		}
		s.lastRule = t.LastRule
		s.keepCaptures(t, true)
		switch v.Outcome {
		case rules.WaitBody:
			s.holdResponse(stage, v, t)
			return false
		case rules.Deny:
			s.setTerm('P', 'H')
			s.httpDeny(v.Status, s.replyBytes(hs, rs, t, v), "response denied by 'http-response deny' at %s", v.Rule.Pos)
			return false
		case rules.Return:
			s.failPage(v.Status, s.replyBytes(hs, rs, t, v), "response replaced by 'http-response return' at %s", v.Rule.Pos)
			return false
		case rules.Failed:
			// HAProxy's internal error (return_int_err), not a bad
			// response: 500.
			s.httpFail(500, "'%s %s' at %s could not rewrite the response of server %s (strict-mode on)",
				v.Rule.Set, v.Rule.Action, v.Rule.Pos, s.srvName())
			return false
		case rules.Redirect:
			s.responseRedirect(hs.redirects[v.Rule])
			return false
		case rules.SilentDrop:
			s.silentDrop()
			return false
		}
	}
	return true
}

// responseRedirect answers an http-response redirect in place of the
// server's response, as HAProxy's http_apply_redirect_rule does there:
// the server connection is closed with the rest of its response unread,
// and the client's is kept as after a request's redirect, unless the
// client or the mode closes it or the request was not all sent (what is
// left of it could not be told from a next request). Only a "location"
// redirect reaches a response: it reads nothing of the request.
func (s *session) responseRedirect(r *redirectRule) {
	h, l := s.h, s.l
	out := r.appendResponse(l.out[:0], &l.req)
	l.out = out[:0]
	s.setTerm('L', 'H') // a local answer, at the response head
	a := s.prepareAnswer(r.code, out, s.be, answerRedirect)
	s.at.status = a.status
	s.fe.counters.CountStatus(a.status)
	h.reusable = false
	s.releaseServerConn()
	s.s2c.bytes += int64(len(a.msg))
	s.sendAnswer(a)
}

// fillResMsg points m at the parsed response, its fields copied so that
// rules may edit them.
func fillResMsg(m *rules.Msg, resp *h1.Response) *rules.Msg {
	m.Method, m.URI, m.Path = nil, nil, nil
	m.Status, m.Reason, m.Minor, m.Edited = resp.Status, nil, resp.Minor, false
	m.Headers = m.Headers[:0]
	for _, h := range resp.Headers {
		m.Headers = append(m.Headers, rules.Header{Name: h.Name, Value: h.Value})
	}
	return m
}

// appendStatusLine writes a response's status line: head's own, or a new
// one when set-status changed the status or its reason (m nil: head's).
func appendStatusLine(dst, head []byte, m *rules.Msg, resp *h1.Response) []byte {
	if m == nil || m.Status == resp.Status && m.Reason == nil {
		return appendFirstLine(dst, head)
	}
	dst = append(dst, "HTTP/1."...)
	dst = append(dst, byte('0'+resp.Minor))
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, int64(m.Status), 10)
	dst = append(dst, ' ')
	if m.Reason != nil {
		dst = append(dst, m.Reason...)
	} else {
		dst = append(dst, rules.Reason(m.Status)...)
	}
	return append(dst, crlf...)
}

// rewriteResponseMsg writes a response head rules changed: the status
// line (a new one if set-status changed the status), m's fields, and the
// framing and connection handling rewriteResponse applies.
func rewriteResponseMsg(dst, head []byte, m *rules.Msg, resp *h1.Response, addClose bool) []byte {
	dst = appendStatusLine(dst, head, m, resp)
	for _, hd := range m.Headers {
		if addClose && asciiEqualFold(hd.Name, "connection") || resp.Reframe && h1.IsFraming(hd.Name) {
			continue
		}
		dst = appendHeader(dst, hd.Name, hd.Value)
	}
	if resp.Reframe {
		dst = resp.AppendFraming(dst)
	}
	if addClose {
		dst = append(dst, "Connection: close\r\n"...)
	}
	return append(dst, crlf...)
}

// authPage is HAProxy's 401 answer asking for Basic credentials for
// realm.
func authPage(realm string) []byte {
	body := "<html><body><h1>401 Unauthorized</h1>\nYou need a valid user and password to access this content.\n</body></html>\n"
	return []byte("HTTP/1.1 401 Unauthorized\r\ncontent-length: " + strconv.Itoa(len(body)) +
		"\r\ncache-control: no-cache\r\ncontent-type: text/html\r\nwww-authenticate: Basic realm=\"" + realm + "\"\r\n\r\n" + body)
}

// sessionVars are a session's variables: "sess." for its life, "txn.",
// "req." and "res." for the current request. Allocated only when some
// rule uses variables.
type sessionVars struct {
	sess, txn rules.Vars
}

// sendEarlyHints writes a 103 Early Hints response with the fields
// early-hint rules gathered, before the request goes on. An HTTP/1.0
// client gets none, as in HAProxy.
func (s *session) sendEarlyHints(fields []byte) {
	l := s.l
	out := append(l.out[:0], "HTTP/1.1 103 Early Hints\r\n"...)
	out = append(out, fields...)
	out = append(out, "\r\n"...)
	l.out = out[:0]
	s.sendInterim(out)
}

// sendInterim writes an interim response of fjord's own (103, 100)
// before the request goes on. The client's socket buffer is empty
// between requests, so the small answer goes in one write; a client
// that does not read it loses only the interim answer.
func (s *session) sendInterim(msg []byte) {
	if n, _, err := s.cli.send(msg); err == nil {
		s.s2c.bytes += int64(n)
	}
}

// startTarpit holds the request, reading nothing more, until 'timeout
// tarpit' (else 'timeout connect') of the backend, or of the frontend
// before routing, has passed; then it answers page (HAProxy's 500 by
// default), as any answer of fjord's own. A client that leaves first is
// closed with it.
func (s *session) startTarpit(code int, page []byte) {
	s.tarpit = &tarpitState{code: code, page: page, since: s.l.now}
	if s.tarpitTimeout() <= 0 {
		s.tarpitDone() // no timeout to wait for: answer at once
		return
	}
	s.state = stTarpit
	s.rearm()
}

// tarpitState is a request held by 'http-request tarpit'.
type tarpitState struct {
	code  int
	page  []byte
	since time.Time
}

// tarpitTimeout is how long a tarpit holds its request: 'timeout
// tarpit', else 'timeout connect', the backend's before the frontend's.
func (s *session) tarpitTimeout() time.Duration {
	var ts []*config.Timeouts
	if be := s.at.localBe; be != nil {
		ts = append(ts, &be.Conf.Timeouts)
	}
	ts = append(ts, &s.fe.conf.Timeouts)
	for _, t := range ts {
		if t.Tarpit > 0 {
			return t.Tarpit
		}
	}
	for _, t := range ts {
		if t.Connect > 0 {
			return t.Connect
		}
	}
	return 0
}

// tarpitDone answers the held request.
func (s *session) tarpitDone() {
	tp := s.tarpit
	s.tarpit = nil
	s.setTerm('P', 'T') // HAProxy's "tarpitted" termination state
	s.failPage(tp.code, tp.page, "request tarpitted for %v", s.l.now.Sub(tp.since).Round(time.Millisecond))
}

// serverTimeout is 'timeout server', or what set-timeout set for this
// request.
func (s *session) serverTimeout(bt *config.Timeouts) time.Duration {
	if s.tmoServer > 0 {
		return s.tmoServer
	}
	return bt.Server
}

// tunnelTimeout is 'timeout tunnel', or what set-timeout set.
func (s *session) tunnelTimeout(bt *config.Timeouts) time.Duration {
	if s.tmoTunnel > 0 {
		return s.tmoTunnel
	}
	return bt.Tunnel
}

// errorReply reports whether a rule answers with an error page, logged
// as an error, rather than a response of its own.
func errorReply(r *config.HTTPRule) bool {
	return r.DefaultErrorfiles || r.Errorfile != nil || r.Errorfiles != ""
}

// replyBytes is the whole answer of a deny, tarpit or return rule that
// answers as an error does, as HAProxy's http_reply_and_close: the
// file of "errorfile FILE" or of the http-errors section "errorfiles"
// names; the proxy's error page for the status ("default-errorfiles",
// and a deny or tarpit without a response of its own); or the response
// the rule builds (status, content-type, hdr, string, lf-string, file,
// lf-file). The bytes are valid until the loop's next answer.
func (s *session) replyBytes(hs *httpRuleSets, rs *rules.HTTPRules, t *rules.Txn, v rules.Verdict) []byte {
	r := v.Rule
	head := s.h != nil && s.h.isHead
	if pg := hs.files[r]; pg != nil {
		return pg.answer(head)
	}
	if errorReply(r) {
		if errIndex(v.Status) >= 0 {
			return s.errorAnswer(v.Status, t)
		}
		return hs.pages[r]
	}
	out := rs.AppendReturn(s.l.out[:0], t, v, "")
	s.l.out = out[:0]
	return out
}

// bodyArrived reports whether the request's body, what follows the head
// in the peek (after), is all there, or as much as the buffer holds
// (full), or the client has no more to send: the rules may run.
func (s *session) bodyArrived(req *h1.Request, after []byte, full bool) bool {
	if full || s.cli.hup {
		return true
	}
	switch req.Body() {
	case h1.BodyLength:
		return int64(len(after)) >= req.ContentLength
	case h1.BodyChunked:
		var cs chunkScan
		if _, err := cs.scan(after); err != nil {
			return err != h1.ErrNeedMore // a framing error is answered later
		}
		return cs.st == csDone
	}
	return true
}

// requestBody is the body the rules read (req.body): the Content-Length
// bytes that came with the head, or a chunked body's data, taken out of
// its framing into the loop's body buffer, valid while the request's
// rules run.
func (l *loop) requestBody(req *h1.Request, after []byte) []byte {
	switch req.Body() {
	case h1.BodyLength:
		return after[:min(int64(len(after)), req.ContentLength)]
	case h1.BodyChunked:
		l.body = dechunk(l.body[:0], after)
		return l.body
	}
	return nil
}

// dechunk appends the data of the chunks in b, as far as they are whole.
func dechunk(dst, b []byte) []byte {
	for {
		size, n, err := h1.ParseChunkSize(b)
		if err != nil || size == 0 || int64(len(b)-n) < size {
			return dst
		}
		dst = append(dst, b[n:n+int(size)]...)
		b = b[n+int(size):]
		if len(b) < 2 {
			return dst
		}
		b = b[2:] // the CRLF after the data
	}
}

// buffersBody reports whether requests to frontend px wait for their
// body: "option http-buffer-request" on it or on a backend it may route
// to (any of them, for a dynamic use_backend). The wait comes before the
// frontend's rules, so that nothing acts twice on a request.
func buffersBody(px *config.Proxy, cfg *config.Config) bool {
	if px.BufferRequest {
		return true
	}
	names := []string{px.DefaultBackend}
	for _, ub := range px.UseBackends {
		if ub.Dynamic != nil {
			for _, b := range cfg.Backends() {
				if b.BufferRequest {
					return true
				}
			}
		}
		names = append(names, ub.Backend)
	}
	for _, n := range names {
		if b := cfg.Backend(n); b != nil && b.BufferRequest {
			return true
		}
	}
	return false
}

// keepCaptures puts what capture actions kept into the frontend's slots
// (the response's after its request slots).
func (s *session) keepCaptures(t *rules.Txn, response bool) {
	if t.LogLevelSet {
		s.at.logLevel = t.LogLevel + 2 // 0: not set, 1: silent
	}
	caps := t.Captures()
	if len(caps) == 0 || s.h.caps == nil {
		return
	}
	base := 0
	if response {
		base = s.fe.caps.nReq
	}
	for _, c := range caps {
		s.fe.caps.set(s.h.caps, base+c.Slot, c.Value)
	}
}

// restrictHeaderNames applies px's "option http-restrict-req-hdr-names"
// once px's http-request rules ran, as HAProxy's
// http_req_restrict_header_names: a field whose name has a character
// other than a letter, a digit or '-' is removed (delete), or the request
// is denied with the proxy's 403 (reject). be is the backend px is, nil
// for the frontend. It reports whether the request was answered.
func (s *session) restrictHeaderNames(px *config.Proxy, be *backend, t *rules.Txn) bool {
	policy := px.RestrictReqHdrNames
	if policy == config.HdrNamesPreserve || t.Req == nil {
		return false
	}
	m := t.Req
	bad := 0
	for _, hd := range m.Headers {
		if !plainHeaderName(hd.Name) {
			bad++
		}
	}
	if bad == 0 {
		return false
	}
	if policy == config.HdrNamesReject {
		s.at.localBe = be
		if be != nil {
			s.h.routedTo = be // the backend's 403 page first, as http_error_message
		}
		s.httpDeny(403, s.errorPage(403).answer(s.h.isHead), "a request header name has a character outside [A-Za-z0-9-] ('option http-restrict-req-hdr-names reject' of %s)", px)
		return true
	}
	keep := m.Headers[:0]
	for _, hd := range m.Headers {
		if plainHeaderName(hd.Name) {
			keep = append(keep, hd)
		}
	}
	m.Headers, m.Edited = keep, true
	if !s.rewriteEdited(m) {
		s.httpFail(500, "the request head without its %d restricted header field(s) is invalid", bad)
		return true
	}
	return false
}

// plainHeaderName reports whether a header name has only letters, digits
// and '-'.
func plainHeaderName(name []byte) bool {
	for _, c := range name {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
