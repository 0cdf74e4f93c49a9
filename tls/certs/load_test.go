package certs

import (
	"bytes"
	"crypto"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLoadFileLayouts: a certificate file holds its leaf, chain and key in
// any order and any of the key formats HAProxy reads.
func TestLoadFileLayouts(t *testing.T) {
	p := testPKI(t)
	ec := p.leaf(t, ecKey, "ec.example.com")
	rs := p.leaf(t, rsaKind, "rsa.example.com")
	ed := p.leaf(t, edKey, "ed.example.com")
	dh := []byte("-----BEGIN DH PARAMETERS-----\nMAYCAQACAQI=\n-----END DH PARAMETERS-----\n")
	ecParams := []byte("-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n")
	trusted := pem.EncodeToMemory(&pem.Block{Type: "TRUSTED CERTIFICATE", Bytes: append(append([]byte{}, ec.cert.Raw...), 0x30, 0x00)})
	old := pem.EncodeToMemory(&pem.Block{Type: "X509 CERTIFICATE", Bytes: ec.cert.Raw})
	tests := []struct {
		name     string
		data     []byte
		leaf     *testCert
		chain    int
		keyType  KeyType
		warnings []string // one substring per expected warning
	}{
		{name: "leaf, chain, key", data: p.bundlePEM(t, ec), leaf: ec, chain: 1, keyType: KeyECDSA},
		{name: "key first", data: cat(keyPEM(t, ec.key, pkcs8), certPEM(ec), certPEM(p.inter)), leaf: ec, chain: 1, keyType: KeyECDSA},
		{name: "key between certificates", data: cat(certPEM(ec), keyPEM(t, ec.key, sec1), certPEM(p.inter)), leaf: ec, chain: 1, keyType: KeyECDSA},
		{name: "no chain", data: cat(certPEM(ec), keyPEM(t, ec.key, pkcs8)), leaf: ec, keyType: KeyECDSA},
		{name: "full chain with root", data: cat(certPEM(ec), certPEM(p.inter), certPEM(p.root), keyPEM(t, ec.key, pkcs8)), leaf: ec, chain: 2, keyType: KeyECDSA},
		{name: "PKCS#1 RSA key", data: cat(certPEM(rs), certPEM(p.inter), keyPEM(t, rs.key, pkcs1)), leaf: rs, chain: 1, keyType: KeyRSA},
		{name: "PKCS#8 RSA key", data: cat(certPEM(rs), keyPEM(t, rs.key, pkcs8)), leaf: rs, keyType: KeyRSA},
		{name: "SEC1 EC key", data: cat(certPEM(ec), keyPEM(t, ec.key, sec1)), leaf: ec, keyType: KeyECDSA},
		{name: "PKCS#8 Ed25519 key", data: cat(certPEM(ed), keyPEM(t, ed.key, pkcs8)), leaf: ed, keyType: KeyEd25519},
		{name: "DH and EC parameters skipped quietly", data: cat(ecParams, keyPEM(t, ec.key, sec1), certPEM(ec), dh), leaf: ec, keyType: KeyECDSA},
		{name: "text around blocks", data: cat([]byte("subject=CN = ec.example.com\nissuer=CN = x\n"), certPEM(ec), []byte("# the key\n"), keyPEM(t, ec.key, pkcs8), []byte("trailing text")), leaf: ec, keyType: KeyECDSA},
		{name: "CRLF line ends", data: bytes.ReplaceAll(p.bundlePEM(t, ec), []byte("\n"), []byte("\r\n")), leaf: ec, chain: 1, keyType: KeyECDSA},
		{name: "X509 CERTIFICATE, the old name", data: cat(old, keyPEM(t, ec.key, pkcs8)), leaf: ec, keyType: KeyECDSA},
		{name: "TRUSTED CERTIFICATE with trust settings", data: cat(trusted, keyPEM(t, ec.key, pkcs8)), leaf: ec, keyType: KeyECDSA},
		{name: "mislabelled key read by its DER", data: cat(certPEM(ec), bytes.Replace(keyPEM(t, ec.key, pkcs8), []byte("PRIVATE KEY"), []byte("EC PRIVATE KEY"), 2)), leaf: ec, keyType: KeyECDSA},
		{
			name: "chain before the leaf", data: cat(certPEM(p.inter), certPEM(ec), keyPEM(t, ec.key, pkcs8)), leaf: ec, chain: 1, keyType: KeyECDSA,
			warnings: []string{"is not the first certificate of the file: fjord serves it, but HAProxy 2.6 takes the first certificate for the leaf"},
		},
		{
			name: "chain out of order", data: cat(certPEM(ec), certPEM(p.root), certPEM(p.inter), keyPEM(t, ec.key, pkcs8)), leaf: ec, chain: 2, keyType: KeyECDSA,
			warnings: []string{"the chain is out of order: chain certificate 1, CN=fjord test root, did not issue ec.example.com (its issuer, CN=fjord test intermediate, is chain certificate 2)"},
		},
		{
			name: "unrelated certificate in the chain", data: cat(certPEM(ec), certPEM(rs), keyPEM(t, ec.key, pkcs8)), leaf: ec, chain: 1, keyType: KeyECDSA,
			warnings: []string{"chain certificate 1, rsa.example.com, did not issue ec.example.com (its issuer is not in the chain)"},
		},
		{
			name: "unknown block skipped with a warning", data: cat(p.bundlePEM(t, ec), []byte("-----BEGIN X509 CRL-----\nMAA=\n-----END X509 CRL-----\n")), leaf: ec, chain: 1, keyType: KeyECDSA,
			warnings: []string{"block 4 (X509 CRL) is neither a certificate nor a private key: skipped, as HAProxy does"},
		},
		{
			name: "second key ignored with a warning", data: cat(p.bundlePEM(t, ec), keyPEM(t, rs.key, pkcs1)), leaf: ec, chain: 1, keyType: KeyECDSA,
			warnings: []string{"block 4 (RSA PRIVATE KEY) is a second private key: ignored, as HAProxy does (the key is block 3)"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, filepath.Join(t.TempDir(), "site.pem"), tc.data)
			var w warnings
			l, err := loadFile(path, time.Now(), 0, &w)
			if err != nil {
				t.Fatal(err)
			}
			if !l.leaf.Equal(tc.leaf.cert) {
				t.Errorf("leaf = %s, want %s", describe(l.leaf), describe(tc.leaf.cert))
			}
			if got := len(l.cert.Certificate) - 1; got != tc.chain {
				t.Errorf("chain has %d certificates, want %d", got, tc.chain)
			}
			if !bytes.Equal(l.cert.Certificate[0], tc.leaf.cert.Raw) || l.cert.Leaf != l.leaf {
				t.Error("the served certificate does not start with the leaf")
			}
			if l.keyType != tc.keyType {
				t.Errorf("key type = %s, want %s", l.keyType, tc.keyType)
			}
			if !keyMatches(tc.leaf.cert.PublicKey, l.cert.PrivateKey.(crypto.Signer)) {
				t.Error("the private key does not match the leaf")
			}
			if len(w.list) != len(tc.warnings) {
				t.Fatalf("warnings %q, want %d", w.list, len(tc.warnings))
			}
			for _, want := range tc.warnings {
				wantWarning(t, w.list, path, want)
			}
		})
	}
}

// TestLoadFileErrors: every refusal names the file, and says what is
// wrong and where fjord looked.
func TestLoadFileErrors(t *testing.T) {
	p := testPKI(t)
	ec := p.leaf(t, ecKey, "ec.example.com")
	other := p.leaf(t, ecKey, "other.example.com")
	good := p.bundlePEM(t, ec)
	certOnly := cat(certPEM(ec), certPEM(p.inter))
	truncated := bytes.Replace(good, []byte("-----END CERTIFICATE-----\n"), nil, 1)
	badB64 := bytes.Replace(good, []byte("\n"), []byte("\n!!!!\n"), 2)
	tests := []struct {
		name  string
		files map[string][]byte // relative to the directory; "site.pem" is loaded
		want  []string          // "%s" is the path of site.pem
	}{
		{name: "missing file", files: map[string][]byte{}, want: []string{"cannot read the certificate file: open %s: no such file or directory"}},
		{name: "empty file", files: map[string][]byte{"site.pem": nil}, want: []string{"%s: the file is empty"}},
		{name: "not PEM", files: map[string][]byte{"site.pem": ec.cert.Raw}, want: []string{"%s: the file holds no PEM block", "openssl x509 -inform der"}},
		{name: "no certificate", files: map[string][]byte{"site.pem": keyPEM(t, ec.key, pkcs8)}, want: []string{"%s: the file holds no certificate"}},
		{name: "no private key", files: map[string][]byte{"site.pem": certOnly}, want: []string{"%s: no private key: there is none in the file, and no %s.key"}},
		{name: "key does not match", files: map[string][]byte{"site.pem": cat(certOnly, keyPEM(t, other.key, pkcs8))}, want: []string{"the private key in %s does not match the certificate for ec.example.com, nor any of the 1 other certificates of %s"}},
		{name: "key does not match the only certificate", files: map[string][]byte{"site.pem": cat(certPEM(ec), keyPEM(t, other.key, pkcs8))}, want: []string{"the private key in %s does not match the certificate for ec.example.com"}},
		{name: "truncated block", files: map[string][]byte{"site.pem": truncated}, want: []string{"%s: block 1 (CERTIFICATE): no \"-----END CERTIFICATE-----\" line before the next BEGIN line"}},
		{name: "truncated last block", files: map[string][]byte{"site.pem": good[:len(good)-30]}, want: []string{"%s: block 3 (PRIVATE KEY): no \"-----END PRIVATE KEY-----\" line before the end of the file"}},
		{name: "bad base64", files: map[string][]byte{"site.pem": badB64}, want: []string{"%s: block 1 (CERTIFICATE): malformed"}},
		{name: "malformed BEGIN line", files: map[string][]byte{"site.pem": []byte("-----BEGIN CERTIFICATE\nMAA=\n")}, want: []string{"%s: block 1: malformed BEGIN line"}},
		{name: "bad certificate DER", files: map[string][]byte{"site.pem": cat(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{0x30, 0x03, 1, 2, 3}}), keyPEM(t, ec.key, pkcs8))}, want: []string{"%s: block 1 (CERTIFICATE): x509:"}},
		{name: "bad key DER", files: map[string][]byte{"site.pem": cat(certOnly, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{0x30, 0}}))}, want: []string{"%s: block 3 (PRIVATE KEY): "}},
		{name: "encrypted PKCS#8 key", files: map[string][]byte{"site.pem": cat(certOnly, pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{0x30, 0}}))}, want: []string{"%s: block 3 (ENCRYPTED PRIVATE KEY): the private key is encrypted"}},
		{name: "encrypted legacy key", files: map[string][]byte{"site.pem": cat(certOnly, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00"}, Bytes: []byte{0x30, 0}}))}, want: []string{"block 3 (RSA PRIVATE KEY): the private key is encrypted"}},
		{name: "DSA key", files: map[string][]byte{"site.pem": cat(certOnly, pem.EncodeToMemory(&pem.Block{Type: "DSA PRIVATE KEY", Bytes: []byte{0x30, 0}}))}, want: []string{"%s: block 3 (DSA PRIVATE KEY): DSA keys are not supported"}},
		{name: "PKCS#8 DSA key", files: map[string][]byte{"site.pem": cat(certOnly, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: mustMarshal(t, struct {
			V int
			A pkix.AlgorithmIdentifier
			K []byte
		}{A: pkix.AlgorithmIdentifier{Algorithm: oidDSA}, K: []byte{2, 1, 1}})}))}, want: []string{"%s: block 3 (PRIVATE KEY): DSA keys are not supported"}},
		{name: "OpenSSH key", files: map[string][]byte{"site.pem": cat(certOnly, pem.EncodeToMemory(&pem.Block{Type: "OPENSSH PRIVATE KEY", Bytes: []byte{0}}))}, want: []string{"block 3 (OPENSSH PRIVATE KEY): unsupported private key format"}},
		{name: "file is a directory", files: map[string][]byte{"site.pem/x": nil}, want: []string{"cannot read the certificate file: read %s: is a directory"}},
		{name: ".key without a key", files: map[string][]byte{"site.pem": certOnly, "site.pem.key": certPEM(ec)}, want: []string{"%s.key holds no private key"}},
		{name: ".key malformed", files: map[string][]byte{"site.pem": certOnly, "site.pem.key": []byte("-----BEGIN PRIVATE KEY-----\n")}, want: []string{"%s.key: block 1 (PRIVATE KEY): no"}},
		{name: ".key does not match", files: map[string][]byte{"site.pem": certOnly, "site.pem.key": keyPEM(t, other.key, pkcs8)}, want: []string{"the private key in %s.key does not match the certificate for ec.example.com"}},
		{name: "neither key matches", files: map[string][]byte{"site.pem": cat(certOnly, keyPEM(t, other.key, sec1)), "site.pem.key": keyPEM(t, rsaKey(t, 1), pkcs8)}, want: []string{"the private key in %s.key does not match"}},
		{name: ".ocsp without an issuer", files: map[string][]byte{"site.pem": cat(certPEM(ec), keyPEM(t, ec.key, pkcs8)), "site.pem.ocsp": []byte{0x30}}, want: []string{"there is an OCSP response in %s.ocsp, and the issuer of the certificate for ec.example.com, needed to check it, is neither in the file's chain nor in %s.issuer"}},
		{name: ".issuer that is not the issuer", files: map[string][]byte{"site.pem": cat(certPEM(ec), keyPEM(t, ec.key, pkcs8)), "site.pem.ocsp": []byte{0x30}, "site.pem.issuer": certPEM(p.root)}, want: []string{"%s.issuer: CN=fjord test root is not the issuer of the certificate for ec.example.com"}},
		{name: ".issuer without a certificate", files: map[string][]byte{"site.pem": cat(certPEM(ec), keyPEM(t, ec.key, pkcs8)), "site.pem.ocsp": []byte{0x30}, "site.pem.issuer": []byte("nothing")}, want: []string{"%s.issuer holds no certificate"}},
		{name: ".sctl truncated", files: map[string][]byte{"site.pem": good, "site.pem.sctl": []byte{0, 5, 0, 3, 1}}, want: []string{"%s.sctl: not a TLS-encoded SignedCertificateTimestampList: the list says it is 5 bytes long, and the file holds 3"}},
		{name: ".sctl empty list", files: map[string][]byte{"site.pem": good, "site.pem.sctl": []byte{0, 0}}, want: []string{"%s.sctl: not a TLS-encoded SignedCertificateTimestampList: the list is empty"}},
		{name: ".sctl empty SCT", files: map[string][]byte{"site.pem": good, "site.pem.sctl": []byte{0, 2, 0, 0}}, want: []string{"SCT 1 is empty"}},
		{name: ".sctl is a directory", files: map[string][]byte{"site.pem": good, "site.pem.sctl/x": nil}, want: []string{"cannot read the SCT list: read %s.sctl: is a directory"}},
		{name: ".ocsp is a directory", files: map[string][]byte{"site.pem": good, "site.pem.ocsp/x": nil}, want: []string{"cannot read the OCSP response: read %s.ocsp: is a directory"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, data := range tc.files {
				writeFile(t, filepath.Join(dir, name), data)
			}
			path := filepath.Join(dir, "site.pem")
			var w warnings
			_, err := loadFile(path, time.Now(), 0, &w)
			var want []string
			for _, s := range tc.want {
				want = append(want, strings.ReplaceAll(s, "%s", path))
			}
			wantErr(t, err, want...)
		})
	}
}

// TestLoadFileKeySidecar: FILE.key holds the key when FILE has none; when
// both have one, the one that matches is used, and HAProxy's choice is
// explained.
func TestLoadFileKeySidecar(t *testing.T) {
	p := testPKI(t)
	ec := p.leaf(t, ecKey, "ec.example.com")
	other := p.leaf(t, ecKey, "other.example.com")
	certOnly := cat(certPEM(ec), certPEM(p.inter))
	tests := []struct {
		name    string
		pem     []byte
		key     []byte
		warning string
	}{
		{name: "key only in FILE.key", pem: certOnly, key: keyPEM(t, ec.key, sec1)},
		{name: "same key in both", pem: p.bundlePEM(t, ec), key: keyPEM(t, ec.key, pkcs8)},
		{name: "FILE.key's matches", pem: cat(certOnly, keyPEM(t, other.key, pkcs8)), key: keyPEM(t, ec.key, pkcs8), warning: "fjord uses %s.key's, which matches the certificate, as HAProxy does"},
		{name: "only the file's matches", pem: p.bundlePEM(t, ec), key: keyPEM(t, other.key, pkcs8), warning: "holds a private key that matches no certificate of the file, and the file's own key does"},
		{name: "certificate in FILE.key is not read", pem: certOnly, key: cat(certPEM(ec), keyPEM(t, ec.key, pkcs8)), warning: "block 1 (CERTIFICATE) is not read"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := writeFile(t, filepath.Join(dir, "site.pem"), tc.pem)
			writeFile(t, path+".key", tc.key)
			var w warnings
			l, err := loadFile(path, time.Now(), 0, &w)
			if err != nil {
				t.Fatal(err)
			}
			if !keyMatches(ec.cert.PublicKey, l.cert.PrivateKey.(crypto.Signer)) {
				t.Fatal("the key does not match the leaf")
			}
			if tc.warning == "" {
				if len(w.list) > 0 {
					t.Fatalf("warnings %q", w.list)
				}
				return
			}
			if len(w.list) != 1 {
				t.Fatalf("warnings %q, want one", w.list)
			}
			if !strings.Contains(w.list[0].Text, strings.ReplaceAll(tc.warning, "%s", path)) {
				t.Fatalf("warning %q, want %q", w.list[0], tc.warning)
			}
		})
	}
}

// TestLoadFileValidity: expired and not-yet-valid certificates are
// served, with a warning naming the date.
func TestLoadFileValidity(t *testing.T) {
	p := testPKI(t)
	now := time.Now()
	expired := issue(t, p.inter, certSpec{cn: "old.example.com", dns: []string{"old.example.com"}, notBefore: now.Add(-48 * time.Hour), notAfter: time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC)})
	future := issue(t, p.inter, certSpec{cn: "new.example.com", dns: []string{"new.example.com"}, notBefore: time.Date(2099, 3, 4, 0, 0, 0, 0, time.UTC), notAfter: time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)})
	oldInter := issue(t, p.root, certSpec{cn: "old intermediate", ca: true, notBefore: now.Add(-48 * time.Hour), notAfter: now.Add(-24 * time.Hour)})
	underOld := issue(t, oldInter, certSpec{cn: "x.example.com", dns: []string{"x.example.com"}})
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"expired", p.bundlePEM(t, expired), "the certificate for old.example.com expired on 2026-01-02: still served, as HAProxy does"},
		{"not yet valid", p.bundlePEM(t, future), "the certificate for new.example.com is not valid before 2099-03-04: served all the same, as HAProxy does"},
		{"expired intermediate", cat(certPEM(underOld), certPEM(oldInter), keyPEM(t, underOld.key, pkcs8)), "chain certificate 1, CN=old intermediate, expired on"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, filepath.Join(t.TempDir(), "site.pem"), tc.data)
			var w warnings
			if _, err := loadFile(path, now, 0, &w); err != nil {
				t.Fatal(err)
			}
			wantWarning(t, w.list, path, tc.want)
		})
	}
}

// TestLoadFileOCSP: FILE.ocsp is stapled when HAProxy would staple it; its
// issuer comes from the chain or FILE.issuer, appended to the chain; a
// response HAProxy would ignore is not stapled, with a warning.
func TestLoadFileOCSP(t *testing.T) {
	p := testPKI(t)
	now := time.Now()
	ec := p.leaf(t, ecKey, "ec.example.com")
	valid := ocspSpec{good: true, thisUpdate: now.Add(-time.Hour), nextUpdate: now.Add(48 * time.Hour)}
	with := func(f func(*ocspSpec)) ocspSpec { s := valid; f(&s); return s }
	tests := []struct {
		name    string
		spec    ocspSpec
		raw     []byte // instead of spec
		noChain bool   // the intermediate is in FILE.issuer, not in FILE
		stapled bool
		warning string
	}{
		{name: "good", spec: valid, stapled: true},
		{name: "issuer from FILE.issuer", spec: valid, noChain: true, stapled: true},
		{name: "SHA-256 CertID", spec: with(func(s *ocspSpec) { s.hash = ocspHashes[1].oid }), stapled: true},
		{name: "response extensions", spec: with(func(s *ocspSpec) { s.extensions = true }), stapled: true},
		{name: "within the clock skew", spec: with(func(s *ocspSpec) { s.thisUpdate = now.Add(2 * time.Minute) }), stapled: true},
		{name: "revoked", spec: with(func(s *ocspSpec) { s.good, s.revoked = false, true }), stapled: true, warning: "says that the certificate for ec.example.com is revoked: stapled, as HAProxy does"},
		{name: "unknown status", spec: with(func(s *ocspSpec) { s.good = false }), warning: "not stapled, as HAProxy would not staple it: the certificate's status is unknown"},
		{name: "expired", spec: with(func(s *ocspSpec) { s.nextUpdate = now.Add(-time.Hour) }), warning: "it is no longer valid (nextUpdate"},
		{name: "not yet valid", spec: with(func(s *ocspSpec) { s.thisUpdate = now.Add(time.Hour) }), warning: "it is not valid yet"},
		{name: "no nextUpdate", spec: with(func(s *ocspSpec) { s.nextUpdate = time.Time{} }), warning: "it has no nextUpdate"},
		{name: "another certificate", spec: with(func(s *ocspSpec) { s.serial = big.NewInt(7) }), warning: "it is for another certificate"},
		{name: "several responses", spec: with(func(s *ocspSpec) { s.count = 2 }), warning: "it holds 2 single responses"},
		{name: "unsuccessful", spec: with(func(s *ocspSpec) { s.status = 3 }), warning: "its status is not successful (3)"},
		{name: "unknown hash", spec: with(func(s *ocspSpec) { s.hash = asn1.ObjectIdentifier{1, 2, 3} }), warning: "its CertID is hashed with 1.2.3"},
		{name: "not DER", raw: []byte("not an OCSP response"), warning: "it is not a DER OCSP response"},
		{name: "empty", raw: []byte{}, warning: "the file is empty: nothing to staple"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "site.pem")
			if tc.noChain {
				writeFile(t, path, cat(certPEM(ec), keyPEM(t, ec.key, pkcs8)))
				writeFile(t, path+".issuer", certPEM(p.inter))
			} else {
				writeFile(t, path, p.bundlePEM(t, ec))
			}
			der := tc.raw
			if der == nil {
				der = makeOCSP(t, ec, p.inter, tc.spec)
			}
			writeFile(t, path+".ocsp", der)
			var w warnings
			l, err := loadFile(path, now, 0, &w)
			if err != nil {
				t.Fatal(err)
			}
			if len(l.cert.Certificate) != 2 || !bytes.Equal(l.cert.Certificate[1], p.inter.cert.Raw) {
				t.Errorf("the chain is not the intermediate alone: %d certificates", len(l.cert.Certificate)-1)
			}
			if tc.stapled {
				if !bytes.Equal(l.cert.OCSPStaple, der) {
					t.Error("the response is not stapled")
				}
				if l.bare == nil || l.bare.OCSPStaple != nil || !l.expire.Equal(tc.spec.nextUpdate.UTC().Truncate(time.Second).Add(-ocspSkew)) {
					t.Errorf("no copy without the staple from %s", l.expire)
				}
			} else if l.cert.OCSPStaple != nil || l.bare != nil {
				t.Error("the response is stapled")
			}
			if tc.warning == "" {
				if len(w.list) > 0 {
					t.Fatalf("warnings %q", w.list)
				}
				return
			}
			wantWarning(t, w.list, path+".ocsp", tc.warning)
		})
	}
}

// TestLoadFileSCTL: FILE.sctl's SCTs are sent to clients that ask.
func TestLoadFileSCTL(t *testing.T) {
	p := testPKI(t)
	ec := p.leaf(t, ecKey, "ec.example.com")
	path := writeFile(t, filepath.Join(t.TempDir(), "site.pem"), p.bundlePEM(t, ec))
	writeFile(t, path+".sctl", sctList([]byte("first sct"), []byte("second")))
	var w warnings
	l, err := loadFile(path, time.Now(), 0, &w)
	if err != nil {
		t.Fatal(err)
	}
	got := l.cert.SignedCertificateTimestamps
	if len(got) != 2 || string(got[0]) != "first sct" || string(got[1]) != "second" {
		t.Fatalf("SCTs = %q", got)
	}
}

// TestCertNames: a certificate is indexed under its DNS SANs and every CN,
// as HAProxy does, in lower case, each once.
func TestCertNames(t *testing.T) {
	p := testPKI(t)
	tests := []struct {
		cn   string
		dns  []string
		want []string
	}{
		{cn: "www.example.com", dns: []string{"www.example.com", "Example.COM"}, want: []string{"www.example.com", "example.com"}},
		{cn: "cn-only.example.com", want: []string{"cn-only.example.com"}},
		{cn: "Other.Example.com", dns: []string{"*.example.com", "fqdn.example.com."}, want: []string{"*.example.com", "fqdn.example.com", "other.example.com"}},
		{dns: []string{"nocn.example.com"}, want: []string{"nocn.example.com"}},
	}
	for _, tc := range tests {
		c := issue(t, p.inter, certSpec{cn: tc.cn, dns: tc.dns})
		if got := certNames(c.cert); strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("%s %q: names %q, want %q", tc.cn, tc.dns, got, tc.want)
		}
	}
}

// TestLoadFileUnreadable: a file fjord may not read is an error naming the
// syscall and the file (root reads everything: skipped then).
func TestLoadFileUnreadable(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads a file whatever its mode")
	}
	p := testPKI(t)
	path := writeFile(t, filepath.Join(t.TempDir(), "site.pem"), p.bundlePEM(t, p.leaf(t, ecKey, "a.example.com")))
	if err := os.Chmod(path, 0); err != nil {
		t.Fatal(err)
	}
	var w warnings
	_, err := loadFile(path, time.Now(), 0, &w)
	wantErr(t, err, "cannot read the certificate file: open "+path+": permission denied")
}

// TestDescribe: messages name a certificate by its first DNS name, its
// CN, or its subject, and stay readable with many names.
func TestDescribe(t *testing.T) {
	p := testPKI(t)
	for _, tc := range []struct {
		cn   string
		dns  []string
		want string
	}{
		{cn: "a.example.com", dns: []string{"a.example.com"}, want: "a.example.com"},
		{dns: []string{"a.example.com", "b.example.com"}, want: "a.example.com (also b.example.com)"},
		{dns: []string{"a", "b", "c", "d", "e"}, want: "a (and 4 other names)"},
		{cn: "only a CN", want: "CN=only a CN"},
		{want: "O=fjord tests"},
	} {
		c := issue(t, p.inter, certSpec{cn: tc.cn, dns: tc.dns})
		if got := describe(c.cert); got != tc.want {
			t.Errorf("describe = %q, want %q", got, tc.want)
		}
	}
}

// 'ssl-load-extra-files' without a kind leaves those files unread: a key
// only in FILE.key is then missing, and FILE.sctl is not sent.
func TestLoadFileSkipsSidecars(t *testing.T) {
	p := testPKI(t)
	ec := p.leaf(t, ecKey, "ec.example.com")
	dir := t.TempDir()
	path := writeFile(t, filepath.Join(dir, "site.pem"), certPEM(ec))
	writeFile(t, path+".key", keyPEM(t, ec.key, pkcs8))
	var w warnings
	if _, err := loadFile(path, time.Now(), 0, &w); err != nil {
		t.Fatalf("with FILE.key read: %v", err)
	}
	_, err := loadFile(path, time.Now(), SidecarKey, &w)
	wantErr(t, err, "no private key in the file", "'ssl-load-extra-files' leaves", "site.pem.key unread")

	full := writeFile(t, filepath.Join(dir, "full.pem"), p.bundlePEM(t, ec))
	writeFile(t, full+".sctl", sctList([]byte("sct")))
	l, err := loadFile(full, time.Now(), SidecarSCTL, &w)
	if err != nil || l.cert.SignedCertificateTimestamps != nil {
		t.Fatalf("SCTs read though skipped: %v, %q", err, l.cert.SignedCertificateTimestamps)
	}
}
