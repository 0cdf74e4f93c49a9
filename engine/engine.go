// Package engine is fjord's data path: per-CPU epoll loops that accept
// connections, choose a server and forward bytes with splice(2).
//
// It never imports the stats, health or logging implementations; they are
// wired by cmd/fjord through small interfaces.
package engine

import (
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"sync"

	"github.com/fjordlb/fjord/balancer"
	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/engine/h1"
)

// Logger receives the engine's operational messages. cmd/fjord connects it
// to the configured log targets.
type Logger interface {
	Printf(format string, args ...any)
}

// Options are the engine's dependencies.
type Options struct {
	Logger Logger // nil discards messages
	// Backends are the balancer backends by name; nil means the engine
	// builds its own from the configuration.
	Backends map[string]*balancer.Backend
	// Intercept, when set, sees every routed HTTP request head (backend
	// is "" when no rule chose one) before it goes to a server. A non-nil
	// result takes the client connection: it runs in its own goroutine,
	// off the event loop, and reads the request (still unread in the
	// socket) itself. The stats page and the runtime API hook in here.
	Intercept func(frontend, backend string, req *h1.Request) func(net.Conn)
	// Observer, when set, hears what traffic saw of servers with
	// "observe" (passive health checks).
	Observer Observer
	// AccessLog, when set, gives each frontend or listen section the
	// sink of its access records, or nil when it logs no traffic.
	AccessLog func(frontend *config.Proxy) AccessLog
}

// Observer receives traffic outcomes for passive health checks. It is
// called on the event loops and must not block.
type Observer interface {
	ConnectResult(srv *balancer.Server, ok bool)
	HTTPResult(srv *balancer.Server, status int) // 0: no valid response
}

// Engine runs the loops of one configuration.
type Engine struct {
	cfg       *config.Config
	logger    Logger
	intercept func(frontend, backend string, req *h1.Request) func(net.Conn)
	observer  Observer

	loops     []*loop
	frontends []*frontend
	backends  map[string]*balancer.Backend
	global    limiter

	pipeSize, bulkPipeSize, pipePoolMax, bufSize, maxPollEvents int

	addrsMu sync.Mutex
	addrs   map[*config.Bind]netip.AddrPort

	stopOnce sync.Once
}

// New prepares an engine for cfg. Nothing is bound until Start.
func New(cfg *config.Config, opts Options) (*Engine, error) {
	g := &cfg.Global
	e := &Engine{
		cfg:           cfg,
		logger:        opts.Logger,
		intercept:     opts.Intercept,
		observer:      opts.Observer,
		backends:      opts.Backends,
		pipeSize:      g.TunePipeSize,
		bulkPipeSize:  g.TuneBulkPipeSize,
		bufSize:       g.TuneBufSize,
		maxPollEvents: g.TuneMaxPollEvents,
		addrs:         map[*config.Bind]netip.AddrPort{},
	}
	e.global.max = int64(g.MaxConn)
	// Keep enough pipes for the sessions that are moving bulk data at once;
	// beyond that a pipe is closed when it empties.
	e.pipePoolMax = max(16, g.MaxConn/4/max(1, e.nbLoops()))
	if e.backends == nil {
		e.backends = map[string]*balancer.Backend{}
		for _, px := range cfg.Backends() {
			e.backends[px.Name] = balancer.New(px)
		}
	}
	views := make(map[string]*backend, len(e.backends))
	for name, b := range e.backends {
		views[name] = newBackend(b)
	}
	for _, px := range cfg.Frontends() {
		fe := &frontend{conf: px}
		fe.limit.max = int64(px.MaxConn)
		if fe.limit.max == 0 {
			fe.limit.max = int64(g.MaxConn)
		}
		r, err := newRouter(px, views)
		if err != nil {
			return nil, err
		}
		fe.route = r
		if opts.AccessLog != nil {
			fe.log, fe.logKind = opts.AccessLog(px), logKindOf(px)
		}
		e.frontends = append(e.frontends, fe)
	}
	return e, nil
}

func (e *Engine) nbLoops() int {
	if n := e.cfg.Global.NbThread; n > 0 {
		return n
	}
	return runtime.GOMAXPROCS(0)
}

func (e *Engine) logf(format string, args ...any) {
	if e.logger != nil {
		e.logger.Printf(format, args...)
	}
}

// Start binds every listener on every loop and starts the loops. On error
// nothing is left open.
func (e *Engine) Start() error {
	for i := 0; i < e.nbLoops(); i++ {
		l, err := newLoop(e, i)
		if err != nil {
			e.closeLoops()
			return fmt.Errorf("event loop %d: %w", i, err)
		}
		e.loops = append(e.loops, l)
	}
	for _, fe := range e.frontends {
		for _, b := range fe.conf.Binds {
			if err := e.bind(fe, b); err != nil {
				e.closeLoops()
				return err
			}
		}
	}
	for _, l := range e.loops {
		go l.run()
	}
	return nil
}

// bind opens one SO_REUSEPORT socket per loop for b. A port 0 bind takes
// the port the first socket got, so that every loop shares it.
func (e *Engine) bind(fe *frontend, b *config.Bind) error {
	addr := b.Addr
	backlog := b.Backlog
	if backlog == 0 {
		backlog = int(fe.limit.max)
	}
	for _, l := range e.loops {
		fd, got, err := listen(addr, b, backlog)
		if err != nil {
			return fmt.Errorf("%s '%s': cannot bind %s (%s): %w", fe.conf.Section, fe.conf.Name, addr, b.Pos, err)
		}
		addr = got
		ln := &listener{l: l, fe: fe, bind: b, addr: got, fd: fd}
		if err := l.register(fd, ln); err != nil {
			ln.close()
			l.flushCloses()
			return fmt.Errorf("%s '%s': register %s: %w", fe.conf.Section, fe.conf.Name, addr, err)
		}
		l.listeners = append(l.listeners, ln)
	}
	e.addrsMu.Lock()
	e.addrs[b] = addr
	e.addrsMu.Unlock()
	return nil
}

func (e *Engine) closeLoops() {
	for _, l := range e.loops {
		for _, ln := range l.listeners {
			ln.close()
		}
		l.flushCloses()
		l.closeFDs()
	}
	e.loops = nil
}

// Addr returns the address a bind line is listening on (useful when the
// configuration asked for port 0).
func (e *Engine) Addr(b *config.Bind) netip.AddrPort {
	e.addrsMu.Lock()
	defer e.addrsMu.Unlock()
	return e.addrs[b]
}

// Backend returns the balancer backend named name.
func (e *Engine) Backend(name string) *balancer.Backend { return e.backends[name] }

// FrontendCounters returns the counters of the frontend or listen section
// named name, or nil.
func (e *Engine) FrontendCounters(name string) *balancer.Counters {
	for _, fe := range e.frontends {
		if fe.conf.Name == name {
			return &fe.counters
		}
	}
	return nil
}

// Stop closes the listeners and every session, and waits for the loops.
func (e *Engine) Stop() {
	e.stopOnce.Do(func() {
		for _, l := range e.loops {
			l.stopping.Store(true)
			l.wake()
		}
		for _, l := range e.loops {
			<-l.done
		}
	})
}

// Stats are the engine's resource counters.
type Stats struct {
	Sessions    int64 // sessions admitted and not yet closed
	PipesInUse  int64 // pipes holding bytes in flight
	PipesPooled int64 // empty pipes kept for reuse
	PipesGrown  int64 // of those in use or pooled, pipes grown for bulk flows
}

// Stats reads the counters; safe from any goroutine.
func (e *Engine) Stats() Stats {
	st := Stats{Sessions: e.global.cur.Load()}
	for _, l := range e.loops {
		st.PipesInUse += l.pipes.inUse.Load()
		st.PipesPooled += l.pipes.pooled.Load()
		st.PipesGrown += l.pipes.grown.Load()
	}
	return st
}

// router chooses the backend of a new tcp connection.
type router struct {
	rules []routeRule
	def   *backend
}

type routeRule struct {
	cond *config.Condition
	be   *backend
}

func newRouter(px *config.Proxy, backends map[string]*backend) (router, error) {
	var r router
	for _, ub := range px.UseBackends {
		be := backends[ub.Backend]
		if be == nil {
			return r, fmt.Errorf("%s '%s': no backend '%s'", px.Section, px.Name, ub.Backend)
		}
		r.rules = append(r.rules, routeRule{cond: ub.Cond, be: be})
	}
	switch {
	case px.DefaultBackend != "":
		r.def = backends[px.DefaultBackend]
		if r.def == nil {
			return r, fmt.Errorf("%s '%s': no backend '%s'", px.Section, px.Name, px.DefaultBackend)
		}
	case px.Caps&config.CapBackend != 0:
		r.def = backends[px.Name] // a listen section is its own backend
	}
	return r, nil
}

// backend is the first use_backend whose condition holds, or the default.
// req is nil in tcp mode, where conditions use only the source address.
func (r *router) backend(src netip.AddrPort, req *h1.Request) *backend {
	for _, rule := range r.rules {
		if rule.cond == nil || evalCondition(rule.cond, src.Addr(), req) {
			return rule.be
		}
	}
	return r.def
}
