package config

import (
	"crypto/tls"
	"fmt"
	"strings"
)

// The TLS configuration model: what 'bind ... ssl', 'server ... ssl' and
// the global ssl-* keywords set, read into typed values with the global
// defaults already applied, so that the engine learns each listener's
// and each server's final settings from one place.
//
// fjord's data path carries TLS 1.2 and 1.3 with AEAD suites that have
// forward secrecy (tls/record), and its handshakes are crypto/tls's
// (tls/handshake). The configuration is read the way HAProxy 2.6 reads it
// (src/cfgparse-ssl.c); where those two limits make fjord differ, fjord -c
// says so at the line.

// TLSVersion is an SSL/TLS protocol version, named as HAProxy names them
// in ssl-min-ver and ssl-max-ver.
type TLSVersion uint8

const (
	TLSVersionUnset TLSVersion = iota // not configured
	SSLv3
	TLSv10
	TLSv11
	TLSv12
	TLSv13
)

var tlsVersionWords = words[TLSVersion]{"", "SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"}

func (v TLSVersion) String() string { return tlsVersionWords.name(v) }

// Wire is the version's number in the protocol, as crypto/tls's
// MinVersion and MaxVersion take it; 0 when unset.
func (v TLSVersion) Wire() uint16 {
	switch v {
	case SSLv3:
		return 0x0300 // crypto/tls's constant for it is deprecated
	case TLSv10:
		return tls.VersionTLS10
	case TLSv11:
		return tls.VersionTLS11
	case TLSv12:
		return tls.VersionTLS12
	case TLSv13:
		return tls.VersionTLS13
	}
	return 0
}

// MinServedTLSVersion is the oldest version fjord's record layer carries.
const MinServedTLSVersion = TLSv12

// TLSVersionSet is a set of versions: the ones 'no-sslv3' and 'no-tlsv1x'
// take away.
type TLSVersionSet uint8

// Has reports whether v is in the set.
func (s TLSVersionSet) Has(v TLSVersion) bool { return s&(1<<v) != 0 }

func (s TLSVersionSet) with(v TLSVersion) TLSVersionSet { return s | 1<<v }

// versionOptionSuffix is how the no-* and force-* options name a version.
var versionOptionSuffix = [...]string{SSLv3: "sslv3", TLSv10: "tlsv10", TLSv11: "tlsv11", TLSv12: "tlsv12", TLSv13: "tlsv13"}

// versionOption reads "no-tlsv10", "force-tlsv12", ...: HAProxy's older
// forms of ssl-min-ver and ssl-max-ver.
func versionOption(word string) (v TLSVersion, force, ok bool) {
	rest, isNo := strings.CutPrefix(word, "no-")
	if !isNo {
		if rest, force = strings.CutPrefix(word, "force-"); !force {
			return 0, false, false
		}
	}
	for v := SSLv3; v <= TLSv13; v++ {
		if versionOptionSuffix[v] == rest {
			return v, force, true
		}
	}
	return 0, false, false
}

// VerifyMode is how a peer's certificate is checked ('verify').
type VerifyMode uint8

const (
	VerifyNone     VerifyMode = iota // no certificate asked for or checked
	VerifyOptional                   // bind: a client certificate is asked for and checked if sent
	VerifyRequired                   // a certificate is required and checked
)

var verifyWords = words[VerifyMode]{"none", "optional", "required"}

func (m VerifyMode) String() string { return verifyWords.name(m) }

// KTLSMode is the fjord addition 'tune.ssl.ktls': whether established
// sessions are handed to the kernel's TLS (kTLS).
type KTLSMode uint8

const (
	KTLSAuto KTLSMode = iota // kTLS where the kernel has it, else the user-space record layer (the default)
	KTLSOn                   // kTLS; fjord refuses to start where the kernel lacks it
	KTLSOff                  // always the user-space record layer
)

var ktlsWords = words[KTLSMode]{"auto", "on", "off"}

func (m KTLSMode) String() string { return ktlsWords.name(m) }

// ExtraFiles is 'ssl-load-extra-files': the files looked for beside each
// certificate file.
type ExtraFiles uint8

const (
	ExtraBundle ExtraFiles = 1 << iota // NAME.rsa, NAME.ecdsa, NAME.dsa when NAME does not exist
	ExtraSCTL                          // NAME.sctl: signed certificate timestamps
	ExtraOCSP                          // NAME.ocsp: an OCSP response to staple
	ExtraIssuer                        // NAME.issuer: the OCSP response's issuer
	ExtraKey                           // NAME.key: the private key, when NAME has none

	ExtraNone ExtraFiles = 0
	ExtraAll             = ExtraBundle | ExtraSCTL | ExtraOCSP | ExtraIssuer | ExtraKey // the default
)

var extraFileWords = []struct {
	word string
	bit  ExtraFiles
}{{"bundle", ExtraBundle}, {"sctl", ExtraSCTL}, {"ocsp", ExtraOCSP}, {"issuer", ExtraIssuer}, {"key", ExtraKey}}

func (e ExtraFiles) String() string {
	switch e {
	case ExtraNone:
		return "none"
	case ExtraAll:
		return "all"
	}
	var ws []string
	for _, w := range extraFileWords {
		if e&w.bit != 0 {
			ws = append(ws, w.word)
		}
	}
	return strings.Join(ws, " ")
}

// TLSDefaults are the global ssl-default-bind-* or ssl-default-server-*
// settings: what a bind or server line with 'ssl' takes when it does not
// set the option itself. Zero values are unset.
type TLSDefaults struct {
	MinVersion, MaxVersion TLSVersion
	NoVersions             TLSVersionSet // no-sslv3, no-tlsv1x
	CipherSuites           []uint16      // nil: unset
	Curves                 []tls.CurveID // bind only
	NoTLSTickets           bool
}

// parseTLSVersion reads the argument of ssl-min-ver or ssl-max-ver.
func parseTLSVersion(kw, s string) (TLSVersion, error) {
	v, ok := tlsVersionWords.parse(s)
	if !ok || v == TLSVersionUnset {
		return 0, fmt.Errorf("'%s': unknown ssl/tls version '%s' (expects %s)", kw, s, tlsVersionWords.alternatives())
	}
	return v, nil
}

// curveNames maps the group names OpenSSL accepts in a curve list (its
// NIST, SEC and TLS names, case-insensitively as OpenSSL 3.5 reads them)
// to crypto/tls's groups.
var curveNames = map[string]tls.CurveID{
	"x25519":         tls.X25519,
	"p-256":          tls.CurveP256,
	"prime256v1":     tls.CurveP256,
	"secp256r1":      tls.CurveP256,
	"p-384":          tls.CurveP384,
	"secp384r1":      tls.CurveP384,
	"p-521":          tls.CurveP521,
	"secp521r1":      tls.CurveP521,
	"x25519mlkem768": tls.X25519MLKEM768,
}

// parseCurves reads a colon-separated curve list ('curves'), or one name
// ('ecdhe', one=true).
func parseCurves(kw, s string, one bool) ([]tls.CurveID, error) {
	if s == "" {
		return nil, fmt.Errorf("'%s' expects a list of curves such as X25519:P-256", kw)
	}
	items := []string{s}
	if !one {
		items = strings.Split(s, ":")
	}
	var ids []tls.CurveID
	for _, c := range items {
		id, ok := curveNames[strings.ToLower(c)]
		if !ok {
			if c == "" {
				return nil, fmt.Errorf("'%s %s': empty curve name", kw, s)
			}
			return nil, fmt.Errorf("'%s': unknown or unsupported curve '%s' (fjord's crypto/tls has X25519, P-256 (prime256v1), P-384 (secp384r1), P-521 (secp521r1) and X25519MLKEM768)", kw, c)
		}
		if !containsCurve(ids, id) {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

func containsCurve(ids []tls.CurveID, id tls.CurveID) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}
