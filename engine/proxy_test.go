package engine

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fjordlb/fjord/engine/proxyproto"
)

// proxySeen is what a PROXY-aware test server read at the start of a
// connection.
type proxySeen struct {
	h   proxyproto.Header
	err error
}

// proxyEchoServer reads a PROXY header (any version), reports it, then
// echoes the rest of the connection. network is "tcp4" or "tcp6".
func proxyEchoServer(t testing.TB, network string) (string, <-chan proxySeen) {
	t.Helper()
	seen := make(chan proxySeen, 100)
	handler := func(c net.Conn) {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		var buf []byte
		tmp := make([]byte, 512)
		for {
			h, n, err := proxyproto.Parse(buf)
			if err == nil {
				seen <- proxySeen{h: h}
				c.SetReadDeadline(time.Time{})
				if _, err := c.Write(buf[n:]); err != nil {
					return
				}
				io.Copy(c, c)
				c.(*net.TCPConn).CloseWrite()
				return
			}
			if !errors.Is(err, proxyproto.ErrNeedMore) {
				seen <- proxySeen{err: err}
				return
			}
			m, rerr := c.Read(tmp)
			if rerr != nil {
				seen <- proxySeen{err: fmt.Errorf("reading the PROXY header: %w (have %q)", rerr, buf)}
				return
			}
			buf = append(buf, tmp[:m]...)
		}
	}
	if network == "tcp4" {
		return serveTCP(t, handler), seen
	}
	return serveTCP6(t, handler), seen
}

// serveTCP6 is serveTCP on [::1]; it skips the test when IPv6 loopback is
// not available.
func serveTCP6(t testing.TB, handler func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		var conns []chan struct{}
		defer func() {
			for _, ch := range conns {
				<-ch
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			ch := make(chan struct{})
			conns = append(conns, ch)
			go func() {
				defer close(ch)
				defer c.Close()
				handler(c)
			}()
		}
	}()
	return ln.Addr().String()
}

func nextSeen(t testing.TB, seen <-chan proxySeen) proxyproto.Header {
	t.Helper()
	select {
	case s := <-seen:
		if s.err != nil {
			t.Fatalf("server: %v", s.err)
		}
		return s.h
	case <-time.After(10 * time.Second):
		t.Fatal("server saw no connection")
	}
	panic("unreachable")
}

func addrPortOf(t testing.TB, a net.Addr) netip.AddrPort {
	t.Helper()
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		t.Fatal(err)
	}
	return ap
}

func TestSendProxy(t *testing.T) { onPaths(t, testSendProxy) }

func testSendProxy(t *testing.T, p fwdPath) {
	for _, tt := range []struct {
		option  string
		version int
	}{{"send-proxy", 1}, {"send-proxy-v2", 2}} {
		t.Run(tt.option, func(t *testing.T) {
			srv, seen := proxyEchoServer(t, "tcp4")
			e, addr := p.start(t, tcpConfig(t, "", srv+" "+tt.option))
			for i := 0; i < 3; i++ {
				c := dial(t, addr)
				msg := strings.Repeat(fmt.Sprintf("payload %d of %s; ", i, tt.option), 50)
				if err := echoOnce(c, msg, 5*time.Second); err != nil {
					t.Fatal(err)
				}
				h := nextSeen(t, seen)
				if h.Version != tt.version || h.Local {
					t.Fatalf("header version %d local %v, want version %d", h.Version, h.Local, tt.version)
				}
				if want := addrPortOf(t, c.LocalAddr()); h.Src != want {
					t.Errorf("header source %v, want the client's %v", h.Src, want)
				}
				if want := addrPortOf(t, c.RemoteAddr()); h.Dst != want {
					t.Errorf("header destination %v, want the proxy's %v", h.Dst, want)
				}
				c.Close()
			}
			// Bulk data after the header goes through intact.
			if err := roundTrip(t, addr, 4<<20); err != nil {
				t.Fatal(err)
			}
			nextSeen(t, seen)
			waitIdle(t, e)
		})
	}
}

// acceptProxyConfig is a tcp proxy with accept-proxy on its bind and a
// send-proxy server, so that the server sees what the client announced.
func acceptProxyConfig(t testing.TB, srv string) string {
	return withBindOption(tcpConfig(t, "", srv+" send-proxy"), "accept-proxy")
}

func TestAcceptProxy(t *testing.T) {
	srv, seen := proxyEchoServer(t, "tcp4")
	e, addr := startEngine(t, acceptProxyConfig(t, srv))
	src := netip.MustParseAddrPort("127.1.2.3:11111")
	dst := netip.MustParseAddrPort("127.4.5.6:22222")

	check := func(name string, write func(c net.Conn)) {
		t.Helper()
		c := dial(t, addr)
		write(c)
		got := make([]byte, len("data after the header"))
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadFull(c, got); err != nil || string(got) != "data after the header" {
			t.Fatalf("%s: echo %q, %v", name, got, err)
		}
		h := nextSeen(t, seen)
		if h.Src != src || h.Dst != dst {
			t.Fatalf("%s: server saw %v -> %v, want %v -> %v", name, h.Src, h.Dst, src, dst)
		}
		c.Close()
	}
	v1 := fmt.Sprintf("PROXY TCP4 %s %s %d %d\r\n", src.Addr(), dst.Addr(), src.Port(), dst.Port())
	check("v1, header and data in one write", func(c net.Conn) {
		c.Write([]byte(v1 + "data after the header"))
	})
	check("v1, header split over writes", func(c net.Conn) {
		c.Write([]byte(v1[:9]))
		time.Sleep(50 * time.Millisecond)
		c.Write([]byte(v1[9:20]))
		time.Sleep(50 * time.Millisecond)
		c.Write([]byte(v1[20:]))
		time.Sleep(50 * time.Millisecond)
		c.Write([]byte("data after the header"))
	})
	v2, err := proxyproto.Build(2, src, dst)
	if err != nil {
		t.Fatal(err)
	}
	check("v2", func(c net.Conn) {
		c.Write(append(v2[:len(v2):len(v2)], "data after the header"...))
	})
	check("v2 split", func(c net.Conn) {
		c.Write(v2[:10])
		time.Sleep(50 * time.Millisecond)
		c.Write(v2[10:])
		c.Write([]byte("data after the header"))
	})

	// "PROXY UNKNOWN" keeps the connection's own addresses.
	c := dial(t, addr)
	c.Write([]byte("PROXY UNKNOWN\r\nhi"))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	got := make([]byte, 2)
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "hi" {
		t.Fatalf("UNKNOWN: echo %q, %v", got, err)
	}
	h := nextSeen(t, seen)
	if want := addrPortOf(t, c.LocalAddr()); h.Src != want {
		t.Errorf("UNKNOWN: server saw source %v, want the client's own %v", h.Src, want)
	}
	c.Close()
	waitIdle(t, e)
}

// A malformed header closes that connection only.
func TestAcceptProxyMalformed(t *testing.T) {
	srv, seen := proxyEchoServer(t, "tcp4")
	e, addr := startEngine(t, acceptProxyConfig(t, srv))
	good := func() *net.TCPConn {
		t.Helper()
		c := dial(t, addr)
		if _, err := c.Write([]byte("PROXY TCP4 127.0.0.9 127.0.0.1 1000 2000\r\n")); err != nil {
			t.Fatal(err)
		}
		if err := echoOnce(c, "good", 5*time.Second); err != nil {
			t.Fatalf("good connection: %v", err)
		}
		nextSeen(t, seen)
		return c
	}
	before := good()

	for _, bad := range []string{
		"GET / HTTP/1.0\r\n\r\n",
		"PROXY TCP4 127.0.0.1 127.0.0.1 99999 80\r\n",
		"PROXY TCP5 127.0.0.1 127.0.0.1 1 2\r\n",
		"\r\n\r\n\x00\r\nQUIT\n\x99\x11\x00\x0c",
		strings.Repeat("PROXY", 100),
	} {
		c := dial(t, addr)
		c.Write([]byte(bad))
		waitClosed(t, c, 5*time.Second)

		if err := echoOnce(before, "still good", 5*time.Second); err != nil {
			t.Fatalf("established connection after a bad header %q: %v", bad, err)
		}
	}
	good().Close()
	before.Close()
	waitIdle(t, e)
	select {
	case s := <-seen:
		t.Fatalf("a bad connection reached the server: %+v", s)
	default:
	}
}

// A client that sends part of a header and then closes is not kept.
func TestAcceptProxyTruncated(t *testing.T) {
	srv, _ := proxyEchoServer(t, "tcp4")
	e, addr := startEngine(t, acceptProxyConfig(t, srv)) // timeout client 30s
	for _, part := range []string{"", "PROXY TCP4 127.0.0.1", "\r\n\r\n\x00\r\n"} {
		c := dial(t, addr)
		c.Write([]byte(part))
		c.CloseWrite()
		waitClosed(t, c, 5*time.Second)
		c.Close()
	}
	if !waitFor(5*time.Second, func() bool { return e.Stats().Sessions == 0 }) {
		t.Fatalf("sessions left by clients that closed mid-header: %+v", e.Stats())
	}
}

// "timeout client" bounds the wait for the header.
func TestAcceptProxyTimeout(t *testing.T) {
	srv, _ := proxyEchoServer(t, "tcp4")
	cfg := strings.Replace(acceptProxyConfig(t, srv), "timeout client 30s", "timeout client 200ms", 1)
	e, addr := startEngine(t, cfg)
	c := dial(t, addr)
	c.Write([]byte("PROXY TCP4 "))
	waitClosed(t, c, 5*time.Second)
	silent := dial(t, addr)
	waitClosed(t, silent, 5*time.Second)
	waitIdle(t, e)
}

func TestIPv6(t *testing.T) { onPaths(t, testIPv6) }

func testIPv6(t *testing.T, p fwdPath) {
	srv := serveTCP6(t, func(c net.Conn) {
		io.Copy(c, c)
		c.(*net.TCPConn).CloseWrite()
	})
	lp := freePort6(t)
	cfg := fmt.Sprintf("global\n  nbthread 2\ndefaults\n  mode tcp\n  timeout connect 2s\n  timeout client 30s\n  timeout server 30s\n"+
		"listen px\n  bind [::1]:%d\n  server s0 %s\n", lp, srv)
	e, addr := p.start(t, cfg)
	if !strings.HasPrefix(addr, "[::1]:") {
		t.Fatalf("listening on %s", addr)
	}
	if err := roundTrip(t, addr, 4<<20); err != nil {
		t.Fatal(err)
	}
	c := dial(t, addr)
	if err := echoOnce(c, "hello over IPv6", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	c.Close()
	waitIdle(t, e)
}

// PROXY headers for IPv6 clients, sent and accepted.
func TestProxyIPv6(t *testing.T) {
	for _, tt := range []struct {
		option  string
		version int
	}{{"send-proxy", 1}, {"send-proxy-v2", 2}} {
		t.Run(tt.option, func(t *testing.T) {
			srv, seen := proxyEchoServer(t, "tcp6")
			cfg := fmt.Sprintf("global\n  nbthread 2\ndefaults\n  mode tcp\n  timeout connect 2s\n  timeout client 30s\n  timeout server 30s\n"+
				"listen px\n  bind [::1]:%d\n  server s0 %s %s\n", freePort6(t), srv, tt.option)
			e, addr := startEngine(t, cfg)
			c := dial(t, addr)
			if err := echoOnce(c, "v6 payload", 5*time.Second); err != nil {
				t.Fatal(err)
			}
			h := nextSeen(t, seen)
			if h.Version != tt.version {
				t.Errorf("version %d, want %d", h.Version, tt.version)
			}
			if want := addrPortOf(t, c.LocalAddr()); h.Src != want {
				t.Errorf("header source %v, want %v", h.Src, want)
			}
			if want := addrPortOf(t, c.RemoteAddr()); h.Dst != want {
				t.Errorf("header destination %v, want %v", h.Dst, want)
			}
			c.Close()
			waitIdle(t, e)
		})
	}
	t.Run("accept-proxy", func(t *testing.T) {
		srv, seen := proxyEchoServer(t, "tcp4")
		e, addr := startEngine(t, acceptProxyConfig(t, srv))
		c := dial(t, addr)
		c.Write([]byte("PROXY TCP6 ::1 ::1 1234 5678\r\nv6 data"))
		got := make([]byte, len("v6 data"))
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadFull(c, got); err != nil {
			t.Fatal(err)
		}
		h := nextSeen(t, seen)
		if h.Src != netip.MustParseAddrPort("[::1]:1234") || h.Dst != netip.MustParseAddrPort("[::1]:5678") {
			t.Errorf("server saw %v -> %v", h.Src, h.Dst)
		}
		c.Close()
		waitIdle(t, e)
	})
}

// freePort6 returns a port that was free on [::1] a moment ago; it skips
// the test when IPv6 loopback is not available.
func freePort6(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// A server reset reaches the client as a reset (or at least a close).
func TestResetPropagation(t *testing.T) { onPaths(t, testResetPropagation) }

func testResetPropagation(t *testing.T, p fwdPath) {
	srv := serveTCP(t, func(c net.Conn) {
		buf := make([]byte, 5)
		io.ReadFull(c, buf)
		c.(*net.TCPConn).SetLinger(0)
		c.Close()
	})
	e, addr := p.start(t, tcpConfig(t, "", srv))
	for i := 0; i < 3; i++ {
		c := dial(t, addr)
		c.Write([]byte("hello"))
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err := c.Read(make([]byte, 16))
		if !errors.Is(err, io.EOF) && !isReset(err) {
			t.Fatalf("after the server reset: %v, want a reset or EOF", err)
		}
		if !isReset(err) {
			t.Logf("client saw EOF, not a reset")
		}
		c.Close()
	}
	waitIdle(t, e)
}

// The client's reset reaches the server too.
func TestResetPropagationFromClient(t *testing.T) { onPaths(t, testResetPropagationFromClient) }

func testResetPropagationFromClient(t *testing.T, p fwdPath) {
	got := make(chan error, 1)
	srv := serveTCP(t, func(c net.Conn) {
		// The server speaks once the client says so: speaking at once
		// raced the handover, which the client's reset could beat.
		var go1 [1]byte
		if _, err := io.ReadFull(c, go1[:]); err != nil {
			got <- err
			return
		}
		c.Write([]byte("hello"))
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err := io.Copy(io.Discard, c)
		got <- err
	})
	e, addr := p.start(t, tcpConfig(t, "", srv))
	c := dial(t, addr)
	p.established(t, e)
	if _, err := c.Write([]byte{'g'}); err != nil {
		t.Fatalf("write: %v", err)
	}
	buf := make([]byte, 5)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatal(err)
	}
	c.SetLinger(0)
	c.Close()
	select {
	case err := <-got:
		if err != nil && !isReset(err) {
			t.Fatalf("server saw %v, want a reset or EOF", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server never saw the client go")
	}
	waitIdle(t, e)
}

func isReset(err error) bool { return errors.Is(err, syscall.ECONNRESET) }
