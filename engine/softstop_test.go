package engine

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/engine/h1"
)

// waitDrained fails the test unless ch closes within the bound.
func waitDrained(t *testing.T, ch <-chan struct{}, within time.Duration) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(within):
		t.Fatalf("sessions did not finish within %v of the soft stop", within)
	}
}

func dialRefused(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err == nil {
		c.Close()
		return false
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}

func TestSoftStopTCPFinishesSessionsAndRefusesNew(t *testing.T) {
	e, addr := startEngine(t, tcpConfig(t, "", echoServer(t)))
	c := dial(t, addr)
	if err := echoOnce(c, "before", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	drained := e.SoftStop()
	if !dialRefused(addr) {
		t.Fatal("a new connection was accepted after SoftStop returned")
	}
	select {
	case <-drained:
		t.Fatal("drained while a session is still open")
	default:
	}
	// The open session goes on as if nothing happened.
	if err := echoOnce(c, "during the soft stop", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	c.CloseWrite()
	waitClosed(t, c, 5*time.Second)
	waitDrained(t, drained, 5*time.Second)
	if n := e.Stats().Sessions; n != 0 {
		t.Fatalf("%d sessions left after the drain", n)
	}
	if _, err := e.ListenerFiles(); err == nil {
		t.Fatal("ListenerFiles succeeded after SoftStop")
	}
}

func TestSoftStopHTTP(t *testing.T) {
	release := make(chan struct{})
	slow := serveHTTP(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-release
		}
		io.WriteString(w, "ok "+r.URL.Path)
	})
	cfg := fmt.Sprintf(`global
  nbthread 2
defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
  timeout http-keep-alive 30s
listen px
  bind 127.0.0.1:%d
  server s1 %s
`, freePort(t), slow)
	e, addr := startEngine(t, cfg)

	// An idle keep-alive connection: one answered request, then silence.
	idle := dial(t, addr)
	idleR := bufio.NewReader(idle)
	if resp, body := httpRoundTrip(t, idle, idleR, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"); resp.StatusCode != 200 || body != "ok /a" {
		t.Fatalf("idle connection's first answer: %d %q", resp.StatusCode, body)
	}
	// A request in flight, its answer held by the server.
	busy := dial(t, addr)
	busy.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(busy, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
	if !waitFor(5*time.Second, func() bool { return e.Stats().Sessions == 2 }) {
		t.Fatalf("sessions = %d, want 2", e.Stats().Sessions)
	}
	time.Sleep(50 * time.Millisecond) // let the request reach the server

	drained := e.SoftStop()
	if !dialRefused(addr) {
		t.Fatal("a new connection was accepted after SoftStop returned")
	}
	waitClosed(t, idle, 5*time.Second)
	close(release)
	resp, body := readResponse(t, bufio.NewReader(busy), nil)
	if resp.StatusCode != 200 || body != "ok /slow" {
		t.Fatalf("in-flight request: %d %q", resp.StatusCode, body)
	}
	if !resp.Close {
		t.Errorf("the last response of a soft-stopping proxy does not announce Connection: close: %v", resp.Header)
	}
	waitClosed(t, busy, 5*time.Second)
	waitDrained(t, drained, 5*time.Second)
}

// serveHTTP runs h on a new loopback listener until the test ends.
func serveHTTP(t testing.TB, h http.HandlerFunc) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// inheritConfig is a tcp proxy on the given ports with nbthread loops.
func inheritConfig(nbthread int, server string, ports ...int) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "global\n  nbthread %d\ndefaults\n  mode tcp\n  timeout connect 2s\n  timeout client 30s\n  timeout server 30s\n", nbthread)
	for i, p := range ports {
		fmt.Fprintf(&sb, "listen px%d\n  bind 127.0.0.1:%d\n  server s %s\n", i, p, server)
	}
	return sb.String()
}

// handOver gives e's listening sockets to a new engine for cfgText, the
// way a reload does across processes, and returns the new engine.
func handOver(t *testing.T, e *Engine, cfgText string) *Engine {
	t.Helper()
	files, err := e.ListenerFiles()
	if err != nil {
		t.Fatal(err)
	}
	inherited, byFD, byPath := map[netip.AddrPort][]int{}, map[int][]int{}, map[config.UnixAddr][]int{}
	for _, f := range files {
		// A process gets its own descriptors; here the new engine owns a
		// duplicate and the file is closed, as the old process does.
		fd, err := unix.Dup(int(f.File.Fd()))
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case f.FD >= 0:
			byFD[f.FD] = append(byFD[f.FD], fd)
		case f.Unix.IsValid():
			byPath[f.Unix] = append(byPath[f.Unix], fd)
		default:
			inherited[f.Addr] = append(inherited[f.Addr], fd)
		}
		f.File.Close()
	}
	next, _ := startEngineWith(t, cfgText, Options{Inherited: inherited, InheritedFD: byFD, InheritedUnix: byPath})
	return next
}

// TestInheritedListenersRefuseNothing hands the listening sockets from one
// engine to the next while clients connect without pause, through loop
// counts that shrink (a loop takes several inherited sockets) and grow
// (new SO_REUSEPORT sockets join them): no connection may be refused or
// lost.
func TestInheritedListenersRefuseNothing(t *testing.T) {
	echo := echoServer(t)
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cur, _ := startEngine(t, inheritConfig(2, echo, port))

	var (
		stop     atomic.Bool
		ok, fail atomic.Int64
		wg       sync.WaitGroup
		errMu    sync.Mutex
		firstErr error
	)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 5000 && !stop.Load(); i++ {
				c, err := net.DialTimeout("tcp", addr, 5*time.Second)
				if err == nil {
					err = echoOnce(c, "x", 5*time.Second)
					c.Close()
				}
				if err != nil {
					fail.Add(1)
					errMu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					errMu.Unlock()
					continue
				}
				ok.Add(1)
			}
		}()
	}
	for _, loops := range []int{1, 3, 2} {
		before := ok.Load()
		waitFor(5*time.Second, func() bool { return ok.Load() > before+300 })
		next := handOver(t, cur, inheritConfig(loops, echo, port))
		waitDrained(t, cur.SoftStop(), 10*time.Second)
		cur.Stop()
		cur = next
	}
	before := ok.Load()
	waitFor(5*time.Second, func() bool { return ok.Load() > before+50 })
	stop.Store(true)
	wg.Wait()
	if fail.Load() != 0 {
		t.Fatalf("%d of %d connections failed across the hand-overs; first: %v", fail.Load(), ok.Load()+fail.Load(), firstErr)
	}
	t.Logf("%d connections, none refused", ok.Load())
}

// TestInheritedListenerCounts checks how sockets are shared out: every
// inherited socket is used, a loop taking several when loops shrank, and
// new ones are bound when they grew.
func TestInheritedListenerCounts(t *testing.T) {
	echo := echoServer(t)
	port := freePort(t)
	first, _ := startEngine(t, inheritConfig(3, echo, port))
	if n := len(first.listening); n != 3 {
		t.Fatalf("3 loops listen on %d sockets", n)
	}
	shrunk := handOver(t, first, inheritConfig(2, echo, port))
	first.Stop()
	if n := len(shrunk.listening); n != 3 {
		t.Fatalf("2 loops took %d of 3 inherited sockets", n)
	}
	per := map[int]int{}
	for _, l := range shrunk.loops {
		per[l.id] = len(l.listeners)
	}
	if per[0]+per[1] != 3 || per[0] == 0 || per[1] == 0 {
		t.Fatalf("listeners per loop: %v", per)
	}
	grown := handOver(t, shrunk, inheritConfig(5, echo, port))
	shrunk.Stop()
	if n := len(grown.listening); n != 5 {
		t.Fatalf("5 loops listen on %d sockets (3 inherited)", n)
	}
	c := dial(t, fmt.Sprintf("127.0.0.1:%d", port))
	if err := echoOnce(c, "grown", 5*time.Second); err != nil {
		t.Fatal(err)
	}
}

// TestInheritedSocketsChecked: a descriptor that is not a listening socket
// on the bind's address is closed and not used; the bind gets a fresh
// socket. A socket for an address the configuration dropped is closed.
func TestInheritedSocketsChecked(t *testing.T) {
	echo := echoServer(t)
	port, gone := freePort(t), freePort(t)
	old, _ := startEngine(t, inheritConfig(1, echo, gone))
	files, err := old.ListenerFiles()
	if err != nil {
		t.Fatal(err)
	}
	goneFD, _ := unix.Dup(int(files[0].File.Fd()))
	files[0].File.Close()
	old.Stop()

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	pipeFD, _ := unix.Dup(int(w.Fd()))
	w.Close()
	wrongAddr, _ := unix.Dup(goneFD) // listening, but on another port

	var logged strings.Builder
	var mu sync.Mutex
	log := loggerFunc(func(format string, args ...any) {
		mu.Lock()
		fmt.Fprintf(&logged, format+"\n", args...)
		mu.Unlock()
	})
	bind := netip.MustParseAddrPort(fmt.Sprintf("127.0.0.1:%d", port))
	goneAddr := netip.MustParseAddrPort(fmt.Sprintf("127.0.0.1:%d", gone))
	e, addr := startEngineWith(t, inheritConfig(1, echo, port), Options{Logger: log, Inherited: map[netip.AddrPort][]int{
		bind:     {pipeFD, wrongAddr},
		goneAddr: {goneFD},
	}})
	c := dial(t, addr)
	if err := echoOnce(c, "fresh", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if !dialRefused(goneAddr.String()) {
		t.Error("the socket for an address no bind uses is still listening")
	}
	if n := len(e.listening); n != 1 {
		t.Errorf("listening on %d sockets, want the one freshly bound", n)
	}
	mu.Lock()
	out := logged.String()
	mu.Unlock()
	for _, want := range []string{"not a socket", fmt.Sprintf("bound to 127.0.0.1:%d", gone), "no bind uses it"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

type loggerFunc func(format string, args ...any)

func (f loggerFunc) Printf(format string, args ...any) { f(format, args...) }

// A soft stop waits for connections handed off the loop (the stats page)
// as for its own sessions.
func TestSoftStopWaitsForHandedOff(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	intercept := func(fe, be string, req *h1.Request) Local {
		return Local{Serve: func(c net.Conn) {
			defer c.Close()
			entered <- struct{}{}
			<-release
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
		}}
	}
	e, addr := startEngineWith(t, httpSeedConfig(t, "", []string{echoServer(t)}, nil), Options{Intercept: intercept})
	c := dial(t, addr)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "GET /stats HTTP/1.1\r\nHost: x\r\n\r\n")
	<-entered
	drained := e.SoftStop()
	// Nothing a correct engine does in this time would close it.
	select {
	case <-drained:
		t.Fatal("drained while the stats page still answers a request")
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	if resp, body := readResponse(t, bufio.NewReader(c), nil); resp.StatusCode != 200 || body != "ok" {
		t.Fatalf("the page's answer: %d %q", resp.StatusCode, body)
	}
	waitDrained(t, drained, 5*time.Second)
}
