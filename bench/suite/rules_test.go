package suite

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/fjordlb/fjord/bench/peers"
	"github.com/fjordlb/fjord/bench/report"
)

// TestRulesScenarioPeers: rules-keepalive runs fjord-http (its
// baseline) and the peers with the rule set, and no other; no other
// scenario runs the peers with the rule set.
func TestRulesScenarioPeers(t *testing.T) {
	for _, n := range []string{RulesKeepAlive} {
		if !slices.Contains(Names, n) || !slices.Contains(Standard().Scenarios, n) || !slices.Contains(Quick().Scenarios, n) || isHTTPS(n) {
			t.Errorf("%s: not a plain scenario of both suites", n)
		}
	}
	var rules []string
	for _, p := range peers.All {
		if takesPart(RulesKeepAlive, p) {
			rules = append(rules, p.Name)
		}
		for _, other := range Names {
			if other != RulesKeepAlive && p.Rules && takesPart(other, p) {
				t.Errorf("%s runs in %s", p.Name, other)
			}
		}
	}
	if got := strings.Join(rules, " "); got != "fjord-http fjord-rules haproxy-rules" {
		t.Errorf("rules-keepalive runs %q", got)
	}
	if !takesPart(KeepAlive, peers.All[0]) || !takesPart(Latency, peers.All[1]) {
		t.Error("the plain scenarios lost their peers")
	}
}

// TestRulesSetupTexts: the scenario's text holds every rule, the same
// for both proxies, and says why nginx and io.Copy are not in it; a run
// naming no peer with the rule set skips it with a warning.
func TestRulesSetupTexts(t *testing.T) {
	var progress bytes.Buffer
	o := Quick()
	o.Progress = &progress
	r := &runner{o: o, res: &report.Results{}}
	s := &report.Scenario{Name: RulesKeepAlive}
	fjordHTTP := peers.All[2]
	if fjordHTTP.Name != peers.RulesBaseline {
		t.Fatalf("peers.All[2] is %s", fjordHTTP.Name)
	}
	run, skip, err := r.rulesSetup(context.Background(), s, []*peers.Peer{fjordHTTP})
	if err != nil || !skip || run != nil {
		t.Fatalf("fjord-http alone: run %v, skip %v, %v; want skipped", run, skip, err)
	}
	if len(r.res.Warnings) != 1 || !strings.Contains(r.res.Warnings[0], "rules-keepalive: skipped: none of the proxies named runs its rule set (fjord-rules, haproxy-rules do)") {
		t.Errorf("warnings %q", r.res.Warnings)
	}
	for _, l := range peers.RuleSet(peers.RulesMapName) {
		if !strings.Contains(s.Params, "`"+l+"`") {
			t.Errorf("the scenario's text does not show %q:\n%s", l, s.Params)
		}
	}
	for _, want := range []string{"the same text for both", "nginx and the io.Copy proxy are not part of this scenario", "The map holds 5 hosts", "(bench)", "backend be_web", "50 keep-alive connections", "median of 1 round"} {
		if !strings.Contains(s.Params, want) {
			t.Errorf("the scenario's text has no %q:\n%s", want, s.Params)
		}
	}
	if s.Kind != report.Requests {
		t.Errorf("kind %q", s.Kind)
	}
}

// TestRulesSummary: the summary's two targets come from the one
// rules-keepalive scenario: fjord-rules over fjord-http, and fjord-rules
// over haproxy-rules; a row without a figure says why.
func TestRulesSummary(t *testing.T) {
	row := func(peer string, cpu float64) *report.Row {
		return &report.Row{Peer: peer, Mode: "http", Median: report.Round{report.CPUPerReq: cpu, report.ReqPerSec: 1e6 / cpu, report.P99: 2 * cpu}}
	}
	scen := func(rows ...*report.Row) *runner {
		return &runner{res: &report.Results{Scenarios: []*report.Scenario{
			// Another scenario's fjord-http figure must not be taken.
			{Name: KeepAlive, Rows: []*report.Row{row("fjord-http", 1), row("haproxy-http", 1)}},
			{Name: RulesKeepAlive, Rows: rows},
		}}}
	}
	byFigure := func(sum *report.Summary) map[string]*report.SummaryRow {
		m := map[string]*report.SummaryRow{}
		for _, r := range sum.Rows {
			m[r.Figure] = r
		}
		return m
	}
	const costFig, cpuFig = "rules cost: fjord-rules ÷ fjord-http CPU per keep-alive request", "CPU µs per keep-alive request"

	sum := scen(row("fjord-http", 20), row("fjord-rules", 22), row("haproxy-rules", 25)).rulesSummary()
	if sum == nil {
		t.Fatal("no summary")
	}
	if strings.Join(sum.Peers, " ") != "fjord-http fjord-rules haproxy-rules" || sum.Ref != "haproxy-rules" || sum.Target != "fjord-rules" || !slices.Equal(sum.Ratioed, []string{"fjord-rules"}) {
		t.Errorf("columns %v ref %s target %s ratioed %v", sum.Peers, sum.Ref, sum.Target, sum.Ratioed)
	}
	f := byFigure(sum)
	cost, cpu := f[costFig], f[cpuFig]
	if cost == nil || cost.Scenario != RulesKeepAlive || cost.Values["fjord-rules"] != 22.0/20 || cost.Max != TargetRulesCost || cost.Met == nil || !*cost.Met ||
		len(cost.Values) != 1 || cost.Status["fjord-http"] != "—" || cost.Status["haproxy-rules"] != "—" || len(cost.Ratios) != 0 {
		t.Errorf("rules cost: %+v (22 over 20 is 1.10, under %.2f)", cost, TargetRulesCost)
	}
	if cpu == nil || cpu.Values["fjord-http"] != 20 || cpu.Ratios["fjord-rules"] != 22.0/25 || cpu.Max != TargetRulesHAProxy || cpu.Met == nil || !*cpu.Met {
		t.Errorf("CPU: %+v (22 against 25 is 0.88, under %.2f)", cpu, TargetRulesHAProxy)
	}
	if m := f["machine CPU µs per keep-alive request"]; m == nil || len(m.Values) != 0 || m.Status["fjord-rules"] != "no figure" || m.Met != nil {
		t.Errorf("machine CPU, unmeasured: %+v", m)
	}
	if _, ok := cpu.Ratios["fjord-http"]; ok {
		t.Error("fjord without rules has a ratio to HAProxy with them")
	}
	var md strings.Builder
	if err := report.Markdown(&md, &report.Results{Summaries: []*report.Summary{sum}}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| figure | fjord-http | fjord-rules | haproxy-rules | fjord-rules ×haproxy-rules | target for fjord-rules | met |",
		"| " + costFig + " | — | 1.100 | — | — | ≤ 1.15× | yes |",
		"| " + cpuFig + " | 20.0 | 22.0 | 25.0 | 0.880 | ≤ 0.95× | yes |",
	} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("the table has no %q:\n%s", want, md.String())
		}
	}

	// Missed targets.
	f = byFigure(scen(row("fjord-http", 20), row("fjord-rules", 24), row("haproxy-rules", 24)).rulesSummary())
	if c := f[costFig]; c.Met == nil || *c.Met {
		t.Errorf("1.20 met %.2f: %+v", TargetRulesCost, c)
	}
	if c := f[cpuFig]; c.Met == nil || *c.Met {
		t.Errorf("1.00 met %.2f: %+v", TargetRulesHAProxy, c)
	}

	// fjord refused its rules: no figure, and the reason.
	refused := &report.Row{Peer: "fjord-rules", Mode: "http", Status: "refused: fjord-rules.cfg:24: unknown converter 'lower'"}
	f = byFigure(scen(row("fjord-http", 20), refused, row("haproxy-rules", 25)).rulesSummary())
	if c := f[costFig]; c.Status["fjord-rules"] != "refused" || c.Met != nil || len(c.Values) != 0 {
		t.Errorf("refused, rules cost: %+v", c)
	}
	if c := f[cpuFig]; c.Status["fjord-rules"] != "refused" || c.Met != nil || c.Values["haproxy-rules"] != 25 {
		t.Errorf("refused, CPU: %+v", c)
	}

	// No baseline: the quotient says which figure is missing.
	f = byFigure(scen(row("fjord-rules", 22), &report.Row{Peer: "haproxy-rules", Status: "not installed: haproxy is not in PATH"}).rulesSummary())
	if c := f[costFig]; c.Status["fjord-rules"] != "fjord-http not run" || c.Met != nil {
		t.Errorf("no baseline, rules cost: %+v", c)
	}
	if c := f[cpuFig]; c.Status["haproxy-rules"] != "not installed" || c.Met != nil || len(c.Ratios) != 0 {
		t.Errorf("no HAProxy, CPU: %+v", c)
	}

	// No rules-keepalive scenario, no summary.
	r := scen()
	r.res.Scenarios = r.res.Scenarios[:1]
	if r.rulesSummary() != nil {
		t.Error("a summary without the rules-keepalive scenario")
	}
}
