package hop

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// backend is a scripted HTTP/1.1 server on loopback: it answers each
// request by its path (see answer), and records every byte it received
// and sent on each connection, handed to the test when the connection
// ends.
type backend struct {
	ln    net.Listener
	conns chan record
	wg    sync.WaitGroup
}

type record struct {
	got, sent []byte
	err       error
}

func newBackend(t *testing.T) *backend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &backend{ln: ln, conns: make(chan record, 256)}
	b.wg.Add(1)
	go b.serve()
	t.Cleanup(func() {
		ln.Close()
		b.wg.Wait()
	})
	return b
}

func (b *backend) addr() string { return b.ln.Addr().String() }

func (b *backend) serve() {
	defer b.wg.Done()
	for {
		c, err := b.ln.Accept()
		if err != nil {
			return
		}
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			b.conns <- b.handle(c)
		}()
	}
}

// recorder keeps what passes through a reader or a writer.
type recorder struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (r *recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.Write(p)
}

func (r *recorder) bytes() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return bytes.Clone(r.buf.Bytes())
}

func (b *backend) handle(c net.Conn) record {
	defer c.Close()
	var got, sent recorder
	br := bufio.NewReader(io.TeeReader(c, &got))
	w := io.MultiWriter(c, &sent)
	var (
		err     error
		closing bool
	)
	for err == nil && !closing {
		var req *http.Request
		req, err = http.ReadRequest(br)
		if err != nil {
			break
		}
		if _, err = io.Copy(io.Discard, req.Body); err != nil {
			break
		}
		closing, err = answer(w, req)
	}
	if errors.Is(err, io.EOF) {
		err = nil
	}
	return record{got: got.bytes(), sent: sent.bytes(), err: err}
}

// answer writes the response the path asks for; close says the server
// closes the connection after it:
//
//	/cl/N          N bytes, Content-Length
//	/chunked/N     N bytes in chunks of up to 7, with a trailer
//	/empty         204
//	/notmod        304 with a Content-Length and no body
//	/continue      100 Continue, then /cl/3's answer
//	/close/N       N bytes, Content-Length, Connection: close, then close
//	/untilclose/N  N bytes, no length: the close ends them
//	/cut/N         a Content-Length of N+100, N bytes, then close
//
// A HEAD gets the head of the GET's answer.
func answer(w io.Writer, req *http.Request) (bool, error) {
	parts := strings.Split(strings.TrimPrefix(req.URL.Path, "/"), "/")
	n := 0
	if len(parts) > 1 {
		n, _ = strconv.Atoi(parts[1])
	}
	body := pattern(n)
	head := req.Method == http.MethodHead
	var out bytes.Buffer
	closeAfter := false
	switch parts[0] {
	case "cl":
		fmt.Fprintf(&out, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", n)
		if !head {
			out.Write(body)
		}
	case "chunked":
		out.WriteString("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
		if !head {
			for rest := body; len(rest) > 0; {
				k := min(7, len(rest))
				fmt.Fprintf(&out, "%x\r\n%s\r\n", k, rest[:k])
				rest = rest[k:]
			}
			out.WriteString("0\r\nX-Trailer: yes\r\n\r\n")
		}
	case "empty":
		out.WriteString("HTTP/1.1 204 No Content\r\n\r\n")
	case "notmod":
		out.WriteString("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n")
	case "continue":
		out.WriteString("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n")
		if !head {
			out.WriteString("abc")
		}
	case "close":
		fmt.Fprintf(&out, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", n, body)
		closeAfter = true
	case "untilclose":
		fmt.Fprintf(&out, "HTTP/1.1 200 OK\r\n\r\n%s", body)
		closeAfter = true
	case "cut":
		fmt.Fprintf(&out, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", n+100, body)
		closeAfter = true
	default:
		out.WriteString("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
	}
	_, err := w.Write(out.Bytes())
	return closeAfter, err
}

// pattern is n bytes that differ from one position to the next, so that
// a byte lost, doubled or moved shows.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = "abcdefghijklmnopqrstuvwxyz0123456789"[(i*7+i/36)%36]
	}
	return b
}

// startHop runs a hop of design d in front of backends, with two loops
// and small buffers so that messages span reads and buffers.
func startHop(t *testing.T, d Design, backends ...string) *Proxy {
	t.Helper()
	p, err := Start(Options{Listen: "127.0.0.1:0", Backends: backends, Design: d, Threads: 2, BufSize: 1024, Buffers: 64,
		Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

var designs = []Design{Epoll, Uring}

// waitFor waits until cond holds, at most within.
func waitFor(within time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

// exchangeAll sends reqs on one connection, each written alone after the
// last answer (sequential) or all in one write (pipelined), reads
// everything until the hop closes, and returns it with the server's
// record.
func exchangeAll(t *testing.T, p *Proxy, b *backend, reqs []string, pipelined bool) ([]byte, record) {
	t.Helper()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	var got bytes.Buffer
	br := bufio.NewReader(io.TeeReader(c, &got))
	if pipelined {
		if _, err := c.Write([]byte(strings.Join(reqs, ""))); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range reqs {
		if !pipelined {
			if _, err := c.Write([]byte(r)); err != nil {
				t.Fatal(err)
			}
		}
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(r)))
		if err != nil {
			t.Fatalf("the test's own request %q: %v", r, err)
		}
		for {
			resp, err := http.ReadResponse(br, req)
			if err != nil {
				t.Fatalf("response to %s %s: %v", req.Method, req.URL, err)
			}
			if _, err := io.Copy(io.Discard, resp.Body); err != nil {
				t.Fatalf("body of %s: %v", req.URL, err)
			}
			if resp.StatusCode >= 200 {
				break
			}
		}
	}
	// The client closes its side: the hop lets go once all is answered.
	c.(*net.TCPConn).CloseWrite()
	if _, err := io.Copy(io.Discard, br); err != nil {
		t.Fatalf("after the last answer: %v", err)
	}
	return got.Bytes(), serverRecord(t, b)
}

func serverRecord(t *testing.T, b *backend) record {
	t.Helper()
	select {
	case r := <-b.conns:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("the server connection did not end")
	}
	return record{}
}

// mixedRequests are requests of every framing, answered in every way.
func mixedRequests() []string {
	post := string(pattern(3000))
	return []string{
		"GET /cl/64 HTTP/1.1\r\nHost: bench\r\n\r\n",
		"GET /chunked/2500 HTTP/1.1\r\nHost: bench\r\n\r\n",
		"HEAD /cl/5000 HTTP/1.1\r\nHost: bench\r\n\r\n",
		"HEAD /chunked/10 HTTP/1.1\r\nHost: bench\r\n\r\n",
		"POST /cl/10 HTTP/1.1\r\nHost: bench\r\nContent-Length: 3000\r\n\r\n" + post,
		"POST /empty HTTP/1.1\r\nHost: bench\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3e8\r\n" + post[:1000] + "\r\n0\r\n\r\n",
		"GET /notmod HTTP/1.1\r\nHost: bench\r\n\r\n",
		"POST /continue HTTP/1.1\r\nHost: bench\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\nabcd",
		"GET /cl/20000 HTTP/1.1\r\nHost: bench\r\n\r\n",
	}
}

func TestForwardsKeepAliveByteForByte(t *testing.T) {
	for _, d := range designs {
		for _, pipelined := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/pipelined=%v", d, pipelined), func(t *testing.T) {
				b := newBackend(t)
				p := startHop(t, d, b.addr())
				reqs := mixedRequests()
				got, rec := exchangeAll(t, p, b, reqs, pipelined)
				if rec.err != nil {
					t.Fatalf("server: %v", rec.err)
				}
				if want := strings.Join(reqs, ""); string(rec.got) != want {
					t.Errorf("the server got %d bytes, not the %d sent:\n%s", len(rec.got), len(want), firstDiff(rec.got, []byte(want)))
				}
				if !bytes.Equal(got, rec.sent) {
					t.Errorf("the client got %d bytes, not the %d the server sent:\n%s", len(got), len(rec.sent), firstDiff(got, rec.sent))
				}
				if !waitFor(5*time.Second, func() bool { return p.Open() == 0 }) {
					t.Errorf("%d connections still open", p.Open())
				}
			})
		}
	}
}

func firstDiff(a, b []byte) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	from := max(0, i-40)
	return fmt.Sprintf("first difference at %d:\n got %q\nwant %q", i, a[from:min(len(a), i+40)], b[from:min(len(b), i+40)])
}

// TestManyConnectionsAtOnce runs sessions in parallel on both loops and
// both servers, each byte-exact.
func TestManyConnectionsAtOnce(t *testing.T) {
	for _, d := range designs {
		t.Run(string(d), func(t *testing.T) {
			b1, b2 := newBackend(t), newBackend(t)
			p := startHop(t, d, b1.addr(), b2.addr())
			const conns, rounds = 16, 50
			var wg sync.WaitGroup
			errs := make(chan error, conns)
			for i := range conns {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs <- keepAliveRounds(p.Addr(), rounds, 100+i*37)
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Error(err)
				}
			}
			for range conns / 2 {
				for _, b := range []*backend{b1, b2} {
					if rec := serverRecord(t, b); rec.err != nil {
						t.Errorf("server: %v", rec.err)
					}
				}
			}
			if !waitFor(5*time.Second, func() bool { return p.Open() == 0 }) {
				t.Errorf("%d connections still open", p.Open())
			}
		})
	}
}

// keepAliveRounds sends rounds requests for size-byte answers on one
// connection and checks each body.
func keepAliveRounds(addr string, rounds, size int) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(c)
	want := pattern(size)
	for i := range rounds {
		path := fmt.Sprintf("/cl/%d", size)
		if i%2 == 1 {
			path = fmt.Sprintf("/chunked/%d", size)
		}
		if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: bench\r\n\r\n", path); err != nil {
			return err
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return fmt.Errorf("round %d: %w", i, err)
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil || !bytes.Equal(body, want) {
			return fmt.Errorf("round %d: %d bytes (%v), want the %d of the pattern", i, len(body), err, size)
		}
	}
	return nil
}

// TestLargeResponseToASlowReader: 16 MiB through small buffers to a
// client that reads nothing until the hop has had to hold the server back
// (epoll: bytes the client's socket did not take wait in a buffer and the
// server is not read; uring: the queue reached maxQueued and the server's
// recv was cancelled), then reads it all: every byte arrives, in order,
// once the recv is restarted.
func TestLargeResponseToASlowReader(t *testing.T) {
	for _, d := range designs {
		t.Run(string(d), func(t *testing.T) {
			b := newBackend(t)
			p := startHop(t, d, b.addr())
			const size = 16 << 20
			c, err := net.Dial("tcp", p.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(30 * time.Second))
			fmt.Fprintf(c, "GET /cl/%d HTTP/1.1\r\nHost: bench\r\n\r\n", size)
			if !waitFor(10*time.Second, func() bool { return p.stalls.Load() > 0 }) {
				t.Fatal("the hop never held the server back")
			}
			resp, err := http.ReadResponse(bufio.NewReaderSize(c, 512), nil)
			if err != nil {
				t.Fatal(err)
			}
			h := sha256.New()
			n, err := io.CopyBuffer(h, io.LimitReader(resp.Body, size+1), make([]byte, 700))
			if err != nil || n != size {
				t.Fatalf("%d bytes (%v), want %d", n, err, size)
			}
			if want := sha256.Sum256(pattern(size)); !bytes.Equal(h.Sum(nil), want[:]) {
				t.Error("the body differs from what the server sent")
			}
		})
	}
}

// TestClientClosesMidResponse: a client that closes while a large
// response is on its way ends both connections, and the hop goes on
// serving others.
func TestClientClosesMidResponse(t *testing.T) {
	for _, d := range designs {
		t.Run(string(d), func(t *testing.T) {
			b := newBackend(t)
			p := startHop(t, d, b.addr())
			c, err := net.Dial("tcp", p.Addr())
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(c, "GET /cl/%d HTTP/1.1\r\nHost: bench\r\n\r\n", 32<<20)
			head := make([]byte, 100)
			if _, err := io.ReadFull(c, head); err != nil {
				t.Fatal(err)
			}
			c.Close()
			// The server's write fails or its connection is closed: either
			// way it ends.
			serverRecord(t, b)
			if !waitFor(5*time.Second, func() bool { return p.Open() == 0 }) {
				t.Errorf("%d connections still open after the client left", p.Open())
			}
			if err := keepAliveRounds(p.Addr(), 3, 64); err != nil {
				t.Errorf("the next client: %v", err)
			}
		})
	}
}

// TestServerCloses: a server that closes ends the client connection once
// what it sent has been forwarded, whether its response was whole
// (Connection: close, or a body that the close ends) or cut short.
func TestServerCloses(t *testing.T) {
	for _, d := range designs {
		for _, path := range []string{"/close/5000", "/untilclose/5000", "/cut/5000"} {
			t.Run(string(d)+path, func(t *testing.T) {
				b := newBackend(t)
				p := startHop(t, d, b.addr())
				c, err := net.Dial("tcp", p.Addr())
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: bench\r\n\r\n", path)
				got, err := io.ReadAll(c)
				if err != nil {
					t.Fatalf("reading to the close: %v", err)
				}
				rec := serverRecord(t, b)
				if !bytes.Equal(got, rec.sent) {
					t.Errorf("the client got %d bytes, not the %d the server sent:\n%s", len(got), len(rec.sent), firstDiff(got, rec.sent))
				}
				if !waitFor(5*time.Second, func() bool { return p.Open() == 0 }) {
					t.Errorf("%d connections still open", p.Open())
				}
			})
		}
	}
}

// TestBadFramingCloses: a request the framer refuses closes the
// connection without a byte of it reaching the server; so does a
// response it refuses, without a byte of it reaching the client.
func TestBadFramingCloses(t *testing.T) {
	for _, d := range designs {
		t.Run(string(d), func(t *testing.T) {
			b := newBackend(t)
			p := startHop(t, d, b.addr())
			c, err := net.Dial("tcp", p.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			c.Write([]byte("GET / HTTP/1.1\r\nHost : bench\r\n\r\n"))
			got, err := io.ReadAll(c)
			if err != nil || len(got) != 0 {
				t.Errorf("read %q (%v), want the close alone", got, err)
			}
			if rec := serverRecord(t, b); len(rec.got) != 0 {
				t.Errorf("the server got %q", rec.got)
			}
			if !waitFor(5*time.Second, func() bool { return p.Open() == 0 }) {
				t.Errorf("%d connections still open", p.Open())
			}
		})
	}
}

// TestServerDownClosesTheClient: a connect that fails ends the client's
// connection.
func TestServerDownClosesTheClient(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	for _, d := range designs {
		t.Run(string(d), func(t *testing.T) {
			p := startHop(t, d, dead)
			c, err := net.Dial("tcp", p.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			c.Write([]byte("GET / HTTP/1.1\r\nHost: bench\r\n\r\n"))
			if got, _ := io.ReadAll(c); len(got) != 0 {
				t.Errorf("read %q, want the close alone", got)
			}
			if !waitFor(5*time.Second, func() bool { return p.Open() == 0 }) {
				t.Errorf("%d connections still open", p.Open())
			}
		})
	}
}

func TestOptionsRefused(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		want string
	}{
		{"no backend", Options{Listen: "127.0.0.1:0"}, "no backend"},
		{"an unknown design", Options{Listen: "127.0.0.1:0", Backends: []string{"127.0.0.1:1"}, Design: "kqueue"}, `"kqueue"`},
		{"buffers not a power of two", Options{Listen: "127.0.0.1:0", Backends: []string{"127.0.0.1:1"}, Buffers: 100}, "power of two"},
		{"a bad backend", Options{Listen: "127.0.0.1:0", Backends: []string{"nowhere"}}, `backend "nowhere"`},
		{"a bad listen address", Options{Listen: "127.0.0.1", Backends: []string{"127.0.0.1:1"}}, "listen on 127.0.0.1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Start(tc.o)
			if err == nil {
				p.Close()
				t.Fatal("started")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want one with %q", err, tc.want)
			}
		})
	}
}
