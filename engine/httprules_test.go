package engine

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// headersNode is a server that answers each request with its method,
// target and header fields, one a line, sorted, and a response field
// X-Node.
func headersNode(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var lines []string
		for name, vs := range r.Header {
			lines = append(lines, strings.ToLower(name)+": "+strings.Join(vs, ","))
		}
		sort.Strings(lines)
		w.Header().Set("X-Node", "n1")
		w.Header().Set("Server", "secret/1.0")
		fmt.Fprintf(w, "%s %s\n%s\n", r.Method, r.RequestURI, strings.Join(lines, "\n"))
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func rulesConfig(t testing.TB, feLines, beLines, srv string) string {
	return fmt.Sprintf(`global
  nbthread 2
defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
frontend fe
  bind 127.0.0.1:%d
%s
  default_backend app
backend app
%s
  server s1 %s
`, freePort(t), feLines, beLines, srv)
}

// ruleExchange sends raw requests on one connection and returns the
// responses, read with net/http.
func ruleExchange(t *testing.T, addr string, reqs ...string) []*http.Response {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	var out []*http.Response
	for _, r := range reqs {
		if _, err := io.WriteString(c, r); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("after %q: %v", r, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body = io.NopCloser(strings.NewReader(string(body)))
		out = append(out, resp)
		if resp.Close {
			break
		}
	}
	return out
}

func bodyOf(r *http.Response) string {
	b, _ := io.ReadAll(r.Body)
	return string(b)
}

func TestHTTPRequestRules(t *testing.T) {
	srv := headersNode(t)
	for _, tc := range []struct {
		name     string
		fe, be   string
		req      string
		status   int
		bodyHas  []string
		bodyNot  []string
		respHdrs map[string]string
	}{
		{name: "set-header and add-header",
			fe:  "  http-request set-header X-Forwarded-Proto http\n  http-request add-header X-A one\n  http-request add-header X-A two",
			req: "GET /p HTTP/1.1\r\nHost: a\r\nX-Forwarded-Proto: https\r\n\r\n", status: 200,
			bodyHas: []string{"x-forwarded-proto: http\n", "x-a: one,two\n"}},
		{name: "del-header", fe: "  http-request del-header X-Secret",
			req: "GET / HTTP/1.1\r\nHost: a\r\nX-Secret: 1\r\nx-secret: 2\r\n\r\n", status: 200, bodyNot: []string{"x-secret"}},
		{name: "a later rule sees an earlier change",
			fe:  "  http-request set-header X-Role admin\n  http-request deny if { req.hdr(x-role) admin }",
			req: "GET / HTTP/1.1\r\nHost: a\r\n\r\n", status: 403, bodyHas: []string{"403 Forbidden"}},
		{name: "deny with a status", fe: "  http-request deny deny_status 429 if { path_beg /api }",
			req: "GET /api/x HTTP/1.1\r\nHost: a\r\n\r\n", status: 429},
		{name: "allow stops the rules", fe: "  http-request allow if { src 127.0.0.1 }\n  http-request deny",
			req: "GET / HTTP/1.1\r\nHost: a\r\n\r\n", status: 200},
		{name: "return", fe: "  http-request return status 200 content-type text/plain string ok hdr X-Check %[path] if { path /health }",
			req: "GET /health HTTP/1.1\r\nHost: a\r\n\r\n", status: 200, bodyHas: []string{"ok"}, respHdrs: map[string]string{"X-Check": "/health", "Content-Type": "text/plain"}},
		{name: "return lf-string", fe: "  http-request return content-type text/plain lf-string \"path is %[path]\" if { path_beg /lf }",
			req: "GET /lf/x HTTP/1.1\r\nHost: a\r\n\r\n", status: 200, bodyHas: []string{"path is /lf/x"}},
		{name: "return without a body drops the type", fe: "  http-request return status 403 content-type text/plain",
			req: "GET / HTTP/1.1\r\nHost: a\r\n\r\n", status: 403, respHdrs: map[string]string{"Content-Type": "", "Content-Length": "0"}},
		{name: "redirect", fe: "  http-request redirect scheme https code 301 unless { ssl_fc }",
			req: "GET /a?b HTTP/1.1\r\nHost: www.example.com\r\n\r\n", status: 301, respHdrs: map[string]string{"Location": "https://www.example.com/a?b"}},
		{name: "set-path keeps the query", fe: "  http-request set-path /v2%[path]",
			req: "GET /x?q=1 HTTP/1.1\r\nHost: a\r\n\r\n", status: 200, bodyHas: []string{"GET /v2/x?q=1\n"}},
		{name: "set-query", fe: "  http-request set-query a=%[req.hdr(host)]",
			req: "GET /x?q=1 HTTP/1.1\r\nHost: h\r\n\r\n", status: 200, bodyHas: []string{"GET /x?a=h\n"}},
		{name: "replace-path", fe: `  http-request replace-path /old/(.*) /new/\1`,
			req: "GET /old/a/b?x HTTP/1.1\r\nHost: a\r\n\r\n", status: 200, bodyHas: []string{"GET /new/a/b?x\n"}},
		{name: "set-method", fe: "  http-request set-method POST",
			req: "GET /m HTTP/1.1\r\nHost: a\r\n\r\n", status: 200, bodyHas: []string{"POST /m\n"}},
		{name: "replace-header", fe: `  http-request replace-header User-Agent (.*)bot(.*) \1robot\2`,
			req: "GET / HTTP/1.1\r\nHost: a\r\nUser-Agent: goodbot/1\r\n\r\n", status: 200, bodyHas: []string{"user-agent: goodrobot/1\n"}},
		{name: "replace-value", fe: `  http-request replace-value X-L ^a(.*) b\1`,
			req: "GET / HTTP/1.1\r\nHost: a\r\nX-L: a1, c2, a3\r\n\r\n", status: 200, bodyHas: []string{"x-l: b1, c2, b3\n"}},
		{name: "variables", fe: "  http-request set-var(txn.host) req.hdr(host)\n  http-request set-header X-Host %[var(txn.host)]",
			req: "GET / HTTP/1.1\r\nHost: vh\r\n\r\n", status: 200, bodyHas: []string{"x-host: vh\n"}},
		{name: "backend rules after routing", be: "  http-request set-header X-Backend %[be_name]",
			req: "GET / HTTP/1.1\r\nHost: a\r\n\r\n", status: 200, bodyHas: []string{"x-backend: app\n"}},
		{name: "a value with a line break is refused",
			fe:  `  http-request set-header X-Q %[query,regsub(x,"\r\n")]`,
			req: "GET /?x HTTP/1.1\r\nHost: a\r\n\r\n", status: 500},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, addr := startEngine(t, rulesConfig(t, tc.fe, tc.be, srv))
			resp := ruleExchange(t, addr, tc.req)[0]
			body := bodyOf(resp)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d; body %q", resp.StatusCode, tc.status, body)
			}
			for _, s := range tc.bodyHas {
				if !strings.Contains(body, s) {
					t.Errorf("body %q lacks %q", body, s)
				}
			}
			for _, s := range tc.bodyNot {
				if strings.Contains(body, s) {
					t.Errorf("body %q has %q", body, s)
				}
			}
			for k, v := range tc.respHdrs {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("response %s: %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestHTTPResponseRules(t *testing.T) {
	srv := headersNode(t)
	cfg := rulesConfig(t,
		"  http-request set-var(txn.p) path\n  http-response set-header Strict-Transport-Security max-age=63072000\n  http-response del-header Server\n  http-response set-header X-Path %[var(txn.p)]",
		"  http-response set-status 203 reason Rewritten if { res.hdr(x-node) n1 }\n  http-response deny if { status 404 }", srv)
	_, addr := startEngine(t, cfg)
	rs := ruleExchange(t, addr, "GET /a HTTP/1.1\r\nHost: a\r\n\r\n", "GET /b HTTP/1.1\r\nHost: a\r\n\r\n")
	if len(rs) != 2 {
		t.Fatalf("%d responses on a kept connection, want 2", len(rs))
	}
	for _, r := range rs {
		if r.StatusCode != 203 || r.Status != "203 Rewritten" {
			t.Errorf("status %q", r.Status)
		}
		if r.Header.Get("Strict-Transport-Security") != "max-age=63072000" || r.Header.Get("Server") != "" {
			t.Errorf("fields %v", r.Header)
		}
		if !strings.HasPrefix(bodyOf(r), "GET /") {
			t.Errorf("body lost")
		}
	}
	// A transaction variable lives from the request to its response.
	if rs[0].Header.Get("X-Path") != "/a" || rs[1].Header.Get("X-Path") != "/b" {
		t.Errorf("X-Path %q, %q", rs[0].Header.Get("X-Path"), rs[1].Header.Get("X-Path"))
	}
}

// A request a rule answers keeps the connection, and the next request on
// it is proxied normally.
func TestHTTPReturnKeepsConnection(t *testing.T) {
	srv := headersNode(t)
	_, addr := startEngine(t, rulesConfig(t,
		"  http-request return status 200 content-type text/plain string pong if { path /ping }", "", srv))
	rs := ruleExchange(t, addr, "GET /ping HTTP/1.1\r\nHost: a\r\n\r\n", "GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
	if len(rs) != 2 || bodyOf(rs[0]) != "pong" || !strings.HasPrefix(bodyOf(rs[1]), "GET /x") {
		t.Fatalf("responses %d", len(rs))
	}
}

// An admin path behind a userlist: 401 without credentials or with a
// wrong password, the request forwarded with them.
func TestHTTPAuth(t *testing.T) {
	srv := headersNode(t)
	cfg := `userlist admins
  group ops
  user alice insecure-password s3cret groups ops
  user bob insecure-password b0b
` + rulesConfig(t, "  acl is_admin path_beg /admin\n  http-request auth realm Admin if is_admin !{ http_auth_group(admins) ops }", "", srv)
	_, addr := startEngine(t, cfg)
	for _, tc := range []struct {
		auth string
		want int
	}{
		{"", 401},
		{"Basic " + base64.StdEncoding.EncodeToString([]byte("alice:wrong")), 401},
		{"Basic " + base64.StdEncoding.EncodeToString([]byte("bob:b0b")), 401}, // not in the group
		{"Basic " + base64.StdEncoding.EncodeToString([]byte("alice:s3cret")), 200},
	} {
		req := "GET /admin/x HTTP/1.1\r\nHost: a\r\n"
		if tc.auth != "" {
			req += "Authorization: " + tc.auth + "\r\n"
		}
		resp := ruleExchange(t, addr, req+"\r\n")[0]
		if resp.StatusCode != tc.want {
			t.Errorf("%q: status %d, want %d", tc.auth, resp.StatusCode, tc.want)
		}
		if tc.want == 401 && resp.Header.Get("Www-Authenticate") != `Basic realm="Admin"` {
			t.Errorf("WWW-Authenticate %q", resp.Header.Get("Www-Authenticate"))
		}
	}
}

// use_backend with a name built per request: a name no backend has
// falls to default_backend.
func TestDynamicUseBackend(t *testing.T) {
	a, b := webNode(t, "nodeA"), webNode(t, "nodeB")
	cfg := fmt.Sprintf(`defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
frontend fe
  bind 127.0.0.1:%d
  use_backend be_%%[req.hdr(x-site)] if { req.hdr(x-site) -m found }
  default_backend be_a
backend be_a
  server a %s
backend be_b
  server b %s
`, freePort(t), a, b)
	_, addr := startEngine(t, cfg)
	for _, tc := range []struct{ site, want string }{{"b", "nodeB"}, {"a", "nodeA"}, {"nope", "nodeA"}, {"", "nodeA"}} {
		req := "GET / HTTP/1.1\r\nHost: x\r\n"
		if tc.site != "" {
			req += "X-Site: " + tc.site + "\r\n"
		}
		resp := ruleExchange(t, addr, req+"\r\n")[0]
		if got := resp.Header.Get("X-Served-By"); got != tc.want {
			t.Errorf("X-Site %q: served by %q, want %q", tc.site, got, tc.want)
		}
	}
}

// Variables set by tcp-request rules at each stage reach the HTTP rules,
// and a PROXY header can be asked for by a rule.
func TestTCPRuleVariablesAndExpectProxy(t *testing.T) {
	srv := headersNode(t)
	cfg := `global
  set-var proc.base int(40)
  set-var-fmt proc.greeting "hello %[var(proc.base)]"
` + rulesConfig(t, `  tcp-request connection expect-proxy layer4 if { src 127.0.0.1 }
  tcp-request connection set-var(sess.conn) src
  tcp-request session set-var(sess.sess) src
  tcp-request content set-var-fmt(sess.content) "c-%[var(sess.sess)]"
  http-request set-var(txn.once,ifnotset) str(first)
  http-request set-var(txn.once,ifnotset) str(second)
  http-request return status 200 content-type text/plain lf-string "%[var(sess.conn)] %[var(sess.sess)] %[var(sess.content)] %[var(txn.once)] %[var(proc.greeting)]"`, "", srv)
	_, addr := startEngine(t, cfg)
	resp := ruleExchange(t, addr, "PROXY TCP4 192.0.2.9 192.0.2.1 5555 80\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n")[0]
	// Connection rules run before the PROXY header is read: they see the
	// peer; session rules run after it, as in HAProxy.
	if got, want := bodyOf(resp), "127.0.0.1 192.0.2.9 c-192.0.2.9 first hello 40"; got != want {
		t.Fatalf("body %q, want %q", got, want)
	}
}

// In mode http the frontend's tcp-request content rules run on each
// request, as HAProxy runs them on each stream: the transaction variables
// they set are that request's (a previous request's are gone), and a
// reject closes the connection when the request that meets it comes.
func TestTCPContentRulesRunPerRequest(t *testing.T) {
	srv := headersNode(t)
	_, addr := startEngine(t, rulesConfig(t, `  tcp-request content reject if { var(txn.h) -m found }
  tcp-request content reject if { var(sess.n) -m int ge 2 }
  tcp-request content set-var(sess.n) var(sess.n),add(1) if { var(sess.n) -m found }
  tcp-request content set-var(sess.n) int(1) unless { var(sess.n) -m found }
  tcp-request content set-var(txn.c) str(content)
  http-request set-var(txn.h) str(http)
  http-request return status 200 content-type text/plain lf-string "%[var(txn.c)] %[var(sess.n)]"`, "", srv))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	for i, want := range []string{"content 1", "content 2"} {
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
		if got := bodyOf(resp); got != want {
			t.Errorf("request %d: body %q, want %q", i+1, got, want)
		}
	}
	// The third request meets the session counter's reject: no answer.
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	// (A reset is a close too: the request is left unread.)
	if b, _ := io.ReadAll(br); len(b) != 0 {
		t.Errorf("third request: got %q, want the connection closed", b)
	}
}

// reject closes without an answer; early-hint sends a 103 before the
// response; replace-pathq rewrites path and query together.
func TestRejectEarlyHintReplacePathQ(t *testing.T) {
	srv := headersNode(t)
	_, addr := startEngine(t, rulesConfig(t, `  http-request reject if { path /drop }
  http-request early-hint link "</style.css>; rel=preload" if { path /hint }
  http-request early-hint link "</app.js>; rel=preload" if { path /hint }
  http-request replace-pathq /q\?a=(.*) /r/\1`, "", srv))

	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "GET /drop HTTP/1.1\r\nHost: a\r\n\r\n")
	if b, err := io.ReadAll(c); len(b) != 0 {
		t.Errorf("rejected request answered %q (%v)", b, err)
	}

	c2, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	c2.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c2, "GET /hint HTTP/1.1\r\nHost: a\r\n\r\n")
	br := bufio.NewReader(c2)
	hint, err := http.ReadResponse(br, nil)
	if err != nil || hint.StatusCode != 103 || len(hint.Header.Values("Link")) != 2 {
		t.Fatalf("early hints %v %v", hint, err)
	}
	final, err := http.ReadResponse(br, nil)
	if err != nil || final.StatusCode != 200 {
		t.Fatalf("final response %v %v", final, err)
	}

	resp := ruleExchange(t, addr, "GET /q?a=1 HTTP/1.1\r\nHost: a\r\n\r\n")[0]
	if body := bodyOf(resp); !strings.HasPrefix(body, "GET /r/1\n") {
		t.Errorf("replace-pathq: %q", body)
	}
}

// tarpit holds the request, then answers 500 (or its deny_status)
// without the server seeing it.
func TestTarpit(t *testing.T) {
	srv := headersNode(t)
	_, addr := startEngine(t, rulesConfig(t, "  timeout tarpit 100ms\n  http-request tarpit if { path /slow }\n  http-request tarpit deny_status 429 if { path /slower }", "", srv))
	// The answer comes at the end of the tarpit, and the connection,
	// whose request was read whole, then serves the next one.
	for path, want := range map[string]int{"/slow": 500, "/slower": 429} {
		req := "GET " + path + " HTTP/1.1\r\nHost: a\r\n\r\n"
		resps := ruleExchange(t, addr, req, req)
		if len(resps) != 2 {
			t.Errorf("%s: the connection closed after the first answer (%d)", path, resps[0].StatusCode)
			continue
		}
		for _, resp := range resps {
			if resp.StatusCode != want {
				t.Errorf("%s: status %d, want %d", path, resp.StatusCode, want)
			}
		}
	}
}

// set-timeout server replaces 'timeout server' for the request.
func TestSetTimeoutServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // a server that reads and never answers
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go io.Copy(io.Discard, c)
		}
	}()
	_, addr := startEngine(t, rulesConfig(t, "  http-request set-timeout server 200ms if { path /short }", "", ln.Addr().String()))
	resp := ruleExchange(t, addr, "GET /short HTTP/1.1\r\nHost: a\r\n\r\n")[0]
	if resp.StatusCode != 504 {
		t.Fatalf("status %d, want 504 once the 200ms server timeout passed (timeout server is 30s)", resp.StatusCode)
	}
}

// nbsrv() counts a backend's usable servers: HAProxy's usual monitor
// fail condition.
func TestMonitorFailNbsrv(t *testing.T) {
	srv := headersNode(t)
	cfg := fmt.Sprintf(`defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
frontend fe
  bind 127.0.0.1:%d
  monitor-uri /up
  monitor fail if { nbsrv(app) lt 2 }
  http-request return status 200 content-type text/plain lf-string "%%[nbsrv(app)] %%[nbsrv(solo)]" if { path /count }
  default_backend app
backend app
  server a %s
  server b %s
backend solo
  server c %s
`, freePort(t), srv, srv, srv)
	_, addr := startEngine(t, cfg)
	if resp := ruleExchange(t, addr, "GET /up HTTP/1.1\r\nHost: a\r\n\r\n")[0]; resp.StatusCode != 200 {
		t.Errorf("monitor with two servers: %d", resp.StatusCode)
	}
	if body := bodyOf(ruleExchange(t, addr, "GET /count HTTP/1.1\r\nHost: a\r\n\r\n")[0]); body != "2 1" {
		t.Errorf("nbsrv: %q", body)
	}
}

// option http-buffer-request: the rules read the body (Content-Length
// or chunked) and the server still gets it whole.
func TestBufferRequestBody(t *testing.T) {
	srv := webNode(t, "n1")
	_, addr := startEngine(t, rulesConfig(t, `  option http-buffer-request
  http-request deny deny_status 400 if { req.body -m sub forbidden }
  http-request set-header X-Len %[req.len]`, "", srv))
	body := "hello body"
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	// The head first, the body in a second write: the rules must wait.
	io.WriteString(c, fmt.Sprintf("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n", len(body)))
	io.WriteString(c, body)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("POST: %v %v", resp, err)
	}
	if got, _ := io.ReadAll(resp.Body); string(got) != body {
		t.Errorf("echoed %q", got)
	}
	io.WriteString(c, "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nforb\r\n5\r\nidden\r\n0\r\n\r\n")
	resp, err = http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 400 {
		t.Fatalf("chunked forbidden body: %v %v", resp, err)
	}
}

// normalize-uri: the server receives the normalized target (path
// normalizers keep the query; a later rule and the routing read the new
// path); strict's invalid input is answered 400, counted as a bad
// request, and never reaches the server; an already normal request is
// forwarded as it came.
func TestHTTPNormalizeURI(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.RequestURI)
		mu.Unlock()
		fmt.Fprintf(w, "%s %s\nx-path: %s\n", r.Method, r.RequestURI, r.Header.Get("X-Path"))
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	e, addr := startEngine(t, rulesConfig(t, strings.Join([]string{
		"  http-request normalize-uri path-merge-slashes",
		"  http-request normalize-uri path-strip-dot",
		"  http-request normalize-uri path-strip-dotdot full",
		"  http-request normalize-uri percent-decode-unreserved strict",
		"  http-request normalize-uri percent-to-uppercase strict",
		"  http-request set-header X-Path %[path]",
	}, "\n"), "  http-request normalize-uri query-sort-by-name", ln.Addr().String()))
	for _, tc := range []struct {
		req    string
		status int
		uri    string // as the server received it
	}{
		{"GET //a/./b/../../../c//d%2e%7eX?z=%2f&a=%61 HTTP/1.1\r\nHost: a\r\n\r\n", 200, "/c/d.~X?a=a&z=%2F"},
		{"GET http://a//x/./y?b&a HTTP/1.1\r\nHost: a\r\n\r\n", 200, "http://a/x/y?a&b"},
		{"GET /already/normal?a=1&b=2 HTTP/1.1\r\nHost: a\r\n\r\n", 200, "/already/normal?a=1&b=2"},
		{"GET /bad%zz HTTP/1.1\r\nHost: a\r\n\r\n", 400, ""},
		{"GET /a?q=50% HTTP/1.1\r\nHost: a\r\n\r\n", 400, ""},
	} {
		mu.Lock()
		seen = nil
		mu.Unlock()
		resp := ruleExchange(t, addr, tc.req)[0]
		body := bodyOf(resp)
		if resp.StatusCode != tc.status {
			t.Errorf("%q: status %d, want %d; body %q", tc.req, resp.StatusCode, tc.status, body)
			continue
		}
		mu.Lock()
		got := seen
		mu.Unlock()
		if tc.status != 200 {
			if len(got) != 0 || !resp.Close {
				t.Errorf("%q: the server got %q; close %v", tc.req, got, resp.Close)
			}
			continue
		}
		if len(got) != 1 || got[0] != tc.uri {
			t.Errorf("%q: the server got %q, want %q", tc.req, got, tc.uri)
		}
		path := tc.uri
		if i := strings.Index(path, "//"); i >= 0 {
			path = path[i+2:]
			path = path[strings.IndexByte(path, '/'):]
		}
		path, _, _ = strings.Cut(path, "?")
		if !strings.Contains(body, "x-path: "+path+"\n") {
			t.Errorf("%q: a later rule read another path: %q, want %q", tc.req, body, path)
		}
	}
	if n := e.FrontendCounters("fe").ReqErrors.Load(); n != 2 {
		t.Errorf("%d bad requests counted, want 2", n)
	}
}

// tcp-response content reject closes a connection before any server byte
// reaches the client, in mode http too (HAProxy sends no 502 either).
func TestTCPResponseReject(t *testing.T) {
	srv := headersNode(t)
	port := freePort(t)
	cfg := fmt.Sprintf(`defaults
  timeout connect 2s
  timeout client 30s
  timeout server 30s
listen tcpfe
  mode tcp
  bind 127.0.0.1:%d
  tcp-request connection set-var(sess.block) int(1)
  tcp-response content reject if { var(sess.block) -m int 1 }
  server s %s
`, port, srv)
	startEngine(t, cfg)
	// Another engine: two freePort calls may give the same port.
	_, addr := startEngine(t, rulesConfig(t, "", "  http-request set-var(sess.block) int(1)\n  tcp-response content reject if { var(sess.block) -m int 1 }", srv))
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	if b, _ := io.ReadAll(c); len(b) != 0 {
		t.Errorf("tcp: the client got %q", b)
	}
	c2 := dial(t, addr)
	io.WriteString(c2, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	c2.SetReadDeadline(time.Now().Add(10 * time.Second))
	if b, _ := io.ReadAll(c2); len(b) != 0 {
		t.Errorf("http: the client got %q", b)
	}
}

// tcp-response content rules set variables and evaluation goes on: in
// tcp mode a later rule reads what an earlier set; in mode http the
// http-response rules read them, as the transaction's.
func TestTCPResponseSetVar(t *testing.T) {
	srv := headersNode(t)
	port := freePort(t)
	startEngine(t, fmt.Sprintf(`defaults
  timeout connect 2s
  timeout client 30s
  timeout server 30s
listen tcpfe
  mode tcp
  bind 127.0.0.1:%d
  tcp-response content set-var(sess.seen) str(yes)
  tcp-response content reject if { var(sess.seen) -m str yes }
  server s %s
`, port, srv))
	_, addr := startEngine(t, rulesConfig(t, "", `  tcp-response content set-var(txn.r) str(from-tcp)
  tcp-response content set-var-fmt(txn.f) "%[var(txn.r)]-fmt"
  http-response set-header x-r "%[var(txn.r)] %[var(txn.f)]"`, srv))
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	if b, _ := io.ReadAll(c); len(b) != 0 {
		t.Errorf("tcp: the rule after set-var did not see it: the client got %q", b)
	}
	for i, resp := range ruleExchange(t, addr, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "GET / HTTP/1.1\r\nHost: a\r\n\r\n") {
		if got := resp.Header.Get("X-R"); got != "from-tcp from-tcp-fmt" {
			t.Errorf("http, request %d: x-r %q, want the tcp-response rules' variables", i+1, got)
		}
	}
}

// A server that closes a kept connection as the next request arrives
// (an idle timeout racing the request): the request, sent whole with its
// body, goes again on a new connection, as HAProxy retries it, and the
// client never sees the close.
func TestRetryOnClosedKeptConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var conns atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n := conns.Add(1)
			go func(c net.Conn, n int32) {
				defer c.Close()
				br := bufio.NewReader(c)
				for i := 0; ; i++ {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.Copy(io.Discard, req.Body)
					if n == 1 && i == 1 {
						return // the second request on the first connection: close unanswered
					}
					fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(req.URL.Path), req.URL.Path)
				}
			}(c, n)
		}
	}()
	_, addr := startEngine(t, rulesConfig(t, "", "", ln.Addr().String()))
	rs := ruleExchange(t, addr, "GET /one HTTP/1.1\r\nHost: a\r\n\r\n", "POST /two HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc")
	if len(rs) != 2 || rs[1].StatusCode != 200 || bodyOf(rs[1]) != "/two" {
		t.Fatalf("second response: %d responses, %v", len(rs), rs[len(rs)-1].Status)
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("%d server connections, want 2", n)
	}
}

// capture.req.* read the request as it came, before rules rewrote it,
// in request and response rules alike; capture.req.hdr(N) the frontend's
// slots (a websocket handshake's key, as websocket.vtc computes it).
func TestCaptureFetches(t *testing.T) {
	srv := headersNode(t)
	_, addr := startEngine(t, rulesConfig(t, `  capture request header Sec-WebSocket-Key len 64
  capture response header X-Node len 8
  http-request return status 200 hdr accept "%[capture.req.hdr(0),concat(258EAFA5-E914-47DA-95CA-C5AB0DC85B11,,),sha1,base64]" if { path /ws }
  http-request set-path /rewritten
  http-response set-header X-Uri "%[capture.req.uri]"
  http-response set-header X-Method "%[capture.req.method]"
  http-response set-header X-Vers "%[capture.req.ver] %[capture.res.ver]"
  http-response set-header X-Node-Seen "%[capture.res.hdr(0)]"`, `  http-response set-header X-Be-Deny yes if { capture.req.uri /deny-me }`, srv))
	resps := ruleExchange(t, addr,
		"GET /ws HTTP/1.1\r\nHost: a\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
		"GET /deny-me HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET http://a/orig?q=1 HTTP/1.1\r\nHost: a\r\n\r\n")
	// RFC 6455's example key and accept value.
	if got := resps[0].Header.Get("Accept"); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Errorf("accept from capture.req.hdr(0): %q", got)
	}
	if got := resps[1].Header.Get("X-Be-Deny"); got != "yes" {
		t.Errorf("capture.req.uri in the backend's response rules: X-Be-Deny %q", got)
	}
	r := resps[2]
	if body := bodyOf(r); !strings.HasPrefix(body, "GET http://a/rewritten?q=1") {
		t.Errorf("the server got %q, want the rewritten path", body)
	}
	for name, want := range map[string]string{
		"X-Uri":       "/orig?q=1", // the path of the target as sent
		"X-Method":    "GET",
		"X-Vers":      "HTTP/1.1 HTTP/1.1",
		"X-Node-Seen": "n1", // captured from this response
	} {
		if got := r.Header.Get(name); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	if got := resps[1].Header.Get("X-Uri"); got != "/deny-me" {
		t.Errorf("the second request's capture: X-Uri %q", got)
	}
	// An HTTP/1.0 request: its version, and the server's answer's.
	r = ruleExchange(t, addr, "GET /v HTTP/1.0\r\nHost: a\r\n\r\n")[0]
	if got := r.Header.Get("X-Vers"); got != "HTTP/1.0 HTTP/1.0" {
		t.Errorf("X-Vers for HTTP/1.0: %q", got)
	}
}

// lineOf is the line number of the first line of cfg containing marker.
func lineOf(t *testing.T, cfg, marker string) string {
	t.Helper()
	for i, l := range strings.Split(cfg, "\n") {
		if strings.Contains(l, marker) {
			return fmt.Sprint(i + 1)
		}
	}
	t.Fatalf("no line %q", marker)
	return ""
}

// last_rule_file and last_rule_line: the last rule that stopped a rule
// set for this request (a content rule's accept, an allow), later sets
// overriding earlier ones; rules that go on (set-header) never count,
// and a new request on the connection starts without one.
func TestLastRule(t *testing.T) {
	srv := headersNode(t)
	cfg := fmt.Sprintf(`global
  nbthread 1
defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
frontend fe
  bind 127.0.0.1:%d
  http-request set-header X-Not-Final 1
  http-response set-header X-LR "%%[last_rule_file]:%%[last_rule_line]"
  use_backend plain if { path /plain }
  use_backend resp if { path /resp }
  default_backend app
backend app
  tcp-request content accept if { src 127.0.0.1 } # content
  http-request allow if { path /allow } # allow
  http-request set-header X-After 1
  server s1 %s
backend plain
  server s1 %s
backend resp
  http-response allow # response
  server s1 %s
`, freePort(t), srv, srv, srv)
	_, addr := startEngine(t, cfg)
	resps := ruleExchange(t, addr,
		"GET /x HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /allow HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /plain HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /resp HTTP/1.1\r\nHost: a\r\n\r\n")
	for i, want := range []string{
		"test.cfg:" + lineOf(t, cfg, "# content"),
		"test.cfg:" + lineOf(t, cfg, "# allow"),
		":", // no final rule for this request: no sample (nothing in a header, "-" in a log line)
		"test.cfg:" + lineOf(t, cfg, "# response"),
	} {
		if got := resps[i].Header.Get("X-LR"); got != want {
			t.Errorf("request %d: X-LR %q, want %q", i, got, want)
		}
	}
}

// A backend's tcp-request content rules run for each request routed to
// it, on its head: they may read it, and their variables reach the
// backend's http-request rules.
func TestBackendContentRulesReadRequest(t *testing.T) {
	srv := headersNode(t)
	_, addr := startEngine(t, rulesConfig(t, "", `  tcp-request content set-var(txn.path) path
  tcp-request content reject if { var(txn.path) -m beg /blocked }
  http-request set-header X-Seen %[var(txn.path)]`, srv))
	resps := ruleExchange(t, addr, "GET /a HTTP/1.1\r\nHost: a\r\n\r\n", "GET /b HTTP/1.1\r\nHost: a\r\n\r\n")
	for i, want := range []string{"/a", "/b"} {
		if body := bodyOf(resps[i]); !strings.Contains(body, "x-seen: "+want+"\n") {
			t.Errorf("request %d: the server got %q", i, body)
		}
	}
	c := dial(t, addr)
	io.WriteString(c, "GET /blocked HTTP/1.1\r\nHost: a\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if b, _ := io.ReadAll(c); len(b) != 0 {
		t.Errorf("a rejected request got %q", b)
	}
}

// A return's hdr whose value renders empty adds no field, as HAProxy's
// http_reply_message.
func TestReturnDropsEmptyField(t *testing.T) {
	cfg := rulesConfig(t, `  http-request return status 200 hdr x-ff "%[req.hdr(x-forwarded-for)]" hdr x-set set`, "", "127.0.0.1:1")
	_, addr := startEngine(t, cfg)
	r := ruleExchange(t, addr, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n")
	if len(r) != 2 {
		t.Fatalf("%d responses, want 2", len(r))
	}
	if _, ok := r[0].Header["X-Ff"]; ok || r[0].Header.Get("X-Set") != "set" {
		t.Errorf("fields %v: want x-set and no x-ff", r[0].Header)
	}
	if got := r[1].Header.Get("X-Ff"); got != "10.0.0.1" {
		t.Errorf("x-ff %q, want 10.0.0.1", got)
	}
}

// pathServer answers every request with a 200 carrying a large body
// and X-Path set to its target, on connections it counts.
func pathServer(t *testing.T) (addr string, conns *atomic.Int64) {
	conns = new(atomic.Int64)
	body := strings.Repeat("b", 100000)
	addr = serveTCP(t, func(c net.Conn) {
		conns.Add(1)
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			io.Copy(io.Discard, req.Body)
			if _, err := fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nX-Path: %s\r\nContent-Length: %d\r\n\r\n%s", req.URL.Path, len(body), body); err != nil {
				return
			}
		}
	})
	return addr, conns
}

// An http-response redirect replaces the server's response: the client
// gets the redirect and its connection is kept, the server's is closed
// with the rest of its response unread; an HTTP/1.0 client is closed.
func TestHTTPResponseRedirect(t *testing.T) {
	srv, conns := pathServer(t)
	_, addr := startEngine(t, rulesConfig(t, "",
		"  http-response redirect location /moved code 301 set-cookie M=1 if { res.hdr(x-path) /old }\n"+
			"  http-response redirect location https://b.example/ if { res.hdr(x-path) /post }", srv))
	rs := ruleExchange(t, addr,
		"GET /old HTTP/1.1\r\nHost: a\r\n\r\n",
		"POST /post HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc",
		"GET /new HTTP/1.1\r\nHost: a\r\n\r\n")
	if len(rs) != 3 {
		t.Fatalf("%d responses on a kept connection, want 3", len(rs))
	}
	if r := rs[0]; r.StatusCode != 301 || r.Header.Get("Location") != "/moved" || r.Header.Get("Set-Cookie") != "M=1; path=/;" ||
		r.ContentLength != 0 || r.Close || bodyOf(r) != "" {
		t.Errorf("301: %d %v", r.StatusCode, r.Header)
	}
	if r := rs[1]; r.StatusCode != 302 || r.Header.Get("Location") != "https://b.example/" || r.Header.Get("Cache-Control") != "no-cache" || r.Close {
		t.Errorf("302: %d %v", r.StatusCode, r.Header)
	}
	if r := rs[2]; r.StatusCode != 200 || len(bodyOf(r)) != 100000 {
		t.Errorf("200: %d, %d bytes", r.StatusCode, len(bodyOf(r)))
	}
	// Each redirected response's server connection was dropped.
	if n := conns.Load(); n != 3 {
		t.Errorf("%d server connections, want 3", n)
	}
	got := untilClose(t, addr, "GET /old HTTP/1.0\r\nHost: a\r\n\r\n")
	want := "HTTP/1.1 301 Moved Permanently\r\ncontent-length: 0\r\nlocation: /moved\r\nset-cookie: M=1; path=/;\r\nconnection: close\r\n\r\n"
	if got != want {
		t.Errorf("HTTP/1.0:\n got %q\nwant %q", got, want)
	}
}

// A response redirected before the request was all sent closes the
// client's connection: the rest of the request could not be told from a
// next one.
func TestHTTPResponseRedirectBeforeRequestEnd(t *testing.T) {
	early := serveTCP(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		if _, err := http.ReadRequest(br); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		io.Copy(io.Discard, br)
	})
	_, addr := startEngine(t, rulesConfig(t, "", "  http-response redirect location /elsewhere", early))
	c := dial(t, addr)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\npartial")
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	want := "HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: /elsewhere\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n"
	if string(got) != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

// strictConfig is HAProxy's reg-test http-rules/strict_rw_mode.vtc's
// setting: a 2048-byte buffer of which 128 are kept for rewrites, with
// request bodies buffered.
func strictConfig(t *testing.T, fe, be, srv string) string {
	return strings.Replace(rulesConfig(t, fe, be, srv), "global\n", "global\n  tune.bufsize 2048\n  tune.maxrewrite 128\n", 1)
}

// A rewrite past tune.bufsize, counting the body that came with the head
// up to tune.bufsize - tune.maxrewrite, fails: 500 in strict mode, for a
// request as for a response; skipped after "strict-mode off"; each rule
// set starts strict.
func TestStrictModeAndRewriteRoom(t *testing.T) {
	v60 := strings.Repeat("1234567890", 6)
	t.Run("request", func(t *testing.T) {
		srv := headersNode(t)
		_, addr := startEngine(t, strictConfig(t,
			"  option http-buffer-request\n"+
				"  http-request set-header x-hdr1 "+v60+"\n"+
				"  http-request set-header x-hdr2 "+v60+" if { path /req2 }\n"+
				"  http-request strict-mode off if { path /req3 }\n"+
				"  http-request set-header x-hdr3 "+v60+" if { path /req3 }",
			"  http-request set-header x-hdr3 "+v60+" if { path /req4 }", srv))
		body := strings.Repeat("b", 2000)
		for _, tc := range []struct {
			path   string
			status int
			has    []string
			not    []string
		}{
			{"/req1", 200, []string{"x-hdr1: " + v60}, nil},
			{"/req2", 500, nil, nil},
			{"/req3", 200, []string{"x-hdr1: " + v60}, []string{"x-hdr3"}},
			{"/req4", 500, nil, nil},
			// A small body leaves room for every field.
			{"/req2?small", 200, []string{"x-hdr1: " + v60, "x-hdr2: " + v60}, nil},
		} {
			b := body
			if strings.HasSuffix(tc.path, "small") {
				b = "tiny"
			}
			rs := ruleExchange(t, addr, fmt.Sprintf("POST %s HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n%s", tc.path, len(b), b))
			if rs[0].StatusCode != tc.status {
				t.Errorf("%s: status %d, want %d", tc.path, rs[0].StatusCode, tc.status)
				continue
			}
			got := bodyOf(rs[0])
			for _, s := range tc.has {
				if !strings.Contains(got, s) {
					t.Errorf("%s: the server did not get %q: %q", tc.path, s, got)
				}
			}
			for _, s := range tc.not {
				if strings.Contains(got, s) {
					t.Errorf("%s: the server got %q: %q", tc.path, s, got)
				}
			}
		}
	})
	t.Run("response", func(t *testing.T) {
		srv, _ := pathServer(t)
		_, addr := startEngine(t, strictConfig(t,
			"  http-response set-header x-hdr4 "+v60+" if { res.hdr(x-path) /req4 }",
			"  http-response set-header x-hdr1 "+v60+"\n"+
				"  http-response set-header x-hdr2 "+v60+" if { res.hdr(x-path) /req2 }\n"+
				"  http-response strict-mode off if { res.hdr(x-path) /req3 }\n"+
				"  http-response set-header x-hdr3 "+v60+" if { res.hdr(x-path) /req3 }", srv))
		for _, tc := range []struct {
			path        string
			status      int
			hdr1, hdr3  string
			contentSize int
		}{
			{"/req1", 200, v60, "", 100000},
			{"/req2", 500, "", "", -1},
			{"/req3", 200, v60, "", 100000},
			{"/req4", 500, "", "", -1},
		} {
			r := ruleExchange(t, addr, "GET "+tc.path+" HTTP/1.1\r\nHost: a\r\n\r\n")[0]
			if r.StatusCode != tc.status || r.Header.Get("x-hdr1") != tc.hdr1 || r.Header.Get("x-hdr3") != tc.hdr3 {
				t.Errorf("%s: %d %v", tc.path, r.StatusCode, r.Header)
			}
			if n := len(bodyOf(r)); tc.contentSize >= 0 && n != tc.contentSize {
				t.Errorf("%s: %d bytes of body", tc.path, n)
			}
		}
	})
}
