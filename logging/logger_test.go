package logging

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/engine"
)

func parseCfg(t *testing.T, text string) *config.Config {
	t.Helper()
	cfg, err := config.Parse("t.cfg", []byte(text), config.Options{Resolver: config.NoResolver})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestProxyJSON: log-format-json in defaults makes the proxy's lines JSON
// on a plain file target; another proxy on the same file stays in
// HAProxy's format; the file is opened once.
func TestProxyJSON(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.log")
	cfg := parseCfg(t, `global
  log `+path+`
defaults
  mode http
  log global
  option httplog
  log-format-json
frontend j
  bind 127.0.0.1:1
  default_backend b
defaults
  mode http
  log global
  option httplog
frontend plain
  bind 127.0.0.1:2
  default_backend b
backend b
  server s 127.0.0.1:3
`)
	lg, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(lg.files) != 1 {
		t.Errorf("%d files opened for one path", len(lg.files))
	}
	r := record(engine.RecordHTTP, "GET / HTTP/1.1")
	lg.AccessLog(cfg.Proxies[0]).Log(r)
	lg.AccessLog(cfg.Proxies[1]).Log(r)
	lg.Close()
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("%q", b)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &m); err != nil || m["frontend"] != "http-in" {
		t.Errorf("first line not JSON: %s (%v)", lines[0], err)
	}
	if !strings.HasSuffix(lines[1], `200 2750 - - ---- 1/1/1/1/0 0/0 "GET / HTTP/1.1"`) {
		t.Errorf("second line %q", lines[1])
	}
}

// TestQueueFullDrops: with the writer stuck, records beyond the queue are
// dropped and counted, and Log never waits.
func TestQueueFullDrops(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	cfg := parseCfg(t, `defaults
  mode http
  option httplog
frontend f
  bind 127.0.0.1:1
  log stdout format raw daemon
  default_backend b
backend b
  server s 127.0.0.1:3
`)
	lg, err := New(cfg, Options{QueueLen: 16})
	if err != nil {
		t.Fatal(err)
	}
	// Point the stdout target at a pipe nobody reads, full already.
	for k := range lg.sinks {
		lg.sinks[k] = nopClose{w}
	}
	for _, tg := range lg.byName["f"].targets {
		tg.sink = nopClose{w}
	}
	fill := make([]byte, 1<<20)
	go w.Write(fill)
	time.Sleep(50 * time.Millisecond)
	rec := record(engine.RecordHTTP, "GET / HTTP/1.1")
	al := lg.AccessLog(cfg.Proxies[0])
	start := time.Now()
	for i := 0; i < 10000; i++ {
		al.Log(rec)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("10000 Log calls took %v", d)
	}
	if lg.Dropped() < 10000-16-2 {
		t.Errorf("dropped %d of 10000 with a queue of 16", lg.Dropped())
	}
	if lg.Close() {
		t.Error("Close reported a clean stop with the writer stuck")
	}
}

type flakySink struct {
	mu   sync.Mutex
	fail bool
	n    int
}

func (f *flakySink) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return 0, syscall.ENOSPC
	}
	f.n++
	return len(p), nil
}

func (f *flakySink) Close() error { return nil }

// TestTargetFailureReported: a failing target is reported once, with its
// "log" line, rests, and is reported again when it works.
func TestTargetFailureReported(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.log")
	cfg := parseCfg(t, "defaults\n  mode http\n  option httplog\nfrontend f\n  bind 127.0.0.1:1\n  log "+path+"\n  default_backend b\nbackend b\n  server s 127.0.0.1:3\n")
	clk := &fakeClock{t: time.Now()}
	msgs := make(chan string, 10)
	lg, err := New(cfg, Options{Now: clk.now, Report: func(m string) { msgs <- m }})
	if err != nil {
		t.Fatal(err)
	}
	defer lg.Close()
	fs := &flakySink{fail: true}
	lg.byName["f"].targets[0].sink = fs
	rec := record(engine.RecordHTTP, "GET / HTTP/1.1")
	al := lg.AccessLog(cfg.Proxies[0])
	for i := 0; i < 5; i++ {
		al.Log(rec)
	}
	select {
	case m := <-msgs:
		if !strings.Contains(m, path+" (t.cfg:6): no space left on device") {
			t.Errorf("report %q", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no report")
	}
	deadline := time.Now().Add(5 * time.Second)
	for n, _ := lg.WriteErrors(); n < 5; n, _ = lg.WriteErrors() {
		if time.Now().After(deadline) {
			t.Fatalf("%d lines counted lost of 5", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	fs.mu.Lock()
	fs.fail = false
	fs.mu.Unlock()
	clk.set(clk.now().Add(2 * time.Second)) // past the rest
	al.Log(rec)
	select {
	case m := <-msgs:
		if !strings.HasSuffix(m, "works again") {
			t.Errorf("report %q", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no recovery report")
	}
	if len(msgs) != 0 {
		t.Errorf("more reports: %q", <-msgs)
	}
}
