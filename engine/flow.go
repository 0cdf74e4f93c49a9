package engine

import (
	"golang.org/x/sys/unix"
)

// flow is one direction of a session: bytes from src to dst.
//
// A burst of bytes (from a readiness edge to EAGAIN) starts in copy mode: one
// read(2) into the loop's scratch buffer and one write(2). A read shorter
// than the buffer proves the socket is drained, so a small request or
// response costs exactly one read and one write, the floor of the design. A
// splice(2) read cannot prove that: it may stop early because the pipe ran
// out of slots, so relying on it would cost a third syscall (the EAGAIN
// probe) for every message. When a read fills the buffer the burst is bulk:
// the rest of it is spliced socket -> pipe -> socket and never copied, until
// the source returns EAGAIN. This is HAProxy's "splice-auto".
type flow struct {
	src, dst *endpoint
	p        *pipe
	inPipe   int   // bytes in p waiting for dst
	eof      bool  // src sent FIN
	shut     bool  // dst's write side was shut down
	bulk     bool  // the current burst is spliced
	burst    int   // bytes spliced in the current bulk burst
	stream   bool  // a burst moved a whole pipe: the flow gets grown pipes
	bytes    int64 // bytes delivered to dst
	past     int64 // bytes delivered to dst before bytes was last reset
	// nextCheck is how long the current burst must get before draining
	// asks the kernel again whether dst's peer reads what it is sent.
	nextCheck int

	// In HTTP mode a flow carries one message part at a time: limited,
	// it takes at most left more bytes from src and then stops, so that
	// the next request or response head is peeked, never forwarded
	// blindly. keepOpen leaves src's EOF to the HTTP state machine
	// instead of shutting dst down.
	limited  bool
	left     int64
	keepOpen bool
}

// setLimit makes the flow take exactly n more bytes from src.
func (f *flow) setLimit(n int64) { f.limited, f.left = true, n }

// unlimit makes the flow a plain TCP stream again (tunnels).
func (f *flow) unlimit() { f.limited, f.left, f.keepOpen = false, 0, false }

// idle reports that a limited flow moved everything it was given.
func (f *flow) idle() bool { return f.limited && f.left == 0 && f.inPipe == 0 }

// want is how many bytes src may give now, at most n.
func (f *flow) want(n int) int {
	if f.limited && f.left < int64(n) {
		return int(f.left)
	}
	return n
}

// took accounts for n bytes read from src.
func (f *flow) took(n int) {
	if f.limited {
		f.left -= int64(n)
	}
}

func (f *flow) done() bool { return f.shut }

// spliceFlags: SPLICE_F_MOVE is left out, as Go's own splice does. The
// flag has been a no-op since Linux 2.6.21 (see splice(2)),
// so it only made fjord's calls differ from io.Copy's.
const spliceFlags = unix.SPLICE_F_NONBLOCK

func (s *session) touch(ep *endpoint) {
	if ep.client {
		s.lastCli = s.l.now
	} else {
		s.lastSrv = s.l.now
	}
}

// pump moves what it can without blocking. It returns false when it closed
// the session.
func (f *flow) pump(s *session) bool {
	l := s.l
	for {
		if f.inPipe > 0 {
			if !f.dst.writable {
				return true // back-pressure: wait for EPOLLOUT
			}
			err := f.dst.flushControl()
			var n int
			if err == nil {
				n, err = sysSplice(f.p.r, f.dst.fd, f.inPipe)
			}
			if err == unix.EAGAIN {
				f.dst.writable = false
				return true
			}
			if err != nil {
				return f.writeFailed(s)
			}
			f.inPipe -= n
			if f.dst.splices() {
				f.bytes += int64(n) // a user-space TLS destination's were counted sealed
			}
			s.touch(f.dst)
			if f.inPipe > 0 {
				// A short count does not mean the socket is full: the
				// kernel also stops between chunks when a signal is
				// pending (Go's preemption). Only EAGAIN means full;
				// waiting for an EPOLLOUT that never comes would stall.
				continue
			}
			l.pipes.put(f.p)
			f.p = nil
		}
		if f.eof {
			if !f.shut && !f.keepOpen {
				if !f.dst.shutWrite() {
					f.dst.writable = false // close_notify waits for EPOLLOUT
					return true
				}
				f.shut = true
			}
			return true
		}
		if !(f.src.readable || f.src.holds()) || (f.limited && f.left == 0) {
			return true
		}
		var ok bool
		if f.bulk && !f.src.holds() {
			ok = f.spliceIn(s)
		} else {
			ok = f.copyThrough(s)
		}
		if !ok {
			return false
		}
	}
}

// copyThrough reads once into the scratch buffer and writes it to dst; what
// dst does not take goes into a pipe.
func (f *flow) copyThrough(s *session) bool {
	l := s.l
	full := l.pipes.copyMax()
	buf := l.scratch[:f.want(full)]
	n, err := f.src.read(buf)
	switch {
	case err == unix.EAGAIN:
		f.src.readable = false
		return true
	case err != nil:
		s.close(true) // a reset from src is passed on as a reset
		return false
	case n == 0:
		f.eof = true
		s.touch(f.src)
		return true
	}
	s.touch(f.src)
	f.took(n)
	if n == full {
		// Spliced from now on, unless either end is TLS: the kernel
		// would move ciphertext as if it were the stream.
		f.bulk = f.src.splices() && f.dst.splices() && !f.src.kmap
	} else if f.src.drainedBy(n, len(buf)) {
		f.src.readable = false // a short read drained the socket
	}
	rest := buf[:n]
	if f.dst.writable {
		var w int
		w, rest, err = f.dst.send(buf[:n])
		switch {
		case err == unix.EAGAIN:
			f.dst.writable = false
		case err != nil:
			return f.writeFailed(s)
		}
		if w > 0 {
			f.bytes += int64(w)
			s.touch(f.dst)
		}
	} else if !f.dst.splices() {
		// Sealed now, stashed below: the pipe holds records.
		rest = f.dst.tls.seal(s.l, buf[:n])
		f.bytes += int64(n)
	}
	if len(rest) > 0 {
		return f.stash(s, rest)
	}
	return true
}

// writeFailed handles an error writing to dst. It reports whether the
// session goes on. A server that stops reading a request body and closes
// (after answering 413, say) must not cost the client its answer: in HTTP
// mode the rest of the request is dropped and the response still read.
// Otherwise the error is passed on as a reset.
func (f *flow) writeFailed(s *session) bool {
	if h := s.h; h != nil && !h.tunnel && f == &s.c2s && h.rs != rsNone {
		if f.p != nil {
			s.l.pipes.discard(f.p)
			f.p, f.inPipe = nil, 0
		}
		f.setLimit(0)
		f.dst.writable = false
		h.rq = rqDone
		h.reqDoneAt = s.l.now
		h.closeAfter, h.reusable = true, false
		return true
	}
	s.close(true)
	return false
}

// stash keeps bytes dst could not take in a pipe (a copy into the kernel,
// only on back-pressure) so that no userspace buffer outlives the call.
func (f *flow) stash(s *session, b []byte) bool {
	p, err := s.l.pipes.get()
	if err != nil {
		s.l.eng.logf("pipe: %v", err)
		s.close(true)
		return false
	}
	f.p = p
	if len(b) > p.capacity {
		// A rewritten head can exceed a small tune.pipesize: grow this
		// pipe to hold it (bounded by tune.bufsize plus the rewrite).
		got, err := unix.FcntlInt(uintptr(p.w), unix.F_SETPIPE_SZ, len(b))
		if err != nil {
			s.l.eng.logf("pipe: cannot hold %d bytes: %v", len(b), err)
			s.close(true)
			return false
		}
		p.capacity = got
	}
	n, err := sysWrite(p.w, b)
	if err != nil || n != len(b) {
		// copyMax keeps reads within a pipe's capacity, so this is a bug.
		s.l.eng.logf("pipe: short write %d of %d: %v", n, len(b), err)
		s.close(true)
		return false
	}
	f.inPipe = n
	return true
}

// toCopyMode ends a bulk burst: the flow copies until a full read
// shows a burst again.
func (f *flow) toCopyMode() {
	f.bulk, f.stream, f.burst, f.nextCheck = false, false, 0, 0
}

// spliceIn moves the next part of a bulk burst from src into the pipe.
func (f *flow) spliceIn(s *session) bool {
	l := s.l
	if f.p == nil {
		get := l.pipes.get
		if f.stream {
			get = l.pipes.getBulk
		}
		p, err := get()
		if err != nil {
			l.eng.logf("pipe: %v", err)
			s.close(true)
			return false
		}
		f.p = p
	}
	n, err := sysSplice(f.src.fd, f.p.w, f.want(f.p.capacity))
	switch {
	case err == unix.EAGAIN:
		// The pipe is empty here, so EAGAIN means the socket is drained:
		// the burst is over. A stream that moved more than a copy read
		// would take stays spliced, so that a bulk transfer whose reads
		// often drain the socket is not copied at the start of every
		// burst; a small burst returns to copy mode.
		f.src.readable = false
		f.bulk = f.burst > l.pipes.copyMax()
		f.stream = f.stream && f.bulk
		f.burst, f.nextCheck = 0, 0
		l.pipes.put(f.p)
		f.p = nil
		return true
	case err == unix.EINVAL && f.src.tls != nil && f.src.tls.kernel:
		// A record without data is next, which splice does not take:
		// the record layer does, and the stream goes on (or ends, at a
		// close_notify) in copy mode.
		l.pipes.put(f.p)
		f.p = nil
		f.toCopyMode()
		// splice refuses a control record only once the kernel holds
		// all of it, so control finding nothing to read (EAGAIN) means
		// the EINVAL had another cause: the kernel's parser stopped on
		// a malformed record header, and no event will come.
		if cerr := f.src.tls.control(l, f.src.fd); cerr != nil {
			s.close(true)
			return false
		}
		return true
	case err == unix.EBADMSG && f.src.tls != nil && f.src.tls.kernel:
		f.src.tls.badRecord(l, f.src.fd)
		s.close(true)
		return false
	case err != nil:
		s.close(true)
		return false
	case n == 0:
		f.eof = true
		f.bulk, f.stream = false, false
		l.pipes.put(f.p)
		f.p = nil
		return true
	}
	f.inPipe = n
	f.burst += n
	f.took(n)
	s.touch(f.src)
	if f.limited && f.left == 0 {
		// The message part ends here; the next one starts in copy mode,
		// with its head peeked. The pipe goes back once it is empty.
		f.toCopyMode()
		return true
	}
	if f.burst >= l.pipes.size && !(f.limited && f.left < int64(l.pipes.size)) && (f.stream || f.draining()) {
		// This burst already filled a whole pipe and more is coming: a
		// bigger pipe saves splices from now on (one fcntl, and the
		// pipe stays grown in the pool for the next bulk flow).
		f.stream = true
		l.pipes.grow(f.p, l.now)
	}
	if f.stream {
		l.streaming()
	}
	return true
}

// draining reports whether dst's peer has shown that it reads what it is
// sent: over the flow's life it acknowledged drainProof bytes, more than a
// receive buffer holds for a peer that does not read (the kernel grows one
// only as its application reads). Only such a flow becomes a stream with
// grown pipes. A grown pipe behind a client that stopped reading would
// stay full, and the bigger reads it allows make the kernel grow the
// server socket's receive buffer too: 17 MiB pinned per non-reading client
// instead of 5. The kernel is asked at most once per doubling of a burst,
// so a few times per burst at most.
func (f *flow) draining() bool {
	if f.burst < f.nextCheck {
		return false
	}
	f.nextCheck = 2 * f.burst
	delivered := f.past + f.bytes
	if delivered < drainProof {
		return false
	}
	queued, err := unix.IoctlGetInt(f.dst.fd, unix.SIOCOUTQ)
	return err == nil && delivered-int64(queued) >= drainProof
}

// resetCount starts the count of bytes delivered afresh (a new HTTP
// exchange), keeping the flow's lifetime total for draining.
func (f *flow) resetCount() {
	f.past += f.bytes
	f.bytes = 0
}

// drainProof is how much a destination's peer must have acknowledged
// before its flow may become a stream with grown pipes.
const drainProof = 1 << 20

// writeHead sends bytes the proxy itself puts before the client's (a PROXY
// header) on this flow's destination.
func (f *flow) writeHead(s *session, b []byte) bool {
	// The caller counts a head's bytes.
	_, rest, err := f.dst.send(b)
	if err != nil && err != unix.EAGAIN {
		return f.writeFailed(s)
	}
	if len(rest) > 0 {
		f.dst.writable = false
		if f.dst.splices() {
			// The pipe counts what it splices out: take the stashed
			// bytes back, or they would count twice.
			f.bytes -= int64(len(rest))
		}
		return f.stash(s, rest)
	}
	return true
}

// release gives the flow's pipe back, or closes it if bytes are abandoned.
func (f *flow) release(pp *pipePool) {
	if f.p == nil {
		return
	}
	if f.inPipe > 0 {
		pp.discard(f.p)
	} else {
		pp.put(f.p)
	}
	f.p, f.inPipe = nil, 0
}
