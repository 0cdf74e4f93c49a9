package engine

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// readWhole reads one response from br, its body whole.
func readWhole(t *testing.T, br *bufio.Reader) (*http.Response, string) {
	t.Helper()
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("reading a response: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading a body: %v", err)
	}
	return resp, string(body)
}

// sendInTwo writes a request's head and the first part of its body, then,
// once fjord's hold is visible (nothing answered for a moment), the
// rest; and returns the response.
func sendInTwo(t *testing.T, c net.Conn, first, rest string, pause time.Duration) {
	t.Helper()
	if _, err := io.WriteString(c, first); err != nil {
		t.Fatal(err)
	}
	if rest == "" {
		return
	}
	// The second part must come while fjord waits: a read that times
	// out proves nothing was answered in between.
	c.SetReadDeadline(time.Now().Add(pause))
	var b [1]byte
	if n, err := c.Read(b[:]); n != 0 || err == nil {
		t.Fatalf("answered before the body was all sent: %q", b[:n])
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, rest); err != nil {
		t.Fatal(err)
	}
}

// The rules after a wait-for-body rule see the whole body, and the head
// as the rules before it left it, in the strict mode they left; the
// server gets it all. A request whose body does not come in time gets
// 408.
func TestWaitForBodyRequest(t *testing.T) {
	srv := headersNode(t)
	_, addr := startEngine(t, rulesConfig(t, strings.Join([]string{
		"  http-request set-header x-before 1",
		"  http-request strict-mode off",
		"  http-request wait-for-body time 5s if { path /whole }",
		"  http-request wait-for-body time 200ms at-least 4 if { path /some }",
		"  http-request wait-for-body time 100ms if { path /late }",
		"  http-request set-header x-body %[req.body]",
		"  http-request set-header x-after %[req.hdr(x-before)]",
		`  http-request set-header x-bad "%[str(a),url_dec]%[str(%0d%0a),url_dec]"`, // fails: skipped, strict-mode off
	}, "\n"), "", srv))

	c := dial(t, addr)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	sendInTwo(t, c, "POST /whole HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabcde", "fghij", 100*time.Millisecond)
	resp, body := readWhole(t, br)
	if resp.StatusCode != 200 || !strings.Contains(body, "x-body: abcdefghij\n") || !strings.Contains(body, "x-after: 1\n") ||
		!strings.Contains(body, "x-before: 1\n") || strings.Contains(body, "x-bad") {
		t.Errorf("/whole: %d %q", resp.StatusCode, body)
	}
	// The connection goes on: a request without a body does not wait.
	io.WriteString(c, "GET /whole HTTP/1.1\r\nHost: a\r\n\r\n")
	if resp, body := readWhole(t, br); resp.StatusCode != 200 || !strings.Contains(body, "x-after: 1\n") {
		t.Errorf("/whole without a body: %d %q", resp.StatusCode, body)
	}
	c.Close()

	got := untilClose(t, addr, "POST /late HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc")
	if !strings.HasPrefix(got, "HTTP/1.1 408 ") {
		t.Errorf("/late: %q", got)
	}
}

// A backend's wait-for-body rule holds the request after the frontend's
// rules and the routing: they do not run again, and their rewrite stays.
func TestWaitForBodyInBackend(t *testing.T) {
	srv := headersNode(t)
	_, addr := startEngine(t, rulesConfig(t,
		"  http-request set-var(sess.n) var(sess.n,0),add(1)\n  http-request set-header x-fe %[var(sess.n)]",
		"  http-request wait-for-body time 5s\n  http-request set-header x-be %[req.body]", srv))
	c := dial(t, addr)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	sendInTwo(t, c, "PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n\r\nabc", "def", 100*time.Millisecond)
	resp, body := readWhole(t, bufio.NewReader(c))
	if resp.StatusCode != 200 || !strings.Contains(body, "x-fe: 1\n") || !strings.Contains(body, "x-be: abcdef\n") {
		t.Errorf("%d %q", resp.StatusCode, body)
	}
}

// An "Expect: 100-continue" request gets a 100 Continue as the rule
// looks, and the server does not see the field; with or without a wait.
func TestWaitForBodyExpectContinue(t *testing.T) {
	srv := headersNode(t)
	for _, tc := range []struct{ name, fe string }{
		{"wait-for-body", "  http-request wait-for-body time 5s"},
		{"http-buffer-request", "  option http-buffer-request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, addr := startEngine(t, rulesConfig(t, tc.fe, "", srv))
			c := dial(t, addr)
			c.SetDeadline(time.Now().Add(10 * time.Second))
			br := bufio.NewReader(c)
			io.WriteString(c, "POST /x HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n")
			line, err := br.ReadString('\n')
			if err != nil || line != "HTTP/1.1 100 Continue\r\n" {
				t.Fatalf("first line %q, %v", line, err)
			}
			if blank, _ := br.ReadString('\n'); blank != "\r\n" {
				t.Fatalf("after the 100: %q", blank)
			}
			io.WriteString(c, "abc")
			resp, body := readWhole(t, br)
			if resp.StatusCode != 200 || strings.Contains(strings.ToLower(body), "expect") || !strings.HasPrefix(body, "POST /x") {
				t.Errorf("%d %q", resp.StatusCode, body)
			}
		})
	}
}

// slowBodyServer answers each request with a 200 whose head and first
// body bytes come at once and the rest only when release is closed (or
// never, for /never).
func slowBodyServer(t *testing.T, release chan struct{}) string {
	return serveTCP(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			io.Copy(io.Discard, req.Body)
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nX-Path: %s\r\nContent-Length: 10\r\n\r\nabcd", req.URL.Path)
			if req.URL.Path == "/never" {
				io.Copy(io.Discard, br) // until fjord closes
				return
			}
			<-release
			io.WriteString(c, "efghij")
		}
	})
}

// A response rule after a wait-for-body rule runs once the body is
// there, on the head the rules before it left; one whose body does not
// come in time is answered 504 and its server connection closed.
func TestWaitForBodyResponse(t *testing.T) {
	release := make(chan struct{})
	srv := slowBodyServer(t, release)
	_, addr := startEngine(t, rulesConfig(t, "  http-response set-header x-fe 1",
		"  http-response set-status 203\n  http-response wait-for-body time 200ms\n  http-response set-header x-after %[res.hdr(x-path)]", srv))
	c := dial(t, addr)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
	// Nothing comes while the body is awaited.
	c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	var b [1]byte
	if n, _ := c.Read(b[:]); n != 0 {
		t.Fatalf("the response came before its body")
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	close(release)
	resp, body := readWhole(t, bufio.NewReader(c))
	if resp.StatusCode != 203 || resp.Header.Get("x-after") != "/slow" || resp.Header.Get("x-fe") != "1" || body != "abcdefghij" {
		t.Errorf("%d %v %q", resp.StatusCode, resp.Header, body)
	}
	// The request went whole: the 504 keeps the client's connection.
	got := keptAnswer(t, addr, "GET /never HTTP/1.1\r\nHost: a\r\n\r\n")
	if !strings.HasPrefix(got, "HTTP/1.1 504 ") {
		t.Errorf("/never: %q", got)
	}
}

// With at-least, the rules go on with the body's first bytes, and the
// head reaches the server before the rest of the body is sent.
func TestWaitForBodyAtLeast(t *testing.T) {
	heads := make(chan string, 1)
	srv := serveTCP(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		heads <- req.Header.Get("X-Body")
		b, _ := io.ReadAll(req.Body)
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(b), b)
	})
	_, addr := startEngine(t, rulesConfig(t,
		"  http-request wait-for-body time 5s at-least 4\n  http-request set-header x-body %[req.body]", "", srv))
	c := dial(t, addr)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	sendInTwo(t, c, "POST /some HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nab", "cd", 50*time.Millisecond)
	if got := <-heads; got != "abcd" {
		t.Errorf("the rules read %q of the body", got)
	}
	io.WriteString(c, "efghij")
	if resp, body := readWhole(t, bufio.NewReader(c)); resp.StatusCode != 200 || body != "abcdefghij" {
		t.Errorf("%d %q", resp.StatusCode, body)
	}
}
