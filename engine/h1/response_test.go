package h1

import (
	"errors"
	"strings"
	"testing"
)

// typicalResponse is a typical origin response head.
const typicalResponse = "HTTP/1.1 200 OK\r\n" +
	"Date: Mon, 27 Jul 2025 12:28:53 GMT\r\n" +
	"Server: nginx\r\n" +
	"Content-Type: text/html; charset=utf-8\r\n" +
	"Content-Length: 1234\r\n" +
	"Last-Modified: Wed, 22 Jul 2025 19:15:56 GMT\r\n" +
	"ETag: \"34aa387-d-1568eb00\"\r\n" +
	"Cache-Control: max-age=3600\r\n" +
	"Connection: keep-alive\r\n" +
	"\r\n"

type respSummary struct {
	Minor, Status int
	Reason        string
	NoReason      bool
	Headers       int
	CL            int64
	Chunked       bool
	Close         bool
	KeepAlive     bool
	Body          BodyKind // for a non-HEAD request
}

func summarizeResponse(r *Response) respSummary {
	return respSummary{
		Minor:     r.Minor,
		Status:    r.Status,
		Reason:    string(r.Reason),
		NoReason:  r.Reason == nil,
		Headers:   len(r.Headers),
		CL:        r.ContentLength,
		Chunked:   r.Chunked,
		Close:     r.Close,
		KeepAlive: r.KeepAlive,
		Body:      r.Body(false),
	}
}

var validResponses = []struct {
	name string
	in   string
	body string
	want respSummary
}{
	{
		name: "typical",
		in:   typicalResponse,
		want: respSummary{Minor: 1, Status: 200, Reason: "OK", Headers: 8, CL: 1234, KeepAlive: true, Body: BodyLength},
	},
	{
		name: "with body",
		in:   "HTTP/1.1 404 Not Found\r\nContent-Length: 5\r\n\r\n",
		body: "nope\n",
		want: respSummary{Minor: 1, Status: 404, Reason: "Not Found", Headers: 1, CL: 5, Body: BodyLength},
	},
	{
		name: "no reason, no space",
		in:   "HTTP/1.1 200\r\n\r\n",
		want: respSummary{Minor: 1, Status: 200, NoReason: true, CL: -1, Body: BodyClose},
	},
	{
		name: "empty reason",
		in:   "HTTP/1.1 200 \r\n\r\n",
		want: respSummary{Minor: 1, Status: 200, CL: -1, Body: BodyClose},
	},
	{
		name: "reason with tab and obs-text",
		in:   "HTTP/1.1 404 Pas\ttrouv\xc3\xa9 \r\nContent-Length: 0\r\n\r\n",
		want: respSummary{Minor: 1, Status: 404, Reason: "Pas\ttrouv\xc3\xa9 ", Headers: 1, CL: 0, Body: BodyLength},
	},
	{
		name: "chunked",
		in:   "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
		body: "0\r\n\r\n",
		want: respSummary{Minor: 1, Status: 200, Reason: "OK", Headers: 1, CL: -1, Chunked: true, Body: BodyChunked},
	},
	{
		name: "gzip then chunked",
		in:   "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, CHUNKED\r\n\r\n",
		want: respSummary{Minor: 1, Status: 200, Reason: "OK", Headers: 1, CL: -1, Chunked: true, Body: BodyChunked},
	},
	{
		name: "codings across fields",
		in:   "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked,\r\n\r\n",
		want: respSummary{Minor: 1, Status: 200, Reason: "OK", Headers: 2, CL: -1, Chunked: true, Body: BodyChunked},
	},
	{
		name: "chunked then gzip",
		in:   "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
		want: respSummary{Minor: 1, Status: 200, Reason: "OK", Headers: 1, CL: -1, Body: BodyClose},
	},
	{
		name: "TE wins over CL",
		in:   "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n",
		want: respSummary{Minor: 1, Status: 200, Reason: "OK", Headers: 2, CL: -1, Chunked: true, Body: BodyChunked},
	},
	{
		name: "HTTP/1.0 keep-alive",
		in:   "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 3\r\n\r\n",
		want: respSummary{Status: 200, Reason: "OK", Headers: 2, CL: 3, KeepAlive: true, Body: BodyLength},
	},
	{
		name: "HTTP/1.0 with TE closes",
		in:   "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
		want: respSummary{Status: 200, Reason: "OK", Headers: 1, CL: -1, Chunked: true, Close: true, Body: BodyChunked},
	},
	{
		name: "Connection close",
		in:   "HTTP/1.1 500 Internal Server Error\r\nconnection: close\r\nContent-Length: 2, 2\r\n\r\n",
		want: respSummary{Minor: 1, Status: 500, Reason: "Internal Server Error", Headers: 2, CL: 2, Close: true, Body: BodyLength},
	},
	{
		name: "204 with CL",
		in:   "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n",
		want: respSummary{Minor: 1, Status: 204, Reason: "No Content", Headers: 1, CL: 10, Body: BodyNone},
	},
	{
		name: "304 with TE",
		in:   "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n",
		want: respSummary{Minor: 1, Status: 304, Reason: "Not Modified", Headers: 1, CL: -1, Chunked: true, Body: BodyNone},
	},
	{
		name: "100 Continue",
		in:   "HTTP/1.1 100 Continue\r\n\r\n",
		want: respSummary{Minor: 1, Status: 100, Reason: "Continue", CL: -1, Body: BodyNone},
	},
	{
		name: "101 Switching Protocols",
		in:   "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
		want: respSummary{Minor: 1, Status: 101, Reason: "Switching Protocols", Headers: 2, CL: -1, Body: BodyNone},
	},
	{
		name: "599",
		in:   "HTTP/1.1 599 Whatever\r\nContent-Length: 0\r\n\r\n",
		want: respSummary{Minor: 1, Status: 599, Reason: "Whatever", Headers: 1, CL: 0, Body: BodyLength},
	},
	{
		name: "MaxHeaders fields",
		in:   "HTTP/1.1 200 OK\r\n" + manyHeaders(MaxHeaders) + "\r\n",
		want: respSummary{Minor: 1, Status: 200, Reason: "OK", Headers: MaxHeaders, CL: -1, Body: BodyClose},
	},
}

func TestParseResponseValid(t *testing.T) {
	var r Response
	for _, tt := range validResponses {
		t.Run(tt.name, func(t *testing.T) {
			n, err := ParseResponse([]byte(tt.in+tt.body), &r)
			if err != nil {
				t.Fatalf("ParseResponse: %v", err)
			}
			if n != len(tt.in) {
				t.Errorf("length = %d, want %d", n, len(tt.in))
			}
			if got := summarizeResponse(&r); got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
			if r.Body(true) != BodyNone {
				t.Errorf("Body(true) = %v, want BodyNone", r.Body(true))
			}
		})
	}
}

func TestParseResponsePrefixes(t *testing.T) {
	var r Response
	for _, tt := range validResponses {
		for k := range len(tt.in) {
			if n, err := ParseResponse([]byte(tt.in[:k]), &r); err != ErrNeedMore {
				t.Errorf("%s: prefix %q: got (%d, %v), want ErrNeedMore", tt.name, tt.in[:k], n, err)
			}
		}
	}
}

func TestResponseHeader(t *testing.T) {
	var r Response
	if _, err := ParseResponse([]byte(typicalResponse), &r); err != nil {
		t.Fatal(err)
	}
	if v, ok := r.Header("etag"); !ok || string(v) != `"34aa387-d-1568eb00"` {
		t.Errorf(`Header("etag") = %q, %v`, v, ok)
	}
	if v, ok := r.Header("set-cookie"); ok || v != nil {
		t.Errorf(`Header("set-cookie") = %q, %v; want nil, false`, v, ok)
	}
	// Reuse with fewer fields leaves none behind.
	if _, err := ParseResponse([]byte("HTTP/1.1 204 No Content\r\n\r\n"), &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Headers) != 0 || r.ContentLength != -1 || r.KeepAlive {
		t.Errorf("state left from the previous parse: %+v", summarizeResponse(&r))
	}
	for i, h := range r.hdrs {
		if h.Name != nil {
			t.Errorf("stale header %d left in the array: %q", i, h.Name)
		}
	}
}

var invalidResponses = []struct {
	name string
	in   string
	msg  string
	at   string
}{
	{"status 600", "HTTP/1.1 600 X\r\n\r\n", msgStatusLine, "600"},
	{"status 099", "HTTP/1.1 099 X\r\n\r\n", msgStatusLine, "099"},
	{"two-digit status", "HTTP/1.1 20 OK\r\n\r\n", msgStatusLine, " OK"},
	{"four-digit status", "HTTP/1.1 2000 OK\r\n\r\n", msgStatusLine, "0 OK"},
	{"letter in status", "HTTP/1.1 2x0 OK\r\n\r\n", msgStatusLine, "x0"},
	{"double space", "HTTP/1.1  200 OK\r\n\r\n", msgStatusLine, " 200"},
	{"tab separator", "HTTP/1.1\t200 OK\r\n\r\n", msgStatusLine, "\t200"},
	{"tab after status", "HTTP/1.1 200\tOK\r\n\r\n", msgStatusLine, "\tOK"},
	{"control byte in reason", "HTTP/1.1 200 O\x01K\r\n\r\n", msgStatusLine, "\x01"},
	{"NUL in reason", "HTTP/1.1 200 O\x00K\r\n\r\n", msgStatusLine, "\x00"},
	{"bare LF after status line", "HTTP/1.1 200 OK\nX: y\r\n\r\n", msgBareLFStart, "\nX"},
	{"CR without LF after status line", "HTTP/1.1 200 OK\rX: y\r\n\r\n", msgBareCR, "\rX"},
	{"HTTP/1.2", "HTTP/1.2 200 OK\r\n\r\n", msgVersion, "2 200"},
	{"HTTP/2", "HTTP/2 200\r\n\r\n", msgVersion, "2 200"},
	{"HTTP/1.1.1", "HTTP/1.1.1 200 OK\r\n\r\n", msgStatusLine, ".1 200"},
	{"ICY", "ICY 200 OK\r\n\r\n", msgStatusLine, "ICY"},
	{"lower-case protocol", "http/1.1 200 OK\r\n\r\n", msgStatusLine, "http"},
	{"leading empty line", "\r\nHTTP/1.1 200 OK\r\n\r\n", msgStatusLine, "\r\n"},
	{"conflicting CL", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", msgCLConflict, "6\r\n"},
	{"conflicting CL list", "HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n", msgCLConflict, "6\r\n"},
	{"invalid CL", "HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\n", msgCLInvalid, "+5"},
	{"invalid CL beside TE", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5 5\r\n\r\n", msgCLInvalid, "5\r\n"},
	{"CL beside a TE that does not end in chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 10\r\n\r\n", msgTECLResponse, "10"},
	{"chunked twice", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", msgTEResponse, "chunked\r\n\r\n"},
	{"chunked with a parameter", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked;foo=bar\r\n\r\n", msgTEResponse, ";foo"},
	{"quoted comma in a coding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: x\"a,b\", chunked\r\n\r\n", msgTEResponse, "\"a"},
	{"CL beside an unknown coding", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nTransfer-Encoding: foo, chunked\r\n\r\n", msgTECLResponse, "10"},
	{"obs-fold", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", msgObsFold, " b"},
	{"bare LF in field", "HTTP/1.1 200 OK\r\nX: a\n\r\n", msgBareLF, "\n\r\n"},
	{"NUL in value", "HTTP/1.1 200 OK\r\nX: \x00\r\n\r\n", msgNUL, "\x00"},
	{"space before colon", "HTTP/1.1 200 OK\r\nX : a\r\n\r\n", msgName, " :"},
	{"too many headers", "HTTP/1.1 200 OK\r\n" + manyHeaders(MaxHeaders+1) + "\r\n", msgTooMany, "X-101:"},
}

func TestParseResponseInvalid(t *testing.T) {
	var r Response
	for _, tt := range invalidResponses {
		t.Run(tt.name, func(t *testing.T) {
			n, err := ParseResponse([]byte(tt.in), &r)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got (%d, %v), want *Error %q", n, err, tt.msg)
			}
			if e.Msg != tt.msg {
				t.Errorf("Msg = %q, want %q", e.Msg, tt.msg)
			}
			if tt.at != "" {
				if want := strings.Index(tt.in, tt.at); e.Off != want {
					t.Errorf("Off = %d, want %d (%q)", e.Off, want, tt.at)
				}
			}
		})
	}
}

func TestResponseBody(t *testing.T) {
	tests := []struct {
		status int
		cl     int64
		chunk  bool
		head   bool
		want   BodyKind
	}{
		{200, -1, false, false, BodyClose},
		{200, 0, false, false, BodyLength},
		{200, 10, false, false, BodyLength},
		{200, -1, true, false, BodyChunked},
		{200, 10, false, true, BodyNone},
		{200, -1, true, true, BodyNone},
		{100, -1, false, false, BodyNone},
		{103, 10, false, false, BodyNone},
		{199, -1, true, false, BodyNone},
		{204, -1, false, false, BodyNone},
		{205, 0, false, false, BodyLength},
		{304, 10, false, false, BodyNone},
		{304, -1, true, false, BodyNone},
		{404, -1, false, false, BodyClose},
	}
	for _, tt := range tests {
		r := Response{Status: tt.status, ContentLength: tt.cl, Chunked: tt.chunk}
		if got := r.Body(tt.head); got != tt.want {
			t.Errorf("status %d cl %d chunked %v head %v: Body = %v, want %v", tt.status, tt.cl, tt.chunk, tt.head, got, tt.want)
		}
	}
}

func TestParseResponseAllocs(t *testing.T) {
	in := []byte(typicalResponse)
	var r Response
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := ParseResponse(in, &r); err != nil {
			t.Fatal(err)
		}
		if _, ok := r.Header("content-type"); !ok {
			t.Fatal("no content-type")
		}
		if _, err := ParseResponse(in[:50], &r); err != ErrNeedMore {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per parse, want 0", allocs)
	}
}

// TestFraming: the framing fields fjord forwards. A head whose fields are
// already in canonical form is forwarded untouched (Reframe false); any
// other is forwarded with AppendFraming's fields in place of its own.
func TestFraming(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		reframe  bool
		framing  string
	}{
		{"request: plain Content-Length", "POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\n", false, "content-length: 5\r\n"},
		{"request: Content-Length in lower case", "POST / HTTP/1.1\r\ncontent-length: 0\r\n\r\n", false, "content-length: 0\r\n"},
		{"request: repeated Content-Length", "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", true, "content-length: 5\r\n"},
		{"request: Content-Length list", "POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n", true, "content-length: 5\r\n"},
		{"request: leading zeros", "POST / HTTP/1.1\r\nContent-Length: 005\r\n\r\n", true, "content-length: 5\r\n"},
		{"request: no space after colon", "POST / HTTP/1.1\r\nContent-Length:5\r\n\r\n", true, "content-length: 5\r\n"},
		{"request: trailing space", "POST / HTTP/1.1\r\nContent-Length: 5 \r\n\r\n", true, "content-length: 5\r\n"},
		{"request: plain chunked", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", false, "transfer-encoding: chunked\r\n"},
		{"request: CHUNKED", "POST / HTTP/1.1\r\nTransfer-Encoding: CHUNKED\r\n\r\n", true, "transfer-encoding: chunked\r\n"},
		{"request: tab before chunked", "POST / HTTP/1.1\r\nTransfer-Encoding:\tchunked\r\n\r\n", true, "transfer-encoding: chunked\r\n"},
		{"request: spaces before chunked", "POST / HTTP/1.1\r\nTransfer-Encoding:   chunked\r\n\r\n", true, "transfer-encoding: chunked\r\n"},
		{"request: no body", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", false, ""},

		{"response: plain Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", false, "content-length: 5\r\n"},
		{"response: CL beside chunked is dropped", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", true, "transfer-encoding: chunked\r\n"},
		{"response: CL beside gzip, chunked is dropped", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 5\r\n\r\n", true, "transfer-encoding: gzip, chunked\r\n"},
		{"response: codings in canonical form", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", false, "transfer-encoding: gzip, chunked\r\n"},
		{"response: codings in upper case", "HTTP/1.1 200 OK\r\nTransfer-Encoding: GZIP,CHUNKED\r\n\r\n", true, "transfer-encoding: gzip, chunked\r\n"},
		{"response: codings over two fields", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", true, "transfer-encoding: gzip, chunked\r\n"},
		{"response: empty list element", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked,\r\n\r\n", true, "transfer-encoding: chunked\r\n"},
		{"response: 204 with Content-Length", "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", true, ""},
		{"response: 304 with Content-Length", "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n", true, ""},
		{"response: 101 with Transfer-Encoding", "HTTP/1.1 101 Switching Protocols\r\nTransfer-Encoding: chunked\r\n\r\n", true, ""},
		{"response: 204 without framing", "HTTP/1.1 204 No Content\r\n\r\n", false, ""},
		{"response: to the close", "HTTP/1.1 200 OK\r\n\r\n", false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var reframe bool
			var framing []byte
			if strings.HasPrefix(tc.in, "HTTP/") {
				var r Response
				if _, err := ParseResponse([]byte(tc.in), &r); err != nil {
					t.Fatal(err)
				}
				reframe, framing = r.Reframe, r.AppendFraming(nil)
			} else {
				var r Request
				if _, err := ParseRequest([]byte(tc.in), &r); err != nil {
					t.Fatal(err)
				}
				reframe, framing = r.Reframe, r.AppendFraming(nil)
			}
			if reframe != tc.reframe || string(framing) != tc.framing {
				t.Errorf("Reframe %v, framing %q; want %v, %q", reframe, framing, tc.reframe, tc.framing)
			}
		})
	}
}
