package config

import (
	"crypto/tls"
	"fmt"
	"strings"
)

// OpenSSL cipher lists ('ciphers', 'ssl-default-bind-ciphers', ...) and
// TLS 1.3 suite lists ('ciphersuites'), read into crypto/tls suite IDs.
//
// fjord's record layer (tls/record) carries only AEAD suites with forward
// secrecy: ECDHE key exchange with AES-GCM or ChaCha20-Poly1305. Every
// OpenSSL cipher name is known here, so that a name fjord cannot carry is
// told apart from a typing mistake: the first is left out with a warning,
// the second is an error. OpenSSL itself skips unknown names silently,
// which hides the typo until a client fails to connect.

// fjordSuites are the TLS 1.2 suites fjord carries, by OpenSSL name, in
// the order fjord offers them by default. (crypto/tls orders suites
// itself; the order only matters for messages.)
var fjordSuites = []struct {
	name string
	id   uint16
}{
	{"ECDHE-ECDSA-AES128-GCM-SHA256", tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256},
	{"ECDHE-RSA-AES128-GCM-SHA256", tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256},
	{"ECDHE-ECDSA-AES256-GCM-SHA384", tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384},
	{"ECDHE-RSA-AES256-GCM-SHA384", tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384},
	{"ECDHE-ECDSA-CHACHA20-POLY1305", tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256},
	{"ECDHE-RSA-CHACHA20-POLY1305", tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256},
}

// DefaultCipherSuites returns the TLS 1.2 suites fjord offers when no
// 'ciphers' is configured: every suite it carries.
func DefaultCipherSuites() []uint16 {
	ids := make([]uint16, len(fjordSuites))
	for i, s := range fjordSuites {
		ids[i] = s.id
	}
	return ids
}

// fjordSuiteNames is "ECDHE-ECDSA-AES128-GCM-SHA256, ...", for messages.
func fjordSuiteNames() string {
	names := make([]string, len(fjordSuites))
	for i, s := range fjordSuites {
		names[i] = s.name
	}
	return strings.Join(names, ", ")
}

// CipherSuiteName is the OpenSSL name of a suite fjord carries (TLS 1.2)
// or the standard name of a TLS 1.3 suite, as the configuration writes it.
func CipherSuiteName(id uint16) string {
	for _, s := range fjordSuites {
		if s.id == id {
			return s.name
		}
	}
	for _, s := range tls13Suites {
		if s.id == id {
			return s.name
		}
	}
	return tls.CipherSuiteName(id)
}

// openSSLCipherNames are the names of every other cipher OpenSSL has had
// (1.0.2 to 3.x, include/openssl/ssl3.h and tls1.h), which fjord cannot
// carry: CBC, RC4, 3DES, DES, NULL encryption, RSA or static (EC)DH key
// exchange, finite-field DHE, PSK, SRP, anonymous, CCM, ARIA, Camellia,
// SEED, IDEA and GOST.
var openSSLCipherNames = strings.Fields(`
	NULL-MD5 NULL-SHA NULL-SHA256 EXP-RC4-MD5 RC4-MD5 RC4-SHA EXP-RC2-CBC-MD5
	IDEA-CBC-SHA EXP-DES-CBC-SHA DES-CBC-SHA DES-CBC3-SHA
	EXP-DH-DSS-DES-CBC-SHA DH-DSS-DES-CBC-SHA DH-DSS-DES-CBC3-SHA
	EXP-DH-RSA-DES-CBC-SHA DH-RSA-DES-CBC-SHA DH-RSA-DES-CBC3-SHA
	EXP-DHE-DSS-DES-CBC-SHA DHE-DSS-DES-CBC-SHA DHE-DSS-DES-CBC3-SHA
	EXP-DHE-RSA-DES-CBC-SHA DHE-RSA-DES-CBC-SHA DHE-RSA-DES-CBC3-SHA
	EXP-EDH-DSS-DES-CBC-SHA EDH-DSS-DES-CBC-SHA EDH-DSS-DES-CBC3-SHA
	EXP-EDH-RSA-DES-CBC-SHA EDH-RSA-DES-CBC-SHA EDH-RSA-DES-CBC3-SHA
	EXP-ADH-RC4-MD5 ADH-RC4-MD5 EXP-ADH-DES-CBC-SHA ADH-DES-CBC-SHA ADH-DES-CBC3-SHA
	DHE-DSS-RC4-SHA

	AES128-SHA AES256-SHA AES128-SHA256 AES256-SHA256 AES128-GCM-SHA256 AES256-GCM-SHA384
	AES128-CCM AES256-CCM AES128-CCM8 AES256-CCM8
	DH-DSS-AES128-SHA DH-DSS-AES256-SHA DH-RSA-AES128-SHA DH-RSA-AES256-SHA
	DH-DSS-AES128-SHA256 DH-DSS-AES256-SHA256 DH-RSA-AES128-SHA256 DH-RSA-AES256-SHA256
	DH-DSS-AES128-GCM-SHA256 DH-DSS-AES256-GCM-SHA384 DH-RSA-AES128-GCM-SHA256 DH-RSA-AES256-GCM-SHA384
	DHE-DSS-AES128-SHA DHE-DSS-AES256-SHA DHE-DSS-AES128-SHA256 DHE-DSS-AES256-SHA256
	DHE-DSS-AES128-GCM-SHA256 DHE-DSS-AES256-GCM-SHA384
	DHE-RSA-AES128-SHA DHE-RSA-AES256-SHA DHE-RSA-AES128-SHA256 DHE-RSA-AES256-SHA256
	DHE-RSA-AES128-GCM-SHA256 DHE-RSA-AES256-GCM-SHA384
	DHE-RSA-AES128-CCM DHE-RSA-AES256-CCM DHE-RSA-AES128-CCM8 DHE-RSA-AES256-CCM8
	DHE-RSA-CHACHA20-POLY1305
	ADH-AES128-SHA ADH-AES256-SHA ADH-AES128-SHA256 ADH-AES256-SHA256 ADH-AES128-GCM-SHA256 ADH-AES256-GCM-SHA384

	ECDH-ECDSA-NULL-SHA ECDH-ECDSA-RC4-SHA ECDH-ECDSA-DES-CBC3-SHA ECDH-ECDSA-AES128-SHA ECDH-ECDSA-AES256-SHA
	ECDH-ECDSA-AES128-SHA256 ECDH-ECDSA-AES256-SHA384 ECDH-ECDSA-AES128-GCM-SHA256 ECDH-ECDSA-AES256-GCM-SHA384
	ECDH-RSA-NULL-SHA ECDH-RSA-RC4-SHA ECDH-RSA-DES-CBC3-SHA ECDH-RSA-AES128-SHA ECDH-RSA-AES256-SHA
	ECDH-RSA-AES128-SHA256 ECDH-RSA-AES256-SHA384 ECDH-RSA-AES128-GCM-SHA256 ECDH-RSA-AES256-GCM-SHA384
	ECDHE-ECDSA-NULL-SHA ECDHE-ECDSA-RC4-SHA ECDHE-ECDSA-DES-CBC3-SHA ECDHE-ECDSA-AES128-SHA ECDHE-ECDSA-AES256-SHA
	ECDHE-ECDSA-AES128-SHA256 ECDHE-ECDSA-AES256-SHA384
	ECDHE-ECDSA-AES128-CCM ECDHE-ECDSA-AES256-CCM ECDHE-ECDSA-AES128-CCM8 ECDHE-ECDSA-AES256-CCM8
	ECDHE-RSA-NULL-SHA ECDHE-RSA-RC4-SHA ECDHE-RSA-DES-CBC3-SHA ECDHE-RSA-AES128-SHA ECDHE-RSA-AES256-SHA
	ECDHE-RSA-AES128-SHA256 ECDHE-RSA-AES256-SHA384
	AECDH-NULL-SHA AECDH-RC4-SHA AECDH-DES-CBC3-SHA AECDH-AES128-SHA AECDH-AES256-SHA

	PSK-NULL-SHA PSK-NULL-SHA256 PSK-NULL-SHA384 PSK-RC4-SHA PSK-3DES-EDE-CBC-SHA
	PSK-AES128-CBC-SHA PSK-AES256-CBC-SHA PSK-AES128-CBC-SHA256 PSK-AES256-CBC-SHA384
	PSK-AES128-GCM-SHA256 PSK-AES256-GCM-SHA384 PSK-AES128-CCM PSK-AES256-CCM PSK-AES128-CCM8 PSK-AES256-CCM8
	PSK-CHACHA20-POLY1305 PSK-CAMELLIA128-SHA256 PSK-CAMELLIA256-SHA384 PSK-ARIA128-GCM-SHA256 PSK-ARIA256-GCM-SHA384
	DHE-PSK-NULL-SHA DHE-PSK-NULL-SHA256 DHE-PSK-NULL-SHA384 DHE-PSK-RC4-SHA DHE-PSK-3DES-EDE-CBC-SHA
	DHE-PSK-AES128-CBC-SHA DHE-PSK-AES256-CBC-SHA DHE-PSK-AES128-CBC-SHA256 DHE-PSK-AES256-CBC-SHA384
	DHE-PSK-AES128-GCM-SHA256 DHE-PSK-AES256-GCM-SHA384 DHE-PSK-AES128-CCM DHE-PSK-AES256-CCM
	DHE-PSK-AES128-CCM8 DHE-PSK-AES256-CCM8 DHE-PSK-CHACHA20-POLY1305
	DHE-PSK-CAMELLIA128-SHA256 DHE-PSK-CAMELLIA256-SHA384 DHE-PSK-ARIA128-GCM-SHA256 DHE-PSK-ARIA256-GCM-SHA384
	RSA-PSK-NULL-SHA RSA-PSK-NULL-SHA256 RSA-PSK-NULL-SHA384 RSA-PSK-RC4-SHA RSA-PSK-3DES-EDE-CBC-SHA
	RSA-PSK-AES128-CBC-SHA RSA-PSK-AES256-CBC-SHA RSA-PSK-AES128-CBC-SHA256 RSA-PSK-AES256-CBC-SHA384
	RSA-PSK-AES128-GCM-SHA256 RSA-PSK-AES256-GCM-SHA384 RSA-PSK-CHACHA20-POLY1305
	RSA-PSK-CAMELLIA128-SHA256 RSA-PSK-CAMELLIA256-SHA384 RSA-PSK-ARIA128-GCM-SHA256 RSA-PSK-ARIA256-GCM-SHA384
	ECDHE-PSK-NULL-SHA ECDHE-PSK-NULL-SHA256 ECDHE-PSK-NULL-SHA384 ECDHE-PSK-RC4-SHA ECDHE-PSK-3DES-EDE-CBC-SHA
	ECDHE-PSK-AES128-CBC-SHA ECDHE-PSK-AES256-CBC-SHA ECDHE-PSK-AES128-CBC-SHA256 ECDHE-PSK-AES256-CBC-SHA384
	ECDHE-PSK-CHACHA20-POLY1305 ECDHE-PSK-CAMELLIA128-SHA256 ECDHE-PSK-CAMELLIA256-SHA384

	SRP-3DES-EDE-CBC-SHA SRP-RSA-3DES-EDE-CBC-SHA SRP-DSS-3DES-EDE-CBC-SHA
	SRP-AES-128-CBC-SHA SRP-RSA-AES-128-CBC-SHA SRP-DSS-AES-128-CBC-SHA
	SRP-AES-256-CBC-SHA SRP-RSA-AES-256-CBC-SHA SRP-DSS-AES-256-CBC-SHA

	CAMELLIA128-SHA CAMELLIA256-SHA CAMELLIA128-SHA256 CAMELLIA256-SHA256
	DH-DSS-CAMELLIA128-SHA DH-DSS-CAMELLIA256-SHA DH-RSA-CAMELLIA128-SHA DH-RSA-CAMELLIA256-SHA
	DH-DSS-CAMELLIA128-SHA256 DH-DSS-CAMELLIA256-SHA256 DH-RSA-CAMELLIA128-SHA256 DH-RSA-CAMELLIA256-SHA256
	DHE-DSS-CAMELLIA128-SHA DHE-DSS-CAMELLIA256-SHA DHE-DSS-CAMELLIA128-SHA256 DHE-DSS-CAMELLIA256-SHA256
	DHE-RSA-CAMELLIA128-SHA DHE-RSA-CAMELLIA256-SHA DHE-RSA-CAMELLIA128-SHA256 DHE-RSA-CAMELLIA256-SHA256
	ADH-CAMELLIA128-SHA ADH-CAMELLIA256-SHA ADH-CAMELLIA128-SHA256 ADH-CAMELLIA256-SHA256
	ECDHE-ECDSA-CAMELLIA128-SHA256 ECDHE-ECDSA-CAMELLIA256-SHA384 ECDH-ECDSA-CAMELLIA128-SHA256 ECDH-ECDSA-CAMELLIA256-SHA384
	ECDHE-RSA-CAMELLIA128-SHA256 ECDHE-RSA-CAMELLIA256-SHA384 ECDH-RSA-CAMELLIA128-SHA256 ECDH-RSA-CAMELLIA256-SHA384

	SEED-SHA DH-DSS-SEED-SHA DH-RSA-SEED-SHA DHE-DSS-SEED-SHA DHE-RSA-SEED-SHA ADH-SEED-SHA

	ARIA128-GCM-SHA256 ARIA256-GCM-SHA384 DHE-RSA-ARIA128-GCM-SHA256 DHE-RSA-ARIA256-GCM-SHA384
	DH-RSA-ARIA128-GCM-SHA256 DH-RSA-ARIA256-GCM-SHA384 DHE-DSS-ARIA128-GCM-SHA256 DHE-DSS-ARIA256-GCM-SHA384
	DH-DSS-ARIA128-GCM-SHA256 DH-DSS-ARIA256-GCM-SHA384 ADH-ARIA128-GCM-SHA256 ADH-ARIA256-GCM-SHA384
	ECDHE-ECDSA-ARIA128-GCM-SHA256 ECDHE-ECDSA-ARIA256-GCM-SHA384 ECDH-ECDSA-ARIA128-GCM-SHA256 ECDH-ECDSA-ARIA256-GCM-SHA384
	ECDHE-ARIA128-GCM-SHA256 ECDHE-ARIA256-GCM-SHA384 ECDH-ARIA128-GCM-SHA256 ECDH-ARIA256-GCM-SHA384

	GOST2001-GOST89-GOST89 GOST2001-NULL-GOST94 GOST94-GOST89-GOST89 GOST94-NULL-GOST94
	GOST2012-GOST8912-GOST8912 GOST2012-NULL-GOST12 GOST2012-KUZNYECHIK-KUZNYECHIKOMAC GOST2012-MAGMA-MAGMAOMAC
	IANA-GOST2012-GOST8912-GOST8912 LEGACY-GOST2012-GOST8912-GOST8912
`)

// openSSLCipherAliases are the words of OpenSSL's selection language
// (ssl/ssl_ciph.c's cipher_aliases, with those of OpenSSL 1.0.2 that
// configurations written for it still carry). fjord does not evaluate
// them: they select among OpenSSL's ciphers, by properties most of which
// no suite of fjord's has.
var openSSLCipherAliases = strings.Fields(`
	DEFAULT ALL COMPLEMENTOFALL COMPLEMENTOFDEFAULT HIGH MEDIUM LOW FIPS
	SUITEB128 SUITEB128ONLY SUITEB128C2 SUITEB192
	kRSA kEDH kDHE DH kEECDH kECDHE ECDH kPSK kRSAPSK kECDHEPSK kDHEPSK kSRP kGOST kGOST18
	aRSA aDSS DSS aNULL aECDSA ECDSA aPSK aGOST01 aGOST12 aGOST aSRP
	EDH DHE EECDH ECDHE NULL RSA ADH AECDH PSK SRP
	3DES RC4 RC2 IDEA SEED eNULL GOST89 GOST2012 MAGMA KUZNYECHIK
	AES128 AES256 AES AESGCM AESCCM AESCCM8 CAMELLIA128 CAMELLIA256 CAMELLIA CHACHA20
	ARIA ARIAGCM ARIA128 ARIA256 CBC
	MD5 SHA1 SHA SHA256 SHA384 GOST94 GOST89MAC GOST12 GOST89MAC12
	SSLv3 TLSv1 TLSv1.0 TLSv1.2
	SSLv2 EXP EXPORT EXPORT40 EXPORT56 DES
	kDHr kDHd kDH kECDHr kECDHe kECDH aDH aECDH kKRB5 aKRB5 KRB5 kFZA aFZA eFZA FZA
`)

// tls13Suites are the TLS 1.3 suites OpenSSL knows, by standard name;
// crypto/tls has the first three and offers all three on every
// connection.
var tls13Suites = []struct {
	name string
	id   uint16
}{
	{"TLS_AES_128_GCM_SHA256", tls.TLS_AES_128_GCM_SHA256},
	{"TLS_AES_256_GCM_SHA384", tls.TLS_AES_256_GCM_SHA384},
	{"TLS_CHACHA20_POLY1305_SHA256", tls.TLS_CHACHA20_POLY1305_SHA256},
	{"TLS_AES_128_CCM_SHA256", 0x1304},
	{"TLS_AES_128_CCM_8_SHA256", 0x1305},
}

var (
	cipherNameSet  = map[string]bool{}
	cipherAliasSet = map[string]bool{}
)

func init() {
	for _, n := range openSSLCipherNames {
		cipherNameSet[n] = true
	}
	for _, n := range openSSLCipherAliases {
		cipherAliasSet[n] = true
	}
}

// CipherList is an OpenSSL cipher list as fjord reads it.
type cipherList struct {
	// Suites are the TLS 1.2 suites fjord offers for it, in the order
	// named; never empty when there is no error.
	Suites []uint16
	// Dropped are the OpenSSL cipher names fjord cannot carry, left out.
	Dropped []string
	// Selection are the words of OpenSSL's selection language fjord did
	// not evaluate; Selects tells whether one of them would have added
	// ciphers (rather than removing or reordering), in which case Suites
	// holds every suite fjord carries.
	Selection []string
	Selects   bool
}

// parseCipherList reads an OpenSSL cipher list (man 1 ciphers): names and
// selection words separated by ':', ',', ';' or spaces, as OpenSSL
// separates them.
func parseCipherList(s string) (cipherList, error) {
	var cl cipherList
	seen := map[uint16]bool{}
	add := func(id uint16) {
		if !seen[id] {
			seen[id] = true
			cl.Suites = append(cl.Suites, id)
		}
	}
	items := strings.FieldsFunc(s, func(r rune) bool { return r == ':' || r == ',' || r == ';' || r == ' ' })
	if len(items) == 0 {
		return cl, fmt.Errorf("expects an OpenSSL cipher list such as %s", fjordSuites[0].name)
	}
	for _, item := range items {
		word := item
		prefix := byte(0)
		if c := word[0]; c == '!' || c == '-' || c == '+' {
			prefix, word = c, word[1:]
		}
		if strings.HasPrefix(word, "@") {
			if prefix != 0 || !(word == "@STRENGTH" || strings.HasPrefix(word, "@SECLEVEL=") && len(word) > len("@SECLEVEL=")) {
				return cl, fmt.Errorf("unknown OpenSSL cipher list command '%s' (OpenSSL knows @STRENGTH and @SECLEVEL=N)", item)
			}
			cl.Selection = append(cl.Selection, item)
			continue
		}
		if word == "" {
			return cl, fmt.Errorf("'%s' names no cipher", item)
		}
		if prefix == 0 && !strings.Contains(word, "+") {
			if id, ok := fjordSuiteID(word); ok {
				add(id)
				continue
			}
			if cipherNameSet[word] {
				cl.Dropped = append(cl.Dropped, word)
				continue
			}
		}
		// Selection language: an alias, a negation or a combination
		// ("ECDHE+AESGCM"); each part must be a word OpenSSL knows.
		for _, part := range strings.Split(word, "+") {
			if part == "" || cipherAliasSet[part] || cipherNameSet[part] {
				continue
			}
			if _, ok := fjordSuiteID(part); ok {
				continue
			}
			return cl, unknownCipherError(part)
		}
		cl.Selection = append(cl.Selection, item)
		if prefix == 0 {
			cl.Selects = true
		}
	}
	if cl.Selects {
		for _, s := range fjordSuites {
			add(s.id)
		}
	}
	return cl, nil
}

func fjordSuiteID(name string) (uint16, bool) {
	for _, s := range fjordSuites {
		if s.name == name {
			return s.id, true
		}
	}
	return 0, false
}

// unknownCipherError names a word that is no OpenSSL cipher name nor
// selection word, with a hint for the usual confusions.
func unknownCipherError(word string) error {
	for _, s := range tls13Suites {
		if s.name == word {
			return fmt.Errorf("'%s' is a TLS 1.3 suite: TLS 1.3 suites are set with 'ciphersuites', not in an OpenSSL cipher list", word)
		}
	}
	if strings.HasPrefix(word, "TLS_") {
		for _, s := range fjordSuites {
			if tls.CipherSuiteName(s.id) == word {
				return fmt.Errorf("'%s' is the IANA name of a suite; OpenSSL cipher lists name it %s", word, s.name)
			}
		}
		return fmt.Errorf("'%s' looks like an IANA suite name; OpenSSL cipher lists use OpenSSL's names, such as %s", word, fjordSuites[0].name)
	}
	return fmt.Errorf("unknown OpenSSL cipher '%s'", word)
}

// parseTLS13Suites reads a TLS 1.3 suite list ('ciphersuites'): standard
// names separated by ':'. It returns the suites fjord carries and those
// OpenSSL knows that it does not (the CCM suites).
func parseTLS13Suites(s string) (ids []uint16, dropped []string, err error) {
	items := strings.Split(s, ":")
	if s == "" {
		return nil, nil, fmt.Errorf("expects a list of TLS 1.3 suites such as TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256")
	}
	for _, item := range items {
		found := false
		for i, t := range tls13Suites {
			if t.name != item {
				continue
			}
			found = true
			if i >= 3 {
				dropped = append(dropped, item)
			} else if !containsID(ids, t.id) {
				ids = append(ids, t.id)
			}
		}
		if found {
			continue
		}
		if item == "" {
			return nil, nil, fmt.Errorf("empty suite name in '%s'", s)
		}
		if _, ok := fjordSuiteID(item); ok || cipherNameSet[item] {
			return nil, nil, fmt.Errorf("'%s' is an OpenSSL TLS 1.2 cipher: TLS 1.2 ciphers are set with 'ciphers'; 'ciphersuites' takes TLS 1.3 suites such as TLS_AES_128_GCM_SHA256", item)
		}
		return nil, nil, fmt.Errorf("unknown TLS 1.3 suite '%s' (OpenSSL knows TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256, TLS_AES_128_CCM_SHA256 and TLS_AES_128_CCM_8_SHA256)", item)
	}
	return ids, dropped, nil
}

func containsID(ids []uint16, id uint16) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}
