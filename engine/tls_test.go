package engine

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/engine/h1"
	"github.com/fjordlb/fjord/tls/handshake"
	"github.com/fjordlb/fjord/tls/testcert"
)

// startTLSEngine runs cfgText with TLS on every bind of its first
// frontend, and returns the bind's address and a client configuration
// that trusts it.
func startTLSEngine(t testing.TB, cfgText string, opts Options) (*Engine, string, *tls.Config) {
	t.Helper()
	cfg, err := config.Parse("test.cfg", []byte(cfgText), config.Options{Resolver: config.NoResolver})
	if err != nil {
		t.Fatalf("config: %v\n%s", err, cfgText)
	}
	cert, roots := testcert.SelfSigned(t, "fjord.test")
	srv := handshake.NewServerConfig(&tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
		CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256},
	})
	opts.TLS = map[*config.Bind]*handshake.ServerConfig{}
	for _, b := range cfg.Frontends()[0].Binds {
		opts.TLS[b] = srv
	}
	e, addr := startParsed(t, cfg, opts)
	return e, addr, &tls.Config{RootCAs: roots, ServerName: "fjord.test"}
}

func tlsDial(t testing.TB, addr string, cfg *tls.Config) *tls.Conn {
	t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return c
}

var tlsVersions = []uint16{tls.VersionTLS12, tls.VersionTLS13}

// In tcp mode a TLS bind terminates TLS and forwards the plaintext: small
// messages, a transfer larger than a pipe both ways (never spliced as
// ciphertext), and close_notify at the end.
func TestTLSTerminationTCP(t *testing.T) {
	for _, v := range tlsVersions {
		t.Run(tls.VersionName(v), func(t *testing.T) {
			_, addr, cli := startTLSEngine(t, tcpConfig(t, "", echoServer(t)), Options{})
			cli.MinVersion, cli.MaxVersion = v, v
			c := tlsDial(t, addr, cli)
			if err := echoOnce(c, "hello through TLS", 10*time.Second); err != nil {
				t.Fatal(err)
			}
			big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
			errc := make(chan error, 1)
			go func() {
				_, err := c.Write(big)
				if err == nil {
					err = c.CloseWrite() // close_notify
				}
				errc <- err
			}()
			got, err := io.ReadAll(c) // to the echo server's FIN
			if err != nil {
				t.Fatalf("reading the echo: %v (%d bytes)", err, len(got))
			}
			if werr := <-errc; werr != nil {
				t.Fatal(werr)
			}
			if !bytes.Equal(got, big) {
				t.Fatalf("echo of %d bytes came back as %d, changed", len(big), len(got))
			}
		})
	}
}

// In http mode the request heads are peeked through the record layer and
// routed; keep-alive, pipelined requests in one record, and bodies of
// both framings pass whole.
func TestTLSTerminationHTTP(t *testing.T) {
	web, static := webNode(t, "web01"), webNode(t, "static01")
	_, addr, cli := startTLSEngine(t, httpSeedConfig(t, "", []string{web}, []string{static}), Options{})
	for _, v := range tlsVersions {
		t.Run(tls.VersionName(v), func(t *testing.T) {
			cli := cli.Clone()
			cli.MinVersion, cli.MaxVersion = v, v
			c := tlsDial(t, addr, cli)
			br := bufio.NewReader(c)
			for _, path := range []string{"/", "/images/a.png", "/x"} {
				resp, body := httpRoundTrip(t, c, br, "GET "+path+" HTTP/1.1\r\nHost: fjord.test\r\n\r\n")
				if resp.StatusCode != 200 || !strings.HasSuffix(body, path) {
					t.Fatalf("GET %s: %d %q", path, resp.StatusCode, body)
				}
				if want := map[bool]string{true: "static01", false: "web01"}[strings.HasPrefix(path, "/images")]; resp.Header.Get("X-Served-By") != want {
					t.Fatalf("GET %s served by %s", path, resp.Header.Get("X-Served-By"))
				}
			}
			// Two requests in one write, so in one record: the second
			// waits in the record layer, not in the socket.
			io.WriteString(c, "GET /one HTTP/1.1\r\nHost: fjord.test\r\n\r\nGET /two HTTP/1.1\r\nHost: fjord.test\r\n\r\n")
			for _, path := range []string{"/one", "/two"} {
				if resp, body := readResponse(t, br, nil); resp.StatusCode != 200 || !strings.HasSuffix(body, path) {
					t.Fatalf("pipelined %s: %d %q", path, resp.StatusCode, body)
				}
			}
			payload := strings.Repeat("body!", 50000)
			resp, body := httpRoundTrip(t, c, br, fmt.Sprintf("POST /echo HTTP/1.1\r\nHost: fjord.test\r\nContent-Length: %d\r\n\r\n%s", len(payload), payload))
			if resp.StatusCode != 200 || body != payload {
				t.Fatalf("POST /echo with Content-Length: %d, %d bytes", resp.StatusCode, len(body))
			}
			resp, body = httpRoundTrip(t, c, br, "POST /echo?chunked=1 HTTP/1.1\r\nHost: fjord.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
			if resp.StatusCode != 200 || body != "hello world" {
				t.Fatalf("chunked POST /echo: %d %q", resp.StatusCode, body)
			}
		})
	}
}

// What is not a TLS client is closed, without an answer, and costs the
// sessions around it nothing: plain HTTP, garbage, a ClientHello cut
// short, a client that never speaks (closed at timeout client). An
// established session talks all along.
func TestTLSBadClients(t *testing.T) {
	cfg := strings.Replace(tcpConfig(t, "", echoServer(t)), "timeout client 30s", "timeout client 500ms", 1)
	e, addr, cli := startTLSEngine(t, cfg, Options{})
	good := tlsDial(t, addr, cli)
	stop, talked := make(chan struct{}), make(chan error, 1)
	go func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			if err := echoOnce(good, fmt.Sprintf("message %d", i), 5*time.Second); err != nil {
				talked <- err
				return
			}
			select {
			case <-stop:
				talked <- nil
				return
			case <-tick.C:
			}
		}
	}()
	for _, tc := range []struct {
		name string
		send string
	}{
		{"plain HTTP", "GET / HTTP/1.1\r\nHost: fjord.test\r\n\r\n"},
		{"garbage", "\x16\x03\x01\x00\x05hello"},
		{"a ClientHello cut short", "\x16\x03\x01\x02\x00\x01\x00\x01"},
		{"silence", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, addr)
			io.WriteString(c, tc.send)
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			got, err := io.ReadAll(c)
			if err != nil && !isReset(err) {
				t.Fatalf("read: %v", err)
			}
			if len(got) > 0 && got[0] != 0x15 { // a TLS alert is all it may get
				t.Fatalf("answered %q", got)
			}
		})
	}
	close(stop)
	if err := <-talked; err != nil {
		t.Fatalf("the established session, while the bad clients came and went: %v", err)
	}
	if st := e.TLSStats(); st.HandshakeFailures != 4 || st.Cumulative != 1 || st.Current != 1 {
		t.Errorf("counters: %+v, want 4 failures and the one session, current", st)
	}
	good.Close()
	if !waitFor(10*time.Second, func() bool { return e.TLSStats().Current == 0 }) {
		t.Errorf("current TLS sessions after the last closed: %d", e.TLSStats().Current)
	}
}

// Many clients at once, on both loops: each handshake comes back to its
// loop and each session gets its own bytes.
func TestTLSConcurrentClients(t *testing.T) {
	_, addr, cli := startTLSEngine(t, tcpConfig(t, "", echoServer(t)), Options{})
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := tls.Dial("tcp", addr, cli)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			if err := echoOnce(c, fmt.Sprintf("client %d %s", i, strings.Repeat("x", i*1000)), 10*time.Second); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// A request claimed for fjord's own answer (the stats page) is handed off
// the loop with its TLS session: the handler reads the request through
// it and answers through it.
func TestTLSHandOff(t *testing.T) {
	web := webNode(t, "web01")
	opts := Options{Intercept: func(fe, be string, req *h1.Request) Local {
		if string(req.Path) != "/stats" {
			return Local{}
		}
		return Local{Serve: func(c net.Conn) {
			defer c.Close()
			r, err := http.ReadRequest(bufio.NewReader(c))
			if err != nil {
				return
			}
			body := "stats for " + r.URL.Path
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
		}}
	}}
	_, addr, cli := startTLSEngine(t, httpSeedConfig(t, "", []string{web}, []string{web}), opts)
	c := tlsDial(t, addr, cli)
	br := bufio.NewReader(c)
	resp, body := httpRoundTrip(t, c, br, "GET /stats HTTP/1.1\r\nHost: fjord.test\r\n\r\n")
	if resp.StatusCode != 200 || body != "stats for /stats" {
		t.Fatalf("%d %q", resp.StatusCode, body)
	}
}

// tlsBackend serves handler over TLS with cert on a new loopback
// listener.
func tlsBackend(t testing.TB, cert tls.Certificate, handler func(net.Conn)) string {
	t.Helper()
	return serveTCP(t, func(c net.Conn) {
		tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert}})
		defer tc.Close()
		if err := tc.Handshake(); err != nil {
			return
		}
		handler(tc)
	})
}

// serverTLSOpts has the engine speak TLS to every server of cfgText.
func serverTLSOpts(t testing.TB, cfgText string, st *ServerTLS) (*config.Config, Options) {
	t.Helper()
	cfg, err := config.Parse("test.cfg", []byte(cfgText), config.Options{Resolver: config.NoResolver})
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{Logger: testLogger{t}, ServerTLS: map[*config.Server]*ServerTLS{}}
	for _, be := range cfg.Backends() {
		for _, sv := range be.Servers {
			opts.ServerTLS[sv] = st
		}
	}
	return cfg, opts
}

// In tcp mode fjord re-encrypts: a plain client's bytes reach a TLS
// server, a transfer larger than a pipe both ways.
func TestServerTLSTCP(t *testing.T) {
	cert, roots := testcert.SelfSigned(t, "fjord.test")
	backend := tlsBackend(t, cert, func(c net.Conn) {
		io.Copy(c, c)
		c.(*tls.Conn).CloseWrite()
	})
	cfg, opts := serverTLSOpts(t, tcpConfig(t, "", backend), &ServerTLS{Config: &tls.Config{RootCAs: roots, ServerName: "fjord.test"}})
	_, addr := startParsed(t, cfg, opts)
	c := dial(t, addr)
	big := bytes.Repeat([]byte("fjord-tls-server"), 1<<16)
	errc := make(chan error, 1)
	go func() {
		_, err := c.Write(big)
		if err == nil {
			err = c.CloseWrite()
		}
		errc <- err
	}()
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	got, err := io.ReadAll(c)
	if err != nil || !bytes.Equal(got, big) {
		t.Fatalf("echo through a TLS server: %d of %d bytes, %v", len(got), len(big), err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// In http mode a server may be named by the request's Host
// ("sni req.hdr(host)"), and one whose certificate does not verify is
// not talked to: the client gets a 503.
func TestServerTLSHTTP(t *testing.T) {
	cert, roots := testcert.SelfSigned(t, "fjord.test")
	var sni sync.Map
	backend := tlsBackend(t, cert, func(c net.Conn) {
		sni.Store(c.(*tls.Conn).ConnectionState().ServerName, true)
		br := bufio.NewReader(c)
		for {
			r, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			io.Copy(io.Discard, r.Body)
			body := "over TLS: " + r.URL.Path
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
		}
	})
	t.Run("named by Host", func(t *testing.T) {
		cfg, opts := serverTLSOpts(t, httpSeedConfig(t, "", []string{backend}, []string{backend}), &ServerTLS{Config: &tls.Config{RootCAs: roots}, SNIFromHost: true})
		_, addr := startParsed(t, cfg, opts)
		c := dial(t, addr)
		br := bufio.NewReader(c)
		for _, path := range []string{"/a", "/b"} {
			resp, body := httpRoundTrip(t, c, br, "GET "+path+" HTTP/1.1\r\nHost: fjord.test:8080\r\n\r\n")
			if resp.StatusCode != 200 || body != "over TLS: "+path {
				t.Fatalf("GET %s: %d %q", path, resp.StatusCode, body)
			}
		}
		if _, ok := sni.Load("fjord.test"); !ok {
			t.Fatal("the server was not named fjord.test")
		}
	})
	t.Run("a certificate that does not verify", func(t *testing.T) {
		cfg, opts := serverTLSOpts(t, httpSeedConfig(t, "", []string{backend}, []string{backend}), &ServerTLS{Config: &tls.Config{RootCAs: roots, ServerName: "other.test"}})
		_, addr := startParsed(t, cfg, opts)
		c := dial(t, addr)
		resp, _ := httpRoundTrip(t, c, bufio.NewReader(c), "GET / HTTP/1.1\r\nHost: fjord.test\r\n\r\n")
		if resp.StatusCode != 503 {
			t.Fatalf("status %d, want 503", resp.StatusCode)
		}
	})
}

// TLS on both sides: fjord terminates the client's session and opens
// its own to the server.
func TestTLSBothSides(t *testing.T) {
	cert, roots := testcert.SelfSigned(t, "fjord.test")
	backend := tlsBackend(t, cert, func(c net.Conn) {
		io.Copy(c, c)
		c.(*tls.Conn).CloseWrite()
	})
	cfgText := tcpConfig(t, "", backend)
	cfg, opts := serverTLSOpts(t, cfgText, &ServerTLS{Config: &tls.Config{RootCAs: roots, ServerName: "fjord.test"}})
	srvCfg := handshake.NewServerConfig(&tls.Config{Certificates: []tls.Certificate{cert}})
	opts.TLS = map[*config.Bind]*handshake.ServerConfig{cfg.Frontends()[0].Binds[0]: srvCfg}
	_, addr := startParsed(t, cfg, opts)
	c := tlsDial(t, addr, &tls.Config{RootCAs: roots, ServerName: "fjord.test"})
	for _, msg := range []string{"one", strings.Repeat("two", 30000)} {
		if err := echoOnce(c, msg, 10*time.Second); err != nil {
			t.Fatal(err)
		}
	}
}

// A redirect is answered through the record layer, and the session goes
// on with the next request.
func TestTLSRedirect(t *testing.T) {
	web := webNode(t, "web01")
	cfg := httpSeedConfig(t, "", []string{web}, []string{web})
	cfg = strings.Replace(cfg, "  acl url_static", "  redirect prefix /moved code 301 if { path_beg /old }\n  acl url_static", 1)
	_, addr, cli := startTLSEngine(t, cfg, Options{})
	c := tlsDial(t, addr, cli)
	br := bufio.NewReader(c)
	resp, _ := httpRoundTrip(t, c, br, "GET /old/page HTTP/1.1\r\nHost: fjord.test\r\n\r\n")
	if resp.StatusCode != 301 || resp.Header.Get("Location") != "/moved/old/page" {
		t.Fatalf("%d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, body := httpRoundTrip(t, c, br, "GET /new HTTP/1.1\r\nHost: fjord.test\r\n\r\n"); resp.StatusCode != 200 || !strings.HasSuffix(body, "/new") {
		t.Fatalf("after the redirect: %d %q", resp.StatusCode, body)
	}
}

// namedTLSBackend is a TLS echo server whose certificate names name; it
// answers every connection with its name, then echoes.
func namedTLSBackend(t testing.TB, name string) string {
	t.Helper()
	cert, _ := testcert.SelfSigned(t, "fjord.test")
	return tlsBackend(t, cert, func(c net.Conn) {
		io.WriteString(c, name+"\n")
		io.Copy(c, c)
	})
}

// TLS passed through in tcp mode, routed by the SNI of the ClientHello
// peeked before forwarding: the client's handshake reaches the server it
// named, untouched; what is not TLS is rejected by the content rules.
func TestTLSPassthroughBySNI(t *testing.T) {
	a, b := namedTLSBackend(t, "tenant-a"), namedTLSBackend(t, "tenant-b")
	cfg := fmt.Sprintf(`defaults
  mode tcp
  timeout connect 2s
  timeout client 10s
  timeout server 10s
frontend passthrough
  bind 127.0.0.1:%d
  tcp-request inspect-delay 5s
  tcp-request content accept if { req.ssl_hello_type 1 }
  tcp-request content reject
  use_backend tenant_a if { req.ssl_sni -i a.example.com }
  use_backend tenant_a if { req.ssl_alpn acme-tls/1 }
  default_backend tenant_b
backend tenant_a
  server a %s
backend tenant_b
  server b %s
`, freePort(t), a, b)
	_, addr := startEngine(t, cfg)
	for _, tc := range []struct {
		sni, alpn, want string
	}{{"A.example.com", "", "tenant-a"}, {"b.example.com", "", "tenant-b"}, {"", "", "tenant-b"}, {"c.example.com", "acme-tls/1", "tenant-a"}} {
		t.Run("SNI "+tc.sni+" ALPN "+tc.alpn, func(t *testing.T) {
			cfg := &tls.Config{ServerName: tc.sni, InsecureSkipVerify: true}
			if tc.alpn != "" {
				cfg.NextProtos = []string{tc.alpn}
			}
			c, err := tls.Dial("tcp", addr, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			line, err := bufio.NewReader(c).ReadString('\n')
			if err != nil || line != tc.want+"\n" {
				t.Fatalf("reached %q, %v; want %s", line, err, tc.want)
			}
		})
	}
	t.Run("a hello in two segments", func(t *testing.T) {
		raw := dial(t, addr)
		slow := &slowConn{Conn: raw}
		c := tls.Client(slow, &tls.Config{ServerName: "a.example.com", InsecureSkipVerify: true})
		c.SetDeadline(time.Now().Add(10 * time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil || line != "tenant-a\n" {
			t.Fatalf("reached %q, %v", line, err)
		}
	})
	t.Run("not TLS", func(t *testing.T) {
		c := dial(t, addr)
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: a.example.com\r\n\r\n")
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if got, err := io.ReadAll(c); len(got) != 0 || err != nil && !isReset(err) {
			t.Fatalf("a plain request got %q, %v", got, err)
		}
	})
}

// slowConn sends its first write in two segments, with a read of
// nothing in between impossible to merge: the second half goes once the
// first has surely left.
type slowConn struct {
	net.Conn
	once sync.Once
}

func (s *slowConn) Write(p []byte) (int, error) {
	split := false
	s.once.Do(func() { split = len(p) > 20 })
	if !split {
		return s.Conn.Write(p)
	}
	n, err := s.Conn.Write(p[:20])
	if err != nil {
		return n, err
	}
	time.Sleep(50 * time.Millisecond) // two TCP segments, not a timing assertion
	m, err := s.Conn.Write(p[20:])
	return n + m, err
}

// tcp-request connection rules run at the accept, on the address only.
func TestTCPRequestConnection(t *testing.T) {
	for _, tc := range []struct {
		rule   string
		served bool
	}{
		{"tcp-request connection reject if { src 127.0.0.0/8 }", false},
		{"tcp-request connection reject if { src 10.0.0.0/8 }", true},
		{"tcp-request connection accept if { src 127.0.0.1 }\n  tcp-request connection reject", true},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			_, addr := startEngine(t, tcpConfig(t, "  "+tc.rule, echoServer(t)))
			c := dial(t, addr)
			err := echoOnce(c, "hello", 5*time.Second)
			if (err == nil) != tc.served {
				t.Fatalf("echo: %v, want served %v", err, tc.served)
			}
		})
	}
}

// ssl_fc and ssl_fc_sni in http mode: the classic redirect of plain HTTP
// to HTTPS, and routing by the name the client asked for.
func TestTLSFetchesHTTP(t *testing.T) {
	web, api := webNode(t, "web01"), webNode(t, "api01")
	text := fmt.Sprintf(`defaults
  mode http
  timeout connect 2s
  timeout client 10s
  timeout server 10s
frontend www
  bind 127.0.0.1:%d
  bind 127.0.0.1:%d
  redirect scheme https code 301 if !{ ssl_fc }
  use_backend api if { ssl_fc_sni -i api.fjord.test } { ssl_fc_protocol TLSv1.3 }
  default_backend web
backend web
  server w %s
backend api
  server a %s
`, freePort(t), freePort(t), web, api)
	cfg, err := config.Parse("test.cfg", []byte(text), config.Options{Resolver: config.NoResolver})
	if err != nil {
		t.Fatal(err)
	}
	cert, roots := testcert.SelfSigned(t, "fjord.test")
	binds := cfg.Frontends()[0].Binds
	srv := handshake.NewServerConfig(&tls.Config{Certificates: []tls.Certificate{cert}})
	e, err := New(cfg, Options{Logger: testLogger{t}, TLS: map[*config.Bind]*handshake.ServerConfig{binds[1]: srv}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Stop)
	plain, secure := e.Addr(binds[0]).String(), e.Addr(binds[1]).String()

	c := dial(t, plain)
	resp, _ := httpRoundTrip(t, c, bufio.NewReader(c), "GET /a?b=1 HTTP/1.1\r\nHost: www.fjord.test\r\n\r\n")
	if resp.StatusCode != 301 || resp.Header.Get("Location") != "https://www.fjord.test/a?b=1" {
		t.Fatalf("plain HTTP: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	for _, tc := range []struct{ sni, want string }{{"api.fjord.test", "api01"}, {"fjord.test", "web01"}} {
		tc2 := tlsDial(t, secure, &tls.Config{RootCAs: roots, ServerName: tc.sni, InsecureSkipVerify: tc.sni != "fjord.test"})
		resp, _ := httpRoundTrip(t, tc2, bufio.NewReader(tc2), "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		if resp.StatusCode != 200 || resp.Header.Get("X-Served-By") != tc.want {
			t.Fatalf("SNI %s: %d served by %q, want %s", tc.sni, resp.StatusCode, resp.Header.Get("X-Served-By"), tc.want)
		}
	}
}

// A failed handshake is logged as HAProxy logs it, one line and no
// other: "FRONTEND/BIND: SSL handshake failure", or what HAProxy says of a
// timeout or a close.
func TestTLSHandshakeFailureLogged(t *testing.T) {
	sink := &recordSink{}
	cfg := strings.Replace(logConfig(t, "tcp", "", echoServer(t)), "timeout client 5s", "timeout client 300ms", 1)
	_, addr, _ := startTLSEngine(t, cfg, logOpts(sink))
	for i, tc := range []struct{ send, want string }{
		{"GET / HTTP/1.1\r\n\r\n", "SSL handshake failure"},
		{"", "Timeout during SSL handshake"},
		{"\x16\x03\x01\x00\x30\x01", "Connection closed during SSL handshake"},
	} {
		c := dial(t, addr)
		io.WriteString(c, tc.send)
		if tc.want == "Connection closed during SSL handshake" {
			c.CloseWrite()
		}
		r := sink.wait(t, i+1)
		if r.Kind != RecordConnError || r.Error != tc.want || r.Frontend != "px" || r.Bind != "1" {
			t.Errorf("record %+v, want %q", r.Error, tc.want)
		}
		c.Close()
	}
	if n := sink.n.Load(); n != 3 {
		t.Errorf("%d records for three failed handshakes", n)
	}
}
