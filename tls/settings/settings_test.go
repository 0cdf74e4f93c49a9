package settings

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
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

// A bind resumes sessions with tickets, unless 'no-tls-tickets'.
// ('tune.ssl.lifetime' is tested in package handshake, on a clock of
// the test's.)
func TestTicketsFromConfiguration(t *testing.T) {
	p := newPKI(t)
	p.issue(t, "site.pem", x509.ExtKeyUsageServerAuth, "www.example.com")
	roots := x509.NewCertPool()
	roots.AddCert(p.Cert)
	for _, tc := range []struct {
		options string
		version uint16
		resumed bool
	}{
		{"", tls.VersionTLS13, true},
		{"", tls.VersionTLS12, true},
		{"no-tls-tickets", tls.VersionTLS13, false},
		{"no-tls-tickets", tls.VersionTLS12, false},
	} {
		t.Run(tc.options+" "+tls.VersionName(tc.version), func(t *testing.T) {
			cfg := parse(t, "global\n crt-base "+p.dir+"\n tune.ssl.lifetime 60\nfrontend fe\n bind 127.0.0.1:8443 ssl crt site.pem "+tc.options+"\n default_backend be\nbackend be\n")
			set, err := Build(cfg)
			if err != nil {
				t.Fatal(err)
			}
			server := serverConfigOf(set.Binds[cfg.Frontends()[0].Binds[0]])
			client := &tls.Config{RootCAs: roots, ServerName: "www.example.com", MinVersion: tc.version, MaxVersion: tc.version,
				ClientSessionCache: tls.NewLRUClientSessionCache(2)}
			var resumed bool
			for range 2 {
				cerr, serr := runHandshake(client, server)
				if cerr != nil || serr != nil {
					t.Fatal(cerr, serr)
				}
				resumed = lastResumed.Load()
			}
			if resumed != tc.resumed {
				t.Errorf("resumed %v, want %v", resumed, tc.resumed)
			}
		})
	}
}

// Client certificates are verified as HAProxy 2.6 on OpenSSL 3.0
// verifies them: an error fails the handshake unless 'crt-ignore-err'
// (an error OpenSSL finds at depth 0, the client's own certificate) or
// 'ca-ignore-err' (above) ignores it, verification goes on after an
// error ignored, and ssl_c_verify is the last error ignored. The table
// is what HAProxy 2.6.12 with OpenSSL 3.0.19 answered for each
// certificate and each bind line (-1: the handshake fails).
func TestClientVerificationLikeHAProxy(t *testing.T) {
	p := newPKI(t)
	other := testcert.NewCA(t, "Other CA")
	now := time.Now()
	chainOf := func(c tls.Certificate) [][]byte { return c.Certificate }
	certs := map[string][][]byte{
		"good":     chainOf(p.Issue(t, x509.ExtKeyUsageClientAuth, "good")),
		"stranger": chainOf(other.Issue(t, x509.ExtKeyUsageClientAuth, "stranger")),
		// the client's certificate and the self-signed CA it comes from
		"stranger+CA": append(chainOf(other.Issue(t, x509.ExtKeyUsageClientAuth, "stranger")), other.Cert.Raw),
		// self-signed, and for servers
		"self":                 chainOf(selfSigned(t)),
		"expired":              chainOf(p.IssueDated(t, x509.ExtKeyUsageClientAuth, now.Add(-50*time.Minute), now.Add(-10*time.Minute), "expired")),
		"expired stranger":     chainOf(other.IssueDated(t, x509.ExtKeyUsageClientAuth, now.Add(-50*time.Minute), now.Add(-10*time.Minute), "expired")),
		"not yet valid":        chainOf(p.IssueDated(t, x509.ExtKeyUsageClientAuth, now.Add(10*time.Minute), now.Add(time.Hour), "early")),
		"for servers":          chainOf(p.Issue(t, x509.ExtKeyUsageServerAuth, "server")),
		"stranger for servers": chainOf(other.Issue(t, x509.ExtKeyUsageServerAuth, "server")),
	}
	// a critical extension no one knows
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1 << 40), Subject: pkix.Name{CommonName: "critical"},
		NotBefore: now.Add(-time.Minute), NotAfter: now.Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		ExtraExtensions: []pkix.Extension{{Id: []int{1, 3, 6, 1, 4, 1, 99999, 1}, Critical: true, Value: []byte{5, 0}}}}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.Cert, &key.PublicKey, p.Key)
	if err != nil {
		t.Fatal(err)
	}
	certs["critical"] = [][]byte{der}
	revokedCert := p.Issue(t, x509.ExtKeyUsageClientAuth, "revoked")
	crl := p.revoke(t, revokedCert.Leaf)
	certs["revoked"] = chainOf(revokedCert)
	for _, tc := range []struct {
		ca, crt string // ignored errors
		crl     bool
		want    map[string]int // the others: -1
	}{
		{want: map[string]int{"good": 0}},
		{ca: "all", want: map[string]int{"good": 0, "stranger+CA": 19}},
		{ca: "19", want: map[string]int{"good": 0, "stranger+CA": 19}},
		{crt: "all", want: map[string]int{"good": 0, "stranger": 21, "self": 26, "expired": 10, "expired stranger": 10,
			"not yet valid": 9, "for servers": 26, "stranger for servers": 21}},
		{ca: "all", crt: "all", want: map[string]int{"good": 0, "stranger": 21, "stranger+CA": 19, "self": 26, "expired": 10,
			"expired stranger": 10, "not yet valid": 9, "for servers": 26, "stranger for servers": 21}},
		{crt: "20", want: map[string]int{"good": 0}},
		{crt: "20,21", want: map[string]int{"good": 0, "stranger": 21}},
		// An expired certificate from a CA the bind does not know is
		// not let in by ignoring its date.
		{crt: "10", want: map[string]int{"good": 0, "expired": 10}},
		{crt: "10,20", want: map[string]int{"good": 0, "expired": 10}},
		{crt: "9", want: map[string]int{"good": 0, "not yet valid": 9}},
		{crt: "26", want: map[string]int{"good": 0, "for servers": 26}},
		{crt: "18", want: map[string]int{"good": 0}},
		{crt: "34", want: map[string]int{"good": 0}},
		{crt: "18,26", want: map[string]int{"good": 0, "self": 26, "for servers": 26}},
		{crl: true, want: map[string]int{"good": 0}},
		{crl: true, crt: "23", want: map[string]int{"good": 0, "revoked": 23}},
	} {
		name := fmt.Sprintf("ca-ignore-err %q crt-ignore-err %q crl %v", tc.ca, tc.crt, tc.crl)
		t.Run(name, func(t *testing.T) {
			var ignCA, ignCrt config.VerifyErrors
			for _, ign := range []struct {
				list string
				set  *config.VerifyErrors
			}{{tc.ca, &ignCA}, {tc.crt, &ignCrt}} {
				switch ign.list {
				case "":
				case "all":
					*ign.set = config.AllVerifyErrors
				default:
					for _, n := range strings.Split(ign.list, ",") {
						code, _ := strconv.Atoi(n)
						*ign.set |= 1 << code
					}
				}
			}
			crlFile := ""
			if tc.crl {
				crlFile = crl
			}
			v, _, err := newVerifier(filepath.Join(p.dir, "ca.pem"), "", false, crlFile, x509.ExtKeyUsageClientAuth, ignCA, ignCrt)
			if err != nil {
				t.Fatal(err)
			}
			for cert, chain := range certs {
				want, ok := tc.want[cert]
				if cert == "revoked" && !tc.crl {
					want, ok = tc.want["good"], true // without the CRL, a good one
				}
				if !ok {
					want = -1
				}
				code, err := v.verify(chain, "")
				got := code
				if err != nil {
					got = -1
				}
				if got != want {
					t.Errorf("%s: %d (%v), want %d", cert, got, err, want)
				}
			}
		})
	}
}

func selfSigned(t *testing.T) tls.Certificate {
	c, _ := testcert.SelfSigned(t, "self")
	return c
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
