package engine

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fjordlb/fjord/engine/h1"
	"github.com/fjordlb/fjord/rules"
)

// answersConfig is a frontend whose rules answer some requests
// themselves, in front of a backend "be" (with rules of its own) whose
// only server, srv, answers the others; both add the status they see
// in an http-after-response field. Requests for /be/ go to be, /none
// to no backend (a 503), the rest to "app", whose server is dead.
func answersConfig(t *testing.T, srv string) string {
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
  monitor-uri /mon
  http-request deny if { path /deny }
  http-request return status 200 content-type text/plain string ret if { path /return }
  http-request redirect location /elsewhere if { path /redir }
  http-request auth realm r if { path /auth }
  http-after-response set-header x-fe %%[status]
  use_backend be if { path_beg /be/ }
  use_backend app if { path /dead }
backend be
  http-request deny deny_status 429 if { path /be/deny }
  http-request return status 202 if { path /be/return }
  http-after-response set-header x-be %%[status]
  http-after-response set-status 299 if { status 202 }
  server s %s
backend app
  server dead %s
`, freePort(t), srv, dead)
}

// HAProxy runs http-after-response rules on the answers it gives
// itself, as on a server's: the backend's then the frontend's once the
// request is routed, the frontend's alone before. The stats page's
// answer (a handler fjord hands the connection to) goes through them too.
func TestAfterResponseOnOwnAnswers(t *testing.T) {
	srv := headersNode(t)
	page := func(c net.Conn) {
		defer c.Close()
		br := bufio.NewReader(c)
		if _, err := http.ReadRequest(br); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\npage")
	}
	intercept := func(_, backend string, req *h1.Request) Local {
		if backend == "be" && string(req.Path) == "/be/page" {
			return Local{Serve: page}
		}
		return Local{}
	}
	addr := startEngineOpts(t, answersConfig(t, srv), Options{Intercept: intercept})
	for _, tc := range []struct {
		path       string
		status     int
		xfe, xbe   string // "": no such field
		closes     bool
		bodyPrefix string
	}{
		{"/be/x", 200, "200", "200", false, "GET /be/x"}, // the server's, as before
		{"/deny", 403, "403", "", false, "<html>"},
		{"/return", 200, "200", "", false, "ret"},
		{"/redir", 302, "302", "", false, ""},
		{"/auth", 401, "401", "", false, "<html>"},
		{"/mon", 200, "200", "", false, "<html>"},
		{"/none", 503, "503", "", false, "<html>"},
		{"/dead", 503, "503", "", false, "<html>"}, // app has no after-response rule
		{"/be/deny", 429, "429", "429", false, ""},
		{"/be/return", 299, "299", "202", false, ""}, // be's set-status, which fe's rules see
		{"/be/page", 200, "200", "200", true, "page"},
	} {
		req := "GET " + tc.path + " HTTP/1.1\r\nHost: a\r\n\r\n"
		rs := ruleExchange(t, addr, req, req)
		for i, r := range rs {
			body := bodyOf(r)
			if r.StatusCode != tc.status || r.Header.Get("X-Fe") != tc.xfe || r.Header.Get("X-Be") != tc.xbe || !strings.HasPrefix(body, tc.bodyPrefix) {
				t.Errorf("%s, answer %d: %d x-fe %q x-be %q %q; want %d x-fe %q x-be %q %q...", tc.path, i+1,
					r.StatusCode, r.Header.Get("X-Fe"), r.Header.Get("X-Be"), body, tc.status, tc.xfe, tc.xbe, tc.bodyPrefix)
			}
		}
		if want := map[bool]int{false: 2, true: 1}[tc.closes]; len(rs) != want {
			t.Errorf("%s: %d answers on the connection, want %d (closes: %v)", tc.path, len(rs), want, tc.closes)
		}
	}
	// A head fjord cannot read is answered as HAProxy's H1 mux answers
	// it: no rule, and the connection closes.
	got := untilClose(t, addr, "GET /x HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n")
	if !strings.HasPrefix(got, "HTTP/1.1 400 ") || strings.Contains(strings.ToLower(got), "x-fe") {
		t.Errorf("a malformed head: %q", got)
	}
}

// An after-response rule that fails on an answer (a rewrite past the
// buffer, in strict mode) replaces it with the proxy's 500, whose own
// rules run once; when they fail on the 500 too, it goes without them,
// as HAProxy's http_reply_and_close does.
func TestAfterResponseFailureAnswers500(t *testing.T) {
	srv := headersNode(t)
	big := strings.Repeat("b", 2000) // two copies do not fit the answer's buffer
	cfg := strings.Replace(rulesConfig(t, strings.Join([]string{
		"  http-request deny if { path_beg /deny }",
		"  http-after-response set-header x-seen %[status]",
		"  http-after-response set-header x-big1 %[req.hdr(x-big)] if { status 403 } || { path /deny/always }",
		"  http-after-response set-header x-big2 %[req.hdr(x-big)] if { status 403 } || { path /deny/always }",
	}, "\n"), "", srv), "global\n", "global\n  tune.bufsize 4096\n", 1)
	_, addr := startEngine(t, cfg)
	for _, tc := range []struct {
		path, seen string
	}{
		{"/deny/once", "500"}, // the 500's rules ran, and did not fail
		{"/deny/always", ""},  // they failed again: the 500 without them
	} {
		req := "GET " + tc.path + " HTTP/1.1\r\nHost: a\r\nX-Big: " + big + "x\r\n\r\n"
		rs := ruleExchange(t, addr, req, "GET /ok HTTP/1.1\r\nHost: a\r\n\r\n")
		r := rs[0]
		if r.StatusCode != 500 || r.Header.Get("X-Seen") != tc.seen || r.Header.Get("X-Big1") != "" {
			t.Errorf("%s: %d x-seen %q %v; want 500 x-seen %q", tc.path, r.StatusCode, r.Header.Get("X-Seen"), r.Header, tc.seen)
		}
		if len(rs) != 2 || rs[1].StatusCode != 200 || rs[1].Header.Get("X-Seen") != "200" {
			t.Errorf("%s: the connection did not go on (%d answers)", tc.path, len(rs))
		}
	}
}

// After an answer of its own to a request it has read whole, fjord keeps
// the client's connection for the next request, as HAProxy does; it
// closes it when the client asks to, when the body is not all there
// (what is left of it could not be told from a next request), for a
// redirect of a request with a body, and after a 400.
func TestOwnAnswersKeepConnection(t *testing.T) {
	srv := headersNode(t)
	_, addr := startEngine(t, answersConfig(t, srv))
	next := "GET /be/next HTTP/1.1\r\nHost: a\r\n\r\n"
	for _, tc := range []struct {
		name, req string
		status    int
		conn      string // the answer's Connection field
		kept      bool
	}{
		{"deny", "GET /deny HTTP/1.1\r\nHost: a\r\n\r\n", 403, "", true},
		{"return", "GET /return HTTP/1.1\r\nHost: a\r\n\r\n", 200, "", true},
		{"auth", "GET /auth HTTP/1.1\r\nHost: a\r\n\r\n", 401, "", true},
		{"redirect", "GET /redir HTTP/1.1\r\nHost: a\r\n\r\n", 302, "", true},
		{"no backend", "GET /none HTTP/1.1\r\nHost: a\r\n\r\n", 503, "", true},
		{"no server", "GET /dead HTTP/1.1\r\nHost: a\r\n\r\n", 503, "", true},
		{"a body that came whole", "POST /deny HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nabcde", 403, "", true},
		{"a chunked body that came whole", "POST /return HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 200, "", true},
		{"HTTP/1.0 keep-alive", "GET /deny HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 403, "keep-alive", true},
		{"Connection: close", "GET /deny HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 403, "close", false},
		{"HTTP/1.0", "GET /return HTTP/1.0\r\n\r\n", 200, "close", false},
		{"a body not all there", "POST /deny HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nabcde", 403, "close", false},
		{"a redirect of a request with a body", "POST /redir HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nabcde", 302, "close", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, addr)
			c.SetDeadline(time.Now().Add(10 * time.Second))
			br := bufio.NewReader(c)
			io.WriteString(c, tc.req)
			resp, _ := readResponse(t, br, nil)
			conn := resp.Header.Get("Connection") // net/http takes "close" out, into Close
			if resp.Close {
				conn = "close"
			}
			if resp.StatusCode != tc.status || conn != tc.conn {
				t.Fatalf("%d, Connection %q; want %d, Connection %q", resp.StatusCode, conn, tc.status, tc.conn)
			}
			if !tc.kept {
				// Whatever the client sends now goes nowhere.
				io.WriteString(c, next)
				if rest, _ := io.ReadAll(br); len(rest) > 0 {
					t.Fatalf("after the answer: %q", rest)
				}
				return
			}
			// The next request on the connection goes to the server, which
			// sees it (and nothing of the one before) as it was sent.
			io.WriteString(c, next)
			resp, body := readResponse(t, br, nil)
			if resp.StatusCode != 200 || !strings.HasPrefix(body, "GET /be/next\n") {
				t.Fatalf("the next request: %d %q", resp.StatusCode, body)
			}
		})
	}
}

// Requests a client pipelines, each answered by fjord itself, are
// answered in order, however many: the loop goes from one to the next
// without recursion.
func TestPipelinedOwnAnswers(t *testing.T) {
	srv := headersNode(t)
	_, addr := startEngine(t, answersConfig(t, srv))
	const n = 3000
	paths := []string{"/deny", "/return", "/redir", "/none"}
	c := dial(t, addr)
	c.SetDeadline(time.Now().Add(30 * time.Second))
	go func() {
		var b strings.Builder
		for i := 0; i < n; i++ {
			b.WriteString("GET " + paths[i%len(paths)] + " HTTP/1.1\r\nHost: a\r\n\r\n")
		}
		b.WriteString("GET /be/last HTTP/1.1\r\nHost: a\r\n\r\n")
		io.WriteString(c, b.String())
	}()
	br := bufio.NewReader(c)
	want := []int{403, 200, 302, 503}
	for i := 0; i < n; i++ {
		resp, _ := readResponse(t, br, nil)
		if resp.StatusCode != want[i%len(want)] {
			t.Fatalf("answer %d: %d, want %d", i, resp.StatusCode, want[i%len(want)])
		}
	}
	if resp, body := readResponse(t, br, nil); resp.StatusCode != 200 || !strings.HasPrefix(body, "GET /be/last\n") {
		t.Fatalf("the last request: %d %q", resp.StatusCode, body)
	}
}

// Answering with after-response rules on a kept connection allocates
// nothing per request. (A deny or an error is also written to fjord's
// own log with its cause, whose formatting allocates: they are left out.)
func TestOwnAnswersAllocateNothing(t *testing.T) {
	srv := headersNode(t)
	perRequest := func(req []byte) float64 {
		e, addr := startEngine(t, answersConfig(t, srv))
		defer e.Stop()
		c := dial(t, addr)
		c.SetDeadline(time.Now().Add(20 * time.Second))
		// The answer's length, from a first exchange.
		br := bufio.NewReader(c)
		c.Write(req)
		resp, _ := readResponse(t, br, nil)
		if resp.Close || br.Buffered() > 0 {
			t.Fatalf("%q: the first answer closes or is followed by more", req)
		}
		buf := make([]byte, 0, 4096)
		c.Write(req)
		for { // the raw answer: its head, then its Content-Length
			line, err := br.ReadSlice('\n')
			if err != nil {
				t.Fatal(err)
			}
			buf = append(buf, line...)
			if string(line) == "\r\n" {
				break
			}
		}
		buf = buf[:len(buf)+int(resp.ContentLength)]
		if _, err := io.ReadFull(br, buf[len(buf)-int(resp.ContentLength):]); err != nil {
			t.Fatal(err)
		}
		return mallocsPerExchange(t, c, req, buf)
	}
	for _, path := range []string{"/return", "/redir", "/be/return", "/mon"} {
		got := perRequest([]byte("GET " + path + " HTTP/1.1\r\nHost: a\r\n\r\n"))
		t.Logf("%s: %.3f allocations per request", path, got)
		if got > 0.1 {
			t.Errorf("%s: %.2f allocations per request", path, got)
		}
	}
}

// The head of an answer of fjord's own: the Connection field says what
// fjord does with the connection, in place of the answer's own (its name
// and place kept, as HAProxy's H1 mux rewrites it) or last; an answer
// whose field names "upgrade" keeps its fields; set-status gives a new
// status line.
func TestAppendAnswerHead(t *testing.T) {
	for _, tc := range []struct {
		name, head string
		conn       string
		setStatus  int // 0: the rules changed nothing
		want       string
	}{
		{"kept, no field", "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n", "",
			0, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"},
		{"closed, no field", "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n", "close",
			0, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nconnection: close\r\n\r\n"},
		{"closed, in place", "HTTP/1.1 400 Bad request\r\nContent-length: 0\r\nConnection: close\r\nX: y\r\n\r\n", "close",
			0, "HTTP/1.1 400 Bad request\r\nContent-length: 0\r\nConnection: close\r\nX: y\r\n\r\n"},
		{"kept, the page's field goes", "HTTP/1.1 503 Service Unavailable\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", "",
			0, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"},
		{"HTTP/1.0 kept", "HTTP/1.1 302 Found\r\nconnection: close\r\nconnection: foo\r\ncontent-length: 0\r\n\r\n", "keep-alive",
			0, "HTTP/1.1 302 Found\r\nconnection: keep-alive\r\ncontent-length: 0\r\n\r\n"},
		{"upgrade left alone", "HTTP/1.1 200 OK\r\nconnection: upgrade\r\nupgrade: websocket\r\ncontent-length: 0\r\n\r\n", "",
			0, "HTTP/1.1 200 OK\r\nconnection: upgrade\r\nupgrade: websocket\r\ncontent-length: 0\r\n\r\n"},
		{"set-status", "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n", "close",
			404, "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var resp h1.Response
			hl, err := h1.ParseResponse([]byte(tc.head), &resp)
			if err != nil {
				t.Fatal(err)
			}
			var m *rules.Msg
			if tc.setStatus != 0 {
				m = fillResMsg(&rules.Msg{}, &resp)
				m.Status, m.Edited = tc.setStatus, true
			}
			if got := string(appendAnswerHead(nil, []byte(tc.head[:hl]), &resp, m, tc.conn, true)); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestAnswerConnValue(t *testing.T) {
	for _, tc := range []struct {
		keep            bool
		minor, reqMinor int
		want            string
	}{
		{true, 1, 1, ""},
		{true, 1, 0, "keep-alive"},
		{true, 0, 1, "keep-alive"},
		{false, 1, 1, "close"},
		{false, 1, 0, "close"},
		{false, 0, 1, ""}, // an HTTP/1.0 answer closes without saying so
	} {
		if got := answerConnValue(tc.keep, tc.minor, tc.reqMinor); got != tc.want {
			t.Errorf("keep %v, answer 1.%d, request 1.%d: %q, want %q", tc.keep, tc.minor, tc.reqMinor, got, tc.want)
		}
	}
}

// FuzzAnswerHead: whatever response head h1 accepts as an answer, its
// head as fjord writes it, for any connection value, is one head h1
// accepts again, with the same status, at most one Connection field,
// saying what fjord does unless the answer upgrades, and every other
// field as it was.
func FuzzAnswerHead(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 400 Bad request\r\nContent-length: 0\r\nConnection: close\r\n\r\n",
		"HTTP/1.0 302 Found\r\nConnection: keep-alive, foo\r\nconnection: close\r\nLocation: /\r\n\r\n",
		"HTTP/1.1 200 OK\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
	} {
		f.Add([]byte(s), uint8(0))
	}
	f.Fuzz(func(t *testing.T, b []byte, which uint8) {
		var resp h1.Response
		hl, err := h1.ParseResponse(b, &resp)
		if err != nil {
			return
		}
		conn := [...]string{"", "close", "keep-alive"}[which%3]
		upgrades := answerUpgrades(&resp, nil)
		others := 0
		for _, hd := range resp.Headers {
			if !asciiEqualFold(hd.Name, "connection") {
				others++
			}
		}
		out := appendAnswerHead(nil, b[:hl], &resp, nil, conn, true)
		var again h1.Response
		n, err := h1.ParseResponse(out, &again)
		if err != nil || n != len(out) || again.Status != resp.Status {
			t.Fatalf("%q became %q: %v", b[:hl], out, err)
		}
		var fields []string
		rest := 0
		for _, hd := range again.Headers {
			if asciiEqualFold(hd.Name, "connection") {
				fields = append(fields, string(hd.Value))
			} else {
				rest++
			}
		}
		switch {
		case rest != others:
			t.Fatalf("%q became %q: %d other fields, want %d", b[:hl], out, rest, others)
		case upgrades:
		case conn == "" && len(fields) != 0, conn != "" && (len(fields) != 1 || fields[0] != conn):
			t.Fatalf("%q became %q: Connection %q, want %q", b[:hl], out, fields, conn)
		}
	})
}

// A handler's answer (the stats page's) goes through the after-response
// rules however it writes it: an interim answer first as it is, the head
// in pieces. One a rule fails on becomes the 500, after which the
// connection closes.
func TestAfterResponseOnHandedOffAnswer(t *testing.T) {
	big := strings.Repeat("b", 2000)
	page := func(c net.Conn) {
		defer c.Close()
		br := bufio.NewReader(c)
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 100 Continue\r\n\r\n")
		hdr := ""
		if req.URL.Path == "/page/big" {
			hdr = "X-Big: " + big + "\r\n"
		}
		for _, piece := range []string{"HTTP/1.1 200 OK\r\nContent-Le", "ngth: 4\r\n" + hdr + "Connection: close\r\n", "\r\n", "pa", "ge"} {
			io.WriteString(c, piece)
		}
	}
	intercept := func(_, _ string, req *h1.Request) Local {
		if strings.HasPrefix(string(req.Path), "/page/") {
			return Local{Serve: page}
		}
		return Local{}
	}
	cfg := strings.Replace(rulesConfig(t, strings.Join([]string{
		"  http-after-response set-header x-seen %[status]",
		"  http-after-response set-header x-copy1 %[res.hdr(x-big)]",
		"  http-after-response set-header x-copy2 %[res.hdr(x-big)]",
	}, "\n"), "", "127.0.0.1:1"), "global\n", "global\n  tune.bufsize 4096\n", 1)
	addr := startEngineOpts(t, cfg, Options{Intercept: intercept})
	got := untilClose(t, addr, "GET /page/small HTTP/1.1\r\nHost: a\r\n\r\n")
	// set-header of an empty value sets an empty field, as in HAProxy.
	want := "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\nx-seen: 200\r\nx-copy1: \r\nx-copy2: \r\n\r\npage"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	got = untilClose(t, addr, "GET /page/big HTTP/1.1\r\nHost: a\r\n\r\n")
	if !strings.HasPrefix(got, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 500 Internal Server Error\r\n") ||
		!strings.Contains(got, "\r\nx-seen: 500\r\n") || strings.Contains(got, big) || !strings.Contains(got, "\r\nconnection: close\r\n") {
		t.Errorf("a failed rule: %q", got)
	}
}

// A deny between two proxied requests leaves the server connection the
// first one used for the next.
func TestOwnAnswerKeepsIdleServerConnection(t *testing.T) {
	var conns atomic.Int64
	srv := countingServer(t, &conns)
	_, addr := startEngine(t, answersConfig(t, srv))
	rs := ruleExchange(t, addr,
		"GET /be/a HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /be/deny HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /deny HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /be/b HTTP/1.1\r\nHost: a\r\n\r\n")
	if len(rs) != 4 || rs[0].StatusCode != 200 || rs[1].StatusCode != 429 || rs[2].StatusCode != 403 || rs[3].StatusCode != 200 {
		t.Fatalf("%d answers", len(rs))
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d server connections, want 1", n)
	}
}

// A HEAD request gets the head of a return's answer alone, as HAProxy
// skips a reply's payload then: the next answer on the connection
// follows it at once.
func TestOwnAnswerToHEAD(t *testing.T) {
	srv := headersNode(t)
	_, addr := startEngine(t, answersConfig(t, srv))
	c := dial(t, addr)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	io.WriteString(c, "HEAD /return HTTP/1.1\r\nHost: a\r\n\r\nGET /return HTTP/1.1\r\nHost: a\r\n\r\n")
	if resp, _ := readResponse(t, br, &http.Request{Method: "HEAD"}); resp.StatusCode != 200 || resp.ContentLength != 3 {
		t.Fatalf("HEAD: %d, Content-Length %d", resp.StatusCode, resp.ContentLength)
	}
	if resp, body := readResponse(t, br, nil); resp.StatusCode != 200 || body != "ret" {
		t.Fatalf("GET after HEAD: %d %q", resp.StatusCode, body)
	}
}
