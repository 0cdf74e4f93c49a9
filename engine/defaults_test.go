package engine

import (
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/fjordlb/fjord/config"
)

// The rules of a named defaults section run before the proxy's own, as one
// list: each sees what the earlier wrote, and an 'allow' among the
// defaults' rules ends the proxy's too (HAProxy's http_req_get_intercept_rule
// goes from the defaults' list to the proxy's only when nothing stopped).
func TestDefaultsHTTPRulesRunFirst(t *testing.T) {
	srv := headersNode(t)
	cfg := fmt.Sprintf(`defaults common
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
defaults def_fe from common
  http-request set-header x-order "%%[req.hdr(x-order)]d"
  http-request allow if { path /allow }
  http-response set-header x-resp "%%[res.hdr(x-resp)]d"
defaults def_be from common
  http-request set-header x-order "%%[req.hdr(x-order)]D"
  http-response set-header x-resp "%%[res.hdr(x-resp)]D"
frontend fe from def_fe
  bind 127.0.0.1:%d
  http-request set-header x-order "%%[req.hdr(x-order)]f"
  http-request deny if { path /allow }
  http-response set-header x-resp "%%[res.hdr(x-resp)]f"
  default_backend be
backend be from def_be
  http-request set-header x-order "%%[req.hdr(x-order)]b"
  http-response set-header x-resp "%%[res.hdr(x-resp)]b"
  server s1 %s
`, freePort(t), srv)
	_, addr := startEngine(t, cfg)
	for _, tc := range []struct{ path, order string }{
		// The frontend's defaults, the frontend, the backend's
		// defaults, the backend.
		{"/", "dfDb"},
		// The defaults' allow ends the frontend's rules: its
		// set-header and deny never run; the backend's still do.
		{"/allow", "dDb"},
	} {
		resp := ruleExchange(t, addr, "GET "+tc.path+" HTTP/1.1\r\nHost: a\r\n\r\n")[0]
		body := bodyOf(resp)
		if resp.StatusCode != 200 || !strings.Contains(body, "x-order: "+tc.order+"\n") {
			t.Errorf("%s: status %d, server saw\n%s\nwant x-order %q", tc.path, resp.StatusCode, body, tc.order)
		}
		// Responses: the backend's rules, then the frontend's, each
		// proxy's defaults first.
		if got := resp.Header.Get("X-Resp"); got != "Dbdf" {
			t.Errorf("%s: x-resp %q, want %q", tc.path, got, "Dbdf")
		}
	}
}

// tcp-request rules of a defaults section run before the frontend's: the
// defaults' accept lets a connection through that the frontend's own
// rules would reject.
func TestDefaultsTCPRulesRunFirst(t *testing.T) {
	echo := echoServer(t)
	text := fmt.Sprintf(`defaults plain
  timeout connect 2s
  timeout client 30s
  timeout server 30s
defaults lenient from plain
  tcp-request content accept
frontend from_defaults from lenient
  bind 127.0.0.1:%d
  tcp-request content reject
  default_backend be
frontend own_rules_only from plain
  bind 127.0.0.1:%d
  tcp-request content reject
  default_backend be
backend be from plain
  server s1 %s
`, freePort(t), freePort(t), echo)
	cfg, err := config.Parse("test.cfg", []byte(text), config.Options{Resolver: config.NoResolver})
	if err != nil {
		t.Fatal(err)
	}
	e, _ := startParsed(t, cfg, Options{})
	for _, tc := range []struct {
		frontend string
		echoed   bool
	}{{"from_defaults", true}, {"own_rules_only", false}} {
		c, err := net.Dial("tcp", e.Addr(proxyNamed(t, cfg, tc.frontend).Binds[0]).String())
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, "ping")
		c.(*net.TCPConn).CloseWrite()
		b, _ := io.ReadAll(c)
		c.Close()
		if got := string(b) == "ping"; got != tc.echoed {
			t.Errorf("%s: got %q back, want echoed %v", tc.frontend, b, tc.echoed)
		}
	}
}

func proxyNamed(t *testing.T, cfg *config.Config, name string) *config.Proxy {
	t.Helper()
	for _, px := range cfg.Proxies {
		if px.Name == name {
			return px
		}
	}
	t.Fatalf("no proxy %q", name)
	return nil
}
