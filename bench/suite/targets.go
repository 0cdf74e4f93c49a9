package suite

import (
	"fmt"
	"strings"

	"github.com/fjordlb/fjord/bench/report"
)

// The peers fjord's targets are measured against: the C proxies. The
// io.Copy proxy is a floor for Go, not a peer.
var (
	tcpPeers  = []string{"haproxy-tcp", "nginx-stream"}
	httpPeers = []string{"haproxy-http", "nginx-http"}
)

// fjords is fjord's peer for a scenario, followed by the variants of it
// that ran there: the opt-in peers named after it (fjord-tcp-bp,
// fjord-tcp-km), each set against the targets in rows of its own.
func fjords(s *report.Scenario, main string) []string {
	names := []string{main}
	for _, r := range s.Rows {
		if strings.HasPrefix(r.Peer, main+"-") {
			names = append(names, r.Peer)
		}
	}
	return names
}

// machineTargets sets fjord against issue 20's targets, from the tables
// of this run that hold them: machine CPU above direct per keep-alive
// request (tcp at most 0.70× HAProxy's and nginx's, http 0.85× the best
// peer's), per connection-per-request (0.90× the best), per GB (0.50×
// HAProxy's, moving at least HAProxy's GB/s), and the latency added at a
// fixed rate (p50 and p99 at most 0.80× the best peer's), each latency
// table its own rows. nil when none of those tables ran.
func (r *runner) machineTargets() *report.Targets {
	var checks []*report.TargetCheck
	add := func(s *report.Scenario, figure, peer, metric string, against []string, maxRatio float64) *report.TargetCheck {
		t := &report.TargetCheck{Figure: figure, Scenario: s.Key(), Metric: metric, Peer: peer, Against: against, Max: maxRatio}
		checks = append(checks, t)
		return t
	}
	for _, s := range r.res.Scenarios {
		tcp, http := fjords(s, "fjord-tcp"), fjords(s, "fjord-http")
		switch s.Name {
		case KeepAlive:
			for _, p := range tcp {
				add(s, "mode tcp keep-alive: machine CPU µs per request above direct", p, report.MachineAboveDirect, tcpPeers[:1], 0.70)
				add(s, "mode tcp keep-alive: machine CPU µs per request above direct", p, report.MachineAboveDirect, tcpPeers[1:], 0.70)
			}
			for _, p := range http {
				add(s, "mode http keep-alive: machine CPU µs per request above direct", p, report.MachineAboveDirect, httpPeers, 0.85)
			}
		case Close:
			for _, p := range tcp {
				add(s, "mode tcp, a connection per request: machine CPU µs per request above direct", p, report.MachineAboveDirect, tcpPeers, 0.90)
			}
		case Bulk:
			for _, p := range tcp {
				add(s, "bulk, mode tcp: machine CPU s per GB above direct", p, report.MachineGBAboveDirect, tcpPeers[:1], 0.50)
				gb := add(s, "bulk, mode tcp: GB/s", p, report.GBPerSec, tcpPeers[:1], 0)
				gb.Min = 1
			}
		case Latency:
			for _, p := range tcp {
				add(s, "mode tcp, latency added at a fixed rate: p50 µs above direct's", p, report.AddedP50, tcpPeers, 0.80)
				add(s, "mode tcp, latency added at a fixed rate: p99 µs above direct's", p, report.AddedP99, tcpPeers, 0.80)
			}
		}
	}
	if len(checks) == 0 {
		return nil
	}
	byKey := map[string]*report.Scenario{}
	for _, s := range r.res.Scenarios {
		byKey[s.Key()] = s
	}
	for _, t := range checks {
		t.Check(byKey[t.Scenario])
	}
	return &report.Targets{
		Title: "fjord against issue 20's targets: the whole machine's CPU above direct",
		Text: fmt.Sprintf("Each figure is fjord's median over the rounds of one table, against the best (lowest; for GB/s the highest) of its peers' in the same table of this run: HAProxy and nginx, in the same mode (the io.Copy proxy is not a peer). "+
			"Machine CPU above direct is the whole machine's busy time per request or GB less direct's in the same round; latency added is a percentile less direct's in the same round, at the same rate. Issue 20 asks for the latency target at a moderate rate, as medians of 5 rounds (-scenarios latency -rate 5000 -rounds 5). "+
			"A figure at or below 0 is within the noise and has no ratio. On a machine other processes share, read these only from runs without the warning that they took the machine (%.0f%%).", 100*report.OthersMax),
		Rows: checks,
	}
}
