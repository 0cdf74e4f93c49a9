package health

import (
	"bufio"
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

	"github.com/fjordlb/fjord/balancer"
	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/engine"
)

// node is a web node whose behaviour a test switches: answer 200, answer
// 500, stop listening, or accept and never answer.
type node struct {
	t       testing.TB
	name    string
	network string // "tcp", or "unix" with addr a path
	addr    string
	mode    atomic.Value // "ok", "500", "hang"
	hits    atomic.Int64 // requests other than checks
	checks  atomic.Int64
	mu      sync.Mutex
	ln      net.Listener
	hold    chan struct{}
	wg      sync.WaitGroup
}

func newNode(t testing.TB, name string) *node {
	return newNodeOn(t, name, "tcp", "127.0.0.1:0")
}

// newNodeOn is newNode listening on network and address.
func newNodeOn(t testing.TB, name, network, address string) *node {
	n := &node{t: t, name: name, network: network, hold: make(chan struct{})}
	n.mode.Store("ok")
	ln, err := net.Listen(network, address)
	if err != nil {
		t.Fatal(err)
	}
	n.addr = ln.Addr().String()
	n.serve(ln)
	t.Cleanup(func() {
		close(n.hold)
		n.stop()
		n.wg.Wait()
	})
	return n
}

func (n *node) serve(ln net.Listener) {
	n.mu.Lock()
	n.ln = ln
	n.mu.Unlock()
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n.wg.Add(1)
			go func() {
				defer n.wg.Done()
				defer c.Close()
				n.handle(c)
			}()
		}
	}()
}

func (n *node) handle(c net.Conn) {
	br := bufio.NewReader(c)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		if req.Header.Get("User-Agent") == "fjord-check" {
			n.checks.Add(1)
		} else {
			n.hits.Add(1)
		}
		switch n.mode.Load().(string) {
		case "hang":
			select {
			case <-n.hold:
			case <-time.After(10 * time.Second):
			}
			return
		case "500":
			io.WriteString(c, "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n")
		default:
			body := n.name
			io.WriteString(c, fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body))
		}
		if req.Close || req.ProtoMinor == 0 {
			return
		}
	}
}

// stop closes the listener: connections are refused from now on.
func (n *node) stop() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ln != nil {
		n.ln.Close()
		n.ln = nil
	}
}

// restart listens again on the same address.
func (n *node) restart() {
	ln, err := net.Listen(n.network, n.addr)
	if err != nil {
		n.t.Fatal(err)
	}
	n.serve(ln)
}

type testLogger struct {
	mu    sync.Mutex
	lines []string
}

func (l *testLogger) Printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

// all is a copy of the lines logged so far.
func (l *testLogger) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

func (l *testLogger) has(sub string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.lines {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// stack is an engine and a monitor sharing the balancer backends.
type stack struct {
	addr     string
	backends map[string]*balancer.Backend
	log      *testLogger
	mon      *Monitor
}

func startStack(t *testing.T, cfgText string) *stack {
	t.Helper()
	st, stop, err := startStackErr(cfgText)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return st
}

// startStackErr starts an engine and a monitor on cfgText, whose "PORT"
// becomes a free port.
func startStackErr(cfgText string) (*stack, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cfgText = strings.ReplaceAll(cfgText, "PORT", fmt.Sprint(port))
	cfg, err := config.Parse("test.cfg", []byte(cfgText), config.Options{Resolver: config.NoResolver})
	if err != nil {
		return nil, nil, fmt.Errorf("%v\n%s", err, cfgText)
	}
	st := &stack{backends: map[string]*balancer.Backend{}, log: &testLogger{}}
	for _, px := range cfg.Backends() {
		st.backends[px.Name] = balancer.New(px)
	}
	st.mon, err = New(cfg, st.backends, st.log, nil)
	if err != nil {
		return nil, nil, err
	}
	e, err := engine.New(cfg, engine.Options{Backends: st.backends, Observer: st.mon})
	if err != nil {
		return nil, nil, err
	}
	if err := e.Start(); err != nil {
		return nil, nil, err
	}
	st.mon.Start()
	st.addr = e.Addr(cfg.Frontends()[0].Binds[0]).String()
	return st, func() { st.mon.Stop(); e.Stop() }, nil
}

func (st *stack) server(t *testing.T, be, name string) *balancer.Server {
	s := st.backends[be].Server(name)
	if s == nil {
		t.Fatalf("no server %s/%s", be, name)
	}
	return s
}

func waitState(t *testing.T, s *balancer.Server, up bool, why string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s.Up() != up {
		if time.Now().After(deadline) {
			t.Fatalf("%s: server %s still up=%v after 10s", why, s.Name, !up)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func get(t *testing.T, addr string) (int, string) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get("http://" + addr + "/")
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

const seedScaled = `global
  nbthread 2
defaults
  mode http
  timeout connect 500ms
  timeout client 5s
  timeout server 5s
  timeout check 300ms
frontend fe
  bind 127.0.0.1:PORT
  default_backend web_servers
backend web_servers
  balance roundrobin
  server web01 %s check inter 100ms rise 2 fall 3
  server web02 %s check inter 100ms rise 2 fall 3
`

func TestNodeAnswering500IsTakenOutAndBack(t *testing.T) {
	for _, failure := range []string{"500", "stopped", "hang"} {
		t.Run(failure, func(t *testing.T) {
			web1, web2 := newNode(t, "web01"), newNode(t, "web02")
			st := startStack(t, fmt.Sprintf(seedScaled, web1.addr, web2.addr))
			s2 := st.server(t, "web_servers", "web02")
			switch failure {
			case "500", "hang":
				web2.mode.Store(failure)
			case "stopped":
				web2.stop()
			}
			waitState(t, s2, false, "after failing checks")
			hitsAtDown := web2.hits.Load()
			for i := 0; i < 20; i++ {
				code, body := get(t, st.addr)
				if code != 200 || body != "web01" {
					t.Fatalf("request %d with web02 DOWN: %d %q", i, code, body)
				}
			}
			if got := web2.hits.Load(); got != hitsAtDown {
				t.Fatalf("%d client requests reached web02 while it was DOWN", got-hitsAtDown)
			}
			wantReason := map[string]string{
				"500":     "reason: Layer7 wrong status, code: 500, info: \"Internal Server Error\"",
				"stopped": "reason: Layer4 connection problem",
				"hang":    "reason: Layer7 timeout",
			}[failure]
			if !st.log.has("Server web_servers/web02 is DOWN, " + wantReason) {
				t.Fatalf("no DOWN message with %q in %q", wantReason, st.log.all())
			}
			if !st.log.has("1 active and 0 backup servers left") {
				t.Fatalf("DOWN message lacks the server count: %q", st.log.all())
			}
			switch failure {
			case "500", "hang":
				web2.mode.Store("ok")
			case "stopped":
				web2.restart()
			}
			waitState(t, s2, true, "after good checks")
			if !st.log.has("Server web_servers/web02 is UP, reason: Layer7 check passed, code: 200") {
				t.Fatalf("no UP message: %q", st.log.all())
			}
			seen := map[string]bool{}
			for i := 0; i < 10; i++ {
				_, body := get(t, st.addr)
				seen[body] = true
			}
			if !seen["web02"] {
				t.Fatalf("web02 back UP but receives no traffic: %v", seen)
			}
		})
	}
}

// The checks of a server on a Unix socket connect to that socket: a
// layer-7 check sees its 500 and takes it out; once nothing is at the
// path (the listener removed its file: ENOENT), the check reports a
// layer-4 connection problem, as for a TCP port that refuses; and the
// server comes back when it listens again.
func TestUnixSocketServerChecks(t *testing.T) {
	dir, err := os.MkdirTemp("", "fjord")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	web1, web2 := newNode(t, "web01"), newNodeOn(t, "web02", "unix", filepath.Join(dir, "web02.sock"))
	st := startStack(t, fmt.Sprintf(seedScaled, web1.addr, web2.addr))
	s2 := st.server(t, "web_servers", "web02")
	for deadline := time.Now().Add(10 * time.Second); web2.checks.Load() == 0; {
		if time.Now().After(deadline) {
			t.Fatal("no check reached web02's socket within 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	web2.mode.Store("500")
	waitState(t, s2, false, "answering 500")
	if !st.log.has("Server web_servers/web02 is DOWN, reason: Layer7 wrong status, code: 500") {
		t.Fatalf("no DOWN message for the 500: %q", st.log.all())
	}
	web2.mode.Store("ok")
	waitState(t, s2, true, "answering 200 again")
	web2.stop()
	waitState(t, s2, false, "socket gone")
	if !st.log.has("Server web_servers/web02 is DOWN, reason: Layer4 connection problem, info: \"no such file or directory\"") {
		t.Fatalf("no layer-4 DOWN message: %q", st.log.all())
	}
	web2.restart()
	waitState(t, s2, true, "listening again")
	seen := map[string]bool{}
	for range 10 {
		_, body := get(t, st.addr)
		seen[body] = true
	}
	if !seen["web02"] {
		t.Fatalf("web02 back UP but receives no traffic: %v", seen)
	}
}

func TestTCPModeCheckIsLayer4(t *testing.T) {
	web := newNode(t, "web01")
	web.mode.Store("500") // a layer-7 check would fail it
	st := startStack(t, fmt.Sprintf(`defaults
  mode tcp
  timeout connect 500ms
  timeout client 5s
  timeout server 5s
listen px
  bind 127.0.0.1:PORT
  server web01 %s check inter 50ms rise 2 fall 3
`, web.addr))
	s := st.server(t, "px", "web01")
	time.Sleep(500 * time.Millisecond) // ten checks
	if !s.Up() || web.checks.Load() != 0 {
		t.Fatalf("mode tcp: up=%v, HTTP checks seen %d", s.Up(), web.checks.Load())
	}
	status, _ := st.mon.Status(s)
	if status.Last.Status != StatusL4OK || status.Layer7 {
		t.Fatalf("status %+v", status)
	}
}

func TestHTTPCheckExpectStatus(t *testing.T) {
	web := newNode(t, "web01")
	st := startStack(t, fmt.Sprintf(`defaults
  mode http
  timeout connect 500ms
  timeout client 5s
  timeout server 5s
listen px
  bind 127.0.0.1:PORT
  option httpchk GET /health
  http-check expect status 204
  server web01 %s check inter 50ms rise 2 fall 3
`, web.addr))
	s := st.server(t, "px", "web01")
	waitState(t, s, false, "a 200 where 204 is expected")
	status, _ := st.mon.Status(s)
	if status.Last.Status != StatusL7Sts || status.Last.Code != 200 {
		t.Fatalf("status %+v", status.Last)
	}
}

func TestAllDownAndBackups(t *testing.T) {
	web, backup := newNode(t, "web01"), newNode(t, "backup01")
	st := startStack(t, fmt.Sprintf(`defaults
  mode http
  timeout connect 500ms
  timeout client 5s
  timeout server 5s
listen px
  bind 127.0.0.1:PORT
  server web01 %s check inter 50ms rise 2 fall 2
  server backup01 %s check inter 50ms rise 2 fall 2 backup
`, web.addr, backup.addr))
	web.mode.Store("500")
	waitState(t, st.server(t, "px", "web01"), false, "active down")
	if code, body := get(t, st.addr); code != 200 || body != "backup01" {
		t.Fatalf("with the active server down: %d %q, want the backup", code, body)
	}
	backup.mode.Store("500")
	waitState(t, st.server(t, "px", "backup01"), false, "backup down")
	if code, _ := get(t, st.addr); code != 503 {
		t.Fatalf("every server down: %d, want 503", code)
	}
	if !st.log.has("backend px has no server available!") {
		t.Fatalf("no 'no server available' message: %q", st.log.all())
	}
}

func TestAllDownTCPClosesPromptly(t *testing.T) {
	web := newNode(t, "web01")
	st := startStack(t, fmt.Sprintf(`defaults
  mode tcp
  timeout connect 500ms
  timeout client 30s
  timeout server 30s
listen px
  bind 127.0.0.1:PORT
  server web01 %s check inter 50ms rise 2 fall 2
`, web.addr))
	web.stop()
	waitState(t, st.server(t, "px", "web01"), false, "stopped")
	c, err := net.Dial("tcp", st.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("read data from a backend with no server")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("connection left hanging with every server down")
	}
}

func TestPassiveObserveMarksDown(t *testing.T) {
	web1, web2 := newNode(t, "web01"), newNode(t, "web02")
	// Checks are slow here, so only real traffic can take web02 down.
	st := startStack(t, fmt.Sprintf(`defaults
  mode http
  timeout connect 500ms
  timeout client 5s
  timeout server 5s
listen px
  bind 127.0.0.1:PORT
  balance roundrobin
  server web01 %s check inter 1h
  server web02 %s check inter 1h observe layer7 error-limit 3 on-error mark-down
`, web1.addr, web2.addr))
	s2 := st.server(t, "px", "web02")
	// The first checks are spread over the hour: wait for none. Traffic:
	web2.mode.Store("500")
	for i := 0; i < 20 && s2.Up(); i++ {
		get(t, st.addr)
	}
	waitState(t, s2, false, "three 500s seen by observe layer7")
	// The server is marked down before the message is logged: wait for it.
	for deadline := time.Now().Add(5 * time.Second); !st.log.has("Detected 3 consecutive errors"); {
		if time.Now().After(deadline) {
			t.Fatalf("no passive-check message: %q", st.log.all())
		}
		time.Sleep(5 * time.Millisecond)
	}
}
