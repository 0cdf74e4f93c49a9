package engine

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// waitNoSession waits until the engine has no session left.
func waitNoSession(t *testing.T, e *Engine) {
	t.Helper()
	if !waitFor(5*time.Second, func() bool { return e.Stats().Sessions == 0 }) {
		t.Fatalf("%d sessions left", e.Stats().Sessions)
	}
}

// With "option logasap" an HTTP request is logged once its response head
// is forwarded, while its body still flows: the line has the status, the
// bytes sent so far (the head, and the body bytes that came with it) and
// the time so far, marked partial. Nothing more is logged for it when it
// ends, nor when the connection closes.
func TestLogASAPHTTP(t *testing.T) {
	const head = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"
	release := make(chan struct{})
	slow := serveTCP(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for n := 0; ; n++ {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			io.Copy(io.Discard, req.Body)
			if n == 0 {
				// The head and a tenth of the body, then the rest
				// once the test has seen the line.
				io.WriteString(c, head+"0123456789")
				<-release
				io.WriteString(c, fmt.Sprintf("%090d", 0))
				continue
			}
			io.WriteString(c, "HTTP/1.1 204 No Content\r\n\r\n")
		}
	})
	sink := &recordSink{}
	e, addr := startEngineWith(t, logConfig(t, "http", "  option logasap", slow), logOpts(sink))
	c := dial(t, addr)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	io.WriteString(c, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
	r := sink.wait(t, 1) // before the body's end
	if string(r.RequestLine()) != "GET /big HTTP/1.1" || !r.ASAP || r.Status != 200 || term(r) != "--" ||
		r.Bytes != int64(len(head)+10) || r.Server != "s0" || r.Tr < 0 || r.Tt < r.Tr {
		t.Errorf("early record: %q asap %v status %d term %s bytes %d server %s timers %d/%d/%d/%d/%d",
			r.RequestLine(), r.ASAP, r.Status, term(r), r.Bytes, r.Server, r.Tq, r.Tw, r.Tc, r.Tr, r.Tt)
	}
	close(release)
	if resp, body := readResponse(t, br, nil); resp.StatusCode != 200 || len(body) != 100 {
		t.Fatalf("download: %d, %d bytes", resp.StatusCode, len(body))
	}
	// The next request's line is the next line: none came for the end
	// of the first.
	if resp, _ := httpRoundTrip(t, c, br, "GET /next HTTP/1.1\r\nHost: x\r\n\r\n"); resp.StatusCode != 204 {
		t.Fatalf("next: %d", resp.StatusCode)
	}
	if r := sink.wait(t, 2); string(r.RequestLine()) != "GET /next HTTP/1.1" || !r.ASAP || r.Status != 204 {
		t.Errorf("second record: %q asap %v status %d", r.RequestLine(), r.ASAP, r.Status)
	}
	c.Close()
	waitNoSession(t, e)
	if n := sink.count(); n != 2 {
		t.Errorf("%d records for two requests", n)
	}
}

// In tcp mode "option logasap" logs the connection once the server has
// accepted it, before any byte moved (+0 bytes), and nothing at its end.
func TestLogASAPTCP(t *testing.T) {
	sink := &recordSink{}
	e, addr := startEngineWith(t, logConfig(t, "tcp", "  option logasap", echoServer(t)), logOpts(sink))
	c := dial(t, addr)
	r := sink.wait(t, 1) // nothing sent yet
	if !r.ASAP || r.Kind != RecordTCP || r.Bytes != 0 || term(r) != "--" || r.Server != "s0" || r.Tc < 0 || r.Tt < r.Tc {
		t.Errorf("early record: asap %v kind %v bytes %d term %s server %s timers %d/%d/%d",
			r.ASAP, r.Kind, r.Bytes, term(r), r.Server, r.Tw, r.Tc, r.Tt)
	}
	if err := echoOnce(c, "after the line", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	c.Close()
	waitNoSession(t, e)
	if n := sink.count(); n != 1 {
		t.Errorf("%d records for one connection", n)
	}
	// A connection that never reaches a server is logged at its end,
	// marked all the same: the mark is the frontend's, as in HAProxy.
	sink2 := &recordSink{}
	_, addr2 := startEngineWith(t, logConfig(t, "tcp", "  option logasap\n  retries 0", "127.0.0.1:1"), logOpts(sink2))
	waitClosed(t, dial(t, addr2), 5*time.Second)
	if r := sink2.wait(t, 1); !r.ASAP || term(r) != "SC" || r.Tc != -1 {
		t.Errorf("failed connection: asap %v term %s Tc %d", r.ASAP, term(r), r.Tc)
	}
}

// Without "option logasap" nothing is marked.
func TestLogASAPOff(t *testing.T) {
	sink := &recordSink{}
	c := dial(t, startEngineOpts(t, logConfig(t, "tcp", "", echoServer(t)), logOpts(sink)))
	if err := echoOnce(c, "x", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if r := sink.wait(t, 1); r.ASAP || r.Bytes != 1 {
		t.Errorf("record: asap %v bytes %d", r.ASAP, r.Bytes)
	}
}
