package balancer

import (
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/fjordlb/fjord/config"
)

// Admin is a server's administrative state, set by the runtime API or the
// stats page.
type Admin uint32

const (
	Ready Admin = iota // takes traffic when its checks say UP
	Drain              // no new connections; established ones finish
	Maint              // out of service
)

func (a Admin) String() string { return [...]string{"READY", "DRAIN", "MAINT"}[a] }

// Server is one backend server. Everything the event loops read is atomic.
type Server struct {
	Name    string
	ID      int // 1-based position in its backend, as HAProxy's sid
	Addr    netip.AddrPort
	Conf    *config.Server
	backend *Backend

	up     atomic.Bool   // operational state from health checks
	admin  atomic.Uint32 // Admin
	weight atomic.Int32  // configured weight, changeable at runtime
	// upSince is when the server last became eligible (unix ns), for
	// slowstart; 0 means it has been up since the start.
	upSince atomic.Int64

	Counters Counters
	queue    waitQueue // requests that must go to this server (hashing)
}

// Counters are per-server and per-backend totals for the stats page.
type Counters struct {
	CurSessions  atomic.Int64 // established or connecting now ("scur")
	MaxSessions  atomic.Int64 // "smax"
	TotSessions  atomic.Int64 // "stot"
	Selected     atomic.Int64 // chosen by the algorithm ("lbtot")
	BytesIn      atomic.Int64 // client to server ("bin")
	BytesOut     atomic.Int64 // server to client ("bout")
	ConnErrors   atomic.Int64 // "econ"
	Retries      atomic.Int64 // "wretr"
	Redispatches atomic.Int64 // "wredis"
	QueueCur     atomic.Int64 // "qcur"
	QueueMax     atomic.Int64 // "qmax"
	LastChange   atomic.Int64 // unix ns of the last state change ("lastchg")
	Downtime     atomic.Int64 // ns spent DOWN before the current state ("downtime")
	// HTTP responses by status class: 1xx..5xx, then anything else
	// ("hrsp_1xx" .. "hrsp_5xx", "hrsp_other").
	Responses  [6]atomic.Int64
	Requests   atomic.Int64 // HTTP requests ("req_tot")
	ReqErrors  atomic.Int64 // malformed or timed-out requests ("ereq")
	RespErrors atomic.Int64 // invalid, missing or truncated responses ("eresp")
}

// CountStatus accounts for an HTTP response status.
func (c *Counters) CountStatus(code int) {
	class := code/100 - 1
	if class < 0 || class > 4 {
		class = 5
	}
	c.Responses[class].Add(1)
}

// SessionStart accounts for a new session.
func (c *Counters) SessionStart() {
	cur := c.CurSessions.Add(1)
	c.TotSessions.Add(1)
	raise(&c.MaxSessions, cur)
}

// SessionEnd accounts for the end of a session started with SessionStart.
func (c *Counters) SessionEnd() { c.CurSessions.Add(-1) }

func raise(max *atomic.Int64, v int64) {
	for {
		m := max.Load()
		if v <= m || max.CompareAndSwap(m, v) {
			return
		}
	}
}

// Up reports whether health checks consider the server up.
func (s *Server) Up() bool { return s.up.Load() }

// Admin returns the administrative state.
func (s *Server) Admin() Admin { return Admin(s.admin.Load()) }

// Weight returns the configured (runtime) weight.
func (s *Server) Weight() int { return int(s.weight.Load()) }

// Eligible reports whether the server may receive new connections.
func (s *Server) Eligible() bool { return s.Up() && s.Admin() == Ready }

// SetUp changes the operational state (health checks call it). The change
// applies to the next connection.
func (s *Server) SetUp(up bool) {
	if s.up.Swap(up) == up {
		return
	}
	now := time.Now().UnixNano()
	if up {
		if last := s.Counters.LastChange.Load(); last > 0 {
			s.Counters.Downtime.Add(now - last)
		}
		s.upSince.Store(now)
	}
	s.Counters.LastChange.Store(now)
	s.backend.rebuild()
	if up {
		s.backend.drainQueues()
	}
}

// SetAdmin changes the administrative state (runtime API, stats page).
func (s *Server) SetAdmin(a Admin) {
	if Admin(s.admin.Swap(uint32(a))) == a {
		return
	}
	now := time.Now().UnixNano()
	if a == Ready {
		s.upSince.Store(now)
	}
	if last := s.Counters.LastChange.Load(); last > 0 && !s.Up() {
		// Down time goes on through administrative changes.
		s.Counters.Downtime.Add(now - last)
	}
	s.Counters.LastChange.Store(now)
	s.backend.rebuild()
	if a == Ready {
		s.backend.drainQueues()
	}
}

// SetWeight changes the weight (0-256) for the next connections.
func (s *Server) SetWeight(w int) {
	w = min(max(w, 0), 256)
	if int(s.weight.Swap(int32(w))) == w {
		return
	}
	s.backend.rebuild()
	s.backend.drainQueues()
}

// rampSteps is how many steps slowstart ramps a weight in. Table weights
// count in 1/rampSteps of a configured weight while a server ramps, so
// that a server of weight 1, the default, ramps too.
const rampSteps = 20

// effectiveWeight applies slowstart. It returns the weight in 1/rampSteps
// units of the configured weight: rampSteps*w outside slowstart, and from
// w (1/rampSteps of the full weight, never 0, so the server is tried) up
// to rampSteps*w in steps over the slowstart period.
func (s *Server) effectiveWeight(now int64) (w int, ramping bool) {
	w = s.Weight()
	ss := s.Conf.SlowStart
	since := s.upSince.Load()
	if ss <= 0 || since == 0 || w == 0 {
		return w * rampSteps, false
	}
	elapsed := time.Duration(now - since)
	if elapsed >= ss {
		return w * rampSteps, false
	}
	step := max(0, int(elapsed*rampSteps/ss)) // 0..rampSteps-1; 0 if the clock stepped back
	return w * (step + 1), true
}

// maxConn is the server's connection limit now (0: none). During slowstart
// it ramps like the weight. now is 0 when the caller knows that no server
// ramps (its table does not): the configured limit, without the clock.
func (s *Server) maxConn(now int64) int64 {
	mc := int64(s.Conf.MaxConn)
	if mc == 0 || now == 0 {
		return mc
	}
	ss := s.Conf.SlowStart
	since := s.upSince.Load()
	if ss <= 0 || since == 0 {
		return mc
	}
	elapsed := time.Duration(now - since)
	if elapsed >= ss {
		return mc
	}
	return max(1, mc*int64(elapsed)/int64(ss))
}

// tryTake claims a connection slot if the server is below its maxconn.
func (s *Server) tryTake(now int64) bool {
	mc := s.maxConn(now)
	if mc == 0 {
		s.Counters.SessionStart()
		return true
	}
	for {
		cur := s.Counters.CurSessions.Load()
		if cur >= mc {
			return false
		}
		if s.Counters.CurSessions.CompareAndSwap(cur, cur+1) {
			s.Counters.TotSessions.Add(1)
			raise(&s.Counters.MaxSessions, cur+1)
			return true
		}
	}
}
