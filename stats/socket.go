package stats

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/engine"
)

// Logger receives the socket's operational messages.
type Logger interface {
	Printf(format string, args ...any)
}

// MaxCommandLine bounds one line of the runtime API, as HAProxy's buffer
// does; a longer line is refused, not executed in pieces.
const MaxCommandLine = 4096

// socketIdle bounds how long a connection may stay silent, or leave an
// answer unread, when 'stats timeout' does not say: HAProxy's default.
const socketIdle = 10 * time.Second

// lateInputGrace is how long a connection without prompt mode waits for
// more input once everything it received is answered, before closing.
// HAProxy waits for nothing, and a producer a little slower than the
// server (lines a script writes a few ms apart, a pipe whose writer was
// preempted on a busy machine) loses its later lines. Reading until the
// client half-closes would lose none, but hang every script that never
// half-closes (nc -U, most HAProxy tools) for 'stats timeout'. The wait
// ends at once when the client half-closes (socat, fjord cli, nc -N), so
// it costs only clients that never do, once per connection. A line later
// still is not run, and the client is reset (see closeNow). A variable
// for the tests, which read it into the Socket before serving.
var lateInputGrace = 100 * time.Millisecond

// A connection that refused input is closed by shutting its write side
// and discarding what the client still sends, for at most lingerTime and
// lingerBytes, before closing for good. Closing a Unix socket with unread
// input resets the peer (ECONNRESET), and a client still writing (a
// pasted file, a line over the limit) gets EPIPE and may die before it
// reads the answer that says why. The bounds keep a client that never
// stops from holding the connection: 16 MiB is far more than any honest
// batch of commands and costs milliseconds to discard.
const (
	lingerTime  = 5 * time.Second
	lingerBytes = 16 << 20
)

// Socket serves the runtime API ("stats socket") as HAProxy does (see
// apiConn), on a Unix socket, a loopback TCP address or a listening
// socket fjord was started with (fd@N), which may be either.
type Socket struct {
	src    *Sources
	conf   config.StatsSocket
	ln     net.Listener
	logger Logger
	idle   time.Duration // 'stats timeout'
	grace  time.Duration // lateInputGrace, at most idle
	wg     sync.WaitGroup

	// slots holds a token for each connection being served: at 'stats
	// maxconn' the socket accepts no more, and clients wait in the
	// kernel's backlog, so that no client can take every descriptor.
	slots chan struct{}
	done  chan struct{} // closed by Close

	mu     sync.Mutex
	conns  map[stream]struct{} // open connections, for Close
	closed bool
}

// acceptRetry is how long the socket waits after accept fails for want of
// descriptors or memory, as the engine's listeners do; acceptReportEvery
// bounds how often it says so.
const (
	acceptRetry       = 100 * time.Millisecond
	acceptReportEvery = 10 * time.Second
)

// stream is a runtime API connection: a Unix or a TCP connection, which
// can shut either direction and tell how much input it has not read.
type stream interface {
	net.Conn
	CloseRead() error
	CloseWrite() error
	SyscallConn() (syscall.RawConn, error)
}

// ListenSocket starts serving on the configured address: for a path, it
// creates the socket file with the configured mode (a stale socket left
// by a crashed process is replaced); for an address, it listens on TCP.
// An fd@N socket comes from the caller (ServeInherited).
func ListenSocket(src *Sources, sc config.StatsSocket, logger Logger) (*Socket, error) {
	switch {
	case sc.Inherited:
		return nil, fmt.Errorf("stats socket %s (%s): an inherited socket is served with ServeInherited", sc, sc.Pos)
	case sc.Addr.IsValid():
		ln, err := net.Listen("tcp", sc.Addr.String())
		if err != nil {
			return nil, fmt.Errorf("stats socket %s (%s): %w", sc, sc.Pos, err)
		}
		return serveSocket(src, sc, ln, logger), nil
	}
	if fi, err := os.Lstat(sc.Path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("stats socket %s (%s): exists and is not a socket", sc.Path, sc.Pos)
		}
		if c, err := net.Dial("unix", sc.Path); err == nil {
			c.Close()
			return nil, fmt.Errorf("stats socket %s (%s): another process is serving it", sc.Path, sc.Pos)
		}
		os.Remove(sc.Path)
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sc.Path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("stats socket %s (%s): %w", sc.Path, sc.Pos, err)
	}
	if sc.Mode != 0 {
		if err := os.Chmod(sc.Path, os.FileMode(sc.Mode)); err != nil {
			ln.Close()
			return nil, fmt.Errorf("stats socket %s (%s): mode: %w", sc.Path, sc.Pos, err)
		}
	}
	return serveSocket(src, sc, ln, logger), nil
}

// ServeInherited serves the runtime API on f, the listening socket of a
// "stats socket fd@N" (Unix or TCP). f stays the caller's: the socket
// serves on a duplicate, so that the caller can hand f to another process
// or serve on it again after Close.
func ServeInherited(src *Sources, sc config.StatsSocket, f *os.File, logger Logger) (*Socket, error) {
	// Not f.Fd(), which may put the socket, shared with every duplicate,
	// back into blocking mode.
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("stats socket %s (%s): %w", sc, sc.Pos, err)
	}
	var checkErr error
	if err := rc.Control(func(fd uintptr) {
		if _, err := engine.CheckListener(int(fd)); err != nil {
			checkErr = fmt.Errorf("stats socket %s (%s): descriptor %d %v", sc, sc.Pos, fd, err)
		}
	}); err != nil {
		return nil, fmt.Errorf("stats socket %s (%s): %w", sc, sc.Pos, err)
	}
	if checkErr != nil {
		return nil, checkErr
	}
	ln, err := net.FileListener(f)
	if err != nil {
		return nil, fmt.Errorf("stats socket %s (%s): %w", sc, sc.Pos, err)
	}
	// The runtime API has no authentication: on TCP it is served on
	// loopback only, handed over or not (config refuses any other address
	// it is given).
	if a, ok := ln.Addr().(*net.TCPAddr); ok && !a.IP.IsLoopback() {
		ln.Close()
		return nil, fmt.Errorf("stats socket %s (%s): the descriptor listens on %s: the runtime API, which has no authentication, is served on loopback addresses and Unix sockets only", sc, sc.Pos, a)
	}
	return serveSocket(src, sc, ln, logger), nil
}

func serveSocket(src *Sources, sc config.StatsSocket, ln net.Listener, logger Logger) *Socket {
	s := &Socket{src: src, conf: sc, ln: ln, logger: logger, idle: socketIdle, conns: map[stream]struct{}{},
		done: make(chan struct{})}
	maxConn := config.DefaultStatsMaxConn
	if src.Config != nil {
		// A zero 'stats timeout' keeps the default rather than letting
		// a silent client hold its connection for ever.
		if t := src.Config.Global.StatsTimeout; t > 0 {
			s.idle = t
		}
		if n := src.Config.Global.StatsMaxConn; n > 0 {
			maxConn = n
		}
	}
	s.grace = min(lateInputGrace, s.idle)
	s.slots = make(chan struct{}, maxConn)
	s.wg.Add(1)
	go s.serve()
	return s
}

// Close stops serving, removes the socket file (of a path: an inherited
// Unix socket's file is its creator's) and ends the open connections: one
// at a prompt may otherwise hold a stop or a reload for as long as 'stats
// timeout'.
func (s *Socket) Close() error {
	err := s.ln.Close() // net's Unix listener unlinks the file it created
	s.mu.Lock()
	if !s.closed {
		close(s.done)
	}
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

// track adds c to the open connections; false once the socket is closed.
func (s *Socket) track(c stream) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Socket) untrack(c stream) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
}

func (s *Socket) serve() {
	defer s.wg.Done()
	var lastReport time.Time
	suppressed := 0
	for {
		select {
		case s.slots <- struct{}{}:
		case <-s.done:
			return
		}
		nc, err := s.ln.Accept()
		if err != nil {
			<-s.slots
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of descriptors, most likely: the API must come back
			// when they free up, not stop for good.
			if now := time.Now(); now.Sub(lastReport) >= acceptReportEvery {
				more := ""
				if suppressed > 0 {
					more = fmt.Sprintf("; %d more failures since the last report", suppressed)
				}
				s.logf("stats socket %s (%s): %v; retrying every %v%s", s.conf, s.conf.Pos, err, acceptRetry, more)
				lastReport, suppressed = now, 0
			} else {
				suppressed++
			}
			select {
			case <-time.After(acceptRetry):
				continue
			case <-s.done:
				return
			}
		}
		c, ok := nc.(stream)
		if !ok { // neither Unix nor TCP: CheckListener lets no other through
			nc.Close()
			<-s.slots
			continue
		}
		if !s.track(c) {
			<-s.slots
			c.Close()
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() { <-s.slots }()
			defer s.untrack(c)
			s.handle(c)
		}()
	}
}

func (s *Socket) logf(format string, args ...any) {
	if s.logger != nil {
		s.logger.Printf(format, args...)
	}
}

func (s *Socket) handle(c stream) {
	conn := &apiConn{
		c:     c,
		br:    bufio.NewReaderSize(c, MaxCommandLine),
		api:   &API{Src: s.src, Level: s.conf.Level},
		idle:  s.idle,
		grace: s.grace,
		left:  socketMaxCommands,
	}
	conn.serve()
	switch {
	case conn.refused:
		closeGracefully(c)
	case conn.quit:
		s.closeNow(c, "followed 'quit'")
	default:
		s.closeNow(c, "arrived after the last answer")
	}
}

// closeNow closes a connection whose answers are all written. Input that
// came after the last answer is not run, and the client must learn it:
// discarding it, as closeGracefully does, would show a client still
// writing a clean end of file, as if its lines had run. So the reading
// side is shut first, after which the client's writes fail (EPIPE), and
// what it sent before that is left unread: closing then resets the
// client (ECONNRESET once it has read the answers, instead of an end of
// file). The shutdown also fixes the count that is logged, since nothing
// more can arrive. what says where the unread bytes came in the input.
func (s *Socket) closeNow(c stream, what string) {
	defer c.Close()
	if err := c.CloseRead(); err != nil {
		return // the client is gone
	}
	n, err := unreadBytes(c)
	if err != nil {
		s.logf("stats socket %s (%s): %v", s.conf, s.conf.Pos, err)
		return
	}
	if n > 0 {
		s.logf("stats socket %s (%s): %d bytes %s and were not run; the client is reset so that it knows",
			s.conf, s.conf.Pos, n, what)
	}
}

// unreadBytes returns how many bytes wait in c's receive queue.
func unreadBytes(c stream) (int, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, fmt.Errorf("counting unread input: %w", err)
	}
	n := 0
	var ioctlErr error
	if err := rc.Control(func(fd uintptr) {
		n, ioctlErr = unix.IoctlGetInt(int(fd), unix.SIOCINQ)
	}); err != nil {
		return 0, fmt.Errorf("counting unread input: %w", err)
	}
	if ioctlErr != nil {
		return 0, fmt.Errorf("counting unread input: SIOCINQ: %w", ioctlErr)
	}
	return n, nil
}

// closeGracefully sends the client an end of file after everything
// written, waits within bounds for it to stop sending, then closes (see
// lingerTime).
func closeGracefully(c stream) {
	defer c.Close()
	if err := c.CloseWrite(); err != nil {
		return // the client is gone
	}
	c.SetReadDeadline(time.Now().Add(lingerTime))
	io.CopyN(io.Discard, c, lingerBytes)
}
