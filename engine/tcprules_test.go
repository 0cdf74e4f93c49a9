package engine

import (
	"testing"

	"github.com/fjordlb/fjord/config"
)

// The req.ssl_* criteria on a peeked hello: the extension criteria have
// no value for a hello without an extension list, as in HAProxy.
func TestHelloCriteria(t *testing.T) {
	withExt := &helloInfo{sni: "a.example.com", helloType: 1, version: 3<<16 | 3, alpn: []string{"h2", "acme-tls/1"}, ext: true, ecExt: true, stExt: 2}
	noExt := &helloInfo{helloType: 1, version: 3 << 16} // SSL 3.0: no extension list
	term := func(c config.Criterion, vals []string, ranges ...config.IntRange) *config.ACLTerm {
		return &config.ACLTerm{Criterion: c, Values: vals, Ranges: ranges}
	}
	exactly := func(v int64) config.IntRange { return config.IntRange{Min: v, Max: v, HasMin: true, HasMax: true} }
	for _, tc := range []struct {
		name  string
		term  *config.ACLTerm
		hello *helloInfo
		want  bool
	}{
		{"sni", term(config.CritReqSSLSNI, []string{"a.example.com"}), withExt, true},
		{"alpn", term(config.CritReqSSLALPN, []string{"acme-tls/1"}), withExt, true},
		{"alpn absent", term(config.CritReqSSLALPN, []string{"http/1.1"}), withExt, false},
		{"ec_ext", term(config.CritReqSSLECExt, nil), withExt, true},
		{"ec_ext without extensions", term(config.CritReqSSLECExt, nil), noExt, false},
		{"st_ext with a ticket", term(config.CritReqSSLSTExt, nil, exactly(2)), withExt, true},
		{"st_ext without extensions", term(config.CritReqSSLSTExt, nil, exactly(0)), noExt, false},
		{"hello type", term(config.CritReqSSLHelloType, nil, exactly(1)), noExt, true},
		{"no hello peeked", term(config.CritReqSSLHelloType, nil, exactly(1)), nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := matchTerm(tc.term, &sample{hello: tc.hello}); got != tc.want {
				t.Errorf("matched %v, want %v", got, tc.want)
			}
		})
	}
}
