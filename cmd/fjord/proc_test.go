package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Helpers for the process-life tests: fjord runs as a subprocess (the test
// binary itself, see TestMain) and may start more processes of its own
// (daemon mode, reloads), which the tests find by their pidfile or by
// their systemd notifications.

// procLog collects the lines written to a pipe shared by fjord and every
// process it starts.
type procLog struct {
	mu    sync.Mutex
	cond  *sync.Cond
	lines []string
	eof   bool
}

// stderrLog gives cmd a stderr pipe whose lines the test can wait for.
func stderrLog(t *testing.T, cmd *exec.Cmd) *procLog {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = w // closed by the caller once the process started
	pl := &procLog{}
	pl.cond = sync.NewCond(&pl.mu)
	go func() {
		defer r.Close()
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			pl.mu.Lock()
			pl.lines = append(pl.lines, sc.Text())
			pl.cond.Broadcast()
			pl.mu.Unlock()
		}
		pl.mu.Lock()
		pl.eof = true
		pl.cond.Broadcast()
		pl.mu.Unlock()
	}()
	return pl
}

// wait returns the first line from the from-th on that contains substr,
// and its index, failing the test when none came within the bound.
func (pl *procLog) wait(t *testing.T, from int, substr string, within time.Duration) (int, string) {
	t.Helper()
	timer := time.AfterFunc(within, func() {
		pl.mu.Lock()
		pl.cond.Broadcast()
		pl.mu.Unlock()
	})
	defer timer.Stop()
	deadline := time.Now().Add(within)
	pl.mu.Lock()
	defer pl.mu.Unlock()
	for i := from; ; {
		for ; i < len(pl.lines); i++ {
			if strings.Contains(pl.lines[i], substr) {
				return i, pl.lines[i]
			}
		}
		if pl.eof || !time.Now().Before(deadline) {
			t.Fatalf("no line with %q within %v; output:\n%s", substr, within, strings.Join(pl.lines, "\n"))
		}
		pl.cond.Wait()
	}
}

func (pl *procLog) String() string {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	return strings.Join(pl.lines, "\n")
}

func (pl *procLog) len() int {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	return len(pl.lines)
}

// alive reports whether pid runs (a zombie has ended).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// pid (comm) STATE ...: comm may hold spaces, the state follows the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && i+2 < len(s) && s[i+2] != 'Z' && s[i+2] != 'X'
}

// waitExit waits until pid no longer runs.
func waitExit(t *testing.T, pid int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still runs after %v", pid, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// killAtEnd makes sure pid does not outlive the test.
func killAtEnd(t *testing.T, pid int) {
	t.Cleanup(func() {
		if alive(pid) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
}

// fjordProc is a fjord subprocess, its output, and its exit status once
// it exited (the channel is closed then).
type fjordProc struct {
	cmd     *exec.Cmd
	log     *procLog
	exited  chan struct{}
	waitErr error
}

// startFjord starts fjord with args and extra environment and kills it
// when the test ends.
func startFjord(t *testing.T, env []string, args ...string) *fjordProc {
	t.Helper()
	return startFjordAt(t, os.Args[0], env, args...)
}

// startFjordAt is startFjord with the test binary at exe (a copy of it).
func startFjordAt(t *testing.T, exe string, env []string, args ...string) *fjordProc {
	t.Helper()
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), "FJORD_TEST_MAIN=1")
	cmd.Env = append(cmd.Env, env...)
	return startFjordCmd(t, cmd)
}

// startFjordCmd starts cmd, a fjord command line prepared by the caller
// (with ExtraFiles, say), as startFjord does.
func startFjordCmd(t *testing.T, cmd *exec.Cmd) *fjordProc {
	t.Helper()
	pl := stderrLog(t, cmd)
	err := cmd.Start()
	cmd.Stderr.(*os.File).Close()
	if err != nil {
		t.Fatal(err)
	}
	fp := &fjordProc{cmd: cmd, log: pl, exited: make(chan struct{})}
	go func() { fp.waitErr = cmd.Wait(); close(fp.exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-fp.exited
	})
	return fp
}

func (fp *fjordProc) pid() int { return fp.cmd.Process.Pid }

func readPID(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("pidfile %s: %q", path, b)
	}
	return pid
}

// bigBody is the deterministic content of /big.
func bigBody(size int) []byte {
	b := make([]byte, size)
	var x uint32 = 2463534242
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// testBackend serves "ok" on /, a large body on /big and, on /slow, waits
// for release before answering.
type testBackend struct {
	addr    string
	big     []byte
	bigSum  [32]byte
	release chan struct{}
	slowIn  chan struct{} // a /slow request arrived
}

func startBackend(t *testing.T, bigSize int) *testBackend {
	t.Helper()
	be := &testBackend{release: make(chan struct{}), slowIn: make(chan struct{}, 16)}
	if bigSize > 0 {
		be.big = bigBody(bigSize)
		be.bigSum = sha256.Sum256(be.big)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	be.addr = ln.Addr().String()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/big":
			w.Header().Set("Content-Length", strconv.Itoa(len(be.big)))
			io.Copy(w, bytes.NewReader(be.big))
		case "/slow":
			be.slowIn <- struct{}{}
			select {
			case <-be.release:
			case <-r.Context().Done():
				return
			}
			io.WriteString(w, "slow ok")
		default:
			io.WriteString(w, "ok")
		}
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return be
}

// freeAddr returns a loopback address that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// httpConfig is fjord in mode http in front of backend.
func httpConfig(t *testing.T, dir, frontend, backend, global string) string {
	t.Helper()
	path := filepath.Join(dir, "fjord.cfg")
	writeConfig(t, path, frontend, backend, global)
	return path
}

func writeConfig(t *testing.T, path, frontend, backend, global string) {
	t.Helper()
	text := fmt.Sprintf(`global
  maxconn 200
%s
defaults
  mode http
  timeout connect 2s
  timeout client 60s
  timeout server 60s
  timeout http-keep-alive 30s
listen px
  bind %s
  server s1 %s
`, global, frontend, backend)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// get makes one request through c and checks the answer.
func get(c *http.Client, url, want string) error {
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s: body: %w", url, err)
	}
	if resp.StatusCode != 200 || string(body) != want {
		return fmt.Errorf("%s: %d %q", url, resp.StatusCode, body)
	}
	return nil
}

func itoa(n int) string { return strconv.Itoa(n) }

func listenOn(t *testing.T, addr string) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// withContext gives cmd a deadline: it is killed when ctx ends.
func withContext(ctx context.Context, cmd *exec.Cmd) *exec.Cmd {
	c := exec.CommandContext(ctx, cmd.Path, cmd.Args[1:]...)
	c.Env = cmd.Env
	return c
}
