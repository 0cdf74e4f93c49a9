package engine

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/fjordlb/fjord/balancer"
	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/tls/record"
	"github.com/fjordlb/fjord/tls/settings"
	"github.com/fjordlb/fjord/tls/testcert"
)

// tlsHTTPBackend is a keep-alive HTTP/1.1 server over crypto/tls that
// numbers its connections and answers each request with what carried
// it: "conn=N sni=NAME resumed=BOOL host=HOST".
type tlsHTTPBackend struct {
	addr string
	mu   sync.Mutex
	// conns are the connections' handshakes, in the order they were
	// accepted: conns[N-1] is connection N's.
	conns []tls.ConnectionState
	// mismatches counts requests whose Host was not the SNI of the
	// connection that carried them.
	mismatches int
}

// newTLSHTTPBackend serves with cert, at most maxVersion (0: TLS 1.3).
// after, if set, runs after each response with the connection's number
// and its session; it returns true to stop serving the connection.
func newTLSHTTPBackend(t testing.TB, cert tls.Certificate, maxVersion uint16, after func(conn int, tc *tls.Conn) bool) *tlsHTTPBackend {
	t.Helper()
	b := &tlsHTTPBackend{}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MaxVersion: maxVersion}
	b.addr = serveTCP(t, func(c net.Conn) {
		tc := tls.Server(c, cfg)
		defer tc.Close()
		if err := tc.Handshake(); err != nil {
			return
		}
		st := tc.ConnectionState()
		b.mu.Lock()
		b.conns = append(b.conns, st)
		id := len(b.conns)
		b.mu.Unlock()
		br := bufio.NewReader(tc)
		for {
			r, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			io.Copy(io.Discard, r.Body)
			host := r.Host
			if h, _, err := net.SplitHostPort(host); err == nil {
				host = h
			}
			if st.ServerName != "" && host != st.ServerName {
				b.mu.Lock()
				b.mismatches++
				b.mu.Unlock()
			}
			body := fmt.Sprintf("conn=%d sni=%s resumed=%v host=%s", id, st.ServerName, st.DidResume, host)
			if _, err := fmt.Fprintf(tc, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body); err != nil {
				return
			}
			if after != nil && after(id, tc) {
				return
			}
		}
	})
	return b
}

// handshakes is how many connections the backend accepted, each with a
// handshake of its own, and how many of those resumed a session.
func (b *tlsHTTPBackend) handshakes() (n, resumed int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, st := range b.conns {
		if st.DidResume {
			resumed++
		}
	}
	return len(b.conns), resumed
}

// tlsGet does one request for path with Host host on c and returns the
// backend's answer.
func tlsGet(t *testing.T, c net.Conn, br *bufio.Reader, path, host string) string {
	t.Helper()
	resp, body := httpRoundTrip(t, c, br, "GET "+path+" HTTP/1.1\r\nHost: "+host+"\r\n\r\n")
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s (Host %s): %d %q", path, host, resp.StatusCode, body)
	}
	return body
}

// connOf is the number of the backend connection that carried an answer.
func connOf(t *testing.T, body string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscanf(body, "conn=%d ", &n); err != nil {
		t.Fatalf("answer %q: %v", body, err)
	}
	return n
}

// Kept-alive TLS server connections are reused: a client's requests go
// on one connection, one handshake; a connection the client leaves for
// another server waits in the loop's idle pool, TLS session and all, and
// carries its next request to that server, and a later request of
// another client ("http-reuse safe").
func TestServerTLSIdlePool(t *testing.T) {
	cert, roots := testcert.SelfSigned(t, "fjord.test")
	web := newTLSHTTPBackend(t, cert, 0, nil)
	static := newTLSHTTPBackend(t, cert, 0, nil)
	cfg, opts := serverTLSOpts(t, oneLoop(httpSeedConfig(t, "", []string{web.addr}, []string{static.addr})),
		&ServerTLS{Config: &tls.Config{RootCAs: roots, ServerName: "fjord.test"}})
	_, addr := startParsed(t, cfg, opts)

	a := dial(t, addr)
	abr := bufio.NewReader(a)
	for i := range 5 {
		if got := tlsGet(t, a, abr, fmt.Sprintf("/%d", i), "x"); connOf(t, got) != 1 {
			t.Fatalf("request %d: %q, want server connection 1", i, got)
		}
	}
	// Alternating: each server's connection waits in the pool while the
	// other one serves.
	for i := range 6 {
		path := "/"
		if i%2 == 1 {
			path = "/images/x.png"
		}
		if got := tlsGet(t, a, abr, path, "x"); connOf(t, got) != 1 {
			t.Fatalf("%s, round %d: %q, want server connection 1", path, i, got)
		}
	}
	// A's web connection is in the pool. B's first request has its own
	// connection; its second takes A's.
	b := dial(t, addr)
	bbr := bufio.NewReader(b)
	if got := tlsGet(t, b, bbr, "/images/y.png", "x"); connOf(t, got) != 2 {
		t.Fatalf("B's first request: %q, want a connection of its own", got)
	}
	if got := tlsGet(t, b, bbr, "/", "x"); connOf(t, got) != 1 {
		t.Fatalf("B's second request: %q, want A's idle connection 1", got)
	}
	if n, _ := web.handshakes(); n != 1 {
		t.Errorf("web: %d handshakes, want 1", n)
	}
	if n, _ := static.handshakes(); n != 2 {
		t.Errorf("static: %d handshakes, want 2", n)
	}
}

// With "sni req.hdr(host)", a TLS connection is named by the Host of the
// request that opened it, and carries only requests for that name:
// requests for two names on one client connection alternate between two
// server connections, kept in the idle pool by name, never one for the
// other; so do another client's.
func TestServerTLSIdlePoolBySNI(t *testing.T) {
	cert, roots := testcert.SelfSigned(t, "a.test", "b.test")
	web := newTLSHTTPBackend(t, cert, 0, nil)
	cfg, opts := serverTLSOpts(t, oneLoop(httpSeedConfig(t, "", []string{web.addr}, []string{web.addr})),
		&ServerTLS{Config: &tls.Config{RootCAs: roots}, SNIFromHost: true})
	_, addr := startParsed(t, cfg, opts)
	check := func(c net.Conn, br *bufio.Reader, host string) int {
		t.Helper()
		got := tlsGet(t, c, br, "/", host+":8080")
		if !strings.Contains(got, " sni="+host+" ") {
			t.Fatalf("Host %s: %q, on a connection named otherwise", host, got)
		}
		return connOf(t, got)
	}
	a := dial(t, addr)
	abr := bufio.NewReader(a)
	byName := map[string]int{}
	for i := range 6 {
		host := []string{"a.test", "b.test"}[i%2]
		n := check(a, abr, host)
		if prev, ok := byName[host]; ok && prev != n {
			t.Fatalf("Host %s: connection %d, then %d", host, prev, n)
		}
		byName[host] = n
	}
	// A holds its b.test connection, and left the a.test one in the
	// pool. B's first request has its own connection, named b.test; its
	// second, for a.test, takes A's.
	b := dial(t, addr)
	bbr := bufio.NewReader(b)
	if n := check(b, bbr, "b.test"); n != 3 {
		t.Fatalf("B's first request on connection %d, want 3", n)
	}
	if n := check(b, bbr, "a.test"); n != byName["a.test"] {
		t.Fatalf("B's a.test request on connection %d, want %d", n, byName["a.test"])
	}
	if n, _ := web.handshakes(); n != 3 {
		t.Errorf("%d handshakes, want 3", n)
	}
	web.mu.Lock()
	defer web.mu.Unlock()
	if web.mismatches != 0 {
		t.Errorf("%d requests on a connection named for another host", web.mismatches)
	}
}

// A server that ends an idle TLS connection with close_notify: fjord
// drops it from the pool (answering with its own close_notify), and the
// next request to that server goes on a new connection, for both TLS
// versions; with TLS 1.3 that connection resumes the session of the one
// dropped.
func TestServerTLSIdleCloseNotify(t *testing.T) {
	for _, version := range tlsVersions {
		t.Run(tls.VersionName(version), func(t *testing.T) {
			cert, roots := testcert.SelfSigned(t, "fjord.test")
			closeNow, dropped := make(chan struct{}), make(chan error, 1)
			var once sync.Once
			release := func() { once.Do(func() { close(closeNow) }) }
			t.Cleanup(release) // a failed test must not leave the backend waiting
			web := newTLSHTTPBackend(t, cert, version, func(conn int, tc *tls.Conn) bool {
				if conn != 1 {
					return false
				}
				<-closeNow
				err := tc.CloseWrite() // close_notify
				if err == nil {
					// fjord answers with close_notify and closes.
					_, err = io.Copy(io.Discard, tc)
				}
				dropped <- err
				return true
			})
			static := newTLSHTTPBackend(t, cert, version, nil)
			cfg, opts := serverTLSOpts(t, oneLoop(httpSeedConfig(t, "", []string{web.addr}, []string{static.addr})), nil)
			for sv := range opts.ServerTLS {
				// A session cache per server, as tls/settings makes them.
				opts.ServerTLS[sv] = &ServerTLS{Config: &tls.Config{RootCAs: roots, ServerName: "fjord.test", ClientSessionCache: tls.NewLRUClientSessionCache(4)}}
			}
			_, addr := startParsed(t, cfg, opts)
			c := dial(t, addr)
			br := bufio.NewReader(c)
			if got := tlsGet(t, c, br, "/", "x"); connOf(t, got) != 1 {
				t.Fatalf("first request: %q", got)
			}
			// To the other server: the web connection goes to the pool.
			tlsGet(t, c, br, "/images/x.png", "x")
			release()
			if err := <-dropped; err != nil {
				t.Fatalf("the idle connection was not closed with close_notify: %v", err)
			}
			want := fmt.Sprintf("conn=2 sni=fjord.test resumed=%v ", version == tls.VersionTLS13)
			if got := tlsGet(t, c, br, "/", "x"); !strings.HasPrefix(got, want) {
				t.Fatalf("after the server closed the idle connection: %q, want %q", got, want)
			}
		})
	}
}

// An idle TLS connection holds no record buffer: they go back to the
// loop when it enters the pool. It counts as a current TLS session until
// the pool drops it. One that holds bytes the server sent is not quiet,
// and does not enter the pool.
func TestIdleTLSHoldsNoBuffers(t *testing.T) {
	cfg, err := config.Parse("test.cfg", []byte(tcpConfig(t, "", "127.0.0.1:1")), config.Options{Resolver: config.NoResolver})
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(cfg, Options{Logger: testLogger{t}})
	if err != nil {
		t.Fatal(err)
	}
	l, err := newLoop(e, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer l.closeFDs()
	secret := bytes.Repeat([]byte{7}, 32)
	layer, err := record.New(record.Client, record.Keys{Version: tls.VersionTLS13, Suite: tls.TLS_AES_128_GCM_SHA256,
		ClientSecret: bytes.Clone(secret), ServerSecret: bytes.Clone(secret)})
	if err != nil {
		t.Fatal(err)
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[1])
	if err := l.register(fds[0], nil); err != nil {
		t.Fatal(err)
	}
	e.tlsCounters.current.Add(1)
	tc := &tlsConn{layer: layer, ended: &e.tlsCounters.current, sni: "fjord.test"}
	tc.ct, tc.pt = l.tls.getCT(), l.tls.getPT()
	tc.pt = append(tc.pt, "response"...)
	if tc.quiet() {
		t.Fatal("a connection holding plaintext is quiet")
	}
	tc.ptOff = len(tc.pt) // taken
	if !tc.quiet() {
		t.Fatal("a connection holding nothing is not quiet")
	}
	srv := &balancer.Server{}
	l.idle.put(fds[0], srv, tc)
	if tc.ct != nil || tc.pt != nil || len(l.tls.ct) != 1 || len(l.tls.pt) != 1 {
		t.Fatalf("in the pool, the connection holds its buffers (ct %v, pt %v)", tc.ct != nil, tc.pt != nil)
	}
	if fd, got := l.idle.take(idleKey{srv: srv, sni: "other.test"}); fd >= 0 || got != nil {
		t.Fatal("taken for another SNI")
	}
	fd, got := l.idle.take(idleKey{srv: srv, sni: "fjord.test"})
	if fd != fds[0] || got != tc {
		t.Fatalf("take: %d, %p; want %d, %p", fd, got, fds[0], tc)
	}
	l.idle.put(fd, srv, got)
	l.idle.closeAll()
	if n := e.tlsCounters.current.Load(); n != 0 {
		t.Fatalf("%d current TLS sessions after the pool dropped its connection", n)
	}
	// Its close_notify went out before the socket was closed.
	buf := make([]byte, 64)
	n, err := unix.Read(fds[1], buf)
	if err != nil || n == 0 || buf[0] != 23 {
		t.Fatalf("the peer read %d bytes (%v), want a sealed close_notify record", n, err)
	}
	for _, fd := range l.closing {
		unix.Close(fd)
	}
}

// Sessions to a server are resumed, as HAProxy resumes them, unless
// 'no-ssl-reuse': TLS 1.3 sessions (TLS 1.2 ones never are, see
// tls/handshake), and only under the SNI they were made with. The
// configuration is read as cmd/fjord reads it (tls/settings).
func TestServerTLSResumption(t *testing.T) {
	cert, _ := testcert.SelfSigned(t, "a.test", "b.test")
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, version := range tlsVersions {
		for _, opt := range []string{"", "no-ssl-reuse"} {
			t.Run(tls.VersionName(version)+"/"+opt, func(t *testing.T) {
				web := newTLSHTTPBackend(t, cert, version, nil)
				line := web.addr + " ssl verify required ca-file " + caFile + " sni req.hdr(host) " + opt
				cfg, err := config.Parse("test.cfg", []byte(httpSeedConfig(t, "", []string{line}, []string{line})), config.Options{Resolver: config.NoResolver})
				if err != nil {
					t.Fatal(err)
				}
				set, err := settings.Build(cfg)
				if err != nil {
					t.Fatal(err)
				}
				opts := Options{ServerTLS: map[*config.Server]*ServerTLS{}}
				for sv, tc := range set.Servers {
					opts.ServerTLS[sv] = &ServerTLS{Config: tc, SNIFromHost: sv.TLS.SNI.Source == config.SNIHostHeader}
				}
				_, addr := startParsed(t, cfg, opts)
				resumes := version == tls.VersionTLS13 && opt == ""
				// A client each: a client's first request has a
				// connection of its own, and a handshake.
				for i, tc := range []struct {
					host    string
					resumed bool
				}{
					{"a.test", false},
					{"a.test", resumes},
					{"b.test", false}, // not a.test's session
					{"b.test", resumes},
				} {
					c := dial(t, addr)
					want := fmt.Sprintf("conn=%d sni=%s resumed=%v ", i+1, tc.host, tc.resumed)
					if got := tlsGet(t, c, bufio.NewReader(c), "/", tc.host); !strings.HasPrefix(got, want) {
						t.Fatalf("client %d: %q, want %q", i+1, got, want)
					}
				}
			})
		}
	}
}

// A TLS 1.3 server's ticket, read alone before the response it sends
// later, is no end of the stream: the response that follows is
// forwarded. (crypto/tls servers send tickets to clients that can
// resume, in their first flight.)
func TestServerTLSTicketBeforeResponse(t *testing.T) {
	cert, roots := testcert.SelfSigned(t, "fjord.test")
	got, answer := make(chan struct{}, 1), make(chan struct{})
	var once sync.Once
	release := func() { once.Do(func() { close(answer) }) }
	t.Cleanup(release)
	backend := tlsBackend(t, cert, func(c net.Conn) {
		br := bufio.NewReader(c)
		if _, err := http.ReadRequest(br); err != nil {
			return
		}
		got <- struct{}{}
		<-answer
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nlater")
	})
	cfg, opts := serverTLSOpts(t, httpSeedConfig(t, "", []string{backend}, []string{backend}),
		&ServerTLS{Config: &tls.Config{RootCAs: roots, ServerName: "fjord.test", ClientSessionCache: tls.NewLRUClientSessionCache(4)}})
	_, addr := startParsed(t, cfg, opts)
	c := dial(t, addr)
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	<-got // fjord sent the request and looked for the response at once: it found the ticket alone
	release()
	resp, body := readResponse(t, bufio.NewReader(c), nil)
	if resp.StatusCode != 200 || body != "later" {
		t.Fatalf("%d %q", resp.StatusCode, body)
	}
}
