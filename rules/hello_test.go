package rules

import (
	"testing"
)

// The req.ssl_* fetches on a peeked hello: the extension fetches have
// no value for a hello without an extension list, as in HAProxy.
func TestHelloFetches(t *testing.T) {
	withExt := &Hello{SNI: "a.example.com", HelloType: 1, Version: 3<<16 | 3, ALPN: []string{"h2", "acme-tls/1"}, Ext: true, ECExt: true, STExt: 2}
	noExt := &Hello{HelloType: 1, Version: 3 << 16} // SSL 3.0: no extension list
	for _, tc := range []struct {
		name  string
		term  string
		hello *Hello
		want  bool
	}{
		{"sni", "req.ssl_sni a.example.com", withExt, true},
		{"alpn", "req.ssl_alpn acme-tls/1", withExt, true},
		{"alpn absent", "req.ssl_alpn http/1.1", withExt, false},
		{"ec_ext", "req.ssl_ec_ext", withExt, true},
		{"ec_ext without extensions", "req.ssl_ec_ext", noExt, false},
		{"st_ext with a ticket", "req.ssl_st_ext 2", withExt, true},
		{"st_ext without extensions", "req.ssl_st_ext 0", noExt, false},
		{"hello type", "req.ssl_hello_type 1", noExt, true},
		{"version", "req.ssl_ver 3.3", withExt, true},
		{"no hello peeked", "req.ssl_hello_type 1", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := parseTCPCond(t, tc.term)
			tx := Txn{Hello: tc.hello}
			if got := NewCompiler().Cond(c).Match(&tx); got != tc.want {
				t.Errorf("matched %v, want %v", got, tc.want)
			}
		})
	}
}
