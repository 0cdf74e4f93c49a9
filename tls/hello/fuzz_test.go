package hello

import (
	"crypto/tls"
	"errors"
	"regexp"
	"testing"
)

// hostName is what an accepted SNI must look like, written apart from the
// package's own check so that one does not vouch for itself.
var hostName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,63}(\.[A-Za-z0-9_-]{1,63})*$`)

// FuzzParse: Parse never panics; every error but ErrNeedMore is one of
// the package's kinds and says something; an accepted hello's SNI is a
// host name or empty; and a prefix of any stream gives ErrNeedMore or the
// answer the whole stream gives, so that peeking again as bytes arrive
// never changes an answer.
func FuzzParse(f *testing.F) {
	h13 := clientHello(f, &tls.Config{ServerName: "www.example.com", NextProtos: []string{"h2", "http/1.1"}})
	h12 := clientHello(f, &tls.Config{ServerName: "a.example", MaxVersion: tls.VersionTLS12,
		ClientSessionCache: tls.NewLRUClientSessionCache(1)})
	for _, s := range [][]byte{
		h13,
		h12,
		clientHello(f, &tls.Config{InsecureSkipVerify: true}),
		resumingHello(f),
		serverHello(f, h13),
		fragment(f, h13, 2),
		fragment(f, h13, 100, 200),
		even(f, h12, 5),
		spec{noExts: true}.stream(),
		spec{exts: []ext{sniExt("a.example", "b.example"), alpnExt("h2"), {extSupportedGrps, []byte{0, 2, 0, 29}}}}.stream(),
		spec{version: 0x0300, exts: []ext{sniExt("a.example")}}.stream(),
		sslv2(0x0002, 9, 0, 16, 0),
		sslv2(0x0301, 3, 16, 32, 4),
		[]byte("GET / HTTP/1.1\r\nHost: a\r\n\r\n"),
		[]byte("\x15\x03\x03\x00\x02\x02\x28"),
		{22, 3, 1, 0, 4, 1, 0, 0, 0},
		{},
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := Parse(data)
		switch {
		case err == ErrNeedMore:
			if len(data) >= MaxInput {
				t.Fatalf("ErrNeedMore for %d bytes, MaxInput %d", len(data), MaxInput)
			}
		case err != nil:
			if !errors.Is(err, ErrNotTLS) && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("an error of no kind: %v", err)
			}
		default:
			if h.SNI != "" && (len(h.SNI) > 253 || !hostName.MatchString(h.SNI)) {
				t.Fatalf("accepted SNI %q", h.SNI)
			}
			for _, p := range h.ALPN {
				if p == "" {
					t.Fatal("accepted an empty ALPN name")
				}
			}
			if h.SSLv2 && !equalHello(h, Hello{SSLv2: true, Version: h.Version}) {
				t.Fatalf("an SSLv2 hello with more than its version: %+v", h)
			}
		}
		// Every prefix of a short stream; of a long one, its first and
		// last 32 and 64 between: checking them all is quadratic and
		// slows the fuzzer down tenfold, and the unit tests check all
		// those of real hellos.
		for n := 0; n < len(data); n++ {
			if len(data) > 128 && n > 32 && n < len(data)-32 && n%(len(data)/64) != 0 {
				continue
			}
			ph, perr := Parse(data[:n])
			if perr != ErrNeedMore && !sameResult(ph, perr, h, err) {
				t.Fatalf("%d of %d bytes: %+v, %v; all of them: %+v, %v", n, len(data), ph, perr, h, err)
			}
		}
	})
}
