package engine

import (
	"fmt"
	"net"
	"sync"
	"testing"
	"time"
)

// refusingAddr is a loopback address where nothing listens: connecting to
// it is refused at once.
func refusingAddr(t testing.TB) string {
	return fmt.Sprintf("127.0.0.1:%d", freePort(t))
}

// checkServersIdle checks that no balancer counter is left counting a
// session once the engine is idle.
func checkServersIdle(t testing.TB, e *Engine, backend string) {
	t.Helper()
	be := e.Backend(backend)
	if n := be.Counters.CurSessions.Load(); n != 0 {
		t.Errorf("backend %s: %d current sessions after idle", backend, n)
	}
	for _, sv := range be.Servers {
		if n := sv.Counters.CurSessions.Load(); n != 0 {
			t.Errorf("server %s: %d current sessions after idle", sv.Name, n)
		}
	}
}

func TestRetryRedispatch(t *testing.T) {
	cfg := tcpConfig(t, "  retries 3\n  option redispatch\n  timeout connect 100ms",
		refusingAddr(t), echoServer(t))
	e, addr := startEngine(t, cfg)

	// Round robin alternates, so clients meet the refusing server first
	// as well as the working one; every one must be served.
	for i := 0; i < 4; i++ {
		if err := roundTrip(t, addr, 1000); err != nil {
			t.Fatalf("sequential client %d: %v", i, err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- roundTrip(t, addr, 100<<10)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent client: %v", err)
		}
	}
	waitIdle(t, e)

	be := e.Backend("px")
	bad, good := &be.Servers[0].Counters, &be.Servers[1].Counters
	if bad.ConnErrors.Load() == 0 || bad.Retries.Load() == 0 || bad.Redispatches.Load() == 0 {
		t.Errorf("refusing server: conn errors %d, retries %d, redispatches %d; want all > 0",
			bad.ConnErrors.Load(), bad.Retries.Load(), bad.Redispatches.Load())
	}
	if n := good.ConnErrors.Load(); n != 0 {
		t.Errorf("working server: %d connection errors", n)
	}
	if n := good.TotSessions.Load(); n < 12 {
		t.Errorf("working server served %d sessions, want at least 12", n)
	}
	if be.Counters.ConnErrors.Load() == 0 || be.Counters.Retries.Load() == 0 || be.Counters.Redispatches.Load() == 0 {
		t.Errorf("backend counters: conn errors %d, retries %d, redispatches %d; want all > 0",
			be.Counters.ConnErrors.Load(), be.Counters.Retries.Load(), be.Counters.Redispatches.Load())
	}
	checkServersIdle(t, e, "px")
}

// Without redispatch the retries stay on the server first chosen; a
// client that lands on the refusing server is closed, not left hanging.
func TestRetryWithoutRedispatchGivesUp(t *testing.T) {
	cfg := tcpConfig(t, "  retries 2\n  timeout connect 100ms", refusingAddr(t))
	e, addr := startEngine(t, cfg)
	c := dial(t, addr)
	c.Write([]byte("hello"))
	waitClosed(t, c, 5*time.Second)
	waitIdle(t, e)
	sv := &e.Backend("px").Servers[0].Counters
	if got := sv.ConnErrors.Load(); got != 3 {
		t.Errorf("connection errors = %d, want 3 (one attempt and two retries)", got)
	}
	if got := sv.Retries.Load(); got != 2 {
		t.Errorf("retries = %d, want 2", got)
	}
	if got := sv.Redispatches.Load(); got != 0 {
		t.Errorf("redispatches = %d without option redispatch", got)
	}
	checkServersIdle(t, e, "px")
}

func TestRetryAllServersRefuse(t *testing.T) {
	cfg := tcpConfig(t, "  retries 1\n  option redispatch\n  timeout connect 100ms",
		refusingAddr(t), refusingAddr(t))
	e, addr := startEngine(t, cfg)
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		c := dial(t, addr)
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.Write([]byte("hello"))
			waitClosed(t, c, 3*time.Second)
		}()
	}
	wg.Wait()
	waitIdle(t, e)
	for _, sv := range e.Backend("px").Servers {
		if sv.Counters.ConnErrors.Load() == 0 {
			t.Errorf("server %s: no connection error counted", sv.Name)
		}
	}
	checkServersIdle(t, e, "px")
}

// With every server down there is nothing to try: the client is closed at
// once, without the retries' pauses (which would take 3 s here).
func TestNoServerUpClosesAtOnce(t *testing.T) {
	cfg := tcpConfig(t, "  retries 3\n  option redispatch\n  timeout connect 1s",
		echoServer(t), echoServer(t))
	e, addr := startEngine(t, cfg)
	if err := roundTrip(t, addr, 100); err != nil {
		t.Fatalf("with servers up: %v", err)
	}
	for _, sv := range e.Backend("px").Servers {
		sv.SetUp(false)
	}
	for i := 0; i < 3; i++ {
		c := dial(t, addr)
		c.Write([]byte("hello"))
		waitClosed(t, c, 2*time.Second)
	}
	waitIdle(t, e)
	checkServersIdle(t, e, "px")

	// Back up: served again.
	e.Backend("px").Servers[1].SetUp(true)
	if err := roundTrip(t, addr, 100); err != nil {
		t.Fatalf("with a server up again: %v", err)
	}
}

// A client that leaves while its connection is being retried does not
// leave anything behind.
func TestClientLeavesDuringRetry(t *testing.T) {
	cfg := tcpConfig(t, "  retries 3\n  timeout connect 200ms", refusingAddr(t))
	e, addr := startEngine(t, cfg)
	for i := 0; i < 5; i++ {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("bye"))
		c.Close()
	}
	// Each session makes its 4 attempts (4 pauses of 200 ms at most) and
	// then closes.
	sv := &e.Backend("px").Servers[0].Counters
	if !waitFor(5*time.Second, func() bool { return sv.ConnErrors.Load() == 20 }) {
		t.Fatalf("connection errors = %d, want 20; %+v", sv.ConnErrors.Load(), e.Stats())
	}
	waitIdle(t, e)
	checkServersIdle(t, e, "px")
}
