package config

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fuzzSeedTemplatePath is the HAProxy 1.4 template of the seed article, as
// written (examples/seed-template.cfg).
const fuzzSeedTemplatePath = "../examples/seed-template.cfg"

// fuzzSeeds are small configurations that reach most keywords; the fuzzer
// mutates from them as well as from testdata/fuzz/FuzzParse.
var fuzzSeeds = []string{
	"",
	"frontend fe\n bind 127.0.0.1:8080\n default_backend be\nbackend be\n server s1 127.0.0.1:8081\n",
	"listen web\n mode http\n bind :8080-8082,[::1]:9000 accept-proxy backlog 10\n balance uri len 10 depth 2\n server a 127.0.0.1:+1 check inter 1s rise 1 fall 2\n server b 127.0.0.2 backup weight 0\n stats enable\n stats auth u:p\n stats refresh 5\n",
	"global\n tune.pipesize 1m\n log-anonymize hash 1h\n stats socket /run/fjord.sock mode 600 level admin\ndefaults\n mode http\n timeout connect 5s\n timeout client 1m\nfrontend f\n bind *:80\n acl a path_reg -i ^/x\n acl b hdr_dom(host) example.com\n use_backend b1 if a !b or { src 10.0.0.0/8 }\n default_backend b1\nbackend b1\n option httpchk GET /health\n http-check expect rstatus ^2\n server s 127.0.0.1:80 check\n",
	"frontend \"a b\"\n bind '*:80' # c\n\tdefault_backend \\x41\r\nbackend A\n",
	// Environment variables (FuzzParse's environment is testEnv) and
	// conditional blocks.
	"defaults\n timeout connect \"${HAPROXY_TEST_TIMEOUT-5s}\"\n timeout client \"${U-1m}\"\nfrontend \"fe${fe1}\"\n bind \"127.0.0.1:80${fe1}\" \"${BINDOPTS[*]}\"\n default_backend \"${.SECTION}_be\"\nbackend fe3_be\n server \"s${.LINE}\" \"127.0.0.${fe1}:${U-81}\"\n",
	".if version_atleast(2.5-dev0) && !feature(OPENSSL)\nfrontend fe\n bind 127.0.0.1:80\n.if defined(A)\n default_backend be\n.elif streq(\"$A\",x)\n.else\n.alert \"no A\"\n.endif\n.notice \"${.SECTION}\"\n.else\n.if 1\n.endif\n.endif\nbackend be\n.if\n.warning a b\n",
	"frontend f\n mode http\n bind :80\n acl a path_beg /a\n redirect prefix https://x.example set-cookie S=1 code 308 drop-query append-slash if a || !{ src 10.0.0.0/8 }\n redirect location /%2F clear-cookie S= unless TRUE\n redirect code 301 scheme https ignore-empty\n default_backend b\nbackend b\n mode http\n redirect scheme https if { hdr(host) -i x }\n",
	"global\n stats socket fd@5 level admin\n stats socket 127.0.0.1:9999\nfrontend f\n bind \"fd@3\",127.0.0.1:80 accept-proxy name x\n bind fd@4\n default_backend b\nbackend b\n",
	// An fcgi-app section, read and checked, with its private ACLs.
	"frontend f\n mode http\n bind :80\n default_backend b\nbackend b\n mode http\nfcgi-app php\n docroot /srv\n index index.php\n path-info ^(/.+\\.php)(/.*)?$\n acl p method POST\n set-param A %[src] if p\n pass-header x unless { src 10.0.0.0/8 }\n no option keep-conn\n option max-reqs 2\n log-stderr global\n",
	// TLS passthrough and the TLS criteria.
	"defaults tls\n tcp-request inspect-delay 5s\nfrontend pt\n bind :8443\n tcp-request connection reject if { src 192.0.2.0/24 }\n tcp-request content accept if { req.ssl_hello_type 1 }\n tcp-request content reject\n use_backend b if { req.ssl_sni -i a.example.com } || { req_ssl_ver 3.1:3.3 }\n default_backend b\nbackend b\n tcp-request content reject unless { ssl_fc }\nfrontend h\n mode http\n bind :80\n acl s ssl_fc_sni_end .example.com\n use_backend c if s { ssl_c_verify 0 } !{ ssl_c_used }\n default_backend c\nbackend c\n mode http\n",
	// TLS: the configuration, and the options around it.
	realisticTLSConfig,
	// Content inspection: payload fetches, FIX and MQTT, tcp-response.
	"frontend f\n bind :9878\n tcp-request inspect-delay 5s\n tcp-request content reject unless { req.payload(0,0),fix_is_valid }\n tcp-request content set-var(sess.s) req.payload(0,0),fix_tag_value(SenderCompID)\n use_backend m if { req.payload_lv(0,2,+1) -m bin 00 } || WAIT_END\n default_backend m\nbackend m\n tcp-response inspect-delay 1s\n tcp-response content reject unless { res.payload(0,0),mqtt_is_valid }\n tcp-response content set-var(res.rc) res.payload(0,0),mqtt_field_value(connack,reason_code)\n tcp-response content accept if { res.len gt 3 } { var(res.rc) -m str 0 }\n",
	// Error pages and the monitor URI.
	"http-errors site\n errorfile 503 testdata/errors/503.http\n errorfile 400 /dev/null\ndefaults\n mode http\n errorfile 400 testdata/errors/400-lf.http\n errorfiles site\n monitor-uri /alive\nfrontend f\n bind :80\n errorloc303 503 https://status.example/\n errorfiles site 400 503\n monitor fail if { src 10.0.0.0/8 } || down\n acl down hdr(x-down) 1\n default_backend b\nbackend b\n errorloc 502 /oops\n errorfile 504 testdata/errors/nope.http\n",
	"defaults common\n mode http\ndefaults fe_rules from common\n tcp-request content set-var(txn.a) str(x)\n acl x path /x\n http-request capture hdr(host) len 10\n http-request deny if x\n http-after-response set-header a b\ndefaults be_rules from common\n tcp-response content set-var(txn.b) str(y)\n http-response allow\ndefaults from be_rules\nfrontend fe from fe_rules\n bind :80\n declare capture request len 5\n default_backend be\nbackend be from be_rules\n server s 127.0.0.1:80\nlisten l from common\n bind :81\n",
	"global\n tune.bufsize 4k\n tune.maxrewrite 256\nfrontend f\n mode http\n bind :80\n http-request strict-mode off if { path /a }\n http-request wait-for-body time 1s at-least 1k if METH_POST\n http-request set-header x-b %[req.body]\n http-response strict-mode on\n http-response wait-for-body time 100 at-least 10\n http-response redirect location /x code 301 set-cookie A=1 if { status 404 }\n http-after-response strict-mode off\n default_backend b\nbackend b\n mode http\n",
	"defaults\n mode http\n http-error status 503 content-type text/plain hdr x-p %[path] lf-string \"down: %[path]\"\n errorfile 400 testdata/errors/400-lf.http\nfrontend f\n bind :80\n http-error status 400\n http-error status 503 default-errorfiles\n http-error status 404 errorfiles e\n http-error status 500 errorfile testdata/errors/503.http\n http-error status 502 content-type text/html file testdata/errors/503.http\n http-request return status 200 default-errorfiles if { path /ok }\n default_backend b\nbackend b\n http-error status 504 string x\nhttp-errors e\n errorfile 404 testdata/errors/404-errors-1.http\n",
	"global\n ca-base /etc/ca\n ssl-default-bind-ciphers HIGH:!aNULL:ECDHE-RSA-AES128-SHA\n ssl-default-bind-curves X25519:P-256\n ssl-default-server-options no-tlsv13 no-tls-tickets\n ssl-server-verify none\n tune.ssl.ktls off\n tune.ssl.lifetime 60\nlisten l\n bind :443,:8443 ssl crt-list l.txt strict-sni verify optional ca-file c.pem crt-ignore-err 10,20 no-ssl ecdhe secp384r1 force-tlsv13\n default-server ssl ca-file @system-ca sni str(example.com)\n server a 10.0.0.1:443 check port 80 check-ssl check-sni h.example check-alpn http/1.1\n server b 10.0.0.2 no-ssl\n",
}

func FuzzParse(f *testing.F) {
	data, err := os.ReadFile(fuzzSeedTemplatePath)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const name = "fuzz.cfg"
		opts := Options{Resolver: NoResolver, LookupEnv: lookupIn(testEnv), LocalPeer: "fuzz", Diag: true}
		cfg, err := Parse(name, data, opts)
		fuzzCheckResult(t, name, data, cfg, err)

		// Parsing is deterministic.
		cfg2, err2 := Parse(name, data, opts)
		if (err == nil) != (err2 == nil) || (err != nil && err.Error() != err2.Error()) {
			t.Fatalf("two parses disagree:\n%v\n---\n%v", err, err2)
		}
		if len(cfg.Diagnostics) != len(cfg2.Diagnostics) || len(cfg.Proxies) != len(cfg2.Proxies) {
			t.Fatalf("two parses disagree on diagnostics or proxies")
		}
	})
}

// fuzzCheckResult asserts the invariants of Parse's result.
func fuzzCheckResult(t *testing.T, name string, data []byte, cfg *Config, err error) {
	t.Helper()
	if cfg == nil {
		t.Fatalf("Parse returned a nil configuration (err = %v)", err)
	}
	// Positions may point one line past the last newline (a file without
	// a final newline) and line 1 of an empty file.
	maxLine := bytes.Count(data, []byte("\n")) + 1
	checkPos := func(what string, p Pos) {
		t.Helper()
		if p.File != name || p.Line < 1 || p.Line > maxLine {
			t.Fatalf("%s at %q: want %s:1..%d", what, p, name, maxLine)
		}
	}
	for _, d := range cfg.Diagnostics {
		checkPos("diagnostic "+d.Msg, d.Pos)
		if d.Msg == "" || !strings.HasPrefix(d.String(), "[") {
			t.Fatalf("malformed diagnostic %q", d)
		}
	}
	if err != nil {
		var list ErrorList
		if !errors.As(err, &list) {
			t.Fatalf("error %T %v is not a ErrorList", err, err)
		}
		if len(list) == 0 {
			t.Fatalf("Parse returned an empty ErrorList")
		}
		prev := 0
		for _, e := range list {
			if e == nil {
				t.Fatalf("nil *Error in %v", list)
			}
			if e.Pos.Line == 0 && e.Pos.File == "" {
				t.Fatalf("error %q has neither a line nor a file", e.Msg)
			}
			checkPos("error "+e.Msg, e.Pos)
			if e.Pos.Line < prev {
				t.Fatalf("errors are not in line order: %d after %d\n%v", e.Pos.Line, prev, list)
			}
			prev = e.Pos.Line
			if e.Msg == "" {
				t.Fatalf("empty error message at %s", e.Pos)
			}
			if !strings.HasPrefix(e.Error(), "parsing ["+name+":") {
				t.Fatalf("error renders as %q", e.Error())
			}
		}
		return
	}

	// A valid configuration.
	for _, s := range cfg.Global.StatsSockets {
		checkPos("stats socket", s.Pos)
		kinds := 0
		for _, set := range []bool{s.Path != "", s.Addr.IsValid(), s.Inherited} {
			if set {
				kinds++
			}
		}
		if kinds != 1 || s.Addr.IsValid() && !s.Addr.Addr().IsLoopback() || s.Mode != 0 && s.Path == "" {
			t.Fatalf("stats socket %+v", s)
		}
	}
	fes := cfg.Frontends()
	if len(fes) == 0 {
		t.Fatalf("valid configuration without a frontend")
	}
	for _, px := range cfg.Proxies {
		checkPos(px.Section+" "+px.Name, px.Pos)
		if px.Caps == 0 {
			t.Fatalf("%s '%s' has no capability", px.Section, px.Name)
		}
		fuzzCheckDurations(t, px.Name, px.Timeouts.Connect, px.Timeouts.Client, px.Timeouts.Server,
			px.Timeouts.HTTPRequest, px.Timeouts.HTTPKeepAlive, px.Timeouts.Queue,
			px.Timeouts.Tunnel, px.Timeouts.Check, px.Timeouts.ClientFin, px.Timeouts.ServerFin,
			px.Stats.Refresh)
		if px.Stats.Enabled && (px.Stats.URI == "" || px.Stats.URI[0] != '/') {
			t.Fatalf("%s: stats enabled with URI %q", px.Name, px.Stats.URI)
		}
		for _, s := range px.Servers {
			checkPos("server "+s.Name, s.Pos)
			a := s.Addr.Addr()
			if !a.IsValid() || a.IsUnspecified() {
				t.Fatalf("server %s has address %v", s.Name, s.Addr)
			}
			if (s.PortMode == PortFixed) != (s.Addr.Port() != 0) {
				t.Fatalf("server %s: port mode %v with port %d", s.Name, s.PortMode, s.Addr.Port())
			}
			if s.PortMode != PortOffset && s.PortDelta != 0 {
				t.Fatalf("server %s: port delta %d without an offset", s.Name, s.PortDelta)
			}
			if s.Rise < 1 || s.Fall < 1 || s.Weight < 0 || s.Inter <= 0 {
				t.Fatalf("server %s: rise %d fall %d weight %d inter %v", s.Name, s.Rise, s.Fall, s.Weight, s.Inter)
			}
			fuzzCheckDurations(t, s.Name, s.Inter, s.FastInter, s.DownInter, s.SlowStart)
			if tl := s.TLS; tl != nil {
				fuzzCheckTLS(t, s.Name, tl.MinVersion, tl.MaxVersion, tl.CipherSuites)
				if !tl.Traffic && !tl.Checks || tl.Verify == VerifyOptional || tl.Verify == VerifyRequired && tl.CAFile == "" && !tl.SystemCAs {
					t.Fatalf("server %s: TLS %+v", s.Name, *tl)
				}
			}
		}
		for _, acl := range px.ACLs {
			if len(acl.Terms) == 0 {
				t.Fatalf("ACL %s without terms", acl.Name)
			}
		}
		for _, r := range px.Redirects {
			fuzzCheckRedirect(t, px, r)
			checkPos("redirect", r.Pos)
		}
	}
	for _, fe := range fes {
		if len(fe.Binds) == 0 {
			t.Fatalf("frontend %s has no bind", fe.Name)
		}
		for _, b := range fe.Binds {
			checkPos("bind", b.Pos)
			if b.Inherited {
				if b.FD < 0 || b.FD >= maxFD || b.Addr.IsValid() {
					t.Fatalf("frontend %s binds fd@%d with address %v", fe.Name, b.FD, b.Addr)
				}
				continue
			}
			if !b.Addr.Addr().IsValid() || b.Addr.Port() == 0 {
				t.Fatalf("frontend %s binds %v", fe.Name, b.Addr)
			}
			if b.TLS != nil {
				fuzzCheckTLS(t, fe.Name, b.TLS.MinVersion, b.TLS.MaxVersion, b.TLS.CipherSuites)
				if len(b.TLS.Certs) == 0 && !b.TLS.StrictSNI || b.TLS.Verify != VerifyNone && b.TLS.CAFile == "" && b.TLS.CAVerifyFile == "" && !b.TLS.SystemCAs {
					t.Fatalf("frontend %s: bind TLS %+v", fe.Name, *b.TLS)
				}
			}
		}
		for _, r := range fe.UseBackends {
			fuzzCheckBackendRef(t, cfg, fe, r.Backend)
			if r.Cond != nil {
				if len(r.Cond.Or) == 0 {
					t.Fatalf("frontend %s: use_backend %s with an empty condition", fe.Name, r.Backend)
				}
				for _, and := range r.Cond.Or {
					for _, term := range and {
						if term.ACL == nil {
							t.Fatalf("frontend %s: unresolved ACL in a condition", fe.Name)
						}
					}
				}
				_ = r.Cond.NeedsHTTP()
			}
		}
		if fe.DefaultBackend != "" {
			fuzzCheckBackendRef(t, cfg, fe, fe.DefaultBackend)
		}
	}
}

// fuzzCheckRedirect asserts what the engine relies on to send a redirect
// rule's answer as it is: a known code, a target and a cookie that cannot
// break the head, and a resolved condition.
func fuzzCheckRedirect(t *testing.T, px *Proxy, r *Redirect) {
	t.Helper()
	if px.Mode != ModeHTTP {
		t.Fatalf("%s: redirect in mode %s", px, px.Mode)
	}
	if RedirectReason(r.Code) == "" || r.Target == "" || r.Kind > RedirectScheme {
		t.Fatalf("%s: redirect %+v", px, r)
	}
	for i := 0; i < len(r.Target); i++ {
		c := r.Target[i]
		if c <= ' ' || c == 0x7f || c == '%' && !(i+2 < len(r.Target) && isHex(r.Target[i+1]) && isHex(r.Target[i+2])) {
			t.Fatalf("%s: redirect target %q", px, r.Target)
		}
	}
	if r.Kind == RedirectScheme && !isScheme(r.Target) {
		t.Fatalf("%s: redirect scheme %q", px, r.Target)
	}
	if strings.ContainsAny(r.SetCookie(), "\r\n\x00") {
		t.Fatalf("%s: redirect cookie %q", px, r.Cookie)
	}
	if r.Cond != nil {
		if len(r.Cond.Or) == 0 {
			t.Fatalf("%s: redirect with an empty condition", px)
		}
		for _, and := range r.Cond.Or {
			for _, term := range and {
				if term.ACL == nil {
					t.Fatalf("%s: unresolved ACL in a redirect condition", px)
				}
			}
		}
	}
}

// fuzzCheckTLS checks what every TLS setting in a valid configuration
// holds: versions fjord serves, and suites it carries.
func fuzzCheckTLS(t *testing.T, who string, min, max TLSVersion, suites []uint16) {
	t.Helper()
	if min < MinServedTLSVersion || max > TLSv13 || min > max || len(suites) == 0 {
		t.Fatalf("%s: TLS versions %v-%v, suites %v", who, min, max, suites)
	}
	for _, id := range suites {
		if _, ok := fjordSuiteID(CipherSuiteName(id)); !ok {
			t.Fatalf("%s: suite %#x is not one fjord carries", who, id)
		}
	}
}

func fuzzCheckBackendRef(t *testing.T, cfg *Config, fe *Proxy, name string) {
	t.Helper()
	be := cfg.Backend(name)
	if be == nil {
		t.Fatalf("valid configuration: frontend %s refers to missing backend %q", fe.Name, name)
	}
	if be.Caps&CapBackend == 0 || be.Name != name {
		t.Fatalf("cfg.Backend(%q) returned %s %q", name, be.Section, be.Name)
	}
	if be.Mode != fe.Mode {
		t.Fatalf("valid configuration: frontend %s (%v) uses backend %s (%v)", fe.Name, fe.Mode, name, be.Mode)
	}
}

func fuzzCheckDurations(t *testing.T, who string, ds ...time.Duration) {
	t.Helper()
	for i, d := range ds {
		if d < 0 {
			t.Fatalf("%s: duration #%d is negative: %v", who, i, d)
		}
	}
}

// TestFuzzCorpusSeedTemplate pins what the fuzz seed itself parses to: one real
// mistake, on line 23.
func TestFuzzCorpusSeedTemplate(t *testing.T) {
	data, err := os.ReadFile("testdata/fuzz/FuzzParse/seed-template")
	if err != nil {
		t.Fatal(err)
	}
	cfgText := fuzzCorpusBytes(t, data)
	if shared, err := os.ReadFile(fuzzSeedTemplatePath); err == nil && !bytes.Equal(shared, cfgText) {
		t.Errorf("testdata/fuzz/FuzzParse/seed-template is not a copy of %s", fuzzSeedTemplatePath)
	}
	cfg, err := Parse("template.cfg", cfgText, Options{Resolver: NoResolver})
	var list ErrorList
	if !errors.As(err, &list) || len(list) != 1 {
		t.Fatalf("want exactly one error, got %v", err)
	}
	if got := list[0].Error(); !strings.HasPrefix(got, "parsing [template.cfg:23] : ") || !strings.Contains(got, "'static_servers'") {
		t.Errorf("error = %q", got)
	}
	fuzzCheckResult(t, "template.cfg", cfgText, cfg, err)
}

// fuzzCorpusBytes decodes a one-value "go test fuzz v1" corpus file.
func fuzzCorpusBytes(t *testing.T, file []byte) []byte {
	t.Helper()
	text := strings.TrimSpace(string(file))
	header, value, ok := strings.Cut(text, "\n")
	if !ok || header != "go test fuzz v1" || !strings.HasPrefix(value, "[]byte(") || !strings.HasSuffix(value, ")") {
		t.Fatalf("not a go test fuzz v1 []byte corpus file: %.60q", text)
	}
	s, err := strconv.Unquote(value[len("[]byte(") : len(value)-1])
	if err != nil {
		t.Fatalf("corpus value: %v", err)
	}
	return []byte(s)
}

// FuzzLex checks the lexer on its own: it never panics, never yields a NUL
// byte or an empty line, keeps line numbers in order and within the file,
// and on plain lines (no quote, backslash or '#') agrees with splitting on
// spaces and tabs.
func FuzzLex(f *testing.F) {
	if data, err := os.ReadFile(fuzzSeedTemplatePath); err == nil {
		f.Add(data)
	}
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	for _, s := range []string{
		`a "b c" 'd e' f\ g # h`,
		`"\x41\r\n\t\"" '\x41'`,
		"x \x00 y\n\"a\x00\"\n'\x00'",
		"a\r\n\r\nb\rc\n",
		`"unterminated` + "\n'also\nok",
		`\xZZ \x4 \`,
		`"" '' ""''""`,
		`a\x00b "c\x00" d\x01`,
		"frontend \"${A}\"\n bind \"fd@${fe1}\" \"${L[*]}\"\n\"${U}\" x\n\"$\"\n",
		"backend b\n x \"${.SECTION} ${.LINE} ${.FILE}\"",
		"frontend f\n timeout client \"${U}\"\n bind \"${L[*]}\"\n",
		".if 1\nx\n.elif 0\n.if defined(A)\n.else 1\n.endif\n.notice \"${A}\"\n.alert\n",
		".if streq(\"${U}\",)\n\"open\n.else\n.warning a b\n.diag d\n.nosuch\n.endif x\n.endif\n.if 1 &&\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const name = "lex.cfg"
		lines, errs, diags := (&lexer{vars: lookupIn(testEnv), diag: true}).lex(name, data)
		raw := strings.Split(string(data), "\n")
		if len(raw) > 0 && raw[len(raw)-1] == "" {
			raw = raw[:len(raw)-1] // the text after a final newline is no line
		}
		errLines := map[int]bool{}
		for _, e := range errs {
			errLines[e.Pos.Line] = true
		}
		if len(lines)+len(errLines) > len(raw) {
			t.Fatalf("%d lines and errors on %d lines from %d input lines", len(lines), len(errLines), len(raw))
		}
		prev := 0
		for _, l := range lines {
			if l.pos.File != name || l.pos.Line <= prev || l.pos.Line > len(raw) {
				t.Fatalf("line at %s after line %d of %d", l.pos, prev, len(raw))
			}
			prev = l.pos.Line
			if len(l.words) == 0 {
				t.Fatalf("line %d has no word", l.pos.Line)
			}
			for _, w := range l.words {
				if strings.IndexByte(w, 0) >= 0 {
					t.Fatalf("line %d: word %q contains a NUL byte", l.pos.Line, w)
				}
			}
		}
		prev = 0
		for _, e := range errs {
			// A line may have several errors (two variables not set).
			if e.Pos.File != name || e.Pos.Line < prev || e.Pos.Line > len(raw) || e.Msg == "" {
				t.Fatalf("error %q at %s after line %d of %d", e.Msg, e.Pos, prev, len(raw))
			}
			prev = e.Pos.Line
		}

		for _, d := range diags {
			if d.Pos.File != name || d.Pos.Line < 1 || d.Pos.Line > len(raw) || len(d.Msg) < 2 {
				t.Fatalf("diagnostic %q at %s", d.Msg, d.Pos)
			}
		}

		// Without directives, which drop lines and read some, plain
		// lines split exactly like strings.FieldsFunc on blanks.
		for _, r := range raw {
			if strings.HasPrefix(strings.TrimLeft(r, " \t\v\f\r"), ".") || strings.Contains(r, "\".") || strings.Contains(r, "'.") {
				return
			}
		}
		byLine := map[int][]string{}
		for _, l := range lines {
			byLine[l.pos.Line] = l.words
		}
		for i, r := range raw {
			r = strings.TrimSuffix(r, "\r")
			if len(r) > maxLineLen || strings.ContainsAny(r, "\"'\\#\x00") {
				continue
			}
			r, _, _ = strings.Cut(r, "\r") // a bare CR ends the line
			want := strings.FieldsFunc(r, func(c rune) bool { return c == ' ' || c == '\t' || c == '\v' || c == '\f' })
			got := byLine[i+1]
			if len(want) == 0 && got == nil {
				continue
			}
			if strings.Join(got, "\x00") != strings.Join(want, "\x00") || len(got) != len(want) {
				t.Fatalf("line %d %q: words %q, want %q", i+1, r, got, want)
			}
		}
	})
}

// FuzzVariables checks variable expansion on one line: it never panics or
// yields a NUL byte; whether a line is well formed does not depend on the
// environment; a line without '$' splits the same with or without one; and
// a variable the environment has is never reported as undefined.
func FuzzVariables(f *testing.F) {
	for _, s := range []string{
		`bind "fd@${fe1}"`,
		`timeout connect "${HAPROXY_TEST_TIMEOUT-5s}"`,
		`x "${L[*]}" "<${EDGES[*]}>" "${U[*]-a b}" "${E[*]}"`,
		`"$A.b" "$A-b" "\${A}" '${A}' ${A}`,
		`"${.FILE}:${.LINE} ${.SECTION}" "$.X"`,
		`"$" "${" "${A" "${A-" "${A[" "${A[*" "${A[1]}"`,
		`"${U-'#"\x}" # "${V}"`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		with := wordSplitter{comments: true, vars: lookupIn(testEnv)}
		without := wordSplitter{comments: true}
		w1, u1, err1 := with.split(s)
		w2, u2, err2 := without.split(s)
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("%q: error with an environment %v, without %v", s, err1, err2)
		}
		if err1 != nil {
			return
		}
		for _, w := range append(w1, w2...) {
			if strings.IndexByte(w, 0) >= 0 {
				t.Fatalf("%q: word %q holds a NUL byte", s, w)
			}
		}
		if !strings.Contains(s, "$") && (strings.Join(w1, "\x00") != strings.Join(w2, "\x00") || len(w1) != len(w2) || len(u1)+len(u2) > 0) {
			t.Fatalf("%q: without '$', %q (undefined %q) with an environment, %q (undefined %q) without", s, w1, u1, w2, u2)
		}
		if hw := with.haproxyReading(s, w1); hw != nil && equalWords(hw, w1) {
			t.Fatalf("%q: HAProxy's reading %q is reported though it is fjord's", s, hw)
		}
		for _, name := range u1 {
			if _, ok := testEnv[name]; ok {
				t.Fatalf("%q: %s is set but reported undefined", s, name)
			}
			if !contains(u2, name) {
				t.Fatalf("%q: %s is undefined with an environment but not without", s, name)
			}
		}
	})
}

// FuzzCondition checks the parser of '.if' conditions and 'fjord -cc': it
// never panics; an error names the condition; and a condition that
// evaluates keeps its value inside parentheses, flips under '!', and
// is never evaluated after '0 &&'.
func FuzzCondition(f *testing.F) {
	for _, s := range []string{
		"", "0", "-1000 && 200", "0x1f || 010", "!(0))", "200rrr",
		"1 && !0 && !((streq(a,b) || !streq(a,a) && 1) || strneq(a,b))",
		"defined(SET) && feature(LINUX_SPLICE)",
		`streq("a,b",'a)b') || strneq(\',\\)`,
		"version_atleast(2.5-dev0) && version_before(2.4-dev18-f6818d-20)",
		"feature(OPENSSL) && ssllib_name_startswith(OpenSSL) && openssl_version_atleast(1.1.1)",
		"openssl_version_before(3.0.0)", "defined", "streq(a", "((((1))))",
	} {
		f.Add(s)
	}
	env := lookupIn(map[string]string{"SET": "1"})
	f.Fuzz(func(t *testing.T, s string) {
		c, err := parseCfgCond(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "condition '"+s+"': ") {
				t.Fatalf("%q: error %q does not name the condition", s, err)
			}
			return
		}
		v, err := c.eval(env)
		if err != nil || s == "" {
			return // no value to compare ("()" is no condition)
		}
		for _, w := range []struct {
			cond string
			want bool
		}{
			{"(" + s + ")", v},
			{"!(" + s + ")", !v},
			{"0 && (" + s + ")", false},
			{"(" + s + ") || 1", true},
			{"1 && (" + s + ")", v},
		} {
			wc, err := parseCfgCond(w.cond)
			if err != nil && strings.Contains(err.Error(), "parentheses nested more than") {
				continue // s was as deep as allowed
			}
			if err != nil {
				t.Fatalf("%q parses but %q does not: %v", s, w.cond, err)
			}
			if got, err := wc.eval(env); err != nil || got != w.want {
				t.Fatalf("%q = %v, but %q = %v, %v; want %v", s, v, w.cond, got, err, w.want)
			}
		}
	})
}

// FuzzVersion checks the version parser: it never panics, an error names
// the input, and the order it gives is an order (each version equals
// itself; a < b exactly when b > a).
func FuzzVersion(f *testing.F) {
	for _, s := range []string{"2.6.0", "2.5-dev0", "1.5-dev18-43", "2.4-dev18-f6818d-20", "2.6.0-1ubuntu1", "2.", "2.5-dev3x", "99999999999"} {
		f.Add(s, "2.6")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		va, errA := parseVersion(a)
		vb, errB := parseVersion(b)
		if errA != nil && !strings.Contains(errA.Error(), "'"+a+"' is not a version") {
			t.Fatalf("error %q does not name %q", errA, a)
		}
		if errA != nil || errB != nil {
			return
		}
		if va.compare(va) != 0 || va.compare(vb) != -vb.compare(va) {
			t.Fatalf("%q %v and %q %v: compare gives %d and %d", a, va, b, vb, va.compare(vb), vb.compare(va))
		}
		if va[4] < stageDev || va[4] > stageRelease {
			t.Fatalf("%q: stage %d", a, va[4])
		}
	})
}
