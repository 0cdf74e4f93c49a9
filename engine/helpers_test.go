package engine

import (
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fjordlb/fjord/config"
)

// freePort returns a loopback port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

type testLogger struct{ t testing.TB }

func (l testLogger) Printf(format string, args ...any) { l.t.Logf(format, args...) }

// startEngine parses cfgText (with %d verbs replaced by ports) and runs it
// until the test ends. It returns the engine and its first bind address.
func startEngine(t testing.TB, cfgText string) (*Engine, string) {
	return startEngineWith(t, cfgText, Options{})
}

// startEngineOpts is startEngine with engine options; it returns the
// first bind address.
func startEngineOpts(t testing.TB, cfgText string, opts Options) string {
	_, addr := startEngineWith(t, cfgText, opts)
	return addr
}

func startEngineWith(t testing.TB, cfgText string, opts Options) (*Engine, string) {
	t.Helper()
	cfg, err := config.Parse("test.cfg", []byte(cfgText), config.Options{Resolver: config.NoResolver})
	if err != nil {
		t.Fatalf("config: %v\n%s", err, cfgText)
	}
	return startParsed(t, cfg, opts)
}

// startParsed runs cfg with opts until the test ends, and returns the
// engine and its first bind's address.
func startParsed(t testing.TB, cfg *config.Config, opts Options) (*Engine, string) {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = testLogger{t}
	}
	e, err := New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Stop)
	return e, e.Addr(cfg.Frontends()[0].Binds[0]).String()
}

// tcpConfig is a minimal tcp proxy in front of the given server addresses.
func tcpConfig(t testing.TB, extra string, servers ...string) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "global\n  nbthread 2\ndefaults\n  mode tcp\n  timeout connect 2s\n  timeout client 30s\n  timeout server 30s\n")
	fmt.Fprintf(&sb, "listen px\n  bind 127.0.0.1:%d\n%s\n", freePort(t), extra)
	for i, s := range servers {
		fmt.Fprintf(&sb, "  server s%d %s\n", i, s)
	}
	return sb.String()
}

// echoServer echoes everything it reads until EOF, then closes.
func echoServer(t testing.TB) string {
	return serveTCP(t, func(c net.Conn) {
		io.Copy(c, c)
		c.(*net.TCPConn).CloseWrite()
	})
}

// serveTCP runs handler for every connection to a new loopback listener.
func serveTCP(t testing.TB, handler func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serve(t, ln, handler)
	return ln.Addr().String()
}

// serve runs handler for every connection ln accepts, until the test
// ends.
func serve(t testing.TB, ln net.Listener, handler func(net.Conn)) {
	// The accept loop counts in wg too: a WaitGroup must not see Add
	// while Wait may be running with a zero count (the race detector
	// reports it), and the loop's own count keeps it above zero.
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				handler(c)
			}()
		}
	}()
}

func dial(t testing.TB, addr string) *net.TCPConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

// waitClosed reads from c, discarding what arrives, until the peer closes
// the connection (EOF or reset); it fails the test if that has not happened
// within the bound.
func waitClosed(t testing.TB, c net.Conn, within time.Duration) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(within))
	buf := make([]byte, 4096)
	for {
		_, err := c.Read(buf)
		switch {
		case err == nil:
		case errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET):
			return
		default:
			t.Fatalf("connection not closed within %v: %v", within, err)
		}
	}
}

// echoOnce writes msg on c and reads the same bytes back within the bound.
func echoOnce(c net.Conn, msg string, within time.Duration) error {
	c.SetDeadline(time.Now().Add(within))
	defer c.SetDeadline(time.Time{})
	if _, err := io.WriteString(c, msg); err != nil {
		return err
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		return err
	}
	if string(got) != msg {
		return fmt.Errorf("echo: got %q, want %q", got, msg)
	}
	return nil
}

// waitFor polls cond every 10 ms until it holds or the bound passes.
func waitFor(within time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(within)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// mallocsPerExchange writes req on c and reads len(buf) bytes back, 200
// times to warm up, then 2000 times counting the process's allocations:
// their number per exchange.
func mallocsPerExchange(t testing.TB, c net.Conn, req, buf []byte) float64 {
	t.Helper()
	do := func(n int) {
		for i := 0; i < n; i++ {
			if _, err := c.Write(req); err != nil {
				t.Fatal(err)
			}
			if _, err := io.ReadFull(c, buf); err != nil {
				t.Fatal(err)
			}
		}
	}
	do(200)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const n = 2000
	do(n)
	runtime.ReadMemStats(&after)
	return float64(after.Mallocs-before.Mallocs) / n
}
