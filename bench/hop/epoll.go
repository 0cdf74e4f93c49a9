package hop

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// epollLoop is fjord's loop design (engine/loop.go), cut down to the
// hop's job: sockets registered once, edge-triggered, never modified;
// readiness remembered per socket and I/O tried until EAGAIN (or a short
// read, which proves the socket drained); epoll_wait as a raw system
// call while busy.
type epollLoop struct {
	p       *Proxy
	id      int
	epfd    int
	lnfd    int
	wakefd  int
	events  []unix.EpollEvent
	byFD    []*efd
	buf     []byte   // every read lands here first
	spare   [][]byte // buffers for bytes a socket did not take, to reuse
	closing []int    // descriptors closed after the current batch of events
	live    map[*esession]struct{}
	stopped atomic.Bool
}

// efd is one socket of a session, and what its last events said.
type efd struct {
	fd       int
	s        *esession
	readable bool
	writable bool
	// hup: an event said that the peer closed or the socket failed, so
	// no further edge will come: read on until EOF or the error.
	hup bool
}

// edir is one direction of a session.
type edir struct {
	from, to *efd
	// pending holds bytes read from from that to did not take yet, in
	// a buffer of the loop's (nil when none): from is not read again
	// before they are written, so that a slow reader holds the writer
	// back instead of filling memory.
	pending  []byte
	buf      []byte
	eof      bool
	response bool
}

type esession struct {
	client, server efd
	up, down       edir // up: client to server
	x              exchange
	shut           bool // the server connection is shut for writing
	closed         bool
}

// Sockets are registered once for everything, edge-triggered (as
// fjord's, engine/loop.go's epollFlags).
const epollFlags = unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET

// rawWaitMax bounds a raw wait, in milliseconds: after one that long
// with nothing to do, the loop is idle and waits through the scheduler
// instead (fjord's rawWaitMax; see pollWait there).
const rawWaitMax = 10

func newEpollLoop(p *Proxy, id, ln int) (runner, string, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, "", fmt.Errorf("epoll_create1: %w", err)
	}
	wfd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, "", fmt.Errorf("eventfd: %w", err)
	}
	l := &epollLoop{
		p: p, id: id, epfd: epfd, lnfd: ln, wakefd: wfd,
		events: make([]unix.EpollEvent, 256),
		buf:    make([]byte, p.opts.BufSize),
		live:   map[*esession]struct{}{},
	}
	for _, fd := range []int{ln, wfd} {
		ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLET, Fd: int32(fd)}
		if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
			unix.Close(epfd)
			unix.Close(wfd)
			return nil, "", fmt.Errorf("epoll_ctl: %w", err)
		}
	}
	return l, "epoll, edge-triggered", nil
}

func (l *epollLoop) stop() {
	l.stopped.Store(true)
	one := [8]byte{1}
	_, _ = unix.Write(l.wakefd, one[:])
}

// run is fjord's loop turn: while busy, poll without sleeping first; then
// a raw wait of at most rawWaitMax; once a wait that long found nothing,
// wait through the scheduler, which gives the loop's P back.
func (l *epollLoop) run() {
	busy, idle := false, false
	for !l.stopped.Load() {
		var (
			n   int
			err error
		)
		if busy {
			n, err = epollWaitRaw(l.epfd, l.events, 0)
		}
		if n == 0 && err == nil {
			if idle {
				n, err = unix.EpollWait(l.epfd, l.events, -1)
			} else {
				n, err = epollWaitRaw(l.epfd, l.events, rawWaitMax)
				idle = n == 0
			}
		}
		busy = n > 0
		if busy {
			idle = false
		}
		if err != nil && !errors.Is(err, unix.EINTR) {
			l.p.opts.Logf("hop: loop %d: epoll_wait: %v", l.id, err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		for i := range n {
			l.onEvent(int(l.events[i].Fd), l.events[i].Events)
		}
		l.flushCloses()
	}
	l.shutdown()
}

func epollWaitRaw(epfd int, events []unix.EpollEvent, msec int) (int, error) {
	r, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd),
		uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), uintptr(msec), 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

func (l *epollLoop) onEvent(fd int, ev uint32) {
	switch fd {
	case l.lnfd:
		l.accept()
		return
	case l.wakefd:
		return // stopped is set; the loop's condition sees it
	}
	if fd >= len(l.byFD) || l.byFD[fd] == nil {
		return
	}
	e := l.byFD[fd]
	if ev&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		e.readable = true
	}
	if ev&(unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		e.hup = true
	}
	if ev&(unix.EPOLLOUT|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		e.writable = true
	}
	l.pump(e.s)
}

// accept takes every connection waiting, until EAGAIN.
func (l *epollLoop) accept() {
	for {
		cfd, _, err := unix.Accept4(l.lnfd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		if err != nil {
			if !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EINTR) {
				l.p.opts.Logf("hop: loop %d: accept: %v", l.id, err)
			}
			return
		}
		noDelay(cfd)
		sfd, err := l.p.dial()
		if err != nil {
			l.p.opts.Logf("hop: loop %d: %v", l.id, err)
			unix.Close(cfd)
			continue
		}
		if err := l.start(cfd, sfd); err != nil {
			l.p.opts.Logf("hop: loop %d: %v", l.id, err)
			unix.Close(cfd)
			unix.Close(sfd)
		}
	}
}

// start registers a new session's sockets. The server's is connecting:
// it becomes writable when connected (and reports EPOLLOUT then).
func (l *epollLoop) start(cfd, sfd int) error {
	s := &esession{x: newExchange()}
	s.client = efd{fd: cfd, s: s, writable: true}
	s.server = efd{fd: sfd, s: s}
	s.up = edir{from: &s.client, to: &s.server}
	s.down = edir{from: &s.server, to: &s.client, response: true}
	for _, e := range []*efd{&s.client, &s.server} {
		for e.fd >= len(l.byFD) {
			l.byFD = append(l.byFD, make([]*efd, len(l.byFD)+64)...)
		}
		l.byFD[e.fd] = e
		ev := unix.EpollEvent{Events: epollFlags, Fd: int32(e.fd)}
		if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, e.fd, &ev); err != nil {
			l.byFD[cfd], l.byFD[sfd] = nil, nil
			return fmt.Errorf("epoll_ctl: %w", err)
		}
	}
	l.live[s] = struct{}{}
	l.p.open.Add(1)
	return nil
}

// pump moves what it can both ways, then applies the closing rules.
func (l *epollLoop) pump(s *esession) {
	if err := l.forward(s, &s.up); err != nil {
		l.close(s)
		return
	}
	if err := l.forward(s, &s.down); err != nil {
		l.close(s)
		return
	}
	l.settle(s)
}

// forward writes what is pending, then reads and writes on until the
// source is drained or the destination full.
func (l *epollLoop) forward(s *esession, d *edir) error {
	for {
		if len(d.pending) > 0 {
			if err := l.flush(d); err != nil || len(d.pending) > 0 {
				return err
			}
		}
		if !d.from.readable || d.eof {
			return nil
		}
		n, err := sysRead(d.from.fd, l.buf)
		switch {
		case errors.Is(err, unix.EAGAIN):
			d.from.readable = false
			return nil
		case err != nil:
			return err
		case n == 0:
			d.eof = true
			return nil
		}
		if n < len(l.buf) && !d.from.hup {
			// A short read took everything queued: the next bytes
			// will come with an edge of their own. Not the close
			// that an event already reported: that edge is spent.
			d.from.readable = false
		}
		if err := l.frame(s, d, l.buf[:n]); err != nil {
			return err
		}
		if err := l.write(d, l.buf[:n]); err != nil {
			return err
		}
	}
}

func (l *epollLoop) frame(s *esession, d *edir, p []byte) error {
	if d.response {
		return s.x.response(p)
	}
	return s.x.request(p)
}

// write writes p on at once; what the socket does not take is kept.
func (l *epollLoop) write(d *edir, p []byte) error {
	w := 0
	if d.to.writable {
		n, err := sysWrite(d.to.fd, p)
		switch {
		case errors.Is(err, unix.EAGAIN):
			d.to.writable = false
		case err != nil:
			return err
		default:
			w = n
		}
	}
	if w < len(p) {
		l.p.stalls.Add(1)
		d.buf = l.take()
		d.pending = d.buf[:copy(d.buf, p[w:])]
	}
	return nil
}

// flush writes pending bytes until they are gone or the socket is full.
func (l *epollLoop) flush(d *edir) error {
	for len(d.pending) > 0 && d.to.writable {
		n, err := sysWrite(d.to.fd, d.pending)
		if errors.Is(err, unix.EAGAIN) {
			d.to.writable = false
			return nil
		}
		if err != nil {
			return err
		}
		d.pending = d.pending[n:]
	}
	if len(d.pending) == 0 && d.buf != nil {
		l.spare = append(l.spare, d.buf)
		d.buf, d.pending = nil, nil
	}
	return nil
}

func (l *epollLoop) take() []byte {
	if n := len(l.spare); n > 0 {
		b := l.spare[n-1]
		l.spare = l.spare[:n-1]
		return b
	}
	return make([]byte, len(l.buf))
}

// settle applies the closing rules (see the package's comment).
func (l *epollLoop) settle(s *esession) {
	if s.closed {
		return
	}
	if s.down.eof {
		s.x.serverClosed()
		if len(s.down.pending) == 0 {
			l.close(s)
		}
		return
	}
	if !s.up.eof {
		return
	}
	if s.x.answered() && len(s.down.pending) == 0 {
		l.close(s)
		return
	}
	if len(s.up.pending) == 0 && !s.shut {
		s.shut = true
		_ = unix.Shutdown(s.server.fd, unix.SHUT_WR)
	}
}

// close ends a session. Its descriptors are closed after the current
// batch of events, so that a later event of the batch cannot reach a new
// connection that reused the number.
func (l *epollLoop) close(s *esession) {
	if s.closed {
		return
	}
	s.closed = true
	for _, d := range []*edir{&s.up, &s.down} {
		if d.buf != nil {
			l.spare = append(l.spare, d.buf)
			d.buf, d.pending = nil, nil
		}
	}
	for _, e := range []*efd{&s.client, &s.server} {
		l.byFD[e.fd] = nil
		l.closing = append(l.closing, e.fd)
	}
	delete(l.live, s)
	l.p.open.Add(-1)
}

func (l *epollLoop) flushCloses() {
	for _, fd := range l.closing {
		unix.Close(fd)
	}
	l.closing = l.closing[:0]
}

func (l *epollLoop) shutdown() {
	for s := range l.live {
		l.close(s)
	}
	l.flushCloses()
	unix.Close(l.lnfd)
	unix.Close(l.wakefd)
	unix.Close(l.epfd)
}
