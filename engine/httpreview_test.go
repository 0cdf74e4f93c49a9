package engine

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// idServer is a keep-alive HTTP/1.1 server that numbers its connections and
// answers every request with its prefix and the number of the connection
// that carried it ("w1", "w2", ...). Request bodies are read and dropped.
func idServer(t testing.TB, prefix string, conns *atomic.Int64) string {
	return serveTCP(t, func(c net.Conn) {
		id := conns.Add(1)
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			io.Copy(io.Discard, req.Body)
			body := prefix + strconv.FormatInt(id, 10)
			if _, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"+body); err != nil {
				return
			}
		}
	})
}

// oneLoop makes an httpSeedConfig run a single event loop, so that every
// client shares one idle pool.
func oneLoop(cfg string) string {
	return strings.Replace(cfg, "nbthread 2", "nbthread 1", 1)
}

func getReq(path string) string { return "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n" }

// expectBody does one request on c and checks the status and the body.
func expectBody(t *testing.T, c net.Conn, br *bufio.Reader, raw string, status int, body string) {
	t.Helper()
	resp, got := httpRoundTrip(t, c, br, raw)
	if resp.StatusCode != status || got != body {
		t.Fatalf("%q: got %d %q, want %d %q", raw, resp.StatusCode, got, status, body)
	}
}

// A chunked request with chunk extensions and trailers reaches the server
// byte for byte, however its bytes are split on the way, and the request
// after it on the same connection is framed correctly.
func TestHTTPReviewChunkedTrailersReachServer(t *testing.T) {
	type seen struct {
		raw     []byte
		body    string
		trailer http.Header
		err     error
	}
	got := make(chan seen, 64)
	srv := serveTCP(t, func(c net.Conn) {
		var raw bytes.Buffer
		br := bufio.NewReader(io.TeeReader(c, &raw))
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			body, err := io.ReadAll(req.Body)
			// The client sends nothing more before it has the answer, so
			// raw holds exactly this request as it came from fjord.
			got <- seen{raw: bytes.Clone(raw.Bytes()), body: string(body), trailer: req.Trailer, err: err}
			raw.Reset()
			if _, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"); err != nil {
				return
			}
		}
	})
	_, addr := startEngine(t, httpSeedConfig(t, "", []string{srv}, []string{srv}))

	big := make([]byte, 100000)
	rand.Read(big)
	small := "4\r\nWiki\r\n5;ext=1\r\npedia\r\ne;a=\"b\"\r\n in\r\n\r\nchunks.\r\n"
	trailers := "0\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n"
	for _, tc := range []struct {
		name    string
		body    string
		decoded string
		pieces  int // bytes per write, 0: one write
	}{
		{"one write", small + trailers, "Wikipedia in\r\n\r\nchunks.", 0},
		{"5-byte pieces", small + trailers, "Wikipedia in\r\n\r\nchunks.", 5},
		{"1-byte pieces", small + trailers, "Wikipedia in\r\n\r\nchunks.", 1},
		{"large chunk", fmt.Sprintf("%x\r\n%s\r\n", len(big), big) + small + trailers, string(big) + "Wikipedia in\r\n\r\nchunks.", 0},
		{"large chunk, 7000-byte pieces", fmt.Sprintf("%x\r\n%s\r\n", len(big), big) + small + trailers, string(big) + "Wikipedia in\r\n\r\nchunks.", 7000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, addr)
			c.SetDeadline(time.Now().Add(20 * time.Second))
			br := bufio.NewReader(c)
			head := "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum, X-Other\r\n\r\n"
			msg := head + tc.body
			if tc.pieces == 0 {
				io.WriteString(c, msg)
			} else {
				for i := 0; i < len(msg); i += tc.pieces {
					if _, err := io.WriteString(c, msg[i:min(i+tc.pieces, len(msg))]); err != nil {
						t.Fatal(err)
					}
					if i < len(head)+200 || i%20 == 0 {
						time.Sleep(time.Millisecond) // separate peeks
					}
				}
			}
			resp, body := readResponse(t, br, nil)
			if resp.StatusCode != 200 || body != "ok" {
				t.Fatalf("answer %d %q", resp.StatusCode, body)
			}
			var s seen
			select {
			case s = <-got:
			case <-time.After(5 * time.Second):
				t.Fatal("the server saw no request")
			}
			if s.err != nil {
				t.Fatalf("server reading the body: %v", s.err)
			}
			if s.body != tc.decoded {
				t.Fatalf("server decoded %d bytes, want %d", len(s.body), len(tc.decoded))
			}
			i := bytes.Index(s.raw, []byte("\r\n\r\n"))
			if i < 0 || string(s.raw[i+4:]) != tc.body {
				t.Fatalf("body on the wire differs: %d bytes after the head, want %d; tail %q",
					len(s.raw)-i-4, len(tc.body), s.raw[max(0, len(s.raw)-80):])
			}
			if s.trailer.Get("X-Checksum") != "abc" || s.trailer.Get("X-Other") != "1" {
				t.Fatalf("trailers: %v", s.trailer)
			}
			// The next request on the connection is a request of its own.
			expectBody(t, c, br, getReq("/after"), 200, "ok")
			if s := <-got; !bytes.HasPrefix(s.raw, []byte("GET /after HTTP/1.1\r\n")) {
				t.Fatalf("next request arrived as %q", s.raw)
			}
		})
	}
}

// A client that goes away in the middle of its request body: the server's
// connection is cut too, and the engine goes on serving others with nothing
// left behind.
func TestHTTPReviewClientAbortsMidBody(t *testing.T) {
	bodyErr := make(chan error, 4)
	srv := serveTCP(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			if req.URL.Path == "/upload" {
				// The body must end early, in an error: it never arrives whole.
				if n, err := io.Copy(io.Discard, req.Body); err == nil {
					bodyErr <- fmt.Errorf("the whole body (%d bytes) arrived", n)
				} else {
					bodyErr <- nil
				}
				return
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	e, addr := startEngine(t, httpSeedConfig(t, "", []string{srv}, []string{srv}))
	chunk := make([]byte, 256<<10)
	for _, reset := range []bool{false, true} {
		t.Run(fmt.Sprintf("reset=%v", reset), func(t *testing.T) {
			c := dial(t, addr)
			c.SetDeadline(time.Now().Add(10 * time.Second))
			io.WriteString(c, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 8388608\r\n\r\n")
			if _, err := c.Write(chunk); err != nil {
				t.Fatal(err)
			}
			time.Sleep(50 * time.Millisecond)
			if reset {
				c.SetLinger(0)
			}
			c.Close()
			select {
			case err := <-bodyErr:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the server's connection was not cut within 5s of the client's abort")
			}
			c2 := dial(t, addr)
			expectBody(t, c2, bufio.NewReader(c2), getReq("/"), 200, "ok")
			c2.Close()
			waitIdle(t, e)
			checkServersIdle(t, e, "web_servers")
		})
	}
}

// "http-reuse safe": a session's first request always gets a connection
// of its own; from its second request on it may take one another session
// left in the loop's idle pool.
func TestHTTPReviewIdleReuseAcrossClients(t *testing.T) {
	var wconns, sconns atomic.Int64
	web, static := idServer(t, "w", &wconns), idServer(t, "s", &sconns)
	_, addr := startEngine(t, oneLoop(httpSeedConfig(t, "", []string{web}, []string{static})))

	a := dial(t, addr)
	abr := bufio.NewReader(a)
	expectBody(t, a, abr, getReq("/"), 200, "w1")
	// A's request for another server: its web connection goes to the pool.
	expectBody(t, a, abr, getReq("/images/a.png"), 200, "s1")

	// B's first request must not take A's idle connection.
	b := dial(t, addr)
	bbr := bufio.NewReader(b)
	expectBody(t, b, bbr, getReq("/"), 200, "w2")
	if n := wconns.Load(); n != 2 {
		t.Fatalf("web connections after B's first request: %d, want 2", n)
	}

	// C's second request may, and with one loop does, reuse it.
	c := dial(t, addr)
	cbr := bufio.NewReader(c)
	expectBody(t, c, cbr, getReq("/images/c.png"), 200, "s2")
	expectBody(t, c, cbr, getReq("/"), 200, "w1")
	if n := wconns.Load(); n != 2 {
		t.Fatalf("web connections after C's second request: %d, want 2 (reuse)", n)
	}
	// B keeps its own connection.
	expectBody(t, b, bbr, getReq("/again"), 200, "w2")
	// The pool is empty now: D's first request connects.
	d := dial(t, addr)
	expectBody(t, d, bufio.NewReader(d), getReq("/"), 200, "w3")
}

// A server that closes its keep-alive connection between requests: the
// next request goes on a new connection and succeeds, whether the client
// holds the connection or it waits in the idle pool.
func TestHTTPReviewServerClosesKeepAlive(t *testing.T) {
	for _, delay := range []time.Duration{0, 30 * time.Millisecond} {
		t.Run(fmt.Sprintf("close after %v", delay), func(t *testing.T) {
			var conns atomic.Int64
			srv := serveTCP(t, func(c net.Conn) {
				id := conns.Add(1)
				br := bufio.NewReader(c)
				if _, err := http.ReadRequest(br); err != nil {
					return
				}
				body := "c" + strconv.FormatInt(id, 10)
				// Keep-alive announced, then the connection is closed.
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"+body)
				time.Sleep(delay)
			})
			var sconns atomic.Int64
			static := idServer(t, "s", &sconns)
			_, addr := startEngine(t, oneLoop(httpSeedConfig(t, "", []string{srv}, []string{static})))
			c := dial(t, addr)
			br := bufio.NewReader(c)
			for i := 1; i <= 3; i++ {
				expectBody(t, c, br, getReq("/"), 200, "c"+strconv.Itoa(i))
				time.Sleep(delay + 100*time.Millisecond)
			}
			// Through the idle pool: the connection the client leaves for
			// the static pool is closed by the server while it waits there.
			expectBody(t, c, br, getReq("/"), 200, "c4")
			expectBody(t, c, br, getReq("/images/x"), 200, "s1")
			time.Sleep(delay + 100*time.Millisecond)
			o := dial(t, addr)
			obr := bufio.NewReader(o)
			expectBody(t, o, obr, getReq("/images/y"), 200, "s2")
			expectBody(t, o, obr, getReq("/"), 200, "c5")
			if n := conns.Load(); n != 5 {
				t.Fatalf("server connections: %d, want 5", n)
			}
		})
	}
}

// A response whose Content-Length is larger than tune.bufsize, with its
// head and the start of its body arriving in one segment, is forwarded
// exactly, and the next response on the connection is framed right.
func TestHTTPReviewLargeResponseHeadWithPartialBody(t *testing.T) {
	const size = 100000
	payload := make([]byte, size)
	rand.Read(payload)
	srv := serveTCP(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			head := "HTTP/1.1 200 OK\r\nContent-Length: " + strconv.Itoa(size) + "\r\n\r\n"
			first := 0
			switch req.URL.Path {
			case "/all":
				first = size
			case "/most":
				first = 30000
			case "/some":
				first = 1000
			default:
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext")
				continue
			}
			if _, err := c.Write(append([]byte(head), payload[:first]...)); err != nil {
				return
			}
			if first < size {
				time.Sleep(20 * time.Millisecond)
				if _, err := c.Write(payload[first:]); err != nil {
					return
				}
			}
		}
	})
	for _, bufsize := range []string{"", "  tune.bufsize 4096\n"} {
		t.Run("bufsize="+strings.TrimSpace(bufsize), func(t *testing.T) {
			cfg := strings.Replace(httpSeedConfig(t, "", []string{srv}, []string{srv}), "nbthread 2\n", "nbthread 2\n"+bufsize, 1)
			_, addr := startEngine(t, cfg)
			c := dial(t, addr)
			br := bufio.NewReader(c)
			for _, path := range []string{"/all", "/most", "/some", "/all"} {
				resp, body := httpRoundTrip(t, c, br, getReq(path))
				if resp.StatusCode != 200 || len(body) != size || body != string(payload) {
					t.Fatalf("%s: %d, %d bytes, equal %v", path, resp.StatusCode, len(body), body == string(payload))
				}
				expectBody(t, c, br, getReq("/x"), 200, "next")
			}
		})
	}
}

// Routing on the Host header, per request on one connection.
func TestHTTPReviewHostRouting(t *testing.T) {
	web, static, dom := webNode(t, "web01"), webNode(t, "static01"), webNode(t, "dom01")
	cfg := fmt.Sprintf(`global
  nbthread 2
defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
frontend http_front
  bind 127.0.0.1:%d
  use_backend static_servers if { hdr(host) -i example.com }
  use_backend dom_servers if { hdr_dom(host) -i example.org }
  default_backend web_servers
backend web_servers
  server web01 %s
backend static_servers
  server static01 %s
backend dom_servers
  server dom01 %s
`, freePort(t), web, static, dom)
	_, addr := startEngine(t, cfg)
	c := dial(t, addr)
	br := bufio.NewReader(c)
	for _, tc := range []struct{ host, want string }{
		{"example.com", "static01"},
		{"EXAMPLE.Com", "static01"},
		{"www.example.com", "web01"},
		{"example.com:8080", "web01"}, // hdr() compares the whole value
		{"example.com.evil.net", "web01"},
		{"example.org", "dom01"},
		{"www.example.org", "dom01"},
		{"WWW.Example.ORG", "dom01"},
		{"badexample.org", "web01"},
		{"example.com", "static01"},
	} {
		resp, _ := httpRoundTrip(t, c, br, "GET /h HTTP/1.1\r\nHost: "+tc.host+"\r\n\r\n")
		if by := resp.Header.Get("X-Served-By"); resp.StatusCode != 200 || by != tc.want {
			t.Fatalf("Host %s: %d served by %q, want %s", tc.host, resp.StatusCode, by, tc.want)
		}
	}
}

// plainHTTPServer answers GET with "ok" and echoes POST bodies, without
// Go's splice (which pools pipes the descriptor count would see).
func plainHTTPServer(t testing.TB) string {
	return serveTCP(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		bw := bufio.NewWriter(struct{ io.Writer }{c})
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			body, err := io.ReadAll(req.Body)
			if err != nil {
				return
			}
			if req.Method != "POST" {
				body = []byte("ok")
			}
			fmt.Fprintf(bw, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", len(body))
			bw.Write(body)
			if bw.Flush() != nil {
				return
			}
		}
	})
}

// 1000 keep-alive requests, alternating between two pools (so that server
// connections go through the idle pool) with bodies large enough to be
// spliced: afterwards no pipe is in use and no descriptor is left open.
func TestHTTPReviewKeepAliveNoLeak(t *testing.T) {
	web, static := plainHTTPServer(t), plainHTTPServer(t)
	e, addr := startEngine(t, httpSeedConfig(t, "", []string{web}, []string{static}))
	post := make([]byte, 200<<10)
	rand.Read(post)
	postReq := "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: " + strconv.Itoa(len(post)) + "\r\n\r\n" + string(post)

	// Warm-up: pipes and pools exist before the count.
	w := dial(t, addr)
	wbr := bufio.NewReader(w)
	expectBody(t, w, wbr, getReq("/"), 200, "ok")
	expectBody(t, w, wbr, postReq, 200, string(post))
	w.Close()
	waitIdle(t, e)
	before := settledFDs(t, e)

	const conns, perConn = 10, 100
	for i := 0; i < conns; i++ {
		c := dial(t, addr)
		br := bufio.NewReader(c)
		for j := 0; j < perConn; j++ {
			switch {
			case j%10 == 9:
				expectBody(t, c, br, postReq, 200, string(post))
			case j%2 == 0:
				expectBody(t, c, br, getReq("/p"+strconv.Itoa(j)), 200, "ok")
			default:
				expectBody(t, c, br, getReq("/images/"+strconv.Itoa(j)), 200, "ok")
			}
		}
		c.Close()
	}
	waitIdle(t, e)
	if st := e.Stats(); st.PipesInUse != 0 || st.Sessions != 0 {
		t.Fatalf("after %d requests: %+v", conns*perConn, st)
	}
	var after int
	if !waitFor(idleTimeout+5*time.Second, func() bool { after = unpooledFDs(t, e); return after == before }) {
		t.Fatalf("open descriptors (less pooled pipes): %d before, %d after %d keep-alive requests; %+v",
			before, after, conns*perConn, e.Stats())
	}
	checkServersIdle(t, e, "web_servers")
	checkServersIdle(t, e, "static_servers")
}

// --- Findings of the review: each test below shows one of them. ---

// A server that sends more than its Content-Length (a classic backend bug)
// leaves bytes in the kept connection. They must not become the answer to
// the next request, on this client connection or, through the idle pool,
// on another client's. HAProxy closes such a server connection.
func TestHTTPReviewServerExtraBytesNotTakenForNextResponse(t *testing.T) {
	extraServer := func(t *testing.T) string {
		var first atomic.Bool
		first.Store(true)
		return serveTCP(t, func(c net.Conn) {
			br := bufio.NewReader(c)
			for {
				if _, err := http.ReadRequest(br); err != nil {
					return
				}
				resp := "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nfine"
				if first.Swap(false) {
					resp = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" +
						"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled"
				}
				if _, err := io.WriteString(c, resp); err != nil {
					return
				}
			}
		})
	}
	t.Run("same client", func(t *testing.T) {
		srv := extraServer(t)
		_, addr := startEngine(t, httpSeedConfig(t, "", []string{srv}, []string{srv}))
		c := dial(t, addr)
		br := bufio.NewReader(c)
		expectBody(t, c, br, getReq("/1"), 200, "ok")
		time.Sleep(50 * time.Millisecond)
		expectBody(t, c, br, getReq("/2"), 200, "fine")
	})
	t.Run("other client through the idle pool", func(t *testing.T) {
		srv := extraServer(t)
		var sconns atomic.Int64
		static := idServer(t, "s", &sconns)
		_, addr := startEngine(t, oneLoop(httpSeedConfig(t, "", []string{srv}, []string{static})))
		a := dial(t, addr)
		abr := bufio.NewReader(a)
		expectBody(t, a, abr, getReq("/1"), 200, "ok")
		expectBody(t, a, abr, getReq("/images/a"), 200, "s1") // A's web connection goes to the pool
		b := dial(t, addr)
		bbr := bufio.NewReader(b)
		expectBody(t, b, bbr, getReq("/images/b"), 200, "s2")
		expectBody(t, b, bbr, getReq("/2"), 200, "fine") // B must not get A's leftovers
	})
}

// upgradeServer accepts a WebSocket-style upgrade only when the Connection
// header carries the "upgrade" token, as most servers do, then echoes.
func upgradeServer(t testing.TB) string {
	return serveTCP(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		hasToken := false
		for _, v := range req.Header.Values("Connection") {
			for _, tok := range strings.Split(v, ",") {
				if strings.EqualFold(strings.TrimSpace(tok), "upgrade") {
					hasToken = true
				}
			}
		}
		if !hasToken || req.Header.Get("Upgrade") != "websocket" {
			msg := "no upgrade: Connection: " + strings.Join(req.Header.Values("Connection"), ", ")
			io.WriteString(c, "HTTP/1.1 400 Bad Request\r\nContent-Length: "+strconv.Itoa(len(msg))+"\r\nConnection: close\r\n\r\n"+msg)
			return
		}
		io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		io.Copy(c, br)
	})
}

// WebSocket through the close modes: HAProxy leaves the Connection header
// of an Upgrade request untouched in every mode ("some servers fail an
// Upgrade if anything but Upgrade is present in the Connection header"),
// so the upgrade works with http-server-close and httpclose too.
func TestHTTPReviewUpgradeInCloseModes(t *testing.T) {
	srv := upgradeServer(t)
	for _, option := range []string{"  option http-server-close", "  option httpclose"} {
		t.Run(strings.TrimSpace(option), func(t *testing.T) {
			_, addr := startEngine(t, httpSeedConfig(t, option+"\n  timeout tunnel 1h", []string{srv}, []string{srv}))
			c := dial(t, addr)
			br := bufio.NewReader(c)
			resp, body := httpRoundTrip(t, c, br, "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
			if resp.StatusCode != 101 {
				t.Fatalf("status %d %q", resp.StatusCode, body)
			}
			msg := "frames\x00\x01"
			io.WriteString(c, msg)
			got := make([]byte, len(msg))
			if _, err := io.ReadFull(br, got); err != nil || string(got) != msg {
				t.Fatalf("tunnel echo: %q %v", got, err)
			}
		})
	}
}

// proxyIDServer reads a PROXY v1 header on each connection and answers
// every request with the source port it announced.
func proxyIDServer(t testing.TB) string {
	return serveTCP(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		f := strings.Fields(line)
		if len(f) != 6 || f[0] != "PROXY" {
			return
		}
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			io.Copy(io.Discard, req.Body)
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: "+strconv.Itoa(len(f[4]))+"\r\n\r\n"+f[4])
		}
	})
}

// A send-proxy connection announces its first client's address once, so
// it cannot carry another client's requests: HAProxy marks such
// connections private. Reusing it would make the server attribute B's
// request to A.
func TestHTTPReviewSendProxyConnectionsNotShared(t *testing.T) {
	web := proxyIDServer(t)
	var sconns atomic.Int64
	static := idServer(t, "s", &sconns)
	_, addr := startEngine(t, oneLoop(httpSeedConfig(t, "", []string{web + " send-proxy"}, []string{static})))
	port := func(c net.Conn) string { return strconv.Itoa(c.LocalAddr().(*net.TCPAddr).Port) }

	a := dial(t, addr)
	abr := bufio.NewReader(a)
	expectBody(t, a, abr, getReq("/"), 200, port(a))
	expectBody(t, a, abr, getReq("/images/a"), 200, "s1")
	b := dial(t, addr)
	bbr := bufio.NewReader(b)
	expectBody(t, b, bbr, getReq("/images/b"), 200, "s2")
	expectBody(t, b, bbr, getReq("/"), 200, port(b))
}

// docs/http-mode.md: "A server that answers before the whole request body
// arrived (a 413, say) is answered to the client". Servers that refuse a
// body usually close at once without reading it.
func TestHTTPReviewEarlyAnswerThenServerCloses(t *testing.T) {
	srv := serveTCP(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		if _, err := http.ReadRequest(br); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 8\r\nConnection: close\r\n\r\ntoo big!")
	})
	_, addr := startEngine(t, httpSeedConfig(t, "", []string{srv}, []string{srv}))
	c := dial(t, addr)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	go func() {
		io.WriteString(c, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 16777216\r\n\r\n")
		chunk := make([]byte, 64<<10)
		for i := 0; i < 256; i++ {
			if _, err := c.Write(chunk); err != nil {
				return
			}
		}
	}()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 413 || string(body) != "too big!" {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
}

// A trailer section that does not fit in tune.bufsize can never be
// checked; the request must fail at once, not wait for "timeout client"
// on a socket that has nothing more to send.
func TestHTTPReviewOversizedTrailersFailPromptly(t *testing.T) {
	srv := serveTCP(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		io.Copy(io.Discard, req.Body)
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
	})
	_, addr := startEngine(t, httpSeedConfig(t, "", []string{srv}, []string{srv}))
	c := dial(t, addr)
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"+
		"5\r\nhello\r\n0\r\nX-Big: "+strings.Repeat("a", 20000)+"\r\n\r\n")
	start := time.Now()
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("after %v: no answer and no close (%v); read %q", time.Since(start).Round(time.Millisecond), err, got)
	}
	if !bytes.HasPrefix(got, []byte("HTTP/1.1 400 ")) {
		t.Fatalf("got %q, want a 400", got)
	}
}

// docs/http-mode.md: "timeout http-request" runs "from the first byte of a
// request head (or the connection's start for the first one)". A client
// that opens a connection and sends its first byte late gets no extra time.
func TestHTTPReviewFirstHeadTimeoutFromConnectionStart(t *testing.T) {
	web := webNode(t, "web01")
	_, addr := startEngine(t, httpSeedConfig(t, "  timeout http-request 1s", []string{web}, []string{web}))
	start := time.Now()
	c := dial(t, addr)
	c.SetDeadline(time.Now().Add(5 * time.Second))
	time.Sleep(700 * time.Millisecond)
	io.WriteString(c, "G")
	got, _ := io.ReadAll(c)
	took := time.Since(start)
	if !bytes.HasPrefix(got, []byte("HTTP/1.1 408 ")) {
		t.Fatalf("after %v: got %q, want a 408", took, got)
	}
	if took > 1400*time.Millisecond {
		t.Fatalf("408 after %v; timeout http-request 1s from the connection's start", took.Round(time.Millisecond))
	}
}

// With "tune.pipesize" below "tune.bufsize", a response head (with the
// body bytes that came with it) that a slow client's socket does not take
// whole must still be delivered: it is stashed in a pipe smaller than it.
func TestHTTPReviewSlowPipelinedClientSmallPipes(t *testing.T) {
	const size = 60000
	payload := bytes.Repeat([]byte("0123456789abcdef"), size/16)
	srv := serveTCP(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			if _, err := http.ReadRequest(br); err != nil {
				return
			}
			if _, err := c.Write(append([]byte("HTTP/1.1 200 OK\r\nContent-Length: "+strconv.Itoa(len(payload))+"\r\n\r\n"), payload...)); err != nil {
				return
			}
		}
	})
	for _, pipesize := range []string{"", "  tune.pipesize 4096\n"} {
		t.Run("pipesize="+strings.TrimSpace(pipesize), func(t *testing.T) {
			cfg := strings.Replace(httpSeedConfig(t, "", []string{srv}, []string{srv}), "nbthread 2\n", "nbthread 2\n"+pipesize, 1)
			slowPipelinedClient(t, cfg, len(payload))
		})
	}
}

// slowPipelinedClient pipelines many requests, lets every buffer on the
// way fill up, then reads the answers slowly.
//
// The frontend's bytes out must be what the client read: a response head
// that was stashed in a pipe is counted once, not again when the pipe is
// spliced out.
func slowPipelinedClient(t *testing.T, cfg string, size int) {
	e, addr := startEngine(t, cfg)
	c := dial(t, addr)
	c.SetDeadline(time.Now().Add(30 * time.Second))
	const n = 300
	go func() {
		for i := 0; i < n; i++ {
			if _, err := io.WriteString(c, getReq("/p"+strconv.Itoa(i))); err != nil {
				return
			}
		}
	}()
	time.Sleep(300 * time.Millisecond)
	counted := &countingReader{r: c}
	br := bufio.NewReaderSize(counted, 512)
	buf := make([]byte, 700)
	reads := 0
	for i := 0; i < n; i++ {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		got := 0
		for {
			k, err := resp.Body.Read(buf)
			got += k
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("response %d body after %d bytes: %v", i, got, err)
			}
			if reads++; reads%16 == 0 {
				time.Sleep(200 * time.Microsecond)
			}
		}
		if resp.StatusCode != 200 || got != size {
			t.Fatalf("response %d: %d, %d bytes", i, resp.StatusCode, got)
		}
	}
	c.Close()
	fe := e.FrontendCounters("http_front")
	if !waitFor(5*time.Second, func() bool { return fe.CurSessions.Load() == 0 }) {
		t.Fatal("frontend session still counted after close")
	}
	if got, want := fe.BytesOut.Load(), counted.n; got != want {
		t.Errorf("frontend bytes out = %d, the client read %d", got, want)
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// An interim response (103 Early Hints) that a slow client's socket does
// not take whole is stashed; the final response that follows at once must
// come after it, not before or inside it.
func TestHTTPReviewInterimResponseToSlowClient(t *testing.T) {
	const size = 60000
	payload := bytes.Repeat([]byte("0123456789abcdef"), size/16)
	var links strings.Builder // a page with many subresources
	for i := 0; i < 60; i++ {
		fmt.Fprintf(&links, "Link: </static/%s/asset-%03d.js>; rel=preload; as=script\r\n", strings.Repeat("v", 100), i)
	}
	srv := serveTCP(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			var out []byte
			if strings.HasPrefix(req.URL.Path, "/hints") {
				out = []byte("HTTP/1.1 103 Early Hints\r\n" + links.String() + "\r\n" +
					"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			} else {
				out = append([]byte("HTTP/1.1 200 OK\r\nContent-Length: "+strconv.Itoa(len(payload))+"\r\n\r\n"), payload...)
			}
			if _, err := c.Write(out); err != nil {
				return
			}
		}
	})
	_, addr := startEngine(t, httpSeedConfig(t, "", []string{srv}, []string{srv}))
	c := dial(t, addr)
	c.SetDeadline(time.Now().Add(30 * time.Second))
	const n = 1000
	go func() {
		for i := 0; i < n; i++ {
			p := "/big"
			if i%2 == 1 {
				p = "/hints"
			}
			if _, err := io.WriteString(c, getReq(p+strconv.Itoa(i))); err != nil {
				return
			}
		}
	}()
	time.Sleep(300 * time.Millisecond)
	br := bufio.NewReaderSize(c, 512)
	buf := make([]byte, 700)
	reads := 0
	for i := 0; i < n; i++ {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		if i%2 == 1 {
			if resp.StatusCode != 103 {
				t.Fatalf("response %d: status %d, want the 103 first", i, resp.StatusCode)
			}
			if resp, err = http.ReadResponse(br, nil); err != nil {
				t.Fatalf("response %d after its 103: %v", i, err)
			}
		}
		got := 0
		for {
			k, err := resp.Body.Read(buf)
			got += k
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("response %d body after %d bytes: %v", i, got, err)
			}
			if reads++; reads%16 == 0 {
				time.Sleep(200 * time.Microsecond)
			}
		}
		want := size
		if i%2 == 1 {
			want = 2
		}
		if resp.StatusCode != 200 || got != want {
			t.Fatalf("response %d: %d, %d bytes, want 200, %d", i, resp.StatusCode, got, want)
		}
	}
}

// A request that says "Connection: close" (or an HTTP/1.0 request without
// keep-alive) ends its server connection: RFC 9112 §9.6 has the server
// close it after the response, announced or not, and HAProxy switches such
// a transaction to close mode. The connection must not be handed to
// another client from the idle pool, where its next request would go
// unanswered.
func TestHTTPReviewClosingRequestConnectionNotPooled(t *testing.T) {
	for _, tc := range []struct{ name, first string }{
		{"Connection: close", "GET /bye HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"},
		{"HTTP/1.0", "GET /bye HTTP/1.0\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var wconns, sconns atomic.Int64
			web := serveTCP(t, func(c net.Conn) {
				id := wconns.Add(1)
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					body := "w" + strconv.FormatInt(id, 10)
					// No "Connection: close" in the answer (it is only a
					// SHOULD); the connection is closed all the same.
					io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"+body)
					if req.Close {
						time.Sleep(300 * time.Millisecond) // a lingering close
						return
					}
				}
			})
			static := idServer(t, "s", &sconns)
			_, addr := startEngine(t, oneLoop(httpSeedConfig(t, "", []string{web}, []string{static})))
			a := dial(t, addr)
			a.SetDeadline(time.Now().Add(10 * time.Second))
			io.WriteString(a, tc.first)
			if got, _ := io.ReadAll(a); !bytes.HasSuffix(got, []byte("\r\n\r\nw1")) {
				t.Fatalf("first client: %q", got)
			}
			b := dial(t, addr)
			bbr := bufio.NewReader(b)
			expectBody(t, b, bbr, getReq("/images/b"), 200, "s1")
			expectBody(t, b, bbr, getReq("/"), 200, "w2")
		})
	}
}
