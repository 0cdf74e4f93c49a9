package report

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/HdrHistogram/hdrhistogram-go"
)

func TestMedian(t *testing.T) {
	for _, tt := range []struct {
		in   []float64
		want float64
		ok   bool
	}{
		{nil, 0, false},
		{[]float64{7}, 7, true},
		{[]float64{3, 1, 2}, 2, true},
		{[]float64{4, 1, 3, 2}, 2.5, true},
		{[]float64{10, 10, 1000}, 10, true}, // one outlier round does not move it
	} {
		got, ok := Median(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Median(%v) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
	in := []float64{3, 1, 2}
	Median(in)
	if in[0] != 3 {
		t.Error("Median sorted its argument")
	}
}

func TestMediansPerMetric(t *testing.T) {
	m := Medians([]Round{
		{ReqPerSec: 100, P99: 30},
		{ReqPerSec: 300, P99: 10, CPUPerReq: 5},
		{ReqPerSec: 200, P99: 20, CPUPerReq: math.NaN()},
	})
	if m[ReqPerSec] != 200 || m[P99] != 20 {
		t.Errorf("medians %v", m)
	}
	if v, ok := m[CPUPerReq]; !ok || v != 5 {
		t.Errorf("CPU median %v, %v: want 5 from the one round that measured it (NaN is no figure)", v, ok)
	}
	if _, ok := m[RSS]; ok {
		t.Error("a metric no round measured has a median")
	}
}

func TestRatio(t *testing.T) {
	for _, tt := range []struct {
		a, b, want float64
		ok         bool
	}{
		{20, 40, 0.5, true},
		{40, 20, 2, true},
		{1, 0, 0, false},
		{math.NaN(), 1, 0, false},
		{1, math.Inf(1), 0, false},
	} {
		got, ok := Ratio(tt.a, tt.b)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Ratio(%v, %v) = %v, %v; want %v, %v", tt.a, tt.b, got, ok, tt.want, tt.ok)
		}
	}
}

// TestLatency: 1,000 requests, 990 at 100 µs and 10 at 5,000 µs. p50 is
// 100, p99 is still 100 (the 990th value), p99.9 is 5,000; the mean is
// 149 and the standard deviation sqrt(0.99*49^2 + 0.01*4851^2) = 487.5.
func TestLatency(t *testing.T) {
	h := hdrhistogram.New(1, 60_000_000, 3)
	h.RecordValues(100, 990)
	h.RecordValues(5000, 10)
	m := Latency(h)
	near := func(got, want, tol float64) bool { return math.Abs(got-want) <= tol }
	if !near(m[P50], 100, 0.1) || !near(m[P99], 100, 0.1) {
		t.Errorf("p50 %v p99 %v, want 100 and 100", m[P50], m[P99])
	}
	if !near(m[P999], 5000, 5) || !near(m[Max], 5000, 5) {
		t.Errorf("p99.9 %v max %v, want 5000 (to 3 significant digits)", m[P999], m[Max])
	}
	if !near(m[StdDev], 487.5, 1) {
		t.Errorf("stddev %v, want 487.5", m[StdDev])
	}
	if m[Spread] != m[P99]-m[P50] {
		t.Errorf("p99−p50 %v, want %v", m[Spread], m[P99]-m[P50])
	}
	if len(Latency(hdrhistogram.New(1, 10, 3))) != 0 {
		t.Error("an empty histogram has latency figures")
	}
}

func TestSpectrum(t *testing.T) {
	h := hdrhistogram.New(1, 60_000_000, 3)
	for v := int64(1); v <= 10000; v++ {
		h.RecordValue(v)
	}
	pts := Spectrum(h)
	// 0 to 4 nines in steps of 0.2, then the last value.
	if len(pts) != 22 {
		t.Fatalf("%d points, want 22", len(pts))
	}
	if pts[0].Percentile != 0 || pts[5].Percentile < 89.99 || pts[5].Percentile > 90.01 {
		t.Errorf("points at %v and %v, want 0 and 90", pts[0].Percentile, pts[5].Percentile)
	}
	if v := pts[10].Micros; v < 9890 || v > 9910 {
		t.Errorf("p99 of 1..10000 is %d, want about 9900", v)
	}
	for i := 1; i < len(pts); i++ {
		if pts[i].Micros < pts[i-1].Micros {
			t.Fatalf("spectrum falls at %v", pts[i])
		}
	}
	if last := pts[len(pts)-1]; last.Micros != h.Max() {
		t.Errorf("last point %v, want the maximum %d", last, h.Max())
	}
}

func sample() *Results {
	row := func(peer, mode string, req, p99, cpu float64) *Row {
		r := &Row{Peer: peer, Mode: mode}
		m := Round{ReqPerSec: req, P50: 50, P99: p99, P999: 2 * p99, Max: 3 * p99, StdDev: 10, Spread: p99 - 50}
		if cpu > 0 {
			m[CPUPerReq] = cpu
			m[RSS] = 10 << 20
		}
		h := hdrhistogram.New(1, 60_000_000, 3)
		for v := int64(40); v < int64(p99*3); v++ {
			h.RecordValue(v)
		}
		r.AddRound(1, m, h)
		r.Finish()
		return r
	}
	return &Results{Scenarios: []*Scenario{
		{Name: "keepalive", Title: "Keep-alive", Kind: Requests, Params: "50 connections", Rows: []*Row{
			row("direct", "none", 100000, 80, 0),
			row("fjord-tcp", "tcp", 50000, 100, 15),
			row("haproxy-tcp", "tcp", 40000, 200, 20),
			{Peer: "nginx-stream", Mode: "tcp", Status: "not installed: nginx is not in PATH", Notes: []string{"make bench-deps installs it"}},
			row("fjord-http", "http", 30000, 300, 25),
		}},
		{Name: "idle", Title: "Idle", Kind: Idle, Rows: []*Row{
			{Peer: "fjord-tcp", Mode: "tcp", Median: Round{Held: 9500, RSSPerConn: 900}},
		}},
	}}
}

func TestMarkdown(t *testing.T) {
	var b bytes.Buffer
	if err := Markdown(&b, sample()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	lines := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Split(l, "|"); len(f) > 2 {
			if k := strings.TrimSpace(f[1]); lines[k] == "" {
				lines[k] = l // the first table's row
			}
		}
	}
	for _, tt := range []struct{ peer, want string }{
		// req/s, ×HAProxy, ×direct, p50 ... p99 ×HAProxy, CPU, ×HAProxy
		{"fjord-tcp", "| fjord-tcp | 50,000 | 1.250 | 0.500 | 50.0 | 100 | 200 | 300 | 10.0 | 50.0 | 0.500 | 15.00 | 0.750 | 10.0 |"},
		{"haproxy-tcp", "| haproxy-tcp | 40,000 | 1.000 | 0.400 |"},
		// No haproxy-http row: its ratios are missing, not 0.
		{"fjord-http", "| fjord-http | 30,000 | — | 0.300 |"},
		// direct has no proxy: no CPU, no RSS, no ratio to HAProxy.
		{"direct", "| direct | 100,000 | — | 1.000 | 50.0 | 80.0 | 160 | 240 | 10.0 | 30.0 | — | — | — | — |"},
		{"nginx-stream", "| nginx-stream | not installed: nginx is not in PATH |"},
	} {
		if !strings.HasPrefix(lines[tt.peer], tt.want) {
			t.Errorf("%s row:\n got %s\nwant %s...", tt.peer, lines[tt.peer], tt.want)
		}
	}
	if !strings.Contains(out, "- nginx-stream: make bench-deps installs it") {
		t.Error("the note of a peer that did not run is not under its table")
	}
	if strings.Contains(lines["nginx-stream"], " 0 ") {
		t.Error("a peer that is not installed shows a 0")
	}
	if !strings.Contains(out, "| fjord-tcp | 9,500 | — | 900 | — | — |") {
		t.Errorf("idle table:\n%s", out)
	}
}

func TestThousands(t *testing.T) {
	for in, want := range map[float64]string{0: "0", 999: "999", 1000: "1,000", 1234567.6: "1,234,568", -45123: "-45,123"} {
		if got := thousands(in); got != want {
			t.Errorf("thousands(%v) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[float64]string{99.94: "99.9", -1332.5: "-1,333", -69: "-69.0", 150: "150"} {
		if got := micros(in); got != want {
			t.Errorf("micros(%v) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[float64]string{41: "41.00", -1.5: "-1.50", 1856.06: "1,856", -1234.4: "-1,234"} {
		if got := machineMicros(in); got != want {
			t.Errorf("machineMicros(%v) = %q, want %q", in, got, want)
		}
	}
}

func TestJSONAndPlots(t *testing.T) {
	res := sample()
	var b bytes.Buffer
	if err := JSON(&b, res); err != nil {
		t.Fatal(err)
	}
	var back Results
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if got := back.Scenarios[0].Rows[1].Median[CPUPerReq]; got != 15 {
		t.Errorf("CPU per request read back as %v", got)
	}
	dir := t.TempDir()
	names, err := Plots(dir, res)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(names, " ") != "latency-keepalive cpu-per-request" {
		t.Errorf("plots %v", names)
	}
	for _, n := range names {
		for _, ext := range []string{".png", ".svg"} {
			st, err := os.Stat(filepath.Join(dir, n+ext))
			if err != nil || st.Size() < 1000 {
				t.Errorf("%s%s: %v", n, ext, err)
			}
		}
	}
}

// TestMarkdownRef: a row's Ref names the row its ×HAProxy ratios are
// over, and a scenario without direct has no ×direct column.
func TestMarkdownRef(t *testing.T) {
	row := func(peer, ref string, req, cpu float64) *Row {
		return &Row{Peer: peer, Mode: "http", Ref: ref, Median: Round{ReqPerSec: req, P50: 50, P99: 100, CPUPerReq: cpu}}
	}
	res := &Results{Scenarios: []*Scenario{{Name: "rules-keepalive", Title: "Rules", Kind: Requests, Rows: []*Row{
		row("fjord-http", "", 30000, 20),
		row("fjord-rules", "haproxy-rules", 27000, 22),
		row("haproxy-rules", "haproxy-rules", 24000, 25),
	}}}}
	var b bytes.Buffer
	if err := Markdown(&b, res); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Contains(out, "×direct") {
		t.Errorf("a ×direct column without direct:\n%s", out)
	}
	for _, want := range []string{
		// req/s, ×HAProxy, p50 ... p99 ×HAProxy, CPU, ×HAProxy
		"| fjord-rules | 27,000 | 1.125 | 50.0 | 100 | — | — | — | — | 1.000 | 22.00 | 0.880 |",
		"| haproxy-rules | 24,000 | 1.000 |",
		// fjord-http's HAProxy (haproxy-http) is not in this scenario.
		"| fjord-http | 30,000 | — | 50.0 |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
}

// TestSummaryPeerQuotient: a quotient of two peers of one scenario is
// the numerator's figure, judged against its target itself; Ratioed
// limits the ratio columns.
func TestSummaryPeerQuotient(t *testing.T) {
	sc := &Scenario{Name: "s", Rows: []*Row{
		{Peer: "a", Median: Round{CPUPerReq: 20}},
		{Peer: "b", Median: Round{CPUPerReq: 23}},
		{Peer: "c", Median: Round{CPUPerReq: 25}},
		{Peer: "d", Status: "failed: it crashed"},
		{Peer: "e", Median: Round{ReqPerSec: 1}},
	}}
	sum := &Summary{Title: "T", Peers: []string{"a", "b", "c"}, Ref: "c", Target: "b", Ratioed: []string{"b"}}
	q := sum.AddPeerQuotient("b over a", sc, CPUPerReq, "b", "a", 1.1)
	if q.Values["b"] != 23.0/20 || len(q.Values) != 1 || q.Met == nil || *q.Met || q.Status["a"] != "—" || q.Status["c"] != "—" || q.Scenario != "s" {
		t.Errorf("b over a: %+v (1.15 is above 1.1)", q)
	}
	cpu := sum.Add("CPU", UnitMicros, sc, CPUPerReq, 0.95)
	if cpu.Ratios["b"] != 23.0/25 || cpu.Ratios["c"] != 1 || len(cpu.Ratios) != 2 || cpu.Met == nil || !*cpu.Met {
		t.Errorf("CPU: %+v", cpu)
	}
	for _, tt := range []struct{ num, den, want string }{
		{"d", "a", "failed"},
		{"a", "d", "d failed"},
		{"a", "x", "x not run"},
		{"e", "a", "no figure"},
		{"a", "e", "e no figure"},
	} {
		sum.Peers = []string{tt.num}
		r := sum.AddPeerQuotient("q", sc, CPUPerReq, tt.num, tt.den, 0)
		if r.Status[tt.num] != tt.want || len(r.Values) != 0 || r.Met != nil {
			t.Errorf("%s over %s: %+v, want %q", tt.num, tt.den, r, tt.want)
		}
	}
	if r := sum.AddPeerQuotient("q", nil, CPUPerReq, "a", "b", 1); r.Status["a"] != "not run" {
		t.Errorf("no scenario: %+v", r)
	}
	sum.Peers = []string{"a", "b", "c"}
	sum.Rows = sum.Rows[:2]
	var b strings.Builder
	sum.markdown(&b)
	for _, want := range []string{"| figure | a | b | c | b ×c | target for b | met |", "| b over a | — | 1.150 | — | — | ≤ 1.10× | **no** |", "| CPU | 20.0 | 23.0 | 25.0 | 0.920 | ≤ 0.95× | yes |"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("no %q in:\n%s", want, b.String())
		}
	}
}
