package config

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// testFile is the name every in-memory configuration is parsed under.
const testFile = "test.cfg"

// fakeResolver answers host lookups from a table and never touches the
// network. It records the lookups it was asked for.
type fakeResolver struct {
	hosts map[string][]netip.Addr

	mu    sync.Mutex
	calls []string // "network host"
}

func newFakeResolver(hosts map[string]string) *fakeResolver {
	r := &fakeResolver{hosts: map[string][]netip.Addr{}}
	for name, list := range hosts {
		for _, a := range strings.Fields(list) {
			r.hosts[name] = append(r.hosts[name], netip.MustParseAddr(a))
		}
	}
	return r
}

func (r *fakeResolver) LookupNetIP(_ context.Context, network, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	r.calls = append(r.calls, network+" "+host)
	r.mu.Unlock()
	if a, ok := r.hosts[host]; ok {
		return a, nil
	}
	return nil, errors.New("no such host")
}

// testResolver knows a few names under the reserved .test domain.
func testResolver() *fakeResolver {
	return newFakeResolver(map[string]string{
		"web1.test":   "192.0.2.11",
		"web2.test":   "2001:db8::12 192.0.2.12", // IPv4 must be preferred
		"v6only.test": "2001:db8::13",
		"mapped.test": "::ffff:192.0.2.14",
		"check.test":  "192.0.2.99",
		"syslog.test": "192.0.2.50",
		"lb.test":     "127.0.0.1",
		"empty.test":  "",
	})
}

// lines joins configuration lines.
func lines(l ...string) string { return strings.Join(l, "\n") + "\n" }

// parseWith parses text as testFile with the given resolver.
func parseWith(t *testing.T, r Resolver, text string) (*Config, ErrorList) {
	t.Helper()
	cfg, err := Parse(testFile, []byte(text), Options{Resolver: r})
	if cfg == nil {
		t.Fatalf("Parse returned a nil configuration (err: %v)", err)
	}
	if err == nil {
		return cfg, nil
	}
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("Parse returned %T, want ErrorList: %v", err, err)
	}
	if len(list) == 0 {
		t.Fatalf("Parse returned an empty ErrorList as a non-nil error")
	}
	return cfg, list
}

// parse parses text without name resolution.
func parse(t *testing.T, text string) (*Config, ErrorList) {
	t.Helper()
	return parseWith(t, NoResolver, text)
}

// mustParse parses text and fails the test on any error.
func mustParse(t *testing.T, text string) *Config {
	t.Helper()
	cfg, errs := parse(t, text)
	if errs != nil {
		t.Fatalf("unexpected errors:\n%v\nconfiguration:\n%s", errs, numbered(text))
	}
	return cfg
}

// numbered returns text with line numbers, for failure messages.
func numbered(text string) string {
	var b strings.Builder
	for i, l := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		fmt.Fprintf(&b, "%3d| %s\n", i+1, l)
	}
	return b.String()
}

// lineOf returns the 1-based number of the first line of text containing
// substr.
func lineOf(t *testing.T, text, substr string) int {
	t.Helper()
	for i, l := range strings.Split(text, "\n") {
		if strings.Contains(l, substr) {
			return i + 1
		}
	}
	t.Fatalf("no line contains %q", substr)
	return 0
}

func at(line int) Pos { return Pos{File: testFile, Line: line} }

// proxy returns the proxy of the given section kind and name.
func proxy(t *testing.T, cfg *Config, section, name string) *Proxy {
	t.Helper()
	for _, p := range cfg.Proxies {
		if p.Section == section && p.Name == name {
			return p
		}
	}
	t.Fatalf("no %s '%s' in the configuration", section, name)
	return nil
}

// diags returns the diagnostics whose message contains substr.
func diags(cfg *Config, substr string) []Diagnostic {
	var out []Diagnostic
	for _, d := range cfg.Diagnostics {
		if strings.Contains(d.Msg, substr) {
			out = append(out, d)
		}
	}
	return out
}

// condString renders a condition as "if a !b || c", anonymous ACLs by their
// "{...}" names.
func condString(c *Condition) string {
	if c == nil {
		return "<nil>"
	}
	var b strings.Builder
	if c.Unless {
		b.WriteString("unless")
	} else {
		b.WriteString("if")
	}
	for i, and := range c.Or {
		if i > 0 {
			b.WriteString(" ||")
		}
		for _, term := range and {
			b.WriteByte(' ')
			if term.Negate {
				b.WriteByte('!')
			}
			b.WriteString(term.ACL.Name)
		}
	}
	return b.String()
}

// seedPath is the seed article's template as written, in the repository's
// examples.
func seedPath(t *testing.T) string {
	t.Helper()
	const path = "../examples/seed-template.cfg"
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestSeedTemplateHasOneError(t *testing.T) {
	path := seedPath(t)
	cfg, err := Load([]string{path}, Options{Resolver: NoResolver})
	if err == nil {
		t.Fatal("the seed template loaded without error; want the undefined backend 'static_servers'")
	}
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("Load returned %T, want ErrorList", err)
	}
	if len(list) != 1 {
		t.Fatalf("got %d errors, want exactly 1:\n%v", len(list), list)
	}
	e := list[0]
	if e.Pos != (Pos{File: path, Line: 23}) {
		t.Errorf("error at %v, want %s:23", e.Pos, path)
	}
	for _, want := range []string{"static_servers", "undefined backend", "http_front"} {
		if !strings.Contains(e.Msg, want) {
			t.Errorf("error %q does not mention %q", e.Msg, want)
		}
	}
	if !strings.Contains(e.Error(), path+":23") {
		t.Errorf("Error() = %q does not carry %s:23", e.Error(), path)
	}
	for _, legacy := range []string{"contimeout", "clitimeout", "srvtimeout"} {
		if strings.Contains(err.Error(), legacy) {
			t.Errorf("an error mentions %s: %v", legacy, err)
		}
	}
	// The rest of the configuration was still read.
	if cfg == nil || len(cfg.Proxies) != 2 {
		t.Fatalf("want 2 proxies read despite the error, got %v", cfg)
	}
}

func TestSeedTemplateWithStaticBackend(t *testing.T) {
	path := seedPath(t)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.TrimRight(string(data), "\n") + "\n" + lines(
		"backend static_servers",
		"mode http",
		"server static01 10.0.0.4:80 check",
	)
	cfg, errs := parse(t, text)
	if errs != nil {
		t.Fatalf("unexpected errors: %v", errs)
	}

	for _, c := range []struct{ legacy, modern string }{
		{"contimeout", "timeout connect"},
		{"clitimeout", "timeout client"},
		{"srvtimeout", "timeout server"},
	} {
		ds := diags(cfg, "'"+c.legacy+"'")
		if len(ds) != 1 {
			t.Errorf("%s: got %d diagnostics, want 1: %v", c.legacy, len(ds), cfg.Diagnostics)
			continue
		}
		d := ds[0]
		if d.Severity != Notice || d.Pos != at(lineOf(t, text, c.legacy)) || !strings.Contains(d.Msg, "'"+c.modern+"'") {
			t.Errorf("%s: diagnostic %v; want a NOTICE at line %d naming '%s'", c.legacy, d, lineOf(t, text, c.legacy), c.modern)
		}
	}

	g := cfg.Global
	if g.MaxConn != 4096 || g.User != "haproxy" || g.Group != "haproxy" || !g.Daemon {
		t.Errorf("global = %+v", g)
	}
	wantLogs := []LogTarget{
		{Pos: at(2), Kind: LogUDP, Addr: netip.MustParseAddrPort("127.0.0.1:514"), Facility: 16, Level: 7, Format: LogRFC3164, MaxLen: 1024},
		{Pos: at(3), Kind: LogUDP, Addr: netip.MustParseAddrPort("127.0.0.1:514"), Facility: 17, Level: 5, Format: LogRFC3164, MaxLen: 1024},
	}
	if !reflect.DeepEqual(g.Logs, wantLogs) {
		t.Errorf("global logs = %+v, want %+v", g.Logs, wantLogs)
	}

	fe := proxy(t, cfg, "frontend", "http_front")
	wantTimeouts := Timeouts{Connect: 5 * time.Second, Client: 50 * time.Second, Server: 50 * time.Second}
	for _, px := range cfg.Proxies {
		if px.Mode != ModeHTTP || px.Retries != 3 || !px.Redispatch || !px.HTTPLog || !px.DontLogNull || px.MaxConn != 2000 {
			t.Errorf("%s %s did not inherit the defaults: %+v", px.Section, px.Name, px)
		}
		if px.Timeouts != wantTimeouts {
			t.Errorf("%s %s timeouts = %+v, want %+v", px.Section, px.Name, px.Timeouts, wantTimeouts)
		}
		if !reflect.DeepEqual(px.Logs, wantLogs) {
			t.Errorf("%s %s: 'log global' gave %+v", px.Section, px.Name, px.Logs)
		}
	}
	if len(fe.Binds) != 1 || fe.Binds[0].Addr != netip.MustParseAddrPort("0.0.0.0:80") {
		t.Errorf("binds = %v", fe.Binds)
	}
	if len(fe.UseBackends) != 1 || fe.UseBackends[0].Backend != "static_servers" || condString(fe.UseBackends[0].Cond) != "if url_static" {
		t.Errorf("use_backend = %+v", fe.UseBackends)
	}
	if fe.DefaultBackend != "web_servers" {
		t.Errorf("default_backend = %q", fe.DefaultBackend)
	}
	if len(fe.ACLs) != 1 || !reflect.DeepEqual(fe.ACLs[0].Terms[0].Values, []string{"/images", "/stylesheets", "/javascripts"}) {
		t.Errorf("acls = %+v", fe.ACLs)
	}

	be := cfg.Backend("web_servers")
	if be == nil {
		t.Fatal("no backend web_servers")
	}
	if len(be.Servers) != 2 {
		t.Fatalf("servers = %v", be.Servers)
	}
	for i, s := range be.Servers {
		want := Server{
			Pos: at(29 + i), Name: []string{"web01", "web02"}[i],
			Addr:  netip.MustParseAddrPort([]string{"10.0.0.2:80", "10.0.0.3:80"}[i]),
			Check: true, Inter: 2 * time.Second, Rise: 2, Fall: 3, Weight: 1,
			ErrorLimit: DefaultErrorLimit, OnError: OnErrorFailCheck,
		}
		if *s != want {
			t.Errorf("server %d = %+v\nwant %+v", i, *s, want)
		}
	}
	wantStats := Stats{Enabled: true, URI: "/haproxy?stats", Realm: DefaultStatsRealm, Auth: []Credential{{"admin", "supersecretpassword"}}}
	if !reflect.DeepEqual(be.Stats, wantStats) {
		t.Errorf("stats = %+v, want %+v", be.Stats, wantStats)
	}
	// The deliberate difference from HAProxy is announced.
	if ds := diags(cfg, "layer-7 check"); len(ds) != 2 {
		t.Errorf("want one layer-7 check notice per backend with checks, got %v", ds)
	}
}

func TestFrontendAndBackendMayShareAName(t *testing.T) {
	cfg := mustParse(t, lines(
		"frontend app",
		"  bind 127.0.0.1:8000",
		"  default_backend app",
		"backend app",
		"  server s1 127.0.0.1:9000",
	))
	if len(cfg.Proxies) != 2 || len(cfg.Frontends()) != 1 || len(cfg.Backends()) != 1 {
		t.Fatalf("proxies = %v", cfg.Proxies)
	}
	if be := cfg.Backend("app"); be == nil || be.Section != "backend" {
		t.Errorf("Backend(app) = %+v", be)
	}
}

func TestConfigAccessors(t *testing.T) {
	cfg := mustParse(t, lines(
		"frontend fe",
		"  bind 127.0.0.1:8000",
		"  default_backend be",
		"backend be",
		"listen both",
		"  bind 127.0.0.1:8001",
	))
	names := func(ps []*Proxy) string {
		var n []string
		for _, p := range ps {
			n = append(n, p.Section+":"+p.Name)
		}
		return strings.Join(n, ",")
	}
	if got := names(cfg.Proxies); got != "frontend:fe,backend:be,listen:both" {
		t.Errorf("Proxies = %s", got)
	}
	if got := names(cfg.Frontends()); got != "frontend:fe,listen:both" {
		t.Errorf("Frontends = %s", got)
	}
	if got := names(cfg.Backends()); got != "backend:be,listen:both" {
		t.Errorf("Backends = %s", got)
	}
	if cfg.Backend("fe") != nil || cfg.Backend("both") == nil || cfg.Backend("nope") != nil {
		t.Error("Backend() looked up the wrong proxies")
	}
	caps := map[string]Capability{"fe": CapFrontend, "be": CapBackend, "both": CapFrontend | CapBackend}
	for _, p := range cfg.Proxies {
		if p.Caps != caps[p.Name] {
			t.Errorf("%s caps = %v, want %v", p.Name, p.Caps, caps[p.Name])
		}
	}
}

func TestDefaultsInheritance(t *testing.T) {
	text := lines(
		"frontend early", // before any defaults: built-in defaults
		"  bind 127.0.0.1:8000",
		"  default_backend b0",
		"backend b0",
		"defaults first",
		"  mode http",
		"  maxconn 2000",
		"  retries 5",
		"  balance leastconn",
		"  hash-type consistent",
		"  timeout connect 5s",
		"  timeout client 30s",
		"  option httplog",
		"  option redispatch",
		"  option dontlognull",
		"  option forwardfor",
		"  option httpchk GET /health",
		"  option allbackups",
		"  option http-server-close",
		"  http-check expect status 200",
		"  log 127.0.0.1 local0",
		"  log-format-json",
		"  stats enable",
		"  stats auth admin:pw",
		"  default-server inter 3s rise 4 fall 5 weight 7 check",
		"  default_backend b1",
		"frontend f1",
		"  bind 127.0.0.1:8001",
		"backend b1",
		"  server s1 127.0.0.1:9001",
		"  server s2 127.0.0.1:9002 weight 9 no-check",
		"backend b2",
		"  no option redispatch",
		"  no option httpchk",
		"  no option forwardfor",
		"  no option allbackups",
		"  no option http-server-close",
		"  no log",
		"  stats auth other:pw",
		"  server s3 127.0.0.1:9003",
		"defaults",
		"  timeout server 7s",
		"frontend f2",
		"  bind 127.0.0.1:8002",
		"  default_backend b3",
		"backend b3",
		"  server s4 127.0.0.1:9004",
	)
	cfg := mustParse(t, text)

	builtin := func(p *Proxy) {
		t.Helper()
		if p.Mode != ModeTCP || p.MaxConn != 0 || p.Retries != 3 || p.Balance != (Balance{Algorithm: BalanceRoundRobin}) ||
			p.HashType != (HashType{Method: HashMapBased, Function: HashSDBM}) || p.HTTPLog || p.Redispatch ||
			p.ForwardFor != nil || p.HTTPCheck != nil || p.CheckExpect != nil || p.Logs != nil || p.Stats.Enabled ||
			p.LogFormatJSON || p.HTTPConnMode != HTTPKeepAlive {
			t.Errorf("%s %s does not have the built-in defaults: %+v", p.Section, p.Name, p)
		}
	}
	builtin(proxy(t, cfg, "frontend", "early"))
	builtin(proxy(t, cfg, "backend", "b0"))
	for _, name := range []string{"f2", "b3"} {
		p := proxy(t, cfg, map[string]string{"f2": "frontend", "b3": "backend"}[name], name)
		builtin(p)
		// A new defaults section resets everything, including timeouts.
		if p.Timeouts != (Timeouts{Server: 7 * time.Second}) {
			t.Errorf("%s timeouts = %+v, want only server 7s", name, p.Timeouts)
		}
	}
	if f2 := proxy(t, cfg, "frontend", "f2"); f2.DefaultBackend != "b3" {
		t.Errorf("f2 default_backend = %q", f2.DefaultBackend)
	}
	if s := proxy(t, cfg, "backend", "b3").Servers[0]; s.Check || s.Inter != DefaultInter || s.Rise != DefaultRise || s.Weight != DefaultWeight {
		t.Errorf("b3 server kept the old default-server: %+v", s)
	}

	f1 := proxy(t, cfg, "frontend", "f1")
	b1 := proxy(t, cfg, "backend", "b1")
	b2 := proxy(t, cfg, "backend", "b2")
	wantLog := []LogTarget{{Pos: at(lineOf(t, text, "log 127.0.0.1 local0")), Kind: LogUDP, Addr: netip.MustParseAddrPort("127.0.0.1:514"), Facility: 16, Level: 7, Format: LogRFC3164, MaxLen: 1024}}
	for _, p := range []*Proxy{f1, b1, b2} {
		if p.Mode != ModeHTTP || p.MaxConn != 2000 || p.Retries != 5 || p.Balance.Algorithm != BalanceLeastConn ||
			p.HashType.Method != HashConsistent || !p.HTTPLog || !p.DontLogNull || !p.LogFormatJSON || !p.Stats.Enabled {
			t.Errorf("%s did not inherit defaults 'first': %+v", p.Name, p)
		}
		if p.Timeouts != (Timeouts{Connect: 5 * time.Second, Client: 30 * time.Second}) {
			t.Errorf("%s timeouts = %+v", p.Name, p.Timeouts)
		}
		if p.CheckExpect == nil || p.CheckExpect.Kind != ExpectStatus || p.CheckExpect.Pattern != "200" {
			t.Errorf("%s http-check expect = %+v", p.Name, p.CheckExpect)
		}
	}
	if f1.DefaultBackend != "b1" || f1.DefaultBackPos != at(lineOf(t, text, "default_backend b1")) {
		t.Errorf("f1 default_backend = %q at %v", f1.DefaultBackend, f1.DefaultBackPos)
	}
	for _, p := range []*Proxy{f1, b1} {
		if !p.Redispatch || !p.AllBackups || p.HTTPConnMode != HTTPServerClose ||
			!reflect.DeepEqual(p.ForwardFor, &ForwardFor{Header: "X-Forwarded-For"}) ||
			!reflect.DeepEqual(p.HTTPCheck, &HTTPCheck{Method: "GET", URI: "/health", Version: "HTTP/1.0"}) {
			t.Errorf("%s options not inherited: %+v", p.Name, p)
		}
		if !reflect.DeepEqual(p.Logs, wantLog) {
			t.Errorf("%s logs = %+v, want %+v", p.Name, p.Logs, wantLog)
		}
		if !reflect.DeepEqual(p.Stats.Auth, []Credential{{"admin", "pw"}}) {
			t.Errorf("%s stats auth = %v", p.Name, p.Stats.Auth)
		}
	}
	// "no option" and "no log" in a proxy override the defaults.
	if b2.Redispatch || b2.AllBackups || b2.HTTPCheck != nil || b2.ForwardFor != nil || b2.HTTPConnMode != HTTPKeepAlive || b2.Logs != nil {
		t.Errorf("b2 'no ...' lines did not override the defaults: %+v", b2)
	}
	// Appending to an inherited list does not leak into other proxies.
	if !reflect.DeepEqual(b2.Stats.Auth, []Credential{{"admin", "pw"}, {"other", "pw"}}) {
		t.Errorf("b2 stats auth = %v", b2.Stats.Auth)
	}

	// default-server in defaults applies to servers; server options win.
	wantS1 := Server{Pos: at(lineOf(t, text, "server s1")), Name: "s1", Addr: netip.MustParseAddrPort("127.0.0.1:9001"),
		Check: true, Inter: 3 * time.Second, Rise: 4, Fall: 5, Weight: 7, ErrorLimit: DefaultErrorLimit, OnError: OnErrorFailCheck}
	if *b1.Servers[0] != wantS1 {
		t.Errorf("s1 = %+v\nwant %+v", *b1.Servers[0], wantS1)
	}
	wantS2 := wantS1
	wantS2.Pos, wantS2.Name, wantS2.Addr = at(lineOf(t, text, "server s2")), "s2", netip.MustParseAddrPort("127.0.0.1:9002")
	wantS2.Weight, wantS2.Check = 9, false
	if *b1.Servers[1] != wantS2 {
		t.Errorf("s2 = %+v\nwant %+v", *b1.Servers[1], wantS2)
	}
	if b2.Servers[0].Inter != 3*time.Second || !b2.Servers[0].Check {
		t.Errorf("s3 = %+v", b2.Servers[0])
	}
	// The defaults section itself is not a proxy.
	for _, p := range cfg.Proxies {
		if p.Section == "defaults" {
			t.Errorf("defaults section listed as a proxy: %+v", p)
		}
	}
}

func TestNoOptionOverridesDefaults(t *testing.T) {
	tests := []struct {
		option string
		on     func(p *Proxy) bool
	}{
		{"redispatch", func(p *Proxy) bool { return p.Redispatch }},
		{"httplog", func(p *Proxy) bool { return p.HTTPLog }},
		{"tcplog", func(p *Proxy) bool { return p.TCPLog }},
		{"dontlognull", func(p *Proxy) bool { return p.DontLogNull }},
		{"allbackups", func(p *Proxy) bool { return p.AllBackups }},
		{"tcp-check", func(p *Proxy) bool { return p.TCPCheck }},
		{"forwardfor", func(p *Proxy) bool { return p.ForwardFor != nil }},
		{"httpchk", func(p *Proxy) bool { return p.HTTPCheck != nil }},
		{"http-server-close", func(p *Proxy) bool { return p.HTTPConnMode == HTTPServerClose }},
		{"httpclose", func(p *Proxy) bool { return p.HTTPConnMode == HTTPClose }},
		{"http-tunnel", func(p *Proxy) bool { return p.HTTPConnMode == HTTPTunnel }},
	}
	for _, tc := range tests {
		t.Run(tc.option, func(t *testing.T) {
			cfg := mustParse(t, lines(
				"defaults",
				"  mode http",
				"  option "+tc.option,
				"listen keep",
				"  bind 127.0.0.1:8000",
				"listen drop",
				"  bind 127.0.0.1:8001",
				"  no option "+tc.option,
			))
			if !tc.on(proxy(t, cfg, "listen", "keep")) {
				t.Errorf("'option %s' in defaults not inherited", tc.option)
			}
			drop := proxy(t, cfg, "listen", "drop")
			if tc.on(drop) {
				t.Errorf("'no option %s' did not override the defaults", tc.option)
			}
			if drop.HTTPConnMode != HTTPKeepAlive {
				t.Errorf("connection mode = %v after 'no option %s'", drop.HTTPConnMode, tc.option)
			}
		})
	}
}

func TestPerSectionItemsAreNotInherited(t *testing.T) {
	// bind, server and use_backend belong to one section: they are
	// refused in defaults, and a proxy never sees another proxy's. An
	// acl is refused in an anonymous defaults section; a named one's
	// serve its own rules only (TestDefaultsACLsStayThere).
	for _, tc := range []struct{ kw, want string }{
		{"bind *:80", "not allowed in a 'defaults' section"},
		{"server s1 127.0.0.1:80", "not allowed in a 'defaults' section"},
		{"use_backend be", "not allowed in a 'defaults' section"},
		{"acl a path /", "not allowed in an anonymous 'defaults' section"},
	} {
		_, errs := parse(t, lines("defaults", "  "+tc.kw, "listen l", "  bind 127.0.0.1:8000"))
		if len(errs) != 1 || errs[0].Pos != at(2) || !strings.Contains(errs[0].Msg, tc.want) {
			t.Errorf("%q in defaults: errors %v", tc.kw, errs)
		}
	}
	cfg := mustParse(t, lines(
		"defaults",
		"  mode http",
		"listen a",
		"  bind 127.0.0.1:8000",
		"  acl x path /x",
		"  use_backend a if x",
		"  server s1 127.0.0.1:9000",
		"listen b",
		"  bind 127.0.0.1:8001",
	))
	b := proxy(t, cfg, "listen", "b")
	if len(b.Binds) != 1 || len(b.ACLs) != 0 || len(b.UseBackends) != 0 || len(b.Servers) != 0 {
		t.Errorf("listen b inherited per-section items: binds %v acls %v rules %v servers %v", b.Binds, b.ACLs, b.UseBackends, b.Servers)
	}
}

func TestACLNamesAreLocalToTheirSection(t *testing.T) {
	_, errs := parse(t, lines(
		"frontend a",
		"  mode http",
		"  bind 127.0.0.1:8000",
		"  acl is_api path_beg /api",
		"  default_backend be",
		"frontend b",
		"  mode http",
		"  bind 127.0.0.1:8001",
		"  use_backend be if is_api",
		"backend be",
		"  mode http",
	))
	if len(errs) != 1 || errs[0].Pos != at(9) || !strings.Contains(errs[0].Msg, "undefined ACL 'is_api'") {
		t.Errorf("errors = %v", errs)
	}
}

func TestConditions(t *testing.T) {
	tests := []struct {
		rule string // after "use_backend be2 "
		want string
	}{
		{"if a", "if a"},
		{"unless a", "unless a"},
		{"if a b", "if a b"},
		{"if a b c", "if a b c"},
		{"if a or b", "if a || b"},
		{"if a || b", "if a || b"},
		{"if a b or c", "if a b || c"},
		{"if a or b c or !a", "if a || b c || !a"},
		{"if ! a", "if !a"},
		{"if !a", "if !a"},
		{"if a !b", "if a !b"},
		{"if a ! b || ! c", "if a !b || !c"},
		{"unless !a or b", "unless !a || b"},
		{"if later", "if later"}, // declared after the rule
		{"if { path_beg /api }", "if {path_beg /api}"},
		{"if !{ src 10.0.0.0/8 } a", "if !{src 10.0.0.0/8} a"},
		{"if ! { method POST } || { hdr(host) -i example.com }", "if !{method POST} || {hdr(host) -i example.com}"},
		{"if TRUE", "if TRUE"},
		{"if !FALSE", "if !FALSE"},
		{"if METH_GET", "if METH_GET"},
		{"if METH_POST a", "if METH_POST a"},
	}
	for _, tc := range tests {
		t.Run(tc.rule, func(t *testing.T) {
			text := lines(
				"frontend fe",
				"  mode http",
				"  bind 127.0.0.1:8000",
				"  acl a path_beg /a",
				"  acl b hdr(host) b.example",
				"  acl c src 192.0.2.0/24",
				"  use_backend be2 "+tc.rule,
				"  acl later path_end .jpg",
				"  default_backend be",
				"backend be",
				"  mode http",
				"backend be2",
				"  mode http",
			)
			cfg := mustParse(t, text)
			fe := proxy(t, cfg, "frontend", "fe")
			if len(fe.UseBackends) != 1 {
				t.Fatalf("rules = %v", fe.UseBackends)
			}
			r := fe.UseBackends[0]
			if r.Backend != "be2" || r.Pos != at(7) || r.Cond == nil || r.Cond.Pos != at(7) {
				t.Errorf("rule = %+v", r)
			}
			if got := condString(r.Cond); got != tc.want {
				t.Errorf("condition = %q, want %q", got, tc.want)
			}
			// Named ACLs resolve to the section's own ACL objects.
			named := map[string]*ACL{}
			for _, a := range fe.ACLs {
				named[a.Name] = a
			}
			for _, and := range r.Cond.Or {
				for _, term := range and {
					if a, ok := named[term.ACL.Name]; ok && a != term.ACL {
						t.Errorf("ACL %s resolved to a copy", a.Name)
					}
				}
			}
		})
	}
}

func TestPredefinedAndAnonymousACLs(t *testing.T) {
	cfg := mustParse(t, lines(
		"frontend fe",
		"  mode http",
		"  bind 127.0.0.1:8000",
		"  use_backend be if METH_GET",
		"  use_backend be if TRUE",
		"  use_backend be if METH_DELETE",
		"  use_backend be if { path_reg -i ^/API/v[0-9]+ } { src 10.0.0.0/8 ::1 }",
		"backend be",
		"  mode http",
	))
	fe := proxy(t, cfg, "frontend", "fe")
	term := func(i int) *ACLTerm { return fe.UseBackends[i].Cond.Or[0][0].ACL.Terms[0] }
	if tm := term(0); tm.Expr.Fetch.Name != "method" || !reflect.DeepEqual(tm.Values, []string{"GET", "HEAD"}) {
		t.Errorf("METH_GET = %+v", tm)
	}
	if tm := term(1); tm.Expr.Fetch.Name != "always_true" || tm.Expr.Need() != 0 {
		t.Errorf("TRUE = %+v", tm)
	}
	if tm := term(2); tm.Expr.Fetch.Name != "method" || !reflect.DeepEqual(tm.Values, []string{"DELETE"}) {
		t.Errorf("METH_DELETE = %+v", tm)
	}
	and := fe.UseBackends[3].Cond.Or
	if len(and) != 1 || len(and[0]) != 2 {
		t.Fatalf("anonymous condition = %s", condString(fe.UseBackends[3].Cond))
	}
	re := and[0][0].ACL.Terms[0]
	if re.Method != MatchReg || !re.IgnoreCase || len(re.Regexps) != 1 || !re.Regexps[0].MatchString("/api/V2/x") || re.Regexps[0].MatchString("/api/x") {
		t.Errorf("anonymous path_reg = %+v", re)
	}
	src := and[0][1].ACL.Terms[0]
	if src.Method != MatchIP || !reflect.DeepEqual(src.Nets, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}) {
		t.Errorf("anonymous src = %+v", src)
	}
	if !fe.UseBackends[3].Cond.NeedsHTTP() {
		t.Error("a path_reg condition must need HTTP")
	}
	if len(fe.ACLs) != 0 {
		t.Errorf("anonymous or predefined ACLs were added to the named ones: %v", fe.ACLs)
	}
}

func TestSrcConditionInTCPMode(t *testing.T) {
	cfg := mustParse(t, lines(
		"frontend fe",
		"  bind 127.0.0.1:8000",
		"  acl lan src 192.168.0.0/16",
		"  use_backend internal if lan or { src 10.0.0.0/8 }",
		"  use_backend internal if TRUE",
		"  default_backend be",
		"backend be",
		"backend internal",
	))
	fe := proxy(t, cfg, "frontend", "fe")
	if fe.Mode != ModeTCP || len(fe.UseBackends) != 2 || fe.UseBackends[0].Cond.NeedsHTTP() || fe.UseBackends[1].Cond.NeedsHTTP() {
		t.Errorf("tcp frontend rules = %+v", fe.UseBackends)
	}
}

func TestHostNameResolution(t *testing.T) {
	r := testResolver()
	text := lines(
		"global",
		"  log syslog.test:1514 local0",
		"frontend fe",
		"  bind lb.test:8000",
		"  default_backend be",
		"backend be",
		"  server a web1.test:80",
		"  server b web2.test:80",
		"  server c v6only.test:80",
		"  server d mapped.test",
		"  server e web1.test:80 check addr check.test",
		"  server f 192.0.2.1:80",
	)
	cfg, errs := parseWith(t, r, text)
	if errs != nil {
		t.Fatalf("errors: %v", errs)
	}
	if got := cfg.Global.Logs[0].Addr; got != netip.MustParseAddrPort("192.0.2.50:1514") {
		t.Errorf("log target = %v", got)
	}
	if got := proxy(t, cfg, "frontend", "fe").Binds[0].Addr; got != netip.MustParseAddrPort("127.0.0.1:8000") {
		t.Errorf("bind = %v", got)
	}
	want := map[string]string{
		"a": "192.0.2.11:80",
		"b": "192.0.2.12:80", // IPv4 preferred
		"c": "[2001:db8::13]:80",
		"d": "192.0.2.14:0", // IPv4-mapped answers are unmapped
		"e": "192.0.2.11:80",
		"f": "192.0.2.1:80",
	}
	for _, s := range cfg.Backend("be").Servers {
		if got := s.Addr.String(); got != want[s.Name] {
			t.Errorf("server %s = %s, want %s", s.Name, got, want[s.Name])
		}
	}
	if e := cfg.Backend("be").Servers[4]; e.CheckAddr != netip.MustParseAddr("192.0.2.99") {
		t.Errorf("addr = %v", e.CheckAddr)
	}
	if d := cfg.Backend("be").Servers[3]; d.PortMode != PortSame {
		t.Errorf("server without a port: mode %v", d.PortMode)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.calls {
		if !strings.HasPrefix(c, "ip ") {
			t.Errorf("lookup %q: want network \"ip\"", c)
		}
		if strings.HasSuffix(c, " 192.0.2.1") {
			t.Errorf("literal address looked up: %q", c)
		}
	}
	if len(r.calls) != 8 {
		t.Errorf("lookups = %v, want 8", r.calls)
	}
}

func TestHostNameResolutionFailures(t *testing.T) {
	tests := []struct {
		name     string
		resolver Resolver
		line     string
		want     string
	}{
		{"unknown name", testResolver(), "server s unknown.test:80", "could not resolve address 'unknown.test'"},
		{"empty answer", testResolver(), "server s empty.test:80", "could not resolve address 'empty.test'"},
		{"no resolver", NoResolver, "server s web1.test:80", "name resolution is disabled"},
		{"no resolver addr", NoResolver, "server s 192.0.2.1:80 addr check.test", "name resolution is disabled"},
		{"unknown addr", testResolver(), "server s 192.0.2.1:80 addr nope.test", "could not resolve address 'nope.test'"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, errs := parseWith(t, tc.resolver, lines(
				"listen l",
				"  bind 127.0.0.1:8000",
				"  "+tc.line,
			))
			if len(errs) != 1 || errs[0].Pos != at(3) || !strings.Contains(errs[0].Msg, tc.want) {
				t.Errorf("errors = %v, want one at line 3 containing %q", errs, tc.want)
			}
		})
	}
}

func TestLoadFilesAndDirectories(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("a/00-global.cfg", lines("global", "  maxconn 123", "defaults", "  mode http"))
	f := write("a/10-front.cfg", lines("frontend fe", "  bind 127.0.0.1:8000", "  default_backend be"))
	write("a/ignored.txt", "this is not configuration\n")
	b := write("b.cfg", lines("backend be", "  server s1 127.0.0.1:9000"))

	cfg, err := Load([]string{filepath.Join(dir, "a"), b}, Options{Resolver: NoResolver})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if cfg.Global.MaxConn != 123 || len(cfg.Proxies) != 2 {
		t.Fatalf("global %+v, proxies %v", cfg.Global, cfg.Proxies)
	}
	// A section ends with its file, but defaults carry over to the next file.
	fe := proxy(t, cfg, "frontend", "fe")
	if fe.Pos != (Pos{File: f, Line: 1}) || fe.Mode != ModeHTTP {
		t.Errorf("frontend at %v mode %v", fe.Pos, fe.Mode)
	}
	if be := cfg.Backend("be"); be.Pos != (Pos{File: b, Line: 1}) || be.Mode != ModeHTTP {
		t.Errorf("backend at %v mode %v", be.Pos, be.Mode)
	}

	// Errors are reported in file order, with their own file names.
	bad1 := write("bad1.cfg", lines("frontend fe", "  bind 127.0.0.1:8000", "  bogus"))
	bad2 := write("bad2.cfg", lines("", "global", "  nope"))
	_, err = Load([]string{bad2, bad1}, Options{Resolver: NoResolver})
	var list ErrorList
	if !errors.As(err, &list) || len(list) != 2 {
		t.Fatalf("errors = %v", err)
	}
	if list[0].Pos != (Pos{File: bad2, Line: 3}) || list[1].Pos != (Pos{File: bad1, Line: 3}) {
		t.Errorf("error positions = %v, %v", list[0].Pos, list[1].Pos)
	}
}

func TestErrorsAreSortedAndAllReported(t *testing.T) {
	text := lines(
		"global",
		"  bogus1",
		"frontend fe",
		"  bind 127.0.0.1:8000",
		"  use_backend nowhere", // reported at validation, after parsing
		"  bogus2",
		"backend be",
		"  bogus3",
	)
	_, errs := parse(t, text)
	var got []int
	for _, e := range errs {
		got = append(got, e.Pos.Line)
	}
	if !reflect.DeepEqual(got, []int{2, 5, 6, 8}) {
		t.Errorf("error lines = %v, want [2 5 6 8]:\n%v", got, errs)
	}
	if s := errs.Error(); strings.Count(s, "\n") != 3 || !strings.HasPrefix(s, "parsing [test.cfg:2] : ") {
		t.Errorf("ErrorList.Error() = %q", s)
	}
}

func TestDiagnostics(t *testing.T) {
	text := lines(
		"frontend lonely",
		"  bind 127.0.0.1:8000",
		"frontend web",
		"  mode http",
		"  bind 127.0.0.1:8001",
		"  timeout server 5s",
		"  default_backend app",
		"backend app",
		"  mode http",
		"  timeout client 5s",
		"  option splice-auto",
		"  stats enable",
		"  server s1 127.0.0.1:9000 check",
		"  server s2 127.0.0.1:9001 check",
		"backend layer4",
		"  mode http",
		"  option tcp-check",
		"  server s1 127.0.0.1:9002 check",
	)
	cfg := mustParse(t, text)
	want := []Diagnostic{
		{Warning, at(1), "frontend 'lonely' has neither 'default_backend' nor 'use_backend'"},
		{Warning, at(6), "'timeout server' has no effect in frontend 'web'"},
		{Warning, at(10), "'timeout client' has no effect in backend 'app'"},
		{Notice, at(11), "'option splice-auto' is accepted and changes nothing"},
		{Warning, at(8), "the stats page at '/haproxy?stats' is not password protected"},
		{Notice, at(13), "backend 'app': in mode http, 'check' performs a layer-7 check"},
	}
	if len(cfg.Diagnostics) != len(want) {
		t.Errorf("got %d diagnostics, want %d:", len(cfg.Diagnostics), len(want))
		for _, d := range cfg.Diagnostics {
			t.Log(d)
		}
	}
	for _, w := range want {
		found := false
		for _, d := range cfg.Diagnostics {
			if d.Severity == w.Severity && d.Pos == w.Pos && strings.Contains(d.Msg, w.Msg) {
				found = true
			}
		}
		if !found {
			t.Errorf("missing diagnostic %v", w)
		}
	}
	d := Diagnostic{Severity: Notice, Pos: at(3), Msg: "m"}
	if d.String() != "[NOTICE] parsing [test.cfg:3] : m" {
		t.Errorf("Diagnostic.String() = %q", d.String())
	}
	d.Severity = Warning
	if d.String() != "[WARNING] parsing [test.cfg:3] : m" {
		t.Errorf("Diagnostic.String() = %q", d.String())
	}
}

func TestStringers(t *testing.T) {
	if ModeHTTP.String() != "http" || ModeTCP.String() != "tcp" {
		t.Error("Mode.String")
	}
	if SysctlOn.String() != "on" || SysctlOff.String() != "off" || SysctlCheck.String() != "check" {
		t.Error("SysctlMode.String")
	}
	for m, s := range map[HTTPConnMode]string{HTTPKeepAlive: "http-keep-alive", HTTPServerClose: "http-server-close", HTTPClose: "httpclose", HTTPTunnel: "http-tunnel"} {
		if m.String() != s {
			t.Errorf("HTTPConnMode(%d).String() = %q", m, m.String())
		}
	}
	for _, name := range []string{"found", "bool", "int", "ip", "bin", "len", "str", "sub", "reg", "beg", "end", "dir", "dom"} {
		if m, ok := matchByName(name); !ok || m.String() != name {
			t.Errorf("matchByName(%q) = %v, %v", name, m, ok)
		}
	}
	if FacilityName(16) != "local0" || FacilityName(0) != "kern" || FacilityName(24) != "" || FacilityName(-1) != "" {
		t.Error("FacilityName")
	}
	if LevelName(3) != "err" || LevelName(0) != "emerg" || LevelName(7) != "debug" || LevelName(8) != "" || LevelName(-1) != "" {
		t.Error("LevelName")
	}
	if (Pos{File: "f"}).String() != "f" || at(7).String() != "test.cfg:7" {
		t.Error("Pos.String")
	}
	for b, s := range map[*Bind]string{
		{Addr: netip.MustParseAddrPort("127.0.0.1:80")}: "127.0.0.1:80",
		{Inherited: true, FD: 3}:                        "fd@3",
		{Unix: UnixAddr{Path: "/run/fe.sock"}}:          "/run/fe.sock",
		{Unix: UnixAddr{Path: "fe", Abstract: true}}:    "abns@fe",
	} {
		if b.String() != s {
			t.Errorf("Bind.String() = %q, want %q", b.String(), s)
		}
	}
}
