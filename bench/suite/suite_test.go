package suite

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestCheckScenarios(t *testing.T) {
	if err := CheckScenarios(Names); err != nil {
		t.Error(err)
	}
	err := CheckScenarios([]string{"keepalive", "Bulk"})
	if err == nil || !strings.Contains(err.Error(), `unknown scenario "Bulk"; known: keepalive, close, bulk, idle, latency`) {
		t.Errorf("got %v", err)
	}
}

func TestOptionsCheck(t *testing.T) {
	for _, tt := range []struct {
		mod  func(*Options)
		want string
	}{
		{func(o *Options) {}, ""},
		{func(o *Options) { o.Rounds = 0 }, "-rounds 0"},
		{func(o *Options) { o.Duration = 0 }, "-duration"},
		{func(o *Options) { o.Conns = 0 }, "at least 1"},
		{func(o *Options) { o.BulkBytes = 10 }, "at least one object"},
		{func(o *Options) { o.RateFractions = []float64{0.2, 1.5} }, "-rate-fraction 0.2,1.5: want fractions in (0, 1]"},
		{func(o *Options) { o.RateFractions = []float64{0} }, "-rate-fraction 0:"},
		{func(o *Options) { o.RateFractions = nil }, "no fraction, and no -rate"},
		{func(o *Options) { o.RateFractions, o.Rates = nil, []float64{5000} }, ""},
		{func(o *Options) { o.Rates = []float64{5000, 0.5} }, "-rate 5000,0.5: want rates from 1"},
		{func(o *Options) { o.Rates = []float64{math.NaN()} }, "-rate NaN"},
		{func(o *Options) { o.RateFractions = []float64{0.5, 0.2, 0.5} }, "a rate twice"},
		{func(o *Options) { o.Threads = 0 }, "-threads 0"},
		{func(o *Options) { o.PortBase = 70000 }, "not a port"},
		{func(o *Options) { o.Scenarios = nil }, "no scenario"},
		{func(o *Options) { o.Scenarios = []string{"x"} }, `unknown scenario "x"`},
	} {
		o := Quick()
		o.Threads = 1
		tt.mod(&o)
		err := o.check()
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("check() = %v, want %q", err, tt.want)
		}
	}
}

func TestPresets(t *testing.T) {
	s, q := Standard(), Quick()
	if s.BulkBytes != 1<<30 || s.BulkConns != 4 || s.IdleConns != 10000 || !slices.Equal(s.RateFractions, []float64{0.2, 0.5}) || s.Rounds < 3 {
		t.Errorf("standard suite %+v does not hold the issue's scenarios", s)
	}
	// Every scenario, every peer, one round: about 8 peers x 4 timed
	// runs (keep-alive, close, latency at two rates) of warm-up +
	// duration must leave room under two minutes.
	if per := q.Warmup + q.Duration; 8*4*per > 90*time.Second || q.Rounds != 1 {
		t.Errorf("quick suite %v per run, %d rounds: too long for two minutes", per, q.Rounds)
	}
	// Then the short HTTPS part: 3 proxies, the flood twice per round,
	// about 40 s more.
	var https []string
	for _, n := range q.Scenarios {
		if isHTTPS(n) {
			https = append(https, n)
		}
	}
	if per := q.Warmup + q.Duration; len(https) == 0 || time.Duration(3*(len(https)+1))*per > 45*time.Second {
		t.Errorf("quick HTTPS scenarios %v at %v per run: none, or too long", https, per)
	}
	// And rules-keepalive: 3 proxies, about 8 s.
	if len(q.Scenarios) != 6+len(QuickHTTPS) || !slices.Contains(q.Scenarios, RulesKeepAlive) || !slices.Equal(s.Scenarios, Names) {
		t.Errorf("quick %v, standard %v", q.Scenarios, s.Scenarios)
	}
}

func TestTexts(t *testing.T) {
	for in, want := range map[int64]string{1 << 30: "1 GiB", 256 << 20: "256 MiB", 1000: "1000 bytes"} {
		if got := bytesText(in); got != want {
			t.Errorf("bytesText(%d) = %q, want %q", in, got, want)
		}
	}
	if rounds(1) != "1 round (no median)" || rounds(3) != "3 rounds" {
		t.Error(rounds(1), rounds(3))
	}
}
