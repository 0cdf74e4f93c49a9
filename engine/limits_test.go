package engine

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/fjordlb/fjord/engine/h1"
)

// checkMaxconn opens limit connections that each complete a round trip and
// stay open, then checks that one more is held in the kernel backlog
// (connected, never answered) until one of the first closes.
func checkMaxconn(t *testing.T, e *Engine, addr string, limit int) {
	t.Helper()
	conns := make([]*net.TCPConn, limit)
	for i := range conns {
		conns[i] = dial(t, addr)
		if err := echoOnce(conns[i], fmt.Sprintf("client %d", i), 5*time.Second); err != nil {
			t.Fatalf("client %d of %d: %v", i, limit, err)
		}
	}
	if got := e.Stats().Sessions; got != int64(limit) {
		t.Fatalf("sessions = %d, want %d", got, limit)
	}

	// One more: the kernel completes the handshake but the proxy does not
	// take the connection. Nothing the proxy can do in 300 ms would make
	// this pass wrongly: a correct proxy never answers while at the limit.
	extra := dial(t, addr)
	const msg = "one too many"
	if _, err := extra.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	extra.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	buf := make([]byte, 64)
	if n, err := extra.Read(buf); err == nil || !os.IsTimeout(err) {
		t.Fatalf("connection above maxconn %d was served: read %q, %v", limit, buf[:n], err)
	}
	if got := e.Stats().Sessions; got != int64(limit) {
		t.Fatalf("sessions = %d above the limit %d", got, limit)
	}

	// A slot frees: the waiting connection is accepted and served.
	conns[3].Close()
	extra.SetReadDeadline(time.Now().Add(5 * time.Second))
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(extra, got); err != nil || string(got) != msg {
		t.Fatalf("waiting connection after a slot freed: read %q, %v", got, err)
	}
	extra.SetReadDeadline(time.Time{})

	// Still at the limit: the next one waits again.
	extra2 := dial(t, addr)
	extra2.Write([]byte(msg))
	extra2.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, err := extra2.Read(buf); err == nil || !os.IsTimeout(err) {
		t.Fatalf("second connection above maxconn %d was served: read %q, %v", limit, buf[:n], err)
	}

	// Everything closes: the waiting one is served, then all is idle.
	for i, c := range conns {
		if i != 3 {
			c.Close()
		}
	}
	extra.Close()
	extra2.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(extra2, got); err != nil || string(got) != msg {
		t.Fatalf("second waiting connection: read %q, %v", got, err)
	}
	extra2.Close()
	waitIdle(t, e)
}

func TestMaxconnFrontend(t *testing.T) {
	e, addr := startEngine(t, tcpConfig(t, "  maxconn 10", echoServer(t)))
	checkMaxconn(t, e, addr, 10)
}

func TestMaxconnGlobal(t *testing.T) {
	cfg := tcpConfig(t, "", echoServer(t))
	cfg = strings.Replace(cfg, "global\n", "global\n  maxconn 10\n", 1)
	e, addr := startEngine(t, cfg)
	checkMaxconn(t, e, addr, 10)
}

// The global limit holds even where the frontend's own is higher.
func TestMaxconnGlobalBelowFrontend(t *testing.T) {
	cfg := tcpConfig(t, "  maxconn 1000", echoServer(t))
	cfg = strings.Replace(cfg, "global\n", "global\n  maxconn 10\n", 1)
	e, addr := startEngine(t, cfg)
	checkMaxconn(t, e, addr, 10)
}

// withBindOption appends opt to the configuration's first bind line.
func withBindOption(cfg, opt string) string {
	i := strings.Index(cfg, "\n  bind ")
	j := i + 1 + strings.Index(cfg[i+1:], "\n")
	return cfg[:j] + " " + opt + cfg[j:]
}

// Many clients competing for few slots are all served in the end. The
// backlog is raised above its default (maxconn, 2 here): with 20 clients
// knocking at once a 2-slot accept queue overflows and the kernel resets
// some handshakes (SYN cookies), which is not what this test is about.
func TestMaxconnChurn(t *testing.T) {
	e, addr := startEngine(t, withBindOption(tcpConfig(t, "  maxconn 2", echoServer(t)), "backlog 256"))
	const clients, each = 20, 10
	errs := make(chan error, clients)
	for i := 0; i < clients; i++ {
		go func() {
			for j := 0; j < each; j++ {
				if err := roundTrip(t, addr, 1000); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for i := 0; i < clients; i++ {
		select {
		case err := <-errs:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(60 * time.Second):
			t.Fatalf("clients still waiting for a slot after 60 s: %+v", e.Stats())
		}
	}
	waitIdle(t, e)
}

// TestMaxconnHandedOff: connections handed to a handler off the loop (the
// stats page) keep their maxconn slot until the handler is done, so that
// clients holding the page open cannot take the process past its limits.
// A request the hook answers on the head (Local.Reply) is answered at once,
// without its announced body.
func TestMaxconnHandedOff(t *testing.T) {
	web := webNode(t, "web01")
	held := make(chan struct{}, 16)
	intercept := func(fe, be string, req *h1.Request) Local {
		switch string(req.Path) {
		case "/page":
			return Local{Serve: func(c net.Conn) {
				defer c.Close()
				held <- struct{}{}
				io.Copy(io.Discard, c) // the announced body never comes
			}}
		case "/denied":
			return Local{Reply: []byte("HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"), Status: 401}
		}
		return Local{}
	}
	e, addr := startEngineWith(t, httpSeedConfig(t, "  maxconn 3", []string{web}, nil), Options{Intercept: intercept})
	const post = "POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"

	// Refused on its head: answered at once and closed, holding nothing.
	c := dial(t, addr)
	fmt.Fprintf(c, post, "/denied")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if got, err := io.ReadAll(c); err != nil || !strings.HasPrefix(string(got), "HTTP/1.1 401 ") {
		t.Fatalf("request refused on its head: %q, %v", got, err)
	}
	c.Close()
	waitIdle(t, e)

	var pages []*net.TCPConn
	for range 3 {
		c := dial(t, addr)
		fmt.Fprintf(c, post, "/page")
		select {
		case <-held:
		case <-time.After(5 * time.Second):
			t.Fatal("the page handler was not called")
		}
		pages = append(pages, c)
	}
	fe := e.FrontendCounters("http_front")
	if got, cur := e.Stats().Sessions, fe.CurSessions.Load(); got != 3 || cur != 3 {
		t.Fatalf("3 connections held by the page: engine sessions %d, frontend scur %d", got, cur)
	}

	// At the limit: a request for a server waits in the backlog.
	extra := dial(t, addr)
	io.WriteString(extra, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	extra.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	buf := make([]byte, 64)
	if n, err := extra.Read(buf); err == nil || !os.IsTimeout(err) {
		t.Fatalf("served above maxconn 3 while the page held 3: %q, %v", buf[:n], err)
	}

	// The page lets one go: the waiting request is served.
	pages[0].Close()
	extra.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, body := readResponse(t, bufio.NewReader(extra), nil); body != "web01 GET /" {
		t.Fatalf("waiting request after a slot freed: %q", body)
	}
	for _, c := range pages[1:] {
		c.Close()
	}
	extra.Close()
	waitIdle(t, e)
}
