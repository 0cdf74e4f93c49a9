package config

import (
	"crypto/tls"
	"reflect"
	"strings"
	"testing"
	"time"
)

// wantDiag is a diagnostic a test expects: its severity, line and the
// phrases its message contains.
type wantDiag struct {
	sev  Severity
	line int
	has  []string
}

// checkDiags asserts that cfg has exactly the diagnostics wanted, in any
// order.
func checkDiags(t *testing.T, cfg *Config, text string, want []wantDiag) {
	t.Helper()
	if len(cfg.Diagnostics) != len(want) {
		t.Errorf("got %d diagnostics, want %d:", len(cfg.Diagnostics), len(want))
		for _, d := range cfg.Diagnostics {
			t.Errorf("  %v", d)
		}
		t.Errorf("configuration:\n%s", numbered(text))
	}
	for _, w := range want {
		found := false
		for _, d := range cfg.Diagnostics {
			if d.Severity != w.sev || d.Pos != at(w.line) {
				continue
			}
			ok := true
			for _, h := range w.has {
				ok = ok && strings.Contains(d.Msg, h)
			}
			found = found || ok
		}
		if !found {
			t.Errorf("missing %v at line %d containing %q; got:", w.sev, w.line, w.has)
			for _, d := range cfg.Diagnostics {
				t.Errorf("  %v", d)
			}
		}
	}
}

var (
	ecdsa128 = tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
	rsa128   = tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
	ecdsa256 = tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
	rsa256   = tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
	ecdsaCC  = tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
	rsaCC    = tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
)

func TestTLSGlobalKeywords(t *testing.T) {
	tests := []struct {
		line string
		want func(g *Global)
	}{
		{"crt-base /etc/fjord/certs", func(g *Global) { g.CrtBase = "/etc/fjord/certs" }},
		{"crt-base /etc/fjord/certs/", func(g *Global) { g.CrtBase = "/etc/fjord/certs" }},
		{"crt-base /", func(g *Global) { g.CrtBase = "/" }},
		{"crt-base certs", func(g *Global) { g.CrtBase = "certs" }},
		{"ca-base /etc/ssl/certs", func(g *Global) { g.CABase = "/etc/ssl/certs" }},
		{"ssl-default-bind-options no-tls-tickets", func(g *Global) { g.BindTLSDefaults.NoTLSTickets = true }},
		{"ssl-default-bind-options ssl-min-ver TLSv1.2 no-tls-tickets", func(g *Global) {
			g.BindTLSDefaults.MinVersion, g.BindTLSDefaults.NoTLSTickets = TLSv12, true
		}},
		{"ssl-default-bind-options ssl-min-ver TLSv1.3 ssl-max-ver TLSv1.3", func(g *Global) {
			g.BindTLSDefaults.MinVersion, g.BindTLSDefaults.MaxVersion = TLSv13, TLSv13
		}},
		{"ssl-default-bind-options no-sslv3 no-tlsv10 no-tlsv11", func(g *Global) {
			g.BindTLSDefaults.NoVersions = 1<<SSLv3 | 1<<TLSv10 | 1<<TLSv11
		}},
		{"ssl-default-bind-options no-tlsv12 no-tlsv13", func(g *Global) {
			g.BindTLSDefaults.NoVersions = 1<<TLSv12 | 1<<TLSv13
		}},
		{"ssl-default-bind-options force-tlsv12", func(g *Global) {
			g.BindTLSDefaults.MinVersion, g.BindTLSDefaults.MaxVersion = TLSv12, TLSv12
		}},
		{"ssl-default-bind-options force-tlsv13 force-sslv3", func(g *Global) {
			g.BindTLSDefaults.MinVersion, g.BindTLSDefaults.MaxVersion = SSLv3, SSLv3
		}},
		{"ssl-default-bind-ciphers ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305", func(g *Global) {
			g.BindTLSDefaults.CipherSuites = []uint16{rsa128, ecdsaCC}
		}},
		{"ssl-default-bind-ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256", func(*Global) {}},
		{"ssl-default-bind-curves X25519:P-256", func(g *Global) {
			g.BindTLSDefaults.Curves = []tls.CurveID{tls.X25519, tls.CurveP256}
		}},
		{"ssl-default-bind-curves x25519mlkem768:prime256v1:secp384r1:secp521r1", func(g *Global) {
			g.BindTLSDefaults.Curves = []tls.CurveID{tls.X25519MLKEM768, tls.CurveP256, tls.CurveP384, tls.CurveP521}
		}},
		{"ssl-default-server-options no-tls-tickets ssl-max-ver TLSv1.2", func(g *Global) {
			g.ServerTLSDefaults.NoTLSTickets, g.ServerTLSDefaults.MaxVersion = true, TLSv12
		}},
		{"ssl-default-server-options no-tlsv13", func(g *Global) { g.ServerTLSDefaults.NoVersions = 1 << TLSv13 }},
		{"ssl-default-server-ciphers ECDHE-ECDSA-AES256-GCM-SHA384", func(g *Global) {
			g.ServerTLSDefaults.CipherSuites = []uint16{ecdsa256}
		}},
		{"ssl-default-server-ciphersuites TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256", func(*Global) {}},
		{"ssl-server-verify none", func(g *Global) { g.ServerVerify = VerifyNone }},
		{"ssl-server-verify required", func(g *Global) { g.ServerVerify = VerifyRequired }},
		{"ssl-load-extra-files none", func(g *Global) { g.LoadExtraFiles = ExtraNone }},
		{"ssl-load-extra-files all", func(g *Global) { g.LoadExtraFiles = ExtraAll }},
		{"ssl-load-extra-files bundle sctl", func(g *Global) { g.LoadExtraFiles = ExtraBundle | ExtraSCTL }},
		{"ssl-load-extra-files ocsp issuer key", func(g *Global) { g.LoadExtraFiles = ExtraOCSP | ExtraIssuer | ExtraKey }},
		{"tune.ssl.lifetime 600", func(g *Global) { g.TuneSSLLifetime = 600 * time.Second }},
		{"tune.ssl.lifetime 10m", func(g *Global) { g.TuneSSLLifetime = 10 * time.Minute }},
		{"tune.ssl.lifetime 0", func(g *Global) { g.TuneSSLLifetime = 0 }},
		{"tune.ssl.maxrecord 1419", func(g *Global) { g.TuneSSLMaxRecord = 1419 }},
		{"tune.ssl.hard-maxrecord 2859", func(g *Global) { g.TuneSSLHardMaxRecord = 2859 }},
		{"tune.ssl.ktls on", func(g *Global) { g.TuneSSLKTLS = KTLSOn }},
		{"tune.ssl.ktls off", func(g *Global) { g.TuneSSLKTLS = KTLSOff }},
		{"tune.ssl.ktls auto", func(g *Global) { g.TuneSSLKTLS = KTLSAuto }},
		{"tune.ssl.handshake-cpus 3", func(g *Global) { g.TuneSSLHandshakeCPUs = 3 }},
	}
	for _, tc := range tests {
		t.Run(tc.line, func(t *testing.T) {
			cfg, errs := parse(t, "global\n  "+tc.line+"\n"+minimalProxies)
			if errs != nil {
				t.Fatalf("errors: %v", errs)
			}
			want := DefaultGlobal()
			tc.want(&want)
			if !reflect.DeepEqual(cfg.Global, want) {
				t.Errorf("global =\n%+v\nwant\n%+v", cfg.Global, want)
			}
		})
	}
}

func TestHandshakeCPUs(t *testing.T) {
	for _, tc := range []struct {
		nbthread, set, want int
	}{{1, 0, 1}, {2, 0, 1}, {8, 0, 7}, {8, 2, 2}, {1, 4, 4}} {
		g := DefaultGlobal()
		g.NbThread, g.TuneSSLHandshakeCPUs = tc.nbthread, tc.set
		if got := g.HandshakeCPUs(); got != tc.want {
			t.Errorf("nbthread %d, tune.ssl.handshake-cpus %d: HandshakeCPUs() = %d, want %d", tc.nbthread, tc.set, got, tc.want)
		}
	}
}

func TestTLSGlobalErrors(t *testing.T) {
	runErrorCases(t, NoResolver, []errCase{
		{"crt-base missing", global("  crt-base #ERR"), []string{"'crt-base' expects a directory path"}},
		{"crt-base two", global("  crt-base /a /b #ERR"), []string{"'crt-base' expects a directory path"}},
		{"crt-base twice", global("  crt-base /a", "  crt-base /b #ERR"), []string{"'crt-base' already specified (as '/a')"}},
		{"ca-base twice", global("  ca-base /a", "  ca-base /a #ERR"), []string{"'ca-base' already specified"}},
		{"bind options empty", global("  ssl-default-bind-options #ERR"), []string{"'ssl-default-bind-options' expects an option"}},
		{"bind options unknown", global("  ssl-default-bind-options no-tlsv14 #ERR"), []string{"unknown option 'no-tlsv14' on global statement 'ssl-default-bind-options'"}},
		{"bind options strict-sni", global("  ssl-default-bind-options strict-sni #ERR"), []string{"unknown option 'strict-sni'"}},
		{"bind options bad version", global("  ssl-default-bind-options ssl-min-ver TLSv1.4 #ERR"), []string{"'ssl-min-ver': unknown ssl/tls version 'TLSv1.4'", "on global statement 'ssl-default-bind-options'"}},
		{"bind options version missing", global("  ssl-default-bind-options ssl-max-ver #ERR"), []string{"'ssl-max-ver': missing the ssl/tls version"}},
		{"bind options lower-case version", global("  ssl-default-bind-options ssl-min-ver tlsv1.2 #ERR"), []string{"unknown ssl/tls version 'tlsv1.2'"}},
		{"server options prefer-client-ciphers", global("  ssl-default-server-options prefer-client-ciphers #ERR"), []string{"unknown option 'prefer-client-ciphers' on global statement 'ssl-default-server-options'"}},
		{"bind ciphers missing", global("  ssl-default-bind-ciphers #ERR"), []string{"'ssl-default-bind-ciphers' expects a cipher suite"}},
		{"bind ciphers unknown", global("  ssl-default-bind-ciphers ECDHE-RSA-AES128-GCM-SHA257 #ERR"), []string{"unknown OpenSSL cipher 'ECDHE-RSA-AES128-GCM-SHA257'"}},
		{"bind ciphers nothing left", global("  ssl-default-bind-ciphers AES128-SHA:DES-CBC3-SHA #ERR"), []string{"'ssl-default-bind-ciphers AES128-SHA:DES-CBC3-SHA': no cipher fjord can carry is left", "ECDHE-ECDSA-AES128-GCM-SHA256"}},
		{"bind ciphers only exclusions", global("  ssl-default-bind-ciphers !aNULL:!MD5 #ERR"), []string{"no cipher fjord can carry is left"}},
		{"server ciphers IANA name", global("  ssl-default-server-ciphers TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 #ERR"), []string{"'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256' is the IANA name", "ECDHE-RSA-AES128-GCM-SHA256"}},
		{"bind ciphersuites unknown", global("  ssl-default-bind-ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_512 #ERR"), []string{"unknown TLS 1.3 suite 'TLS_AES_512'"}},
		{"server ciphersuites TLS 1.2 name", global("  ssl-default-server-ciphersuites ECDHE-RSA-AES128-GCM-SHA256 #ERR"), []string{"'ECDHE-RSA-AES128-GCM-SHA256' is an OpenSSL TLS 1.2 cipher"}},
		{"ciphersuites missing", global("  ssl-default-bind-ciphersuites #ERR"), []string{"expects a cipher suite"}},
		{"curves unknown", global("  ssl-default-bind-curves X25519:X448 #ERR"), []string{"unknown or unsupported curve 'X448'"}},
		{"curves empty item", global("  ssl-default-bind-curves X25519:: #ERR"), []string{"empty curve name"}},
		{"server verify optional", global("  ssl-server-verify optional #ERR"), []string{"'ssl-server-verify' expects 'none' or 'required' as argument"}},
		{"server verify missing", global("  ssl-server-verify #ERR"), []string{"'ssl-server-verify' expects 'none' or 'required'"}},
		{"extra files unknown", global("  ssl-load-extra-files crt #ERR"), []string{"'ssl-load-extra-files' expects one or multiple arguments", "not 'crt'"}},
		{"extra files none and more", global("  ssl-load-extra-files none ocsp #ERR"), []string{"'none' can only be used alone"}},
		{"extra files more and all", global("  ssl-load-extra-files ocsp all #ERR"), []string{"'all' can only be used alone"}},
		{"extra files missing", global("  ssl-load-extra-files #ERR"), []string{"expects one or multiple arguments"}},
		{"lifetime bad unit", global("  tune.ssl.lifetime 5x #ERR"), []string{"'tune.ssl.lifetime'", "unexpected character 'x'"}},
		{"lifetime underflow", global("  tune.ssl.lifetime 500ms #ERR"), []string{"timer underflow (minimum non-null value is 1 s)"}},
		{"lifetime overflow", global("  tune.ssl.lifetime 2147483648 #ERR"), []string{"timer overflow"}},
		{"lifetime missing", global("  tune.ssl.lifetime #ERR"), []string{"expects ssl sessions <lifetime>"}},
		{"maxrecord negative", global("  tune.ssl.maxrecord -1 #ERR"), []string{"tune.ssl.maxrecord -1 out of range"}},
		{"hard-maxrecord word", global("  tune.ssl.hard-maxrecord big #ERR"), []string{"invalid tune.ssl.hard-maxrecord 'big'"}},
		{"ktls bad", global("  tune.ssl.ktls yes #ERR"), []string{"'tune.ssl.ktls' expects auto, on or off, not 'yes'"}},
		{"ktls missing", global("  tune.ssl.ktls #ERR"), []string{"'tune.ssl.ktls' expects auto, on or off"}},
		{"handshake-cpus zero", global("  tune.ssl.handshake-cpus 0 #ERR"), []string{"tune.ssl.handshake-cpus 0 out of range (1-64)"}},
		{"default-dh-param small", global("  tune.ssl.default-dh-param 512 #ERR"), []string{"'tune.ssl.default-dh-param' expects a value >= 1024, not '512'"}},
		{"default-dh-param missing", global("  tune.ssl.default-dh-param #ERR"), []string{"'tune.ssl.default-dh-param' expects an integer argument"}},
		{"dh-param-file missing", global("  ssl-dh-param-file #ERR"), []string{"'ssl-dh-param-file' expects a file path"}},
		{"cachesize negative", global("  tune.ssl.cachesize -1 #ERR"), []string{"'tune.ssl.cachesize' expects an integer from 0"}},
		{"force-private-cache argument", global("  tune.ssl.force-private-cache on #ERR"), []string{"'tune.ssl.force-private-cache' takes no argument (found 'on')"}},
		{"capture twice", global("  tune.ssl.capture-buffer-size 64", "  tune.ssl.capture-cipherlist-size 64 #ERR"), []string{"'tune.ssl.capture-cipherlist-size' is already configured (at test.cfg:2)"}},
		{"ssl keyword in frontend", httpFE("  ssl-server-verify none #ERR"), []string{"'ssl-server-verify' is not allowed in a 'frontend' section", "(allowed in: global)"}},
	})
}

// The global TLS keywords' warnings and notices: each at its line, naming
// what fjord leaves out or does not do.
func TestTLSGlobalDiagnostics(t *testing.T) {
	tests := []struct {
		name string
		g    []string
		want []wantDiag
	}{
		{"dropped ciphers", []string{"ssl-default-bind-ciphers ECDHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES128-GCM-SHA256:AES256-SHA"},
			[]wantDiag{{Warning, 2, []string{"'ssl-default-bind-ciphers': fjord cannot carry DHE-RSA-AES128-GCM-SHA256, AES256-SHA, left out", "forward secrecy"}}}},
		{"selection language", []string{"ssl-default-bind-ciphers HIGH:!aNULL:!MD5"},
			[]wantDiag{{Notice, 2, []string{"does not evaluate OpenSSL's selection language (HIGH, !aNULL, !MD5)", "in place of what it selects", fjordSuiteNames()}}}},
		{"exclusions beside names", []string{"ssl-default-server-ciphers ECDHE-RSA-AES256-GCM-SHA384:!aNULL:@STRENGTH"},
			[]wantDiag{{Notice, 2, []string{"(!aNULL, @STRENGTH)", "it offers the suites named: ECDHE-RSA-AES256-GCM-SHA384"}}}},
		{"ciphersuites leave one out", []string{"ssl-default-bind-ciphersuites TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"},
			[]wantDiag{{Warning, 2, []string{"'ssl-default-bind-ciphersuites' is not honored", "TLS_AES_128_GCM_SHA256 stays offered"}}}},
		{"ciphersuites CCM", []string{"ssl-default-server-ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_CCM_SHA256"},
			[]wantDiag{{Warning, 2, []string{"fjord cannot carry TLS_AES_128_CCM_SHA256"}}}},
		{"min version below 1.2", []string{"ssl-default-bind-options ssl-min-ver TLSv1.0"},
			[]wantDiag{{Warning, 2, []string{"'ssl-min-ver TLSv1.0': fjord serves TLS 1.2 and 1.3 only"}}}},
		{"server min version below 1.2", []string{"ssl-default-server-options ssl-min-ver SSLv3"},
			[]wantDiag{{Warning, 2, []string{"'ssl-min-ver SSLv3': fjord connects to servers with TLS 1.2 and 1.3 only"}}}},
		{"prefer-client-ciphers", []string{"ssl-default-bind-options prefer-client-ciphers no-sslv3"},
			[]wantDiag{{Notice, 2, []string{"'ssl-default-bind-options prefer-client-ciphers' changes nothing", "crypto/tls chooses the suite itself"}}}},
		{"ignored dh param", []string{"tune.ssl.default-dh-param 2048"},
			[]wantDiag{{Notice, 2, []string{"'tune.ssl.default-dh-param' is accepted and changes nothing: fjord offers no DHE suites"}}}},
		{"deprecated capture size", []string{"tune.ssl.capture-cipherlist-size 128"},
			[]wantDiag{
				{Warning, 2, []string{"'tune.ssl.capture-cipherlist-size' is deprecated", "'tune.ssl.capture-buffer-size'"}},
				{Notice, 2, []string{"is accepted and changes nothing"}},
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			text := lines("global") + lines(tc.g...) + minimalProxies
			cfg := mustParse(t, text)
			checkDiags(t, cfg, text, tc.want)
		})
	}
}

func TestParseCipherList(t *testing.T) {
	for _, tc := range []struct {
		list      string
		suites    []uint16
		dropped   []string
		selection []string
		err       string
	}{
		{list: "ECDHE-RSA-AES128-GCM-SHA256", suites: []uint16{rsa128}},
		{list: "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305",
			suites: DefaultCipherSuites(), dropped: []string{"DHE-RSA-AES128-GCM-SHA256", "DHE-RSA-AES256-GCM-SHA384", "DHE-RSA-CHACHA20-POLY1305"}},
		{list: "HIGH", suites: DefaultCipherSuites(), selection: []string{"HIGH"}},
		{list: "ECDHE-RSA-CHACHA20-POLY1305:HIGH", suites: []uint16{rsaCC, ecdsa128, rsa128, ecdsa256, rsa256, ecdsaCC}, selection: []string{"HIGH"}},
		{list: "ECDHE-RSA-AES128-GCM-SHA256 !aNULL,-RC4;+AES:@STRENGTH:@SECLEVEL=2", suites: []uint16{rsa128}, selection: []string{"!aNULL", "-RC4", "+AES", "@STRENGTH", "@SECLEVEL=2"}},
		{list: "kEECDH+AESGCM:EECDH+CHACHA20", suites: DefaultCipherSuites(), selection: []string{"kEECDH+AESGCM", "EECDH+CHACHA20"}},
		{list: "!ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256", suites: []uint16{rsa128}, selection: []string{"!ECDHE-RSA-AES128-GCM-SHA256"}},
		{list: "RC4-SHA:DES-CBC3-SHA:EXP-RC4-MD5", dropped: []string{"RC4-SHA", "DES-CBC3-SHA", "EXP-RC4-MD5"}},
		{list: "!aNULL", selection: []string{"!aNULL"}},
		{list: "", err: "expects an OpenSSL cipher list"},
		{list: "::", err: "expects an OpenSSL cipher list"},
		{list: "ecdhe-rsa-aes128-gcm-sha256", err: "unknown OpenSSL cipher 'ecdhe-rsa-aes128-gcm-sha256'"},
		{list: "HIGH:!", err: "'!' names no cipher"},
		{list: "@SECLEVEL=", err: "unknown OpenSSL cipher list command '@SECLEVEL='"},
		{list: "!@STRENGTH", err: "unknown OpenSSL cipher list command '!@STRENGTH'"},
		{list: "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", err: "OpenSSL cipher lists name it ECDHE-ECDSA-CHACHA20-POLY1305"},
		{list: "TLS_RSA_WITH_AES_128_CBC_SHA", err: "looks like an IANA suite name"},
	} {
		cl, err := parseCipherList(tc.list)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want %q", tc.list, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.list, err)
			continue
		}
		if !reflect.DeepEqual(cl.Suites, tc.suites) || !reflect.DeepEqual(cl.Dropped, tc.dropped) || !reflect.DeepEqual(cl.Selection, tc.selection) {
			t.Errorf("%q = %+v, want suites %v dropped %q selection %q", tc.list, cl, tc.suites, tc.dropped, tc.selection)
		}
	}
	// Every carried suite has an OpenSSL name and none of the others is
	// one of them.
	for _, s := range fjordSuites {
		if cipherNameSet[s.name] || cipherAliasSet[s.name] {
			t.Errorf("%s is both carried and not", s.name)
		}
		if CipherSuiteName(s.id) != s.name {
			t.Errorf("CipherSuiteName(%#x) = %q", s.id, CipherSuiteName(s.id))
		}
	}
	if CipherSuiteName(tls.TLS_AES_128_GCM_SHA256) != "TLS_AES_128_GCM_SHA256" {
		t.Error("CipherSuiteName of a TLS 1.3 suite")
	}
}
