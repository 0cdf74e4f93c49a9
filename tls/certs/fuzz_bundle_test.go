package certs

import (
	"bytes"
	"testing"
	"time"
)

// FuzzBundle: the PEM splitter and the bundle reader never panic on any
// bytes; when they accept a file, its leaf is the certificate of its key
// and every other certificate is in the chain.
func FuzzBundle(f *testing.F) {
	p := testPKI(f)
	ec := p.leaf(f, ecKey, "ec.example.com")
	rs := p.leaf(f, rsaKind, "rsa.example.com")
	good := p.bundlePEM(f, ec)
	for _, s := range [][]byte{
		good,
		cat(keyPEM(f, ec.key, sec1), certPEM(p.inter), certPEM(ec)),
		cat(certPEM(rs), keyPEM(f, rs.key, pkcs1), []byte("-----BEGIN DH PARAMETERS-----\nMAYCAQACAQI=\n-----END DH PARAMETERS-----\n")),
		bytes.ReplaceAll(good, []byte("\n"), []byte("\r\n")),
		good[:len(good)/2],
		[]byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"),
		[]byte("-----BEGIN -----\n"),
		[]byte("x-----BEGIN CERTIFICATE-----\n"),
		{},
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var w warnings
		pf, err := parsePEMFile("f.pem", data, &w)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an error without a message")
			}
			return
		}
		if len(pf.certs) == 0 || pf.key == nil {
			return
		}
		leaf, chain, err := pf.leafFor("f.pem", pf.key, "f.pem", &w)
		if err != nil {
			return
		}
		if !keyMatches(leaf.PublicKey, pf.key) {
			t.Fatal("accepted a leaf that the key does not match")
		}
		if len(chain) != len(pf.certs)-1 {
			t.Fatalf("chain of %d from %d certificates", len(chain), len(pf.certs))
		}
		_ = chainOrder(leaf, chain)
		_ = certNames(leaf)
		_ = describe(leaf)
	})
}

// FuzzOCSP: the OCSP reader never panics; what it accepts is for the
// certificate and has a nextUpdate.
func FuzzOCSP(f *testing.F) {
	p := testPKI(f)
	ec := p.leaf(f, ecKey, "ec.example.com")
	now := time.Now()
	f.Add(makeOCSP(f, ec, p.inter, ocspSpec{good: true, thisUpdate: now.Add(-time.Hour), nextUpdate: now.Add(time.Hour)}))
	f.Add(makeOCSP(f, ec, p.inter, ocspSpec{revoked: true, thisUpdate: now.Add(-time.Hour), nextUpdate: now.Add(time.Hour), extensions: true}))
	f.Add(makeOCSP(f, ec, p.inter, ocspSpec{status: 1}))
	f.Add([]byte{0x30, 0x03, 0x0a, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, der []byte) {
		st, err := checkOCSP(der, ec.cert, p.inter.cert, now)
		if err != nil {
			return
		}
		if st.nextUpdate.IsZero() || st.nextUpdate.Before(now.Add(-ocspSkew)) {
			t.Fatalf("accepted a response with nextUpdate %s", st.nextUpdate)
		}
	})
}

// FuzzSCTList: the .sctl reader never panics, and what it accepts encodes
// back to the same bytes.
func FuzzSCTList(f *testing.F) {
	f.Add(sctList([]byte("one"), []byte("two")))
	f.Add([]byte{0, 0})
	f.Add([]byte{0, 3, 0, 1, 9})
	f.Add([]byte{0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		scts, err := parseSCTList(data)
		if err != nil {
			return
		}
		if back := sctList(scts...); !bytes.Equal(back, data) {
			t.Fatalf("%x reads as %q, which encodes as %x", data, scts, back)
		}
		for _, s := range scts {
			if len(s) == 0 {
				t.Fatal("accepted an empty SCT")
			}
		}
	})
}
