package engine

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// haproxy200 is HAProxy's answer to a monitor-uri request, after which
// the connection is kept.
const haproxy200 = "HTTP/1.1 200 OK\r\nContent-length: 58\r\nCache-Control: no-cache\r\nContent-Type: text/html\r\n\r\n" +
	"<html><body><h1>200 OK</h1>\nService ready.\n</body></html>\n"

// HAProxy's reg-test checks/http-monitor-uri.vtc: a URI starting with '/'
// matches the path of an absolute-form target too; any other matches the
// whole target; the comparison is case-sensitive. The frontends have no
// backend, so what is not the monitor URI gets a 503.
func TestMonitorURIMatching(t *testing.T) {
	cfg := fmt.Sprintf(`defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
frontend fe1
  bind 127.0.0.1:%d
  monitor-uri /health
frontend fe2
  bind 127.0.0.1:%d
  monitor-uri http://www.haproxy.org/health
`, freePort(t), freePort(t))
	e, fe1 := startEngine(t, cfg)
	fe2 := e.Addr(e.cfg.Frontends()[1].Binds[0]).String()
	for _, tc := range []struct {
		addr, target string
		status       int
	}{
		{fe1, "/health", 200},
		{fe1, "http://www.haproxy.org/health", 200},
		{fe1, "/hEAlth", 503},
		{fe1, "/health?x=1", 503}, // the query string is part of the path
		{fe1, "/health/", 503},
		{fe1, "*", 503},
		{fe2, "http://www.haproxy.org/health", 200},
		{fe2, "/health", 503},
	} {
		got := keptAnswer(t, tc.addr, "GET "+tc.target+" HTTP/1.1\r\nHost: www.haproxy.org\r\n\r\n")
		if tc.status == 200 && got != haproxy200 || !strings.HasPrefix(got, fmt.Sprintf("HTTP/1.1 %d ", tc.status)) {
			t.Errorf("%s (%s): got %q, want %d", tc.target, tc.addr, got, tc.status)
		}
	}
}

// A monitor request never reaches a server, is counted and is not
// logged; the requests around it are.
func TestMonitorURINotForwardedNorLogged(t *testing.T) {
	var conns atomic.Int64
	srv := countingServer(t, &conns)
	sink := &recordSink{}
	e, addr := startEngineWith(t, logConfig(t, "http", "  monitor-uri /alive", srv), logOpts(sink))
	c := dial(t, addr)
	br := bufio.NewReader(c)
	if resp, _ := httpRoundTrip(t, c, br, "GET /before HTTP/1.1\r\nHost: x\r\n\r\n"); resp.StatusCode != 200 {
		t.Fatalf("before: %d", resp.StatusCode)
	}
	// On a kept connection, with a body that came whole: the answer
	// takes it, and the connection goes on.
	resp, body := httpRoundTrip(t, c, br, "POST /alive HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
	if resp.StatusCode != 200 || resp.Close || !strings.Contains(body, "Service ready.") {
		t.Fatalf("monitor: %d close=%v %q", resp.StatusCode, resp.Close, body)
	}
	io.WriteString(c, "HEAD /alive HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, err := http.ReadResponse(br, &http.Request{Method: "HEAD"}); err != nil || resp.StatusCode != 200 || resp.Close {
		t.Fatalf("HEAD: %v %v", resp, err)
	}
	if resp, _ := httpRoundTrip(t, c, br, "GET /after HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); resp.StatusCode != 200 {
		t.Fatalf("after: %d", resp.StatusCode)
	}
	c.Close()
	if !waitFor(5*time.Second, func() bool { return e.Stats().Sessions == 0 }) {
		t.Fatal("sessions did not end")
	}
	var lines []string
	for i := 1; i <= sink.count(); i++ {
		r := sink.wait(t, i)
		lines = append(lines, string(r.RequestLine()))
	}
	if len(lines) != 2 || lines[0] != "GET /before HTTP/1.1" || lines[1] != "GET /after HTTP/1.1" {
		t.Errorf("logged %q, want only /before and /after", lines)
	}
	// /before and /after share one server connection, which the monitor
	// requests between them leave alone.
	if n := conns.Load(); n != 1 {
		t.Errorf("%d server connections, want 1 (the monitor requests never go to a server)", n)
	}
	fc := e.FrontendCounters("px")
	if req, ok2xx := fc.Requests.Load(), fc.Responses[1].Load(); req != 4 || ok2xx != 4 {
		t.Errorf("frontend counted %d requests, %d 2xx; want 4 and 4", req, ok2xx)
	}
}

func TestMonitorFail(t *testing.T) {
	web := webNode(t, "web01")
	cfg := func(extra string) string {
		return fmt.Sprintf(`defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
frontend fe
  bind 127.0.0.1:%d
  monitor-uri /alive
%s
  default_backend be
backend be
  errorfile 503 testdata/errors/be-503.http
  server web %s
`, freePort(t), extra, web)
	}
	for _, tc := range []struct {
		name, extra string
		closes      bool // the page closes the connection
		check       func(t *testing.T, got string)
	}{
		{"if holds", "  monitor fail if { src 127.0.0.0/8 }", false, func(t *testing.T, got string) {
			// The frontend's page: the request reaches no backend.
			if !strings.HasPrefix(got, "HTTP/1.1 503 Service Unavailable\r\n") || !strings.Contains(got, "No server is available") {
				t.Errorf("got %q", got)
			}
		}},
		{"unless holds", "  monitor fail unless { src 127.0.0.0/8 }", false, func(t *testing.T, got string) {
			if got != haproxy200 {
				t.Errorf("got %q", got)
			}
		}},
		{"second condition", "  acl down hdr(x-down) 1\n  monitor fail if FALSE\n  monitor fail if down", false, func(t *testing.T, got string) {
			if !strings.HasPrefix(got, "HTTP/1.1 503 ") {
				t.Errorf("got %q", got)
			}
		}},
		{"frontend pages", "  monitor fail if { hdr(x-down) 1 }\n  errorfile 503 testdata/errors/fe-503.http", false, func(t *testing.T, got string) {
			expectPage(t, got, 503, "fe-503.http", false)
		}},
		// A page without a length ends with the connection.
		{"errorfile 200", "  errorfile 200 testdata/errors/section-502.http", true, func(t *testing.T, got string) {
			if !strings.HasPrefix(got, "HTTP/1.1 502 Bad Gateway\r\n") || !strings.Contains(got, "from the section page") {
				t.Errorf("got %q", got) // the page as written, whatever its status
			}
		}},
		{"errorloc 200", "  errorloc 200 /up.html", false, func(t *testing.T, got string) {
			if !strings.HasPrefix(got, "HTTP/1.1 302 Found\r\n") || !strings.Contains(got, "\r\nLocation: /up.html\r\n") {
				t.Errorf("got %q", got)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, addr := startEngine(t, cfg(tc.extra))
			const probe = "GET /alive HTTP/1.1\r\nHost: x\r\nX-Down: 1\r\n\r\n"
			if tc.closes {
				tc.check(t, untilClose(t, addr, probe))
			} else {
				tc.check(t, keptAnswer(t, addr, probe))
			}
			// Other requests go on to the backend.
			c := dial(t, addr)
			if resp, _ := httpRoundTrip(t, c, bufio.NewReader(c), "GET / HTTP/1.1\r\nHost: x\r\nX-Down: 1\r\n\r\n"); resp.StatusCode != 200 {
				t.Errorf("other request: %d", resp.StatusCode)
			}
		})
	}
}
