package config

import (
	"strings"
	"testing"
)

// FuzzSNIExpr checks the reader of a server's 'sni': it never panics; an
// error names the expression; an accepted one reads back from its
// String, and a name sent as SNI has only host name characters.
func FuzzSNIExpr(f *testing.F) {
	for _, s := range []string{"str(example.com)", "req.hdr(host)", "req.hdr(Host)", "str()", "str(a,b)", "ssl_fc_sni", "str(str(x))"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := parseSNIExpr(s)
		if err != nil {
			if !strings.Contains(err.Error(), "'sni "+s+"'") {
				t.Fatalf("%q: error %q does not name it", s, err)
			}
			return
		}
		if again, err := parseSNIExpr(e.String()); err != nil || again != e {
			t.Fatalf("%q: %+v does not read back from %q: %+v, %v", s, e, e.String(), again, err)
		}
		if e.Source == SNIText && checkSNIName(e.Text) != nil {
			t.Fatalf("%q: SNI name %q", s, e.Text)
		}
	})
}
