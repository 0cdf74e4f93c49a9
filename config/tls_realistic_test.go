package config

import (
	"reflect"
	"testing"
)

// The configuration of the issue, as a user would write it.
func TestRealisticTLSConfiguration(t *testing.T) {
	text := realisticTLSConfig
	cfg := mustParse(t, text)
	fe := proxy(t, cfg, "frontend", "www")
	b := fe.Binds[1].TLS
	wantCerts := []CertSource{{Pos: at(11), Path: "/etc/fjord/certs/site.pem"}, {Pos: at(11), Path: "/etc/fjord/certs/other-site.pem"}}
	if !reflect.DeepEqual(b.Certs, wantCerts) || b.MinVersion != TLSv12 || b.MaxVersion != TLSv13 || !b.NoTLSTickets ||
		!reflect.DeepEqual(b.ALPN, []string{"http/1.1"}) || !reflect.DeepEqual(b.CipherSuites, DefaultCipherSuites()) {
		t.Errorf("bind TLS = %+v", *b)
	}
	if fe.Binds[0].TLS != nil {
		t.Errorf("plain bind has TLS")
	}
	s := cfg.Backend("web").Servers[0]
	want := ServerTLS{Traffic: true, Checks: true, Verify: VerifyRequired, CAFile: "/etc/ssl/certs/ca-certificates.crt",
		SNI: SNIExpr{Source: SNIHostHeader}, MinVersion: TLSv12, MaxVersion: TLSv13, CipherSuites: DefaultCipherSuites()}
	if !s.Check || s.TLS == nil || !reflect.DeepEqual(*s.TLS, want) {
		t.Errorf("server TLS = %+v, want %+v", s.TLS, want)
	}
	checkDiags(t, cfg, text, []wantDiag{
		{Warning, 11, []string{"'alpn' offers 'h2'"}},
		{Notice, 18, []string{"layer-7 check"}},
	})
}

// realisticTLSConfig is the configuration of the issue that asked for
// TLS: Mozilla's modern settings, two certificates, and verified servers.
const realisticTLSConfig = `global
  ssl-default-bind-options ssl-min-ver TLSv1.2 no-tls-tickets
  ssl-default-bind-ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256
  ssl-default-server-ciphersuites TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256
  crt-base /etc/fjord/certs
defaults
  mode http
  timeout connect 5s
frontend www
  bind :80
  bind :443 ssl crt site.pem crt other-site.pem alpn h2,http/1.1
  default_backend web
backend web
  option httpchk GET /health
  http-check expect status 200
  server web01 10.0.0.2:443 ssl verify required ca-file /etc/ssl/certs/ca-certificates.crt sni req.hdr(host) check check-ssl
backend probe
  server p1 10.0.0.3:443 ssl verify none check
`
