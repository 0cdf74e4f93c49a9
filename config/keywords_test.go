package config

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

// minimalProxies makes a configuration valid after a global section.
const minimalProxies = "listen l\n  bind 127.0.0.1:8000\n"

func udpLog(line int, addr string, facility, level int) LogTarget {
	return LogTarget{Pos: at(line), Kind: LogUDP, Addr: netip.MustParseAddrPort(addr), Facility: facility, Level: level, Format: LogRFC3164, MaxLen: 1024}
}

func TestGlobalKeywords(t *testing.T) {
	tests := []struct {
		line string
		want func(g *Global)
	}{
		{"maxconn 100", func(g *Global) { g.MaxConn = 100 }},
		{"maxconn 1", func(g *Global) { g.MaxConn = 1 }},
		{"user haproxy", func(g *Global) { g.User = "haproxy" }},
		{"group nogroup", func(g *Global) { g.Group = "nogroup" }},
		{"uid 0", func(g *Global) { g.UID = 0 }},
		{"uid 99", func(g *Global) { g.UID = 99 }},
		{"gid 101", func(g *Global) { g.GID = 101 }},
		{"daemon", func(g *Global) { g.Daemon = true }},
		{"nbthread 4", func(g *Global) { g.NbThread = 4 }},
		{"nbthread 64", func(g *Global) { g.NbThread = 64 }},
		{"pidfile /run/fjord.pid", func(g *Global) { g.PIDFile = "/run/fjord.pid" }},
		{"ulimit-n 65536", func(g *Global) { g.UlimitN = 65536 }},
		{"tune.pipesize 131072", func(g *Global) { g.TunePipeSize, g.TuneBulkPipeSize = 131072, 131072 }},
		{"tune.pipesize 128k", func(g *Global) { g.TunePipeSize, g.TuneBulkPipeSize = 128<<10, 128<<10 }},
		{"tune.pipesize 1M", func(g *Global) { g.TunePipeSize, g.TuneBulkPipeSize = 1<<20, 1<<20 }},
		{"tune.pipesize 1g", func(g *Global) { g.TunePipeSize, g.TuneBulkPipeSize = 1<<30, 1<<30 }},
		{"tune.bufsize 32768", func(g *Global) { g.TuneBufSize = 32768 }},
		{"tune.bufsize 1k", func(g *Global) { g.TuneBufSize = 1024 }},
		{"tune.maxrewrite 128", func(g *Global) { g.TuneMaxRewrite = 128 }},
		{"tune.maxpollevents 500", func(g *Global) { g.TuneMaxPollEvents = 500 }},
		{"tune.sysctl on", func(g *Global) { g.Sysctl = SysctlOn }},
		{"tune.sysctl off", func(g *Global) { g.Sysctl = SysctlOff }},
		{"tune.sysctl check", func(g *Global) { g.Sysctl = SysctlCheck }},
		{"tune.sched-batch off", func(g *Global) { g.TuneSchedBatch = false }},
		{"tune.sched-batch on", func(g *Global) { g.TuneSchedBatch = true }},
		{"busy-polling", func(g *Global) { g.BusyPolling = BusyPolling{On: true} }},
		{"busy-polling adaptive", func(g *Global) { g.BusyPolling = BusyPolling{On: true, Window: 100 * time.Microsecond} }},
		{"busy-polling adaptive 50us", func(g *Global) { g.BusyPolling = BusyPolling{On: true, Window: 50 * time.Microsecond} }},
		{"tune.sockmap on", func(g *Global) { g.TuneSockmap = SockmapOn }},
		{"tune.sockmap auto", func(g *Global) { g.TuneSockmap = SockmapAuto }},
		{"tune.sockmap off", func(g *Global) { g.TuneSockmap = SockmapOff }},
		{"hard-stop-after 30s", func(g *Global) { g.HardStopAfter = 30 * time.Second }},
		{"hard-stop-after 1500", func(g *Global) { g.HardStopAfter = 1500 * time.Millisecond }},
		{"stats timeout 2m", func(g *Global) { g.StatsTimeout = 2 * time.Minute }},
		{"stats maxconn 3", func(g *Global) { g.StatsMaxConn = 3 }},
		{"stats socket run/admin:1.sock", func(g *Global) {
			g.StatsSockets = []StatsSocket{{Pos: at(2), Path: "run/admin:1.sock", Level: LevelOperator}}
		}},
		{"stats socket /tmp/s level user", func(g *Global) {
			g.StatsSockets = []StatsSocket{{Pos: at(2), Path: "/tmp/s", Level: LevelUser}}
		}},
		{"stats socket /run/fjord.sock", func(g *Global) {
			g.StatsSockets = []StatsSocket{{Pos: at(2), Path: "/run/fjord.sock", Level: LevelOperator}} // HAProxy's default
		}},
		{"stats socket unix@/run/fjord.sock mode 600 level admin", func(g *Global) {
			g.StatsSockets = []StatsSocket{{Pos: at(2), Path: "/run/fjord.sock", Mode: 0o600, Level: LevelAdmin}}
		}},
		{"stats socket /tmp/s level operator mode 0660", func(g *Global) {
			g.StatsSockets = []StatsSocket{{Pos: at(2), Path: "/tmp/s", Mode: 0o660, Level: LevelOperator}}
		}},
		{"stats socket fjord.sock", func(g *Global) {
			g.StatsSockets = []StatsSocket{{Pos: at(2), Path: "fjord.sock", Level: LevelOperator}}
		}},
		{`stats socket "fd@5" level admin`, func(g *Global) {
			g.StatsSockets = []StatsSocket{{Pos: at(2), Inherited: true, FD: 5, Level: LevelAdmin}}
		}},
		{"stats socket 127.0.0.1:9999", func(g *Global) {
			g.StatsSockets = []StatsSocket{{Pos: at(2), Addr: netip.MustParseAddrPort("127.0.0.1:9999"), Level: LevelOperator}}
		}},
		{"stats socket ipv4@127.0.0.2:9999 level user", func(g *Global) {
			g.StatsSockets = []StatsSocket{{Pos: at(2), Addr: netip.MustParseAddrPort("127.0.0.2:9999"), Level: LevelUser}}
		}},
		{"stats socket ipv6@::1:9999", func(g *Global) {
			g.StatsSockets = []StatsSocket{{Pos: at(2), Addr: netip.MustParseAddrPort("[::1]:9999"), Level: LevelOperator}}
		}},
		{"stats socket [::1]:9999", func(g *Global) {
			g.StatsSockets = []StatsSocket{{Pos: at(2), Addr: netip.MustParseAddrPort("[::1]:9999"), Level: LevelOperator}}
		}},
		{"log-anonymize", func(g *Global) {
			g.LogAnonymize = LogAnonymize{Enabled: true, IPv4Mask: 24, IPv6Mask: 48}
		}},
		{"log-anonymize ipv4-mask 16 ipv6-mask 64", func(g *Global) {
			g.LogAnonymize = LogAnonymize{Enabled: true, IPv4Mask: 16, IPv6Mask: 64}
		}},
		{"log-anonymize ipv6-mask 0", func(g *Global) {
			g.LogAnonymize = LogAnonymize{Enabled: true, IPv4Mask: 24, IPv6Mask: 0}
		}},
		{"log-anonymize hash", func(g *Global) {
			g.LogAnonymize = LogAnonymize{Enabled: true, Hash: true, IPv4Mask: 24, IPv6Mask: 48, KeyRotation: 24 * time.Hour}
		}},
		{"log-anonymize hash 12h", func(g *Global) {
			g.LogAnonymize = LogAnonymize{Enabled: true, Hash: true, IPv4Mask: 24, IPv6Mask: 48, KeyRotation: 12 * time.Hour}
		}},
		{"log-retention 7", func(g *Global) { g.LogRetention = 7 }},
		// log targets
		{"log 127.0.0.1 local0", func(g *Global) { g.Logs = []LogTarget{udpLog(2, "127.0.0.1:514", 16, 7)} }},
		{"log 127.0.0.1 local1 notice", func(g *Global) { g.Logs = []LogTarget{udpLog(2, "127.0.0.1:514", 17, 5)} }},
		{"log 10.0.0.1:1514 daemon info err", func(g *Global) {
			l := udpLog(2, "10.0.0.1:1514", 3, 6)
			l.MinLevel = 3
			g.Logs = []LogTarget{l}
		}},
		{"log udp@127.0.0.1:5514 len 4096 format rfc5424 local2", func(g *Global) {
			l := udpLog(2, "127.0.0.1:5514", 18, 7)
			l.MaxLen, l.Format = 4096, LogRFC5424
			g.Logs = []LogTarget{l}
		}},
		{"log [::1]:514 local7 debug", func(g *Global) { g.Logs = []LogTarget{udpLog(2, "[::1]:514", 23, 7)} }},
		{"log [::1] kern emerg", func(g *Global) { g.Logs = []LogTarget{udpLog(2, "[::1]:514", 0, 0)} }},
		{"log syslog.test local0", func(g *Global) { g.Logs = []LogTarget{udpLog(2, "192.0.2.50:514", 16, 7)} }},
		{"log stdout format raw daemon", func(g *Global) {
			g.Logs = []LogTarget{{Pos: at(2), Kind: LogStdout, Facility: 3, Level: 7, Format: LogRaw, MaxLen: 1024}}
		}},
		{"log stderr log-format-json local0", func(g *Global) {
			g.Logs = []LogTarget{{Pos: at(2), Kind: LogStderr, Facility: 16, Level: 7, Format: LogJSON, MaxLen: 1024}}
		}},
		{"log unix@/dev/log local0", func(g *Global) {
			g.Logs = []LogTarget{{Pos: at(2), Kind: LogUnix, Path: "/dev/log", Facility: 16, Level: 7, Format: LogRFC3164, MaxLen: 1024}}
		}},
		{"log /dev/log local3 warning", func(g *Global) {
			g.Logs = []LogTarget{{Pos: at(2), Kind: LogUnix, Path: "/dev/log", Facility: 19, Level: 4, Format: LogRFC3164, MaxLen: 1024}}
		}},
		{"log /nonexistent/fjord.log", func(g *Global) {
			g.Logs = []LogTarget{{Pos: at(2), Kind: LogFile, Path: "/nonexistent/fjord.log", Facility: -1, Level: 7, Format: LogRFC3164, MaxLen: 1024}}
		}},
		{"log file@/nonexistent/fjord.log format short local4", func(g *Global) {
			g.Logs = []LogTarget{{Pos: at(2), Kind: LogFile, Path: "/nonexistent/fjord.log", Facility: 20, Level: 7, Format: LogShort, MaxLen: 1024}}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.line, func(t *testing.T) {
			cfg, errs := parseWith(t, testResolver(), "global\n  "+tc.line+"\n"+minimalProxies)
			if errs != nil {
				t.Fatalf("errors: %v", errs)
			}
			want := DefaultGlobal()
			tc.want(&want)
			if !reflect.DeepEqual(cfg.Global, want) {
				t.Errorf("global =\n%+v\nwant\n%+v", cfg.Global, want)
			}
		})
	}
}

func TestGlobalDefaults(t *testing.T) {
	cfg := mustParse(t, minimalProxies)
	want := Global{
		MaxConn: DefaultGlobalMaxConn, UID: -1, GID: -1,
		TunePipeSize: DefaultPipeSize, TuneBulkPipeSize: DefaultBulkPipeSize, TuneBufSize: DefaultBufSize, TuneMaxRewrite: -1,
		TuneMaxPollEvents: DefaultMaxPollEvents,
		TuneSchedBatch:    true,
		LogRetention:      DefaultLogRetentionDays, StatsTimeout: DefaultStatsTimeout, StatsMaxConn: DefaultStatsMaxConn,
		ServerVerify: VerifyRequired, LoadExtraFiles: ExtraAll, TuneSSLLifetime: DefaultSSLLifetime,
	}
	if !reflect.DeepEqual(cfg.Global, want) {
		t.Errorf("global = %+v, want %+v", cfg.Global, want)
	}
}

// MaxRewrite is HAProxy's: 1024 unless set, at most half of tune.bufsize.
func TestMaxRewrite(t *testing.T) {
	for _, tc := range []struct {
		lines string
		want  int
	}{
		{"", 1024},
		{"  tune.maxrewrite 128", 128},
		{"  tune.maxrewrite 0", 0},
		{"  tune.bufsize 1024", 512},
		{"  tune.bufsize 4096\n  tune.maxrewrite 3000", 2048},
	} {
		cfg := mustParse(t, "global\n"+tc.lines+"\n"+minimalProxies)
		if got := cfg.Global.MaxRewrite(); got != tc.want {
			t.Errorf("%q: %d, want %d", tc.lines, got, tc.want)
		}
	}
}

func TestGlobalRepeatedKeywords(t *testing.T) {
	cfg := mustParse(t, lines(
		"global",
		"  maxconn 10",
		"  maxconn 20", // the last one wins
		"  log 127.0.0.1 local0",
		"  log 127.0.0.2 local1",
		"  stats socket /a",
		"  stats socket /b level admin",
	)+minimalProxies)
	g := cfg.Global
	if g.MaxConn != 20 || len(g.Logs) != 2 || g.Logs[1].Addr != netip.MustParseAddrPort("127.0.0.2:514") || g.Logs[1].Pos != at(5) {
		t.Errorf("global = %+v", g)
	}
	if len(g.StatsSockets) != 2 || g.StatsSockets[1].Path != "/b" || g.StatsSockets[1].Pos != at(7) {
		t.Errorf("stats sockets = %+v", g.StatsSockets)
	}
}

func TestMode(t *testing.T) {
	for _, tc := range []struct {
		mode string
		want Mode
	}{{"tcp", ModeTCP}, {"http", ModeHTTP}, {"", ModeTCP}} {
		line := ""
		if tc.mode != "" {
			line = "  mode " + tc.mode
		}
		cfg := mustParse(t, lines("frontend fe", line, "  bind 127.0.0.1:8000", "  default_backend be", "backend be", line))
		for _, p := range cfg.Proxies {
			if p.Mode != tc.want {
				t.Errorf("mode %q: %s mode = %v", tc.mode, p.Name, p.Mode)
			}
		}
	}
}

func TestBind(t *testing.T) {
	type b struct {
		addr     string // "" for an fd@N bind and a Unix socket
		unix     string // the path or abstract name of a Unix socket
		abstract bool
		perm     *UnixPerm
		fd       int
		backlog  int
		proxy    bool
		v6only   bool
		name     string
	}
	tests := []struct {
		line string
		want []b
	}{
		{"bind *:80", []b{{addr: "0.0.0.0:80"}}},
		{"bind :80", []b{{addr: "0.0.0.0:80"}}},
		{"bind 0.0.0.0:80", []b{{addr: "0.0.0.0:80"}}},
		{"bind :::80", []b{{addr: "[::]:80"}}},
		{"bind [::]:80", []b{{addr: "[::]:80"}}},
		{"bind [::1]:80", []b{{addr: "[::1]:80"}}},
		{"bind ::1:8080", []b{{addr: "[::1]:8080"}}},
		{"bind 127.0.0.1:8080", []b{{addr: "127.0.0.1:8080"}}},
		{"bind ipv4@:80", []b{{addr: "0.0.0.0:80"}}},
		{"bind ipv6@:80", []b{{addr: "[::]:80"}}},
		{"bind ipv4@127.0.0.1:80", []b{{addr: "127.0.0.1:80"}}},
		{"bind lb.test:80", []b{{addr: "127.0.0.1:80"}}},
		{"bind *:65535", []b{{addr: "0.0.0.0:65535"}}},
		{"bind *:1", []b{{addr: "0.0.0.0:1"}}},
		{"bind 127.0.0.1:8080-8085", []b{
			{addr: "127.0.0.1:8080"}, {addr: "127.0.0.1:8081"}, {addr: "127.0.0.1:8082"},
			{addr: "127.0.0.1:8083"}, {addr: "127.0.0.1:8084"}, {addr: "127.0.0.1:8085"},
		}},
		{"bind *:90-90", []b{{addr: "0.0.0.0:90"}}},
		{"bind 127.0.0.1:80,[::1]:81,:82,:::83", []b{
			{addr: "127.0.0.1:80"}, {addr: "[::1]:81"}, {addr: "0.0.0.0:82"}, {addr: "[::]:83"},
		}},
		{"bind 127.0.0.1:80-81,127.0.0.2:80", []b{{addr: "127.0.0.1:80"}, {addr: "127.0.0.1:81"}, {addr: "127.0.0.2:80"}}},
		{"bind *:80 backlog 512", []b{{addr: "0.0.0.0:80", backlog: 512}}},
		{"bind *:80 accept-proxy", []b{{addr: "0.0.0.0:80", proxy: true}}},
		{"bind :::80 v6only", []b{{addr: "[::]:80", v6only: true}}},
		{"bind :::80 v6only v4v6", []b{{addr: "[::]:80"}}},
		{"bind *:80 name web", []b{{addr: "0.0.0.0:80", name: "web"}}},
		{"bind *:80,*:81 name web backlog 10 accept-proxy", []b{
			{addr: "0.0.0.0:80", backlog: 10, proxy: true, name: "web"},
			{addr: "0.0.0.0:81", backlog: 10, proxy: true, name: "web"},
		}},
		// Inherited sockets: the number only; whether it is a listening
		// socket is checked when fjord starts.
		{"bind fd@3", []b{{fd: 3}}},
		{"bind fd@1073741823", []b{{fd: 1<<30 - 1}}},
		{`bind "fd@12" accept-proxy backlog 64 name vtest`, []b{{fd: 12, proxy: true, backlog: 64, name: "vtest"}}},
		{"bind fd@3,127.0.0.1:80,fd@4", []b{{fd: 3}, {addr: "127.0.0.1:80"}, {fd: 4}}},
		// Unix sockets: a path, unix@PATH (relative too), abns@NAME.
		{`bind "/tmp/vtc.1/ssl.sock" ssl crt a.pem strict-sni`, nil}, // checked below, TLS aside
		{"bind /run/fjord/fe.sock", []b{{unix: "/run/fjord/fe.sock"}}},
		{"bind unix@/run/fe.sock", []b{{unix: "/run/fe.sock"}}},
		{"bind unix@fe.sock", []b{{unix: "fe.sock"}}},
		{"bind abns@fjord-fe", []b{{unix: "fjord-fe", abstract: true}}},
		{"bind /" + strings.Repeat("p", 96), []b{{unix: "/" + strings.Repeat("p", 96)}}},
		{"bind abns@" + strings.Repeat("n", 107), []b{{unix: strings.Repeat("n", 107), abstract: true}}},
		{"bind /run/fe.sock mode 660", []b{{unix: "/run/fe.sock", perm: &UnixPerm{Mode: 0o660, UID: -1, GID: -1}}}},
		{"bind /run/fe.sock uid 33 gid 34", []b{{unix: "/run/fe.sock", perm: &UnixPerm{UID: 33, GID: 34}}}},
		{"bind /run/fe.sock user root group root mode 600", []b{{unix: "/run/fe.sock", perm: &UnixPerm{Mode: 0o600}}}},
		{"bind /run/fe.sock accept-proxy backlog 5 name local", []b{{unix: "/run/fe.sock", proxy: true, backlog: 5, name: "local"}}},
		{"bind 127.0.0.1:80,/run/fe.sock,abns@fe", []b{{addr: "127.0.0.1:80"}, {unix: "/run/fe.sock"}, {unix: "fe", abstract: true}}},
	}
	for _, tc := range tests {
		t.Run(tc.line, func(t *testing.T) {
			cfg, errs := parseWith(t, testResolver(), lines("frontend fe", "  "+tc.line, "  default_backend be", "backend be"))
			if errs != nil {
				t.Fatalf("errors: %v", errs)
			}
			fe := proxy(t, cfg, "frontend", "fe")
			var want []*Bind
			for _, w := range tc.want {
				bind := &Bind{Pos: at(2), Backlog: w.backlog, AcceptProxy: w.proxy, V6Only: w.v6only, Name: w.name, Perm: w.perm}
				switch {
				case w.unix != "":
					bind.Unix = UnixAddr{Path: w.unix, Abstract: w.abstract}
				case w.addr == "":
					bind.Inherited, bind.FD = true, w.fd
				default:
					bind.Addr = netip.MustParseAddrPort(w.addr)
				}
				want = append(want, bind)
			}
			if tc.want == nil { // a TLS bind on a Unix socket
				if len(fe.Binds) != 1 || fe.Binds[0].Unix != (UnixAddr{Path: "/tmp/vtc.1/ssl.sock"}) || fe.Binds[0].TLS == nil {
					t.Errorf("binds = %+v, want one TLS bind on /tmp/vtc.1/ssl.sock", fe.Binds)
				}
				return
			}
			if !reflect.DeepEqual(fe.Binds, want) {
				t.Errorf("binds =")
				for _, b := range fe.Binds {
					t.Errorf("  %+v", *b)
				}
				t.Errorf("want")
				for _, b := range want {
					t.Errorf("  %+v", *b)
				}
			}
		})
	}
}

func TestSeveralBindLines(t *testing.T) {
	cfg := mustParse(t, lines(
		"frontend fe",
		"  bind *:80",
		"  bind :::80 v6only",
		"  bind 127.0.0.1:81",
		"  bind 127.0.0.2:81",
		"  default_backend be",
		"backend be",
	))
	fe := proxy(t, cfg, "frontend", "fe")
	var got []string
	for _, b := range fe.Binds {
		got = append(got, b.Pos.String()+" "+b.Addr.String())
	}
	want := []string{"test.cfg:2 0.0.0.0:80", "test.cfg:3 [::]:80", "test.cfg:4 127.0.0.1:81", "test.cfg:5 127.0.0.2:81"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("binds = %v, want %v", got, want)
	}
}

func TestSpecificBindsBesideWildcards(t *testing.T) {
	// Only the very same address and port twice is refused: the kernel
	// prefers the most specific listening socket, so these coexist.
	cfg := mustParse(t, lines(
		"frontend wild",
		"  bind *:80",
		"  bind :::80",
		"  default_backend be",
		"frontend specific",
		"  bind 127.0.0.1:80",
		"  bind [::1]:80",
		"  bind 10.0.0.1:80-81",
		"  default_backend be",
		"backend be",
	))
	if n := len(proxy(t, cfg, "frontend", "wild").Binds) + len(proxy(t, cfg, "frontend", "specific").Binds); n != 6 {
		t.Errorf("got %d binds, want 6", n)
	}
}

func TestMaxConn(t *testing.T) {
	cfg := mustParse(t, lines(
		"defaults",
		"  maxconn 2000",
		"frontend a",
		"  bind 127.0.0.1:8000",
		"  default_backend be",
		"frontend b",
		"  bind 127.0.0.1:8001",
		"  maxconn 500",
		"  default_backend be",
		"backend be",
	))
	if a := proxy(t, cfg, "frontend", "a"); a.MaxConn != 2000 {
		t.Errorf("a maxconn = %d", a.MaxConn)
	}
	if b := proxy(t, cfg, "frontend", "b"); b.MaxConn != 500 {
		t.Errorf("b maxconn = %d", b.MaxConn)
	}
}

// backendCfg returns a valid configuration whose mode-http backend "be"
// holds the given lines (its first line is line 6).
func backendCfg(l ...string) string {
	return lines("frontend fe", "  mode http", "  bind 127.0.0.1:8000", "  default_backend be", "backend be", "  mode http") + lines(l...)
}

func TestBalance(t *testing.T) {
	tests := []struct {
		line string
		want Balance
	}{
		{"", Balance{Algorithm: BalanceRoundRobin}},
		{"balance roundrobin", Balance{Algorithm: BalanceRoundRobin}},
		{"balance static-rr", Balance{Algorithm: BalanceStaticRR}},
		{"balance leastconn", Balance{Algorithm: BalanceLeastConn}},
		{"balance first", Balance{Algorithm: BalanceFirst}},
		{"balance source", Balance{Algorithm: BalanceSource}},
		{"balance uri", Balance{Algorithm: BalanceURI}},
		{"balance uri whole", Balance{Algorithm: BalanceURI, URIWhole: true}},
		{"balance uri len 10", Balance{Algorithm: BalanceURI, URILen: 10}},
		{"balance uri depth 3", Balance{Algorithm: BalanceURI, URIDepth: 3}},
		{"balance uri len 32 depth 2 whole", Balance{Algorithm: BalanceURI, URILen: 32, URIDepth: 2, URIWhole: true}},
		{"balance url_param userid", Balance{Algorithm: BalanceURLParam, Param: "userid"}},
		{"balance hdr(Host)", Balance{Algorithm: BalanceHdr, Param: "host"}},
		{"balance hdr(host) use_domain_only", Balance{Algorithm: BalanceHdr, Param: "host", UseDomainOnly: true}},
		{"balance hdr(X-Tenant)", Balance{Algorithm: BalanceHdr, Param: "x-tenant"}},
		{"balance random", Balance{Algorithm: BalanceRandom, Draws: 2}},
		{"balance random(5)", Balance{Algorithm: BalanceRandom, Draws: 5}},
		{"balance random(1)", Balance{Algorithm: BalanceRandom, Draws: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.line, func(t *testing.T) {
			cfg := mustParse(t, backendCfg(tc.line))
			if got := cfg.Backend("be").Balance; got != tc.want {
				t.Errorf("balance = %+v, want %+v", got, tc.want)
			}
		})
	}
	// A later balance line replaces the whole setting.
	cfg := mustParse(t, backendCfg("balance uri len 5", "balance leastconn"))
	if got := cfg.Backend("be").Balance; got != (Balance{Algorithm: BalanceLeastConn}) {
		t.Errorf("balance = %+v", got)
	}
}

func TestHashType(t *testing.T) {
	tests := []struct {
		line string
		want HashType
	}{
		{"", HashType{Method: HashMapBased, Function: HashSDBM}},
		{"hash-type map-based", HashType{Method: HashMapBased, Function: HashSDBM}},
		{"hash-type consistent", HashType{Method: HashConsistent, Function: HashSDBM}},
		{"hash-type consistent djb2", HashType{Method: HashConsistent, Function: HashDJB2}},
		{"hash-type map-based crc32", HashType{Method: HashMapBased, Function: HashCRC32}},
		{"hash-type consistent wt6 avalanche", HashType{Method: HashConsistent, Function: HashWT6, Avalanche: true}},
		{"hash-type consistent avalanche", HashType{Method: HashConsistent, Function: HashSDBM, Avalanche: true}},
	}
	for _, tc := range tests {
		t.Run(tc.line, func(t *testing.T) {
			cfg := mustParse(t, backendCfg("balance source", tc.line))
			if got := cfg.Backend("be").HashType; got != tc.want {
				t.Errorf("hash-type = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// defaultServer is what a server line without options yields.
func defaultServer(line int, name, addr string) Server {
	return Server{
		Pos: at(line), Name: name, Addr: netip.MustParseAddrPort(addr),
		Inter: DefaultInter, Rise: DefaultRise, Fall: DefaultFall, Weight: DefaultWeight,
		ErrorLimit: DefaultErrorLimit, OnError: OnErrorFailCheck,
	}
}

func TestServer(t *testing.T) {
	tests := []struct {
		line string
		want func(s *Server)
	}{
		{"server s1 10.0.0.2:80", func(s *Server) {}},
		{"server s1 10.0.0.2:80 check", func(s *Server) { s.Check = true }},
		{"server s1 10.0.0.2:80 check inter 2000 rise 2 fall 3", func(s *Server) { s.Check = true }},
		{"server s1 10.0.0.2:80 check inter 5s fastinter 1s downinter 10s", func(s *Server) {
			s.Check, s.Inter, s.FastInter, s.DownInter = true, 5*time.Second, time.Second, 10*time.Second
		}},
		{"server s1 10.0.0.2:80 inter 500us", func(s *Server) { s.Inter = 500 * time.Microsecond }},
		{"server s1 10.0.0.2:80 rise 1 fall 10", func(s *Server) { s.Rise, s.Fall = 1, 10 }},
		{"server s1 10.0.0.2:80 check port 8080", func(s *Server) { s.Check, s.CheckPort = true, 8080 }},
		{"server s1 10.0.0.2:80 check addr 10.0.0.9", func(s *Server) { s.Check, s.CheckAddr = true, netip.MustParseAddr("10.0.0.9") }},
		{"server s1 10.0.0.2:80 addr ::1 port 9", func(s *Server) { s.CheckAddr, s.CheckPort = netip.MustParseAddr("::1"), 9 }},
		{"server s1 10.0.0.2:80 addr check.test", func(s *Server) { s.CheckAddr = netip.MustParseAddr("192.0.2.99") }},
		{"server s1 10.0.0.2:80 weight 50", func(s *Server) { s.Weight = 50 }},
		{"server s1 10.0.0.2:80 weight 0", func(s *Server) { s.Weight = 0 }},
		{"server s1 10.0.0.2:80 weight 256", func(s *Server) { s.Weight = 256 }},
		{"server s1 10.0.0.2:80 backup", func(s *Server) { s.Backup = true }},
		{"server s1 10.0.0.2:80 maxconn 100", func(s *Server) { s.MaxConn = 100 }},
		{"server s1 10.0.0.2:80 maxqueue 20", func(s *Server) { s.MaxQueue = 20 }},
		{"server s1 10.0.0.2:80 maxconn 100 maxqueue 0", func(s *Server) { s.MaxConn = 100 }},
		{"server s1 10.0.0.2:80 disabled", func(s *Server) { s.Disabled = true }},
		{"server s1 10.0.0.2:80 disabled enabled", func(s *Server) {}},
		{"server s1 10.0.0.2:80 slowstart 30s", func(s *Server) { s.SlowStart = 30 * time.Second }},
		{"server s1 10.0.0.2:80 slowstart 0", func(s *Server) {}},
		{"server s1 10.0.0.2:80 send-proxy", func(s *Server) { s.SendProxy = 1 }},
		{"server s1 10.0.0.2:80 send-proxy-v2", func(s *Server) { s.SendProxy = 2 }},
		{"server s1 10.0.0.2:80 send-proxy no-send-proxy", func(s *Server) {}},
		{"server s1 10.0.0.2:80 check observe layer4", func(s *Server) { s.Check, s.Observe = true, ObserveLayer4 }},
		{"server s1 10.0.0.2:80 observe none", func(s *Server) { s.Observe = ObserveNone }},
		{"server s1 10.0.0.2:80 check observe layer7", func(s *Server) { s.Check, s.Observe = true, ObserveLayer7 }},
		{"server s1 10.0.0.2:80 error-limit 5", func(s *Server) { s.ErrorLimit = 5 }},
		{"server s1 10.0.0.2:80 on-error fastinter", func(s *Server) { s.OnError = OnErrorFastInter }},
		{"server s1 10.0.0.2:80 on-error fail-check", func(s *Server) {}},
		{"server s1 10.0.0.2:80 on-error sudden-death", func(s *Server) { s.OnError = OnErrorSuddenDeath }},
		{"server s1 10.0.0.2:80 check observe layer7 error-limit 3 on-error mark-down", func(s *Server) {
			s.Check, s.Observe, s.ErrorLimit, s.OnError = true, ObserveLayer7, 3, OnErrorMarkDown
		}},
		{"server s1 10.0.0.2:80 check no-check backup no-backup", func(s *Server) {}},
		{"server s1 10.0.0.2:80 check inter 3s fastinter 1s downinter 5s rise 3 fall 2 port 81 addr 10.0.0.3 weight 10 backup maxconn 50 maxqueue 5 disabled slowstart 1m send-proxy-v2 observe layer4 error-limit 2 on-error mark-down",
			func(s *Server) {
				*s = Server{
					Pos: s.Pos, Name: s.Name, Addr: s.Addr, Check: true,
					Inter: 3 * time.Second, FastInter: time.Second, DownInter: 5 * time.Second,
					Rise: 3, Fall: 2, CheckPort: 81, CheckAddr: netip.MustParseAddr("10.0.0.3"),
					Weight: 10, Backup: true, MaxConn: 50, MaxQueue: 5, Disabled: true,
					SlowStart: time.Minute, SendProxy: 2, Observe: ObserveLayer4, ErrorLimit: 2, OnError: OnErrorMarkDown,
				}
			}},
		// addresses
		{"server s1 10.0.0.2", func(s *Server) { s.Addr, s.PortMode = netip.MustParseAddrPort("10.0.0.2:0"), PortSame }},
		{"server s1 10.0.0.2:", func(s *Server) { s.Addr, s.PortMode = netip.MustParseAddrPort("10.0.0.2:0"), PortSame }},
		{"server s1 10.0.0.2:+1000", func(s *Server) {
			s.Addr, s.PortMode, s.PortDelta = netip.MustParseAddrPort("10.0.0.2:0"), PortOffset, 1000
		}},
		{"server s1 10.0.0.2:-10", func(s *Server) {
			s.Addr, s.PortMode, s.PortDelta = netip.MustParseAddrPort("10.0.0.2:0"), PortOffset, -10
		}},
		{"server s1 [::1]:8080", func(s *Server) { s.Addr = netip.MustParseAddrPort("[::1]:8080") }},
		{"server s1 [2001:db8::1]", func(s *Server) { s.Addr, s.PortMode = netip.MustParseAddrPort("[2001:db8::1]:0"), PortSame }},
		{"server s1 ::ffff:10.0.0.2:80", func(s *Server) { s.Addr = netip.MustParseAddrPort("10.0.0.2:80") }},
		{"server s1 web1.test:8080", func(s *Server) { s.Addr = netip.MustParseAddrPort("192.0.2.11:8080") }},
		{"server s1 10.0.0.2:65535", func(s *Server) { s.Addr = netip.MustParseAddrPort("10.0.0.2:65535") }},
		// Unix sockets: no IP address, no port.
		{"server s1 /run/app.sock", func(s *Server) { s.Addr, s.Unix = netip.AddrPort{}, UnixAddr{Path: "/run/app.sock"} }},
		{`server s1 "/tmp/vtc.1/ssl.sock" check send-proxy`, func(s *Server) {
			s.Addr, s.Unix, s.Check, s.SendProxy = netip.AddrPort{}, UnixAddr{Path: "/tmp/vtc.1/ssl.sock"}, true, 1
		}},
		{"server s1 unix@app.sock", func(s *Server) { s.Addr, s.Unix = netip.AddrPort{}, UnixAddr{Path: "app.sock"} }},
		{"server s1 abns@app", func(s *Server) { s.Addr, s.Unix = netip.AddrPort{}, UnixAddr{Path: "app", Abstract: true} }},
		{"server s1 /" + strings.Repeat("p", 106), func(s *Server) { s.Addr, s.Unix = netip.AddrPort{}, UnixAddr{Path: "/" + strings.Repeat("p", 106)} }},
	}
	for _, tc := range tests {
		t.Run(tc.line, func(t *testing.T) {
			cfg, errs := parseWith(t, testResolver(), backendCfg(tc.line))
			if errs != nil {
				t.Fatalf("errors: %v", errs)
			}
			be := cfg.Backend("be")
			if len(be.Servers) != 1 {
				t.Fatalf("servers = %v", be.Servers)
			}
			want := defaultServer(7, "s1", "10.0.0.2:80")
			tc.want(&want)
			if got := *be.Servers[0]; got != want {
				t.Errorf("server =\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}

// A default-server's check port and address are for servers with an IP
// address: the checks of a Unix socket server connect to its socket.
func TestDefaultServerCheckAddressSkipsUnixServers(t *testing.T) {
	cfg := mustParse(t, backendCfg(
		"default-server check port 8080 addr 127.0.0.2",
		"server ip 10.0.0.1:80",
		"server sock /run/app.sock",
	))
	be := cfg.Backend("be")
	ip, sock := be.Servers[0], be.Servers[1]
	if ip.CheckPort != 8080 || ip.CheckAddr != netip.MustParseAddr("127.0.0.2") {
		t.Errorf("server ip: check port %d addr %v, want 8080 127.0.0.2", ip.CheckPort, ip.CheckAddr)
	}
	if sock.CheckPort != 0 || sock.CheckAddr.IsValid() || !sock.Check {
		t.Errorf("server sock: check %v port %d addr %v, want a check on its socket", sock.Check, sock.CheckPort, sock.CheckAddr)
	}
}

func TestDefaultServer(t *testing.T) {
	text := backendCfg(
		"server early 10.0.0.1:80",
		"default-server check inter 3s rise 4 fall 5 weight 10 send-proxy slowstart 10s on-error sudden-death",
		"server s1 10.0.0.2:80",
		"server s2 10.0.0.3:80 no-check weight 20 no-send-proxy on-error fastinter",
		"default-server maxconn 7",
		"server s3 10.0.0.4:80",
	)
	cfg := mustParse(t, text)
	be := cfg.Backend("be")
	if len(be.Servers) != 4 {
		t.Fatalf("servers = %v", be.Servers)
	}
	want := []Server{defaultServer(7, "early", "10.0.0.1:80")}
	s1 := defaultServer(9, "s1", "10.0.0.2:80")
	s1.Check, s1.Inter, s1.Rise, s1.Fall, s1.Weight, s1.SendProxy, s1.SlowStart, s1.OnError = true, 3*time.Second, 4, 5, 10, 1, 10*time.Second, OnErrorSuddenDeath
	want = append(want, s1)
	s2 := s1
	s2.Pos, s2.Name, s2.Addr = at(10), "s2", netip.MustParseAddrPort("10.0.0.3:80")
	s2.Check, s2.Weight, s2.SendProxy, s2.OnError = false, 20, 0, OnErrorFastInter
	want = append(want, s2)
	s3 := s1
	s3.Pos, s3.Name, s3.Addr, s3.MaxConn = at(12), "s3", netip.MustParseAddrPort("10.0.0.4:80"), 7
	want = append(want, s3)
	for i, s := range be.Servers {
		if *s != want[i] {
			t.Errorf("server %d =\n%+v\nwant\n%+v", i, *s, want[i])
		}
	}
	// default-server itself is a Server template in the model.
	if be.DefaultServer.MaxConn != 7 || be.DefaultServer.Inter != 3*time.Second || be.DefaultServer.Name != "" {
		t.Errorf("default-server = %+v", be.DefaultServer)
	}
}

func TestACL(t *testing.T) {
	type want struct {
		fetch   string
		method  MatchMethod
		header  string
		icase   bool
		values  []string
		nets    []string
		regexps int
		match   string // for path_reg: a string the first regexp must match
		reject  string // ... and one it must not
	}
	tests := []struct {
		line string
		want want
	}{
		{"acl x path /index.html", want{fetch: "path", method: MatchStr, values: []string{"/index.html"}}},
		{"acl x path_beg /images /stylesheets /javascripts", want{fetch: "path", method: MatchBeg, values: []string{"/images", "/stylesheets", "/javascripts"}}},
		{"acl x path_end .jpg .png", want{fetch: "path", method: MatchEnd, values: []string{".jpg", ".png"}}},
		{"acl x path_sub admin", want{fetch: "path", method: MatchSub, values: []string{"admin"}}},
		{"acl x path_dir api", want{fetch: "path", method: MatchDir, values: []string{"api"}}},
		{"acl x path_reg ^/api/v[0-9]+/", want{fetch: "path", method: MatchReg, regexps: 1, match: "/api/v2/x", reject: "/API/v2/x"}},
		{"acl x path_reg -i ^/api/", want{fetch: "path", method: MatchReg, icase: true, regexps: 1, match: "/API/x", reject: "/x/api/"}},
		{"acl x hdr(host) www.example.com", want{fetch: "hdr", method: MatchStr, header: "host", values: []string{"www.example.com"}}},
		{"acl x hdr(Host) -i WWW.example.com", want{fetch: "hdr", method: MatchStr, header: "Host", icase: true, values: []string{"WWW.example.com"}}},
		{"acl x hdr_beg(host) static.", want{fetch: "hdr", method: MatchBeg, header: "host", values: []string{"static."}}},
		{"acl x hdr_end(host) .example.com", want{fetch: "hdr", method: MatchEnd, header: "host", values: []string{".example.com"}}},
		{"acl x hdr_sub(User-Agent) -i bot", want{fetch: "hdr", method: MatchSub, header: "User-Agent", icase: true, values: []string{"bot"}}},
		{"acl x hdr_dom(host) example.com", want{fetch: "hdr", method: MatchDom, header: "host", values: []string{"example.com"}}},
		{"acl x src 10.0.0.0/8", want{fetch: "src", method: MatchIP, nets: []string{"10.0.0.0/8"}}},
		{"acl x src 192.168.1.7 2001:db8::/32 ::1", want{fetch: "src", method: MatchIP, nets: []string{"192.168.1.7/32", "2001:db8::/32", "::1/128"}}},
		{"acl x src 10.1.2.3/8", want{fetch: "src", method: MatchIP, nets: []string{"10.0.0.0/8"}}},
		{"acl x src 172.16.0.0/255.240.0.0", want{fetch: "src", method: MatchIP, nets: []string{"172.16.0.0/12"}}},
		{"acl x method GET POST", want{fetch: "method", method: MatchStr, values: []string{"GET", "POST"}}},
		{"acl x method -i get", want{fetch: "method", method: MatchStr, icase: true, values: []string{"get"}}},
		{"acl x path_beg -- -i", want{fetch: "path", method: MatchBeg, values: []string{"-i"}}},
		{"acl x path_beg -i -- /A", want{fetch: "path", method: MatchBeg, icase: true, values: []string{"/A"}}},
		{"acl x path_sub -1", want{fetch: "path", method: MatchSub, values: []string{"-1"}}},
	}
	for _, tc := range tests {
		t.Run(tc.line, func(t *testing.T) {
			text := lines(
				"frontend fe",
				"  mode http",
				"  bind 127.0.0.1:8000",
				"  "+tc.line,
				"  use_backend be if x",
				"backend be",
				"  mode http",
			)
			cfg := mustParse(t, text)
			fe := proxy(t, cfg, "frontend", "fe")
			if len(fe.ACLs) != 1 || fe.ACLs[0].Name != "x" || fe.ACLs[0].Pos != at(4) || len(fe.ACLs[0].Terms) != 1 {
				t.Fatalf("acls = %+v", fe.ACLs)
			}
			got := fe.ACLs[0].Terms[0]
			w := tc.want
			if got.Pos != at(4) || got.Expr.Fetch.Name != w.fetch || got.Method != w.method || headerArg(got) != w.header || got.IgnoreCase != w.icase || !reflect.DeepEqual(got.Values, w.values) {
				t.Errorf("term = %+v, want %+v", got, w)
			}
			var nets []string
			for _, n := range got.Nets {
				nets = append(nets, n.String())
			}
			if !reflect.DeepEqual(nets, w.nets) {
				t.Errorf("nets = %v, want %v", nets, w.nets)
			}
			if len(got.Regexps) != w.regexps {
				t.Errorf("regexps = %v", got.Regexps)
			}
			if w.match != "" && !got.Regexps[0].MatchString(w.match) {
				t.Errorf("regexp %v does not match %q", got.Regexps[0], w.match)
			}
			if w.reject != "" && got.Regexps[0].MatchString(w.reject) {
				t.Errorf("regexp %v matches %q", got.Regexps[0], w.reject)
			}
			if c := fe.UseBackends[0].Cond; c.Or[0][0].ACL != fe.ACLs[0] || c.NeedsHTTP() != (w.fetch != "src") {
				t.Errorf("condition does not use the ACL: %+v", c)
			}
		})
	}
}

func TestACLLinesWithTheSameNameAreORed(t *testing.T) {
	cfg := mustParse(t, lines(
		"frontend fe",
		"  mode http",
		"  bind 127.0.0.1:8000",
		"  acl static path_beg /static",
		"  acl other path /",
		"  acl static path_end .css .js",
		"  use_backend be if static",
		"backend be",
		"  mode http",
	))
	fe := proxy(t, cfg, "frontend", "fe")
	if len(fe.ACLs) != 2 || fe.ACLs[0].Name != "static" || fe.ACLs[1].Name != "other" {
		t.Fatalf("acls = %+v", fe.ACLs)
	}
	st := fe.ACLs[0]
	if st.Pos != at(4) || len(st.Terms) != 2 || st.Terms[0].Method != MatchBeg || st.Terms[1].Method != MatchEnd || st.Terms[1].Pos != at(6) {
		t.Errorf("static = %+v", st)
	}
}

// headerArg is the header name an ACL's fetch takes, "" for none.
func headerArg(t *ACLTerm) string {
	if len(t.Expr.Fetch.Args) == 0 {
		return ""
	}
	return t.Expr.Fetch.Args[0].Str
}

func TestUseBackendAndDefaultBackend(t *testing.T) {
	text := lines(
		"frontend fe",
		"  mode http",
		"  bind 127.0.0.1:8000",
		"  acl api path_beg /api",
		"  use_backend api_servers if api",
		"  use_backend static",
		"  default_backend web",
		"backend api_servers",
		"  mode http",
		"backend static",
		"  mode http",
		"backend web",
		"  mode http",
	)
	cfg := mustParse(t, text)
	fe := proxy(t, cfg, "frontend", "fe")
	if len(fe.UseBackends) != 2 {
		t.Fatalf("rules = %+v", fe.UseBackends)
	}
	r0, r1 := fe.UseBackends[0], fe.UseBackends[1]
	if r0.Backend != "api_servers" || r0.Pos != at(5) || condString(r0.Cond) != "if api" {
		t.Errorf("rule 0 = %+v", r0)
	}
	if r1.Backend != "static" || r1.Pos != at(6) || r1.Cond != nil {
		t.Errorf("rule 1 = %+v", r1)
	}
	if fe.DefaultBackend != "web" || fe.DefaultBackPos != at(7) {
		t.Errorf("default_backend = %q at %v", fe.DefaultBackend, fe.DefaultBackPos)
	}
}

func TestTimeouts(t *testing.T) {
	field := map[string]func(*Timeouts) *time.Duration{
		"connect":         func(t *Timeouts) *time.Duration { return &t.Connect },
		"client":          func(t *Timeouts) *time.Duration { return &t.Client },
		"server":          func(t *Timeouts) *time.Duration { return &t.Server },
		"http-request":    func(t *Timeouts) *time.Duration { return &t.HTTPRequest },
		"http-keep-alive": func(t *Timeouts) *time.Duration { return &t.HTTPKeepAlive },
		"queue":           func(t *Timeouts) *time.Duration { return &t.Queue },
		"tunnel":          func(t *Timeouts) *time.Duration { return &t.Tunnel },
		"check":           func(t *Timeouts) *time.Duration { return &t.Check },
		"client-fin":      func(t *Timeouts) *time.Duration { return &t.ClientFin },
		"server-fin":      func(t *Timeouts) *time.Duration { return &t.ServerFin },
		"tarpit":          func(t *Timeouts) *time.Duration { return &t.Tarpit },
	}
	values := []struct {
		text string
		want time.Duration
	}{
		{"5000", 5 * time.Second},
		{"0", 0},
		{"250ms", 250 * time.Millisecond},
		{"100us", 100 * time.Microsecond},
		{"30s", 30 * time.Second},
		{"3m", 3 * time.Minute},
		{"2h", 2 * time.Hour},
		{"1d", 24 * time.Hour},
	}
	for name, f := range field {
		for _, v := range values {
			t.Run(name+"_"+v.text, func(t *testing.T) {
				cfg := mustParse(t, lines("listen l", "  bind 127.0.0.1:8000", "  timeout "+name+" "+v.text))
				var want Timeouts
				*f(&want) = v.want
				if got := proxy(t, cfg, "listen", "l").Timeouts; got != want {
					t.Errorf("timeouts = %+v, want %+v", got, want)
				}
				if len(cfg.Diagnostics) != 0 {
					t.Errorf("a listen section takes every timeout silently: %v", cfg.Diagnostics)
				}
			})
		}
	}
	// Each side's timeouts in the other kind of section are accepted with a warning.
	for name := range field {
		_, fe, be := timeoutField(&Timeouts{}, name)
		for _, section := range []string{"frontend", "backend"} {
			text := lines("frontend f", "  bind 127.0.0.1:8000", "  default_backend b", "backend b")
			if section == "frontend" {
				text = lines("frontend f", "  bind 127.0.0.1:8000", "  default_backend b", "  timeout "+name+" 1s", "backend b")
			} else {
				text += "  timeout " + name + " 1s\n"
			}
			cfg := mustParse(t, text)
			px := proxy(t, cfg, section, map[string]string{"frontend": "f", "backend": "b"}[section])
			if *field[name](&px.Timeouts) != time.Second {
				t.Errorf("timeout %s in %s not set", name, section)
			}
			wantWarn := (section == "frontend" && !fe) || (section == "backend" && !be)
			ds := diags(cfg, "'timeout "+name+"' has no effect")
			if wantWarn != (len(ds) == 1) || (wantWarn && ds[0].Severity != Warning) {
				t.Errorf("timeout %s in %s: diagnostics %v, want warning: %v", name, section, cfg.Diagnostics, wantWarn)
			}
		}
	}
}

func TestLegacyTimeouts(t *testing.T) {
	tests := []struct {
		line   string
		modern string
		want   Timeouts
	}{
		{"contimeout 5000", "timeout connect", Timeouts{Connect: 5 * time.Second}},
		{"clitimeout 50000", "timeout client", Timeouts{Client: 50 * time.Second}},
		{"srvtimeout 50000", "timeout server", Timeouts{Server: 50 * time.Second}},
		{"srvtimeout 1m", "timeout server", Timeouts{Server: time.Minute}},
	}
	for _, tc := range tests {
		for _, section := range []string{"defaults", "listen"} {
			t.Run(section+"_"+tc.line, func(t *testing.T) {
				text := lines("defaults", "  "+tc.line, "listen l", "  bind 127.0.0.1:8000")
				if section == "listen" {
					text = lines("listen l", "  bind 127.0.0.1:8000", "  "+tc.line)
				}
				cfg, errs := parse(t, text)
				if errs != nil {
					t.Fatalf("a legacy keyword must not be an error: %v", errs)
				}
				if got := proxy(t, cfg, "listen", "l").Timeouts; got != tc.want {
					t.Errorf("timeouts = %+v, want %+v", got, tc.want)
				}
				kw := strings.Fields(tc.line)[0]
				if len(cfg.Diagnostics) != 1 {
					t.Fatalf("diagnostics = %v, want one notice", cfg.Diagnostics)
				}
				d := cfg.Diagnostics[0]
				if d.Severity != Notice || d.Pos != at(lineOf(t, text, kw)) ||
					!strings.Contains(d.Msg, "'"+kw+"'") || !strings.Contains(d.Msg, "'"+tc.modern+"'") {
					t.Errorf("diagnostic = %v; want a NOTICE naming '%s' and '%s'", d, kw, tc.modern)
				}
			})
		}
	}
}

func TestRetries(t *testing.T) {
	for _, tc := range []struct {
		line string
		want int
	}{{"", 3}, {"retries 0", 0}, {"retries 5", 5}, {"retries 100", 100}} {
		cfg := mustParse(t, backendCfg(tc.line))
		if got := cfg.Backend("be").Retries; got != tc.want {
			t.Errorf("%q: retries = %d, want %d", tc.line, got, tc.want)
		}
	}
}

func TestOptions(t *testing.T) {
	base := func() *Proxy {
		p := builtinDefaults()
		p.Mode = ModeHTTP
		return p
	}
	pfx := func(s string) *netip.Prefix { p := netip.MustParsePrefix(s); return &p }
	tests := []struct {
		lines []string
		want  func(p *Proxy)
		note  string // a notice the lines must produce
	}{
		{[]string{"option redispatch"}, func(p *Proxy) { p.Redispatch = true }, ""},
		{[]string{"option httplog"}, func(p *Proxy) { p.HTTPLog = true }, ""},
		{[]string{"option tcplog"}, func(p *Proxy) { p.TCPLog = true }, ""},
		{[]string{"option tcplog", "option httplog"}, func(p *Proxy) { p.HTTPLog = true }, ""},
		{[]string{"option httplog", "option tcplog"}, func(p *Proxy) { p.TCPLog = true }, ""},
		{[]string{"option dontlognull"}, func(p *Proxy) { p.DontLogNull = true }, ""},
		{[]string{"option logasap"}, func(p *Proxy) { p.LogASAP = true }, ""},
		{[]string{"option logasap", "no option logasap"}, func(p *Proxy) {}, ""},
		{[]string{"option forwardfor"}, func(p *Proxy) { p.ForwardFor = &ForwardFor{Header: "X-Forwarded-For"} }, ""},
		{[]string{"option forwardfor except 127.0.0.0/8"}, func(p *Proxy) {
			p.ForwardFor = &ForwardFor{Header: "X-Forwarded-For", Except: pfx("127.0.0.0/8")}
		}, ""},
		{[]string{"option forwardfor except 10.0.0.1"}, func(p *Proxy) {
			p.ForwardFor = &ForwardFor{Header: "X-Forwarded-For", Except: pfx("10.0.0.1/32")}
		}, ""},
		{[]string{"option forwardfor header X-Real-IP"}, func(p *Proxy) { p.ForwardFor = &ForwardFor{Header: "X-Real-IP"} }, ""},
		{[]string{"option forwardfor except ::1/128 header X-Client if-none"}, func(p *Proxy) {
			p.ForwardFor = &ForwardFor{Header: "X-Client", Except: pfx("::1/128"), IfNone: true}
		}, ""},
		{[]string{"option forwardfor", "no option forwardfor"}, func(p *Proxy) {}, ""},
		{[]string{"option forwardfor except 2001:db8:1f89::/48"}, func(p *Proxy) {
			p.ForwardFor = &ForwardFor{Header: "X-Forwarded-For", Except: pfx("2001:db8:1f89::/48")}
		}, ""},
		{[]string{"option forwardfor except 2001:db8::1:0:0:1"}, func(p *Proxy) {
			p.ForwardFor = &ForwardFor{Header: "X-Forwarded-For", Except: pfx("2001:db8::1:0:0:1/128")}
		}, ""},
		{[]string{"option forwardfor except 10.0.0.1/25"}, func(p *Proxy) {
			p.ForwardFor = &ForwardFor{Header: "X-Forwarded-For", Except: pfx("10.0.0.0/25")}
		}, ""},
		{[]string{"option originalto"}, func(p *Proxy) { p.OriginalTo = &OriginalTo{Header: "X-Original-To"} }, ""},
		{[]string{"option originalto except 10.0.0.1/25 header X-Dst"}, func(p *Proxy) {
			p.OriginalTo = &OriginalTo{Header: "X-Dst", Except: pfx("10.0.0.0/25")}
		}, ""},
		{[]string{"option originalto header X-Dst except ::1"}, func(p *Proxy) {
			p.OriginalTo = &OriginalTo{Header: "X-Dst", Except: pfx("::1/128")}
		}, ""},
		{[]string{"option originalto", "no option originalto"}, func(p *Proxy) {}, ""},
		{[]string{"option http-restrict-req-hdr-names preserve"}, func(p *Proxy) { p.RestrictReqHdrNames = HdrNamesPreserve }, ""},
		{[]string{"option http-restrict-req-hdr-names delete"}, func(p *Proxy) { p.RestrictReqHdrNames = HdrNamesDelete }, ""},
		{[]string{"option http-restrict-req-hdr-names reject"}, func(p *Proxy) { p.RestrictReqHdrNames = HdrNamesReject }, ""},
		{[]string{"option http-restrict-req-hdr-names reject", "option http-restrict-req-hdr-names delete"}, func(p *Proxy) {
			p.RestrictReqHdrNames = HdrNamesDelete
		}, ""},
		{[]string{"option http-restrict-req-hdr-names reject", "no option http-restrict-req-hdr-names"}, func(p *Proxy) {}, ""},
		{[]string{"option httpchk"}, func(p *Proxy) { p.HTTPCheck = &HTTPCheck{Method: "OPTIONS", URI: "/", Version: "HTTP/1.0"} }, ""},
		{[]string{"option httpchk /health"}, func(p *Proxy) { p.HTTPCheck = &HTTPCheck{Method: "OPTIONS", URI: "/health", Version: "HTTP/1.0"} }, ""},
		{[]string{"option httpchk GET /health"}, func(p *Proxy) { p.HTTPCheck = &HTTPCheck{Method: "GET", URI: "/health", Version: "HTTP/1.0"} }, ""},
		{[]string{"option httpchk HEAD /check?full=1 HTTP/1.1"}, func(p *Proxy) {
			p.HTTPCheck = &HTTPCheck{Method: "HEAD", URI: "/check?full=1", Version: "HTTP/1.1"}
		}, ""},
		{[]string{"option httpchk OPTIONS *"}, func(p *Proxy) { p.HTTPCheck = &HTTPCheck{Method: "OPTIONS", URI: "*", Version: "HTTP/1.0"} }, ""},
		{[]string{"option http-keep-alive"}, func(p *Proxy) { p.HTTPConnMode = HTTPKeepAlive }, ""},
		{[]string{"option http-server-close"}, func(p *Proxy) { p.HTTPConnMode = HTTPServerClose }, ""},
		{[]string{"option httpclose"}, func(p *Proxy) { p.HTTPConnMode = HTTPClose }, ""},
		{[]string{"option http-tunnel"}, func(p *Proxy) { p.HTTPConnMode = HTTPTunnel }, ""},
		{[]string{"option forceclose"}, func(p *Proxy) { p.HTTPConnMode = HTTPClose }, "accepted as 'option httpclose'"},
		{[]string{"option httpclose", "option http-keep-alive"}, func(p *Proxy) { p.HTTPConnMode = HTTPKeepAlive }, ""},
		{[]string{"option httpclose", "no option http-server-close"}, func(p *Proxy) { p.HTTPConnMode = HTTPClose }, ""},
		{[]string{"option httpclose", "no option httpclose"}, func(p *Proxy) { p.HTTPConnMode = HTTPKeepAlive }, ""},
		{[]string{"option splice-auto"}, func(p *Proxy) {}, "'option splice-auto' is accepted and changes nothing"},
		{[]string{"option splice-request"}, func(p *Proxy) {}, "'option splice-request' is accepted"},
		{[]string{"option splice-response"}, func(p *Proxy) {}, "'option splice-response' is accepted"},
		{[]string{"option tcp-check"}, func(p *Proxy) { p.TCPCheck = true }, ""},
		{[]string{"option allbackups"}, func(p *Proxy) { p.AllBackups = true }, ""},
		{[]string{"option redispatch", "no option redispatch"}, func(p *Proxy) {}, ""},
		{[]string{"option httpchk", "no option httpchk"}, func(p *Proxy) {}, ""},
		{[]string{"option tcp-check", "no option tcp-check"}, func(p *Proxy) {}, ""},
		{[]string{"no option dontlognull"}, func(p *Proxy) {}, ""},
		// http-check expect
		{[]string{"http-check expect status 200"}, func(p *Proxy) { p.CheckExpect = &CheckExpect{Kind: ExpectStatus, Pattern: "200"} }, ""},
		{[]string{"http-check expect ! status 500"}, func(p *Proxy) { p.CheckExpect = &CheckExpect{Negate: true, Kind: ExpectStatus, Pattern: "500"} }, ""},
		{[]string{"http-check expect status 200-299,304"}, func(p *Proxy) { p.CheckExpect = &CheckExpect{Kind: ExpectStatus, Pattern: "200-299,304"} }, ""},
		{[]string{"http-check expect string OK"}, func(p *Proxy) { p.CheckExpect = &CheckExpect{Kind: ExpectString, Pattern: "OK"} }, ""},
		{[]string{"http-check expect ! string maintenance"}, func(p *Proxy) {
			p.CheckExpect = &CheckExpect{Negate: true, Kind: ExpectString, Pattern: "maintenance"}
		}, ""},
		{[]string{"http-check expect status 500", "http-check expect status 200"}, func(p *Proxy) {
			p.CheckExpect = &CheckExpect{Kind: ExpectStatus, Pattern: "200"}
		}, ""},
		// logging
		{[]string{"log-format-json"}, func(p *Proxy) { p.LogFormatJSON = true }, ""},
		{[]string{"log 127.0.0.1:1514 local3"}, func(p *Proxy) { p.Logs = []LogTarget{udpLog(4, "127.0.0.1:1514", 19, 7)} }, ""},
		{[]string{"log 127.0.0.1 local3", "no log"}, func(p *Proxy) {}, ""},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.lines, "; "), func(t *testing.T) {
			text := lines("listen l", "  mode http", "  bind 127.0.0.1:8000") + "  " + strings.Join(tc.lines, "\n  ") + "\n"
			cfg := mustParse(t, text)
			got := proxy(t, cfg, "listen", "l")
			want := base()
			tc.want(want)
			type fields struct {
				Redispatch, HTTPLog, TCPLog, DontLogNull, AllBackups, TCPCheck, LogFormatJSON bool
				HTTPConnMode                                                                  HTTPConnMode
				ForwardFor                                                                    *ForwardFor
				OriginalTo                                                                    *OriginalTo
				RestrictReqHdrNames                                                           HdrNamePolicy
				HTTPCheck                                                                     *HTTPCheck
				Logs                                                                          []LogTarget
			}
			f := func(p *Proxy) fields {
				return fields{p.Redispatch, p.HTTPLog, p.TCPLog, p.DontLogNull, p.AllBackups, p.TCPCheck, p.LogFormatJSON,
					p.HTTPConnMode, p.ForwardFor, p.OriginalTo, p.RestrictReqHdrNames, p.HTTPCheck, p.Logs}
			}
			if !reflect.DeepEqual(f(got), f(want)) {
				t.Errorf("options =\n%+v\nwant\n%+v", f(got), f(want))
			}
			gotExpect, wantExpect := got.CheckExpect, want.CheckExpect
			if (gotExpect == nil) != (wantExpect == nil) || (gotExpect != nil && (gotExpect.Negate != wantExpect.Negate ||
				gotExpect.Kind != wantExpect.Kind || gotExpect.Pattern != wantExpect.Pattern || gotExpect.Regexp != nil)) {
				t.Errorf("http-check expect = %+v, want %+v", gotExpect, wantExpect)
			}
			if tc.note != "" {
				ds := diags(cfg, tc.note)
				if len(ds) != 1 || ds[0].Severity != Notice || ds[0].Pos != at(4) {
					t.Errorf("want a notice %q at line 4, got %v", tc.note, cfg.Diagnostics)
				}
			}
		})
	}
}

// "option logasap" is a frontend's: set in defaults, undone by "no option
// logasap", and a warning where no frontend side would use it.
func TestLogASAPActsOnFrontends(t *testing.T) {
	cfg := mustParse(t, lines(
		"defaults",
		"  option logasap",
		"frontend a",
		"  bind 127.0.0.1:8000",
		"  default_backend be",
		"frontend b",
		"  bind 127.0.0.1:8001",
		"  no option logasap",
		"  default_backend be",
		"backend be",
		"  option logasap",
	))
	if !proxy(t, cfg, "frontend", "a").LogASAP || proxy(t, cfg, "frontend", "b").LogASAP {
		t.Error("logasap: want frontend a from defaults, not b after 'no option logasap'")
	}
	if ds := diags(cfg, "'option logasap' has no effect in backend 'be': it applies to frontends"); len(ds) != 1 || ds[0].Pos != at(11) {
		t.Errorf("diagnostics = %v", cfg.Diagnostics)
	}
}

func TestHTTPCheckExpectRegex(t *testing.T) {
	tests := []struct {
		line          string
		negate        bool
		kind          ExpectKind
		pattern       string
		match, reject string
	}{
		{"http-check expect rstatus ^2[0-9]{2}$", false, ExpectRStatus, "^2[0-9]{2}$", "204", "500"},
		{"http-check expect ! rstatus ^5", true, ExpectRStatus, "^5", "503", "200"},
		{"http-check expect rstring ^OK$", false, ExpectRString, "^OK$", "OK", "NOT OK"},
		{"http-check expect ! rstring (error|fail)", true, ExpectRString, "(error|fail)", "disk fail", "fine"},
	}
	for _, tc := range tests {
		t.Run(tc.line, func(t *testing.T) {
			cfg := mustParse(t, backendCfg("option httpchk GET /", tc.line))
			e := cfg.Backend("be").CheckExpect
			if e == nil || e.Negate != tc.negate || e.Kind != tc.kind || e.Pattern != tc.pattern || e.Regexp == nil {
				t.Fatalf("expect = %+v", e)
			}
			if !e.Regexp.MatchString(tc.match) || e.Regexp.MatchString(tc.reject) {
				t.Errorf("regexp %v: match %q and reject %q expected", e.Regexp, tc.match, tc.reject)
			}
		})
	}
}

func TestProxyLog(t *testing.T) {
	global := lines("global", "  log 127.0.0.1 local0 info")
	g0 := udpLog(2, "127.0.0.1:514", 16, 6)
	tests := []struct {
		name string
		text string
		want []LogTarget
	}{
		{"none", lines("listen l", "  bind 127.0.0.1:8000"), nil},
		{"global", lines("listen l", "  bind 127.0.0.1:8000", "  log global"), []LogTarget{g0}},
		{"own", lines("listen l", "  bind 127.0.0.1:8000", "  log 10.0.0.1:5140 local5 err"), []LogTarget{udpLog(5, "10.0.0.1:5140", 21, 3)}},
		{"global and own", lines("listen l", "  bind 127.0.0.1:8000", "  log 10.0.0.1 local5", "  log global"), []LogTarget{g0, udpLog(5, "10.0.0.1:514", 21, 7)}},
		{"two own", lines("listen l", "  bind 127.0.0.1:8000", "  log 10.0.0.1 local5", "  log stdout local6"), []LogTarget{
			udpLog(5, "10.0.0.1:514", 21, 7), {Pos: at(6), Kind: LogStdout, Facility: 22, Level: 7, Format: LogRFC3164, MaxLen: 1024},
		}},
		{"no log", lines("listen l", "  bind 127.0.0.1:8000", "  log global", "  log 10.0.0.1 local5", "  no log"), nil},
		{"no log then global", lines("listen l", "  bind 127.0.0.1:8000", "  log 10.0.0.1 local5", "  no log", "  log global"), []LogTarget{g0}},
		{"defaults global", lines("defaults", "  log global", "listen l", "  bind 127.0.0.1:8000"), []LogTarget{g0}},
		{"defaults global, no log", lines("defaults", "  log global", "listen l", "  bind 127.0.0.1:8000", "  no log"), nil},
		{"defaults own, proxy global", lines("defaults", "  log 10.0.0.1 local5", "listen l", "  bind 127.0.0.1:8000", "  log global"), []LogTarget{g0, udpLog(4, "10.0.0.1:514", 21, 7)}},
		{"log global after global section", lines("listen l", "  bind 127.0.0.1:8000", "  log global") + lines("global", "  log 127.0.0.3 local2"),
			[]LogTarget{g0, udpLog(7, "127.0.0.3:514", 18, 7)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := mustParse(t, global+tc.text)
			if got := proxy(t, cfg, "listen", "l").Logs; !reflect.DeepEqual(got, tc.want) {
				t.Errorf("logs =\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}

func TestStats(t *testing.T) {
	tests := []struct {
		lines []string
		want  Stats
	}{
		{nil, Stats{}},
		{[]string{"stats enable"}, Stats{Enabled: true, URI: "/haproxy?stats", Realm: DefaultStatsRealm}},
		{[]string{"stats uri /stats"}, Stats{Enabled: true, URI: "/stats", Realm: DefaultStatsRealm}},
		{[]string{"stats enable", "stats uri /haproxy?stats"}, Stats{Enabled: true, URI: "/haproxy?stats", Realm: DefaultStatsRealm}},
		{[]string{"stats enable", "stats auth admin:secret", "stats auth ops:p:w"}, Stats{
			Enabled: true, URI: "/haproxy?stats", Realm: DefaultStatsRealm,
			Auth: []Credential{{"admin", "secret"}, {"ops", "p:w"}},
		}},
		{[]string{"stats auth admin:"}, Stats{Enabled: true, URI: "/haproxy?stats", Realm: DefaultStatsRealm, Auth: []Credential{{"admin", ""}}}},
		{[]string{`stats realm "Private\ area"`}, Stats{Enabled: true, URI: "/haproxy?stats", Realm: "Private area"}},
		{[]string{`stats realm Private\ lands`}, Stats{Enabled: true, URI: "/haproxy?stats", Realm: "Private lands"}},
		{[]string{"stats refresh 10s"}, Stats{Enabled: true, URI: "/haproxy?stats", Realm: DefaultStatsRealm, Refresh: 10 * time.Second}},
		{[]string{"stats refresh 5"}, Stats{Enabled: true, URI: "/haproxy?stats", Realm: DefaultStatsRealm, Refresh: 5 * time.Second}},
		{[]string{"stats refresh 1m"}, Stats{Enabled: true, URI: "/haproxy?stats", Realm: DefaultStatsRealm, Refresh: time.Minute}},
		{[]string{"stats enable", "stats hide-version"}, Stats{Enabled: true, URI: "/haproxy?stats", Realm: DefaultStatsRealm, HideVersion: true}},
		{[]string{"stats hide-version"}, Stats{Enabled: true, URI: "/haproxy?stats", Realm: DefaultStatsRealm, HideVersion: true}},
		{[]string{"stats prometheus-uri /metrics"}, Stats{Enabled: true, URI: "/haproxy?stats", Realm: DefaultStatsRealm, PrometheusURI: "/metrics"}},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.lines, "; "), func(t *testing.T) {
			for _, bind := range []string{"10.0.0.1:8000", "127.0.0.1:8000", "/run/stats.sock"} {
				text := lines("listen l", "  mode http", "  bind "+bind)
				for _, l := range tc.lines {
					text += "  " + l + "\n"
				}
				cfg := mustParse(t, text)
				if got := proxy(t, cfg, "listen", "l").Stats; !reflect.DeepEqual(got, tc.want) {
					t.Errorf("stats = %+v, want %+v", got, tc.want)
				}
				// Without "stats auth" the page is open, and the user
				// hears about it unless only this host can reach it.
				open := tc.want.Enabled && len(tc.want.Auth) == 0 && bind == "10.0.0.1:8000"
				if ds := diags(cfg, "not password protected"); open != (len(ds) == 1) {
					t.Errorf("bind %s: diagnostics = %v", bind, cfg.Diagnostics)
				}
			}
		})
	}
}

// The http-response rules of a stats page's proxy, and of a frontend
// routing to it, do not run on the page's answers (HAProxy runs them):
// fjord -c says so, at the first rule.
func TestStatsResponseRulesNotice(t *testing.T) {
	cfg := mustParse(t, lines(
		"defaults",
		"  mode http",
		"frontend fe",
		"  bind 127.0.0.1:8000",
		"  http-response set-header x-fe 1",
		"  default_backend be",
		"frontend other",
		"  bind 127.0.0.1:8001",
		"  http-response set-header x-other 1",
		"  default_backend plain",
		"backend be",
		"  stats enable",
		"  stats auth a:b",
		"  http-response set-header x-be 1",
		"backend plain",
	))
	ds := diags(cfg, "do not run on the answers of the stats page")
	if len(ds) != 2 || ds[0].Severity != Notice || ds[0].Pos != at(5) || ds[1].Pos != at(14) {
		t.Errorf("diagnostics %v, want notices at lines 5 and 14", cfg.Diagnostics)
	}
}

func TestStatsAdmin(t *testing.T) {
	cfg := mustParse(t, lines(
		"listen l",
		"  mode http",
		"  bind 127.0.0.1:8000",
		"  acl lan src 10.0.0.0/8",
		"  stats enable",
		"  stats auth admin:pw",
		"  stats admin if lan",
		"  stats admin unless !TRUE",
		"  stats admin if { src 127.0.0.1 } METH_POST",
	))
	st := proxy(t, cfg, "listen", "l").Stats
	var got []string
	for _, c := range st.Admin {
		got = append(got, condString(c))
	}
	want := []string{"if lan", "unless !TRUE", "if {src 127.0.0.1} METH_POST"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("stats admin = %q, want %q", got, want)
	}
	if st.Admin[0].Pos != at(7) || st.Admin[0].Or[0][0].ACL != proxy(t, cfg, "listen", "l").ACLs[0] {
		t.Errorf("stats admin condition = %+v", st.Admin[0])
	}
}

// An open stats page on a loopback-only listen section is not warned
// about, unless another frontend routes its clients to that section.
func TestOpenStatsPageReachableFromElsewhere(t *testing.T) {
	cfg := mustParse(t, lines(
		"frontend public",
		"  mode http",
		"  bind 0.0.0.0:80",
		"  default_backend stats",
		"listen stats",
		"  mode http",
		"  bind 127.0.0.1:8404",
		"  stats enable",
	))
	if ds := diags(cfg, "not password protected"); len(ds) != 1 {
		t.Errorf("diagnostics = %v, want the open page warned about", cfg.Diagnostics)
	}
}

// Keywords that only tune HAProxy's internals are accepted with a notice
// naming why they change nothing, never silently, whatever valid value
// they are given.
func TestIgnoredKeywordsGiveANotice(t *testing.T) {
	for _, kw := range Keywords() {
		if !kw.Ignored {
			continue
		}
		t.Run(kw.Name, func(t *testing.T) {
			var cfg *Config
			for _, value := range []string{" on", " 8", " 2048", ""} {
				c, err := Parse(testFile, []byte(lines("global", "  "+kw.Name+value)+minimalProxies), Options{Resolver: NoResolver})
				if err == nil {
					cfg = c
					break
				}
			}
			if cfg == nil {
				t.Fatalf("%s accepts none of 'on', '8', '2048' or no value", kw.Name)
			}
			ds := diags(cfg, "'"+kw.Name+"' is accepted and changes nothing: "+kw.Why)
			if len(ds) != 1 || ds[0].Severity != Notice || ds[0].Pos != at(2) {
				t.Errorf("diagnostics = %v", cfg.Diagnostics)
			}
		})
	}
}
