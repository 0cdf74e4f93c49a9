package config

import "testing"

func TestHTTPRuleErrors(t *testing.T) {
	runErrorCases(t, testResolver(), []errCase{
		{"no action", httpFE("  http-request #ERR"), []string{"'http-request' expects an action", "set-header"}},
		{"unknown action", httpFE("  http-request set-headers X y #ERR"), []string{"unknown action 'set-headers'", "valid: allow, deny"}},
		{"action not built", httpFE("  http-request set-log-level silent #ERR"), []string{"'http-request set-log-level': this action is not supported by fjord yet"}},
		{"set-timeout of the client", httpFE("  http-request set-timeout client 5s #ERR"), []string{"'client' is not a timeout this action sets"}},
		{"set-timeout without a value", httpFE("  http-request set-timeout server #ERR"), []string{"expects 'server' or 'tunnel', then a time"}},
		{"stick table action", httpFE("  http-request track-sc0 src #ERR"), []string{"comes with stick tables"}},
		{"request-only action in response", httpFE("  http-response set-path /x #ERR"), []string{"not available in http-response rules"}},
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
		{"rules in defaults", lines("defaults", "  http-request deny #ERR") + okTail, []string{"'http-request' is not allowed in a 'defaults' section"}},
		{"bad condition", httpFE("  http-request deny when x #ERR"), []string{"unexpected 'when'"}},
	})
}

func TestHTTPRulesParse(t *testing.T) {
	cfg := mustParse(t, httpFE(
		"  http-request set-header X-Forwarded-Proto https if { ssl_fc }",
		"  http-request set-var(txn.host) req.hdr(host,1)",
		"  http-request redirect scheme https code 301 unless { ssl_fc }",
		"  http-request return status 200 content-type text/plain string ok hdr X-A %[src] if { path /health }",
		"  http-response set-status 503 reason Down if { status 500 }",
	))
	fe := proxy(t, cfg, "frontend", "fe")
	if len(fe.HTTPRequest) != 4 || len(fe.HTTPResponse) != 1 {
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
}
