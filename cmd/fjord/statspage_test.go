package main

import (
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fjordlb/fjord/balancer"
	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/engine"
	"github.com/fjordlb/fjord/engine/h1"
	"github.com/fjordlb/fjord/stats"
)

// The seed's template declares its stats page in a backend: requests routed
// there for the stats URI go to the page, others to the servers.
func TestStatsPageIntercept(t *testing.T) {
	cfg, err := config.Parse("t.cfg", []byte(`defaults
  mode http
frontend fe
  bind 127.0.0.1:1
  default_backend web
backend web
  server s1 127.0.0.1:2
  stats enable
  stats uri /haproxy?stats
  stats auth admin:pw
`), config.Options{Resolver: config.NoResolver})
	if err != nil {
		t.Fatal(err)
	}
	backends := map[string]*balancer.Backend{}
	for _, px := range cfg.Backends() {
		backends[px.Name] = balancer.New(px)
	}
	src := &stats.Sources{Config: cfg, Backends: backends, Started: time.Now()}
	ps := statsPages(src, cfg, log.New(io.Discard, "", 0))
	const good = "Basic YWRtaW46cHc=" // admin:pw
	for _, tc := range []struct {
		fe, be, target, auth string
		want                 string // "page", "401", or "" (not claimed)
	}{
		{"fe", "web", "/haproxy?stats", good, "page"},
		{"fe", "web", "/haproxy?stats;csv", good, "page"},
		{"fe", "web", "/haproxy?stats", "", "401"},
		{"fe", "web", "/haproxy?stats", "Basic YWRtaW46eA==", "401"}, // admin:x
		{"fe", "web", "/", "", ""},
		{"fe", "", "/haproxy?stats", good, ""}, // not routed to the page's backend
		{"fe", "other", "/haproxy?stats", good, ""},
	} {
		head := "GET " + tc.target + " HTTP/1.1\r\nHost: x\r\n"
		if tc.auth != "" {
			head += "Authorization: " + tc.auth + "\r\n"
		}
		var req h1.Request
		if _, err := h1.ParseRequest([]byte(head+"\r\n"), &req); err != nil {
			t.Fatal(err)
		}
		got := ""
		switch ans := ps.intercept(tc.fe, tc.be, &req); {
		case ans.Serve != nil:
			got = "page"
		case ans.Reply != nil:
			got = fmt.Sprint(ans.Status)
			if !strings.HasPrefix(string(ans.Reply), "HTTP/1.1 401 ") || !strings.Contains(string(ans.Reply), `WWW-Authenticate: Basic realm="HAProxy Statistics"`) {
				t.Errorf("%s: reply %q", tc.target, ans.Reply)
			}
			if string(ans.Authenticate) != `Basic realm="HAProxy Statistics"` {
				t.Errorf("%s: Authenticate %q", tc.target, ans.Authenticate)
			}
		}
		if got != tc.want {
			t.Errorf("%s/%s %s (auth %q): %q, want %q", tc.fe, tc.be, tc.target, tc.auth, got, tc.want)
		}
	}
}

// Fifty concurrent page loads while traffic flows through the same
// frontend: every proxied request is still answered correctly, and every
// page load gets its page.
func TestStatsPageUnderTraffic(t *testing.T) {
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "web:"+r.URL.Path)
	}))
	defer web.Close()
	port := startPageEngine(t, `global
  nbthread 2
defaults
  mode http
  timeout connect 1s
  timeout client 10s
  timeout server 10s
frontend fe
  bind 127.0.0.1:%d
  default_backend web
backend web
  server s1 `+web.Listener.Addr().String()+`
  stats enable
  stats uri /stats
  stats auth admin:pw
`)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := 0; i < 50; i++ {
		wg.Add(2)
		go func() { // a page load
			defer wg.Done()
			req, _ := http.NewRequest("GET", base+"/stats", nil)
			req.SetBasicAuth("admin", "pw")
			resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
			if err != nil {
				errs <- err
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.Contains(string(b), "<html") {
				errs <- fmt.Errorf("page: %d", resp.StatusCode)
			}
		}()
		go func() { // traffic on a keep-alive client
			defer wg.Done()
			client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}
			defer client.CloseIdleConnections()
			for j := 0; j < 10; j++ {
				resp, err := client.Get(fmt.Sprintf("%s/p%d", base, j))
				if err != nil {
					errs <- err
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if string(b) != fmt.Sprintf("web:/p%d", j) {
					errs <- fmt.Errorf("traffic: got %q", b)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// startPageEngine runs the engine with the stats pages wired as serve
// wires them, on cfgText with its one %d replaced by a free port, until
// the test ends. It returns the port.
func startPageEngine(t *testing.T, cfgText string) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cfg, err := config.Parse("t.cfg", []byte(fmt.Sprintf(cfgText, port)), config.Options{Resolver: config.NoResolver})
	if err != nil {
		t.Fatal(err)
	}
	backends := map[string]*balancer.Backend{}
	for _, px := range cfg.Backends() {
		backends[px.Name] = balancer.New(px)
	}
	src := &stats.Sources{Config: cfg, Backends: backends, Started: time.Now()}
	ps := statsPages(src, cfg, log.New(io.Discard, "", 0))
	e, err := engine.New(cfg, engine.Options{Backends: backends, Intercept: ps.intercept})
	if err != nil {
		t.Fatal(err)
	}
	src.Frontends = e.FrontendCounters
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Stop)
	return port
}

// With an "errorfile 401", a request without credentials gets that page
// with the page's challenge, as HAProxy answers "stats auth".
func TestStatsPageAuthWithErrorfile(t *testing.T) {
	page := filepath.Join(t.TempDir(), "401.http")
	const file = "HTTP/1.1 401 Unauthorized\r\nContent-Type: text/plain\r\nContent-Length: 8\r\n\r\nwho are\n"
	if err := os.WriteFile(page, []byte(file), 0o644); err != nil {
		t.Fatal(err)
	}
	port := startPageEngine(t, `defaults
  mode http
  timeout client 10s
frontend fe
  bind 127.0.0.1:%d
  errorfile 401 `+page+`
  stats enable
  stats uri /stats
  stats realm Ops
  stats auth admin:pw
`)
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "GET /stats HTTP/1.1\r\nHost: x\r\n\r\n")
	// The request was read whole: the connection is kept, as HAProxy
	// keeps it after its stats page's 401.
	const want = "HTTP/1.1 401 Unauthorized\r\nContent-Type: text/plain\r\nContent-Length: 8\r\n" +
		"WWW-Authenticate: Basic realm=\"Ops\"\r\n\r\nwho are\n"
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != want {
		t.Fatalf("got %q (%v), want %q", got, err, want)
	}
}

// A request for the stats page without credentials is refused on its
// head: a POST that announces a body and never sends it gets its 401 at
// once, not after "timeout http-request", and an authorised one still
// reaches the page.
func TestStatsPageAuthOnHead(t *testing.T) {
	port := startPageEngine(t, `defaults
  mode http
  timeout client 1m
  timeout http-request 1m
frontend fe
  bind 127.0.0.1:%d
  stats enable
  stats uri /stats
  stats auth admin:pw
  stats admin if TRUE
`)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for _, tc := range []struct {
		name, auth string
		want       string
	}{
		{"no credentials", "", "HTTP/1.1 401 Unauthorized\r\n"},
		{"wrong password", "Authorization: Basic YWRtaW46eA==\r\n", "HTTP/1.1 401 Unauthorized\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			fmt.Fprintf(c, "POST /stats HTTP/1.1\r\nHost: x\r\n%sContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 50000\r\n\r\n", tc.auth)
			// Well inside the minute the page's own reader would wait.
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			got, err := io.ReadAll(c)
			if err != nil || !strings.HasPrefix(string(got), tc.want) || !strings.Contains(string(got), "WWW-Authenticate: Basic realm=") {
				t.Fatalf("answer %q, %v; want %q at once", got, err, tc.want)
			}
		})
	}
	// With credentials, the page reads the form and answers it.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const form = "s=x&action=ready&b=nope"
	fmt.Fprintf(c, "POST /stats HTTP/1.1\r\nHost: x\r\nAuthorization: Basic YWRtaW46cHc=\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n%s", len(form), form)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, _ := io.ReadAll(c)
	if strings.HasPrefix(string(got), "HTTP/1.1 401") || !strings.HasPrefix(string(got), "HTTP/1.1 ") {
		t.Fatalf("authorised POST: %q", got)
	}
}
