package balancer

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fjordlb/fjord/config"
)

// waiter records its grant. Grant must not block and must come once.
type waiter struct {
	name string
	log  *grantLog
	got  chan *Server
}

type grantLog struct {
	mu    sync.Mutex
	order []string // "waiter:server"
}

func (l *grantLog) waiter(name string) *waiter {
	return &waiter{name: name, log: l, got: make(chan *Server, 1)}
}

func (l *grantLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.order
	l.order = nil
	return out
}

func (w *waiter) Grant(s *Server) {
	select {
	case w.got <- s:
	default:
		panic(w.name + " granted twice")
	}
	if w.log != nil {
		w.log.mu.Lock()
		w.log.order = append(w.log.order, w.name+":"+s.Name)
		w.log.mu.Unlock()
	}
}

func mustQueue(t *testing.T, b *Backend, req *Request, w *waiter) {
	t.Helper()
	s, err := b.Acquire(reqOf(req), nil, w)
	if s != nil || err != nil {
		t.Fatalf("Acquire for %s = %v, %v; want queued", w.name, s, err)
	}
}

func expectGrants(t *testing.T, l *grantLog, want ...string) {
	t.Helper()
	got := l.take()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("grants %v, want %v", got, want)
	}
}

func TestQueueFIFO(t *testing.T) {
	b := mk(t, algo(config.BalanceRoundRobin), config.Server{Weight: 1, MaxConn: 2}, config.Server{Weight: 1, MaxConn: 2})
	s1, s2 := b.Servers[0], b.Servers[1]
	hold(s1, 2)
	hold(s2, 2)
	if s, err := b.Pick(Request{}, nil); s != nil || !errors.Is(err, ErrNoServer) {
		t.Fatalf("Pick with all full = %v, %v; want ErrNoServer", s, err)
	}
	var log grantLog
	w1, w2, w3 := log.waiter("w1"), log.waiter("w2"), log.waiter("w3")
	mustQueue(t, b, nil, w1)
	mustQueue(t, b, nil, w2)
	mustQueue(t, b, nil, w3)
	if q, m := b.Counters.QueueCur.Load(), b.Counters.QueueMax.Load(); q != 3 || m != 3 {
		t.Fatalf("backend qcur %d qmax %d, want 3 3", q, m)
	}
	if s1.Counters.QueueCur.Load() != 0 || s2.Counters.QueueCur.Load() != 0 {
		t.Fatalf("server queues used for a backend queue")
	}
	expectGrants(t, &log)

	sel := s1.Counters.Selected.Load()
	b.Release(s1)
	expectGrants(t, &log, "w1:s1")
	if s1.Counters.CurSessions.Load() != 2 || s1.Counters.Selected.Load() != sel+1 {
		t.Errorf("granted slot: scur %d lbtot %d", s1.Counters.CurSessions.Load(), s1.Counters.Selected.Load())
	}
	b.Release(s2)
	expectGrants(t, &log, "w2:s2")
	if b.Counters.QueueCur.Load() != 1 {
		t.Errorf("qcur %d, want 1", b.Counters.QueueCur.Load())
	}
	if !b.Cancel(w3) {
		t.Fatalf("Cancel of a queued waiter = false")
	}
	if b.Cancel(w3) {
		t.Errorf("second Cancel = true")
	}
	if b.Cancel(w1) {
		t.Errorf("Cancel after grant = true; the waiter owns its slot")
	}
	if b.Cancel(log.waiter("stranger")) {
		t.Errorf("Cancel of an unknown waiter = true")
	}
	b.Release(s1)
	expectGrants(t, &log)
	if q, m := b.Counters.QueueCur.Load(), b.Counters.QueueMax.Load(); q != 0 || m != 3 {
		t.Errorf("backend qcur %d qmax %d, want 0 3", q, m)
	}
	release(b, s1, 1)
	release(b, s2, 2)
	if s1.Counters.CurSessions.Load() != 0 || s2.Counters.CurSessions.Load() != 0 {
		t.Errorf("sessions left: %d %d", s1.Counters.CurSessions.Load(), s2.Counters.CurSessions.Load())
	}
}

// TestQueueFreedSlotFirst: a slot free when Acquire looks is taken, not
// queued behind nobody.
func TestQueueFreedSlotFirst(t *testing.T) {
	b := mk(t, algo(config.BalanceRoundRobin), config.Server{Weight: 1, MaxConn: 1}, config.Server{Weight: 1, MaxConn: 1})
	hold(b.Servers[0], 1)
	var log grantLog
	s, err := b.Acquire(Request{}, nil, log.waiter("w"))
	if err != nil || s != b.Servers[1] {
		t.Fatalf("Acquire with s2 free = %v, %v", s, err)
	}
}

func TestQueueFull(t *testing.T) {
	// Every server has maxqueue 1: the backend queue holds 2.
	b := mk(t, algo(config.BalanceRoundRobin), config.Server{Weight: 1, MaxConn: 1, MaxQueue: 1}, config.Server{Weight: 1, MaxConn: 1, MaxQueue: 1})
	hold(b.Servers[0], 1)
	hold(b.Servers[1], 1)
	var log grantLog
	mustQueue(t, b, nil, log.waiter("w1"))
	mustQueue(t, b, nil, log.waiter("w2"))
	if s, err := b.Acquire(Request{}, nil, log.waiter("w3")); s != nil || !errors.Is(err, ErrQueueFull) {
		t.Fatalf("third waiter: %v, %v; want ErrQueueFull", s, err)
	}
	if b.Counters.QueueCur.Load() != 2 {
		t.Errorf("qcur %d, want 2", b.Counters.QueueCur.Load())
	}

	// One server without maxqueue: unbounded.
	b = mk(t, algo(config.BalanceRoundRobin), config.Server{Weight: 1, MaxConn: 1, MaxQueue: 1}, config.Server{Weight: 1, MaxConn: 1})
	hold(b.Servers[0], 1)
	hold(b.Servers[1], 1)
	for i := range 10 {
		mustQueue(t, b, nil, log.waiter(fmt.Sprint(i)))
	}
}

// keyOn returns a uri request that hashes to server name.
func keyOn(t *testing.T, b *Backend, name string) *Request {
	t.Helper()
	for i := range 10000 {
		req := uriReq(fmt.Sprintf("/k/%d", i))
		if pick(t, b, req, nil) == name {
			return req
		}
	}
	t.Fatalf("no key for %s", name)
	return nil
}

// TestServerQueue: a hashed request waits for its own server even when
// others are free, in that server's queue.
func TestServerQueue(t *testing.T) {
	for _, method := range []config.HashMethod{config.HashMapBased, config.HashConsistent} {
		t.Run(method.String(), func(t *testing.T) {
			px := config.Proxy{Balance: config.Balance{Algorithm: config.BalanceURI}, HashType: config.HashType{Method: method}}
			b := mk(t, px,
				config.Server{Weight: 1, MaxConn: 1, MaxQueue: 2},
				config.Server{Weight: 1, MaxConn: 1, MaxQueue: 2},
				config.Server{Weight: 1, MaxConn: 1, MaxQueue: 2},
			)
			x := b.Servers[1]
			req := keyOn(t, b, x.Name)
			other := keyOn(t, b, "s3")
			if s, err := b.Pick(reqOf(req), nil); s != x || err != nil {
				t.Fatalf("Pick = %v, %v", s, err)
			}
			if s, err := b.Pick(reqOf(req), nil); s != nil || !errors.Is(err, ErrNoServer) {
				t.Fatalf("Pick for a full hashed server = %v, %v; want ErrNoServer", s, err)
			}
			var log grantLog
			w1, w2 := log.waiter("w1"), log.waiter("w2")
			mustQueue(t, b, req, w1)
			mustQueue(t, b, req, w2)
			if s, err := b.Acquire(reqOf(req), nil, log.waiter("w3")); s != nil || !errors.Is(err, ErrQueueFull) {
				t.Fatalf("beyond maxqueue: %v, %v; want ErrQueueFull", s, err)
			}
			if q := x.Counters.QueueCur.Load(); q != 2 {
				t.Errorf("server qcur %d, want 2", q)
			}
			if q := b.Counters.QueueCur.Load(); q != 2 {
				t.Errorf("backend qcur %d, want 2", q)
			}
			// Other keys are served meanwhile, and their release does not
			// hand their server to x's waiters.
			s3, err := b.Acquire(reqOf(other), nil, log.waiter("w4"))
			if s3 == nil || s3.Name != "s3" || err != nil {
				t.Fatalf("other key: %v, %v", s3, err)
			}
			b.Release(s3)
			expectGrants(t, &log)
			b.Release(x)
			expectGrants(t, &log, "w1:s2")
			b.Release(x)
			expectGrants(t, &log, "w2:s2")
			if q, m := x.Counters.QueueCur.Load(), x.Counters.QueueMax.Load(); q != 0 || m != 2 {
				t.Errorf("server qcur %d qmax %d, want 0 2", q, m)
			}
			b.Release(x)
			if x.Counters.CurSessions.Load() != 0 || b.Counters.QueueCur.Load() != 0 {
				t.Errorf("left: scur %d qcur %d", x.Counters.CurSessions.Load(), b.Counters.QueueCur.Load())
			}
		})
	}
}

// TestQueueArrivalOrder: the server's queue and the backend's are served
// in the order connections arrived.
func TestQueueArrivalOrder(t *testing.T) {
	b := mk(t, config.Proxy{Balance: config.Balance{Algorithm: config.BalanceURI}}, config.Server{Weight: 1, MaxConn: 1})
	s := b.Servers[0]
	keyed := uriReq("/a")
	hold(s, 1)
	var log grantLog
	mustQueue(t, b, keyed, log.waiter("A")) // server queue
	mustQueue(t, b, nil, log.waiter("B"))   // no key: backend queue
	mustQueue(t, b, keyed, log.waiter("C"))
	mustQueue(t, b, nil, log.waiter("D"))
	if s.Counters.QueueCur.Load() != 2 || b.Counters.QueueCur.Load() != 4 {
		t.Fatalf("server qcur %d backend qcur %d, want 2 4", s.Counters.QueueCur.Load(), b.Counters.QueueCur.Load())
	}
	for _, want := range []string{"A:s1", "B:s1", "C:s1", "D:s1"} {
		b.Release(s)
		expectGrants(t, &log, want)
	}
}

// TestQueueGrantOnReturn: waiters are served when a server comes back
// (health check, administrative state, weight).
func TestQueueGrantOnReturn(t *testing.T) {
	tests := []struct {
		name  string
		leave func(s *Server)
		back  func(s *Server)
	}{
		{"up", func(s *Server) { s.SetUp(false) }, func(s *Server) { s.SetUp(true) }},
		{"maint", func(s *Server) { s.SetAdmin(Maint) }, func(s *Server) { s.SetAdmin(Ready) }},
		{"drain", func(s *Server) { s.SetAdmin(Drain) }, func(s *Server) { s.SetAdmin(Ready) }},
		{"weight", func(s *Server) { s.SetWeight(0) }, func(s *Server) { s.SetWeight(1) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := mk(t, algo(config.BalanceRoundRobin), config.Server{Weight: 1, MaxConn: 1}, config.Server{Weight: 1, MaxConn: 1})
			s1, s2 := b.Servers[0], b.Servers[1]
			tt.leave(s2)
			hold(s1, 1)
			var log grantLog
			mustQueue(t, b, nil, log.waiter("w1"))
			mustQueue(t, b, nil, log.waiter("w2"))
			tt.back(s2)
			expectGrants(t, &log, "w1:s2")
			b.Release(s1)
			expectGrants(t, &log, "w2:s1")
		})
	}

	t.Run("server queue after maintenance", func(t *testing.T) {
		b := mk(t, config.Proxy{Balance: config.Balance{Algorithm: config.BalanceURI}}, config.Server{Weight: 1, MaxConn: 1}, config.Server{Weight: 1, MaxConn: 1})
		req := keyOn(t, b, "s1")
		s1 := b.Servers[0]
		hold(s1, 1)
		var log grantLog
		mustQueue(t, b, req, log.waiter("w"))
		s1.SetAdmin(Maint)
		b.Release(s1) // s1 is in maintenance: no grant
		expectGrants(t, &log)
		s1.SetAdmin(Ready)
		expectGrants(t, &log, "w:s1")
	})
}

// TestQueueLeftServer: a server out of the table (a backup once an active
// server is back) still serves the connections queued on it, even behind
// older ones in the backend queue it no longer serves.
func TestQueueLeftServer(t *testing.T) {
	b := mk(t, config.Proxy{Balance: config.Balance{Algorithm: config.BalanceURI}},
		config.Server{Name: "a", Weight: 1, MaxConn: 1},
		config.Server{Name: "bk", Weight: 1, MaxConn: 1, Backup: true},
	)
	a, bk := b.Server("a"), b.Server("bk")
	a.SetUp(false)
	hold(a, 1) // a session from before it went down
	hold(bk, 1)
	var log grantLog
	mustQueue(t, b, nil, log.waiter("w1"))          // backend queue
	mustQueue(t, b, uriReq("/k"), log.waiter("w2")) // hashed to bk, its only server
	if bk.Counters.QueueCur.Load() != 1 {
		t.Fatalf("bk qcur %d, want 1", bk.Counters.QueueCur.Load())
	}
	a.SetUp(true) // bk leaves the table; a is full
	expectGrants(t, &log)
	b.Release(bk)
	expectGrants(t, &log, "w2:bk")
	b.Release(a)
	expectGrants(t, &log, "w1:a")
}

// TestQueueNoLostWakeup races a connection queueing against the event
// that should serve it: a release of the slot it waits for, or a server
// coming back. The waiter must always be served.
func TestQueueNoLostWakeup(t *testing.T) {
	n := 50000
	if testing.Short() {
		n = 2000
	}
	tests := []struct {
		name    string
		servers []config.Server
		before  func(b *Backend) // with b idle: take the slot, or a server out
		event   func(b *Backend) // concurrently with Acquire
	}{
		{
			"release",
			[]config.Server{{Weight: 1, MaxConn: 1}},
			func(b *Backend) { hold(b.Servers[0], 1) },
			func(b *Backend) { b.Release(b.Servers[0]) },
		},
		{
			"server back",
			[]config.Server{{Weight: 1, MaxConn: 1}, {Weight: 1, MaxConn: 1}},
			func(b *Backend) { b.Servers[1].SetUp(false); hold(b.Servers[0], 1) },
			func(b *Backend) { b.Servers[1].SetUp(true) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := mk(t, algo(config.BalanceRoundRobin), tt.servers...)
			for i := range n {
				tt.before(b)
				w := &waiter{name: "w", got: make(chan *Server, 1)}
				start := make(chan struct{})
				done := make(chan struct{})
				go func() {
					<-start
					tt.event(b)
					close(done)
				}()
				close(start)
				got, err := b.Acquire(Request{}, nil, w)
				if err != nil {
					t.Fatal(err)
				}
				<-done
				if got == nil {
					select {
					case got = <-w.got:
					case <-time.After(5 * time.Second):
						t.Fatalf("iteration %d: waiter never served", i)
					}
				}
				b.Release(got)
				// Back to idle: whatever the waiter did not take is freed.
				for _, s := range b.Servers {
					for s.Counters.CurSessions.Load() > 0 {
						b.Release(s)
					}
				}
			}
			for _, s := range b.Servers {
				if s.Counters.CurSessions.Load() != 0 {
					t.Errorf("%s: scur %d", s.Name, s.Counters.CurSessions.Load())
				}
			}
			if b.Counters.QueueCur.Load() != 0 {
				t.Errorf("qcur %d", b.Counters.QueueCur.Load())
			}
		})
	}
}

// TestConcurrentRuntimeChanges picks and releases from many goroutines
// while another changes weights and states. Run it under -race.
func TestConcurrentRuntimeChanges(t *testing.T) {
	bals := map[string]config.Proxy{
		"roundrobin":        algo(config.BalanceRoundRobin),
		"leastconn":         algo(config.BalanceLeastConn),
		"first":             algo(config.BalanceFirst),
		"random":            {Balance: config.Balance{Algorithm: config.BalanceRandom, Draws: 2}},
		"source":            algo(config.BalanceSource),
		"uri/consistent":    {Balance: config.Balance{Algorithm: config.BalanceURI}, HashType: config.HashType{Method: config.HashConsistent}},
		"hdr/use_domain":    {Balance: config.Balance{Algorithm: config.BalanceHdr, Param: "host", UseDomainOnly: true}},
		"url_param/backups": {Balance: config.Balance{Algorithm: config.BalanceURLParam, Param: "u"}, AllBackups: true},
	}
	for name, px := range bals {
		t.Run(name, func(t *testing.T) {
			b := mk(t, px,
				config.Server{Name: "a", Weight: 1, MaxConn: 3},
				config.Server{Name: "b", Weight: 2, MaxConn: 3, SlowStart: 50 * time.Millisecond},
				config.Server{Name: "c", Weight: 3},
				config.Server{Name: "m", Weight: 5, Disabled: true},
				config.Server{Name: "bk", Weight: 1, Backup: true, MaxConn: 2},
			)
			m := b.Server("m")
			var stop atomic.Bool
			var wg sync.WaitGroup
			const workers = 8
			iters := 3000
			if testing.Short() {
				iters = 300
			}
			errs := make(chan error, workers)
			for g := range workers {
				wg.Go(func() {
					r := rand.New(rand.NewPCG(uint64(g), 9))
					var avoid *Server
					for i := range iters {
						req := &Request{
							Src:     randIPv4(r),
							URI:     fmt.Appendf(nil, "/x/%d?u=%d", r.IntN(50), r.IntN(50)),
							Headers: headers{"host": fmt.Sprintf("w%d.site%d.com", i%3, r.IntN(20))},
						}
						w := &waiter{name: "w", got: make(chan *Server, 1)}
						s, err := b.Acquire(reqOf(req), avoid, w)
						if err != nil {
							continue // nothing up, or queue full
						}
						if s == nil {
							select {
							case s = <-w.got:
							case <-time.After(time.Millisecond):
								if b.Cancel(w) {
									continue
								}
								s = <-w.got // granted meanwhile: it is ours
							}
						}
						if s == m {
							errs <- fmt.Errorf("picked %s, in maintenance all along", s.Name)
							return
						}
						avoid = nil
						if i%5 == 0 {
							avoid = s
						}
						b.Release(s)
					}
				})
			}
			var changer sync.WaitGroup
			changer.Go(func() {
				r := rand.New(rand.NewPCG(10, 11))
				servers := []*Server{b.Server("a"), b.Server("b"), b.Server("c"), b.Server("bk")}
				for !stop.Load() {
					s := servers[r.IntN(len(servers))]
					switch r.IntN(3) {
					case 0:
						s.SetWeight(r.IntN(4))
					case 1:
						s.SetUp(r.IntN(3) > 0)
					case 2:
						s.SetAdmin(Admin(r.IntN(3)))
					}
					time.Sleep(50 * time.Microsecond)
				}
				// Everything back in service, so no waiter is stranded.
				for _, s := range servers {
					s.SetWeight(1)
					s.SetUp(true)
					s.SetAdmin(Ready)
				}
			})
			wg.Wait()
			stop.Store(true)
			changer.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			for _, s := range b.Servers {
				if n := s.Counters.CurSessions.Load(); n != 0 {
					t.Errorf("%s: %d sessions left", s.Name, n)
				}
				if n := s.Counters.QueueCur.Load(); n != 0 {
					t.Errorf("%s: %d queued left", s.Name, n)
				}
			}
			if n := b.Counters.QueueCur.Load(); n != 0 {
				t.Errorf("backend: %d queued left", n)
			}
			if n := m.Counters.Selected.Load() + m.Counters.TotSessions.Load(); n != 0 {
				t.Errorf("server in maintenance all along was used %d times", n)
			}
		})
	}
}
