package config

import (
	"testing"
	"time"
)

func TestHTTPRuleErrors(t *testing.T) {
	runErrorCases(t, testResolver(), []errCase{
		{"no action", httpFE("  http-request #ERR"), []string{"'http-request' expects an action", "set-header"}},
		{"unknown action", httpFE("  http-request set-headers X y #ERR"), []string{"unknown action 'set-headers'", "valid: allow, deny"}},
		{"action not built", httpFE("  http-request set-mark 1 #ERR"), []string{"'http-request set-mark': this action is not supported by fjord yet"}},
		{"set-src without an expression", httpFE("  http-request set-src #ERR"), []string{"'http-request set-src' expects one sample expression"}},
		{"set-src with two expressions", httpFE("  http-request set-src src dst if TRUE #ERR"), []string{"'http-request set-src' expects one sample expression"}},
		{"set-dst unknown fetch", httpFE("  http-request set-dst hdr_dst(x) #ERR"), []string{"'http-request set-dst': unknown sample fetch 'hdr_dst'"}},
		{"set-src-port reading the response", httpFE("  http-request set-src-port res.hdr(x-port) #ERR"), []string{"reads the response"}},
		{"set-src in response rules", httpFE("  http-response set-src src #ERR"), []string{"'http-response set-src': this action is not available in http-response rules"}},
		{"set-dst in after-response rules", httpFE("  http-after-response set-dst dst #ERR"), []string{"not available in http-after-response rules"}},
		{"silent-drop with an argument", httpFE("  http-request silent-drop now #ERR"), []string{"'http-request silent-drop' expects no argument"}},
		{"silent-drop in after-response rules", httpFE("  http-after-response silent-drop #ERR"), []string{"not available in http-after-response rules"}},
		{"bad log level", httpFE("  http-request set-log-level loud #ERR"), []string{"unknown level 'loud'"}},
		{"set-timeout of the client", httpFE("  http-request set-timeout client 5s #ERR"), []string{"'client' is not a timeout this action sets"}},
		{"set-timeout without a value", httpFE("  http-request set-timeout server #ERR"), []string{"expects 'server' or 'tunnel', then a time"}},
		{"stick table action", httpFE("  http-request track-sc0 src #ERR"), []string{"comes with stick tables"}},
		{"request-only action in response", httpFE("  http-response set-path /x #ERR"), []string{"not available in http-response rules"}},
		{"response redirect with a prefix", httpFE("  http-response redirect prefix https://b.example #ERR"),
			[]string{"'http-response redirect': a response is redirected with 'location' only, as in HAProxy (found 'prefix')"}},
		{"response redirect with a scheme", httpFE("  http-response redirect code 301 scheme https if { status 404 } #ERR"),
			[]string{"(found 'scheme')"}},
		{"strict-mode without a value", httpFE("  http-request strict-mode #ERR"), []string{"'http-request strict-mode' expects 'on' or 'off'"}},
		{"strict-mode with a condition only", httpFE("  http-response strict-mode if { status 200 } #ERR"), []string{"'http-response strict-mode' expects 'on' or 'off'"}},
		{"strict-mode with a bad value", httpFE("  http-after-response strict-mode soft #ERR"),
			[]string{"'http-after-response strict-mode': unexpected value 'soft' (only 'on' and 'off' are supported)"}},
		{"strict-mode with two values", httpFE("  http-request strict-mode on off #ERR"), []string{"'http-request strict-mode' expects 'on' or 'off'"}},
		{"wait-for-body without a time", httpFE("  http-request wait-for-body #ERR"),
			[]string{"'http-request wait-for-body' expects 'time TIME', then optionally 'at-least SIZE'"}},
		{"wait-for-body with at-least only", httpFE("  http-request wait-for-body at-least 1k if { method POST } #ERR"),
			[]string{"'http-request wait-for-body' expects 'time TIME'"}},
		{"wait-for-body time without a value", httpFE("  http-response wait-for-body time #ERR"),
			[]string{"'http-response wait-for-body': missing argument for 'time'"}},
		{"wait-for-body with a bad time", httpFE("  http-request wait-for-body time 1sec #ERR"),
			[]string{"'http-request wait-for-body': invalid time value '1sec'"}},
		{"wait-for-body with too long a time", httpFE("  http-request wait-for-body time 25d #ERR"),
			[]string{"'time 25d' is too large (at most 2147483647 ms"}},
		{"wait-for-body under a millisecond", httpFE("  http-request wait-for-body time 10us #ERR"),
			[]string{"'time 10us' is less than 1 ms"}},
		{"wait-for-body with a bad size", httpFE("  http-request wait-for-body time 1s at-least 1x #ERR"),
			[]string{"'http-request wait-for-body': invalid at-least '1x'"}},
		{"wait-for-body with another word", httpFE("  http-request wait-for-body time 1s max 3 #ERR"),
			[]string{"'http-request wait-for-body': unexpected 'max' (expects 'time TIME', then optionally 'at-least SIZE')"}},
		{"wait-for-body after the response", httpFE("  http-after-response wait-for-body time 1s #ERR"),
			[]string{"this action is not available in http-after-response rules"}},
		{"redirect after the response", httpFE("  http-after-response redirect location / #ERR"),
			[]string{"'http-after-response redirect': this action is not available in http-after-response rules"}},
		{"missing value", httpFE("  http-request set-header X-A #ERR"), []string{"expects a header name and a value"}},
		{"bad header name", httpFE("  http-request set-header X:A b #ERR"), []string{"invalid header name 'X:A'"}},
		{"bad regex", httpFE("  http-request replace-path ( x #ERR"), []string{"invalid regular expression '('"}},
		{"bad expression in value", httpFE("  http-request set-header X %[nope] #ERR"), []string{"unknown sample fetch 'nope'"}},
		{"log-format alias", httpFE("  http-request set-header X %ci #ERR"), []string{"the alias '%ci' is not available in actions yet"}},
		{"unclosed expression", httpFE("  http-request set-header X %[src #ERR"), []string{"missing ']'"}},
		{"bad variable", httpFE("  http-request set-var(foo) src #ERR"), []string{"invalid variable name 'foo'"}},
		{"bad scope", httpFE("  http-request set-var(glob.x) src #ERR"), []string{"invalid variable scope 'glob'"}},
		{"deny status", httpFE("  http-request deny deny_status 700 #ERR"), []string{"'700' is not a status code"}},
		{"return body without type", httpFE("  http-request return string hi #ERR"), []string{"a body needs a 'content-type'"}},
		{"return file missing", httpFE("  http-request return content-type text/html file /nonexistent/x.html #ERR"), []string{"cannot read file '/nonexistent/x.html'"}},
		{"response read in request", httpFE("  http-request deny if { status 500 } #ERR"), []string{"reads the response"}},
		{"rules in tcp mode", tcpFE("  http-request deny #ERR"), []string{"'http-request' rules need 'mode http'"}},
		{"rules in anonymous defaults", lines("defaults", "  http-request deny #ERR") + okTail, []string{"'http-request' is not allowed in an anonymous 'defaults' section"}},
		{"bad condition", httpFE("  http-request deny when x #ERR"), []string{"unexpected 'when'"}},
		{"deny_status in return", httpFE("  http-request return deny_status 403 #ERR"), []string{"unexpected 'deny_status' (the status is set with 'status')"}},
		{"errorfile with a type", httpFE("  http-request deny errorfile /dev/null content-type text/plain #ERR"), []string{"'errorfile' is a whole response"}},
		{"two bodies", httpFE("  http-request return default-errorfiles string x #ERR"), []string{"'string' after 'default-errorfiles'"}},
		{"default-errorfiles without a page", httpFE("  http-request return status 202 default-errorfiles #ERR"), []string{"needs a status with an error page"}},
		{"errorfiles of no section", httpFE("  http-request deny errorfiles nope #ERR"), []string{"no http-errors section is named 'nope'"}},
		{"normalize-uri without a normalizer", httpFE("  http-request normalize-uri #ERR"),
			[]string{"'http-request normalize-uri' expects a normalizer (fragment-encode, fragment-strip, path-merge-slashes, path-strip-dot, path-strip-dotdot [full], percent-decode-unreserved [strict], percent-to-uppercase [strict], query-sort-by-name)"}},
		{"normalize-uri without a normalizer, with a condition", httpFE("  http-request normalize-uri if { path_beg /a } #ERR"),
			[]string{"'http-request normalize-uri' expects a normalizer"}},
		{"unknown normalizer", httpFE("  http-request normalize-uri path-merge #ERR"),
			[]string{"'http-request normalize-uri': unknown normalizer 'path-merge' (valid: fragment-encode, ", "query-sort-by-name)"}},
		{"normalizer option of another", httpFE("  http-request normalize-uri path-strip-dotdot strict #ERR"),
			[]string{"'http-request normalize-uri path-strip-dotdot': unknown argument 'strict' (expects 'full' or nothing)"}},
		{"percent normalizer option", httpFE("  http-request normalize-uri percent-to-uppercase full #ERR"),
			[]string{"'http-request normalize-uri percent-to-uppercase': unknown argument 'full' (expects 'strict' or nothing)"}},
		{"normalizer without options", httpFE("  http-request normalize-uri fragment-strip full #ERR"),
			[]string{"'http-request normalize-uri fragment-strip': unexpected 'full' (this normalizer takes no option)"}},
		{"normalizer option twice", httpFE("  http-request normalize-uri percent-decode-unreserved strict strict #ERR"),
			[]string{"'http-request normalize-uri percent-decode-unreserved': unexpected 'strict' after 'strict'"}},
		{"normalize-uri in response", httpFE("  http-response normalize-uri path-strip-dot #ERR"),
			[]string{"'http-response normalize-uri': this action is not available in http-response rules"}},
	})
}

// normalize-uri: each normalizer and its option, with or without a
// condition (HAProxy 2.6 parses "path-strip-dotdot if ..." as
// path-merge-slashes; fjord as written), and without HAProxy's
// expose-experimental-directives, which is accepted with a notice.
func TestNormalizeURIParse(t *testing.T) {
	cfg := mustParse(t, lines("global", "  expose-experimental-directives")+httpFE(
		"  http-request normalize-uri fragment-encode",
		"  http-request normalize-uri fragment-strip",
		"  http-request normalize-uri path-merge-slashes",
		"  http-request normalize-uri path-strip-dot",
		"  http-request normalize-uri path-strip-dotdot",
		"  http-request normalize-uri path-strip-dotdot full",
		"  http-request normalize-uri path-strip-dotdot if { path_beg /a }",
		"  http-request normalize-uri percent-decode-unreserved",
		"  http-request normalize-uri percent-decode-unreserved strict unless { path_beg /a }",
		"  http-request normalize-uri percent-to-uppercase",
		"  http-request normalize-uri percent-to-uppercase strict",
		"  http-request normalize-uri query-sort-by-name",
	))
	want := []NormalizeURI{
		{Normalizer: NormFragmentEncode},
		{Normalizer: NormFragmentStrip},
		{Normalizer: NormPathMergeSlashes},
		{Normalizer: NormPathStripDot},
		{Normalizer: NormPathStripDotdot},
		{Normalizer: NormPathStripDotdot, Full: true},
		{Normalizer: NormPathStripDotdot},
		{Normalizer: NormPercentDecodeUnreserved},
		{Normalizer: NormPercentDecodeUnreserved, Strict: true},
		{Normalizer: NormPercentToUppercase},
		{Normalizer: NormPercentToUppercase, Strict: true},
		{Normalizer: NormQuerySortByName},
	}
	rs := proxy(t, cfg, "frontend", "fe").HTTPRequest
	if len(rs) != len(want) {
		t.Fatalf("%d rules, want %d", len(rs), len(want))
	}
	for i, r := range rs {
		if r.Action != ActNormalizeURI || r.Normalize != want[i] {
			t.Errorf("rule %d: %v %+v, want normalize-uri %+v", i, r.Action, r.Normalize, want[i])
		}
		if hasCond := i == 6 || i == 8; (r.Cond != nil) != hasCond {
			t.Errorf("rule %d: condition %v", i, r.Cond)
		}
	}
	if d := diags(cfg, "'expose-experimental-directives' is accepted and changes nothing"); len(d) != 1 || d[0].Severity != Notice {
		t.Errorf("expose-experimental-directives: %v", d)
	}
}

func TestHTTPRulesParse(t *testing.T) {
	cfg := mustParse(t, httpFE(
		"  http-request set-header X-Forwarded-Proto https if { ssl_fc }",
		"  http-request set-var(txn.host) req.hdr(host,1)",
		"  http-request redirect scheme https code 301 unless { ssl_fc }",
		"  http-request return status 200 content-type text/plain string ok hdr X-A %[src] if { path /health }",
		"  http-response set-status 503 reason Down if { status 500 }",
		"  http-response redirect location https://b.example/moved code 308 set-cookie MOVED=1 if { status 404 }",
	))
	fe := proxy(t, cfg, "frontend", "fe")
	if len(fe.HTTPRequest) != 4 || len(fe.HTTPResponse) != 2 {
		t.Fatalf("rules %d/%d", len(fe.HTTPRequest), len(fe.HTTPResponse))
	}
	r := fe.HTTPRequest
	if r[0].Action != ActSetHeader || r[0].Name != "X-Forwarded-Proto" || !r[0].Value.Constant() || r[0].Cond == nil {
		t.Errorf("set-header %+v", r[0])
	}
	if r[1].Action != ActSetVar || r[1].Var.Name.String() != "txn.host" || r[1].Var.Expr.Fetch.Args[1].Int != 1 {
		t.Errorf("set-var %+v", r[1])
	}
	if r[2].Action != ActRedirect || r[2].Redirect.Code != 301 || r[2].Cond == nil || !r[2].Cond.Unless {
		t.Errorf("redirect %+v", r[2])
	}
	if r[3].Action != ActReturn || r[3].Body != "ok" || len(r[3].Headers) != 1 || r[3].Headers[0].Value.Constant() {
		t.Errorf("return %+v", r[3])
	}
	if rr := fe.HTTPResponse[0]; rr.Status != 503 || rr.Reason != "Down" {
		t.Errorf("set-status %+v", rr)
	}
	if rr := fe.HTTPResponse[1]; rr.Action != ActRedirect || rr.Redirect.Kind != RedirectLocation || rr.Redirect.Code != 308 ||
		rr.Redirect.Target != "https://b.example/moved" || rr.Redirect.SetCookie() != "MOVED=1; path=/;" || rr.Cond == nil || rr.Redirect.Cond != nil {
		t.Errorf("response redirect %+v", rr)
	}
}

// wait-for-body takes a time and optionally a size, in any order, the
// last of each winning, in request and response rules.
func TestWaitForBodyParse(t *testing.T) {
	cfg := mustParse(t, httpFE(
		"  http-request wait-for-body time 100ms if { path /a }",
		"  http-request wait-for-body at-least 1k time 2s",
		"  http-request wait-for-body time 1s time 0 at-least 10",
		"  http-response wait-for-body time 100 at-least 1000 if { status eq 201 }",
	))
	fe := proxy(t, cfg, "frontend", "fe")
	for _, tc := range []struct {
		r       *HTTPRule
		time    time.Duration
		atLeast int
		cond    bool
	}{
		{fe.HTTPRequest[0], 100 * time.Millisecond, 0, true},
		{fe.HTTPRequest[1], 2 * time.Second, 1024, false},
		{fe.HTTPRequest[2], 0, 10, false},
		{fe.HTTPResponse[0], 100 * time.Millisecond, 1000, true},
	} {
		if tc.r.Action != ActWaitForBody || tc.r.Timeout != tc.time || tc.r.AtLeast != tc.atLeast || (tc.r.Cond != nil) != tc.cond {
			t.Errorf("%s: %+v", tc.r.Pos, tc.r)
		}
	}
}

// req.body reads what option http-buffer-request or a wait-for-body
// rule before it waited for; without either, HAProxy's warning.
func TestReqBodyWarning(t *testing.T) {
	const warning = "req.body reads nothing without 'option http-buffer-request' or a 'wait-for-body' rule before it"
	for _, tc := range []struct {
		lines []string
		warns bool
	}{
		{[]string{"  http-request deny if { req.body -m found }"}, true},
		{[]string{"  option http-buffer-request", "  http-request deny if { req.body -m found }"}, false},
		{[]string{"  http-request wait-for-body time 1s", "  http-request deny if { req.body -m found }"}, false},
		{[]string{"  http-request deny if { req.body -m found }", "  http-request wait-for-body time 1s"}, true},
	} {
		cfg := mustParse(t, httpFE(tc.lines...))
		if got := len(diags(cfg, warning)) > 0; got != tc.warns {
			t.Errorf("%q: warned %v, want %v (%v)", tc.lines, got, tc.warns, cfg.Diagnostics)
		}
	}
}

// strict-mode takes on or off, in any case, in the three rule sets.
func TestStrictModeParse(t *testing.T) {
	cfg := mustParse(t, httpFE(
		"  http-request strict-mode off",
		"  http-request strict-mode ON if { path /a }",
		"  http-response strict-mode Off",
		"  http-after-response strict-mode on",
	))
	fe := proxy(t, cfg, "frontend", "fe")
	for _, tc := range []struct {
		r      *HTTPRule
		strict bool
	}{{fe.HTTPRequest[0], false}, {fe.HTTPRequest[1], true}, {fe.HTTPResponse[0], false}, {fe.HTTPAfterResponse[0], true}} {
		if tc.r.Action != ActStrictMode || tc.r.Strict != tc.strict {
			t.Errorf("%s: %+v, want strict %v", tc.r.Pos, tc.r, tc.strict)
		}
	}
	if fe.HTTPRequest[1].Cond == nil {
		t.Errorf("condition lost")
	}
}

// Each action's name reads back as that action.
func TestHTTPActionNames(t *testing.T) {
	for i, n := range httpActionNames {
		if HTTPAction(i).String() != n {
			t.Errorf("action %d is %q, named %q", i, HTTPAction(i), n)
		}
	}
	for _, tc := range []struct {
		line string
		want HTTPAction
	}{
		{"  http-request normalize-uri path-merge-slashes", ActNormalizeURI},
		{"  http-request capture path len 8", ActCapture},
		{"  http-request set-timeout server 1s", ActSetTimeout},
		{"  http-request early-hint link x", ActEarlyHint},
		{"  http-request tarpit", ActTarpit},
	} {
		cfg := mustParse(t, httpFE(tc.line))
		if got := proxy(t, cfg, "frontend", "fe").HTTPRequest[0].Action; got != tc.want {
			t.Errorf("%s: action %v, want %v", tc.line, got, tc.want)
		}
	}
}
