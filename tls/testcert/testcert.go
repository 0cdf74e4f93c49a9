// Package testcert makes certificates for tests, as net/http/httptest
// makes servers: a CA that issues leaves and revokes them, or a
// self-signed certificate, with ECDSA P-256 keys, valid from an hour ago
// to a day from now. It is imported by tests only.
package testcert

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// serial numbers every certificate of a test binary apart.
var serial atomic.Int64

func template(name string) *x509.Certificate {
	return &x509.Certificate{
		SerialNumber: big.NewInt(serial.Add(1)),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
	}
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// CA is a certificate authority; Pool trusts it. Chain is what a peer
// sends above a certificate the CA issued: nothing for a root, the
// intermediate and those above it up to the root (excluded) for an
// intermediate (NewIntermediate).
type CA struct {
	Cert  *x509.Certificate
	Key   *ecdsa.PrivateKey
	Pool  *x509.CertPool
	Chain [][]byte
}

// NewCA makes a CA named name.
func NewCA(t testing.TB, name string) *CA {
	t.Helper()
	key := newKey(t)
	tmpl := template(name)
	tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &CA{Cert: cert, Key: key, Pool: pool}
}

// NewIntermediate makes an intermediate CA named name that ca issued.
// The certificates it issues come with their chain up to the root,
// which is left out, as servers and clients send them.
func (ca *CA) NewIntermediate(t testing.TB, name string) *CA {
	t.Helper()
	key := newKey(t)
	tmpl := template(name)
	tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &CA{Cert: cert, Key: key, Pool: pool, Chain: append([][]byte{der}, ca.Chain...)}
}

// Issue makes a certificate for names (the first is also its common
// name) for usage, such as x509.ExtKeyUsageServerAuth.
func (ca *CA) Issue(t testing.TB, usage x509.ExtKeyUsage, names ...string) tls.Certificate {
	t.Helper()
	return ca.withChain(issue(t, ca.Cert, ca.Key, usage, names))
}

// withChain appends the CA's chain to c's.
func (ca *CA) withChain(c tls.Certificate) tls.Certificate {
	c.Certificate = append(c.Certificate, ca.Chain...)
	return c
}

// IssueDated is Issue for a certificate valid from notBefore to
// notAfter only: an expired one, or one not valid yet.
func (ca *CA) IssueDated(t testing.TB, usage x509.ExtKeyUsage, notBefore, notAfter time.Time, names ...string) tls.Certificate {
	t.Helper()
	tmpl := template(names[0])
	tmpl.NotBefore, tmpl.NotAfter = notBefore, notAfter
	return ca.withChain(issueTemplate(t, tmpl, ca.Cert, ca.Key, usage, names))
}

// Revoke makes a CRL of ca's that revokes the certificates, in DER,
// valid from a minute ago to an hour from now.
func (ca *CA) Revoke(t testing.TB, certs ...*x509.Certificate) []byte {
	t.Helper()
	return ca.CRL(t, time.Now().Add(-time.Minute), time.Now().Add(time.Hour), certs...)
}

// CRL is Revoke with a version 2 CRL valid from thisUpdate to
// nextUpdate: an expired one, one not valid yet, or an older one. It
// names ca's certificate as its issuer, with its key identifier, and is
// signed with ca.Key: a CA whose Key is not its certificate's makes
// a CRL whose signature does not verify.
func (ca *CA) CRL(t testing.TB, thisUpdate, nextUpdate time.Time, certs ...*x509.Certificate) []byte {
	t.Helper()
	var entries []x509.RevocationListEntry
	for _, c := range certs {
		entries = append(entries, x509.RevocationListEntry{SerialNumber: c.SerialNumber, RevocationTime: thisUpdate})
	}
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number: big.NewInt(serial.Add(1)), ThisUpdate: thisUpdate, NextUpdate: nextUpdate,
		RevokedCertificateEntries: entries,
	}, ca.Cert, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// RevokeV1 is Revoke with a version 1 CRL, valid from a minute ago to an
// hour from now.
func (ca *CA) RevokeV1(t testing.TB, certs ...*x509.Certificate) []byte {
	t.Helper()
	return ca.CRLV1(t, time.Now().Add(-time.Minute), time.Now().Add(time.Hour), certs...)
}

// oidECDSAWithSHA256 is the signature algorithm of a CA's CRLs.
var oidECDSAWithSHA256 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}

// CRLV1 makes a version 1 CRL of ca's (RFC 5280 section 5.1: no version
// field, no extensions), as 'openssl ca -gencrl' writes it without a
// crlnumber file, from thisUpdate to nextUpdate, that revokes the
// certificates, in DER. x509.CreateRevocationList makes version 2 only.
func (ca *CA) CRLV1(t testing.TB, thisUpdate, nextUpdate time.Time, certs ...*x509.Certificate) []byte {
	t.Helper()
	algo := func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oidECDSAWithSHA256) })
	}
	var tbs cryptobyte.Builder
	tbs.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		algo(b)
		b.AddBytes(ca.Cert.RawSubject)
		b.AddASN1UTCTime(thisUpdate)
		b.AddASN1UTCTime(nextUpdate)
		if len(certs) > 0 {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				for _, c := range certs {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1BigInt(c.SerialNumber)
						b.AddASN1UTCTime(thisUpdate)
					})
				}
			})
		}
	})
	raw, err := tbs.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256(raw)
	sig, err := ca.Key.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	var crl cryptobyte.Builder
	crl.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(raw)
		algo(b)
		b.AddASN1BitString(sig)
	})
	der, err := crl.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// SelfSigned makes a self-signed server certificate for names, and a
// pool that trusts it.
func SelfSigned(t testing.TB, names ...string) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	c := issue(t, nil, nil, x509.ExtKeyUsageServerAuth, names)
	pool := x509.NewCertPool()
	pool.AddCert(c.Leaf)
	return c, pool
}

func issue(t testing.TB, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, usage x509.ExtKeyUsage, names []string) tls.Certificate {
	t.Helper()
	return issueTemplate(t, template(names[0]), parent, parentKey, usage, names)
}

func issueTemplate(t testing.TB, tmpl, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, usage x509.ExtKeyUsage, names []string) tls.Certificate {
	t.Helper()
	key := newKey(t)
	tmpl.DNSNames = names
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{usage}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// PEM is c as HAProxy's bundle: its certificates, then its key (PKCS#8).
func PEM(t testing.TB, c tls.Certificate) []byte {
	t.Helper()
	var out []byte
	for _, der := range c.Certificate {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	key, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	return append(out, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key})...)
}
