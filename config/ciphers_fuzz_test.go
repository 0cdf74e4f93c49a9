package config

import (
	"strings"
	"testing"
)

// FuzzCipherList checks the OpenSSL cipher list reader: it never panics;
// an accepted list names only suites fjord carries, each once; a list
// without selection words yields exactly the carried names it holds;
// and an error names a word of the list.
func FuzzCipherList(f *testing.F) {
	for _, s := range []string{
		"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256",
		"HIGH:!aNULL:!MD5", "kEECDH+AESGCM:EECDH+CHACHA20:@STRENGTH", "DEFAULT:-RC4:+AES",
		"ECDHE-RSA-AES128-SHA,DHE-RSA-AES256-GCM-SHA384;RC4-SHA ECDHE-RSA-CHACHA20-POLY1305",
		"@SECLEVEL=2:TLS_AES_128_GCM_SHA256", "!", "::", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cl, err := parseCipherList(s)
		if err != nil {
			if !strings.Contains(err.Error(), "'") && !strings.Contains(err.Error(), "expects") {
				t.Fatalf("%q: error %q names no word", s, err)
			}
			return
		}
		seen := map[uint16]bool{}
		for _, id := range cl.Suites {
			if _, ok := fjordSuiteID(CipherSuiteName(id)); !ok || seen[id] {
				t.Fatalf("%q: suite %#x is not carried or comes twice: %v", s, id, cl.Suites)
			}
			seen[id] = true
		}
		if cl.Selects && len(cl.Suites) != len(fjordSuites) {
			t.Fatalf("%q: selection words but suites %v", s, cl.Suites)
		}
		for _, d := range cl.Dropped {
			if !cipherNameSet[d] || !strings.Contains(s, d) {
				t.Fatalf("%q: dropped %q is no OpenSSL name of the list", s, d)
			}
		}
		if len(cl.Selection) == 0 && len(cl.Suites) > 0 {
			for _, id := range cl.Suites {
				if !strings.Contains(s, CipherSuiteName(id)) {
					t.Fatalf("%q: %s was not named", s, CipherSuiteName(id))
				}
			}
		}
	})
}
