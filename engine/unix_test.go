package engine

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/tls/handshake"
	"github.com/fjordlb/fjord/tls/testcert"
)

// sockDir is a new directory for the test's Unix sockets, short enough
// for sun_path whatever the test's name (t.TempDir's path holds it).
func sockDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "fjord")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func dialUnix(t testing.TB, path string) *net.UnixConn {
	t.Helper()
	c, err := net.DialTimeout("unix", path, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.UnixConn)
}

// serveUnix runs handler for every connection to a new Unix listener at
// path, and returns path.
func serveUnix(t testing.TB, path string, handler func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	serve(t, ln, handler)
	return path
}

func unixEcho(c net.Conn) {
	io.Copy(c, c)
	if uc, ok := c.(*net.UnixConn); ok {
		uc.CloseWrite()
	}
}

// httpUnixServer serves HTTP on a Unix socket at path, answering with
// the request's path and its X-Forwarded-For, and counts its connections.
func httpUnixServer(t testing.TB, path string, conns *atomic.Int64) string {
	t.Helper()
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "%s xff=%q", r.URL.Path, r.Header.Get("X-Forwarded-For"))
		}),
		ConnState: func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew && conns != nil {
				conns.Add(1)
			}
		},
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return path
}

// A Unix bind serves tcp mode from every loop: the socket file is made
// with the bind's mode in place of a stale one left by a process that
// ended (its temporary name gone), and each of many connections, taken
// by whichever loop wins it, is forwarded.
func TestUnixBindTCP(t *testing.T) {
	dir := sockDir(t)
	path := filepath.Join(dir, "fe.sock")
	// A stale socket: a listener that went away and left its file.
	stale, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	stale.SetUnlinkOnClose(false)
	stale.Close()

	cfg := fmt.Sprintf("global\n  nbthread 3\ndefaults\n  mode tcp\n  timeout connect 2s\n  timeout client 30s\n  timeout server 30s\n"+
		"listen px\n  bind unix@%s mode 640\n  server s %s\n", path, echoServer(t))
	e, _ := startEngine(t, cfg)
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		t.Fatal(err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFSOCK || st.Mode&0o777 != 0o640 {
		t.Errorf("%s: mode %o, want a socket with mode 640", path, st.Mode)
	}
	if left, _ := filepath.Glob(path + ".*"); len(left) > 0 {
		t.Errorf("temporary names left behind: %v", left)
	}
	if n := len(e.listening); n != 3 {
		t.Errorf("3 loops hold %d descriptors of the Unix socket", n)
	}
	for _, lf := range e.listening {
		if lf.Unix != (config.UnixAddr{Path: path}) || lf.FD != -1 {
			t.Errorf("listening socket %+v, want the Unix socket %s", lf, path)
		}
	}
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.DialTimeout("unix", path, 5*time.Second)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			if err := echoOnce(c, fmt.Sprintf("conn %d", i), 5*time.Second); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
}

// A path that holds something other than a socket is not replaced: the
// bind fails, naming it, and the file stays as it was.
func TestUnixBindLeavesOtherFilesAlone(t *testing.T) {
	path := filepath.Join(sockDir(t), "notes.txt")
	if err := os.WriteFile(path, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("test.cfg", []byte("listen px\n  bind "+path+"\n  server s 127.0.0.1:9\n"), config.Options{Resolver: config.NoResolver})
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(cfg, Options{Logger: testLogger{t}})
	if err != nil {
		t.Fatal(err)
	}
	err = e.Listen()
	if err == nil {
		e.Stop()
		t.Fatal("Listen succeeded over a regular file")
	}
	for _, w := range []string{"listen 'px'", path + " (test.cfg:2)", "exists and is not a socket"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}
	if b, _ := os.ReadFile(path); string(b) != "keep me" {
		t.Errorf("%s now holds %q", path, b)
	}
}

// An abstract socket (abns@) has no file; it is bound padded to the whole
// of sun_path, as HAProxy binds it, and reached so.
func TestUnixBindAbstract(t *testing.T) {
	name := fmt.Sprintf("fjord-test-%d-abstract", os.Getpid())
	startEngine(t, fmt.Sprintf("defaults\n  mode tcp\n  timeout connect 2s\n  timeout client 30s\n  timeout server 30s\n"+
		"listen px\n  bind abns@%s\n  server s %s\n", name, echoServer(t)))
	c := dialUnix(t, config.UnixAddr{Path: name, Abstract: true}.SockName())
	if err := echoOnce(c, "abstract", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	// Only the padded name is bound: the short one reaches nothing.
	if c, err := net.Dial("unix", "@"+name); err == nil {
		c.Close()
		t.Error("the unpadded abstract name accepted a connection")
	}
}

// A client of a Unix socket has no IP address: its access record names
// the listener ("unix:2" in the line), an src ACL does not match it, and
// no X-Forwarded-For is added for it, as in HAProxy.
func TestUnixClientHasNoAddress(t *testing.T) {
	dir := sockDir(t)
	path := filepath.Join(dir, "fe.sock")
	ipWeb, sockWeb := webNode(t, "by-ip"), httpUnixServer(t, filepath.Join(dir, "web.sock"), nil)
	sink := &recordSink{}
	cfg := fmt.Sprintf("global\n  nbthread 1\ndefaults\n  mode http\n  option httplog\n  option forwardfor\n  timeout connect 2s\n  timeout client 5s\n  timeout server 5s\n"+
		"frontend fe\n  bind 127.0.0.1:%d\n  bind %s\n  use_backend ip if { src 0.0.0.0/0 ::/0 }\n  default_backend sock\n"+
		"backend ip\n  server a %s\nbackend sock\n  server b %s\n", freePort(t), path, ipWeb, sockWeb)
	startEngineOpts(t, cfg, logOpts(sink))
	c := dialUnix(t, path)
	resp, body := httpRoundTrip(t, c, bufio.NewReader(c), "GET /who HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp.StatusCode != 200 || body != `/who xff=""` {
		t.Fatalf("GET /who: %d %q, want the Unix server's answer without X-Forwarded-For", resp.StatusCode, body)
	}
	r := sink.wait(t, 1)
	if r.Client.IsValid() || r.Listener != 2 || r.Backend != "sock" || r.Server != "b" || r.Status != 200 {
		t.Errorf("record: client %v listener %d %s/%s %d, want no client address, listener 2, sock/b 200", r.Client, r.Listener, r.Backend, r.Server, r.Status)
	}
}

// A frontend without httplog or tcplog writes HAProxy's connect line,
// which for a Unix socket names only the listener.
func TestUnixClientConnectRecord(t *testing.T) {
	path := filepath.Join(sockDir(t), "fe.sock")
	sink := &recordSink{}
	startEngineOpts(t, fmt.Sprintf("defaults\n  mode tcp\n  timeout connect 2s\n  timeout client 5s\n  timeout server 5s\n"+
		"listen px\n  bind %s\n  server s %s\n", path, echoServer(t)), logOpts(sink))
	c := dialUnix(t, path)
	if err := echoOnce(c, "x", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	r := sink.wait(t, 1)
	if r.Kind != RecordConnect || r.Client.IsValid() || r.Local.IsValid() || r.Listener != 1 {
		t.Errorf("connect record %+v: want no addresses, listener 1", r)
	}
}

// A server that reads a PROXY header hears that fjord's client has no
// address: "PROXY UNKNOWN" (v1), a LOCAL command (v2).
func TestUnixClientSendProxy(t *testing.T) {
	for _, tc := range []struct {
		opt, want string
	}{
		{"send-proxy", "PROXY UNKNOWN\r\n"},
		{"send-proxy-v2", "\r\n\r\n\x00\r\nQUIT\n\x20\x00\x00\x00"},
	} {
		t.Run(tc.opt, func(t *testing.T) {
			got := make(chan string, 1)
			srv := serveTCP(t, func(c net.Conn) {
				b := make([]byte, len(tc.want))
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				io.ReadFull(c, b)
				got <- string(b)
			})
			path := filepath.Join(sockDir(t), "fe.sock")
			startEngine(t, fmt.Sprintf("defaults\n  mode tcp\n  timeout connect 2s\n  timeout client 5s\n  timeout server 5s\n"+
				"listen px\n  bind %s\n  server s %s %s\n", path, srv, tc.opt))
			c := dialUnix(t, path)
			io.WriteString(c, "x")
			select {
			case h := <-got:
				if h != tc.want {
					t.Errorf("header %q, want %q", h, tc.want)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the server got no header")
			}
		})
	}
}

// A TLS bind on a Unix socket: the handshake pool takes the Unix
// socket's duplicate as it takes a TCP one's, and the session forwards
// both ways in tcp and http mode. With kernel TLS on, the session stays
// in the user-space record layer without trying the kernel (kTLS is a
// TCP upper layer): no kTLS message is logged.
func TestUnixBindTLS(t *testing.T) {
	for _, mode := range []string{"tcp", "http"} {
		t.Run(mode, func(t *testing.T) {
			dir := sockDir(t)
			path := filepath.Join(dir, "ssl.sock")
			server := echoServer(t)
			if mode == "http" {
				server = webNode(t, "web")
			}
			cfgText := fmt.Sprintf("global\n  nbthread 2\ndefaults\n  mode %s\n  timeout connect 2s\n  timeout client 10s\n  timeout server 10s\n"+
				"listen px\n  bind %q\n  server s %s\n", mode, path, server)
			cfg, err := config.Parse("test.cfg", []byte(cfgText), config.Options{Resolver: config.NoResolver})
			if err != nil {
				t.Fatal(err)
			}
			cert, roots := testcert.SelfSigned(t, "fjord.test")
			logs := &lineLogger{}
			opts := Options{Logger: logs, KernelTLS: true, TLS: map[*config.Bind]*handshake.ServerConfig{
				cfg.Frontends()[0].Binds[0]: handshake.NewServerConfig(&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}),
			}}
			startParsed(t, cfg, opts)
			for _, v := range tlsVersions {
				raw := dialUnix(t, path)
				c := tls.Client(raw, &tls.Config{RootCAs: roots, ServerName: "fjord.test", MinVersion: v, MaxVersion: v})
				c.SetDeadline(time.Now().Add(10 * time.Second))
				if mode == "tcp" {
					if err := echoOnce(c, "over TLS on a Unix socket", 10*time.Second); err != nil {
						t.Fatalf("%s: %v", tls.VersionName(v), err)
					}
				} else {
					resp, body := httpRoundTrip(t, c, bufio.NewReader(c), "GET /tls HTTP/1.1\r\nHost: fjord.test\r\n\r\n")
					if resp.StatusCode != 200 || body != "web GET /tls" {
						t.Fatalf("%s: %d %q", tls.VersionName(v), resp.StatusCode, body)
					}
				}
				c.Close()
			}
			if l := logs.find("kTLS"); l != "" {
				t.Errorf("kernel TLS tried on a Unix socket: %q", l)
			}
		})
	}
}

// lineLogger keeps the engine's messages.
type lineLogger struct {
	mu    sync.Mutex
	lines []string
}

func (l *lineLogger) Printf(format string, args ...any) {
	l.mu.Lock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
	l.mu.Unlock()
}

// find returns the first message containing s, or "".
func (l *lineLogger) find(s string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		if strings.Contains(line, s) {
			return line
		}
	}
	return ""
}

// A server on a Unix socket, in tcp mode: bytes both ways, a transfer
// larger than a pipe spliced through, and the half-close.
func TestUnixServerTCP(t *testing.T) {
	srv := serveUnix(t, filepath.Join(sockDir(t), "echo.sock"), unixEcho)
	_, addr := startEngine(t, tcpConfig(t, "", srv))
	c := dial(t, addr)
	if err := echoOnce(c, "to a Unix server", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
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
	if err != nil || !bytes.Equal(got[len("to a Unix server"):], big) && !bytes.Equal(got, big) {
		t.Fatalf("echo of %d bytes: got %d, %v", len(big), len(got), err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// A server on a Unix socket, in http mode: requests on one client
// connection share one server connection (kept alive), and clients one
// after the other are served through the loop's idle connections.
func TestUnixServerHTTP(t *testing.T) {
	var conns atomic.Int64
	srv := httpUnixServer(t, filepath.Join(sockDir(t), "web.sock"), &conns)
	cfg := fmt.Sprintf("global\n  nbthread 1\ndefaults\n  mode http\n  timeout connect 2s\n  timeout client 5s\n  timeout server 5s\n"+
		"listen px\n  bind 127.0.0.1:%d\n  server s %s\n", freePort(t), srv)
	_, addr := startEngine(t, cfg)
	for i := range 3 {
		c := dial(t, addr)
		br := bufio.NewReader(c)
		for j := range 3 {
			path := fmt.Sprintf("/c%d/r%d", i, j)
			resp, body := httpRoundTrip(t, c, br, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n")
			if resp.StatusCode != 200 || body != path+` xff=""` {
				t.Fatalf("GET %s: %d %q", path, resp.StatusCode, body)
			}
		}
		c.Close()
	}
	if n := conns.Load(); n < 1 || n > 3 {
		t.Errorf("9 requests on 3 client connections took %d server connections, want 1 to 3", n)
	}
}

// A Unix server that is not there (no file: ENOENT; a file nothing
// listens on: ECONNREFUSED) fails each attempt as a TCP server that
// refuses does: retried, counted, then a 503; with redispatch the last
// retry goes to the other server.
func TestUnixServerDown(t *testing.T) {
	dir := sockDir(t)
	refusing := filepath.Join(dir, "refusing.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: refusing, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	for _, down := range []string{filepath.Join(dir, "missing.sock"), refusing} {
		t.Run(filepath.Base(down), func(t *testing.T) {
			sink := &recordSink{}
			cfg := logConfig(t, "http", "  retries 2\n  timeout connect 100ms", down)
			e, addr := startEngineWith(t, cfg, logOpts(sink))
			c := dial(t, addr)
			resp, _ := httpRoundTrip(t, c, bufio.NewReader(c), "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			if resp.StatusCode != 503 {
				t.Fatalf("status %d, want 503", resp.StatusCode)
			}
			r := sink.wait(t, 1)
			if r.Retries != 2 || term(r) != "SC" || r.Tc != -1 {
				t.Errorf("record: %d retries, term %s, Tc %d; want 2, SC, -1", r.Retries, term(r), r.Tc)
			}
			if n := e.Backend("px").Servers[0].Counters.ConnErrors.Load(); n != 3 {
				t.Errorf("%d connection errors, want 3", n)
			}
		})
	}
	t.Run("redispatch", func(t *testing.T) {
		up := serveUnix(t, filepath.Join(dir, "up.sock"), unixEcho)
		cfg := tcpConfig(t, "  retries 1\n  option redispatch\n  balance first\n  timeout connect 100ms", filepath.Join(dir, "missing.sock"), up)
		_, addr := startEngine(t, cfg)
		c := dial(t, addr)
		if err := echoOnce(c, "redispatched", 5*time.Second); err != nil {
			t.Fatal(err)
		}
	})
}

// A server on a Unix socket that speaks TLS ("ssl"): the handshake pool
// takes the Unix socket as a TCP one, in tcp and http mode.
func TestUnixServerTLS(t *testing.T) {
	cert, roots := testcert.SelfSigned(t, "fjord.test")
	dir := sockDir(t)
	tlsEcho := serveUnix(t, filepath.Join(dir, "tls.sock"), func(c net.Conn) {
		tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{cert}})
		defer tc.Close()
		if err := tc.Handshake(); err != nil {
			return
		}
		br := bufio.NewReader(tc)
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		if strings.HasPrefix(line, "GET ") {
			for {
				l, err := br.ReadString('\n')
				if err != nil || l == "\r\n" {
					break
				}
			}
			io.WriteString(tc, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
			return
		}
		io.WriteString(tc, line)
	})
	for _, mode := range []string{"tcp", "http"} {
		t.Run(mode, func(t *testing.T) {
			cfgText := fmt.Sprintf("global\n  nbthread 2\ndefaults\n  mode %s\n  timeout connect 2s\n  timeout client 10s\n  timeout server 10s\n"+
				"listen px\n  bind 127.0.0.1:%d\n  server s %s\n", mode, freePort(t), tlsEcho)
			cfg, opts := serverTLSOpts(t, cfgText, &ServerTLS{Config: &tls.Config{RootCAs: roots, ServerName: "fjord.test"}})
			opts.KernelTLS = true
			logs := &lineLogger{}
			opts.Logger = logs
			_, addr := startParsed(t, cfg, opts)
			c := dial(t, addr)
			if mode == "tcp" {
				if err := echoOnce(c, "line over TLS\n", 10*time.Second); err != nil {
					t.Fatal(err)
				}
			} else {
				resp, body := httpRoundTrip(t, c, bufio.NewReader(c), "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
				if resp.StatusCode != 200 || body != "ok" {
					t.Fatalf("%d %q", resp.StatusCode, body)
				}
			}
			if l := logs.find("kTLS"); l != "" {
				t.Errorf("kernel TLS tried on a Unix socket: %q", l)
			}
		})
	}
}

// An fd@N bind may be a Unix socket too: a listening one that the
// process starting fjord made.
func TestFDBindUnixSocket(t *testing.T) {
	path := filepath.Join(sockDir(t), "inherited.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := ln.(*net.UnixListener).File()
	if err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Dup(int(f.Fd()))
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	sink := &recordSink{}
	opts := logOpts(sink)
	opts.InheritedFD = map[int][]int{9: {fd}}
	cfg := strings.Replace(fdConfig(2, 9, echoServer(t)), "defaults\n", "defaults\n  option tcplog\n", 1)
	startEngineWith(t, cfg, opts)
	c := dialUnix(t, path)
	if err := echoOnce(c, "fd@9", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if r := sink.wait(t, 1); r.Client.IsValid() || r.Listener != 1 {
		t.Errorf("record: client %v listener %d, want a Unix client on listener 1", r.Client, r.Listener)
	}
}

// A reload hands a Unix bind's socket to the next engine, which adopts
// it instead of binding the path again: the socket file is the same one,
// a client that connects as the old engine stops is served, and the old
// engine leaves the path to the new one when it stops.
func TestUnixBindHandedOver(t *testing.T) {
	path := filepath.Join(sockDir(t), "fe.sock")
	echo := echoServer(t)
	cfg := func(loops int) string {
		return fmt.Sprintf("global\n  nbthread %d\ndefaults\n  mode tcp\n  timeout connect 2s\n  timeout client 30s\n  timeout server 30s\n"+
			"listen px\n  bind %s\n  server s %s\n", loops, path, echo)
	}
	old, _ := startEngine(t, cfg(2))
	var before unix.Stat_t
	if err := unix.Stat(path, &before); err != nil {
		t.Fatal(err)
	}
	next := handOver(t, old, cfg(3))
	var after unix.Stat_t
	if err := unix.Stat(path, &after); err != nil {
		t.Fatal(err)
	}
	if after.Ino != before.Ino {
		t.Error("the next engine bound the path again instead of adopting the socket")
	}
	if n := len(next.listening); n != 3 {
		t.Errorf("3 loops hold %d descriptors of the handed-over socket", n)
	}
	// Connected as the old engine stops: served by whichever engine
	// accepts it.
	waiting := dialUnix(t, path)
	drained := old.SoftStop()
	if err := echoOnce(waiting, "across the reload", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	waiting.Close()
	waitDrained(t, drained, 10*time.Second)
	old.Stop()
	if _, err := os.Lstat(path); err != nil {
		t.Fatalf("the old engine's stop removed the path the new one serves: %v", err)
	}
	c := dialUnix(t, path)
	if err := echoOnce(c, "after", 5*time.Second); err != nil {
		t.Fatal(err)
	}
}
