package logging_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/engine"
	"github.com/fjordlb/fjord/logging"
)

// syslogListener is a test syslog server on loopback: it hands every
// datagram it receives to a channel.
type syslogListener struct {
	addr  string
	lines chan string
}

func listenSyslog(t *testing.T) *syslogListener {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sl := &syslogListener{addr: c.LocalAddr().String(), lines: make(chan string, 100)}
	done := make(chan struct{})
	t.Cleanup(func() { c.Close(); <-done })
	go func() {
		defer close(done)
		buf := make([]byte, 65536)
		for {
			n, _, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			sl.lines <- string(buf[:n])
		}
	}()
	return sl
}

// next returns the next datagram, failing the test after 5 s.
func (sl *syslogListener) next(t *testing.T) string {
	t.Helper()
	select {
	case l := <-sl.lines:
		return l
	case <-time.After(5 * time.Second):
		t.Fatal("no syslog line within 5 s")
	}
	return ""
}

// none checks that no datagram arrives for a moment.
func (sl *syslogListener) none(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case l := <-sl.lines:
		t.Fatalf("unexpected syslog line %q", l)
	case <-time.After(d):
	}
}

// httplogRE splits a datagram carrying an httplog line into its fields.
var httplogRE = regexp.MustCompile(`^<(\d+)>(\w{3} [ \d]\d \d\d:\d\d:\d\d) fjord\[(\d+)\]: ` +
	`(\S+):(\d+) \[(\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d\.\d{3})\] (\S+) (\S+)/(\S+) ` +
	`(-?\d+)/(-?\d+)/(-?\d+)/(-?\d+)/(-?\d+) (-?\d+) (\d+) - - (\S{4}) ` +
	`(\d+)/(\d+)/(\d+)/(\d+)/(\+?)(\d+) (\d+)/(\d+) "(.*)"\n$`)

type httpLine struct {
	pri                      int
	client                   string
	port                     int
	date                     time.Time
	frontend, backend, srv   string
	tq, tw, tc, tr, tt       int
	status                   int
	bytes                    int
	term                     string
	act, fe, be, srvc, retry int
	redispatched             bool
	srvQueue, beQueue        int
	request                  string
}

func parseHTTPLine(t *testing.T, s string) httpLine {
	t.Helper()
	m := httplogRE.FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("not an httplog syslog line: %q", s)
	}
	n := func(i int) int {
		v, err := strconv.Atoi(m[i])
		if err != nil {
			t.Fatalf("field %d %q of %q: %v", i, m[i], s, err)
		}
		return v
	}
	date, err := time.ParseInLocation("02/Jan/2006:15:04:05.000", m[6], time.Local)
	if err != nil {
		t.Fatal(err)
	}
	return httpLine{
		pri: n(1), client: m[4], port: n(5), date: date,
		frontend: m[7], backend: m[8], srv: m[9],
		tq: n(10), tw: n(11), tc: n(12), tr: n(13), tt: n(14),
		status: n(15), bytes: n(16), term: m[17],
		act: n(18), fe: n(19), be: n(20), srvc: n(21), redispatched: m[22] == "+", retry: n(23),
		srvQueue: n(24), beQueue: n(25), request: m[26],
	}
}

// run parses cfgText (%s is replaced by the syslog address, then the
// server addresses), starts a Logger and the real engine with it, and
// returns the frontend's address.
func run(t *testing.T, cfgText string, args ...any) (string, *logging.Logger) {
	t.Helper()
	text := strings.Replace(fmt.Sprintf(cfgText, args...), "BIND", deadAddr(t), 1)
	cfg, err := config.Parse("test.cfg", []byte(text), config.Options{Resolver: config.NoResolver})
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	lg, err := logging.New(cfg, logging.Options{})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.New(cfg, engine.Options{AccessLog: lg.AccessLog, UniqueID: lg.UniqueID, Logger: tlog{t}})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Stop(); lg.Close() })
	return eng.Addr(cfg.Frontends()[0].Binds[0]).String(), lg
}

type tlog struct{ t *testing.T }

func (l tlog) Printf(f string, a ...any) { l.t.Logf(f, a...) }

// webServer answers every request with body.
func webServer(t *testing.T, body string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, body)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// deadAddr is a loopback address nothing listens on.
func deadAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := ln.Addr().String()
	ln.Close()
	return a
}

// exchange sends raw on a new connection and returns the response head's
// status line, the whole response and the client's address.
func exchange(t *testing.T, addr, raw string) (string, string, *net.TCPAddr) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	all, _ := io.ReadAll(c)
	status, _, _ := strings.Cut(string(all), "\r\n")
	return status, string(all), c.LocalAddr().(*net.TCPAddr)
}

const httpCfg = `global
  log %s local0
defaults
  mode http
  log global
  option httplog
  timeout connect 200ms
  timeout client 5s
  timeout server 5s
  timeout http-request 300ms
frontend www
  bind BIND
  default_backend app
backend app
`

func TestHTTPLogLine(t *testing.T) {
	sl := listenSyslog(t)
	web := webServer(t, "hello, world\n")
	addr, _ := run(t, httpCfg+"  server web1 %s\n", sl.addr, web)
	before := time.Now().Add(-time.Second)
	status, resp, client := exchange(t, addr, "GET /index.html?x=1 HTTP/1.1\r\nHost: example\r\nConnection: close\r\n\r\n")
	if status != "HTTP/1.1 200 OK" {
		t.Fatalf("status %q", status)
	}
	raw := sl.next(t)
	l := parseHTTPLine(t, raw)
	if l.pri != 134 {
		t.Errorf("priority <%d>, want <134> (local0.info)", l.pri)
	}
	if l.client != "127.0.0.1" || l.port != client.Port {
		t.Errorf("client %s:%d, want 127.0.0.1:%d", l.client, l.port, client.Port)
	}
	if l.date.Before(before.Truncate(time.Second)) || l.date.After(time.Now()) {
		t.Errorf("accept date %v not around now", l.date)
	}
	if l.frontend != "www" || l.backend != "app" || l.srv != "web1" {
		t.Errorf("frontend/backend/server %s %s/%s", l.frontend, l.backend, l.srv)
	}
	for name, v := range map[string]int{"Tq": l.tq, "Tw": l.tw, "Tc": l.tc, "Tr": l.tr, "Tt": l.tt} {
		if v < 0 {
			t.Errorf("%s = %d, want >= 0", name, v)
		}
	}
	if !(l.tt >= l.tr && l.tt >= l.tq+l.tw+l.tc+l.tr) {
		t.Errorf("timers inconsistent: %d/%d/%d/%d/%d", l.tq, l.tw, l.tc, l.tr, l.tt)
	}
	if l.status != 200 {
		t.Errorf("status %d", l.status)
	}
	if l.bytes != len(resp) {
		t.Errorf("bytes %d, the client got %d", l.bytes, len(resp))
	}
	if l.term != "----" {
		t.Errorf("termination state %q", l.term)
	}
	if l.act < 1 || l.fe < 1 || l.be < 1 || l.srvc < 1 || l.retry != 0 || l.redispatched {
		t.Errorf("connection counts %d/%d/%d/%d/%d", l.act, l.fe, l.be, l.srvc, l.retry)
	}
	if l.srvQueue != 0 || l.beQueue != 0 {
		t.Errorf("queues %d/%d", l.srvQueue, l.beQueue)
	}
	if l.request != "GET /index.html?x=1 HTTP/1.1" {
		t.Errorf("request %q", l.request)
	}
}

func TestHTTPLogKeepAlive(t *testing.T) {
	sl := listenSyslog(t)
	web := webServer(t, "ok\n")
	addr, _ := run(t, httpCfg+"  server web1 %s\n", sl.addr, web)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	for i := 0; i < 3; i++ {
		fmt.Fprintf(c, "GET /r%d HTTP/1.1\r\nHost: x\r\n\r\n", i)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		l := parseHTTPLine(t, sl.next(t))
		if want := fmt.Sprintf("GET /r%d HTTP/1.1", i); l.request != want || l.status != 200 || l.term != "----" {
			t.Errorf("request %d: %q %d %s", i, l.request, l.status, l.term)
		}
	}
	c.Close()
	sl.none(t, 200*time.Millisecond) // the idle close is not a request
}

func TestHTTPLog503(t *testing.T) {
	sl := listenSyslog(t)
	addr, _ := run(t, httpCfg+"  retries 1\n  server web1 %s\n", sl.addr, deadAddr(t))
	status, resp, _ := exchange(t, addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if !strings.HasPrefix(status, "HTTP/1.1 503") {
		t.Fatalf("status %q", status)
	}
	l := parseHTTPLine(t, sl.next(t))
	if l.status != 503 || l.term != "SC--" || l.backend != "app" || l.srv != "web1" {
		t.Errorf("got %d %s %s/%s, want 503 SC-- app/web1", l.status, l.term, l.backend, l.srv)
	}
	if l.tc != -1 || l.tr != -1 || l.tq < 0 || l.tw < 0 || l.tt < l.tq {
		t.Errorf("timers %d/%d/%d/%d/%d", l.tq, l.tw, l.tc, l.tr, l.tt)
	}
	if l.retry != 1 || l.redispatched {
		t.Errorf("retries %v%d, want 1", l.redispatched, l.retry)
	}
	if l.bytes != len(resp) {
		t.Errorf("bytes %d, the client got %d", l.bytes, len(resp))
	}
}

func TestHTTPLog503NoServer(t *testing.T) {
	sl := listenSyslog(t)
	addr, _ := run(t, httpCfg+"  server web1 %s disabled\n", sl.addr, deadAddr(t))
	exchange(t, addr, "GET /x HTTP/1.1\r\nHost: x\r\n\r\n")
	l := parseHTTPLine(t, sl.next(t))
	if l.status != 503 || l.term != "SC--" || l.backend != "app" || l.srv != "<NOSRV>" || l.request != "GET /x HTTP/1.1" {
		t.Errorf("got %+v", l)
	}
}

func TestHTTPLog408(t *testing.T) {
	sl := listenSyslog(t)
	addr, _ := run(t, httpCfg+"  server web1 %s\n", sl.addr, webServer(t, "x"))
	status, resp, _ := exchange(t, addr, "GET / HTTP/1.1\r\nHost:")
	if !strings.HasPrefix(status, "HTTP/1.1 408") {
		t.Fatalf("status %q", status)
	}
	l := parseHTTPLine(t, sl.next(t))
	if l.status != 408 || l.term != "cR--" || l.backend != "www" || l.srv != "<NOSRV>" || l.request != "<BADREQ>" {
		t.Errorf("got %+v", l)
	}
	if l.tq != -1 || l.tw != -1 || l.tc != -1 || l.tr != -1 || l.tt < 300 {
		t.Errorf("timers %d/%d/%d/%d/%d, want -1/-1/-1/-1/>=300", l.tq, l.tw, l.tc, l.tr, l.tt)
	}
	if l.bytes != len(resp) {
		t.Errorf("bytes %d, the client got %d", l.bytes, len(resp))
	}
}

func TestHTTPLogRedispatch(t *testing.T) {
	sl := listenSyslog(t)
	addr, _ := run(t, httpCfg+"  balance first\n  retries 1\n  option redispatch\n  server dead %s\n  server live %s\n",
		sl.addr, deadAddr(t), webServer(t, "ok"))
	if status, _, _ := exchange(t, addr, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); status != "HTTP/1.1 200 OK" {
		t.Fatalf("status %q", status)
	}
	raw := sl.next(t)
	l := parseHTTPLine(t, raw)
	if l.srv != "live" || !l.redispatched || l.retry != 1 || l.status != 200 || l.term != "----" {
		t.Errorf("got %q", raw)
	}
	if !strings.Contains(raw, "/+1 0/0 ") {
		t.Errorf("no '+1' retry count in %q", raw)
	}
	if l.tc < 0 || l.tr < 0 || l.tt < l.tr {
		t.Errorf("timers %d/%d/%d/%d/%d", l.tq, l.tw, l.tc, l.tr, l.tt)
	}
}

func TestDontLogNull(t *testing.T) {
	for _, mode := range []string{"http", "tcp"} {
		t.Run(mode, func(t *testing.T) {
			sl := listenSyslog(t)
			opt := "option httplog"
			if mode == "tcp" {
				opt = "option tcplog"
			}
			cfg := strings.Replace(httpCfg, "mode http", "mode "+mode, 1)
			cfg = strings.Replace(cfg, "option httplog", opt+"\n  option dontlognull", 1)
			addr, _ := run(t, cfg+"  server web1 %s\n", sl.addr, webServer(t, "x"))
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			c.Close()
			sl.none(t, 300*time.Millisecond)
			// A connection with data is logged: the empty one was
			// skipped, not late.
			exchange(t, addr, "GET /data HTTP/1.0\r\n\r\n")
			line := sl.next(t)
			if !strings.Contains(line, " www app/web1 ") {
				t.Errorf("line %q", line)
			}
		})
	}
}

func TestLogNullWithoutOption(t *testing.T) {
	sl := listenSyslog(t)
	addr, _ := run(t, httpCfg+"  server web1 %s\n", sl.addr, webServer(t, "x"))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	l := parseHTTPLine(t, sl.next(t))
	if l.term != "CR--" || l.request != "<BADREQ>" || l.status != -1 || l.srv != "<NOSRV>" {
		t.Errorf("got %+v", l)
	}
}

var tcplogRE = regexp.MustCompile(`^<134>\w{3} [ \d]\d \d\d:\d\d:\d\d fjord\[\d+\]: ` +
	`127\.0\.0\.1:\d+ \[[^]]+\] px px/s1 (\d+)/(\d+)/(\d+) (\d+) (\S\S) \d+/\d+/\d+/\d+/0 0/0\n$`)

func TestTCPLog(t *testing.T) {
	sl := listenSyslog(t)
	echo := webServer(t, "pong")
	cfg := `global
  log %s local0 info
defaults
  mode tcp
  log global
  option tcplog
  timeout connect 1s
  timeout client 5s
  timeout server 5s
listen px
  bind BIND
  server s1 %s
`
	addr, _ := run(t, cfg, sl.addr, echo)
	_, resp, _ := exchange(t, addr, "GET / HTTP/1.0\r\n\r\n")
	line := sl.next(t)
	m := tcplogRE.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("not a tcplog line: %q", line)
	}
	tw, _ := strconv.Atoi(m[1])
	tc, _ := strconv.Atoi(m[2])
	tt, _ := strconv.Atoi(m[3])
	bytes, _ := strconv.Atoi(m[4])
	if tt < tw+tc || bytes != len(resp) || m[5] != "--" {
		t.Errorf("line %q: Tw/Tc/Tt %d/%d/%d, bytes %d (client got %d), state %s", line, tw, tc, tt, bytes, len(resp), m[5])
	}
}

func TestAnonymizedLines(t *testing.T) {
	for _, tc := range []struct{ setting, client string }{
		{"log-anonymize", `^127\.0\.0\.0$`},
		{"log-anonymize ipv4-mask 8", `^127\.0\.0\.0$`},
		{"log-anonymize hash", `^h[0-9a-f]{16}$`},
	} {
		t.Run(tc.setting, func(t *testing.T) {
			sl := listenSyslog(t)
			cfg := strings.Replace(httpCfg, "global\n", "global\n  "+tc.setting+"\n", 1)
			addr, _ := run(t, cfg+"  server web1 %s\n", sl.addr, webServer(t, "x"))
			var hashes []string
			for _, req := range []string{"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "BAD\r\n\r\n", "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"} {
				exchange(t, addr, req)
				raw := sl.next(t)
				if strings.Contains(raw, "127.0.0.1") {
					t.Errorf("line holds the client's address: %q", raw)
				}
				l := parseHTTPLine(t, raw)
				if !regexp.MustCompile(tc.client).MatchString(l.client) {
					t.Errorf("client field %q, want %s", l.client, tc.client)
				}
				hashes = append(hashes, l.client)
			}
			if hashes[0] != hashes[2] {
				t.Errorf("one client, different fields within the day: %v", hashes)
			}
		})
	}
}

func TestEventsAndJSON(t *testing.T) {
	sl := listenSyslog(t)
	dir := t.TempDir()
	cfg := `global
  log %s local0 notice
  log ` + dir + `/fjord.log format json
defaults
  mode http
  log global
  option httplog
  timeout connect 1s
  timeout client 5s
  timeout server 5s
frontend www
  bind BIND
  default_backend app
backend app
  server web1 %s
`
	addr, lg := run(t, cfg, sl.addr, webServer(t, "x"))
	lg.Event(logging.Alert, "app", "Server app/web1 is DOWN, reason: test.")
	lg.Event(logging.Notice, "", "Proxy www started.")
	exchange(t, addr, "GET /j HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	if got := sl.next(t); !regexp.MustCompile(`^<129>\w{3} [ \d]\d \d\d:\d\d:\d\d fjord\[\d+\]: Server app/web1 is DOWN, reason: test\.\n$`).MatchString(got) {
		t.Errorf("alert event %q", got)
	}
	if got := sl.next(t); !strings.HasPrefix(got, "<133>") || !strings.HasSuffix(got, "Proxy www started.\n") {
		t.Errorf("notice event %q", got)
	}
	// The target's level is notice: the access line (info) is not sent.
	sl.none(t, 200*time.Millisecond)
	lg.Close()
	b, err := os.ReadFile(dir + "/fjord.log")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 3 {
		t.Fatalf("file holds %d lines: %q", len(lines), b)
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[2]), &rec); err != nil {
		t.Fatalf("%v: %s", err, lines[2])
	}
	if rec["request"] != "GET /j HTTP/1.1" || rec["status"] != 200.0 || rec["server"] != "web1" || rec["termination_state"] != "----" {
		t.Errorf("JSON record %v", rec)
	}
	var ev map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &ev); err != nil || ev["level"] != "alert" || !strings.Contains(ev["msg"].(string), "DOWN") {
		t.Errorf("JSON event %s (%v)", lines[0], err)
	}
}
