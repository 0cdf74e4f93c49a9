package engine

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/fjordlb/fjord/balancer"
	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/engine/h1"
	"github.com/fjordlb/fjord/engine/proxyproto"
	"github.com/fjordlb/fjord/engine/sockmap"
	"github.com/fjordlb/fjord/rules"
)

// handler receives the readiness events of one file descriptor.
type handler interface {
	onEvent(events uint32)
}

// loop is one event loop: an epoll fd, the handlers of the fds it owns, a
// timer wheel, a pipe pool and a scratch buffer. A connection lives on one
// loop for its whole life, so nothing here is locked.
type loop struct {
	id      int
	eng     *Engine
	epfd    int
	wakefd  int // -1 once closed, under wakeMu
	wakeMu  sync.RWMutex
	events  []unix.EpollEvent
	byFD    []handler
	wheel   *timerWheel
	pipes   *pipePool
	scratch []byte
	now     time.Time

	// HTTP mode: the head being looked at, parsed in place in scratch,
	// a buffer for rewritten heads, and the kept server connections.
	req h1.Request
	// txn and reqMsg are what rules read (match.go), one per loop.
	txn    rules.Txn
	recTxn rules.Txn // a log line's samples' (session.fillSamples)
	reqMsg rules.Msg
	resMsg rules.Msg
	// body holds a chunked body's data for the rules (requestBody).
	body []byte
	// editBufs are free buffers for heads rules rewrote (httprules.go).
	editBufs [][]byte
	resp     h1.Response
	out      []byte
	// ans holds an answer of fjord's own as it goes to the client
	// (prepareAnswer), apart from out, where it was built.
	ans  []byte
	idle idlePool

	rec AccessRecord // filled for each access log line, handed by pointer
	uid []byte       // a unique id being rendered

	tls tlsBuffers // record buffers of the loop's TLS sessions

	// Scheduling policy for bulk streams (sched.go).
	tid         atomic.Int32 // the loop's thread, for tests and diagnostics
	batch       atomic.Bool  // the thread is SCHED_BATCH now (atomic for Stats)
	batchFailed bool         // the kernel refused: do not try again
	lastBulk    time.Time    // the last splice of a bulk stream

	listeners []*listener
	sessions  sessionList
	// handed counts the connections this loop handed off (the stats
	// page) whose handler has not returned: a soft stop waits for them
	// as for the sessions.
	handed  atomic.Int64
	closing []int // fds to close once the current batch is handled
	// kmRelease are the kernel-forwarded pairs of the sessions closed in
	// this batch, forgotten once their sockets are closed.
	kmRelease []sockmap.Pair

	// inbox carries queue grants from other goroutines to this loop.
	inboxMu  sync.Mutex
	inbox    []grant
	inboxSet atomic.Bool

	stopping atomic.Bool
	resume   atomic.Bool // a frontend slot freed: retry paused listeners
	done     chan struct{}

	// Soft stop (softstop.go): asked for by SoftStop, then carried out
	// by the loop itself, which owns its listeners and sessions.
	softStop    atomic.Bool
	draining    bool
	drainedSent bool
	unlistened  chan struct{} // closed when the loop no longer accepts
	drained     chan struct{} // closed when its last session has ended
}

// epollFlags are set once per fd and never modified: readiness is
// remembered per fd and I/O is attempted until EAGAIN.
const epollFlags = unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET

func newLoop(e *Engine, id int) (*loop, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	wfd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, err
	}
	now := time.Now()
	l := &loop{
		id:     id,
		eng:    e,
		epfd:   epfd,
		wakefd: wfd,
		events: make([]unix.EpollEvent, e.maxPollEvents),
		wheel:  newTimerWheel(now),
		pipes:  newPipePool(e.pipeSize, e.bulkPipeSize, e.pipePoolMax, e.bufSize),
		// At least a whole PROXY header fits, whatever tune.bufsize says;
		// copy-mode reads still use only bufSize of it (see copyMax).
		scratch: make([]byte, max(e.bufSize, proxyproto.MaxHeaderLen)),
		now:     now,
		done:    make(chan struct{}),

		unlistened: make(chan struct{}),
		drained:    make(chan struct{}),
	}
	l.sessions.init()
	l.idle.init(l)
	l.out = make([]byte, 0, e.bufSize+1024)
	if err := l.register(wfd, wakeHandler{l}); err != nil {
		l.closeFDs()
		return nil, err
	}
	if e.km != nil {
		if err := l.register(e.km.Ring(id).FD(), kmDoorbell{l}); err != nil {
			l.closeFDs()
			return nil, fmt.Errorf("poll the sockmap doorbell: %w", err)
		}
	}
	return l, nil
}

func (l *loop) register(fd int, h handler) error {
	for fd >= len(l.byFD) {
		l.byFD = append(l.byFD, make([]handler, len(l.byFD)+64)...)
	}
	l.byFD[fd] = h
	ev := unix.EpollEvent{Events: epollFlags, Fd: int32(fd)}
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		l.byFD[fd] = nil
		return err
	}
	return nil
}

// closeFD forgets fd and closes it after the current batch of events, so
// that a later event of this batch cannot reach a new connection that
// reused the number.
func (l *loop) closeFD(fd int) {
	if fd < len(l.byFD) {
		l.byFD[fd] = nil
	}
	l.closing = append(l.closing, fd)
}

// wake interrupts the loop's epoll_wait; safe from any goroutine, also
// after the loop ended: a handler that outlives the engine (a handed-off
// connection) must not write to a descriptor number since reused.
func (l *loop) wake() {
	var one = [8]byte{1}
	l.wakeMu.RLock()
	if l.wakefd >= 0 {
		_, _ = unix.Write(l.wakefd, one[:])
	}
	l.wakeMu.RUnlock()
}

type wakeHandler struct{ l *loop }

func (w wakeHandler) onEvent(uint32) {
	var buf [8]byte
	for {
		if _, err := sysRead(w.l.wakefd, buf[:]); err != nil {
			return
		}
	}
}

func (l *loop) run() {
	runtime.LockOSThread()
	l.tid.Store(int32(unix.Gettid()))
	defer close(l.done)
	activeLoops.Add(1)
	defer activeLoops.Add(-1)
	reserveSchedulerP()
	busy, idle := false, false
	bp := l.eng.cfg.Global.BusyPolling
	var lastEvent time.Time // busy-polling adaptive: when the loop last had work
	for !l.stopping.Load() {
		var (
			n   int
			err error
		)
		// Spinning, the loop polls without sleeping and goes round
		// (timers, the inbox and closes are still served each time).
		spinning := bp.On && l.spins(bp, lastEvent)
		if busy || spinning {
			n, err = pollWait(l.epfd, l.events, 0)
		}
		if n == 0 && err == nil && !spinning {
			timeout := l.wheel.timeout(time.Now())
			if idle {
				n, err = unix.EpollWait(l.epfd, l.events, timeout)
			} else {
				if timeout < 0 || timeout > rawWaitMax {
					timeout = rawWaitMax
				}
				n, err = pollWait(l.epfd, l.events, timeout)
				idle = n == 0
			}
		}
		busy = n > 0
		if busy {
			idle = false
		}
		l.now = time.Now()
		if busy {
			lastEvent = l.now
		}
		if err != nil && !errors.Is(err, unix.EINTR) {
			l.eng.logf("loop %d: epoll_wait: %v", l.id, err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		for i := 0; i < n; i++ {
			ev := &l.events[i]
			if fd := int(ev.Fd); fd < len(l.byFD) {
				if h := l.byFD[fd]; h != nil {
					h.onEvent(ev.Events)
				}
			}
		}
		l.wheel.advance(l.now)
		l.settle()
		if l.inboxSet.Load() {
			l.drainInbox()
		}
		if l.resume.Swap(false) {
			for _, ln := range l.listeners {
				if ln.paused || ln.starved {
					ln.resume()
				}
			}
		}
		l.flushCloses()
		if l.softStop.Load() {
			l.drainStep()
		}
	}
	l.shutdown()
}

// spins reports whether the loop polls again instead of sleeping:
// "busy-polling" always, "busy-polling adaptive" within its window after
// the last event; never once a soft stop began, so that an old process
// of a reload does not take CPU from the new one (as in HAProxy).
func (l *loop) spins(bp config.BusyPolling, lastEvent time.Time) bool {
	if l.softStop.Load() {
		return false
	}
	return bp.Window == 0 || time.Since(lastEvent) < bp.Window
}

// pollWait is epoll_wait as a raw system call, even when it blocks, so that
// the Go scheduler never sees the loop in a system call. If it did (as with
// unix.EpollWait), sysmon would take the loop's P away after 20 µs of every
// wait, hand it to another thread and back, and keep itself polling every
// 20 µs instead of backing off: under bulk traffic that is thousands of
// futex and nanosleep wakeups a second, about a tenth of the proxy's CPU
// per gigabyte. The loop's goroutine is locked to its thread and keeps its
// P while it waits; reserveSchedulerP makes sure the other goroutines
// (health checks, the stats page, logging) have a P of their own. A wait still ends for the
// runtime's preemption and stop-the-world signals, with EINTR.
//
// Under load the loop polls with a zero timeout first (busy), which finds
// events without sleeping; it blocks only when that found none.
//
// A raw wait lasts at most rawWaitMax. A loop that waited that long for
// nothing is idle and waits in unix.EpollWait instead, which gives its P
// back: sysmon preempts a goroutine that holds a P for 10 ms, and would
// otherwise wake an idle loop a hundred times a second, forever.
func pollWait(epfd int, events []unix.EpollEvent, msec int) (int, error) {
	r, _, errno := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd),
		uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), uintptr(msec), 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(r), nil
}

// grant is a server slot the balancer took for a queued session, or a
// TLS handshake's outcome.
type grant struct {
	s   *session
	srv *balancer.Server
	hs  *tlsDone
}

// post hands a server slot to the loop; safe from any goroutine.
func (l *loop) post(s *session, srv *balancer.Server) { l.push(grant{s: s, srv: srv}) }

// postHandshake hands a handshake's outcome to the loop; safe from any
// goroutine.
func (l *loop) postHandshake(s *session, d tlsDone) { l.push(grant{s: s, hs: &d}) }

// push queues g in the loop's inbox and wakes the loop.
func (l *loop) push(g grant) {
	l.inboxMu.Lock()
	l.inbox = append(l.inbox, g)
	l.inboxMu.Unlock()
	l.inboxSet.Store(true)
	l.wake()
}

func (l *loop) drainInbox() {
	l.inboxSet.Store(false)
	l.inboxMu.Lock()
	grants := l.inbox
	l.inbox = nil
	l.inboxMu.Unlock()
	for _, g := range grants {
		if g.hs != nil {
			g.s.handshaken(*g.hs)
			continue
		}
		g.s.granted(g.srv)
	}
}

func (l *loop) flushCloses() {
	for _, fd := range l.closing {
		unix.Close(fd)
	}
	l.closing = l.closing[:0]
	if len(l.kmRelease) > 0 {
		l.releaseKernelPairs()
	}
}

// shutdown ends every session and releases the loop's resources.
func (l *loop) shutdown() {
	for _, ln := range l.listeners {
		ln.close()
	}
	for s := l.sessions.first(); s != nil; s = l.sessions.first() {
		s.close(false)
	}
	l.drainInbox() // grants that raced with the closes give their slots back
	l.idle.closeAll()
	l.flushCloses()
	l.pipes.closeAll()
	l.closeFDs()
}

func (l *loop) closeFDs() {
	l.wakeMu.Lock()
	unix.Close(l.wakefd)
	l.wakefd = -1
	l.wakeMu.Unlock()
	unix.Close(l.epfd)
}

// sessionList is an intrusive list of a loop's sessions, for shutdown.
type sessionList struct{ head session }

func (sl *sessionList) init() { sl.head.next, sl.head.prev = &sl.head, &sl.head }

func (sl *sessionList) add(s *session) {
	s.prev, s.next = sl.head.prev, &sl.head
	sl.head.prev.next = s
	sl.head.prev = s
}

func (sl *sessionList) remove(s *session) {
	if s.next == nil {
		return
	}
	s.prev.next = s.next
	s.next.prev = s.prev
	s.next, s.prev = nil, nil
}

func (sl *sessionList) first() *session {
	if sl.head.next == &sl.head {
		return nil
	}
	return sl.head.next
}

// rawWaitMax bounds a raw epoll_wait, in milliseconds (see pollWait).
const rawWaitMax = 10

// activeLoops counts the event loops running in this process, of every
// engine (tests run several).
var activeLoops atomic.Int64

// reserveSchedulerP raises GOMAXPROCS so that the running event loops,
// each holding a P while it waits in epoll_wait (see pollWait), leave at
// least one P to the rest of the process. An idle P costs nothing.
func reserveSchedulerP() {
	if n := int(activeLoops.Load()); runtime.GOMAXPROCS(0) <= n {
		runtime.GOMAXPROCS(n + 1)
	}
}
