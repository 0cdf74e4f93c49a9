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

	"github.com/fjordlb/fjord/engine/h1"
)

func TestHTTPForwardFor(t *testing.T) {
	web := webNode(t, "web01")
	for _, tc := range []struct{ extra, want string }{
		{"  option forwardfor", "127.0.0.1|"},
		{"  option forwardfor except 127.0.0.0/8", "|"},
		{"  option forwardfor header X-Client", "|"}, // another header name
		{"  option http-server-close\n  option forwardfor", "127.0.0.1|close"},
	} {
		t.Run(tc.extra, func(t *testing.T) {
			_, addr := startEngine(t, httpSeedConfig(t, tc.extra, []string{web}, []string{web}))
			c := dial(t, addr)
			_, body := httpRoundTrip(t, c, bufio.NewReader(c), "GET /xff HTTP/1.1\r\nHost: x\r\n\r\n")
			if body != tc.want {
				t.Fatalf("server saw %q, want %q", body, tc.want)
			}
		})
	}
}

// connCounter is an HTTP/1.1 server that reports, in each answer, how many
// requests its connection has carried.
func connCounter(t testing.TB, conns *atomic.Int64) string {
	return serveTCP(t, func(c net.Conn) {
		conns.Add(1)
		br := bufio.NewReader(c)
		for n := 1; ; n++ {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			io.Copy(io.Discard, req.Body)
			body := strings.Repeat("x", n)
			hdr := "HTTP/1.1 200 OK\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n"
			if req.Close {
				hdr += "Connection: close\r\n"
			}
			io.WriteString(c, hdr+"\r\n"+body)
			if req.Close {
				return
			}
		}
	})
}

func TestHTTPConnectionModes(t *testing.T) {
	for _, tc := range []struct {
		option    string
		wantConns int64 // server connections for three requests on one client connection
		cliClosed bool  // fjord closes the client after the first response
	}{
		{"", 1, false},
		{"  option http-keep-alive", 1, false},
		{"  option http-server-close", 3, false},
		{"  option httpclose", 1, true},
	} {
		t.Run(tc.option, func(t *testing.T) {
			var conns atomic.Int64
			srv := connCounter(t, &conns)
			_, addr := startEngine(t, httpSeedConfig(t, tc.option, []string{srv}, []string{srv}))
			c := dial(t, addr)
			br := bufio.NewReader(c)
			for i := 0; i < 3; i++ {
				resp, _ := httpRoundTrip(t, c, br, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
				if tc.cliClosed {
					if !resp.Close {
						t.Fatal("httpclose: response does not announce the close")
					}
					waitClosed(t, c, 5*time.Second)
					break
				}
			}
			if got := conns.Load(); got != tc.wantConns {
				t.Fatalf("server connections: %d, want %d", got, tc.wantConns)
			}
		})
	}
}

func TestHTTPTunnelModeAnalysesOnlyTheFirstRequest(t *testing.T) {
	web := webNode(t, "web01")
	static := webNode(t, "static01")
	_, addr := startEngine(t, httpSeedConfig(t, "  option http-tunnel", []string{web}, []string{static}))
	c := dial(t, addr)
	br := bufio.NewReader(c)
	resp, _ := httpRoundTrip(t, c, br, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if by := resp.Header.Get("X-Served-By"); by != "web01" {
		t.Fatalf("first request served by %s", by)
	}
	// The connection is a tunnel to web01 now: /images goes there too.
	resp, _ = httpRoundTrip(t, c, br, "GET /images/a.png HTTP/1.1\r\nHost: x\r\n\r\n")
	if by := resp.Header.Get("X-Served-By"); by != "web01" {
		t.Fatalf("second request served by %s, want web01 (tunnel)", by)
	}
}

func TestHTTPUpgradeBecomesTunnel(t *testing.T) {
	srv := serveTCP(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		req, err := http.ReadRequest(br)
		if err != nil || req.Header.Get("Upgrade") != "websocket" {
			return
		}
		io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		io.Copy(c, br) // echo whatever comes next, framing or not
	})
	_, addr := startEngine(t, httpSeedConfig(t, "  timeout tunnel 1h", []string{srv}, []string{srv}))
	c := dial(t, addr)
	br := bufio.NewReader(c)
	resp, _ := httpRoundTrip(t, c, br, "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
	if resp.StatusCode != 101 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	msg := "not HTTP at all\x00\x01\x02"
	io.WriteString(c, msg)
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(br, got); err != nil || string(got) != msg {
		t.Fatalf("tunnel echo: %q %v", got, err)
	}
}

func TestHTTPExpectContinue(t *testing.T) {
	srv := serveTCP(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 100 Continue\r\n\r\n")
		b, _ := io.ReadAll(req.Body)
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: "+strconv.Itoa(len(b))+"\r\n\r\n")
		c.Write(b)
	})
	_, addr := startEngine(t, httpSeedConfig(t, "", []string{srv}, []string{srv}))
	c := dial(t, addr)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
	line, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 100 ") {
		t.Fatalf("interim response: %q %v", line, err)
	}
	br.ReadString('\n') // the empty line
	io.WriteString(c, "hello")
	_, body := readResponse(t, br, nil)
	if body != "hello" {
		t.Fatalf("body %q", body)
	}
}

func TestHTTP10ClientIsClosed(t *testing.T) {
	web := webNode(t, "web01")
	_, addr := startEngine(t, httpSeedConfig(t, "", []string{web}, []string{web}))
	c := dial(t, addr)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "GET /old HTTP/1.0\r\n\r\n")
	got, _ := io.ReadAll(c)
	if !strings.HasSuffix(string(got), "web01 GET /old") {
		t.Fatalf("HTTP/1.0: %q", got)
	}
}

func TestHTTPIntercept(t *testing.T) {
	web := webNode(t, "web01")
	cfgText := httpSeedConfig(t, "", []string{web}, []string{web})
	var hits atomic.Int64
	intercept := func(fe, be string, req *h1.Request) Local {
		if string(req.Path) != "/haproxy" || fe != "http_front" || be != "web_servers" {
			return Local{}
		}
		return Local{Serve: func(c net.Conn) {
			defer c.Close()
			hits.Add(1)
			br := bufio.NewReader(c)
			r, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 13\r\nConnection: close\r\n\r\nintercepted "+r.Method[:1])
		}}
	}
	addr := startEngineOpts(t, cfgText, Options{Intercept: intercept})
	c := dial(t, addr)
	_, body := httpRoundTrip(t, c, bufio.NewReader(c), "GET /haproxy?stats HTTP/1.1\r\nHost: x\r\n\r\n")
	if body != "intercepted G" || hits.Load() != 1 {
		t.Fatalf("intercepted: %q (%d)", body, hits.Load())
	}
	c2 := dial(t, addr)
	_, body = httpRoundTrip(t, c2, bufio.NewReader(c2), "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if body != "web01 GET /" {
		t.Fatalf("not intercepted: %q", body)
	}
}

func TestHTTPCountersExact(t *testing.T) {
	web := webNode(t, "web01")
	e, addr := startEngine(t, httpSeedConfig(t, "", []string{web}, []string{web}))
	c := dial(t, addr)
	br := bufio.NewReader(c)
	const n = 7
	for i := 0; i < n; i++ {
		httpRoundTrip(t, c, br, "GET /x HTTP/1.1\r\nHost: x\r\n\r\n")
	}
	c.Close()
	be := e.Backend("web_servers")
	srv := be.Servers[0]
	fe := e.FrontendCounters("http_front")
	if !waitFor(5*time.Second, func() bool { return fe.CurSessions.Load() == 0 }) {
		t.Fatal("frontend session still counted after close")
	}
	// Each request is 28 bytes; each answer is the node's fixed response.
	for name, got := range map[string]int64{
		"server stot": srv.Counters.TotSessions.Load(), "server scur": srv.Counters.CurSessions.Load(),
		"backend stot": be.Counters.TotSessions.Load(), "backend req_tot": be.Counters.Requests.Load(),
		"frontend req_tot": fe.Requests.Load(), "frontend stot": fe.TotSessions.Load(),
		"server hrsp_2xx": srv.Counters.Responses[1].Load(), "server bin": srv.Counters.BytesIn.Load(),
	} {
		want := map[string]int64{
			"server stot": n, "server scur": 0, "backend stot": n, "backend req_tot": n,
			"frontend req_tot": n, "frontend stot": 1, "server hrsp_2xx": n, "server bin": n * 28,
		}[name]
		if got != want {
			t.Errorf("%s = %d, want %d", name, got, want)
		}
	}
	if fe.BytesIn.Load() != n*28 || fe.BytesOut.Load() != srv.Counters.BytesOut.Load() {
		t.Errorf("frontend bytes %d/%d, server %d/%d", fe.BytesIn.Load(), fe.BytesOut.Load(), srv.Counters.BytesIn.Load(), srv.Counters.BytesOut.Load())
	}
}
