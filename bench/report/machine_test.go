package report

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// rowOf is a row that ran the given rounds, numbered.
func rowOf(peer, mode string, rounds map[int]Round) *Row {
	r := &Row{Peer: peer, Mode: mode}
	for n := 1; n <= 10; n++ {
		if m, ok := rounds[n]; ok {
			r.AddRound(n, m, nil)
		}
	}
	return r
}

// TestSubtractDirect: a figure above direct is each round's minus
// direct's of the same round, then the median of those; a round without
// a direct pair has none.
func TestSubtractDirect(t *testing.T) {
	for _, tt := range []struct {
		name   string
		rate   float64
		direct *Row
		proxy  map[int]Round
		want   Round // the proxy's medians of the figures above direct
		absent []string
	}{
		{
			name: "rounds pair by number, and the median is of the differences",
			direct: rowOf(Direct, "none", map[int]Round{
				1: {MachinePerReq: 40}, 2: {MachinePerReq: 60}, 3: {MachinePerReq: 50},
			}),
			// 10, 30, 15 above: median 15. The difference of medians
			// would be 70-50 = 20.
			proxy: map[int]Round{1: {MachinePerReq: 50}, 2: {MachinePerReq: 90}, 3: {MachinePerReq: 65}},
			want:  Round{MachineAboveDirect: 15},
			// A closed loop's latency is not compared with direct's.
			absent: []string{AddedP50, AddedP99},
		},
		{
			name:   "a round direct did not give has no figure above it",
			direct: rowOf(Direct, "none", map[int]Round{1: {MachinePerGB: 0.5}, 3: {MachinePerGB: 0.7}}),
			proxy:  map[int]Round{1: {MachinePerGB: 0.75}, 2: {MachinePerGB: 9}, 3: {MachinePerGB: 1.0}},
			want:   Round{MachineGBAboveDirect: 0.275},
		},
		{
			name: "at a fixed rate, the latency added; below direct is a negative figure, not dropped",
			rate: 5000,
			direct: rowOf(Direct, "none", map[int]Round{
				1: {P50: 100, P99: 500, P999: 900, MachinePerReq: 30},
			}),
			proxy: map[int]Round{1: {P50: 250, P99: 1200, P999: 800, MachinePerReq: 28}},
			want:  Round{AddedP50: 150, AddedP99: 700, AddedP999: -100, MachineAboveDirect: -2},
		},
		{
			name:   "a figure direct lacks, or that is not finite, gives none",
			rate:   100,
			direct: rowOf(Direct, "none", map[int]Round{1: {P50: 100, MachinePerReq: math.NaN()}}),
			proxy:  map[int]Round{1: {P50: 120, P99: 300, MachinePerReq: 40}},
			want:   Round{AddedP50: 20},
			absent: []string{AddedP99, MachineAboveDirect},
		},
		{
			name:   "direct did not run",
			direct: &Row{Peer: Direct, Mode: "none", Status: "failed: no round gave figures"},
			proxy:  map[int]Round{1: {MachinePerReq: 40}},
			absent: []string{MachineAboveDirect},
		},
		{
			name:   "no direct row (HTTPS, rules)",
			proxy:  map[int]Round{1: {MachinePerReq: 40}},
			absent: []string{MachineAboveDirect},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := rowOf("fjord-tcp", "tcp", tt.proxy)
			s := &Scenario{Name: "x", Kind: Requests, Rate: tt.rate, Rows: []*Row{p}}
			if tt.direct != nil {
				s.Rows = append([]*Row{tt.direct}, s.Rows...)
			}
			s.Finish()
			for k, want := range tt.want {
				if got, ok := p.Median[k]; !ok || math.Abs(got-want) > 1e-9 {
					t.Errorf("%s = %v (%v), want %v", k, got, ok, want)
				}
			}
			for _, k := range tt.absent {
				if v, ok := p.Median[k]; ok {
					t.Errorf("%s = %v, want no figure", k, v)
				}
			}
			if tt.direct != nil {
				for _, o := range overDirect {
					if _, ok := tt.direct.Median[o.above]; ok {
						t.Errorf("direct has a figure above itself: %s", o.above)
					}
				}
			}
		})
	}
}

func TestBehind(t *testing.T) {
	for _, tt := range []struct {
		m    Round
		want bool
	}{
		{Round{OnSchedule: 1}, false},
		{Round{OnSchedule: 0.96}, false},
		{Round{OnSchedule: 15453.0 / 20454}, true}, // issue 20's run
		{Round{}, false},                           // a closed loop has no schedule
	} {
		if got := Behind(tt.m); got != tt.want {
			t.Errorf("Behind(%v) = %v, want %v", tt.m, got, tt.want)
		}
	}
}

// machineSample is a keep-alive and a latency scenario with the whole
// machine's figures, direct and three proxies.
func machineSample() *Results {
	ka := &Scenario{Name: "keepalive", Title: "Keep-alive", Kind: Requests, Rows: []*Row{
		rowOf(Direct, "none", map[int]Round{1: {ReqPerSec: 100000, P50: 40, MachinePerReq: 20}}),
		rowOf("fjord-tcp", "tcp", map[int]Round{1: {ReqPerSec: 50000, P50: 80, CPUPerReq: 15, MachinePerReq: 41}}),
		rowOf("haproxy-tcp", "tcp", map[int]Round{1: {ReqPerSec: 40000, P50: 90, CPUPerReq: 20, MachinePerReq: 50}}),
		// Below direct's within the noise: a figure, and no ratio.
		rowOf("nginx-stream", "tcp", map[int]Round{1: {ReqPerSec: 45000, P50: 85, CPUPerReq: 18, MachinePerReq: 19}}),
	}}
	lat := &Scenario{Name: "latency", Variant: "20pct", Title: "Latency at a fixed 5000 req/s", Kind: Requests, Rate: 5000, PerRound: true, Rows: []*Row{
		rowOf(Direct, "none", map[int]Round{
			1: {ReqPerSec: 5000, OnSchedule: 1, P50: 100, P99: 400, P999: 800, MachinePerReq: 60, MachineBusy: 0.5},
			2: {ReqPerSec: 5000, OnSchedule: 1, P50: 110, P99: 420, P999: 700, MachinePerReq: 62, MachineBusy: 0.52},
		}),
		rowOf("fjord-tcp", "tcp", map[int]Round{
			1: {ReqPerSec: 5000, OnSchedule: 1, P50: 250, P99: 1000, P999: 1500, CPUPerReq: 55, MachinePerReq: 120, MachineBusy: 0.7},
			// The stall of issue 20: 725 ms p50, a quarter of the schedule
			// missed.
			2: {ReqPerSec: 3778, OnSchedule: 0.7556, PacerLate: 120, P50: 725000, P99: 900000, P999: 950000, CPUPerReq: 60, MachinePerReq: 130, MachineBusy: 0.99, MachineOthers: 0.4},
		}),
		rowOf("haproxy-tcp", "tcp", map[int]Round{
			1: {ReqPerSec: 5000, OnSchedule: 1, P50: 240, P99: 900, P999: 1400, CPUPerReq: 57, MachinePerReq: 125, MachineBusy: 0.7},
		}),
	}}
	for _, s := range []*Scenario{ka, lat} {
		s.Finish()
	}
	return &Results{Scenarios: []*Scenario{ka, lat}}
}

func TestMarkdownMachineColumns(t *testing.T) {
	var b strings.Builder
	if err := Markdown(&b, machineSample()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"| proxy | req/s | ×HAProxy | ×direct | p50 µs | p99 µs | p99.9 µs | max µs | stddev µs | p99−p50 µs | p99 ×HAProxy | CPU µs/req | ×HAProxy | machine µs/req | machine above direct µs/req | ×HAProxy | RSS MiB | gen CPU | load CPU |",
		// 41-20 = 21 above direct, over HAProxy's 30: 0.700.
		"| CPU µs/req | ×HAProxy | machine µs/req | machine above direct µs/req | ×HAProxy |",
		"| 15.00 | 0.750 | 41.00 | 21.00 | 0.700 |",
		"| 20.00 | 1.000 | 50.00 | 30.00 | 1.000 |",
		// nginx: -1 above direct is a figure; its ratio is none.
		"| 18.00 | 0.900 | 19.00 | -1.00 | — |",
		// direct: its machine figure, nothing above itself.
		"| 20.00 | — | — |",
		// The latency table: what each proxy adds (medians of 150 and
		// 724,890; of 600 and 899,580; of 700 and 949,300).
		"| added p50 µs | added p99 µs | added p99.9 µs |",
		"| 362,520 | 450,090 | 475,000 |",
		"| 140 | 500 | 600 |",
		// Every round, the stall standing out.
		"Every round of Latency at a fixed 5000 req/s:",
		"| round | proxy | req/s | answered ÷ due | pacer late µs | p50 µs |",
		"| 2 | fjord-tcp | 3,778 | 76% | 120 | 725,000 |",
		// Someone else's work took 40% of the machine in that round.
		"| 68.00 | 99% | 40% | **yes** |",
		"| 65.00 | 70% | — | no |",
		"| 1 | direct | 5,000 | 100% | — | 100 |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	// The keep-alive table is a closed loop: no latency added, and no
	// table of every round.
	ka := out[:strings.Index(out, "### Latency")]
	if strings.Contains(ka, "added p50") || strings.Contains(ka, "Every round") {
		t.Errorf("the closed loop's table:\n%s", ka)
	}
}

// TestMarkdownMachineWithoutDirect: an HTTPS table has the machine's
// figure and its ratio to HAProxy's, and none above direct; a table
// without machine figures has no machine column.
func TestMarkdownMachineWithoutDirect(t *testing.T) {
	https := &Scenario{Name: "https-keepalive", Title: "HTTPS", Kind: Requests, TLS: "TLS 1.3", Rows: []*Row{
		rowOf("fjord-http", "http", map[int]Round{1: {ReqPerSec: 1000, CPUPerReq: 40, MachinePerReq: 90}}),
		rowOf("haproxy-http", "http", map[int]Round{1: {ReqPerSec: 900, CPUPerReq: 50, MachinePerReq: 100}}),
	}}
	none := &Scenario{Name: "keepalive", Title: "Plain", Kind: Requests, Rows: []*Row{
		rowOf(Direct, "none", map[int]Round{1: {ReqPerSec: 1000}}),
		rowOf("fjord-tcp", "tcp", map[int]Round{1: {ReqPerSec: 900, CPUPerReq: 10}}),
	}}
	for _, s := range []*Scenario{https, none} {
		s.Finish()
	}
	var b strings.Builder
	if err := Markdown(&b, &Results{Scenarios: []*Scenario{https, none}}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, "| CPU µs/req | ×HAProxy | machine µs/req | ×HAProxy | RSS MiB |") || !strings.Contains(out, "| 40.00 | 0.800 | 90.00 | 0.900 |") {
		t.Errorf("HTTPS table:\n%s", out)
	}
	if strings.Count(out, "machine") != 1 || strings.Contains(out, "above direct") {
		t.Errorf("a machine column without a figure, or above a direct that is not there:\n%s", out)
	}
}

func TestMachinePlots(t *testing.T) {
	dir := t.TempDir()
	res := machineSample()
	// A table without direct has no bars above it, and no group.
	https := &Scenario{Name: "https-keepalive", Kind: Requests, Rows: []*Row{rowOf("fjord-http", "http", map[int]Round{1: {CPUPerReq: 40, MachinePerReq: 90}})}}
	https.Finish()
	res.Scenarios = append(res.Scenarios, https)
	if p := cpuPlot(res, Requests, MachineAboveDirect, "t", "l"); p == nil || len(p.X.Tick.Marker.Ticks(p.X.Min, p.X.Max)) != 2 {
		t.Errorf("machine plot groups: want keepalive and latency-20pct only")
	}
	names, err := Plots(dir, res)
	if err != nil {
		t.Fatal(err)
	}
	// No spectra: the sample's rounds have no histograms.
	want := "latency-added-latency-20pct cpu-per-request machine-cpu-per-request"
	if strings.Join(names, " ") != want {
		t.Errorf("plots %v, want %s", names, want)
	}
	for _, n := range names {
		if st, err := os.Stat(filepath.Join(dir, n+".svg")); err != nil || st.Size() < 1000 {
			t.Errorf("%s.svg: %v", n, err)
		}
	}
}
