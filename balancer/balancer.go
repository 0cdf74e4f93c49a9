// Package balancer holds backends and their servers, chooses a server for
// each new connection, and keeps the per-server counters the stats page and
// logs read. It knows nothing of sockets.
package balancer

import (
	"net/netip"
	"sync/atomic"

	"github.com/fjordlb/fjord/config"
)

// Server is one backend server as the balancer sees it. Counters are
// atomics: every event loop updates them without a lock.
type Server struct {
	Name string
	Addr netip.AddrPort
	Conf *config.Server

	up atomic.Bool

	Counters Counters
}

// Counters are per-server (and per-backend) totals.
type Counters struct {
	CurSessions  atomic.Int64 // established or connecting now
	MaxSessions  atomic.Int64
	TotSessions  atomic.Int64 // every session ever sent here ("stot")
	Selected     atomic.Int64 // times chosen by the algorithm ("lbtot")
	BytesIn      atomic.Int64 // client to server
	BytesOut     atomic.Int64 // server to client
	ConnErrors   atomic.Int64 // failed connection attempts ("econ")
	Retries      atomic.Int64 // "wretr"
	Redispatches atomic.Int64 // "wredis"
}

// SessionStart accounts for a new session on the server.
func (c *Counters) SessionStart() {
	cur := c.CurSessions.Add(1)
	c.TotSessions.Add(1)
	for {
		max := c.MaxSessions.Load()
		if cur <= max || c.MaxSessions.CompareAndSwap(max, cur) {
			return
		}
	}
}

// SessionEnd accounts for the end of a session started with SessionStart.
func (c *Counters) SessionEnd() { c.CurSessions.Add(-1) }

// Up reports whether the server may receive new connections.
func (s *Server) Up() bool { return s.up.Load() }

// SetUp changes the server's availability; health checks and the runtime
// API call it. It takes effect for the next connection.
func (s *Server) SetUp(up bool) { s.up.Store(up) }

// Backend is a set of servers and the algorithm choosing among them.
type Backend struct {
	Name    string
	Conf    *config.Proxy
	Servers []*Server

	rr       atomic.Uint64
	Counters Counters
}

// New builds the backend of a configuration proxy. Servers start UP unless
// they are "disabled".
func New(px *config.Proxy) *Backend {
	b := &Backend{Name: px.Name, Conf: px}
	for _, sc := range px.Servers {
		s := &Server{Name: sc.Name, Addr: sc.Addr, Conf: sc}
		s.up.Store(!sc.Disabled)
		b.Servers = append(b.Servers, s)
	}
	return b
}

// Pick chooses a server for a new connection by round robin, skipping
// servers that are down and avoid (the server a retry is leaving, for
// redispatch). It returns nil when no server is available. Safe for
// concurrent use from every event loop.
func (b *Backend) Pick(avoid *Server) *Server {
	n := uint64(len(b.Servers))
	if n == 0 {
		return nil
	}
	var fallback *Server
	for i := uint64(0); i < n; i++ {
		// Each skipped server consumes a turn, so that the servers left
		// share the load evenly instead of the next one taking it twice.
		s := b.Servers[(b.rr.Add(1)-1)%n]
		if !s.Up() || s.Conf.Backup || s.Conf.Weight == 0 {
			continue
		}
		if s == avoid {
			fallback = s
			continue
		}
		s.Counters.Selected.Add(1)
		return s
	}
	if fallback != nil {
		fallback.Counters.Selected.Add(1)
	}
	return fallback
}
