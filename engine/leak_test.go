package engine

import (
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"
)

// openFDs counts the process's open file descriptors.
func openFDs(t testing.TB) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count open files: %v", err)
	}
	return len(ents)
}

// unpooledFDs is the open descriptors minus the two of every pipe the
// engine keeps pooled for reuse: what must not grow with traffic. It runs
// the garbage collector first: earlier tests' servers spliced with Go's own
// pipe pool, whose pipes are closed only when collected.
func unpooledFDs(t testing.TB, e *Engine) int {
	runtime.GC()
	runtime.GC()
	return openFDs(t) - 2*int(e.Stats().PipesPooled)
}

// plainEchoServer is echoServer without Go's own splice(2): io.Copy
// between two TCP connections splices through pipes the runtime pools and
// closes only at garbage collection, which would blur the count of the
// engine's descriptors.
func plainEchoServer(t testing.TB) string {
	return serveTCP(t, func(c net.Conn) {
		io.CopyBuffer(struct{ io.Writer }{c}, struct{ io.Reader }{c}, make([]byte, 64<<10))
		c.(*net.TCPConn).CloseWrite()
	})
}

// settledFDs waits until unpooledFDs stops changing (connections of the
// test servers are closed by their goroutines a moment after the engine is
// idle, collected pipes by finalizers) and returns it.
func settledFDs(t testing.TB, e *Engine) int {
	t.Helper()
	prev, same := unpooledFDs(t, e), 0
	for i := 0; i < 200 && same < 3; i++ {
		time.Sleep(20 * time.Millisecond)
		cur := unpooledFDs(t, e)
		if cur == prev {
			same++
		} else {
			prev, same = cur, 0
		}
	}
	return prev
}

func TestNoLeakSequential(t *testing.T) {
	n := 10000
	if testing.Short() {
		n = 1000
	}
	e, addr := startEngine(t, tcpConfig(t, "", plainEchoServer(t)))
	if err := roundTrip(t, addr, 100); err != nil { // warm-up
		t.Fatal(err)
	}
	waitIdle(t, e)
	before := settledFDs(t, e)

	msg := make([]byte, 512)
	for i := 0; i < n; i++ {
		if err := roundTrip(t, addr, len(msg)); err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
	}
	waitIdle(t, e)
	var after int
	if !waitFor(10*time.Second, func() bool { after = unpooledFDs(t, e); return after == before }) {
		t.Fatalf("open descriptors (less pooled pipes): %d before, %d after %d connections; %+v",
			before, after, n, e.Stats())
	}
	if st := e.Stats(); st.Sessions != 0 || st.PipesInUse != 0 {
		t.Fatalf("after %d connections: %+v", n, st)
	}
	checkServersIdle(t, e, "px")
}

// Connections that move bulk data (spliced through pipes), end in resets
// or are abandoned mid-transfer must not leak descriptors or pipes either.
func TestNoLeakBulkAndAborts(t *testing.T) {
	e, addr := startEngine(t, tcpConfig(t, "", plainEchoServer(t)))
	if err := roundTrip(t, addr, 1<<20); err != nil { // warm-up, with pipes
		t.Fatal(err)
	}
	waitIdle(t, e)
	before := settledFDs(t, e)

	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := 0; i < 64; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			switch i % 4 {
			case 0, 1: // complete bulk round trip
				errs <- roundTrip(t, addr, 2<<20)
			case 2: // abandon mid-transfer with a reset
				c, err := net.DialTimeout("tcp", addr, 5*time.Second)
				if err != nil {
					errs <- err
					return
				}
				buf := make([]byte, 1<<20)
				rand.Read(buf)
				c.Write(buf)
				c.(*net.TCPConn).SetLinger(0)
				c.Close()
			case 3: // write and close without reading the echo
				c, err := net.DialTimeout("tcp", addr, 5*time.Second)
				if err != nil {
					errs <- err
					return
				}
				c.Write(make([]byte, 300<<10))
				c.Close()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	waitIdle(t, e)
	var after int
	if !waitFor(10*time.Second, func() bool { after = unpooledFDs(t, e); return after == before }) {
		t.Fatalf("open descriptors (less pooled pipes): %d before, %d after; %+v", before, after, e.Stats())
	}
	checkServersIdle(t, e, "px")
}

// An idle established connection holds no pipe, also after it moved bulk
// data through splice.
func TestIdleConnectionsHoldNoPipe(t *testing.T) {
	e, addr := startEngine(t, tcpConfig(t, "", echoServer(t)))
	const conns = 50
	cs := make([]*net.TCPConn, conns)
	for i := range cs {
		cs[i] = dial(t, addr)
		if err := echoOnce(cs[i], fmt.Sprintf("hello %d", i), 5*time.Second); err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
	}
	if !waitFor(2*time.Second, func() bool { return e.Stats().PipesInUse == 0 }) {
		t.Fatalf("%d idle connections after a small round trip: %+v", conns, e.Stats())
	}
	if got := e.Stats().Sessions; got != conns {
		t.Fatalf("sessions = %d, want %d", got, conns)
	}

	// 1 MiB each way on every connection, which goes through splice,
	// and the connections stay open.
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- bulkEcho(c, 1<<20)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if !waitFor(2*time.Second, func() bool { return e.Stats().PipesInUse == 0 }) {
		t.Fatalf("%d idle connections after a 1 MiB round trip: %+v", conns, e.Stats())
	}
	if got := e.Stats().Sessions; got != conns {
		t.Fatalf("sessions = %d, want %d", got, conns)
	}
	for _, c := range cs {
		c.Close()
	}
	waitIdle(t, e)
}

// bulkEcho sends size random bytes on an echo connection, reads them back
// and leaves the connection open.
func bulkEcho(c net.Conn, size int) error {
	c.SetDeadline(time.Now().Add(60 * time.Second))
	defer c.SetDeadline(time.Time{})
	out := make([]byte, size)
	rand.Read(out)
	werr := make(chan error, 1)
	go func() {
		_, err := c.Write(out)
		werr <- err
	}()
	in := make([]byte, size)
	if _, err := io.ReadFull(c, in); err != nil {
		return err
	}
	if err := <-werr; err != nil {
		return err
	}
	if string(in) != string(out) {
		return errMismatch
	}
	return nil
}
