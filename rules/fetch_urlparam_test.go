package rules

import (
	"net/netip"
	"testing"

	"github.com/fjordlb/fjord/config"
)

func TestFetchURLParam(t *testing.T) {
	s := config.TypeStr
	head := getHead("/foo?PHPSESSIONID=some_id&a=1&a=2;b=3&xa=9")
	runSampleCases(t, head, nil, []sampleCase{
		{"url_param(PHPSESSIONID)", "some_id", s},
		{"urlp(a)", "1", s}, // the first
		{"url_param(b)", "3", s},
		{"url_param(xa)", "9", s},
		{"url_param(x)", noSample, 0},
		{"url_param", "some_id", s}, // no name: the first parameter
		{"url_param()", "some_id", s},
		{"url_param(b,;)", "3", s},      // the parameters start after the first ';'
		{"url_param(a,;)", noSample, 0}, // instead of '?'

	})
	// The documentation's examples, and edges.
	runSampleCases(t, getHead("/foo;JSESSIONID=some_id"), nil, []sampleCase{
		{"urlp(JSESSIONID,;)", "some_id", s},
		{"urlp(JSESSIONID)", noSample, 0},
	})
	runSampleCases(t, getHead("/p?a&b=2&c=&d=4"), nil, []sampleCase{
		{"urlp(a)", noSample, 0}, // no '='
		{"urlp", "2", s},         // the value after the first '=', as HAProxy
		{"urlp(c)", "", s},
		{"urlp(d)", "4", s},
	})
	runSampleCases(t, getHead("http://example.com/p?x=1", "Host: example.com\r\n"), nil, []sampleCase{{"urlp(x)", "1", s}})
	runSampleCases(t, getHead("/noquery"), nil, []sampleCase{{"urlp(x)", noSample, 0}, {"urlp", noSample, 0}})
	runSampleCases(t, getHead("/p?qs=Yes_It_Is"), nil, []sampleCase{
		// HAProxy's reg-test converters_ipmask_concat_strcmp_field_word.vtc.
		{"url_param(qs),upper,field(2,_,2)", "IT_IS", s},
		{"url_param(qs),word(1,_,2)", "Yes_It", s},
		{"url_param(qs),word(1,_,2),map_regm(testdata/regm.map)", "It_Yes", s},
	})
	// In an ACL every occurrence is a sample.
	h := getHead("/foo?a=1&a=2;b=3&a=x")
	runMatchCases(t, []matchCase{
		{"urlp first", nil, "if { urlp(a) 1 }", h, netip.Addr{}, true},
		{"urlp second", nil, "if { urlp(a) 2 }", h, netip.Addr{}, true},
		{"urlp last", nil, "if { urlp(a) x }", h, netip.Addr{}, true},
		{"urlp none", nil, "if { urlp(a) 3 }", h, netip.Addr{}, false},
		{"urlp any name", nil, "if { url_param 3 }", h, netip.Addr{}, true},
		{"urlp_beg", nil, "if { urlp_beg(a) x }", h, netip.Addr{}, true},
		{"urlp_reg", nil, `if { urlp_reg(b) ^[0-9]$ }`, h, netip.Addr{}, true},
		{"urlp found", nil, "if { urlp(b) -m found }", h, netip.Addr{}, true},
		{"urlp not found", nil, "if { urlp(c) -m found }", h, netip.Addr{}, false},
	})
}

func TestURLParamAllocs(t *testing.T) {
	req := mustRequest(t, getHead("/p?x=1&id=42"))
	e := compileSample(t, "url_param(id)")
	var tx Txn
	var m Msg
	if allocs := testing.AllocsPerRun(100, func() {
		fillTxn(&tx, &m, v4Client, req)
		e.Eval(&tx)
	}); allocs != 0 {
		t.Errorf("url_param: %v allocations per evaluation", allocs)
	}
	// The ACL form, which iterates.
	cc := NewCompiler().Cond(parseCond(t, []string{"x urlp(x) 2"}, "if x"))
	if allocs := testing.AllocsPerRun(100, func() {
		fillTxn(&tx, &m, v4Client, req)
		cc.Match(&tx)
	}); allocs != 0 {
		t.Errorf("urlp in an ACL: %v allocations per evaluation", allocs)
	}
}
