package engine

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// What a hostile client sends to make fjord and the server behind it
// disagree about a request.

// recordingServer answers every request with its name and counts the
// request heads it received.
func recordingServer(t testing.TB, name string, heads *atomic.Int64) string {
	return serveTCP(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			heads.Add(1)
			for line != "\r\n" {
				if line, err = br.ReadString('\n'); err != nil {
					return
				}
			}
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(name), name)
		}
	})
}

// An absolute-form target whose authority is not the Host header would be
// routed by Host and acted on, by the server, by its authority: it is
// refused with 400 before any server sees it.
func TestHTTPAbsoluteFormCannotBypassHostRouting(t *testing.T) {
	var adminHeads, publicHeads atomic.Int64
	admin, public := recordingServer(t, "admin", &adminHeads), recordingServer(t, "public", &publicHeads)
	_, addr := startEngine(t, fmt.Sprintf(`defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
frontend fe
  bind 127.0.0.1:%d
  use_backend admin if { hdr(host) -i admin.internal }
  default_backend public
backend admin
  server a %s
backend public
  server p %s
`, freePort(t), admin, public))
	for _, tc := range []struct {
		name, head string
		status     int
		body       string
	}{
		{"authority differs from Host", "GET http://admin.internal/secret HTTP/1.1\r\nHost: public.example\r\n\r\n", 400, ""},
		{"no Host", "GET http://admin.internal/secret HTTP/1.0\r\n\r\n", 400, ""},
		{"userinfo in both", "GET http://public.example@admin.internal/secret HTTP/1.1\r\nHost: public.example@admin.internal\r\n\r\n", 400, ""},
		{"backslashes", "GET http:\\\\admin.internal\\secret HTTP/1.1\r\nHost: public.example\r\n\r\n", 400, ""},
		{"no scheme", "GET admin.internal/secret HTTP/1.1\r\nHost: public.example\r\n\r\n", 400, ""},
		{"CONNECT elsewhere", "CONNECT admin.internal:443 HTTP/1.1\r\nHost: public.example\r\n\r\n", 400, ""},
		{"fragment", "GET /secret#x HTTP/1.1\r\nHost: public.example\r\n\r\n", 400, ""},
		{"CONNECT not authority-form", "CONNECT /secret HTTP/1.1\r\nHost: public.example\r\n\r\n", 400, ""},
		{"authority equals Host", "GET http://ADMIN.internal/secret HTTP/1.1\r\nHost: admin.internal\r\n\r\n", 200, "admin"},
		{"origin-form", "GET /secret HTTP/1.1\r\nHost: public.example\r\n\r\n", 200, "public"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, addr)
			resp, body := httpRoundTrip(t, c, bufio.NewReader(c), tc.head)
			if resp.StatusCode != tc.status || (tc.body != "" && body != tc.body) {
				t.Fatalf("%d %q, want %d %q", resp.StatusCode, body, tc.status, tc.body)
			}
		})
	}
	if adminHeads.Load() != 1 || publicHeads.Load() != 1 {
		t.Errorf("servers saw %d (admin) and %d (public) requests, want only the two valid ones", adminHeads.Load(), publicHeads.Load())
	}
}

// rawExchange runs a server that reads one request head and then bodyLen
// body bytes, records them, and answers with response verbatim; it sends
// head through fjord (mode http, one server) and returns what the server
// received and what the client got back.
func rawExchange(t *testing.T, head string, bodyLen int, response string) (seen, got string) {
	t.Helper()
	received := make(chan string, 1)
	srv := serveTCP(t, func(c net.Conn) {
		c.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(c)
		var sb strings.Builder
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			sb.WriteString(line)
			if line == "\r\n" {
				break
			}
		}
		body := make([]byte, bodyLen)
		if _, err := io.ReadFull(br, body); err != nil {
			return
		}
		sb.Write(body)
		received <- sb.String()
		io.WriteString(c, response)
	})
	_, addr := startEngine(t, fmt.Sprintf(`defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
listen px
  bind 127.0.0.1:%d
  server s %s
`, freePort(t), srv))
	c := dial(t, addr)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, head)
	// The response is read to the connection's close, so that what
	// follows a response's framing shows too.
	c.CloseWrite()
	b, _ := io.ReadAll(c)
	select {
	case seen = <-received:
	default:
	}
	return seen, string(b)
}

// A server behind fjord sees the framing fjord parsed, never a spelling
// it might read differently; a client sees a response's framing as fjord
// read it.
func TestHTTPFramingForwardedAsParsed(t *testing.T) {
	const ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
	for _, tc := range []struct {
		name, head string
		bodyLen    int
		seen       []string // in what the server received
		notSeen    []string
	}{
		{"leading zeros", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 005\r\n\r\nhello", 5,
			[]string{"\r\ncontent-length: 5\r\n", "hello"}, []string{"005"}},
		{"repeated Content-Length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello", 5,
			[]string{"\r\ncontent-length: 5\r\n"}, []string{"Content-Length"}},
		{"Content-Length list", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\nhello", 5,
			[]string{"\r\ncontent-length: 5\r\n"}, []string{"5, 5"}},
		{"tab before chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\tchunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 15,
			[]string{"\r\ntransfer-encoding: chunked\r\n", "5\r\nhello\r\n0\r\n\r\n"}, []string{"\t"}},
		{"CHUNKED", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: CHUNKED\r\n\r\n0\r\n\r\n", 5,
			[]string{"\r\ntransfer-encoding: chunked\r\n"}, []string{"CHUNKED"}},
		{"canonical head untouched", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", 5,
			[]string{"\r\nContent-Length: 5\r\n"}, []string{"content-length"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seen, got := rawExchange(t, tc.head, tc.bodyLen, ok)
			if !strings.HasSuffix(got, "\r\n\r\nok") {
				t.Fatalf("response %q", got)
			}
			checkHas(t, "server saw", seen, tc.seen, tc.notSeen)
		})
	}
}

// Responses: Content-Length beside chunked is removed (RFC 9112 §6.3);
// beside a coding that leaves the length unknown it is a 502; a 204 or
// 304 loses its Content-Length.
func TestHTTPResponseFraming(t *testing.T) {
	const get = "GET / HTTP/1.1\r\nHost: a\r\n\r\n"
	for _, tc := range []struct {
		name, response string
		status         string
		has, hasNot    []string
	}{
		{"CL and chunked", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
			"200", []string{"\r\ntransfer-encoding: chunked\r\n", "2\r\nok\r\n0\r\n\r\n"}, []string{"Content-Length", "content-length"}},
		{"CL and an unknown coding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: foo, chunked\r\nContent-Length: 2\r\n\r\nok",
			"502", nil, []string{"foo"}},
		{"CL and a body to the close", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 2\r\n\r\nok",
			"502", nil, []string{"gzip"}},
		{"204 with CL", "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\nConnection: close\r\n\r\n",
			"204", nil, []string{"Content-Length", "content-length"}},
		{"304 with CL", "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\nContent-Length: 5\r\nConnection: close\r\n\r\n",
			"304", []string{"ETag: \"x\"\r\n"}, []string{"Content-Length", "content-length"}},
		{"chunked with a parameter", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked;x=1\r\n\r\n0\r\n\r\n",
			"502", nil, []string{"x=1"}},
		{"chunked in upper case", "HTTP/1.1 200 OK\r\nTransfer-Encoding:  Chunked\r\n\r\n0\r\n\r\n",
			"200", []string{"\r\ntransfer-encoding: chunked\r\n"}, []string{"Chunked"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, got := rawExchange(t, get, 0, tc.response)
			if !strings.HasPrefix(got, "HTTP/1.1 "+tc.status+" ") {
				t.Fatalf("status: %q, want %s", got, tc.status)
			}
			checkHas(t, "client got", got, tc.has, tc.hasNot)
		})
	}
}

// A chunked body refused for a bad size line has sent no chunk ahead of
// it that was not already whole and followed by nothing: framing that came
// with the head is checked before the head goes to a server, and a chunk
// whose next size line has begun to arrive waits for that line to be
// checked. A chunk that arrived whole on its own is streamed on at once,
// as HAProxy does: holding it for a line that may come much later would
// stall every streaming client.
func TestHTTPBadChunkSendsNoBodyAhead(t *testing.T) {
	const head = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
	type seen struct{ head, body string }
	for _, tc := range []struct {
		name       string
		parts      []string // written one after the other, the server having seen the head
		serverHead bool     // whether the head reaches the server at all
		body       string   // what of the body reaches it
	}{
		{"bad line with the head", []string{head + "5\r\nhello\r\nZZ\r\n"}, false, ""},
		{"bad line split after a chunk", []string{head + "5\r\nhello\r\n1", "Z\r\n"}, true, ""},
		{"bad line after a chunk that came alone", []string{head + "5\r\nhello\r\n", "1Z\r\n"}, true, "5\r\nhello\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := make(chan seen, 1)
			headIn := make(chan struct{}, 1)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			serve := func(c net.Conn) {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				br := bufio.NewReader(c)
				var s seen
				for {
					line, err := br.ReadString('\n')
					s.head += line
					if err != nil || line == "\r\n" {
						break
					}
				}
				// The body that must get through comes before the
				// next part is written.
				first := make([]byte, len(tc.body))
				io.ReadFull(br, first)
				headIn <- struct{}{}
				b, _ := io.ReadAll(br) // until fjord closes
				s.body = string(first) + string(b)
				got <- s
			}
			if tc.serverHead {
				go func() {
					if c, err := ln.Accept(); err == nil {
						serve(c)
					}
				}()
			}
			_, addr := startEngine(t, fmt.Sprintf("defaults\n  mode http\n  timeout connect 2s\n  timeout client 30s\n  timeout server 30s\nlisten px\n  bind 127.0.0.1:%d\n  server s %s\n", freePort(t), ln.Addr()))
			c := dial(t, addr)
			c.SetDeadline(time.Now().Add(10 * time.Second))
			for i, p := range tc.parts {
				if i > 0 {
					<-headIn
				}
				io.WriteString(c, p)
			}
			resp, _ := readResponse(t, bufio.NewReader(c), nil)
			if resp.StatusCode != 400 {
				t.Fatalf("status %d, want 400", resp.StatusCode)
			}
			if !tc.serverHead {
				// Had fjord connected to send the head, it would have
				// done so before answering: the connection would be
				// waiting in the listener's queue by now.
				ln.(*net.TCPListener).SetDeadline(time.Now().Add(20 * time.Millisecond))
				if c, err := ln.Accept(); err == nil {
					c.Close()
					t.Fatal("fjord connected to the server for a request refused for its body")
				}
				return
			}
			if s := <-got; s.body != tc.body {
				t.Errorf("the server got body bytes %q of a request refused with 400, want %q", s.body, tc.body)
			}
		})
	}
}

// A 2xx to CONNECT opens a tunnel: its framing fields, which RFC 9110
// §9.3.6 forbids, are dropped, and what follows is the tunnel's.
func TestHTTPConnectResponseLosesFraming(t *testing.T) {
	_, got := rawExchange(t, "CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n", 0,
		"HTTP/1.1 200 Connection established\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\ntunnel bytes")
	want := "HTTP/1.1 200 Connection established\r\n\r\ntunnel bytes"
	if got != want {
		t.Errorf("client got %q, want %q", got, want)
	}
}

// checkHas reports what of has is missing from got, and what of hasNot is
// in it.
func checkHas(t *testing.T, who, got string, has, hasNot []string) {
	t.Helper()
	for _, s := range has {
		if !strings.Contains(got, s) {
			t.Errorf("%s %q, without %q", who, got, s)
		}
	}
	for _, s := range hasNot {
		if strings.Contains(got, s) {
			t.Errorf("%s %q, with %q", who, got, s)
		}
	}
}
