package engine

import (
	"time"

	"golang.org/x/sys/unix"

	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/rules"
	"github.com/fjordlb/fjord/tls/hello"
)

// tcp-request rules: "connection" rules when a connection is accepted,
// "content" rules once its first bytes may be looked at (after the TLS
// handshake; in tcp mode on the bytes peeked for req.ssl_*), a backend's
// once the connection is routed to it. The first rule whose condition
// holds decides; none deciding accepts.

// tcpRulesAccept evaluates rules in order and reports whether the
// connection goes on.
func tcpRulesAccept(rs []tcpRule, t *rules.Txn) bool {
	accept, _ := tcpRulesRun(rs, t)
	return accept
}

// tcpRulesRun evaluates rules in order: variable actions and
// expect-proxy act and evaluation goes on; accept and reject decide.
// proxy reports that a rule asked for a PROXY header.
func tcpRulesRun(rs []tcpRule, t *rules.Txn) (accept, proxy bool) {
	for i := range rs {
		r := &rs[i]
		if !r.cond.Match(t) {
			continue
		}
		switch {
		case r.vars != nil:
			r.vars.Apply(t)
		case r.expectProxy:
			proxy = true
		default:
			t.LastRule = r.pos // a content rule's caller keeps it (lastRule)
			return r.accept, proxy
		}
	}
	return true, proxy
}

// tcpRule is a compiled tcp-request rule.
type tcpRule struct {
	pos         *config.Pos // where it stands: last_rule_file, last_rule_line
	accept      bool
	expectProxy bool
	vars        *rules.VarSet // set-var, set-var-fmt, unset-var
	cond        *rules.Cond
}

func newTCPRules(rs []*config.TCPRule, cp *rules.Compiler) []tcpRule {
	out := make([]tcpRule, 0, len(rs))
	for _, r := range rs {
		tr := tcpRule{pos: &r.Pos, accept: r.Action == config.TCPAccept, expectProxy: r.Action == config.TCPExpectProxy, cond: cp.Cond(r.Cond)}
		switch r.Action {
		case config.TCPSetVar, config.TCPSetVarFmt, config.TCPUnsetVar:
			tr.vars = cp.VarSet(r.Var, r.Action == config.TCPUnsetVar)
		}
		out = append(out, tr)
	}
	return out
}

// usesVars reports whether the rules set variables.
func usesVars(rs []tcpRule) bool {
	for _, r := range rs {
		if r.vars != nil {
			return true
		}
	}
	return false
}

// tcpRejected ends a connection a rule rejected: no byte is sent, and
// the log says the proxy refused it at the request phase ("PR"), as
// HAProxy logs a "tcp-request ... reject".
func (s *session) tcpRejected() {
	s.setTerm('P', 'R')
	s.close(false)
}

// responseRejected ends a session a tcp-response content rule rejected:
// both sides are closed, with no byte of the response sent, in mode http
// too (no 502), and the log says the proxy refused it during the data
// phase ("PD"), as HAProxy's tcp_inspect_response does.
func (s *session) responseRejected() {
	s.setTerm('P', 'D')
	s.close(false)
}

// contentRulesAccept evaluates px's content rules on what the session
// knows now.
func (s *session) contentRulesAccept(rs []tcpRule) bool {
	if len(rs) == 0 {
		return true
	}
	t := s.txn(nil)
	s.sessionVars(t, false)
	accept := tcpRulesAccept(rs, t)
	s.lastRule = t.LastRule
	return accept
}

// needsHello reports whether px's rules read the ClientHello: its
// content rules or its use_backend conditions.
func needsHello(px *config.Proxy) bool {
	for _, r := range px.TCPContent {
		if r.Cond != nil && r.Cond.ReadsHello() {
			return true
		}
	}
	for _, r := range px.UseBackends {
		if r.Cond != nil && r.Cond.ReadsHello() || r.Dynamic != nil && r.Dynamic.Need()&config.ReadsHello != 0 {
			return true
		}
	}
	return false
}

// inspects reports whether a tcp proxy's content rules, or its
// use_backend rules when front is set, read the client's bytes
// (req.payload, req.len) or wait for the inspect-delay (WAIT_END): the
// connection is then inspected before it is routed.
func inspects(px *config.Proxy, front bool) bool {
	if px.Mode != config.ModeTCP {
		return false
	}
	const what = config.ReadsPayload | config.ReadsInspection
	for _, r := range px.TCPContent {
		if ruleReads(r, what) {
			return true
		}
	}
	for _, r := range px.UseBackends {
		if front && (r.Cond != nil && r.Cond.Need()&what != 0 || r.Dynamic != nil && r.Dynamic.Need()&what != 0) {
			return true
		}
	}
	return false
}

// ruleReads reports whether a tcp rule's condition or value reads what.
func ruleReads(r *config.TCPRule, what config.Reads) bool {
	need := config.Reads(0)
	if r.Cond != nil {
		need |= r.Cond.Need()
	}
	if r.Var.Expr != nil {
		need |= r.Var.Expr.Need()
	}
	if r.Var.Format != nil {
		need |= r.Var.Format.Need()
	}
	return need&what != 0
}

// tcpRulesInspect evaluates content rules on bytes being inspected
// (t.ReqData or t.ResData), as HAProxy's tcp_inspect_request: wait is
// set when a condition could not be decided on what has arrived (t.Partial
// and a sample that may change), and the rules must run again, from the
// first, when more comes or the delay ends.
func tcpRulesInspect(rs []tcpRule, t *rules.Txn) (accept, wait bool) {
	for i := range rs {
		r := &rs[i]
		switch r.cond.Eval(t) {
		case rules.Miss:
			return false, true
		case rules.Fail:
			continue
		}
		if r.vars != nil {
			r.vars.Apply(t)
			continue
		}
		t.LastRule = r.pos
		return r.accept, false
	}
	return true, false
}

// startInspect holds the connection while the content rules of its
// frontend (be false) or of the backend it was routed to (be set) look
// at the client's first bytes, peeked and never consumed: for at most
// the proxy's "tcp-request inspect-delay", counted from the accept for
// the frontend, as in HAProxy, and from the routing for the backend.
func (s *session) startInspect(be bool) {
	s.state = stInspect
	s.inspectBE = be
	s.inspectFrom, s.inspectDelay = s.start, s.fe.conf.InspectDelay
	if be {
		s.inspectFrom, s.inspectDelay = s.l.now, s.be.Conf.InspectDelay
	}
	s.rearm()
	s.inspect(false)
}

// inspect peeks at the client's first bytes and evaluates the content
// rules on them (and, when the frontend's read it, parses them as a
// ClientHello): once they decide, the connection is rejected or routed
// (or, for the backend's rules, connected). Until then it waits for
// more bytes. expired says the inspect-delay ran out: what is there is
// all there will be, and so it is when the client shut its side or the
// buffer is full, as in HAProxy.
func (s *session) inspect(expired bool) {
	l := s.l
	buf := l.scratch[:l.eng.bufSize]
	if !s.fe.needsPayload && !s.inspectBE {
		buf = buf[:min(len(buf), hello.MaxInput)] // the hello alone
	}
	n, err := s.cli.peek(buf)
	switch {
	case err == unix.EAGAIN:
		s.cli.readable = false
		n = 0
	case err != nil:
		s.close(true)
		return
	case n == 0:
		s.close(false) // the client left before saying anything
		return
	}
	if n > s.inspected {
		s.inspected, s.lastCli = n, l.now
	}
	// Without an inspect-delay the rules see what the first packet
	// holds, as in HAProxy.
	final := expired || s.inspectDelay <= 0 || s.cli.hup || n == len(buf)
	if s.fe.needsHello && !s.inspectBE {
		h, perr := hello.Parse(buf[:n])
		if perr == hello.ErrNeedMore && !final {
			s.cli.readable = false // the next edge brings more
			return
		}
		s.hello = nil
		if perr == nil && !h.SSLv2 {
			s.hello = &rules.Hello{SNI: h.SNI, HelloType: int64(h.Type), Version: int64(h.Version), ALPN: h.ALPN,
				Ext: h.Extensions, ECExt: h.ECExt, STExt: int64(h.SessionTicket)}
		} else if perr == nil {
			s.hello = &rules.Hello{Version: int64(h.Version)} // req.ssl_ver only, as in HAProxy
		}
	}
	// The bytes stay in the loop's scratch while they are decided on:
	// routing and the backend's rules read them too (s.txn).
	s.peeked = buf[:n]
	defer func() { s.peeked = nil }()
	rs := s.fe.tcpContent
	if s.inspectBE {
		rs = s.be.tcpContent
	}
	t := s.txn(nil)
	s.sessionVars(t, false)
	t.Partial = !final
	accept, wait := tcpRulesInspect(rs, t)
	s.lastRule = t.LastRule
	if wait {
		s.cli.readable = false // the next edge brings more, or the delay ends
		s.rearm()
		return
	}
	s.state = stRouting
	l.wheel.cancel(&s.timer)
	// What was peeked waits in the socket, and no other edge may come
	// for it: the flow must read it.
	s.cli.readable = true
	if !accept {
		s.tcpRejected()
		return
	}
	if s.inspectBE {
		s.inspectBE = false
		s.connectRouted()
		return
	}
	s.dispatch()
}

// inspectExpired reports whether the inspect-delay of what the session
// waits for (the client's bytes, or the server's) ran out at now.
func (s *session) inspectExpired(now time.Time) bool {
	switch {
	case s.state == stInspect:
		return s.inspectDelay > 0 && !now.Before(s.inspectFrom.Add(s.inspectDelay))
	case s.state == stEstablished && s.resInspect:
		d := s.be.Conf.ResponseInspectDelay
		return d > 0 && !now.Before(s.resFrom.Add(d))
	}
	return false
}

// startResponseInspect holds the server's bytes back until the backend's
// tcp-response content rules decide on them, for at most its
// "tcp-response inspect-delay" from now; the client's bytes go on.
func (s *session) startResponseInspect() {
	s.resInspect, s.resFrom = true, s.l.now
	s.s2c.setLimit(0)
}

// inspectResponse peeks at the server's first bytes and evaluates the
// tcp-response content rules on them, as HAProxy's tcp_inspect_response;
// expired: the inspect-delay ran out. It reports false when it closed the
// session (a reject). Once accepted, the server's bytes flow.
func (s *session) inspectResponse(expired bool) bool {
	l := s.l
	buf := l.scratch[:l.eng.bufSize]
	n, err := s.svr.peek(buf)
	eof := false
	switch {
	case err == unix.EAGAIN:
		s.svr.readable = false
		n = 0
	case err != nil:
		s.aborted()
		s.close(true)
		return false
	case n == 0:
		eof = true
	}
	final := expired || s.be.Conf.ResponseInspectDelay <= 0 || eof || s.svr.hup || n == len(buf)
	t := s.txn(nil)
	s.sessionVars(t, false)
	t.Backend, t.Server = s.be.Name, s.srvName()
	t.BackendID, t.ServerID = s.be.id, s.srvID()
	t.ResData, t.DataCap = buf[:n], len(buf)
	t.Partial = !final
	accept, wait := tcpRulesInspect(s.be.tcpResponse, t)
	s.lastRule = t.LastRule
	if wait {
		s.svr.readable = false // the next edge brings more, or the delay ends
		return true
	}
	s.resInspect = false
	s.svr.readable = true // the peeked bytes wait in the socket
	if !accept {
		s.responseRejected()
		return false
	}
	s.s2c.unlimit()
	return true
}
