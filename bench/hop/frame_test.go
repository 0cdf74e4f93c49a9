package hop

import (
	"errors"
	"strings"
	"testing"
)

// mark is where a framer reported an event: the offset just after the
// byte that ended the head or message.
type mark struct {
	at int
	ev event
}

// frameAll feeds p in pieces of size step (0: whole) and returns the
// events, with the HEAD bit of requests or the interim bit of responses
// in the high bit of ev, and the first error.
func frameAll(f *framer, p []byte, step int, noBody func() bool) ([]mark, error) {
	var marks []mark
	off := 0
	for off < len(p) {
		end := len(p)
		if step > 0 {
			end = min(len(p), off+step)
		}
		chunk := p[off:end]
		for len(chunk) > 0 {
			if f.resp && f.atStart() && noBody != nil {
				f.noBody = noBody()
			}
			n, ev, err := f.feed(chunk)
			if err != nil {
				return marks, err
			}
			off += n
			chunk = chunk[n:]
			if ev != evNone {
				if (ev == evHead && f.wasHEAD) || (ev == evEnd && f.interim) {
					ev |= 0x80
				}
				marks = append(marks, mark{off, ev})
			}
		}
	}
	return marks, nil
}

func TestFramerRequests(t *testing.T) {
	tests := []struct {
		name string
		in   string
		// heads are the offsets after each head, a negative one for a
		// HEAD request.
		heads []int
		err   string
		// mid says that the input ends inside a message.
		mid bool
	}{
		{name: "a GET", in: "GET / HTTP/1.1\r\nHost: a\r\n\r\n", heads: []int{27}},
		{name: "a HEAD", in: "HEAD / HTTP/1.1\r\n\r\n", heads: []int{-19}},
		{name: "HEADX is not HEAD", in: "HEADX / HTTP/1.1\r\n\r\n", heads: []int{20}},
		{name: "bare LF line ends", in: "GET / HTTP/1.0\nA: b\n\n", heads: []int{21}},
		{name: "empty lines before a request are skipped", in: "\r\n\r\nGET / HTTP/1.1\r\n\r\n", heads: []int{22}},
		{name: "two pipelined", in: "GET /a HTTP/1.1\r\n\r\nHEAD /b HTTP/1.1\r\n\r\n", heads: []int{19, -39}},
		{name: "a Content-Length body, then the next request", in: "POST / HTTP/1.1\r\ncontent-LENGTH: 5\r\n\r\nhelloGET / HTTP/1.1\r\n\r\n", heads: []int{38, 61}},
		{name: "Content-Length with white space", in: "POST / HTTP/1.1\r\nContent-Length:  3 \r\n\r\nabc", heads: []int{40}},
		{name: "Content-Length twice, same value", in: "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", heads: []int{57}},
		{name: "Content-Length twice, two values", in: "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", err: "two different values"},
		{name: "Content-Length not a number", in: "POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", err: "Content-Length"},
		{name: "Content-Length a list", in: "POST / HTTP/1.1\r\nContent-Length: 1, 1\r\n\r\n", err: "Content-Length"},
		{name: "Content-Length empty", in: "POST / HTTP/1.1\r\nContent-Length: \r\n\r\n", err: "no digits"},
		{name: "Content-Length too large", in: "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", err: "too large"},
		{name: "a name that starts like Content-Length", in: "GET / HTTP/1.1\r\nContent-Lengthy: 5\r\n\r\n", heads: []int{38}},
		{name: "a chunked body with an extension and trailers", in: "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-T: 1\r\n\r\nGET / HTTP/1.1\r\n\r\n", heads: []int{47, 107}},
		{name: "chunked after another coding", in: "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n0\r\n\r\n", heads: []int{53}},
		{name: "chunked not last", in: "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", err: "not chunked"},
		{name: "Transfer-Encoding and Content-Length", in: "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", err: "both"},
		{name: "a bad chunk size", in: "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", err: "chunk size"},
		{name: "no CRLF after chunk data", in: "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nxy", err: "no CRLF"},
		{name: "a chunk size too large", in: "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n", err: "too large"},
		{name: "a space before the colon", in: "GET / HTTP/1.1\r\nHost : a\r\n\r\n", err: "header name"},
		{name: "obs-fold", in: "GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n", err: "folding"},
		{name: "CR without LF", in: "GET / HTTP/1.1\r\nA: b\rc\r\n\r\n", err: "CR without LF"},
		{name: "HTTP/2 request line", in: "GET / HTTP/2.0\r\n\r\n", err: "HTTP/1.x"},
		{name: "no version", in: "GET /\r\n\r\n", err: "request line"},
		{name: "two spaces", in: "GET  / HTTP/1.1\r\n\r\n", err: "space"},
		{name: "CONNECT", in: "CONNECT a:443 HTTP/1.1\r\n\r\n", err: "tunnels"},
		{name: "a control character in a value", in: "GET / HTTP/1.1\r\nA: \x01\r\n\r\n", err: "control"},
		{name: "a head cut short", in: "GET / HTTP/1.1\r\nHost: a\r\n", mid: true},
		{name: "a body cut short", in: "POST / HTTP/1.1\r\nContent-Length: 9\r\n\r\nabc", heads: []int{38}, mid: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, step := range []int{0, 1, 3} {
				f := newFramer(false)
				marks, err := frameAll(&f, []byte(tc.in), step, nil)
				checkErr(t, step, err, tc.err)
				if tc.err != "" {
					continue
				}
				var heads []int
				for _, m := range marks {
					if m.ev&0x7f != evHead {
						t.Fatalf("step %d: event %d from a request framer", step, m.ev)
					}
					if m.ev&0x80 != 0 {
						heads = append(heads, -m.at)
					} else {
						heads = append(heads, m.at)
					}
				}
				if !equalInts(heads, tc.heads) {
					t.Errorf("step %d: heads end at %v, want %v", step, heads, tc.heads)
				}
				if f.atStart() == tc.mid {
					t.Errorf("step %d: at a message's start %v at the end", step, f.atStart())
				}
			}
		})
	}
}

func TestFramerResponses(t *testing.T) {
	tests := []struct {
		name string
		in   string
		head bool // every response answers a HEAD request
		// ends are the offsets after each response, negative for a 1xx.
		ends []int
		err  string
		// untilClose says the input ends in a body that the close ends.
		untilClose bool
	}{
		{name: "Content-Length", in: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi", ends: []int{40}},
		{name: "two in a row", in: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 1\r\n\r\nx", ends: []int{38, 84}},
		{name: "a reason with spaces, or none", in: "HTTP/1.1 200 All is well\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", ends: []int{47, 82}},
		{name: "chunked", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", ends: []int{60}},
		{name: "an answer to HEAD has no body", in: "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", head: true, ends: []int{39}},
		{name: "204 and 304 have no body", in: "HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\n", ends: []int{27, 75}},
		{name: "100 Continue, then the response", in: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx", ends: []int{-25, 64}},
		{name: "no length: until the close", in: "HTTP/1.0 200 OK\r\n\r\nsome bytes", untilClose: true},
		{name: "another coding: until the close", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxx", untilClose: true},
		{name: "Transfer-Encoding wins over Content-Length", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 100\r\n\r\n0\r\n\r\n", ends: []int{73}},
		{name: "101 is a tunnel", in: "HTTP/1.1 101 Switching Protocols\r\n\r\n", err: "tunnels"},
		{name: "a status of two digits", in: "HTTP/1.1 20 OK\r\n\r\n", err: "status"},
		{name: "a status below 100", in: "HTTP/1.1 099 OK\r\n\r\n", err: "status"},
		{name: "no status", in: "HTTP/1.1\r\n\r\n", err: "status"},
		{name: "not HTTP", in: "SSH-2.0-OpenSSH\r\n\r\n", err: "version"},
		{name: "a head larger than 64 KiB", in: "HTTP/1.1 200 OK\r\nA: " + strings.Repeat("a", 70000) + "\r\n\r\n", err: "64 KiB"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, step := range []int{0, 1, 7} {
				f := newFramer(true)
				marks, err := frameAll(&f, []byte(tc.in), step, func() bool { return tc.head })
				checkErr(t, step, err, tc.err)
				if tc.err != "" {
					continue
				}
				var ends []int
				for _, m := range marks {
					if m.ev&0x80 != 0 {
						ends = append(ends, -m.at)
					} else {
						ends = append(ends, m.at)
					}
				}
				if !equalInts(ends, tc.ends) {
					t.Errorf("step %d: responses end at %v, want %v", step, ends, tc.ends)
				}
				ended, clean := f.eof()
				if ended != tc.untilClose || !clean {
					t.Errorf("step %d: at the close, ended %v clean %v; want ended %v, clean", step, ended, clean, tc.untilClose)
				}
			}
		})
	}
}

func TestFramerEOFInsideAMessageIsNotClean(t *testing.T) {
	f := newFramer(true)
	if _, err := frameAll(&f, []byte("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"), 0, nil); err != nil {
		t.Fatal(err)
	}
	if ended, clean := f.eof(); ended || clean {
		t.Errorf("a body cut short: ended %v, clean %v; want neither", ended, clean)
	}
}

func checkErr(t *testing.T, step int, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatalf("step %d: %v", step, err)
	case want != "" && err == nil:
		t.Fatalf("step %d: no error, want one with %q", step, want)
	case want != "" && !strings.Contains(err.Error(), want):
		t.Fatalf("step %d: error %q, want one with %q", step, err, want)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestExchangeWaitsForEveryAnswer(t *testing.T) {
	x := newExchange()
	if err := x.request([]byte("GET /a HTTP/1.1\r\n\r\nHEAD /b HTTP/1.1\r\n\r\nGET /c HTTP/1.1\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	if x.waiting.len() != 3 || x.answered() {
		t.Fatalf("%d waiting, answered %v; want 3, no", x.waiting.len(), x.answered())
	}
	// The answer to HEAD announces a body it does not have: the third
	// response follows its head at once.
	resp := "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx" +
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n" +
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
	if err := x.response([]byte(resp)); err != nil {
		t.Fatal(err)
	}
	if !x.answered() {
		t.Errorf("%d still waiting after three answers", x.waiting.len())
	}
	if err := x.response([]byte("HTTP/1.1 200 OK\r\n")); !errors.Is(err, errUnsolicited) {
		t.Errorf("a response with no request: %v, want errUnsolicited", err)
	}
}

func TestExchangeServerCloseEndsAnUntilCloseBody(t *testing.T) {
	x := newExchange()
	if err := x.request([]byte("GET / HTTP/1.0\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	if err := x.response([]byte("HTTP/1.0 200 OK\r\n\r\nbody")); err != nil {
		t.Fatal(err)
	}
	if x.answered() {
		t.Fatal("answered before the close")
	}
	x.serverClosed()
	x.serverClosed()
	if !x.answered() {
		t.Error("not answered after the close")
	}
}

func TestFifoGrowsInOrder(t *testing.T) {
	var q fifo
	var want []bool
	for i := range 300 {
		b := i%3 == 0
		if err := q.push(b); err != nil {
			t.Fatal(err)
		}
		want = append(want, b)
		if i%5 == 4 { // interleave pops so that the ring wraps before it grows
			got, _ := q.front()
			if got != want[0] {
				t.Fatalf("push %d: front %v, want %v", i, got, want[0])
			}
			q.pop()
			want = want[1:]
		}
	}
	for len(want) > 0 {
		got, ok := q.front()
		if !ok || got != want[0] {
			t.Fatalf("front %v %v, want %v", got, ok, want[0])
		}
		q.pop()
		want = want[1:]
	}
	if _, ok := q.front(); ok || q.len() != 0 {
		t.Error("not empty at the end")
	}
}

// FuzzFramer: the framer never panics, and finds the same message
// boundaries and the same verdict whether it is fed everything at once or
// in pieces of any size, as the loops feed it what each read returns.
func FuzzFramer(f *testing.F) {
	seeds := []string{
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\n\r\n",
		"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n0\r\nX: 1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		"HTTP/1.0 200 OK\r\n\r\nuntil close",
	}
	for _, s := range seeds {
		f.Add([]byte(s), uint8(1), false)
		f.Add([]byte(s), uint8(5), true)
	}
	f.Fuzz(func(t *testing.T, in []byte, step uint8, head bool) {
		resp := len(in) > 0 && in[0] == 'H' && len(in) > 5 && in[4] == '/'
		noBody := func() bool { return head }
		whole := newFramer(resp)
		m1, err1 := frameAll(&whole, in, 0, noBody)
		parts := newFramer(resp)
		m2, err2 := frameAll(&parts, in, int(step)+1, noBody)
		if (err1 == nil) != (err2 == nil) || err1 != nil && err1.Error() != err2.Error() {
			t.Fatalf("whole: %v; in pieces of %d: %v", err1, int(step)+1, err2)
		}
		if len(m1) != len(m2) {
			t.Fatalf("whole: %v; in pieces of %d: %v", m1, int(step)+1, m2)
		}
		for i := range m1 {
			if m1[i] != m2[i] {
				t.Fatalf("whole: %v; in pieces of %d: %v", m1, int(step)+1, m2)
			}
		}
		prev := 0
		for _, m := range m1 {
			if m.at <= prev || m.at > len(in) {
				t.Fatalf("marks out of order or range: %v (len %d)", m1, len(in))
			}
			prev = m.at
		}
		if err1 == nil && whole.st != parts.st {
			t.Fatalf("end state %d whole, %d in pieces", whole.st, parts.st)
		}
	})
}
