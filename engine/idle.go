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

// idleConn is a server connection between requests, owned by its loop.
type idleConn struct {
	fd    int
	srv   *balancer.Server
	pool  *idlePool
	timer timerEntry
	index int // position in pool.conns[srv]
}

// onEvent: a server may not speak on an idle connection. Data or a FIN
// means it is going away (or is broken), so the connection is dropped.
func (c *idleConn) onEvent(ev uint32) {
	if ev&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		c.pool.drop(c)
	}
}

// idlePool keeps a loop's idle server connections by server, so that a
// request for a server reuses one instead of connecting ("http-reuse
// safe": only requests after a session's first one take connections other
// sessions left).
type idlePool struct {
	l     *loop
	conns map[*balancer.Server][]*idleConn
	n     int
}

func (p *idlePool) init(l *loop) {
	p.l = l
	p.conns = map[*balancer.Server][]*idleConn{}
}

// put keeps fd, a server connection with nothing in flight, for reuse.
func (p *idlePool) put(fd int, srv *balancer.Server) {
	c := &idleConn{fd: fd, srv: srv, pool: p}
	c.timer.fire = func(time.Time) { p.drop(c) }
	list := p.conns[srv]
	c.index = len(list)
	p.conns[srv] = append(list, c)
	p.n++
	p.l.byFD[fd] = c
	p.l.wheel.schedule(&c.timer, p.l.now.Add(idleTimeout))
}

// take returns the most recently used idle connection to srv, or -1.
func (p *idlePool) take(srv *balancer.Server) int {
	list := p.conns[srv]
	if len(list) == 0 {
		return -1
	}
	c := list[len(list)-1]
	p.unlink(c)
	return c.fd
}

func (p *idlePool) unlink(c *idleConn) {
	list := p.conns[c.srv]
	last := list[len(list)-1]
	list[c.index] = last
	last.index = c.index
	list[len(list)-1] = nil
	if list = list[:len(list)-1]; len(list) == 0 {
		delete(p.conns, c.srv)
	} else {
		p.conns[c.srv] = list
	}
	p.n--
	p.l.wheel.cancel(&c.timer)
	p.l.byFD[c.fd] = nil
}

// drop closes an idle connection.
func (p *idlePool) drop(c *idleConn) {
	p.unlink(c)
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
			p.l.closeFD(c.fd)
		}
	}
	p.conns = map[*balancer.Server][]*idleConn{}
	p.n = 0
}
