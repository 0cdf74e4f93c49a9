package config

import (
	"testing"
)

// redirectFE is a mode-http frontend "fe" using backend "be" with the
// given rule on line 4.
func redirectFE(rule string) string {
	return httpFE("  " + rule)
}

func TestRedirect(t *testing.T) {
	type want struct {
		kind   RedirectKind
		target string
		code   int
		flags  RedirectFlags
		cookie string // SetCookie()
		cond   string // condString
	}
	tests := []struct {
		line string
		want want
	}{
		{"redirect location /", want{RedirectLocation, "/", 302, 0, "", "<nil>"}},
		{"redirect location http://mysite.com/ if !{ src 10.0.0.0/8 }", want{RedirectLocation, "http://mysite.com/", 302, 0, "", "if !{src 10.0.0.0/8}"}},
		{"redirect prefix https://mysite.com set-cookie SEEN=1 if !cookie_set", want{RedirectPrefix, "https://mysite.com", 302, 0, "SEEN=1; path=/;", "if !cookie_set"}},
		{"redirect prefix http://mysite.com drop-query if login_page !uid_given", want{RedirectPrefix, "http://mysite.com", 302, RedirectDropQuery, "", "if login_page !uid_given"}},
		{"redirect location / clear-cookie USERID= if logout", want{RedirectLocation, "/", 302, 0, "USERID=; path=/; Max-Age=0;", "if logout"}},
		{"redirect location / clear-cookie USERID", want{RedirectLocation, "/", 302, 0, "USERID; path=/; Max-Age=0;", "<nil>"}},
		{"redirect location / set-cookie SEEN", want{RedirectLocation, "/", 302, 0, "SEEN; path=/;", "<nil>"}},
		// HAProxy's own example: the words come in any order.
		{"redirect code 301 prefix / drop-query append-slash if missing_slash", want{RedirectPrefix, "/", 301, RedirectDropQuery | RedirectAppendSlash, "", "if missing_slash"}},
		{"redirect scheme https unless { hdr(x-forwarded-proto) https }", want{RedirectScheme, "https", 302, 0, "", "unless {hdr(x-forwarded-proto) https}"}},
		{"redirect scheme git+ssh code 308", want{RedirectScheme, "git+ssh", 308, 0, "", "<nil>"}},
		{"redirect location /a code 303 if logout || login_page", want{RedirectLocation, "/a", 303, 0, "", "if logout || login_page"}},
		{"redirect location /a code 307", want{RedirectLocation, "/a", 307, 0, "", "<nil>"}},
		{"redirect location /caf%C3%A9?q=%2f", want{RedirectLocation, "/caf%C3%A9?q=%2f", 302, 0, "", "<nil>"}},
		{"redirect location /a ignore-empty", want{RedirectLocation, "/a", 302, RedirectIgnoreEmpty, "", "<nil>"}},
	}
	for _, tc := range tests {
		t.Run(tc.line, func(t *testing.T) {
			cfg := mustParse(t, lines(
				"frontend fe",
				"  mode http",
				"  bind 127.0.0.1:8000",
				"  "+tc.line,
				"  acl cookie_set hdr_sub(cookie) SEEN=1",
				"  acl login_page path_beg /login",
				"  acl uid_given path_reg /login?userid=[^&]+",
				"  acl logout path_beg /logout",
				"  acl missing_slash path_reg ^/article/[^/]*$",
				"  default_backend be",
				"backend be",
				"  mode http",
			))
			fe := proxy(t, cfg, "frontend", "fe")
			if len(fe.Redirects) != 1 {
				t.Fatalf("redirects = %+v", fe.Redirects)
			}
			r, w := fe.Redirects[0], tc.want
			got := want{r.Kind, r.Target, r.Code, r.Flags, r.SetCookie(), condString(r.Cond)}
			if got != w || r.Pos != at(4) {
				t.Errorf("got %+v at %v, want %+v at %v", got, r.Pos, w, at(4))
			}
		})
	}
}

// Rules keep their order, a backend has its own, and a section started
// after them has none.
func TestRedirectsBelongToTheirSection(t *testing.T) {
	cfg := mustParse(t, lines(
		"frontend fe",
		"  mode http",
		"  bind 127.0.0.1:8000",
		"  redirect location /one if { path /1 }",
		"  redirect prefix /two",
		"  default_backend be",
		"backend be",
		"  mode http",
		"  redirect scheme https",
		"backend other",
		"  mode http",
	))
	fe, be, other := proxy(t, cfg, "frontend", "fe"), proxy(t, cfg, "backend", "be"), proxy(t, cfg, "backend", "other")
	if len(fe.Redirects) != 2 || fe.Redirects[0].Target != "/one" || fe.Redirects[1].Target != "/two" || fe.Redirects[1].Pos != at(5) {
		t.Errorf("frontend redirects = %+v", fe.Redirects)
	}
	if len(be.Redirects) != 1 || be.Redirects[0].Kind != RedirectScheme || len(other.Redirects) != 0 {
		t.Errorf("backend redirects = %+v, other = %+v", be.Redirects, other.Redirects)
	}
}

// What HAProxy accepts and fjord warns or notices about: a word that
// replaces an earlier one, options that change nothing, a rule written
// after use_backend.
func TestRedirectDiagnostics(t *testing.T) {
	for _, tc := range []struct {
		line string
		sev  Severity
		msg  string
		want func(r *Redirect) bool
	}{
		{"redirect location /a prefix /b", Warning, "'prefix /b' replaces 'location /a' given before it on the line, as in HAProxy: a rule has one target",
			func(r *Redirect) bool { return r.Kind == RedirectPrefix && r.Target == "/b" }},
		{"redirect code 301 location /a code 308", Warning, "'code 308' replaces 'code 301'",
			func(r *Redirect) bool { return r.Code == 308 }},
		{"redirect location /a set-cookie A=1 clear-cookie B", Warning, "'clear-cookie B' replaces 'set-cookie A=1'",
			func(r *Redirect) bool { return r.SetCookie() == "B; path=/; Max-Age=0;" }},
		{"redirect location /a drop-query", Notice, "'drop-query' changes nothing on a 'redirect location'",
			func(r *Redirect) bool { return r.Flags == RedirectDropQuery }},
		{"redirect location /a append-slash", Notice, "'append-slash' changes nothing on a 'redirect location'",
			func(r *Redirect) bool { return r.Flags == RedirectAppendSlash }},
		{"redirect prefix /a ignore-empty", Notice, "'ignore-empty' changes nothing here",
			func(r *Redirect) bool { return r.Flags == RedirectIgnoreEmpty }},
	} {
		t.Run(tc.line, func(t *testing.T) {
			cfg := mustParse(t, redirectFE(tc.line))
			ds := diags(cfg, tc.msg)
			if len(ds) != 1 || ds[0].Severity != tc.sev || ds[0].Pos != at(5) {
				t.Errorf("diagnostics = %v, want one %s %q at line 5", cfg.Diagnostics, tc.sev, tc.msg)
			}
			if r := proxy(t, cfg, "frontend", "fe").Redirects[0]; !tc.want(r) {
				t.Errorf("rule = %+v", r)
			}
		})
	}

	cfg := mustParse(t, lines(
		"frontend fe",
		"  mode http",
		"  bind 127.0.0.1:8000",
		"  use_backend be if { path /x }",
		"  redirect location /a",
		"  default_backend be",
		"backend be",
		"  mode http",
	))
	if ds := diags(cfg, "a 'redirect' rule placed after a 'use_backend' rule is still evaluated before every use_backend rule"); len(ds) != 1 || ds[0].Severity != Warning || ds[0].Pos != at(5) {
		t.Errorf("diagnostics = %v", cfg.Diagnostics)
	}
	// The options act on prefix and scheme redirects: nothing to say.
	for _, ok := range []string{"redirect scheme https drop-query append-slash", "redirect prefix / append-slash code 301"} {
		if cfg := mustParse(t, redirectFE(ok)); len(cfg.Diagnostics) != 0 {
			t.Errorf("%s: diagnostics %v", ok, cfg.Diagnostics)
		}
	}
}

func TestRedirectErrors(t *testing.T) {
	runErrorCases(t, NoResolver, []errCase{
		{"no kind", httpFE("  redirect #ERR"), []string{"'redirect' expects its kind and target"}},
		{"only options", httpFE("  redirect code 301 drop-query #ERR"), []string{"'redirect' expects its kind and target"}},
		{"only a condition", httpFE("  redirect if TRUE #ERR"), []string{"'redirect' expects its kind and target"}},
		{"unknown option", httpFE("  redirect location /a keep-query #ERR"), []string{"unknown option 'keep-query'"}},
		{"misspelt kind", httpFE("  redirect url /a #ERR"), []string{"unknown option 'url'"}},
		{"location without its argument", httpFE("  redirect location #ERR"), []string{"missing argument for 'location'"}},
		{"prefix with an empty argument", httpFE(`  redirect prefix "" #ERR`), []string{"missing argument for 'prefix'"}},
		{"scheme without its argument", httpFE("  redirect code 301 scheme #ERR"), []string{"missing argument for 'scheme'"}},
		{"code without a number", httpFE("  redirect location /a code #ERR"), []string{"missing argument for 'code'"}},
		{"code followed by if", httpFE("  redirect location /a code if TRUE #ERR"), []string{"'code' expects 301, 302, 303, 307 or 308, not 'if'"}},
		{"code not a number", httpFE("  redirect location /a code moved #ERR"), []string{"not 'moved'"}},
		{"code with a suffix", httpFE("  redirect location /a code 301x #ERR"), []string{"not '301x'"}},
		{"code 200", httpFE("  redirect location /a code 200 #ERR"), []string{"unsupported HTTP code '200' (must be one of 301, 302, 303, 307 or 308)"}},
		{"code 304", httpFE("  redirect location /a code 304 #ERR"), []string{"unsupported HTTP code '304'"}},
		{"code 3010", httpFE("  redirect location /a code 3010 #ERR"), []string{"not '3010'"}},
		{"set-cookie without its argument", httpFE("  redirect location /a set-cookie #ERR"), []string{"missing argument for 'set-cookie'"}},
		{"clear-cookie without its argument", httpFE("  redirect location /a clear-cookie #ERR"), []string{"missing argument for 'clear-cookie'"}},
		{"cookie without a name", httpFE("  redirect location /a set-cookie =1 #ERR"), []string{"'redirect set-cookie =1'", "the name is missing"}},
		{"cookie with a line break", httpFE(`  redirect location /a set-cookie "A=1\r\nX: y" #ERR`), []string{"'\\r'", "Set-Cookie"}},
		{"log-format in location", httpFE("  redirect location https://%[hdr(host)]/ #ERR"), []string{"'redirect location https://%[hdr(host)]/'", "log-format in redirect is not supported yet", "'%[hdr(host)]'", "%25"}},
		{"log-format variable in prefix", httpFE("  redirect prefix /%HU #ERR"), []string{"log-format in redirect is not supported yet", "'%HU'"}},
		{"bare percent", httpFE("  redirect location /100% #ERR"), []string{"'%' is not a %XX escape"}},
		{"log-format in scheme", httpFE("  redirect scheme %[req.hdr(x-proto)] #ERR"), []string{"log-format in redirect is not supported yet"}},
		{"space in location", httpFE(`  redirect location "/a b" #ERR`), []string{"' '", "Location"}},
		{"line break in location", httpFE(`  redirect location "/a\r\nSet-Cookie: x" #ERR`), []string{"'\\r'"}},
		{"scheme with its separator", httpFE("  redirect scheme https:// #ERR"), []string{"'redirect scheme https://': expects a URI scheme"}},
		{"scheme starting with a digit", httpFE("  redirect scheme 1http #ERR"), []string{"expects a URI scheme"}},
		{"condition without if", httpFE("  redirect location /a TRUE #ERR"), []string{"unknown option 'TRUE'"}},
		{"empty condition", httpFE("  redirect location /a if #ERR"), []string{"error in condition: missing condition after 'if'"}},
		{"bad anonymous ACL", httpFE("  redirect location /a if { nope x } #ERR"), []string{"error in condition", "unknown sample fetch 'nope'"}},
		{"undefined ACL", httpFE("  redirect location /a if is_old #ERR"), []string{"condition refers to undefined ACL 'is_old'"}},
		{"undefined ACL in a backend", lines("frontend fe", "  mode http", "  bind 127.0.0.1:8000", "  default_backend be",
			"backend be", "  mode http", "  redirect scheme https unless secure #ERR"), []string{"backend 'be': condition refers to undefined ACL 'secure'"}},
		{"in defaults", lines("defaults", "  mode http", "  redirect location / #ERR") + okTail, []string{"'redirect' is not allowed in a 'defaults' section (allowed in: frontend, backend, listen)"}},
		{"in global", lines("global", "  redirect location / #ERR") + okTail, []string{"'redirect' is not allowed in a 'global' section"}},
		{"in a mode tcp frontend", lines("frontend fe", "  bind 127.0.0.1:8000", "  redirect location / #ERR", "  default_backend be", "backend be"),
			[]string{"frontend 'fe' is in mode tcp: 'redirect' answers HTTP requests and needs 'mode http'"}},
		{"in a mode tcp backend", tcpBE("  redirect location / #ERR", "  redirect prefix /x if { src 10.0.0.0/8 } #ERR"), []string{"backend 'be' is in mode tcp"}},
		{"mode tcp after the rule", lines("listen l", "  mode http", "  bind 127.0.0.1:8000", "  redirect location / #ERR", "  mode tcp"), []string{"listen 'l' is in mode tcp"}},
	})
}
