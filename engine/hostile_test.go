package engine

import (
	"bufio"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
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
