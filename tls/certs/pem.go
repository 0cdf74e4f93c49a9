package certs

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// A block is one PEM block of a file. Blocks are numbered from 1, in file
// order, as messages name them ("block 3 (CERTIFICATE)").
type block struct {
	n       int
	label   string
	der     []byte
	headers map[string]string
}

func (b block) String() string { return fmt.Sprintf("block %d (%s)", b.n, b.label) }

const (
	beginMark = "-----BEGIN "
	endMark   = "-----END "
	dashes    = "-----"
)

// splitPEM cuts data into its PEM blocks. Text outside blocks is skipped,
// as OpenSSL skips it (files made by "openssl x509 -text" or by CAs carry
// "subject=" lines and the like). Unlike encoding/pem, which passes over a
// block it cannot decode, a block that is begun and not well formed is an
// error naming it: a truncated or mangled certificate must not vanish
// from the file unnoticed.
func splitPEM(data []byte) ([]block, error) {
	var out []block
	pos := 0
	for pos < len(data) {
		i := bytes.Index(data[pos:], []byte(beginMark))
		if i < 0 {
			break
		}
		start := pos + i
		lineEnd := eol(data, start)
		if start > 0 && data[start-1] != '\n' {
			// "-----BEGIN " inside a line is text, for OpenSSL as for
			// encoding/pem.
			pos = lineEnd
			continue
		}
		n := len(out) + 1
		line := bytes.TrimRight(data[start:lineEnd], " \t\r\n")
		if len(line) <= len(beginMark)+len(dashes) || !bytes.HasSuffix(line, []byte(dashes)) {
			return nil, fmt.Errorf("block %d: malformed BEGIN line %q", n, clip(line))
		}
		label := string(line[len(beginMark) : len(line)-len(dashes)])
		end := []byte(endMark + label + dashes)
		j := bytes.Index(data[lineEnd:], end)
		next := bytes.Index(data[lineEnd:], []byte(beginMark))
		if j < 0 && next < 0 {
			return nil, fmt.Errorf("block %d (%s): no %q line before the end of the file: the block is truncated", n, label, end)
		}
		if j < 0 || next >= 0 && next < j {
			return nil, fmt.Errorf("block %d (%s): no %q line before the next BEGIN line: the block is truncated", n, label, end)
		}
		stop := eol(data, lineEnd+j)
		p, rest := pem.Decode(data[start:stop])
		if p == nil || p.Type != label || len(bytes.TrimSpace(rest)) != 0 {
			return nil, fmt.Errorf("block %d (%s): malformed: its base64 or its header lines cannot be decoded", n, label)
		}
		out = append(out, block{n: n, label: label, der: p.Bytes, headers: p.Headers})
		pos = stop
	}
	return out, nil
}

// eol is the index just after the line that holds data[i].
func eol(data []byte, i int) int {
	if k := bytes.IndexByte(data[i:], '\n'); k >= 0 {
		return i + k + 1
	}
	return len(data)
}

// clip shortens what a message quotes from a file.
func clip(b []byte) []byte {
	if len(b) > 64 {
		return append(b[:64:64], "..."...)
	}
	return b
}

// Block types that HAProxy's files may carry besides certificates and
// keys, skipped without a word: HAProxy reads DH parameters from the
// bundle for its DHE ciphers, which Go's crypto/tls does not implement
// (it offers ECDHE only), and "openssl ecparam -genkey" writes EC
// PARAMETERS before the key it makes. Any other block HAProxy tolerates
// too (OpenSSL's PEM reader skips every block of a type it is not looking
// for); fjord skips it with a warning, since it is more likely a mistake.
var quietBlocks = map[string]bool{
	"DH PARAMETERS":       true,
	"X9.42 DH PARAMETERS": true,
	"EC PARAMETERS":       true,
}

// isCertLabel: OpenSSL reads the leaf with PEM_read_bio_X509_AUX, which
// takes CERTIFICATE, its old name X509 CERTIFICATE, and TRUSTED
// CERTIFICATE (a certificate followed by OpenSSL's trust settings).
func isCertLabel(label string) bool {
	return label == "CERTIFICATE" || label == "X509 CERTIFICATE" || label == "TRUSTED CERTIFICATE"
}

func parseCertBlock(b block) (*x509.Certificate, error) {
	der := b.der
	if b.label == "TRUSTED CERTIFICATE" {
		// The trust settings that follow the certificate say what a
		// verifier may trust it for; they mean nothing to a server
		// sending it.
		var raw asn1.RawValue
		if _, err := asn1.Unmarshal(der, &raw); err != nil {
			return nil, fmt.Errorf("%s: %v", b, err)
		}
		der = raw.FullBytes
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", b, err)
	}
	return c, nil
}

// errEncrypted explains the one key format fjord cannot read at all.
var errEncrypted = errors.New("the private key is encrypted: HAProxy would ask for its passphrase on its terminal at start, and fjord does not; store it decrypted, readable by root only (openssl pkey -in FILE -out FILE.plain)")

// isKeyLabel: every label OpenSSL's PEM_read_bio_PrivateKey takes ends so
// (PRIVATE KEY, RSA/EC/DSA PRIVATE KEY, ENCRYPTED PRIVATE KEY).
func isKeyLabel(label string) bool { return strings.HasSuffix(label, "PRIVATE KEY") }

// parseKeyBlock reads a private key: PKCS#1 RSA, SEC1 EC, or PKCS#8 (RSA,
// ECDSA, Ed25519). A key under the wrong label is read all the same, as
// the DER says what it is.
func parseKeyBlock(b block) (crypto.Signer, error) {
	if strings.Contains(b.headers["Proc-Type"], "ENCRYPTED") || b.label == "ENCRYPTED PRIVATE KEY" {
		return nil, fmt.Errorf("%s: %w", b, errEncrypted)
	}
	switch b.label {
	case "RSA PRIVATE KEY", "EC PRIVATE KEY", "PRIVATE KEY":
	case "DSA PRIVATE KEY":
		return nil, fmt.Errorf("%s: %w", b, errDSA)
	default:
		return nil, fmt.Errorf("%s: unsupported private key format (fjord reads PRIVATE KEY (PKCS#8), RSA PRIVATE KEY and EC PRIVATE KEY)", b)
	}
	parsers := []func([]byte) (any, error){
		func(d []byte) (any, error) { return x509.ParsePKCS8PrivateKey(d) },
		func(d []byte) (any, error) { return x509.ParsePKCS1PrivateKey(d) },
		func(d []byte) (any, error) { return x509.ParseECPrivateKey(d) },
	}
	first := map[string]int{"PRIVATE KEY": 0, "RSA PRIVATE KEY": 1, "EC PRIVATE KEY": 2}[b.label]
	parsers[0], parsers[first] = parsers[first], parsers[0]
	var firstErr error
	for _, parse := range parsers {
		k, err := parse(b.der)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		switch k := k.(type) {
		case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
			return k.(crypto.Signer), nil
		case *ecdh.PrivateKey:
			return nil, fmt.Errorf("%s: an X25519 key cannot sign, and a certificate's key must", b)
		default:
			return nil, fmt.Errorf("%s: unsupported key type %T", b, k)
		}
	}
	if isPKCS8DSA(b.der) {
		return nil, fmt.Errorf("%s: %w", b, errDSA)
	}
	return nil, fmt.Errorf("%s: %v", b, firstErr)
}

// errDSA refuses DSA keys, which HAProxy loads (a multi-cert bundle may
// have a .dsa member).
var errDSA = errors.New("DSA keys are not supported: Go's TLS does not sign with DSA, and no current client needs it; use an ECDSA or RSA key")

var oidDSA = asn1.ObjectIdentifier{1, 2, 840, 10040, 4, 1}

// isPKCS8DSA reports whether der is a PKCS#8 DSA key, which
// x509.ParsePKCS8PrivateKey only calls unknown.
func isPKCS8DSA(der []byte) bool {
	var k struct {
		Version   int
		Algorithm pkix.AlgorithmIdentifier
		Key       []byte
	}
	_, err := asn1.Unmarshal(der, &k)
	return err == nil && k.Algorithm.Algorithm.Equal(oidDSA)
}

// KeyType is the type of a certificate's key, which decides what clients
// can use it (see Store.GetCertificate).
type KeyType uint8

const (
	KeyUnknown KeyType = iota
	KeyRSA
	KeyECDSA
	KeyEd25519
)

func (k KeyType) String() string {
	switch k {
	case KeyRSA:
		return "RSA"
	case KeyECDSA:
		return "ECDSA"
	case KeyEd25519:
		return "Ed25519"
	}
	return "unknown"
}

func keyTypeOf(pub crypto.PublicKey) KeyType {
	switch pub.(type) {
	case *rsa.PublicKey:
		return KeyRSA
	case *ecdsa.PublicKey:
		return KeyECDSA
	case ed25519.PublicKey:
		return KeyEd25519
	}
	return KeyUnknown
}

// keyMatches reports whether key is the private half of pub.
func keyMatches(pub crypto.PublicKey, key crypto.Signer) bool {
	k, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(pub)
}

// fileCert is a certificate of a PEM file and the block it came from.
type fileCert struct {
	block int
	cert  *x509.Certificate
}

// pemFile is what a certificate file holds, before the leaf is chosen.
type pemFile struct {
	certs    []fileCert
	key      crypto.Signer // the first private key, or nil
	keyBlock int
}

// parsePEMFile reads the certificates and the private key of a HAProxy
// certificate file, in any order. Like HAProxy (PEM_read_bio_PrivateKey),
// it takes the first private key; a second one is ignored with a
// warning.
func parsePEMFile(file string, data []byte, w *warnings) (*pemFile, error) {
	blocks, err := splitPEM(data)
	if err != nil {
		return nil, err
	}
	if len(blocks) == 0 {
		if len(bytes.TrimSpace(data)) == 0 {
			return nil, errors.New("the file is empty")
		}
		return nil, errors.New("the file holds no PEM block: fjord reads PEM files, as HAProxy does (convert a DER certificate with openssl x509 -inform der -in FILE)")
	}
	pf := &pemFile{}
	for _, b := range blocks {
		switch {
		case isCertLabel(b.label):
			c, err := parseCertBlock(b)
			if err != nil {
				return nil, err
			}
			pf.certs = append(pf.certs, fileCert{b.n, c})
		case isKeyLabel(b.label):
			if pf.key != nil {
				w.add(file, 0, "%s is a second private key: ignored, as HAProxy does (the key is block %d)", b, pf.keyBlock)
				continue
			}
			k, err := parseKeyBlock(b)
			if err != nil {
				return nil, err
			}
			pf.key, pf.keyBlock = k, b.n
		case quietBlocks[b.label]:
		default:
			w.add(file, 0, "%s is neither a certificate nor a private key: skipped, as HAProxy does", b)
		}
	}
	return pf, nil
}

// leafFor chooses the leaf: the first certificate that key signs for. The
// others are the chain, in file order. HAProxy takes the first
// certificate of the file for the leaf and refuses the file when the key
// does not match it; fjord takes any order, and warns when HAProxy would
// refuse it.
func (pf *pemFile) leafFor(file string, key crypto.Signer, keyFrom string, w *warnings) (leaf *x509.Certificate, chain []*x509.Certificate, err error) {
	at := -1
	for i, fc := range pf.certs {
		if keyMatches(fc.cert.PublicKey, key) {
			at = i
			break
		}
	}
	if at < 0 {
		others := ""
		if len(pf.certs) > 1 {
			others = fmt.Sprintf(", nor any of the %d other certificates of %s", len(pf.certs)-1, file)
		}
		return nil, nil, fmt.Errorf("the private key in %s does not match the certificate for %s%s", keyFrom, describe(pf.certs[0].cert), others)
	}
	if at > 0 {
		w.add(file, 0, "the certificate for the private key, %s (block %d), is not the first certificate of the file: fjord serves it, but HAProxy 2.6 takes the first certificate for the leaf and would refuse this file", describe(pf.certs[at].cert), pf.certs[at].block)
	}
	for i, fc := range pf.certs {
		if i != at {
			chain = append(chain, fc.cert)
		}
	}
	return pf.certs[at].cert, chain, nil
}

// describe names a certificate in messages by what a user knows it by:
// its DNS names, else its subject's common name, else its subject.
func describe(c *x509.Certificate) string {
	switch n := len(c.DNSNames); {
	case n == 1:
		return c.DNSNames[0]
	case n > 1 && n <= 3:
		return fmt.Sprintf("%s (also %s)", c.DNSNames[0], strings.Join(c.DNSNames[1:], " "))
	case n > 3:
		return fmt.Sprintf("%s (and %d other names)", c.DNSNames[0], n-1)
	}
	if c.Subject.CommonName != "" {
		return "CN=" + c.Subject.CommonName
	}
	if s := c.Subject.String(); s != "" {
		return s
	}
	return "serial " + c.SerialNumber.String()
}

// issued reports whether parent is the issuer of child, by name and, when
// both carry them, key identifier, as path builders match them. It
// checks no signature: an old intermediate signed with SHA-1, which Go
// refuses to verify, is still the issuer it names.
func issued(parent, child *x509.Certificate) bool {
	if !bytes.Equal(child.RawIssuer, parent.RawSubject) {
		return false
	}
	if len(child.AuthorityKeyId) > 0 && len(parent.SubjectKeyId) > 0 {
		return bytes.Equal(child.AuthorityKeyId, parent.SubjectKeyId)
	}
	return true
}

// chainOrder explains how chain is out of order for leaf, or returns "".
// Clients expect each certificate to be followed by its issuer (RFC 8446
// 4.4.2 lets them be lenient, and many are not); HAProxy sends the chain
// as written, and so does fjord.
func chainOrder(leaf *x509.Certificate, chain []*x509.Certificate) string {
	prev := leaf
	for i, c := range chain {
		if issued(c, prev) {
			prev = c
			continue
		}
		where := "its issuer is not in the chain"
		for j, d := range chain {
			if j != i && issued(d, prev) {
				where = fmt.Sprintf("its issuer, %s, is chain certificate %d", describe(d), j+1)
				break
			}
		}
		return fmt.Sprintf("the chain is out of order: chain certificate %d, %s, did not issue %s (%s); clients expect each certificate to be followed by its issuer", i+1, describe(c), describe(prev), where)
	}
	return ""
}

// ParseCerts reads every certificate of a PEM file such as a 'ca-file',
// with OpenSSL's labels (CERTIFICATE, X509 CERTIFICATE, TRUSTED
// CERTIFICATE); blocks of other types are skipped. An error names the
// block; a file without a certificate is one.
func ParseCerts(data []byte) ([]*x509.Certificate, error) {
	blocks, err := splitPEM(data)
	if err != nil {
		return nil, err
	}
	var out []*x509.Certificate
	for _, b := range blocks {
		if !isCertLabel(b.label) {
			continue
		}
		c, err := parseCertBlock(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("no certificate in it")
	}
	return out, nil
}
