package certs

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// handshake runs a real TLS handshake over net.Pipe between a server
// with cfg and a client with ccfg, and returns what the client saw.
func handshake(t *testing.T, cfg, ccfg *tls.Config) (tls.ConnectionState, error) {
	t.Helper()
	sc, cc := net.Pipe()
	defer sc.Close()
	defer cc.Close()
	// A failed test must not hang on a peer that stopped talking.
	deadline := time.Now().Add(30 * time.Second)
	sc.SetDeadline(deadline)
	cc.SetDeadline(deadline)
	srv := tls.Server(sc, cfg)
	done := make(chan error, 1)
	go func() {
		err := srv.Handshake()
		if err != nil {
			// Let the client read the alert, then end its read.
			sc.Close()
		}
		done <- err
	}()
	cli := tls.Client(cc, ccfg)
	err := cli.Handshake()
	if err != nil {
		cc.Close()
	}
	serr := <-done
	if err == nil && serr != nil {
		t.Fatalf("the client finished its handshake, and the server failed: %v", serr)
	}
	return cli.ConnectionState(), err
}

// TestHandshake: crypto/tls with GetCertificate serves each client the
// certificate its server name and its abilities call for, with the chain,
// the OCSP staple and the SCTs.
func TestHandshake(t *testing.T) {
	p := testPKI(t)
	now := time.Now()
	dir := t.TempDir()
	leaves := map[string]*testCert{}
	put := func(file string, k keyKind, names ...string) string {
		c := p.leaf(t, k, names...)
		leaves[file] = c
		return writeFile(t, filepath.Join(dir, file), p.bundlePEM(t, c))
	}
	put("default.pem", ecKey, "default.example.com")
	www := put("www.pem", ecKey, "www.example.com")
	writeFile(t, www+".ocsp", makeOCSP(t, leaves["www.pem"], p.inter, ocspSpec{good: true, thisUpdate: now.Add(-time.Hour), nextUpdate: now.Add(time.Hour)}))
	writeFile(t, www+".sctl", sctList([]byte("an SCT")))
	put("wild.pem", ecKey, "*.example.com")
	put("dual.pem.rsa", rsaKind, "dual.example.com")
	put("dual.pem.ecdsa", ecKey, "dual.example.com")
	put("filtered.pem", ecKey, "filtered.example.net")
	list := writeFile(t, filepath.Join(dir, "list"), []byte("filtered.pem alias.example.org\n"))

	sources := []Source{{Path: "default.pem"}, {Path: "www.pem"}, {Path: "wild.pem"}, {Path: "dual.pem"}, {Path: list, List: true}}
	s, ws, err := Load(sources, Options{CrtBase: dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != 0 {
		t.Fatalf("warnings %q", ws)
	}
	roots := x509.NewCertPool()
	roots.AddCert(p.root.cert)
	server := &tls.Config{GetCertificate: s.GetCertificate}

	tests := []struct {
		name   string
		client *tls.Config
		want   string
	}{
		{"exact", &tls.Config{ServerName: "www.example.com"}, "www.pem"},
		{"upper case", &tls.Config{ServerName: "WWW.EXAMPLE.COM"}, "www.pem"},
		{"wildcard", &tls.Config{ServerName: "shop.example.com"}, "wild.pem"},
		{"ECDSA-capable client", &tls.Config{ServerName: "dual.example.com"}, "dual.pem.ecdsa"},
		{"RSA-only TLS 1.2 client", &tls.Config{ServerName: "dual.example.com", MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}}, "dual.pem.rsa"},
		{"TLS 1.2 ECDSA", &tls.Config{ServerName: "dual.example.com", MaxVersion: tls.VersionTLS12}, "dual.pem.ecdsa"},
		{"crt-list filter", &tls.Config{ServerName: "alias.example.org", InsecureSkipVerify: true}, "filtered.pem"},
		{"unknown name gets the default", &tls.Config{ServerName: "nobody.example.org", InsecureSkipVerify: true}, "default.pem"},
		{"no SNI gets the default", &tls.Config{InsecureSkipVerify: true}, "default.pem"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.client.RootCAs = roots
			st, err := handshake(t, server, tc.client)
			if err != nil {
				t.Fatal(err)
			}
			if got := st.PeerCertificates[0]; !got.Equal(leaves[tc.want].cert) {
				t.Fatalf("served %s, want %s", describe(got), tc.want)
			}
			if len(st.PeerCertificates) != 2 || !st.PeerCertificates[1].Equal(p.inter.cert) {
				t.Errorf("the chain is not the intermediate: %d certificates", len(st.PeerCertificates))
			}
			if tc.want == "www.pem" {
				if len(st.OCSPResponse) == 0 {
					t.Error("no OCSP staple")
				}
				if len(st.SignedCertificateTimestamps) != 1 || string(st.SignedCertificateTimestamps[0]) != "an SCT" {
					t.Errorf("SCTs %q", st.SignedCertificateTimestamps)
				}
			}
		})
	}
}

// TestHandshakeStrictSNI: under strict-sni, a client with an unknown name
// is refused; wrapped as ErrNoCertificate documents, with the
// unrecognized_name alert HAProxy sends.
func TestHandshakeStrictSNI(t *testing.T) {
	p := testPKI(t)
	c := p.leaf(t, ecKey, "known.example.com")
	path := writeFile(t, filepath.Join(t.TempDir(), "known.pem"), p.bundlePEM(t, c))
	s, _, err := Load([]Source{{Path: path}}, Options{StrictSNI: true})
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(p.root.cert)
	direct := &tls.Config{GetCertificate: s.GetCertificate}
	wrapped := &tls.Config{GetCertificate: func(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
		c, err := s.GetCertificate(h)
		if errors.Is(err, ErrNoCertificate) {
			return nil, nil
		}
		return c, err
	}}
	for _, tc := range []struct {
		name   string
		server *tls.Config
		sni    string
		want   string
	}{
		{"known name", direct, "known.example.com", ""},
		{"unknown name", direct, "other.example.com", "internal error"},
		{"unknown name, wrapped", wrapped, "other.example.com", "unrecognized name"},
		{"no SNI, wrapped", wrapped, "", "unrecognized name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := handshake(t, tc.server, &tls.Config{ServerName: tc.sni, RootCAs: roots, InsecureSkipVerify: tc.sni == ""})
			if tc.want == "" {
				if err != nil || !bytes.Equal(st.PeerCertificates[0].Raw, c.cert.Raw) {
					t.Fatalf("handshake: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("client error %v, want %q", err, tc.want)
			}
		})
	}
}
