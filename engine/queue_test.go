package engine

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/fjordlb/fjord/balancer"
)

// qServer is a backend server for the queue tests: it reads one request
// line, waits (hold, then gate), answers with its name and closes. It
// records how many connections it had open at once and, in arrival order,
// the request lines it read.
type qServer struct {
	name string
	addr string
	hold time.Duration
	gate chan struct{} // nil, or closed when held connections may answer

	cur, maxSeen, hits atomic.Int64

	mu    sync.Mutex
	lines []string
}

func newQServer(t testing.TB, name string, hold time.Duration, gate chan struct{}) *qServer {
	s := &qServer{name: name, hold: hold, gate: gate}
	s.addr = serveTCP(t, func(c net.Conn) {
		n := s.cur.Add(1)
		// Counted down before serveTCP closes the socket, hence before
		// fjord sees the close and hands the slot to the next session:
		// maxSeen counts connections the server really had at once.
		defer s.cur.Add(-1)
		raiseMax(&s.maxSeen, n)
		s.hits.Add(1)
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			return // a client that left before its request (or a probe)
		}
		s.mu.Lock()
		s.lines = append(s.lines, strings.TrimSuffix(line, "\n"))
		s.mu.Unlock()
		time.Sleep(s.hold)
		if s.gate != nil {
			<-s.gate
		}
		io.WriteString(c, s.name+"\n")
	})
	return s
}

func (s *qServer) seen() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.lines...)
}

func raiseMax(m *atomic.Int64, v int64) {
	for {
		old := m.Load()
		if v <= old || m.CompareAndSwap(old, v) {
			return
		}
	}
}

// qResult is how one request through fjord ended.
type qResult struct {
	answer  string        // what the client read before the close
	err     error         // nil for a clean close (EOF)
	elapsed time.Duration // from dialing to the end of the connection
}

// qRequest sends one request line through fjord and reads until the
// connection ends, for at most within.
func qRequest(addr, line string, within time.Duration) qResult {
	start := time.Now()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return qResult{err: err, elapsed: time.Since(start)}
	}
	defer c.Close()
	c.SetDeadline(start.Add(within))
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		return qResult{err: err, elapsed: time.Since(start)}
	}
	b, err := io.ReadAll(c)
	return qResult{answer: string(b), err: err, elapsed: time.Since(start)}
}

// qPending is a client that sent its request and waits for the answer in
// the background.
type qPending struct {
	c    *net.TCPConn
	done chan qResult
}

func qSend(t testing.TB, addr, line string) *qPending {
	t.Helper()
	c := dial(t, addr)
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		t.Fatal(err)
	}
	p := &qPending{c: c, done: make(chan qResult, 1)}
	go func() {
		start := time.Now()
		c.SetReadDeadline(start.Add(20 * time.Second))
		b, err := io.ReadAll(c)
		// The server's close reaches the client as a FIN only: the
		// session, and its server slot, last until the client closes
		// too, as in HAProxy.
		c.Close()
		p.done <- qResult{answer: string(b), err: err, elapsed: time.Since(start)}
	}()
	return p
}

func (p *qPending) wait(t testing.TB, want string) {
	t.Helper()
	r := <-p.done
	if r.err != nil || r.answer != want {
		t.Fatalf("client got %q, %v; want %q", r.answer, r.err, want)
	}
}

func queueCurIs(be *balancer.Backend, n int64) func() bool {
	return func() bool { return be.Counters.QueueCur.Load() == n }
}

// checkQueuesEmpty fails unless the backend and each server queue nothing.
func checkQueuesEmpty(t testing.TB, be *balancer.Backend) {
	t.Helper()
	if q := be.Counters.QueueCur.Load(); q != 0 {
		t.Errorf("backend %s: QueueCur %d at rest", be.Name, q)
	}
	for _, sv := range be.Servers {
		if q := sv.Counters.QueueCur.Load(); q != 0 {
			t.Errorf("server %s: QueueCur %d at rest", sv.Name, q)
		}
	}
}

func qServerLines(servers []*qServer, extra string) []string {
	var lines []string
	for _, s := range servers {
		lines = append(lines, s.addr+extra)
	}
	return lines
}

func TestQueueMaxconnThreeServersThirtyClients(t *testing.T) {
	servers := []*qServer{
		newQServer(t, "s0", 100*time.Millisecond, nil),
		newQServer(t, "s1", 100*time.Millisecond, nil),
		newQServer(t, "s2", 100*time.Millisecond, nil),
	}
	cfg := tcpConfig(t, "  timeout queue 10s", qServerLines(servers, " maxconn 2")...)
	e, addr := startEngine(t, cfg)
	be := e.Backend("px")

	const clients = 30
	results := qBurst(addr, clients)

	perServer := map[string]int{}
	for i, r := range results {
		if r.err != nil || !strings.HasPrefix(r.answer, "s") {
			t.Errorf("client %d: got %q, %v; want an answer", i, r.answer, r.err)
			continue
		}
		perServer[strings.TrimSpace(r.answer)]++
	}
	total := int64(0)
	for _, s := range servers {
		total += s.hits.Load()
		if m := s.maxSeen.Load(); m > 2 {
			t.Errorf("server %s had %d connections at once; maxconn is 2", s.name, m)
		}
		sv := be.Server(s.name)
		if m := sv.Counters.MaxSessions.Load(); m > 2 {
			t.Errorf("balancer counted %d sessions at once on %s; maxconn is 2", m, s.name)
		}
		if int64(perServer[s.name]) != s.hits.Load() {
			t.Errorf("server %s: %d connections, %d answers", s.name, s.hits.Load(), perServer[s.name])
		}
	}
	if total != clients {
		t.Errorf("servers saw %d connections for %d clients", total, clients)
	}
	if be.Counters.QueueMax.Load() == 0 {
		t.Error("backend QueueMax is 0: 30 clients for 6 slots never queued")
	}
	waitIdle(t, e)
	checkQueuesEmpty(t, be)
	checkServersIdle(t, e, "px")
}

func TestQueueTimeoutClosesOverflow(t *testing.T) {
	const hold = 2 * time.Second
	servers := []*qServer{
		newQServer(t, "s0", hold, nil),
		newQServer(t, "s1", hold, nil),
		newQServer(t, "s2", hold, nil),
	}
	cfg := tcpConfig(t, "  timeout queue 100ms", qServerLines(servers, " maxconn 2")...)
	e, addr := startEngine(t, cfg)
	be := e.Backend("px")

	const clients = 30
	results := qBurst(addr, clients)

	served, closed := 0, 0
	for i, r := range results {
		switch {
		case r.err == nil && strings.HasPrefix(r.answer, "s"):
			served++
		case r.answer == "" && (r.err == nil || errors.Is(r.err, syscall.ECONNRESET)):
			// Closed (mode tcp: no 503) while queued. The bound is
			// generous: what matters is that it did not wait for a
			// server slot, which frees only after 2s.
			closed++
			if r.elapsed > 1500*time.Millisecond {
				t.Errorf("client %d: closed only after %v with timeout queue 100ms", i, r.elapsed)
			}
		default:
			t.Errorf("client %d: got %q, %v after %v", i, r.answer, r.err, r.elapsed)
		}
	}
	if served != 6 || closed != clients-6 {
		t.Errorf("%d served and %d closed; want the 6 slots served and the %d others closed", served, closed, clients-6)
	}
	for _, s := range servers {
		if m := s.maxSeen.Load(); m > 2 {
			t.Errorf("server %s had %d connections at once; maxconn is 2", s.name, m)
		}
	}
	waitIdle(t, e)
	checkQueuesEmpty(t, be)
	checkServersIdle(t, e, "px")
}

func TestQueueArrivalOrder(t *testing.T) {
	gate := make(chan struct{})
	srv := newQServer(t, "s0", 0, gate)
	cfg := tcpConfig(t, "  timeout queue 10s", srv.addr+" maxconn 1")
	e, addr := startEngine(t, cfg)
	be := e.Backend("px")
	defer func() {
		select {
		case <-gate:
		default:
			close(gate)
		}
	}()

	// Client 0 takes the only slot and is held there by the gate.
	clients := []*qPending{qSend(t, addr, "0")}
	if !waitFor(5*time.Second, func() bool { return len(srv.seen()) == 1 }) {
		t.Fatal("the first client never reached the server")
	}
	// The others queue one after the other: each is in the queue before
	// the next one connects, so their arrival order is known.
	const queued = 8
	for k := 1; k <= queued; k++ {
		clients = append(clients, qSend(t, addr, fmt.Sprint(k)))
		if !waitFor(5*time.Second, queueCurIs(be, int64(k))) {
			t.Fatalf("client %d not queued: QueueCur %d", k, be.Counters.QueueCur.Load())
		}
	}
	close(gate)
	for _, c := range clients {
		c.wait(t, "s0\n")
	}
	var want []string
	for k := 0; k <= queued; k++ {
		want = append(want, fmt.Sprint(k))
	}
	if got := srv.seen(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("served in order %v; want arrival order %v", got, want)
	}
	if m := srv.maxSeen.Load(); m > 1 {
		t.Errorf("server had %d connections at once; maxconn is 1", m)
	}
	waitIdle(t, e)
	checkQueuesEmpty(t, be)
	checkServersIdle(t, e, "px")
}

func TestQueueClientLeavesWhileQueued(t *testing.T) {
	for _, tc := range []struct {
		name  string
		queue string // timeout queue
		reset bool   // the client leaves with a reset rather than a FIN
		// timedOut: the queue timeout removes the session before the
		// slot frees; otherwise the slot frees first and the session,
		// granted, finds its client gone.
		timedOut bool
	}{
		{"timeout before a slot frees", "300ms", false, true},
		{"timeout before a slot frees/reset", "300ms", true, true},
		{"granted after the client left", "10s", false, false},
		{"granted after the client left/reset", "10s", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gate := make(chan struct{})
			srv := newQServer(t, "s0", 0, gate)
			cfg := tcpConfig(t, "  timeout queue "+tc.queue, srv.addr+" maxconn 1")
			e, addr := startEngine(t, cfg)
			be := e.Backend("px")
			gateOpen := false
			openGate := func() {
				if !gateOpen {
					gateOpen = true
					close(gate)
				}
			}
			defer openGate()

			holder := qSend(t, addr, "holder")
			if !waitFor(5*time.Second, func() bool { return len(srv.seen()) == 1 }) {
				t.Fatal("the holder never reached the server")
			}
			leaver := dial(t, addr)
			if _, err := io.WriteString(leaver, "leaver\n"); err != nil {
				t.Fatal(err)
			}
			if !waitFor(5*time.Second, queueCurIs(be, 1)) {
				t.Fatalf("the second client was not queued: QueueCur %d", be.Counters.QueueCur.Load())
			}
			if tc.reset {
				leaver.SetLinger(0)
			}
			leaver.Close()

			if tc.timedOut {
				// The queue timeout ends the session while the holder
				// still has the slot.
				if !waitFor(5*time.Second, func() bool { return e.Stats().Sessions == 1 }) {
					t.Fatalf("the gone client's session stayed: %+v", e.Stats())
				}
				if q := be.Counters.QueueCur.Load(); q != 0 {
					t.Errorf("QueueCur %d after the queued client left and timed out", q)
				}
			}
			openGate()
			holder.wait(t, "s0\n")
			waitIdle(t, e)
			checkQueuesEmpty(t, be)
			checkServersIdle(t, e, "px")

			// No slot leaked: the only slot serves the next client.
			if r := qRequest(addr, "later", 5*time.Second); r.err != nil || r.answer != "s0\n" {
				t.Fatalf("a later client got %q, %v: the slot leaked", r.answer, r.err)
			}
			for _, l := range srv.seen() {
				if l == "leaver" && tc.timedOut {
					t.Errorf("the request of a client that timed out in the queue reached the server")
				}
			}
			waitIdle(t, e)
			checkQueuesEmpty(t, be)
			checkServersIdle(t, e, "px")
		})
	}
}

// qAnswerer answers each connection with its name after reading the
// request line, and counts connections.
func qAnswerers(t testing.TB, n int) ([]*qServer, []string) {
	var servers []*qServer
	var addrs []string
	for i := range n {
		s := newQServer(t, fmt.Sprintf("s%d", i), 0, nil)
		servers = append(servers, s)
		addrs = append(addrs, s.addr)
	}
	return servers, addrs
}

// qShare makes n sequential requests and counts the answers per server.
func qShare(t *testing.T, addr string, n int) map[string]int {
	t.Helper()
	got := map[string]int{}
	for i := range n {
		r := qRequest(addr, fmt.Sprintf("req %d", i), 5*time.Second)
		if r.err != nil || !strings.HasPrefix(r.answer, "s") {
			t.Fatalf("request %d: %q, %v", i, r.answer, r.err)
		}
		got[strings.TrimSpace(r.answer)]++
	}
	return got
}

func TestRuntimeAdminAndWeightNextConnection(t *testing.T) {
	_, addrs := qAnswerers(t, 2)
	e, addr := startEngine(t, tcpConfig(t, "  balance roundrobin", addrs...))
	be := e.Backend("px")
	s0, s1 := be.Server("s0"), be.Server("s1")

	if got := qShare(t, addr, 10); got["s0"] != 5 || got["s1"] != 5 {
		t.Fatalf("weights 1:1, 10 connections: %v; want 5 each", got)
	}

	s0.SetAdmin(balancer.Maint)
	if got := qShare(t, addr, 10); got["s1"] != 10 {
		t.Fatalf("s0 in MAINT, 10 connections: %v; want all on s1", got)
	}
	s0.SetAdmin(balancer.Ready)
	if got := qShare(t, addr, 10); got["s0"] != 5 || got["s1"] != 5 {
		t.Fatalf("s0 READY again, 10 connections: %v; want 5 each", got)
	}

	s1.SetAdmin(balancer.Drain)
	if got := qShare(t, addr, 10); got["s0"] != 10 {
		t.Fatalf("s1 in DRAIN, 10 connections: %v; want all on s0", got)
	}
	s1.SetAdmin(balancer.Ready)

	// A round robin cycle of weights 3:1 is 4 long: 40 connections are
	// 10 cycles whatever the counter's phase.
	s0.SetWeight(3)
	if got := qShare(t, addr, 40); got["s0"] != 30 || got["s1"] != 10 {
		t.Fatalf("weights 3:1, 40 connections: %v; want 30 and 10", got)
	}
	s0.SetWeight(1)
	s1.SetWeight(4)
	if got := qShare(t, addr, 50); got["s0"] != 10 || got["s1"] != 40 {
		t.Fatalf("weights 1:4, 50 connections: %v; want 10 and 40", got)
	}
	s1.SetWeight(0)
	if got := qShare(t, addr, 10); got["s0"] != 10 {
		t.Fatalf("s1 at weight 0, 10 connections: %v; want all on s0", got)
	}
	s1.SetWeight(1)
	if got := qShare(t, addr, 10); got["s0"] != 5 || got["s1"] != 5 {
		t.Fatalf("weights back to 1:1, 10 connections: %v; want 5 each", got)
	}
	waitIdle(t, e)
	checkServersIdle(t, e, "px")
}

// TestRuntimeServerOutWithQueuedClients takes the server that queued
// clients wait for out (health DOWN, MAINT or DRAIN) while its session ends:
// the waiters stay queued, and bringing it back grants them in order.
func TestRuntimeServerOutWithQueuedClients(t *testing.T) {
	type change struct {
		name    string
		out, in func(*balancer.Server)
	}
	changes := []change{
		{"SetUp", func(s *balancer.Server) { s.SetUp(false) }, func(s *balancer.Server) { s.SetUp(true) }},
		{"MAINT", func(s *balancer.Server) { s.SetAdmin(balancer.Maint) }, func(s *balancer.Server) { s.SetAdmin(balancer.Ready) }},
		{"DRAIN", func(s *balancer.Server) { s.SetAdmin(balancer.Drain) }, func(s *balancer.Server) { s.SetAdmin(balancer.Ready) }},
	}
	type queueKind struct {
		name    string
		balance string
		servers int
	}
	queues := []queueKind{
		// The waiters are in the backend queue, for any server.
		{"backend queue", "roundrobin", 1},
		// balance source: every loopback client hashes to one server and
		// waits in that server's own queue while the other is free.
		{"server queue", "source", 2},
	}
	for _, ch := range changes {
		for _, tc := range queues {
			t.Run(ch.name+"/"+tc.name, func(t *testing.T) { testServerOutWithQueued(t, tc.balance, tc.servers, ch.out, ch.in) })
		}
	}
}

func testServerOutWithQueued(t *testing.T, balance string, nservers int, out, in func(*balancer.Server)) {
	gate := make(chan struct{})
	var servers []*qServer
	var lines []string
	for i := range nservers {
		s := newQServer(t, fmt.Sprintf("s%d", i), 0, gate)
		servers = append(servers, s)
		lines = append(lines, s.addr+" maxconn 1")
	}
	cfg := tcpConfig(t, "  balance "+balance+"\n  timeout queue 10s", lines...)
	e, addr := startEngine(t, cfg)
	be := e.Backend("px")
	gateOpen := false
	openGate := func() {
		if !gateOpen {
			gateOpen = true
			close(gate)
		}
	}
	defer openGate()

	holder := qSend(t, addr, "holder")
	var target *qServer
	if !waitFor(5*time.Second, func() bool {
		for _, s := range servers {
			if len(s.seen()) == 1 {
				target = s
				return true
			}
		}
		return false
	}) {
		t.Fatal("the holder never reached a server")
	}
	sv := be.Server(target.name)
	waiters := []*qPending{qSend(t, addr, "w1")}
	if !waitFor(5*time.Second, queueCurIs(be, 1)) {
		t.Fatalf("w1 not queued: QueueCur %d", be.Counters.QueueCur.Load())
	}
	waiters = append(waiters, qSend(t, addr, "w2"))
	if !waitFor(5*time.Second, queueCurIs(be, 2)) {
		t.Fatalf("w2 not queued: QueueCur %d", be.Counters.QueueCur.Load())
	}
	if nservers > 1 {
		if q := sv.Counters.QueueCur.Load(); q != 2 {
			t.Fatalf("%s QueueCur %d; want the 2 waiters in the server's own queue", sv.Name, q)
		}
	}

	out(sv)
	// The holder ends and frees the slot of a server that is out: no
	// waiter may take it.
	openGate()
	holder.wait(t, target.name+"\n")
	if !waitFor(5*time.Second, func() bool { return sv.Counters.CurSessions.Load() == 0 }) {
		t.Fatalf("%s still has %d sessions after the holder left", sv.Name, sv.Counters.CurSessions.Load())
	}
	// Not a timing assertion: a grant, if wrongly made, would
	// show within this pause; it passes trivially otherwise.
	time.Sleep(100 * time.Millisecond)
	if q := be.Counters.QueueCur.Load(); q != 2 {
		t.Fatalf("QueueCur %d while the server is out; want the 2 waiters still queued", q)
	}
	if n := len(target.seen()); n != 1 {
		t.Fatalf("the server got %d requests while out; want only the holder's", n)
	}

	in(sv)
	for _, w := range waiters {
		w.wait(t, target.name+"\n")
	}
	if got := strings.Join(target.seen(), ","); got != "holder,w1,w2" {
		t.Errorf("%s served %s; want holder,w1,w2", target.name, got)
	}
	if m := target.maxSeen.Load(); m > 1 {
		t.Errorf("server had %d connections at once; maxconn is 1", m)
	}
	waitIdle(t, e)
	checkQueuesEmpty(t, be)
	checkServersIdle(t, e, "px")
}

// TestRuntimeRaceWithTraffic toggles weights and DRAIN/READY while 20
// clients make short echo connections, some of them queued (maxconn 3).
// One server at most is out of READY at any time, so every connection must
// be answered. Meant for -race.
func TestRuntimeRaceWithTraffic(t *testing.T) {
	var addrs []string
	for range 3 {
		addrs = append(addrs, echoServer(t)+" maxconn 3")
	}
	e, addr := startEngine(t, tcpConfig(t, "  timeout queue 10s", addrs...))
	be := e.Backend("px")

	stop := make(chan struct{})
	var toggles atomic.Int64
	var tw sync.WaitGroup
	tw.Add(1)
	go func() {
		defer tw.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			sv := be.Servers[i%len(be.Servers)]
			sv.SetWeight(1 + i%4)
			sv.SetAdmin(balancer.Drain)
			time.Sleep(time.Millisecond)
			sv.SetAdmin(balancer.Ready)
			toggles.Add(1)
		}
	}()

	var answered, failed atomic.Int64
	deadline := time.Now().Add(time.Second)
	var wg sync.WaitGroup
	for g := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; time.Now().Before(deadline); j++ {
				c, err := net.DialTimeout("tcp", addr, 5*time.Second)
				if err != nil {
					failed.Add(1)
					t.Errorf("client %d: dial: %v", g, err)
					return
				}
				err = echoOnce(c, fmt.Sprintf("ping %d/%d\n", g, j), 15*time.Second)
				c.Close()
				if err != nil {
					failed.Add(1)
					t.Errorf("client %d, connection %d: %v", g, j, err)
					return
				}
				answered.Add(1)
			}
		}()
	}
	wg.Wait()
	close(stop)
	tw.Wait()
	t.Logf("%d connections answered, %d runtime toggles, backend qmax %d",
		answered.Load(), toggles.Load(), be.Counters.QueueMax.Load())
	if failed.Load() != 0 || answered.Load() == 0 {
		t.Fatalf("%d connections failed, %d answered", failed.Load(), answered.Load())
	}
	for _, sv := range be.Servers {
		sv.SetWeight(1)
		if m := sv.Counters.MaxSessions.Load(); m > 3 {
			t.Errorf("server %s: %d sessions at once; maxconn is 3", sv.Name, m)
		}
	}
	waitIdle(t, e)
	checkQueuesEmpty(t, be)
	checkServersIdle(t, e, "px")
}

// TestQueueTimeoutRacesGrant makes queue timeouts fall due just as slots
// free (hold == timeout queue, 10 clients per slot): a session regularly
// times out in the queue while the grant for it is on its way to its loop.
// The granted slot must then be given back, not leaked.
func TestQueueTimeoutRacesGrant(t *testing.T) {
	srv := newQServer(t, "s0", 20*time.Millisecond, nil)
	cfg := tcpConfig(t, "  timeout queue 20ms", srv.addr+" maxconn 1")
	e, addr := startEngine(t, cfg)
	be := e.Backend("px")
	sv := be.Server("s0")
	served, closed := 0, 0
	for round := range 30 {
		results := make([]qResult, 10)
		var wg sync.WaitGroup
		for i := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = qRequest(addr, fmt.Sprint(i), 10*time.Second)
			}()
		}
		wg.Wait()
		for i, r := range results {
			switch {
			case r.err == nil && r.answer == "s0\n":
				served++
			case r.answer == "" && (r.err == nil || errors.Is(r.err, syscall.ECONNRESET)):
				closed++
			default:
				t.Fatalf("round %d, client %d: got %q, %v", round, i, r.answer, r.err)
			}
		}
		waitIdle(t, e)
		if n := sv.Counters.CurSessions.Load(); n != 0 {
			t.Fatalf("round %d: s0 holds %d slots with no session left: a granted slot leaked", round, n)
		}
		checkQueuesEmpty(t, be)
	}
	t.Logf("%d served, %d closed by the queue timeout", served, closed)
	if r := qRequest(addr, "last", 5*time.Second); r.err != nil || r.answer != "s0\n" {
		t.Fatalf("a last client got %q, %v", r.answer, r.err)
	}
	waitIdle(t, e)
	checkServersIdle(t, e, "px")
}

// qBurst sends n requests at once, released together, and returns each
// client's result in order.
func qBurst(addr string, n int) []qResult {
	results := make([]qResult, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i] = qRequest(addr, fmt.Sprintf("req %d", i), 20*time.Second)
		}()
	}
	close(start)
	wg.Wait()
	return results
}
