package engine

import (
	"context"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fjordlb/fjord/balancer"
	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/engine/proxyproto"
	"github.com/fjordlb/fjord/rules"
)

type sessionState uint8

const (
	stProxyHeader     sessionState = iota // reading the client's PROXY header
	stQueued                              // waiting in the balancer for a server slot
	stConnecting                          // non-blocking connect in progress
	stRetryWait                           // pausing before the next connect attempt
	stEstablished                         // forwarding
	stHTTPHead                            // HTTP: waiting for a request head
	stLinger                              // HTTP: closing, draining the client
	stHandshake                           // TLS: the handshake pool has the client
	stServerHandshake                     // TLS: the handshake pool has the server connection
	stInspect                             // tcp mode: content rules wait for the client's bytes (tcp-request inspect-delay)
	stRouting                             // passing from one phase to the next, within one call: the next step sets the state
	stTarpit                              // HTTP: a request held by http-request tarpit
	stClosed
)

// endpoint is one socket of a session with its remembered readiness.
type endpoint struct {
	fd       int
	s        *session
	readable bool
	writable bool
	hup      bool // the peer shut down its side: a read will end in EOF
	err      bool // EPOLLERR came: the socket has an error to read (kernel forwarding)
	// kmap: the socket is in the kernel's sockmap (kernel.go): its bytes
	// are read with read(2), never spliced.
	kmap   bool
	client bool
	// unix: a Unix stream socket, which has no TCP options (TCP_NODELAY,
	// a reset on close) and no kernel TLS.
	unix bool
	tls  *tlsConn // nil: a plain socket
}

func (ep *endpoint) onEvent(ev uint32) {
	if ev&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		ep.readable = true
	}
	if ev&(unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		// Keep reading after a short read: the FIN (or error) is
		// behind the data and no other edge will announce it.
		ep.hup = true
	}
	if ev&(unix.EPOLLOUT|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		ep.writable = true
	}
	if ev&unix.EPOLLERR != 0 {
		ep.err = true
	}
	ep.s.onEvent(ep)
}

// session is one client connection and its server connection.
type session struct {
	prev, next *session // loop's session list

	l     *loop
	ln    *listener
	fe    *frontend
	be    *backend
	srv   *balancer.Server
	state sessionState

	cli, svr endpoint
	c2s, s2c flow

	// clientAddr and localAddr are the connection's addresses (fc_src,
	// fc_dst): the socket's, as tcp-request connection rules left them;
	// localAddr is asked of the kernel when first needed
	// (localAddress). Both are unset for a client of a Unix socket: it
	// has no IP address.
	clientAddr netip.AddrPort
	localAddr  netip.AddrPort
	// addrs are the session's and the current stream's addresses over
	// the connection's (a PROXY header, set-src, ...): src and dst read
	// them (addrs.go).
	addrs addrLevels

	retriesLeft int
	redispatch  bool // the next attempt goes to another server

	start     time.Time
	queued    time.Time
	connStart time.Time
	retryAt   time.Time
	lastCli   time.Time // last successful I/O with the client
	lastSrv   time.Time // last successful I/O with the server
	ready     time.Time // the handshakes (PROXY header, TLS) were done: the access log's Th
	timer     timerEntry

	// svrSrc is the source address of the server connection s.svr, once
	// asked for (%bi:%bp); unset whenever s.svr changes.
	svrSrc netip.AddrPort

	h *httpSession // nil in tcp mode

	// hello is the ClientHello peeked in tcp mode for req.ssl_* (nil: not
	// looked at, or not one).
	hello *rules.Hello
	// Inspection of the client's first bytes in tcp mode (stInspect):
	// by the backend's content rules (inspectBE) or the frontend's,
	// since inspectFrom for at most inspectDelay; inspected is how many
	// bytes the last peek saw. peeked are those bytes, in the loop's
	// scratch, while the rules and the routing decide on them; nil
	// otherwise.
	inspectBE    bool
	inspectFrom  time.Time
	inspectDelay time.Duration
	inspected    int
	peeked       []byte
	// resInspect: the backend's tcp-response content rules have not
	// decided yet on the server's bytes, held back since resFrom.
	resInspect bool
	resFrom    time.Time
	// lastRule is where the last final rule of the current request (of
	// the connection in tcp mode) stands, nil while none decided: the
	// tcp-request and tcp-response content rules and the HTTP rules
	// record theirs, as HAProxy's stream does (last_rule_file/line).
	lastRule *config.Pos
	// vars are the variables rules set (nil until one does).
	vars *sessionVars
	// samples are the values of the frontend's log-format %[expr] for
	// the current request (nil until a frontend with some needs them).
	samples *sampleVals
	// tarpit is the request 'http-request tarpit' holds.
	tarpit *tarpitState
	// tmoServer and tmoTunnel are what 'http-request set-timeout' set
	// (zero: the backend's timeouts).
	tmoServer, tmoTunnel time.Duration

	// TLS: when the handshake started, and how to stop it if the
	// session ends first.
	hsStart  time.Time
	hsCancel context.CancelFunc
	hsGen    uint32 // which handshake attempt is current
	// quiet: the session's line was written already (logConnError).
	quiet bool

	// km is the session's part in kernel forwarding (kernel.go), nil
	// while the loop forwards it; kmRefused: the kernel refused it.
	// proxyHead is the length of the PROXY header sent to the server.
	km        *kmState
	kmRefused bool
	proxyHead int

	// slotHeld: the connection was handed off (handOff), whose goroutine
	// gives the maxconn slots back when it is done; close must not.
	slotHeld bool

	at accessTimes // for the access log
}

func newSession(ln *listener, fd int, peer netip.AddrPort) {
	l := ln.l
	s := &session{
		l:          l,
		ln:         ln,
		fe:         ln.fe,
		clientAddr: peer,
		start:      l.now,
		lastCli:    l.now,
	}
	s.cli = endpoint{fd: fd, s: s, client: true, unix: ln.unix}
	s.svr.fd = -1
	s.fe.counters.SessionStart()
	s.c2s = flow{src: &s.cli, dst: &s.svr}
	s.s2c = flow{src: &s.svr, dst: &s.cli}
	s.timer.fire = s.onTimer
	l.sessions.add(s)
	if err := l.register(fd, &s.cli); err != nil {
		l.eng.logf("%s: register client: %v", s.fe.conf, err)
		s.close(false)
		return
	}
	expectProxy := false
	if rs := s.fe.tcpConnection; len(rs) > 0 {
		// Before anything is read: the PROXY header, the handshake.
		t := s.txn(nil)
		s.sessionVars(t, false)
		s.fillAddrs(t, rules.AddrConnection)
		v, proxy := tcpRulesRun(rs, t)
		s.keepAddrs(t)
		if !s.tcpVerdict(v) {
			return
		}
		expectProxy = proxy
	}
	if ln.bind.AcceptProxy || expectProxy {
		s.state = stProxyHeader
		s.rearm()
		return
	}
	s.begin()
}

// begin starts the session's work once the client is known (and, on a
// TLS bind, once its handshake is done).
func (s *session) begin() {
	if s.ln.tls != nil && s.cli.tls == nil {
		s.startHandshake()
		return
	}
	s.ready = s.l.now // the handshakes are done: Th
	if s.logsTraffic() && s.fe.logKind == RecordConnect {
		s.logConnect()
	}
	if rs := s.fe.tcpSession; len(rs) > 0 {
		// Once the PROXY header and the handshake are done.
		t := s.txn(nil)
		s.sessionVars(t, false)
		s.fillAddrs(t, rules.AddrSession)
		v, _ := tcpRulesRun(rs, t)
		s.keepAddrs(t)
		if !s.tcpVerdict(v) {
			return
		}
	}
	if s.fe.conf.Mode == config.ModeHTTP {
		s.httpStart() // the content rules run on each request's head
		return
	}
	if s.fe.needsHello || s.fe.needsPayload {
		s.startInspect(false) // the rules run on the client's first bytes
		return
	}
	if !s.contentRules(s.fe.tcpContent) {
		return
	}
	s.dispatch()
}

func (s *session) onEvent(ep *endpoint) {
	switch s.state {
	case stProxyHeader:
		if ep.client {
			s.readProxyHeader()
		}
	case stInspect:
		if ep.client {
			s.inspect(false)
		}
	case stConnecting:
		if !ep.client && ep.writable {
			s.finishConnect()
		}
	case stEstablished:
		switch {
		case s.km != nil:
			s.kmService()
		case s.h != nil && !s.h.tunnel:
			s.httpForward()
		default:
			s.forward()
		}
	case stHTTPHead:
		if ep.client {
			s.httpReadHead()
		} else if s.svr.readable || s.svr.hup {
			// The kept server connection spoke or closed between
			// requests: it cannot be used again.
			s.h.reusable = false
			s.releaseServerConn()
		}
	case stLinger:
		if ep.client {
			s.drainClient()
		}
	case stTarpit:
		if ep.client && s.cli.hup {
			s.close(false) // the client gave up: nothing to answer
		}
	}
}

// readProxyHeader peeks at the client's first bytes until a complete PROXY
// header is there, consumes exactly the header and goes on to dispatch.
func (s *session) readProxyHeader() {
	if !s.cli.readable {
		return
	}
	buf := s.l.scratch
	if len(buf) > proxyproto.MaxHeaderLen {
		buf = buf[:proxyproto.MaxHeaderLen]
	}
	n, err := sysPeek(s.cli.fd, buf)
	if err == unix.EAGAIN {
		s.cli.readable = false
		return
	}
	if err != nil || n == 0 {
		s.close(false)
		return
	}
	h, hlen, err := proxyproto.Parse(buf[:n])
	if err == proxyproto.ErrNeedMore {
		if s.cli.hup {
			// The client shut its side down mid-header: no more
			// bytes will come, and no more edges either.
			s.close(false)
			return
		}
		// Wait for more bytes: the next edge comes with them.
		s.cli.readable = false
		s.lastCli = s.l.now
		return
	}
	if err != nil {
		s.l.eng.logf("%s: client %s: bad PROXY header: %v", s.fe.conf, s.src(), err)
		s.close(true)
		return
	}
	if _, err := sysRead(s.cli.fd, buf[:hlen]); err != nil {
		s.close(false)
		return
	}
	if !h.Local {
		// The session's addresses, as in HAProxy 2.6: fc_src and
		// fc_dst still read the connection's.
		s.addrs.sess = [2]netip.AddrPort{h.Src, h.Dst}
		s.addrs.sessSet = rules.AddrSrc | rules.AddrDst
	}
	s.lastCli = s.l.now
	s.begin()
}

// dispatch chooses the backend and a server and starts connecting.
func (s *session) dispatch() {
	s.be = s.fe.route.backend(s.txn(nil))
	if s.be == nil {
		s.close(false)
		return
	}
	if s.be.Conf != s.fe.conf && len(s.be.tcpContent) > 0 {
		if s.be.inspectsReq {
			s.startInspect(true) // the backend's rules wait for the client's bytes
			return
		}
		if !s.contentRules(s.be.tcpContent) {
			return
		}
	}
	s.connectRouted()
}

// connectRouted connects the routed session to a server of its backend.
func (s *session) connectRouted() {
	s.at.routed = true
	s.retriesLeft = s.be.Conf.Retries
	s.connect()
}

func (s *session) localAddress() netip.AddrPort {
	if !s.localAddr.IsValid() && !s.ln.unix {
		if sa, err := unix.Getsockname(s.cli.fd); err == nil {
			s.localAddr = sockaddrToAddrPort(sa)
		}
	}
	return s.localAddr
}

// serverAddr applies the server's port mode to the connection at hand;
// it is unset for a server on a Unix socket.
func (s *session) serverAddr(sv *balancer.Server) netip.AddrPort {
	if sv.Conf.Unix.IsValid() {
		return netip.AddrPort{}
	}
	switch sv.Conf.PortMode {
	case config.PortSame:
		return netip.AddrPortFrom(sv.Addr.Addr(), s.dst().Port())
	case config.PortOffset:
		return netip.AddrPortFrom(sv.Addr.Addr(), uint16(int(s.dst().Port())+sv.Conf.PortDelta))
	}
	return sv.Addr
}

// connect starts a connection attempt: to the session's server for a
// retry, or to a newly chosen one (first attempt, redispatch).
func (s *session) connect() {
	if s.srv == nil || s.redispatch {
		if !s.choose() {
			return
		}
	}
	var sa unix.Sockaddr // nil for a Unix socket (connectUnix)
	family := unix.AF_INET
	if s.srv.Conf.Unix.IsValid() {
		family = unix.AF_UNIX
	} else {
		addr := s.serverAddr(s.srv)
		if addr.Addr().Is6() {
			family = unix.AF_INET6
		}
		sa = addrPortToSockaddr(addr)
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		s.l.eng.logf("%s: socket: %v", s.be.Conf, err)
		s.connectFailed()
		return
	}
	if family != unix.AF_UNIX {
		_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	}
	s.svr = endpoint{fd: fd, s: s, unix: family == unix.AF_UNIX}
	s.svrSrc = netip.AddrPort{}
	s.connStart = s.l.now
	if err := s.l.register(fd, &s.svr); err != nil {
		s.l.eng.logf("%s: register server socket: %v", s.be.Conf, err)
		s.dropServer()
		s.connectFailed()
		return
	}
	s.state = stConnecting
	// A Unix socket connects at once, or fails at once: ECONNREFUSED
	// (nothing listens), ENOENT (no such path), or EAGAIN (its backlog
	// is full), each a failed attempt, retried like TCP's.
	if sa != nil {
		err = unix.Connect(fd, sa)
	} else {
		err = connectUnix(fd, s.srv.Conf.Unix)
	}
	switch err {
	case nil:
		s.svr.writable = true
		s.finishConnect()
	case unix.EINPROGRESS:
		s.rearm()
	default:
		s.dropServer()
		s.connectFailed()
	}
}

// choose takes a server slot from the balancer, leaving the current server
// on redispatch. When every server is full the session waits in the queue
// and choose reports false; Grant resumes it.
func (s *session) choose() bool {
	var avoid *balancer.Server
	if s.redispatch {
		s.redispatch = false
		avoid = s.srv
		s.at.redispatched = true
		s.srv.Counters.Redispatches.Add(1)
		s.be.Counters.Redispatches.Add(1)
		s.be.Release(s.srv)
		s.srv = nil
	}
	req := balancer.Request{Src: s.src().Addr()}
	sv, err := s.be.Acquire(req, avoid, s)
	switch {
	case err != nil:
		// No server is available, or its queue is full: close at once
		// rather than hang.
		s.fail(503)
		return false
	case sv == nil:
		s.state = stQueued
		s.queued = s.l.now
		s.at.beQueue = s.be.Counters.QueueCur.Load() - 1
		s.rearm()
		return false
	}
	s.srv = sv
	s.at.slot = s.l.now
	return true
}

// Grant is called by the balancer, from any goroutine, when a slot was
// taken for this queued session. The loop picks it up from its inbox.
func (s *session) Grant(sv *balancer.Server) { s.l.post(s, sv) }

// granted runs on the loop when a queued session got its slot.
func (s *session) granted(sv *balancer.Server) {
	if s.state != stQueued {
		// The session ended while the grant was on its way.
		s.be.Release(sv)
		return
	}
	s.srv = sv
	s.at.slot = s.l.now
	if s.h != nil {
		s.httpAttach()
		return
	}
	s.connect()
}

// finishConnect runs when the server socket becomes writable.
func (s *session) finishConnect() {
	soerr, err := unix.GetsockoptInt(s.svr.fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil || soerr != 0 {
		s.dropServer()
		s.connectFailed()
		return
	}
	s.state = stEstablished
	s.lastSrv = s.l.now
	s.at.conn = s.l.now
	s.at.term = [2]byte{} // a connect timeout that was retried ended nothing
	s.observeConnect(true)
	if s.h == nil {
		s.be.Counters.SessionStart()
	}
	if v := s.srv.Conf.SendProxy; v != 0 {
		hdr, err := proxyproto.Build(v, s.src(), s.dst())
		if err != nil {
			s.l.eng.logf("%s, server '%s': PROXY header: %v", s.be.Conf, s.srv.Name, err)
			s.close(true)
			return
		}
		s.proxyHead = len(hdr)
		if !s.c2s.writeHead(s, hdr) {
			return
		}
	}
	if st := s.l.eng.serverTLS[s.srv.Conf]; st != nil {
		s.startServerHandshake(st)
		return
	}
	s.serverReady()
}

// serverReady starts the exchange once the server connection is up (and,
// with "ssl", its handshake done).
func (s *session) serverReady() {
	if s.h != nil {
		s.h.conSrv = s.srv
		s.httpSendHead()
		return
	}
	if len(s.be.tcpResponse) > 0 {
		// The server's bytes wait for the rules, which may decide
		// before it says anything.
		s.startResponseInspect()
		if !s.inspectResponse(false) {
			return
		}
	}
	s.logASAP()
	s.rearm()
	s.forward()
}

// dropServer abandons the current server socket after a failed attempt.
func (s *session) dropServer() {
	s.svr.dropTLS()
	if s.svr.fd >= 0 {
		s.l.closeFD(s.svr.fd)
		s.svr.fd = -1
	}
	s.svr.readable, s.svr.writable = false, false
	s.svrSrc = netip.AddrPort{}
}

// serverSource is the source address of the server connection (%bi:%bp),
// asked of the kernel once per connection: a kept connection serves many
// requests.
func (s *session) serverSource() netip.AddrPort {
	if !s.svrSrc.IsValid() && s.svr.fd >= 0 && !s.svr.unix {
		s.svrSrc = sysGetsockname(s.svr.fd)
	}
	return s.svrSrc
}

// connectFailed retries after a pause, moving the last retry to another
// server with "option redispatch", or gives up and closes the client.
func (s *session) connectFailed() {
	s.observeConnect(false)
	s.srv.Counters.ConnErrors.Add(1)
	s.be.Counters.ConnErrors.Add(1)
	if s.retriesLeft <= 0 {
		s.fail(503)
		return
	}
	s.retriesLeft--
	s.srv.Counters.Retries.Add(1)
	s.be.Counters.Retries.Add(1)
	if s.retriesLeft == 0 && s.be.Conf.Redispatch {
		s.redispatch = true
	}
	// HAProxy's turn-around pause: min(timeout connect, 1s), so that a
	// restarting server is not hammered.
	pause := time.Second
	if c := s.be.Conf.Timeouts.Connect; c > 0 && c < pause {
		pause = c
	}
	s.state = stRetryWait
	s.retryAt = s.l.now.Add(pause)
	s.rearm()
}

// forward moves bytes in both directions and ends the session when both
// directions have ended.
func (s *session) forward() {
	if !s.c2s.pump(s) {
		return
	}
	// While the response rules wait, only the server's bytes (or its
	// close) can change their mind.
	if s.resInspect && (s.svr.readable || s.svr.hup) && !s.inspectResponse(false) {
		return
	}
	if !s.s2c.pump(s) {
		return
	}
	if s.c2s.done() && s.s2c.done() {
		s.close(false)
		return
	}
	if s.kmEligible() {
		s.kmAttach()
		return
	}
	s.rearm()
}

// deadline is the earliest time the session's current state times out, or
// the zero time when nothing applies.
func (s *session) deadline() time.Time {
	t := &s.fe.conf.Timeouts
	var bt *config.Timeouts
	if s.be != nil {
		bt = &s.be.Conf.Timeouts
	}
	var d time.Time
	earliest := func(from time.Time, timeout time.Duration) {
		if timeout <= 0 {
			return
		}
		if at := from.Add(timeout); d.IsZero() || at.Before(d) {
			d = at
		}
	}
	switch s.state {
	case stProxyHeader:
		earliest(s.lastCli, t.Client)
	case stHandshake:
		earliest(s.hsStart, t.Client)
	case stInspect:
		// "timeout client" still bounds a shorter wait.
		earliest(s.inspectFrom, s.inspectDelay)
		earliest(s.lastCli, t.Client)
	case stServerHandshake:
		earliest(s.connStart, bt.Connect) // the handshake is part of connecting, as in HAProxy
	case stQueued:
		q := bt.Queue
		if q == 0 {
			q = bt.Connect // as in HAProxy
		}
		earliest(s.queued, q)
	case stConnecting:
		earliest(s.connStart, bt.Connect)
	case stRetryWait:
		d = s.retryAt
	case stHTTPHead:
		s.httpHeadDeadline(earliest)
	case stLinger:
		earliest(s.h.lingerAt, lingerTime)
	case stTarpit:
		earliest(s.tarpit.since, s.tarpitTimeout())
	case stEstablished:
		if s.h != nil && !s.h.tunnel {
			s.httpDeadline(earliest)
			break
		}
		cli, srv := t.Client, s.serverTimeout(bt)
		if tun := s.tunnelTimeout(bt); tun > 0 {
			// As in HAProxy, "timeout tunnel" replaces the client and
			// server timeouts once a TCP connection is established.
			cli, srv = tun, tun
		}
		if s.c2s.eof && t.ClientFin > 0 {
			cli = t.ClientFin
		}
		if s.s2c.eof && bt.ServerFin > 0 {
			srv = bt.ServerFin
		}
		if !s.serverBlocks() {
			earliest(s.lastCli, cli)
		}
		if !s.clientBlocks() {
			earliest(s.lastSrv, srv)
		}
		if s.resInspect {
			earliest(s.resFrom, s.be.Conf.ResponseInspectDelay)
		}
		if s.km != nil && !s.km.pollAt.IsZero() && (d.IsZero() || s.km.pollAt.Before(d)) {
			d = s.km.pollAt
		}
	}
	return d
}

// clientBlocks reports bytes from the server waiting for a client that
// does not take them, with nothing waiting for the server: fjord waits on
// the client only, and only the client's timeout runs, as in HAProxy
// (the server is not expected to send, and has nothing to take).
func (s *session) clientBlocks() bool { return s.s2c.inPipe > 0 && s.c2s.inPipe == 0 }

// serverBlocks is clientBlocks the other way: bytes from the client wait
// for a server that does not take them, and only the server's timeout
// runs.
func (s *session) serverBlocks() bool { return s.c2s.inPipe > 0 && s.s2c.inPipe == 0 }

// rearm makes sure the session's timer fires no later than its deadline.
// A deadline that moved later is left to onTimer, so traffic never touches
// the wheel.
func (s *session) rearm() {
	d := s.deadline()
	if d.IsZero() {
		return
	}
	if !s.timer.linked || s.l.wheel.tickOf(d)+1 < s.timer.at {
		s.l.wheel.schedule(&s.timer, d)
	}
}

func (s *session) onTimer(now time.Time) {
	if s.km != nil && s.state == stEstablished && !s.kmTimer(now) {
		return
	}
	d := s.deadline()
	if d.IsZero() {
		return
	}
	if now.Before(d) {
		s.l.wheel.schedule(&s.timer, d)
		return
	}
	// An inspect-delay that ran out is no timeout: the content rules
	// decide on what arrived.
	if s.inspectExpired(now) {
		if s.state == stInspect {
			s.inspect(true)
		} else if s.inspectResponse(true) {
			s.forward()
		}
		return
	}
	if h := s.h; h != nil && h.hold != nil && h.hold.active {
		// A message waits for its body: it is looked at once more
		// before anything times out (it says which, if it does).
		s.holdTimer()
		return
	}
	s.timedOut(now)
	switch s.state {
	case stRetryWait:
		s.connect()
	case stConnecting:
		s.dropServer()
		s.connectFailed()
	case stQueued:
		s.fail(503)
	case stHandshake:
		s.handshakeFailed(context.DeadlineExceeded)
	case stInspect:
		s.close(false) // timeout client, before the inspect-delay
	case stServerHandshake:
		s.serverHandshakeFailed(context.DeadlineExceeded)
	case stTarpit:
		s.tarpitDone()
	case stHTTPHead:
		switch {
		case s.h.headStart.IsZero():
			s.close(false) // an idle keep-alive connection: close silently
		case s.h.bodyWait:
			// "option http-buffer-request": the head was whole, and
			// HAProxy's stream answers (http_wait_for_request_body).
			s.httpFail(408, "timeout http-request")
		default:
			s.httpFailRaw(408, "timeout http-request") // HAProxy's H1 mux answers
		}
	case stEstablished:
		if s.h != nil && !s.h.tunnel && s.h.rs == rsHead && s.h.rq == rqDone {
			s.httpFail(504, "server %s: timeout server", s.srvName())
			return
		}
		s.close(false)
	default:
		s.close(false)
	}
}

// observeConnect reports a connection attempt for passive health checks;
// only servers with "observe" pay for it.
func (s *session) observeConnect(ok bool) {
	if o := s.l.eng.observer; o != nil && s.srv != nil && s.srv.Conf.Observe != config.ObserveNone {
		o.ConnectResult(s.srv, ok)
	}
}

// observeHTTP reports a response status (0: none) for "observe layer7".
func (s *session) observeHTTP(status int) {
	if o := s.l.eng.observer; o != nil && s.srv != nil && s.srv.Conf.Observe == config.ObserveLayer7 {
		o.HTTPResult(s.srv, status)
	}
}

// fail ends a session that could not be served: with an error response in
// HTTP mode, by closing the client in tcp mode.
func (s *session) fail(code int) {
	s.setTerm('S', 'C')
	if s.h != nil {
		s.httpFail(code, "%s: no server available", s.be.Conf)
		return
	}
	s.close(false)
}

// close ends the session. With reset, both sockets are reset (SO_LINGER 0)
// instead of closed gracefully, so that a peer's reset reaches the other.
func (s *session) close(reset bool) {
	if s.state == stClosed {
		return
	}
	unread := s.kmUnreadSources() // before kmCount adds to the flows' counts
	s.kmCount()
	if s.logsTraffic() && !s.quiet {
		s.logClose(reset)
	}
	established := s.state == stEstablished && s.h == nil
	if s.h != nil {
		if s.h.counted {
			s.be.Counters.SessionEnd()
			s.h.counted = false
		}
	}
	if s.state == stQueued && !s.be.Cancel(s) {
		// A grant is on its way to the loop's inbox; granted releases it.
		s.srv = nil
	}
	if s.hsCancel != nil {
		s.hsCancel() // the handshake's result will find the session closed
		s.hsCancel = nil
	}
	s.cli.dropTLS()
	s.svr.dropTLS()
	s.state = stClosed
	s.l.wheel.cancel(&s.timer)
	s.l.sessions.remove(s)
	for i, ep := range []*endpoint{&s.cli, &s.svr} {
		if ep.fd < 0 {
			continue
		}
		if (reset || unread[i]) && !ep.unix { // a Unix socket has no reset to send
			_ = unix.SetsockoptLinger(ep.fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
		}
		s.l.closeFD(ep.fd)
		ep.fd = -1
	}
	s.kmClosed()
	s.c2s.release(s.l.pipes)
	s.s2c.release(s.l.pipes)
	if s.srv != nil {
		s.srv.Counters.BytesIn.Add(s.c2s.bytes)
		s.srv.Counters.BytesOut.Add(s.s2c.bytes)
		s.be.Release(s.srv)
	}
	if s.be != nil {
		if established {
			s.be.Counters.SessionEnd()
		}
		s.be.Counters.BytesIn.Add(s.c2s.bytes)
		s.be.Counters.BytesOut.Add(s.s2c.bytes)
	}
	s.fe.counters.BytesIn.Add(s.c2s.bytes)
	s.fe.counters.BytesOut.Add(s.s2c.bytes)
	if !s.slotHeld {
		s.fe.counters.SessionEnd()
		s.l.eng.release(s.fe)
	}
}
