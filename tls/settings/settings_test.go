package settings

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/tls/testcert"
)

// pki is a CA and what it issued, written as PEM files in dir.
type pki struct {
	dir string
	*testcert.CA
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	p := &pki{dir: t.TempDir(), CA: testcert.NewCA(t, "Test CA")}
	p.write(t, "ca.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.Cert.Raw}))
	return p
}

func (p *pki) write(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(p.dir, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// issue writes a bundle (certificate and key) for names, for usage.
func (p *pki) issue(t *testing.T, file string, usage x509.ExtKeyUsage, names ...string) (string, tls.Certificate) {
	t.Helper()
	c := p.Issue(t, usage, names...)
	return p.write(t, file, testcert.PEM(t, c)), c
}

// revoke writes a CRL that revokes c.
func (p *pki) revoke(t *testing.T, c *x509.Certificate) string {
	t.Helper()
	return p.write(t, "crl.pem", pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: p.Revoke(t, c)}))
}

func parse(t *testing.T, text string) *config.Config {
	t.Helper()
	cfg, err := config.Parse("t.cfg", []byte(text), config.Options{Resolver: config.NoResolver})
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	return cfg
}

// lastResumed says whether the server side of the last runHandshake
// resumed a session.
var lastResumed atomic.Bool

// runHandshake runs a handshake between a client and a server
// configuration over loopback and returns the client's error, then the
// server's.
func runHandshake(client, server *tls.Config) (cerr, serr error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err, err
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		s := tls.Server(c, server)
		err = s.Handshake()
		lastResumed.Store(s.ConnectionState().DidResume)
		if err == nil {
			// TLS 1.3 client certificates are checked after the
			// client's handshake returns: read to see the verdict.
			if _, err = s.Read(make([]byte, 1)); err == nil {
				_, err = s.Write([]byte("y"))
			}
		}
		done <- err
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return err, <-done
	}
	defer raw.Close()
	raw.SetDeadline(time.Now().Add(5 * time.Second))
	c := tls.Client(raw, client)
	cerr = c.Handshake()
	if cerr == nil {
		// The answer comes after the server's tickets: reading it
		// takes them.
		if _, cerr = c.Write([]byte("x")); cerr == nil {
			_, cerr = c.Read(make([]byte, 1))
		}
	}
	serr = <-done
	return cerr, serr
}

func TestBindServesItsCertificate(t *testing.T) {
	p := newPKI(t)
	site, _ := p.issue(t, "site.pem", x509.ExtKeyUsageServerAuth, "www.example.com")
	cfg := parse(t, "global\n crt-base "+p.dir+"\nfrontend fe\n bind 127.0.0.1:8443 ssl crt site.pem alpn http/1.1\n default_backend be\nbackend be\n")
	set, err := Build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b := cfg.Frontends()[0].Binds[0]
	if set.Binds[b] == nil || set.Stores[b].Default().Path != site {
		t.Fatalf("bind: %v, store %v", set.Binds[b], set.Stores[b])
	}
}

func TestBindErrorsNameTheLineAndFile(t *testing.T) {
	dir := t.TempDir()
	cfg := parse(t, "frontend fe\n bind 127.0.0.1:8443 ssl crt "+dir+"/missing.pem\n default_backend be\nbackend be\n")
	_, err := Build(cfg)
	if err == nil || !strings.Contains(err.Error(), "t.cfg:2") || !strings.Contains(err.Error(), "missing.pem") {
		t.Fatalf("err = %v", err)
	}
}

// verify required: a client without a certificate, or with one the CA
// did not issue, or one the CRL revokes, is refused; a good one passes.
func TestClientCertificates(t *testing.T) {
	p := newPKI(t)
	p.issue(t, "site.pem", x509.ExtKeyUsageServerAuth, "www.example.com")
	_, good := p.issue(t, "client.pem", x509.ExtKeyUsageClientAuth, "client")
	_, revokedCert := p.issue(t, "revoked.pem", x509.ExtKeyUsageClientAuth, "revoked")
	crl := p.revoke(t, revokedCert.Leaf)
	other := newPKI(t)
	_, stranger := other.issue(t, "stranger.pem", x509.ExtKeyUsageClientAuth, "stranger")

	cfg := parse(t, "global\n crt-base "+p.dir+"\n ca-base "+p.dir+"\nfrontend fe\n bind 127.0.0.1:8443 ssl crt site.pem verify required ca-file ca.pem crl-file "+filepath.Base(crl)+"\n default_backend be\nbackend be\n")
	set, err := Build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	server := set.Binds[cfg.Frontends()[0].Binds[0]]
	roots := x509.NewCertPool()
	roots.AddCert(p.Cert)
	for _, tc := range []struct {
		name string
		cert *tls.Certificate
		ok   bool
	}{
		{"issued by the CA", &good, true},
		{"none", nil, false},
		{"from another CA", &stranger, false},
		{"revoked", &revokedCert, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client := &tls.Config{RootCAs: roots, ServerName: "www.example.com"}
			if tc.cert != nil {
				client.Certificates = []tls.Certificate{*tc.cert}
			}
			cerr, serr := runHandshake(client, serverConfigOf(server))
			if ok := cerr == nil && serr == nil; ok != tc.ok {
				t.Fatalf("client %v, server %v; want success %v", cerr, serr, tc.ok)
			}
		})
	}
}

// A server with 'verify required' is checked against its CA and the SNI
// sent; 'verify none' takes any certificate.
func TestServerVerification(t *testing.T) {
	p := newPKI(t)
	_, backend := p.issue(t, "backend.pem", x509.ExtKeyUsageServerAuth, "app.internal")
	srv := &tls.Config{Certificates: []tls.Certificate{backend}}
	for _, tc := range []struct {
		line string
		ok   bool
	}{
		{"ssl verify required ca-file " + p.dir + "/ca.pem sni str(app.internal)", true},
		{"ssl verify required ca-file " + p.dir + "/ca.pem sni str(other.internal)", false},
		{"ssl verify required ca-file " + p.dir + "/ca.pem verifyhost app.internal", true},
		{"ssl verify required ca-file " + p.dir + "/ca.pem verifyhost nope.internal", false},
		{"ssl verify none", true},
	} {
		t.Run(tc.line, func(t *testing.T) {
			cfg := parse(t, "frontend fe\n bind 127.0.0.1:80\n default_backend be\nbackend be\n server s 127.0.0.1:8443 "+tc.line+"\n")
			set, err := Build(cfg)
			if err != nil {
				t.Fatal(err)
			}
			client := set.Servers[cfg.Backends()[0].Servers[0]]
			cerr, _ := runHandshake(client, srv)
			if (cerr == nil) != tc.ok {
				t.Fatalf("client: %v, want success %v", cerr, tc.ok)
			}
		})
	}
}

// 'tune.ssl.lifetime': a session resumes within the lifetime, and not
// past it.
func TestLifetime(t *testing.T) {
	p := newPKI(t)
	_, site := p.issue(t, "site.pem", x509.ExtKeyUsageServerAuth, "www.example.com")
	roots := x509.NewCertPool()
	roots.AddCert(p.Cert)
	for _, tc := range []struct {
		lifetime time.Duration
		resumed  bool
	}{{time.Minute, true}, {time.Nanosecond, false}} {
		server := &tls.Config{Certificates: []tls.Certificate{site}}
		limitLifetime(server, tc.lifetime)
		client := &tls.Config{RootCAs: roots, ServerName: "www.example.com", ClientSessionCache: tls.NewLRUClientSessionCache(2)}
		var resumed bool
		for range 2 {
			cerr, serr := runHandshake(client, server)
			if cerr != nil || serr != nil {
				t.Fatal(cerr, serr)
			}
			resumed = lastResumed.Load()
		}
		if resumed != tc.resumed {
			t.Errorf("lifetime %v: resumed %v, want %v", tc.lifetime, resumed, tc.resumed)
		}
	}
}

func TestOpenSSLCodes(t *testing.T) {
	if code, leaf := openSSLCode(x509.UnknownAuthorityError{}); code != errUnableToGetIssuer || leaf {
		t.Errorf("unknown authority: %d %v", code, leaf)
	}
	if code, _ := openSSLCode(x509.CertificateInvalidError{Reason: x509.Expired}); code != errCertHasExpired {
		t.Errorf("expired: %d", code)
	}
	if code, _ := openSSLCode(errors.New("x")); code != errUnspecified {
		t.Errorf("other: %d", code)
	}
}

func serverConfigOf(sc interface{ Config() *tls.Config }) *tls.Config { return sc.Config() }

// strict-sni: a name no certificate has is refused with
// unrecognized_name, as HAProxy refuses it.
func TestStrictSNI(t *testing.T) {
	p := newPKI(t)
	p.issue(t, "site.pem", x509.ExtKeyUsageServerAuth, "www.example.com")
	cfg := parse(t, "global\n crt-base "+p.dir+"\nfrontend fe\n bind 127.0.0.1:8443 ssl crt site.pem strict-sni\n default_backend be\nbackend be\n")
	set, err := Build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	server := serverConfigOf(set.Binds[cfg.Frontends()[0].Binds[0]])
	roots := x509.NewCertPool()
	roots.AddCert(p.Cert)
	if cerr, serr := runHandshake(&tls.Config{RootCAs: roots, ServerName: "www.example.com"}, server); cerr != nil || serr != nil {
		t.Fatalf("a known name: %v, %v", cerr, serr)
	}
	cerr, _ := runHandshake(&tls.Config{RootCAs: roots, ServerName: "other.example.com"}, server)
	if cerr == nil || !strings.Contains(cerr.Error(), "unrecognized name") {
		t.Fatalf("an unknown name: %v, want the alert unrecognized_name", cerr)
	}
}

// A server's traffic resumes its TLS sessions from a cache of its own
// (HAProxy's default), unless 'no-ssl-reuse' or 'no-tls-tickets'; its
// health checks have theirs.
func TestServerSessionCache(t *testing.T) {
	for _, tc := range []struct {
		opts   string
		resume bool
	}{
		{"", true},
		{"no-ssl-reuse", false},
		{"no-tls-tickets", false},
		{"no-ssl-reuse ssl-reuse", true},
	} {
		t.Run(tc.opts, func(t *testing.T) {
			cfg := parse(t, "frontend fe\n bind 127.0.0.1:80\n default_backend be\nbackend be\n server s 127.0.0.1:8443 ssl verify none check "+tc.opts+"\n")
			set, err := Build(cfg)
			if err != nil {
				t.Fatal(err)
			}
			sv := cfg.Backends()[0].Servers[0]
			traffic, checks := set.Servers[sv].ClientSessionCache, set.Checks[sv].ClientSessionCache
			if (traffic != nil) != tc.resume || (checks != nil) != tc.resume {
				t.Fatalf("session caches: traffic %v, checks %v; want %v", traffic != nil, checks != nil, tc.resume)
			}
			if traffic != nil && traffic == checks {
				t.Fatal("the checks share the traffic's session cache")
			}
		})
	}
}
