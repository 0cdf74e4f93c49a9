package certs

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The tests make their certificates with crypto/x509: a root, an
// intermediate, and leaves of every key type, written to t.TempDir().

// RSA keys are slow to make, the more so under -race: the tests share a
// few, made on first use.
var (
	rsaMu   sync.Mutex
	rsaKeys []*rsa.PrivateKey
)

func rsaKey(t testing.TB, i int) *rsa.PrivateKey {
	t.Helper()
	rsaMu.Lock()
	defer rsaMu.Unlock()
	for len(rsaKeys) <= i {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		rsaKeys = append(rsaKeys, k)
	}
	return rsaKeys[i]
}

type keyKind int

const (
	ecKey keyKind = iota
	rsaKind
	rsaKind2 // another RSA key, for mismatches
	edKey
)

func newKey(t testing.TB, k keyKind) crypto.Signer {
	t.Helper()
	switch k {
	case rsaKind:
		return rsaKey(t, 0)
	case rsaKind2:
		return rsaKey(t, 1)
	case edKey:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return priv
	}
	k2, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k2
}

type testCert struct {
	cert *x509.Certificate
	key  crypto.Signer
}

type certSpec struct {
	cn        string
	dns       []string
	key       keyKind
	ca        bool
	notBefore time.Time
	notAfter  time.Time
}

var serial int64 = 1000

// issue makes a certificate signed by parent, or self-signed when parent
// is nil.
func issue(t testing.TB, parent *testCert, s certSpec) *testCert {
	t.Helper()
	key := newKey(t, s.key)
	rsaMu.Lock()
	serial++
	sn := serial
	rsaMu.Unlock()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(sn),
		Subject:               pkix.Name{CommonName: s.cn, Organization: []string{"fjord tests"}},
		DNSNames:              s.dns,
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  s.ca,
	}
	if s.ca {
		tmpl.KeyUsage |= x509.KeyUsageCertSign
		tmpl.ExtKeyUsage = nil
		tmpl.SubjectKeyId = skid(key.Public())
	}
	if !s.notBefore.IsZero() {
		tmpl.NotBefore = s.notBefore
	}
	if !s.notAfter.IsZero() {
		tmpl.NotAfter = s.notAfter
	}
	signer, parentCert := key, tmpl
	if parent != nil {
		signer, parentCert = parent.key, parent.cert
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parentCert, key.Public(), signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCert{cert: c, key: key}
}

func skid(pub crypto.PublicKey) []byte {
	der, _ := x509.MarshalPKIXPublicKey(pub)
	h := sha1.Sum(der)
	return h[:]
}

// pkiFixture is a root, an intermediate it signed, and a way to make
// leaves under the intermediate.
type pkiFixture struct {
	root, inter *testCert
}

var (
	pkiOnce sync.Once
	pkiVal  pkiFixture
)

func testPKI(t testing.TB) pkiFixture {
	t.Helper()
	pkiOnce.Do(func() {
		root := issue(t, nil, certSpec{cn: "fjord test root", ca: true, notAfter: time.Now().Add(365 * 24 * time.Hour)})
		inter := issue(t, root, certSpec{cn: "fjord test intermediate", ca: true, notAfter: time.Now().Add(365 * 24 * time.Hour)})
		pkiVal = pkiFixture{root: root, inter: inter}
	})
	return pkiVal
}

func (p pkiFixture) leaf(t testing.TB, k keyKind, names ...string) *testCert {
	t.Helper()
	return issue(t, p.inter, certSpec{cn: first(names), dns: names, key: k})
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

func certPEM(c *testCert) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.cert.Raw})
}

type keyFormat int

const (
	pkcs8 keyFormat = iota
	pkcs1           // RSA PRIVATE KEY
	sec1            // EC PRIVATE KEY
)

func keyPEM(t testing.TB, key crypto.Signer, f keyFormat) []byte {
	t.Helper()
	var b *pem.Block
	switch f {
	case pkcs1:
		b = &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key.(*rsa.PrivateKey))}
	case sec1:
		der, err := x509.MarshalECPrivateKey(key.(*ecdsa.PrivateKey))
		if err != nil {
			t.Fatal(err)
		}
		b = &pem.Block{Type: "EC PRIVATE KEY", Bytes: der}
	default:
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		b = &pem.Block{Type: "PRIVATE KEY", Bytes: der}
	}
	return pem.EncodeToMemory(b)
}

// bundlePEM is the usual HAProxy file: leaf, intermediate, key.
func (p pkiFixture) bundlePEM(t testing.TB, c *testCert) []byte {
	return cat(certPEM(c), certPEM(p.inter), keyPEM(t, c.key, pkcs8))
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func writeFile(t testing.TB, path string, data []byte) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// ocspSpec describes a test OCSP response.
type ocspSpec struct {
	status     int // 0 successful
	serial     *big.Int
	good       bool
	revoked    bool
	thisUpdate time.Time
	nextUpdate time.Time
	count      int // single responses, 1 when 0
	hash       asn1.ObjectIdentifier
	extensions bool // a responseExtensions field (a nonce), which the parser must skip
}

// makeOCSP builds a DER OCSP response for leaf from issuer, signed by the
// issuer's key.
func makeOCSP(t testing.TB, leaf, issuer *testCert, s ocspSpec) []byte {
	t.Helper()
	if s.hash == nil {
		s.hash = ocspHashes[0].oid
	}
	h := crypto.SHA1
	for _, c := range ocspHashes {
		if c.oid.Equal(s.hash) {
			h = c.hash
		}
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		Key       asn1.BitString
	}
	if _, err := asn1.Unmarshal(issuer.cert.RawSubjectPublicKeyInfo, &spki); err != nil {
		t.Fatal(err)
	}
	nh, kh := h.New(), h.New()
	nh.Write(issuer.cert.RawSubject)
	kh.Write(spki.Key.RightAlign())
	serialNo := leaf.cert.SerialNumber
	if s.serial != nil {
		serialNo = s.serial
	}
	type revokedInfo struct {
		Time time.Time `asn1:"generalized"`
	}
	type single struct {
		CertID     ocspCertID
		Good       asn1.Flag   `asn1:"tag:0,optional"`
		Revoked    revokedInfo `asn1:"tag:1,optional"`
		Unknown    asn1.Flag   `asn1:"tag:2,optional"`
		ThisUpdate time.Time   `asn1:"generalized"`
		NextUpdate time.Time   `asn1:"generalized,explicit,tag:0,optional"`
	}
	sr := single{
		CertID:     ocspCertID{Hash: pkix.AlgorithmIdentifier{Algorithm: s.hash, Parameters: asn1.NullRawValue}, NameHash: nh.Sum(nil), IssuerKeyHash: kh.Sum(nil), Serial: serialNo},
		ThisUpdate: s.thisUpdate.UTC().Truncate(time.Second),
		NextUpdate: s.nextUpdate.UTC().Truncate(time.Second),
	}
	switch {
	case s.good:
		sr.Good = true
	case s.revoked:
		sr.Revoked = revokedInfo{Time: time.Now().Add(-time.Hour).UTC().Truncate(time.Second)}
	default:
		sr.Unknown = true
	}
	n := s.count
	if n == 0 {
		n = 1
	}
	singles := make([]single, n)
	for i := range singles {
		singles[i] = sr
	}
	type data struct {
		Responder  asn1.RawValue
		ProducedAt time.Time `asn1:"generalized"`
		Responses  []single
	}
	type dataExt struct {
		Responder  asn1.RawValue
		ProducedAt time.Time `asn1:"generalized"`
		Responses  []single
		Extensions []pkix.Extension `asn1:"explicit,tag:1"`
	}
	responder := asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 2, IsCompound: true, Bytes: mustMarshal(t, kh.Sum(nil))}
	var tbs []byte
	if s.extensions {
		tbs = mustMarshal(t, dataExt{Responder: responder, ProducedAt: time.Now().UTC().Truncate(time.Second), Responses: singles,
			Extensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 2}, Value: []byte{4, 2, 1, 2}}}})
	} else {
		tbs = mustMarshal(t, data{Responder: responder, ProducedAt: time.Now().UTC().Truncate(time.Second), Responses: singles})
	}
	digest := crypto.SHA256.New()
	digest.Write(tbs)
	sig, err := issuer.key.Sign(rand.Reader, digest.Sum(nil), crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	basic := struct {
		TBS       asn1.RawValue
		Algorithm pkix.AlgorithmIdentifier
		Signature asn1.BitString
	}{
		TBS:       asn1.RawValue{FullBytes: tbs},
		Algorithm: pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}},
		Signature: asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)},
	}
	resp := struct {
		Status   asn1.Enumerated
		Response ocspResponseBytes `asn1:"explicit,tag:0,optional"`
	}{Status: asn1.Enumerated(s.status)}
	if s.status == 0 {
		resp.Response = ocspResponseBytes{Type: oidOCSPBasic, Response: mustMarshal(t, basic)}
	}
	return mustMarshal(t, resp)
}

func mustMarshal(t testing.TB, v any) []byte {
	t.Helper()
	b, err := asn1.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sctList encodes SCTs as a .sctl file holds them.
func sctList(scts ...[]byte) []byte {
	var body []byte
	for _, s := range scts {
		body = append(body, byte(len(s)>>8), byte(len(s)))
		body = append(body, s...)
	}
	return append([]byte{byte(len(body) >> 8), byte(len(body))}, body...)
}

// wantErr checks that err says every one of parts.
func wantErr(t testing.TB, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one saying %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Fatalf("error %q does not say %q", err, p)
		}
	}
}

// wantWarning checks that one warning is about file and says every one of
// parts.
func wantWarning(t testing.TB, ws []Warning, file string, parts ...string) {
	t.Helper()
next:
	for _, w := range ws {
		if w.File != file {
			continue
		}
		for _, p := range parts {
			if !strings.Contains(w.Text, p) {
				continue next
			}
		}
		return
	}
	t.Fatalf("no warning about %s saying %q in %q", file, parts, ws)
}
