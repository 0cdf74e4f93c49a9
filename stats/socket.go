package stats

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"github.com/fjordlb/fjord/config"
)

// Logger receives the socket's operational messages.
type Logger interface {
	Printf(format string, args ...any)
}

// maxCommandLine bounds one line of the runtime API, as HAProxy's buffer
// does; a longer line is refused, not executed in pieces.
const maxCommandLine = 4096

// socketIdle bounds how long a connection may stay silent, or leave an
// answer unread, when 'stats timeout' does not say: HAProxy's default.
const socketIdle = 10 * time.Second

// A connection is closed by shutting its write side and discarding what
// the client still sends, for at most lingerTime and lingerBytes, before
// closing for good. Closing a Unix socket with unread input resets the
// peer (ECONNRESET), and a client still writing (a pasted file, a line
// over the limit) gets EPIPE and may die before it reads the answer that
// says why. The bounds keep a client that never stops from holding the
// connection: 16 MiB is far more than any honest batch of commands and
// costs milliseconds to discard.
const (
	lingerTime  = 5 * time.Second
	lingerBytes = 16 << 20
)

// Socket serves the runtime API ("stats socket PATH") on a Unix socket,
// as HAProxy does (see apiConn).
type Socket struct {
	src    *Sources
	conf   config.StatsSocket
	ln     *net.UnixListener
	logger Logger
	idle   time.Duration // 'stats timeout'
	wg     sync.WaitGroup

	mu     sync.Mutex
	conns  map[*net.UnixConn]struct{} // open connections, for Close
	closed bool
}

// ListenSocket creates the socket file with the configured mode (a stale
// socket left by a crashed process is replaced) and starts serving.
func ListenSocket(src *Sources, sc config.StatsSocket, logger Logger) (*Socket, error) {
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
	s := &Socket{src: src, conf: sc, ln: ln, logger: logger, idle: socketIdle, conns: map[*net.UnixConn]struct{}{}}
	// A zero 'stats timeout' keeps the default rather than letting a
	// silent client hold its connection for ever.
	if src.Config != nil && src.Config.Global.StatsTimeout > 0 {
		s.idle = src.Config.Global.StatsTimeout
	}
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

// Close stops serving, removes the socket file and ends the open
// connections: one at a prompt may otherwise hold a stop or a reload for
// as long as 'stats timeout'.
func (s *Socket) Close() error {
	err := s.ln.Close() // net's Unix listener unlinks the file
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

// track adds c to the open connections; false once the socket is closed.
func (s *Socket) track(c *net.UnixConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Socket) untrack(c *net.UnixConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
}

func (s *Socket) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.AcceptUnix()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) && s.logger != nil {
				s.logger.Printf("stats socket %s: %v", s.conf.Path, err)
			}
			return
		}
		if !s.track(c) {
			c.Close()
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer s.untrack(c)
			defer closeGracefully(c)
			s.handle(c)
		}()
	}
}

func (s *Socket) handle(c *net.UnixConn) {
	conn := &apiConn{
		c:    c,
		br:   bufio.NewReaderSize(c, maxCommandLine),
		api:  &API{Src: s.src, Level: s.conf.Level},
		idle: s.idle,
		left: socketMaxCommands,
	}
	conn.serve()
}

// closeGracefully sends the client an end of file after everything
// written, waits within bounds for it to stop sending, then closes (see
// lingerTime).
func closeGracefully(c *net.UnixConn) {
	defer c.Close()
	if err := c.CloseWrite(); err != nil {
		return // the client is gone
	}
	c.SetReadDeadline(time.Now().Add(lingerTime))
	io.CopyN(io.Discard, c, lingerBytes)
}
