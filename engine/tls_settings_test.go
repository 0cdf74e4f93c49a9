package engine

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/tls/settings"
	"github.com/fjordlb/fjord/tls/testcert"
)

// The tests of this file run TLS binds as cmd/fjord builds them from a
// configuration's bind lines, with tls/settings.

// startSettingsEngine runs cfgText, in which %[1]s is the path of a
// certificate file for fjord.test (and %[2]s... are args), with its TLS
// binds built by tls/settings. It returns the engine, its first bind's
// address, and a client configuration that trusts the certificate.
func startSettingsEngine(t testing.TB, cfgText string, args ...any) (*Engine, string, *tls.Config) {
	t.Helper()
	cert, roots := testcert.SelfSigned(t, "fjord.test")
	file := filepath.Join(t.TempDir(), "site.pem")
	if err := os.WriteFile(file, testcert.PEM(t, cert), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgText = fmt.Sprintf(cfgText, append([]any{file}, args...)...)
	cfg, err := config.Parse("test.cfg", []byte(cfgText), config.Options{Resolver: config.NoResolver})
	if err != nil {
		t.Fatalf("config: %v\n%s", err, cfgText)
	}
	set, err := settings.Build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e, addr := startParsed(t, cfg, Options{TLS: set.Binds})
	return e, addr, &tls.Config{RootCAs: roots, ServerName: "fjord.test"}
}

// httpsFrontend is an http frontend with one TLS bind line ending in
// options, in front of web.
func httpsFrontend(t testing.TB, options, web string) string {
	return fmt.Sprintf(`global
  nbthread 2
defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
frontend www
  bind 127.0.0.1:%d ssl crt %%[1]s %s
  default_backend web
backend web
  server w %s
`, freePort(t), options, web)
}

// exchange talks HTTP through a new TLS connection: a GET, and a POST
// whose body and its echo take many records each way. It says whether
// the connection resumed a session.
func exchange(t *testing.T, addr string, cli *tls.Config) bool {
	t.Helper()
	c := tlsDial(t, addr, cli)
	defer c.Close()
	br := bufio.NewReader(c)
	if resp, body := httpRoundTrip(t, c, br, "GET /a HTTP/1.1\r\nHost: fjord.test\r\n\r\n"); resp.StatusCode != 200 || body != "web01 GET /a" {
		t.Fatalf("GET /a: %d %q", resp.StatusCode, body)
	}
	payload := strings.Repeat("0123456789abcdef", 20000) // 320 KB: some 20 records
	resp, body := httpRoundTrip(t, c, br, fmt.Sprintf("POST /echo HTTP/1.1\r\nHost: fjord.test\r\nContent-Length: %d\r\n\r\n%s", len(payload), payload))
	if resp.StatusCode != 200 || body != payload {
		t.Fatalf("POST /echo: %d, %d bytes of %d back", resp.StatusCode, len(body), len(payload))
	}
	return c.ConnectionState().DidResume
}

// A TLS 1.2 client resumes its session with the ticket of a bind line,
// and HTTP goes both ways through the resumed session; with
// 'no-tls-tickets' it does not resume. TLS 1.3 alike.
func TestTLSResumptionFromConfiguration(t *testing.T) {
	web := webNode(t, "web01")
	for _, tc := range []struct {
		options string
		version uint16
		resumed bool
	}{
		{"", tls.VersionTLS12, true},
		{"no-tls-tickets", tls.VersionTLS12, false},
		{"", tls.VersionTLS13, true},
		{"no-tls-tickets", tls.VersionTLS13, false},
	} {
		t.Run(strings.TrimSpace(tls.VersionName(tc.version)+" "+tc.options), func(t *testing.T) {
			_, addr, cli := startSettingsEngine(t, httpsFrontend(t, tc.options, web))
			cli.MinVersion, cli.MaxVersion = tc.version, tc.version
			cli.ClientSessionCache = tls.NewLRUClientSessionCache(1)
			for i, want := range []bool{false, tc.resumed, tc.resumed} {
				if got := exchange(t, addr, cli); got != want {
					t.Fatalf("connection %d resumed: %v, want %v", i+1, got, want)
				}
			}
		})
	}
}

// The reuse counter (SslFrontendSessionReuse_pct) counts resumed TLS
// 1.2 sessions: a full handshake and a resumed one within the same
// second make 50%. The rates are per second of the wall clock, so an
// attempt whose connections straddle a second is made again.
func TestTLS12ReuseCounted(t *testing.T) {
	web := webNode(t, "web01")
	for attempt := 0; ; attempt++ {
		e, addr, cli := startSettingsEngine(t, httpsFrontend(t, "", web))
		cli.MaxVersion = tls.VersionTLS12
		cli.ClientSessionCache = tls.NewLRUClientSessionCache(1)
		start := time.Now().Unix()
		// A round trip on each: the handshake is counted before the
		// session serves anything.
		full, resumed := exchange(t, addr, cli), exchange(t, addr, cli)
		st := e.TLSStats()
		if time.Now().Unix() != start && attempt < 10 {
			continue
		}
		if full || !resumed {
			t.Fatalf("resumed: %v, then %v", full, resumed)
		}
		if st.Cumulative != 2 || st.Rate != 2 || st.FrontendKeyRate != 1 || st.FrontendReusePct != 50 {
			t.Fatalf("%+v, want 2 sessions, 1 full handshake, 50%% reused", st)
		}
		return
	}
}

// ssl_c_verify is the verification result of the client's certificate,
// as HAProxy's: 0 for one that verified, and for none; the code of the
// error 'crt-ignore-err' let pass (21, then 10: the last one OpenSSL
// met); the same in a session resumed from a ticket. A certificate whose
// errors are not all ignored fails the handshake.
func TestSSLCVerify(t *testing.T) {
	text := fmt.Sprintf(`defaults
  mode http
  timeout connect 2s
  timeout client 10s
  timeout server 10s
frontend www
  bind 127.0.0.1:%d ssl crt %%[1]s verify optional ca-file %%[2]s crt-ignore-err 10,20,21
  use_backend stranger if { ssl_c_verify 21 }
  use_backend expired if { ssl_c_verify 10 }
  use_backend verified if { ssl_c_verify 0 } { ssl_c_used }
  use_backend anonymous if { ssl_c_verify 0 }
backend stranger
  server s %s
backend expired
  server s %s
backend verified
  server s %s
backend anonymous
  server s %s
`, freePort(t), webNode(t, "stranger"), webNode(t, "expired"), webNode(t, "verified"), webNode(t, "anonymous"))
	ca := testcert.NewCA(t, "Client CA")
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	_, addr, base := startSettingsEngine(t, text, caFile)
	now := time.Now()
	certs := map[string]*tls.Certificate{
		"verified":  ptr(ca.Issue(t, x509.ExtKeyUsageClientAuth, "client")),
		"stranger":  ptr(testcert.NewCA(t, "Other CA").Issue(t, x509.ExtKeyUsageClientAuth, "stranger")),
		"expired":   ptr(ca.IssueDated(t, x509.ExtKeyUsageClientAuth, now.Add(-50*time.Minute), now.Add(-10*time.Minute), "expired")),
		"anonymous": nil,
	}
	for _, version := range tlsVersions {
		for want, cert := range certs {
			t.Run(tls.VersionName(version)+" "+want, func(t *testing.T) {
				cli := base.Clone()
				cli.MinVersion, cli.MaxVersion = version, version
				cli.ClientSessionCache = tls.NewLRUClientSessionCache(1)
				if cert != nil {
					cli.GetClientCertificate = sendCertificate(cert)
				}
				// crypto/tls resumes no session whose client
				// certificate has expired: a full handshake again.
				resumes := want != "expired"
				for i := range 2 {
					c := tlsDial(t, addr, cli)
					br := bufio.NewReader(c)
					resp, _ := httpRoundTrip(t, c, br, "GET / HTTP/1.1\r\nHost: fjord.test\r\n\r\n")
					if got := resp.Header.Get("X-Served-By"); resp.StatusCode != 200 || got != want {
						t.Fatalf("connection %d: %d from %q, want %s", i+1, resp.StatusCode, got, want)
					}
					if got := c.ConnectionState().DidResume; got != (i == 1 && resumes) {
						t.Fatalf("connection %d resumed: %v", i+1, got)
					}
					c.Close()
				}
			})
		}
	}
	// Self-signed and for servers: errors 18 and 26, not ignored.
	self, _ := testcert.SelfSigned(t, "self")
	cli := base.Clone()
	cli.GetClientCertificate = sendCertificate(&self)
	c, err := tls.Dial("tcp", addr, cli)
	if err == nil {
		// TLS 1.3: the refusal comes after the client's handshake.
		c.SetDeadline(time.Now().Add(10 * time.Second))
		_, err = c.Read(make([]byte, 1))
		c.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "bad certificate") {
		t.Fatalf("a self-signed certificate: %v, want the alert bad_certificate", err)
	}
}

// With a crl-file, ssl_c_verify says which CRL error the bind let
// pass, as HAProxy 2.6 says it: with the root's CRL only, a client of
// the intermediate has no CRL for its own certificate (3, at depth 0:
// crt-ignore-err), a client of an intermediate the root revoked is
// revoked at depth 1 (23: ca-ignore-err) after its own missing CRL, and
// a revoked client of the root fails, 23 at depth 0 not being ignored.
func TestSSLCVerifyCRL(t *testing.T) {
	text := fmt.Sprintf(`defaults
  mode http
  timeout connect 2s
  timeout client 10s
  timeout server 10s
frontend www
  bind 127.0.0.1:%d ssl crt %%[1]s verify required ca-file %%[2]s crl-file %%[3]s ca-ignore-err 23 crt-ignore-err 3
  use_backend no-crl if { ssl_c_verify 3 }
  use_backend revoked-ca if { ssl_c_verify 23 }
  use_backend verified if { ssl_c_verify 0 }
backend no-crl
  server s %s
backend revoked-ca
  server s %s
backend verified
  server s %s
`, freePort(t), webNode(t, "no-crl"), webNode(t, "revoked-ca"), webNode(t, "verified"))
	root := testcert.NewCA(t, "Root")
	inter := root.NewIntermediate(t, "Inter")
	revokedInter := root.NewIntermediate(t, "Revoked Inter")
	revoked := root.Issue(t, x509.ExtKeyUsageClientAuth, "revoked")
	dir := t.TempDir()
	caFile, crlFile := filepath.Join(dir, "root.pem"), filepath.Join(dir, "crl.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: root.Cert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	crl := pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: root.Revoke(t, revoked.Leaf, revokedInter.Cert)})
	if err := os.WriteFile(crlFile, crl, 0o600); err != nil {
		t.Fatal(err)
	}
	_, addr, base := startSettingsEngine(t, text, caFile, crlFile)
	for _, version := range tlsVersions {
		for want, cert := range map[string]tls.Certificate{
			"verified":   root.Issue(t, x509.ExtKeyUsageClientAuth, "client"),
			"no-crl":     inter.Issue(t, x509.ExtKeyUsageClientAuth, "client"),
			"revoked-ca": revokedInter.Issue(t, x509.ExtKeyUsageClientAuth, "client"),
		} {
			t.Run(tls.VersionName(version)+" "+want, func(t *testing.T) {
				cli := base.Clone()
				cli.MinVersion, cli.MaxVersion = version, version
				cli.GetClientCertificate = sendCertificate(&cert)
				c := tlsDial(t, addr, cli)
				resp, _ := httpRoundTrip(t, c, bufio.NewReader(c), "GET / HTTP/1.1\r\nHost: fjord.test\r\n\r\n")
				if got := resp.Header.Get("X-Served-By"); resp.StatusCode != 200 || got != want {
					t.Fatalf("%d from %q, want %s", resp.StatusCode, got, want)
				}
			})
		}
	}
	cli := base.Clone()
	cli.GetClientCertificate = sendCertificate(&revoked)
	c, err := tls.Dial("tcp", addr, cli)
	if err == nil {
		// TLS 1.3: the refusal comes after the client's handshake.
		c.SetDeadline(time.Now().Add(10 * time.Second))
		_, err = c.Read(make([]byte, 1))
		c.Close()
	}
	if err == nil {
		t.Fatal("a revoked client certificate was let in")
	}
}

func ptr[T any](v T) *T { return &v }

// sendCertificate has a client send cert, whatever the CAs the server
// names (crypto/tls's client otherwise sends only a certificate they
// issued).
func sendCertificate(cert *tls.Certificate) func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	return func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
}
