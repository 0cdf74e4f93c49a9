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

// tcpOutcome is how a tcp rule set ended.
type tcpOutcome uint8

const (
	tcpAccept     tcpOutcome = iota // an accept rule, or no rule decided: the connection goes on
	tcpReject                       // close the connection, nothing sent
	tcpSilentDrop                   // close it without telling the client (silent-drop)
)

// tcpRulesRun evaluates rules in order: variable and address actions and
// expect-proxy act and evaluation goes on; accept, reject and
// silent-drop decide. proxy reports that a rule asked for a PROXY
// header.
func tcpRulesRun(rs []tcpRule, t *rules.Txn) (v tcpOutcome, proxy bool) {
	for i := range rs {
		r := &rs[i]
		if !r.cond.Match(t) {
			continue
		}
		switch {
		case r.vars != nil:
			r.vars.Apply(t)
		case r.addr != nil:
			r.addr.Apply(t)
		case r.expectProxy:
			proxy = true
		default:
			t.LastRule = r.pos // a content rule's caller keeps it (lastRule)
			return r.final, proxy
		}
	}
	return tcpAccept, proxy
}

// tcpRule is a compiled tcp-request rule.
type tcpRule struct {
	pos         *config.Pos // where it stands: last_rule_file, last_rule_line
	final       tcpOutcome  // what accept, reject and silent-drop decide
	expectProxy bool
	vars        *rules.VarSet  // set-var, set-var-fmt, unset-var
	addr        *rules.AddrSet // set-src, set-src-port, set-dst, set-dst-port
	cond        *rules.Cond
}

func newTCPRules(rs []*config.TCPRule, cp *rules.Compiler) []tcpRule {
	out := make([]tcpRule, 0, len(rs))
	for _, r := range rs {
		tr := tcpRule{pos: &r.Pos, expectProxy: r.Action == config.TCPExpectProxy, cond: cp.Cond(r.Cond)}
		switch r.Action {
		case config.TCPReject:
			tr.final = tcpReject
		case config.TCPSilentDrop:
			tr.final = tcpSilentDrop
		case config.TCPSetVar, config.TCPSetVarFmt, config.TCPUnsetVar:
			tr.vars = cp.VarSet(r.Var, r.Action == config.TCPUnsetVar)
		case config.TCPSetSrc, config.TCPSetSrcPort, config.TCPSetDst, config.TCPSetDstPort:
			tr.addr = cp.AddrSet(r.Action, r.Var.Expr)
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

// tcpVerdict carries out a rule set's outcome: it reports whether the
// connection goes on, and ends it otherwise.
func (s *session) tcpVerdict(v tcpOutcome) bool {
	switch v {
	case tcpReject:
		s.tcpRejected()
		return false
	case tcpSilentDrop:
		s.silentDrop()
		return false
	}
	return true
}

// contentRules evaluates a proxy's tcp-request content rules on what the
// session knows now, at the stream's level; false: they ended the
// connection.
func (s *session) contentRules(rs []tcpRule) bool {
	if len(rs) == 0 {
		return true
	}
	t := s.txn(nil)
	s.sessionVars(t, false)
	return s.runContentRules(rs, t)
}

// runContentRules evaluates content rules on t.
func (s *session) runContentRules(rs []tcpRule, t *rules.Txn) bool {
	if len(rs) == 0 {
		return true
	}
	v, _ := tcpRulesRun(rs, t)
	s.lastRule = t.LastRule
	s.keepAddrs(t)
	return s.tcpVerdict(v)
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
func tcpRulesInspect(rs []tcpRule, t *rules.Txn) (v tcpOutcome, wait bool) {
	for i := range rs {
		r := &rs[i]
		switch r.cond.Eval(t) {
		case rules.Miss:
			return tcpAccept, true
		case rules.Fail:
			continue
		}
		switch {
		case r.vars != nil:
			r.vars.Apply(t)
		case r.addr != nil:
			r.addr.Apply(t)
		case r.expectProxy:
		default:
			t.LastRule = r.pos
			return r.final, false
		}
	}
	return tcpAccept, false
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
	v, wait := tcpRulesInspect(rs, t)
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
	s.keepAddrs(t)
	if !s.tcpVerdict(v) {
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
	v, wait := tcpRulesInspect(s.be.tcpResponse, t)
	s.lastRule = t.LastRule
	if wait {
		s.svr.readable = false // the next edge brings more, or the delay ends
		return true
	}
	s.resInspect = false
	s.svr.readable = true // the peeked bytes wait in the socket
	switch v {
	case tcpReject:
		s.responseRejected()
		return false
	case tcpSilentDrop:
		s.silentDrop()
		return false
	}
	s.s2c.unlimit()
	return true
}

// silentDrop ends the session without a word to the client, as
// HAProxy's silent-drop: its queued bytes are read and acknowledged at
// once (so that it does not resend them into a closed socket), then the
// socket goes into TCP_REPAIR mode, in which closing it sends nothing,
// so that the client believes the connection alive. Without
// CAP_NET_ADMIN that fails, and fjord falls back on HAProxy's other
// trick: a hop limit of 1 on what follows, a reset (SO_LINGER 0) that
// dies at the first router, though a client on the local network still
// receives it. The log says the proxy ended it at the request ("PR"),
// as HAProxy's.
func (s *session) silentDrop() {
	s.setTerm('P', 'R')
	if fd := s.cli.fd; fd >= 0 && !s.cli.unix {
		buf := s.l.scratch
		for i := 0; i < maxSilentDrain; i++ {
			if n, err := sysRead(fd, buf); err != nil || n == 0 {
				break
			}
		}
		_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_QUICKACK, 1)
		if unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_REPAIR, 1) != nil {
			// Either family may apply: an IPv6 socket carries IPv4
			// clients too.
			_ = unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_TTL, 1)
			_ = unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_UNICAST_HOPS, 1)
		}
	}
	s.close(true)
}

// maxSilentDrain bounds the reads a silent-drop spends on what the
// client sent: a client that keeps sending is not waited for.
const maxSilentDrain = 16
