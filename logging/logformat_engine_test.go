package logging_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/engine"
	"github.com/fjordlb/fjord/logging"
)

// msgOf is the message of an rfc3164 datagram: what follows "fjord[PID]: ".
func msgOf(t *testing.T, datagram string) string {
	t.Helper()
	_, msg, ok := strings.Cut(datagram, "]: ")
	if !ok {
		t.Fatalf("not a syslog line: %q", datagram)
	}
	return strings.TrimSuffix(msg, "\n")
}

// A log-format line through the real engine: every address is the one
// the sockets had, the request counter counts, the timers add up.
func TestLogFormatHTTP(t *testing.T) {
	sl := listenSyslog(t)
	web := webServer(t, "hello")
	addr, _ := run(t, `global
  log %s local0
defaults
  mode http
  log global
  option httplog
  timeout connect 1s
  timeout client 5s
  timeout server 5s
frontend www
  bind BIND
  log-format "%%ci:%%cp>%%fi:%%fp %%b/%%s>%%si:%%sp %%bi:%%bp rt=%%rt %%HM %%HPO q=%%HQ %%{+Q}HV %%ST %%U/%%B T=%%Th/%%Ti/%%TR/%%Tq/%%Tw/%%Tc/%%Tr/%%Td/%%Ta/%%Tt %%ft %%tsc"
  default_backend app
backend app
  server web1 %s
`, sl.addr, web)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	var lines []string
	for i := 0; i < 2; i++ {
		fmt.Fprintf(c, "GET /p/%d?x=%d HTTP/1.1\r\nHost: h\r\n\r\n", i, i)
		if err := readResponse(br); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, msgOf(t, sl.next(t)))
	}
	for i, line := range lines {
		f := strings.Fields(line)
		if len(f) != 13 {
			t.Fatalf("line %q: %d fields", line, len(f))
		}
		want := c.LocalAddr().String() + ">" + addr
		if f[0] != want {
			t.Errorf("client>frontend %q, want %q", f[0], want)
		}
		if f[1] != "app/web1>"+web {
			t.Errorf("server %q, want app/web1>%s", f[1], web)
		}
		if src, err := net.ResolveTCPAddr("tcp", f[2]); err != nil || !src.IP.IsLoopback() || src.Port == 0 {
			t.Errorf("%%bi:%%bp %q", f[2])
		}
		if !strings.HasPrefix(f[3], "rt=") {
			t.Errorf("counter %q", f[3])
		}
		if got := strings.Join(f[4:9], " "); got != fmt.Sprintf(`GET /p/%d q=?x=%d "HTTP/1.1" 200`, i, i) {
			t.Errorf("request fields %q", got)
		}
		up, down, _ := strings.Cut(f[9], "/")
		if n, _ := strconv.Atoi(up); n != len(fmt.Sprintf("GET /p/%d?x=%d HTTP/1.1\r\nHost: h\r\n\r\n", i, i)) {
			t.Errorf("%%U %s", up)
		}
		if n, _ := strconv.Atoi(down); n < 5 {
			t.Errorf("%%B %s", down)
		}
		var th, ti, tR, tq, tw, tc, tr, td, ta, tt int
		if _, err := fmt.Sscanf(f[10], "T=%d/%d/%d/%d/%d/%d/%d/%d/%d/%d", &th, &ti, &tR, &tq, &tw, &tc, &tr, &td, &ta, &tt); err != nil {
			t.Fatalf("timers %q: %v", f[10], err)
		}
		// Each phase is rounded down to the millisecond: their sum
		// may fall short of the total by less than one per phase.
		sum := tq + tw + tc + tr + td
		if th+ti+tR != tq || ta != tt-th-ti || sum > tt || sum < tt-4 || th < 0 || ti < 0 || tR < 0 {
			t.Errorf("timers %q do not add up", f[10])
		}
		if f[11] != "www" || f[12] != "----" {
			t.Errorf("frontend and state %q %q", f[11], f[12])
		}
	}
	rt0, _ := strconv.Atoi(strings.TrimPrefix(strings.Fields(lines[0])[3], "rt="))
	rt1, _ := strconv.Atoi(strings.TrimPrefix(strings.Fields(lines[1])[3], "rt="))
	if rt1 != rt0+1 {
		t.Errorf("request counters %d then %d", rt0, rt1)
	}
	// Both went over the one kept server connection: one source.
	if a, b := strings.Fields(lines[0])[2], strings.Fields(lines[1])[2]; a != b {
		t.Errorf("%%bi:%%bp %s then %s over one server connection", a, b)
	}
}

// reg-tests/log/wrong_ip_port_logging.vtc's format, in tcp mode: the
// frontend's address is logged after the connection ended (a client
// timeout, cD).
func TestLogFormatTCP(t *testing.T) {
	sl := listenSyslog(t)
	// The server reads and never answers.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	addr, _ := run(t, `global
  log %s local0
defaults
  log global
  timeout connect 1s
  timeout client 50ms
  timeout server 5s
frontend fe1
  bind BIND
  mode tcp
  log-format {\"dip\":\"%%fi\",\"dport\":\"%%fp\",\"c_ip\":\"%%ci\",\"c_port\":\"%%cp\",\"fe_name\":\"%%ft\",\"be_name\":\"%%b\",\"s_name\":\"%%s\",\"ts\":\"%%ts\",\"bytes_read\":\"%%B\"}
  default_backend be_app
backend be_app
  mode tcp
  server app1 %s
`, sl.addr, ln.Addr())
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET / HTTP/1.0\r\n\r\n")
	host, port, _ := net.SplitHostPort(addr)
	chost, cport, _ := net.SplitHostPort(c.LocalAddr().String())
	want := fmt.Sprintf(`{"dip":"%s","dport":"%s","c_ip":"%s","c_port":"%s","fe_name":"fe1","be_name":"be_app","s_name":"app1","ts":"cD","bytes_read":"0"}`, host, port, chost, cport)
	if got := msgOf(t, sl.next(t)); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// rawServer answers the n-th request head on a connection with
// responses[n] (the last one again after that).
func rawServer(t *testing.T, responses ...string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
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
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for n := 0; ; n++ {
					for {
						line, err := br.ReadString('\n')
						if err != nil {
							return
						}
						if line == "\r\n" {
							break
						}
					}
					io.WriteString(c, responses[min(n, len(responses)-1)])
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// Captured headers in httplog lines through the real engine: the last
// occurrence, cut to its length; a header the next request or response
// lacks is empty there; a response fjord made itself has none.
func TestCaptureHeaders(t *testing.T) {
	sl := listenSyslog(t)
	web := rawServer(t,
		"HTTP/1.1 200 OK\r\nX-Rsp: first\r\nx-rsp: second\r\nServer: raw\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	addr, _ := run(t, `global
  log %s local0
defaults
  mode http
  log global
  option httplog
  timeout connect 1s
  timeout client 5s
  timeout server 5s
frontend www
  bind BIND
  capture request header Host len 5
  capture request header X-Req len 10
  declare capture request len 8
  capture response header X-Rsp len 4
  capture response header Server len 20
  use_backend app if { path_beg /app }
backend app
  server web1 %s
`, sl.addr, web)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	for _, tc := range []struct{ req, want string }{
		{"GET /app/1 HTTP/1.1\r\nHost: example.com\r\nX-Req: a\r\nx-req: \"bbbbbbbbbbbbbbb\r\n\r\n",
			`{examp|#22bbbbbbbbb|} {seco|raw} "GET /app/1 HTTP/1.1"`},
		{"GET /app/2 HTTP/1.1\r\nHost: h\r\n\r\n", `{h||} {|} "GET /app/2 HTTP/1.1"`},
		// A head that is no request: nothing of the last one's.
		{"BAD\r\n\r\n", `{||} {|} "<BADREQ>"`},
		// No backend: fjord's own 503, no response captures.
		{"GET /none HTTP/1.1\r\nHost: h2\r\nX-Req: z\r\n\r\n", `{h2|z|} {|} "GET /none HTTP/1.1"`},
	} {
		if strings.HasPrefix(tc.req, "GET /none") {
			// fjord's 400 closed the connection.
			c.Close()
			if c, err = net.Dial("tcp", addr); err != nil {
				t.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			br = bufio.NewReader(c)
		}
		io.WriteString(c, tc.req)
		if strings.HasPrefix(tc.req, "GET ") {
			if err := readResponse(br); err != nil {
				t.Fatal(err)
			}
		} else if _, err := io.ReadAll(br); err != nil { // fjord's 400, then close
			t.Fatal(err)
		}
		if line := msgOf(t, sl.next(t)); !strings.HasSuffix(line, " "+tc.want) {
			t.Errorf("%q:\n got %s\nwant ... %s", tc.req, line, tc.want)
		}
	}
}

// HAProxy's example unique-id-format, through the real engine: the server
// gets the id in the unique-id-header, and the log line shows the same
// one as %ID.
func TestUniqueIDFormat(t *testing.T) {
	sl := listenSyslog(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Header.Get("X-Unique-ID"))
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	addr, _ := run(t, `global
  log %s local0
defaults
  mode http
  log global
  timeout connect 1s
  timeout client 5s
  timeout server 5s
frontend www
  bind BIND
  unique-id-format %%{+X}o\ %%ci:%%cp_%%fi:%%fp_%%Ts_%%rt:%%pid
  unique-id-header X-Unique-ID
  log-format "%%ID %%{+Q}r"
  default_backend app
backend app
  server web1 %s
`, sl.addr, ln.Addr())
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	hex4 := func(p int) string { return fmt.Sprintf("%04X", p) }
	_, fport, _ := net.SplitHostPort(addr)
	fp, _ := strconv.Atoi(fport)
	cp := c.LocalAddr().(*net.TCPAddr).Port
	prefix := "7F000001:" + hex4(cp) + "_7F000001:" + hex4(fp) + "_"
	var rts []int64
	for i := 0; i < 2; i++ {
		io.WriteString(c, "GET /u HTTP/1.1\r\nHost: h\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		id := string(body)
		if !strings.HasPrefix(id, prefix) || !strings.HasSuffix(id, fmt.Sprintf(":%04X", os.Getpid())) {
			t.Errorf("id %q, want %s..._...:%04X", id, prefix, os.Getpid())
		}
		parts := strings.Split(strings.TrimPrefix(id, prefix), "_")
		if len(parts) != 2 {
			t.Fatalf("id %q", id)
		}
		rt, _ := strconv.ParseInt(strings.Split(parts[1], ":")[0], 16, 64)
		rts = append(rts, rt)
		if line := msgOf(t, sl.next(t)); line != id+` "GET /u HTTP/1.1"` {
			t.Errorf("log line %q, want the id %q and the request", line, id)
		}
	}
	if rts[1] != rts[0]+1 {
		t.Errorf("%%rt %d then %d", rts[0], rts[1])
	}
}

// A frontend's unique ids are rendered on the event loops: no allocation.
func TestUniqueIDAllocs(t *testing.T) {
	cfg, err := config.Parse("t.cfg", []byte(`defaults
  mode http
frontend fe
  bind 127.0.0.1:1
  unique-id-format %{+X}o\ %ci:%cp_%fi:%fp_%Ts_%rt:%pid_%H_%t_%{+Q}r
  default_backend be
backend be
`), config.Options{Resolver: config.NoResolver})
	if err != nil {
		t.Fatal(err)
	}
	lg, err := logging.New(cfg, logging.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer lg.Close()
	u := lg.UniqueID(cfg.Frontends()[0])
	r := &engine.AccessRecord{Kind: engine.RecordHTTP, Client: netip.MustParseAddrPort("10.0.0.1:1234"), Accept: time.Now()}
	r.RequestLen = copy(r.Request[:], "GET / HTTP/1.1")
	buf := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() { buf = u.AppendUniqueID(buf[:0], r) }); n != 0 {
		t.Errorf("%v allocations per id %q", n, buf)
	}
	if lg.UniqueID(cfg.Backends()[0]) != nil {
		t.Error("a renderer for a proxy without unique-id-format")
	}
}

// log-format-sd fills the structured data of RFC 5424 lines (HAProxy's
// example), and only theirs; events keep "-".
func TestLogFormatSD(t *testing.T) {
	sl5424 := listenSyslog(t)
	sl3164 := listenSyslog(t)
	web := webServer(t, "hello")
	addr, lg := run(t, `defaults
  mode http
  timeout connect 1s
  timeout client 5s
  timeout server 5s
frontend www
  bind BIND
  log %s format rfc5424 local0
  log %s local0
  option httplog
  log-format-sd [exampleSDID@1234\ bytes=\"%%B\"\ status=\"%%ST\"]\x20
  default_backend app
backend app
  server web1 %s
`, sl5424.addr, sl3164.addr, web)
	status, all, _ := exchange(t, addr, "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
	if status != "HTTP/1.1 200 OK" {
		t.Fatalf("status %q", status)
	}
	line := sl5424.next(t)
	want := fmt.Sprintf(` fjord %d - [exampleSDID@1234 bytes="%d" status="200"] 127.0.0.1:`, os.Getpid(), len(all))
	if !strings.Contains(line, want) || !strings.HasSuffix(line, "\"GET / HTTP/1.1\"\n") {
		t.Errorf("rfc5424 line %q, want %q in it", line, want)
	}
	if line := sl3164.next(t); strings.Contains(line, "exampleSDID") {
		t.Errorf("rfc3164 line %q", line)
	}
	lg.Event(logging.Notice, "www", "an event")
	if line := sl5424.next(t); !strings.Contains(line, fmt.Sprintf(" fjord %d - - an event", os.Getpid())) {
		t.Errorf("event %q", line)
	}
}

// "log ... sample 1,3:5": of each five traffic lines the first and the
// third go to the target, as reg-tests/log/load_balancing.vtc checks;
// events are not sampled.
func TestLogSample(t *testing.T) {
	sampled := listenSyslog(t)
	web := webServer(t, "hello")
	addr, lg := run(t, `defaults
  mode http
  option httplog
  timeout connect 1s
  timeout client 5s
  timeout server 5s
frontend www
  bind BIND
  log %s sample 1,3:5 local0
  default_backend app
backend app
  server web1 %s
`, sampled.addr, web)
	for i := 1; i <= 11; i++ {
		if status, _, _ := exchange(t, addr, fmt.Sprintf("GET /%d HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", i)); status != "HTTP/1.1 200 OK" {
			t.Fatalf("request %d: %q", i, status)
		}
		if i == 2 {
			lg.Event(logging.Notice, "www", "an event")
		}
	}
	// The eleventh is the first of the third five: that it comes right
	// after the eighth shows that the others were left out.
	for _, want := range []string{"/1 ", "an event", "/3 ", "/6 ", "/8 ", "/11 "} {
		if line := sampled.next(t); !strings.Contains(line, want) {
			t.Errorf("line %q, want %q", line, want)
		}
	}
}

// upperSamples renders every sample expression as its text upper-cased
// with the request's method: a stand-in for the rule language.
type upperSamples struct{ f *config.LineFormat }

func (u upperSamples) AppendSample(dst []byte, expr int, r *engine.AccessRecord) []byte {
	for _, n := range u.f.Nodes {
		if n.Var == config.FormatSample && n.Sample == expr {
			dst = append(dst, strings.ToUpper(n.Text)...)
		}
	}
	method, _, _ := strings.Cut(string(r.RequestLine()), " ")
	return append(dst, "/"+method...)
}

// Options.Samples is the one hook the rule language needs: each format
// with sample expressions gets its renderer, the traffic lines and the
// unique ids alike. (The configuration refuses %[...] for now, so the
// formats are put in by hand.)
func TestSamplesHook(t *testing.T) {
	path := t.TempDir() + "/access.log"
	cfg, err := config.Parse("t.cfg", []byte(`defaults
  mode http
frontend fe
  bind 127.0.0.1:1
  log file@`+path+` format raw
  log-format %ci
  unique-id-format %ci
  default_backend be
backend be
`), config.Options{Resolver: config.NoResolver})
	if err != nil {
		t.Fatal(err)
	}
	fe := cfg.Frontends()[0]
	parse := func(kw, text string) *config.LineFormat {
		f, _, err := config.ParseLineFormat(kw, text, config.ModeHTTP)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	fe.LogFormat = parse("log-format", "%[src] %{+Q}[req.hdr(host)] id=%ID")
	fe.UniqueIDFormat = parse("unique-id-format", "%[uuid]")
	var asked []string
	lg, err := logging.New(cfg, logging.Options{Samples: func(f *config.LineFormat) logging.SampleRenderer {
		asked = append(asked, f.Keyword)
		return upperSamples{f}
	}})
	if err != nil {
		t.Fatal(err)
	}
	r := &engine.AccessRecord{Kind: engine.RecordHTTP, Client: netip.MustParseAddrPort("10.0.0.1:1234"), Accept: time.Now()}
	r.RequestLen = copy(r.Request[:], "PUT / HTTP/1.1")
	r.IDLen = copy(r.ID[:], lg.UniqueID(fe).AppendUniqueID(nil, r))
	lg.AccessLog(fe).Log(r)
	lg.Close()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `SRC/PUT "REQ.HDR(HOST)/PUT" id=UUID/PUT`+"\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if fmt.Sprint(asked) != "[log-format unique-id-format]" {
		t.Errorf("renderers asked for %v", asked)
	}
}

// %[expr] in log-format and unique-id-format: request fetches read the
// request as the client sent it, response fetches the response head,
// the rest (variables, names) when the line is written.
func TestLogFormatSamples(t *testing.T) {
	sl := listenSyslog(t)
	web := webServer(t, "hello")
	addr, _ := run(t, `global
  log %s local0
defaults
  mode http
  log global
  timeout connect 1s
  timeout client 5s
  timeout server 5s
frontend www
  bind BIND
  http-request set-var(txn.site) req.hdr(host),lower
  unique-id-format %%[var(txn.site)]-%%[path]
  unique-id-header X-ID
  log-format "host=%%[req.hdr(host),lower] path=%%[path] site=%%[var(txn.site)] st=%%[status] ct=%%[res.hdr(content-type)] be=%%[be_name] id=%%ID"
  default_backend app
backend app
  server web1 %s
`, sl.addr, web)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "GET /a/b HTTP/1.1\r\nHost: WWW.Example.COM\r\n\r\n")
	if err := readResponse(bufio.NewReader(c)); err != nil {
		t.Fatal(err)
	}
	line := msgOf(t, sl.next(t))
	want := "host=www.example.com path=/a/b site=www.example.com st=200 ct=text/plain be=app id=www.example.com-/a/b"
	if line != want {
		t.Errorf("line\n%q\nwant\n%q", line, want)
	}
}

// http-request capture and http-response capture fill the frontend's
// capture slots: a declared one by id, a new one by len.
func TestCaptureActions(t *testing.T) {
	sl := listenSyslog(t)
	web := webServer(t, "hello")
	addr, _ := run(t, `global
  log %s local0
defaults
  mode http
  log global
  timeout connect 1s
  timeout client 5s
  timeout server 5s
frontend www
  bind BIND
  declare capture request len 32
  declare capture response len 8
  http-request capture req.hdr(host),lower id 0
  http-request capture path len 4
  http-response capture status id 0
  log-format "%%hr %%hs"
  default_backend app
backend app
  server web1 %s
`, sl.addr, web)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "GET /a/b HTTP/1.1\r\nHost: WWW.Example.COM\r\n\r\n")
	if err := readResponse(bufio.NewReader(c)); err != nil {
		t.Fatal(err)
	}
	if line, want := msgOf(t, sl.next(t)), "{www.example.com|/a/b} {200}"; line != want {
		t.Errorf("line %q, want %q (the path slot is 4 bytes: %q expected)", line, want, "{www.example.com|/a/} {200}")
	}
}

// set-log-level: silent drops the request's line, a level sets its
// priority.
func TestSetLogLevel(t *testing.T) {
	sl := listenSyslog(t)
	web := webServer(t, "hello")
	addr, _ := run(t, `global
  log %s local0
defaults
  mode http
  log global
  timeout connect 1s
  timeout client 5s
  timeout server 5s
frontend www
  bind BIND
  http-request set-log-level silent if { path /health }
  http-request set-log-level err if { path /bad }
  log-format "%%HP"
  default_backend app
backend app
  server web1 %s
`, sl.addr, web)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	for _, p := range []string{"/health", "/bad", "/ok"} {
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: h\r\n\r\n", p)
		if err := readResponse(br); err != nil {
			t.Fatal(err)
		}
	}
	// local0 is facility 16: PRI 16*8+3 for err, 16*8+6 for info. The
	// silenced /health sends nothing, so /bad's line comes first.
	if d := sl.next(t); !strings.HasPrefix(d, "<131>") || msgOf(t, d) != "/bad" {
		t.Errorf("first line %q, want /bad at err (<131>)", d)
	}
	if d := sl.next(t); !strings.HasPrefix(d, "<134>") || msgOf(t, d) != "/ok" {
		t.Errorf("second line %q, want /ok at info (<134>)", d)
	}
}
