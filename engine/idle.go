package engine

import (
	"time"

	"golang.org/x/sys/unix"

	"github.com/fjordlb/fjord/balancer"
)

// idleTimeout is how long a kept-alive server connection waits in a loop's
// pool. Servers close idle connections on their own schedule (Apache after
// 5 s by default); giving ours up first keeps the race where a request is
// sent on a connection the server is closing rare.
const idleTimeout = 4 * time.Second

// idleKey is what an idle connection may carry: requests to srv whose
// connection is opened with the SNI sni. A TLS connection is named once,
// in its handshake, and a server may answer differently by name, so a
// connection named a.example is never given a request that would name
// b.example ("sni req.hdr(host)"), as in HAProxy, whose connection hash
// includes the SNI. sni is "" for plain connections and TLS without SNI.
type idleKey struct {
	srv *balancer.Server
	sni string
}

// idleConn is a server connection between requests, owned by its loop.
type idleConn struct {
	fd    int
	key   idleKey
	tls   *tlsConn // its TLS session, nil for a plain connection
	pool  *idlePool
	timer timerEntry
	index int // position in pool.conns[key]
}

// onEvent: a server may not speak on an idle connection. Data or a FIN
// means it is going away (or is broken), so the connection is dropped.
// Over TLS the bytes may be a close_notify, an alert or a late ticket:
// whatever they are, no request asked for them, and the connection is
// dropped all the same, unread.
func (c *idleConn) onEvent(ev uint32) {
	if ev&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		c.pool.drop(c)
	}
}

// idlePool keeps a loop's idle server connections by server and SNI, so
// that a request for a server reuses one instead of connecting ("http-reuse
// safe": only requests after a session's first one take connections other
// sessions left).
type idlePool struct {
	l     *loop
	conns map[idleKey][]*idleConn
	n     int
}

func (p *idlePool) init(l *loop) {
	p.l = l
	p.conns = map[idleKey][]*idleConn{}
}

// put keeps fd, a server connection to srv with nothing in flight, for
// reuse, with its TLS session t (nil: plain), which must be quiet.
func (p *idlePool) put(fd int, srv *balancer.Server, t *tlsConn) {
	key := idleKey{srv: srv}
	if t != nil {
		key.sni = t.sni
		t.release(&p.l.tls) // quiet: its buffers are empty, and go back
	}
	c := &idleConn{fd: fd, key: key, tls: t, pool: p}
	c.timer.fire = func(time.Time) { p.drop(c) }
	list := p.conns[key]
	c.index = len(list)
	p.conns[key] = append(list, c)
	p.n++
	p.l.byFD[fd] = c
	p.l.wheel.schedule(&c.timer, p.l.now.Add(idleTimeout))
}

// take returns the most recently used idle connection for key and its TLS
// session, or -1.
func (p *idlePool) take(key idleKey) (int, *tlsConn) {
	list := p.conns[key]
	if len(list) == 0 {
		return -1, nil
	}
	c := list[len(list)-1]
	p.unlink(c)
	return c.fd, c.tls
}

func (p *idlePool) unlink(c *idleConn) {
	list := p.conns[c.key]
	last := list[len(list)-1]
	list[c.index] = last
	last.index = c.index
	list[len(list)-1] = nil
	if list = list[:len(list)-1]; len(list) == 0 {
		delete(p.conns, c.key)
	} else {
		p.conns[c.key] = list
	}
	p.n--
	p.l.wheel.cancel(&c.timer)
	p.l.byFD[c.fd] = nil
}

// drop closes an idle connection.
func (p *idlePool) drop(c *idleConn) {
	p.unlink(c)
	p.close(c)
}

// close ends an idle connection's TLS session, with close_notify as
// HAProxy's SSL_shutdown does, and closes its socket.
func (p *idlePool) close(c *idleConn) {
	if c.tls != nil {
		c.tls.closeNotify(p.l, c.fd)
		c.tls.drop(&p.l.tls)
		c.tls = nil
	}
	p.l.closeFD(c.fd)
}

// closeAll drops every idle connection (loop shutdown).
func (p *idlePool) closeAll() {
	for _, list := range p.conns {
		for len(list) > 0 {
			c := list[len(list)-1]
			list = list[:len(list)-1]
			p.l.wheel.cancel(&c.timer)
			p.l.byFD[c.fd] = nil
			p.close(c)
		}
	}
	p.conns = map[idleKey][]*idleConn{}
	p.n = 0
}

// quiet reports whether a server connection's TLS session, between
// requests, holds nothing the server sent (no plaintext, no part of a
// record, no close_notify or error) and owes it nothing: it may carry
// another request, and wait in the idle pool meanwhile, where it holds
// no buffer.
func (t *tlsConn) quiet() bool {
	return t.buffered() == 0 && len(t.ct) == 0 && len(t.owed) == 0 && !t.eof && t.err == nil && !t.closeSent
}

// sni is the name the endpoint's TLS session was opened with, "" for a
// plain socket.
func (ep *endpoint) sni() string {
	if ep.tls == nil {
		return ""
	}
	return ep.tls.sni
}

// serverSNI is the SNI a TLS connection to the session's server is
// opened with for the current request: the request's Host with "sni
// req.hdr(host)", else the configured name. "" for a plain server and
// for no SNI.
func (s *session) serverSNI(sv *balancer.Server) string {
	st := s.l.eng.serverTLS[sv.Conf]
	if st == nil {
		return ""
	}
	if st.SNIFromHost && s.h != nil && s.h.sniHost != "" {
		return s.h.sniHost
	}
	return st.Config.ServerName
}
