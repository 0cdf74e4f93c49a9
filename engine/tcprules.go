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
	if !s.contentRulesAccept(s.fe.tcpContent) {
		s.tcpRejected()
		return
	}
	s.dispatch()
}
