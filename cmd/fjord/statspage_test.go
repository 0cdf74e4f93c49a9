package main

import (
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
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
	for _, tc := range []struct {
		fe, be, target string
		want           bool
	}{
		{"fe", "web", "/haproxy?stats", true},
		{"fe", "web", "/haproxy?stats;csv", true},
		{"fe", "web", "/", false},
		{"fe", "", "/haproxy?stats", false}, // not routed to the page's backend
		{"fe", "other", "/haproxy?stats", false},
	} {
		var req h1.Request
		if _, err := h1.ParseRequest([]byte("GET "+tc.target+" HTTP/1.1\r\nHost: x\r\n\r\n"), &req); err != nil {
			t.Fatal(err)
		}
		if got := ps.intercept(tc.fe, tc.be, &req).Serve != nil; got != tc.want {
			t.Errorf("%s/%s %s: intercepted %v, want %v", tc.fe, tc.be, tc.target, got, tc.want)
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
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	text := fmt.Sprintf(`global
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
  server s1 %s
  stats enable
  stats uri /stats
  stats auth admin:pw
`, port, web.Listener.Addr())
	cfg, err := config.Parse("t.cfg", []byte(text), config.Options{Resolver: config.NoResolver})
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
	defer e.Stop()
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
