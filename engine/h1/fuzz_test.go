package h1

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"testing"
)

// isSub reports whether s is a sub-slice of b[:len(b)].
func isSub(b, s []byte) bool {
	off := cap(b) - cap(s)
	if off < 0 || off+len(s) > len(b) {
		return false
	}
	return len(s) == 0 || &b[off] == &s[0]
}

// checkError checks that err is ErrNeedMore or an *Error pointing into b.
func checkError(t *testing.T, b []byte, err error) {
	t.Helper()
	if err == ErrNeedMore {
		return
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is neither ErrNeedMore nor *Error", err, err)
	}
	if e.Off < 0 || e.Off >= len(b) {
		t.Fatalf("Error.Off %d outside the %d-byte input", e.Off, len(b))
	}
}

// checkHeaders checks the fields of a parsed head against its input.
func checkHeaders(t *testing.T, b []byte, hs []Header) {
	t.Helper()
	if len(hs) > MaxHeaders {
		t.Fatalf("%d headers", len(hs))
	}
	for _, h := range hs {
		if !isSub(b, h.Name) || !isSub(b, h.Value) {
			t.Fatalf("header %q: %q does not alias the input", h.Name, h.Value)
		}
		if len(h.Name) == 0 {
			t.Fatal("empty header name")
		}
		if bytes.ContainsAny(h.Value, "\r\n\x00") {
			t.Fatalf("header %q value %q holds CR, LF or NUL", h.Name, h.Value)
		}
		if len(h.Value) > 0 && (isOWS(h.Value[0]) || isOWS(h.Value[len(h.Value)-1])) {
			t.Fatalf("header %q value %q not trimmed", h.Name, h.Value)
		}
	}
}

var requestSeeds = []string{
	browserGET,
	"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
	"\r\n\r\nGET / HTTP/1.0\r\n\r\n",
	"POST /f HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
	"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	"POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
	"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
	"POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n",
	"POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\n",
	"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, identity\r\n\r\n",
	"POST / HTTP/1.1\r\nTransfer-Encoding: xchunked\r\n\r\n",
	"GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n",
	"GET / HTTP/1.1\nHost: a\n\n",
	"GET / HTTP/1.1\r\nX: a\x00\r\n\r\n",
	"GET / HTTP/1.1\r\nHost : a\r\n\r\n",
	"GET http://example.com/p?q HTTP/1.1\r\nHost: example.com\r\n\r\n",
	"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
	"CONNECT [::1]:443 HTTP/1.1\r\n\r\n",
	"GET http://admin.internal/secret HTTP/1.1\r\nHost: public.example\r\n\r\n",
	"GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET http://u@a:80/ HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET http:\\\\a\\ HTTP/1.1\r\nHost: [::1]:8\r\n\r\n",
	"GET /ws HTTP/1.1\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\nExpect: 100-continue\r\n\r\n",
	"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
}

func FuzzParseRequest(f *testing.F) {
	for _, s := range requestSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var r Request
		n, err := ParseRequest(b, &r)
		if err != nil {
			checkError(t, b, err)
			// What is wrong cannot be put right by more bytes, and what
			// is incomplete cannot become complete by losing some.
			if _, err2 := ParseRequest(append(b[:len(b):len(b)], "\r\n\r\n"...), &r); err != ErrNeedMore && err2 == nil {
				t.Fatalf("invalid head %q became valid when extended", b)
			}
			return
		}
		if n <= 0 || n > len(b) {
			t.Fatalf("length %d for %d bytes", n, len(b))
		}
		if n < 4 || string(b[n-4:n]) != "\r\n\r\n" {
			t.Fatalf("head %q does not end in CRLF CRLF", b[:n])
		}
		if !isSub(b, r.Method) || !isSub(b, r.URI) || r.Host != nil && !isSub(b, r.Host) {
			t.Fatal("request line does not alias the input")
		}
		if !isSub(b, r.Path) && !bytes.Equal(r.Path, slash) {
			t.Fatalf("path %q neither aliases the input nor is /", r.Path)
		}
		if len(r.Method) == 0 || len(r.URI) == 0 || len(r.Path) == 0 {
			t.Fatal("empty method, target or path")
		}
		checkHeaders(t, b, r.Headers)
		if r.Minor != 0 && r.Minor != 1 {
			t.Fatalf("minor version %d", r.Minor)
		}
		if r.ContentLength < -1 {
			t.Fatalf("ContentLength %d", r.ContentLength)
		}
		if r.Chunked && r.ContentLength >= 0 {
			t.Fatal("both chunked and Content-Length")
		}
		if r.Chunked && r.Minor == 0 {
			t.Fatal("chunked HTTP/1.0 request")
		}
		want := summarizeRequest(&r)
		var r2 Request
		n2, err := ParseRequest(b[:n], &r2)
		if err != nil || n2 != n {
			t.Fatalf("reparse of the head: (%d, %v), want (%d, nil)", n2, err, n)
		}
		if got := summarizeRequest(&r2); got != want {
			t.Fatalf("reparse of the head: %+v, want %+v", got, want)
		}
		// Forwarded with fjord's framing, the head frames the same
		// message, and needs no more rewriting.
		if _, err := ParseRequest(reframed(want.Method+" "+want.URI+" HTTP/1."+strconv.Itoa(want.Minor), r.Headers, r.Reframe, r.AppendFraming), &r2); err != nil {
			t.Fatalf("reframed head: %v", err)
		}
		if r2.Reframe || r2.ContentLength != r.ContentLength || r2.Chunked != r.Chunked {
			t.Fatalf("reframed head: Reframe %v, CL %d, chunked %v; want false, %d, %v", r2.Reframe, r2.ContentLength, r2.Chunked, r.ContentLength, r.Chunked)
		}
		for _, k := range []int{0, n / 2, n - 1} {
			if _, err := ParseRequest(b[:k], &r2); err != ErrNeedMore {
				t.Fatalf("prefix of %d bytes of a %d-byte head: %v, want ErrNeedMore", k, n, err)
			}
		}
	})
}

func FuzzParseResponse(f *testing.F) {
	for _, s := range []string{
		typicalResponse,
		"HTTP/1.1 200\r\n\r\n",
		"HTTP/1.1 200 \r\n\r\n",
		"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\nabc",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\nContent-Length: 3\r\n\r\n",
		"HTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n",
		"HTTP/1.1 200 O\x01K\r\n\r\n",
		"HTTP/2 200\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var r Response
		n, err := ParseResponse(b, &r)
		if err != nil {
			checkError(t, b, err)
			if _, err2 := ParseResponse(append(b[:len(b):len(b)], "\r\n\r\n"...), &r); err != ErrNeedMore && err2 == nil {
				t.Fatalf("invalid head %q became valid when extended", b)
			}
			return
		}
		if n <= 0 || n > len(b) {
			t.Fatalf("length %d for %d bytes", n, len(b))
		}
		if n < 4 || string(b[n-4:n]) != "\r\n\r\n" {
			t.Fatalf("head %q does not end in CRLF CRLF", b[:n])
		}
		if r.Reason != nil && !isSub(b, r.Reason) {
			t.Fatal("reason does not alias the input")
		}
		if bytes.ContainsAny(r.Reason, "\r\n\x00") {
			t.Fatalf("reason %q holds CR, LF or NUL", r.Reason)
		}
		checkHeaders(t, b, r.Headers)
		if r.Status < 100 || r.Status > 599 || r.Minor != 0 && r.Minor != 1 {
			t.Fatalf("status %d, minor %d", r.Status, r.Minor)
		}
		if r.ContentLength < -1 {
			t.Fatalf("ContentLength %d", r.ContentLength)
		}
		if r.Chunked && r.ContentLength >= 0 {
			t.Fatal("both chunked and Content-Length")
		}
		if k := r.Body(false); k < BodyNone || k > BodyClose {
			t.Fatalf("Body = %d", k)
		}
		want := summarizeResponse(&r)
		var r2 Response
		n2, err := ParseResponse(b[:n], &r2)
		if err != nil || n2 != n {
			t.Fatalf("reparse of the head: (%d, %v), want (%d, nil)", n2, err, n)
		}
		if got := summarizeResponse(&r2); got != want {
			t.Fatalf("reparse of the head: %+v, want %+v", got, want)
		}
		if _, err := ParseResponse(reframed(fmt.Sprintf("HTTP/1.%d %03d %s", r.Minor, r.Status, r.Reason), r.Headers, r.Reframe, r.AppendFraming), &r2); err != nil {
			t.Fatalf("reframed head: %v", err)
		}
		if r2.Reframe || r2.Body(false) != r.Body(false) || r2.ContentLength != r.ContentLength && r.Body(false) != BodyNone {
			t.Fatalf("reframed head: Reframe %v, body %v, CL %d; want false, %v, %d", r2.Reframe, r2.Body(false), r2.ContentLength, r.Body(false), r.ContentLength)
		}
		for _, k := range []int{0, n / 2, n - 1} {
			if _, err := ParseResponse(b[:k], &r2); err != ErrNeedMore {
				t.Fatalf("prefix of %d bytes of a %d-byte head: %v, want ErrNeedMore", k, n, err)
			}
		}
	})
}

func FuzzChunk(f *testing.F) {
	for _, s := range []string{
		"0\r\n\r\n",
		"1a\r\n",
		"1A;ext=1\r\n",
		"5 ; a=\"b\"\r\nhello\r\n",
		"ffffffffffffffff\r\n",
		"\r\n",
		"1\n",
		"  5\r\n",
		"X: y\r\n\r\n",
		"X: y\r\n z\r\n\r\n",
		"X: y\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		size, n, err := ParseChunkSize(b)
		if err != nil {
			checkError(t, b, err)
		} else {
			if size < 0 || n < 3 || n > len(b) || n > maxChunkLine+2 {
				t.Fatalf("size %d, length %d for %d bytes", size, n, len(b))
			}
			if string(b[n-2:n]) != "\r\n" || bytes.IndexByte(b[:n-2], '\n') >= 0 {
				t.Fatalf("line %q", b[:n])
			}
			if s2, n2, err := ParseChunkSize(b[:n]); s2 != size || n2 != n || err != nil {
				t.Fatalf("reparse: (%d, %d, %v), want (%d, %d, nil)", s2, n2, err, size, n)
			}
			if _, _, err := ParseChunkSize(b[:n-1]); err != ErrNeedMore {
				t.Fatalf("line without its LF: %v, want ErrNeedMore", err)
			}
		}

		n, err = ParseTrailers(b)
		if err != nil {
			checkError(t, b, err)
			return
		}
		if n < 2 || n > len(b) || string(b[n-2:n]) != "\r\n" {
			t.Fatalf("trailer section length %d in %q", n, b)
		}
		if n2, err := ParseTrailers(b[:n]); n2 != n || err != nil {
			t.Fatalf("reparse: (%d, %v), want (%d, nil)", n2, err, n)
		}
		if _, err := ParseTrailers(b[:n-1]); err != ErrNeedMore {
			t.Fatalf("section without its last LF: %v, want ErrNeedMore", err)
		}
	})
}

// reframed rebuilds a head the way fjord forwards it: the start line, the
// fields other than the framing ones as "Name: value", then, when the head
// needs reframing, appendFraming's fields (else its own framing fields).
func reframed(start string, hdrs []Header, reframe bool, appendFraming func([]byte) []byte) []byte {
	out := []byte(start + "\r\n")
	for _, h := range hdrs {
		if reframe && IsFraming(h.Name) {
			continue
		}
		out = append(out, h.Name...)
		out = append(out, ": "...)
		out = append(out, h.Value...)
		out = append(out, "\r\n"...)
	}
	if reframe {
		out = appendFraming(out)
	}
	return append(out, "\r\n"...)
}
