package engine

import (
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fjordlb/fjord/balancer"
)

// slowServer answers each connection after hold, and records the most
// connections it had open at once.
type slowServer struct {
	addr    string
	cur     atomic.Int64
	maxSeen atomic.Int64
}

func newSlowServer(t *testing.T, hold time.Duration) *slowServer {
	s := &slowServer{}
	s.addr = serveTCP(t, func(c net.Conn) {
		n := s.cur.Add(1)
		defer s.cur.Add(-1)
		for {
			m := s.maxSeen.Load()
			if n <= m || s.maxSeen.CompareAndSwap(m, n) {
				break
			}
		}
		buf := make([]byte, 3)
		if _, err := io.ReadFull(c, buf); err != nil {
			return
		}
		time.Sleep(hold)
		c.Write([]byte("ok\n"))
	})
	return s
}

func queueConfig(t *testing.T, queueTimeout string, servers ...*slowServer) string {
	cfg := fmt.Sprintf("global\n  nbthread 2\ndefaults\n  mode tcp\n  timeout connect 2s\n  timeout client 30s\n  timeout server 30s\n  timeout queue %s\nlisten px\n  bind 127.0.0.1:%d\n", queueTimeout, freePort(t))
	for i, s := range servers {
		cfg += fmt.Sprintf("  server s%d %s maxconn 2\n", i, s.addr)
	}
	return cfg
}

// ask sends a request and returns the answer, or the error that ended the
// connection.
func ask(addr string, within time.Duration) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(within))
	if _, err := c.Write([]byte("hi\n")); err != nil {
		return "", err
	}
	b, err := io.ReadAll(c)
	return string(b), err
}

// TestQueueUnderLoad: 3 servers with maxconn 2 and 30 concurrent slow
// requests. No server ever holds more than 2, and all 30 are served.
func TestQueueUnderLoad(t *testing.T) {
	servers := []*slowServer{newSlowServer(t, 100*time.Millisecond), newSlowServer(t, 100*time.Millisecond), newSlowServer(t, 100*time.Millisecond)}
	e, addr := startEngine(t, queueConfig(t, "10s", servers...))
	var wg sync.WaitGroup
	answers := make(chan string, 30)
	for range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := ask(addr, 20*time.Second)
			if err != nil {
				got = "error: " + err.Error()
			}
			answers <- got
		}()
	}
	wg.Wait()
	close(answers)
	for got := range answers {
		if got != "ok\n" {
			t.Fatalf("a client got %q, want every client served", got)
		}
	}
	be := e.Backend("px")
	for i, s := range servers {
		if m := s.maxSeen.Load(); m > 2 {
			t.Errorf("server s%d had %d connections at once, maxconn is 2", i, m)
		}
		if m := be.Servers[i].Counters.MaxSessions.Load(); m > 2 {
			t.Errorf("balancer saw %d sessions on s%d, maxconn is 2", m, i)
		}
	}
	if be.Counters.QueueMax.Load() == 0 {
		t.Error("nothing was ever queued with 30 clients for 6 slots")
	}
	waitIdle(t, e)
	if q := be.Counters.QueueCur.Load(); q != 0 {
		t.Errorf("queue holds %d after all clients finished", q)
	}
}

// TestQueueTimeout: with timeout queue 100ms the overflow is closed (mode
// tcp) long before the servers would have had a slot.
func TestQueueTimeout(t *testing.T) {
	hold := 2 * time.Second
	servers := []*slowServer{newSlowServer(t, hold), newSlowServer(t, hold), newSlowServer(t, hold)}
	e, addr := startEngine(t, queueConfig(t, "100ms", servers...))
	type result struct {
		got     string
		elapsed time.Duration
	}
	results := make(chan result, 30)
	var wg sync.WaitGroup
	for range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			got, _ := ask(addr, 20*time.Second)
			results <- result{got, time.Since(start)}
		}()
	}
	wg.Wait()
	close(results)
	served, closed := 0, 0
	for r := range results {
		switch {
		case r.got == "ok\n":
			served++
		case r.elapsed < hold*3/4:
			closed++ // closed while queued, before any slot could free
		default:
			t.Errorf("a client got %q after %v: neither served nor closed in time", r.got, r.elapsed)
		}
	}
	if served != 6 || closed != 24 {
		t.Errorf("served %d and closed %d, want the 6 slots served and the 24 others closed", served, closed)
	}
	waitIdle(t, e)
	if q := e.Backend("px").Counters.QueueCur.Load(); q != 0 {
		t.Errorf("queue holds %d after the timeouts", q)
	}
}

// TestRuntimeChangesNextConnection: MAINT, DRAIN and weight changes made
// while traffic flows apply to the next connection.
func TestRuntimeChangesNextConnection(t *testing.T) {
	var hits [2]atomic.Int64
	addrs := make([]string, 2)
	for i := range addrs {
		addrs[i] = serveTCP(t, func(c net.Conn) {
			hits[i].Add(1)
			// Read the request first: closing with unread bytes would
			// reset the connection, and fjord passes resets on.
			io.ReadFull(c, make([]byte, 3))
			c.Write([]byte("ok\n"))
		})
	}
	e, addr := startEngine(t, tcpConfig(t, "", addrs...))
	be := e.Backend("px")
	count := func(n int) (a, b int64) {
		hits[0].Store(0)
		hits[1].Store(0)
		for range n {
			if got, err := ask(addr, 5*time.Second); err != nil || got != "ok\n" {
				t.Fatalf("request failed: %q, %v", got, err)
			}
		}
		return hits[0].Load(), hits[1].Load()
	}
	be.Servers[0].SetAdmin(balancer.Maint)
	if a, b := count(10); a != 0 || b != 10 {
		t.Fatalf("with s0 in MAINT: s0 %d, s1 %d; want 0 and 10", a, b)
	}
	be.Servers[0].SetAdmin(balancer.Ready)
	be.Servers[1].SetAdmin(balancer.Drain)
	if a, b := count(10); a != 10 || b != 0 {
		t.Fatalf("with s1 draining: s0 %d, s1 %d; want 10 and 0", a, b)
	}
	be.Servers[1].SetAdmin(balancer.Ready)
	be.Servers[0].SetWeight(3)
	if a, b := count(40); a != 30 || b != 10 {
		t.Fatalf("with weights 3:1 over 40 connections: s0 %d, s1 %d; want 30 and 10", a, b)
	}

	// The same changes made concurrently with traffic, under -race: every
	// request is answered while one server always stays READY.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			be.Servers[1].SetWeight(1 + i%5)
			be.Servers[1].SetAdmin([]balancer.Admin{balancer.Drain, balancer.Ready, balancer.Maint}[i%3])
			time.Sleep(time.Millisecond)
		}
	}()
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 25 {
				if got, err := ask(addr, 5*time.Second); err != nil || got != "ok\n" {
					t.Errorf("request during runtime changes: %q, %v", got, err)
					return
				}
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	close(stop)
	wg.Wait()
	waitIdle(t, e)
}
