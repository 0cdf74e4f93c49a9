package certs

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"time"

	// The hashes an OCSP CertID may name (crypto.Hash.New needs them
	// linked in).
	_ "crypto/sha1"
	_ "crypto/sha256"
	_ "crypto/sha512"
)

// OCSP responses (RFC 6960) are read with encoding/asn1 rather than
// golang.org/x/crypto/ocsp: fjord staples the response as it is and only
// needs the few fields HAProxy checks before stapling (it verifies no
// signature either: the client does), which does not justify a new
// module.

type ocspResponse struct {
	Status   asn1.Enumerated
	Response ocspResponseBytes `asn1:"explicit,tag:0,optional"`
}

type ocspResponseBytes struct {
	Type     asn1.ObjectIdentifier
	Response []byte
}

type ocspBasicResponse struct {
	TBS       ocspResponseData
	Algorithm pkix.AlgorithmIdentifier
	Signature asn1.BitString
	Certs     []asn1.RawValue `asn1:"explicit,tag:0,optional"`
}

type ocspResponseData struct {
	Version    int `asn1:"optional,default:0,explicit,tag:0"`
	Responder  asn1.RawValue
	ProducedAt time.Time `asn1:"generalized"`
	Responses  []ocspSingleResponse
}

type ocspSingleResponse struct {
	CertID     ocspCertID
	Good       asn1.Flag        `asn1:"tag:0,optional"`
	Revoked    ocspRevokedInfo  `asn1:"tag:1,optional"`
	Unknown    asn1.Flag        `asn1:"tag:2,optional"`
	ThisUpdate time.Time        `asn1:"generalized"`
	NextUpdate time.Time        `asn1:"generalized,explicit,tag:0,optional"`
	Extensions []pkix.Extension `asn1:"explicit,tag:1,optional"`
}

// ocspRevokedInfo is a struct, not an asn1.RawValue: encoding/asn1 lets a
// RawValue match any tag, and an optional one would swallow thisUpdate.
type ocspRevokedInfo struct {
	Time   time.Time       `asn1:"generalized"`
	Reason asn1.Enumerated `asn1:"explicit,tag:0,optional"`
}

type ocspCertID struct {
	Hash          pkix.AlgorithmIdentifier
	NameHash      []byte
	IssuerKeyHash []byte
	Serial        *big.Int
}

var (
	oidOCSPBasic = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 1}
	ocspHashes   = []struct {
		oid  asn1.ObjectIdentifier
		hash crypto.Hash
	}{
		{asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}, crypto.SHA1},
		{asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}, crypto.SHA256},
		{asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}, crypto.SHA384},
		{asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}, crypto.SHA512},
	}
)

// ocspSkew is OpenSSL's and HAProxy's OCSP_MAX_RESPONSE_TIME_SKEW: the
// leeway on thisUpdate and nextUpdate for clocks that disagree. HAProxy
// stops stapling a response this long before its nextUpdate.
const ocspSkew = 5 * time.Minute

// ocspStatus is what an accepted response says of the certificate.
type ocspStatus struct {
	nextUpdate time.Time
	revoked    bool
}

// checkOCSP applies HAProxy 2.6's rules for a response to staple
// (ssl_sock_load_ocsp_response): it parses, its status is successful, it
// is a basic response with exactly one single response, for this
// certificate (CertID from its issuer), whose status is good or revoked
// (not unknown), with a nextUpdate, valid now within ocspSkew. HAProxy
// takes a SHA-1 CertID only (the one OpenSSL computes); fjord takes
// SHA-256, -384 and -512 too.
func checkOCSP(der []byte, leaf, issuer *x509.Certificate, now time.Time) (ocspStatus, error) {
	var resp ocspResponse
	if rest, err := asn1.Unmarshal(der, &resp); err != nil || len(rest) != 0 {
		return ocspStatus{}, errors.New("it is not a DER OCSP response")
	}
	if resp.Status != 0 {
		return ocspStatus{}, fmt.Errorf("its status is not successful (%d)", resp.Status)
	}
	if !resp.Response.Type.Equal(oidOCSPBasic) {
		return ocspStatus{}, errors.New("it is not a basic OCSP response")
	}
	var basic ocspBasicResponse
	if rest, err := asn1.Unmarshal(resp.Response.Response, &basic); err != nil || len(rest) != 0 {
		return ocspStatus{}, errors.New("its basic response cannot be parsed")
	}
	if n := len(basic.TBS.Responses); n != 1 {
		return ocspStatus{}, fmt.Errorf("it holds %d single responses, and HAProxy and fjord take one", n)
	}
	sr := basic.TBS.Responses[0]
	if err := matchCertID(sr.CertID, leaf, issuer); err != nil {
		return ocspStatus{}, err
	}
	st := ocspStatus{nextUpdate: sr.NextUpdate, revoked: !sr.Revoked.Time.IsZero()}
	if !bool(sr.Good) && !st.revoked {
		return ocspStatus{}, errors.New("the certificate's status is unknown")
	}
	if sr.NextUpdate.IsZero() {
		return ocspStatus{}, errors.New("it has no nextUpdate")
	}
	if sr.ThisUpdate.After(now.Add(ocspSkew)) {
		return ocspStatus{}, fmt.Errorf("it is not valid yet (thisUpdate %s)", sr.ThisUpdate.UTC().Format(time.RFC3339))
	}
	if sr.NextUpdate.Before(sr.ThisUpdate) {
		return ocspStatus{}, errors.New("its nextUpdate is before its thisUpdate")
	}
	if sr.NextUpdate.Before(now.Add(-ocspSkew)) {
		return ocspStatus{}, fmt.Errorf("it is no longer valid (nextUpdate %s)", sr.NextUpdate.UTC().Format(time.RFC3339))
	}
	return st, nil
}

// matchCertID checks that id names leaf: its serial, and its issuer's
// name and key hashed as id says (RFC 6960 4.1.1).
func matchCertID(id ocspCertID, leaf, issuer *x509.Certificate) error {
	wrong := errors.New("it is for another certificate (its CertID does not match the certificate and its issuer)")
	if id.Serial == nil || id.Serial.Cmp(leaf.SerialNumber) != 0 {
		return wrong
	}
	var h crypto.Hash
	for _, c := range ocspHashes {
		if id.Hash.Algorithm.Equal(c.oid) {
			h = c.hash
		}
	}
	if h == 0 {
		return fmt.Errorf("its CertID is hashed with %v, which fjord does not know", id.Hash.Algorithm)
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		Key       asn1.BitString
	}
	if _, err := asn1.Unmarshal(issuer.RawSubjectPublicKeyInfo, &spki); err != nil {
		return fmt.Errorf("the issuer's public key cannot be read: %v", err)
	}
	name := h.New()
	name.Write(issuer.RawSubject)
	key := h.New()
	key.Write(spki.Key.RightAlign())
	if !bytes.Equal(id.NameHash, name.Sum(nil)) || !bytes.Equal(id.IssuerKeyHash, key.Sum(nil)) {
		return wrong
	}
	return nil
}

// parseSCTList splits a TLS-encoded SignedCertificateTimestampList (RFC
// 6962 3.3), what HAProxy reads from a .sctl file, into the SCTs Go's
// tls.Certificate holds (it encodes the list again when it sends them).
// HAProxy checks only the lengths (ssl_sock_parse_sctl), and so does
// fjord, but it also refuses an empty list or an empty SCT, which RFC
// 6962 forbids and which Go's own client rejects.
func parseSCTList(data []byte) ([][]byte, error) {
	if len(data) < 2 {
		return nil, errors.New("too short for a SignedCertificateTimestampList")
	}
	n := int(data[0])<<8 | int(data[1])
	if n+2 != len(data) {
		return nil, fmt.Errorf("the list says it is %d bytes long, and the file holds %d after its length", n, len(data)-2)
	}
	if n == 0 {
		return nil, errors.New("the list is empty (RFC 6962 requires one SCT at least)")
	}
	var out [][]byte
	for rest := data[2:]; len(rest) > 0; {
		if len(rest) < 2 {
			return nil, fmt.Errorf("SCT %d: truncated length", len(out)+1)
		}
		m := int(rest[0])<<8 | int(rest[1])
		if m == 0 {
			return nil, fmt.Errorf("SCT %d is empty", len(out)+1)
		}
		if 2+m > len(rest) {
			return nil, fmt.Errorf("SCT %d says it is %d bytes long, and %d remain", len(out)+1, m, len(rest)-2)
		}
		out = append(out, rest[2:2+m:2+m])
		rest = rest[2+m:]
	}
	return out, nil
}
