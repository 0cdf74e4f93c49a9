package config

import (
	"strings"
	"testing"
)

func TestAddressActionsParse(t *testing.T) {
	cfg := mustParse(t, httpFE(
		"  tcp-request connection set-src ipv4(10.0.0.1)",
		"  tcp-request connection set-dst-port int(8080) if { src 127.0.0.0/8 }",
		"  tcp-request session set-src-port int(1)",
		"  tcp-request content set-dst ipv6(::1)",
		"  tcp-request connection silent-drop if { src 10.0.0.0/8 }",
		"  http-request set-src hdr(x-forwarded-for)",
		"  http-request set-src-port hdr(x-port) unless { src 10.0.0.0/8 }",
		"  http-request set-dst dst,ipmask(24)",
		"  http-request set-dst-port int(4000)",
		"  http-request silent-drop if { path /drop }",
		"  http-response silent-drop if { status 500 }",
	))
	fe := proxy(t, cfg, "frontend", "fe")
	tcp := func(rs []*TCPRule, i int, act TCPAction, expr string, cond bool) {
		t.Helper()
		if i >= len(rs) {
			t.Fatalf("%d rules, want at least %d", len(rs), i+1)
		}
		r := rs[i]
		got := ""
		if r.Var.Expr != nil {
			got = r.Var.Expr.Text
		}
		if r.Action != act || got != expr || (r.Cond != nil) != cond {
			t.Errorf("rule %d: %v %q (condition %v), want %v %q (%v)", i, r.Action, got, r.Cond != nil, act, expr, cond)
		}
	}
	tcp(fe.TCPConnection, 0, TCPSetSrc, "ipv4(10.0.0.1)", false)
	tcp(fe.TCPConnection, 1, TCPSetDstPort, "int(8080)", true)
	tcp(fe.TCPConnection, 2, TCPSilentDrop, "", true)
	tcp(fe.TCPSession, 0, TCPSetSrcPort, "int(1)", false)
	tcp(fe.TCPContent, 0, TCPSetDst, "ipv6(::1)", false)
	want := []struct {
		act  HTTPAction
		expr string
		cond bool
	}{
		{ActSetSrc, "hdr(x-forwarded-for)", false},
		{ActSetSrcPort, "hdr(x-port)", true},
		{ActSetDst, "dst,ipmask(24)", false},
		{ActSetDstPort, "int(4000)", false},
		{ActSilentDrop, "", true},
	}
	if len(fe.HTTPRequest) != len(want) {
		t.Fatalf("%d http-request rules, want %d", len(fe.HTTPRequest), len(want))
	}
	for i, w := range want {
		r := fe.HTTPRequest[i]
		got := ""
		if r.Var.Expr != nil {
			got = r.Var.Expr.Text
		}
		if r.Action != w.act || got != w.expr || (r.Cond != nil) != w.cond {
			t.Errorf("http-request rule %d: %v %q (condition %v), want %v %q (%v)", i, r.Action, got, r.Cond != nil, w.act, w.expr, w.cond)
		}
	}
	if len(fe.HTTPResponse) != 1 || fe.HTTPResponse[0].Action != ActSilentDrop {
		t.Errorf("http-response rules %+v", fe.HTTPResponse)
	}
	for _, d := range cfg.Diagnostics {
		if d.Severity == Warning {
			t.Errorf("unexpected warning %v", d)
		}
	}
}

// An expression that can never give an address (or a port) is accepted,
// as HAProxy accepts it, with a warning at its line.
func TestAddressActionNeverCasts(t *testing.T) {
	for _, tc := range []struct {
		line, want string
	}{
		{"  http-request set-src bool(1)", "'http-request set-src': 'bool(1)' gives a boolean sample, which is never an address"},
		{"  http-request set-dst bin(0a000001)", "'http-request set-dst': 'bin(0a000001)' gives a binary sample, which is never an address"},
		{"  tcp-request content set-dst-port bin(01bb)", "'tcp-request content set-dst-port': 'bin(01bb)' gives a binary sample, which is never a port number"},
	} {
		cfg := mustParse(t, httpFE(tc.line))
		ds := diags(cfg, tc.want)
		if len(ds) != 1 || ds[0].Severity != Warning || ds[0].Pos != at(5) {
			t.Errorf("%s: want a warning %q at line 5, got %v", strings.TrimSpace(tc.line), tc.want, cfg.Diagnostics)
		}
	}
}
