package report

import (
	"math"
	"strings"
	"testing"
)

func TestTargetCheck(t *testing.T) {
	sc := &Scenario{Name: "keepalive", Rows: []*Row{
		{Peer: "fjord-tcp", Median: Round{MachineAboveDirect: 14, GBPerSec: 2.4}},
		{Peer: "haproxy-tcp", Median: Round{MachineAboveDirect: 20, GBPerSec: 3.2}},
		{Peer: "nginx-stream", Median: Round{MachineAboveDirect: 16, GBPerSec: 2.0}},
		{Peer: "nginx-http", Status: "not installed: nginx is not in PATH"},
		{Peer: "fjord-http", Median: Round{MachineAboveDirect: -1}},
		{Peer: "haproxy-http", Median: Round{MachineAboveDirect: 0}},
	}}
	for _, tt := range []struct {
		name    string
		t       TargetCheck
		sc      *Scenario
		ratio   float64
		best    string
		met     string // "yes", "no", "" (no target)
		status  string
		missing int
	}{
		{"against one peer, met", TargetCheck{Peer: "fjord-tcp", Against: []string{"haproxy-tcp"}, Metric: MachineAboveDirect, Max: 0.70}, sc, 0.7, "haproxy-tcp", "yes", "", 0},
		{"against the best (lowest) of two, missed", TargetCheck{Peer: "fjord-tcp", Against: []string{"haproxy-tcp", "nginx-stream"}, Metric: MachineAboveDirect, Max: 0.85}, sc, 14.0 / 16, "nginx-stream", "no", "", 0},
		{"a missing peer leaves the best of the others, and says so", TargetCheck{Peer: "fjord-tcp", Against: []string{"nginx-http", "haproxy-tcp"}, Metric: MachineAboveDirect, Max: 0.9}, sc, 0.7, "haproxy-tcp", "yes", "", 1},
		{"throughput: the highest peer, at least", TargetCheck{Peer: "fjord-tcp", Against: []string{"haproxy-tcp", "nginx-stream"}, Metric: GBPerSec, HigherIsBetter: true, Min: 1}, sc, 2.4 / 3.2, "haproxy-tcp", "no", "", 0},
		{"no target: a ratio, no verdict", TargetCheck{Peer: "fjord-tcp", Against: []string{"haproxy-tcp"}, Metric: MachineAboveDirect}, sc, 0.7, "haproxy-tcp", "", "", 0},
		{"a peer at 0 above direct: no ratio", TargetCheck{Peer: "fjord-http", Against: []string{"haproxy-http"}, Metric: MachineAboveDirect, Max: 0.85}, sc, 0, "haproxy-http", "", "fjord-http -1, haproxy-http 0: at or below 0, within the noise", 0},
		{"no peer's figure", TargetCheck{Peer: "fjord-tcp", Against: []string{"nginx-http", "iocopy"}, Metric: MachineAboveDirect, Max: 0.9}, sc, 0, "", "", "no peer's figure: nginx-http not installed, iocopy not run", 2},
		{"the proxy's own figure missing", TargetCheck{Peer: "nginx-http", Against: []string{"haproxy-tcp"}, Metric: MachineAboveDirect, Max: 0.9}, sc, 0, "", "", "nginx-http not installed", 0},
		{"the table did not run", TargetCheck{Peer: "fjord-tcp", Against: []string{"haproxy-tcp"}, Metric: MachineAboveDirect, Max: 0.9}, nil, 0, "", "", "fjord-tcp not run", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.t
			c.Check(tt.sc)
			met := ""
			if c.Met != nil {
				met = map[bool]string{true: "yes", false: "no"}[*c.Met]
			}
			if math.Abs(c.Ratio-tt.ratio) > 1e-9 || c.Best != tt.best || met != tt.met || !strings.Contains(c.Status, tt.status) || (tt.status == "" && c.Status != "") || len(c.Missing) != tt.missing {
				t.Errorf("%+v; want ratio %v against %q, met %q, status %q, %d missing", c, tt.ratio, tt.best, tt.met, tt.status, tt.missing)
			}
		})
	}
}

func TestTargetsMarkdown(t *testing.T) {
	sc := &Scenario{Name: "close", Rows: []*Row{
		{Peer: "fjord-tcp", Median: Round{MachineAboveDirect: 27}},
		{Peer: "haproxy-tcp", Median: Round{MachineAboveDirect: 30}},
		{Peer: "nginx-stream", Status: "not installed: x"},
	}}
	a := &TargetCheck{Figure: "connection per request", Scenario: "close", Peer: "fjord-tcp", Against: []string{"haproxy-tcp", "nginx-stream"}, Metric: MachineAboveDirect, Max: 0.9}
	b := &TargetCheck{Figure: "bulk", Scenario: "bulk", Peer: "fjord-tcp", Against: []string{"haproxy-tcp"}, Metric: MachineGBAboveDirect, Max: 0.5}
	a.Check(sc)
	b.Check(nil)
	var out strings.Builder
	if err := Markdown(&out, &Results{Targets: []*Targets{{Title: "Issue 20", Text: "why", Rows: []*TargetCheck{a, b}}}}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"### Issue 20\n\nwhy\n\n| figure | table | proxy | its figure | against | their figure | ratio | target | met |",
		"| connection per request | close | fjord-tcp | 27 | best: haproxy-tcp | 30 | 0.900 | ≤ 0.90× | yes |",
		"| bulk | bulk | fjord-tcp | fjord-tcp not run | haproxy-tcp | | | ≤ 0.50× | — |",
		"- connection per request, close: best of the peers with a figure (nginx-stream not installed)",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q in:\n%s", want, out.String())
		}
	}
}
