package certs

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"
)

// A Warning is something the user should hear of that does not stop
// loading: an expired certificate, a chain out of order, a line HAProxy
// reads differently. The caller prints them (fjord -c) or logs them.
type Warning struct {
	File string // the file it is about
	Line int    // its line in a crt-list, or 0
	Text string
}

func (w Warning) String() string {
	if w.Line > 0 {
		return w.File + ":" + strconv.Itoa(w.Line) + ": " + w.Text
	}
	return w.File + ": " + w.Text
}

type warnings struct{ list []Warning }

func (w *warnings) add(file string, line int, format string, args ...any) {
	w.list = append(w.list, Warning{File: file, Line: line, Text: fmt.Sprintf(format, args...)})
}

// Sidecar files: what HAProxy's default "ssl-load-extra-files all" looks
// for beside a certificate file FILE. A directory skips files with these
// extensions, since they belong to another file.
const (
	extKey    = ".key"
	extOCSP   = ".ocsp"
	extIssuer = ".issuer"
	extSCTL   = ".sctl"
)

// loaded is one certificate file, read with its sidecars, as every
// reference to its path shares it.
type loaded struct {
	path    string
	cert    *tls.Certificate // as served while its OCSP staple is valid
	bare    *tls.Certificate // without the staple, once it expires; nil when there is none
	expire  time.Time        // when the staple stops being served
	leaf    *x509.Certificate
	keyType KeyType
	names   []string // its DNS names and CNs: lower case, no trailing dot, each once
}

// loadFile reads the certificate file at path and its sidecars, as
// HAProxy 2.6 does (ssl_sock_load_files_into_ckch in src/ssl_ckch.c):
// the key from the file, or from path.key; the OCSP response in
// path.ocsp, its issuer from the chain or path.issuer; the SCTs in
// path.sctl.
func loadFile(path string, now time.Time, skip Sidecars, w *warnings) (*loaded, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the certificate file: %w", err)
	}
	pf, err := parsePEMFile(path, data, w)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(pf.certs) == 0 {
		return nil, fmt.Errorf("%s: the file holds no certificate (no CERTIFICATE block)", path)
	}
	key, keyFrom, err := chooseKey(path, pf, skip, w)
	if err != nil {
		return nil, err
	}
	leaf, chain, err := pf.leafFor(path, key, keyFrom, w)
	if err != nil {
		return nil, err
	}
	validity(path, leaf, chain, now, w)
	if msg := chainOrder(leaf, chain); msg != "" {
		w.add(path, 0, "%s", msg)
	}

	l := &loaded{path: path, leaf: leaf, keyType: keyTypeOf(leaf.PublicKey), names: certNames(leaf)}
	c := &tls.Certificate{PrivateKey: key, Leaf: leaf}
	var staple []byte
	var st ocspStatus
	if skip&SidecarOCSP == 0 {
		if staple, st, chain, err = readOCSP(path, leaf, chain, now, skip, w); err != nil {
			return nil, err
		}
	}
	if skip&SidecarSCTL == 0 {
		if c.SignedCertificateTimestamps, err = readSCTL(path); err != nil {
			return nil, err
		}
	}
	c.Certificate = append(c.Certificate, leaf.Raw)
	for _, ch := range chain {
		c.Certificate = append(c.Certificate, ch.Raw)
	}
	l.cert = c
	if staple != nil {
		bare := *c
		l.bare = &bare
		c.OCSPStaple = staple
		l.expire = st.nextUpdate.Add(-ocspSkew)
	}
	if l.keyType == KeyUnknown {
		// keyMatches matched it, so Go knows the key; this cannot happen
		// short of a new key type in crypto/x509.
		return nil, fmt.Errorf("%s: the certificate for %s has a key of a type fjord cannot serve (%T)", path, describe(leaf), leaf.PublicKey)
	}
	return l, nil
}

// chooseKey finds the private key: in the file, or in path.key. HAProxy's
// documentation reads path.key only when the file has no key; its code
// (ssl_sock_load_files_into_ckch, 2.6 and since) reads path.key whenever
// it exists, and its key replaces the file's. fjord reads both: when they
// differ it takes the one that matches a certificate, path.key's first as
// HAProxy does, and says so.
func chooseKey(path string, pf *pemFile, skip Sidecars, w *warnings) (crypto.Signer, string, error) {
	keyPath := path + extKey
	if skip&SidecarKey != 0 {
		if pf.key == nil {
			return nil, "", fmt.Errorf("%s: no private key in the file ('ssl-load-extra-files' leaves %s unread)", path, keyPath)
		}
		return pf.key, path, nil
	}
	side, err := readKeyFile(keyPath, w)
	if err != nil {
		return nil, "", err
	}
	switch {
	case pf.key == nil && side == nil:
		return nil, "", fmt.Errorf("%s: no private key: there is none in the file, and no %s", path, keyPath)
	case side == nil:
		return pf.key, path, nil
	case pf.key == nil || keyMatches(side.Public(), pf.key):
		return side, keyPath, nil
	}
	for _, fc := range pf.certs {
		if keyMatches(fc.cert.PublicKey, side) {
			w.add(path, 0, "the file has a private key and %s another one: fjord uses %s's, which matches the certificate, as HAProxy does (it reads %s whenever it exists)", keyPath, keyPath, keyPath)
			return side, keyPath, nil
		}
	}
	for _, fc := range pf.certs {
		if keyMatches(fc.cert.PublicKey, pf.key) {
			w.add(path, 0, "%s holds a private key that matches no certificate of the file, and the file's own key does: fjord uses the file's, where HAProxy 2.6, which reads %s whenever it exists, would refuse the certificate", keyPath, keyPath)
			return pf.key, path, nil
		}
	}
	return side, keyPath, nil // leafFor reports the mismatch, with the key HAProxy would use
}

// readKeyFile reads the first private key of a .key file, or returns nil
// when there is no such file.
func readKeyFile(keyPath string, w *warnings) (crypto.Signer, error) {
	data, err := os.ReadFile(keyPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read the private key file: %w", err)
	}
	blocks, err := splitPEM(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", keyPath, err)
	}
	var key crypto.Signer
	for _, b := range blocks {
		switch {
		case !isKeyLabel(b.label):
			w.add(keyPath, 0, "%s is not read: a .key file is read for its private key only", b)
		case key != nil:
			w.add(keyPath, 0, "%s is a second private key: ignored, as HAProxy does", b)
		default:
			if key, err = parseKeyBlock(b); err != nil {
				return nil, fmt.Errorf("%s: %w", keyPath, err)
			}
		}
	}
	if key == nil {
		return nil, fmt.Errorf("%s holds no private key (no PRIVATE KEY block)", keyPath)
	}
	return key, nil
}

// validity warns of certificates outside their validity period. HAProxy
// loads and serves them without a word; fjord serves them too, since
// refusing to start over an expired certificate would take every other
// site of the frontend down with it, but says so.
func validity(path string, leaf *x509.Certificate, chain []*x509.Certificate, now time.Time, w *warnings) {
	for i, c := range append([]*x509.Certificate{leaf}, chain...) {
		what := "the certificate for " + describe(c)
		if i > 0 {
			what = fmt.Sprintf("chain certificate %d, %s,", i, describe(c))
		}
		switch {
		case now.After(c.NotAfter):
			w.add(path, 0, "%s expired on %s: still served, as HAProxy does; clients will refuse it", what, c.NotAfter.UTC().Format(time.DateOnly))
		case now.Before(c.NotBefore):
			w.add(path, 0, "%s is not valid before %s: served all the same, as HAProxy does; clients will refuse it until then", what, c.NotBefore.UTC().Format(time.DateOnly))
		}
	}
}

// readOCSP reads path.ocsp, and when it exists the issuer needed to check
// it: from the chain, else from path.issuer, which is then appended to
// the chain. A response HAProxy would not staple is not stapled, with a
// warning, as in HAProxy; a missing issuer is an error, as in HAProxy.
func readOCSP(path string, leaf *x509.Certificate, chain []*x509.Certificate, now time.Time, skip Sidecars, w *warnings) ([]byte, ocspStatus, []*x509.Certificate, error) {
	ocspPath := path + extOCSP
	der, err := os.ReadFile(ocspPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ocspStatus{}, chain, nil
	}
	if err != nil {
		return nil, ocspStatus{}, chain, fmt.Errorf("cannot read the OCSP response: %w", err)
	}
	var issuer *x509.Certificate
	for _, c := range chain {
		if issued(c, leaf) {
			issuer = c
			break
		}
	}
	if issuer == nil && skip&SidecarIssuer != 0 {
		return nil, ocspStatus{}, chain, fmt.Errorf("%s: the OCSP response's issuer is not in the chain, and 'ssl-load-extra-files' leaves %s unread", ocspPath, path+extIssuer)
	}
	if issuer == nil {
		if issuer, err = readIssuer(path, leaf); err != nil {
			return nil, ocspStatus{}, chain, err
		}
		chain = append(chain, issuer)
	}
	if len(der) == 0 {
		w.add(ocspPath, 0, "the file is empty: nothing to staple (HAProxy fills it from its runtime API, which fjord does not have yet)")
		return nil, ocspStatus{}, chain, nil
	}
	st, err := checkOCSP(der, leaf, issuer, now)
	if err != nil {
		w.add(ocspPath, 0, "the OCSP response is not stapled, as HAProxy would not staple it: %v", err)
		return nil, ocspStatus{}, chain, nil
	}
	if st.revoked {
		w.add(ocspPath, 0, "the OCSP response says that the certificate for %s is revoked: stapled, as HAProxy does, and clients will refuse the certificate", describe(leaf))
	}
	return der, st, chain, nil
}

// readIssuer reads path.issuer, the issuer HAProxy needs to check an OCSP
// response when the chain lacks it: its first certificate, which must
// have issued the leaf.
func readIssuer(path string, leaf *x509.Certificate) (*x509.Certificate, error) {
	issuerPath := path + extIssuer
	data, err := os.ReadFile(issuerPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: there is an OCSP response in %s, and the issuer of the certificate for %s, needed to check it, is neither in the file's chain nor in %s", path, path+extOCSP, describe(leaf), issuerPath)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read the issuer certificate: %w", err)
	}
	blocks, err := splitPEM(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", issuerPath, err)
	}
	for _, b := range blocks {
		if !isCertLabel(b.label) {
			continue
		}
		c, err := parseCertBlock(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", issuerPath, err)
		}
		if !issued(c, leaf) {
			return nil, fmt.Errorf("%s: %s is not the issuer of the certificate for %s (that is %s)", issuerPath, describe(c), describe(leaf), leaf.Issuer)
		}
		return c, nil
	}
	return nil, fmt.Errorf("%s holds no certificate (no CERTIFICATE block)", issuerPath)
}

// readSCTL reads path.sctl, the SCTs to send to clients that ask for them
// (RFC 6962), if there is one.
func readSCTL(path string) ([][]byte, error) {
	data, err := os.ReadFile(path + extSCTL)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read the SCT list: %w", err)
	}
	scts, err := parseSCTList(data)
	if err != nil {
		return nil, fmt.Errorf("%s: not a TLS-encoded SignedCertificateTimestampList: %w", path+extSCTL, err)
	}
	return scts, nil
}

var oidCommonName = asn1.ObjectIdentifier{2, 5, 4, 3}

// certNames are the names HAProxy indexes a certificate under
// (ckch_inst_new_load_store in src/ssl_sock.c): every DNS name of its
// subjectAltName, then every common name of its subject, both always,
// lower case. fjord also drops a trailing dot, as it does from the SNI.
func certNames(c *x509.Certificate) []string {
	var out []string
	seen := map[string]bool{}
	add := func(n string) {
		n = normName(n)
		if n != "" && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	for _, n := range c.DNSNames {
		add(n)
	}
	for _, atv := range c.Subject.Names {
		if s, ok := atv.Value.(string); ok && atv.Type.Equal(oidCommonName) {
			add(s)
		}
	}
	return out
}

// normName is a name as the index keys it: lower case (HAProxy lowers
// names and the SNI alike), without the trailing dot of a fully qualified
// name, which RFC 6066 forbids in the SNI and which would otherwise make
// www.example.com. a different name.
func normName(n string) string {
	return strings.TrimSuffix(strings.ToLower(n), ".")
}
