// Package certs makes the benchmark's TLS certificates at run time:
// self-signed, for one fixed name, with an ECDSA P-256 or an RSA-2048 key,
// from crypto/x509. They are written as a PEM bundle (certificate then
// key in one file, HAProxy's and fjord's crt) and as separate certificate
// and key files (nginx's ssl_certificate and ssl_certificate_key). No key
// is ever committed: each run makes its own, in a directory it removes.
package certs

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"
)

// ServerName is the one name every benchmark certificate is for; the load
// side sends it as SNI.
const ServerName = "bench.fjord.test"

// Kind is a certificate's key type.
type Kind string

const (
	ECDSA Kind = "ecdsa-p256"
	RSA   Kind = "rsa-2048"
)

// Kinds lists the kinds Write makes.
var Kinds = []Kind{ECDSA, RSA}

// Doc describes the kind for the report.
func (k Kind) Doc() string {
	switch k {
	case ECDSA:
		return "ECDSA P-256"
	case RSA:
		return "RSA-2048"
	}
	return string(k)
}

// Files are one certificate's files, and its DER for the client to pin.
type Files struct {
	Kind Kind
	// Bundle holds the certificate then its key (PEM): HAProxy's and
	// fjord's 'crt'.
	Bundle string
	// Cert and Key are the same, apart: nginx's ssl_certificate and
	// ssl_certificate_key.
	Cert, Key string
	// DER is the certificate, which the load side requires the server to
	// present (it pins it rather than verifying a chain).
	DER []byte
}

// Generate makes a self-signed certificate for ServerName with a key of
// kind, valid from an hour ago for a week. It returns the certificate and
// the key (PKCS#8) as PEM, and the certificate's DER.
func Generate(kind Kind) (certPEM, keyPEM, der []byte, err error) {
	var key crypto.Signer
	usage := x509.KeyUsageDigitalSignature
	switch kind {
	case ECDSA:
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case RSA:
		key, err = rsa.GenerateKey(rand.Reader, 2048)
		usage |= x509.KeyUsageKeyEncipherment
	default:
		return nil, nil, nil, fmt.Errorf("certs: unknown kind %q (known: %s, %s)", kind, ECDSA, RSA)
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("certs: %s key: %w", kind, err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: ServerName, Organization: []string{"fjord-bench"}},
		DNSNames:              []string{ServerName},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(7 * 24 * time.Hour),
		KeyUsage:              usage,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	der, err = x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("certs: %s certificate: %w", kind, err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("certs: %s key: %w", kind, err)
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})
	return certPEM, keyPEM, der, nil
}

// Write generates a certificate of kind and writes its files into dir:
// KIND.pem (the bundle), KIND.crt and KIND.key, readable by their owner
// only.
func Write(dir string, kind Kind) (*Files, error) {
	certPEM, keyPEM, der, err := Generate(kind)
	if err != nil {
		return nil, err
	}
	f := &Files{
		Kind:   kind,
		Bundle: filepath.Join(dir, string(kind)+".pem"),
		Cert:   filepath.Join(dir, string(kind)+".crt"),
		Key:    filepath.Join(dir, string(kind)+".key"),
		DER:    der,
	}
	bundle := append(append([]byte{}, certPEM...), keyPEM...)
	for path, data := range map[string][]byte{f.Bundle: bundle, f.Cert: certPEM, f.Key: keyPEM} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return nil, fmt.Errorf("certs: %w", err)
		}
	}
	return f, nil
}
