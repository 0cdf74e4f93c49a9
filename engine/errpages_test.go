package engine

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fjordlb/fjord/engine/h1"
	"golang.org/x/sys/unix"
)

// untilClose sends raw on a new connection and returns everything fjord
// sends back until it closes the connection.
func untilClose(t *testing.T, addr, raw string) string {
	t.Helper()
	c := dial(t, addr)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("%q: reading until fjord closes: %v (got %q)", raw, err, got)
	}
	return string(got)
}

// keptAnswer sends raw twice on one connection and returns fjord's
// first answer, read by its framing (the head alone for HEAD): after an
// answer of its own to a request it read whole, fjord keeps the
// connection, as HAProxy does, and the second request gets the same
// answer.
func keptAnswer(t *testing.T, addr, raw string) string {
	t.Helper()
	c := dial(t, addr)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	var got bytes.Buffer
	br := bufio.NewReader(io.TeeReader(c, &got))
	method, _, _ := strings.Cut(raw, " ")
	var answers [2]string
	for i := range answers {
		got.Reset()
		if _, err := io.WriteString(c, raw); err != nil {
			t.Fatalf("%q, request %d: %v", raw, i+1, err)
		}
		resp, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			t.Fatalf("%q, request %d: %v (got %q)", raw, i+1, err, got.String())
		}
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			t.Fatalf("%q, request %d: body: %v", raw, i+1, err)
		}
		if resp.Close {
			t.Fatalf("%q, request %d: the connection closes after %q", raw, i+1, got.String())
		}
		answers[i] = got.String()
	}
	if answers[0] != answers[1] {
		t.Fatalf("%q: the second answer differs:\n%q\n%q", raw, answers[0], answers[1])
	}
	return answers[0]
}

// errorFileBody is the body of one of testdata/errors' pages.
func errorFileBody(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata/errors", name))
	if err != nil {
		t.Fatal(err)
	}
	_, body, ok := strings.Cut(string(b), "\r\n\r\n")
	if !ok {
		t.Fatalf("%s has no head", name)
	}
	return body
}

// expectPage checks that got is the whole of testdata/errors' page file
// (status and body as written, its X-Err-Type), announcing that the
// connection closes when it does (closes), with no Connection field when
// it is kept.
func expectPage(t *testing.T, got string, status int, file string, closes bool) {
	t.Helper()
	resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(got)), nil)
	if err != nil {
		t.Fatalf("not a response: %v: %q", err, got)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("body: %v: %q", err, got)
	}
	want := errorFileBody(t, file)
	errType := map[string]string{"fe": "frontend", "be": "backend", "section": "section"}[strings.Split(file, "-")[0]]
	if resp.StatusCode != status || string(body) != want || resp.Header.Get("X-Err-Type") != errType {
		t.Fatalf("want %d with %s (X-Err-Type %s), got %q", status, file, errType, got)
	}
	head, _, _ := strings.Cut(got, "\r\n\r\n")
	switch n := strings.Count(strings.ToLower(head), "\r\nconnection:"); {
	case closes && (n != 1 || !resp.Close):
		t.Fatalf("%d Connection fields, want one 'close': %q", n, got)
	case !closes && n != 0:
		t.Fatalf("%d Connection fields, want none on a kept connection: %q", n, got)
	}
}

// errPagesConfig is a frontend "fe" in front of two backends whose only
// server is down: be_pages has error pages of its own, be_plain none.
// Requests for /pages/ and /plain/ go to them, others to no backend.
func errPagesConfig(t *testing.T, fe, bePages string) string {
	dead := "127.0.0.1:" + strconv.Itoa(freePort(t))
	return fmt.Sprintf(`global
  nbthread 2
defaults
  mode http
  retries 0
  timeout connect 2s
  timeout client 30s
  timeout server 30s
frontend fe
  bind 127.0.0.1:%d
%s
  use_backend be_pages if { path_beg /pages/ }
  use_backend be_plain if { path_beg /plain/ }
backend be_pages
%s
  server dead %s
backend be_plain
  server dead %s
`, freePort(t), fe, bePages, dead, dead)
}

// The page is the backend's when the request was routed to one that has
// a page for the status, else the frontend's, as in HAProxy.
func TestErrorPagesBackendsThenFrontends(t *testing.T) {
	_, addr := startEngine(t, errPagesConfig(t,
		"  errorfile 503 testdata/errors/fe-503.http\n  errorfile 400 testdata/errors/fe-400.http",
		"  errorfile 503 testdata/errors/be-503.http\n  errorfile 400 testdata/errors/be-400.http"))
	// No server answers: 503.
	expectPage(t, keptAnswer(t, addr, "GET /pages/x HTTP/1.1\r\nHost: x\r\n\r\n"), 503, "be-503.http", false)
	expectPage(t, keptAnswer(t, addr, "GET /plain/x HTTP/1.1\r\nHost: x\r\n\r\n"), 503, "fe-503.http", false)
	// No backend: the frontend's.
	expectPage(t, keptAnswer(t, addr, "GET /x HTTP/1.1\r\nHost: x\r\n\r\n"), 503, "fe-503.http", false)
	// A bad request is refused before it is routed: the frontend's, and
	// the connection closes.
	expectPage(t, untilClose(t, addr, "GET /pages/x HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"), 400, "fe-400.http", true)
	expectPage(t, untilClose(t, addr, "GET /pages/x HTTP/1.1\r\nHost: x\r\nX-Big: "+strings.Repeat("a", 20000)+"\r\n\r\n"), 400, "fe-400.http", true)
}

// The pages a defaults section sets are every proxy's; a backend's own
// replace them for the requests routed to it.
func TestErrorPagesFromDefaults(t *testing.T) {
	cfg := strings.Replace(errPagesConfig(t, "", "  errorfile 503 testdata/errors/be-503.http"),
		"defaults\n", "defaults\n  errorfile 503 testdata/errors/fe-503.http\n", 1)
	_, addr := startEngine(t, cfg)
	expectPage(t, keptAnswer(t, addr, "GET /pages/x HTTP/1.1\r\nHost: x\r\n\r\n"), 503, "be-503.http", false)
	expectPage(t, keptAnswer(t, addr, "GET /plain/x HTTP/1.1\r\nHost: x\r\n\r\n"), 503, "fe-503.http", false)
}

func TestErrorPages502And504(t *testing.T) {
	garbage := rawServer(t, "SSH-2.0-OpenSSH\r\n\r\n", true)
	hold := make(chan struct{})
	silent := serveTCP(t, func(c net.Conn) {
		http.ReadRequest(bufio.NewReader(c))
		<-hold
	})
	t.Cleanup(func() { close(hold) }) // runs before serveTCP's wait
	cfg := fmt.Sprintf(`defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 300ms
frontend fe
  bind 127.0.0.1:%d
  errorfile 502 testdata/errors/fe-503.http
  use_backend garbage if { path /garbage }
  default_backend silent
backend garbage
  errorfile 502 testdata/errors/be-502.http
  server s %s
backend silent
  errorfile 504 testdata/errors/be-504.http
  server s %s
`, freePort(t), garbage, silent)
	_, addr := startEngine(t, cfg)
	expectPage(t, keptAnswer(t, addr, "GET /garbage HTTP/1.1\r\nHost: x\r\n\r\n"), 502, "be-502.http", false)
	expectPage(t, keptAnswer(t, addr, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"), 504, "be-504.http", false)
}

func TestErrorPagesFromHTTPErrorsSection(t *testing.T) {
	garbage := rawServer(t, "SSH-2.0-OpenSSH\r\n\r\n", true)
	cfg := fmt.Sprintf(`http-errors site
  errorfile 503 testdata/errors/section-503.http
  errorfile 502 testdata/errors/section-502.http
defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
frontend fe
  bind 127.0.0.1:%d
  errorfiles site 503
  use_backend garbage if { path /garbage }
backend garbage
  errorfiles site
  server s %s
`, freePort(t), garbage)
	_, addr := startEngine(t, cfg)
	// The page's own "Connection: keep-alive" goes: the connection is
	// kept, which HTTP/1.1 needs no field to say.
	expectPage(t, keptAnswer(t, addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"), 503, "section-503.http", false)
	// This page has no Content-Length: its body ends where the
	// connection does, so its "Connection: keep-alive" becomes "close".
	got := untilClose(t, addr, "GET /garbage HTTP/1.1\r\nHost: x\r\n\r\n")
	expectPage(t, got, 502, "section-502.http", true)
	if strings.Contains(got, "keep-alive") {
		t.Fatalf("the page's Connection field was sent: %q", got)
	}
}

func TestErrorlocRedirects(t *testing.T) {
	_, addr := startEngine(t, errPagesConfig(t,
		"  errorloc303 503 https://status.example.com/down",
		"  errorloc 503 /maintenance.html"))
	for _, tc := range []struct{ path, want string }{
		{"/x", "HTTP/1.1 303 See Other\r\nCache-Control: no-cache\r\nContent-length: 0\r\nLocation: https://status.example.com/down\r\n\r\n"},
		{"/pages/x", "HTTP/1.1 302 Found\r\nCache-Control: no-cache\r\nContent-length: 0\r\nLocation: /maintenance.html\r\n\r\n"},
	} {
		if got := keptAnswer(t, addr, "GET "+tc.path+" HTTP/1.1\r\nHost: x\r\n\r\n"); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.path, got, tc.want)
		}
	}
}

// A HEAD request gets the head of the page alone, built-in or configured.
func TestErrorPagesForHEAD(t *testing.T) {
	_, addr := startEngine(t, errPagesConfig(t, "", "  errorfile 503 testdata/errors/be-503.http"))
	for _, path := range []string{"/x", "/pages/x"} {
		got := keptAnswer(t, addr, "HEAD "+path+" HTTP/1.1\r\nHost: x\r\n\r\n")
		head, body, _ := strings.Cut(got, "\r\n\r\n")
		if !strings.HasPrefix(head, "HTTP/1.1 503 ") || !strings.Contains(head, "\r\nContent-") || body != "" {
			t.Errorf("HEAD %s: %q", path, got)
		}
	}
}

// An empty error file closes the connection without an answer.
func TestEmptyErrorFileClosesSilently(t *testing.T) {
	_, addr := startEngine(t, errPagesConfig(t, "  errorfile 400 /dev/null", ""))
	if got := untilClose(t, addr, "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: x\r\n\r\n"); got != "" {
		t.Fatalf("got %q, want nothing", got)
	}
	expectStatus(t, addr, "GET /x HTTP/1.1\r\nHost: x\r\n\r\n", 503) // the built-in pages stay
}

// A page larger than the client's socket takes in one write waits in a
// pipe, and reaches the client whole; the connection then serves the
// next request.
func TestLargeErrorPageReachesSlowClient(t *testing.T) {
	body := strings.Repeat("0123456789abcdef", 1000<<10/16) + "\n"
	file := filepath.Join(t.TempDir(), "big-503.http")
	page := "HTTP/1.1 503 Service Unavailable\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
	if err := os.WriteFile(file, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	// The listening socket is the test's, with a small send buffer that
	// accepted sockets inherit (on loopback, the kernel would otherwise
	// give fjord's socket room for a whole tune.bufsize at once).
	fd, addr := inheritedListener(t)
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, 16<<10); err != nil {
		t.Fatal(err)
	}
	cfg := regexp.MustCompile(`bind 127.0.0.1:\d+`).ReplaceAllString(errPagesConfig(t, "  errorfile 503 "+file, ""), "bind fd@7")
	startEngineWith(t, "global\n  tune.bufsize 1m\n"+cfg, Options{InheritedFD: map[int][]int{7: {fd}}})
	got := keptAnswer(t, addr, "GET /x HTTP/1.1\r\nHost: x\r\n\r\n")
	want := "HTTP/1.1 503 Service Unavailable\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
	if got != want {
		t.Fatalf("got %d bytes (head %q), want %d", len(got), got[:min(len(got), 120)], len(want))
	}
}

// A 401 that Intercept gives with a challenge (the stats page's) is the
// proxy's 401 page when it has one, the backend's first, with the
// challenge in place of the page's own WWW-Authenticate, as HAProxy
// answers "stats auth"; without one, the reply as given.
func TestErrorPage401WithChallenge(t *testing.T) {
	const reply = "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nWWW-Authenticate: Basic realm=\"stats\"\r\nConnection: close\r\n\r\n"
	intercept := func(_, backend string, req *h1.Request) Local {
		if backend == "" || !strings.HasSuffix(string(req.Path), "/stats") {
			return Local{}
		}
		return Local{Reply: []byte(reply), Status: 401, Authenticate: []byte(`Basic realm="stats"`)}
	}
	cfg := errPagesConfig(t, "  errorfile 401 testdata/errors/fe-401.http", "  errorfile 401 testdata/errors/be-401.http")
	addr := startEngineOpts(t, cfg, Options{Intercept: intercept})
	for _, tc := range []struct{ path, file string }{
		{"/pages/stats", "be-401.http"},
		{"/plain/stats", "fe-401.http"},
	} {
		got := keptAnswer(t, addr, "GET "+tc.path+" HTTP/1.1\r\nHost: x\r\n\r\n")
		expectPage(t, got, 401, tc.file, false)
		if strings.Count(got, "WWW-Authenticate: ") != 1 || !strings.Contains(got, "\r\nWWW-Authenticate: Basic realm=\"stats\"\r\n") {
			t.Errorf("%s: challenge: %q", tc.path, got)
		}
		got = keptAnswer(t, addr, "HEAD "+tc.path+" HTTP/1.1\r\nHost: x\r\n\r\n")
		if !strings.HasSuffix(got, "WWW-Authenticate: Basic realm=\"stats\"\r\n\r\n") {
			t.Errorf("HEAD %s: %q", tc.path, got)
		}
	}
	// No 401 page: the reply as Intercept gave it, whose "Connection:
	// close" closes the connection.
	addr = startEngineOpts(t, errPagesConfig(t, "", ""), Options{Intercept: intercept})
	if got := untilClose(t, addr, "GET /pages/stats HTTP/1.1\r\nHost: x\r\n\r\n"); got != reply {
		t.Errorf("without a 401 page: %q", got)
	}
}

// http-error replies are built for each request: their lf-string body
// and hdr values read the request while fjord holds it (a 503 for want
// of a backend or of a server), the backend's reply first; an empty one
// has no body; default-errorfiles in a backend leaves the frontend's; a
// rule's default-errorfiles answers the reply (HAProxy's reg-test
// http-errorfiles/http-error.vtc), and HEAD gets the head alone.
func TestHTTPErrorReplies(t *testing.T) {
	cfg := errPagesConfig(t, strings.Join([]string{
		`  http-error status 503 content-type text/plain hdr x-path "%[path]" hdr x-empty "%[req.hdr(nope)]" lf-string "fe: no way to %[path]"`,
		`  http-error status 400`,
		`  http-error status 200 content-type text/plain lf-string "up: %[method]"`,
		`  http-error status 502 content-type text/plain string "fe 502"`,
		`  http-request deny deny_status 400 if { path /deny }`,
		`  http-request return status 200 default-errorfiles if { path /ok }`,
	}, "\n"), strings.Join([]string{
		`  http-error status 503 content-type text/html lf-string "<p>be: %[path]</p>"`,
		`  http-error status 502 default-errorfiles`,
	}, "\n"))
	_, addr := startEngine(t, cfg)
	for _, tc := range []struct {
		req, want string
	}{
		{"GET /x HTTP/1.1\r\nHost: x\r\n\r\n",
			"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\ncontent-length: 16\r\nx-path: /x\r\n\r\nfe: no way to /x"},
		{"GET /plain/a HTTP/1.1\r\nHost: x\r\n\r\n",
			"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\ncontent-length: 22\r\nx-path: /plain/a\r\n\r\nfe: no way to /plain/a"},
		{"GET /pages/a HTTP/1.1\r\nHost: x\r\n\r\n",
			"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/html\r\ncontent-length: 19\r\n\r\n<p>be: /pages/a</p>"},
		{"HEAD /pages/a HTTP/1.1\r\nHost: x\r\n\r\n",
			"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/html\r\ncontent-length: 19\r\n\r\n"},
		// The reply of "http-error status 400" says nothing of the
		// connection: a request denied with it keeps it, as in HAProxy.
		{"GET /deny HTTP/1.1\r\nHost: x\r\n\r\n",
			"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n"},
		{"POST /ok HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
			"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 8\r\n\r\nup: POST"},
	} {
		if got := keptAnswer(t, addr, tc.req); got != tc.want {
			t.Errorf("%q:\n got %q\nwant %q", tc.req, got, tc.want)
		}
	}
	// Refused before it is parsed: no request to read, and the
	// connection closes.
	const bad = "GET /x HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"
	if got, want := untilClose(t, addr, bad), "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"; got != want {
		t.Errorf("%q:\n got %q\nwant %q", bad, got, want)
	}
}

// A 502 of a backend whose http-error says default-errorfiles is the
// frontend's; the request is gone by then, so its samples are empty.
func TestHTTPErrorDefaultErrorfilesInBackend(t *testing.T) {
	garbage := rawServer(t, "SSH-2.0-OpenSSH\r\n\r\n", true)
	_, addr := startEngine(t, fmt.Sprintf(`defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
frontend fe
  bind 127.0.0.1:%d
  http-error status 502 content-type text/plain lf-string "fe 502 [%%[path]]"
  default_backend be
backend be
  http-error status 502 content-type text/plain string "be 502"
  http-error status 502 default-errorfiles
  server s1 %s
`, freePort(t), garbage))
	want := "HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/plain\r\ncontent-length: 9\r\n\r\nfe 502 []"
	if got := keptAnswer(t, addr, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"); got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

// A 401 with a stats challenge and an http-error reply for 401: the
// reply, with the challenge after its own fields.
func TestHTTPErrorReply401WithChallenge(t *testing.T) {
	intercept := func(_, backend string, req *h1.Request) Local {
		if backend == "" || !strings.HasSuffix(string(req.Path), "/stats") {
			return Local{}
		}
		return Local{Reply: []byte("HTTP/1.1 401 Unauthorized\r\n\r\n"), Status: 401, Authenticate: []byte(`Basic realm="stats"`)}
	}
	cfg := errPagesConfig(t, `  http-error status 401 content-type text/plain lf-string "who? %[path]"`, "")
	addr := startEngineOpts(t, cfg, Options{Intercept: intercept})
	want := "HTTP/1.1 401 Unauthorized\r\ncontent-type: text/plain\r\ncontent-length: 17\r\nWWW-Authenticate: Basic realm=\"stats\"\r\n\r\nwho? /pages/stats"
	if got := keptAnswer(t, addr, "GET /pages/stats HTTP/1.1\r\nHost: x\r\n\r\n"); got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
}
