package rules

import (
	"strings"
	"testing"

	"github.com/fjordlb/fjord/config"
)

// A rule that stops its set becomes the Txn's LastRule, which
// last_rule_file and last_rule_line read; a rule that goes on leaves it
// as it was, and so does a set where none decides.
func TestHTTPRulesRecordLastRule(t *testing.T) {
	lines := []string{
		"http-request set-header X-A 1",                                 // 2: goes on
		"http-request allow if { path /allow }",                         // 3
		"http-request deny if { path /deny }",                           // 4
		"http-request set-header X-B %[str(a\\r\\nb)] if { path /bad }", // 5: a rewrite that fails
		"http-request return status 200 if { path /ret }",               // 6
	}
	text := "listen px\n  " + strings.Join(lines, "\n  ") + "\n  bind 127.0.0.1:8080\n  mode http\n  server s 127.0.0.1:8081\n"
	cfg, err := config.Parse("rules.cfg", []byte(text), config.Options{Resolver: config.NoResolver})
	if err != nil {
		t.Fatal(err)
	}
	rs := NewCompiler().HTTPRules(cfg.Frontends()[0].HTTPRequest)
	file, line := compileSample(t, "last_rule_file"), compileSample(t, "last_rule_line")
	earlier := &config.Pos{File: "other.cfg", Line: 9}
	for _, tc := range []struct {
		path, want string
	}{
		{"/allow", "rules.cfg:3"},
		{"/deny", "rules.cfg:4"},
		{"/bad", "rules.cfg:5"},
		{"/ret", "rules.cfg:6"},
		{"/none", "other.cfg:9"}, // no rule decided: the earlier one stays
	} {
		var tx Txn
		var m Msg
		fillTxn(&tx, &m, v4Client, mustRequest(t, getHead(tc.path, "Host: a\r\n")))
		tx.LastRule = earlier
		rs.Run(&tx, tx.Req)
		f, okF := file.Eval(&tx)
		l, okL := line.Eval(&tx)
		if got := sampleText(f, okF) + ":" + sampleText(l, okL); got != tc.want {
			t.Errorf("%s: last rule %s, want %s", tc.path, got, tc.want)
		}
	}
	var tx Txn
	runSampleCases(t, "", func(t *Txn) { *t = tx }, []sampleCase{
		{"last_rule_file", noSample, config.TypeStr},
		{"last_rule_line", noSample, config.TypeInt},
	})
}
