package engine

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// timeoutConfig is a tcp proxy whose timeouts are all given by timeouts
// (lines of the listen section); unlisted ones are unset.
func timeoutConfig(t testing.TB, timeouts string, servers ...string) string {
	cfg := fmt.Sprintf("global\n  nbthread 2\ndefaults\n  mode tcp\nlisten px\n  bind 127.0.0.1:%d\n%s\n", freePort(t), timeouts)
	for i, s := range servers {
		cfg += fmt.Sprintf("  server s%d %s\n", i, s)
	}
	return cfg
}

// silentServer accepts and reads everything, never answering; it ends when
// the proxy closes the connection.
func silentServer(t testing.TB) string {
	return serveTCP(t, func(c net.Conn) { io.Copy(io.Discard, c) })
}

func TestTimeoutClient(t *testing.T) { onPaths(t, testTimeoutClient) }

func testTimeoutClient(t *testing.T, p fwdPath) {
	e, addr := p.start(t, timeoutConfig(t,
		"  timeout connect 5s\n  timeout client 200ms\n  timeout server 60s", echoServer(t)))
	c := dial(t, addr)
	if err := echoOnce(c, "ping", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, c, 5*time.Second)
	waitIdle(t, e)

	// A client that never sends a byte is closed too.
	c = dial(t, addr)
	waitClosed(t, c, 5*time.Second)
	waitIdle(t, e)
}

func TestTimeoutServer(t *testing.T) { onPaths(t, testTimeoutServer) }

func testTimeoutServer(t *testing.T, p fwdPath) {
	e, addr := p.start(t, timeoutConfig(t,
		"  timeout connect 5s\n  timeout client 60s\n  timeout server 200ms", silentServer(t)))
	c := dial(t, addr)
	if _, err := c.Write([]byte("anybody there?")); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, c, 5*time.Second)
	waitIdle(t, e)
}

// blackholeAddr returns a loopback address whose listener never accepts and
// whose accept queue is full, so that new SYNs are dropped and a connect
// hangs. It reports false when the kernel does not behave that way.
func blackholeAddr(t testing.TB) (string, bool) {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := sockaddrToAddrPort(sa).String()
	// Fill the accept queue: with a backlog of 0 it holds one connection;
	// once it is full the next SYN is dropped and the dial times out.
	for i := 0; i < 8; i++ {
		c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return addr, true
			}
			t.Logf("filling the accept queue: %v", err)
			return addr, false
		}
		t.Cleanup(func() { c.Close() })
	}
	return addr, false
}

func TestTimeoutConnect(t *testing.T) {
	srv, ok := blackholeAddr(t)
	if !ok {
		t.Skip("cannot make a blackholed loopback server: this kernel does not drop SYNs on a full accept queue")
	}
	e, addr := startEngine(t, timeoutConfig(t,
		"  retries 0\n  timeout connect 200ms\n  timeout client 60s\n  timeout server 60s", srv))
	c := dial(t, addr)
	c.Write([]byte("hello"))
	waitClosed(t, c, 5*time.Second)
	waitIdle(t, e)
	sv := &e.Backend("px").Servers[0].Counters
	if got := sv.ConnErrors.Load(); got != 1 {
		t.Errorf("connection errors = %d, want 1", got)
	}
	checkServersIdle(t, e, "px")
}

// A connect timeout counts as a failed attempt: it is retried and
// redispatched to a working server.
func TestTimeoutConnectRedispatch(t *testing.T) {
	srv, ok := blackholeAddr(t)
	if !ok {
		t.Skip("cannot make a blackholed loopback server: this kernel does not drop SYNs on a full accept queue")
	}
	e, addr := startEngine(t, timeoutConfig(t,
		"  retries 1\n  option redispatch\n  timeout connect 200ms\n  timeout client 60s\n  timeout server 60s",
		srv, echoServer(t)))
	for i := 0; i < 4; i++ {
		if err := roundTrip(t, addr, 1000); err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
	}
	waitIdle(t, e)
	if n := e.Backend("px").Servers[0].Counters.ConnErrors.Load(); n == 0 {
		t.Errorf("blackholed server: no connection error counted")
	}
	checkServersIdle(t, e, "px")
}

// "timeout tunnel" replaces the client and server timeouts once the
// connection is established.
func TestTimeoutTunnel(t *testing.T) { onPaths(t, testTimeoutTunnel) }

func testTimeoutTunnel(t *testing.T, p fwdPath) {
	t.Run("shorter", func(t *testing.T) {
		e, addr := p.start(t, timeoutConfig(t,
			"  timeout connect 5s\n  timeout client 60s\n  timeout server 60s\n  timeout tunnel 200ms", echoServer(t)))
		c := dial(t, addr)
		if err := echoOnce(c, "ping", 5*time.Second); err != nil {
			t.Fatal(err)
		}
		waitClosed(t, c, 5*time.Second)
		waitIdle(t, e)
	})
	t.Run("longer", func(t *testing.T) {
		// The client and server timeouts would close the connection
		// after 200 ms of silence; the tunnel timeout keeps it for a
		// minute. Nothing here depends on speed: a slow machine only
		// makes the silence longer relative to 200 ms.
		e, addr := p.start(t, timeoutConfig(t,
			"  timeout connect 5s\n  timeout client 200ms\n  timeout server 200ms\n  timeout tunnel 60s", echoServer(t)))
		c := dial(t, addr)
		if err := echoOnce(c, "ping", 5*time.Second); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1 * time.Second)
		if err := echoOnce(c, "still there?", 5*time.Second); err != nil {
			t.Fatalf("after 1 s of silence under timeout tunnel 60s: %v", err)
		}
		c.Close()
		waitIdle(t, e)
	})
}

// "timeout client-fin" applies once the client has shut its sending side.
func TestTimeoutClientFin(t *testing.T) { onPaths(t, testTimeoutClientFin) }

func testTimeoutClientFin(t *testing.T, p fwdPath) {
	// The server reads until EOF and then keeps its connection open and
	// silent: only client-fin can end the session.
	hold := make(chan struct{})
	srv := serveTCP(t, func(c net.Conn) {
		io.Copy(io.Discard, c)
		<-hold
	})
	t.Cleanup(func() { close(hold) })
	e, addr := p.start(t, timeoutConfig(t,
		"  timeout connect 5s\n  timeout client 60s\n  timeout server 60s\n  timeout client-fin 200ms", srv))
	c := dial(t, addr)
	p.established(t, e)
	c.Write([]byte("request"))
	c.CloseWrite()
	waitClosed(t, c, 5*time.Second)
	waitIdle(t, e)
}

// "timeout server-fin" applies once the server has shut its sending side.
func TestTimeoutServerFin(t *testing.T) { onPaths(t, testTimeoutServerFin) }

func testTimeoutServerFin(t *testing.T, p fwdPath) {
	hold, speak := make(chan struct{}), make(chan struct{})
	srv := serveTCP(t, func(c net.Conn) {
		<-speak
		c.Write([]byte("bye"))
		c.(*net.TCPConn).CloseWrite()
		<-hold
	})
	t.Cleanup(func() { close(hold) })
	e, addr := p.start(t, timeoutConfig(t,
		"  timeout connect 5s\n  timeout client 60s\n  timeout server 60s\n  timeout server-fin 200ms", srv))
	c := dial(t, addr)
	p.established(t, e) // the server's FIN comes after the handover
	close(speak)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, err := io.ReadAll(c) // the server's FIN is passed on
	if err != nil || string(got) != "bye" {
		t.Fatalf("read %q, %v; want \"bye\" then EOF", got, err)
	}
	// The client neither sends nor closes: server-fin ends the session.
	if !waitFor(5*time.Second, func() bool { return e.Stats().Sessions == 0 }) {
		t.Fatalf("session not closed by timeout server-fin: %+v", e.Stats())
	}
	// The client's side was closed by the proxy: writing ends in a reset.
	c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	var werr error
	for i := 0; i < 50 && werr == nil; i++ {
		_, werr = c.Write([]byte("x"))
		time.Sleep(10 * time.Millisecond)
	}
	if werr == nil || os.IsTimeout(werr) {
		t.Fatalf("writing to a connection the proxy closed: %v", werr)
	}
}

// A timeout that fires while bytes are stuck in a pipe, or kept in the
// kernel (the client does not read), closes the session and gives the
// pipe back.
func TestTimeoutWithBytesInFlight(t *testing.T) { onPaths(t, testTimeoutWithBytesInFlight) }

func testTimeoutWithBytesInFlight(t *testing.T, p fwdPath) {
	big := make([]byte, 8<<20)
	ended := make(chan struct{}, 1)
	srv := serveTCP(t, func(c net.Conn) {
		// The server sends once the client says so: sending at once
		// would race the handover, which takes only sockets read empty.
		var go1 [1]byte
		if _, err := io.ReadFull(c, go1[:]); err != nil {
			return
		}
		c.Write(big) // blocks: the client never reads
		io.Copy(io.Discard, c)
		ended <- struct{}{}
	})
	e, addr := p.start(t, timeoutConfig(t,
		"  timeout connect 5s\n  timeout client 300ms\n  timeout server 300ms", srv))
	c := dial(t, addr)
	c.SetReadBuffer(4096)
	p.established(t, e)
	if _, err := c.Write([]byte{'g'}); err != nil {
		t.Fatalf("write: %v", err)
	}
	// Wait until the proxy holds bytes it cannot deliver.
	waitFor(3*time.Second, func() bool { st := e.Stats(); return st.PipesInUse > 0 || st.KernelKept > 0 })
	if !waitFor(5*time.Second, func() bool { return e.Stats().Sessions == 0 }) {
		t.Fatalf("session with a stuck client not closed by its timeout: %+v", e.Stats())
	}
	// The proxy closed with bytes it never delivered: the server must
	// learn of it (a reset, or a FIN once it has sent everything), not be
	// left writing into a zero window.
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatalf("the server's connection still open 5s after the proxy closed the session")
	}
	waitIdle(t, e)
}
