package config

import (
	"crypto/tls"
	"reflect"
	"strings"
	"testing"
)

// serverTLS is what 'ssl verify none' yields.
func serverTLS() ServerTLS {
	return ServerTLS{Traffic: true, Verify: VerifyNone, MinVersion: TLSv12, MaxVersion: TLSv13, CipherSuites: DefaultCipherSuites()}
}

func TestServerTLS(t *testing.T) {
	tests := []struct {
		opts string
		want func(s *ServerTLS)
	}{
		{"ssl verify none", func(*ServerTLS) {}},
		{"ssl verify none check", func(s *ServerTLS) { s.Checks = true }},
		{"ssl verify none check port 8443", func(*ServerTLS) {}},
		{"ssl verify none check addr 10.0.0.9", func(*ServerTLS) {}},
		{"ssl verify none check port 8443 check-ssl", func(s *ServerTLS) { s.Checks = true }},
		{"ssl verify none check-ssl", func(*ServerTLS) {}},
		{"ssl verify none check no-check-ssl", func(*ServerTLS) {}},
		{"check check-ssl verify none", func(s *ServerTLS) { s.Traffic, s.Checks = false, true }},
		{"ssl ca-file /etc/ssl/ca.pem", func(s *ServerTLS) { s.Verify, s.CAFile = VerifyRequired, "/etc/ssl/ca.pem" }},
		{"ssl verify required ca-file ca.pem", func(s *ServerTLS) { s.Verify, s.CAFile = VerifyRequired, "ca.pem" }},
		{"ssl ca-file @system-ca", func(s *ServerTLS) { s.Verify, s.SystemCAs = VerifyRequired, true }},
		{"ssl verify none crl-file crl.pem crt client.pem", func(s *ServerTLS) { s.CRLFile, s.Cert = "crl.pem", "client.pem" }},
		{"ssl verify none verifyhost api.example.com", func(s *ServerTLS) { s.VerifyHost = "api.example.com" }},
		{"ssl verify none sni str(api.example.com)", func(s *ServerTLS) { s.SNI = SNIExpr{Source: SNIText, Text: "api.example.com"} }},
		{"ssl verify none sni req.hdr(host)", func(s *ServerTLS) { s.SNI = SNIExpr{Source: SNIHostHeader} }},
		{"ssl verify none sni req.hdr(Host)", func(s *ServerTLS) { s.SNI = SNIExpr{Source: SNIHostHeader} }},
		{"ssl verify none alpn http/1.1", func(s *ServerTLS) { s.ALPN = []string{"http/1.1"} }},
		{"ssl verify none check check-sni health.example.com check-alpn http/1.0", func(s *ServerTLS) {
			s.Checks, s.CheckSNI, s.CheckALPN = true, "health.example.com", []string{"http/1.0"}
		}},
		{"ssl verify none ssl-min-ver TLSv1.3", func(s *ServerTLS) { s.MinVersion = TLSv13 }},
		{"ssl verify none ssl-max-ver TLSv1.2", func(s *ServerTLS) { s.MaxVersion = TLSv12 }},
		{"ssl verify none force-tlsv13", func(s *ServerTLS) { s.MinVersion = TLSv13 }},
		{"ssl verify none no-tlsv13", func(s *ServerTLS) { s.MaxVersion = TLSv12 }},
		{"ssl verify none no-sslv3 no-tlsv10 no-tlsv11", func(*ServerTLS) {}},
		{"ssl verify none ciphers ECDHE-ECDSA-CHACHA20-POLY1305", func(s *ServerTLS) { s.CipherSuites = []uint16{ecdsaCC} }},
		{"ssl verify none ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256", func(*ServerTLS) {}},
		{"ssl verify none no-tls-tickets", func(s *ServerTLS) { s.NoTLSTickets = true }},
		{"ssl verify none no-tls-tickets tls-tickets", func(*ServerTLS) {}},
		{"ssl verify none no-ssl-reuse", func(s *ServerTLS) { s.NoSSLReuse = true }},
		{"ssl verify none no-ssl-reuse ssl-reuse", func(*ServerTLS) {}},
		{"no-ssl ssl verify none", func(*ServerTLS) {}},
	}
	for _, tc := range tests {
		t.Run(tc.opts, func(t *testing.T) {
			cfg, errs := parseWith(t, testResolver(), backendCfg("server s1 10.0.0.2:443 "+tc.opts))
			if errs != nil {
				t.Fatalf("errors: %v", errs)
			}
			want := serverTLS()
			tc.want(&want)
			if got := cfg.Backend("be").Servers[0].TLS; got == nil || !reflect.DeepEqual(*got, want) {
				t.Errorf("TLS =\n%+v\nwant\n%+v", got, want)
			}
		})
	}
	// Without ssl or check-ssl, no TLS, even with a default-server that
	// prepares it.
	for _, text := range []string{
		backendCfg("server s1 10.0.0.2:80 check"),
		backendCfg("server s1 10.0.0.2:80 ssl no-ssl"),
		backendCfg("server s1 10.0.0.2:80 check-ssl verify none"),
		backendCfg("default-server ca-file ca.pem verify required sni str(x)", "server s1 10.0.0.2:80"),
		backendCfg("default-server ssl verify none", "server s1 10.0.0.2:80 no-ssl"),
	} {
		cfg := mustParse(t, text)
		if s := cfg.Backend("be").Servers[0]; s.TLS != nil {
			t.Errorf("%s\nTLS = %+v, want nil", numbered(text), *s.TLS)
		}
		if d := cfg.Backend("be").DefaultServer; d.TLS != nil {
			t.Errorf("default-server TLS = %+v, want nil", *d.TLS)
		}
	}
}

// default-server lines and defaults sections hand TLS options to the
// servers after them; each server has its own copy.
func TestDefaultServerTLS(t *testing.T) {
	text := lines(
		"defaults",
		"  mode http",
		"  default-server ssl verify required ca-file ca.pem",
		"frontend fe",
		"  bind 127.0.0.1:8000",
		"  default_backend be",
		"backend be",
		"  server a 10.0.0.1:443 alpn http/1.1",
		"  default-server sni str(be.example) ssl-min-ver TLSv1.3",
		"  server b 10.0.0.2:443 verify none",
		"  server c 10.0.0.3:80 no-ssl verify none",
		"backend other",
		"  server d 10.0.0.4:443",
	)
	cfg := mustParse(t, text)
	be := cfg.Backend("be")
	a, b, c := be.Servers[0].TLS, be.Servers[1].TLS, be.Servers[2].TLS
	if a == nil || a.Verify != VerifyRequired || a.CAFile != "ca.pem" || !reflect.DeepEqual(a.ALPN, []string{"http/1.1"}) || a.SNI.Source != SNINone || a.MinVersion != TLSv12 {
		t.Errorf("a = %+v", a)
	}
	if b == nil || b.Verify != VerifyNone || b.CAFile != "ca.pem" || b.ALPN != nil || b.SNI != (SNIExpr{Source: SNIText, Text: "be.example"}) || b.MinVersion != TLSv13 {
		t.Errorf("b = %+v", b)
	}
	if c != nil {
		t.Errorf("c = %+v, want no TLS", c)
	}
	if d := cfg.Backend("other").Servers[0].TLS; d == nil || d.SNI.Source != SNINone || d.MinVersion != TLSv12 || d.CAFile != "ca.pem" {
		t.Errorf("d = %+v", d)
	}
}

// 'no-ssl-reuse' on a default-server reaches its servers, and
// 'ssl-reuse' on a server line undoes it, as in HAProxy.
func TestServerSSLReuse(t *testing.T) {
	cfg := mustParse(t, backendCfg("default-server ssl verify none no-ssl-reuse", "server a 10.0.0.1:443", "server b 10.0.0.2:443 ssl-reuse", "server c 10.0.0.3:80 no-ssl ssl-reuse"))
	be := cfg.Backend("be")
	if a := be.Servers[0].TLS; a == nil || !a.NoSSLReuse {
		t.Errorf("a = %+v, want no-ssl-reuse from its default-server", a)
	}
	if b := be.Servers[1].TLS; b == nil || b.NoSSLReuse {
		t.Errorf("b = %+v, want ssl-reuse", b)
	}
	if c := be.Servers[2].TLS; c != nil {
		t.Errorf("c = %+v, want no TLS", c)
	}
}

func TestServerTLSErrors(t *testing.T) {
	const lanAdvice = "verify is enabled by default but no CA file specified. If you're running on a LAN where you're certain to trust the server's certificate, please set an explicit 'verify none' statement on the 'server' line, or use 'ssl-server-verify none' in the global section to disable server-side verifications by default"
	runErrorCases(t, NoResolver, []errCase{
		{"ssl without CA", backendCfg("server s1 10.0.0.2:443 ssl #ERR"), []string{"server 's1': " + lanAdvice}},
		{"check-ssl without CA", backendCfg("server s1 10.0.0.2:443 check check-ssl #ERR"), []string{lanAdvice}},
		{"default-server ssl without CA", backendCfg("default-server ssl", "server s1 10.0.0.2:443 #ERR", "server s2 10.0.0.3:443 verify none"), []string{"server 's1': " + lanAdvice}},
		{"no-ssl after default-server ssl", backendCfg("default-server ssl", "server s1 10.0.0.2:80 no-ssl #ERR"), []string{lanAdvice, "the server says 'no-ssl', but HAProxy 2.6 prepares the TLS settings"}},
		{"explicit verify without CA", tlsGlobal([]string{"  ssl-server-verify none"}, "bind :80", "  server s1 10.0.0.2:443 ssl verify required #ERR"), []string{"server 's1': verify is enabled but no CA file specified"}},
		{"verify optional", backendCfg("server s1 10.0.0.2:443 ssl verify optional #ERR"), []string{"server 's1'", "unknown verify method 'optional', only 'none' and 'required' are supported"}},
		{"verify missing", backendCfg("server s1 10.0.0.2:443 ssl verify #ERR"), []string{"option 'verify' expects a value (none|required)"}},
		{"sni other fetch", backendCfg("server s1 10.0.0.2:443 ssl verify none sni ssl_fc_sni #ERR"), []string{"'sni ssl_fc_sni': fjord supports only str(NAME) and req.hdr(host)"}},
		{"sni converter", backendCfg("server s1 10.0.0.2:443 ssl verify none sni req.hdr(host),lower #ERR"), []string{"'sni req.hdr(host),lower': fjord supports only"}},
		{"sni other header", backendCfg("server s1 10.0.0.2:443 ssl verify none sni req.hdr(x-host) #ERR"), []string{"'sni req.hdr(x-host)'"}},
		{"sni empty str", backendCfg("server s1 10.0.0.2:443 ssl verify none sni str() #ERR"), []string{"'sni str()': empty name"}},
		{"sni bad name", backendCfg("server s1 10.0.0.2:443 ssl verify none sni str(a/b) #ERR"), []string{"'sni str(a/b)': invalid character '/' in host name 'a/b'"}},
		{"sni host header in tcp", tcpBE("  server s1 10.0.0.2:443 ssl verify none sni req.hdr(host) #ERR"), []string{"server 's1': 'sni req.hdr(host)' reads the HTTP request and needs 'mode http'"}},
		{"check-sni bad", backendCfg("server s1 10.0.0.2:443 ssl verify none check-sni a,b #ERR"), []string{"'check-sni a,b': invalid character ','"}},
		{"verifyhost bad", backendCfg("server s1 10.0.0.2:443 ssl verify none verifyhost 'a b' #ERR"), []string{"'verifyhost a b': invalid character ' '"}},
		{"alpn empty", backendCfg("server s1 10.0.0.2:443 ssl verify none alpn , #ERR"), []string{"'alpn ,': empty protocol name"}},
		{"no-tlsv10 on default-server", backendCfg("default-server ssl no-tlsv10 #ERR"), []string{"default-server: 'no-tlsv10' option is not accepted in default-server sections"}},
		{"max version below 1.2", backendCfg("server s1 10.0.0.2:443 ssl verify none ssl-max-ver TLSv1.0 #ERR"), []string{"server 's1': no TLS version fjord serves is left", "fjord serves TLS 1.2 and 1.3 only"}},
		{"global max version below 1.2", tlsGlobal([]string{"  ssl-default-server-options force-tlsv11"}, "bind :80", "  server s1 10.0.0.2:443 ssl verify none #ERR"), []string{"no TLS version fjord serves is left (ssl-min-ver TLSv1.1, ssl-max-ver TLSv1.1, with the global defaults)"}},
		{"ciphers nothing carried", backendCfg("server s1 10.0.0.2:443 ssl verify none ciphers AES128-GCM-SHA256 #ERR"), []string{"'ciphers AES128-GCM-SHA256': no cipher fjord can carry is left"}},
		{"npn", backendCfg("server s1 10.0.0.2:443 ssl verify none npn h2 #ERR"), []string{"'npn' is not supported"}},
		{"TLS option without ssl", backendCfg("server s1 10.0.0.2:80 verify none #ERR"), []string{"server 's1': option 'verify' configures TLS, but the server uses none: add 'ssl'"}},
		{"sni without ssl", backendCfg("server s1 10.0.0.2:80 check sni str(a) #ERR"), []string{"option 'sni' configures TLS"}},
		{"check-sni without TLS checks", backendCfg("server s1 10.0.0.2:443 ssl verify none check port 80 check-sni a #ERR"), []string{"server 's1': option 'check-sni' configures TLS health checks, but this server's checks do not use TLS", "add 'check-ssl'"}},
		{"check-alpn with no-check-ssl", backendCfg("server s1 10.0.0.2:443 ssl verify none check no-check-ssl check-alpn http/1.1 #ERR"), []string{"option 'check-alpn' configures TLS health checks"}},
		{"unknown option", backendCfg("server s1 10.0.0.2:443 ssl verify none ssl-verify #ERR"), []string{"unknown option 'ssl-verify'", "for TLS: ssl, no-ssl, check-ssl"}},
	})
}

func TestServerTLSDiagnostics(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []wantDiag
	}{
		{"min below 1.2", backendCfg("server s1 10.0.0.2:443 ssl verify none ssl-min-ver TLSv1.1"),
			[]wantDiag{{Warning, 7, []string{"'ssl-min-ver TLSv1.1': fjord connects to servers with TLS 1.2 and 1.3 only"}}}},
		{"no-* ignored", backendCfg("server s1 10.0.0.2:443 ssl verify none ssl-max-ver TLSv1.3 no-tlsv12"),
			[]wantDiag{{Warning, 7, []string{"server 's1': 'no-tlsv12' ignored", "use only 'ssl-min-ver' and 'ssl-max-ver'"}}}},
		{"allow-0rtt", backendCfg("server s1 10.0.0.2:443 ssl verify none allow-0rtt"),
			[]wantDiag{{Notice, 7, []string{"'allow-0rtt' is accepted and changes nothing: crypto/tls sends no early data"}}}},
		{"dropped ciphers", backendCfg("server s1 10.0.0.2:443 ssl verify none ciphers ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-SHA256"),
			[]wantDiag{{Warning, 7, []string{"fjord cannot carry ECDHE-RSA-AES128-SHA256"}}}},
		{"ciphersuites", backendCfg("server s1 10.0.0.2:443 ssl verify none ciphersuites TLS_AES_128_GCM_SHA256"),
			[]wantDiag{{Warning, 7, []string{"'ciphersuites' is not honored"}}}},
		{"h2 to servers", backendCfg("server s1 10.0.0.2:443 ssl verify none alpn h2,http/1.1 check check-alpn h2", "option tcp-check"),
			[]wantDiag{
				{Warning, 7, []string{"server 's1': 'alpn' offers 'h2', but fjord speaks HTTP/1.1 only in mode http"}},
				{Warning, 7, []string{"server 's1': 'check-alpn' offers 'h2'"}},
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkDiags(t, mustParse(t, tc.text), tc.text, tc.want)
		})
	}
}

// The global defaults reach every 'ssl' bind and server that does not set
// the option itself; what the line sets wins; no-* and no-tls-tickets
// add up.
func TestTLSDefaultsMerge(t *testing.T) {
	g := []string{
		"  ssl-default-bind-options ssl-min-ver TLSv1.3 no-tls-tickets",
		"  ssl-default-bind-ciphers ECDHE-RSA-AES256-GCM-SHA384",
		"  ssl-default-bind-curves X25519",
		"  ssl-default-server-options no-tlsv13 no-tls-tickets",
		"  ssl-default-server-ciphers ECDHE-ECDSA-AES128-GCM-SHA256",
		"  ssl-server-verify none",
	}
	text := tlsGlobal(g, "bind :443 ssl crt a.pem",
		"  server plain 10.0.0.1:443 ssl",
		"  server own 10.0.0.2:443 ssl ciphers ECDHE-RSA-CHACHA20-POLY1305 ssl-min-ver TLSv1.2 tls-tickets verify required ca-file ca.pem",
		"  server before 10.0.0.3:443 tls-tickets ssl",
		"  server none 10.0.0.4:80",
	) + lines(
		"frontend own",
		"  mode http",
		"  bind :444 ssl crt a.pem ssl-min-ver TLSv1.2 ciphers ECDHE-ECDSA-CHACHA20-POLY1305 curves P-256",
		"  default_backend be",
	)
	cfg := mustParse(t, text)

	b := proxy(t, cfg, "frontend", "fe").Binds[0].TLS
	wantB := BindTLS{Certs: []CertSource{{Pos: at(10), Path: "a.pem"}}, MinVersion: TLSv13, MaxVersion: TLSv13,
		CipherSuites: []uint16{rsa256}, Curves: []tls.CurveID{tls.X25519}, NoTLSTickets: true}
	if !reflect.DeepEqual(*b, wantB) {
		t.Errorf("bind with the defaults =\n%+v\nwant\n%+v", *b, wantB)
	}
	b = proxy(t, cfg, "frontend", "own").Binds[0].TLS
	wantB = BindTLS{Certs: []CertSource{{Pos: at(21), Path: "a.pem"}}, MinVersion: TLSv12, MaxVersion: TLSv13,
		CipherSuites: []uint16{ecdsaCC}, Curves: []tls.CurveID{tls.CurveP256}, NoTLSTickets: true}
	if !reflect.DeepEqual(*b, wantB) {
		t.Errorf("bind with its own settings =\n%+v\nwant\n%+v", *b, wantB)
	}

	srv := cfg.Backend("be").Servers
	want := ServerTLS{Traffic: true, Verify: VerifyNone, MinVersion: TLSv12, MaxVersion: TLSv12, CipherSuites: []uint16{ecdsa128}, NoTLSTickets: true}
	if !reflect.DeepEqual(*srv[0].TLS, want) {
		t.Errorf("server with the defaults =\n%+v\nwant\n%+v", *srv[0].TLS, want)
	}
	// Its own ssl-min-ver makes HAProxy ignore the no-tlsv13 it took
	// (with a warning); tls-tickets after 'ssl' undoes the default's.
	want = ServerTLS{Traffic: true, Verify: VerifyRequired, CAFile: "ca.pem", MinVersion: TLSv12, MaxVersion: TLSv13, CipherSuites: []uint16{rsaCC}}
	if !reflect.DeepEqual(*srv[1].TLS, want) {
		t.Errorf("server with its own settings =\n%+v\nwant\n%+v", *srv[1].TLS, want)
	}
	// tls-tickets before 'ssl' is undone by the defaults 'ssl' applies,
	// as in HAProxy.
	if !srv[2].TLS.NoTLSTickets {
		t.Errorf("server with tls-tickets before ssl: %+v", *srv[2].TLS)
	}
	if srv[3].TLS != nil {
		t.Errorf("server without ssl: %+v", *srv[3].TLS)
	}
	checkDiags(t, cfg, text, []wantDiag{{Warning, 16, []string{"server 'own': 'no-tlsv13' ignored"}}})

	// Defaults read after a line do not reach it (HAProxy reads them at
	// each line), and say so.
	text = lines("frontend fe", "  mode http", "  bind :443 ssl crt a.pem", "  default_backend be", "backend be", "  mode http",
		"  server s 10.0.0.1:443 ssl verify none",
		"global", "  ssl-default-bind-options no-tlsv12", "  ssl-default-server-options no-tlsv12", "  ssl-server-verify required")
	cfg = mustParse(t, text)
	if b := cfg.Proxies[0].Binds[0].TLS; b.MinVersion != TLSv12 {
		t.Errorf("bind took a default read after it: %+v", *b)
	}
	if s := cfg.Backend("be").Servers[0].TLS; s.MinVersion != TLSv12 || s.Verify != VerifyNone {
		t.Errorf("server took a default read after it: %+v", *s)
	}
	checkDiags(t, cfg, text, []wantDiag{
		{Warning, 9, []string{"'ssl-default-bind-options' applies only to the bind and server lines after it"}},
		{Warning, 10, []string{"'ssl-default-server-options' applies only"}},
	})

	// ssl-server-verify applies wherever it stands, as in HAProxy.
	text = backendCfg("server s 10.0.0.1:443 ssl") + lines("global", "  ssl-server-verify none")
	if s := mustParse(t, text).Backend("be").Servers[0].TLS; s.Verify != VerifyNone {
		t.Errorf("ssl-server-verify after the server: %+v", *s)
	}
}

// Relative crt paths are read from crt-base, CA and CRL paths from
// ca-base, as HAProxy does; absolute ones, crt-list files and @system-ca
// are not rebased.
func TestTLSPathRebasing(t *testing.T) {
	text := tlsGlobal([]string{"  crt-base /etc/fjord/certs", "  ca-base /etc/fjord/ca/"},
		"bind :443 ssl crt site.pem crt /abs/other.pem crt sub/dir crt-list list.txt crt-list /l.txt verify optional ca-file clients.pem ca-verify-file root.pem crl-file revoked.crl",
		"  server a 10.0.0.1:443 ssl crt client.pem ca-file ca.pem crl-file crl.pem",
		"  server b 10.0.0.2:443 ssl crt /abs/client.pem ca-file @system-ca crl-file /abs/crl.pem",
		"  server c 10.0.0.3:443 ssl ca-file ../ca.pem",
	)
	cfg := mustParse(t, text)
	b := cfg.Proxies[0].Binds[0].TLS
	var paths []string
	for _, c := range b.Certs {
		paths = append(paths, c.Path)
	}
	if want := []string{"/etc/fjord/certs/site.pem", "/abs/other.pem", "/etc/fjord/certs/sub/dir", "list.txt", "/l.txt"}; !reflect.DeepEqual(paths, want) {
		t.Errorf("bind certificates = %q, want %q", paths, want)
	}
	if b.CAFile != "/etc/fjord/ca/clients.pem" || b.CAVerifyFile != "/etc/fjord/ca/root.pem" || b.CRLFile != "/etc/fjord/ca/revoked.crl" {
		t.Errorf("bind CA paths = %q %q %q", b.CAFile, b.CAVerifyFile, b.CRLFile)
	}
	srv := cfg.Backend("be").Servers
	if s := srv[0].TLS; s.Cert != "/etc/fjord/certs/client.pem" || s.CAFile != "/etc/fjord/ca/ca.pem" || s.CRLFile != "/etc/fjord/ca/crl.pem" {
		t.Errorf("server a paths = %q %q %q", s.Cert, s.CAFile, s.CRLFile)
	}
	if s := srv[1].TLS; s.Cert != "/abs/client.pem" || s.CAFile != "" || !s.SystemCAs || s.CRLFile != "/abs/crl.pem" {
		t.Errorf("server b paths = %q %q %v %q", s.Cert, s.CAFile, s.SystemCAs, s.CRLFile)
	}
	// Joined as written, as HAProxy does: nothing is cleaned.
	if s := srv[2].TLS; s.CAFile != "/etc/fjord/ca/../ca.pem" {
		t.Errorf("server c CA = %q", s.CAFile)
	}

	// Without bases, paths are as written.
	cfg = mustParse(t, tlsFE("bind :443 ssl crt site.pem verify required ca-file ca.pem"))
	if b := cfg.Proxies[0].Binds[0].TLS; b.Certs[0].Path != "site.pem" || b.CAFile != "ca.pem" {
		t.Errorf("without bases: %+v", *b)
	}
	for _, tc := range []struct{ base, path, want string }{
		{"/b", "x.pem", "/b/x.pem"}, {"/b", "/x.pem", "/x.pem"}, {"", "x.pem", "x.pem"},
		{"/b", "@system-ca", "@system-ca"}, {"rel", "x", "rel/x"}, {"/", "x", "//x"},
	} {
		if got := rebase(tc.base, tc.path); got != tc.want {
			t.Errorf("rebase(%q, %q) = %q, want %q", tc.base, tc.path, got, tc.want)
		}
	}
}

func TestParseSNIExpr(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want SNIExpr
		err  string
	}{
		{in: "str(example.com)", want: SNIExpr{Source: SNIText, Text: "example.com"}},
		{in: "str(a_b-c.d)", want: SNIExpr{Source: SNIText, Text: "a_b-c.d"}},
		{in: "req.hdr(host)", want: SNIExpr{Source: SNIHostHeader}},
		{in: "req.hdr(HOST)", want: SNIExpr{Source: SNIHostHeader}},
		{in: "REQ.HDR(host)", err: "fjord supports only"},
		{in: "hdr(host)", err: "fjord supports only"},
		{in: "str(a", err: "fjord supports only"},
		{in: "str()", err: "empty name"},
		{in: "str(" + strings.Repeat("a", 254) + ")", err: "longer than 253"},
		{in: "str(a,b)", err: "invalid character ','"},
		{in: "", err: "fjord supports only"},
	} {
		got, err := parseSNIExpr(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "'sni "+tc.in+"'") {
				t.Errorf("%q: error %v, want %q naming the expression", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
		if again, err := parseSNIExpr(got.String()); err != nil || again != got {
			t.Errorf("%q: String() %q does not read back: %+v, %v", tc.in, got.String(), again, err)
		}
	}
}

func TestTLSStringers(t *testing.T) {
	if TLSv12.String() != "TLSv1.2" || SSLv3.String() != "SSLv3" || TLSv13.Wire() != tls.VersionTLS13 || SSLv3.Wire() != 0x0300 || TLSVersionUnset.Wire() != 0 {
		t.Error("TLSVersion")
	}
	if VerifyOptional.String() != "optional" || KTLSAuto.String() != "auto" {
		t.Error("VerifyMode, KTLSMode")
	}
	for e, s := range map[ExtraFiles]string{ExtraNone: "none", ExtraAll: "all", ExtraOCSP | ExtraKey: "ocsp key"} {
		if e.String() != s {
			t.Errorf("ExtraFiles(%d) = %q, want %q", e, e.String(), s)
		}
	}
	if (SNIExpr{}).String() != "" {
		t.Error("SNIExpr")
	}
	if !AllVerifyErrors.Has(63) || VerifyErrors(1<<10).Has(11) || !VerifyErrors(1<<10).Has(10) || AllVerifyErrors.Has(64) {
		t.Error("VerifyErrors.Has")
	}
}
