package engine

import (
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
			return r.final, proxy
		}
	}
	return tcpAccept, proxy
}

// tcpRule is a compiled tcp-request rule.
type tcpRule struct {
	final       tcpOutcome // what accept, reject and silent-drop decide
	expectProxy bool
	vars        *rules.VarSet  // set-var, set-var-fmt, unset-var
	addr        *rules.AddrSet // set-src, set-src-port, set-dst, set-dst-port
	cond        *rules.Cond
}

func newTCPRules(rs []*config.TCPRule, cp *rules.Compiler) []tcpRule {
	out := make([]tcpRule, 0, len(rs))
	for _, r := range rs {
		tr := tcpRule{expectProxy: r.Action == config.TCPExpectProxy, cond: cp.Cond(r.Cond)}
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

// startInspect waits for the client's ClientHello, peeked and never
// consumed, for at most "tcp-request inspect-delay" from the accept.
func (s *session) startInspect() {
	s.state = stInspect
	s.rearm()
	s.inspect(false)
}

// inspect peeks at the client's first bytes and, once they hold a whole
// ClientHello, or hold what cannot become one, or the delay ran out,
// evaluates the rules on them and routes the connection. expired says
// the delay ran out: what is there is all there will be.
func (s *session) inspect(expired bool) {
	l := s.l
	buf := l.scratch[:min(len(l.scratch), hello.MaxInput)]
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
	// Without an inspect-delay the rules see what the first packet
	// holds, as in HAProxy.
	expired = expired || s.fe.conf.InspectDelay <= 0
	h, perr := hello.Parse(buf[:n])
	if perr == hello.ErrNeedMore && !expired && !s.cli.hup && n < len(buf) {
		s.cli.readable = false // the next edge brings more
		return
	}
	if perr == nil && !h.SSLv2 {
		s.hello = &rules.Hello{SNI: h.SNI, HelloType: int64(h.Type), Version: int64(h.Version), ALPN: h.ALPN,
			Ext: h.Extensions, ECExt: h.ECExt, STExt: int64(h.SessionTicket)}
	} else if perr == nil {
		s.hello = &rules.Hello{Version: int64(h.Version)} // req.ssl_ver only, as in HAProxy
	}
	s.state = stRouting
	l.wheel.cancel(&s.timer)
	if !s.contentRules(s.fe.tcpContent) {
		return
	}
	s.dispatch()
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
