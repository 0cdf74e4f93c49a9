// Package engine is fjord's data path: per-CPU epoll loops that accept
// connections, choose a server and forward bytes with splice(2).
//
// It never imports the stats, health or logging implementations; they are
// wired by cmd/fjord through small interfaces.
package engine

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fjordlb/fjord/balancer"
	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/engine/h1"
	"github.com/fjordlb/fjord/engine/sockmap"
	"github.com/fjordlb/fjord/rules"
	"github.com/fjordlb/fjord/tls/handshake"
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
	// is "" when no rule chose one) before it goes to a server, and may
	// claim the request for fjord to answer itself (see Local). The stats
	// page hooks in here. When the frontend has "redirect" rules it is
	// asked first with backend "", before they are tried, so that the
	// frontend's own page comes before them, as in HAProxy; it is then
	// asked again, once routed, if it claimed nothing. A backend's
	// redirect rules come after it.
	Intercept func(frontend, backend string, req *h1.Request) Local
	// Observer, when set, hears what traffic saw of servers with
	// "observe" (passive health checks).
	Observer Observer
	// AccessLog, when set, gives each frontend or listen section the
	// sink of its access records, or nil when it logs no traffic.
	AccessLog func(frontend *config.Proxy) AccessLog
	// UniqueID, when set, gives each frontend with "unique-id-format"
	// the renderer of its ids. Without it such a frontend makes none.
	UniqueID func(frontend *config.Proxy) UniqueID
	// Inherited are listening sockets handed over by the process this
	// one replaces (a reload), by the address they are bound to. A bind
	// on such an address adopts all of its sockets instead of binding, so
	// that connections waiting in their queues are accepted here; it binds
	// more only if it has more loops than sockets. The engine owns these
	// descriptors from New on, and Listen closes the ones no bind took.
	Inherited map[netip.AddrPort][]int
	// InheritedFD are the sockets of "bind fd@N" lines, by N: the
	// descriptors of this process that hold socket N. That is N itself
	// in a process started with it (systemd, VTest), or the duplicates
	// a reload handed over. An fd@N bind cannot bind anything else, so
	// one that finds no socket here, or not a listening one, fails. The
	// engine owns these descriptors from New on, as Inherited.
	InheritedFD map[int][]int
	// InheritedUnix are the listening sockets of Unix binds handed over
	// by the process this one replaces, by the socket they serve: a
	// Unix bind adopts them instead of binding its path again, so that
	// the old process's socket, and the connections waiting in it, go
	// on being served. The engine owns them from New on, as Inherited.
	InheritedUnix map[config.UnixAddr][]int
	// TLS are the handshake configurations of the binds that terminate
	// TLS ("bind ... ssl"), which cmd/fjord builds from the
	// certificates; a bind not in the map serves plain TCP.
	TLS map[*config.Bind]*handshake.ServerConfig
	// Handshakes runs the TLS handshakes; nil: a pool that computes on
	// one CPU less than there are loops (at least one), so that a flood
	// of handshakes leaves a CPU to established sessions.
	Handshakes *handshake.Pool
	// ServerTLS says how to speak TLS to each server with "ssl".
	ServerTLS map[*config.Server]*ServerTLS
	// MaxRecord limits the plaintext of each TLS record fjord sends
	// ('tune.ssl.maxrecord'); 0: 16 KiB, TLS's most.
	MaxRecord int
	// KernelTLS hands each established TLS session to the kernel (kTLS)
	// when the kernel has a cipher for it, so that its plaintext is
	// spliced like a plain socket's; the caller sets it only where
	// ktls.Probe found kTLS ('tune.ssl.ktls'). A session the kernel
	// cannot take stays in the user-space record layer.
	KernelTLS bool
}

// ServerTLS is how the engine speaks TLS to a server.
type ServerTLS struct {
	// Config verifies the server, offers a client certificate and ALPN,
	// and names the server (ServerName) unless SNIFromHost says how. It
	// must allow only what the record layer carries.
	Config *tls.Config
	// SNIFromHost names the server by the request's Host, without its
	// port ("sni req.hdr(host)"), in http mode.
	SNIFromHost bool
}

// Local is fjord's own answer to a request that Intercept claimed. The
// zero value claims nothing: the request goes to its backend.
type Local struct {
	// Reply is a complete response decided on the head alone, such as a
	// 401 for a page that needs credentials the head does not carry. The
	// loop writes it as any answer of its own (through the
	// http-after-response rules), then keeps the connection when the
	// request came whole, and otherwise closes it without reading the
	// rest, so a client that announces a body and never sends it holds
	// nothing. A Connection field in it gets the value the connection
	// calls for, and "Connection: close" closes. Status is its status
	// code, for counters and logs.
	Reply  []byte
	Status int
	// Authenticate, with a 401 Reply, is the WWW-Authenticate value the
	// answer carries (a stats page's challenge). When the proxy has an
	// error page for 401 ("errorfile 401"), the loop sends that page
	// instead of Reply, with this field in place of the page's own, as
	// HAProxy answers "stats auth".
	Authenticate []byte
	// Serve takes the client connection, with the request still unread
	// in it, in a goroutine of its own off the event loop. The
	// connection keeps its place under the global and the frontend's
	// maxconn until Serve returns. What Serve writes goes through the
	// http-after-response rules, the head of its answer held until it
	// is whole.
	Serve func(net.Conn)
}

func (a Local) claimed() bool { return a.Reply != nil || a.Serve != nil }

// Observer receives traffic outcomes for passive health checks. It is
// called on the event loops and must not block.
type Observer interface {
	ConnectResult(srv *balancer.Server, ok bool)
	HTTPResult(srv *balancer.Server, status int) // 0: no valid response
}

// Engine runs the loops of one configuration.
type Engine struct {
	cfg *config.Config
	// usesVars: some proxy's rules set variables, which sessions then
	// keep from a request to its response.
	usesVars bool
	// keepLine: some expression reads capture.req.*, so every HTTP
	// session keeps its request line as the access log does.
	keepLine  bool
	logger    Logger
	intercept func(frontend, backend string, req *h1.Request) Local
	observer  Observer

	loops     []*loop
	frontends []*frontend
	backends  map[string]*balancer.Backend
	global    limiter
	// requests numbers HTTP requests and tcp connections for %rt.
	requests atomic.Uint64

	pipeSize, bulkPipeSize, pipePoolMax, bufSize, maxPollEvents int
	schedBatch                                                  bool // tune.sched-batch
	// recvLimit is tune.bufsize less tune.maxrewrite: what a message's
	// head and the body bytes that come with it count up to, as
	// HAProxy's first reads fill its buffer (rewriteRoom).
	recvLimit int

	tls         map[*config.Bind]*handshake.ServerConfig
	serverTLS   map[*config.Server]*ServerTLS
	maxRecord   int
	kernelTLS   bool
	handshakes  *handshake.Pool
	tlsCounters tlsCounters
	// kernelFallbackLogged: a session the kernel did not take was
	// logged (once: the reason is the same for the next ones).
	kernelFallbackLogged atomic.Bool

	// km forwards mode tcp sessions in the kernel ('tune.sockmap';
	// kernel.go), nil where the loops do; kmStatus says which and why.
	// kmOwners is the session of each of its slots, set by the loop that
	// holds the slot; atomic because a doorbell of a pair one loop closed
	// can still be in its ring when another loop has taken the slot, and
	// the first loop then reads the slot (and finds a session not its own).
	km              *sockmap.Forwarder
	kmStatus        string
	kmOwners        []atomic.Pointer[session]
	kmSessions      atomic.Int64 // sessions in the kernel now
	kmHandovers     atomic.Int64 // sessions handed to the kernel, ever
	kmKeeping       atomic.Int64 // their directions whose bytes the loops move now
	kmRefusedLogged atomic.Bool

	inherited     map[netip.AddrPort][]int // not yet adopted; only Listen touches it
	inheritedFD   map[int][]int            // the same for fd@N binds
	inheritedUnix map[config.UnixAddr][]int

	starved atomic.Int32 // listeners paused for want of descriptors

	acceptReport struct { // acceptFailed's rate limit, across the loops
		mu         sync.Mutex
		last       time.Time
		suppressed int
	}

	addrsMu     sync.Mutex
	addrs       map[*config.Bind]netip.AddrPort
	listening   []ListenerFile // every listening socket (File nil: the engine's own fd)
	softStopped bool           // listeners are closing: none may be handed over

	stopOnce  sync.Once
	serveOnce sync.Once
	serving   atomic.Bool // Serve started the loops
	softOnce  sync.Once
	drained   chan struct{}
}

// New prepares an engine for cfg. Nothing is bound until Listen (or Start).
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
		schedBatch:    g.TuneSchedBatch,
		bufSize:       g.TuneBufSize,
		recvLimit:     g.TuneBufSize - g.MaxRewrite(),
		maxPollEvents: g.TuneMaxPollEvents,
		addrs:         map[*config.Bind]netip.AddrPort{},
		inherited:     opts.Inherited,
		inheritedFD:   opts.InheritedFD,
		inheritedUnix: opts.InheritedUnix,
		tls:           opts.TLS,
		serverTLS:     opts.ServerTLS,
		maxRecord:     opts.MaxRecord,
		kernelTLS:     opts.KernelTLS,
		handshakes:    opts.Handshakes,
		drained:       make(chan struct{}),
	}
	km, status, err := loadKernel(cfg, e.nbLoops())
	if err != nil {
		return nil, err
	}
	e.km, e.kmStatus = km, status
	if km != nil {
		e.kmOwners = make([]atomic.Pointer[session], min(g.MaxConn, maxKernelPairs))
	}
	if e.handshakes == nil && len(e.tls)+len(e.serverTLS) > 0 {
		e.handshakes = handshake.NewPool(e.nbLoops() - 1)
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
	e.keepLine = cfg.SampleReads&config.ReadsCapture != 0
	cp := rules.NewCompiler()
	rules.InitProcVars(cfg.Global.SetVars)
	// Proxies are numbered in file order, as HAProxy numbers them when
	// no "id" is set (fjord has no "id" keyword).
	ids := make(map[*config.Proxy]int, len(cfg.Proxies))
	for i, px := range cfg.Proxies {
		ids[px] = i + 1
	}
	views := make(map[string]*backend, len(e.backends))
	for name, b := range e.backends {
		v := newBackend(b, cp)
		v.id = ids[b.Conf]
		for _, sv := range b.Conf.Servers {
			if st := e.serverTLS[sv]; st != nil && st.SNIFromHost {
				v.sniFromHost = true
			}
		}
		views[name] = v
		e.usesVars = e.usesVars || v.rules != nil && v.rules.vars || usesVars(v.tcpContent) || usesVars(v.tcpResponse)
	}
	for _, px := range cfg.Frontends() {
		fe := &frontend{conf: px, id: ids[px], redirects: newRedirects(px.Redirects, cp), needsHello: needsHello(px), needsPayload: inspects(px, true),
			tcpConnection: newTCPRules(px.TCPConnection, cp), tcpSession: newTCPRules(px.TCPSession, cp),
			tcpContent: newTCPRules(px.TCPContent, cp), pages: newErrorPages(px, &builtinPages, cp),
			monitorFail: compileMonitorFail(px, cp)}
		e.usesVars = e.usesVars || usesVars(fe.tcpConnection) || usesVars(fe.tcpSession) || usesVars(fe.tcpContent)
		if px.Caps&config.CapBackend != 0 {
			fe.rules = views[px.Name].rules // a listen's rules are compiled once
		} else {
			fe.rules = newHTTPRuleSets(px, cp)
		}
		e.usesVars = e.usesVars || fe.rules != nil && fe.rules.vars
		fe.bufferBody = px.Mode == config.ModeHTTP && buffersBody(px, cfg)
		fe.logSamples = compileLogSamples(px, cp)
		fe.limit.max = int64(px.MaxConn)
		if fe.limit.max == 0 {
			fe.limit.max = int64(g.MaxConn)
		}
		r, err := newRouter(px, views, cp)
		if err != nil {
			e.closeKernel()
			return nil, err
		}
		fe.route = r
		if opts.AccessLog != nil {
			fe.log, fe.logKind = opts.AccessLog(px), logKindOf(px)
		}
		for _, f := range []*config.LineFormat{px.LogFormat, px.LogFormatSD} {
			if f != nil {
				fe.needs |= f.Needs
			}
		}
		fe.caps = newCaptureSlots(px)
		if px.UniqueIDFormat != nil && opts.UniqueID != nil {
			if fe.uid = opts.UniqueID(px); fe.uid != nil {
				fe.needs |= px.UniqueIDFormat.Needs
				if px.Mode == config.ModeHTTP {
					fe.uidHeader = px.UniqueIDHeader
				}
			}
		}
		e.frontends = append(e.frontends, fe)
	}
	return e, nil
}

func (e *Engine) nbLoops() int { return e.cfg.Global.Loops() }

// Loops is the number of event loops the engine runs.
func (e *Engine) Loops() int {
	if len(e.loops) > 0 {
		return len(e.loops)
	}
	return e.nbLoops()
}

func (e *Engine) logf(format string, args ...any) {
	if e.logger != nil {
		e.logger.Printf(format, args...)
	}
}

// Start is Listen and then Serve.
func (e *Engine) Start() error {
	if err := e.Listen(); err != nil {
		return err
	}
	e.Serve()
	return nil
}

// Listen binds (or adopts) every listener on every loop without accepting
// yet: connections wait in the kernel's queues until Serve. A process that
// drops its privileges does so between the two, so that no connection is
// ever handled as root. On error nothing is left open.
func (e *Engine) Listen() error {
	// Inherited sockets that no bind takes are closed only now, after this
	// engine has adopted or bound everything it listens on.
	defer e.closeInherited()
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
	return nil
}

// Serve starts the loops: they accept and forward from now on. It is
// called once, after Listen succeeded.
func (e *Engine) Serve() {
	e.serveOnce.Do(func() {
		e.serving.Store(true)
		for _, l := range e.loops {
			go l.run()
		}
	})
}

// bind gives every loop a listening socket for b: first the sockets
// inherited for b (all of them, a loop taking several when there are more
// sockets than loops), then new SO_REUSEPORT sockets for the loops left.
// A port 0 bind takes the port the first socket got, so that every loop
// shares it. An fd@N bind has one socket, which every loop shares, and
// so has a Unix bind.
func (e *Engine) bind(fe *frontend, b *config.Bind) error {
	addr := b.Addr
	backlog := b.Backlog
	if backlog == 0 {
		backlog = int(fe.limit.max)
	}
	adopted, err := e.adopt(fe, b, backlog)
	defer func() {
		for _, fd := range adopted { // left over on error
			unix.Close(fd)
		}
	}()
	if err != nil {
		return err
	}
	isUnix := b.Unix.IsValid()
	switch {
	case b.Inherited:
		sa, err := unix.Getsockname(adopted[0])
		if err != nil {
			return fmt.Errorf("%s: %s (%s): getsockname: %w", fe.conf, b, b.Pos, err)
		}
		addr = sockaddrToAddrPort(sa)
		_, isUnix = sa.(*unix.SockaddrUnix)
	case isUnix && len(adopted) == 0:
		fd, err := listenUnix(b.Unix, b.Perm, backlog)
		if err != nil {
			return fmt.Errorf("%s: cannot bind %s (%s): %w", fe.conf, b, b.Pos, err)
		}
		adopted = []int{fd}
	}
	shared := adopted
	for i := 0; i < max(len(e.loops), len(shared)); i++ {
		l := e.loops[i%len(e.loops)]
		var fd int
		if len(adopted) > 0 {
			fd, adopted = adopted[0], adopted[1:]
		} else {
			var (
				got netip.AddrPort
				err error
			)
			if b.Inherited || isUnix {
				// No socket of its own can join an inherited one, or
				// a Unix one: the loop shares it.
				err = errInheritedShared
			} else {
				fd, got, err = listen(addr, b, backlog)
			}
			if err != nil && len(shared) > 0 {
				// A process that dropped its privileges may not join the
				// inherited sockets' SO_REUSEPORT group (the kernel wants
				// the same user), and an fd@N socket has no group: this
				// loop shares an inherited socket.
				if err != errInheritedShared {
					e.logf("%s: %s (%s): cannot bind another socket (%v); loop %d shares an inherited one",
						fe.conf, addr, b.Pos, err, l.id)
				}
				fd, err = unix.FcntlInt(uintptr(shared[i%len(shared)]), unix.F_DUPFD_CLOEXEC, 0)
				if err != nil {
					err = fmt.Errorf("fcntl(F_DUPFD_CLOEXEC): %w", err)
				}
			}
			if err != nil {
				return fmt.Errorf("%s: cannot bind %s (%s): %w", fe.conf, b, b.Pos, err)
			}
			if got.IsValid() {
				addr = got
			}
		}
		ln := newListener(l, fe, b, addr, fd)
		ln.unix = isUnix
		if err := l.register(fd, ln); err != nil {
			ln.close()
			l.flushCloses()
			return fmt.Errorf("%s: register %s: %w", fe.conf, b, err)
		}
		l.listeners = append(l.listeners, ln)
		e.addrsMu.Lock()
		e.listening = append(e.listening, ListenerFile{Addr: addr, FD: bindFD(b), Unix: b.Unix, fd: fd})
		e.addrsMu.Unlock()
	}
	e.addrsMu.Lock()
	e.addrs[b] = addr
	e.addrsMu.Unlock()
	return nil
}

// errInheritedShared stands for the socket an fd@N bind cannot create.
var errInheritedShared = errors.New("an inherited socket is shared")

// bindFD is the N of an fd@N bind, -1 for an address bind.
func bindFD(b *config.Bind) int {
	if b.Inherited {
		return b.FD
	}
	return -1
}

// adopt takes the inherited sockets for b that are fit to use. For an
// address bind, it closes the others with a message (the bind makes new
// ones), and a port 0 bind never inherits: it asks for a new port each
// time. An fd@N bind has nothing else to listen on: no socket, or one
// that is not listening, is an error naming the bind. A Unix bind keeps
// the one socket it needs of those handed over, and binds its path
// again when none is fit.
func (e *Engine) adopt(fe *frontend, b *config.Bind, backlog int) ([]int, error) {
	if b.Unix.IsValid() {
		fds := e.inheritedUnix[b.Unix]
		delete(e.inheritedUnix, b.Unix)
		var ok []int
		for _, fd := range fds {
			if len(ok) > 0 {
				unix.Close(fd) // a duplicate of the one kept
				continue
			}
			if err := adoptListener(fd, b, backlog); err != nil {
				e.logf("%s: inherited descriptor %d for %s (%s) not used: it %v", fe.conf, fd, b, b.Pos, err)
				unix.Close(fd)
				continue
			}
			ok = append(ok, fd)
		}
		if len(ok) > 0 {
			e.logf("%s: %s: took over the listening socket from the previous process", fe.conf, b)
		}
		return ok, nil
	}
	if b.Inherited {
		fds := e.inheritedFD[b.FD]
		delete(e.inheritedFD, b.FD)
		if len(fds) == 0 {
			return nil, fmt.Errorf("%s: %s (%s): fjord was not started with descriptor %d", fe.conf, b, b.Pos, b.FD)
		}
		for i, fd := range fds {
			if err := adoptListener(fd, b, backlog); err != nil {
				for _, fd := range fds[i:] {
					unix.Close(fd)
				}
				return fds[:i], fmt.Errorf("%s: %s (%s): descriptor %d %v", fe.conf, b, b.Pos, fd, err)
			}
		}
		// Every descriptor handed over for fd@N is a duplicate of its one
		// socket (a reload hands over one per loop of the old process):
		// this process needs one per loop, and more would each be woken
		// for every connection.
		if n := len(e.loops); len(fds) > n {
			for _, fd := range fds[n:] {
				unix.Close(fd)
			}
			fds = fds[:n]
		}
		return fds, nil
	}
	if b.Addr.Port() == 0 || len(e.inherited) == 0 {
		return nil, nil
	}
	fds := e.inherited[b.Addr]
	delete(e.inherited, b.Addr)
	var ok []int
	for _, fd := range fds {
		if err := adoptListener(fd, b, backlog); err != nil {
			e.logf("%s: inherited descriptor %d for %s (%s) not used: it %v", fe.conf, fd, b.Addr, b.Pos, err)
			unix.Close(fd)
			continue
		}
		ok = append(ok, fd)
	}
	if len(ok) > 0 {
		e.logf("%s: %s: took over %d listening socket(s) from the previous process", fe.conf, b.Addr, len(ok))
	}
	return ok, nil
}

// closeInherited closes the inherited sockets no bind took: addresses the
// new configuration no longer listens on, fd@N it no longer names.
func (e *Engine) closeInherited() {
	for addr, fds := range e.inherited {
		for _, fd := range fds {
			unix.Close(fd)
		}
		e.logf("closed %d inherited socket(s) for %s: no bind uses it any more", len(fds), addr)
	}
	e.inherited = nil
	for n, fds := range e.inheritedFD {
		for _, fd := range fds {
			unix.Close(fd)
		}
		e.logf("closed the inherited socket fd@%d: no bind uses it any more", n)
	}
	e.inheritedFD = nil
	for u, fds := range e.inheritedUnix {
		for _, fd := range fds {
			unix.Close(fd)
		}
		e.logf("closed the inherited socket of %s: no bind uses it any more", u)
	}
	e.inheritedUnix = nil
}

// ListenerFile is a duplicate of one of the engine's listening sockets.
type ListenerFile struct {
	Addr netip.AddrPort // the address it is bound to; unset for a Unix socket
	// FD is N for the socket of a "bind fd@N", which the next process
	// finds by N rather than by address; -1 for an address bind.
	FD int
	// Unix is the socket of a Unix bind, which the next process finds
	// by its path or name.
	Unix config.UnixAddr
	File *os.File
	fd   int
}

// String names the socket: its address, fd@N, or its Unix path or name.
func (lf ListenerFile) String() string {
	switch {
	case lf.FD >= 0:
		return "fd@" + strconv.Itoa(lf.FD)
	case lf.Unix.IsValid():
		return lf.Unix.String()
	}
	return lf.Addr.String()
}

// ListenerFiles duplicates every listening socket, one per loop and bind,
// for a process that takes over from this one (a reload). Both processes
// then hold the same sockets: connections waiting in their queues are
// accepted by whichever process is listening, and none is lost when this
// one closes its copies (SoftStop). The caller closes the files. It fails
// once SoftStop has begun.
func (e *Engine) ListenerFiles() ([]ListenerFile, error) {
	e.addrsMu.Lock()
	defer e.addrsMu.Unlock()
	if e.softStopped {
		return nil, errors.New("the listeners are closing (soft stop)")
	}
	out := make([]ListenerFile, 0, len(e.listening))
	for _, lf := range e.listening {
		fd, err := unix.FcntlInt(uintptr(lf.fd), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			for _, o := range out {
				o.File.Close()
			}
			return nil, fmt.Errorf("duplicate listener %s: %w", lf, err)
		}
		out = append(out, ListenerFile{Addr: lf.Addr, FD: lf.FD, Unix: lf.Unix, File: os.NewFile(uintptr(fd), "listener "+lf.String())})
	}
	return out, nil
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

// closeKernel unloads the sockmap forwarder, once no loop runs.
func (e *Engine) closeKernel() {
	if e.km != nil {
		e.km.Close()
		e.km = nil
	}
}

// Addr returns the address a bind line is listening on (useful when the
// configuration asked for port 0); the zero AddrPort for a Unix socket.
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
		e.serveOnce.Do(func() {}) // a later Serve starts nothing
		if !e.serving.Load() {
			e.closeLoops() // listening, never served: no loop runs
			e.closeKernel()
			return
		}
		for _, l := range e.loops {
			l.stopping.Store(true)
			l.wake()
		}
		for _, l := range e.loops {
			<-l.done
		}
		e.closeKernel()
	})
}

// SoftStop stops accepting and lets the sessions finish: every loop closes
// its listeners (a duplicate handed to another process keeps a socket and
// its queued connections alive there), HTTP connections idle between
// requests are closed, and the others after their current response, which
// announces it. tcp sessions run until they end. SoftStop returns once no
// loop accepts any more; the channel is closed when the last session has
// ended. Stop ends whatever remains.
func (e *Engine) SoftStop() <-chan struct{} {
	e.Serve() // the loops carry the soft stop out; a no-op when running
	e.softOnce.Do(func() {
		e.addrsMu.Lock()
		e.softStopped = true
		e.addrsMu.Unlock()
		for _, l := range e.loops {
			l.softStop.Store(true)
			l.wake()
		}
		for _, l := range e.loops {
			select {
			case <-l.unlistened:
			case <-l.done:
			}
		}
		go func() {
			for _, l := range e.loops {
				select {
				case <-l.drained:
				case <-l.done:
				}
			}
			close(e.drained)
		}()
	})
	return e.drained
}

// Stats are the engine's resource counters.
type Stats struct {
	Sessions    int64 // sessions admitted and not yet closed
	PipesInUse  int64 // pipes holding bytes in flight
	PipesPooled int64 // empty pipes kept for reuse
	PipesGrown  int64 // of those in use or pooled, pipes grown for bulk flows
	BatchLoops  int64 // loops under SCHED_BATCH now, for the bulk streams they carry
	// KernelSessions are the sessions the kernel forwards now
	// ('tune.sockmap'), and KernelKept their directions whose bytes the
	// loops move, for want of a reader that takes them.
	KernelSessions  int64
	KernelKept      int64
	KernelHandovers int64 // sessions handed to the kernel since the start
}

// Stats reads the counters; safe from any goroutine.
func (e *Engine) Stats() Stats {
	st := Stats{Sessions: e.global.cur.Load(), KernelSessions: e.kmSessions.Load(), KernelKept: e.kmKeeping.Load(),
		KernelHandovers: e.kmHandovers.Load()}
	for _, l := range e.loops {
		st.PipesInUse += l.pipes.inUse.Load()
		st.PipesPooled += l.pipes.pooled.Load()
		st.PipesGrown += l.pipes.grown.Load()
		if l.batch.Load() {
			st.BatchLoops++
		}
	}
	return st
}

// router chooses the backend of a new tcp connection.
type router struct {
	rules []routeRule
	def   *backend
}

type routeRule struct {
	cond *rules.Cond
	be   *backend
	// name builds a dynamic rule's backend name, looked up in byName.
	name   *rules.Format
	byName map[string]*backend
}

func newRouter(px *config.Proxy, backends map[string]*backend, cp *rules.Compiler) (router, error) {
	var r router
	for _, ub := range px.UseBackends {
		if ub.Dynamic != nil {
			same := map[string]*backend{}
			for name, b := range backends {
				if b.Conf.Mode == px.Mode {
					same[name] = b
				}
			}
			r.rules = append(r.rules, routeRule{cond: cp.Cond(ub.Cond), name: cp.Format(ub.Dynamic), byName: same})
			continue
		}
		be := backends[ub.Backend]
		if be == nil {
			return r, fmt.Errorf("%s: no backend '%s'", px, ub.Backend)
		}
		r.rules = append(r.rules, routeRule{cond: cp.Cond(ub.Cond), be: be})
	}
	switch {
	case px.DefaultBackend != "":
		r.def = backends[px.DefaultBackend]
		if r.def == nil {
			return r, fmt.Errorf("%s: no backend '%s'", px, px.DefaultBackend)
		}
	case px.Caps&config.CapBackend != 0:
		r.def = backends[px.Name] // a listen section is its own backend
	}
	return r, nil
}

// backend is the first use_backend whose condition holds, or the default.
// req is nil in tcp mode, where conditions use only the source address.
func (r *router) backend(t *rules.Txn) *backend {
	for _, rule := range r.rules {
		if !rule.cond.Match(t) {
			continue
		}
		if rule.name == nil {
			return rule.be
		}
		// HAProxy's process_switching_rules: a name no backend has
		// ends the rules, and the default backend takes the request.
		if be := rule.byName[string(rule.name.Render(t))]; be != nil {
			return be
		}
		break
	}
	return r.def
}
