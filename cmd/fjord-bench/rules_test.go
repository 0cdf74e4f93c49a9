package main

import (
	"strings"
	"testing"
)

// TestRulesRefused: a fjord that refuses the rule set (a converter it
// does not have) has a row saying so in rules-keepalive, the summary
// says "refused" where its figures would be, and the run ends well.
func TestRulesRefused(t *testing.T) {
	script := "#!/bin/sh\n[ \"$1\" = -c ] || { echo 'started without a check' >&2; exit 3; }\n" +
		"echo \"[ALERT] parsing [$3:27] : use_backend %[req.hdr(host),lower,map_str(x.map,be_web)]: unknown converter 'lower'\" >&2\n" +
		"echo '[ALERT] Fatal errors found in configuration.' >&2\nexit 1\n"
	out := t.TempDir()
	args := small(t, out)
	args[1] = fakeFjord(t, script)
	code, stdout, errs := bench(t, append(args, "-proxies", "fjord-rules", "-scenarios", "rules-keepalive")...)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, errs)
	}
	want := "| fjord-rules | refused: fjord-rules.cfg:27: use_backend %[req.hdr(host),lower,map_str(x.map,be_web)]: unknown converter 'lower' |"
	if !strings.Contains(stdout, want) {
		t.Errorf("no row %q:\n%s", want, stdout)
	}
	if strings.Contains(stdout, "| direct |") {
		t.Error("direct has a row in rules-keepalive")
	}
	if !strings.Contains(stdout, "### Rules: fjord with a typical rule set") {
		t.Errorf("no summary:\n%s", stdout)
	}
	res := readResults(t, out)
	if len(res.Scenarios) != 1 || res.Scenarios[0].Name != "rules-keepalive" || len(res.Summaries) != 1 {
		t.Fatalf("%d scenarios, %d summaries", len(res.Scenarios), len(res.Summaries))
	}
	for _, row := range res.Summaries[0].Rows {
		if row.Status["fjord-rules"] != "refused" || row.Met != nil {
			t.Errorf("summary row %q: %v", row.Figure, row.Status)
		}
	}
}
