package engine

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/engine/sockmap"
)

// Kernel forwarding ('tune.sockmap'): once a mode tcp session's server
// connection is up, or an HTTP connection became a tunnel (httpTunnel: a
// 101 to an Upgrade, a 2xx to a CONNECT, 'option http-tunnel'), and both
// sockets were read until empty, both go into a BPF sockmap
// (engine/sockmap) whose program redirects each segment to the other
// socket. The loop keeps the session and is woken only by:
//
//   - EPOLLRDHUP, EPOLLHUP and EPOLLERR (the sockets are polled for those
//     alone while the kernel forwards: each redirected segment still wakes
//     the socket's readers). The sockmap does not forward a FIN: the loop
//     shuts the other socket's sending side itself, once the kernel's queue
//     towards it is empty (Written), so that every byte reaches the peer
//     before the FIN; and it passes a reset on;
//   - its doorbell, when the program keeps a direction's bytes on their
//     source socket instead of redirecting them: a window's worth waits
//     in the kernel for the destination, or its send buffer has no room
//     for more. The loop waits for the kernel's queue to empty, moves the
//     kept bytes itself (read and write, polled for EPOLLIN and EPOLLOUT
//     again) and turns redirecting back on once it has read them all;
//   - its timer: the timeouts, with the activity the program stamps in the
//     shared records, and the polls of a queue it waits for.
//
// A half-close needs nothing more: bytes the program kept on a socket stay
// readable after the socket closed (sockmap's TestKeptBytesOutliveTheClose).

// maxKernelPairs caps the sessions the kernel forwards at once, whatever
// maxconn says: each takes two sockmap entries and two 64-byte records,
// allocated when the program loads. Sessions beyond it stay with the
// loops.
const maxKernelPairs = 1 << 16

// kmPollMax is the longest wait between two looks at a kernel queue the
// loop waits for (the first is the next timer tick).
const kmPollMax = 100 * time.Millisecond

// loadForwarder is sockmap.Load, replaceable by tests.
var loadForwarder = sockmap.Load

// loadKernel loads the sockmap forwarder as 'tune.sockmap' asks, and
// returns what the startup log says of it.
func loadKernel(cfg *config.Config, loops int) (*sockmap.Forwarder, string, error) {
	g := &cfg.Global
	const loopsForward = "the event loops forward mode tcp sessions and HTTP tunnels with splice(2)"
	if g.TuneSockmap == config.SockmapOff {
		return nil, loopsForward + " ('tune.sockmap off')", nil
	}
	// Every frontend may have something to hand over, a mode http one
	// its tunnels, and a configuration has one at least.
	f, err := loadForwarder(sockmap.Options{Pairs: min(g.MaxConn, maxKernelPairs), Loops: loops, Window: g.TuneBulkPipeSize})
	if err != nil {
		if g.TuneSockmap == config.SockmapOn {
			return nil, "", fmt.Errorf("'tune.sockmap on': %v; use 'auto' or 'off'", err)
		}
		return nil, loopsForward + ", since the kernel cannot (" + err.Error() + ")", nil
	}
	return f, fmt.Sprintf("the kernel forwards established mode tcp sessions and HTTP tunnels (BPF sockmap, up to %d at once, at most %d KiB queued in the kernel for a slow reader)",
		min(g.MaxConn, maxKernelPairs), g.TuneBulkPipeSize>>10), nil
}

// ProbeKernel loads and unloads the sockmap forwarder once, to tell
// whether this kernel and these privileges allow 'tune.sockmap on'.
func ProbeKernel() error {
	f, err := sockmap.Load(sockmap.Options{Pairs: 1, Loops: 1, Window: 64 << 10})
	if err != nil {
		return err
	}
	return f.Close()
}

// TCPForwarding says who forwards mode tcp sessions and HTTP tunnels, and
// why: the line the startup log gives 'tune.sockmap'.
func (e *Engine) TCPForwarding() string { return e.kmStatus }

// kmState is a session's part in kernel forwarding, allocated at the
// handover: a session the loops forward carries a nil pointer only.
type kmState struct {
	on   bool // the sockets are in the sockmap (until closed)
	pair sockmap.Pair
	full bool // polled for EPOLLIN and EPOLLOUT too: the loop moves bytes
	dir  [2]kmDir
	// pollAt is when the loop looks again at a kernel queue it waits
	// for (zero: none), and pollGap the wait after that.
	pollAt  time.Time
	pollGap time.Duration
}

// kmDir is one direction: 0 from the client (its socket is the pair's
// sockmap.Client), 1 from the server.
type kmDir struct {
	keep bool // the program keeps the direction's bytes for the loop
	// drained: the kernel's queue towards the destination was seen empty
	// after it could no longer grow (bytes kept, or the source's EOF).
	drained bool
	// wrote and held are the flow's byte count and the bytes in its
	// pipe at the handover: what the loop wrote to the destination since
	// is bytes minus wrote, and what it read from the source (all of it
	// kept by the program) bytes plus inPipe minus both.
	wrote, held int64
	// base is what the destination socket had been written at the
	// handover, as Written counts: the flow's count, and what it does
	// not hold (a PROXY header, an HTTP connection's earlier exchanges,
	// a kept server connection's earlier clients).
	base int64
}

func (s *session) kmFlow(d int) *flow {
	if d == 0 {
		return &s.c2s
	}
	return &s.s2c
}

// kmEligible reports whether the session can be handed to the kernel
// now: a mode tcp session or an HTTP tunnel, a plain TCP pair, neither
// side ended, and both sockets read until they were empty (not readable:
// EAGAIN or a short read). The program takes whole segments off a
// socket's queue (tcp_read_skb) and ignores how much of the first one was
// read already: handed over in the middle of a segment, a socket would
// have that part forwarded twice. Bytes in the loop's pipes are no
// obstacle: the program keeps what arrives until the loop has written
// them.
//
// Nothing else may hold bytes of the session for its destination. A
// plain socket's bytes pass through the loop's scratch buffer within the
// call that writes them, and what the destination does not take goes into
// the pipe (flow.stash): so for an HTTP tunnel the request and response
// heads that opened it, rewritten or not, and the first bytes read with
// them, are in the destination's socket or in the pipe by the end of that
// call. (A copy kept in case the request is sent again, retryHead, is no
// obstacle: a tunnel's response is never read, so it is never sent.)
// Only a record layer holds plaintext (endpoint.holds), and TLS is
// refused here. Were that to change, a session holding bytes would be
// handed over later rather than not at all: the check runs again at the
// end of every forward.
//
// Nor may anything still have to read the bytes: tcp-response content
// rules that have not decided (resInspect) judge the server's first bytes
// from the socket, and a limited flow (a response held for them, or an
// HTTP message part) must stop where its limit says. Handed over then,
// the program would pass the server's bytes to the client unjudged.
func (s *session) kmEligible() bool {
	return s.l.eng.km != nil && s.km == nil && !s.kmRefused && (s.h == nil || s.h.tunnel) && s.state == stEstablished &&
		!s.resInspect && !s.c2s.limited && !s.s2c.limited &&
		s.cli.tls == nil && s.svr.tls == nil && !s.cli.unix && !s.svr.unix &&
		!s.c2s.eof && !s.s2c.eof && !s.cli.readable && !s.svr.readable
}

// kmAttach hands the session's sockets to the kernel. A session the
// kernel refuses stays with the loop; the first refusal is logged.
func (s *session) kmAttach() {
	e := s.l.eng
	base, err := s.kmBase()
	if err != nil {
		if errors.Is(err, sockmap.ErrUnsettled) {
			// Acknowledgements raced the reads: the next forward that
			// finds the session eligible tries again.
			s.rearm()
			return
		}
		s.kmRefuse(err)
		return
	}
	p, err := e.km.Attach(s.l.id, s.cli.fd, s.svr.fd)
	if err != nil {
		if !p.Stuck() {
			s.kmRefuse(err)
			return
		}
	}
	// full: registered with epollFlags, as every socket is.
	s.km = &kmState{on: true, pair: p, full: true}
	e.kmOwners[p.Slot()].Store(s)
	e.kmSessions.Add(1)
	e.kmHandovers.Add(1)
	s.cli.kmap, s.svr.kmap = true, true
	for d := range s.km.dir {
		f := s.kmFlow(d)
		// A sockmap socket's bytes are read with read(2): splice takes
		// them from under the program (tcp_splice_read).
		f.toCopyMode()
		// The loop shuts the destination down itself, once the kernel's
		// queue towards it is empty.
		f.keepOpen = true
		s.km.dir[d] = kmDir{wrote: f.bytes, held: int64(f.inPipe), base: base[d]}
		// Both directions start kept (see sockmap.Attach), and stay so
		// until the loop's pipe is empty; a stuck pair stays so.
		if p.Stuck() || f.inPipe > 0 || !e.km.Resume(p, sockmap.Role(d), 0) {
			s.kmSetKeep(d, true)
		}
	}
	s.kmService()
}

// kmBase is what each direction's destination socket had been written
// before the handover (kmDir.base). A mode tcp session knows: its flows'
// counts and the PROXY header are all its sockets ever carried. An HTTP
// connection's sockets carried earlier exchanges, and a kept server
// connection other clients' requests, which no count holds whole: the
// kernel is asked. Its answer is exact, as only the loop writes into the
// sockets and it is here, unless acknowledgements keep arriving while it
// is read (sockmap.ErrUnsettled).
func (s *session) kmBase() (base [2]int64, err error) {
	if s.h == nil {
		return [2]int64{s.c2s.bytes + int64(s.proxyHead), s.s2c.bytes}, nil
	}
	for d := range base {
		if base[d], err = s.l.eng.km.WrittenSettled(s.kmFlow(d).dst.fd, sockmap.Role(1-d)); err != nil {
			return base, err
		}
	}
	return base, nil
}

// kmRefuse leaves the session with the loop for good; the first refusal
// is logged.
func (s *session) kmRefuse(err error) {
	e := s.l.eng
	// EOPNOTSUPP: a socket is no longer ESTABLISHED (its peer's FIN
	// came, not yet read): the loop sees the session to its end.
	if !errors.Is(err, unix.EOPNOTSUPP) && e.kmRefusedLogged.CompareAndSwap(false, true) {
		e.logf("%s: a session stays with the event loop: %v (logged once)", s.fe.conf, err)
	}
	s.kmRefused = true
	s.rearm()
}

func (s *session) kmSetKeep(d int, keep bool) {
	st := &s.km.dir[d]
	if st.keep == keep {
		return
	}
	st.keep, st.drained = keep, false
	if keep {
		s.l.eng.kmKeeping.Add(1)
		s.kmFlow(d).src.readable = true // the first read after the drain
	} else {
		s.l.eng.kmKeeping.Add(-1)
	}
}

// kmInFlight is how many bytes of direction d the kernel holds that its
// destination socket has not taken yet: what fjord had it take (what it
// had been written at the handover, the loop's writes since, the
// kernel's redirects) minus what its write queue saw.
func (s *session) kmInFlight(d int) (int64, error) {
	f, st := s.kmFlow(d), &s.km.dir[d]
	sent := st.base + f.bytes - st.wrote
	e := s.l.eng.km
	sent += int64(e.Redirected(s.km.pair, sockmap.Role(d)))
	w, err := e.Written(f.dst.fd, sockmap.Role(1-d))
	if err != nil {
		return 0, err
	}
	return sent - w, nil
}

// kmService does what the session's sockets, its doorbell or its poll
// call for: see the comment at the top of the file.
func (s *session) kmService() {
	if s.state != stEstablished {
		return
	}
	e := s.l.eng
	for _, ep := range [2]*endpoint{&s.cli, &s.svr} {
		if ep.err {
			ep.err = false
			if soerr, err := unix.GetsockoptInt(ep.fd, unix.SOL_SOCKET, unix.SO_ERROR); err != nil || soerr != 0 {
				s.touch(ep)
				s.close(true) // a reset is passed on as a reset
				return
			}
		}
	}
	wait := false
	for d := range s.km.dir {
		f, st := s.kmFlow(d), &s.km.dir[d]
		if f.shut {
			continue
		}
		if !st.keep && e.km.Keeping(s.km.pair, sockmap.Role(d)) {
			s.kmSetKeep(d, true)
		}
		if !st.keep && !f.eof && (f.src.readable || f.src.hup) {
			// Nothing lands on a socket the program redirects from: a
			// read finds its end or an error (bytes kept since are seen
			// in the gate above, next time).
			n, err := sysPeek(f.src.fd, s.l.scratch[:1])
			switch {
			case err == unix.EAGAIN, n > 0:
				f.src.readable = false
			case err != nil:
				s.close(true)
				return
			default:
				f.eof = true
				s.touch(f.src)
			}
		}
		if s.kmNotEndYet(d) {
			wait = true
			continue
		}
		if (st.keep || f.eof) && !st.drained {
			in, err := s.kmInFlight(d)
			if err != nil {
				s.close(true)
				return
			}
			if in > 0 {
				wait = true
				continue
			}
			st.drained = true
		}
		if st.keep && st.drained {
			if !s.kmMove(d) {
				return
			}
			if s.kmNotEndYet(d) {
				wait = true
				continue
			}
		}
		if f.eof && !f.shut && f.inPipe == 0 && st.drained {
			if !f.dst.shutWrite() {
				continue
			}
			f.shut = true
		}
	}
	if s.c2s.done() && s.s2c.done() {
		s.close(false)
		return
	}
	s.kmWatch(s.km.dir[0].keep || s.km.dir[1].keep || s.c2s.inPipe > 0 || s.s2c.inPipe > 0)
	s.kmPoll(wait)
	s.rearm()
}

// kmNotEndYet reports that direction d's end came while bytes the
// program kept are still on their way to the source's queue (see
// sockmap.Forwarder.Kept): it is not the end yet, and the direction is
// kept until the loop has read them.
func (s *session) kmNotEndYet(d int) bool {
	f := s.kmFlow(d)
	if !f.eof || s.kmUnread(d) == 0 {
		return false
	}
	f.eof = false
	f.src.readable = false
	if !s.km.dir[d].keep {
		s.kmSetKeep(d, true)
	}
	return true
}

// kmUnread is how many bytes the program kept in direction d that the
// loop has not read yet.
func (s *session) kmUnread(d int) int64 {
	return int64(s.l.eng.km.Kept(s.km.pair, sockmap.Role(d))) - s.kmRead(d)
}

// kmRead is how many bytes the loop read from direction d's source since
// the handover.
func (s *session) kmRead(d int) int64 {
	f, st := s.kmFlow(d), &s.km.dir[d]
	return f.bytes + int64(f.inPipe) - st.wrote - st.held
}

// kmMove moves the bytes the program kept in direction d, once the
// kernel's queue towards the destination is empty, and turns redirecting
// back on when it has read them all. It reports false if it closed the
// session.
func (s *session) kmMove(d int) bool {
	e := s.l.eng.km
	f, st := s.kmFlow(d), &s.km.dir[d]
	r := sockmap.Role(d)
	// A few rounds: bytes kept while the loop read make the resume fail,
	// and are read in the next round; a steady stream stays with the
	// loop until it pauses.
	for range 4 {
		if !f.pump(s) {
			return false
		}
		e.SetLoopSent(s.km.pair, r, uint64(f.bytes-st.wrote))
		if f.eof || f.inPipe > 0 || f.src.readable || s.km.pair.Stuck() {
			return true
		}
		if e.Resume(s.km.pair, r, uint64(s.kmRead(d))) {
			s.kmSetKeep(d, false)
			return true
		}
		if s.kmUnread(d) > 0 && !f.src.readable {
			// Kept bytes still on their way: the next EPOLLIN brings
			// them.
			return true
		}
		f.src.readable = true
	}
	return true
}

// kmWatch polls the session's sockets for reads and writes too while the
// loop moves bytes, and for closes and errors alone while the kernel
// does: each segment the program redirects still wakes the socket's
// readers, and an EPOLLIN interest would wake the loop for every one.
func (s *session) kmWatch(full bool) {
	if s.km.full == full {
		return
	}
	ev := uint32(unix.EPOLLRDHUP | unix.EPOLLET)
	if full {
		ev = epollFlags
	}
	for _, ep := range [2]*endpoint{&s.cli, &s.svr} {
		if err := unix.EpollCtl(s.l.epfd, unix.EPOLL_CTL_MOD, ep.fd, &unix.EpollEvent{Events: ev, Fd: int32(ep.fd)}); err != nil {
			s.l.eng.logf("%s: epoll_ctl: %v", s.fe.conf, err)
		}
	}
	s.km.full = full
}

// kmPoll arms or clears the look at a kernel queue the loop waits for: no
// event says when the kernel's send worker has emptied it. The first look
// is at the next timer tick, and the wait doubles up to kmPollMax while
// the queue stays.
func (s *session) kmPoll(wait bool) {
	if !wait {
		s.km.pollAt, s.km.pollGap = time.Time{}, 0
		return
	}
	if s.km.pollAt.IsZero() {
		s.km.pollGap = min(max(2*s.km.pollGap, time.Millisecond), kmPollMax)
		s.km.pollAt = s.l.now.Add(s.km.pollGap)
	}
}

// kmTimer runs first when the timer of a session in the kernel fires: it
// takes the program's activity stamps into lastCli and lastSrv, and looks
// at the queues it polls. It reports false if the session closed.
func (s *session) kmTimer(now time.Time) bool {
	s.kmRefresh(now)
	if !s.km.pollAt.IsZero() && !now.Before(s.km.pollAt) {
		s.km.pollAt = time.Time{}
		s.kmService()
	}
	return s.state != stClosed
}

// kmRefresh moves lastCli and lastSrv to the last segment the program saw,
// if later: any byte forwarded either way is activity on both sides, as a
// byte the loop moves is read from one and written to the other.
func (s *session) kmRefresh(now time.Time) {
	last := s.l.eng.km.LastActive(s.km.pair)
	if last == 0 {
		return
	}
	t := now.Add(-time.Duration(sockmap.Now() - last))
	if t.After(s.lastCli) {
		s.lastCli = t
	}
	if t.After(s.lastSrv) {
		s.lastSrv = t
	}
}

// kmCount adds the bytes the kernel forwarded to the flows' counts, once,
// before the session's log line and counters.
func (s *session) kmCount() {
	if s.km == nil || !s.km.on { // close, the only caller, runs once
		return
	}
	e := s.l.eng.km
	s.c2s.bytes += int64(e.Redirected(s.km.pair, sockmap.Client))
	s.s2c.bytes += int64(e.Redirected(s.km.pair, sockmap.Server))
}

// kmUnreadSources reports, for the client's socket and the server's,
// whether the program kept bytes on it that the loop never read. The
// kernel resets a socket closed with unread bytes in its receive queue,
// which is what tells a peer that still sends that nobody will read (the
// loops' path gets that for free); kept bytes wait in the sockmap's own
// queue, which close does not look at, so the loop resets them itself.
// Without it the peer's writes hang on a zero window until TCP gives up.
func (s *session) kmUnreadSources() (unread [2]bool) {
	if s.km == nil || !s.km.on {
		return unread
	}
	for d := range s.km.dir {
		unread[d] = s.kmUnread(d) > 0
	}
	return unread
}

// kmClosed forgets the session's pair once its sockets are closed.
func (s *session) kmClosed() {
	if s.km == nil || !s.km.on {
		return
	}
	s.km.on = false
	e := s.l.eng
	for d := range s.km.dir {
		s.kmSetKeep(d, false)
	}
	e.kmSessions.Add(-1)
	s.l.kmRelease = append(s.l.kmRelease, s.km.pair)
}

// kmDoorbell is a loop's handler of its doorbell ring.
type kmDoorbell struct{ l *loop }

func (b kmDoorbell) onEvent(uint32) {
	l := b.l
	km := l.eng.km
	km.Ring(l.id).Drain(func(index uint32) {
		slot, _ := sockmap.PairOf(index)
		if s := l.eng.kmOwners[slot].Load(); s != nil && s.l == l && s.km != nil && s.km.on && s.km.pair.Slot() == slot {
			// kmService looks at the gate itself: a doorbell of a
			// stretch the loop already saw in the gate and ended must
			// not make it take the direction again.
			s.kmService()
		}
	})
	if km.TakeOverflow(l.id) {
		// A record was lost: look at every session in the kernel.
		for s := l.sessions.first(); s != nil && s != &l.sessions.head; {
			next := s.next // kmService may close s, which unlinks it
			if s.km != nil && s.km.on {
				s.kmService()
			}
			s = next
		}
	}
}

// releaseKernelPairs gives the slots of the sessions closed in this batch
// back, after their sockets were closed (which takes them out of the
// sockmap).
func (l *loop) releaseKernelPairs() {
	for _, p := range l.kmRelease {
		l.eng.kmOwners[p.Slot()].Store(nil)
		l.eng.km.Release(p)
	}
	l.kmRelease = l.kmRelease[:0]
}
