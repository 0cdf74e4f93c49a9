package rules

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/fjordlb/fjord/config"
)

// addrRules reads http-request rules written as in a frontend and
// compiles them.
func addrRules(t testing.TB, lines ...string) *HTTPRules {
	t.Helper()
	text := "defaults\n  mode http\n  timeout connect 1s\n  timeout client 1s\n  timeout server 1s\n" +
		"frontend fe\n  bind 127.0.0.1:8080\n  " + strings.Join(lines, "\n  ") +
		"\n  default_backend be\nbackend be\n  server s1 127.0.0.1:8081\n"
	cfg, err := config.Parse("addrs.cfg", []byte(text), config.Options{Resolver: config.NoResolver})
	if err != nil {
		t.Fatalf("config: %v\n%s", err, text)
	}
	return NewCompiler().HTTPRules(cfg.Frontends()[0].HTTPRequest)
}

// countingLocal is the engine's getsockname, counted.
type countingLocal struct {
	addr  netip.AddrPort
	calls int
}

func (c *countingLocal) LocalAddr() netip.AddrPort { c.calls++; return c.addr }

func TestAddressActions(t *testing.T) {
	client := netip.MustParseAddrPort("192.0.2.7:40000")
	local := netip.MustParseAddrPort("198.51.100.1:443")
	for _, tc := range []struct {
		name  string
		rules []string
		head  string
		from  netip.AddrPort // the client's address; invalid: a Unix socket's client
		level AddrLevel
		// What src, dst, fc_src and fc_dst read afterwards, and what
		// the engine is told changed.
		src, dst, fcSrc, fcDst string
		set                    AddrBits
	}{
		{name: "set-src keeps the port", rules: []string{"http-request set-src hdr(x-real-ip)"},
			head: getHead("/", "X-Real-IP: 10.1.2.3\r\n"), from: client,
			src: "10.1.2.3:40000", dst: "198.51.100.1:443", fcSrc: "192.0.2.7:40000", fcDst: "198.51.100.1:443", set: AddrSrc},
		{name: "set-src to IPv6", rules: []string{"http-request set-src hdr(x-real-ip)"},
			head: getHead("/", "X-Real-IP: 2001:db8::1:0:0:1\r\n"), from: client,
			src: "[2001:db8::1:0:0:1]:40000", dst: "198.51.100.1:443", fcSrc: "192.0.2.7:40000", fcDst: "198.51.100.1:443", set: AddrSrc},
		{name: "a sample that is no address changes nothing", rules: []string{"http-request set-src hdr(x-real-ip)"},
			head: getHead("/", "X-Real-IP: unknown\r\n"), from: client,
			src: "192.0.2.7:40000", dst: "198.51.100.1:443", fcSrc: "192.0.2.7:40000", fcDst: "198.51.100.1:443"},
		{name: "no sample changes nothing", rules: []string{"http-request set-src hdr(x-real-ip)"},
			head: getHead("/"), from: client,
			src: "192.0.2.7:40000", dst: "198.51.100.1:443", fcSrc: "192.0.2.7:40000", fcDst: "198.51.100.1:443"},
		{name: "an integer is an IPv4 address", rules: []string{"http-request set-src int(167772161)"},
			head: getHead("/"), from: client,
			src: "10.0.0.1:40000", dst: "198.51.100.1:443", fcSrc: "192.0.2.7:40000", fcDst: "198.51.100.1:443", set: AddrSrc},
		{name: "a later rule reads the new address", rules: []string{"http-request set-src src,ipmask(24)", "http-request set-src-port src_port,add(1) if { src 192.0.2.0 }"},
			head: getHead("/"), from: client,
			src: "192.0.2.0:40001", dst: "198.51.100.1:443", fcSrc: "192.0.2.7:40000", fcDst: "198.51.100.1:443", set: AddrSrc},
		{name: "set-src-port keeps the address, 16 bits", rules: []string{"http-request set-src-port int(70000)"},
			head: getHead("/"), from: client,
			src: "192.0.2.7:4464", dst: "198.51.100.1:443", fcSrc: "192.0.2.7:40000", fcDst: "198.51.100.1:443", set: AddrSrc},
		{name: "set-dst keeps the port", rules: []string{"http-request set-dst ipv4(10.0.0.2)"},
			head: getHead("/"), from: client,
			src: "192.0.2.7:40000", dst: "10.0.0.2:443", fcSrc: "192.0.2.7:40000", fcDst: "198.51.100.1:443", set: AddrDst},
		{name: "set-dst-port from a string", rules: []string{"http-request set-dst-port hdr(x-port)"},
			head: getHead("/", "X-Port: 8443\r\n"), from: client,
			src: "192.0.2.7:40000", dst: "198.51.100.1:8443", fcSrc: "192.0.2.7:40000", fcDst: "198.51.100.1:443", set: AddrDst},
		{name: "both", rules: []string{"http-request set-src ipv6(::2)", "http-request set-dst ipv6(::3)"},
			head: getHead("/"), from: client,
			src: "[::2]:40000", dst: "[::3]:443", fcSrc: "192.0.2.7:40000", fcDst: "198.51.100.1:443", set: AddrSrc | AddrDst},
		{name: "a Unix socket's client gets port 0", rules: []string{"http-request set-src ipv4(10.0.0.9)"},
			head: getHead("/"), from: netip.AddrPort{},
			src: "10.0.0.9:0", dst: "198.51.100.1:443", fcSrc: "invalid AddrPort", fcDst: "198.51.100.1:443", set: AddrSrc},
		{name: "a Unix socket's client gets 0.0.0.0 for a port", rules: []string{"http-request set-src-port int(81)"},
			head: getHead("/"), from: netip.AddrPort{},
			src: "0.0.0.0:81", dst: "198.51.100.1:443", fcSrc: "invalid AddrPort", fcDst: "198.51.100.1:443", set: AddrSrc},
		{name: "connection rules change the connection's", rules: []string{"http-request set-src ipv4(10.0.0.1)", "http-request set-dst-port int(8080)"},
			head: getHead("/"), from: client, level: AddrConnection,
			src: "10.0.0.1:40000", dst: "198.51.100.1:8080", fcSrc: "10.0.0.1:40000", fcDst: "198.51.100.1:8080", set: AddrSrc | AddrDst},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs := addrRules(t, tc.rules...)
			var tx Txn
			var m Msg
			fillTxn(&tx, &m, client.Addr(), mustRequest(t, tc.head))
			lc := &countingLocal{addr: local}
			tx.Src, tx.ConnSrc = tc.from, tc.from
			tx.DstIsConn, tx.Local = true, lc
			tx.AddrLevel = tc.level
			if v := rs.Run(&tx, tx.Req); v.Outcome != Continue {
				t.Fatalf("outcome %v", v.Outcome)
			}
			got := []string{tx.Src.String(), tx.dst().String(), tx.ConnSrc.String(), tx.connDst().String()}
			want := []string{tc.src, tc.dst, tc.fcSrc, tc.fcDst}
			for i, what := range []string{"src", "dst", "fc_src", "fc_dst"} {
				if got[i] != want[i] {
					t.Errorf("%s %s, want %s", what, got[i], want[i])
				}
			}
			if tx.AddrsSet != tc.set {
				t.Errorf("changed %b, want %b", tx.AddrsSet, tc.set)
			}
			if lc.calls > 1 {
				t.Errorf("the local address was asked for %d times", lc.calls)
			}
		})
	}
}

// The connection's destination is asked for only when a rule reads it,
// once; a destination a rule set is not asked for.
func TestLocalAddressIsLazy(t *testing.T) {
	local := netip.MustParseAddrPort("198.51.100.1:443")
	for _, tc := range []struct {
		expr  string
		want  string
		calls int
	}{
		{"src", "192.0.2.7", 0},
		{"dst", "198.51.100.1", 1},
		{"dst_port", "443", 1},
		{"fc_dst", "198.51.100.1", 1},
		{"fc_dst_port", "443", 1},
		{"fc_src_port", "40000", 0},
	} {
		t.Run(tc.expr, func(t *testing.T) {
			e := compileSample(t, tc.expr)
			var tx Txn
			tx.Src = netip.MustParseAddrPort("192.0.2.7:40000")
			tx.ConnSrc = tx.Src
			lc := &countingLocal{addr: local}
			tx.DstIsConn, tx.Local = true, lc
			for i := 0; i < 2; i++ {
				v, ok := e.Eval(&tx)
				if got := sampleText(v, ok); got != tc.want {
					t.Fatalf("%s = %s, want %s", tc.expr, got, tc.want)
				}
			}
			if lc.calls != tc.calls {
				t.Errorf("asked %d times, want %d", lc.calls, tc.calls)
			}
		})
	}
}

func TestAddressFetches(t *testing.T) {
	runSampleCases(t, "", func(tx *Txn) {
		tx.ConnSrc = netip.MustParseAddrPort("10.0.0.1:1234")
		tx.ConnDst = netip.MustParseAddrPort("[::ffff:10.0.0.2]:80")
		tx.Dst = netip.MustParseAddrPort("192.168.0.2:0")
	}, []sampleCase{
		{expr: "fc_src", want: "10.0.0.1", typ: config.TypeAddr},
		{expr: "fc_src_port", want: "1234", typ: config.TypeInt},
		{expr: "fc_dst", want: "10.0.0.2", typ: config.TypeAddr}, // IPv4-mapped read as IPv4
		{expr: "fc_dst_port", want: "80", typ: config.TypeInt},
		{expr: "src", want: "127.0.0.1", typ: config.TypeAddr},
		{expr: "dst", want: "192.168.0.2", typ: config.TypeAddr},
		{expr: "dst_port", want: noSample}, // port 0 is no port, as HAProxy's get_host_port
		{expr: "ipv4(10.0.0.1)", want: "10.0.0.1", typ: config.TypeAddr},
		{expr: "ipv6(2001:db8::1)", want: "2001:db8::1", typ: config.TypeAddr},
		{expr: "ipv4(10.0.0.1),ipmask(8)", want: "10.0.0.0", typ: config.TypeAddr},
	})
}

func TestAddressConstantErrors(t *testing.T) {
	for expr, want := range map[string]string{
		"ipv4(10.0.0.256)": "'10.0.0.256' is not an IPv4 address",
		"ipv4(::1)":        "'::1' is not an IPv4 address",
		"ipv6(10.0.0.1)":   "'10.0.0.1' is not an IPv6 address",
		"ipv6(fe80::1%lo)": "'fe80::1%lo' is not an IPv6 address",
		"ipv4()":           "'ipv4' takes 1 argument",
	} {
		if got := configError(t, expr); !strings.Contains(got, want) {
			t.Errorf("%s: error %q, want %q", expr, got, want)
		}
	}
}

// Address actions allocate nothing, the lazy destination included.
func TestAddressActionsAllocateNothing(t *testing.T) {
	rs := addrRules(t, "http-request set-src hdr(x-real-ip)", "http-request set-dst-port int(8080)",
		"http-request set-header X-Where %[src]:%[dst_port]")
	req := mustRequest(t, getHead("/", "X-Real-IP: 2001:db8::7\r\n"))
	var tx Txn
	var m Msg
	lc := &countingLocal{addr: netip.MustParseAddrPort("127.0.0.1:80")}
	run := func() {
		fillTxn(&tx, &m, v4Client, req)
		tx.DstIsConn, tx.Local = true, lc
		rs.Run(&tx, tx.Req)
	}
	run()
	if got := string(m.Headers[len(m.Headers)-1].Value); got != "2001:db8::7:8080" {
		t.Fatalf("X-Where %q", got)
	}
	if allocs := testing.AllocsPerRun(1000, run); allocs != 0 {
		t.Errorf("%v allocations per request", allocs)
	}
}
