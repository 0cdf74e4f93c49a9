package suite

import (
	"strings"
	"testing"

	"github.com/fjordlb/fjord/bench/report"
)

func TestMachineTargets(t *testing.T) {
	row := func(peer string, m report.Round) *report.Row { return &report.Row{Peer: peer, Median: m} }
	ka := &report.Scenario{Name: KeepAlive, Rows: []*report.Row{
		row("direct", report.Round{report.MachinePerReq: 20}),
		row("fjord-tcp", report.Round{report.MachineAboveDirect: 14}),
		row("haproxy-tcp", report.Round{report.MachineAboveDirect: 20}),
		row("nginx-stream", report.Round{report.MachineAboveDirect: 18}),
		row("fjord-http", report.Round{report.MachineAboveDirect: 25}),
		row("haproxy-http", report.Round{report.MachineAboveDirect: 30}),
		// iocopy is cheaper, and no peer.
		row("iocopy", report.Round{report.MachineAboveDirect: 10}),
	}}
	lat := func(variant string, fjord, haproxy float64) *report.Scenario {
		return &report.Scenario{Name: Latency, Variant: variant, Rate: 1000, Rows: []*report.Row{
			row("fjord-tcp", report.Round{report.AddedP50: fjord, report.AddedP99: 4 * fjord}),
			row("haproxy-tcp", report.Round{report.AddedP50: haproxy, report.AddedP99: 4 * haproxy}),
		}}
	}
	idle := &report.Scenario{Name: Idle}
	r := &runner{res: &report.Results{Scenarios: []*report.Scenario{ka, idle, lat("20pct", 70, 100), lat("50pct", 90, 100)}}}
	ts := r.machineTargets()
	if ts == nil {
		t.Fatal("no targets")
	}
	type want struct {
		scenario, against string
		ratio             float64
		met               bool
	}
	var got []want
	for _, c := range ts.Rows {
		if c.Met == nil {
			t.Errorf("%s (%s): no verdict: %+v", c.Figure, c.Scenario, c)
			continue
		}
		got = append(got, want{c.Scenario, c.Best, c.Ratio, *c.Met})
	}
	for i, w := range []want{
		{"keepalive", "haproxy-tcp", 0.7, true},
		{"keepalive", "nginx-stream", 14.0 / 18, false},
		// nginx-http did not run: the best of the others.
		{"keepalive", "haproxy-http", 25.0 / 30, true},
		{"latency-20pct", "haproxy-tcp", 0.7, true},
		{"latency-20pct", "haproxy-tcp", 0.7, true},
		{"latency-50pct", "haproxy-tcp", 0.9, false},
		{"latency-50pct", "haproxy-tcp", 0.9, false},
	} {
		if i >= len(got) || got[i] != w {
			t.Errorf("target %d: %+v, want %+v", i, got, w)
			break
		}
	}
	if len(got) != 7 {
		t.Errorf("%d targets, want 7: keep-alive 3, two latency tables 2 each", len(got))
	}
	if !strings.Contains(ts.Text, "the io.Copy proxy is not a peer") {
		t.Errorf("text %q", ts.Text)
	}
	r.res.Scenarios = []*report.Scenario{idle}
	if r.machineTargets() != nil {
		t.Error("targets from a run with none of their tables")
	}
}

func TestMachineTargetsOfVariantsThatRan(t *testing.T) {
	row := func(peer string, v float64) *report.Row {
		return &report.Row{Peer: peer, Median: report.Round{report.MachineAboveDirect: v}}
	}
	sc := &report.Scenario{Name: Close, Rows: []*report.Row{
		row("fjord-tcp", 9), row("fjord-tcp-km", 12), row("haproxy-tcp", 10),
	}}
	r := &runner{res: &report.Results{Scenarios: []*report.Scenario{sc}}}
	ts := r.machineTargets()
	if ts == nil || len(ts.Rows) != 2 {
		t.Fatalf("want a row for fjord-tcp and one for fjord-tcp-km (fjord-tcp-bp did not run): %+v", ts)
	}
	for i, w := range []struct {
		peer string
		met  bool
	}{{"fjord-tcp", true}, {"fjord-tcp-km", false}} {
		c := ts.Rows[i]
		if c.Peer != w.peer || c.Met == nil || *c.Met != w.met {
			t.Errorf("row %d: %s met %v, want %s met %v", i, c.Peer, c.Met, w.peer, w.met)
		}
	}
}
