// Package config reads HAProxy-style configuration files into a validated,
// typed model. It imports nothing else of fjord's.
package config

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Error is a configuration error tied to a place in a file.
type Error struct {
	Pos Pos
	Msg string
}

func (e *Error) Error() string { return fmt.Sprintf("parsing [%s] : %s", e.Pos, e.Msg) }

func errorf(pos Pos, format string, args ...any) *Error {
	return &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

// ErrorList is every error found in a configuration, in file order.
type ErrorList []*Error

func (l ErrorList) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Severity of a Diagnostic.
type Severity int

const (
	Notice  Severity = iota // informational: legacy keyword, difference from HAProxy
	Warning                 // probably a mistake, but valid
	Diag                    // a '.diag' line's message, kept only with Options.Diag
)

func (s Severity) String() string {
	switch s {
	case Warning:
		return "WARNING"
	case Diag:
		return "DIAG"
	}
	return "NOTICE"
}

// Diagnostic is a notice or warning that does not invalidate a configuration.
type Diagnostic struct {
	Severity Severity
	Pos      Pos
	Msg      string
}

func (d Diagnostic) String() string {
	return fmt.Sprintf("[%s] parsing [%s] : %s", d.Severity, d.Pos, d.Msg)
}

// Options tune how a configuration is read.
type Options struct {
	// Resolver looks up server and bind host names. Nil means the system
	// resolver; use NoResolver to refuse every name.
	Resolver Resolver
	// LookupEnv looks up the environment variables a configuration
	// names ("${NAME}"). Nil means the process environment.
	LookupEnv func(name string) (string, bool)
	// LocalPeer is what HAPROXY_LOCALPEER holds, as HAProxy's '-L'
	// sets it. Empty means the host name, HAProxy's default.
	LocalPeer string
	// Diag keeps the messages of '.diag' lines as diagnostics, as
	// HAProxy's diagnostic mode (-dD) prints them; otherwise they are
	// dropped, as HAProxy drops them by default.
	Diag bool
}

// NoResolver refuses to resolve names: only literal addresses are accepted.
var NoResolver Resolver = noResolver{}

// Load reads and validates the given files in order, as "-f" does. A
// directory stands for the *.cfg files in it, in lexical order (see
// configDir).
func Load(paths []string, opts Options) (*Config, error) {
	p := newParser(opts)
	for _, path := range paths {
		files := []string{path}
		if st, err := os.Stat(path); err == nil && st.IsDir() {
			var derr error
			if files, derr = configDir(path); derr != nil {
				p.errs = append(p.errs, errorf(Pos{File: path}, "%v", derr))
				continue
			}
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				p.errs = append(p.errs, errorf(Pos{File: f}, "cannot read configuration file: %v", unwrapPathErr(err)))
				continue
			}
			p.parseFile(f, data)
		}
	}
	return p.finish()
}

// Parse reads and validates one configuration held in memory; name is used
// in positions.
func Parse(name string, data []byte, opts Options) (*Config, error) {
	p := newParser(opts)
	p.parseFile(name, data)
	return p.finish()
}

// configDir lists the configuration files of a directory given to "-f" as
// HAProxy does: regular files (symbolic links followed) whose names end in
// ".cfg" and do not start with ".", in lexical order. A directory without
// any is an error, not an empty configuration.
func configDir(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("cannot read configuration directory: %v", unwrapPathErr(err))
	}
	var files []string
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".cfg") || strings.HasPrefix(name, ".") {
			continue
		}
		f := filepath.Join(dir, name)
		if st, err := os.Stat(f); err != nil || !st.Mode().IsRegular() {
			continue
		}
		files = append(files, f)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no configuration file (*.cfg) in directory")
	}
	sort.Strings(files)
	return files, nil
}

func unwrapPathErr(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

type noResolver struct{}

func (noResolver) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	return nil, errors.New("name resolution is disabled")
}

// parser holds the state of one configuration being read.
type parser struct {
	cfg      *Config
	errs     ErrorList
	resolver Resolver
	lx       lexer

	section  string // current section keyword; "" before the first section
	cur      *Proxy // current frontend/backend/listen, or the current defaults
	defaults *Proxy // the last defaults section; proxies start as a copy of it
	extra    extras // per-proxy parse state not part of the model
	lastPos  Pos    // last line seen, for errors about the whole configuration

	// Named defaults (defaults.go): every defaults section read, in
	// order, and the 'from' names that found none above them.
	allDefaults     []*Proxy
	missingDefaults []missingDefaults

	// TLS parse state (tlsbind.go, tlsserver.go, tlsglobal.go).
	firstTLSLine  Pos                         // the first bind or server line with a TLS option
	sslCapturePos Pos                         // tune.ssl.capture-buffer-size, once
	srvTLS        map[*Server]*serverTLSState // what TLS options of server lines said, until validate

	// Sample expressions (sample.go): map files read once per path, and
	// the userlist and backend names arguments refer to, checked once
	// every section is read.
	maps         map[string]*MapFile
	pendingNames []pendingName

	ul *userlistState // the userlist section being read, or nil (userlist.go)

	// fcgi-app sections (fcgiapp.go): the one being read, and every one
	// (their private proxies) for duplicate names.
	fcgi     *fcgiAppState
	fcgiApps []*Proxy

	// replyErrorfiles are the rules whose answer names an http-errors
	// section ("errorfiles NAME"), resolved once every section is read.
	replyErrorfiles []*HTTPRule
	// Error pages (errorpages.go).
	curErrs       *HTTPErrors           // the http-errors section being read
	errFiles      map[string]*errorFile // every file an errorfile line read, by path
	errDirectives []*errDirective       // every errorfile, errorloc and errorfiles line of a proxy or defaults
	sized         []sizedPage           // every page, for the tune.bufsize check
}

// extras is per-proxy state the model does not need to carry.
type extras map[*Proxy]*proxyExtra

type proxyExtra struct {
	logGlobal bool
	acls      map[string]*ACL
	conds     []pendingCond
	checkNote bool // the layer-7 default notice was given
	modePos   Pos
	errs      []*errDirective // error page lines in order, the defaults' first
	// monitorPos is the monitor-uri line; monitorInherited says it is
	// the defaults section's.
	monitorPos       Pos
	monitorInherited bool
	// use is how proxies used this defaults section; rulesFrom is the
	// defaults section whose rules head this proxy's (defaults.go).
	use       defaultsUse
	rulesFrom *Proxy
}

// pendingCond is a condition whose ACL names are resolved when its section
// ends, so that an ACL may be declared after the rule that uses it.
type pendingCond struct {
	cond  *Condition
	names [][]condName
}

type condName struct {
	pos    Pos
	name   string
	negate bool
	anon   *ACL
}

func newParser(opts Options) *parser {
	r := opts.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	if _, ok := r.(noResolver); ok {
		r = nil
	}
	p := &parser{
		cfg:      &Config{Global: DefaultGlobal()},
		resolver: r,
		lx:       lexer{vars: environment(opts), diag: opts.Diag},
		extra:    extras{},
		srvTLS:   map[*Server]*serverTLSState{},
		maps:     map[string]*MapFile{},
		errFiles: map[string]*errorFile{},
	}
	p.defaults = builtinDefaults()
	p.extra[p.defaults] = &proxyExtra{}
	return p
}

// DefaultGlobal is the global section of a configuration that sets
// nothing.
func DefaultGlobal() Global {
	return Global{
		MaxConn:           DefaultGlobalMaxConn,
		UID:               -1,
		GID:               -1,
		TunePipeSize:      DefaultPipeSize,
		TuneBulkPipeSize:  DefaultBulkPipeSize,
		TuneBufSize:       DefaultBufSize,
		TuneMaxRewrite:    -1,
		TuneMaxPollEvents: DefaultMaxPollEvents,
		TuneSchedBatch:    true,
		LogRetention:      DefaultLogRetentionDays,
		StatsTimeout:      DefaultStatsTimeout,
		StatsMaxConn:      DefaultStatsMaxConn,
		ServerVerify:      VerifyRequired, // HAProxy's default
		LoadExtraFiles:    ExtraAll,
		TuneSSLLifetime:   DefaultSSLLifetime,
	}
}

// builtinDefaults is what a proxy gets when no defaults section precedes it.
func builtinDefaults() *Proxy {
	return &Proxy{
		Section:  "defaults",
		Caps:     CapFrontend | CapBackend,
		Mode:     ModeTCP,
		Retries:  3,
		Balance:  Balance{Algorithm: BalanceRoundRobin},
		HashType: HashType{Method: HashMapBased, Function: HashSDBM},
		DefaultServer: Server{
			Inter:      DefaultInter,
			Rise:       DefaultRise,
			Fall:       DefaultFall,
			Weight:     DefaultWeight,
			ErrorLimit: DefaultErrorLimit,
			OnError:    OnErrorFailCheck,
		},
	}
}

func (p *parser) errorf(pos Pos, format string, args ...any) {
	p.errs = append(p.errs, errorf(pos, format, args...))
}

func (p *parser) notice(sev Severity, pos Pos, format string, args ...any) {
	p.cfg.Diagnostics = append(p.cfg.Diagnostics, Diagnostic{Severity: sev, Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

// sectionKeywords are the words that open a section.
var sectionKeywords = map[string]bool{
	"global": true, "defaults": true, "frontend": true, "backend": true, "listen": true,
	"userlist":    true,
	"http-errors": true,
	"fcgi-app":    true,
}

func (p *parser) parseFile(name string, data []byte) {
	lines, errs, diags := p.lx.lex(name, data)
	p.errs = append(p.errs, errs...)
	// The messages of '.notice' and '.warning' lines go among the
	// parser's own, in line order.
	p.section, p.cur = "", nil
	for _, l := range lines {
		for len(diags) > 0 && diags[0].Pos.Line < l.pos.Line {
			p.cfg.Diagnostics = append(p.cfg.Diagnostics, diags[0])
			diags = diags[1:]
		}
		p.lastPos = l.pos
		kw := l.words[0]
		if sectionKeywords[kw] {
			p.endSection()
			p.openSection(l.pos, kw, l.words[1:])
			continue
		}
		switch {
		case p.section == "":
			p.errorf(l.pos, "unknown keyword '%s' out of section", kw)
		case p.section == "http-errors":
			p.httpErrorsLine(l.pos, l.words)
		case p.section == "fcgi-app":
			p.fcgiAppLine(l.pos, l.words)
		case p.section == "global" || p.section == "userlist" || p.cur != nil:
			p.keywordLine(l.pos, l.words)
		}
	}
	p.cfg.Diagnostics = append(p.cfg.Diagnostics, diags...)
	p.endSection()
	if p.lastPos.File != name {
		p.lastPos = Pos{File: name, Line: 1}
	}
}

func (p *parser) openSection(pos Pos, kw string, args []string) {
	p.section = kw
	p.cur = nil
	switch kw {
	case "global":
		if len(args) > 0 {
			p.errorf(pos, "'global' takes no argument (found '%s')", args[0])
		}
		return
	case "http-errors":
		p.openHTTPErrors(pos, args)
		return
	case "defaults":
		p.openDefaults(pos, args)
		return
	case "userlist":
		p.openUserlist(pos, args)
		return
	case "fcgi-app":
		p.openFCGIApp(pos, args)
		return
	}
	if len(args) == 0 {
		p.errorf(pos, "'%s' needs a name", kw)
		args = []string{fmt.Sprintf("<unnamed %s at line %d>", kw, pos.Line)}
	}
	name := args[0]
	if i := strings.IndexFunc(name, func(r rune) bool { return !isNameChar(r) }); i >= 0 && !strings.HasPrefix(name, "<unnamed") {
		p.errorf(pos, "invalid character '%c' in %s name '%s' (letters, digits, '-', '_', '.' and ':' only)", name[i], kw, name)
	}
	from, err := proxyHeader(kw, name, args[1:])
	if err != nil {
		p.errorf(pos, "%v", err)
	}
	d := p.proxyDefaults(pos, kw, name, from)
	if d == nil {
		d = builtinDefaults() // 'from' named none: an error was given
	}
	px := p.inherit(d)
	px.Pos, px.Section, px.Name = pos, kw, name
	switch kw {
	case "frontend":
		px.Caps = CapFrontend
	case "backend":
		px.Caps = CapBackend
	case "listen":
		px.Caps = CapFrontend | CapBackend
	}
	p.inheritRules(pos, px, d)
	for _, other := range p.cfg.Proxies {
		if other.Name == name && other.Caps&px.Caps != 0 {
			p.errorf(pos, "%s '%s' has the same name as %s declared at %s", kw, name, other, other.Pos)
			break
		}
	}
	p.cfg.Proxies = append(p.cfg.Proxies, px)
	p.cur = px
}

// checkName refuses a name (of a server, an ACL) with a character HAProxy
// does not allow in one.
func checkName(what, name string) error {
	for _, r := range name {
		if !isNameChar(r) {
			return fmt.Errorf("invalid character %q in %s name '%s'", r, what, name)
		}
	}
	return nil
}

func isNameChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.:", r)
}

// inherit returns a new proxy holding the inheritable settings of d.
// Binds, servers, ACLs and rules belong to one section and are not copied.
func (p *parser) inherit(d *Proxy) *Proxy {
	px := *d
	px.Binds, px.Servers, px.ACLs, px.UseBackends, px.Redirects = nil, nil, nil, nil, nil
	px.MonitorFail, px.ErrorPages = nil, nil
	// Rules and the capture slots they declare come with inheritRules,
	// once HAProxy's restrictions are checked.
	px.TCPConnection, px.TCPSession, px.TCPContent, px.TCPResponse = nil, nil, nil, nil
	px.HTTPRequest, px.HTTPResponse, px.HTTPAfterResponse = nil, nil, nil
	px.CaptureRequest, px.CaptureResponse = nil, nil
	px.Logs = append([]LogTarget(nil), d.Logs...)
	px.Stats.Auth = append([]Credential(nil), d.Stats.Auth...)
	px.Stats.Admin = append([]*Condition(nil), d.Stats.Admin...)
	x := &proxyExtra{acls: map[string]*ACL{}}
	if dx := p.extra[d]; dx != nil {
		x.logGlobal = dx.logGlobal
		x.errs = append([]*errDirective(nil), dx.errs...)
		x.monitorPos, x.monitorInherited = dx.monitorPos, true
	}
	p.extra[&px] = x
	p.inheritServerTLS(&px.DefaultServer, &d.DefaultServer)
	return &px
}

// endSection resolves what could only be resolved once the section was
// complete: ACL references in conditions, the names of a userlist's
// groups and users.
func (p *parser) endSection() {
	if p.ul != nil {
		p.endUserlist()
	}
	if p.fcgi != nil {
		p.endFCGIApp()
	}
	p.curErrs = nil
	if p.cur == nil {
		return
	}
	x := p.extra[p.cur]
	for _, pc := range x.conds {
		pc.cond.Or = nil
		ok := true
		for _, group := range pc.names {
			var and []CondTerm
			for _, n := range group {
				acl := n.anon
				if acl == nil {
					acl = x.acls[n.name]
				}
				if acl == nil {
					acl = predefinedACL(n.name)
				}
				if acl == nil {
					p.errorf(n.pos, "%s: condition refers to undefined ACL '%s'", p.cur, n.name)
					ok = false
					continue
				}
				and = append(and, CondTerm{Negate: n.negate, ACL: acl})
			}
			pc.cond.Or = append(pc.cond.Or, and)
		}
		if !ok {
			pc.cond.Or = nil
		}
	}
	x.conds = nil
	p.cur = nil
}

// finish validates what spans sections and returns the configuration.
func (p *parser) finish() (*Config, error) {
	p.explainMissingDefaults()
	p.validate()
	// Report in file order: files in the order given, lines ascending.
	order := map[string]int{}
	for _, e := range p.errs {
		if _, ok := order[e.Pos.File]; !ok {
			order[e.Pos.File] = len(order)
		}
	}
	sort.SliceStable(p.errs, func(i, j int) bool {
		a, b := p.errs[i].Pos, p.errs[j].Pos
		if a.File != b.File {
			return order[a.File] < order[b.File]
		}
		return a.Line < b.Line
	})
	if len(p.errs) > 0 {
		return p.cfg, p.errs
	}
	return p.cfg, nil
}
