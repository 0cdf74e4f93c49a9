package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fjordlb/fjord/config"
)

// TestServeLogs runs fjord with a syslog target and a file target under
// log-anonymize: proxy start and stop events, one tcplog line per
// connection with the client's address truncated, SIGUSR2 reopening the
// file after an external rotation, and stderr scrubbed of client addresses.
func TestServeLogs(t *testing.T) {
	backend := echoBackend(t)
	syslog, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer syslog.Close()
	lines := make(chan string, 100)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, _, err := syslog.ReadFrom(buf)
			if err != nil {
				return
			}
			lines <- string(buf[:n])
		}
	}()
	next := func() string {
		t.Helper()
		select {
		case l := <-lines:
			return l
		case <-time.After(5 * time.Second):
			t.Fatal("no syslog line within 5 s")
		}
		return ""
	}
	fe, _ := net.Listen("tcp", "127.0.0.1:0")
	feAddr := fe.Addr().String()
	fe.Close()
	dir := t.TempDir()
	logFile := filepath.Join(dir, "fjord.log")
	cfg := filepath.Join(dir, "logs.cfg")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`global
  log %s local0
  log %s
  log-anonymize
defaults
  mode tcp
  log global
  option tcplog
  timeout connect 1s
  timeout client 5s
  timeout server 5s
listen px
  bind %s
  server s1 %s
`, syslog.LocalAddr(), logFile, feAddr, backend.Addr())), 0o644)

	cmd := fjordCmd(t, "-db", "-f", cfg)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var mu sync.Mutex
	var errText strings.Builder
	reopened := make(chan struct{}, 1)
	listening := make(chan struct{}, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			mu.Lock()
			errText.WriteString(sc.Text() + "\n")
			mu.Unlock()
			switch {
			case strings.Contains(sc.Text(), "listening on"):
				listening <- struct{}{}
			case strings.Contains(sc.Text(), "log files reopened"):
				reopened <- struct{}{}
			}
		}
	}()
	select {
	case <-listening:
	case <-time.After(10 * time.Second):
		t.Fatal("fjord did not start")
	}
	if l := next(); !regexp.MustCompile(`^<133>.* fjord\[\d+\]: Proxy px started\.\n$`).MatchString(l) {
		t.Errorf("start event %q", l)
	}
	ping := func() {
		c, err := net.DialTimeout("tcp", feAddr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		c.Write([]byte("ping"))
		c.(*net.TCPConn).CloseWrite()
		io.ReadAll(c)
		c.Close()
	}
	ping()
	tcpLine := regexp.MustCompile(`^<134>.* fjord\[\d+\]: 127\.0\.0\.0:\d+ \[[^]]+\] px px/s1 \d+/\d+/\d+ 4 -- \d+/\d+/\d+/\d+/0 0/0\n$`)
	if l := next(); !tcpLine.MatchString(l) {
		t.Errorf("tcplog line %q", l)
	}
	// The writer serves the targets in turn: the line may have reached
	// syslog before the file.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if b, _ := os.ReadFile(logFile); strings.Contains(string(b), " px px/s1 ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the tcplog line did not reach the file within 5 s")
		}
	}
	// An external logrotate moves the file, then sends SIGUSR2.
	if err := os.Rename(logFile, logFile+".1"); err != nil {
		t.Fatal(err)
	}
	cmd.Process.Signal(syscall.SIGUSR2)
	select {
	case <-reopened:
	case <-time.After(5 * time.Second):
		t.Fatal("no reopen after SIGUSR2")
	}
	ping()
	next()
	cmd.Process.Signal(syscall.SIGTERM)
	if l := next(); !strings.Contains(l, "Proxy px stopped (FE: 2 conns, BE: 2 conns).") {
		t.Errorf("stop event %q", l)
	}
	cmd.Wait()
	old, _ := os.ReadFile(logFile + ".1")
	cur, _ := os.ReadFile(logFile)
	if !strings.Contains(string(old), "Proxy px started.") || strings.Count(string(old), " px px/s1 ") != 1 {
		t.Errorf("rotated file:\n%s", old)
	}
	if strings.Count(string(cur), " px px/s1 ") != 1 || !strings.Contains(string(cur), "Proxy px stopped") {
		t.Errorf("reopened file:\n%s", cur)
	}
	for _, text := range []string{string(old), string(cur)} {
		if regexp.MustCompile(`127\.0\.0\.1:\d+ \[`).MatchString(text) {
			t.Errorf("a log line holds the client's address:\n%s", text)
		}
	}
}

func TestScrubWriter(t *testing.T) {
	cfgText := "global\n  log-anonymize\ndefaults\n  mode tcp\nlisten px\n  bind 127.0.0.1:1\n  server s 127.0.0.1:2\n"
	cfg := filepath.Join(t.TempDir(), "a.cfg")
	os.WriteFile(cfg, []byte(cfgText), 0o644)
	c, ok := load([]string{cfg}, config.Options{}, io.Discard)
	if !ok {
		t.Fatal("config")
	}
	var out strings.Builder
	l, err := openLogs(c, &out, false)
	if err != nil {
		t.Fatal(err)
	}
	defer l.targets.Close()
	l.Printf("frontend www: client %s: 400: bad", "192.0.2.77:40000")
	l.plain.Printf("listening on %s", "192.0.2.1:80")
	if s := out.String(); strings.Contains(s, "192.0.2.77") || !strings.Contains(s, "client 192.0.2.0:40000") || !strings.Contains(s, "listening on 192.0.2.1:80") {
		t.Errorf("stderr:\n%s", s)
	}
}
