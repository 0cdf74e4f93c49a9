package suite

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/fjordlb/fjord/bench/certs"
	"github.com/fjordlb/fjord/bench/peers"
	"github.com/fjordlb/fjord/bench/report"
)

func TestHTTPSScenarioNames(t *testing.T) {
	for _, n := range HTTPSNames {
		if !isHTTPS(n) || !slices.Contains(Names, n) || !slices.Contains(Standard().Scenarios, n) {
			t.Errorf("%s: not an HTTPS scenario of the standard suite", n)
		}
	}
	if isHTTPS(KeepAlive) || isHandshake(HTTPSKeepAlive) || !isHandshake(HTTPSHandshakeRSA) {
		t.Error("isHTTPS, isHandshake")
	}
	// The HTTPS scenarios come last: the flood takes its rate from
	// https-keepalive, and "TLS cost" compares with keepalive.
	if i, j := slices.Index(Names, HTTPSKeepAlive), slices.Index(Names, HTTPSFlood); i < slices.Index(Names, Latency) || j < i {
		t.Errorf("order %v", Names)
	}
}

func TestHTTPSOptionsCheck(t *testing.T) {
	for _, tt := range []struct {
		mod  func(*Options)
		want string
	}{
		{func(o *Options) { o.TLSRate = -1 }, "-tls-rate -1"},
		{func(o *Options) { o.TLSRateFraction = 0 }, "-tls-rate-fraction 0"},
		{func(o *Options) { o.FloodConns = 0 }, "-flood-conns 0"},
		{func(o *Options) { o.FloodCert = "dsa" }, `-flood-cert "dsa"`},
		{func(o *Options) { o.FloodCert = certs.ECDSA }, ""},
	} {
		o := Quick()
		o.Threads = 1
		tt.mod(&o)
		err := o.check()
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("check() = %v, want %q", err, tt.want)
		}
	}
	if s := Standard(); s.FloodCert != certs.RSA || s.FloodConns < 1 || s.TLSRateFraction <= 0 || s.TLSRateFraction > 0.5 {
		t.Errorf("standard HTTPS options %+v", s)
	}
}

func TestRefusedStatus(t *testing.T) {
	ref := &peers.Refusal{Peer: "fjord-http", Command: "fjord -c -f x.cfg", Lines: []string{"x.cfg:3: unknown keyword 'ssl-default-bind-options'", "x.cfg:9: bind option 'ssl': no", "a notice"}, Errors: 2}
	row := &report.Row{}
	refusedRow(row, ref)
	if row.Status != "refused: x.cfg:3: unknown keyword 'ssl-default-bind-options' (and 1 more error)" {
		t.Errorf("status %q", row.Status)
	}
	if len(row.Notes) != 1 || !strings.Contains(row.Notes[0], "`fjord -c -f x.cfg` refused") || !strings.Contains(row.Notes[0], "bind option 'ssl'") || strings.Contains(row.Notes[0], "a notice") {
		t.Errorf("notes %q", row.Notes)
	}
	row = &report.Row{}
	refusedRow(row, errors.New("fjord-http: fjord -c: signal: killed\nmore"))
	if row.Status != "check failed: fjord-http: fjord -c: signal: killed" {
		t.Errorf("status %q", row.Status)
	}
}

// TestHTTPSSummary: the summary takes each HTTPS figure from its
// scenario, "TLS cost" from the plain keep-alive scenario of the same
// run, and judges fjord's targets against HAProxy's figures.
func TestHTTPSSummary(t *testing.T) {
	row := func(peer string, m report.Round) *report.Row {
		return &report.Row{Peer: peer, Mode: "http", Median: m}
	}
	refused := &report.Row{Peer: "fjord-http", Mode: "http", Status: "refused: x"}
	r := &runner{res: &report.Results{Scenarios: []*report.Scenario{
		{Name: KeepAlive, Rows: []*report.Row{row("haproxy-http", report.Round{report.CPUPerReq: 20}), row("fjord-http", report.Round{report.CPUPerReq: 18})}},
		{Name: HTTPSKeepAlive, Rows: []*report.Row{row("fjord-http", report.Round{report.CPUPerReq: 21, report.MachinePerReq: 60}), row("haproxy-http", report.Round{report.CPUPerReq: 24, report.MachinePerReq: 75})}},
		{Name: HTTPSHandshakeECDSA, Rows: []*report.Row{refused, row("haproxy-http", report.Round{report.CPUPerReq: 400}), row("nginx-http", report.Round{report.CPUPerReq: 380})}},
	}}}
	sum := r.httpsSummary()
	if sum == nil {
		t.Fatal("no summary")
	}
	if strings.Join(sum.Peers, " ") != "haproxy-http fjord-http nginx-http" || sum.Ref != "haproxy-http" || sum.Target != "fjord-http" {
		t.Errorf("columns %v ref %s target %s", sum.Peers, sum.Ref, sum.Target)
	}
	byFigure := map[string]*report.SummaryRow{}
	for _, row := range sum.Rows {
		byFigure[row.Figure] = row
	}
	ka := byFigure["CPU µs per keep-alive HTTPS request"]
	if ka == nil || ka.Met == nil || !*ka.Met || ka.Ratios["fjord-http"] != 21.0/24 || ka.Max != TargetKeepAlive {
		t.Errorf("keep-alive: %+v (21 against 24 is 0.875, under %.2f)", ka, TargetKeepAlive)
	}
	cost := byFigure["TLS cost: HTTPS ÷ plain HTTP CPU per keep-alive request"]
	if cost == nil || cost.Values["fjord-http"] != 21.0/18 || cost.Values["haproxy-http"] != 24.0/20 || cost.Status["nginx-http"] != "not run" {
		t.Errorf("TLS cost: %+v", cost)
	}
	hs := byFigure["CPU µs per full handshake, ECDSA P-256"]
	if hs == nil || hs.Status["fjord-http"] != "refused" || hs.Met != nil || hs.Ratios["nginx-http"] != 0.95 {
		t.Errorf("handshake: %+v", hs)
	}
	if m := byFigure["machine CPU µs per keep-alive HTTPS request"]; m == nil || m.Ratios["fjord-http"] != 0.8 || m.Max != 0 || m.Met != nil || m.Status["nginx-http"] != "not run" {
		t.Errorf("machine CPU, keep-alive: %+v (60 against 75 is 0.8, no target)", m)
	}
	if rsa := byFigure["CPU µs per full handshake, RSA-2048"]; rsa == nil || len(rsa.Values) != 0 || rsa.Status["haproxy-http"] != "not run" {
		t.Errorf("RSA, not run: %+v", rsa)
	}
	// No HTTPS scenario, no summary.
	r.res.Scenarios = r.res.Scenarios[:1]
	if r.httpsSummary() != nil {
		t.Error("a summary without HTTPS scenarios")
	}
}

func TestNegotiateText(t *testing.T) {
	s := negotiateText(certs.RSA)
	for _, want := range []string{"TLS 1.3", "TLS_AES_128_GCM_SHA256", "X25519", "RSA-2048", "ALPN http/1.1", "resumes no session"} {
		if !strings.Contains(s, want) {
			t.Errorf("%q has no %q", s, want)
		}
	}
}
