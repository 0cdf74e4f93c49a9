package certs

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// The CRLs of 'crl-file' (RFC 5280 section 5).
//
// x509.ParseRevocationList reads version 2 CRLs only: one without a
// version field, version 1, it refuses with "x509: unsupported crl
// version". OpenSSL, and so HAProxy, reads both, and 'openssl ca -gencrl'
// still writes version 1 when no crlnumber file is set up: every CRL of
// HAProxy's reg-tests is version 1.
//
// A version 1 TBSCertList is a version 2 one without its first field, and
// without the extensions that only version 2 may have. ParseCRL inserts
// the field, version 2, into a copy, has ParseRevocationList read the
// copy, and puts the original's Raw and RawTBSRevocationList back: the
// CRL is read by the same parser as a version 2 one, and
// RevocationList.CheckSignatureFrom checks the signature over the bytes
// the CA signed, with the same code. The deprecated x509.ParseDERCRL
// reads version 1 too, but into pkix.CertificateList, from which the
// signature algorithm cannot be had (crypto/x509 maps it unexported), so
// its signature could only be checked by the deprecated
// Certificate.CheckCRLSignature, a second path for version 1 alone.

// ParseCRL parses one CRL in DER, version 1 or 2. It checks neither the
// signature (see CheckCRL) nor the dates.
func ParseCRL(der []byte) (*x509.RevocationList, error) {
	rl, err := x509.ParseRevocationList(der)
	if err == nil {
		return rl, nil
	}
	raw, tbs, v2, ok := asVersion2(der)
	if !ok {
		return nil, err
	}
	rl, err = x509.ParseRevocationList(v2)
	if err != nil {
		return nil, err
	}
	rl.Raw, rl.RawTBSRevocationList = raw, tbs
	return rl, nil
}

// asVersion2: when der begins with a version 1 CRL, a CertificateList
// whose TBSCertList begins with the signature's AlgorithmIdentifier
// rather than the version's INTEGER, raw is that CRL, tbs its
// TBSCertList, and v2 a copy with version 2 inserted.
func asVersion2(der []byte) (raw, tbs, v2 []byte, ok bool) {
	in := cryptobyte.String(der)
	var crl, body, tbsElem, tbsBody cryptobyte.String
	if !in.ReadASN1Element(&crl, cbasn1.SEQUENCE) {
		return nil, nil, nil, false
	}
	body = crl
	if !body.ReadASN1(&body, cbasn1.SEQUENCE) || !body.ReadASN1Element(&tbsElem, cbasn1.SEQUENCE) {
		return nil, nil, nil, false
	}
	tbsBody = tbsElem
	if !tbsBody.ReadASN1(&tbsBody, cbasn1.SEQUENCE) || !tbsBody.PeekASN1Tag(cbasn1.SEQUENCE) {
		return nil, nil, nil, false
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1Int64(1) // v2: versions are numbered from 0
			b.AddBytes(tbsBody)
		})
		b.AddBytes(body) // signatureAlgorithm, signatureValue
	})
	v2, err := b.Bytes()
	if err != nil {
		return nil, nil, nil, false
	}
	return crl, tbsElem, v2, true
}

// ParseCRLs reads a 'crl-file': PEM, with an X509 CRL block for each CA
// (HAProxy loads them all), or a single CRL in DER. Blocks of other types
// are skipped. An error names the block.
func ParseCRLs(data []byte) ([]*x509.RevocationList, error) {
	blocks, err := splitPEM(data)
	if err != nil {
		return nil, err
	}
	if len(blocks) == 0 {
		if len(bytes.TrimSpace(data)) == 0 {
			return nil, errors.New("the file is empty")
		}
		rl, err := ParseCRL(data)
		if err != nil {
			return nil, fmt.Errorf("no PEM block, and not a CRL in DER: %w", err)
		}
		return []*x509.RevocationList{rl}, nil
	}
	var out []*x509.RevocationList
	for _, b := range blocks {
		if b.label != "X509 CRL" {
			continue
		}
		rl, err := ParseCRL(b.der)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b, err)
		}
		out = append(out, rl)
	}
	if len(out) == 0 {
		return nil, errors.New("no X509 CRL block in the file")
	}
	return out, nil
}

// CheckCRL checks that issuer issued crl, read from file: crl names it as
// its issuer, and the signature over its TBSCertList, as the file has it,
// is issuer's key's, for version 1 CRLs as for version 2. It checks no
// date, and not the issuer's key usage: OpenSSL reports a CA that may
// not sign CRLs with a code of its own (35), which its caller weighs.
// The error names the file.
func CheckCRL(file string, crl *x509.RevocationList, issuer *x509.Certificate) error {
	if !bytes.Equal(crl.RawIssuer, issuer.RawSubject) {
		return fmt.Errorf("%s: the CRL of %s is not one of %s", file, crl.Issuer, issuer.Subject)
	}
	// Not crl.CheckSignatureFrom: it also refuses an issuer without the
	// cRLSign key usage, which would turn code 35 into a false 8.
	if err := issuer.CheckSignature(crl.SignatureAlgorithm, crl.RawTBSRevocationList, crl.Signature); err != nil {
		return fmt.Errorf("%s: the CRL of %s is not signed by that CA's key: %w", file, crl.Issuer, err)
	}
	return nil
}
