package main

import (
	"io"
	"log"
	"testing"
	"time"

	"github.com/fjordlb/fjord/balancer"
	"github.com/fjordlb/fjord/config"
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
		if got := ps.intercept(tc.fe, tc.be, &req) != nil; got != tc.want {
			t.Errorf("%s/%s %s: intercepted %v, want %v", tc.fe, tc.be, tc.target, got, tc.want)
		}
	}
}
