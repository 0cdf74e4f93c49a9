package certs

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/fjordlb/fjord/tls/testcert"
)

// testdata/openssl-v1 holds a CA and a version 1 CRL of it that revokes
// serial 0x1001, made by 'openssl ca -gencrl' as HAProxy users make
// theirs (gen.sh there says how).

func regtestFile(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "openssl-v1", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func regtestCert(t testing.TB, name string) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode(regtestFile(t, name))
	if b == nil {
		t.Fatalf("%s: no PEM block", name)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func crlPEM(der ...[]byte) []byte {
	var out []byte
	for _, d := range der {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: d})...)
	}
	return out
}

// hasVersion reports whether a CRL's TBSCertList has the version field,
// which version 1 CRLs leave out.
func hasVersion(t testing.TB, der []byte) bool {
	t.Helper()
	s := cryptobyte.String(der)
	var crl, tbs cryptobyte.String
	if !s.ReadASN1(&crl, cbasn1.SEQUENCE) || !crl.ReadASN1(&tbs, cbasn1.SEQUENCE) {
		t.Fatal("not a CRL")
	}
	return tbs.PeekASN1Tag(cbasn1.INTEGER)
}

func serials(rl *x509.RevocationList) []string {
	var out []string
	for _, e := range rl.RevokedCertificateEntries {
		out = append(out, e.SerialNumber.Text(16))
	}
	return out
}

// TestParseCRLs: a crl-file's CRLs, version 1 or 2, one or several, PEM
// or DER, are read with their issuer, dates and revoked serials, and
// CheckCRL accepts each from its CA, refuses it from another CA or
// tampered with, and does not look at its dates.
func TestParseCRLs(t *testing.T) {
	ca := testcert.NewCA(t, "Test CA")
	other := testcert.NewCA(t, "Other CA")
	namesake := testcert.NewCA(t, "Test CA") // the same name, another key
	leaf := ca.Issue(t, x509.ExtKeyUsageClientAuth, "client").Leaf
	leaf2 := ca.Issue(t, x509.ExtKeyUsageClientAuth, "client2").Leaf
	hex := func(cs ...*x509.Certificate) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.SerialNumber.Text(16))
		}
		return out
	}
	now := time.Now()
	v1 := ca.RevokeV1(t, leaf, leaf2)
	v2 := ca.Revoke(t, leaf)
	expired := ca.CRLV1(t, now.Add(-48*time.Hour), now.Add(-24*time.Hour), leaf)
	otherV1 := other.RevokeV1(t, leaf)
	forged := namesake.RevokeV1(t) // names Test CA, signed by another key
	sigTampered := bytes.Clone(v1)
	sigTampered[len(sigTampered)-1] ^= 1
	v2SigTampered := bytes.Clone(v2)
	v2SigTampered[len(v2SigTampered)-1] ^= 1
	// The OpenSSL CRL revokes 0x1001: make it revoke 0x1002 instead, so
	// that the certificate it revokes passes.
	opensslCRL := regtestFile(t, "crl.pem")
	b, _ := pem.Decode(opensslCRL)
	unrevoked := bytes.Clone(b.Bytes)
	i := bytes.Index(unrevoked, []byte{0x02, 0x02, 0x10, 0x01})
	if i < 0 || bytes.Contains(unrevoked[i+1:], []byte{0x02, 0x02, 0x10, 0x01}) {
		t.Fatal("crl.pem: serial 1001 not found once")
	}
	unrevoked[i+3] = 0x02
	opensslCA := regtestCert(t, "ca.crt")
	const opensslIssuer = "CN=fjord-test-v1-crl-ca"

	caCert := ca.Cert

	type want struct {
		issuer     string
		version1   bool
		serials    []string
		thisUpdate time.Time // checked when set
		nextUpdate time.Time
		by         *x509.Certificate // CheckCRL with it: ok unless check says
		check      string            // what CheckCRL's error says
	}
	for _, tc := range []struct {
		name string
		data []byte
		want []want
		err  string
	}{
		{
			name: "OpenSSL's v1 CRL",
			data: opensslCRL,
			want: []want{{issuer: opensslIssuer, version1: true, serials: []string{"1001"}, by: opensslCA}},
		},
		{
			name: "a PEM with two v1 CRLs, one per CA",
			data: append(bytes.Clone(opensslCRL), crlPEM(v1)...),
			want: []want{
				{issuer: opensslIssuer, version1: true, serials: []string{"1001"}, by: opensslCA},
				{issuer: "CN=Test CA", version1: true, serials: hex(leaf, leaf2), by: caCert},
			},
		},
		{
			name: "v1 CRLs checked against the wrong CA",
			data: append(bytes.Clone(opensslCRL), crlPEM(v1)...),
			want: []want{
				{issuer: opensslIssuer, version1: true, serials: []string{"1001"}, by: caCert, check: "the CRL of " + opensslIssuer + " is not one of CN=Test CA"},
				{issuer: "CN=Test CA", version1: true, serials: hex(leaf, leaf2), by: opensslCA, check: "is not one of"},
			},
		},
		{
			name: "OpenSSL's v1 CRL with a revoked serial changed",
			data: crlPEM(unrevoked),
			want: []want{{issuer: opensslIssuer, version1: true, serials: []string{"1002"}, by: opensslCA, check: "crl.pem: the CRL of " + opensslIssuer + " is not signed by that CA's key"}},
		},
		{
			name: "v1 CRL",
			data: crlPEM(v1),
			want: []want{{issuer: "CN=Test CA", version1: true, serials: hex(leaf, leaf2), by: caCert}},
		},
		{
			name: "v1 CRL in DER",
			data: v1,
			want: []want{{issuer: "CN=Test CA", version1: true, serials: hex(leaf, leaf2), by: caCert}},
		},
		{
			name: "v2 CRL (x509.CreateRevocationList)",
			data: crlPEM(v2),
			want: []want{{issuer: "CN=Test CA", serials: hex(leaf), by: caCert}},
		},
		{
			name: "PEM with several CRLs, v1 and v2, and a certificate skipped",
			data: cat(crlPEM(otherV1), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caCert.Raw}), crlPEM(v2)),
			want: []want{
				{issuer: "CN=Other CA", version1: true, serials: hex(leaf), by: other.Cert},
				{issuer: "CN=Test CA", serials: hex(leaf), by: caCert},
			},
		},
		{
			name: "expired v1 CRL: read, and its dates left to the caller",
			data: crlPEM(expired),
			want: []want{{issuer: "CN=Test CA", version1: true, serials: hex(leaf), nextUpdate: now.Add(-24 * time.Hour).Truncate(time.Second).UTC(), by: caCert}},
		},
		{
			name: "CRL of another CA",
			data: crlPEM(otherV1),
			want: []want{{issuer: "CN=Other CA", version1: true, serials: hex(leaf), by: caCert, check: "crl.pem: the CRL of CN=Other CA is not one of CN=Test CA"}},
		},
		{
			name: "CRL naming the CA, signed by another key",
			data: crlPEM(forged),
			want: []want{{issuer: "CN=Test CA", version1: true, by: caCert, check: "crl.pem: the CRL of CN=Test CA is not signed by that CA's key: x509: ECDSA verification failure"}},
		},
		{
			name: "v1 CRL with its signature changed",
			data: crlPEM(sigTampered),
			want: []want{{issuer: "CN=Test CA", version1: true, serials: hex(leaf, leaf2), by: caCert, check: "ECDSA verification failure"}},
		},
		{
			name: "v2 CRL with its signature changed",
			data: crlPEM(v2SigTampered),
			want: []want{{issuer: "CN=Test CA", serials: hex(leaf), by: caCert, check: "ECDSA verification failure"}},
		},
		{name: "empty", data: []byte("\n"), err: "the file is empty"},
		{name: "garbage", data: []byte("not a CRL"), err: "no PEM block, and not a CRL in DER: x509: malformed crl"},
		{name: "no CRL block", data: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caCert.Raw}), err: "no X509 CRL block in the file"},
		{name: "garbage in a CRL block", data: crlPEM(v2, []byte("junk")), err: "block 2 (X509 CRL): x509: malformed crl"},
		{name: "truncated v1 CRL", data: crlPEM(v1[:len(v1)-10]), err: "block 1 (X509 CRL): x509: malformed crl"},
		{name: "v1 CRL cut inside its TBSCertList", data: crlPEM(truncatedTBS(t, v1)), err: "block 1 (X509 CRL): x509: unsupported time format"},
		{name: "certificate in a CRL block", data: crlPEM(caCert.Raw), err: "block 1 (X509 CRL): x509: unsupported crl version"},
		{name: "truncated PEM", data: crlPEM(v1)[:100], err: "block 1 (X509 CRL): no \"-----END X509 CRL-----\" line before the end of the file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			crls, err := ParseCRLs(tc.data)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(crls) != len(tc.want) {
				t.Fatalf("%d CRLs, want %d", len(crls), len(tc.want))
			}
			for i, w := range tc.want {
				rl := crls[i]
				if got := rl.Issuer.String(); got != w.issuer {
					t.Errorf("CRL %d: issuer %q, want %q", i+1, got, w.issuer)
				}
				if v := !hasVersion(t, rl.Raw); v != w.version1 {
					t.Errorf("CRL %d: version 1 is %v, want %v", i+1, v, w.version1)
				}
				if !bytes.Contains(tc.data, rl.Raw) && !bytes.Contains(pemBytes(tc.data), rl.Raw) {
					t.Errorf("CRL %d: Raw is not the file's", i+1)
				}
				if !bytes.Contains(rl.Raw, rl.RawTBSRevocationList) || !bytes.Equal(rl.RawTBSRevocationList, tbsOf(t, rl.Raw)) {
					t.Errorf("CRL %d: RawTBSRevocationList is not the file's TBSCertList", i+1)
				}
				if got := serials(rl); !slices.Equal(got, w.serials) {
					t.Errorf("CRL %d: revokes %v, want %v", i+1, got, w.serials)
				}
				if !w.thisUpdate.IsZero() && !rl.ThisUpdate.Equal(w.thisUpdate) {
					t.Errorf("CRL %d: thisUpdate %s, want %s", i+1, rl.ThisUpdate, w.thisUpdate)
				}
				if !w.nextUpdate.IsZero() && !rl.NextUpdate.Equal(w.nextUpdate) {
					t.Errorf("CRL %d: nextUpdate %s, want %s", i+1, rl.NextUpdate, w.nextUpdate)
				}
				err := CheckCRL("crl.pem", rl, w.by)
				if w.check == "" && err != nil {
					t.Errorf("CRL %d: %v", i+1, err)
				}
				if w.check != "" && (err == nil || !strings.Contains(err.Error(), w.check) || !strings.HasPrefix(err.Error(), "crl.pem: ")) {
					t.Errorf("CRL %d: CheckCRL: %v, want %q", i+1, err, w.check)
				}
			}
		})
	}
}

// pemBytes is the DER of every PEM block of data, end to end.
func pemBytes(data []byte) []byte {
	var out []byte
	for {
		var b *pem.Block
		if b, data = pem.Decode(data); b == nil {
			return out
		}
		out = append(out, b.Bytes...)
	}
}

// tbsOf is the TBSCertList element of a CRL, as its DER has it.
func tbsOf(t testing.TB, der []byte) []byte {
	t.Helper()
	s := cryptobyte.String(der)
	var crl, tbs cryptobyte.String
	if !s.ReadASN1(&crl, cbasn1.SEQUENCE) || !crl.ReadASN1Element(&tbs, cbasn1.SEQUENCE) {
		t.Fatal("not a CRL")
	}
	return tbs
}

// truncatedTBS is a CRL whose TBSCertList ends after its issuer, with the
// lengths around it right: malformed inside, well formed outside.
func truncatedTBS(t testing.TB, der []byte) []byte {
	t.Helper()
	s := cryptobyte.String(der)
	var crl, tbs, algo, issuer cryptobyte.String
	if !s.ReadASN1(&crl, cbasn1.SEQUENCE) || !crl.ReadASN1(&tbs, cbasn1.SEQUENCE) ||
		!tbs.ReadASN1Element(&algo, cbasn1.SEQUENCE) || !tbs.ReadASN1Element(&issuer, cbasn1.SEQUENCE) {
		t.Fatal("not a version 1 CRL")
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddBytes(algo); b.AddBytes(issuer) })
		b.AddBytes(crl)
	})
	return b.BytesOrPanic()
}

// TestParseCRLVersion2Unchanged: a version 2 CRL is what
// x509.ParseRevocationList makes of it, and a version 1 CRL what it makes
// of the same CRL with the version field, but for the raw bytes.
func TestParseCRLVersion2Unchanged(t *testing.T) {
	ca := testcert.NewCA(t, "Test CA")
	leaf := ca.Issue(t, x509.ExtKeyUsageClientAuth, "client").Leaf
	v2 := ca.Revoke(t, leaf)
	got, err := ParseCRL(v2)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := x509.ParseRevocationList(v2)
	if !bytes.Equal(got.Raw, want.Raw) || !sameCRL(got, want) || got.Number.Cmp(want.Number) != 0 {
		t.Fatal("a version 2 CRL read differently")
	}

	v1 := ca.RevokeV1(t, leaf)
	if _, err := x509.ParseRevocationList(v1); err == nil || err.Error() != "x509: unsupported crl version" {
		t.Fatalf("crypto/x509 reads version 1 CRLs now (%v): ParseCRL's fallback may go", err)
	}
	got, err = ParseCRL(v1)
	if err != nil {
		t.Fatal(err)
	}
	_, _, withVersion, _ := asVersion2(v1)
	want, err = x509.ParseRevocationList(withVersion)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Raw, v1) || !bytes.Equal(got.RawTBSRevocationList, tbsOf(t, v1)) {
		t.Fatal("the raw bytes are not the CRL's")
	}
	if !sameCRL(got, want) {
		t.Fatal("a version 1 CRL read differently from its version 2 form")
	}
	// An explicit version 1 (INTEGER 0) is not DER for RFC 5280, and
	// stays refused.
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1Int64(0); b.AddBytes(tbsBody(t, v1)) })
		b.AddBytes(v1[len(v1)-len(afterTBS(t, v1)):])
	})
	if _, err := ParseCRL(b.BytesOrPanic()); err == nil || !strings.Contains(err.Error(), "unsupported crl version: 0") {
		t.Fatalf("explicit version 0: err = %v", err)
	}
}

// sameCRL reports whether a and b say the same, whatever their raw
// bytes.
func sameCRL(a, b *x509.RevocationList) bool {
	return slices.EqualFunc(a.RevokedCertificateEntries, b.RevokedCertificateEntries, func(a, b x509.RevocationListEntry) bool {
		return a.SerialNumber.Cmp(b.SerialNumber) == 0 && a.RevocationTime.Equal(b.RevocationTime) && a.ReasonCode == b.ReasonCode
	}) && bytes.Equal(a.RawIssuer, b.RawIssuer) && bytes.Equal(a.Signature, b.Signature) &&
		a.SignatureAlgorithm == b.SignatureAlgorithm && a.ThisUpdate.Equal(b.ThisUpdate) && a.NextUpdate.Equal(b.NextUpdate) &&
		len(a.Extensions) == len(b.Extensions)
}

func tbsBody(t testing.TB, der []byte) []byte {
	t.Helper()
	s := cryptobyte.String(tbsOf(t, der))
	var body cryptobyte.String
	if !s.ReadASN1(&body, cbasn1.SEQUENCE) {
		t.Fatal("not a CRL")
	}
	return body
}

// afterTBS is what follows the TBSCertList in a CRL: its signature
// algorithm and value.
func afterTBS(t testing.TB, der []byte) []byte {
	t.Helper()
	s := cryptobyte.String(der)
	var crl, tbs cryptobyte.String
	if !s.ReadASN1(&crl, cbasn1.SEQUENCE) || !crl.ReadASN1(&tbs, cbasn1.SEQUENCE) {
		t.Fatal("not a CRL")
	}
	return crl
}

// FuzzParseCRL: ParseCRL and ParseCRLs never panic; what ParseCRL accepts
// is the start of its input, its TBSCertList is the input's own bytes, a
// version 2 CRL is read as crypto/x509 reads it, and a CRL that passes
// CheckCRL with a seed's CA is a CRL that CA signed, with its revocations.
func FuzzParseCRL(f *testing.F) {
	ca := testcert.NewCA(f, "Test CA")
	leaf := ca.Issue(f, x509.ExtKeyUsageClientAuth, "client").Leaf
	signed := map[string][]string{} // TBSCertList -> revoked serials
	issuers := []*x509.Certificate{ca.Cert}
	add := func(der []byte) {
		rl, err := ParseCRL(der)
		if err != nil {
			f.Fatal(err)
		}
		signed[string(rl.RawTBSRevocationList)] = serials(rl)
		f.Add(der)
	}
	add(ca.RevokeV1(f, leaf))
	add(ca.RevokeV1(f))
	add(ca.Revoke(f, leaf))
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number: big.NewInt(7), ThisUpdate: time.Now(), NextUpdate: time.Now().Add(time.Hour),
		RevokedCertificateEntries: []x509.RevocationListEntry{{SerialNumber: leaf.SerialNumber, RevocationTime: time.Now(), ReasonCode: 1}},
	}, ca.Cert, ca.Key)
	if err != nil {
		f.Fatal(err)
	}
	add(der)
	for _, name := range []string{"crl.pem"} {
		data := regtestFile(f, name)
		for {
			var b *pem.Block
			if b, data = pem.Decode(data); b == nil {
				break
			}
			add(b.Bytes)
		}
	}
	for _, name := range []string{"ca.crt"} {
		issuers = append(issuers, regtestCert(f, name))
	}
	f.Add(regtestFile(f, "crl.pem"))
	f.Add([]byte("not a CRL"))
	f.Add([]byte{0x30, 0x03, 0x30, 0x01, 0x30})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := ParseCRLs(data); err != nil && err.Error() == "" {
			t.Fatal("an error without a message")
		}
		rl, err := ParseCRL(data)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an error without a message")
			}
			return
		}
		if !bytes.HasPrefix(data, rl.Raw) || !bytes.Equal(rl.RawTBSRevocationList, tbsOf(t, rl.Raw)) {
			t.Fatal("the raw bytes are not the input's")
		}
		if std, err := x509.ParseRevocationList(data); err == nil {
			if !bytes.Equal(std.Raw, rl.Raw) || !sameCRL(std, rl) {
				t.Fatal("a version 2 CRL read differently from crypto/x509")
			}
		} else if hasVersion(t, data) {
			t.Fatalf("a CRL with a version field accepted that crypto/x509 refuses: %v", err)
		}
		for _, c := range issuers {
			if CheckCRL("f", rl, c) != nil {
				continue
			}
			want, ok := signed[string(rl.RawTBSRevocationList)]
			if !ok {
				t.Fatalf("a CRL that %s never signed passes its check", c.Subject)
			}
			if got := serials(rl); !slices.Equal(got, want) {
				t.Fatalf("a signed CRL read as revoking %v, not %v", got, want)
			}
		}
	})
}

// A CA whose key usage leaves out cRLSign still signed its CRL: the
// signature checks, and whether such a CA may sign CRLs (OpenSSL's code
// 35) is its caller's question.
func TestCheckCRLWithoutCRLSign(t *testing.T) {
	ca := testcert.NewCA(t, "Test CA")
	leaf := ca.Issue(t, x509.ExtKeyUsageClientAuth, "client").Leaf
	crl, err := ParseCRL(ca.Revoke(t, leaf))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := *ca.Cert
	tmpl.KeyUsage = x509.KeyUsageCertSign
	der, err := x509.CreateCertificate(rand.Reader, &tmpl, &tmpl, ca.Key.Public(), ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	noCRLSign, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckCRL("crl.pem", crl, noCRLSign); err != nil {
		t.Errorf("a CRL its CA's key signed: %v", err)
	}
}

// A ca-file's certificates are read under any of OpenSSL's labels; other
// blocks are skipped; a file without one is an error.
func TestParseCerts(t *testing.T) {
	ca := testcert.NewCA(t, "Test CA")
	other := testcert.NewCA(t, "Other CA")
	blockOf := func(label string, der []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: label, Bytes: der}) }
	data := append(blockOf("CERTIFICATE", ca.Cert.Raw), blockOf("X509 CRL", ca.Revoke(t))...)
	data = append(data, blockOf("X509 CERTIFICATE", other.Cert.Raw)...)
	got, err := ParseCerts(data)
	if err != nil || len(got) != 2 || !got[0].Equal(ca.Cert) || !got[1].Equal(other.Cert) {
		t.Fatalf("ParseCerts = %d certificates, %v; want both CAs", len(got), err)
	}
	if _, err := ParseCerts(blockOf("X509 CRL", ca.Revoke(t))); err == nil {
		t.Error("a file without a certificate was taken")
	}
}
