package suite

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/fjordlb/fjord/bench/load"
	"github.com/fjordlb/fjord/bench/proc"
	"github.com/fjordlb/fjord/bench/report"
)

// TestLatencyRates: the latency scenario's tables, one per rate, from
// the rates given or from fractions of the slowest proxy's keep-alive
// maximum in this run (direct, faster than any proxy, is not a proxy).
func TestLatencyRates(t *testing.T) {
	ka := &report.Scenario{Name: KeepAlive, Rows: []*report.Row{
		{Peer: "direct", Median: report.Round{report.ReqPerSec: 90000}},
		{Peer: "fjord-tcp", Median: report.Round{report.ReqPerSec: 45000}},
		{Peer: "haproxy-tcp", Median: report.Round{report.ReqPerSec: 40908}},
		{Peer: "nginx-stream", Status: "not installed"},
	}}
	type pass struct {
		rate    float64
		variant string
		how     string
	}
	for _, tt := range []struct {
		name      string
		rates     []float64
		fractions []float64
		want      []pass
	}{
		{"the standard 20% and 50%", nil, []float64{0.2, 0.5}, []pass{
			{8182, "20pct", "20% of the slowest maximum (haproxy-tcp, 40908 req/s, from the keep-alive scenario's medians)"},
			{20454, "50pct", "50% of the slowest maximum"},
		}},
		{"a fraction to a tenth of a percent", nil, []float64{0.125, 0.3}, []pass{{5114, "12.5pct", "12.5% of"}, {12272, "30pct", "30% of"}}},
		{"one fraction is one table, named as the scenario", nil, []float64{0.5}, []pass{{20454, "", "50%"}}},
		{"rates given win over fractions", []float64{5000, 2000}, []float64{0.2}, []pass{
			{5000, "5000rps", "given with -rate"},
			{2000, "2000rps", "given with -rate"},
		}},
		{"one rate given", []float64{5000}, nil, []pass{{5000, "", "given with -rate"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := &runner{o: Options{Rates: tt.rates, RateFractions: tt.fractions}, res: &report.Results{Scenarios: []*report.Scenario{ka}}}
			got, err := r.latencyRates(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("%d passes %+v, want %d", len(got), got, len(tt.want))
			}
			for i, w := range tt.want {
				if got[i].rate != w.rate || got[i].variant != w.variant || !strings.Contains(got[i].how, w.how) {
					t.Errorf("pass %d: %+v, want %+v", i, got[i], w)
				}
			}
		})
	}
	r := &runner{o: Options{RateFractions: []float64{0.00001}}, res: &report.Results{Scenarios: []*report.Scenario{ka}}}
	if _, err := r.latencyRates(context.Background()); err == nil || !strings.Contains(err.Error(), "sends nothing; give -rate") {
		t.Errorf("a fraction that rounds to 0 req/s: %v", err)
	}
}

// TestOnSchedule: the answered rate over the due rate, and the note of a
// round that fell behind, with issue 20's figures.
func TestOnSchedule(t *testing.T) {
	for _, tt := range []struct {
		name    string
		res     load.Result
		rate    float64
		want    float64
		behind  bool
		noteHas string
	}{
		{"on time: every answer within the window", load.Result{Requests: 10000, Elapsed: 2 * time.Second}, 5000, 1, false, ""},
		{"failed requests were still answered on time", load.Result{Requests: 9000, Errors: 1000, Elapsed: 2 * time.Second}, 5000, 1, false, ""},
		{"a short stall at the end is not behind", load.Result{Requests: 10000, Elapsed: 2050 * time.Millisecond}, 5000, 2.0 / 2.05, false, ""},
		// 40,908 due in 2 s at 20,454 req/s, answered at 15,453 req/s:
		// the last answer 647 ms after the window (2.647 s in all).
		{"issue 20's stall", load.Result{Requests: 40908, Elapsed: 2647274962}, 20454, 15453.0 / 20454, true, "answered 15453 of the 20454 req/s due (75.5%), the last answer 647ms after the window's end"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := onSchedule(&tt.res, tt.rate)
			if math.Abs(got-tt.want) > 1e-4 {
				t.Fatalf("onSchedule = %v, want %v", got, tt.want)
			}
			m := report.Round{report.OnSchedule: got, report.ReqPerSec: tt.res.ReqPerSec(), report.P50: 725000, report.GenCPU: 0.93}
			if report.Behind(m) != tt.behind {
				t.Fatalf("behind = %v, want %v", !tt.behind, tt.behind)
			}
			if tt.behind {
				note := behindText(&tt.res, load.Config{Rate: tt.rate, Duration: 2 * time.Second}, m)
				if !strings.Contains(note, tt.noteHas) || !strings.Contains(note, "p50 725000 µs, generator CPU 93%") {
					t.Errorf("note %q, want %q", note, tt.noteHas)
				}
			}
		})
	}
	if v := onSchedule(&load.Result{Requests: 1}, 100); !math.IsNaN(v) {
		t.Errorf("no window: %v, want no figure", v)
	}
}

func TestHeldWarning(t *testing.T) {
	for _, tt := range []struct {
		held []string
		want string
	}{
		{[]string{"direct 2: 59 ms"}, "latency-50pct: the generator itself was held up in 1 of 6 runs (direct 2: 59 ms): its pacer handed a request out more than 10ms after it was due"},
		{[]string{"direct 1: 11 ms", "fjord-tcp 1: 150 ms"}, "in every run (direct 1: 11 ms, fjord-tcp 1: 150 ms)"},
	} {
		runs := 6
		if len(tt.held) == 2 {
			runs = 2
		}
		if got := heldWarning("latency-50pct", tt.held, runs); !strings.Contains(got, tt.want) {
			t.Errorf("heldWarning = %q, want %q", got, tt.want)
		}
	}
}

// TestAddMachine: the machine's busy time over the units of work, and
// the busy share; a failed reading is one warning and no figure.
func TestAddMachine(t *testing.T) {
	r := &runner{res: &report.Results{}}
	// 2 CPUs for 2 s at 100 Hz: 400 ticks, 300 busy (3 s of CPU), 260
	// of them tasks' (the rest softirq, irq and steal).
	d := proc.Machine{Busy: 300, Tasks: 260, Total: 400, Steal: 11}
	m := report.Round{}
	// 60,000 requests; the run's processes used 2.2 s: others 0.4 s of 4.
	r.addMachine(m, report.MachinePerReq, d, nil, 60000/1e6, 2200*time.Millisecond)
	if m[report.MachinePerReq] != 50 || m[report.MachineBusy] != 0.75 || math.Abs(m[report.MachineOthers]-0.1) > 1e-9 {
		t.Errorf("per request %v µs, busy %v, others %v; want 3 s / 60,000 = 50 µs, 0.75, 0.1", m[report.MachinePerReq], m[report.MachineBusy], m[report.MachineOthers])
	}
	if v := m[report.MachineStolen]; v != 110 {
		t.Errorf("stolen %v ms, want 11 ticks = 110 ms", v)
	}
	m = report.Round{}
	// ours unknown: no share of others; ours a tick above the tasks'
	// (sampled a moment apart): none, not below 0.
	r.addMachine(m, report.MachinePerGB, d, nil, 1<<30/1e9, -1) // 1 GiB
	if got := m[report.MachinePerGB]; math.Abs(got-3/1.073741824) > 1e-9 {
		t.Errorf("per GB %v, want 3 s / 1.074 GB", got)
	}
	if v, ok := m[report.MachineOthers]; ok {
		t.Errorf("others' share %v with the run's own CPU unknown", v)
	}
	m = report.Round{}
	r.addMachine(m, report.MachinePerReq, d, nil, 1, 2610*time.Millisecond)
	if v, ok := m[report.MachineOthers]; !ok || v != 0 {
		t.Errorf("others' share %v (%v), want 0", v, ok)
	}
	for range 2 {
		m = report.Round{}
		r.addMachine(m, report.MachinePerReq, proc.Machine{}, context.DeadlineExceeded, 1, 0)
		if len(m) != 0 {
			t.Errorf("a failed reading gave %v", m)
		}
	}
	if len(r.res.Warnings) != 1 || !strings.Contains(r.res.Warnings[0], "could not be read") {
		t.Errorf("warnings %q, want one", r.res.Warnings)
	}
	m = report.Round{}
	r.addMachine(m, report.MachinePerReq, proc.Machine{}, nil, 1, 0)
	if len(m) != 0 {
		t.Errorf("no time passed: %v, want no figure", m)
	}
}
