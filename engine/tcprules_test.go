package engine

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// namedEcho is a server that writes its name and a newline, then echoes.
func namedEcho(t testing.TB, name string) string {
	return serveTCP(t, func(c net.Conn) {
		io.WriteString(c, name+"\n")
		io.Copy(c, c)
		c.(*net.TCPConn).CloseWrite()
	})
}

// stillOpen reports that c neither got bytes nor was closed within d:
// the proxy holds the connection.
func stillOpen(t *testing.T, c net.Conn, d time.Duration) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(d))
	var b [1]byte
	n, err := c.Read(b[:])
	if n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the connection did not wait: %d bytes, %v", n, err)
	}
	c.SetReadDeadline(time.Time{})
}

// readLine reads a line from c within 5 s.
func readLine(t *testing.T, br *bufio.Reader, c net.Conn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := br.ReadString('\n')
	if err != nil {
		t.Fatalf("reading a line: %q, %v", line, err)
	}
	return strings.TrimSuffix(line, "\n")
}

// tcp-request content rules that read the client's bytes hold the
// connection until the bytes decide (or the inspect-delay ends), then
// let them all through, the ones they looked at included.
func TestContentRulesWaitForPayload(t *testing.T) {
	cfg := tcpConfig(t, `  tcp-request inspect-delay 5s
  tcp-request content reject unless { req.payload(0,5) -m str HELLO }`, namedEcho(t, "s1"))
	_, addr := startEngine(t, cfg)

	c := dial(t, addr)
	io.WriteString(c, "HEL")
	stillOpen(t, c, 300*time.Millisecond) // three bytes of five: undecided
	io.WriteString(c, "LO world\n")
	br := bufio.NewReader(c)
	if got := readLine(t, br, c); got != "s1" {
		t.Fatalf("server %q", got)
	}
	if got := readLine(t, br, c); got != "HELLO world" {
		t.Errorf("echo %q: the inspected bytes must reach the server", got)
	}

	c = dial(t, addr)
	io.WriteString(c, "HELP!\n")
	waitClosed(t, c, 5*time.Second) // decided at once: rejected
}

// The inspect-delay ending decides on what came: a sample still short
// does not match, and WAIT_END holds until then.
func TestContentRulesDecideWhenDelayEnds(t *testing.T) {
	srv := namedEcho(t, "s1")
	_, addr := startEngine(t, tcpConfig(t, `  tcp-request inspect-delay 200ms
  tcp-request content accept if { req.payload(0,5) -m str HELLO }
  tcp-request content reject`, srv))
	c := dial(t, addr)
	io.WriteString(c, "HEL")
	start := time.Now()
	waitClosed(t, c, 5*time.Second)
	if time.Since(start) < 150*time.Millisecond {
		t.Errorf("rejected before the inspect-delay ended")
	}

	_, addr = startEngine(t, tcpConfig(t, `  tcp-request inspect-delay 200ms
  tcp-request content accept if WAIT_END
  tcp-request content reject`, srv))
	c = dial(t, addr)
	io.WriteString(c, "ping\n")
	start = time.Now()
	br := bufio.NewReader(c)
	if got := readLine(t, br, c); got != "s1" {
		t.Fatalf("server %q", got)
	}
	if time.Since(start) < 150*time.Millisecond {
		t.Errorf("WAIT_END passed before the inspect-delay ended")
	}
	if got := readLine(t, br, c); got != "ping" {
		t.Errorf("echo %q", got)
	}
}

// use_backend reads the client's bytes once the content rules let them
// through, and a backend's own content rules wait for more with its own
// inspect-delay.
func TestPayloadRoutingAndBackendRules(t *testing.T) {
	cfg := fmt.Sprintf(`defaults
  mode tcp
  timeout connect 2s
  timeout client 30s
  timeout server 30s
frontend fe
  bind 127.0.0.1:%d
  tcp-request inspect-delay 5s
  tcp-request content accept if { req.len ge 3 }
  use_backend b2 if { req.payload(0,3) -m str B2: }
  default_backend b1
backend b1
  server s %s
backend b2
  tcp-request inspect-delay 5s
  tcp-request content reject unless { req.payload_lv(3,1) -m str ok }
  server s %s
`, freePort(t), namedEcho(t, "b1"), namedEcho(t, "b2"))
	_, addr := startEngine(t, cfg)

	c := dial(t, addr)
	io.WriteString(c, "B1:\n")
	br := bufio.NewReader(c)
	if got := readLine(t, br, c); got != "b1" {
		t.Errorf("B1: routed to %q", got)
	}

	c = dial(t, addr)
	io.WriteString(c, "B2:\x02") // routed; the backend waits for its two bytes
	stillOpen(t, c, 300*time.Millisecond)
	io.WriteString(c, "ok\n")
	br = bufio.NewReader(c)
	if got := readLine(t, br, c); got != "b2" {
		t.Errorf("B2: routed to %q", got)
	}
	if got := readLine(t, br, c); got != "B2:\x02ok" {
		t.Errorf("B2: echo %q", got)
	}

	c = dial(t, addr)
	io.WriteString(c, "B2:\x02no\n")
	waitClosed(t, c, 5*time.Second)
}

// tcp-response content rules hold the server's bytes back until they
// decide: a rule waits for two bytes (set-var does not wait, as in
// HAProxy: it would store nothing), then set-var and a reject reading
// it, on bytes that come in two writes; the client's bytes go to the
// server meanwhile.
func TestResponseContentRules(t *testing.T) {
	srv := serveTCP(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		reply := strings.TrimSpace(line) // the client says what to answer
		io.WriteString(c, reply[:1])
		// The first byte alone, then the rest once the client has
		// confirmed it did not get it (stillOpen).
		br.ReadString('\n')
		io.WriteString(c, reply[1:]+"\n")
	})
	cfg := tcpConfig(t, `  tcp-response inspect-delay 5s
  tcp-response content reject unless { res.len ge 2 }
  tcp-response content set-var(txn.head) res.payload(0,2)
  tcp-response content reject unless { var(txn.head) -m str OK }`, srv)
	_, addr := startEngine(t, cfg)

	c := dial(t, addr)
	io.WriteString(c, "OK fine\n")
	stillOpen(t, c, 300*time.Millisecond) // one byte of two: held back
	io.WriteString(c, "go\n")
	br := bufio.NewReader(c)
	if got := readLine(t, br, c); got != "OK fine" {
		t.Errorf("accepted response %q", got)
	}

	c = dial(t, addr)
	io.WriteString(c, "NO way\n")
	stillOpen(t, c, 300*time.Millisecond)
	io.WriteString(c, "go\n")
	waitClosed(t, c, 5*time.Second)
}

// A server that closes without a byte ends the inspection: the rules
// decide on nothing.
func TestResponseRulesOnServerClose(t *testing.T) {
	srv := serveTCP(t, func(c net.Conn) {})
	_, addr := startEngine(t, tcpConfig(t, `  tcp-response inspect-delay 5s
  tcp-response content reject unless { res.len gt 0 }`, srv))
	c := dial(t, addr)
	waitClosed(t, c, 3*time.Second) // well before the 5 s delay
}
