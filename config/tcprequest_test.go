package config

import (
	"strings"
	"testing"
	"time"
)

// tcpFE is a valid mode-tcp frontend "fe" using backend "be", with extra
// lines, followed by backend "be".
func tcpFE(l ...string) string {
	return lines("frontend fe", "  bind 127.0.0.1:8000", "  default_backend be") + lines(l...) + lines("backend be")
}

func TestTCPRequestRules(t *testing.T) {
	cfg, errs := parseWith(t, testResolver(), tcpFE(
		"  tcp-request inspect-delay 5s",
		"  tcp-request connection reject if { src 10.0.0.0/8 }",
		"  tcp-request content accept if { req.ssl_hello_type 1 }",
		"  tcp-request content reject",
		"  use_backend be if { req.ssl_sni -i a.example.com }",
	))
	if errs != nil {
		t.Fatal(errs)
	}
	fe := proxy(t, cfg, "frontend", "fe")
	if fe.InspectDelay != 5*time.Second {
		t.Errorf("inspect-delay %v", fe.InspectDelay)
	}
	if len(fe.TCPConnection) != 1 || fe.TCPConnection[0].Action != TCPReject || fe.TCPConnection[0].Cond == nil {
		t.Errorf("connection rules %+v", fe.TCPConnection)
	}
	if len(fe.TCPContent) != 2 || fe.TCPContent[0].Action != TCPAccept || !fe.TCPContent[0].Cond.ReadsHello() ||
		fe.TCPContent[1].Action != TCPReject || fe.TCPContent[1].Cond != nil {
		t.Errorf("content rules %+v", fe.TCPContent)
	}
	term := fe.TCPContent[0].Cond.Or[0][0].ACL.Terms[0]
	if term.Expr.Fetch.Name != "req.ssl_hello_type" || len(term.Ranges) != 1 || !term.Ranges[0].Contains(1) || term.Ranges[0].Contains(2) {
		t.Errorf("req.ssl_hello_type 1: %+v", term)
	}
}

// tcp-response content rules: set-var and its kin go on, the inspect-delay
// is kept; a backend's tcp-request content rules in mode http may read
// the request, which they run on.
func TestTCPResponseAndBackendContentRules(t *testing.T) {
	cfg, errs := parseWith(t, testResolver(), tcpBE(
		"  tcp-response inspect-delay 3s",
		"  tcp-response content reject unless { res.payload(0,0),mqtt_is_valid }",
		"  tcp-response content set-var(res.rc) res.payload(0,0),mqtt_field_value(connack,reason_code)",
		"  tcp-response content set-var-fmt(sess.x) \"rc=%[var(res.rc)]\" if { res.len gt 2 }",
		"  tcp-response content unset-var(sess.x)",
		"  tcp-response content accept if WAIT_END",
	))
	if errs != nil {
		t.Fatal(errs)
	}
	be := proxy(t, cfg, "backend", "be")
	if be.ResponseInspectDelay != 3*time.Second {
		t.Errorf("tcp-response inspect-delay %v", be.ResponseInspectDelay)
	}
	want := []TCPAction{TCPReject, TCPSetVar, TCPSetVarFmt, TCPUnsetVar, TCPAccept}
	if len(be.TCPResponse) != len(want) {
		t.Fatalf("%d rules", len(be.TCPResponse))
	}
	for i, r := range be.TCPResponse {
		if r.Action != want[i] {
			t.Errorf("rule %d: %v, want %v", i, r.Action, want[i])
		}
	}
	if v := be.TCPResponse[1].Var; v.Name.String() != "res.rc" || v.Expr == nil || be.TCPResponse[2].Var.Format == nil || be.TCPResponse[2].Cond == nil {
		t.Errorf("set-var rules %+v %+v", be.TCPResponse[1], be.TCPResponse[2])
	}
	_, errs = parseWith(t, testResolver(), lines("frontend fe", "  mode http", "  bind 127.0.0.1:8000", "  default_backend be",
		"backend be", "  mode http", "  tcp-request content set-var(txn.path) path", "  tcp-request content reject if { var(txn.path) -m beg /x }"))
	if errs != nil {
		t.Errorf("an http backend's content rules reading the request: %v", errs)
	}
}

func TestTLSCriteria(t *testing.T) {
	for _, tc := range []struct {
		acl    string
		fetch  string
		method MatchMethod
		in     []int64 // for ranges: values that match
		out    []int64
	}{
		{acl: "ssl_fc", fetch: "ssl_fc", method: MatchBool},
		{acl: "ssl_c_used", fetch: "ssl_c_used", method: MatchBool},
		{acl: "ssl_fc_sni -i www.example.com", fetch: "ssl_fc_sni", method: MatchStr},
		{acl: "ssl_fc_sni_end .example.com", fetch: "ssl_fc_sni", method: MatchEnd},
		{acl: "ssl_fc_sni_reg ^api[0-9]+\\.", fetch: "ssl_fc_sni", method: MatchReg},
		{acl: "ssl_fc_protocol TLSv1.3", fetch: "ssl_fc_protocol", method: MatchStr},
		{acl: "ssl_fc_alpn h2", fetch: "ssl_fc_alpn", method: MatchStr},
		{acl: "ssl_c_verify 0", fetch: "ssl_c_verify", method: MatchInt, in: []int64{0}, out: []int64{1}},
		{acl: "ssl_c_verify 1:", fetch: "ssl_c_verify", method: MatchInt, in: []int64{1, 50}, out: []int64{0}},
		{acl: "req.ssl_ver 3.1:3.3", fetch: "req.ssl_ver", method: MatchDec, in: []int64{3<<16 | 1, 3<<16 | 3}, out: []int64{3 << 16, 3<<16 | 4}},
		{acl: "req_ssl_ver 3", fetch: "req.ssl_ver", method: MatchDec, in: []int64{3 << 16}, out: []int64{3<<16 | 1}},
		{acl: "req_ssl_sni a.example.com", fetch: "req.ssl_sni", method: MatchStr},
		{acl: "req.ssl_alpn acme-tls/1", fetch: "req.ssl_alpn", method: MatchStr},
		{acl: "req.ssl_ec_ext", fetch: "req.ssl_ec_ext", method: MatchBool},
		{acl: "req.ssl_st_ext 1:", fetch: "req.ssl_st_ext", method: MatchInt, in: []int64{1, 2}, out: []int64{0}},
	} {
		t.Run(tc.acl, func(t *testing.T) {
			mode := "  mode http"
			if strings.HasPrefix(tc.fetch, "req.") {
				mode = "  tcp-request inspect-delay 1s"
			}
			cfg, errs := parseWith(t, testResolver(), lines("frontend fe", mode, "  bind 127.0.0.1:8000", "  acl x "+tc.acl, "  use_backend be if x", "  default_backend be", "backend be", mode))
			if errs != nil {
				t.Fatal(errs)
			}
			term := proxy(t, cfg, "frontend", "fe").ACLs[0].Terms[0]
			if term.Expr.Fetch.Name != tc.fetch || term.Method != tc.method {
				t.Fatalf("fetch %s -m %v, want %s -m %v", term.Expr.Fetch.Name, term.Method, tc.fetch, tc.method)
			}
			for _, v := range tc.in {
				if !term.Ranges[0].Contains(v) {
					t.Errorf("%d does not match", v)
				}
			}
			for _, v := range tc.out {
				if term.Ranges[0].Contains(v) {
					t.Errorf("%d matches", v)
				}
			}
		})
	}
}

func TestTCPRequestErrors(t *testing.T) {
	for _, tc := range []errCase{
		{"no sub-keyword", tcpFE("  tcp-request #ERR"), []string{"expects 'inspect-delay', 'connection' or 'content'"}},
		{"unknown sub-keyword", tcpFE("  tcp-request contents accept #ERR"), []string{"unknown 'tcp-request contents'"}},
		{"inspect-delay without time", tcpFE("  tcp-request inspect-delay #ERR"), []string{"expects one time value"}},
		{"inspect-delay bad time", tcpFE("  tcp-request inspect-delay 5x #ERR"), []string{"'tcp-request inspect-delay'", "5x"}},
		{"no action", tcpFE("  tcp-request content #ERR"), []string{"expects an action (accept, reject, set-var(NAME)"}},
		{"action not built", tcpFE("  tcp-request content track-sc0 src #ERR"), []string{"'track-sc0' is not supported yet"}},
		{"session rule in a backend", tcpBE("  tcp-request session accept #ERR"), []string{"frontend and listen sections only"}},
		{"session rule reading the hello", tcpFE("  tcp-request session reject if { req.ssl_sni a } #ERR"), []string{"'tcp-request session' is evaluated when the connection is accepted"}},
		{"set-var without a value", tcpFE("  tcp-request content set-var(sess.a) #ERR"), []string{"expects a value"}},
		{"set-var bad condition", tcpFE("  tcp-request content set-var(sess.a,ifbig) src #ERR"), []string{"unknown set-var condition 'ifbig'"}},
		{"expect-proxy in content", tcpFE("  tcp-request content expect-proxy layer4 #ERR"), []string{"only 'tcp-request connection' rules may expect a PROXY header"}},
		{"expect-proxy without layer4", tcpFE("  tcp-request connection expect-proxy #ERR"), []string{"expects 'layer4'"}},
		{"set-src without an expression", tcpFE("  tcp-request connection set-src #ERR"), []string{"'tcp-request connection set-src' expects one sample expression"}},
		{"set-src without an expression, with a condition", tcpFE("  tcp-request session set-src if TRUE #ERR"), []string{"'tcp-request session set-src' expects one sample expression"}},
		{"set-dst-port bad expression", tcpFE("  tcp-request content set-dst-port int(x) #ERR"), []string{"'tcp-request content set-dst-port'", "'x' is not an integer"}},
		{"connection set-src reading the hello", tcpFE("  tcp-request connection set-src req.ssl_sni #ERR"), []string{"'tcp-request connection' is evaluated when the connection is accepted"}},
		{"session set-dst in a backend", tcpBE("  tcp-request session set-dst ipv4(10.0.0.1) #ERR"), []string{"frontend and listen sections only"}},
		{"silent-drop with an argument", tcpFE("  tcp-request content silent-drop now #ERR"), []string{"expected 'if' or 'unless'"}},
		{"tcp-response action not built", tcpBE("  tcp-response content close #ERR"), []string{"fjord carries out accept, reject, silent-drop, set-var(), set-var-fmt() and unset-var()"}},
		{"global set-var of a session variable", lines("global", "  set-var sess.a int(1) #ERR") + okTail, []string{"only proc variables exist before any connection"}},
		{"global set-var reading a request", lines("global", "  set-var proc.a src #ERR") + okTail, []string{"does not exist at startup"}},
		{"rules in anonymous defaults", lines("defaults", "  tcp-request content accept #ERR") + okTail, []string{"'tcp-request content' is not allowed in an anonymous 'defaults' section"}},
		{"connection rule in a backend", tcpBE("  tcp-request connection accept #ERR"), []string{"frontend and listen sections only"}},
		{"connection rule reading the hello", tcpFE("  tcp-request connection reject if { req.ssl_sni a } #ERR"), []string{"only read the addresses (src)"}},
		{"connection rule reading the payload", tcpFE("  tcp-request connection reject if { req.len gt 0 } #ERR"), []string{"before any byte is read"}},
		{"session rule reading the payload", tcpFE("  tcp-request session reject if { req.payload(0,1) -m bin 00 } #ERR"), []string{"'tcp-request session' is evaluated when the connection is accepted"}},
		{"content rule reading the response", tcpFE("  tcp-request content reject if { res.payload(0,1) -m bin 00 } #ERR"), []string{"res.payload belongs in 'tcp-response content' rules"}},
		{"response rule reading the request", tcpBE("  tcp-response content reject if { req.payload(0,1) -m bin 00 } #ERR"), []string{"'tcp-response content' is evaluated on the server's first bytes"}},
		{"response set-var reading the request", tcpBE("  tcp-response content set-var(txn.x) req.len #ERR"), []string{"'tcp-response content' is evaluated on the server's first bytes"}},
		{"response action not built", tcpBE("  tcp-response content close #ERR"), []string{"'tcp-response content close': the action is not supported"}},
		{"response set-var without a value", tcpBE("  tcp-response content set-var(txn.x) #ERR"), []string{"'tcp-response content set-var(txn.x)' expects a value"}},
		{"response inspect-delay too long", tcpBE("  tcp-response inspect-delay 2d #ERR"), []string{"more than a day"}},
		{"frontend content rule reading HTTP", lines("frontend fe", "  mode http", "  bind 127.0.0.1:8000", "  tcp-request content reject if { path /x } #ERR", "  default_backend be", "backend be", "  mode http"),
			[]string{"'tcp-request content' rules of a frontend cannot read the HTTP request"}},
		{"connection rule reading a capture", tcpFE("  tcp-request connection reject if { capture.req.uri /x } #ERR"), []string{"'tcp-request connection' is evaluated when the connection is accepted"}},
		{"content rule reading HTTP", tcpFE("  tcp-request content reject if { path /x } #ERR"), []string{"cannot read the HTTP request"}},
		{"bad condition", tcpFE("  tcp-request content reject when x #ERR"), []string{"expected 'if' or 'unless'"}},
		{"hello in mode http", lines("frontend fe #ERR", "  mode http", "  bind 127.0.0.1:8000", "  tcp-request inspect-delay 1s", "  tcp-request content reject if { req.ssl_sni a }", "  default_backend be", "backend be", "  mode http"),
			[]string{"req.ssl_* reads the TLS ClientHello", "use ssl_fc_sni"}},
		{"boolean with a value", httpFE("  acl x ssl_fc 1 #ERR"), []string{"'ssl_fc' matches with 'bool', which takes no pattern", "not '1'"}},
		{"integer value", httpFE("  acl x ssl_c_verify ok #ERR"), []string{"'ok' is not an integer"}},
		{"decimal value", tcpFE("  acl x req.ssl_ver TLSv1.2 #ERR"), []string{"not a version such as 3.3"}},
		{"empty range", httpFE("  acl x ssl_c_verify 5:1 #ERR"), []string{"the range '5:1' is empty"}},
		{"open range", httpFE("  acl x ssl_c_verify : #ERR"), []string{"give at least one end"}},
	} {
		t.Run(tc.name, func(t *testing.T) { checkErrors(t, testResolver(), tc) })
	}
}

func TestHelloWithoutInspectDelayWarns(t *testing.T) {
	cfg, errs := parseWith(t, testResolver(), tcpFE("  use_backend be if { req.ssl_sni a.example.com }"))
	if errs != nil {
		t.Fatal(errs)
	}
	for _, d := range cfg.Diagnostics {
		if strings.Contains(d.String(), "no 'tcp-request inspect-delay'") {
			return
		}
	}
	t.Errorf("no warning about the missing inspect-delay: %v", cfg.Diagnostics)
}

// tcp-response content rules set variables, as in HAProxy; their values
// cannot read a message.
func TestTCPResponseVarActions(t *testing.T) {
	cfg := mustParse(t, tcpBE(
		"  tcp-response content set-var(txn.a) str(x)",
		`  tcp-response content set-var-fmt(txn.b) "%[var(txn.a)]-y" if { var(txn.a) -m found }`,
		"  tcp-response content unset-var(txn.a)",
	))
	be := proxy(t, cfg, "backend", "be")
	if len(be.TCPResponse) != 3 || be.TCPResponse[0].Action != TCPSetVar || be.TCPResponse[0].Var.Expr == nil ||
		be.TCPResponse[1].Action != TCPSetVarFmt || be.TCPResponse[1].Var.Format == nil || be.TCPResponse[1].Cond == nil ||
		be.TCPResponse[2].Action != TCPUnsetVar {
		t.Fatalf("rules %+v", be.TCPResponse)
	}
	runErrorCases(t, NoResolver, []errCase{
		{"value reading the request", tcpBE("  tcp-response content set-var(txn.a) req.hdr(x) #ERR"), []string{"not the request or an HTTP message"}},
		{"set-var without a value", tcpBE("  tcp-response content set-var(txn.a) #ERR"), []string{"'tcp-response content set-var(txn.a)' expects a value"}},
		{"set-var with a bad condition", tcpBE("  tcp-response content set-var(txn.a,ifnever) str(x) #ERR"), []string{"unknown set-var condition 'ifnever'"}},
		{"unknown action", tcpBE("  tcp-response content close #ERR"), []string{"'tcp-response content close': the action is not supported"}},
	})
}
