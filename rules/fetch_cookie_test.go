package rules

import (
	"net/netip"
	"testing"

	"github.com/fjordlb/fjord/config"
)

func TestFetchCookies(t *testing.T) {
	s, i := config.TypeStr, config.TypeInt
	// HAProxy's reg-test sample_fetches/cook.vtc.
	runSampleCases(t, getHead("/", "cookie: cook1=0; cook2=123; cook3=22\r\n"), nil, []sampleCase{
		{"req.cook_cnt()", "3", i},
		{"req.cook", "0", s}, // no name: the first cookie
		{"req.cook(cook2)", "123", s},
		{"cook(cook3)", "22", s},
		{"cook_cnt(cook2)", "1", i},
	})
	head := getHead("/",
		"Cookie: a=1; b=2\r\n",
		"X: a=9\r\n",
		"Cookie: a=3, c=\"x,y\"; $Path=/; d\r\n",
		"Cookie:  e = 5 ;f=6;g=\r\n",
		"Cookie: h=; i=1\r\n",
	)
	runSampleCases(t, head, nil, []sampleCase{
		{"req.cook(a)", "3", s}, // the last
		{"req.cook(b)", "2", s},
		{"req.cook(c)", `"x,y"`, s},  // a quoted comma is in the value
		{"req.cook(d)", noSample, 0}, // no '='
		{"req.cook($Path)", noSample, 0},
		{"req.cook(e)", "5", s},
		{"req.cook(g)", noSample, 0}, // HAProxy does not see "g=" at the end of a line
		{"req.cook(h)", "", s},
		{"req.cook(z)", noSample, 0},
		{"req.cook_cnt(a)", "2", i},
		{"req.cook_cnt", "9", i}, // a b a c e f g h i: "g=" at the end counts when no name is asked
		{"req.cook_cnt(z)", "0", i},
		{"req.cook(a),length", "1", i},
	})
	runMatchCases(t, []matchCase{
		{"cook every value 1", nil, "if { req.cook(a) 1 }", head, netip.Addr{}, true},
		{"cook every value 3", nil, "if { cook(a) 3 }", head, netip.Addr{}, true},
		{"cook not another header", nil, "if { cook(a) 9 }", head, netip.Addr{}, false},
		{"cook any name", nil, "if { req.cook 6 }", head, netip.Addr{}, true},
		{"cook_beg", nil, `if { req.cook_beg(c) '"x' }`, head, netip.Addr{}, true},
		{"cook found", nil, "if { req.cook(h) -m found }", head, netip.Addr{}, true},
		{"cook not found", nil, "if { req.cook(zz) -m found }", head, netip.Addr{}, false},
		{"cook_cnt", nil, "if { req.cook_cnt(a) 2 }", head, netip.Addr{}, true},
	})
}

// res.cook reads Set-Cookie, whose first attribute is the cookie (a
// response rule reads one cookie a line, as HAProxy).
func TestFetchResponseCookies(t *testing.T) {
	res := &Msg{Status: 200, Headers: []Header{
		{Name: []byte("Set-Cookie"), Value: []byte("SID=abc; Path=/; HttpOnly")},
		{Name: []byte("Set-Cookie"), Value: []byte("lang=fr; Expires=Wed, 21 Oct 2015 07:28:00 GMT")},
		{Name: []byte("Set-Cookie"), Value: []byte("$Version=1; v=2")},
	}}
	for _, tc := range []struct{ expr, want string }{
		{"res.cook(SID)", "abc"},
		{"res.cook(Path)", noSample}, // an attribute, not a cookie
		{"res.cook(lang)", "fr"},
		{"res.cook(Expires)", noSample},
		{"res.cook(v)", "2"}, // after a '$' attribute
		{"res.cook", "abc"},
	} {
		tx := Txn{Res: res, Response: true}
		v, ok := compileSample(t, tc.expr).Eval(&tx)
		if got := sampleText(v, ok); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.expr, got, tc.want)
		}
	}
	// Without a response there is no sample.
	if _, ok := compileSample(t, "res.cook(SID)").Eval(&Txn{}); ok {
		t.Error("res.cook without a response gave a sample")
	}
}

func TestCookieAllocs(t *testing.T) {
	req := mustRequest(t, getHead("/p", "Cookie: a=1; sid=abc\r\n"))
	var tx Txn
	var m Msg
	for _, expr := range []string{"req.cook(sid)", "req.cook_cnt"} {
		e := compileSample(t, expr)
		if allocs := testing.AllocsPerRun(100, func() {
			fillTxn(&tx, &m, v4Client, req)
			e.Eval(&tx)
		}); allocs != 0 {
			t.Errorf("%s: %v allocations per evaluation", expr, allocs)
		}
	}
	// The ACL form, which iterates.
	cc := NewCompiler().Cond(parseCond(t, []string{"y cook(a) 2"}, "if y"))
	if allocs := testing.AllocsPerRun(100, func() {
		fillTxn(&tx, &m, v4Client, req)
		cc.Match(&tx)
	}); allocs != 0 {
		t.Errorf("cook in an ACL: %v allocations per evaluation", allocs)
	}
}
