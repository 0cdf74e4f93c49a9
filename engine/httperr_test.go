package engine

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// countingServer counts the connections that reached it and answers 200.
func countingServer(t testing.TB, n *atomic.Int64) string {
	return serveTCP(t, func(c net.Conn) {
		n.Add(1)
		br := bufio.NewReader(c)
		for {
			if _, err := http.ReadRequest(br); err != nil {
				return
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
}

// expectStatus sends raw and checks that fjord answers its page for code.
func expectStatus(t *testing.T, addr, raw string, code int) {
	t.Helper()
	c := dial(t, addr)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	// A 400 (a request fjord could not read) closes the connection, as
	// HAProxy's page says; any other page keeps it for the next
	// request, which gets the same answer.
	for i := 0; i < 2; i++ {
		io.WriteString(c, raw)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%q, request %d: %v", raw, i+1, err)
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != code || !strings.Contains(string(body), "<h1>"+strconv.Itoa(code)) {
			t.Fatalf("%q, request %d: got %d %q, want fjord's %d page", raw, i+1, resp.StatusCode, body, code)
		}
		if code == 400 {
			if !resp.Close {
				t.Fatalf("%q: a 400 that does not close the connection", raw)
			}
			if rest, err := io.ReadAll(br); err != nil || len(rest) > 0 {
				t.Fatalf("%q: after the 400: %q, %v; want the connection closed", raw, rest, err)
			}
			return
		}
		if resp.Close {
			t.Fatalf("%q: the %d closes the connection", raw, code)
		}
	}
}

func TestHTTPSmugglingRejected(t *testing.T) {
	var conns atomic.Int64
	srv := countingServer(t, &conns)
	_, addr := startEngine(t, httpSeedConfig(t, "", []string{srv}, []string{srv}))
	for _, tc := range []struct{ name, raw string }{
		{"CL+TE", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
		{"duplicate differing CL", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde"},
		{"CL list", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4, 5\r\n\r\nabcde"},
		{"bad CL", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -4\r\n\r\nabcd"},
		{"TE chunked, identity", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n"},
		{"obs-fold", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n"},
		{"bare LF", "GET / HTTP/1.1\nHost: x\n\n"},
		{"NUL in header", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n"},
		{"space before colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n"},
		{"bad request line", "GET /\r\n\r\n"},
		{"bad version", "GET / HTTP/2.0\r\nHost: x\r\n\r\n"},
		{"head over tune.bufsize", "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 20000) + "\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) { expectStatus(t, addr, tc.raw, 400) })
	}
	if n := conns.Load(); n != 0 {
		t.Fatalf("%d rejected requests reached a server", n)
	}
}

func TestHTTPBadChunkSizeRejected(t *testing.T) {
	srv := serveTCP(t, func(c net.Conn) { io.Copy(io.Discard, c) })
	_, addr := startEngine(t, httpSeedConfig(t, "", []string{srv}, []string{srv}))
	expectStatus(t, addr, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", 400)
	expectStatus(t, addr, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n", 400)
}

func TestHTTPSlowlorisGets408(t *testing.T) {
	web := webNode(t, "web01")
	_, addr := startEngine(t, httpSeedConfig(t, "  timeout http-request 1s", []string{web}, []string{web}))
	slow := dial(t, addr)
	slow.SetDeadline(time.Now().Add(10 * time.Second))
	done := make(chan string, 1)
	go func() {
		got, _ := io.ReadAll(slow)
		done <- string(got)
	}()
	head := "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaa\r\n\r\n"
	start := time.Now()
	var got string
	for i := 0; i < len(head); i++ {
		if _, err := slow.Write([]byte{head[i]}); err != nil {
			break
		}
		// Meanwhile other clients are served.
		c := dial(t, addr)
		resp, _ := httpRoundTrip(t, c, bufio.NewReader(c), "GET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
		if resp.StatusCode != 200 {
			t.Fatalf("another client got %d during the slow one", resp.StatusCode)
		}
		select {
		case got = <-done:
		case <-time.After(250 * time.Millisecond):
			continue
		}
		break
	}
	if got == "" {
		got = <-done
	}
	if !strings.HasPrefix(got, "HTTP/1.1 408 ") {
		t.Fatalf("slow client after %v got %q", time.Since(start), got)
	}
}

func TestHTTPBadResponseGets502(t *testing.T) {
	for _, tc := range []struct{ name, resp string }{
		{"garbage", "SSH-2.0-OpenSSH\r\n\r\n"},
		{"truncated head", "HTTP/1.1 200 OK\r\nContent-Le"},
		{"closed without response", ""},
		{"bare LF", "HTTP/1.1 200 OK\nContent-Length: 0\n\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := rawServer(t, tc.resp, true)
			_, addr := startEngine(t, httpSeedConfig(t, "", []string{srv}, []string{srv}))
			expectStatus(t, addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 502)
		})
	}
}

func TestHTTPNoServerGets503(t *testing.T) {
	dead := "127.0.0.1:" + strconv.Itoa(freePort(t)) // nothing listens there
	_, addr := startEngine(t, httpSeedConfig(t, "  retries 1\n  timeout connect 200ms", []string{dead}, []string{dead}))
	expectStatus(t, addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 503)
}

func TestHTTPQueueTimeoutGets503(t *testing.T) {
	hold := make(chan struct{})
	srv := serveTCP(t, func(c net.Conn) { <-hold })
	t.Cleanup(func() { close(hold) }) // runs before serveTCP's wait
	cfg := httpSeedConfig(t, "  timeout queue 300ms", []string{srv + " maxconn 1"}, []string{srv})
	_, addr := startEngine(t, cfg)
	first := dial(t, addr)
	io.WriteString(first, "GET / HTTP/1.1\r\nHost: x\r\n\r\n") // takes the only slot
	time.Sleep(100 * time.Millisecond)
	expectStatus(t, addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 503)
}

func TestHTTPServerTimeoutGets504(t *testing.T) {
	hold := make(chan struct{})
	srv := serveTCP(t, func(c net.Conn) {
		http.ReadRequest(bufio.NewReader(c))
		<-hold
	})
	t.Cleanup(func() { close(hold) }) // runs before serveTCP's wait
	cfg := strings.Replace(httpSeedConfig(t, "", []string{srv}, []string{srv}), "timeout server 30s", "timeout server 300ms", 1)
	_, addr := startEngine(t, cfg)
	expectStatus(t, addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 504)
}

func TestHTTPSurvivesErrorsAndServesOthers(t *testing.T) {
	web := webNode(t, "web01")
	_, addr := startEngine(t, httpSeedConfig(t, "", []string{web}, []string{web}))
	for i := 0; i < 20; i++ {
		expectStatus(t, addr, "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400)
		c := dial(t, addr)
		c.Write([]byte("GET / HTTP/1.1\r\nHo")) // and abandoned
		c.Close()
	}
	c := dial(t, addr)
	resp, _ := httpRoundTrip(t, c, bufio.NewReader(c), "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp.StatusCode != 200 {
		t.Fatalf("after errors: %d", resp.StatusCode)
	}
}
