package engine

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/engine/sockmap"
)

// A forwarding path: the event loops, or the kernel ('tune.sockmap').
type fwdPath struct {
	name   string
	kernel bool
}

var fwdPaths = []fwdPath{{"loops", false}, {"kernel", true}}

var kernelProbe struct {
	once sync.Once
	err  error
}

// onPaths runs fn once per forwarding path, as a subtest named after it.
// The kernel's is skipped, with the reason, where the sockmap does not
// load (no CAP_BPF, an old kernel).
func onPaths(t *testing.T, fn func(t *testing.T, p fwdPath)) {
	for _, p := range fwdPaths {
		t.Run(p.name, func(t *testing.T) {
			if p.kernel {
				kernelProbe.once.Do(func() { kernelProbe.err = ProbeKernel() })
				if kernelProbe.err != nil {
					t.Skipf("the kernel cannot forward here: %v", kernelProbe.err)
				}
			}
			fn(t, p)
		})
	}
}

// config adds the path's 'tune.sockmap' to a configuration's global
// section.
func (p fwdPath) config(cfg string) string {
	if !p.kernel {
		return cfg
	}
	return strings.Replace(cfg, "global\n", "global\n  tune.sockmap on\n", 1)
}

// start is startEngine on the path. On the kernel's it checks, when the
// test ends, that the kernel did forward: a test that passes because its
// sessions quietly stayed with the loops proves nothing about the kernel.
func (p fwdPath) start(t *testing.T, cfg string) (*Engine, string) {
	t.Helper()
	e, addr := startEngine(t, p.config(cfg))
	if p.kernel {
		t.Cleanup(func() {
			if n := e.Stats().KernelHandovers; n == 0 && !t.Failed() {
				t.Errorf("no session was handed to the kernel")
			}
		})
	}
	return e, addr
}

// established waits, on the kernel's path, until a session was handed
// to the kernel: a client that sends its FIN at once would otherwise end
// its side before the handover, and the loop would see the session
// through.
func (p fwdPath) established(t *testing.T, e *Engine) {
	t.Helper()
	if p.kernel && !waitFor(5*time.Second, func() bool { return e.Stats().KernelSessions > 0 }) {
		t.Fatalf("no session in the kernel: %+v", e.Stats())
	}
}

// pattern fills b with the test stream's bytes from offset off on: each
// aligned 8-byte word of the stream is its own offset, so that a byte
// lost, doubled or moved is found where it happens.
func pattern(off int64, b []byte) {
	for i := range b {
		p := off + int64(i)
		b[i] = byte(uint64(p&^7) >> (8 * (p & 7)))
	}
}

// checkPattern reports where got first differs from the stream pattern.
func checkPattern(got []byte, size int) error {
	for j := 0; j+8 <= len(got); j += 8 {
		if v := binary.LittleEndian.Uint64(got[j:]); v != uint64(j) {
			return fmt.Errorf("%d bytes: the word at %d is %d", len(got), j, v)
		}
	}
	if len(got) != size {
		return fmt.Errorf("%d bytes, want %d", len(got), size)
	}
	return nil
}

// readPattern reads r to its end and checks that it got size bytes of
// the pattern.
func readPattern(r io.Reader, size int) error {
	got, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	return checkPattern(got, size)
}

// sendPatternThenFIN sends size bytes of the pattern on c in the
// background, then its FIN; the channel gets the send's error.
func sendPatternThenFIN(c *net.TCPConn, size int) <-chan error {
	sent := make(chan error, 1)
	go func() {
		err := sendPattern(c, size)
		c.CloseWrite()
		sent <- err
	}()
	return sent
}

// sendPattern writes size bytes of the pattern to w, in 256 KiB writes.
func sendPattern(w io.Writer, size int) error {
	chunk := make([]byte, 256<<10)
	for off := 0; off < size; off += len(chunk) {
		pattern(int64(off), chunk)
		if _, err := w.Write(chunk[:min(len(chunk), size-off)]); err != nil {
			return err
		}
	}
	return nil
}

// Both directions at once, several sessions at once: every byte reaches
// its end once and in order, whether the loop or the kernel moves it.
func TestBothWaysAtOnce(t *testing.T) {
	onPaths(t, func(t *testing.T, p fwdPath) {
		const sessions, size = 4, 16 << 20
		up := make(chan error, sessions)
		srv := serveTCP(t, func(c net.Conn) {
			sent := sendPatternThenFIN(c.(*net.TCPConn), size)
			err := readPattern(c, size)
			up <- err
			<-sent
		})
		e, addr := p.start(t, tcpConfig(t, "", srv))
		var wg sync.WaitGroup
		down := make(chan error, sessions)
		for range sessions {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := net.Dial("tcp", addr)
				if err != nil {
					down <- err
					return
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(60 * time.Second))
				sent := sendPatternThenFIN(c.(*net.TCPConn), size)
				down <- readPattern(c, size)
				<-sent // closing first would cut the client's stream short
			}()
		}
		wg.Wait()
		for range sessions {
			if err := <-down; err != nil {
				t.Errorf("server to client: %v", err)
			}
			if err := <-up; err != nil {
				t.Errorf("client to server: %v", err)
			}
		}
		waitIdle(t, e)
	})
}

// A server closes right after its last bytes while the client is slow
// to read them, in many sessions at once: every byte reaches the client
// before the end of the stream does. Over the kernel the FIN is passed on
// by the loop, which must wait until the kernel has handed the client's
// socket every byte it took from the server.
func TestFinAfterBytesInFlight(t *testing.T) {
	onPaths(t, func(t *testing.T, p fwdPath) {
		const sessions, size = 32, 4 << 20
		srv := serveTCP(t, func(c net.Conn) {
			sendPattern(c, size)
			c.Close()
		})
		e, addr := p.start(t, tcpConfig(t, "", srv))
		errs := make(chan error, sessions)
		for i := range sessions {
			go func() {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					errs <- err
					return
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(60 * time.Second))
				// Let bytes pile up between the server and the client
				// before reading them, slowly at first.
				time.Sleep(time.Duration(i%8) * 20 * time.Millisecond)
				var got []byte
				buf := make([]byte, 32<<10)
				for k := 0; ; k++ {
					n, err := c.Read(buf)
					got = append(got, buf[:n]...)
					if err == io.EOF {
						break
					}
					if err != nil {
						errs <- err
						return
					}
					if k < 16 {
						time.Sleep(time.Millisecond)
					}
				}
				errs <- checkPattern(got, size)
			}()
		}
		for range sessions {
			if err := <-errs; err != nil {
				t.Error(err)
			}
		}
		waitIdle(t, e)
	})
}

// A client that sends and never reads, to an echo server: the bytes held
// for it stay bounded (on the kernel's path, the program keeps at most a
// window in the kernel before TCP stops the client), the loop goes on
// serving others, and once the client reads, every byte comes back in
// order.
func TestSlowReaderBounded(t *testing.T) {
	onPaths(t, func(t *testing.T, p fwdPath) {
		e, addr := p.start(t, tcpConfig(t, "", plainEchoServer(t)))
		c := dial(t, addr)
		p.established(t, e)
		// Write until the client is stopped: two seconds without
		// progress. An unbounded kernel queue would take gigabytes by
		// then (400 MiB in one second, measured before the window).
		sent := 0
		chunk := make([]byte, 64<<10)
		for {
			c.SetWriteDeadline(time.Now().Add(2 * time.Second))
			pattern(int64(sent), chunk)
			n, err := c.Write(chunk)
			sent += n
			if err != nil {
				break
			}
		}
		st := e.Stats()
		t.Logf("%s: a client that never reads got %.1f MiB into the proxy and the echo server before it stopped (kept directions %d, pipes %d)",
			p.name, float64(sent)/(1<<20), st.KernelKept, st.PipesInUse)
		if sent > 256<<20 {
			t.Errorf("the client wrote %d MiB before it was stopped", sent>>20)
		}
		// The loop serves another session meanwhile.
		other := dial(t, addr)
		if err := echoOnce(other, "anyone home?", 5*time.Second); err != nil {
			t.Fatalf("another session while one is stuck: %v", err)
		}
		other.Close()
		// Every byte comes back, in order, once the client reads.
		c.CloseWrite()
		c.SetReadDeadline(time.Now().Add(60 * time.Second))
		got, err := io.ReadAll(c)
		if err != nil {
			t.Fatal(err)
		}
		if err := checkPattern(got, sent); err != nil {
			t.Fatal(err)
		}
		waitIdle(t, e)
	})
}

// Bytes the kernel forwards count as activity: a session that carries a
// byte every 100 ms outlives its 300 ms timeouts, and times out once it
// goes quiet.
func TestKernelActivityDefersTimeouts(t *testing.T) {
	onPaths(t, func(t *testing.T, p fwdPath) {
		e, addr := p.start(t, timeoutConfig(t,
			"  timeout connect 5s\n  timeout client 300ms\n  timeout server 300ms", plainEchoServer(t)))
		c := dial(t, addr)
		p.established(t, e)
		for i := 0; i < 15; i++ {
			if err := echoOnce(c, "x", 5*time.Second); err != nil {
				t.Fatalf("exchange %d, %d ms in: %v", i, 100*i, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		waitClosed(t, c, 5*time.Second)
		waitIdle(t, e)
	})
}

// The access log and the counters count what the kernel forwarded.
func TestKernelBytesLogged(t *testing.T) {
	onPaths(t, func(t *testing.T, p fwdPath) {
		const up, down = 1 << 20, 3 << 20
		srv := serveTCP(t, func(c net.Conn) {
			io.CopyN(io.Discard, c, up)
			sendPattern(c, down)
			c.(*net.TCPConn).CloseWrite()
			io.Copy(io.Discard, c)
		})
		sink := &recordSink{}
		e, addr := startEngineWith(t, p.config(logConfig(t, "tcp", "", srv)), logOpts(sink))
		c := dial(t, addr)
		p.established(t, e)
		go func() {
			sendPattern(c, up)
			c.CloseWrite()
		}()
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		got, err := io.ReadAll(c)
		if err != nil || len(got) != down {
			t.Fatalf("read %d bytes, %v", len(got), err)
		}
		r := sink.wait(t, 1)
		if r.BytesUp != up || r.Bytes != down {
			t.Errorf("logged %d bytes up and %d down, want %d and %d", r.BytesUp, r.Bytes, up, down)
		}
		be := &e.Backend("px").Counters
		if in, out := be.BytesIn.Load(), be.BytesOut.Load(); in != up || out != down {
			t.Errorf("backend counted %d in and %d out, want %d and %d", in, out, up, down)
		}
		if p.kernel && e.Stats().KernelHandovers == 0 {
			t.Error("the session stayed with the loop")
		}
	})
}

// Sessions that end leave nothing in the kernel's maps.
func TestKernelForgetsClosedSessions(t *testing.T) {
	onPaths(t, func(t *testing.T, p fwdPath) {
		if !p.kernel {
			t.Skip("the loops keep no kernel state")
		}
		e, addr := p.start(t, tcpConfig(t, "", plainEchoServer(t)))
		var wg sync.WaitGroup
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := roundTrip(t, addr, 64<<10); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		waitIdle(t, e)
		if !waitFor(5*time.Second, func() bool { return e.km.Attached() == 0 }) {
			t.Errorf("%d pairs still attached after every session ended", e.km.Attached())
		}
		// (A client whose FIN came before its server connection stays
		// with the loop: some of the 20 may not be handed over.)
		if st := e.Stats(); st.KernelSessions != 0 || st.KernelKept != 0 || st.KernelHandovers == 0 {
			t.Errorf("stats after 20 sessions: %+v", st)
		}
	})
}

// Where the program does not load, 'auto' leaves the sessions to the
// loops and says why; 'on' refuses to start.
func TestKernelRefused(t *testing.T) {
	real := loadForwarder
	t.Cleanup(func() { loadForwarder = real })
	loadForwarder = func(sockmap.Options) (*sockmap.Forwarder, error) {
		return nil, errors.New("sockmap: load the verdict program: operation not permitted")
	}
	for _, tc := range []struct {
		name, global, mode string
		status, err        string
	}{
		{"off", "  tune.sockmap off\n", "tcp", "splice(2) ('tune.sockmap off')", ""},
		{"auto falls back", "  tune.sockmap auto\n", "tcp", "since the kernel cannot (sockmap: load the verdict program: operation not permitted)", ""},
		{"auto in mode http", "  tune.sockmap auto\n", "http", "since the kernel cannot (sockmap: load the verdict program: operation not permitted)", ""},
		{"on refuses", "  tune.sockmap on\n", "tcp", "", "'tune.sockmap on': sockmap: load the verdict program: operation not permitted; use 'auto' or 'off'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := strings.Replace(tcpConfig(t, "", plainEchoServer(t)), "global\n", "global\n"+tc.global, 1)
			text = strings.Replace(text, "mode tcp", "mode "+tc.mode, 1)
			cfg, err := config.Parse("test.cfg", []byte(text), config.Options{Resolver: config.NoResolver})
			if err != nil {
				t.Fatal(err)
			}
			e, err := New(cfg, Options{Logger: testLogger{t}})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("New: %v, want an error with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(e.TCPForwarding(), tc.status) {
				t.Errorf("status %q, want it to say %q", e.TCPForwarding(), tc.status)
			}
			if err := e.Start(); err != nil {
				t.Fatal(err)
			}
			defer e.Stop()
			if tc.mode == "tcp" {
				if err := roundTrip(t, e.Addr(cfg.Frontends()[0].Binds[0]).String(), 1<<20); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// TestKernelWaitsForResponseRules: a session whose tcp-response rules
// have not decided stays with the loop, which must read the bytes they
// judge. The client speaks only once the server has its connection, when
// the session would otherwise be eligible for the kernel at once.
func TestKernelWaitsForResponseRules(t *testing.T) {
	onPaths(t, func(t *testing.T, p fwdPath) {
		accepted := make(chan struct{}, 4)
		srv := serveTCP(t, func(c net.Conn) {
			accepted <- struct{}{}
			br := bufio.NewReader(c)
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			io.WriteString(c, line) // the client says what the answer is
			io.Copy(io.Discard, br)
		})
		cfg := tcpConfig(t, `  tcp-response inspect-delay 5s
  tcp-response content reject unless { res.payload(0,2) -m str OK }`, srv)
		e, addr := startEngine(t, p.config(cfg))
		for _, tt := range []struct {
			say  string
			pass bool
		}{{"OK fine", true}, {"NO way", false}} {
			c := dial(t, addr)
			select {
			case <-accepted:
			case <-time.After(5 * time.Second):
				t.Fatal("the server never got the connection")
			}
			io.WriteString(c, tt.say+"\n")
			if tt.pass {
				if got := readLine(t, bufio.NewReader(c), c); got != tt.say {
					t.Errorf("%q: got %q", tt.say, got)
				}
				c.Close()
				continue
			}
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if b, err := io.ReadAll(c); len(b) > 0 || (err != nil && !errors.Is(err, syscall.ECONNRESET)) {
				t.Errorf("%q: the rules should have closed the session, got %q, %v", tt.say, b, err)
			}
		}
		waitIdle(t, e)
	})
}
