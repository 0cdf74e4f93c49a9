package h1

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

// browserGET is a typical browser request head: 8 fields, ~430 bytes.
const browserGET = "GET /assets/app.js?v=3 HTTP/1.1\r\n" +
	"Host: www.example.com\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n" +
	"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n" +
	"Accept-Language: en-US,en;q=0.5\r\n" +
	"Accept-Encoding: gzip, deflate, br, zstd\r\n" +
	"Connection: keep-alive\r\n" +
	"Cookie: session=5f2b8c9e1a7d4e3f; theme=dark; _ga=GA1.2.1234567890.1700000000\r\n" +
	"Upgrade-Insecure-Requests: 1\r\n" +
	"\r\n"

// manyHeaders returns n fields "X-i: v\r\n".
func manyHeaders(n int) string {
	var sb strings.Builder
	for i := range n {
		sb.WriteString("X-" + strconv.Itoa(i) + ": v\r\n")
	}
	return sb.String()
}

// reqSummary is what a test expects of a parsed Request, in comparable form.
type reqSummary struct {
	Method, URI, Path string
	Minor             int
	Headers           int
	CL                int64
	Chunked           bool
	Close, KeepAlive  bool
	Upgrade           bool
	Expect100         bool
	Host              string
	NoHost            bool
}

func summarizeRequest(r *Request) reqSummary {
	return reqSummary{
		Method:    string(r.Method),
		URI:       string(r.URI),
		Path:      string(r.Path),
		Minor:     r.Minor,
		Headers:   len(r.Headers),
		CL:        r.ContentLength,
		Chunked:   r.Chunked,
		Close:     r.Close,
		KeepAlive: r.KeepAlive,
		Upgrade:   r.Upgrade,
		Expect100: r.Expect100,
		Host:      string(r.Host),
		NoHost:    r.Host == nil,
	}
}

var validRequests = []struct {
	name string
	in   string // the head, possibly followed by body bytes
	body string // bytes after the head
	want reqSummary
}{
	{
		name: "simple GET",
		in:   "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
		want: reqSummary{Method: "GET", URI: "/", Path: "/", Minor: 1, Headers: 1, CL: -1, Host: "example.com"},
	},
	{
		name: "HTTP/1.0 without fields",
		in:   "GET /index.html HTTP/1.0\r\n\r\n",
		want: reqSummary{Method: "GET", URI: "/index.html", Path: "/index.html", CL: -1, NoHost: true},
	},
	{
		name: "leading empty lines",
		in:   "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
		want: reqSummary{Method: "GET", URI: "/", Path: "/", Minor: 1, Headers: 1, CL: -1, Host: "a"},
	},
	{
		name: "leading empty lines ended by a bare LF, as HAProxy skips them",
		in:   "\n\r\n\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
		want: reqSummary{Method: "GET", URI: "/", Path: "/", Minor: 1, Headers: 1, CL: -1, Host: "a"},
	},
	{
		name: "browser GET",
		in:   browserGET,
		want: reqSummary{Method: "GET", URI: "/assets/app.js?v=3", Path: "/assets/app.js", Minor: 1, Headers: 8, CL: -1, KeepAlive: true, Host: "www.example.com"},
	},
	{
		name: "query cut from path",
		in:   "GET /a/b?x=1&y=/z HTTP/1.1\r\nHost: a\r\n\r\n",
		want: reqSummary{Method: "GET", URI: "/a/b?x=1&y=/z", Path: "/a/b", Minor: 1, Headers: 1, CL: -1, Host: "a"},
	},
	{
		name: "absolute-form",
		in:   "GET http://example.com/p/q?x HTTP/1.1\r\nHost: example.com\r\n\r\n",
		want: reqSummary{Method: "GET", URI: "http://example.com/p/q?x", Path: "/p/q", Minor: 1, Headers: 1, CL: -1, Host: "example.com"},
	},
	{
		name: "absolute-form without path",
		in:   "GET http://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n",
		want: reqSummary{Method: "GET", URI: "http://example.com", Path: "/", Minor: 1, Headers: 1, CL: -1, Host: "example.com"},
	},
	{
		name: "absolute-form with query and no path",
		in:   "GET HTTPS://example.com:8443?a=/b HTTP/1.1\r\nHost: Example.COM:8443\r\n\r\n",
		want: reqSummary{Method: "GET", URI: "HTTPS://example.com:8443?a=/b", Path: "/", Minor: 1, Headers: 1, CL: -1, Host: "Example.COM:8443"},
	},
	{
		name: "absolute-form with the scheme's default port beside a Host without",
		in:   "GET http://a.example:80/x HTTP/1.1\r\nHost: a.example\r\n\r\n",
		want: reqSummary{Method: "GET", URI: "http://a.example:80/x", Path: "/x", Minor: 1, Headers: 1, CL: -1, Host: "a.example"},
	},
	{
		name: "Host with percent-encoding and sub-delims",
		in:   "GET / HTTP/1.1\r\nHost: a%2Db!$&'()*+,;=-._~:8080\r\n\r\n",
		want: reqSummary{Method: "GET", URI: "/", Path: "/", Minor: 1, Headers: 1, CL: -1, Host: "a%2Db!$&'()*+,;=-._~:8080"},
	},
	{
		name: "empty Host",
		in:   "GET / HTTP/1.1\r\nHost:\r\n\r\n",
		want: reqSummary{Method: "GET", URI: "/", Path: "/", Minor: 1, Headers: 1, CL: -1, Host: ""},
	},
	{
		name: "CONNECT with a Host without the default port",
		in:   "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com\r\n\r\n",
		want: reqSummary{Method: "CONNECT", URI: "example.com:443", Path: "example.com:443", Minor: 1, Headers: 1, CL: -1, Host: "example.com"},
	},
	{
		name: "authority-form with an IPv6 literal",
		in:   "CONNECT [2001:db8::1]:443 HTTP/1.1\r\nHost: [2001:db8::1]:443\r\n\r\n",
		want: reqSummary{Method: "CONNECT", URI: "[2001:db8::1]:443", Path: "[2001:db8::1]:443", Minor: 1, Headers: 1, CL: -1, Host: "[2001:db8::1]:443"},
	},
	{
		name: "authority-form",
		in:   "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
		want: reqSummary{Method: "CONNECT", URI: "example.com:443", Path: "example.com:443", Minor: 1, Headers: 1, CL: -1, Host: "example.com:443"},
	},
	{
		name: "asterisk-form",
		in:   "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
		want: reqSummary{Method: "OPTIONS", URI: "*", Path: "*", Minor: 1, Headers: 1, CL: -1, Host: "a"},
	},
	{
		name: "extension method",
		in:   "M-SEARCH * HTTP/1.1\r\nHost: 239.255.255.250:1900\r\n\r\n",
		want: reqSummary{Method: "M-SEARCH", URI: "*", Path: "*", Minor: 1, Headers: 1, CL: -1, Host: "239.255.255.250:1900"},
	},
	{
		name: "Content-Length with body",
		in:   "POST /f HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n",
		body: "hello",
		want: reqSummary{Method: "POST", URI: "/f", Path: "/f", Minor: 1, Headers: 2, CL: 5, Host: "a"},
	},
	{
		name: "Content-Length zero",
		in:   "POST / HTTP/1.1\r\ncontent-length:0\r\n\r\n",
		want: reqSummary{Method: "POST", URI: "/", Path: "/", Minor: 1, Headers: 1, CL: 0, NoHost: true},
	},
	{
		name: "Content-Length leading zeros",
		in:   "POST / HTTP/1.1\r\nContent-Length: 007\r\n\r\n",
		want: reqSummary{Method: "POST", URI: "/", Path: "/", Minor: 1, Headers: 1, CL: 7, NoHost: true},
	},
	{
		name: "Content-Length 18 digits",
		in:   "POST / HTTP/1.1\r\nContent-Length: 999999999999999999\r\n\r\n",
		want: reqSummary{Method: "POST", URI: "/", Path: "/", Minor: 1, Headers: 1, CL: 999999999999999999, NoHost: true},
	},
	{
		name: "Content-Length equal list",
		in:   "POST / HTTP/1.1\r\nContent-Length: 5 , 5,5\r\n\r\n",
		want: reqSummary{Method: "POST", URI: "/", Path: "/", Minor: 1, Headers: 1, CL: 5, NoHost: true},
	},
	{
		name: "Content-Length repeated equal",
		in:   "POST / HTTP/1.1\r\nContent-Length: 5\r\nCONTENT-LENGTH: 5\r\n\r\n",
		want: reqSummary{Method: "POST", URI: "/", Path: "/", Minor: 1, Headers: 2, CL: 5, NoHost: true},
	},
	{
		name: "chunked",
		in:   "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
		body: "0\r\n\r\n",
		want: reqSummary{Method: "POST", URI: "/", Path: "/", Minor: 1, Headers: 2, CL: -1, Chunked: true, Host: "a"},
	},
	{
		name: "chunked mixed case with OWS",
		in:   "POST / HTTP/1.1\r\ntransfer-encoding: \t ChUnKeD \t\r\n\r\n",
		want: reqSummary{Method: "POST", URI: "/", Path: "/", Minor: 1, Headers: 1, CL: -1, Chunked: true, NoHost: true},
	},
	{
		name: "Connection tokens and Upgrade",
		in:   "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n",
		want: reqSummary{Method: "GET", URI: "/ws", Path: "/ws", Minor: 1, Headers: 3, CL: -1, KeepAlive: true, Upgrade: true, Host: "a"},
	},
	{
		name: "Connection upgrade without Upgrade field",
		in:   "GET / HTTP/1.1\r\nConnection: upgrade\r\n\r\n",
		want: reqSummary{Method: "GET", URI: "/", Path: "/", Minor: 1, Headers: 1, CL: -1, NoHost: true},
	},
	{
		name: "Upgrade field without Connection token",
		in:   "GET / HTTP/1.1\r\nUpgrade: h2c\r\n\r\n",
		want: reqSummary{Method: "GET", URI: "/", Path: "/", Minor: 1, Headers: 1, CL: -1, NoHost: true},
	},
	{
		name: "Connection close across fields",
		in:   "GET / HTTP/1.0\r\nConnection: foo,,\r\nconnection: CLOSE , bar\r\n\r\n",
		want: reqSummary{Method: "GET", URI: "/", Path: "/", Headers: 2, CL: -1, Close: true, NoHost: true},
	},
	{
		name: "Connection token is not a substring",
		in:   "GET / HTTP/1.1\r\nConnection: closed, keep-aliv\r\n\r\n",
		want: reqSummary{Method: "GET", URI: "/", Path: "/", Minor: 1, Headers: 1, CL: -1, NoHost: true},
	},
	{
		name: "Expect 100-continue",
		in:   "PUT /x HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 10\r\n\r\n",
		want: reqSummary{Method: "PUT", URI: "/x", Path: "/x", Minor: 1, Headers: 2, CL: 10, Expect100: true, NoHost: true},
	},
	{
		name: "empty values and OWS trimming",
		in:   "GET / HTTP/1.1\r\nHost:\r\nX-A:   \r\nX-B:\t v \t\r\nX-C: a \t b\r\n\r\n",
		want: reqSummary{Method: "GET", URI: "/", Path: "/", Minor: 1, Headers: 4, CL: -1, Host: ""},
	},
	{
		name: "obs-text in value",
		in:   "GET / HTTP/1.1\r\nX-Name: caf\xc3\xa9 \xff\r\n\r\n",
		want: reqSummary{Method: "GET", URI: "/", Path: "/", Minor: 1, Headers: 1, CL: -1, NoHost: true},
	},
	{
		name: "MaxHeaders fields",
		in:   "GET / HTTP/1.1\r\n" + manyHeaders(MaxHeaders) + "\r\n",
		want: reqSummary{Method: "GET", URI: "/", Path: "/", Minor: 1, Headers: MaxHeaders, CL: -1, NoHost: true},
	},
}

func TestParseRequestValid(t *testing.T) {
	var r Request
	for _, tt := range validRequests {
		t.Run(tt.name, func(t *testing.T) {
			in := []byte(tt.in + tt.body)
			n, err := ParseRequest(in, &r)
			if err != nil {
				t.Fatalf("ParseRequest: %v", err)
			}
			if n != len(tt.in) {
				t.Errorf("length = %d, want %d", n, len(tt.in))
			}
			if got := summarizeRequest(&r); got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestParseRequestPrefixes checks that every proper prefix of a valid head
// asks for more bytes, with no false error and no false success.
func TestParseRequestPrefixes(t *testing.T) {
	var r Request
	for _, tt := range validRequests {
		for k := range len(tt.in) {
			if n, err := ParseRequest([]byte(tt.in[:k]), &r); err != ErrNeedMore {
				t.Errorf("%s: prefix %q: got (%d, %v), want ErrNeedMore", tt.name, tt.in[:k], n, err)
			}
		}
	}
}

func TestParseRequestHeaders(t *testing.T) {
	in := []byte("GET / HTTP/1.1\r\nHost: a.example\r\nX-Dup: one\r\nx-dup:two\r\nX-Empty:\r\nX-Pad: \t padded value \t\r\n\r\n")
	var r Request
	if _, err := ParseRequest(in, &r); err != nil {
		t.Fatal(err)
	}
	want := []Header{
		{[]byte("Host"), []byte("a.example")},
		{[]byte("X-Dup"), []byte("one")},
		{[]byte("x-dup"), []byte("two")},
		{[]byte("X-Empty"), []byte("")},
		{[]byte("X-Pad"), []byte("padded value")},
	}
	if len(r.Headers) != len(want) {
		t.Fatalf("%d headers, want %d", len(r.Headers), len(want))
	}
	for i, h := range r.Headers {
		if string(h.Name) != string(want[i].Name) || string(h.Value) != string(want[i].Value) {
			t.Errorf("header %d = %q: %q, want %q: %q", i, h.Name, h.Value, want[i].Name, want[i].Value)
		}
	}
	lookups := []struct {
		name  string
		value string
		ok    bool
	}{
		{"host", "a.example", true},
		{"HOST", "a.example", true},
		{"x-dup", "one", true},
		{"x-empty", "", true},
		{"x-pad", "padded value", true},
		{"x-missing", "", false},
		{"hos", "", false},
	}
	for _, l := range lookups {
		v, ok := r.Header(l.name)
		if ok != l.ok || string(v) != l.value {
			t.Errorf("Header(%q) = %q, %v; want %q, %v", l.name, v, ok, l.value, l.ok)
		}
	}
	if !r.IsMethod("GET") || r.IsMethod("get") || r.IsMethod("GE") {
		t.Error("IsMethod is not an exact comparison")
	}
}

// TestParseRequestReuse checks that a Request parsed into twice keeps
// nothing of the first parse.
func TestParseRequestReuse(t *testing.T) {
	var r Request
	first := "POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close, upgrade\r\nUpgrade: x\r\nExpect: 100-continue\r\nX: 1\r\n\r\n"
	if _, err := ParseRequest([]byte(first), &r); err != nil {
		t.Fatal(err)
	}
	if _, err := ParseRequest([]byte("GET /b HTTP/1.0\r\n\r\n"), &r); err != nil {
		t.Fatal(err)
	}
	want := reqSummary{Method: "GET", URI: "/b", Path: "/b", CL: -1, NoHost: true}
	if got := summarizeRequest(&r); got != want {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	for i, h := range r.hdrs {
		if h.Name != nil || h.Value != nil {
			t.Errorf("stale header %d left in the array: %q", i, h.Name)
		}
	}
}

func TestRequestBody(t *testing.T) {
	tests := []struct {
		in   string
		want BodyKind
	}{
		{"GET / HTTP/1.1\r\n\r\n", BodyNone},
		{"POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", BodyLength},
		{"POST / HTTP/1.1\r\nContent-Length: 12\r\n\r\n", BodyLength},
		{"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", BodyChunked},
	}
	var r Request
	for _, tt := range tests {
		if _, err := ParseRequest([]byte(tt.in), &r); err != nil {
			t.Fatalf("%q: %v", tt.in, err)
		}
		if got := r.Body(); got != tt.want {
			t.Errorf("%q: Body() = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// invalidRequests are heads that must be refused. at, when set, is a
// substring of in whose first byte is the one the error must point at.
var invalidRequests = []struct {
	name string
	in   string
	msg  string
	at   string
}{
	// The target: what routes the request must be what a server acts on.
	{"absolute-form authority differs from Host", "GET http://admin.internal/secret HTTP/1.1\r\nHost: public.example\r\n\r\n", msgAuthority, "public"},
	{"absolute-form port differs from Host", "GET http://a.example:8080/ HTTP/1.1\r\nHost: a.example\r\n\r\n", msgAuthority, "a.example\r"},
	{"absolute-form userinfo", "GET http://u@a.example/ HTTP/1.1\r\nHost: a.example\r\n\r\n", msgTargetAuthority, "u@"},
	{"absolute-form userinfo equal to Host", "GET http://public.example@admin.internal/secret HTTP/1.1\r\nHost: public.example@admin.internal\r\n\r\n", msgHostInvalid, "public.example@admin.internal\r"},
	{"backslashes for slashes", "GET http:\\\\admin.internal\\secret HTTP/1.1\r\nHost: public.example\r\n\r\n", msgTargetForm, "http:"},
	{"scheme without slashes", "GET http:admin.internal/secret HTTP/1.1\r\nHost: public.example\r\n\r\n", msgTargetForm, "http:"},
	{"authority without scheme", "GET admin.internal/secret HTTP/1.1\r\nHost: public.example\r\n\r\n", msgTargetForm, "admin"},
	{"absolute-form other port than Host", "GET http://a:8080/ HTTP/1.1\r\nHost: a:80\r\n\r\n", msgAuthority, "a:80\r"},
	{"absolute-form https default port is not http's", "GET https://a:80/ HTTP/1.1\r\nHost: a\r\n\r\n", msgAuthority, "a\r"},
	{"Host with userinfo", "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", msgHostInvalid, "u@a"},
	{"Host with a path", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", msgHostInvalid, "a/b"},
	{"Host with a bad port", "GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n", msgHostInvalid, "a:8x"},
	{"Host with a broken IP literal", "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", msgHostInvalid, "[::1"},
	{"CONNECT to another host than Host", "CONNECT admin.internal:443 HTTP/1.1\r\nHost: public.example\r\n\r\n", msgAuthority, "public"},
	{"absolute-form without Host", "GET http://a.example/ HTTP/1.0\r\n\r\n", msgNoHost, "a.example"},
	{"fragment in origin-form", "GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n", msgFragment, "#"},
	{"fragment in absolute-form", "GET http://a/#x HTTP/1.1\r\nHost: a\r\n\r\n", msgFragment, "#"},
	{"CONNECT origin-form", "CONNECT /x HTTP/1.1\r\nHost: a\r\n\r\n", msgConnect, "/x"},
	{"CONNECT absolute-form", "CONNECT http://a:443/ HTTP/1.1\r\nHost: a\r\n\r\n", msgConnect, "http"},
	{"CONNECT without port", "CONNECT a.example HTTP/1.1\r\nHost: a\r\n\r\n", msgConnect, "a.example"},
	{"CONNECT empty port", "CONNECT a.example: HTTP/1.1\r\nHost: a\r\n\r\n", msgConnect, "a.example"},
	{"CONNECT userinfo", "CONNECT u@a.example:443 HTTP/1.1\r\nHost: a\r\n\r\n", msgConnect, "u@"},
	{"CONNECT bare IPv6", "CONNECT 2001:db8::1:443 HTTP/1.1\r\nHost: a\r\n\r\n", msgConnect, "2001"},

	// Framing conflicts: the request smuggling cases.
	{"CL then TE", "POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", msgCLTE, "Transfer"},
	{"TE then CL", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", msgCLTE, "Content"},
	{"differing CL fields", "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", msgCLConflict, "6\r\n"},
	{"differing CL list", "POST / HTTP/1.1\r\nContent-Length: 5, 6\r\n\r\n", msgCLConflict, "6\r\n"},
	{"CL plus sign", "POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\n", msgCLInvalid, "+5"},
	{"CL minus sign", "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", msgCLInvalid, "-1"},
	{"CL space inside", "POST / HTTP/1.1\r\nContent-Length: 5 5\r\n\r\n", msgCLInvalid, "5\r\n"},
	{"CL empty", "POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", msgCLInvalid, "\r\n\r\n"},
	{"CL empty element", "POST / HTTP/1.1\r\nContent-Length: 5,\r\n\r\n", msgCLInvalid, "\r\n\r\n"},
	{"CL leading comma", "POST / HTTP/1.1\r\nContent-Length: ,5\r\n\r\n", msgCLInvalid, ",5"},
	{"CL hex", "POST / HTTP/1.1\r\nContent-Length: 0x5\r\n\r\n", msgCLInvalid, "x5"},
	{"CL 19 digits", "POST / HTTP/1.1\r\nContent-Length: 1000000000000000000\r\n\r\n", msgCLInvalid, "0\r\n"},
	{"CL with parameter", "POST / HTTP/1.1\r\nContent-Length: 5;x\r\n\r\n", msgCLInvalid, ";x"},
	{"TE chunked, identity", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, identity\r\n\r\n", msgTE, "identity"},
	{"TE xchunked", "POST / HTTP/1.1\r\nTransfer-Encoding: xchunked\r\n\r\n", msgTE, "xchunked"},
	{"TE identity", "POST / HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\n", msgTE, "identity"},
	{"TE gzip, chunked", "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", msgTE, "gzip"},
	{"TE chunked twice", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", msgTE, "chunked\r\n"},
	{"TE chunked in two fields", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", msgTE, "chunked\r\n\r\n"},
	{"TE trailing comma", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked,\r\n\r\n", msgTE, "\r\n\r\n"},
	{"TE empty", "POST / HTTP/1.1\r\nTransfer-Encoding: \r\n\r\n", msgTE, "\r\n\r\n"},
	{"TE with parameter", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked;q=1\r\n\r\n", msgTE, "chunked"},
	{"TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", msgTE10, "Transfer"},
	{"two Host fields", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", msgHost, "Host: b"},

	// Line structure.
	{"obs-fold", "GET / HTTP/1.1\r\nX: a\r\n  b\r\n\r\n", msgObsFold, "  b"},
	{"obs-fold with tab", "GET / HTTP/1.1\r\nX: a\r\n\tb\r\n\r\n", msgObsFold, "\tb"},
	{"space before first field", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", msgObsFold, " Host"},
	{"bare LF ending a field", "GET / HTTP/1.1\r\nX: a\nY: b\r\n\r\n", msgBareLF, "\nY"},
	{"bare LF ending the head", "GET / HTTP/1.1\r\nX: a\r\n\nbody", msgBareLF, "\nbody"},
	{"bare LF ending the request line", "GET / HTTP/1.1\nX: a\r\n\r\n", msgBareLFStart, "\nX"},
	{"a CR alone before the request line", "\rGET / HTTP/1.1\r\n\r\n", msgBareCR, "\rGET"},
	{"bare LF in field name", "GET / HTTP/1.1\r\nX\n: a\r\n\r\n", msgName, "\n:"},
	{"CR inside a value", "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", msgBareCR, "\rb"},
	{"CR CR LF", "GET / HTTP/1.1\r\nX: a\r\r\n\r\n", msgBareCR, "\r\r"},
	{"CR without LF ending the head", "GET / HTTP/1.1\r\n\rX", msgBareCR, "\rX"},
	{"CR without LF before the request line", "\rGET / HTTP/1.1\r\n\r\n", msgBareCR, "\rGET"},
	{"CR without LF after the request line", "GET / HTTP/1.1\rX\r\n\r\n", msgBareCR, "\rX"},

	// Field syntax.
	{"NUL in value", "GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n", msgNUL, "\x00"},
	{"control byte in value", "GET / HTTP/1.1\r\nX: a\x01b\r\n\r\n", msgCTL, "\x01"},
	{"vertical tab in value", "GET / HTTP/1.1\r\nX: a\vb\r\n\r\n", msgCTL, "\v"},
	{"DEL in value", "GET / HTTP/1.1\r\nX: a\x7fb\r\n\r\n", msgCTL, "\x7f"},
	{"space before colon", "GET / HTTP/1.1\r\nContent-Length : 5\r\n\r\n", msgName, " :"},
	{"tab before colon", "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", msgName, "\t:"},
	{"empty name", "GET / HTTP/1.1\r\n: a\r\n\r\n", msgName, ": a"},
	{"separator in name", "GET / HTTP/1.1\r\nX(y): a\r\n\r\n", msgName, "(y"},
	{"high byte in name", "GET / HTTP/1.1\r\nX\xe9: a\r\n\r\n", msgName, "\xe9"},
	{"NUL in name", "GET / HTTP/1.1\r\nX\x00: a\r\n\r\n", msgName, "\x00"},
	{"no colon", "GET / HTTP/1.1\r\nHost a\r\n\r\n", msgName, " a"},
	{"too many headers", "GET / HTTP/1.1\r\n" + manyHeaders(MaxHeaders) + "X-Last: v\r\n\r\n", msgTooMany, "X-Last"},

	// Request line.
	{"double space", "GET  / HTTP/1.1\r\n\r\n", msgRequestLine, " / "},
	{"empty method", " / HTTP/1.1\r\n\r\n", msgRequestLine, " / "},
	{"separator in method", "GE(T / HTTP/1.1\r\n\r\n", msgRequestLine, "(T"},
	{"tab separator", "GET\t/ HTTP/1.1\r\n\r\n", msgRequestLine, "\t/"},
	{"no target", "GET HTTP/1.1\r\n\r\n", msgRequestLine, "\r\n\r\n"},
	{"space after version", "GET / HTTP/1.1 \r\n\r\n", msgRequestLine, " \r\n"},
	{"high byte in target", "GET /caf\xc3\xa9 HTTP/1.1\r\n\r\n", msgRequestLine, "\xc3"},
	{"NUL in target", "GET /a\x00 HTTP/1.1\r\n\r\n", msgRequestLine, "\x00"},
	{"DEL in target", "GET /a\x7f HTTP/1.1\r\n\r\n", msgRequestLine, "\x7f"},
	{"tab in target", "GET /a\tb HTTP/1.1\r\n\r\n", msgRequestLine, "\tb"},
	{"lower-case protocol", "GET / http/1.1\r\n\r\n", msgRequestLine, "http"},
	{"HTTP/0.9 request", "GET /\r\n\r\n", msgRequestLine, "\r\n\r\n"},
	{"HTTP/1.2", "GET / HTTP/1.2\r\n\r\n", msgVersion, "2\r\n"},
	{"HTTP/2.0", "GET / HTTP/2.0\r\n\r\n", msgVersion, "2.0"},
	{"HTTP/0.9", "GET / HTTP/0.9\r\n\r\n", msgVersion, "0.9"},
	{"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", msgVersion, "2.0"},
	{"HTTP/1.10", "GET / HTTP/1.10\r\n\r\n", msgRequestLine, "0\r\n"},
	{"HTTP/11", "GET / HTTP/11\r\n\r\n", msgRequestLine, "1\r\n"},
	{"HTTP/1.x", "GET / HTTP/1.x\r\n\r\n", msgRequestLine, "x"},
	{"TLS handshake", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", msgRequestLine, "\x16"},
}

func TestParseRequestInvalid(t *testing.T) {
	var r Request
	for _, tt := range invalidRequests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := ParseRequest([]byte(tt.in), &r)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got (%d, %v), want *Error %q", n, err, tt.msg)
			}
			if n != 0 {
				t.Errorf("length = %d with an error", n)
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

// TestParseRequestEarlyError checks that a syntax error is reported before
// the head is complete, rather than after waiting for bytes that can never
// make it valid.
func TestParseRequestEarlyError(t *testing.T) {
	for _, in := range []string{
		"GET / HTTP/1.1\r\nX: a\n",
		"GET / HTTP/1.1\r\nX : ",
		"GET / HTTP/1.1\r\nX: a\r\n b",
		"GET / HTTP/1.1\r\nX: \x00",
		"GET / HTTP/2",
		"GET /\xff",
		"G\x00",
	} {
		var r Request
		if _, err := ParseRequest([]byte(in), &r); err == nil || err == ErrNeedMore {
			t.Errorf("%q: got %v, want *Error", in, err)
		}
	}
}

func TestErrorString(t *testing.T) {
	e := &Error{Off: 17, Msg: "bare LF in header"}
	if got, want := e.Error(), "h1: bare LF in header at byte 17"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestParseRequestAllocs(t *testing.T) {
	in := []byte(browserGET)
	var r Request
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := ParseRequest(in, &r); err != nil {
			t.Fatal(err)
		}
		if _, ok := r.Header("user-agent"); !ok {
			t.Fatal("no user-agent")
		}
		_ = r.IsMethod("GET")
		// A partial head is the common case on a slow link.
		if _, err := ParseRequest(in[:100], &r); err != ErrNeedMore {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per parse, want 0", allocs)
	}
}
