package config

import (
	"net/netip"
	"regexp"
	"runtime"
	"time"
)

// Config is a validated configuration. It is the only place other packages
// learn configuration from.
type Config struct {
	Global  Global
	Proxies []*Proxy // frontends, backends and listens in file order
	// Userlists are the "userlist" sections, in file order.
	Userlists []*Userlist
	// HTTPErrors are the "http-errors" sections, in file order. Proxies
	// hold the pages they import ("errorfiles") in ErrorPages.
	HTTPErrors []*HTTPErrors
	// SampleReads is what the configuration's sample expressions read,
	// all together: the engine keeps what some expression may ask for
	// (the request line for capture.req.*) and nothing else.
	SampleReads Reads

	// Diagnostics holds notices and warnings: things that are valid but
	// that an HAProxy user should hear about (legacy keywords, deliberate
	// differences from HAProxy). They never make a configuration invalid.
	Diagnostics []Diagnostic
}

// Userlist returns the userlist section named name, or nil.
func (c *Config) Userlist(name string) *Userlist {
	for _, u := range c.Userlists {
		if u.Name == name {
			return u
		}
	}
	return nil
}

// Frontends returns the proxies that accept connections (frontend, listen).
func (c *Config) Frontends() []*Proxy { return c.filter(CapFrontend) }

// Backends returns the proxies that hold servers (backend, listen).
func (c *Config) Backends() []*Proxy { return c.filter(CapBackend) }

// Backend returns the backend (or listen) section named name, or nil.
func (c *Config) Backend(name string) *Proxy {
	for _, p := range c.Proxies {
		if p.Caps&CapBackend != 0 && p.Name == name {
			return p
		}
	}
	return nil
}

func (c *Config) filter(cap Capability) []*Proxy {
	var out []*Proxy
	for _, p := range c.Proxies {
		if p.Caps&cap != 0 {
			out = append(out, p)
		}
	}
	return out
}

// Global holds the settings of the global section.
// BusyPolling says when an event loop spins instead of sleeping in
// epoll_wait.
type BusyPolling struct {
	On bool
	// Window is how long after its last event a loop keeps spinning; 0
	// (HAProxy's busy-polling): always.
	Window time.Duration
}

type Global struct {
	MaxConn     int    // "maxconn"; DefaultGlobalMaxConn when unset
	User, Group string // "user", "group"; resolved when privileges are dropped
	UID, GID    int    // "uid", "gid"; -1 when unset
	Daemon      bool
	NbThread    int // 0: one loop per GOMAXPROCS
	PIDFile     string
	UlimitN     int // 0: derived from maxconn

	Logs []LogTarget

	TunePipeSize int // bytes
	// TuneBulkPipeSize is what a pipe grows to for a flow that keeps
	// moving more than a pipe per burst: DefaultBulkPipeSize unless
	// tune.pipesize is set, which then fixes every pipe's size.
	TuneBulkPipeSize int
	TuneBufSize      int // bytes
	// TuneMaxRewrite is "tune.maxrewrite": -1 when unset (MaxRewrite).
	TuneMaxRewrite    int
	TuneMaxPollEvents int
	// TuneSchedBatch (fjord addition "tune.sched-batch", default on) puts
	// an event loop under SCHED_BATCH while it carries bulk streams.
	TuneSchedBatch bool
	// TuneSockmap (fjord addition "tune.sockmap", default off) hands
	// established mode tcp sessions and HTTP tunnels to the kernel's BPF
	// sockmap.
	TuneSockmap SockmapMode
	Sysctl      SysctlMode
	// BusyPolling is "busy-polling": the event loops poll with a zero
	// timeout instead of sleeping, always (HAProxy's) or, with "busy-polling
	// adaptive TIME" (a fjord addition), for TIME after the last event.
	BusyPolling BusyPolling

	StatsSockets []StatsSocket
	StatsTimeout time.Duration
	StatsMaxConn int // runtime API connections served at once, each socket

	HardStopAfter time.Duration // 0: soft stop waits for every session

	// SetVars are the "set-var" and "set-var-fmt" lines: proc
	// variables set once at startup, in order.
	SetVars []VarSet

	LogAnonymize LogAnonymize
	LogRetention int // days rotated log files are kept

	// TLS (tls.go, tlsglobal.go). Binds and servers carry their final
	// settings, these defaults applied; they are here for reference.

	// CrtBase and CABase are 'crt-base' and 'ca-base': the directories
	// relative crt, and ca-file and crl-file, paths are read from.
	CrtBase, CABase string
	// BindTLSDefaults and ServerTLSDefaults are the ssl-default-bind-*
	// and ssl-default-server-* settings.
	BindTLSDefaults, ServerTLSDefaults TLSDefaults
	// ServerVerify is 'ssl-server-verify': a server's 'verify' when its
	// line has none. VerifyRequired unless set to none.
	ServerVerify    VerifyMode
	LoadExtraFiles  ExtraFiles    // 'ssl-load-extra-files'; ExtraAll by default
	TuneSSLLifetime time.Duration // 'tune.ssl.lifetime': how long a session may be resumed
	// TuneSSLMaxRecord caps the TLS records of a transfer's start
	// ('tune.ssl.maxrecord'), TuneSSLHardMaxRecord every record
	// ('tune.ssl.hard-maxrecord'); 0 is no cap (16 KiB records).
	TuneSSLMaxRecord, TuneSSLHardMaxRecord int
	TuneSSLKTLS                            KTLSMode // fjord addition 'tune.ssl.ktls'
	// TuneSSLHandshakeCPUs is the fjord addition
	// 'tune.ssl.handshake-cpus'; 0 lets HandshakeCPUs decide.
	TuneSSLHandshakeCPUs int
}

// Loops is the number of event loops: nbthread, else one per GOMAXPROCS.
// It is for deciding the count before the engine starts (the engine raises
// GOMAXPROCS above its loops once they run); a running engine's count is
// engine.Engine.Loops.
func (g *Global) Loops() int {
	if g.NbThread > 0 {
		return g.NbThread
	}
	return runtime.GOMAXPROCS(0)
}

// Defaults applied when a keyword is absent.
const (
	DefaultGlobalMaxConn     = 4096
	DefaultPipeSize          = 64 << 10
	DefaultBulkPipeSize      = 1 << 20 // fs.pipe-max-size's default
	DefaultBufSize           = 16 << 10
	DefaultMaxRewrite        = 1024 // HAProxy's MAXREWRITE
	DefaultMaxPollEvents     = 200
	DefaultLogRetentionDays  = 30
	DefaultStatsTimeout      = 10 * time.Second
	DefaultStatsMaxConn      = 10 // HAProxy's
	DefaultInter             = 2 * time.Second
	DefaultRise              = 2
	DefaultFall              = 3
	DefaultWeight            = 1
	DefaultErrorLimit        = 10
	DefaultStatsRealm        = "HAProxy Statistics"
	DefaultAnonIPv4Mask      = 24
	DefaultAnonIPv6Mask      = 48
	defaultStatsURI          = "/haproxy?stats"
	maxLogTargetsPerProxy    = 2
	maxWeight                = 256
	maxThreads               = 64
	minPipeSize, maxPipeSize = 4096, 1 << 30
	minBufSize, maxBufSize   = 1024, 1 << 20
)

// SysctlMode is the global "tune.sysctl" setting.
type SysctlMode int

const (
	SysctlOn    SysctlMode = iota // apply when root, report each change
	SysctlOff                     // leave the kernel alone
	SysctlCheck                   // only report what would change
)

func (m SysctlMode) String() string {
	return [...]string{"on", "off", "check"}[m]
}

// LogAnonymize is the fjord addition "log-anonymize": how client addresses
// are made non-personal before they reach any log line.
type LogAnonymize struct {
	Enabled  bool
	Hash     bool // keyed hash instead of truncation
	IPv4Mask int  // prefix bits kept when truncating
	IPv6Mask int
	// KeyRotation is how often the hash key is replaced; the old key is
	// forgotten, so earlier hashes cannot be linked to addresses any more.
	KeyRotation time.Duration
}

// StatsSocket is a "stats socket" line: the runtime API on a Unix socket
// (Path), on a loopback TCP address (Addr), or on a listening socket
// fjord was started with ("fd@N": Inherited, FD). Exactly one is set.
type StatsSocket struct {
	Pos       Pos
	Path      string
	Addr      netip.AddrPort
	Inherited bool
	FD        int
	Mode      uint32 // file mode of Path; 0 means the process umask decides
	Level     APILevel
}

// Capability says what a proxy section can do.
type Capability uint8

const (
	CapFrontend Capability = 1 << iota
	CapBackend
)

// Mode is a proxy's "mode".
type Mode int

const (
	ModeTCP Mode = iota
	ModeHTTP
)

func (m Mode) String() string {
	if m == ModeHTTP {
		return "http"
	}
	return "tcp"
}

// HTTPConnMode is how HTTP connections are handled between requests.
type HTTPConnMode int

const (
	HTTPKeepAlive   HTTPConnMode = iota // "option http-keep-alive" (default)
	HTTPServerClose                     // "option http-server-close"
	HTTPClose                           // "option httpclose"
	HTTPTunnel                          // "option http-tunnel": only the first request is analysed
)

func (m HTTPConnMode) String() string {
	return [...]string{"http-keep-alive", "http-server-close", "httpclose", "http-tunnel"}[m]
}

// Proxy is a frontend, backend or listen section (HAProxy's "proxy").
type Proxy struct {
	Pos     Pos    // the section header
	Section string // "frontend", "backend" or "listen"
	Name    string
	Caps    Capability
	Mode    Mode

	// Frontend side.
	Binds          []*Bind
	MaxConn        int // 0: the global maxconn
	ACLs           []*ACL
	UseBackends    []*UseBackend
	DefaultBackend string
	DefaultBackPos Pos
	// tcp-request rules, in order: connection rules when a connection
	// is accepted, content rules once its first bytes can be looked at
	// (for at most InspectDelay).
	TCPConnection []*TCPRule
	TCPSession    []*TCPRule
	// TCPResponse are the "tcp-response content" rules (backend side):
	// evaluated once the server connection is up, before any of its
	// bytes is forwarded (for at most ResponseInspectDelay, in tcp
	// mode, while they wait for the bytes res.payload reads).
	TCPResponse  []*TCPRule
	TCPContent   []*TCPRule
	InspectDelay time.Duration
	// ResponseInspectDelay is "tcp-response inspect-delay".
	ResponseInspectDelay time.Duration

	// Backend side.
	Servers       []*Server
	Balance       Balance
	HashType      HashType
	Retries       int
	HTTPCheck     *HTTPCheck // nil without "option httpchk"
	CheckExpect   *CheckExpect
	TCPCheck      bool // "option tcp-check": layer-4 checks even in mode http
	AllBackups    bool
	Redispatch    bool
	DefaultServer Server // "default-server" settings servers start from

	Timeouts Timeouts

	// Logging.
	Logs        []LogTarget // resolved: "log global" copies the global targets
	HTTPLog     bool
	TCPLog      bool
	DontLogNull bool
	// LogASAP is "option logasap": a request is logged once its
	// response head is forwarded, a tcp connection once its server
	// connection is up, with the total time and the bytes marked '+'
	// as partial.
	LogASAP bool
	// BufferRequest is "option http-buffer-request": a request's body is
	// waited for (as much as tune.bufsize - tune.maxrewrite holds after the head) before
	// the rules run, so that req.body and req.len read it.
	BufferRequest bool
	LogFormatJSON bool
	// LogFormat is a "log-format" line's format, which then writes the
	// proxy's traffic lines; nil when "option httplog" or "option
	// tcplog" (HTTPLog, TCPLog) or neither decides. In a frontend it is
	// checked against its mode.
	LogFormat *LineFormat
	// LogFormatSD is "log-format-sd": the structured data of the
	// traffic lines sent to RFC 5424 targets (nil: "-").
	LogFormatSD *LineFormat
	// UniqueIDFormat is "unique-id-format": each request (each
	// connection in tcp mode) gets an identifier rendered with it,
	// logged as %ID and, in mode http, sent to the server in the
	// UniqueIDHeader field when that is set ("unique-id-header").
	UniqueIDFormat *LineFormat
	UniqueIDHeader string
	// CaptureRequest and CaptureResponse are the "capture request
	// header" and "capture response header" lines (and "declare capture"
	// slots, which have no header), in order: the last occurrence of
	// each header, cut to its length, shown by %hr and %hs.
	CaptureRequest, CaptureResponse []Capture

	// HTTP processing.
	HTTPConnMode HTTPConnMode
	ForwardFor   *ForwardFor
	// OriginalTo is "option originalto": the address the client
	// connected to, sent to the server in a header.
	OriginalTo *OriginalTo
	// RestrictReqHdrNames is "option http-restrict-req-hdr-names": what
	// becomes of a request whose header names have a character other
	// than a letter, a digit or '-', once the proxy's http-request rules
	// ran.
	RestrictReqHdrNames HdrNamePolicy
	// Redirects are the "redirect" rules in order. A frontend's are
	// evaluated before its use_backend rules, a backend's once the
	// request is routed to it; the first that applies answers.
	Redirects []*Redirect
	// HTTPRequest, HTTPResponse and HTTPAfterResponse are the
	// "http-request", "http-response" and "http-after-response" rules
	// in order (httprules.go).
	HTTPRequest, HTTPResponse, HTTPAfterResponse []*HTTPRule
	// ErrorPages replace fjord's own answers, by status: the pages of
	// "errorfile", "errorloc", "errorloc302", "errorloc303", "errorfiles"
	// and "http-error" lines, those of the defaults section first, a
	// later line replacing an earlier one's page. nil when there are none.
	// fjord answers with the backend's page when the request was routed
	// to one that has a page for the status, else with the frontend's,
	// else with its own (HAProxy's http_error_message).
	ErrorPages map[int]*ErrorPage

	// MonitorURI is "monitor-uri" (frontend side): a request for it is
	// answered by fjord itself, 200, or 503 when a MonitorFail
	// condition holds, and is neither forwarded nor logged. A URI that
	// starts with '/' is compared with the request's path (its query
	// string included), any other with the whole request target.
	MonitorURI string
	// MonitorFail are the "monitor fail if|unless COND" conditions.
	MonitorFail []*Condition

	Stats Stats
}

// String names the section the way every message does: "frontend 'www'",
// "backend 'app'", "listen 'stats'", "defaults 'name'" or "defaults".
func (p *Proxy) String() string {
	if p.Section == "defaults" && p.Name == "" {
		return "defaults"
	}
	return p.Section + " '" + p.Name + "'"
}

// Timeouts of a proxy. Zero means not set (no timeout), as in HAProxy.
type Timeouts struct {
	Connect, Client, Server    time.Duration
	HTTPRequest, HTTPKeepAlive time.Duration
	Queue, Tunnel, Check       time.Duration
	// Tarpit is how long 'http-request tarpit' holds a request; zero:
	// 'timeout connect', as in HAProxy.
	Tarpit               time.Duration
	ClientFin, ServerFin time.Duration
}

// Bind is one listening address of a "bind" line (a line with several
// addresses or a port range yields several Binds).
type Bind struct {
	Pos  Pos
	Addr netip.AddrPort // unspecified address for "*" / ":::"; unset for fd@N and Unix sockets
	// Unix is set for a Unix stream socket ("bind /run/fe.sock",
	// "bind unix@PATH", "bind abns@NAME"), with Perm the mode and owner
	// its file gets (nil: none set: the umask and fjord's own user).
	Unix UnixAddr
	Perm *UnixPerm
	// Inherited is set by "bind fd@N": fjord binds nothing but listens on
	// descriptor FD, a listening socket it was started with (systemd's
	// socket activation, VTest, a supervisor). Whether FD is one is
	// checked when fjord starts.
	Inherited   bool
	FD          int
	Backlog     int // 0: the frontend maxconn
	AcceptProxy bool
	V6Only      bool
	Name        string
	TLS         *BindTLS // nil without 'ssl'
}

// PortMode says how a server's port is derived.
type PortMode int

const (
	PortFixed  PortMode = iota // server connects to Addr's port
	PortSame                   // no port given: the client's destination port
	PortOffset                 // "+N"/"-N": destination port plus PortDelta
)

// Server is a "server" line.
type Server struct {
	Pos  Pos
	Name string
	Addr netip.AddrPort // unset for a Unix socket server
	// Unix is set for a server reached over a Unix stream socket ("server
	// s1 /run/app.sock", unix@PATH, abns@NAME); PortMode is then PortFixed
	// and there is no port.
	Unix      UnixAddr
	PortMode  PortMode
	PortDelta int

	Check      bool
	Inter      time.Duration
	FastInter  time.Duration // 0: Inter
	DownInter  time.Duration // 0: Inter
	Rise, Fall int
	CheckPort  int        // 0: the server's port
	CheckAddr  netip.Addr // invalid: the server's address
	Weight     int
	Backup     bool
	MaxConn    int // 0: unlimited
	MaxQueue   int // 0: unlimited
	Disabled   bool
	SlowStart  time.Duration
	SendProxy  int // 0: none, 1: PROXY v1, 2: PROXY v2
	Observe    ObserveMode
	ErrorLimit int
	OnError    OnErrorAction
	// TLS is nil when neither connections nor health checks speak TLS.
	// In a proxy's DefaultServer it is always nil: what default-server
	// lines set reaches each server's own.
	TLS *ServerTLS
}

// Balance is the "balance" algorithm and its arguments.
type Balance struct {
	Algorithm BalanceAlgorithm
	// uri
	URILen   int
	URIDepth int
	URIWhole bool
	// url_param NAME / hdr(NAME)
	Param         string
	UseDomainOnly bool // hdr(host) use_domain_only
	// random(N)
	Draws int
}

// HashType is the "hash-type" setting.
type HashType struct {
	Method    HashMethod
	Function  HashFunction
	Avalanche bool
}

// HTTPCheck is "option httpchk".
type HTTPCheck struct {
	Method, URI, Version string
}

// CheckExpect is "http-check expect [!] KIND PATTERN".
type CheckExpect struct {
	Negate  bool
	Kind    ExpectKind
	Pattern string
	Regexp  *regexp.Regexp // for rstatus and rstring
}

// ForwardFor is "option forwardfor".
type ForwardFor struct {
	Except *netip.Prefix
	Header string // default "X-Forwarded-For"
	IfNone bool
}

// OriginalTo is "option originalto".
type OriginalTo struct {
	Except *netip.Prefix // no header for a destination in it
	Header string        // default "X-Original-To"
}

// HdrNamePolicy is what "option http-restrict-req-hdr-names" does with a
// request header whose name has a character outside [A-Za-z0-9-].
type HdrNamePolicy uint8

const (
	HdrNamesPreserve HdrNamePolicy = iota // forward it (the default)
	HdrNamesDelete                        // remove the field
	HdrNamesReject                        // answer 403
)

func (h HdrNamePolicy) String() string { return [...]string{"preserve", "delete", "reject"}[h] }

// LogTarget is one "log" destination.
type LogTarget struct {
	Pos      Pos
	Kind     LogKind
	Addr     netip.AddrPort // LogUDP
	Path     string         // LogUnix, LogFile
	Facility int            // syslog facility code (local0 = 16); -1 for files without one
	Level    int            // maximum level sent (0 emerg .. 7 debug)
	MinLevel int            // minimum level sent
	Format   LogFormat
	MaxLen   int        // "len": truncate lines longer than this (default 1024)
	Sample   *LogSample // "sample": nil sends every line
}

// LogKind is the transport of a log target.
type LogKind int

const (
	LogUDP LogKind = iota
	LogUnix
	LogStdout
	LogStderr
	LogFile
)

// Stats is the stats page settings of a proxy.
type Stats struct {
	Enabled       bool
	URI           string
	Realm         string
	Auth          []Credential
	Refresh       time.Duration
	Admin         []*Condition
	HideVersion   bool
	PrometheusURI string
}

// Capture is a "capture request header", "capture response header" or
// "declare capture" line.
type Capture struct {
	Pos    Pos
	Header string // "" for a slot capture actions fill ("declare capture", "http-request capture ... len")
	Len    int    // bytes kept of the value
}

// Limits of a frontend's captures: they are kept in fixed buffers of each
// access record, so that capturing allocates nothing.
const (
	MaxCaptures     = 16   // per direction
	MaxCaptureBytes = 1024 // the sum of the lengths of both directions
	// MaxUniqueIDLen bounds a unique id, as HAProxy's UNIQUEID_LEN does:
	// a longer one is cut.
	MaxUniqueIDLen = 128
)

// Credential is one "stats auth user:password".
type Credential struct {
	User, Password string
}

// UseBackend is a "use_backend BACKEND if|unless COND" rule.
type UseBackend struct {
	Pos     Pos
	Backend string // as written; for a dynamic rule, its log-format text
	// Dynamic is set when the name is a log-format string
	// ("use_backend %[req.hdr(host),lower,map(hosts.map)]"), built per
	// request; a name no backend has falls to default_backend, as in
	// HAProxy.
	Dynamic *Format
	Cond    *Condition
}

// Redirect is a "redirect" rule: a request it applies to is answered by
// fjord itself with a 3xx status, a Location and no body (HAProxy's
// classic redirect, whose target is a plain string, not a log-format).
type Redirect struct {
	Pos    Pos
	Kind   RedirectKind
	Target string // the location, prefix or scheme, as written
	Code   int    // 301, 302 (the default), 303, 307 or 308
	Flags  RedirectFlags
	// Cookie is the argument of "set-cookie NAME[=value]" or, with
	// ClearCookie, of "clear-cookie NAME[=]"; empty without either.
	Cookie      string
	ClearCookie bool
	Cond        *Condition // nil: the rule always applies
}

// SetCookie is the Set-Cookie field value the redirect sends, as HAProxy
// builds it (http_parse_redirect_rule), or "" for none: a session cookie
// for the whole site, or one that expires at once to clear it.
func (r *Redirect) SetCookie() string {
	switch {
	case r.Cookie == "":
		return ""
	case r.ClearCookie:
		return r.Cookie + "; path=/; Max-Age=0;"
	}
	return r.Cookie + "; path=/;"
}

// MaxRewrite is the part of tune.bufsize kept for rules to grow a
// message's head: tune.maxrewrite (1024 by default), at most half of
// tune.bufsize, as HAProxy bounds it. A message's head and the body
// bytes that come with it are taken into tune.bufsize less this much;
// a rewrite that would take them past tune.bufsize fails.
func (g *Global) MaxRewrite() int {
	n := g.TuneMaxRewrite
	if n < 0 {
		n = DefaultMaxRewrite
	}
	return min(n, g.TuneBufSize/2)
}
