package engine

import (
	"golang.org/x/sys/unix"

	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/tls/hello"
)

// tcp-request rules: "connection" rules when a connection is accepted,
// "content" rules once its first bytes may be looked at (after the TLS
// handshake; in tcp mode on the bytes peeked for req.ssl_*), a backend's
// once the connection is routed to it. The first rule whose condition
// holds decides; none deciding accepts.

// tcpRulesAccept evaluates rules in order and reports whether the
// connection goes on.
func tcpRulesAccept(rules []*config.TCPRule, sm *sample) bool {
	for _, r := range rules {
		if r.Cond == nil || evalCondition(r.Cond, sm) {
			return r.Action == config.TCPAccept
		}
	}
	return true
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
func (s *session) contentRulesAccept(px *config.Proxy) bool {
	if len(px.TCPContent) == 0 {
		return true
	}
	sm := sample{src: s.clientAddr.Addr(), tls: s.cli.tlsInfo(), hello: s.hello}
	return tcpRulesAccept(px.TCPContent, &sm)
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
		if r.Cond != nil && r.Cond.ReadsHello() {
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
		s.hello = &helloInfo{sni: h.SNI, helloType: int64(h.Type), version: int64(h.Version), alpn: h.ALPN,
			ext: h.Extensions, ecExt: h.ECExt, stExt: int64(h.SessionTicket)}
	} else if perr == nil {
		s.hello = &helloInfo{version: int64(h.Version)} // req.ssl_ver only, as in HAProxy
	}
	s.state = stRouting
	l.wheel.cancel(&s.timer)
	if !s.contentRulesAccept(s.fe.conf) {
		s.tcpRejected()
		return
	}
	s.dispatch()
}
