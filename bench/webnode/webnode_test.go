package webnode

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// start serves node on a loopback port for the duration of the test and
// returns its base URL.
func start(t *testing.T, node *Node) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := node.Server()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.ShutdownWithContext(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func do(t *testing.T, method, url string, body io.Reader) response {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, b}
}

func TestRoutes(t *testing.T) {
	base := start(t, New("web01", Options{BodySize: 100, LargeSize: 1<<20 + 3}))
	tests := []struct {
		name, method, path string
		reqBody            string
		status             int
		ctype              string // prefix; "" means not checked
		body               string // exact; "" means not checked
		bodyLen            int    // checked when body is "" unless anyLen
		anyLen             bool   // body not checked at all
	}{
		{name: "root", method: "GET", path: "/", status: 200, ctype: "text/plain",
			body: "served by web01: GET /\n"},
		{name: "unknown path keeps the query", method: "GET", path: "/app/page?id=7", status: 200,
			ctype: "text/plain", body: "served by web01: GET /app/page?id=7\n"},
		{name: "other method", method: "DELETE", path: "/x", status: 200,
			body: "served by web01: DELETE /x\n"},
		{name: "body", method: "GET", path: "/body", status: 200, bodyLen: 100},
		{name: "large", method: "GET", path: "/large", status: 200,
			ctype: "application/octet-stream", bodyLen: 1<<20 + 3},
		{name: "png", method: "GET", path: "/images/logo.png", status: 200, ctype: "image/png",
			body: "fake static file /images/logo.png from web01\n"},
		{name: "css", method: "GET", path: "/stylesheets/site.css", status: 200, ctype: "text/css", anyLen: true},
		{name: "js", method: "GET", path: "/javascripts/app.js", status: 200, ctype: "application/javascript", anyLen: true},
		{name: "css by directory", method: "GET", path: "/stylesheets/print", status: 200, ctype: "text/css", anyLen: true},
		{name: "not a static dir", method: "GET", path: "/imagesque", status: 200,
			body: "served by web01: GET /imagesque\n"},
		{name: "status 503", method: "GET", path: "/status/503", status: 503,
			body: "status 503 from web01\n"},
		{name: "status 201", method: "GET", path: "/status/201", status: 201, anyLen: true},
		{name: "status 599", method: "GET", path: "/status/599", status: 599, anyLen: true},
		{name: "status 1xx refused", method: "GET", path: "/status/101", status: 400, anyLen: true},
		{name: "status 600 refused", method: "GET", path: "/status/600", status: 400, anyLen: true},
		{name: "status not a number", method: "GET", path: "/status/abc", status: 400, anyLen: true},
		{name: "status with sign", method: "GET", path: "/status/+200", status: 400, anyLen: true},
		{name: "echo POST", method: "POST", path: "/echo", reqBody: "hello\x00world", status: 200,
			body: "hello\x00world"},
		{name: "echo PUT", method: "PUT", path: "/echo", reqBody: strings.Repeat("z", 100000), status: 200,
			bodyLen: 100000},
		{name: "echo GET without body", method: "GET", path: "/echo", status: 200, bodyLen: 0},
		{name: "slow", method: "GET", path: "/slow?ms=5", status: 200, body: "served by web01 after 5 ms\n"},
		{name: "slow without ms", method: "GET", path: "/slow", status: 400, anyLen: true},
		{name: "slow negative", method: "GET", path: "/slow?ms=-1", status: 400, anyLen: true},
		{name: "health", method: "GET", path: "/health", status: 200, body: "ok\n"},
		{name: "admin unknown", method: "GET", path: "/admin/sideways", status: 404, anyLen: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader
			if tc.reqBody != "" {
				body = strings.NewReader(tc.reqBody)
			}
			r := do(t, tc.method, base+tc.path, body)
			if r.status != tc.status {
				t.Errorf("status %d, want %d (body %q)", r.status, tc.status, r.body)
			}
			if got := r.header.Get("X-Served-By"); got != "web01" {
				t.Errorf("X-Served-By %q, want web01", got)
			}
			if ct := r.header.Get("Content-Type"); tc.ctype != "" && !strings.HasPrefix(ct, tc.ctype) {
				t.Errorf("Content-Type %q, want %s...", ct, tc.ctype)
			}
			switch {
			case tc.body != "":
				if string(r.body) != tc.body {
					t.Errorf("body %q, want %q", r.body, tc.body)
				}
			case !tc.anyLen && len(r.body) != tc.bodyLen:
				t.Errorf("body is %d bytes, want %d", len(r.body), tc.bodyLen)
			}
		})
	}
}

func TestLargeIsTheObject(t *testing.T) {
	const size = 3<<20 + 5
	base := start(t, New("bulk", Options{LargeSize: size}))
	r := do(t, "GET", base+"/large", nil)
	if !bytes.Equal(r.body, Object(size)) {
		t.Fatalf("/large differs from Object(%d)", size)
	}
	if got := r.header.Get("Content-Length"); got != "3145733" {
		t.Errorf("Content-Length %q", got)
	}
	// HEAD gets the length and no body.
	h := do(t, "HEAD", base+"/large", nil)
	if h.status != 200 || len(h.body) != 0 || h.header.Get("Content-Length") != "3145733" {
		t.Errorf("HEAD /large: %d, %d bytes, Content-Length %q", h.status, len(h.body), h.header.Get("Content-Length"))
	}
}

func TestObject(t *testing.T) {
	a, b := Object(1000), Object(1001)
	if !bytes.Equal(a, b[:1000]) {
		t.Error("Object(n) is not a prefix of Object(n+1)")
	}
	if len(Object(0)) != 0 || len(Object(-3)) != 0 || len(Object(7)) != 7 {
		t.Error("Object lengths wrong")
	}
	// Not a run of one byte, which a compressing layer could shrink.
	if bytes.Count(a, a[:1]) > 100 {
		t.Error("Object is too repetitive")
	}
}

func TestNodesShareBodies(t *testing.T) {
	a := New("a", Options{BodySize: 10, LargeSize: 4096})
	b := New("b", Options{BodySize: 10, LargeSize: 4096})
	if &a.large[0] != &b.large[0] || &a.small[0] != &b.small[0] {
		t.Error("two nodes with the same sizes hold two copies of their bodies")
	}
}

func TestDownAndUp(t *testing.T) {
	node := New("web02", Options{BodySize: 8})
	base := start(t, node)
	if r := do(t, "GET", base+"/admin/down", nil); r.status != 200 {
		t.Fatalf("/admin/down: %d", r.status)
	}
	// Down means broken: every path fails, so that a check on GET / sees it
	// as well as one on /health.
	for _, p := range []string{"/health", "/", "/body", "/images/a.png"} {
		r := do(t, "GET", base+p, nil)
		if r.status != 503 || r.header.Get("X-Served-By") != "web02" {
			t.Errorf("down: GET %s = %d (X-Served-By %q), want 503 from web02", p, r.status, r.header.Get("X-Served-By"))
		}
	}
	if r := do(t, "POST", base+"/admin/up", nil); r.status != 200 {
		t.Fatalf("/admin/up: %d", r.status)
	}
	if r := do(t, "GET", base+"/health", nil); r.status != 200 || string(r.body) != "ok\n" {
		t.Errorf("up again: /health = %d %q", r.status, r.body)
	}
	node.SetDown(true)
	if r := do(t, "GET", base+"/health", nil); r.status != 503 {
		t.Errorf("SetDown(true): /health = %d", r.status)
	}
}

func TestSlowIsCapped(t *testing.T) {
	// Only the parsing and the cap are checked; the wait itself is not timed
	// (tests never assert on timings). The request is cancelled early: the
	// capped wait is a minute.
	base := start(t, New("slow", Options{}))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/slow?ms=999999999", nil)
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("/slow?ms=999999999 answered at once: %s", resp.Status)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("unexpected error: %v", err)
	}
}

func TestServeStopsOnCancel(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	node := New("web03", Options{})
	waiting := make(chan struct{})
	node.slowWaiting = func() { close(waiting) }
	done := make(chan error, 1)
	go func() { done <- node.Serve(ctx, ln, 2*time.Second) }()
	url := "http://" + ln.Addr().String()

	// A /slow request in flight when the server stops is answered at once
	// rather than holding the shutdown for its whole wait.
	slow := make(chan response, 1)
	go func() {
		resp, err := http.Get(url + "/slow?ms=60000")
		if err != nil {
			slow <- response{status: -1, body: []byte(err.Error())}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		slow <- response{status: resp.StatusCode, body: b}
	}()
	if r := do(t, "GET", url+"/", nil); r.status != 200 {
		t.Fatalf("GET /: %d", r.status)
	}
	<-waiting
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if r := <-slow; r.status != 200 {
		t.Errorf("slow request in flight at shutdown: %d %s", r.status, r.body)
	}
	if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		c.Close()
		t.Error("listener still accepts after Serve returned")
	}
}
