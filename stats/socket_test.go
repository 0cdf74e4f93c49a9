package stats

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fjordlb/fjord/balancer"
	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/engine"
)

const socketCfg = `global
  stats socket %s level %s
defaults
  mode http
  timeout connect 1s
  timeout client 5s
  timeout server 5s
frontend fe
  bind 127.0.0.1:%d
  default_backend web
backend web
  balance roundrobin
  server web01 %s weight 10
  server web02 %s
`

// testNode answers every request with its name.
func testNode(t *testing.T, name string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(300 * time.Millisecond)
		}
		io.WriteString(w, name)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

type runtime struct {
	path     string
	addr     string
	backends map[string]*balancer.Backend
}

func startRuntime(t *testing.T, level config.APILevel) *runtime {
	t.Helper()
	dir := t.TempDir()
	sock := filepath.Join(dir, "admin.sock")
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	text := fmt.Sprintf(socketCfg, sock, level, port, testNode(t, "web01"), testNode(t, "web02"))
	cfg, err := config.Parse("test.cfg", []byte(text), config.Options{Resolver: config.NoResolver})
	if err != nil {
		t.Fatal(err)
	}
	rt := &runtime{path: sock, backends: map[string]*balancer.Backend{}}
	for _, px := range cfg.Backends() {
		rt.backends[px.Name] = balancer.New(px)
	}
	e, err := engine.New(cfg, engine.Options{Backends: rt.backends})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Stop)
	rt.addr = e.Addr(cfg.Frontends()[0].Binds[0]).String()
	src := &Sources{Config: cfg, Frontends: e.FrontendCounters, Backends: rt.backends, Started: time.Now(), Version: "test",
		DroppedLogs: func() uint64 { return 7 }, Loops: 3,
		SSL: func() SSLInfo {
			return SSLInfo{CurrConns: 2, CumConns: 30, Rate: 5, FrontendReusePct: 80, HandshakeFailures: 1}
		}}
	s, err := ListenSocket(src, cfg.Global.StatsSockets[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return rt
}

// send writes raw to the socket, closes its write side, and reads all.
func (rt *runtime) send(t *testing.T, raw string) string {
	t.Helper()
	c, err := net.Dial("unix", rt.path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, raw)
	c.(*net.UnixConn).CloseWrite()
	out, _ := io.ReadAll(c)
	return string(out)
}

func (rt *runtime) get(t *testing.T, path string) string {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get("http://" + rt.addr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestSocketCommands(t *testing.T) {
	rt := startRuntime(t, config.LevelAdmin)
	for _, tc := range []struct{ in, want string }{
		{"get weight web/web01\n", "10 (initial 10)\n\n"},
		{"set weight web/web01 50%\n", "\n"},
		{"get weight web/web01\n", "5 (initial 10)\n\n"},
		{"set weight web/web01 300\n", "Absolute weight can only be between 0 and 256 inclusive.\n\n"},
		{"set weight web/web01 abc\n", "Invalid weight: 'abc'.\n\n"},
		{"get weight web/nope\n", "No such server.\n\n"},
		{"get weight nope/web01\n", "No such backend.\n\n"},
		{"get weight web01\n", "Require 'backend/server'.\n\n"},
		{"set server web/web01 state bogus\n", "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n\n"},
		{"disable server web/web02;get weight web/web02\n", "\n1 (initial 1)\n\n"},
		{"show servers state nope\n", "Can't find backend.\n\n"},
		{"get weight web/web\\01\n", "5 (initial 10)\n\n"}, // an escaped ordinary byte is the byte
		{"get weight web/web01;;\n", "5 (initial 10)\n\n"}, // empty commands have no answer
		{"get weight web/web01;set weight web/web01 10;get weight web/nope\n", "5 (initial 10)\n\n\nNo such server.\n\n"},
		{"\n", ""},
	} {
		if got := rt.send(t, tc.in); got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := rt.send(t, "show stat\n"); !strings.HasPrefix(got, CSVHeader()) || !strings.Contains(got, "\nweb,web02,") {
		t.Errorf("show stat: %q", got)
	}
	if got := rt.send(t, "show info\n"); !strings.Contains(got, "Name: fjord\n") || !strings.Contains(got, "Uptime_sec: ") || !strings.Contains(got, "DroppedLogs: 7\n") || !strings.Contains(got, "Nbthread: 3\n") {
		t.Errorf("show info: %q", got)
	}
	if got := rt.send(t, "show info\n"); !strings.Contains(got, "\nCurrSslConns: 2\nCumSslConns: 30\n") || !strings.Contains(got, "\nSslRate: 5\n") ||
		!strings.Contains(got, "\nSslFrontendSessionReuse_pct: 80\n") || !strings.Contains(got, "\nSslHandshakeFailures: 1\n") {
		t.Errorf("show info, TLS: %q", got)
	}
	if got := rt.send(t, "show servers state web\n"); !strings.Contains(got, "2 web 2 web02 127.0.0.1 2 1 ") {
		t.Errorf("show servers state (web02 in MAINT): %q", got)
	}
}

// No answer has an empty line, and a non-empty one ends in a newline: the
// socket ends each answer with an empty line, as HAProxy, so that a
// script can tell the answers of several commands apart.
func TestAnswersHaveNoEmptyLine(t *testing.T) {
	api := &API{Src: testSources(t), Level: config.LevelAdmin}
	for _, cmd := range []string{
		"help", "show info", "show stat", "show servers state", "show servers state web",
		"show servers state nope", "get weight web/web01", "get weight web/nope", "set weight web/web01 5",
		"set weight web/web01 x", "disable server web/web02", "enable server web/web02",
		"set server web/web02 state drain", "set server web/web02 state ready", "frobnicate", "show",
	} {
		a := api.Exec(cmd)
		if a != "" && (!strings.HasSuffix(a, "\n") || strings.HasPrefix(a, "\n") || strings.Contains(a, "\n\n")) {
			t.Errorf("%s: %q", cmd, a)
		}
	}
}

// A server on a Unix socket has no address: "show servers state" writes
// '-' and port 0 for it, as HAProxy does.
func TestServersStateUnixServer(t *testing.T) {
	cfg, err := config.Parse("t.cfg", []byte("listen web\n  bind 127.0.0.1:1\n  server ip 127.0.0.1:2\n  server sock /run/app.sock\n"), config.Options{Resolver: config.NoResolver})
	if err != nil {
		t.Fatal(err)
	}
	src := &Sources{Config: cfg, Backends: map[string]*balancer.Backend{"web": balancer.New(cfg.Backends()[0])}, Started: time.Now()}
	got := (&API{Src: src, Level: config.LevelAdmin}).Exec("show servers state web")
	for _, want := range []string{"\n1 web 1 ip 127.0.0.1 2 0 ", " - 2 -\n1 web 2 sock - 2 0 ", " - 0 -\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("show servers state lacks %q:\n%s", want, got)
		}
	}
}

// testSources are the Sources of a configuration with one backend, web,
// of two servers, without an engine.
func testSources(t testing.TB) *Sources {
	t.Helper()
	text := "listen web\n  bind 127.0.0.1:1\n  server web01 127.0.0.1:2 weight 10\n  server web02 127.0.0.1:3\n"
	cfg, err := config.Parse("t.cfg", []byte(text), config.Options{Resolver: config.NoResolver})
	if err != nil {
		t.Fatal(err)
	}
	fe := &balancer.Counters{}
	src := &Sources{Config: cfg, Backends: map[string]*balancer.Backend{}, Started: time.Now(), Version: "test",
		Frontends: func(string) *balancer.Counters { return fe }}
	for _, px := range cfg.Backends() {
		src.Backends[px.Name] = balancer.New(px)
	}
	return src
}

func TestSocketBadInput(t *testing.T) {
	rt := startRuntime(t, config.LevelAdmin)
	for _, tc := range []struct{ name, in, want string }{
		{"garbage", "\x00\x01garbage\n", "Unknown command: '??garbage'. Please enter one of the following commands only :\n"},
		{"unknown", "frobnicate\n", "Unknown command: 'frobnicate'"},
		{"half-written", "disable ser", "Unknown command: 'disable ser'"},
		{"long line", strings.Repeat("a", 10000) + "\n", "Line too long"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := rt.send(t, tc.in); !strings.HasPrefix(got, tc.want) {
				t.Fatalf("got %q, want prefix %q", got, tc.want)
			}
		})
	}
	// Nothing changed.
	for _, s := range rt.backends["web"].Servers {
		if s.Admin() != balancer.Ready {
			t.Fatalf("%s is %v after bad input", s.Name, s.Admin())
		}
	}
}

func TestSocketLevels(t *testing.T) {
	rt := startRuntime(t, config.LevelUser)
	if got := rt.send(t, "disable server web/web01\n"); got != "Permission denied\n\n" {
		t.Fatalf("user level: %q", got)
	}
	if got := rt.send(t, "help\n"); strings.Contains(got, "disable server") || !strings.Contains(got, "show stat") {
		t.Fatalf("help at user level: %q", got)
	}
	if rt.backends["web"].Server("web01").Admin() != balancer.Ready {
		t.Fatal("a refused command changed the server")
	}
}

func TestSocketDisableEnableRotation(t *testing.T) {
	rt := startRuntime(t, config.LevelAdmin)
	if got := rt.send(t, "disable server web/web02\n"); got != "\n" {
		t.Fatalf("disable: %q", got)
	}
	for i := 0; i < 10; i++ {
		if got := rt.get(t, "/"); got != "web01" {
			t.Fatalf("request %d after disable went to %s", i, got)
		}
	}
	rt.send(t, "enable server web/web02\n")
	seen := map[string]bool{}
	for i := 0; i < 30; i++ {
		seen[rt.get(t, "/")] = true
	}
	if !seen["web02"] {
		t.Fatalf("web02 enabled again but not used: %v", seen)
	}
}

func TestSocketDrainLetsOpenConnectionFinish(t *testing.T) {
	rt := startRuntime(t, config.LevelAdmin)
	// An open keep-alive connection to web02 (round robin gives the
	// second new connection to it).
	rt.send(t, "set weight web/web01 1\n")
	var held net.Conn
	var br *bufio.Reader
	for i := 0; i < 4 && held == nil; i++ {
		c, err := net.Dial("tcp", rt.addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		r := bufio.NewReader(c)
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		if string(b) == "web02" {
			held, br = c, r
			defer c.Close()
		} else {
			c.Close()
		}
	}
	if held == nil {
		t.Fatal("no connection reached web02")
	}
	if got := rt.send(t, "set server web/web02 state drain\n"); got != "\n" {
		t.Fatalf("drain: %q", got)
	}
	for i := 0; i < 10; i++ {
		if got := rt.get(t, "/"); got != "web01" {
			t.Fatalf("new request %d during drain went to %s", i, got)
		}
	}
	// The open connection still finishes its request on web02.
	io.WriteString(held, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("open connection during drain: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("open connection during drain: %d", resp.StatusCode)
	}
}

func TestSocketFileModeAndRemoval(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s.sock")
	cfg, err := config.Parse("t.cfg", []byte("global\n  stats socket "+path+" mode 600 level admin\nlisten px\n  bind 127.0.0.1:1\n  server s 127.0.0.1:2\n"), config.Options{Resolver: config.NoResolver})
	if err != nil {
		t.Fatal(err)
	}
	src := &Sources{Config: cfg, Backends: map[string]*balancer.Backend{}, Started: time.Now()}
	s, err := ListenSocket(src, cfg.Global.StatsSockets[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode: %v %v", fi.Mode(), err)
	}
	if _, err := ListenSocket(src, cfg.Global.StatsSockets[0], nil); err == nil || !strings.Contains(err.Error(), "another process") {
		t.Fatalf("second listener: %v", err)
	}
	s.Close()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("socket file left behind: %v", err)
	}
}

// startSocket serves the runtime API of testSources on a socket in a
// temporary directory, with 'stats timeout' set to timeout when not 0,
// and returns its path.
func startSocket(t *testing.T, level config.APILevel, timeout time.Duration) (string, *Sources) {
	t.Helper()
	path, src, _ := startSocketLogged(t, level, timeout)
	return path, src
}

// startSocketLogged is startSocket that also returns what the socket logs.
func startSocketLogged(t *testing.T, level config.APILevel, timeout time.Duration) (string, *Sources, *logRecorder) {
	t.Helper()
	src := testSources(t)
	if timeout != 0 {
		src.Config.Global.StatsTimeout = timeout
	}
	path := filepath.Join(t.TempDir(), "api.sock")
	log := &logRecorder{}
	s, err := ListenSocket(src, config.StatsSocket{Path: path, Level: level}, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return path, src, log
}

// logRecorder is a Logger that keeps what it is given.
type logRecorder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logRecorder) Printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(&l.b, format+"\n", args...)
}

func (l *logRecorder) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A line over the limit is answered with the error, and the client reads
// all of it and then an end of file, even while it is still sending far
// more than the socket buffers hold: the server does not reset it.
func TestSocketLongLineErrorIsDelivered(t *testing.T) {
	path, _ := startSocket(t, config.LevelAdmin, 0)
	for _, tt := range []struct {
		name string
		line []byte
	}{
		{"just over the limit", append(bytes.Repeat([]byte("a"), MaxCommandLine+1), '\n')},
		{"1 MiB", append(bytes.Repeat([]byte("show stat "), 1<<20/10), '\n')},
		{"1 MiB without a newline", bytes.Repeat([]byte("a"), 1<<20)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("unix", path)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			wrote := make(chan error, 1)
			go func() {
				_, err := c.Write(tt.line)
				if err == nil {
					err = c.(*net.UnixConn).CloseWrite()
				}
				wrote <- err
			}()
			got, err := io.ReadAll(c)
			if err != nil {
				t.Errorf("reading the answer: %v (got %q)", err, got)
			}
			if want := "Line too long: at most 4096 bytes per command line.\n\n"; string(got) != want {
				t.Errorf("answer %q, want %q", got, want)
			}
			if err := <-wrote; err != nil {
				t.Errorf("sending the line: %v", err)
			}
		})
	}
}

// A client that never stops sending after its line was refused is closed
// anyway, once lingerBytes are discarded or lingerTime has passed: it
// cannot hold the connection. Which bound comes first depends on the
// machine's speed; that the close comes from one of them does not: if
// fewer than lingerBytes were sent, lingerTime must have passed.
func TestSocketLingerIsBounded(t *testing.T) {
	path, _ := startSocket(t, config.LevelAdmin, 0)
	start := time.Now() // before the server can start lingering
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	chunk := bytes.Repeat([]byte("a"), 64<<10)
	sent := 0
	for {
		n, err := c.Write(chunk)
		sent += n
		if err == nil {
			if sent > 4*lingerBytes {
				t.Fatalf("the server still reads after %d bytes", sent)
			}
			continue
		}
		if !errors.Is(err, syscall.EPIPE) && !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("after %d bytes: %v, want the server to have closed", sent, err)
		}
		if elapsed := time.Since(start); sent < lingerBytes && elapsed < lingerTime {
			t.Fatalf("closed after %d bytes and %v, before either bound (%d bytes, %v)", sent, elapsed, lingerBytes, lingerTime)
		}
		break
	}
	// The refusal was delivered before the close.
	got, _ := io.ReadAll(c)
	if want := "Line too long: "; !strings.HasPrefix(string(got), want) {
		t.Errorf("read %q, want %q first", got, want)
	}
}

func TestSocketIdleIsStatsTimeout(t *testing.T) {
	for _, tt := range []struct {
		name    string
		timeout time.Duration
		want    time.Duration
	}{
		{"the default", config.DefaultStatsTimeout, config.DefaultStatsTimeout},
		{"a longer one for a human at a prompt", 2 * time.Minute, 2 * time.Minute},
		{"zero keeps the default", 0, socketIdle},
	} {
		t.Run(tt.name, func(t *testing.T) {
			src := testSources(t)
			src.Config.Global.StatsTimeout = tt.timeout
			s, err := ListenSocket(src, config.StatsSocket{Path: filepath.Join(t.TempDir(), "s.sock"), Level: config.LevelAdmin}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if s.idle != tt.want {
				t.Errorf("idle %v, want %v", s.idle, tt.want)
			}
		})
	}
}

// A client that connects and says nothing is closed once 'stats timeout'
// has passed.
func TestSocketClosesASilentClient(t *testing.T) {
	path, _ := startSocket(t, config.LevelAdmin, 20*time.Millisecond)
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Minute)) // only if the server never closes
	if got, err := io.ReadAll(c); err != nil || len(got) != 0 {
		t.Fatalf("read %q, %v; want an end of file", got, err)
	}
}

// 'stats maxconn' bounds the connections served at once: the next client
// waits in the backlog, unanswered, until one of them leaves.
func TestSocketMaxConn(t *testing.T) {
	src := testSources(t)
	src.Config.Global.StatsMaxConn = 2
	src.Config.Global.StatsTimeout = time.Minute
	path := filepath.Join(t.TempDir(), "api.sock")
	s, err := ListenSocket(src, config.StatsSocket{Path: path, Level: config.LevelAdmin}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	prompt := func() net.Conn {
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, "prompt\n")
		buf := make([]byte, 2)
		if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "\n>" {
			t.Fatalf("prompt: %q, %v", buf, err)
		}
		return c
	}
	first, _ := prompt(), prompt()
	extra, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	io.WriteString(extra, "show info\n")
	// A correct socket never answers while at its limit: no wait could
	// make this pass wrongly.
	extra.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, err := extra.Read(make([]byte, 64)); err == nil || !os.IsTimeout(err) {
		t.Fatalf("a third connection was served above stats maxconn 2: %d bytes, %v", n, err)
	}
	first.Close()
	extra.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, _ := io.ReadAll(extra)
	if !strings.Contains(string(got), "Name: fjord") {
		t.Fatalf("the waiting connection, once a slot freed: %q", got)
	}
}
