package engine

import (
	"sync"
	"sync/atomic"
	"time"
)

// TLS counters, process-wide as HAProxy's "show info" has them.

// TLSStats is a snapshot of the engine's TLS counters. Rates are events
// over the last second, as HAProxy's frequency counters read them.
type TLSStats struct {
	Current    int64 // TLS sessions now, client and server side ("CurrSslConns")
	Cumulative int64 // TLS sessions established since start ("CumSslConns")

	Rate, MaxRate                       int64 // client-side sessions per second ("SslRate")
	FrontendKeyRate, FrontendMaxKeyRate int64 // full client handshakes per second
	FrontendReusePct                    int64 // share of client sessions resumed, last second
	BackendKeyRate, BackendMaxKeyRate   int64 // full server handshakes per second

	HandshakeFailures       int64 // client handshakes that failed (a fjord addition)
	ServerHandshakeFailures int64 // server handshakes that failed (a fjord addition)
	KernelSessions          int64 // sessions handed to the kernel's TLS since start (a fjord addition)
}

type tlsCounters struct {
	current, cumulative                 atomic.Int64
	failures, serverFailures            atomic.Int64
	kernel                              atomic.Int64 // sessions handed to kTLS
	sessions, frontendKeys, backendKeys rate
}

// rate counts events per second: the current second's count and the
// previous one's, read as HAProxy's read_freq_ctr does (the previous
// second weighted by how much of it the last second still covers).
type rate struct {
	mu        sync.Mutex
	sec       int64
	cur, prev int64
	max       int64
}

func (r *rate) rotate(now time.Time) {
	sec := now.Unix()
	switch {
	case sec == r.sec:
		return
	case sec == r.sec+1:
		r.prev = r.cur
	default:
		r.prev = 0
	}
	r.cur, r.sec = 0, sec
}

func (r *rate) add(now time.Time) {
	r.mu.Lock()
	r.rotate(now)
	r.cur++
	if v := r.readLocked(now); v > r.max {
		r.max = v
	}
	r.mu.Unlock()
}

func (r *rate) readLocked(now time.Time) int64 {
	left := 1 - float64(now.Nanosecond())/1e9
	return r.cur + int64(float64(r.prev)*left)
}

// read returns the rate over the last second and the highest seen.
func (r *rate) read(now time.Time) (v, max int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rotate(now)
	return r.readLocked(now), r.max
}

// TLSStats reads the engine's TLS counters.
func (e *Engine) TLSStats() TLSStats {
	c := &e.tlsCounters
	now := time.Now()
	st := TLSStats{
		Current:                 c.current.Load(),
		Cumulative:              c.cumulative.Load(),
		HandshakeFailures:       c.failures.Load(),
		ServerHandshakeFailures: c.serverFailures.Load(),
		KernelSessions:          c.kernel.Load(),
	}
	st.Rate, st.MaxRate = c.sessions.read(now)
	st.FrontendKeyRate, st.FrontendMaxKeyRate = c.frontendKeys.read(now)
	st.BackendKeyRate, st.BackendMaxKeyRate = c.backendKeys.read(now)
	if st.Rate > 0 {
		// HAProxy's formula: the sessions that needed no key
		// computation, over all of them.
		st.FrontendReusePct = max(0, 100-100*st.FrontendKeyRate/st.Rate)
	}
	return st
}

// handshakeDone counts a handshake that established a session, client
// side (frontend) or server side. It runs in the handshake's goroutine:
// the rates take a lock, which the event loops need not wait for. The
// session counts as current once its loop takes it (tlsConn.ended).
func (e *Engine) handshakeDone(frontend, resumed bool, now time.Time) {
	c := &e.tlsCounters
	c.cumulative.Add(1)
	switch {
	case frontend:
		c.sessions.add(now)
		if !resumed {
			c.frontendKeys.add(now)
		}
	case !resumed:
		c.backendKeys.add(now)
	}
}
