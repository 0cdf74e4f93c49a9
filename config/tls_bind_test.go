package config

import (
	"crypto/tls"
	"reflect"
	"strings"
	"testing"
)

// tlsFE is a valid configuration whose mode-http frontend "fe" has the
// bind line given (line 3), a plain bind (line 5, so that the frontend
// has one when the first is wrong), extra lines after it, and a backend
// "be".
func tlsFE(bind string, l ...string) string {
	return lines("frontend fe", "  mode http", "  "+bind, "  default_backend be", "  bind 127.0.0.1:8000") + strings.Join(append(l, ""), "\n") + lines("backend be", "  mode http")
}

// tlsGlobal is a valid configuration whose global section holds the given
// lines (from line 2), followed by the frontend lines (its bind at line
// len(g)+4) and a mode-http backend "be" holding srv lines.
func tlsGlobal(g []string, bind string, srv ...string) string {
	return lines("global") + lines(g...) + lines("frontend fe", "  mode http", "  "+bind, "  default_backend be", "  bind 127.0.0.1:8000", "backend be", "  mode http") + strings.Join(append(srv, ""), "\n")
}

// bindTLS is what 'bind ... ssl crt a.pem' yields at line: the defaults.
func bindTLS(line int) BindTLS {
	return BindTLS{
		Certs:      []CertSource{{Pos: at(line), Path: "a.pem"}},
		MinVersion: TLSv12, MaxVersion: TLSv13,
		CipherSuites: DefaultCipherSuites(),
	}
}

func TestBindTLS(t *testing.T) {
	tests := []struct {
		opts string
		want func(b *BindTLS)
	}{
		{"ssl crt a.pem", func(*BindTLS) {}},
		{"crt a.pem ssl", func(*BindTLS) {}},
		{"ssl crt a.pem crt /etc/certs crt-list list.txt crt b.pem", func(b *BindTLS) {
			b.Certs = append(b.Certs, CertSource{Pos: at(3), Path: "/etc/certs"}, CertSource{Pos: at(3), Path: "list.txt", List: true}, CertSource{Pos: at(3), Path: "b.pem"})
		}},
		{"ssl crt-list l.txt crt a.pem", func(b *BindTLS) {
			b.Certs = []CertSource{{Pos: at(3), Path: "l.txt", List: true}, {Pos: at(3), Path: "a.pem"}}
		}},
		{"ssl crt a.pem alpn http/1.1", func(b *BindTLS) { b.ALPN = []string{"http/1.1"} }},
		{"ssl crt a.pem alpn http/1.1,http/1.0", func(b *BindTLS) { b.ALPN = []string{"http/1.1", "http/1.0"} }},
		{"ssl crt a.pem ssl-min-ver TLSv1.3", func(b *BindTLS) { b.MinVersion = TLSv13 }},
		{"ssl crt a.pem ssl-max-ver TLSv1.2", func(b *BindTLS) { b.MaxVersion = TLSv12 }},
		{"ssl crt a.pem ssl-min-ver TLSv1.2 ssl-max-ver TLSv1.3", func(*BindTLS) {}},
		{"ssl crt a.pem force-tlsv12", func(b *BindTLS) { b.MaxVersion = TLSv12 }},
		{"ssl crt a.pem force-tlsv13", func(b *BindTLS) { b.MinVersion = TLSv13 }},
		{"ssl crt a.pem no-tlsv12", func(b *BindTLS) { b.MinVersion = TLSv13 }},
		{"ssl crt a.pem no-tlsv13", func(b *BindTLS) { b.MaxVersion = TLSv12 }},
		{"ssl crt a.pem no-sslv3 no-tlsv10 no-tlsv11", func(*BindTLS) {}},
		{"ssl crt a.pem ciphers ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305", func(b *BindTLS) { b.CipherSuites = []uint16{rsa128, rsaCC} }},
		{"ssl crt a.pem ciphers ECDHE-ECDSA-AES256-GCM-SHA384,ECDHE-ECDSA-AES256-GCM-SHA384;ECDHE-RSA-AES256-GCM-SHA384", func(b *BindTLS) {
			b.CipherSuites = []uint16{ecdsa256, rsa256}
		}},
		{"ssl crt a.pem ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256", func(*BindTLS) {}},
		{"ssl crt a.pem curves X25519:P-256", func(b *BindTLS) { b.Curves = []tls.CurveID{tls.X25519, tls.CurveP256} }},
		{"ssl crt a.pem curves P-384:p-384:secp384r1", func(b *BindTLS) { b.Curves = []tls.CurveID{tls.CurveP384} }},
		{"ssl crt a.pem ecdhe secp521r1", func(b *BindTLS) { b.Curves = []tls.CurveID{tls.CurveP521} }},
		{"ssl crt a.pem ecdhe prime256v1 curves X25519MLKEM768:X25519", func(b *BindTLS) { b.Curves = []tls.CurveID{tls.X25519MLKEM768, tls.X25519} }},
		{"ssl crt a.pem no-tls-tickets", func(b *BindTLS) { b.NoTLSTickets = true }},
		{"ssl crt a.pem strict-sni", func(b *BindTLS) { b.StrictSNI = true }},
		{"ssl strict-sni", func(b *BindTLS) { b.Certs, b.StrictSNI = nil, true }},
		{"ssl crt a.pem verify none", func(*BindTLS) {}},
		{"ssl crt a.pem verify optional ca-file ca.pem", func(b *BindTLS) { b.Verify, b.CAFile = VerifyOptional, "ca.pem" }},
		{"ssl crt a.pem verify required ca-verify-file /root.pem", func(b *BindTLS) { b.Verify, b.CAVerifyFile = VerifyRequired, "/root.pem" }},
		{"ssl crt a.pem verify required ca-file @system-ca", func(b *BindTLS) { b.Verify, b.SystemCAs = VerifyRequired, true }},
		{"ssl crt a.pem verify required ca-file c.pem crl-file crl.pem no-ca-names", func(b *BindTLS) {
			b.Verify, b.CAFile, b.CRLFile, b.NoCANames = VerifyRequired, "c.pem", "crl.pem", true
		}},
		{"ssl crt a.pem verify optional ca-file c.pem ca-ignore-err 10,20 crt-ignore-err all", func(b *BindTLS) {
			b.Verify, b.CAFile = VerifyOptional, "c.pem"
			b.CAIgnoreErrors, b.CertIgnoreErrors = 1<<10|1<<20, AllVerifyErrors
		}},
		{"ssl crt a.pem verify optional ca-file c.pem ca-ignore-err 1 ca-ignore-err 63", func(b *BindTLS) {
			b.Verify, b.CAFile, b.CAIgnoreErrors = VerifyOptional, "c.pem", 1<<1|1<<63
		}},
		{"ssl crt a.pem prefer-client-ciphers allow-0rtt", func(*BindTLS) {}},
	}
	for _, tc := range tests {
		t.Run(tc.opts, func(t *testing.T) {
			cfg := mustParse(t, tlsFE("bind :443 "+tc.opts))
			fe := proxy(t, cfg, "frontend", "fe")
			want := bindTLS(3)
			tc.want(&want)
			if got := fe.Binds[0].TLS; got == nil || !reflect.DeepEqual(*got, want) {
				t.Errorf("TLS =\n%+v\nwant\n%+v", got, want)
			}
		})
	}

	// Without 'ssl', no TLS; the binds of one line share theirs.
	cfg := mustParse(t, tlsFE("bind :80,:81 ssl crt a.pem", "  bind :82"))
	b := proxy(t, cfg, "frontend", "fe").Binds
	if b[0].TLS == nil || b[0].TLS != b[1].TLS || b[2].TLS != nil {
		t.Errorf("binds' TLS = %p %p %p", b[0].TLS, b[1].TLS, b[2].TLS)
	}
}

func TestBindTLSErrors(t *testing.T) {
	runErrorCases(t, NoResolver, []errCase{
		{"crt without ssl", tlsFE("bind :443 crt a.pem #ERR"), []string{"bind option 'crt' configures TLS, but the line has no 'ssl'", "plaintext"}},
		{"alpn without ssl", tlsFE("bind :443 alpn h2 verify none #ERR"), []string{"bind option 'alpn' configures TLS, but the line has no 'ssl'"}},
		{"ssl without crt", tlsFE("bind :443 ssl #ERR"), []string{"no SSL certificate specified for this bind (use 'crt')"}},
		{"crt without value", tlsFE("bind :443 ssl crt #ERR"), []string{"bind option 'crt' expects a value (FILE|DIR)"}},
		{"alpn empty name", tlsFE("bind :443 ssl crt a.pem alpn h2,,http/1.1 #ERR"), []string{"'alpn h2,,http/1.1': empty protocol name"}},
		{"alpn name too long", tlsFE("bind :443 ssl crt a.pem alpn " + strings.Repeat("x", 256) + " #ERR"), []string{"'alpn': ALPN protocol name too long"}},
		{"version unknown", tlsFE("bind :443 ssl crt a.pem ssl-min-ver TLSv2 #ERR"), []string{"'ssl-min-ver': unknown ssl/tls version 'TLSv2'", "SSLv3, TLSv1.0, TLSv1.1, TLSv1.2 or TLSv1.3"}},
		{"version missing", tlsFE("bind :443 ssl crt a.pem ssl-max-ver #ERR"), []string{"bind option 'ssl-max-ver' expects a value (VERSION)"}},
		{"max below 1.2", tlsFE("bind :443 ssl crt a.pem ssl-max-ver TLSv1.1 #ERR"), []string{"no TLS version fjord serves is left (ssl-max-ver TLSv1.1", "fjord serves TLS 1.2 and 1.3 only"}},
		{"force-tlsv10", tlsFE("bind :443 ssl crt a.pem force-tlsv10 #ERR"), []string{"no TLS version fjord serves is left (ssl-min-ver TLSv1.0, ssl-max-ver TLSv1.0"}},
		{"all versions disabled", tlsFE("bind :443 ssl crt a.pem no-tlsv12 no-tlsv13 #ERR"), []string{"all SSL/TLS versions are disabled ('no-tlsv12', 'no-tlsv13'"}},
		{"min above max", tlsFE("bind :443 ssl crt a.pem ssl-min-ver TLSv1.3 ssl-max-ver TLSv1.2 #ERR"), []string{"all SSL/TLS versions are disabled (ssl-min-ver TLSv1.3, ssl-max-ver TLSv1.2"}},
		{"ciphers unknown", tlsFE("bind :443 ssl crt a.pem ciphers ECDHE-RSA-AES128-GCM #ERR"), []string{"'ciphers': unknown OpenSSL cipher 'ECDHE-RSA-AES128-GCM'"}},
		{"ciphers TLS 1.3 name", tlsFE("bind :443 ssl crt a.pem ciphers TLS_AES_128_GCM_SHA256 #ERR"), []string{"'TLS_AES_128_GCM_SHA256' is a TLS 1.3 suite", "'ciphersuites'"}},
		{"ciphers nothing carried", tlsFE("bind :443 ssl crt a.pem ciphers DHE-RSA-AES256-GCM-SHA384 #ERR"), []string{"'ciphers DHE-RSA-AES256-GCM-SHA384': no cipher fjord can carry is left"}},
		{"ciphers bad command", tlsFE("bind :443 ssl crt a.pem ciphers HIGH:@SPEED #ERR"), []string{"unknown OpenSSL cipher list command '@SPEED'"}},
		{"ciphers bad combination", tlsFE("bind :443 ssl crt a.pem ciphers ECDHE+AESGMC #ERR"), []string{"unknown OpenSSL cipher 'AESGMC'"}},
		{"ciphersuites unknown", tlsFE("bind :443 ssl crt a.pem ciphersuites TLS_AES_128_GCM_SHA384 #ERR"), []string{"unknown TLS 1.3 suite 'TLS_AES_128_GCM_SHA384'"}},
		{"curves unknown", tlsFE("bind :443 ssl crt a.pem curves brainpoolP256r1 #ERR"), []string{"'curves': unknown or unsupported curve 'brainpoolP256r1'"}},
		{"ecdhe list", tlsFE("bind :443 ssl crt a.pem ecdhe X25519:P-256 #ERR"), []string{"'ecdhe': unknown or unsupported curve 'X25519:P-256'"}},
		{"verify bad", tlsFE("bind :443 ssl crt a.pem verify always #ERR"), []string{"unknown verify method 'always', only 'none', 'optional', and 'required' are supported"}},
		{"verify without CA", tlsFE("bind :443 ssl crt a.pem verify required #ERR"), []string{"'verify required': verify is enabled but no CA file specified for this bind (use 'ca-file')"}},
		{"verify optional without CA", tlsFE("bind :443 ssl crt a.pem verify optional crl-file c.pem #ERR"), []string{"verify is enabled but no CA file specified"}},
		{"ca-file unknown name", tlsFE("bind :443 ssl crt a.pem ca-file @system #ERR"), []string{"'ca-file @system': unknown name ('@system-ca', for 'ca-file', is the only one)"}},
		{"crl-file system", tlsFE("bind :443 ssl crt a.pem crl-file @system-ca #ERR"), []string{"'crl-file @system-ca': unknown name"}},
		{"ignore-err out of range", tlsFE("bind :443 ssl crt a.pem verify optional ca-file c ca-ignore-err 10,64 #ERR"), []string{"'ca-ignore-err': ID '64' out of range (1..63) in error IDs list '10,64'"}},
		{"ignore-err word", tlsFE("bind :443 ssl crt a.pem verify optional ca-file c crt-ignore-err none #ERR"), []string{"'crt-ignore-err': ID 'none' out of range"}},
		{"npn", tlsFE("bind :443 ssl crt a.pem npn http/1.1 #ERR"), []string{"'npn' is not supported: NPN was replaced by ALPN", "use 'alpn'"}},
		{"generate-certificates", tlsFE("bind :443 ssl crt a.pem generate-certificates #ERR"), []string{"'generate-certificates' is not supported: fjord signs no certificates on the fly"}},
		{"ca-sign-file", tlsFE("bind :443 ssl crt a.pem ca-sign-file ca.pem #ERR"), []string{"'ca-sign-file' is not supported"}},
		{"ca-sign-pass", tlsFE("bind :443 ssl crt a.pem ca-sign-pass secret #ERR"), []string{"'ca-sign-pass' is not supported"}},
		{"tls-ticket-keys", tlsFE("bind :443 ssl crt a.pem tls-ticket-keys keys.txt #ERR"), []string{"'tls-ticket-keys' is not supported: fjord makes and rotates its session ticket keys itself"}},
		{"unknown TLS-looking option", tlsFE("bind :443 ssl crt a.pem ssl-ktls #ERR"), []string{"unknown bind option 'ssl-ktls'", "for TLS: ssl, crt, crt-list"}},
		{"global versions leave none", tlsGlobal([]string{"  ssl-default-bind-options force-tlsv11"}, "bind :443 ssl crt a.pem #ERR"), []string{"no TLS version fjord serves is left (ssl-min-ver TLSv1.1, ssl-max-ver TLSv1.1, with the global defaults)"}},
	})
}

func TestBindTLSDiagnostics(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []wantDiag
	}{
		{"min below 1.2", tlsFE("bind :443 ssl crt a.pem ssl-min-ver TLSv1.0"),
			[]wantDiag{{Warning, 3, []string{"'ssl-min-ver TLSv1.0': fjord serves TLS 1.2 and 1.3 only; TLSv1.0 below TLSv1.2 are not offered"}}}},
		{"no-* ignored with a minimum", tlsFE("bind :443 ssl crt a.pem ssl-min-ver TLSv1.2 no-tlsv13"),
			[]wantDiag{{Warning, 3, []string{"'no-tlsv13' ignored for this bind", "use only 'ssl-min-ver' and 'ssl-max-ver'"}}}},
		{"no-* ignored with a global minimum", tlsGlobal([]string{"  ssl-default-bind-options ssl-min-ver TLSv1.2"}, "bind :443 ssl crt a.pem no-tlsv12"),
			[]wantDiag{{Warning, 5, []string{"'no-tlsv12' ignored", "ssl-default-bind-options"}}}},
		{"dropped ciphers", tlsFE("bind :443 ssl crt a.pem ciphers ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-SHA:RC4-SHA"),
			[]wantDiag{{Warning, 3, []string{"'ciphers': fjord cannot carry ECDHE-RSA-AES128-SHA, RC4-SHA, left out"}}}},
		{"selection", tlsFE("bind :443 ssl crt a.pem ciphers ECDHE+AESGCM:ECDHE+CHACHA20"),
			[]wantDiag{{Notice, 3, []string{"(ECDHE+AESGCM, ECDHE+CHACHA20)", "fjord offers its own AEAD suites"}}}},
		{"ciphersuites not honored", tlsFE("bind :443 ssl crt a.pem ciphersuites TLS_AES_256_GCM_SHA384"),
			[]wantDiag{{Warning, 3, []string{"'ciphersuites' is not honored", "TLS_AES_128_GCM_SHA256, TLS_CHACHA20_POLY1305_SHA256 stays offered"}}}},
		{"ecdhe beside curves", tlsFE("bind :443 ssl crt a.pem curves X25519 ecdhe prime256v1"),
			[]wantDiag{{Notice, 3, []string{"'ecdhe' changes nothing when 'curves' or 'ssl-default-bind-curves' is set"}}}},
		{"ecdhe beside global curves", tlsGlobal([]string{"  ssl-default-bind-curves X25519"}, "bind :443 ssl crt a.pem ecdhe prime256v1"),
			[]wantDiag{{Notice, 5, []string{"'ecdhe' changes nothing"}}}},
		{"prefer-client-ciphers", tlsFE("bind :443 ssl crt a.pem prefer-client-ciphers"),
			[]wantDiag{{Notice, 3, []string{"'prefer-client-ciphers' changes nothing"}}}},
		{"allow-0rtt", tlsFE("bind :443 ssl crt a.pem allow-0rtt"),
			[]wantDiag{{Notice, 3, []string{"'allow-0rtt' is accepted and changes nothing: crypto/tls has no 0-RTT"}}}},
		{"strict-sni without certificate", tlsFE("bind :443 ssl strict-sni"),
			[]wantDiag{{Warning, 3, []string{"no SSL certificate specified for this bind", "TLS connections will fail (use 'crt')"}}}},
		{"verify options without verify", tlsFE("bind :443 ssl crt a.pem ca-file ca.pem crl-file crl.pem ca-file ca2.pem"),
			[]wantDiag{{Notice, 3, []string{"'ca-file', 'crl-file' changes nothing without 'verify optional' or 'verify required'"}}}},
		{"system CAs for clients", tlsFE("bind :443 ssl crt a.pem verify required ca-file @system-ca"),
			[]wantDiag{{Warning, 3, []string{"'ca-file @system-ca' on a bind accepts a client certificate from any CA this system trusts"}}}},
		{"h2 in mode http", tlsFE("bind :443 ssl crt a.pem alpn h2,http/1.1"),
			[]wantDiag{{Warning, 3, []string{"frontend 'fe': 'alpn' offers 'h2', but fjord speaks HTTP/1.1 only in mode http"}}}},
		{"h2 once per line", tlsFE("bind :443,:444 ssl crt a.pem alpn h2"),
			[]wantDiag{{Warning, 3, []string{"'h2' is left out"}}}},
		{"global after the bind", lines("frontend fe", "  mode http", "  bind :443 ssl crt a.pem", "  default_backend be", "backend be", "  mode http", "global", "  crt-base /etc/certs", "  ssl-default-bind-ciphers ECDHE-RSA-AES128-GCM-SHA256"),
			[]wantDiag{
				{Warning, 8, []string{"'crt-base' applies only to the bind and server lines after it, as in HAProxy: the TLS settings at test.cfg:3 were read before it"}},
				{Warning, 9, []string{"'ssl-default-bind-ciphers' applies only to the bind and server lines after it"}},
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkDiags(t, mustParse(t, tc.text), tc.text, tc.want)
		})
	}
	// h2 stays in mode tcp, and leaves mode http.
	cfg := mustParse(t, lines("listen l", "  bind :443 ssl crt a.pem alpn h2,http/1.1"))
	if got := cfg.Proxies[0].Binds[0].TLS.ALPN; !reflect.DeepEqual(got, []string{"h2", "http/1.1"}) {
		t.Errorf("mode tcp ALPN = %q", got)
	}
	cfg = mustParse(t, tlsFE("bind :443 ssl crt a.pem alpn h2,http/1.1"))
	if got := cfg.Proxies[0].Binds[0].TLS.ALPN; !reflect.DeepEqual(got, []string{"http/1.1"}) {
		t.Errorf("mode http ALPN = %q", got)
	}
	cfg = mustParse(t, tlsFE("bind :443 ssl crt a.pem alpn h2"))
	if got := cfg.Proxies[0].Binds[0].TLS.ALPN; got != nil {
		t.Errorf("mode http ALPN h2 alone = %q, want none", got)
	}
}
