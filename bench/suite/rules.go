package suite

import (
	"context"
	"fmt"
	"strings"

	"github.com/fjordlb/fjord/bench/peers"
	"github.com/fjordlb/fjord/bench/report"
)

// RulesKeepAlive is the scenario of HAProxy's rule language: the
// keepalive scenario's load through fjord without rules (fjord-http,
// the baseline), fjord with a typical site's rule set (fjord-rules) and
// HAProxy with the same rule set (haproxy-rules), side by side.
const RulesKeepAlive = "rules-keepalive"

// The targets of fjord's rules, side by side in one run: CPU per
// keep-alive request with the rule set at most TargetRulesCost times
// fjord's without it, and at most TargetRulesHAProxy times HAProxy's
// with the same rule set.
const (
	TargetRulesCost    = 1.15
	TargetRulesHAProxy = 0.95
)

// takesPart says whether peer p runs in scenario name: the HTTPS
// scenarios take the peers that terminate TLS; rules-keepalive takes
// its baseline (fjord-http) and the peers that run the rule set; every
// other scenario takes every peer but those that run the rule set.
func takesPart(name string, p *peers.Peer) bool {
	switch {
	case isHTTPS(name):
		return p.TLS
	case name == RulesKeepAlive:
		return p.Rules || p.Name == peers.RulesBaseline
	}
	return !p.Rules
}

// participants are the peers to run in scenario name: those named and
// installed that take part in it, in report order.
func (r *runner) participants(name string) []*peers.Peer {
	var out []*peers.Peer
	for _, p := range r.peers {
		if takesPart(name, p) {
			out = append(out, p)
		}
	}
	return out
}

// rulesText is the rule set as the report shows it, its map file by
// name.
func rulesText() string {
	var quoted []string
	for _, l := range peers.RuleSet(peers.RulesMapName) {
		quoted = append(quoted, "`"+l+"`")
	}
	return strings.Join(quoted, "; ")
}

// rulesHosts counts the map's entries.
func rulesHosts() int {
	n := 0
	for _, l := range strings.Split(peers.RulesMap, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			n++
		}
	}
	return n
}

// rulesSetup prepares the rules-keepalive scenario: its texts, and the
// check of each peer's configuration (a peer that refuses it is left
// out, its row says why; fjord refuses a rule it cannot run). run is
// the peers that take part; skip is true when none of them runs the
// rule set.
func (r *runner) rulesSetup(ctx context.Context, s *report.Scenario, run []*peers.Peer) ([]*peers.Peer, bool, error) {
	o := r.o
	s.Title, s.Kind = "Keep-alive small requests with a typical rule set, closed loop", report.Requests
	s.Params = fmt.Sprintf("The keepalive scenario's load (%d keep-alive connections, each sending its next request when the last is answered; %s) through %s, fjord without rules (the keepalive scenario's configuration), and through %s and %s, the same configuration with a rule set added, the same text for both: %s. "+
		"The map holds %d hosts, the generator's Host (bench) among them, each to backend %s (the same two web nodes); the redirect's ACL is evaluated for every request and matches none. "+
		"nginx and the io.Copy proxy are not part of this scenario: neither reads HAProxy's rule language. %v warm-up, %v measured, median of %s.",
		o.Conns, sizes(o), peers.RulesBaseline, peers.RulesFjord, peers.RulesHAProxy, rulesText(), rulesHosts(), peers.RulesBackend, o.Warmup, o.Duration, rounds(o.Rounds))
	var rulesPeers []string
	for _, p := range run {
		if p.Rules {
			rulesPeers = append(rulesPeers, p.Name)
		}
	}
	if len(rulesPeers) == 0 {
		w := fmt.Sprintf("%s: skipped: none of the proxies named runs its rule set (%s, %s do)", s.Name, peers.RulesFjord, peers.RulesHAProxy)
		r.res.Warnings = append(r.res.Warnings, w)
		fmt.Fprintf(o.Progress, "note: %s\n", w)
		r.step += o.Rounds * len(run) // counted, not run
		return nil, true, nil
	}
	run, err := r.checkConfigs(ctx, s.Name, r.env, run)
	return run, false, err
}

// rulesSummary sets fjord's rules against its targets, from the
// rules-keepalive scenario's medians, when it ran.
func (r *runner) rulesSummary() *report.Summary {
	var sc *report.Scenario
	for _, s := range r.res.Scenarios {
		if s.Name == RulesKeepAlive {
			sc = s
		}
	}
	if sc == nil {
		return nil
	}
	sum := &report.Summary{
		Title: "Rules: fjord with a typical rule set, against fjord without it and HAProxy with it",
		Text: fmt.Sprintf("The rules-keepalive scenario's figures (medians of rounds of one run, side by side; a proxy without a figure says why). fjord's targets: CPU per keep-alive request with the rule set at most %.2f× its own without rules (\"rules cost\", %s ÷ %s), and at most %.2f× HAProxy's with the same rule set (%s ×%s). "+
			"nginx and the io.Copy proxy cannot run the rules and are not compared.",
			TargetRulesCost, peers.RulesFjord, peers.RulesBaseline, TargetRulesHAProxy, peers.RulesFjord, peers.RulesHAProxy),
		Peers: []string{peers.RulesBaseline, peers.RulesFjord, peers.RulesHAProxy},
		Ref:   peers.RulesHAProxy, Target: peers.RulesFjord,
		// fjord without rules against HAProxy with them compares
		// nothing: only fjord-rules has a ratio.
		Ratioed: []string{peers.RulesFjord},
	}
	sum.AddPeerQuotient(fmt.Sprintf("rules cost: %s ÷ %s CPU per keep-alive request", peers.RulesFjord, peers.RulesBaseline), sc, report.CPUPerReq, peers.RulesFjord, peers.RulesBaseline, TargetRulesCost)
	sum.Add("CPU µs per keep-alive request", report.UnitMicros, sc, report.CPUPerReq, TargetRulesHAProxy)
	// The whole machine's: the targets are on the proxies' own CPU, and
	// this scenario has no direct to take the rest out.
	sum.Add("machine CPU µs per keep-alive request", report.UnitMicros, sc, report.MachinePerReq, 0)
	sum.Add("keep-alive requests/s", report.UnitPerSec, sc, report.ReqPerSec, 0)
	sum.Add("p99 µs", report.UnitMicros, sc, report.P99, 0)
	return sum
}
