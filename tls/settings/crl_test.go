package settings

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fjordlb/fjord/tls/testcert"
)

// A version 1 CRL ('openssl ca -gencrl' without a crlnumber file), in
// PEM or DER, revokes a client certificate on a bind: the revoked one is
// refused, another one passes.
func TestClientCertificatesVersion1CRL(t *testing.T) {
	p := newPKI(t)
	p.issue(t, "site.pem", x509.ExtKeyUsageServerAuth, "www.example.com")
	_, good := p.issue(t, "client.pem", x509.ExtKeyUsageClientAuth, "client")
	_, revokedCert := p.issue(t, "revoked.pem", x509.ExtKeyUsageClientAuth, "revoked")
	der := p.RevokeV1(t, revokedCert.Leaf)
	if _, err := x509.ParseRevocationList(der); err == nil {
		t.Fatal("the CRL is read by x509.ParseRevocationList: not version 1")
	}
	roots := x509.NewCertPool()
	roots.AddCert(p.Cert)
	for _, crl := range []string{
		filepath.Base(p.write(t, "crl-v1.pem", pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der}))),
		filepath.Base(p.write(t, "crl-v1.der", der)),
	} {
		cfg := parse(t, "global\n crt-base "+p.dir+"\n ca-base "+p.dir+"\nfrontend fe\n bind 127.0.0.1:8443 ssl crt site.pem verify required ca-file ca.pem crl-file "+crl+"\n default_backend be\nbackend be\n")
		set, err := Build(cfg)
		if err != nil {
			t.Fatalf("%s: %v", crl, err)
		}
		server := serverConfigOf(set.Binds[cfg.Frontends()[0].Binds[0]])
		for _, tc := range []struct {
			name string
			cert tls.Certificate
			ok   bool
		}{
			{"not revoked", good, true},
			{"revoked", revokedCert, false},
		} {
			t.Run(crl+"/"+tc.name, func(t *testing.T) {
				client := &tls.Config{RootCAs: roots, ServerName: "www.example.com", Certificates: []tls.Certificate{tc.cert}}
				cerr, serr := runHandshake(client, server)
				if ok := cerr == nil && serr == nil; ok != tc.ok {
					t.Fatalf("client %v, server %v; want success %v", cerr, serr, tc.ok)
				}
				if !tc.ok && (serr == nil || !strings.Contains(serr.Error(), "revoked by the CRL")) {
					t.Fatalf("server: %v, want the revocation", serr)
				}
			})
		}
	}
}

// A server's crl-file may be version 1 too: a server whose certificate
// it revokes is refused.
func TestServerVersion1CRL(t *testing.T) {
	p := newPKI(t)
	_, backend := p.issue(t, "backend.pem", x509.ExtKeyUsageServerAuth, "app.internal")
	_, revokedBackend := p.issue(t, "revoked.pem", x509.ExtKeyUsageServerAuth, "app.internal")
	crl := p.write(t, "crl-v1.pem", pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: p.RevokeV1(t, revokedBackend.Leaf)}))
	cfg := parse(t, "frontend fe\n bind 127.0.0.1:80\n default_backend be\nbackend be\n server s 127.0.0.1:8443 ssl verify required ca-file "+p.dir+"/ca.pem crl-file "+crl+" sni str(app.internal)\n")
	set, err := Build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	client := set.Servers[cfg.Backends()[0].Servers[0]]
	if cerr, _ := runHandshake(client, &tls.Config{Certificates: []tls.Certificate{backend}}); cerr != nil {
		t.Fatalf("a server the CRL does not revoke: %v", cerr)
	}
	if cerr, _ := runHandshake(client, &tls.Config{Certificates: []tls.Certificate{revokedBackend}}); cerr == nil || !strings.Contains(cerr.Error(), "revoked by the CRL") {
		t.Fatalf("a revoked server: %v, want the revocation", cerr)
	}
}

// A version 1 CRL as 'openssl ca -gencrl' writes it (testdata/openssl-v1,
// made by tls/certs/testdata/openssl-v1/gen.sh) revokes client-revoked.pem
// and not client-ok.pem.
func TestOpenSSLVersion1CRL(t *testing.T) {
	p := newPKI(t)
	p.issue(t, "site.pem", x509.ExtKeyUsageServerAuth, "www.example.com")
	dir, err := filepath.Abs(filepath.Join("testdata", "openssl-v1"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := parse(t, "global\n crt-base "+p.dir+"\n ca-base "+dir+"\nfrontend fe\n bind 127.0.0.1:8443 ssl crt site.pem verify required ca-file ca.crt crl-file crl.pem\n default_backend be\nbackend be\n")
	set, err := Build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	server := serverConfigOf(set.Binds[cfg.Frontends()[0].Binds[0]])
	roots := x509.NewCertPool()
	roots.AddCert(p.Cert)
	for _, tc := range []struct {
		file string
		ok   bool
	}{
		{"client-ok.pem", true},
		{"client-revoked.pem", false},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			cert, err := tls.X509KeyPair(data, data)
			if err != nil {
				t.Fatal(err)
			}
			client := &tls.Config{RootCAs: roots, ServerName: "www.example.com", Certificates: []tls.Certificate{cert}}
			cerr, serr := runHandshake(client, server)
			if ok := cerr == nil && serr == nil; ok != tc.ok {
				t.Fatalf("client %v, server %v; want success %v", cerr, serr, tc.ok)
			}
			if !tc.ok && (serr == nil || !strings.Contains(serr.Error(), "revoked by the CRL")) {
				t.Fatalf("server: %v, want the revocation", serr)
			}
		})
	}
}

// no-tls-tickets costs every resumption in fjord, where HAProxy still
// resumes from its session cache: -c says so, at the bind's line.
func TestNoTLSTicketsWarns(t *testing.T) {
	p := newPKI(t)
	p.issue(t, "site.pem", x509.ExtKeyUsageServerAuth, "www.example.com")
	for _, tc := range []struct {
		opts string
		warn bool
	}{{" no-tls-tickets", true}, {"", false}} {
		cfg := parse(t, "global\n crt-base "+p.dir+"\nfrontend fe\n bind 127.0.0.1:8443 ssl crt site.pem"+tc.opts+"\n default_backend be\nbackend be\n")
		set, err := Build(cfg)
		if err != nil {
			t.Fatal(err)
		}
		var found bool
		for _, w := range set.Warnings {
			found = found || strings.HasPrefix(w, "t.cfg:4: frontend 'fe': 'no-tls-tickets': no TLS session will be resumed")
		}
		if found != tc.warn {
			t.Errorf("bind%s: warnings %q, want the no-tls-tickets one: %v", tc.opts, set.Warnings, tc.warn)
		}
	}
}

// A server's client certificate ('server ... crt') is read as a bind's
// are: its warnings (an expired certificate) reach -c.
func TestServerCrtWarnings(t *testing.T) {
	p := newPKI(t)
	now := time.Now()
	c := p.IssueDated(t, x509.ExtKeyUsageClientAuth, now.Add(-48*time.Hour), now.Add(-24*time.Hour), "client.test")
	p.write(t, "client.pem", testcert.PEM(t, c))
	cfg := parse(t, "frontend fe\n bind 127.0.0.1:8000\n default_backend be\nbackend be\n server s 127.0.0.1:8443 ssl verify none crt "+filepath.Join(p.dir, "client.pem")+"\n")
	set, err := Build(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, w := range set.Warnings {
		found = found || strings.HasPrefix(w, "t.cfg:5: backend 'be', server 's': ") && strings.Contains(w, "expired")
	}
	if !found {
		t.Errorf("warnings %q, want the expired client certificate at t.cfg:5", set.Warnings)
	}
}
