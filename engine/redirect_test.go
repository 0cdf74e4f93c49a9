package engine

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/engine/h1"
	"github.com/fjordlb/fjord/rules"
)

// redirectConfig is a mode-http frontend "fe" with the given lines (its
// redirect rules), routing /moved... to backend "moved" and the rest to
// backend "app", both served by web.
func redirectConfig(t testing.TB, feLines, appLines, movedLines, web string) string {
	return fmt.Sprintf(`global
  nbthread 2
defaults
  mode http
  option httplog
  timeout connect 2s
  timeout client 30s
  timeout server 30s
frontend fe
  bind 127.0.0.1:%d
%s
  use_backend moved if { path_beg /moved }
  default_backend app
backend app
%s
  server web01 %s
backend moved
%s
  server web02 %s
`, freePort(t), feLines, appLines, web, movedLines, web)
}

// readExactly reads len(want) bytes and fails the test unless they are want.
func readExactly(t *testing.T, c net.Conn, br *bufio.Reader, want string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got := make([]byte, len(want))
	n, err := io.ReadFull(br, got)
	if err != nil || string(got) != want {
		t.Fatalf("answer:\n%q (%v)\nwant:\n%q", got[:n], err, want)
	}
}

// The bytes HAProxy 2.6 sends for each kind of rule and option, and what
// becomes of the connection after them.
func TestRedirectAnswers(t *testing.T) {
	web := webNode(t, "web01")
	const noCache = "cache-control: no-cache\r\n"
	for _, tc := range []struct {
		name, rule, req string
		want            string // status line and fields, without the final CRLF
		closed          bool
	}{
		{"location", "redirect location /", "GET /x HTTP/1.1\r\nHost: a\r\n\r\n",
			"HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: /\r\n" + noCache, false},
		{"location as written", "redirect location https://www.example.com/caf%C3%A9?a=1 code 301", "GET /x?y=2 HTTP/1.1\r\nHost: a\r\n\r\n",
			"HTTP/1.1 301 Moved Permanently\r\ncontent-length: 0\r\nlocation: https://www.example.com/caf%C3%A9?a=1\r\n", false},
		{"prefix", "redirect prefix https://x.example code 308", "GET /a/b?c=d HTTP/1.1\r\nHost: a\r\n\r\n",
			"HTTP/1.1 308 Permanent Redirect\r\ncontent-length: 0\r\nlocation: https://x.example/a/b?c=d\r\n", false},
		{"prefix drop-query", "redirect prefix http://x.example drop-query code 303", "GET /a/b?c=d HTTP/1.1\r\nHost: a\r\n\r\n",
			"HTTP/1.1 303 See Other\r\ncontent-length: 0\r\nlocation: http://x.example/a/b\r\n" + noCache, false},
		{"prefix slash adds nothing", "redirect prefix / set-cookie SEEN=1", "GET /a?b HTTP/1.1\r\nHost: a\r\n\r\n",
			"HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: /a?b\r\n" + noCache + "set-cookie: SEEN=1; path=/;\r\n", false},
		{"append-slash with drop-query", "redirect code 301 prefix / drop-query append-slash", "GET /article/42?x=1 HTTP/1.1\r\nHost: a\r\n\r\n",
			"HTTP/1.1 301 Moved Permanently\r\ncontent-length: 0\r\nlocation: /article/42/\r\n", false},
		{"append-slash after the query", "redirect prefix /new append-slash", "GET /a?x=1 HTTP/1.1\r\nHost: a\r\n\r\n",
			"HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: /new/a?x=1/\r\n" + noCache, false},
		{"append-slash on a slash", "redirect prefix /new append-slash", "GET /a/ HTTP/1.1\r\nHost: a\r\n\r\n",
			"HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: /new/a/\r\n" + noCache, false},
		{"scheme keeps the port", "redirect scheme https code 307", "GET /p?q=1 HTTP/1.1\r\nHost: www.example.com:8080\r\n\r\n",
			"HTTP/1.1 307 Temporary Redirect\r\ncontent-length: 0\r\nlocation: https://www.example.com:8080/p?q=1\r\n" + noCache, false},
		{"scheme drop-query append-slash", "redirect scheme https drop-query append-slash", "GET /p?q=1 HTTP/1.1\r\nHost: example.com\r\n\r\n",
			"HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: https://example.com/p/\r\n" + noCache, false},
		{"scheme without a Host", "redirect scheme https", "GET /p HTTP/1.0\r\n\r\n",
			"HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: https:///p\r\n" + noCache + "connection: close\r\n", true},
		{"scheme with an empty Host", "redirect scheme https", "GET /p HTTP/1.1\r\nHost:\r\n\r\n",
			"HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: https:///p\r\n" + noCache, false},
		{"absolute-form target", "redirect scheme https", "GET http://h.example/x?y HTTP/1.1\r\nHost: h.example\r\n\r\n",
			"HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: https://h.example/x?y\r\n" + noCache, false},
		{"absolute-form target without a path", "redirect prefix /p", "GET http://h.example?y HTTP/1.1\r\nHost: h.example\r\n\r\n",
			"HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: /p/\r\n" + noCache, false},
		{"asterisk", "redirect prefix https://x.example", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
			"HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: https://x.example/\r\n" + noCache, false},
		{"clear-cookie", "redirect location / clear-cookie USERID=", "GET /logout HTTP/1.1\r\nHost: a\r\n\r\n",
			"HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: /\r\n" + noCache + "set-cookie: USERID=; path=/; Max-Age=0;\r\n", false},
		{"HEAD", "redirect location /h code 301", "HEAD /x HTTP/1.1\r\nHost: a\r\n\r\n",
			"HTTP/1.1 301 Moved Permanently\r\ncontent-length: 0\r\nlocation: /h\r\n", false},
		{"HTTP/1.0 keep-alive is kept", "redirect location /", "GET /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
			"HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: /\r\n" + noCache + "connection: keep-alive\r\n", false},
		{"HTTP/1.0 is closed", "redirect location /", "GET /x HTTP/1.0\r\n\r\n",
			"HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: /\r\n" + noCache + "connection: close\r\n", true},
		{"Connection: close", "redirect location / code 301", "GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
			"HTTP/1.1 301 Moved Permanently\r\ncontent-length: 0\r\nlocation: /\r\nconnection: close\r\n", true},
		{"a body is not read", "redirect location /", "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
			"HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: /\r\n" + noCache + "connection: close\r\n", true},
		{"a chunked body is not read", "redirect location /", "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhe",
			"HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: /\r\n" + noCache + "connection: close\r\n", true},
		{"an empty body is none", "redirect location /", "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
			"HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: /\r\n" + noCache, false},
		{"option httpclose", "redirect location /\n  option httpclose", "GET /x HTTP/1.1\r\nHost: a\r\n\r\n",
			"HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: /\r\n" + noCache + "connection: close\r\n", true},
		{"option http-server-close keeps the client", "redirect location /\n  option http-server-close", "GET /x HTTP/1.1\r\nHost: a\r\n\r\n",
			"HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: /\r\n" + noCache, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rule := tc.rule + " if !{ path_beg /next }"
			if i := strings.IndexByte(tc.rule, '\n'); i >= 0 {
				rule = tc.rule[:i] + " if !{ path_beg /next }" + tc.rule[i:]
			}
			_, addr := startEngine(t, redirectConfig(t, "  "+rule, "", "", web))
			c := dial(t, addr)
			br := bufio.NewReader(c)
			if _, err := io.WriteString(c, tc.req); err != nil {
				t.Fatal(err)
			}
			readExactly(t, c, br, tc.want+"\r\n")
			if tc.closed {
				if n := br.Buffered(); n != 0 {
					t.Fatalf("%d bytes after the answer", n)
				}
				waitClosed(t, c, 5*time.Second)
				return
			}
			// The connection carries the next request, to a server.
			_, body := httpRoundTrip(t, c, br, "GET /next HTTP/1.1\r\nHost: a\r\n\r\n")
			if body != "web01 GET /next" {
				t.Fatalf("next request on the connection: %q", body)
			}
		})
	}
}

// A frontend's rules come before use_backend, in order, the first that
// applies answering; a backend's apply only to what is routed to it.
func TestRedirectOrder(t *testing.T) {
	web := webNode(t, "web01")
	fe := strings.Join([]string{
		"  acl old path_beg /old",
		"  redirect location /first if old { hdr(x-n) 1 }",
		"  redirect location /second if old || { path /moved/old }",
		"  redirect location /third unless { method GET HEAD }",
	}, "\n")
	_, addr := startEngine(t, redirectConfig(t, fe, "  redirect prefix /app if { path_beg /a/ }", "  redirect prefix https://moved.example code 301 if !{ path /moved/stay }", web))
	for _, tc := range []struct{ req, location, body string }{
		{"GET /old HTTP/1.1\r\nHost: a\r\nX-N: 1\r\n\r\n", "/first", ""},
		{"GET /old/x HTTP/1.1\r\nHost: a\r\n\r\n", "/second", ""},
		{"GET /moved/old HTTP/1.1\r\nHost: a\r\n\r\n", "/second", ""}, // before use_backend
		{"DELETE /x HTTP/1.1\r\nHost: a\r\n\r\n", "/third", ""},
		{"GET /moved/x?y HTTP/1.1\r\nHost: a\r\n\r\n", "https://moved.example/moved/x?y", ""},
		{"GET /moved/stay HTTP/1.1\r\nHost: a\r\n\r\n", "", "web01 GET /moved/stay"},
		{"GET /a/b HTTP/1.1\r\nHost: a\r\n\r\n", "/app/a/b", ""},
		{"GET /b HTTP/1.1\r\nHost: a\r\n\r\n", "", "web01 GET /b"},
	} {
		c := dial(t, addr)
		resp, body := httpRoundTrip(t, c, bufio.NewReader(c), tc.req)
		if got := resp.Header.Get("Location"); got != tc.location || body != tc.body {
			t.Errorf("%q: location %q, body %q; want %q, %q", tc.req, got, body, tc.location, tc.body)
		}
	}
}

// Pipelined requests get their answers in order, redirects and forwarded
// responses alike, on one connection.
func TestRedirectPipelined(t *testing.T) {
	web := webNode(t, "web01")
	_, addr := startEngine(t, redirectConfig(t, "  redirect prefix /r if { path_beg /x }", "", "", web))
	c := dial(t, addr)
	br := bufio.NewReader(c)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "GET /x1 HTTP/1.1\r\nHost: a\r\n\r\nGET /x2 HTTP/1.1\r\nHost: a\r\n\r\nGET /y HTTP/1.1\r\nHost: a\r\n\r\nGET /x3 HTTP/1.1\r\nHost: a\r\n\r\n")
	for _, want := range []string{"/r/x1", "/r/x2", "web01 GET /y", "/r/x3"} {
		resp, body := readResponse(t, br, nil)
		if got := resp.Header.Get("Location") + body; got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
}

// A client that pipelines redirects and does not read fills its socket:
// the rest of an answer waits in a pipe, the next request waits in the
// client's socket, and everything arrives in order once it reads. Long
// answers to short requests fill the sockets towards the client first.
func TestRedirectToAClientThatDoesNotRead(t *testing.T) {
	web := webNode(t, "web01")
	long := "/" + strings.Repeat("a", 8000)
	e, addr := startEngine(t, redirectConfig(t, "  redirect location "+long+" if { path_beg /r }", "", "", web))
	c := dial(t, addr)
	const req = "GET /r HTTP/1.1\r\nHost: a\r\n\r\n"
	answer := "HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: " + long + "\r\ncache-control: no-cache\r\n\r\n"
	const n = 2000 // 16 MB of answers: more than the sockets hold
	go func() {
		io.WriteString(c, strings.Repeat(req, n)+"GET /last HTTP/1.1\r\nHost: a\r\n\r\n")
	}()
	if !waitFor(20*time.Second, func() bool { return e.Stats().PipesInUse > 0 }) {
		t.Fatal("the answers never backed up into a pipe")
	}
	c.SetReadDeadline(time.Now().Add(60 * time.Second))
	br := bufio.NewReaderSize(c, 64<<10)
	got := make([]byte, len(answer))
	for i := 0; i < n; i++ {
		if _, err := io.ReadFull(br, got); err != nil || string(got) != answer {
			t.Fatalf("answer %d: %.100q (%v)", i, got, err)
		}
	}
	if _, body := readResponse(t, br, nil); body != "web01 GET /last" {
		t.Fatalf("last request: %q", body)
	}
	if !waitFor(5*time.Second, func() bool { return e.Stats().PipesInUse == 0 }) {
		t.Errorf("%d pipes still in use", e.Stats().PipesInUse)
	}
}

// A redirect is logged as HAProxy logs it: the rule's status, "LR--",
// FRONTEND/<NOSRV> for a frontend's rule, BACKEND/<NOSRV> for a backend's,
// no server timers, and the answer's size; the counters see a 3xx.
func TestRedirectLogged(t *testing.T) {
	web := webNode(t, "web01")
	sink := &recordSink{}
	cfg := redirectConfig(t, "  redirect location /fe if { path /f }", "", "  redirect location /be code 301", web)
	e, addr := startEngineWith(t, cfg, logOpts(sink))
	c := dial(t, addr)
	br := bufio.NewReader(c)
	httpRoundTrip(t, c, br, "GET /f HTTP/1.1\r\nHost: a\r\n\r\n")
	httpRoundTrip(t, c, br, "GET /moved/x HTTP/1.1\r\nHost: a\r\n\r\n")
	httpRoundTrip(t, c, br, "GET /f HTTP/1.0\r\n\r\n")
	for i, want := range []struct {
		status        int
		backend, line string
		bytes         int
	}{
		{302, "fe", "GET /f HTTP/1.1", len("HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: /fe\r\ncache-control: no-cache\r\n\r\n")},
		{301, "moved", "GET /moved/x HTTP/1.1", len("HTTP/1.1 301 Moved Permanently\r\ncontent-length: 0\r\nlocation: /be\r\n\r\n")},
		{302, "fe", "GET /f HTTP/1.0", len("HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: /fe\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n")},
	} {
		r := sink.wait(t, i+1)
		if r.Status != want.status || term(r) != "LR" || r.Frontend != "fe" || r.Backend != want.backend || r.Server != "<NOSRV>" ||
			string(r.RequestLine()) != want.line || r.Bytes != int64(want.bytes) || r.Tw != -1 || r.Tc != -1 || r.Tr != -1 || r.Tq < 0 || r.Tt < 0 || r.Retries != 0 {
			t.Errorf("record %d: %d %s %s/%s/%s %q bytes %d Tq/Tw/Tc/Tr/Tt %d/%d/%d/%d/%d retries %d", i+1, r.Status, term(r), r.Frontend, r.Backend, r.Server,
				r.RequestLine(), r.Bytes, r.Tq, r.Tw, r.Tc, r.Tr, r.Tt, r.Retries)
		}
	}
	waitClosed(t, c, 5*time.Second)
	c.Close()
	fe, moved, app := e.FrontendCounters("fe"), e.Backend("moved"), e.Backend("app")
	if !waitFor(5*time.Second, func() bool { return fe.CurSessions.Load() == 0 }) {
		t.Fatal("session still counted after close")
	}
	if fe.Requests.Load() != 3 || fe.Responses[2].Load() != 3 || moved.Counters.Requests.Load() != 1 || moved.Counters.Responses[2].Load() != 1 ||
		app.Counters.Requests.Load() != 0 || moved.Counters.TotSessions.Load() != 0 || moved.Servers[0].Counters.TotSessions.Load() != 0 {
		t.Errorf("frontend req %d 3xx %d; moved req %d 3xx %d stot %d; app req %d", fe.Requests.Load(), fe.Responses[2].Load(),
			moved.Counters.Requests.Load(), moved.Counters.Responses[2].Load(), moved.Counters.TotSessions.Load(), app.Counters.Requests.Load())
	}
}

// A stats page comes before the redirect rules of its section, as in
// HAProxy: the frontend's page before the frontend's rules, and a
// backend's page before the backend's rules (but after the frontend's).
func TestRedirectAfterTheStatsPage(t *testing.T) {
	web := webNode(t, "web01")
	intercept := func(fe, be string, req *h1.Request) Local {
		switch {
		case string(req.Path) == "/fe-stats" && fe == "fe":
			return Local{Reply: []byte("HTTP/1.1 401 Unauthorized\r\nContent-Length: 2\r\nConnection: close\r\n\r\nfe"), Status: 401}
		case string(req.Path) == "/moved/stats" && be == "moved":
			return Local{Reply: []byte("HTTP/1.1 401 Unauthorized\r\nContent-Length: 2\r\nConnection: close\r\n\r\nbe"), Status: 401}
		}
		return Local{}
	}
	cfg := redirectConfig(t, "  redirect location /fe unless { path_beg /moved }", "", "  redirect location /be", web)
	addr := startEngineOpts(t, cfg, Options{Intercept: intercept})
	for _, tc := range []struct{ path, location, body string }{
		{"/fe-stats", "", "fe"},
		{"/x", "/fe", ""},
		{"/moved/stats", "", "be"},
		{"/moved/x", "/be", ""},
	} {
		c := dial(t, addr)
		resp, body := httpRoundTrip(t, c, bufio.NewReader(c), "GET "+tc.path+" HTTP/1.1\r\nHost: a\r\n\r\n")
		if resp.Header.Get("Location") != tc.location || body != tc.body {
			t.Errorf("%s: location %q body %q, want %q %q", tc.path, resp.Header.Get("Location"), body, tc.location, tc.body)
		}
	}
}

// A request no rule applies to costs nothing: no allocation to try the
// rules, and none to build an answer in a buffer that is big enough.
func TestRedirectAllocatesNothing(t *testing.T) {
	cfg, err := config.Parse("t.cfg", []byte(redirectConfig(t,
		"  acl old path_beg /old\n  redirect scheme https drop-query append-slash set-cookie A=1 if old || { hdr_dom(host) -i old.example }\n  redirect prefix /p if { path_end .php }",
		"", "", "127.0.0.1:1")), config.Options{Resolver: config.NoResolver})
	if err != nil {
		t.Fatal(err)
	}
	rs := newRedirects(cfg.Frontends()[0].Redirects, rules.NewCompiler())
	var req h1.Request
	head := []byte("GET /new/page?x=1 HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: t\r\n\r\n")
	if _, err := h1.ParseRequest(head, &req); err != nil {
		t.Fatal(err)
	}
	var tx rules.Txn
	var m rules.Msg
	if n := testing.AllocsPerRun(100, func() {
		tx.Reset()
		tx.Src = netip.MustParseAddrPort("127.0.0.1:40000")
		tx.Req = fillMsg(&m, &req)
		if matchRedirect(rs, &tx) != nil {
			t.Fatal("a rule matched")
		}
	}); n != 0 {
		t.Errorf("%v allocations per request no rule applies to", n)
	}
	buf := make([]byte, 0, 1024)
	if n := testing.AllocsPerRun(100, func() {
		buf = rs[0].appendResponse(buf[:0], &req)
	}); n != 0 {
		t.Errorf("%v allocations per answer", n)
	}
	want := "HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: https://www.example.com/new/page/\r\ncache-control: no-cache\r\nset-cookie: A=1; path=/;\r\n\r\n"
	if string(buf) != want {
		t.Errorf("answer %q, want %q", buf, want)
	}
}

func TestRedirectHostAndPath(t *testing.T) {
	for _, tc := range []struct{ host, wantHost, uri, wantPath string }{
		{"a.example:8080", "a.example:8080", "/x?y", "/x?y"},
		{" a.example ", "a.example", "http://a.example/x?y", "/x?y"},
		{"a,b", "a", "http://a.example", "/"},
		{"", "", "*", "/"},
		{"", "", "a.example:443", "/"},
		{"", "", "https://a.example?q", "/"},
	} {
		if got := string(redirectHost([]byte(tc.host))); got != tc.wantHost {
			t.Errorf("host %q: %q, want %q", tc.host, got, tc.wantHost)
		}
		if got := string(redirectPath([]byte(tc.uri))); got != tc.wantPath {
			t.Errorf("path of %q: %q, want %q", tc.uri, got, tc.wantPath)
		}
	}
}

// FuzzRedirectAnswer: whatever request head h1 accepts, the answer of
// every kind of rule is one well-formed response with the rule's status
// and one Location built from it: nothing a client sends can add a field
// or end the head early.
func FuzzRedirectAnswer(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /a/b?c=d HTTP/1.1\r\nHost: www.example.com:8080\r\n\r\n",
		"GET http://h.example/x?y HTTP/1.1\r\nHost: h.example\r\n\r\n",
		"OPTIONS * HTTP/1.0\r\n\r\n",
		"CONNECT h.example:443 HTTP/1.1\r\nHost: h.example:443\r\n\r\n",
		"POST /p HTTP/1.1\r\nHost: a,b\r\nContent-Length: 3\r\n\r\nabc",
	} {
		f.Add([]byte(s))
	}
	cfg, err := config.Parse("t.cfg", []byte(redirectConfig(f,
		"  redirect location https://x.example/a code 301 if { path /l }\n  redirect prefix /p drop-query append-slash set-cookie A=1 if { path /p }\n  redirect scheme https clear-cookie B= code 308\n  redirect prefix / code 307",
		"", "", "127.0.0.1:1")), config.Options{Resolver: config.NoResolver})
	if err != nil {
		f.Fatal(err)
	}
	rs := newRedirects(cfg.Frontends()[0].Redirects, rules.NewCompiler())
	f.Fuzz(func(t *testing.T, head []byte) {
		var req h1.Request
		if _, err := h1.ParseRequest(head, &req); err != nil {
			return
		}
		for _, r := range rs {
			out := string(r.appendResponse(nil, &req))
			resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(out)), nil)
			if err != nil {
				t.Fatalf("answer %q: %v", out, err)
			}
			loc := resp.Header.Values("Location")
			if resp.StatusCode != r.code || len(loc) != 1 || !strings.HasSuffix(out, "\r\n\r\n") || strings.Count(out, "\r\n\r\n") != 1 {
				t.Fatalf("answer %q: status %d, fields %v", out, resp.StatusCode, resp.Header)
			}
			// Only the fields fjord writes, each once.
			seen := map[string]bool{}
			for _, line := range strings.Split(out[:len(out)-4], "\r\n")[1:] {
				name, _, _ := strings.Cut(line, ": ")
				switch name {
				case "content-length", "location", "cache-control", "set-cookie":
				default:
					t.Fatalf("answer %q: field %q", out, line)
				}
				if seen[name] {
					t.Fatalf("answer %q: two %s fields", out, name)
				}
				seen[name] = true
			}
			if r.kind == config.RedirectScheme && !strings.HasPrefix(loc[0], "https://") ||
				r.kind == config.RedirectLocation && loc[0] != r.conf.Target {
				t.Fatalf("answer %q: location %q", out, loc[0])
			}
		}
	})
}

// A backend's rule closes the client when the backend's "option
// httpclose" combines into the request's mode; a frontend's rule, tried
// before any backend is chosen, follows the frontend's options only.
func TestRedirectBackendHTTPClose(t *testing.T) {
	web := webNode(t, "web01")
	_, addr := startEngine(t, redirectConfig(t, "  redirect location /fe if { path /f }", "", "  option httpclose\n  redirect location /be", web))
	const fe = "HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: /fe\r\ncache-control: no-cache\r\n\r\n"
	const be = "HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: /be\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n"
	c := dial(t, addr)
	br := bufio.NewReader(c)
	io.WriteString(c, "GET /f HTTP/1.1\r\nHost: a\r\n\r\n")
	readExactly(t, c, br, fe)
	io.WriteString(c, "GET /moved/x HTTP/1.1\r\nHost: a\r\n\r\n")
	readExactly(t, c, br, be)
	waitClosed(t, c, 5*time.Second)
}

// A connection that sends its first request while fjord stops softly gets
// its redirect, announced as the connection's last, and is closed.
func TestRedirectDuringSoftStop(t *testing.T) {
	web := webNode(t, "web01")
	e, addr := startEngine(t, redirectConfig(t, "  redirect location /", "", "", web))
	c := dial(t, addr)
	if !waitFor(5*time.Second, func() bool { return e.Stats().Sessions == 1 }) {
		t.Fatalf("sessions = %d, want 1", e.Stats().Sessions)
	}
	drained := e.SoftStop()
	io.WriteString(c, "GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
	readExactly(t, c, bufio.NewReader(c), "HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: /\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n")
	waitClosed(t, c, 5*time.Second)
	c.Close()
	waitDrained(t, drained, 5*time.Second)
}
