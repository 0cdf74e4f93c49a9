package engine

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// The HTTP tunnels of the forwarding tests: the loops and the kernel
// ('tune.sockmap') forward them as they do a mode tcp session, once the
// tunnel is open.

// tunnelKind is a way an HTTP connection becomes a tunnel.
type tunnelKind struct {
	name   string
	extra  string // the proxy's configuration lines it needs
	req    string // the request that opens it
	status string // the start of the response's status line
}

var tunnelKinds = []tunnelKind{
	{"upgrade", "", "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", "HTTP/1.1 101 "},
	{"connect", "", "CONNECT backend.example:443 HTTP/1.1\r\nHost: backend.example:443\r\n\r\n", "HTTP/1.1 200 "},
	{"http-tunnel", "  option http-tunnel\n", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 200 "},
}

// onTunnels runs fn for each forwarding path and each kind of tunnel.
func onTunnels(t *testing.T, fn func(t *testing.T, p fwdPath, k tunnelKind)) {
	onPaths(t, func(t *testing.T, p fwdPath) {
		for _, k := range tunnelKinds {
			t.Run(k.name, func(t *testing.T) { fn(t, p, k) })
		}
	})
}

// tunnelConfig is a mode http proxy in front of srv, with extra lines in
// its section.
func tunnelConfig(t testing.TB, extra, srv string) string {
	return fmt.Sprintf("global\n  nbthread 2\ndefaults\n  mode http\n  timeout connect 2s\n  timeout client 30s\n  timeout server 30s\n"+
		"listen px\n  bind 127.0.0.1:%d\n%s  server s0 %s\n", freePort(t), extra, srv)
}

// readHead reads an HTTP head up to and including its empty line.
func readHead(br *bufio.Reader) (string, error) {
	var sb strings.Builder
	for {
		line, err := br.ReadString('\n')
		sb.WriteString(line)
		if err != nil {
			return sb.String(), err
		}
		if line == "\r\n" {
			return sb.String(), nil
		}
	}
}

// tunnelServer answers the request that opens a tunnel as its kind wants
// (101 to an Upgrade, 200 to a CONNECT, a bodiless 200 to anything else)
// and hands the connection to fn, with the reader that holds what came
// after the head. heads, when not nil, gets the length of each request
// head it received.
func tunnelServer(t testing.TB, heads chan<- int, fn func(c *net.TCPConn, r io.Reader)) string {
	return serveTCP(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		head, err := readHead(br)
		if err != nil {
			return
		}
		if heads != nil {
			heads <- len(head)
		}
		io.WriteString(c, tunnelResponse(head))
		fn(c.(*net.TCPConn), br)
	})
}

// tunnelResponse is the response head that opens a tunnel to the request
// head: 101 to an Upgrade, 200 to a CONNECT, a bodiless 200 to anything
// else ('option http-tunnel').
func tunnelResponse(head string) string {
	switch {
	case isConnect(head):
		return "HTTP/1.1 200 Connection established\r\n\r\n"
	case isUpgrade(head):
		return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
	}
	return "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
}

func isConnect(head string) bool { return strings.HasPrefix(head, "CONNECT ") }

func isUpgrade(head string) bool {
	return strings.Contains(strings.ToLower(head), "\r\nupgrade: websocket\r\n")
}

// openTunnel connects to the proxy and opens a tunnel of kind k: it
// returns the connection, the reader of the tunnel's bytes from the
// server, and the length of the response head that opened it. On the
// kernel's path it waits until the session is in the kernel, so that what
// the test does next happens there.
func openTunnel(t *testing.T, p fwdPath, e *Engine, addr string, k tunnelKind) (*net.TCPConn, io.Reader, int) {
	t.Helper()
	c := dial(t, addr)
	c.SetDeadline(time.Now().Add(60 * time.Second))
	if _, err := io.WriteString(c, k.req); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	head, err := readHead(br)
	if err != nil || !strings.HasPrefix(head, k.status) {
		t.Fatalf("tunnel response %q, %v; want %q...", head, err, k.status)
	}
	p.established(t, e)
	return c, br, len(head)
}

// newGate is a signal for a test's server to go on: open opens it, and
// so does the end of the test, so that no server waits for ever.
func newGate(t *testing.T) (wait <-chan struct{}, open func()) {
	ch := make(chan struct{})
	open = func() {
		select {
		case <-ch:
		default:
			close(ch)
		}
	}
	t.Cleanup(open) // before serve's, which waits for the handlers
	return ch, open
}

// Several MiB each way at once through a tunnel, each side closing its
// sending side when done: every byte arrives once and in order, and each
// FIN reaches the other side after the last byte.
func TestTunnelBothWays(t *testing.T) {
	onTunnels(t, func(t *testing.T, p fwdPath, k tunnelKind) {
		const size = 4 << 20
		up := make(chan error, 1)
		// The server sends once the session is in the kernel: before,
		// its bytes would back up in the loop, unread, and the session
		// would not be handed over until the client reads them.
		handedOver, open := newGate(t)
		srv := tunnelServer(t, nil, func(c *net.TCPConn, r io.Reader) {
			<-handedOver
			sent := sendPatternThenFIN(c, size)
			up <- readPattern(r, size)
			<-sent
		})
		e, addr := p.start(t, tunnelConfig(t, k.extra, srv))
		c, r, _ := openTunnel(t, p, e, addr, k)
		open()
		sent := sendPatternThenFIN(c, size)
		if err := readPattern(r, size); err != nil {
			t.Errorf("server to client: %v", err)
		}
		if err := <-sent; err != nil {
			t.Errorf("client sending: %v", err)
		}
		if err := <-up; err != nil {
			t.Errorf("client to server: %v", err)
		}
		waitIdle(t, e)
	})
}

// A half-close either way leaves the other direction open: the side that
// has not closed reads the other's end, then still sends, and its bytes
// arrive.
func TestTunnelHalfClose(t *testing.T) {
	onTunnels(t, func(t *testing.T, p fwdPath, k tunnelKind) {
		const size = 1 << 20
		t.Run("client first", func(t *testing.T) {
			srvErr := make(chan error, 1)
			srv := tunnelServer(t, nil, func(c *net.TCPConn, r io.Reader) {
				err := readPattern(r, size) // until the client's FIN
				if err == nil {
					err = sendPattern(c, size) // after the client's FIN
				}
				c.CloseWrite()
				srvErr <- err
			})
			e, addr := p.start(t, tunnelConfig(t, k.extra, srv))
			c, r, _ := openTunnel(t, p, e, addr, k)
			if err := sendPattern(c, size); err != nil {
				t.Fatal(err)
			}
			c.CloseWrite()
			if err := readPattern(r, size); err != nil {
				t.Errorf("the server's bytes after the client's FIN: %v", err)
			}
			if err := <-srvErr; err != nil {
				t.Errorf("server: %v", err)
			}
			waitIdle(t, e)
		})
		t.Run("server first", func(t *testing.T) {
			srvErr := make(chan error, 1)
			handedOver, open := newGate(t) // as in TestTunnelBothWays
			srv := tunnelServer(t, nil, func(c *net.TCPConn, r io.Reader) {
				<-handedOver
				err := sendPattern(c, size)
				c.CloseWrite()
				if err == nil {
					err = readPattern(r, size) // sent after the server's FIN
				}
				srvErr <- err
			})
			e, addr := p.start(t, tunnelConfig(t, k.extra, srv))
			c, r, _ := openTunnel(t, p, e, addr, k)
			open()
			if err := readPattern(r, size); err != nil { // until the server's FIN
				t.Fatalf("the server's bytes before its FIN: %v", err)
			}
			if err := sendPattern(c, size); err != nil {
				t.Fatal(err)
			}
			c.CloseWrite()
			if err := <-srvErr; err != nil {
				t.Errorf("the client's bytes after the server's FIN: %v", err)
			}
			waitIdle(t, e)
		})
	})
}

// A reset on either side of a tunnel reaches the other side (as a reset,
// or at least as a close), and the session ends.
func TestTunnelReset(t *testing.T) {
	onTunnels(t, func(t *testing.T, p fwdPath, k tunnelKind) {
		t.Run("by the server", func(t *testing.T) {
			srv := tunnelServer(t, nil, func(c *net.TCPConn, r io.Reader) {
				io.ReadFull(r, make([]byte, 5))
				c.SetLinger(0)
				c.Close()
			})
			e, addr := p.start(t, tunnelConfig(t, k.extra, srv))
			c, r, _ := openTunnel(t, p, e, addr, k)
			c.Write([]byte("hello"))
			_, err := r.Read(make([]byte, 16))
			if !errors.Is(err, io.EOF) && !isReset(err) {
				t.Fatalf("after the server reset: %v, want a reset or EOF", err)
			}
			if !isReset(err) {
				t.Logf("client saw EOF, not a reset")
			}
			waitIdle(t, e)
		})
		t.Run("by the client", func(t *testing.T) {
			got := make(chan error, 1)
			srv := tunnelServer(t, nil, func(c *net.TCPConn, r io.Reader) {
				c.Write([]byte("hello"))
				c.SetReadDeadline(time.Now().Add(10 * time.Second))
				_, err := io.Copy(io.Discard, r)
				got <- err
			})
			e, addr := p.start(t, tunnelConfig(t, k.extra, srv))
			c, r, _ := openTunnel(t, p, e, addr, k)
			if _, err := io.ReadFull(r, make([]byte, 5)); err != nil {
				t.Fatal(err)
			}
			c.SetLinger(0)
			c.Close()
			if err := <-got; err != nil && !isReset(err) {
				t.Fatalf("server saw %v, want a reset or EOF", err)
			}
			waitIdle(t, e)
		})
	})
}

// "timeout tunnel" ends an idle tunnel, and not one that the kernel keeps
// busy: the bytes it forwards, which the loop never sees, are activity.
func TestTunnelTimeout(t *testing.T) {
	onTunnels(t, func(t *testing.T, p fwdPath, k tunnelKind) {
		const tunnel = 300 * time.Millisecond
		echo := tunnelServer(t, nil, func(c *net.TCPConn, r io.Reader) {
			io.Copy(c, r)
			c.CloseWrite()
		})
		extra := k.extra + "  timeout client 60s\n  timeout server 60s\n  timeout tunnel 300ms\n"
		e, addr := p.start(t, tunnelConfig(t, extra, echo))
		t.Run("busy", func(t *testing.T) {
			c, r, _ := openTunnel(t, p, e, addr, k)
			rw := struct {
				io.Reader
				io.Writer
			}{r, c}
			// A byte each way every 20 ms for five times the timeout.
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			start := time.Now()
			for n := 0; time.Since(start) < 5*tunnel; n++ {
				<-tick.C
				if err := echoThrough(rw, "x"); err != nil {
					t.Fatalf("exchange %d, %v in: %v", n, time.Since(start).Round(time.Millisecond), err)
				}
			}
			if st := e.Stats(); p.kernel && (st.KernelSessions != 1 || st.KernelKept != 0) {
				t.Errorf("the kernel did not forward the exchanges: %+v", st)
			}
			// Quiet now: the tunnel times out.
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.Copy(io.Discard, r); err != nil && !isReset(err) {
				t.Fatalf("idle tunnel not closed: %v", err)
			}
			waitIdle(t, e)
		})
		t.Run("idle", func(t *testing.T) {
			start := time.Now()
			c, r, _ := openTunnel(t, p, e, addr, k)
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.Copy(io.Discard, r); err != nil && !isReset(err) {
				t.Fatalf("idle tunnel not closed: %v", err)
			}
			// The kernel's activity stamps are on a coarse clock, a tick
			// behind at most: a margin, not the exact timeout.
			if d := time.Since(start); d < tunnel-50*time.Millisecond {
				t.Errorf("closed after %v, before timeout tunnel", d)
			}
			waitIdle(t, e)
		})
	})
}

// echoThrough writes msg to rw and reads it back.
func echoThrough(rw io.ReadWriter, msg string) error {
	if _, err := io.WriteString(rw, msg); err != nil {
		return err
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(rw, got); err != nil {
		return err
	}
	if string(got) != msg {
		return fmt.Errorf("echo: got %q, want %q", got, msg)
	}
	return nil
}

// A tunnel's access record (httplog, written when it ends) and the
// counters count the bytes the kernel forwarded, with the heads that
// opened it.
func TestTunnelBytesLogged(t *testing.T) {
	onTunnels(t, func(t *testing.T, p fwdPath, k tunnelKind) {
		const up, down = 1 << 20, 3 << 20
		heads := make(chan int, 1)
		srv := tunnelServer(t, heads, func(c *net.TCPConn, r io.Reader) {
			io.CopyN(io.Discard, r, up)
			sendPattern(c, down)
			c.CloseWrite()
			io.Copy(io.Discard, r)
		})
		sink := &recordSink{}
		e, addr := startEngineWith(t, p.config(logConfig(t, "http", k.extra, srv)), logOpts(sink))
		if p.kernel {
			t.Cleanup(func() {
				if e.Stats().KernelHandovers == 0 && !t.Failed() {
					t.Error("no session was handed to the kernel")
				}
			})
		}
		c, r, respHead := openTunnel(t, p, e, addr, k)
		reqHead := <-heads
		go func() {
			sendPattern(c, up)
			c.CloseWrite()
		}()
		err := readPattern(r, down)
		if err != nil {
			t.Fatal(err)
		}
		rec := sink.wait(t, 1)
		wantUp, wantDown := int64(reqHead+up), int64(respHead+down)
		if rec.Kind != RecordHTTP || rec.BytesUp != wantUp || rec.Bytes != wantDown {
			t.Errorf("record of kind %v with %d bytes up and %d down, want an HTTP one with %d and %d",
				rec.Kind, rec.BytesUp, rec.Bytes, wantUp, wantDown)
		}
		be := &e.Backend("px").Counters
		fe := e.FrontendCounters("px")
		if !waitFor(5*time.Second, func() bool { return fe.CurSessions.Load() == 0 }) {
			t.Fatal("the session is still counted")
		}
		if in, out := be.BytesIn.Load(), be.BytesOut.Load(); in != wantUp || out != wantDown {
			t.Errorf("backend counted %d in and %d out, want %d and %d", in, out, wantUp, wantDown)
		}
		if in, out := fe.BytesIn.Load(), fe.BytesOut.Load(); in != wantUp || out != wantDown {
			t.Errorf("frontend counted %d in and %d out, want %d and %d", in, out, wantUp, wantDown)
		}
	})
}

// A tunnel opened on a connection that carried requests before, from
// both sides: its sockets were written before the tunnel began (a MiB a
// response, more than the kernel's window), which the wait for the
// kernel's queue must count. The server closes right
// after its last bytes, which the clients read only then: the end of the
// stream must not overtake them.
func TestTunnelAfterRequests(t *testing.T) {
	onTunnels(t, func(t *testing.T, p fwdPath, k tunnelKind) {
		if k.extra != "" {
			t.Skip("the first request opens the tunnel")
		}
		const sessions, requests, size = 8, 2, 1 << 20
		body := strings.Repeat("x", 1<<20)
		var sent [sessions]chan struct{}
		for i := range sent {
			sent[i] = make(chan struct{})
		}
		srv := serveTCP(t, func(c net.Conn) {
			br := bufio.NewReader(c)
			id := -1
			for {
				head, err := readHead(br)
				if err != nil {
					return
				}
				if id < 0 {
					fmt.Sscanf(head, "GET /%d/", &id)
				}
				if !isConnect(head) && !isUpgrade(head) {
					fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
					continue
				}
				io.WriteString(c, tunnelResponse(head))
				sendPattern(c, size)
				c.Close()
				if id >= 0 && id < sessions {
					close(sent[id])
				}
				return
			}
		})
		e, addr := p.start(t, tunnelConfig(t, "", srv))
		errs := make(chan error, sessions)
		for i := range sessions {
			go func() { errs <- tunnelAfterRequests(addr, k, i, requests, len(body), size, sent[i]) }()
		}
		for range sessions {
			if err := <-errs; err != nil {
				t.Error(err)
			}
		}
		waitIdle(t, e)
	})
}

// tunnelAfterRequests makes requests exchanges on a new connection, each
// answered with a body of bodyLen bytes, then opens a tunnel of kind k,
// waits until the server has sent its size bytes and closed, and reads
// them and the end.
func tunnelAfterRequests(addr string, k tunnelKind, id, requests, bodyLen, size int, sent <-chan struct{}) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(60 * time.Second))
	br := bufio.NewReader(c)
	for n := range requests {
		fmt.Fprintf(c, "GET /%d/%d HTTP/1.1\r\nHost: x\r\n\r\n", id, n)
		if head, err := readHead(br); err != nil || !strings.HasPrefix(head, "HTTP/1.1 200 ") {
			return fmt.Errorf("request %d: %q, %v", n, head, err)
		}
		if _, err := io.CopyN(io.Discard, br, int64(bodyLen)); err != nil {
			return err
		}
	}
	io.WriteString(c, k.req)
	if head, err := readHead(br); err != nil || !strings.HasPrefix(head, k.status) {
		return fmt.Errorf("tunnel response %q, %v", head, err)
	}
	select {
	case <-sent:
	case <-time.After(30 * time.Second):
		return errors.New("the server could not send its bytes")
	}
	got, err := io.ReadAll(br)
	if err != nil {
		return err
	}
	return checkPattern(got, size)
}
