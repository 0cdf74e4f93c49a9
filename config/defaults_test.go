package config

import (
	"strings"
	"testing"
	"time"
)

// ruleLines returns the lines of rules, for comparing rule order.
func ruleLines[R interface{ *HTTPRule | *TCPRule }](rs []R) []int {
	out := make([]int, 0, len(rs))
	for _, r := range rs {
		switch r := any(r).(type) {
		case *HTTPRule:
			out = append(out, r.Pos.Line)
		case *TCPRule:
			out = append(out, r.Pos.Line)
		}
	}
	return out
}

func sameLines(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A proxy without 'from' starts from the last defaults section read,
// named or not; 'from' picks one above it; a defaults section with 'from'
// starts from the one it names instead of the built-in settings.
func TestNamedDefaultsSettings(t *testing.T) {
	cfg := mustParse(t, lines(
		"defaults a",
		"  mode http",
		"  timeout client 11s",
		"defaults b",
		"  timeout client 22s",
		"defaults c from a",
		"  timeout server 33s",
		"defaults from a",
		"  retries 7",
		"frontend implicit",
		"  bind 127.0.0.1:8000",
		"  default_backend be",
		"frontend fa from a",
		"  bind 127.0.0.1:8001",
		"  default_backend be",
		"frontend fb from b",
		"  bind 127.0.0.1:8002",
		"  default_backend beb",
		"backend be from c",
		"backend beb from b",
	))
	for _, tc := range []struct {
		section, name string
		mode          Mode
		client        time.Duration
		server        time.Duration
		retries       int
	}{
		// The last defaults ("defaults from a") is a's copy plus retries.
		{"frontend", "implicit", ModeHTTP, 11 * time.Second, 0, 7},
		{"frontend", "fa", ModeHTTP, 11 * time.Second, 0, 3},
		// b starts from the built-in settings: mode tcp.
		{"frontend", "fb", ModeTCP, 22 * time.Second, 0, 3},
		{"backend", "be", ModeHTTP, 11 * time.Second, 33 * time.Second, 3},
	} {
		px := proxy(t, cfg, tc.section, tc.name)
		if px.Mode != tc.mode || px.Timeouts.Client != tc.client || px.Timeouts.Server != tc.server || px.Retries != tc.retries {
			t.Errorf("%s: mode %v client %v server %v retries %d, want %v %v %v %d", px, px.Mode, px.Timeouts.Client,
				px.Timeouts.Server, px.Retries, tc.mode, tc.client, tc.server, tc.retries)
		}
	}
}

// HAProxy keeps several defaults sections of one name; only a 'from'
// naming such a name is refused. "defaults a from a" starts from the
// earlier a, and "defaults from" is a section named "from".
func TestDuplicateDefaultsNames(t *testing.T) {
	cfg := mustParse(t, lines(
		"defaults a",
		"  timeout client 5s",
		"defaults a from a",
		"  timeout server 6s",
		"defaults from",
		"  timeout connect 7s",
		"frontend fe from from",
		"  bind 127.0.0.1:8000",
		"  default_backend be",
		"backend be",
	))
	be := proxy(t, cfg, "backend", "be")
	if be.Timeouts.Connect != 7*time.Second || be.Timeouts.Client != 0 {
		t.Errorf("be: connect %v client %v, want the section named 'from' alone", be.Timeouts.Connect, be.Timeouts.Client)
	}
	cfg = mustParse(t, lines(
		"defaults a",
		"  timeout client 5s",
		"defaults a from a",
		"  timeout server 6s",
		"listen l",
		"  bind 127.0.0.1:8000",
	))
	l := proxy(t, cfg, "listen", "l")
	if l.Timeouts.Client != 5*time.Second || l.Timeouts.Server != 6*time.Second {
		t.Errorf("listen: client %v server %v, want the second a, started from the first", l.Timeouts.Client, l.Timeouts.Server)
	}
}

// A defaults section's rules head the lists of each proxy using it, in
// order, and its capture slots come before the frontend's own; two users
// never share the arrays they append to.
func TestDefaultsRulesHeadTheProxys(t *testing.T) {
	text := lines(
		"defaults common",
		"  mode http",
		"defaults fe_rules from common",
		"  tcp-request connection accept",
		"  tcp-request session accept",
		"  tcp-request inspect-delay 5s",
		"  tcp-request content set-var(txn.a) str(d)",
		"  acl is_x path /x",
		"  http-request capture hdr(host) len 10",
		"  http-request deny if is_x",
		"  http-response set-header x-d 1",
		"  http-after-response set-header x-d 2",
		"defaults be_rules from common",
		"  tcp-request content accept",
		"  tcp-response content set-var(txn.b) str(d)",
		"  tcp-response content accept",
		"  http-request set-header x-be d",
		"frontend fe1 from fe_rules",
		"  bind 127.0.0.1:8000",
		"  declare capture request len 5",
		"  tcp-request connection reject",
		"  http-request set-header x-own 1",
		"  default_backend be",
		"frontend fe2 from fe_rules",
		"  bind 127.0.0.1:8001",
		"  http-request set-header x-own 2",
		"  default_backend be",
		"backend be from be_rules",
		"  tcp-response content reject",
		"  http-request set-header x-be own",
		"  server s 127.0.0.1:9000",
	)
	cfg := mustParse(t, text)
	l := func(s string) int { return lineOf(t, text, s) }
	fe1, fe2, be := proxy(t, cfg, "frontend", "fe1"), proxy(t, cfg, "frontend", "fe2"), proxy(t, cfg, "backend", "be")
	for _, tc := range []struct {
		what      string
		got, want []int
	}{
		{"fe1 connection", ruleLines(fe1.TCPConnection), []int{l("connection accept"), l("connection reject")}},
		{"fe1 session", ruleLines(fe1.TCPSession), []int{l("session accept")}},
		{"fe1 content", ruleLines(fe1.TCPContent), []int{l("set-var(txn.a)")}},
		{"fe1 http-request", ruleLines(fe1.HTTPRequest), []int{l("capture hdr(host)"), l("deny if is_x"), l("x-own 1")}},
		{"fe2 http-request", ruleLines(fe2.HTTPRequest), []int{l("capture hdr(host)"), l("deny if is_x"), l("x-own 2")}},
		{"fe1 http-response", ruleLines(fe1.HTTPResponse), []int{l("x-d 1")}},
		{"fe1 http-after-response", ruleLines(fe1.HTTPAfterResponse), []int{l("x-d 2")}},
		{"be content", ruleLines(be.TCPContent), []int{l("  tcp-request content accept")}},
		{"be response", ruleLines(be.TCPResponse), []int{l("set-var(txn.b)"), l("tcp-response content accept"), l("tcp-response content reject")}},
		{"be http-request", ruleLines(be.HTTPRequest), []int{l("x-be d"), l("x-be own")}},
	} {
		if !sameLines(tc.got, tc.want) {
			t.Errorf("%s: rules at lines %v, want %v", tc.what, tc.got, tc.want)
		}
	}
	if fe1.InspectDelay != 5*time.Second {
		t.Errorf("fe1: inspect-delay %v, want the defaults' 5s", fe1.InspectDelay)
	}
	if len(fe1.CaptureRequest) != 2 || fe1.CaptureRequest[0].Len != 10 || fe1.CaptureRequest[1].Len != 5 {
		t.Errorf("fe1 captures %+v, want the defaults' slot 0, then its own", fe1.CaptureRequest)
	}
	if len(fe2.CaptureRequest) != 1 || fe1.HTTPRequest[0].CaptureSlot != 0 {
		t.Errorf("fe2 captures %+v", fe2.CaptureRequest)
	}
	// The ACL is the defaults section's, resolved there.
	if c := fe1.HTTPRequest[1].Cond; c == nil || c.Or[0][0].ACL.Name != "is_x" {
		t.Errorf("deny if is_x: condition %+v", c)
	}
	if len(fe1.ACLs) != 0 {
		t.Errorf("fe1 holds the defaults' ACLs: %+v", fe1.ACLs)
	}
}

// The rules of a defaults section never reach a proxy in mode tcp, where
// HAProxy runs no HTTP analyser: they are dropped with a warning, while
// the proxy's own http rules there stay an error.
func TestInheritedHTTPRulesInModeTCP(t *testing.T) {
	cfg := mustParse(t, lines(
		"defaults d",
		"  mode http",
		"  http-request set-header x 1",
		"  tcp-request content accept",
		"frontend fe from d",
		"  mode tcp",
		"  bind 127.0.0.1:8000",
		"  default_backend be",
		"defaults plain",
		"backend be",
	))
	fe := proxy(t, cfg, "frontend", "fe")
	if len(fe.HTTPRequest) != 0 || len(fe.TCPContent) != 1 {
		t.Errorf("fe: http-request %d, tcp-request content %d; want 0 and 1", len(fe.HTTPRequest), len(fe.TCPContent))
	}
	if ds := diags(cfg, "the http rules of defaults 'd' (at test.cfg:1) do not apply"); len(ds) != 1 || ds[0].Severity != Warning || ds[0].Pos != at(5) {
		t.Errorf("warnings %v", cfg.Diagnostics)
	}
}

// An ACL of a defaults section serves the section's rules, not the
// proxies': HAProxy copies no ACL from defaults.
func TestDefaultsACLsStayThere(t *testing.T) {
	checkErrors(t, NoResolver, errCase{"defaults acl used by a proxy", lines(
		"defaults d",
		"  mode http",
		"  acl is_x path /x",
		"frontend fe from d",
		"  bind 127.0.0.1:8000",
		"  http-request deny if is_x #ERR",
		"  default_backend be",
		"backend be",
	), []string{"undefined ACL 'is_x'"}})
}

// Using a defaults section by name and as the last one read draws
// HAProxy's warning, once both have happened.
func TestMixedDefaultsUseWarns(t *testing.T) {
	text := lines(
		"defaults d",
		"frontend f1 from d",
		"  bind 127.0.0.1:8000",
		"  default_backend be",
		"backend be",
	)
	cfg := mustParse(t, text)
	ds := diags(cfg, "is explicitly referenced by another proxy and implicitly used here")
	if len(ds) != 1 || ds[0].Pos != at(5) || ds[0].Severity != Warning || !strings.Contains(ds[0].Msg, "defaults section 'd' (declared at test.cfg:1)") {
		t.Errorf("warnings %v, want one on the backend's line", cfg.Diagnostics)
	}
	cfg = mustParse(t, lines("defaults d", "defaults e", "frontend f1 from d", "  bind 127.0.0.1:8000", "  default_backend be", "backend be"))
	if ds := diags(cfg, "implicitly used here"); len(ds) != 0 {
		t.Errorf("a last section used only implicitly warned: %v", ds)
	}
}

func TestNamedDefaultsErrors(t *testing.T) {
	fe := func(header string) string {
		return lines(header, "  bind 127.0.0.1:8000", "  default_backend be")
	}
	// be starts from a defaults section of its own, so that it never
	// inherits the rules of the cases' sections.
	be := lines("defaults plain", "backend be")
	beHTTP := lines("defaults plain", "  mode http", "backend be")
	runErrorCases(t, NoResolver, []errCase{
		// What 'from' names.
		{"from an unknown section", lines("defaults a") + fe("frontend fe from nope #ERR") + be,
			[]string{"defaults section 'nope' not found for frontend 'fe'"}},
		{"from a later section", fe("frontend fe from later #ERR") + be + lines("defaults later"),
			[]string{"defaults section 'later' not found for frontend 'fe': the one at test.cfg:6 comes later", "declared above it"}},
		{"from a proxy", fe("frontend fe") + lines("backend be", "backend b2 from be #ERR"),
			[]string{"defaults section 'be' not found for backend 'b2'"}},
		{"defaults from itself", lines("defaults a from a #ERR") + fe("frontend fe") + be,
			[]string{"defaults section 'a' cannot inherit from itself"}},
		{"defaults from an unknown section", lines("defaults a from b #ERR") + fe("frontend fe") + be,
			[]string{"defaults section 'b' not found for defaults 'a'"}},
		{"anonymous defaults from an unknown section", lines("defaults from b #ERR") + fe("frontend fe") + be,
			[]string{"defaults section 'b' not found for defaults"}},
		{"ambiguous name", lines("defaults a", "defaults a") + fe("frontend fe from a #ERR") + be,
			[]string{"ambiguous defaults section name 'a' referenced by frontend 'fe'", "test.cfg:1 and test.cfg:2"}},
		{"name with a bad character", lines("defaults a/b") + fe("frontend fe from a/b #ERR") + be,
			[]string{"character '/' is not permitted in defaults section name 'a/b' when designated by its name (section found at test.cfg:1)"}},
		// The header lines.
		{"from without a name", lines("defaults a") + fe("frontend fe from #ERR") + be,
			[]string{"'frontend fe from' expects the name of a defaults section"}},
		{"from with an extra word", lines("defaults a") + fe("frontend fe from a b #ERR") + be,
			[]string{"'frontend fe from a': unexpected argument 'b'"}},
		{"backend with an extra word", fe("frontend fe") + lines("backend be x #ERR"),
			[]string{"'backend be': unexpected argument 'x' (expected 'from DEFAULTS')"}},
		{"defaults from without a name", lines("defaults a from #ERR") + fe("frontend fe") + be,
			[]string{"'defaults a from' expects the name of a defaults section"}},
		{"defaults with three words", lines("defaults a", "defaults b from a c #ERR") + fe("frontend fe") + be,
			[]string{"'defaults b from a': unexpected argument 'c'"}},

		// Rules in an anonymous defaults section, as HAProxy refuses them.
		{"anonymous http-request", lines("defaults", "  http-request deny #ERR") + fe("frontend fe") + be,
			[]string{"'http-request' is not allowed in an anonymous 'defaults' section"}},
		{"anonymous http-response", lines("defaults", "  http-response deny #ERR") + fe("frontend fe") + be,
			[]string{"'http-response' is not allowed in an anonymous 'defaults' section"}},
		{"anonymous http-after-response", lines("defaults", "  http-after-response set-status 200 #ERR") + fe("frontend fe") + be,
			[]string{"'http-after-response' is not allowed in an anonymous 'defaults' section"}},
		{"anonymous tcp-request connection", lines("defaults", "  tcp-request connection accept #ERR") + fe("frontend fe") + be,
			[]string{"'tcp-request connection' is not allowed in an anonymous 'defaults' section"}},
		{"anonymous tcp-request session", lines("defaults", "  tcp-request session accept #ERR") + fe("frontend fe") + be,
			[]string{"'tcp-request session' is not allowed in an anonymous 'defaults' section"}},
		{"anonymous tcp-request inspect-delay", lines("defaults", "  tcp-request inspect-delay 5s #ERR") + fe("frontend fe") + be,
			[]string{"'tcp-request inspect-delay' is not allowed in an anonymous 'defaults' section"}},
		{"anonymous tcp-response", lines("defaults", "  tcp-response inspect-delay 5s #ERR", "  tcp-response content accept #ERR") + fe("frontend fe") + be,
			[]string{"is not allowed in an anonymous 'defaults' section"}},
		{"anonymous acl", lines("defaults", "  acl a path / #ERR") + fe("frontend fe") + be,
			[]string{"'acl' is not allowed in an anonymous 'defaults' section"}},
		{"anonymous from a named", lines("defaults a", "defaults from a", "  http-request deny #ERR") + fe("frontend fe") + be,
			[]string{"'http-request' is not allowed in an anonymous 'defaults' section"}},

		// Who may inherit rules.
		{"defaults from rules", lines("defaults r", "  tcp-response content accept", "defaults from r #ERR") + fe("frontend fe") + be,
			[]string{"a defaults section cannot inherit from a defaults section defining TCP/HTTP rules (defaults 'r' at test.cfg:1)"}},
		{"listen from rules", lines("defaults r", "  tcp-request content accept", "listen li from r #ERR", "  bind 127.0.0.1:8000", "  server s 127.0.0.1:80"),
			[]string{"a listen section cannot inherit from a defaults section defining TCP/HTTP rules (defaults 'r' at test.cfg:1)"}},
		{"frontend and backend from rules", lines("defaults r", "  tcp-request content accept") + fe("frontend fe from r") + lines("backend be from r #ERR"),
			[]string{"frontends and backends cannot inherit from the same defaults section if it defines TCP/HTTP rules", "already inherited by frontend 'fe' at test.cfg:3"}},
		{"backend then frontend from rules", lines("defaults r", "  http-request deny") + lines("backend be from r") + fe("frontend fe from r #ERR"),
			[]string{"frontends and backends cannot inherit from the same defaults section", "already inherited by backend 'be' at test.cfg:3"}},
		{"frontend and backend using rules implicitly", lines("defaults r", "  tcp-request content accept") + fe("frontend fe") + lines("backend be #ERR"),
			[]string{"frontends and backends cannot inherit from the same defaults section"}},
		{"backend from connection rules", lines("defaults r", "  tcp-request connection accept") + lines("backend be from r #ERR") + lines("defaults plain") + fe("frontend fe"),
			[]string{"a backend section cannot inherit from a defaults section defining 'tcp-request connection' or 'tcp-request session' rules"}},
		{"backend from session rules", lines("defaults r", "  tcp-request session accept") + lines("backend be from r #ERR") + lines("defaults plain") + fe("frontend fe"),
			[]string{"a backend section cannot inherit from a defaults section defining 'tcp-request connection' or 'tcp-request session' rules"}},
		{"frontend from response rules", lines("defaults r", "  tcp-response content accept") + fe("frontend fe from r #ERR") + be,
			[]string{"a frontend section cannot inherit from a defaults section defining 'tcp-response content' rules"}},
		{"backend from captures", lines("defaults r", "  mode http", "  http-request capture hdr(host) len 10", "backend be from r #ERR", "defaults plain", "  mode http") + fe("frontend fe"),
			[]string{"backend or defaults sections cannot inherit from a defaults section defining captures"}},

		// The inherited rules are checked in each proxy that runs them.
		{"inherited rule reading the response", lines("defaults r", "  mode http", "  http-request deny if { res.hdr(y) -m found } #ERR") + fe("frontend fe from r") + beHTTP,
			[]string{"frontend 'fe': an 'http-request deny' rule reads the response"}},
	})
}
