package engine

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fjordlb/fjord/balancer"
	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/rules"
	"github.com/fjordlb/fjord/tls/handshake"
)

// frontend is the engine's view of a frontend or listen section, shared by
// every loop.
type frontend struct {
	conf  *config.Proxy
	id    int     // HAProxy's proxy id (fe_id): its position in the configuration, from 1
	limit limiter // the frontend's maxconn
	route router
	// redirects are the frontend's "redirect" rules, tried before route.
	redirects []redirectRule
	counters  balancer.Counters // for the stats page
	log       AccessLog         // nil: the frontend logs no traffic
	logKind   RecordKind        // the format its records take
	// needs are what its log formats read beyond every record's facts.
	needs config.FormatNeeds
	caps  *captureSlots // nil: no captures
	// uid renders its "unique-id-format" (nil: none), and uidHeader is
	// the field that sends it to the server ("": none).
	uid       UniqueID
	uidHeader string
	// needsHello: in tcp mode, the rules read the peeked ClientHello;
	// needsPayload: they read the client's first bytes.
	needsHello, needsPayload bool
	// tcp-request rules, compiled.
	tcpConnection, tcpSession, tcpContent []tcpRule
	// rules are the frontend's http-request/-response rules; nil: none.
	rules *httpRuleSets
	// pages are its answers by status: its error pages over the
	// built-in ones.
	pages *errorPages
	// logSamples are the %[expr] of its log formats (accesslog.go).
	logSamples []logSample
	// bufferBody: "option http-buffer-request" on the frontend or a
	// backend it may route to: bodies are waited for before the rules.
	bufferBody bool
	// monitorFail are the compiled "monitor fail" conditions.
	monitorFail []*rules.Cond
}

// limiter is a connection counter with a ceiling, shared across loops.
type limiter struct {
	max     int64
	cur     atomic.Int64
	waiting atomic.Bool // a loop paused accepting at the limit
}

// admit takes a slot of the global and the frontend limit, or reports that
// one of them is full. The waiting flag is published before the final look
// at the counter, so that a release racing with a refusal either sees the
// flag (and wakes this loop) or has already freed the slot we look at.
func (e *Engine) admit(fe *frontend) bool {
	for {
		if !e.global.take() {
			if e.global.cur.Load() < e.global.max {
				continue
			}
			return false
		}
		if !fe.limit.take() {
			e.global.cur.Add(-1)
			if fe.limit.cur.Load() < fe.limit.max {
				continue
			}
			return false
		}
		return true
	}
}

// take claims a slot, or marks the limiter as having a waiter.
func (lm *limiter) take() bool {
	if lm.cur.Add(1) <= lm.max {
		return true
	}
	lm.cur.Add(-1)
	lm.waiting.Store(true)
	return false
}

// release gives a session's slot back and wakes the loops whose listeners
// paused at a limit, or for want of descriptors: the session just freed
// some. This is not the common path: it runs only when a limit was hit or
// a listener starved.
func (e *Engine) release(fe *frontend) {
	if e.giveBack(fe) || e.starved.Load() > 0 {
		e.resumeListeners()
	}
}

// giveBack returns a slot and reports whether a listener waits for one.
// A failed accept gives its slot back this way: it freed no descriptor,
// and waking starved listeners for it would have them fail again at once.
func (e *Engine) giveBack(fe *frontend) bool {
	fe.limit.cur.Add(-1)
	e.global.cur.Add(-1)
	feWaiting := fe.limit.waiting.Swap(false)
	glWaiting := e.global.waiting.Swap(false)
	return feWaiting || glWaiting
}

func (e *Engine) resumeListeners() {
	for _, l := range e.loops {
		l.resume.Store(true)
		l.wake()
	}
}

// listener is one loop's listening socket for one bind address.
type listener struct {
	l    *loop
	fe   *frontend
	bind *config.Bind
	tls  *handshake.ServerConfig // nil: the bind does not terminate TLS
	name string                  // for logs: the bind's 'name', else its number in the frontend
	// id is the bind's number in its frontend, from 1 (HAProxy's
	// listener id): logs name a client of a Unix socket "unix:ID".
	id   int
	addr netip.AddrPort // unset for a Unix socket
	// unix: the socket is a Unix one; its clients have no IP address,
	// and take no TCP socket option.
	unix   bool
	fd     int
	paused bool // stopped at a maxconn limit with connections left in the backlog
	// starved: accept failed for want of descriptors or memory. The
	// listener ignores its readiness until retry fires: every arriving
	// connection would otherwise fail the same way, at once.
	starved bool
	retry   timerEntry
}

// starve pauses the listener until its retry timer fires or a session
// ends, whichever comes first (resume).
func (ln *listener) starve() {
	ln.starved = true
	ln.l.eng.starved.Add(1)
	ln.l.wheel.schedule(&ln.retry, ln.l.now.Add(acceptRetry))
}

// resume ends a starvation or a pause at a limit and accepts again.
func (ln *listener) resume() {
	if ln.starved {
		ln.starved = false
		ln.l.eng.starved.Add(-1)
		ln.l.wheel.cancel(&ln.retry)
	}
	ln.acceptAll()
}

// acceptRetry is how long a starved listener waits before it accepts
// again, HAProxy's delay for a listener that hit a resource limit.
const acceptRetry = 100 * time.Millisecond

func newListener(l *loop, fe *frontend, b *config.Bind, addr netip.AddrPort, fd int) *listener {
	ln := &listener{l: l, fe: fe, bind: b, tls: l.eng.tls[b], name: bindName(fe.conf, b), id: bindID(fe.conf, b), addr: addr, fd: fd}
	ln.retry.fire = func(time.Time) { ln.resume() }
	return ln
}

func (ln *listener) onEvent(uint32) {
	if !ln.starved {
		ln.acceptAll()
	}
}

// acceptAll accepts until EAGAIN or until a limit is reached; above the
// limit connections stay in the kernel backlog until a slot frees.
func (ln *listener) acceptAll() {
	ln.paused = false
	e := ln.l.eng
	for ln.fd >= 0 {
		if !e.admit(ln.fe) {
			ln.paused = true
			return
		}
		nfd, sa, err := unix.Accept4(ln.fd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		if err == nil {
			newSession(ln, nfd, sockaddrToAddrPort(sa))
			continue
		}
		if e.giveBack(ln.fe) {
			e.resumeListeners() // another listener paused at the limit
		}
		switch err {
		case unix.EAGAIN:
			return
		case unix.EINTR, unix.ECONNABORTED, unix.EPERM, unix.EPROTO,
			unix.ENETDOWN, unix.ENETUNREACH, unix.EHOSTDOWN, unix.EHOSTUNREACH, unix.ENONET, unix.ENOPROTOOPT, unix.EOPNOTSUPP:
			// That connection failed (accept(2) reports a pending
			// network error, or a firewall's refusal, as its own):
			// the next one may not.
			continue
		}
		// Out of descriptors or memory (EMFILE, ENFILE, ENOBUFS,
		// ENOMEM), or a listener gone bad: the connections stay queued
		// and the listener tries again later. Retrying at once would
		// fail the same way for every connection that arrives.
		ln.starve()
		e.acceptFailed(ln, err)
		return
	}
}

// acceptFailed reports a listener that stopped accepting, at most once
// every acceptReportEvery over the whole engine, with the number of
// failures it did not report: a flood of connections to a process out
// of descriptors must not become a flood of log lines.
func (e *Engine) acceptFailed(ln *listener, err error) {
	r := &e.acceptReport
	r.mu.Lock()
	now := time.Now()
	if !r.last.IsZero() && now.Sub(r.last) < acceptReportEvery {
		r.suppressed++
		r.mu.Unlock()
		return
	}
	r.last = now
	n := r.suppressed
	r.suppressed = 0
	r.mu.Unlock()
	var why string
	switch err {
	case unix.EMFILE:
		why = "the process is out of descriptors"
		var lim unix.Rlimit
		if unix.Getrlimit(unix.RLIMIT_NOFILE, &lim) == nil {
			why += fmt.Sprintf(" (RLIMIT_NOFILE %d; raise ulimit-n, or lower maxconn)", lim.Cur)
		}
	case unix.ENFILE:
		why = "the system is out of descriptors (raise fs.file-max)"
	case unix.ENOBUFS, unix.ENOMEM:
		why = "the kernel is out of memory for sockets"
	default:
		why = "unexpected error"
	}
	more := ""
	if n > 0 {
		more = fmt.Sprintf("; %d more accept failures since the last report", n)
	}
	e.logf("%s: %s (%s): accept4: %v: %s; pausing this listener, retrying every %v%s",
		ln.fe.conf, ln, ln.bind.Pos, err, why, acceptRetry, more)
}

// String names the listening socket: its address, or for a Unix socket
// the bind's path or name (fd@N for an inherited one).
func (ln *listener) String() string {
	if ln.unix {
		return ln.bind.String()
	}
	return ln.addr.String()
}

// acceptReportEvery bounds how often acceptFailed writes.
const acceptReportEvery = 10 * time.Second

// close stops listening on this loop. The socket leaves the loop's epoll
// set first: a duplicate handed to another process (a reload) keeps the
// open socket alive, and epoll would otherwise go on reporting it under a
// number this process may reuse.
func (ln *listener) close() {
	if ln.starved {
		ln.starved = false
		ln.l.eng.starved.Add(-1)
		ln.l.wheel.cancel(&ln.retry)
	}
	if ln.fd >= 0 {
		_ = unix.EpollCtl(ln.l.epfd, unix.EPOLL_CTL_DEL, ln.fd, nil)
		ln.l.closeFD(ln.fd)
		ln.fd = -1
	}
}

// adoptListener checks that fd, an inherited socket, is one that b can
// listen on, and applies this configuration's backlog to it. A socket
// handed over by the process this one replaces must be a TCP socket
// listening on b's address with b's options, or the Unix socket of b's
// path. The socket of an fd@N bind must be a listening TCP or Unix
// socket; its address and options are whatever the process that created
// it chose. The error completes "descriptor N".
func adoptListener(fd int, b *config.Bind, backlog int) error {
	domain, err := CheckListener(fd)
	if err != nil {
		return err
	}
	switch {
	case b.Inherited:
	case b.Unix.IsValid():
		if domain != unix.AF_UNIX {
			return fmt.Errorf("is a %s socket, not a Unix one", domainName(domain))
		}
		if err := checkUnixListener(fd, b.Unix); err != nil {
			return err
		}
	default:
		family := unix.AF_INET
		if b.Addr.Addr().Is6() {
			family = unix.AF_INET6
		}
		if domain != family {
			return errors.New("has another address family")
		}
		sa, err := unix.Getsockname(fd)
		if err != nil {
			return fmt.Errorf("has no address: getsockname: %w", err)
		}
		if got := sockaddrToAddrPort(sa); got.Addr() != b.Addr.Addr().Unmap() || got.Port() != b.Addr.Port() {
			return fmt.Errorf("is bound to %s", got)
		}
		if family == unix.AF_INET6 {
			// IPV6_V6ONLY cannot change once a socket is bound.
			v6only, err := unix.GetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY)
			if err != nil || (v6only == 1) != b.V6Only {
				return errors.New("has another v6only setting")
			}
		}
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		return fmt.Errorf("cannot be made non-blocking: fcntl(F_SETFL): %w", err)
	}
	unix.CloseOnExec(fd)
	// listen(2) on a listening socket only sets its backlog.
	if err := unix.Listen(fd, backlog); err != nil {
		return fmt.Errorf("refuses a new backlog: listen: %w", err)
	}
	return nil
}

// CheckListener reports whether fd is a socket that a server can accept
// stream connections on: open, a socket, SOCK_STREAM, listening (as
// HAProxy's fd@N, but stricter: HAProxy also takes a socket that is only
// bound, and calls listen(2) itself; fjord says so instead of listening
// on a socket its creator may not have meant for it). It returns the
// socket's domain (AF_INET, AF_INET6 or AF_UNIX). The error says what fd
// is instead, and names the call that told.
func CheckListener(fd int) (domain int, err error) {
	typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	switch {
	case err == unix.EBADF:
		return 0, fmt.Errorf("is not open (getsockopt(SO_TYPE): %w)", err)
	case err == unix.ENOTSOCK:
		return 0, fmt.Errorf("is not a socket (getsockopt(SO_TYPE): %w)", err)
	case err != nil:
		return 0, fmt.Errorf("is not a usable socket: getsockopt(SO_TYPE): %w", err)
	case typ != unix.SOCK_STREAM:
		return 0, fmt.Errorf("is not a stream socket (SO_TYPE %d)", typ)
	}
	acc, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN)
	if err != nil {
		return 0, fmt.Errorf("is not a usable socket: getsockopt(SO_ACCEPTCONN): %w", err)
	}
	if acc != 1 {
		return 0, errors.New("is not listening (SO_ACCEPTCONN is 0: bound or connected, but listen(2) was never called)")
	}
	domain, err = unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_DOMAIN)
	if err != nil {
		return 0, fmt.Errorf("is not a usable socket: getsockopt(SO_DOMAIN): %w", err)
	}
	if domain != unix.AF_INET && domain != unix.AF_INET6 && domain != unix.AF_UNIX {
		return 0, fmt.Errorf("is a %s socket, neither TCP nor Unix", domainName(domain))
	}
	return domain, nil
}

func domainName(domain int) string {
	switch domain {
	case unix.AF_INET:
		return "TCP/IPv4"
	case unix.AF_INET6:
		return "TCP/IPv6"
	case unix.AF_UNIX:
		return "Unix"
	}
	return fmt.Sprintf("family %d", domain)
}

// listen opens a non-blocking SO_REUSEPORT listening socket.
func listen(addr netip.AddrPort, b *config.Bind, backlog int) (int, netip.AddrPort, error) {
	family := unix.AF_INET
	if addr.Addr().Is6() {
		family = unix.AF_INET6
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, addr, err
	}
	fail := func(what string, err error) (int, netip.AddrPort, error) {
		unix.Close(fd)
		return -1, addr, fmt.Errorf("%s: %w", what, err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		return fail("SO_REUSEADDR", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
		return fail("SO_REUSEPORT", err)
	}
	if family == unix.AF_INET6 {
		v6only := 0
		if b.V6Only {
			v6only = 1
		}
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, v6only); err != nil {
			return fail("IPV6_V6ONLY", err)
		}
	}
	if err := unix.Bind(fd, addrPortToSockaddr(addr)); err != nil {
		return fail("bind", err)
	}
	if err := unix.Listen(fd, backlog); err != nil {
		return fail("listen", err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return fail("getsockname", err)
	}
	return fd, sockaddrToAddrPort(sa), nil
}

func addrPortToSockaddr(ap netip.AddrPort) unix.Sockaddr {
	if ap.Addr().Is4() {
		return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	}
	return &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
}

func sockaddrToAddrPort(sa unix.Sockaddr) netip.AddrPort {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port))
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(a.Addr).Unmap(), uint16(a.Port))
	}
	return netip.AddrPort{}
}

// bindName names a bind in logs as HAProxy does: its 'name', else its
// number among the frontend's listeners, from 1.
func bindName(px *config.Proxy, b *config.Bind) string {
	if b.Name != "" {
		return b.Name
	}
	if id := bindID(px, b); id > 0 {
		return strconv.Itoa(id)
	}
	return "?"
}

// bindID is b's number among the frontend's listeners, from 1 (HAProxy's
// listener id, which counts every address of a bind line), 0 if b is not
// one of them.
func bindID(px *config.Proxy, b *config.Bind) int {
	for i, x := range px.Binds {
		if x == b {
			return i + 1
		}
	}
	return 0
}
