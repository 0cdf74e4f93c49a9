// Package balancer holds backends and their servers, chooses a server for
// each new connection with HAProxy's algorithms, queues connections when
// every server is at its maxconn, and keeps the counters the stats page and
// logs read. It knows nothing of sockets.
package balancer

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fjordlb/fjord/config"
)

// Errors of Acquire.
var (
	ErrNoServer  = errors.New("no server available")
	ErrQueueFull = errors.New("server queue full")
)

// Waiter is a connection waiting in a queue. Grant is called, from any
// goroutine and without blocking, when a slot on s was taken for it; the
// waiter now owns that slot and must Release it.
type Waiter interface {
	Grant(s *Server)
}

// Backend is a set of servers and the algorithm choosing among them.
type Backend struct {
	Name    string
	Conf    *config.Proxy
	Servers []*Server

	tbl  atomic.Pointer[table]
	rr   atomic.Uint64
	algo algorithm // the "balance" algorithm, picked once in New

	mu       sync.Mutex // table rebuilds and queues
	queue    waitQueue  // connections any server may take
	queued   atomic.Int64
	seq      uint64 // arrival order of queued connections
	lastRamp atomic.Int64

	Counters Counters
}

// New builds the backend of a configuration proxy. Servers start UP (health
// checks take them down) unless they are "disabled" (MAINT).
func New(px *config.Proxy) *Backend {
	b := &Backend{Name: px.Name, Conf: px, algo: newAlgorithm(px)}
	for i, sc := range px.Servers {
		s := &Server{Name: sc.Name, ID: i + 1, Addr: sc.Addr, Conf: sc, backend: b}
		s.up.Store(true)
		s.weight.Store(int32(sc.Weight))
		if sc.Disabled {
			s.admin.Store(uint32(Maint))
		}
		b.Servers = append(b.Servers, s)
	}
	b.rebuild()
	return b
}

// Server returns the server named name, or nil.
func (b *Backend) Server(name string) *Server {
	for _, s := range b.Servers {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Available reports how many servers may take new connections.
func (b *Backend) Available() int { return len(b.tbl.Load().servers) }

func (b *Backend) rebuild() {
	b.mu.Lock()
	b.tbl.Store(buildTable(b, b.tbl.Load(), time.Now().UnixNano()))
	b.mu.Unlock()
}

// current returns the table, refreshing it at most every 100 ms while a
// server ramps up in slowstart.
func (b *Backend) current() *table {
	t := b.tbl.Load()
	if !t.ramping {
		return t
	}
	now := time.Now().UnixNano()
	last := b.lastRamp.Load()
	if now-last > int64(100*time.Millisecond) && b.lastRamp.CompareAndSwap(last, now) {
		b.rebuild()
		t = b.tbl.Load()
	}
	return t
}

// Pick chooses a server and takes a connection slot on it. It never queues:
// when every candidate is full it returns ErrNoServer. avoid is skipped when
// another server is available (a retry leaving a failed server).
func (b *Backend) Pick(req Request, avoid *Server) (*Server, error) {
	s, _, err := b.acquire(req, avoid, nil)
	return s, err
}

// Acquire is Pick with queueing: when the chosen servers are all at their
// maxconn, w is queued and Acquire returns (nil, nil); w.Grant is called
// later with a slot taken, in arrival order, or the caller gives up with
// Cancel.
func (b *Backend) Acquire(req Request, avoid *Server, w Waiter) (*Server, error) {
	s, _, err := b.acquire(req, avoid, w)
	return s, err
}

func (b *Backend) acquire(req Request, avoid *Server, w Waiter) (*Server, bool, error) {
	t := b.current()
	n := len(t.servers)
	if n == 0 {
		return nil, false, ErrNoServer
	}
	// The time matters only to servers in slowstart. Reading the clock
	// costs as much as the rest of a pick: do it only while one ramps.
	var now int64
	if t.ramping {
		now = time.Now().UnixNano()
	}
	first, deterministic := b.algo.choose(b, t, req, avoid, now)
	if t.servers[first].tryTake(now) {
		return b.selected(t.servers[first]), false, nil
	}
	if deterministic {
		// A hashed request belongs to its server: wait for it there.
		return b.enqueue(t.servers[first], avoid, w)
	}
	if s := takeAny(t, first, avoid, now); s != nil {
		return b.selected(s), false, nil
	}
	return b.enqueue(nil, avoid, w)
}

// takeAny takes a slot on the first server of t that has one, in order
// after index from, and on avoid only when no other server has one.
func takeAny(t *table, from int, avoid *Server, now int64) *Server {
	n := len(t.servers)
	avoided := false
	for i := 1; i <= n; i++ {
		s := t.servers[(from+i)%n]
		if s == avoid {
			avoided = true
			continue
		}
		if s.tryTake(now) {
			return s
		}
	}
	if avoided && avoid.tryTake(now) {
		return avoid
	}
	return nil
}

func (b *Backend) selected(s *Server) *Server {
	s.Counters.Selected.Add(1)
	return s
}

// lessLoaded compares cur/weight of two table entries without division.
func lessLoaded(t *table, i, j int) bool {
	ci := t.servers[i].Counters.CurSessions.Load()
	cj := t.servers[j].Counters.CurSessions.Load()
	return ci*int64(t.weights[j]) < cj*int64(t.weights[i])
}

// enqueue queues w on server s (hashing) or on the backend, unless a slot
// freed meanwhile. It runs under the lock that Release takes to hand slots
// to waiters, and counts w in b.queued before it looks for a slot one last
// time: a Release that frees a slot after that look sees the count and
// dispatches after us; one that freed it before is seen by the look. The
// look uses the table current under the lock for the same reason: a server
// that came back before the look is in it; one that comes back after sees
// the count and dispatches to us.
func (b *Backend) enqueue(s *Server, avoid *Server, w Waiter) (*Server, bool, error) {
	if w == nil {
		return nil, false, ErrNoServer
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now().UnixNano()
	b.queued.Add(1)
	if s != nil {
		if s.tryTake(now) {
			b.queued.Add(-1)
			return b.selected(s), false, nil
		}
		if mq := s.Conf.MaxQueue; mq > 0 && s.queue.len() >= mq {
			b.queued.Add(-1)
			return nil, false, ErrQueueFull
		}
		b.seq++
		s.queue.push(w, b.seq)
		raise(&s.Counters.QueueMax, s.Counters.QueueCur.Add(1))
	} else {
		t := b.tbl.Load()
		if c := takeAny(t, len(t.servers)-1, avoid, now); c != nil {
			b.queued.Add(-1)
			return b.selected(c), false, nil
		}
		if limit := b.queueLimit(t); limit > 0 && b.queue.len() >= limit {
			b.queued.Add(-1)
			return nil, false, ErrQueueFull
		}
		b.seq++
		b.queue.push(w, b.seq)
	}
	raise(&b.Counters.QueueMax, b.Counters.QueueCur.Add(1))
	return nil, true, nil
}

// queueLimit bounds the backend queue by the servers' maxqueue when every
// server sets one (0: unbounded, "timeout queue" decides).
func (b *Backend) queueLimit(t *table) int {
	total := 0
	for _, s := range t.servers {
		if s.Conf.MaxQueue == 0 {
			return 0
		}
		total += s.Conf.MaxQueue
	}
	return total
}

// Release ends a session on s and hands the slot to the oldest waiter that
// may use it.
func (b *Backend) Release(s *Server) {
	s.Counters.SessionEnd()
	if b.queued.Load() == 0 {
		return
	}
	b.mu.Lock()
	b.dispatch(s)
	b.mu.Unlock()
}

// dispatch grants free slots of s to waiters, oldest first (the server's
// own queue and the backend's compete by arrival). Called with b.mu held.
func (b *Backend) dispatch(s *Server) {
	now := time.Now().UnixNano()
	// Only servers in the table serve the backend queue (not a backup
	// while an active server is up); any eligible one serves its own.
	shared := inTable(b.tbl.Load(), s)
	for s.Eligible() {
		own, ownSeq := s.queue.peek()
		any, anySeq := b.queue.peek()
		if !shared {
			any = nil
		}
		var q *waitQueue
		switch {
		case own != nil && (any == nil || ownSeq < anySeq):
			q = &s.queue
		case any != nil:
			q = &b.queue
		default:
			return
		}
		if !s.tryTake(now) {
			return
		}
		w := q.pop()
		if q == &s.queue {
			s.Counters.QueueCur.Add(-1)
		}
		b.queued.Add(-1)
		b.Counters.QueueCur.Add(-1)
		b.selected(s)
		w.Grant(s)
	}
}

func inTable(t *table, s *Server) bool {
	for _, c := range t.servers {
		if c == s {
			return true
		}
	}
	return false
}

// drainQueues hands slots of every server to waiters, after a server came
// back or a limit rose.
func (b *Backend) drainQueues() {
	if b.queued.Load() == 0 {
		return
	}
	b.mu.Lock()
	for _, s := range b.Servers {
		b.dispatch(s)
	}
	b.mu.Unlock()
}

// Cancel removes w from the queues (queue timeout, client gone). It reports
// false when w was already granted a slot: the caller then owns that slot.
func (b *Backend) Cancel(w Waiter) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.queue.remove(w) {
		b.queued.Add(-1)
		b.Counters.QueueCur.Add(-1)
		return true
	}
	for _, s := range b.Servers {
		if s.queue.remove(w) {
			s.Counters.QueueCur.Add(-1)
			b.queued.Add(-1)
			b.Counters.QueueCur.Add(-1)
			return true
		}
	}
	return false
}

// waitQueue is a FIFO of waiters with their arrival numbers.
type waitQueue struct {
	items []queued
}

type queued struct {
	w   Waiter
	seq uint64
}

func (q *waitQueue) len() int { return len(q.items) }

func (q *waitQueue) push(w Waiter, seq uint64) { q.items = append(q.items, queued{w, seq}) }

func (q *waitQueue) peek() (Waiter, uint64) {
	if len(q.items) == 0 {
		return nil, 0
	}
	return q.items[0].w, q.items[0].seq
}

func (q *waitQueue) pop() Waiter {
	w := q.items[0].w
	q.items[0] = queued{}
	q.items = q.items[1:]
	return w
}

func (q *waitQueue) remove(w Waiter) bool {
	for i, it := range q.items {
		if it.w == w {
			q.items = append(q.items[:i], q.items[i+1:]...)
			return true
		}
	}
	return false
}
