package h1

import (
	"errors"
	"strings"
	"testing"
)

func TestParseChunkSize(t *testing.T) {
	tests := []struct {
		in   string
		size int64
		n    int    // line length; 0 when an error is expected
		msg  string // *Error message, or "" for success or ErrNeedMore
		off  int    // Error.Off
	}{
		{in: "0\r\n", size: 0, n: 3},
		{in: "0\r\n\r\n", size: 0, n: 3},
		{in: "1a\r\n", size: 26, n: 4},
		{in: "1A;ext=1\r\n", size: 26, n: 10},
		{in: "1A;ext=1\r\nbody", size: 26, n: 10},
		{in: "00ff\r\n", size: 255, n: 6},
		{in: "5 ;a=\"b c\"\t;d\r\n", size: 5, n: 15},
		{in: "5\t;x\r\n", size: 5, n: 6},
		{in: "5;\xe9\r\n", size: 5, n: 5},
		{in: "fffffffffffffff\r\n", size: 1<<60 - 1, n: 17},
		{in: "7fffffffffffffff\r\n", msg: msgChunkSize, off: 15},
		{in: "ffffffffffffffff\r\n", msg: msgChunkSize, off: 15},
		{in: "0000000000000001\r\n", msg: msgChunkSize, off: 15},
		{in: "\r\n", msg: msgChunkSize, off: 0},
		{in: ";ext\r\n", msg: msgChunkSize, off: 0},
		{in: "1\n", msg: msgChunkBareLF, off: 1},
		{in: "1;x\n", msg: msgChunkBareLF, off: 3},
		{in: "\n", msg: msgChunkBareLF, off: 0},
		{in: "1 \n", msg: msgChunkBareLF, off: 2},
		{in: "  5\r\n", msg: msgChunkSize, off: 0},
		{in: "\t5\r\n", msg: msgChunkSize, off: 0},
		{in: "+5\r\n", msg: msgChunkSize, off: 0},
		{in: "-5\r\n", msg: msgChunkSize, off: 0},
		{in: "0x5\r\n", msg: msgChunkSize, off: 1},
		{in: "5g\r\n", msg: msgChunkSize, off: 1},
		{in: "5 \r\n", msg: msgChunkSize, off: 2},
		{in: "5 6\r\n", msg: msgChunkSize, off: 2},
		{in: "5\rx", msg: msgBareCR, off: 1},
		{in: "5;a\rx", msg: msgBareCR, off: 3},
		{in: "5;a\x00\r\n", msg: msgChunkExt, off: 3},
		{in: "5;a\x7f\r\n", msg: msgChunkExt, off: 3},
		{in: "5;" + strings.Repeat("a", maxChunkLine-2) + "\r\n", size: 5, n: maxChunkLine + 2},
		{in: "5;" + strings.Repeat("a", maxChunkLine-1) + "\r\n", msg: msgChunkLineLen, off: maxChunkLine},
		{in: "5;" + strings.Repeat("a", 5000), msg: msgChunkLineLen, off: maxChunkLine},
		{in: "5" + strings.Repeat(" ", 5000), msg: msgChunkLineLen, off: maxChunkLine},
	}
	for _, tt := range tests {
		size, n, err := ParseChunkSize([]byte(tt.in))
		if tt.msg == "" {
			if err != nil || size != tt.size || n != tt.n {
				t.Errorf("%.40q: got (%d, %d, %v), want (%d, %d, nil)", tt.in, size, n, err, tt.size, tt.n)
				continue
			}
			// Every proper prefix of the line is incomplete.
			for k := range n {
				if _, _, err := ParseChunkSize([]byte(tt.in[:k])); err != ErrNeedMore {
					t.Errorf("%.40q: prefix of %d bytes: got %v, want ErrNeedMore", tt.in, k, err)
				}
			}
			continue
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("%.40q: got (%d, %d, %v), want *Error %q", tt.in, size, n, err, tt.msg)
			continue
		}
		if e.Msg != tt.msg || e.Off != tt.off {
			t.Errorf("%.40q: got %q at %d, want %q at %d", tt.in, e.Msg, e.Off, tt.msg, tt.off)
		}
	}
}

func TestParseTrailers(t *testing.T) {
	tests := []struct {
		in  string
		n   int
		msg string
	}{
		{in: "\r\n", n: 2},
		{in: "\r\nGET / HTTP/1.1\r\n", n: 2},
		{in: "X: y\r\n\r\n", n: 8},
		{in: "Expires: never\r\nX-Checksum:\tab12 \r\n\r\n", n: 37},
		{in: manyHeaders(MaxHeaders) + "\r\n", n: len(manyHeaders(MaxHeaders)) + 2},
		{in: "\n", msg: msgBareLF},
		{in: "X: y\n\r\n", msg: msgBareLF},
		{in: "X: y\r\n\n", msg: msgBareLF},
		{in: "\rX", msg: msgBareCR},
		{in: "X: y\r\n z\r\n\r\n", msg: msgObsFold},
		{in: "X: \x00\r\n\r\n", msg: msgNUL},
		{in: "X: \x1b\r\n\r\n", msg: msgCTL},
		{in: "X : y\r\n\r\n", msg: msgName},
		{in: "0\r\n\r\n", msg: msgName},
		{in: manyHeaders(MaxHeaders+1) + "\r\n", msg: msgTooMany},
	}
	for _, tt := range tests {
		n, err := ParseTrailers([]byte(tt.in))
		if tt.msg == "" {
			if err != nil || n != tt.n {
				t.Errorf("%.40q: got (%d, %v), want (%d, nil)", tt.in, n, err, tt.n)
				continue
			}
			for k := range n {
				if _, err := ParseTrailers([]byte(tt.in[:k])); err != ErrNeedMore {
					t.Errorf("%.40q: prefix of %d bytes: got %v, want ErrNeedMore", tt.in, k, err)
				}
			}
			continue
		}
		var e *Error
		if !errors.As(err, &e) || e.Msg != tt.msg {
			t.Errorf("%.40q: got (%d, %v), want *Error %q", tt.in, n, err, tt.msg)
		}
	}
}

func TestChunkAllocs(t *testing.T) {
	line := []byte("1f40;name=value\r\n")
	trailers := []byte("X-Checksum: abc\r\n\r\n")
	allocs := testing.AllocsPerRun(100, func() {
		if _, _, err := ParseChunkSize(line); err != nil {
			t.Fatal(err)
		}
		if _, _, err := ParseChunkSize(line[:3]); err != ErrNeedMore {
			t.Fatal(err)
		}
		if _, err := ParseTrailers(trailers); err != nil {
			t.Fatal(err)
		}
		if _, err := ParseTrailers(trailers[:5]); err != ErrNeedMore {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations, want 0", allocs)
	}
}
