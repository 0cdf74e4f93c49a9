package health

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	stdlog "log"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fjordlb/fjord/balancer"
	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/tls/testcert"
)

// hello is what a TLS server saw of a client's hello.
type hello struct {
	serverName string
	alpn       []string
}

// tlsNode is an HTTPS web node made with crypto/tls and net/http, whose
// certificate a test can change, and which records the hellos it sees.
type tlsNode struct {
	addr   string
	cert   atomic.Pointer[tls.Certificate]
	checks atomic.Int64
	mu     sync.Mutex
	hellos []hello
	protos []string // the protocols negotiated for the checks' requests
}

func newTLSNode(t *testing.T, cert tls.Certificate) *tlsNode {
	t.Helper()
	n := &tlsNode{}
	n.cert.Store(&cert)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	n.addr = ln.Addr().String()
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("User-Agent") == "fjord-check" {
				n.checks.Add(1)
			}
			n.mu.Lock()
			n.protos = append(n.protos, r.TLS.NegotiatedProtocol)
			n.mu.Unlock()
			io.WriteString(w, "ok")
		}),
		TLSConfig: &tls.Config{
			GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return n.cert.Load(), nil },
			GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
				n.mu.Lock()
				n.hellos = append(n.hellos, hello{h.ServerName, slices.Clone(h.SupportedProtos)})
				n.mu.Unlock()
				return nil, nil
			},
			NextProtos: []string{"http/1.1"},
		},
		// The failed handshakes the tests cause are no news.
		ErrorLog: stdlog.New(io.Discard, "", 0),
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.ServeTLS(ln, "", "")
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	return n
}

func (n *tlsNode) lastHello(t *testing.T) hello {
	t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.hellos) == 0 {
		t.Fatal("the server saw no TLS hello")
	}
	return n.hellos[len(n.hellos)-1]
}

// silentNode accepts connections and never says a word: a TLS
// handshake with it never ends.
func silentNode(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// checkTLSFor makes check configurations as cmd/fjord is to make them,
// from a CA pool the test holds instead of ca-file: check-sni, else the
// sni text, as ServerName; check-alpn, else alpn, as NextProtos. It
// records the servers it was asked about.
func checkTLSFor(roots *x509.CertPool, asked *[]string) func(*config.Server) *tls.Config {
	return func(s *config.Server) *tls.Config {
		*asked = append(*asked, s.Name)
		st := s.TLS
		c := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12, NextProtos: st.CheckALPN}
		if c.NextProtos == nil {
			c.NextProtos = st.ALPN
		}
		c.ServerName = st.CheckSNI
		if c.ServerName == "" && st.SNI.Source == config.SNIText {
			c.ServerName = st.SNI.Text
		}
		if st.Verify == config.VerifyNone {
			c.InsecureSkipVerify = true
		}
		return c
	}
}

// newTLSMonitor prepares the checks of cfgText without starting them.
func newTLSMonitor(t *testing.T, cfgText string, checkTLS func(*config.Server) *tls.Config) (*Monitor, map[string]*balancer.Backend, *testLogger) {
	t.Helper()
	cfg, err := config.Parse("test.cfg", []byte(cfgText), config.Options{Resolver: config.NoResolver})
	if err != nil {
		t.Fatalf("%v\n%s", err, cfgText)
	}
	backends := map[string]*balancer.Backend{}
	for _, px := range cfg.Backends() {
		backends[px.Name] = balancer.New(px)
	}
	lg := &testLogger{}
	m, err := New(cfg, backends, lg, checkTLS)
	if err != nil {
		t.Fatal(err)
	}
	return m, backends, lg
}

// checkOnce runs the i-th server's check once and records its result,
// as its goroutine would.
func checkOnce(m *Monitor, i int) Result {
	c := m.checks[i]
	r := c.probe.run(context.Background())
	c.record(r)
	return r
}

// waitStatus waits until srv's last check has the status.
func waitStatus(t *testing.T, m *Monitor, srv *balancer.Server, want Status) ServerStatus {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(10 * time.Second)
	for {
		st, _ := m.Status(srv)
		if st.Last.Status == want {
			return st
		}
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("server %s: last check %+v after 10s, want %s", srv.Name, st.Last, want)
		}
	}
}

const tlsChecksHTTP = `defaults
  mode http
  timeout connect 2s
  timeout check 2s
listen app
  bind 127.0.0.1:1
  server web01 %s check inter 50ms rise 2 fall 3 check-ssl verify required ca-file ca.pem check-sni web.test check-alpn http/1.1
`

// TestTLSLayer7Check: a layer-7 check over TLS passes against an HTTPS
// server, with check-sni as the server name and check-alpn offered.
func TestTLSLayer7Check(t *testing.T) {
	ca := testcert.NewCA(t, "fjord test CA")
	web := newTLSNode(t, ca.Issue(t, x509.ExtKeyUsageServerAuth, "web.test"))
	var asked []string
	m, backends, _ := newTLSMonitor(t, fmt.Sprintf(tlsChecksHTTP, web.addr), checkTLSFor(ca.Pool, &asked))
	m.Start()
	defer m.Stop()
	st := waitStatus(t, m, backends["app"].Server("web01"), StatusL7OK)
	if st.Last.Code != 200 || !st.Layer7 {
		t.Fatalf("status %+v", st)
	}
	m.Stop()
	if web.checks.Load() == 0 {
		t.Fatal("the check's request did not reach the server")
	}
	if h := web.lastHello(t); h.serverName != "web.test" || !slices.Equal(h.alpn, []string{"http/1.1"}) {
		t.Fatalf("the server saw SNI %q and ALPN %q, want web.test and [http/1.1]", h.serverName, h.alpn)
	}
	web.mu.Lock()
	proto := web.protos[0]
	web.mu.Unlock()
	if proto != "http/1.1" {
		t.Fatalf("negotiated %q, want http/1.1", proto)
	}
	if !slices.Equal(asked, []string{"web01"}) {
		t.Fatalf("TLS configurations asked for %q", asked)
	}
}

// TestTLSLayer4Check: in mode tcp the handshake is the check: L6OK, and
// no request is sent. 'ssl' with checks on the server's own address
// makes them TLS; with 'port' they stay plain, as in HAProxy.
func TestTLSLayer4Check(t *testing.T) {
	ca := testcert.NewCA(t, "fjord test CA")
	web := newTLSNode(t, ca.Issue(t, x509.ExtKeyUsageServerAuth, "web.test"))
	plain := newNode(t, "plain")
	_, plainPort, _ := net.SplitHostPort(plain.addr)
	var asked []string
	m, _, _ := newTLSMonitor(t, fmt.Sprintf(`defaults
  mode tcp
listen app
  bind 127.0.0.1:1
  server tls1 %s check check-ssl verify none check-sni web.test
  server tls2 %s check ssl verify required ca-file ca.pem sni str(web.test)
  server other 127.0.0.1:1 check ssl verify none port %s
`, web.addr, web.addr, plainPort), checkTLSFor(ca.Pool, &asked))
	for i, want := range []Status{StatusL6OK, StatusL6OK, StatusL4OK} {
		if r := checkOnce(m, i); r.Status != want || r.Info != "" {
			t.Errorf("server %d: %+v, want %s", i, r, want)
		}
	}
	if h := web.lastHello(t); h.serverName != "web.test" || h.alpn != nil {
		t.Fatalf("the server saw SNI %q and ALPN %q, want web.test and none", h.serverName, h.alpn)
	}
	if n := web.checks.Load(); n != 0 {
		t.Fatalf("a layer-4 check sent %d requests", n)
	}
	if !slices.Equal(asked, []string{"tls1", "tls2"}) {
		t.Fatalf("TLS configurations asked for %q, want tls1 and tls2", asked)
	}
	if st, _ := m.Status(m.checks[0].srv); st.Layer7 {
		t.Fatalf("mode tcp: %+v", st)
	}
}

// TestTLSCheckUnverifiedGoesDown: a server whose certificate stops
// verifying fails its checks with L6RSP and goes DOWN after fall of
// them, in HAProxy's words.
func TestTLSCheckUnverifiedGoesDown(t *testing.T) {
	ca, rogue := testcert.NewCA(t, "fjord test CA"), testcert.NewCA(t, "rogue CA")
	web := newTLSNode(t, ca.Issue(t, x509.ExtKeyUsageServerAuth, "web.test"))
	m, backends, lg := newTLSMonitor(t, fmt.Sprintf(tlsChecksHTTP, web.addr), checkTLSFor(ca.Pool, new([]string)))
	srv := backends["app"].Server("web01")
	// Two good checks take the server to full health: rise+fall-1.
	for range 2 {
		if r := checkOnce(m, 0); r.Status != StatusL7OK {
			t.Fatalf("good certificate: %+v", r)
		}
	}
	rogueCert := rogue.Issue(t, x509.ExtKeyUsageServerAuth, "web.test")
	web.cert.Store(&rogueCert)
	const info = "SSL handshake failure (x509: certificate signed by unknown authority)"
	for i := 1; i <= 3; i++ {
		r := checkOnce(m, 0)
		if r.Status != StatusL6Rsp || r.Info != info {
			t.Fatalf("check %d: %+v, want L6RSP %q", i, r, info)
		}
		if up := srv.Up(); up != (i < 3) {
			t.Fatalf("after %d failed checks of fall 3: up=%v", i, up)
		}
	}
	want := `Server app/web01 is DOWN, reason: Layer6 invalid response, info: "` + info + `", check duration: `
	if !lg.has(want) {
		t.Fatalf("no %q in %q", want, lg.all())
	}
	if web.checks.Load() != 2 {
		t.Fatalf("%d requests reached the server, want the 2 before its certificate changed", web.checks.Load())
	}
	if st, _ := m.Status(srv); st.Failed != 3 || st.Downs != 1 {
		t.Fatalf("status %+v", st)
	}
}

// TestTLSCheckNameMismatch: a certificate for another name is HAProxy's
// CO_ER_SSL_MISMATCH_SNI when the name was sent as SNI.
func TestTLSCheckNameMismatch(t *testing.T) {
	ca := testcert.NewCA(t, "fjord test CA")
	web := newTLSNode(t, ca.Issue(t, x509.ExtKeyUsageServerAuth, "other.test"))
	m, _, _ := newTLSMonitor(t, fmt.Sprintf(tlsChecksHTTP, web.addr), checkTLSFor(ca.Pool, new([]string)))
	r := checkOnce(m, 0)
	if want := "Server presented an SSL certificate different from the expected one"; r.Status != StatusL6Rsp || r.Info != want {
		t.Fatalf("%+v, want L6RSP %q", r, want)
	}
}

// TestTLSCheckHandshakeTimeout: a server that accepts the connection
// but never answers the hello gives L6TOUT, in layer 7 as in layer 4.
func TestTLSCheckHandshakeTimeout(t *testing.T) {
	addr := silentNode(t)
	for _, mode := range []string{"http", "tcp"} {
		t.Run(mode, func(t *testing.T) {
			m, _, lg := newTLSMonitor(t, fmt.Sprintf(`defaults
  mode %s
  timeout connect 100ms
  timeout check 100ms
listen app
  bind 127.0.0.1:1
  server web01 %s check check-ssl verify none
`, mode, addr), checkTLSFor(nil, new([]string)))
			r := checkOnce(m, 0)
			if r.Status != StatusL6Tout || r.Info != "Timeout during SSL handshake" {
				t.Fatalf("%+v, want L6TOUT", r)
			}
			if !lg.has("is DOWN, reason: Layer6 timeout,") {
				t.Fatalf("no DOWN message in %q", lg.all())
			}
		})
	}
}

// TestTLSCheckServerCloses: a server that closes the connection, or
// resets it, during the handshake fails it with HAProxy's words and the
// reason.
func TestTLSCheckServerCloses(t *testing.T) {
	for _, tc := range []struct{ how, info string }{
		{"close", "SSL handshake failure (connection closed by the server)"},
		{"reset", "SSL handshake failure (connection reset by peer)"},
	} {
		t.Run(tc.how, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			go func() {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				// Read the whole hello record, so that a close is a
				// clean FIN, not a reset for unread data.
				var h [5]byte
				if _, err := io.ReadFull(c, h[:]); err == nil {
					io.CopyN(io.Discard, c, int64(h[3])<<8|int64(h[4]))
				}
				if tc.how == "reset" {
					c.(*net.TCPConn).SetLinger(0)
				}
				c.Close()
			}()
			m, _, _ := newTLSMonitor(t, fmt.Sprintf(`defaults
  mode tcp
listen app
  bind 127.0.0.1:1
  server web01 %s check check-ssl verify none
`, ln.Addr()), checkTLSFor(nil, new([]string)))
			if r := checkOnce(m, 0); r.Status != StatusL6Rsp || r.Info != tc.info {
				t.Fatalf("%+v, want L6RSP %q", r, tc.info)
			}
		})
	}
}

// certDemandingServer is a TLS server, with cfg's versions, that wants a
// client certificate (which checks do not send) and closes each
// connection after its handshake.
func certDemandingServer(t *testing.T, ca *testcert.CA, cfg *tls.Config) net.Listener {
	t.Helper()
	cfg.Certificates = []tls.Certificate{ca.Issue(t, x509.ExtKeyUsageServerAuth, "web.test")}
	cfg.ClientAuth = tls.RequireAnyClientCert
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	return ln
}

// TestTLSCheckServerAlert: a server that refuses the handshake with an
// alert (here a TLS 1.2 server wanting a client certificate, which
// refuses before the handshake ends) gives L6RSP with the alert.
func TestTLSCheckServerAlert(t *testing.T) {
	ca := testcert.NewCA(t, "fjord test CA")
	ln := certDemandingServer(t, ca, &tls.Config{MaxVersion: tls.VersionTLS12})
	m, _, _ := newTLSMonitor(t, fmt.Sprintf(`defaults
  mode tcp
listen app
  bind 127.0.0.1:1
  server web01 %s check check-ssl verify required ca-file ca.pem check-sni web.test
`, ln.Addr()), checkTLSFor(ca.Pool, new([]string)))
	r := checkOnce(m, 0)
	if r.Status != StatusL6Rsp || !strings.HasPrefix(r.Info, "SSL handshake failure (remote error: tls: ") {
		t.Fatalf("%+v, want L6RSP with the server's alert", r)
	}
}

// TestTLSCheckAlertAfterHandshake: with TLS 1.3 a server refuses the
// client's certificate only after the client's handshake has ended: a
// layer-4 check has passed, a layer-7 one fails on its exchange, with
// the server's alert as its reason.
func TestTLSCheckAlertAfterHandshake(t *testing.T) {
	ca := testcert.NewCA(t, "fjord test CA")
	ln := certDemandingServer(t, ca, &tls.Config{MinVersion: tls.VersionTLS13})
	m, _, _ := newTLSMonitor(t, fmt.Sprintf(`defaults
  mode http
listen app
  bind 127.0.0.1:1
  server l7 %s check check-ssl verify required ca-file ca.pem check-sni web.test
listen tcp
  mode tcp
  bind 127.0.0.1:2
  server l4 %s check check-ssl verify required ca-file ca.pem check-sni web.test
`, ln.Addr(), ln.Addr()), checkTLSFor(ca.Pool, new([]string)))
	// The alert is read, or the connection found reset: either fails
	// the exchange, as in HAProxy.
	if r := checkOnce(m, 0); r.Status != StatusSockErr && r.Status != StatusL7Rsp ||
		r.Status == StatusSockErr && r.Info != "remote error: tls: certificate required" {
		t.Fatalf("layer 7: %+v, want SOCKERR with the server's alert", r)
	}
	if r := checkOnce(m, 1); r.Status != StatusL6OK {
		t.Fatalf("layer 4: %+v, want L6OK", r)
	}
}

// TestTLSChecksNeedAConfiguration: New refuses to check a TLS server in
// plaintext when the caller gives no TLS configuration for it.
func TestTLSChecksNeedAConfiguration(t *testing.T) {
	cfg, err := config.Parse("t.cfg", []byte(`listen app
  bind 127.0.0.1:1
  server web01 127.0.0.1:1 check check-ssl verify none
`), config.Options{Resolver: config.NoResolver})
	if err != nil {
		t.Fatal(err)
	}
	backends := map[string]*balancer.Backend{"app": balancer.New(cfg.Backends()[0])}
	for name, f := range map[string]func(*config.Server) *tls.Config{
		"nil function": nil,
		"nil result":   func(*config.Server) *tls.Config { return nil },
	} {
		_, err := New(cfg, backends, nil, f)
		if err == nil || !strings.Contains(err.Error(), "server 'web01': its checks speak TLS") {
			t.Errorf("%s: err %v", name, err)
		}
	}
}
