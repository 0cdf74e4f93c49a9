package engine

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The addresses a session sees at HAProxy's three levels, over loopback:
// set-src and set-dst only change what fjord believes, so any address
// may be given.

// addrConfig is an http frontend (its lines fe) in front of backend app
// (its lines be) and a listen "echo" answering with the addresses it
// reads; srv is app's server.
func addrConfig(t testing.TB, fe, be, srv string) string {
	return fmt.Sprintf(`global
  nbthread 1
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
`, freePort(t), fe, be, srv)
}

// header returns the value of field name in a headersNode body.
func header(body, name string) (string, bool) {
	for _, l := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(l, strings.ToLower(name)+": "); ok {
			return v, true
		}
	}
	return "", false
}

func TestSetSrcAndForwardFor(t *testing.T) {
	srv := headersNode(t)
	for _, tc := range []struct {
		name, fe, be string
		reqs         []string            // on one connection
		want         [][2]string         // per request: X-Forwarded-For and X-Original-To ("-": none)
		hdrs         []map[string]string // per request: other fields the server must see
	}{
		{name: "set-src from a header, a new stream each request",
			fe:   "  option forwardfor\n  http-request set-src hdr(x-real-ip)\n  http-request set-header X-Src %[src]\n  http-request set-header X-FC %[fc_src]",
			reqs: []string{"GET / HTTP/1.1\r\nHost: a\r\nX-Real-IP: 192.0.2.9\r\n\r\n", "GET / HTTP/1.1\r\nHost: a\r\n\r\n"},
			want: [][2]string{{"192.0.2.9", "-"}, {"127.0.0.1", "-"}},
			hdrs: []map[string]string{{"x-fc": "127.0.0.1"}, {"x-src": "127.0.0.1"}}},
		{name: "set-src to IPv6, excepted",
			fe:   "  option forwardfor except 2001:db8:1f89::/48\n  http-request set-src hdr(x-real-ip)",
			reqs: []string{"GET / HTTP/1.1\r\nHost: a\r\nX-Real-IP: 2001:db8:1f89::1\r\n\r\n", "GET / HTTP/1.1\r\nHost: a\r\nX-Real-IP: 2001:db8:1f90::1\r\n\r\n"},
			want: [][2]string{{"-", "-"}, {"2001:db8:1f90::1", "-"}}},
		{name: "set-dst and originalto",
			fe:   "  option originalto except 10.0.0.1/25\n  http-request set-dst hdr(x-dst)",
			reqs: []string{"GET / HTTP/1.1\r\nHost: a\r\nX-Dst: 10.0.0.1\r\n\r\n", "GET / HTTP/1.1\r\nHost: a\r\nX-Dst: 10.0.0.128\r\n\r\n", "GET / HTTP/1.1\r\nHost: a\r\n\r\n"},
			want: [][2]string{{"-", "-"}, {"-", "10.0.0.128"}, {"-", "127.0.0.1"}}},
		{name: "originalto names its header",
			be:   "  option originalto header X-Dst-Seen",
			reqs: []string{"GET / HTTP/1.1\r\nHost: a\r\n\r\n"},
			want: [][2]string{{"-", "-"}},
			hdrs: []map[string]string{{"x-dst-seen": "127.0.0.1"}}},
		{name: "the backend names the header, either proxy's except applies",
			fe:   "  option forwardfor header X-FE except 10.0.0.0/8\n  http-request set-src hdr(x-real-ip)",
			be:   "  option forwardfor except 192.0.2.0/24",
			reqs: []string{"GET / HTTP/1.1\r\nHost: a\r\nX-Real-IP: 10.1.1.1\r\n\r\n", "GET / HTTP/1.1\r\nHost: a\r\nX-Real-IP: 192.0.2.1\r\n\r\n", "GET / HTTP/1.1\r\nHost: a\r\nX-Real-IP: 198.51.100.1\r\n\r\n"},
			want: [][2]string{{"-", "-"}, {"-", "-"}, {"198.51.100.1", "-"}},
			hdrs: []map[string]string{nil, nil, {"x-fe": "-"}}},
		{name: "if-none only when every proxy says it",
			fe:   "  option forwardfor if-none",
			be:   "  option forwardfor",
			reqs: []string{"GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 203.0.113.5\r\n\r\n"},
			want: [][2]string{{"203.0.113.5,127.0.0.1", "-"}}},
		{name: "if-none of the frontend alone",
			fe:   "  option forwardfor if-none",
			reqs: []string{"GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 203.0.113.5\r\n\r\n", "GET / HTTP/1.1\r\nHost: a\r\n\r\n"},
			want: [][2]string{{"203.0.113.5", "-"}, {"127.0.0.1", "-"}}},
		{name: "tcp-request content rules run for each request",
			fe: "  option forwardfor\n  tcp-request content set-var(sess.n) var(sess.n,0),add(1)\n  tcp-request content set-src ipv4(198.51.100.7) if { var(sess.n) -m int 2 }\n" +
				"  http-request set-header X-N %[var(sess.n)]",
			reqs: []string{"GET / HTTP/1.1\r\nHost: a\r\n\r\n", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", "GET / HTTP/1.1\r\nHost: a\r\n\r\n"},
			want: [][2]string{{"127.0.0.1", "-"}, {"198.51.100.7", "-"}, {"127.0.0.1", "-"}},
			hdrs: []map[string]string{{"x-n": "1"}, {"x-n": "2"}, {"x-n": "3"}}},
		{name: "connection and session levels",
			fe: "  option forwardfor\n  option originalto\n  tcp-request connection set-src ipv4(10.0.0.1)\n  tcp-request connection set-dst-port int(8443)\n" +
				"  tcp-request session set-dst ipv4(10.1.0.2)\n  http-request set-header X-Levels %[fc_src]-%[fc_dst_port]-%[dst]:%[dst_port]",
			reqs: []string{"GET / HTTP/1.1\r\nHost: a\r\n\r\n", "GET / HTTP/1.1\r\nHost: a\r\n\r\n"},
			want: [][2]string{{"10.0.0.1", "10.1.0.2"}, {"10.0.0.1", "10.1.0.2"}},
			hdrs: []map[string]string{{"x-levels": "10.0.0.1-8443-10.1.0.2:8443"}, {"x-levels": "10.0.0.1-8443-10.1.0.2:8443"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, addr := startEngine(t, addrConfig(t, tc.fe, tc.be, srv))
			rs := ruleExchange(t, addr, tc.reqs...)
			if len(rs) != len(tc.reqs) {
				t.Fatalf("%d responses, want %d", len(rs), len(tc.reqs))
			}
			for i, r := range rs {
				body := bodyOf(r)
				for j, name := range []string{"x-forwarded-for", "x-original-to"} {
					got, ok := header(body, name)
					if !ok {
						got = "-"
					}
					if got != tc.want[i][j] {
						t.Errorf("request %d: %s %q, want %q\n%s", i, name, got, tc.want[i][j], body)
					}
				}
				if i < len(tc.hdrs) {
					for name, want := range tc.hdrs[i] {
						got, ok := header(body, name)
						if !ok {
							got = "-"
						}
						if got != want {
							t.Errorf("request %d: %s %q, want %q", i, name, got, want)
						}
					}
				}
			}
		})
	}
}

// A PROXY header sets the session's addresses: src reads them, fc_src
// the connection's; send-proxy tells the server the stream's.
func TestProxyHeaderLevels(t *testing.T) {
	port := freePort(t)
	cfg := fmt.Sprintf(`global
  nbthread 1
defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
listen front
  bind 127.0.0.1:%d
  tcp-request connection set-src ipv4(10.0.0.1)
  http-request set-src ipv4(192.168.0.1)
  http-request set-dst ipv4(192.168.0.2)
  server next 127.0.0.1:%d send-proxy
listen back
  bind 127.0.0.1:%d accept-proxy
  tcp-request connection set-src ipv4(10.1.0.1)
  http-request return status 200 hdr x-addrs "%%[fc_src] %%[src]:%%[src_port] %%[dst]"
`, freePort(t), port, port)
	_, addr := startEngine(t, cfg)
	r := ruleExchange(t, addr, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")[0]
	got := r.Header.Get("X-Addrs")
	f := strings.Fields(got)
	if len(f) != 3 || f[0] != "10.1.0.1" || !strings.HasPrefix(f[1], "192.168.0.1:") || f[2] != "192.168.0.2" {
		t.Errorf("x-addrs %q, want \"10.1.0.1 192.168.0.1:PORT 192.168.0.2\"", got)
	}
}

// In tcp mode the content rules' addresses last the connection, and
// send-proxy and the log carry them.
func TestSetSrcTCPMode(t *testing.T) {
	lines := make(chan string, 1)
	srv := serveTCP(t, func(c net.Conn) {
		line, _ := bufio.NewReader(c).ReadString('\n')
		lines <- line
	})
	sink := &recordSink{}
	cfg := tcpConfig(t, "  tcp-request content set-src ipv6(2001:db8::5)\n  tcp-request content set-src-port int(4321)\n  tcp-request content set-dst ipv4(10.9.9.9)\n  option tcplog",
		srv+" send-proxy")
	addr := startEngineOpts(t, cfg, logOpts(sink))
	c := dial(t, addr)
	io.WriteString(c, "x")
	// Both addresses in IPv6 when either is, as HAProxy's
	// make_proxy_line_v1; the destination keeps the bind's port.
	_, port, _ := net.SplitHostPort(addr)
	want := "PROXY TCP6 2001:db8::5 ::ffff:10.9.9.9 4321 " + port + "\r\n"
	select {
	case l := <-lines:
		if l != want {
			t.Errorf("PROXY line %q, want %q", l, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the server saw no PROXY line")
	}
	c.Close()
	r := sink.wait(t, 1)
	if r.Client.String() != "[2001:db8::5]:4321" {
		t.Errorf("log client %s, want [2001:db8::5]:4321", r.Client)
	}
}

// silent-drop closes without a word: with CAP_NET_ADMIN the client sees
// nothing at all (TCP_REPAIR), else a reset; never a response or a FIN.
func TestSilentDrop(t *testing.T) {
	srv := headersNode(t)
	for _, tc := range []struct{ name, fe, req string }{
		{"http-request", "  http-request silent-drop if { path /drop }", "GET /drop HTTP/1.1\r\nHost: a\r\n\r\n"},
		{"tcp-request connection", "  tcp-request connection silent-drop", ""},
		{"tcp-request content", "  tcp-request content silent-drop", "GET / HTTP/1.1\r\nHost: a\r\n\r\n"},
		{"http-response", "  http-response silent-drop if { status 200 }", "GET / HTTP/1.1\r\nHost: a\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, addr := startEngine(t, addrConfig(t, tc.fe, "", srv))
			c := dial(t, addr)
			io.WriteString(c, tc.req)
			fe := e.FrontendCounters("fe")
			if !waitFor(5*time.Second, func() bool { return fe.TotSessions.Load() == 1 && fe.CurSessions.Load() == 0 }) {
				t.Fatalf("the session did not end: %d current", fe.CurSessions.Load())
			}
			c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			n, err := c.Read(make([]byte, 1))
			switch {
			case n > 0:
				t.Errorf("the client received data")
			case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, syscall.ECONNRESET):
			default:
				t.Errorf("read: %v, want nothing (TCP_REPAIR) or a reset", err)
			}
		})
	}
}

func TestRestrictRequestHeaderNames(t *testing.T) {
	srv := headersNode(t)
	for _, tc := range []struct {
		name, fe, be, headers string
		status                int
		has, not              []string
	}{
		{name: "preserve by default", headers: "X-my_hdr: on\r\n", status: 200, has: []string{"x-my_hdr: on"}},
		{name: "delete in the backend", be: "  option http-restrict-req-hdr-names delete",
			headers: "X-my_hdr: on\r\nX-ok-1: yes\r\n", status: 200, has: []string{"x-ok-1: yes"}, not: []string{"x-my_hdr"}},
		// HAProxy 2.6.0 removed a wrong field with two bad characters,
		// or skipped the field after a removed one (fixed in 2.6.5).
		{name: "delete several and consecutive", fe: "  option http-restrict-req-hdr-names delete",
			headers: "x_my_hdr_with_lots_of_underscores: 1\r\nx-my_hdr-1: 2\r\nx-my_hdr-2: 3\r\nx-my-hdr-3: 4\r\nx.dot: 5\r\n", status: 200,
			has: []string{"x-my-hdr-3: 4"}, not: []string{"underscores", "x-my_hdr-1", "x-my_hdr-2", "x.dot"}},
		{name: "reject in the frontend", fe: "  option http-restrict-req-hdr-names reject", headers: "X-my_hdr: on\r\n", status: 403},
		{name: "reject after the rules", fe: "  option http-restrict-req-hdr-names reject\n  http-request del-header X-my_hdr",
			headers: "X-my_hdr: on\r\n", status: 200, not: []string{"x-my_hdr"}},
		{name: "reject answers the backend's 403 page", be: "  option http-restrict-req-hdr-names reject\n  errorfile 403 testdata/errors/be-403.http",
			headers: "X.y: on\r\n", status: 403, has: []string{"from the backend page"}},
		{name: "reject lets plain names pass", be: "  option http-restrict-req-hdr-names reject", headers: "X-My-Hdr-9: on\r\n", status: 200, has: []string{"x-my-hdr-9: on"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, addr := startEngine(t, addrConfig(t, tc.fe, tc.be, srv))
			r := ruleExchange(t, addr, "GET / HTTP/1.1\r\nHost: a\r\n"+tc.headers+"\r\n")[0]
			body := bodyOf(r)
			if r.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", r.StatusCode, tc.status, body)
			}
			for _, s := range tc.has {
				if !strings.Contains(body, s) {
					t.Errorf("the server did not see %q:\n%s", s, body)
				}
			}
			for _, s := range tc.not {
				if strings.Contains(body, s) {
					t.Errorf("the server saw %q:\n%s", s, body)
				}
			}
		})
	}
}

// Address rules, the fields they feed and a restricted header name cost
// no allocation per request.
func TestAddressesAllocateNothing(t *testing.T) {
	web := benchServe(t, benchHTTPServe)
	perRequest := func(extra string, req []byte) float64 {
		e, addr := startEngine(t, logConfig(t, "http", extra, web))
		defer e.Stop()
		c := dial(t, addr)
		c.SetDeadline(time.Now().Add(20 * time.Second))
		buf := make([]byte, len(benchHTTPResponse))
		return mallocsPerExchange(t, c, req, buf)
	}
	off := perRequest("", benchHTTPRequest)
	req := []byte("GET / HTTP/1.1\r\nHost: bench\r\nX-Real-IP: 2001:db8::7\r\nX_Bad: 1\r\nAccept: */*\r\n\r\n")
	on := perRequest("  option forwardfor\n  option originalto\n  option http-restrict-req-hdr-names delete\n"+
		"  tcp-request connection set-src-port int(1)\n  tcp-request content set-dst ipv4(10.0.0.1)\n"+
		"  http-request set-src hdr(x-real-ip)\n  http-request set-dst-port int(8080)", req)
	t.Logf("allocations per request: %.3f with address rules, %.3f without", on, off)
	if on > off+0.1 {
		t.Errorf("allocations per request: %.2f with address rules, %.2f without", on, off)
	}
}
