package hop

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// uringLoop is the io_uring design. Every socket operation goes through
// the loop's ring:
//
//   - one multishot accept on the listener;
//   - one multishot recv per socket, into the loop's provided buffer
//     ring: a completion carries a buffer that the loop frames and then
//     sends on as it is, from the same memory;
//   - one send at a time per direction (a second could overtake a first
//     that met a full socket), the next buffer queued behind it;
//   - a close as a cancel of the socket's requests, hard-linked to a
//     close, both in the ring.
//
// Everything prepared in a turn is submitted by the one io_uring_enter
// that waits for the next completions. IORING_OP_SPLICE is not used: the
// responses of the keep-alive benchmark are 64 bytes, read once and sent
// once from a provided buffer, and splice would take two operations and
// a pipe per direction for them.
type uringLoop struct {
	p       *Proxy
	id      int
	r       *ring
	br      *bufRing
	lnfd    int
	wakefd  int
	slots   []*usession // by slot number, the user_data of their operations
	free    []uint32
	starved []starvedRecv
	pending int // operations submitted whose last completion has not come
	stopped atomic.Bool
}

// usession is a client connection and its server connection.
type usession struct {
	slot           uint32
	client, server int
	up, down       udir // up: client to server
	x              exchange
	refs           int // operations in flight that name the slot
	shut           bool
	closed         bool
}

// udir is one direction of a session.
type udir struct {
	from, to int
	response bool
	armed    bool // a multishot recv runs on from
	cancel   bool // and a cancel is on its way (back-pressure)
	starved  bool // it ended for want of buffers
	eof      bool
	sending  bool    // q[0] is being sent
	q        []chunk // received, not yet sent: back-pressure beyond maxQueued
}

// chunk is part of a provided buffer on its way to a socket.
type chunk struct {
	bid uint16
	off int32
	n   int32
}

type starvedRecv struct {
	s *usession
	d *udir
}

// The operations' user_data: the kind in the top byte, the direction
// (0 up, 1 down) in the next, the slot in the low 32 bits.
const (
	udAccept uint64 = iota + 1
	udWake
	udRecv
	udSend
	udClose // a cancel or a close: nothing to do with its result
)

func userData(kind uint64, down bool, slot uint32) uint64 {
	var d uint64
	if down {
		d = 1
	}
	return kind<<56 | d<<48 | uint64(slot)
}

// Back-pressure: a direction with maxQueued buffers waiting for its
// destination stops receiving (its multishot recv is cancelled) until
// they are down to resumeAt.
const (
	maxQueued = 8
	resumeAt  = 2
	ringSize  = 1024
	bufGroup  = 1
)

func newUringLoop(p *Proxy, id, ln int) (runner, string, error) {
	r, err := newRing(ringSize)
	if err != nil {
		return nil, "", err
	}
	br, err := r.newBufRing(bufGroup, p.opts.Buffers, p.opts.BufSize)
	if err != nil {
		r.close()
		return nil, "", err
	}
	wfd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		r.close()
		br.unmap()
		return nil, "", fmt.Errorf("eventfd: %w", err)
	}
	l := &uringLoop{p: p, id: id, r: r, br: br, lnfd: ln, wakefd: wfd}
	err = l.armAccept()
	if err == nil {
		err = l.armWake()
	}
	if err != nil {
		l.release() // the caller closes the listener
		return nil, "", err
	}
	setup := fmt.Sprintf("io_uring (%s), %d provided buffers of %d bytes per loop", flagNames(r.flags), p.opts.Buffers, p.opts.BufSize)
	return l, setup, nil
}

func (l *uringLoop) stop() {
	l.stopped.Store(true)
	one := [8]byte{1}
	_, _ = unix.Write(l.wakefd, one[:])
}

// run is the loop: one io_uring_enter a turn submits what the last turn
// prepared and waits for at least one completion. As fjord's epoll loop,
// it waits with a raw system call of at most rawWaitMax while busy (the
// scheduler never sees it in a system call, so sysmon neither hands its
// P around nor wakes every 20 µs), and through the scheduler, without a
// timeout, once a wait that long found nothing.
func (l *uringLoop) run() {
	idle := false
	wait := unix.NsecToTimespec(int64(rawWaitMax * time.Millisecond))
	for !l.stopped.Load() {
		var err error
		if idle {
			_, err = l.r.enter(1, nil, false)
		} else {
			_, err = l.r.enter(1, &wait, true)
		}
		switch {
		case err == nil, errors.Is(err, unix.EINTR):
		case errors.Is(err, unix.ETIME):
			idle = true
		default:
			l.p.opts.Logf("hop: loop %d: io_uring_enter: %v", l.id, err)
			time.Sleep(10 * time.Millisecond)
		}
		if l.reap() > 0 {
			idle = false
		}
		l.afterTurn()
	}
	l.shutdown()
}

// reap handles every completion ready.
func (l *uringLoop) reap() int {
	head, tail := l.r.cqReady()
	n := int(tail - head)
	for ; head != tail; head++ {
		l.complete(l.r.cqAt(head))
	}
	l.r.cqDone(head)
	return n
}

// afterTurn gives the kernel the buffers freed in the turn and restarts
// the recvs that had run out of them, once there are buffers again.
func (l *uringLoop) afterTurn() {
	l.br.publish()
	if len(l.starved) == 0 || l.br.out >= len(l.br.entries) {
		return
	}
	starved := l.starved
	l.starved = l.starved[:0]
	for _, sr := range starved {
		sr.d.starved = false
		l.rearm(sr.s, sr.d)
	}
}

func (l *uringLoop) complete(c cqe) {
	kind := c.userData >> 56
	if c.flags&cqeFMore == 0 {
		l.pending--
	}
	switch kind {
	case udAccept:
		l.onAccept(c)
	case udWake:
		if c.flags&cqeFMore == 0 && !l.stopped.Load() {
			l.try(l.armWake())
		}
	case udRecv, udSend:
		s := l.slots[uint32(c.userData)]
		d := &s.up
		if c.userData>>48&1 == 1 {
			d = &s.down
		}
		if kind == udRecv {
			l.onRecv(s, d, c)
		} else {
			l.onSend(s, d, c)
		}
		l.settle(s)
		l.maybeFree(s)
	}
}

// try logs the error of a submission, which the loop survives (the
// submission queue was full and could not be emptied).
func (l *uringLoop) try(err error) {
	if err != nil {
		l.p.opts.Logf("hop: loop %d: %v", l.id, err)
	}
}

func (l *uringLoop) armAccept() error {
	e, err := l.r.get()
	if err != nil {
		return err
	}
	e.opcode = opAccept
	e.fd = int32(l.lnfd)
	e.ioprio = acceptMultishot
	e.opFlags = unix.SOCK_NONBLOCK | unix.SOCK_CLOEXEC
	e.userData = userData(udAccept, false, 0)
	l.pending++
	return nil
}

// armWake polls the eventfd that stop writes to.
func (l *uringLoop) armWake() error {
	e, err := l.r.get()
	if err != nil {
		return err
	}
	e.opcode = opPollAdd
	e.fd = int32(l.wakefd)
	e.opFlags = unix.POLLIN
	e.len = pollAddMulti
	e.userData = userData(udWake, false, 0)
	l.pending++
	return nil
}

func (l *uringLoop) onAccept(c cqe) {
	if c.flags&cqeFMore == 0 && !l.stopped.Load() {
		l.try(l.armAccept())
	}
	if c.res < 0 {
		if c.res != -int32(unix.ECANCELED) {
			l.p.opts.Logf("hop: loop %d: accept: %v", l.id, unix.Errno(-c.res))
		}
		return
	}
	cfd := int(c.res)
	noDelay(cfd)
	sfd, err := l.p.dial()
	if err != nil {
		l.p.opts.Logf("hop: loop %d: %v", l.id, err)
		unix.Close(cfd)
		return
	}
	l.start(cfd, sfd)
}

// start begins a session: a recv on each socket. The server's is still
// connecting; its recv and the first send wait for it inside the kernel.
func (l *uringLoop) start(cfd, sfd int) {
	s := &usession{client: cfd, server: sfd, x: newExchange()}
	s.up = udir{from: cfd, to: sfd}
	s.down = udir{from: sfd, to: cfd, response: true}
	if n := len(l.free); n > 0 {
		s.slot = l.free[n-1]
		l.free = l.free[:n-1]
		l.slots[s.slot] = s
	} else {
		s.slot = uint32(len(l.slots))
		l.slots = append(l.slots, s)
	}
	l.p.open.Add(1)
	for _, d := range []*udir{&s.up, &s.down} {
		if err := l.arm(s, d); err != nil {
			l.try(err)
			l.close(s)
			l.maybeFree(s)
			return
		}
	}
}

// arm starts a multishot recv on d's source, into the buffer ring.
func (l *uringLoop) arm(s *usession, d *udir) error {
	e, err := l.r.get()
	if err != nil {
		return err
	}
	e.opcode = opRecv
	e.fd = int32(d.from)
	e.ioprio = recvMultishot
	e.flags = sqeBufferSelect
	e.bufGroup = bufGroup
	e.userData = userData(udRecv, d.response, s.slot)
	d.armed = true
	s.refs++
	l.pending++
	return nil
}

// rearm restarts d's recv if nothing holds it back.
func (l *uringLoop) rearm(s *usession, d *udir) {
	if s.closed || d.armed || d.eof || d.starved || len(d.q) > resumeAt {
		return
	}
	if err := l.arm(s, d); err != nil {
		l.try(err)
		l.close(s)
	}
}

func (l *uringLoop) onRecv(s *usession, d *udir, c cqe) {
	if c.flags&cqeFMore == 0 {
		d.armed, d.cancel = false, false
		s.refs--
	}
	if c.flags&cqeFBuffer != 0 {
		l.br.took()
		bid := uint16(c.flags >> cqeBufferShift)
		if s.closed || c.res <= 0 {
			l.br.put(bid)
		} else if !l.received(s, d, bid, c.res) {
			return
		}
	}
	if s.closed {
		return
	}
	switch {
	case c.res == 0:
		d.eof = true
	case c.res == -int32(unix.ENOBUFS):
		d.starved = true
		l.starved = append(l.starved, starvedRecv{s, d})
	case c.res == -int32(unix.ECANCELED):
		l.rearm(s, d)
	case c.res < 0:
		l.close(s)
	case c.flags&cqeFMore == 0:
		l.rearm(s, d) // the kernel ended the multishot after data
	}
}

// received frames n bytes of buffer bid and queues them for d's
// destination; false when that closed the session.
func (l *uringLoop) received(s *usession, d *udir, bid uint16, n int32) bool {
	p := l.br.buf(bid)[:n]
	var err error
	if d.response {
		err = s.x.response(p)
	} else {
		err = s.x.request(p)
	}
	if err != nil {
		l.br.put(bid)
		l.close(s)
		return false
	}
	d.q = append(d.q, chunk{bid: bid, n: n})
	if !d.sending {
		if err := l.send(s, d); err != nil {
			l.try(err)
			l.close(s)
			return false
		}
	}
	if len(d.q) >= maxQueued && d.armed && !d.cancel {
		l.try(l.cancelRecv(s, d))
	}
	return true
}

// send sends the first chunk of d's queue.
func (l *uringLoop) send(s *usession, d *udir) error {
	e, err := l.r.get()
	if err != nil {
		return err
	}
	ch := d.q[0]
	e.opcode = opSend
	e.fd = int32(d.to)
	e.addr = l.br.addr(ch.bid, int(ch.off))
	e.len = uint32(ch.n)
	e.opFlags = unix.MSG_NOSIGNAL
	e.userData = userData(udSend, d.response, s.slot)
	d.sending = true
	s.refs++
	l.pending++
	return nil
}

func (l *uringLoop) onSend(s *usession, d *udir, c cqe) {
	s.refs--
	d.sending = false
	ch := &d.q[0]
	// A send on a stream socket takes at least a byte or fails; 0 is
	// taken as a failure rather than retried without end.
	if s.closed || c.res <= 0 {
		l.br.put(ch.bid)
		d.q = d.q[:copy(d.q, d.q[1:])]
		l.close(s)
		return
	}
	ch.off += c.res
	ch.n -= c.res
	if ch.n == 0 {
		l.br.put(ch.bid)
		d.q = d.q[:copy(d.q, d.q[1:])]
	}
	if len(d.q) > 0 {
		if err := l.send(s, d); err != nil {
			l.try(err)
			l.close(s)
			return
		}
	}
	l.rearm(s, d)
}

// cancelRecv cancels d's multishot recv, for back-pressure: it ends
// with -ECANCELED, after which rearm starts it again once the queue has
// drained.
func (l *uringLoop) cancelRecv(s *usession, d *udir) error {
	e, err := l.r.get()
	if err != nil {
		return err
	}
	e.opcode = opAsyncCancel
	e.addr = userData(udRecv, d.response, s.slot)
	e.userData = userData(udClose, false, 0)
	d.cancel = true
	l.p.stalls.Add(1)
	l.pending++
	return nil
}

// settle applies the closing rules (see the package's comment).
func (l *uringLoop) settle(s *usession) {
	if s.closed {
		return
	}
	if s.down.eof {
		s.x.serverClosed()
		if len(s.down.q) == 0 {
			l.close(s)
		}
		return
	}
	if !s.up.eof {
		return
	}
	if s.x.answered() && len(s.down.q) == 0 {
		l.close(s)
		return
	}
	if len(s.up.q) == 0 && !s.shut {
		s.shut = true
		_ = unix.Shutdown(s.server, unix.SHUT_WR)
	}
}

// close ends a session: the buffers it holds go back, except those being
// sent (their completions give them back), and each socket's requests are
// cancelled, then the socket closed, in the ring. The slot is reused once
// the last completion naming it has come (maybeFree).
func (l *uringLoop) close(s *usession) {
	if s.closed {
		return
	}
	s.closed = true
	for _, d := range []*udir{&s.up, &s.down} {
		keep := 0
		if d.sending {
			keep = 1
		}
		for _, ch := range d.q[keep:] {
			l.br.put(ch.bid)
		}
		d.q = d.q[:keep]
	}
	for _, fd := range []int{s.client, s.server} {
		l.try(l.cancelAndClose(fd))
	}
	l.p.open.Add(-1)
}

func (l *uringLoop) cancelAndClose(fd int) error {
	e, err := l.r.get()
	if err != nil {
		unix.Close(fd) // the requests end with the socket's last reference
		return err
	}
	e.opcode = opAsyncCancel
	e.fd = int32(fd)
	e.opFlags = cancelFD | cancelAll
	e.flags = sqeIOHardlink
	e.userData = userData(udClose, false, 0)
	l.pending++
	e, err = l.r.get()
	if err != nil {
		unix.Close(fd)
		return err
	}
	e.opcode = opClose
	e.fd = int32(fd)
	e.userData = userData(udClose, false, 0)
	l.pending++
	return nil
}

func (l *uringLoop) maybeFree(s *usession) {
	if s.closed && s.refs == 0 && l.slots[s.slot] == s {
		l.slots[s.slot] = nil
		l.free = append(l.free, s.slot)
	}
}

// shutdown cancels everything in flight and waits for the last
// completions, so that the kernel writes into no buffer after they are
// unmapped; then it closes what is left.
func (l *uringLoop) shutdown() {
	for _, s := range l.slots {
		if s != nil && !s.closed {
			l.close(s)
		}
	}
	if e, err := l.r.get(); err == nil {
		e.opcode = opAsyncCancel
		e.opFlags = cancelAny | cancelAll
		e.userData = userData(udClose, false, 0)
		l.pending++
	}
	deadline := time.Now().Add(5 * time.Second)
	wait := unix.NsecToTimespec(int64(100 * time.Millisecond))
	for l.pending > 0 && time.Now().Before(deadline) {
		if _, err := l.r.enter(1, &wait, false); err != nil && !errors.Is(err, unix.EINTR) && !errors.Is(err, unix.ETIME) {
			break
		}
		l.reap()
		l.br.publish()
	}
	if l.pending > 0 {
		l.p.opts.Logf("hop: loop %d: %d io_uring operations still pending at exit", l.id, l.pending)
	}
	l.release()
	unix.Close(l.lnfd)
}

// release closes the ring, then unmaps its buffers.
func (l *uringLoop) release() {
	l.r.close()
	l.br.unmap()
	unix.Close(l.wakefd)
}
