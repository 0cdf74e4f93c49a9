package engine

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/engine/h1"
)

// recordSink keeps copies of the records it is given.
type recordSink struct {
	mu   sync.Mutex
	recs []AccessRecord
	n    atomic.Int64
}

func (s *recordSink) Log(r *AccessRecord) {
	s.n.Add(1)
	s.mu.Lock()
	s.recs = append(s.recs, *r)
	s.mu.Unlock()
}

// wait returns the n-th record (1-based), failing after 5 s.
func (s *recordSink) wait(t *testing.T, n int) AccessRecord {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.mu.Lock()
		if len(s.recs) >= n {
			r := s.recs[n-1]
			s.mu.Unlock()
			return r
		}
		s.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("no record %d within 5 s", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (s *recordSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.recs)
}

func logOpts(sink AccessLog) Options {
	return Options{AccessLog: func(*config.Proxy) AccessLog { return sink }}
}

func logConfig(t testing.TB, mode, extra string, servers ...string) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "global\n  nbthread 1\ndefaults\n  mode %s\n  option %slog\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n", mode, mode)
	fmt.Fprintf(&sb, "listen px\n  bind 127.0.0.1:%d\n%s\n", freePort(t), extra)
	for i, s := range servers {
		fmt.Fprintf(&sb, "  server s%d %s\n", i, s)
	}
	return sb.String()
}

func term(r AccessRecord) string { return string(r.Term[:]) }

func TestAccessRecordTunnel(t *testing.T) {
	sink := &recordSink{}
	web := benchServe(t, benchHTTPServe)
	addr := startEngineOpts(t, logConfig(t, "http", "  option http-tunnel", web), logOpts(sink))
	c := dial(t, addr)
	c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	for i := 0; i < 2; i++ {
		fmt.Fprintf(c, "GET /t%d HTTP/1.1\r\nHost: x\r\n\r\n", i)
		if _, err := io.ReadFull(br, make([]byte, len(benchHTTPResponse))); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
	r := sink.wait(t, 1)
	// The tunnel does not parse the response: no status, no Tr.
	if r.Kind != RecordHTTP || string(r.RequestLine()) != "GET /t0 HTTP/1.1" || r.Status != -1 || r.Tr != -1 ||
		r.Bytes != int64(2*len(benchHTTPResponse)) || term(r) != "--" || r.Server != "s0" {
		t.Errorf("tunnel record: %+v %q", r.Kind, r.RequestLine())
		t.Errorf("status %d bytes %d term %s server %s", r.Status, r.Bytes, term(r), r.Server)
	}
	time.Sleep(100 * time.Millisecond)
	if n := sink.count(); n != 1 {
		t.Errorf("%d records for one tunnel", n)
	}
}

func TestAccessRecordTermination(t *testing.T) {
	// slow answers the head and part of a 100-byte body, then waits.
	slow := serveTCP(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			line, err := br.ReadString('\n')
			if err != nil || line == "\r\n" {
				break
			}
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
		c.SetReadDeadline(time.Now().Add(time.Second))
		io.Copy(io.Discard, c)
	})
	// cut does the same, then closes.
	cut := serveTCP(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			line, err := br.ReadString('\n')
			if err != nil || line == "\r\n" {
				break
			}
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
	})
	// mute never answers.
	mute := serveTCP(t, func(c net.Conn) {
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		io.Copy(io.Discard, c)
	})
	for _, tc := range []struct {
		name, mode, extra, server string
		reset                     bool // the client resets after the first bytes
		want                      string
		status                    int
	}{
		{"client abort in data", "http", "", slow, true, "CD", 200},
		{"server abort in data", "http", "", cut, false, "SD", 200},
		{"server timeout on head", "http", "  timeout server 200ms", mute, false, "sH", 504},
		{"tcp client timeout", "tcp", "  timeout client 200ms", mute, false, "cD", -1},
		{"tcp server abort", "tcp", "", cut, false, "--", -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink := &recordSink{}
			addr := startEngineOpts(t, logConfig(t, tc.mode, tc.extra, tc.server), logOpts(sink))
			c := dial(t, addr)
			c.SetDeadline(time.Now().Add(5 * time.Second))
			io.WriteString(c, "GET /x HTTP/1.1\r\nHost: x\r\n\r\n")
			if tc.reset {
				io.ReadAtLeast(c, make([]byte, 64), 1)
				c.SetLinger(0)
				c.Close()
			} else {
				io.ReadAll(c)
				c.Close()
			}
			r := sink.wait(t, 1)
			if term(r) != tc.want || r.Status != tc.status {
				t.Errorf("term %s status %d, want %s %d", term(r), r.Status, tc.want, tc.status)
			}
			if r.Tt < 0 || (tc.mode == "http" && r.Tt < r.Tr) {
				t.Errorf("timers %d/%d/%d/%d/%d", r.Tq, r.Tw, r.Tc, r.Tr, r.Tt)
			}
		})
	}
}

func TestAccessRecordQueueTimeout(t *testing.T) {
	sink := &recordSink{}
	mute := serveTCP(t, func(c net.Conn) {
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		io.Copy(io.Discard, c)
	})
	cfg := logConfig(t, "http", "  timeout queue 200ms\n  timeout server 2s", mute+" maxconn 1")
	addr := startEngineOpts(t, cfg, logOpts(sink))
	first := dial(t, addr)
	io.WriteString(first, "GET /hold HTTP/1.1\r\nHost: x\r\n\r\n")
	time.Sleep(100 * time.Millisecond)
	second := dial(t, addr)
	second.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(second, "GET /queued HTTP/1.1\r\nHost: x\r\n\r\n")
	io.ReadAll(second)
	r := sink.wait(t, 1)
	if string(r.RequestLine()) != "GET /queued HTTP/1.1" || term(r) != "sQ" || r.Status != 503 || r.Server != "<NOSRV>" ||
		r.Tw < 200 || r.Tc != -1 || r.BeQueue != 0 {
		t.Errorf("queued record: %q %s %d %s Tw %d Tc %d queue %d", r.RequestLine(), term(r), r.Status, r.Server, r.Tw, r.Tc, r.BeQueue)
	}
}

// TestAccessLogNoAllocs: building and handing over a record costs no heap
// allocation per request.
func TestAccessLogNoAllocs(t *testing.T) {
	web := benchServe(t, benchHTTPServe)
	perRequest := func(sink AccessLog, extra string) float64 {
		opts := Options{UniqueID: func(*config.Proxy) UniqueID { return counterID{} }}
		if sink != nil {
			opts.AccessLog = logOpts(sink).AccessLog
		}
		e, addr := startEngineWith(t, logConfig(t, "http", extra, web), opts)
		defer e.Stop()
		c := dial(t, addr)
		c.SetDeadline(time.Now().Add(20 * time.Second))
		return mallocsPerExchange(t, c, benchHTTPRequest, make([]byte, len(benchHTTPResponse)))
	}
	counting := &countSink{}
	off := perRequest(nil, "")
	on := perRequest(counting, "")
	if counting.n.Load() < 2200 {
		t.Fatalf("sink saw %d records", counting.n.Load())
	}
	t.Logf("allocations per request: %.3f with an access log, %.3f without", on, off)
	if on > off+0.1 {
		t.Errorf("allocations per request: %.2f with an access log, %.2f without", on, off)
	}
	// A log-format whose aliases make the loop collect more (addresses,
	// the request counter), captures and a unique id sent in a header:
	// still nothing per request.
	counting = &countSink{}
	rich := perRequest(counting, "  log-format \"%ci %fi:%fp %si:%sp %bi:%bp %rt %hr %hs %ID\"\n"+
		"  capture request header Host len 20\n  capture request header User-Agent len 20\n  capture response header Content-Length len 8\n"+
		"  unique-id-format %rt\n  unique-id-header X-Unique-ID")
	t.Logf("allocations per request: %.3f with a log-format, captures and a unique id header", rich)
	if counting.n.Load() < 2200 || rich > off+0.1 {
		t.Errorf("allocations per request: %.2f with a log-format, captures and a unique id (%d records), %.2f without", rich, counting.n.Load(), off)
	}
}

type countSink struct{ n atomic.Int64 }

func (s *countSink) Log(*AccessRecord) { s.n.Add(1) }

// TestAccessRecordConnect: a frontend that logs without httplog or tcplog
// gets one connect record per connection, at accept, as in HAProxy.
func TestAccessRecordConnect(t *testing.T) {
	sink := &recordSink{}
	cfg := strings.Replace(logConfig(t, "tcp", "", echoServer(t)), "  option tcplog\n", "", 1)
	addr := startEngineOpts(t, cfg, logOpts(sink))
	c := dial(t, addr)
	r := sink.wait(t, 1)
	if r.Kind != RecordConnect || r.Local.String() != addr || r.Client.String() != c.LocalAddr().String() || r.HTTPMode || r.Frontend != "px" {
		t.Errorf("connect record: kind %d local %s client %s", r.Kind, r.Local, r.Client)
	}
	c.Write([]byte("x"))
	io.ReadFull(c, make([]byte, 1))
	c.Close()
	time.Sleep(100 * time.Millisecond)
	if n := sink.count(); n != 1 {
		t.Errorf("%d records for one connection", n)
	}
}

// TestAccessRecordIntercepted: a request answered off the loop (the stats
// page) is logged "LR" with HAProxy's "<STATS>" server and its backend.
func TestAccessRecordIntercepted(t *testing.T) {
	const answer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
	sink := &recordSink{}
	opts := logOpts(sink)
	opts.Intercept = func(fe, be string, req *h1.Request) Local {
		return Local{Serve: func(c net.Conn) {
			defer c.Close()
			http.ReadRequest(bufio.NewReader(c))
			io.WriteString(c, answer)
		}}
	}
	addr := startEngineOpts(t, logConfig(t, "http", "", echoServer(t)), opts)
	c := dial(t, addr)
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "GET /stats HTTP/1.1\r\nHost: x\r\n\r\n")
	io.ReadAll(c)
	r := sink.wait(t, 1)
	if term(r) != "LR" || r.Backend != "px" || r.Server != "<STATS>" || string(r.RequestLine()) != "GET /stats HTTP/1.1" {
		t.Errorf("record %s %s/%s %q", term(r), r.Backend, r.Server, r.RequestLine())
	}
	// The line is written once the answer is sent, with its status and size.
	if want := int64(len(answer)); r.Status != 200 || r.Bytes != want || r.Tt < 0 {
		t.Errorf("record status %d, bytes %d, Tt %d; want 200, %d, >= 0", r.Status, r.Bytes, r.Tt, want)
	}
	if n := sink.count(); n != 1 {
		t.Errorf("%d records for one request answered off the loop", n)
	}
}

func TestAnswerConnStatus(t *testing.T) {
	for _, tc := range []struct {
		writes []string
		want   int
	}{
		{[]string{"HTTP/1.1 200 OK\r\n\r\n"}, 200},
		{[]string{"HTTP/1.0 503 Service Unavailable\r\n"}, 503},
		{[]string{"HTT", "P/1.1 4", "01 Unauthorized\r\n"}, 401}, // split writes
		{[]string{"HTTP/1.1 20"}, -1},                            // cut short
		{[]string{"HTTP/1.1 2x0 OK\r\n"}, -1},
		{[]string{"SSH-2.0-OpenSSH_9.6\r\n"}, -1},
		{nil, -1},
	} {
		c := &answerConn{Conn: discardConn{}}
		n := 0
		for _, w := range tc.writes {
			c.Write([]byte(w))
			n += len(w)
		}
		if got := c.status(); got != tc.want || c.n != int64(n) {
			t.Errorf("writes %q: status %d, %d bytes; want %d, %d", tc.writes, got, c.n, tc.want, n)
		}
	}
}

// discardConn is a net.Conn whose writes all succeed.
type discardConn struct{ net.Conn }

func (discardConn) Write(b []byte) (int, error) { return len(b), nil }

// TestAccessRecordCaptures: the record carries the last occurrence of
// each captured header, cut to its length; the response's are the final
// response's, not an interim 100's; the next request starts empty.
func TestAccessRecordCaptures(t *testing.T) {
	sink := &recordSink{}
	web := serveTCP(t, func(c net.Conn) {
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
			if n == 0 {
				io.WriteString(c, "HTTP/1.1 100 Continue\r\nX-Rsp: interim\r\n\r\n"+
					"HTTP/1.1 200 OK\r\nX-Rsp: one\r\nX-RSP: twotwotwo\r\nContent-Length: 0\r\n\r\n")
			} else {
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
			}
		}
	})
	extra := "  capture request header Host len 4\n  declare capture request len 5\n  capture request header X-Req len 10\n" +
		"  capture response header X-Rsp len 6"
	addr := startEngineOpts(t, logConfig(t, "http", extra, web), logOpts(sink))
	c := dial(t, addr)
	c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	for _, req := range []string{
		"GET /1 HTTP/1.1\r\nHost: example\r\nX-Req: a\r\nx-req: b\r\n\r\n",
		"GET /2 HTTP/1.1\r\nHost: h\r\n\r\n",
	} {
		io.WriteString(c, req)
		for {
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
	}
	show := func(r AccessRecord) string {
		var parts []string
		for i := 0; i < int(r.Caps.NReq+r.Caps.NRsp); i++ {
			v, ok := r.Caps.Slot(i)
			if !ok {
				parts = append(parts, "<none>")
				continue
			}
			parts = append(parts, string(v))
		}
		return fmt.Sprintf("%d+%d %s", r.Caps.NReq, r.Caps.NRsp, strings.Join(parts, " "))
	}
	if got := show(sink.wait(t, 1)); got != "3+1 exam <none> b twotwo" {
		t.Errorf("first request: %s", got)
	}
	if got := show(sink.wait(t, 2)); got != "3+1 h <none> <none> <none>" {
		t.Errorf("second request: %s", got)
	}
}

// counterID is a unique-id renderer for the engine's tests: the request
// counter, the method and the client's port, which is what the engine
// must have filled in when it asks.
type counterID struct{}

func (counterID) AppendUniqueID(dst []byte, r *AccessRecord) []byte {
	dst = append(dst, "id-"...)
	dst = strconv.AppendUint(dst, r.Counter, 10)
	dst = append(dst, '-')
	method, _, _ := bytes.Cut(r.RequestLine(), []byte(" "))
	dst = append(dst, method...)
	dst = append(dst, '-')
	return strconv.AppendUint(dst, uint64(r.Client.Port()), 10)
}

// TestUniqueIDHeader: with unique-id-format and unique-id-header, each
// request reaches its server with its own id in that field, before the
// X-Forwarded-For fjord adds; the record of its line has the same id;
// a request fjord answers itself has one too, in its record only.
func TestUniqueIDHeader(t *testing.T) {
	sink := &recordSink{}
	got := make(chan string, 10)
	web := serveTCP(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			got <- req.Header.Get("X-Unique-ID") + " " + strings.Join(req.Header.Values("X-Unique-ID"), ",") + " " + req.Header.Get("X-Forwarded-For")
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
		}
	})
	cfg := fmt.Sprintf("global\n  nbthread 1\ndefaults\n  mode http\n  option httplog\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n"+
		"frontend fe\n  bind 127.0.0.1:%d\n  unique-id-format %%rt\n  unique-id-header X-Unique-ID\n  option forwardfor\n  use_backend be if { path_beg /ok }\n"+
		"backend be\n  server s0 %s\n", freePort(t), web)
	opts := logOpts(sink)
	opts.UniqueID = func(px *config.Proxy) UniqueID {
		if px.UniqueIDFormat == nil {
			t.Errorf("%s: asked for a unique id renderer without a format", px)
		}
		return counterID{}
	}
	addr := startEngineOpts(t, cfg, opts)
	c := dial(t, addr)
	c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	port := c.LocalAddr().(*net.TCPAddr).Port
	var ids []string
	for i, method := range []string{"GET", "POST"} {
		// The client's own X-Unique-ID stays; fjord's comes after it.
		fmt.Fprintf(c, "%s /ok/%d HTTP/1.1\r\nHost: x\r\nX-Unique-ID: client\r\nContent-Length: 0\r\n\r\n", method, i)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		line := <-got
		f := strings.Fields(line)
		if len(f) != 3 || f[0] != "client" || !strings.HasPrefix(f[1], "client,id-") || f[2] != "127.0.0.1" {
			t.Fatalf("the server got X-Unique-ID and X-Forwarded-For %q", line)
		}
		id := strings.TrimPrefix(f[1], "client,")
		if want := fmt.Sprintf("-%s-%d", method, port); !strings.HasSuffix(id, want) {
			t.Errorf("id %q, want ...%s", id, want)
		}
		if r := sink.wait(t, i+1); string(r.UniqueIDBytes()) != id {
			t.Errorf("record id %q, header %q", r.UniqueIDBytes(), id)
		}
		ids = append(ids, id)
	}
	if ids[0] == ids[1] {
		t.Errorf("two requests, one id %q", ids[0])
	}
	// No backend for it: a 503 of fjord's, with an id of its own.
	fmt.Fprintf(c, "GET /none HTTP/1.1\r\nHost: x\r\n\r\n")
	io.Copy(io.Discard, br)
	r := sink.wait(t, 3)
	if id := string(r.UniqueIDBytes()); r.Status != 503 || !strings.HasPrefix(id, "id-") || id == ids[0] || id == ids[1] {
		t.Errorf("503: status %d id %q (earlier %q)", r.Status, id, ids)
	}
}

// TestUniqueIDTCP: in tcp mode the connection's line has an id, and no
// header goes anywhere.
func TestUniqueIDTCP(t *testing.T) {
	sink := &recordSink{}
	opts := logOpts(sink)
	opts.UniqueID = func(*config.Proxy) UniqueID { return counterID{} }
	addr := startEngineOpts(t, logConfig(t, "tcp", "  unique-id-format %rt", echoServer(t)), opts)
	c := dial(t, addr)
	io.WriteString(c, "ping")
	buf := make([]byte, 4)
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatal(err)
	}
	c.Close()
	r := sink.wait(t, 1)
	if id := string(r.UniqueIDBytes()); !strings.HasPrefix(id, "id-") || !strings.HasSuffix(id, fmt.Sprintf("--%d", c.LocalAddr().(*net.TCPAddr).Port)) {
		t.Errorf("tcp id %q", id)
	}
}

// TestUniqueIDHeaderWithoutLog: a frontend that logs nothing still sends
// the id, made from the whole request.
func TestUniqueIDHeaderWithoutLog(t *testing.T) {
	got := make(chan string, 1)
	web := serveTCP(t, func(c net.Conn) {
		req, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			return
		}
		got <- req.Header.Get("X-Request-ID")
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
	})
	cfg := strings.Replace(logConfig(t, "http", "  unique-id-format %rt\n  unique-id-header X-Request-ID", web), "  option httplog\n", "", 1)
	addr := startEngineOpts(t, cfg, Options{UniqueID: func(*config.Proxy) UniqueID { return counterID{} }})
	c := dial(t, addr)
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "DELETE /x HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if id := <-got; !strings.HasPrefix(id, "id-") || !strings.Contains(id, "-DELETE-") {
		t.Errorf("X-Request-ID %q", id)
	}
}

// A request that a tcp-request content rule rejects is logged as HAProxy
// logs its stream: no request line (<BADREQ>), status -1, "PR"; the
// requests before it on the connection have their own lines.
func TestAccessRecordContentReject(t *testing.T) {
	sink := &recordSink{}
	web := benchServe(t, benchHTTPServe)
	addr := startEngineOpts(t, logConfig(t, "http", `  tcp-request content reject if { var(sess.n) -m found }
  tcp-request content set-var(sess.n) int(1)`, web), logOpts(sink))
	c := dial(t, addr)
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	io.WriteString(c, "GET /first HTTP/1.1\r\nHost: x\r\n\r\n")
	if _, err := io.ReadFull(br, make([]byte, len(benchHTTPResponse))); err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "GET /second HTTP/1.1\r\nHost: x\r\n\r\n")
	if b, _ := io.ReadAll(br); len(b) != 0 {
		t.Errorf("the rejected request was answered: %q", b)
	}
	if r := sink.wait(t, 1); string(r.RequestLine()) != "GET /first HTTP/1.1" || r.Status != 200 {
		t.Errorf("first record: %q status %d", r.RequestLine(), r.Status)
	}
	if r := sink.wait(t, 2); r.Kind != RecordHTTP || r.RequestLen != 0 || r.Status != -1 || term(r) != "PR" || r.Server != "<NOSRV>" {
		t.Errorf("rejected record: kind %v %q status %d term %s server %s", r.Kind, r.RequestLine(), r.Status, term(r), r.Server)
	}
}

// In tcp mode the connection is the stream: a tcp-request content
// rule's reject is its last rule, which the log line writes; a set-var
// that goes on does not count.
func TestLastRuleTCPLogged(t *testing.T) {
	sink := &recordSink{}
	cfg := logConfig(t, "tcp", `  log-format "lr=%[last_rule_file]:%[last_rule_line]"
  tcp-request content set-var(sess.x) int(1)
  tcp-request content reject if { src 127.0.0.1 } # reject`, echoServer(t))
	_, addr := startEngineWith(t, cfg, logOpts(sink))
	c := dial(t, addr)
	defer c.Close()
	waitClosed(t, c, 5*time.Second)
	r := sink.wait(t, 1)
	want := "test.cfg:" + lineOf(t, cfg, "# reject")
	if got := string(r.Sample(0)) + ":" + string(r.Sample(1)); got != want {
		t.Errorf("last rule %q, want %q", got, want)
	}
}

// The unique-id fetch makes the request's id when a rule first asks for
// it, and gives the same one to every rule after, to the server's header
// and to the log line; a response rule reading it leaves the response's
// other rules their message.
func TestUniqueIDFetchInRules(t *testing.T) {
	got := make(chan string, 1)
	web := serveTCP(t, func(c net.Conn) {
		req, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			return
		}
		got <- req.Header.Get("X-Request-ID") + " " + req.Header.Get("X-Req-Rule")
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
	})
	sink := &recordSink{}
	opts := logOpts(sink)
	opts.UniqueID = func(*config.Proxy) UniqueID { return counterID{} }
	addr := startEngineOpts(t, logConfig(t, "http", `  unique-id-format %rt
  unique-id-header X-Request-ID
  http-request set-header X-Req-Rule %[unique-id]
  http-response set-header A %[unique-id]
  http-response set-header B %[unique-id]
  http-response set-header S %[status]`, web), opts)
	c := dial(t, addr)
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "GET /x HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	a := resp.Header.Get("A")
	if !strings.HasPrefix(a, "id-") || resp.Header.Get("B") != a || resp.Header.Get("S") != "200" {
		t.Errorf("response fields A %q B %q S %q: want one id, and the status", a, resp.Header.Get("B"), resp.Header.Get("S"))
	}
	if sent := <-got; sent != a+" "+a {
		t.Errorf("the server got %q, want the id %q in both fields", sent, a)
	}
	if r := sink.wait(t, 1); string(r.UniqueIDBytes()) != a {
		t.Errorf("the log's id %q, want %q", r.UniqueIDBytes(), a)
	}
}
