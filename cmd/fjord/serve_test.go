package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary act as fjord itself, so that serve tests
// run the real process (signals, exit code) without a separate build.
func TestMain(m *testing.M) {
	if os.Getenv("FJORD_TEST_MAIN") == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func fjordCmd(t *testing.T, args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "FJORD_TEST_MAIN=1")
	return cmd
}

func TestServeForwardsAndStopsOnSignal(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			backend := echoBackend(t)
			fe, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			feAddr := fe.Addr().String()
			fe.Close()
			cfg := filepath.Join(t.TempDir(), "tcp.cfg")
			os.WriteFile(cfg, []byte(fmt.Sprintf(`global
  maxconn 100
defaults
  mode tcp
  timeout connect 1s
  timeout client 5s
  timeout server 5s
frontend fe
  bind %s
  default_backend be
backend be
  server s1 %s
`, feAddr, backend.Addr())), 0o644)

			cmd := fjordCmd(t, "-db", "-f", cfg)
			stderr, _ := cmd.StderrPipe()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			sc := bufio.NewScanner(stderr)
			for sc.Scan() {
				if strings.Contains(sc.Text(), "listening on") {
					break
				}
			}
			go io.Copy(io.Discard, stderr)

			c, err := net.DialTimeout("tcp", feAddr, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			c.Write([]byte("ping"))
			buf := make([]byte, 4)
			if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
				t.Fatalf("echo through fjord: %q, %v", buf, err)
			}
			c.Close()

			cmd.Process.Signal(sig)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("fjord exited with %v after %v", err, sig)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("fjord did not stop after %v", sig)
			}
		})
	}
}

func TestServeBindErrorNamesAddress(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cfg := filepath.Join(t.TempDir(), "busy.cfg")
	os.WriteFile(cfg, []byte(fmt.Sprintf("defaults\n  mode tcp\nlisten px\n  bind %s\n  server s 127.0.0.1:9\n", busy.Addr())), 0o644)
	out, err := fjordCmd(t, "-f", cfg).CombinedOutput()
	if err == nil {
		t.Fatalf("fjord started on a busy address: %s", out)
	}
	if !strings.Contains(string(out), busy.Addr().String()) || !strings.Contains(string(out), "busy.cfg:4") {
		t.Fatalf("error does not name the address and line: %s", out)
	}
}

func TestNothingIsAnnouncedAsPending(t *testing.T) {
	// The address is taken, so fjord exits right after its warnings.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cfg := filepath.Join(t.TempDir(), "pending.cfg")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`global
  log 127.0.0.1 local0
  user nobody
defaults
  mode tcp
listen px
  bind %s
  server s1 127.0.0.1:2 check
`, busy.Addr())), 0o644)
	out, _ := fjordCmd(t, "-f", cfg).CombinedOutput()
	for _, notNow := range []string{"'log' targets", "privileges are not dropped", "health checks"} {
		if strings.Contains(string(out), notNow) {
			t.Errorf("%q works now, yet is announced as pending:\n%s", notNow, out)
		}
	}
}

// echoBackend is a tcp echo server on loopback, closed when the test ends.
func echoBackend(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	return ln
}

// TestAcceptPausesOutOfDescriptors: a process out of descriptors pauses
// its listener and retries, instead of spinning on accept4 and logging a
// line for every connection that arrives; it says so once, and accepts
// again when descriptors free up.
func TestAcceptPausesOutOfDescriptors(t *testing.T) {
	backend := startBackend(t, 0)
	feAddr := freeAddr(t)
	cfg := filepath.Join(t.TempDir(), "emfile.cfg")
	// ulimit-n leaves room for the runtime, the loop and a few sessions;
	// maxconn is far above it, so that only the descriptors run out.
	os.WriteFile(cfg, []byte(fmt.Sprintf(`global
  maxconn 1000
  nbthread 1
  ulimit-n 48
  tune.sysctl off
defaults
  mode http
  timeout connect 2s
  timeout client 1m
  timeout server 1m
  timeout http-request 1m
listen px
  bind %s
  server s1 %s
`, feAddr, backend.addr)), 0o644)
	fp := startFjord(t, nil, "-db", "-f", cfg)
	fp.log.wait(t, 0, "listening on", 10*time.Second)
	start := time.Now()

	// Idle clients, each holding a descriptor in fjord, until it runs out
	// and then some: those wait in the backlog.
	var idle []net.Conn
	defer func() {
		for _, c := range idle {
			c.Close()
		}
	}()
	for range 120 {
		c, err := net.DialTimeout("tcp", feAddr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		idle = append(idle, c)
	}
	_, line := fp.log.wait(t, 0, "accept4", 10*time.Second)
	// More connections keep arriving while it is out of descriptors.
	for range 200 {
		c, err := net.DialTimeout("tcp", feAddr, 5*time.Second)
		if err != nil {
			break // the backlog is full: the kernel refuses
		}
		idle = append(idle, c)
	}
	if !strings.Contains(line, "too many open files") || !strings.Contains(line, "RLIMIT_NOFILE 48") || !strings.Contains(line, "pausing this listener") {
		t.Errorf("the report does not say what ran out and what fjord does: %s", line)
	}

	// Descriptors free up: the listener accepts again, within its retry.
	for _, c := range idle {
		c.Close()
	}
	idle = nil
	c, err := net.DialTimeout("tcp", feAddr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	idle = append(idle, c)
	c.SetDeadline(time.Now().Add(20 * time.Second))
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("after descriptors freed up: %v, %v", resp, err)
	}
	// One report, and at most one more per 10 s the test took (a slow
	// run may run out of descriptors again while it accepts the backlog).
	if n, most := strings.Count(fp.log.String(), "accept4"), 1+int(time.Since(start)/(10*time.Second)); n < 1 || n > most {
		t.Errorf("%d reports of the listener pausing, want 1 to %d (rate limited):\n%s", n, most, fp.log)
	}
}
