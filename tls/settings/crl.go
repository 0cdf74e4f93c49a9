package settings

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"math/big"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fjordlb/fjord/tls/certs"
)

// The CRL check of a crl-file, as HAProxy 2.6 has OpenSSL 3.0 make it:
// HAProxy loads every CRL of the file into the verification store and
// sets X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL
// (src/ssl_sock.c), so that OpenSSL checks each certificate of the
// chain it built, the peer's own first and the root last (a root is
// checked against its own CRL), against its issuer's CRL
// (crypto/x509/x509_vfy.c, check_revocation). For one certificate:
//
//   - the candidates are the CRLs that name its issuer; one counts only
//     if a certificate of the chain above it has that name and the key
//     the CRL's authority key identifier names (when both say one);
//   - the best is taken: one valid now before one that is not, one
//     issued by the certificate's own issuer before one by a CA higher
//     up, without unhandled critical extensions before with; among
//     equals, the one issued last (thisUpdate), wherever it is in the
//     file;
//   - no candidate: error 3, X509_V_ERR_UNABLE_TO_GET_CRL;
//   - its issuer's key usage without cRLSign: 35; not valid yet: 11;
//     expired (nextUpdate passed): 12; its signature does not verify
//     with the issuer's key: 8; an unhandled critical extension: 36;
//     the certificate's serial number listed (but for removeFromCRL):
//     23, X509_V_ERR_CERT_REVOKED;
//
// each at the certificate's depth (0: the peer's own, which
// crt-ignore-err may ignore; above: ca-ignore-err), and the check goes
// on after an error ignored.
//
// OpenSSL checks the signature at each handshake. crlIndex checks it
// once at load against each CA of the ca-file with the CRL's issuer
// name, and once for any other CA (an intermediate a peer sends), up to
// maxOtherIssuers of them per CRL; a handshake then only looks up.

// OpenSSL's CRL verification codes.
const (
	errUnableToGetCRL          = 3
	errCRLSignatureFailure     = 8
	errCRLNotYetValid          = 11
	errCRLHasExpired           = 12
	errKeyUsageNoCRLSign       = 35
	errUnhandledCriticalCRLExt = 36
)

// maxOtherIssuers bounds the signature results a CRL keeps for issuers
// that are not in the ca-file.
const maxOtherIssuers = 16

// crlIndex is a crl-file read at load, its CRLs by issuer name.
type crlIndex struct {
	file   string
	byName map[string][]*indexedCRL // by the issuer name's DER
	list   []*indexedCRL            // in the file's order
}

// indexedCRL is a CRL and what a handshake needs of it.
type indexedCRL struct {
	crl *x509.RevocationList
	n   int // its place among the file's CRLs, from 1
	// what names it in errors: "the CRL of CN=... (FILE: CRL n)"
	what string
	// revoked are the serial numbers it lists (serialKey), but for
	// those removed from the CRL (reason removeFromCRL).
	revoked map[string]bool
	// critical: it has a critical extension OpenSSL does not handle.
	critical bool
	// sigs are the results of checking its signature, by the issuer's
	// SubjectPublicKeyInfo: for the CAs of the ca-file with its issuer
	// name, filled at load and read only after; others holds those of
	// other issuers, at most maxOtherIssuers.
	sigs   map[string]error
	mu     sync.RWMutex
	others map[string]error
}

// OpenSSL handles these critical CRL extensions (crl_cb in
// crypto/x509/x_crl.c): issuingDistributionPoint, deltaCRLIndicator,
// authorityKeyIdentifier; and this one on an entry: certificateIssuer.
var (
	oidIssuingDistributionPoint = []int{2, 5, 29, 28}
	oidDeltaCRLIndicator        = []int{2, 5, 29, 27}
	oidAuthorityKeyID           = []int{2, 5, 29, 35}
	oidCertificateIssuer        = []int{2, 5, 29, 29}
)

// serialKey is a serial number as a map key: its sign and magnitude.
func serialKey(n *big.Int) string {
	if n.Sign() < 0 {
		return "-" + string(n.Bytes())
	}
	return string(n.Bytes())
}

// lists reports whether c revokes the certificate of serial number n.
func (c *indexedCRL) lists(n *big.Int) bool {
	if n.Sign() < 0 {
		return c.revoked[serialKey(n)]
	}
	return c.revoked[string(n.Bytes())] // no copy of the bytes
}

// loadCRLs reads a crl-file and checks its CRLs against cas, the
// CAs of the ca-file. The warnings say what will refuse peers that the
// operator may not expect: a CRL out of its dates, one that a CA of the
// ca-file with its name did not sign, a CA of the ca-file without a CRL.
func loadCRLs(file string, cas []*x509.Certificate, now time.Time) (*crlIndex, []string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, nil, fmt.Errorf("'crl-file': %w", err)
	}
	crls, err := certs.ParseCRLs(data)
	if err != nil {
		return nil, nil, fmt.Errorf("'crl-file %s': %w", file, err)
	}
	x := &crlIndex{file: file, byName: map[string][]*indexedCRL{}}
	var warns []string
	for i, crl := range crls {
		c := &indexedCRL{crl: crl, n: i + 1, revoked: map[string]bool{}, sigs: map[string]error{}, others: map[string]error{},
			what: fmt.Sprintf("the CRL of %s (%s: CRL %d)", crl.Issuer, file, i+1)}
		for _, e := range crl.Extensions {
			id := e.Id
			if e.Critical && !id.Equal(oidIssuingDistributionPoint) && !id.Equal(oidDeltaCRLIndicator) && !id.Equal(oidAuthorityKeyID) {
				c.critical = true
			}
		}
		for _, r := range crl.RevokedCertificateEntries {
			for _, e := range r.Extensions {
				if e.Critical && !e.Id.Equal(oidCertificateIssuer) {
					c.critical = true
				}
			}
			const removeFromCRL = 8
			if r.ReasonCode != removeFromCRL {
				c.revoked[serialKey(r.SerialNumber)] = true
			}
		}
		what := fmt.Sprintf("%s: CRL %d, of %s", file, c.n, crl.Issuer)
		named := false
		for _, ca := range cas {
			if !bytes.Equal(ca.RawSubject, crl.RawIssuer) {
				continue
			}
			named = true
			if !akidMatches(crl, ca) {
				continue
			}
			err := certs.CheckCRL(file, crl, ca)
			c.sigs[string(ca.RawSubjectPublicKeyInfo)] = err
			if err != nil {
				warns = append(warns, fmt.Sprintf("%s: its signature does not verify with the key of that CA in the ca-file: the certificates it checks are refused with error 8 (X509_V_ERR_CRL_SIGNATURE_FAILURE), as HAProxy refuses them", what))
			}
		}
		if named && len(c.sigs) == 0 {
			warns = append(warns, fmt.Sprintf("%s: its authority key identifier names another key than that of the CA of that name in the ca-file: it is not used, as OpenSSL does not use it", what))
		}
		x.byName[string(crl.RawIssuer)] = append(x.byName[string(crl.RawIssuer)], c)
		x.list = append(x.list, c)
	}
	// A CRL out of its dates is used only when its CA has no other.
	for _, c := range x.list {
		crl := c.crl
		if crlTimeValid(crl, now) || slices.ContainsFunc(x.byName[string(crl.RawIssuer)], func(o *indexedCRL) bool { return crlTimeValid(o.crl, now) }) {
			continue
		}
		what := fmt.Sprintf("%s: CRL %d, of %s", file, c.n, crl.Issuer)
		if now.Before(crl.ThisUpdate) {
			warns = append(warns, fmt.Sprintf("%s: not valid before %s: until then the certificates it checks are refused with error 11 (X509_V_ERR_CRL_NOT_YET_VALID), as HAProxy refuses them", what, crl.ThisUpdate.UTC().Format(time.RFC3339)))
		} else {
			warns = append(warns, fmt.Sprintf("%s: expired on %s (nextUpdate): the certificates it checks are refused with error 12 (X509_V_ERR_CRL_HAS_EXPIRED), as HAProxy refuses them", what, crl.NextUpdate.UTC().Format(time.RFC3339)))
		}
	}
	var missing []string
	for _, ca := range cas {
		if !slices.ContainsFunc(x.byName[string(ca.RawSubject)], func(c *indexedCRL) bool { return akidMatches(c.crl, ca) }) {
			missing = append(missing, ca.Subject.String())
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		list := missing
		if len(list) > 3 {
			list = append(list[:3:3], fmt.Sprintf("%d more", len(missing)-3))
		}
		warns = append(warns, fmt.Sprintf("%s: no CRL of %s, of the ca-file: the certificates it issued, and itself, are refused with error 3 (X509_V_ERR_UNABLE_TO_GET_CRL), as HAProxy refuses them, since it checks every certificate of a chain", file, strings.Join(list, ", ")))
	}
	return x, warns, nil
}

// akidMatches is OpenSSL's X509_check_akid for the key identifiers:
// when both the CRL's authority key identifier and the CA's subject key
// identifier are there, they are equal.
func akidMatches(crl *x509.RevocationList, ca *x509.Certificate) bool {
	return len(crl.AuthorityKeyId) == 0 || len(ca.SubjectKeyId) == 0 || bytes.Equal(crl.AuthorityKeyId, ca.SubjectKeyId)
}

// signature is the result of checking c's signature with issuer's key.
func (x *crlIndex) signature(c *indexedCRL, issuer *x509.Certificate) error {
	if err, ok := c.sigs[string(issuer.RawSubjectPublicKeyInfo)]; ok {
		return err
	}
	c.mu.RLock()
	err, ok := c.others[string(issuer.RawSubjectPublicKeyInfo)]
	c.mu.RUnlock()
	if ok {
		return err
	}
	err = certs.CheckCRL(x.file, c.crl, issuer)
	c.mu.Lock()
	if len(c.others) < maxOtherIssuers {
		c.others[string(issuer.RawSubjectPublicKeyInfo)] = err
	}
	c.mu.Unlock()
	return err
}

// CRL scores, as OpenSSL's get_crl_score makes them: the higher the
// better.
const (
	scoreNoCritical = 0x100
	scoreScope      = 0x080
	scoreTime       = 0x040
	scoreIssuerName = 0x020
	scoreIssuerCert = 0x018
	scoreSamePath   = 0x008
	scoreAKID       = 0x004
)

// check appends to errs the errors of the CRL check of chain, the chain
// OpenSSL built (the peer's certificate first, then up to the root, or
// as far as it found issuers), at now.
func (x *crlIndex) check(chain []*x509.Certificate, now time.Time, errs []verifyError) []verifyError {
	last := len(chain) - 1
	for depth, cert := range chain {
		var best *indexedCRL
		var issuer *x509.Certificate
		bestScore := 0
		for _, c := range x.byName[string(cert.RawIssuer)] {
			// The CRL's issuer: the certificate's own (the next one;
			// the root for itself), else one higher up.
			from := depth + 1
			if depth == last {
				from = depth
			}
			var by *x509.Certificate
			score := scoreIssuerName | scoreScope | scoreAKID
			for j := from; j <= last; j++ {
				if bytes.Equal(chain[j].RawSubject, c.crl.RawIssuer) && akidMatches(c.crl, chain[j]) {
					by = chain[j]
					if j == from {
						score |= scoreIssuerCert
					} else {
						score |= scoreSamePath
					}
					break
				}
			}
			if by == nil {
				continue
			}
			if !c.critical {
				score |= scoreNoCritical
			}
			if crlTimeValid(c.crl, now) {
				score |= scoreTime
			}
			if score > bestScore || score == bestScore && c.crl.ThisUpdate.After(best.crl.ThisUpdate) {
				best, issuer, bestScore = c, by, score
			}
		}
		if best == nil {
			errs = append(errs, verifyError{errUnableToGetCRL, depth, fmt.Errorf("no CRL of %s in %s for the certificate of %s", cert.Issuer, x.file, cert.Subject)})
			continue
		}
		crl := best.crl
		what := best.what
		if issuer.KeyUsage != 0 && issuer.KeyUsage&x509.KeyUsageCRLSign == 0 {
			errs = append(errs, verifyError{errKeyUsageNoCRLSign, depth, fmt.Errorf("%s: the key usage of %s does not allow signing CRLs", what, issuer.Subject)})
		}
		if bestScore&scoreTime == 0 {
			if now.Before(crl.ThisUpdate) {
				errs = append(errs, verifyError{errCRLNotYetValid, depth, fmt.Errorf("%s is not valid before %s", what, crl.ThisUpdate.UTC().Format(time.RFC3339))})
			}
			if !crl.NextUpdate.IsZero() && now.After(crl.NextUpdate) {
				errs = append(errs, verifyError{errCRLHasExpired, depth, fmt.Errorf("%s expired on %s", what, crl.NextUpdate.UTC().Format(time.RFC3339))})
			}
		}
		if err := x.signature(best, issuer); err != nil {
			errs = append(errs, verifyError{errCRLSignatureFailure, depth, err})
		}
		if best.critical {
			errs = append(errs, verifyError{errUnhandledCriticalCRLExt, depth, fmt.Errorf("%s has a critical extension fjord, as OpenSSL, does not handle", what)})
		}
		if best.lists(cert.SerialNumber) {
			errs = append(errs, verifyError{errCertRevoked, depth, fmt.Errorf("the certificate of %s is revoked by %s", cert.Subject, what)})
		}
	}
	return errs
}

// crlTimeValid reports whether now is within crl's dates.
func crlTimeValid(crl *x509.RevocationList, now time.Time) bool {
	return !now.Before(crl.ThisUpdate) && (crl.NextUpdate.IsZero() || !now.After(crl.NextUpdate))
}
