// Package health runs fjord's active health checks (layer 4 and layer 7)
// and passive ones (observe), and drives the servers' UP/DOWN state in the
// balancer. Checks run in their own goroutines, one per checked server,
// never on the event loops; the loops only report traffic outcomes to
// Observe, which never blocks.
package health

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fjordlb/fjord/balancer"
	"github.com/fjordlb/fjord/config"
)

// Logger receives the transition messages, in HAProxy's words.
type Logger interface {
	Printf(format string, args ...any)
}

// EventLogger is a Logger that also takes a message's syslog severity and
// the backend it concerns. When the Logger given to New is one, server
// state changes go through Event as HAProxy logs them: UP at notice, DOWN
// at alert, a backend left without servers at emerg.
type EventLogger interface {
	Logger
	Event(level int, proxy, msg string)
}

// Syslog severities of the events.
const (
	levelEmerg  = 0
	levelAlert  = 1
	levelNotice = 5
)

// Monitor checks every server with "check" in a configuration.
type Monitor struct {
	checks   []*serverCheck
	byServer map[*balancer.Server]*serverCheck
	logger   Logger

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// serverCheck is the health state of one server.
type serverCheck struct {
	m     *Monitor
	be    *balancer.Backend
	srv   *balancer.Server
	probe *probe
	iv    intervals

	mu     sync.Mutex
	t      tracker
	last   Result
	fast   bool  // on-error fastinter: check at fastinter once
	failed int64 // failed checks ("chkfail")
	downs  int64 // UP to DOWN transitions ("chkdown")

	// Passive checks ("observe"): consecutive errors of real traffic.
	observe7   bool
	errorLimit int64
	onError    config.OnErrorAction
	errors     atomic.Int64
	passive    chan struct{}
}

// New prepares the checks of cfg's backends, whose balancer backends are
// given by name. Nothing runs until Start.
//
// checkTLS gives the TLS configuration of the checks of a server whose
// checks speak TLS (its ServerTLS.Checks: 'check-ssl', or 'ssl' with
// checks on its own address and port), with verification, client
// certificate, ServerName (check-sni, else the sni text) and NextProtos
// (check-alpn) already set: health reads no files. It is called only
// for those servers, and New fails when it gives none for one (or is
// nil) rather than check a TLS port in plaintext.
func New(cfg *config.Config, backends map[string]*balancer.Backend, logger Logger, checkTLS func(*config.Server) *tls.Config) (*Monitor, error) {
	m := &Monitor{byServer: map[*balancer.Server]*serverCheck{}, logger: logger}
	for _, px := range cfg.Backends() {
		b := backends[px.Name]
		if b == nil {
			return nil, fmt.Errorf("%s: no balancer", px)
		}
		for _, s := range b.Servers {
			sc := s.Conf
			if !sc.Check { // config validation requires check for observe
				continue
			}
			c := &serverCheck{m: m, be: b, srv: s, passive: make(chan struct{}, 1)}
			c.t = newTracker(sc.Rise, sc.Fall)
			c.last = Result{Status: StatusInit}
			inter := sc.Inter
			if inter <= 0 {
				inter = 2 * time.Second
			}
			c.iv = intervals{inter: inter, fast: inter, down: inter}
			if sc.FastInter > 0 {
				c.iv.fast = sc.FastInter
			}
			if sc.DownInter > 0 {
				c.iv.down = sc.DownInter
			}
			var tc *tls.Config
			if sc.TLS != nil && sc.TLS.Checks {
				if checkTLS != nil {
					tc = checkTLS(sc)
				}
				if tc == nil {
					return nil, fmt.Errorf("%s: server '%s': its checks speak TLS, but no TLS configuration was given for them", px, s.Name)
				}
			}
			network, addr := checkAddr(s)
			c.probe = newProbe(px, sc, network, addr, tc)
			if sc.Observe != config.ObserveNone {
				c.observe7 = sc.Observe == config.ObserveLayer7
				c.errorLimit = int64(sc.ErrorLimit)
				if c.errorLimit <= 0 {
					c.errorLimit = 10 // HAProxy's default error-limit
				}
				c.onError = sc.OnError // its zero value is fail-check, the default
			}
			m.checks = append(m.checks, c)
			m.byServer[s] = c
		}
	}
	return m, nil
}

// checkAddr is where a server's checks connect: its address with the
// "addr" and "port" overrides applied, on network "tcp", or the socket of
// a server on a Unix socket, on network "unix" (config refuses "addr"
// and "port" there).
func checkAddr(s *balancer.Server) (network, addr string) {
	if u := s.Conf.Unix; u.IsValid() {
		return "unix", u.SockName()
	}
	ip, port := s.Addr.Addr(), int(s.Addr.Port())
	if a := s.Conf.CheckAddr; a.IsValid() {
		ip = a
	}
	if p := s.Conf.CheckPort; p > 0 {
		port = p
	}
	return "tcp", net.JoinHostPort(ip.Unmap().String(), strconv.Itoa(port))
}

// Start launches the checks. The first check of each server is spread
// over its interval so that a hundred servers are not probed at once.
func (m *Monitor) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	n := len(m.checks)
	for i, c := range m.checks {
		first := time.Duration(int64(c.iv.inter) * int64(i) / int64(max(n, 1)))
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			c.run(ctx, first)
		}()
	}
}

// Stop ends every check and waits for them.
func (m *Monitor) Stop() {
	if m.cancel != nil {
		m.cancel()
	}
	m.wg.Wait()
}

func (c *serverCheck) run(ctx context.Context, first time.Duration) {
	timer := time.NewTimer(first)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.passive:
			c.applyOnError()
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
			timer.Reset(c.next())
			continue
		case <-timer.C:
		}
		r := c.probe.run(ctx)
		if ctx.Err() != nil {
			return
		}
		c.record(r)
		timer.Reset(c.next())
	}
}

func (c *serverCheck) next() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fast {
		c.fast = false
		return c.iv.fast
	}
	return c.iv.next(&c.t)
}

// record applies a check result and logs a transition.
func (c *serverCheck) record(r Result) {
	c.mu.Lock()
	c.last = r
	var wentUp, wentDown bool
	if r.OK() {
		wentUp = c.t.success()
	} else {
		c.failed++
		wentDown = c.t.failure()
	}
	if wentDown {
		c.downs++
	}
	c.mu.Unlock()
	switch {
	case wentUp:
		c.setUp(true, r.describe())
	case wentDown:
		c.setUp(false, r.describe())
	}
}

// setUp changes the server's state in the balancer and says so as
// HAProxy does.
func (c *serverCheck) setUp(up bool, why string) {
	c.srv.SetUp(up)
	active, backup := c.online()
	name := c.be.Name + "/" + c.srv.Name
	if up {
		c.m.event(levelNotice, c.be.Name, "Server %s is UP, %s. %d active and %d backup servers online. 0 sessions requeued, %d total in queue.",
			name, why, active, backup, c.be.Counters.QueueCur.Load())
		return
	}
	c.m.event(levelAlert, c.be.Name, "Server %s is DOWN, %s. %d active and %d backup servers left. %d sessions active, 0 requeued, %d remaining in queue.",
		name, why, active, backup, c.srv.Counters.CurSessions.Load(), c.srv.Counters.QueueCur.Load())
	if active == 0 && backup == 0 {
		c.m.event(levelEmerg, c.be.Name, "backend %s has no server available!", c.be.Name)
	}
}

// online counts the backend's servers that take traffic.
func (c *serverCheck) online() (active, backup int) {
	for _, s := range c.be.Servers {
		if !s.Eligible() {
			continue
		}
		if s.Conf.Backup {
			backup++
		} else {
			active++
		}
	}
	return active, backup
}

// event logs a state change at its severity when the logger takes one.
func (m *Monitor) event(level int, backend, format string, args ...any) {
	if el, ok := m.logger.(EventLogger); ok {
		el.Event(level, backend, fmt.Sprintf(format, args...))
		return
	}
	m.logf(format, args...)
}

func (m *Monitor) logf(format string, args ...any) {
	if m.logger != nil {
		m.logger.Printf(format, args...)
	}
}

// ServerStatus is what the stats page shows of a server's checks.
type ServerStatus struct {
	Last       Result
	Health     int // HAProxy's check health counter, 0..Rise+Fall-1
	Rise, Fall int
	Up         bool
	Layer7     bool
	Failed     int64 // failed checks
	Downs      int64 // UP to DOWN transitions
}

// Status reports srv's check state, or false when it is not checked.
func (m *Monitor) Status(srv *balancer.Server) (ServerStatus, bool) {
	c := m.byServer[srv]
	if c == nil {
		return ServerStatus{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return ServerStatus{
		Last: c.last, Health: c.t.health, Rise: c.t.rise, Fall: c.t.fall, Up: c.t.up,
		Layer7: c.probe.layer7, Failed: c.failed, Downs: c.downs,
	}, true
}
