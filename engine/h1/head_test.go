package h1

import "testing"

// TestSkipWords checks the word-at-a-time scans against the byte tables
// for every byte value at every position of a word, with and without a
// second odd byte later in the same word.
func TestSkipWords(t *testing.T) {
	scans := []struct {
		name  string
		skip  func([]byte, int) int
		table *[256]bool
	}{
		{"skipValue", skipValue, &vchar},
		{"skipTarget", skipTarget, &tgtchar},
	}
	for _, s := range scans {
		slow := func(b []byte, off int) int {
			for off < len(b) && s.table[b[off]] {
				off++
			}
			return off
		}
		buf := make([]byte, 24)
		for c := range 256 {
			for pos := range 16 {
				for _, second := range []byte{'a', 0x00, 0x7f, 0xff, '\t', ' '} {
					for i := range buf {
						buf[i] = 'a'
					}
					buf[pos] = byte(c)
					buf[min(pos+3, len(buf)-1)] = second
					for off := range 3 {
						if got, want := s.skip(buf, off), slow(buf, off); got != want {
							t.Fatalf("%s(%q, %d) = %d, want %d", s.name, buf, off, got, want)
						}
					}
				}
			}
		}
	}
}

func TestEqualFold(t *testing.T) {
	tests := []struct {
		b, s string
		want bool
	}{
		{"Content-Length", "content-length", true},
		{"CONTENT-LENGTH", "content-length", true},
		{"content-length", "Content-Length", true},
		{"Content-Lengt", "content-length", false},
		{"Content_Length", "content-length", false},
		{"Content\rLength", "content-length", false},
		{"", "", true},
		{"\xc3\x89", "\xc3\xa9", false},
		{"@", "`", false},
	}
	for _, tt := range tests {
		if got := equalFold([]byte(tt.b), tt.s); got != tt.want {
			t.Errorf("equalFold(%q, %q) = %v, want %v", tt.b, tt.s, got, tt.want)
		}
	}
}
