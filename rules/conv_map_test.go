package rules

import (
	"net/netip"
	"testing"

	"github.com/fjordlb/fjord/config"
)

func TestConvertersMapStrings(t *testing.T) {
	s := config.TypeStr
	host := func(h string) string { return getHead("/", "Host: "+h+"\r\n") }
	runSampleCases(t, host("WWW.Example.com"), nil, []sampleCase{
		{"req.hdr(host),lower,map_str(testdata/hosts.map)", "web", s}, // the first of two lines
		{"req.hdr(host),lower,map(testdata/hosts.map)", "web", s},
		{"req.hdr(host),map_str(testdata/hosts.map)", noSample, 0}, // case matters
		{"req.hdr(host),map_str(testdata/hosts.map,other)", "other", s},
		{"req.hdr(host),map_str(testdata/hosts.map,)", "", s},
		{"str(indented.example.com),map_str(testdata/hosts.map)", "indented value with spaces", s},
		{"str(www.example.co),map_str(testdata/hosts.map)", noSample, 0},
	})
	runSampleCases(t, "", nil, []sampleCase{
		// beg: the longest prefix, whatever the order of the lines.
		{"str(/api/v2/users),map_beg(testdata/paths.map)", "api-v2", s},
		{"str(/api/v1/users),map_beg(testdata/paths.map)", "api", s},
		{"str(/other),map_beg(testdata/paths.map)", "root", s},
		{"str(api),map_beg(testdata/paths.map)", noSample, 0},
		// sub: the first line found in the input.
		{"str(/x/api/v2),map_sub(testdata/paths.map)", "api", s},
		{"str(x/static),map_sub(testdata/paths.map)", "static", s},
		// dir: the first line that is whole '/'-delimited components.
		{"str(/a/static/b.css),map_dir(testdata/paths.map)", "static", s},
		{"str(/a/api/v2/b),map_dir(testdata/paths.map)", "api", s},
		{"str(/apis/x),map_dir(testdata/paths.map)", noSample, 0},
		// end: the first line that ends the input.
		{"str(/a.min.js),map_end(testdata/suffixes.map)", "minified", s},
		{"str(/a.js),map_end(testdata/suffixes.map)", "script", s},
		{"str(/a.css?x),map_end(testdata/suffixes.map,none)", "none", s},
		// dom: the first line that is whole '.'-delimited labels.
		{"str(www.example.com),map_dom(testdata/domains.map)", "example", s},
		{"str(images.cdn.net:443),map_dom(testdata/domains.map)", "images", s},
		{"str(badexample.com),map_dom(testdata/domains.map)", noSample, 0},
		// reg: the first expression that matches.
		{"str(/api/v3/x),map_reg(testdata/regex.map)", "versioned", s},
		{"str(/a/index.php),map_reg(testdata/regex.map)", "php", s},
		{"str(/other),map_reg(testdata/regex.map)", "any", s},
		{"str(other),map_reg(testdata/regex.map)", noSample, 0},
		// regm: the value's \N are the expression's groups (HAProxy's
		// reg-tests map_regm_with_backref and converters_ipmask_...).
		{"str(example.org),map_regm(testdata/regm.map,unknown)", "example_AND_org", s},
		{"str(www.example.org),map_regm(testdata/regm.map,unknown)", "www.example_AND_org", s},
		{"str(Yes_It),map_regm(testdata/regm.map)", "It_Yes", s},
		{"str(nomatch),map_regm(testdata/regm.map,unknown)", "unknown", s},
		{"str(nomatch),map_regm(testdata/regm.map)", noSample, 0},
		// Other inputs are cast to a string.
		{"int(80),map_str(testdata/ports.map)", "http", s},
	})
}

func TestConvertersMapIP(t *testing.T) {
	src := func(a string) func(*Txn) {
		return func(tx *Txn) { tx.Src = netip.AddrPortFrom(netip.MustParseAddr(a), 1234) }
	}
	s := config.TypeStr
	for _, tc := range []struct{ src, want string }{
		{"10.1.2.3", "host"}, // the most specific network
		{"10.1.9.9", "ten-one"},
		{"10.2.0.1", "ten"},
		{"192.168.5.5", "home"},
		{"172.16.1.1", "mapped-private"}, // an IPv4 client looked up as ::ffff:a.b.c.d
		{"2001:db8:1::5", "doc6-one"},
		{"2001:db8:2::5", "doc6"},
		{"11.5.6.1", "odd-mask"},
		{"11.5.6.2", noSample},
		{"2001:db9::1", noSample},
	} {
		runSampleCases(t, "", src(tc.src), []sampleCase{{"src,map_ip(testdata/networks.map)", tc.want, s}})
	}
	runSampleCases(t, "", nil, []sampleCase{
		// IPv6 addresses that carry an IPv4 one are looked up as that.
		{"str(::ffff:10.1.2.3),map_ip(testdata/networks.map)", "host", s},
		{"str(::10.1.2.3),map_ip(testdata/networks.map)", "host", s},
		{"str(2002:a01:203::1),map_ip(testdata/networks.map)", "host", s}, // 6to4
		{"str(::ffff:11.5.6.1),map_ip(testdata/networks.map)", "odd-mask", s},
		{"str(10.1.2.3),map_ip(testdata/networks.map)", "host", s},
		{"str(nope),map_ip(testdata/networks.map,x)", noSample, 0},  // no address: no sample, as a failed cast
		{"int(167838211),map_ip(testdata/networks.map)", "host", s}, // 10.1.2.3 as an integer
		{"str(2001:db9::1),map_ip(testdata/networks.map,elsewhere)", "elsewhere", s},
	})
}

func TestConvertersMapOutputs(t *testing.T) {
	i, a, s := config.TypeInt, config.TypeAddr, config.TypeStr
	runSampleCases(t, "", nil, []sampleCase{
		// map_int: integers and ranges, the first matching line.
		{"int(80),map_int(testdata/ports.map)", "http", s},
		{"int(8080),map_int(testdata/ports.map)", "unprivileged", s}, // before the 8000-8999 line
		{"int(22),map_int(testdata/ports.map)", "privileged", s},
		{"str(443),map_int(testdata/ports.map)", "https", s},
		{"int(503),map_int_int(testdata/codes.map)", "5", i},
		{"int(404),map_int_int(testdata/codes.map,0)", "0", i}, // _int outputs.
		{"str(www.example.com),map_str_int(testdata/weights.map)", "10", i},
		{"str(api.example.com),map_str_int(testdata/weights.map)", "-3", i},
		{"str(big),map_str_int(testdata/weights.map)", "9223372036854775807", i},
		{"str(empty),map_str_int(testdata/weights.map)", "0", i}, // no value reads as 0, as HAProxy
		{"str(none),map_str_int(testdata/weights.map,7)", "7", i},
		{"str(none),map_str_int(testdata/weights.map,)", noSample, 0},         // an empty integer is no default
		{"str(www.example.com/x),map_beg_int(testdata/weights.map)", "10", i}, // _ip outputs.
		{"str(www.example.com),map_str_ip(testdata/addrs.map)", "10.0.0.1", a},
		{"str(api.example.com),map_str_ip(testdata/addrs.map)", "2001:db8::1", a},
		{"str(port),map_str_ip(testdata/addrs.map)", "10.0.0.2", a},
		{"str(none),map_str_ip(testdata/addrs.map,192.0.2.1)", "192.0.2.1", a},
		{"str(www.example.com),map_str_ip(testdata/addrs.map),ipmask(24)", "10.0.0.0", a},
		{"src,map_ip_ip(testdata/nat.map,2001:db8::9)", "2001:db8::9", a},
		{"str(172.17.0.1),map_ip_ip(testdata/nat.map)", "2001:db8::10", a},
		{"str(10.9.9.9),map_ip_int(testdata/nets-int.map)", "1", i}})
}

func TestMapErrors(t *testing.T) {
	runErrorCases(t, map[string][]string{
		"path,map_str_int(testdata/bad-int.map)":    {"argument 1 of 'map_str_int'", "testdata/bad-int.map:2", "the value '1x' is not an integer"},
		"path,map_beg_ip(testdata/bad-ip.map)":      {"argument 1 of 'map_beg_ip'", "testdata/bad-ip.map:2", "'10.0.0' is not an IPv4 or IPv6 address"},
		"path,map_reg(testdata/bad-regex.map)":      {"argument 1 of 'map_reg'", "testdata/bad-regex.map:2", "invalid regular expression '^/(bad'"},
		"path,map_regm(testdata/bad-regex.map)":     {"testdata/bad-regex.map:2", "invalid regular expression"},
		"src,map_ip(testdata/bad-keys.map)":         {"argument 1 of 'map_ip'", "testdata/bad-keys.map:1", "'10.0.0.0/33' is not a valid IPv4 or IPv6 address or network"},
		"int(1),map_int(testdata/hosts.map)":        {"argument 1 of 'map_int'", "testdata/hosts.map:2", "'www.example.com' is not an integer or a range"},
		"path,map_str_int(testdata/weights.map,x)":  {"argument 2 of 'map_str_int'", "'x' is not an integer"},
		"path,map_str_ip(testdata/addrs.map,nope)":  {"argument 2 of 'map_str_ip'", "the default 'nope' is not an IPv4 or IPv6 address"},
		"path,map_str_ip(testdata/addrs.map,)":      {"argument 2 of 'map_str_ip'"},
		"path,map_str(testdata/missing.map)":        {"argument 1 of 'map_str'", "cannot read file 'testdata/missing.map'"},
		"path,map_str":                              {"'map_str' takes 1 to 2 argument(s), found 0"},
		"path,map_regm_int(testdata/regm.map)":      {"unknown converter 'map_regm_int'"},
		"path,map_str_str(testdata/hosts.map)":      {"unknown converter 'map_str_str'"},
		"req.body,map_int(testdata/ports.map)":      {"converter 'map_int' cannot be applied"},
		"path,map_str(testdata/bad-int.map)":        nil, // text values need no check
		"path,map_beg_int(testdata/weights.map,-4)": nil,
		"src,map_ip_int(testdata/nets-int.map,1)":   nil, "path,map_dom_ip(testdata/addrs.map,::1)": nil,
		"path,map_end(testdata/suffixes.map,a\\ b)": nil,
		"path,map_sub_int(testdata/weights.map)":    nil,
		"path,map_dir_ip(testdata/addrs.map)":       nil,
		"path,map_reg_int(testdata/weights.map)":    nil,
		"src,map_ip_int(testdata/networks.map)":     {"testdata/networks.map:2", "the value 'ten' is not an integer"}})
}

// Every converter using a file shares one lookup structure per match
// method, and one array of values per output type.
func TestMapIndexShared(t *testing.T) {
	cond := parseCond(t, []string{
		"a req.hdr(host),map_str(testdata/hosts.map) -m found",
		"b path,map(testdata/hosts.map,x) -m found",
		"c path,map_beg(testdata/hosts.map) -m found",
		"d path,map_str_int(testdata/weights.map) -m found",
	}, "if a b c d")
	cp := NewCompiler()
	cp.Cond(cond)
	if len(cp.maps) != 3 || len(cp.mapValues) != 2 {
		t.Errorf("%d lookup structures and %d value arrays, want 3 and 2", len(cp.maps), len(cp.mapValues))
	}
}

// Map lookups allocate nothing (map_regm aside).
func TestMapAllocs(t *testing.T) {
	req := mustRequest(t, getHead("/api/v2/users", "Host: WWW.example.com\r\n"))
	for _, expr := range []string{
		"req.hdr(host),lower,map_str(testdata/hosts.map,default)",
		"path,map_beg(testdata/paths.map)",
		"path,map_sub(testdata/paths.map)",
		"path,map_dir(testdata/paths.map)",
		"path,map_end(testdata/suffixes.map,x)",
		"req.hdr(host),map_dom(testdata/domains.map,x)",
		"path,map_reg(testdata/regex.map)",
		"src,map_ip(testdata/networks.map,none)",
		"str(::ffff:172.16.1.1),map_ip_int(testdata/nets-int.map,3)", "int(503),map_int_int(testdata/codes.map,0)",
		"req.hdr(host),lower,map_str_int(testdata/weights.map)",
	} {
		e := compileSample(t, expr)
		var tx Txn
		var m Msg
		fillTxn(&tx, &m, v4Client, req)
		if _, ok := e.Eval(&tx); !ok {
			t.Errorf("%s: no sample", expr)
		}
		if allocs := testing.AllocsPerRun(100, func() {
			fillTxn(&tx, &m, v4Client, req)
			e.Eval(&tx)
		}); allocs != 0 {
			t.Errorf("%s: %v allocations per evaluation", expr, allocs)
		}
	}
}

// A typical chain: the Host header, lower-cased, looked up in a map.
func BenchmarkMapStrChain(b *testing.B) {
	e := compileSample(b, "req.hdr(host),lower,map_str(testdata/hosts.map,default)")
	req := mustRequest(b, "GET /index.html HTTP/1.1\r\nHost: WWW.Example.COM\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n")
	var tx Txn
	var m Msg
	b.ReportAllocs()
	for b.Loop() {
		fillTxn(&tx, &m, v4Client, req)
		if v, ok := e.Eval(&tx); !ok || string(v.B) != "web" {
			b.Fatalf("got %q, %v", v.B, ok)
		}
	}
}

// The longest-prefix lookups of map_ip, IPv4 and IPv6 networks of
// several lengths and a non-contiguous mask.
func BenchmarkMapIP(b *testing.B) {
	e := compileSample(b, "src,map_ip(testdata/networks.map,none)")
	var tx Txn
	var m Msg
	b.ReportAllocs()
	for b.Loop() {
		fillTxn(&tx, &m, netip.MustParseAddr("10.1.9.9"), nil)
		e.Eval(&tx)
	}
}
