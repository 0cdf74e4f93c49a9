package certs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"strings"
	"testing"
	"time"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	for _, kind := range Kinds {
		t.Run(string(kind), func(t *testing.T) {
			f, err := Write(dir, kind)
			if err != nil {
				t.Fatal(err)
			}
			// The bundle alone, as HAProxy and fjord read it, and the two
			// files, as nginx does, hold the same pair.
			for _, pair := range [][2]string{{f.Bundle, f.Bundle}, {f.Cert, f.Key}} {
				c, err := tls.LoadX509KeyPair(pair[0], pair[1])
				if err != nil {
					t.Fatalf("%s + %s: %v", pair[0], pair[1], err)
				}
				if len(c.Certificate) != 1 || string(c.Certificate[0]) != string(f.DER) {
					t.Errorf("%s holds another certificate than DER", pair[0])
				}
			}
			cert, err := x509.ParseCertificate(f.DER)
			if err != nil {
				t.Fatal(err)
			}
			if err := cert.VerifyHostname(ServerName); err != nil {
				t.Error(err)
			}
			if now := time.Now(); now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
				t.Errorf("valid %v to %v, not now", cert.NotBefore, cert.NotAfter)
			}
			switch k := cert.PublicKey.(type) {
			case *ecdsa.PublicKey:
				if kind != ECDSA || k.Curve != elliptic.P256() {
					t.Errorf("%s: an ECDSA key on %s", kind, k.Curve.Params().Name)
				}
			case *rsa.PublicKey:
				if kind != RSA || k.N.BitLen() != 2048 {
					t.Errorf("%s: an RSA key of %d bits", kind, k.N.BitLen())
				}
			default:
				t.Errorf("%s: a %T key", kind, k)
			}
			// Self-signed: it verifies against itself as the root.
			roots := x509.NewCertPool()
			roots.AddCert(cert)
			if _, err := cert.Verify(x509.VerifyOptions{DNSName: ServerName, Roots: roots}); err != nil {
				t.Error(err)
			}
			// The bundle is the certificate, then the key; nothing else.
			data, _ := os.ReadFile(f.Bundle)
			var types []string
			for b, rest := pem.Decode(data); b != nil; b, rest = pem.Decode(rest) {
				types = append(types, b.Type)
			}
			if got := strings.Join(types, ","); got != "CERTIFICATE,PRIVATE KEY" {
				t.Errorf("bundle blocks %s", got)
			}
			for _, p := range []string{f.Bundle, f.Cert, f.Key} {
				if st, err := os.Stat(p); err != nil || st.Mode().Perm() != 0o600 {
					t.Errorf("%s: %v, mode %v; want 0600", p, err, st.Mode())
				}
			}
		})
	}
}

func TestEachRunHasItsOwnKey(t *testing.T) {
	_, k1, _, err := Generate(ECDSA)
	if err != nil {
		t.Fatal(err)
	}
	_, k2, _, err := Generate(ECDSA)
	if err != nil {
		t.Fatal(err)
	}
	if string(k1) == string(k2) {
		t.Error("two runs made the same key")
	}
}

func TestUnknownKind(t *testing.T) {
	if _, err := Write(t.TempDir(), "dsa"); err == nil || !strings.Contains(err.Error(), `unknown kind "dsa"`) {
		t.Errorf("got %v", err)
	}
}
