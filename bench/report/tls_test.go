package report

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/HdrHistogram/hdrhistogram-go"
)

const tls13 = "TLS 1.3, TLS_AES_128_GCM_SHA256, X25519, ALPN http/1.1"

func httpsSample() *Results {
	hist := func(v int64) *hdrhistogram.Histogram {
		h := hdrhistogram.New(1, 60_000_000, 3)
		for i := int64(1); i <= 100; i++ {
			_ = h.RecordValue(v * i)
		}
		return h
	}
	row := func(peer string, m Round) *Row {
		r := &Row{Peer: peer, Mode: "http"}
		r.AddRound(1, m, hist(int64(m[P50])+1))
		r.AddBaseline(hist(1))
		r.AddTLS(tls13)
		r.Finish()
		return r
	}
	refused := &Row{Peer: "fjord-http", Mode: "http", Status: "refused: fjord-https.cfg:6: unknown keyword 'ssl-default-bind-options' in 'global' section"}
	return &Results{Scenarios: []*Scenario{
		{Name: "keepalive", Title: "Keep-alive", Kind: Requests, Rows: []*Row{
			{Peer: "haproxy-http", Mode: "http", Median: Round{CPUPerReq: 20}},
			{Peer: "nginx-http", Mode: "http", Median: Round{CPUPerReq: 16}},
			{Peer: "fjord-http", Mode: "http", Median: Round{CPUPerReq: 15}},
		}},
		{Name: "https-keepalive", Title: "HTTPS keep-alive", Kind: Requests, TLS: "TLS 1.3", Rows: []*Row{
			refused,
			row("haproxy-http", Round{ReqPerSec: 30000, CPUPerReq: 24, P50: 10}),
			row("nginx-http", Round{ReqPerSec: 32000, CPUPerReq: 20, P50: 10}),
		}},
		{Name: "https-handshake-ecdsa", Title: "Full handshakes, ECDSA", Kind: Handshakes, TLS: "TLS 1.3", Rows: []*Row{
			refused,
			row("haproxy-http", Round{ReqPerSec: 2500, CPUPerReq: 400, P50: 10}),
			row("nginx-http", Round{ReqPerSec: 2600, CPUPerReq: 380, P50: 10}),
		}},
		{Name: "https-flood-latency", Title: "Flood", Kind: Flood, TLS: "TLS 1.3", Rows: []*Row{
			refused,
			row("haproxy-http", Round{ReqPerSec: 2000, AloneP99: 100, P99: 5000, P99OverAlone: 50, FloodPerSec: 2400, ProxyBusy: 0.99}),
			row("nginx-http", Round{ReqPerSec: 2000, AloneP99: 100, P99: 2500, P99OverAlone: 25, FloodPerSec: 2600, ProxyBusy: 0.98}),
		}},
	}}
}

func TestSummary(t *testing.T) {
	res := httpsSample()
	sum := &Summary{Title: "HTTPS", Peers: []string{"haproxy-http", "nginx-http", "fjord-http"}, Ref: "haproxy-http", Target: "fjord-http"}
	ka := sum.Add("CPU µs per keep-alive HTTPS request", UnitMicros, res.Scenarios[1], CPUPerReq, 0.9)
	cost := sum.AddQuotient("TLS cost", res.Scenarios[1], res.Scenarios[0], CPUPerReq)
	hs := sum.Add("CPU µs per ECDSA handshake", UnitMicros, res.Scenarios[2], CPUPerReq, 1)
	rsa := sum.Add("CPU µs per RSA handshake", UnitMicros, nil, CPUPerReq, 1)
	if ka.Values["haproxy-http"] != 24 || ka.Ratios["nginx-http"] != 20.0/24 || ka.Status["fjord-http"] != "refused" || ka.Met != nil {
		t.Errorf("keep-alive row %+v", ka)
	}
	if cost.Values["haproxy-http"] != 24.0/20 || cost.Values["nginx-http"] != 20.0/16 || cost.Status["fjord-http"] != "refused" {
		t.Errorf("TLS cost row %+v", cost)
	}
	if hs.Ratios["haproxy-http"] != 1 || rsa.Status["nginx-http"] != "not run" || len(rsa.Values) != 0 {
		t.Errorf("handshake rows %+v %+v", hs, rsa)
	}
	// With fjord's figure, the target is judged.
	res.Scenarios[1].Rows[0] = &Row{Peer: "fjord-http", Mode: "http", Median: Round{CPUPerReq: 20}}
	met := sum.Add("again", UnitMicros, res.Scenarios[1], CPUPerReq, 0.9)
	if met.Met == nil || !*met.Met || met.Ratios["fjord-http"] != 20.0/24 {
		t.Errorf("20 against 24 is 0.833, under 0.9: %+v", met)
	}
	res.Scenarios[1].Rows[0].Median[CPUPerReq] = 23
	if m := sum.Add("again", UnitMicros, res.Scenarios[1], CPUPerReq, 0.9); m.Met == nil || *m.Met {
		t.Errorf("23 against 24 is above 0.9: %+v", m)
	}

	var b strings.Builder
	sum.markdown(&b)
	out := b.String()
	for _, want := range []string{
		"| figure | haproxy-http | nginx-http | fjord-http | nginx-http ×haproxy-http | fjord-http ×haproxy-http | target for fjord-http | met |",
		"| CPU µs per keep-alive HTTPS request | 24.0 | 20.0 | refused | 0.833 | — | ≤ 0.90× | — |",
		"| TLS cost | 1.200 | 1.250 | refused | 1.042 | — | — | — |",
		"| CPU µs per RSA handshake | not run | not run | not run | — | — | ≤ 1.00× | — |",
		"| again | 24.0 | 20.0 | 20.0 | 0.833 | 0.833 | ≤ 0.90× | yes |",
		"| again | 24.0 | 20.0 | 23.0 | 0.833 | 0.958 | ≤ 0.90× | **no** |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary has no line\n%s\n%s", want, out)
		}
	}
}

func TestHTTPSMarkdown(t *testing.T) {
	res := httpsSample()
	res.Summaries = []*Summary{{Title: "HTTPS against HAProxy", Peers: []string{"haproxy-http"}, Ref: "haproxy-http", Target: "fjord-http"}}
	var b bytes.Buffer
	if err := Markdown(&b, res); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		// No ×direct over TLS.
		"| proxy | req/s | ×HAProxy | p50 µs |",
		"| proxy | handshakes/s | ×HAProxy | p50 µs | p99 µs | p99.9 µs | max µs | stddev µs | p99−p50 µs | p99 ×HAProxy | CPU µs/handshake | ×HAProxy |",
		"| fjord-http | refused: fjord-https.cfg:6: unknown keyword 'ssl-default-bind-options' in 'global' section |",
		"- every proxy that ran negotiated " + tls13,
		"| proxy | req/s | p50 µs alone | p99 µs alone | p99.9 µs alone | p50 µs flood | p99 µs flood |",
		"### HTTPS against HAProxy",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	// The flood row: p99 ×alone from the round, p99 during the flood over
	// HAProxy's.
	if !strings.Contains(out, "| nginx-http | 2,000 | ") || !strings.Contains(out, "| 25.000 | ") {
		t.Errorf("flood rows:\n%s", out)
	}
	// Different negotiations are listed peer by peer.
	res.Scenarios[1].Rows[2].TLS = []string{"TLS 1.2, TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, X25519, ALPN http/1.1"}
	b.Reset()
	_ = Markdown(&b, res)
	if !strings.Contains(b.String(), "- haproxy-http negotiated "+tls13) || !strings.Contains(b.String(), "- nginx-http negotiated TLS 1.2") {
		t.Errorf("per-peer TLS notes:\n%s", b.String())
	}
}

func TestHTTPSPlots(t *testing.T) {
	dir := t.TempDir()
	names, err := Plots(dir, httpsSample())
	if err != nil {
		t.Fatal(err)
	}
	want := "latency-https-keepalive latency-https-handshake-ecdsa latency-https-flood-latency cpu-per-request cpu-per-handshake"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("plots %q, want %q", got, want)
	}
	for _, n := range names {
		if st, err := os.Stat(filepath.Join(dir, n+".svg")); err != nil || st.Size() < 1000 {
			t.Errorf("%s: %v", n, err)
		}
	}
	svg, _ := os.ReadFile(filepath.Join(dir, "latency-https-flood-latency.svg"))
	if !strings.Contains(string(svg), "haproxy-http alone") || !strings.Contains(string(svg), "haproxy-http during the flood") {
		t.Error("the flood's spectrum has no line alone and during the flood")
	}
}
