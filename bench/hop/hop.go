// Package hop is a minimal HTTP/1.1 keep-alive reverse proxy hop, used
// only to compare two event-loop designs on the same work (issue 20: does
// an io_uring loop cost the machine less per keep-alive request than
// fjord's epoll loop?). It is not a load balancer: no configuration, no
// rules, no timeouts, no health checks.
//
// Both designs do the same thing. One loop per thread, each with its own
// SO_REUSEPORT listener, locked to its OS thread. Each client connection
// gets one server connection, to the next backend in turn, for its whole
// life (no pool, no per-request balancing). Bytes are forwarded exactly
// as they came, both ways, with pipelining, after an HTTP/1.1 framer
// (frame.go) has found where each message ends, so that the hop knows
// when a connection can be let go. What differs is how the loop talks to
// the kernel:
//
//   - epoll (epoll.go): fjord's pattern. Sockets registered once,
//     edge-triggered; read(2) into the loop's buffer and write(2) on at
//     once, a per-connection buffer holding only what a socket did not
//     take; epoll_wait(2) as a raw system call.
//   - uring (uring.go, ring.go): one io_uring per loop, set up with
//     SINGLE_ISSUER and DEFER_TASKRUN where the kernel has them; multishot
//     accept; multishot recv into a provided buffer ring; the sends of a
//     loop turn queued and submitted by the one io_uring_enter(2) that
//     also waits for the next completions.
//
// A framing error, a reset or a client gone closes both connections. A
// server's close ends the client connection once what it sent is
// forwarded. A client's close ends both once every request it sent has
// been answered (its server connection is shut for writing meanwhile).
package hop

import (
	"errors"
	"fmt"
	"log"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Design names a loop design.
type Design string

const (
	Epoll Design = "epoll"
	Uring Design = "uring"
)

// ParseDesign reads a -loop flag.
func ParseDesign(s string) (Design, error) {
	switch d := Design(s); d {
	case Epoll, Uring:
		return d, nil
	}
	return "", fmt.Errorf("unknown loop design %q: want epoll or uring", s)
}

// Options are the hop's settings.
type Options struct {
	Listen   string   // "127.0.0.1:0"
	Backends []string // host:port, used in turn, one per client connection
	Design   Design
	Threads  int // loops; 0 is GOMAXPROCS
	// BufSize is the size of a read: the epoll loop's buffer and each of
	// the uring loop's provided buffers. 0 is 16 KiB, fjord's
	// tune.bufsize.
	BufSize int
	// Buffers is how many provided buffers each uring loop registers, a
	// power of two. 0 is 256: 4 MiB of 16 KiB buffers, enough for the
	// benchmark's 50 connections, each holding one briefly per message.
	Buffers int
	// Logf receives the hop's rare messages (errors a loop survives).
	// nil logs with the log package.
	Logf func(format string, args ...any)
}

// Proxy is a running hop.
type Proxy struct {
	opts     Options
	addr     *net.TCPAddr
	backends []unix.Sockaddr
	next     atomic.Uint64
	open     atomic.Int64 // client connections being served
	// stalls counts the times a direction stopped reading because its
	// destination was full: back-pressure at work (the tests check it).
	stalls atomic.Int64
	mu     sync.Mutex // guards loops
	loops  []runner
	wg     sync.WaitGroup
	// Setup says how each loop was set up ("io_uring: SINGLE_ISSUER|
	// DEFER_TASKRUN"), for the command to print.
	Setup string
}

// runner is one loop of either design.
type runner interface {
	run()
	stop()
}

const (
	defaultBufSize = 16 << 10
	defaultBuffers = 256
)

// Start opens the listeners and starts the loops.
func Start(o Options) (*Proxy, error) {
	if err := o.fill(); err != nil {
		return nil, err
	}
	p := &Proxy{opts: o}
	for _, b := range o.Backends {
		sa, err := sockaddr(b)
		if err != nil {
			return nil, fmt.Errorf("backend %q: %w", b, err)
		}
		p.backends = append(p.backends, sa)
	}
	lns, err := p.listen(o.Listen, o.Threads)
	if err != nil {
		return nil, err
	}
	ready := make(chan error, o.Threads)
	setups := make([]string, o.Threads)
	for i, ln := range lns {
		p.wg.Add(1)
		go p.loop(i, ln, ready, &setups[i])
	}
	var errs []error
	for range lns {
		errs = append(errs, <-ready)
	}
	if err := errors.Join(errs...); err != nil {
		p.Close()
		return nil, err
	}
	p.Setup = setups[0]
	return p, nil
}

func (o *Options) fill() error {
	if len(o.Backends) == 0 {
		return errors.New("hop: no backend")
	}
	if o.Design == "" {
		o.Design = Epoll
	}
	if _, err := ParseDesign(string(o.Design)); err != nil {
		return err
	}
	if o.Threads <= 0 {
		o.Threads = runtime.GOMAXPROCS(0)
	}
	if o.BufSize <= 0 {
		o.BufSize = defaultBufSize
	}
	if o.Buffers <= 0 {
		o.Buffers = defaultBuffers
	}
	if o.Buffers&(o.Buffers-1) != 0 || o.Buffers > 1<<15 {
		return fmt.Errorf("hop: %d buffers: want a power of two up to 32768", o.Buffers)
	}
	if o.Logf == nil {
		o.Logf = log.Printf
	}
	return nil
}

// loop runs loop i on its own OS thread: the uring design's ring must be
// set up, submitted to and waited on by one thread (SINGLE_ISSUER).
func (p *Proxy) loop(i, ln int, ready chan<- error, setup *string) {
	defer p.wg.Done()
	runtime.LockOSThread()
	var (
		r   runner
		err error
	)
	if p.opts.Design == Uring {
		r, *setup, err = newUringLoop(p, i, ln)
	} else {
		r, *setup, err = newEpollLoop(p, i, ln)
	}
	if err != nil {
		unix.Close(ln)
		ready <- fmt.Errorf("loop %d: %w", i, err)
		return
	}
	p.mu.Lock()
	p.loops = append(p.loops, r)
	p.mu.Unlock()
	ready <- nil
	reserveP(p.opts.Threads)
	r.run()
}

var gomaxprocsMu sync.Mutex

// reserveP makes sure that the process's other goroutines (the signal
// handler, a test) have a P while every loop holds one in a raw system
// call, as fjord does (engine/loop.go, reserveSchedulerP).
func reserveP(loops int) {
	gomaxprocsMu.Lock()
	defer gomaxprocsMu.Unlock()
	if runtime.GOMAXPROCS(0) <= loops {
		runtime.GOMAXPROCS(loops + 1)
	}
}

// Addr is the address the hop listens on.
func (p *Proxy) Addr() string { return p.addr.String() }

// Open is the number of client connections being served.
func (p *Proxy) Open() int64 { return p.open.Load() }

// Close stops the loops, which close every connection they hold, and
// waits for them.
func (p *Proxy) Close() {
	p.mu.Lock()
	loops := p.loops
	p.mu.Unlock()
	for _, r := range loops {
		r.stop()
	}
	p.wg.Wait()
}

// backend is the address of the next client connection's server.
func (p *Proxy) backend() unix.Sockaddr {
	return p.backends[(p.next.Add(1)-1)%uint64(len(p.backends))]
}

// dial starts a non-blocking connect to the next backend. Both designs
// then write to the socket as if it were connected: a write before the
// connect completes fails with EAGAIN (epoll waits for EPOLLOUT, io_uring
// polls for it internally).
func (p *Proxy) dial() (int, error) {
	// A copy: unix.Connect writes the raw form into the Sockaddr, and
	// the loops share the backends.
	var sa unix.Sockaddr
	family := unix.AF_INET
	switch a := p.backend().(type) {
	case *unix.SockaddrInet4:
		c := *a
		sa = &c
	case *unix.SockaddrInet6:
		c := *a
		sa, family = &c, unix.AF_INET6
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("socket: %w", err)
	}
	noDelay(fd)
	if err := unix.Connect(fd, sa); err != nil && !errors.Is(err, unix.EINPROGRESS) {
		unix.Close(fd)
		return -1, fmt.Errorf("connect: %w", err)
	}
	return fd, nil
}

// noDelay turns Nagle off, as fjord and HAProxy do for HTTP: a response
// written in two pieces must not wait for an ACK.
func noDelay(fd int) {
	_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
}

// listen opens one SO_REUSEPORT listener per loop on addr (the first
// picks the port when addr's is 0), so that the kernel spreads the
// connections over the loops as it does for fjord's.
func (p *Proxy) listen(addr string, n int) ([]int, error) {
	var lns []int
	for range n {
		fd, bound, err := listenReusePort(addr)
		if err != nil {
			for _, l := range lns {
				unix.Close(l)
			}
			return nil, fmt.Errorf("listen on %s: %w", addr, err)
		}
		if p.addr == nil {
			p.addr = bound
			addr = bound.String()
		}
		lns = append(lns, fd)
	}
	return lns, nil
}

func listenReusePort(addr string) (int, *net.TCPAddr, error) {
	sa, err := sockaddr(addr)
	if err != nil {
		return -1, nil, err
	}
	family := unix.AF_INET
	if _, ok := sa.(*unix.SockaddrInet6); ok {
		family = unix.AF_INET6
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, nil, err
	}
	if err := setupListener(fd, sa); err != nil {
		unix.Close(fd)
		return -1, nil, err
	}
	got, err := unix.Getsockname(fd)
	if err != nil {
		unix.Close(fd)
		return -1, nil, err
	}
	return fd, tcpAddr(got), nil
}

func setupListener(fd int, sa unix.Sockaddr) error {
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		return err
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
		return err
	}
	if err := unix.Bind(fd, sa); err != nil {
		return err
	}
	return unix.Listen(fd, 4096)
}

// sockaddr resolves host:port.
func sockaddr(hostport string) (unix.Sockaddr, error) {
	a, err := net.ResolveTCPAddr("tcp", hostport)
	if err != nil {
		return nil, err
	}
	if ip4 := a.IP.To4(); ip4 != nil || a.IP == nil {
		sa := &unix.SockaddrInet4{Port: a.Port}
		copy(sa.Addr[:], ip4)
		return sa, nil
	}
	sa := &unix.SockaddrInet6{Port: a.Port}
	copy(sa.Addr[:], a.IP.To16())
	return sa, nil
}

func tcpAddr(sa unix.Sockaddr) *net.TCPAddr {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return &net.TCPAddr{IP: net.IP(a.Addr[:]).To16(), Port: a.Port}
	case *unix.SockaddrInet6:
		return &net.TCPAddr{IP: net.IP(a.Addr[:]), Port: a.Port}
	}
	return &net.TCPAddr{}
}

// The epoll loop's data calls, made raw as fjord's are (engine/sys.go):
// every socket is non-blocking, so none can block, and telling the Go
// scheduler about them would only cost time.

func sysRead(fd int, p []byte) (int, error) {
	r, _, e := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	return int(r), errnoErr(e)
}

func sysWrite(fd int, p []byte) (int, error) {
	r, _, e := unix.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	return int(r), errnoErr(e)
}

func errnoErr(e unix.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}
