package config

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// The keyword registry: every keyword of every section, with the sections
// it is allowed in, the side of a proxy it acts on, how its line is read
// and where docs/configuration.md documents it. Global and proxy keywords
// are read the same way (keywordLine); a test checks the documentation
// against this table.

// sections is a set of section kinds a keyword is allowed in. A listen
// section is a frontend and a backend at once.
type sections uint8

const (
	inGlobal sections = 1 << iota
	inDefaults
	inFrontend
	inBackend
	inUserlist
	inAll = inDefaults | inFrontend | inBackend
)

func (s sections) names() string {
	var n []string
	for _, k := range []struct {
		bit  sections
		name string
	}{{inGlobal, "global"}, {inDefaults, "defaults"}, {inFrontend, "frontend"}, {inBackend, "backend"}} {
		if s&k.bit != 0 {
			n = append(n, k.name)
		}
	}
	if s&(inFrontend|inBackend) != 0 {
		n = append(n, "listen")
	}
	if s&inUserlist != 0 {
		n = append(n, "userlist")
	}
	return strings.Join(n, ", ")
}

// side is the side of a proxy a keyword acts on, as the docs' matrix says.
// A keyword allowed where it has no effect warns about it itself, for each
// of its sub-keywords that does (timeoutField, the options).
type side uint8

const (
	bothSides side = iota
	frontSide      // acts on accepted connections (client side)
	backSide       // acts on servers
)

// status is how fjord treats a keyword HAProxy knows.
type status uint8

const (
	supported status = iota
	// ignored keywords only tune HAProxy's own internals: accepted, with
	// a notice that they change nothing (why says why), never silently.
	ignored
	// refused keywords are errors that say why (HAProxy removed them, or
	// fjord has another way).
	refused
)

// keyword is one row of the registry.
type keyword struct {
	name   string
	in     sections
	side   side
	status status
	// parse reads the line's arguments. px is nil in the global section.
	parse func(p *parser, px *Proxy, pos Pos, args []string) error
	doc   string // anchor in docs/configuration.md
	why   string // for ignored and refused keywords
}

// registry is every keyword by name, built in init from keywordTable. A
// name may have a row for the global section and another for proxies
// (maxconn, log, stats), read differently.
var registry map[string][]*keyword

// keywordTable lists the keywords in the order docs/configuration.md
// documents them.
var keywordTable = []keyword{
	// global
	{name: "maxconn", in: inGlobal, parse: glMaxConn, doc: "the-global-section"},
	{name: "user", in: inGlobal, parse: glUser, doc: "the-global-section"},
	{name: "group", in: inGlobal, parse: glGroup, doc: "the-global-section"},
	{name: "uid", in: inGlobal, parse: glUID, doc: "the-global-section"},
	{name: "gid", in: inGlobal, parse: glGID, doc: "the-global-section"},
	{name: "daemon", in: inGlobal, parse: glDaemon, doc: "the-global-section"},
	{name: "nbthread", in: inGlobal, parse: glNbThread, doc: "the-global-section"},
	{name: "pidfile", in: inGlobal, parse: glPIDFile, doc: "the-global-section"},
	{name: "ulimit-n", in: inGlobal, parse: glUlimitN, doc: "the-global-section"},
	{name: "log", in: inGlobal, parse: glLog, doc: "log"},
	{name: "tune.pipesize", in: inGlobal, parse: glPipeSize, doc: "the-global-section"},
	{name: "tune.bufsize", in: inGlobal, parse: glBufSize, doc: "the-global-section"},
	{name: "tune.maxrewrite", in: inGlobal, parse: glMaxRewrite, doc: "the-global-section"},
	{name: "tune.maxpollevents", in: inGlobal, parse: glMaxPollEvents, doc: "the-global-section"},
	{name: "tune.sched-batch", in: inGlobal, parse: glSchedBatch, doc: "the-global-section"},
	{name: "busy-polling", in: inGlobal, parse: glBusyPolling, doc: "the-global-section"},
	{name: "tune.sockmap", in: inGlobal, parse: glSockmap, doc: "the-global-section"},
	{name: "tune.sysctl", in: inGlobal, parse: glSysctl, doc: "the-global-section"},
	{name: "hard-stop-after", in: inGlobal, parse: glHardStopAfter, doc: "the-global-section"},
	{name: "stats", in: inGlobal, parse: glStats, doc: "the-global-section"},
	{name: "log-anonymize", in: inGlobal, parse: glLogAnonymize, doc: "the-global-section"},
	{name: "log-retention", in: inGlobal, parse: glLogRetention, doc: "the-global-section"},
	{name: "set-var", in: inGlobal, parse: glSetVar, doc: "the-global-section"},
	{name: "set-var-fmt", in: inGlobal, parse: glSetVarFmt, doc: "the-global-section"},
	// TLS (tlsglobal.go).
	{name: "crt-base", in: inGlobal, parse: glCrtBase, doc: "tls-in-the-global-section"},
	{name: "ca-base", in: inGlobal, parse: glCABase, doc: "tls-in-the-global-section"},
	{name: "ssl-default-bind-options", in: inGlobal, parse: glDefaultBindOptions, doc: "tls-in-the-global-section"},
	{name: "ssl-default-bind-ciphers", in: inGlobal, parse: glDefaultBindCiphers, doc: "tls-in-the-global-section"},
	{name: "ssl-default-bind-ciphersuites", in: inGlobal, parse: glDefaultBindCiphersuites, doc: "tls-in-the-global-section"},
	{name: "ssl-default-bind-curves", in: inGlobal, parse: glDefaultBindCurves, doc: "tls-in-the-global-section"},
	{name: "ssl-default-server-options", in: inGlobal, parse: glDefaultServerOptions, doc: "tls-in-the-global-section"},
	{name: "ssl-default-server-ciphers", in: inGlobal, parse: glDefaultServerCiphers, doc: "tls-in-the-global-section"},
	{name: "ssl-default-server-ciphersuites", in: inGlobal, parse: glDefaultServerCiphersuites, doc: "tls-in-the-global-section"},
	{name: "ssl-server-verify", in: inGlobal, parse: glServerVerify, doc: "tls-in-the-global-section"},
	{name: "ssl-load-extra-files", in: inGlobal, parse: glLoadExtraFiles, doc: "tls-in-the-global-section"},
	{name: "tune.ssl.lifetime", in: inGlobal, parse: glSSLLifetime, doc: "tls-in-the-global-section"},
	{name: "tune.ssl.maxrecord", in: inGlobal, parse: glSSLMaxRecord, doc: "tls-in-the-global-section"},
	{name: "tune.ssl.hard-maxrecord", in: inGlobal, parse: glSSLHardMaxRecord, doc: "tls-in-the-global-section"},
	{name: "tune.ssl.ktls", in: inGlobal, parse: glSSLKTLS, doc: "tls-in-the-global-section"},
	{name: "tune.ssl.handshake-cpus", in: inGlobal, parse: glSSLHandshakeCPUs, doc: "tls-in-the-global-section"},
	{name: "nbproc", in: inGlobal, status: refused, doc: "the-global-section",
		why: "'nbproc' was removed from HAProxy 2.5 and is not supported: fjord runs one process with 'nbthread' event loops"},
	{name: "chroot", in: inGlobal, status: refused, doc: "the-global-section",
		why: "'chroot' is not supported: fjord drops privileges with 'user'/'group' instead"},

	// HAProxy's internals: nothing in fjord to tune.
	{name: "tune.idle-pool.shared", in: inGlobal, status: ignored, parse: onOff, doc: "keywords-accepted-and-ignored",
		why: "fjord has no memory pools shared between threads"},
	{name: "tune.pool-high-fd-ratio", in: inGlobal, status: ignored, parse: intArg(0, 100), doc: "keywords-accepted-and-ignored",
		why: "fjord keeps no pool of idle server connections sized by descriptors"},
	{name: "tune.pool-low-fd-ratio", in: inGlobal, status: ignored, parse: intArg(0, 100), doc: "keywords-accepted-and-ignored",
		why: "fjord keeps no pool of idle server connections sized by descriptors"},
	{name: "tune.runqueue-depth", in: inGlobal, status: ignored, parse: intArg(1, math.MaxInt32), doc: "keywords-accepted-and-ignored",
		why: "fjord's event loops have no task run queue"},
	{name: "tune.sched.low-latency", in: inGlobal, status: ignored, parse: onOff, doc: "keywords-accepted-and-ignored",
		why: "fjord's event loops have no task run queue to reorder"},
	{name: "tune.fd.edge-triggered", in: inGlobal, status: ignored, parse: onOff, doc: "keywords-accepted-and-ignored",
		why: "fjord's event loops are always edge-triggered"},
	{name: "tune.listener.multi-queue", in: inGlobal, status: ignored, parse: onOff, doc: "keywords-accepted-and-ignored",
		why: "each fjord event loop has its own SO_REUSEPORT listening socket"},
	{name: "tune.maxaccept", in: inGlobal, status: ignored, parse: intArg(-1, math.MaxInt32), doc: "keywords-accepted-and-ignored",
		why: "fjord accepts until the kernel's queue is empty or a maxconn limit is reached"},
	{name: "tune.recv_enough", in: inGlobal, status: ignored, parse: intArg(0, math.MaxInt32), doc: "keywords-accepted-and-ignored",
		why: "fjord reads until the socket is drained"},
	{name: "tune.buffers.limit", in: inGlobal, status: ignored, parse: intArg(0, math.MaxInt32), doc: "keywords-accepted-and-ignored",
		why: "fjord allocates no per-connection buffers to limit"},
	{name: "tune.buffers.reserve", in: inGlobal, status: ignored, parse: intArg(0, math.MaxInt32), doc: "keywords-accepted-and-ignored",
		why: "fjord allocates no per-connection buffers to reserve"},
	{name: "tune.idletimer", in: inGlobal, status: ignored, parse: timeArg(65535 * time.Millisecond), doc: "keywords-accepted-and-ignored",
		why: "fjord's splicing does not depend on idle time between reads"},
	{name: "expose-experimental-directives", in: inGlobal, status: ignored, parse: noArgsKw, doc: "keywords-accepted-and-ignored",
		why: "fjord has no experimental directives: what HAProxy 2.6 marks experimental and fjord carries out (http-request normalize-uri) is always available"},

	// HAProxy's TLS internals, and DHE, which fjord does not offer.
	{name: "tune.ssl.default-dh-param", in: inGlobal, status: ignored, parse: defaultDHParam, doc: "keywords-accepted-and-ignored",
		why: "fjord offers no DHE suites: its key exchange is ECDHE only"},
	{name: "ssl-dh-param-file", in: inGlobal, status: ignored, parse: filePathArg, doc: "keywords-accepted-and-ignored",
		why: "fjord offers no DHE suites: its key exchange is ECDHE only"},
	{name: "tune.ssl.cachesize", in: inGlobal, status: ignored, parse: intArg(0, math.MaxInt32), doc: "keywords-accepted-and-ignored",
		why: "fjord keeps no session cache: sessions resume with tickets only"},
	{name: "tune.ssl.force-private-cache", in: inGlobal, status: ignored, parse: noArgsKw, doc: "keywords-accepted-and-ignored",
		why: "fjord runs one process and keeps no session cache to share"},
	{name: "tune.ssl.ssl-ctx-cache-size", in: inGlobal, status: ignored, parse: intArg(0, math.MaxInt32), doc: "keywords-accepted-and-ignored",
		why: "fjord generates no certificates ('generate-certificates' is refused), so it caches none"},
	{name: "tune.ssl.capture-buffer-size", in: inGlobal, status: ignored, parse: captureBufferSize, doc: "keywords-accepted-and-ignored",
		why: "fjord has no ssl_fc_cipherlist_* fetches to read a captured client hello"},
	{name: "tune.ssl.capture-cipherlist-size", in: inGlobal, status: ignored, parse: captureCipherlistSize, doc: "keywords-accepted-and-ignored",
		why: "fjord has no ssl_fc_cipherlist_* fetches to read a captured client hello"},

	// proxies
	{name: "mode", in: inAll, parse: (*parser).kwMode, doc: "mode"},
	{name: "bind", in: inFrontend, side: frontSide, parse: (*parser).kwBind, doc: "bind"},
	{name: "maxconn", in: inDefaults | inFrontend, side: frontSide, parse: kwMaxConn, doc: "maxconn"},
	{name: "default_backend", in: inDefaults | inFrontend, side: frontSide, parse: kwDefaultBackend, doc: "default_backend-and-use_backend"},
	{name: "use_backend", in: inFrontend, side: frontSide, parse: (*parser).kwUseBackend, doc: "default_backend-and-use_backend"},
	{name: "tcp-request", in: inAll, parse: (*parser).kwTCPRequest, doc: "tcp-request"},
	{name: "tcp-response", in: inDefaults | inBackend, side: backSide, parse: (*parser).kwTCPResponse, doc: "tcp-response"},
	{name: "acl", in: inAll, parse: (*parser).kwACL, doc: "acl"},
	{name: "redirect", in: inFrontend | inBackend, parse: (*parser).kwRedirect, doc: "redirect"},
	{name: "http-request", in: inAll, parse: (*parser).kwHTTPRequest, doc: "http-request-http-response-and-http-after-response"},
	{name: "http-response", in: inAll, parse: (*parser).kwHTTPResponse, doc: "http-request-http-response-and-http-after-response"},
	{name: "http-after-response", in: inAll, parse: (*parser).kwHTTPAfterResponse, doc: "http-request-http-response-and-http-after-response"},
	{name: "errorfile", in: inAll, parse: (*parser).kwErrorfile, doc: "errorfile"},
	{name: "errorloc", in: inAll, parse: kwErrorloc("errorloc", 302), doc: "errorloc-errorloc302-and-errorloc303"},
	{name: "errorloc302", in: inAll, parse: kwErrorloc("errorloc302", 302), doc: "errorloc-errorloc302-and-errorloc303"},
	{name: "errorloc303", in: inAll, parse: kwErrorloc("errorloc303", 303), doc: "errorloc-errorloc302-and-errorloc303"},
	{name: "errorfiles", in: inAll, parse: (*parser).kwErrorfiles, doc: "errorfiles-and-http-errors-sections"},
	{name: "http-error", in: inAll, parse: (*parser).kwHTTPError, doc: "http-error"},
	{name: "monitor-uri", in: inDefaults | inFrontend, side: frontSide, parse: (*parser).kwMonitorURI, doc: "monitor-uri-and-monitor-fail"},
	{name: "monitor", in: inFrontend, side: frontSide, parse: (*parser).kwMonitor, doc: "monitor-uri-and-monitor-fail"},
	{name: "balance", in: inDefaults | inBackend, side: backSide, parse: kwBalance, doc: "balance"},
	{name: "hash-type", in: inDefaults | inBackend, side: backSide, parse: kwHashType, doc: "hash-type"},
	{name: "server", in: inBackend, side: backSide, parse: (*parser).kwServer, doc: "server-and-default-server"},
	{name: "default-server", in: inDefaults | inBackend, side: backSide, parse: (*parser).kwDefaultServer, doc: "server-and-default-server"},
	{name: "retries", in: inDefaults | inBackend, side: backSide, parse: kwRetries, doc: "retries"},
	{name: "http-check", in: inDefaults | inBackend, side: backSide, parse: kwHTTPCheck, doc: "http-check-expect"},
	{name: "timeout", in: inAll, parse: (*parser).kwTimeout, doc: "timeout"},
	{name: "contimeout", in: inAll, side: backSide, parse: legacyTimeout("contimeout", "connect"), doc: "legacy-timeout-keywords"},
	{name: "clitimeout", in: inAll, side: frontSide, parse: legacyTimeout("clitimeout", "client"), doc: "legacy-timeout-keywords"},
	{name: "srvtimeout", in: inAll, side: backSide, parse: legacyTimeout("srvtimeout", "server"), doc: "legacy-timeout-keywords"},
	{name: "option", in: inAll, parse: (*parser).kwOption, doc: "option"},
	{name: "no", in: inAll, parse: (*parser).kwNo, doc: "option"},
	{name: "log", in: inAll, parse: (*parser).kwLog, doc: "log"},
	{name: "log-format-json", in: inAll, parse: kwLogFormatJSON, doc: "log-format-json"},
	{name: "log-format", in: inDefaults | inFrontend, side: frontSide, parse: lineFormatKw("log-format"), doc: "log-format"},
	{name: "log-format-sd", in: inDefaults | inFrontend, side: frontSide, parse: lineFormatKw("log-format-sd"), doc: "log-format-sd"},
	{name: "unique-id-format", in: inDefaults | inFrontend, side: frontSide, parse: lineFormatKw("unique-id-format"), doc: "unique-id-format-and-unique-id-header"},
	{name: "unique-id-header", in: inDefaults | inFrontend, side: frontSide, parse: kwUniqueIDHeader, doc: "unique-id-format-and-unique-id-header"},
	{name: "capture", in: inFrontend, side: frontSide, parse: kwCapture, doc: "capture"},
	{name: "declare", in: inFrontend, side: frontSide, parse: kwDeclare, doc: "capture"},
	{name: "stats", in: inAll, parse: (*parser).kwStats, doc: "stats"},

	// userlist (userlist.go)
	{name: "group", in: inUserlist, parse: ulGroup, doc: "the-userlist-section"},
	{name: "user", in: inUserlist, parse: ulUser, doc: "the-userlist-section"},
}

func init() {
	registry = make(map[string][]*keyword, len(keywordTable))
	for i := range keywordTable {
		kw := &keywordTable[i]
		for _, other := range registry[kw.name] {
			if other.in&kw.in != 0 {
				panic("config: keyword registered twice for one section: " + kw.name)
			}
		}
		registry[kw.name] = append(registry[kw.name], kw)
	}
}

// lookup returns the row of name for the sections here, or the rows of
// name for other sections (to say where it is allowed).
func lookup(name string, here sections) (kw *keyword, elsewhere sections) {
	for _, k := range registry[name] {
		if k.in&here != 0 {
			return k, 0
		}
		if k.status != refused {
			elsewhere |= k.in
		}
	}
	return nil, elsewhere
}

// keywordLine reads one line of a section with the registry.
func (p *parser) keywordLine(pos Pos, words []string) {
	name, args := words[0], words[1:]
	kw, elsewhere := lookup(name, p.sectionSet())
	switch {
	case kw == nil && elsewhere != 0:
		p.errorf(pos, "'%s' is not allowed in a '%s' section (allowed in: %s)", name, p.section, elsewhere.names())
		return
	case kw == nil:
		p.errorf(pos, "unknown keyword '%s' in '%s' section", name, p.section)
		return
	case kw.status == refused:
		p.errorf(pos, "%s", kw.why)
		return
	case kw.status == ignored:
		if err := kw.parse(p, p.cur, pos, args); err != nil {
			p.errorf(pos, "'%s' %v", name, err)
			return
		}
		p.notice(Notice, pos, "'%s' is accepted and changes nothing: %s", name, kw.why)
		return
	case kw.status == supported:
		if err := kw.parse(p, p.cur, pos, args); err != nil {
			p.errorf(pos, "%v", err)
		}
	}
}

// sectionSet is the kind of the current section, as a set.
func (p *parser) sectionSet() sections {
	switch p.section {
	case "global":
		return inGlobal
	case "defaults":
		return inDefaults
	case "frontend":
		return inFrontend
	case "backend":
		return inBackend
	case "userlist":
		return inUserlist
	}
	return inFrontend | inBackend // listen
}

// Keywords lists the registry for documentation and tests: each
// keyword's name, where it is allowed and how fjord treats it.
func Keywords() []KeywordInfo {
	out := make([]KeywordInfo, 0, len(keywordTable))
	for _, kw := range keywordTable {
		out = append(out, KeywordInfo{
			Name:     kw.name,
			Global:   kw.in&inGlobal != 0,
			Defaults: kw.in&inDefaults != 0,
			Frontend: kw.in&inFrontend != 0,
			Backend:  kw.in&inBackend != 0,
			Userlist: kw.in&inUserlist != 0,
			Side:     [...]string{bothSides: "both", frontSide: "frontend", backSide: "backend"}[kw.side],
			Ignored:  kw.status == ignored,
			Refused:  kw.status == refused,
			Doc:      kw.doc,
			Why:      kw.why,
		})
	}
	return out
}

// KeywordInfo describes one registered keyword.
type KeywordInfo struct {
	Name                                string
	Global, Defaults, Frontend, Backend bool   // where it is allowed (listen: frontend or backend)
	Userlist                            bool   // allowed in a userlist section
	Side                                string // "frontend", "backend" or "both"
	Ignored, Refused                    bool
	Doc                                 string // anchor in docs/configuration.md
	Why                                 string
}

// The global keywords' parsers. px is nil.

func glMaxConn(p *parser, _ *Proxy, _ Pos, args []string) error {
	return oneInt("maxconn", args, 1, math.MaxInt32, &p.cfg.Global.MaxConn)
}

func glLog(p *parser, _ *Proxy, pos Pos, args []string) error {
	g := &p.cfg.Global
	if len(args) == 1 && args[0] == "global" {
		return fmt.Errorf("'log global' is only meaningful in a proxy section")
	}
	t, err := parseLogTarget(p.resolver, pos, args)
	if err != nil {
		return err
	}
	p.sampleNotice(t)
	if len(g.Logs) == maxLogTargetsPerProxy {
		return fmt.Errorf("too many 'log' lines in the global section: at most %d targets", maxLogTargetsPerProxy)
	}
	g.Logs = append(g.Logs, t)
	return nil
}

func glStats(p *parser, _ *Proxy, pos Pos, args []string) error { return p.globalStats(pos, args) }

func glUser(p *parser, _ *Proxy, _ Pos, args []string) error {
	return oneWord("user", "a name", args, &p.cfg.Global.User)
}

func glGroup(p *parser, _ *Proxy, _ Pos, args []string) error {
	return oneWord("group", "a name", args, &p.cfg.Global.Group)
}

func glUID(p *parser, _ *Proxy, _ Pos, args []string) error {
	return oneInt("uid", args, 0, math.MaxInt32, &p.cfg.Global.UID)
}

func glGID(p *parser, _ *Proxy, _ Pos, args []string) error {
	return oneInt("gid", args, 0, math.MaxInt32, &p.cfg.Global.GID)
}

func glDaemon(p *parser, _ *Proxy, _ Pos, args []string) error {
	p.cfg.Global.Daemon = true
	return noArgs("daemon", args)
}

func glNbThread(p *parser, _ *Proxy, _ Pos, args []string) error {
	return oneInt("nbthread", args, 1, maxThreads, &p.cfg.Global.NbThread)
}

func glPIDFile(p *parser, _ *Proxy, _ Pos, args []string) error {
	return oneWord("pidfile", "a file path", args, &p.cfg.Global.PIDFile)
}

func glUlimitN(p *parser, _ *Proxy, _ Pos, args []string) error {
	return oneInt("ulimit-n", args, 1, math.MaxInt32, &p.cfg.Global.UlimitN)
}

func glPipeSize(p *parser, _ *Proxy, _ Pos, args []string) error {
	g := &p.cfg.Global
	// An explicit size is every pipe's size, as in HAProxy: no growing
	// for bulk flows.
	if err := oneSize("tune.pipesize", args, minPipeSize, maxPipeSize, &g.TunePipeSize); err != nil {
		return err
	}
	g.TuneBulkPipeSize = g.TunePipeSize
	return nil
}

func glBufSize(p *parser, _ *Proxy, _ Pos, args []string) error {
	return oneSize("tune.bufsize", args, minBufSize, maxBufSize, &p.cfg.Global.TuneBufSize)
}

func glMaxRewrite(p *parser, _ *Proxy, _ Pos, args []string) error {
	return oneInt("tune.maxrewrite", args, 0, math.MaxInt32, &p.cfg.Global.TuneMaxRewrite)
}

func glMaxPollEvents(p *parser, _ *Proxy, _ Pos, args []string) error {
	return oneInt("tune.maxpollevents", args, 1, 1<<16, &p.cfg.Global.TuneMaxPollEvents)
}

func glSysctl(p *parser, _ *Proxy, _ Pos, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("'tune.sysctl' expects on, off or check")
	}
	switch args[0] {
	case "on":
		p.cfg.Global.Sysctl = SysctlOn
	case "off":
		p.cfg.Global.Sysctl = SysctlOff
	case "check":
		p.cfg.Global.Sysctl = SysctlCheck
	default:
		return fmt.Errorf("'tune.sysctl' expects on, off or check, not '%s'", args[0])
	}
	return nil
}

func glSchedBatch(p *parser, _ *Proxy, pos Pos, args []string) error {
	if err := onOff(p, nil, pos, args); err != nil {
		return fmt.Errorf("'tune.sched-batch' %v", err)
	}
	p.cfg.Global.TuneSchedBatch = args[0] == "on"
	return nil
}

// maxBusyWindow bounds "busy-polling adaptive": past a few milliseconds
// spinning saves nothing a wake-up costs, and burns a core.
const maxBusyWindow = 10 * time.Millisecond

// glBusyPolling reads "busy-polling" (HAProxy's: never sleep in the
// poller) and fjord's "busy-polling adaptive [TIME]": spin for TIME
// (default 100us) after the last event, then sleep.
func glBusyPolling(p *parser, _ *Proxy, _ Pos, args []string) error {
	bp := BusyPolling{On: true}
	switch {
	case len(args) == 0:
	case args[0] == "adaptive" && len(args) <= 2:
		bp.Window = 100 * time.Microsecond
		if len(args) == 2 {
			d, err := parseDuration(args[1])
			if err != nil {
				return fmt.Errorf("'busy-polling adaptive': %v", err)
			}
			if d <= 0 || d > maxBusyWindow {
				return fmt.Errorf("'busy-polling adaptive %s': the window must be above 0 and at most %v", args[1], maxBusyWindow)
			}
			bp.Window = d
		}
	default:
		return fmt.Errorf("'busy-polling' takes no argument, or 'adaptive [TIME]' (fjord), not '%s'", strings.Join(args, " "))
	}
	p.cfg.Global.BusyPolling = bp
	return nil
}

// glSockmap reads "tune.sockmap off|auto|on" (fjord addition).
func glSockmap(p *parser, _ *Proxy, _ Pos, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("'tune.sockmap' expects %s", sockmapWords.alternatives())
	}
	m, ok := sockmapWords.parse(args[0])
	if !ok {
		return fmt.Errorf("'tune.sockmap' expects %s, not '%s'", sockmapWords.alternatives(), args[0])
	}
	p.cfg.Global.TuneSockmap = m
	return nil
}

func glHardStopAfter(p *parser, _ *Proxy, _ Pos, args []string) error {
	return oneDuration("hard-stop-after", args, &p.cfg.Global.HardStopAfter)
}

func glLogAnonymize(p *parser, _ *Proxy, _ Pos, args []string) error {
	a, err := parseAnonymize(args)
	if err != nil {
		return err
	}
	p.cfg.Global.LogAnonymize = a
	return nil
}

func glLogRetention(p *parser, _ *Proxy, _ Pos, args []string) error {
	return oneInt("log-retention (days)", args, 1, 36500, &p.cfg.Global.LogRetention)
}

// The argument checks of ignored keywords: their values change nothing,
// but a malformed one is still an error, as in HAProxy.

func onOff(_ *parser, _ *Proxy, _ Pos, args []string) error {
	if len(args) != 1 || (args[0] != "on" && args[0] != "off") {
		return fmt.Errorf("expects on or off")
	}
	return nil
}

// intArg checks an ignored keyword's one integer, in HAProxy's range.
func intArg(min, max int) func(*parser, *Proxy, Pos, []string) error {
	return func(_ *parser, _ *Proxy, _ Pos, args []string) error {
		if len(args) != 1 {
			return fmt.Errorf("expects one integer (%d to %d)", min, max)
		}
		if _, err := parseInt("value", args[0], min, max); err != nil {
			return fmt.Errorf("expects an integer from %d to %d: %v", min, max, err)
		}
		return nil
	}
}

// timeArg checks an ignored keyword's one time value, at most max.
func timeArg(max time.Duration) func(*parser, *Proxy, Pos, []string) error {
	return func(_ *parser, _ *Proxy, _ Pos, args []string) error {
		var d time.Duration
		if err := oneDuration("value", args, &d); err != nil {
			return fmt.Errorf("expects one time value: %v", err)
		}
		if d > max {
			return fmt.Errorf("expects a time value of at most %v, not %s", max, args[0])
		}
		return nil
	}
}

func noArgsKw(_ *parser, _ *Proxy, _ Pos, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("takes no argument (found '%s')", args[0])
	}
	return nil
}
