package proxyproto

import (
	"bytes"
	"testing"
)

// FuzzParse checks, for any input, that Parse
//   - does not panic, does not modify its input, and answers in one of the
//     three documented shapes, with n <= len(buf);
//   - is consistent on the input's beginnings: ErrNeedMore up to some
//     length, then the same verdict (the same header and n, or invalid)
//     for every longer beginning;
//   - says ErrNeedMore only when some byte can continue the input, and
//     never lets a byte revive an invalid input;
//   - agrees with github.com/pires/go-proxyproto, apart from the
//     documented differences;
//   - accepts only headers whose addresses Build reproduces.
func FuzzParse(f *testing.F) {
	for _, tc := range validCases {
		f.Add([]byte(tc.in))
		f.Add([]byte(tc.in + "GET / HTTP/1.1\r\n"))
		f.Add([]byte(tc.in[:len(tc.in)/2]))
	}
	for _, tc := range invalidCases {
		f.Add([]byte(tc.in))
	}
	for _, s := range []string{"", "P", "PROXY TCP6 ::", "\r\n\r\n\x00\r\nQUIT\n", "\r\n\r\n\x00\r\nQUIT\n\x21\x21\x00"} {
		f.Add([]byte(s))
	}

	f.Fuzz(func(t *testing.T, buf []byte) {
		orig := bytes.Clone(buf)
		h, n, kind, err := parseKind(t, buf)
		if !bytes.Equal(buf, orig) {
			t.Fatalf("Parse modified its input %q", orig)
		}

		// Beginnings: all of them when short, a sample when long.
		step := 1
		if len(buf) > 512 {
			step = len(buf)/256 + 1
		}
		dead := false
		for k := 0; k < len(buf); k++ {
			if k > 256 && k%step != 0 && k != n && k != n-1 && k != len(buf)-1 {
				continue
			}
			hk, nk, kk, errk := parseKind(t, buf[:k])
			if dead && kk != resInvalid {
				t.Fatalf("Parse(%q): a shorter beginning is invalid, the first %d bytes: %v", buf, k, errk)
			}
			dead = kk == resInvalid
			switch {
			case kind == resOK && k < n:
				if kk != resNeedMore {
					t.Fatalf("Parse(%q) = ok (n=%d) but its first %d bytes: %v", buf, n, k, errk)
				}
			case kind == resOK:
				if kk != resOK || hk != h || nk != n {
					t.Fatalf("Parse(%q) = %+v, %d but its first %d bytes: %+v, %d, %v", buf, h, n, k, hk, nk, errk)
				}
			case kind == resNeedMore && kk != resNeedMore:
				t.Fatalf("Parse(%q) = ErrNeedMore but its first %d bytes: %v", buf, k, errk)
			case kind == resInvalid && kk == resOK:
				t.Fatalf("Parse(%q) = %v but its first %d bytes are a header", buf, err, k)
			}
		}

		checkStep(t, buf, nil)
		checkLibraryAgrees(t, buf, h, n, err)
		if kind == resOK {
			checkRebuild(t, h)
		}
	})
}
