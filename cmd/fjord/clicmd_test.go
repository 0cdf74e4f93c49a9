package main

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fjordlb/fjord/balancer"
	"github.com/fjordlb/fjord/config"
	"github.com/fjordlb/fjord/stats"
)

// cliSocket serves a real runtime API, level admin, for a proxy "web" with
// servers web01 (weight 10) and web02, on a socket in a temporary
// directory, and returns its path and the backends.
func cliSocket(t *testing.T, statsTimeout time.Duration) (string, map[string]*balancer.Backend) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "api.sock")
	text := "global\n  stats socket " + path + " level admin\n" +
		"listen web\n  bind 127.0.0.1:1\n  server web01 127.0.0.1:2 weight 10\n  server web02 127.0.0.1:3\n"
	cfg, err := config.Parse("cli.cfg", []byte(text), config.Options{Resolver: config.NoResolver})
	if err != nil {
		t.Fatal(err)
	}
	if statsTimeout != 0 {
		cfg.Global.StatsTimeout = statsTimeout
	}
	backends := map[string]*balancer.Backend{}
	for _, px := range cfg.Backends() {
		backends[px.Name] = balancer.New(px)
	}
	src := &stats.Sources{Config: cfg, Backends: backends, Started: time.Now(), Version: "test"}
	s, err := stats.ListenSocket(src, cfg.Global.StatsSockets[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return path, backends
}

func TestCLI(t *testing.T) {
	path, backends := cliSocket(t, time.Hour)
	notSocket := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notSocket, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		args       []string // after "cli"; "SOCK" is the socket's path
		stdin      string
		code       int
		stdout     string // exact, unless empty
		stdoutHas  string
		stderrHas  string
		afterwards func(t *testing.T)
	}{
		{"a command from its words", []string{"SOCK", "get", "weight", "web/web01"}, "", 0, "10 (initial 10)\n\n", "", "", nil},
		{"several commands on one line", []string{"SOCK", "get weight web/web01;get weight web/web02"}, "", 0,
			"10 (initial 10)\n\n1 (initial 1)\n\n", "", "", nil},
		{"stdin's lines, every answer", []string{"SOCK"}, "set weight web/web01 20\nget weight web/web01\nget weight web/web02\n", 0,
			"\n20 (initial 10)\n\n1 (initial 1)\n\n", "", "", func(t *testing.T) {
				if w := backends["web"].Server("web01").Weight(); w != 20 {
					t.Errorf("web01 weight %d, want 20", w)
				}
				backends["web"].Server("web01").SetWeight(10)
			}},
		{"stdin's last line without a newline", []string{"SOCK"}, "get weight web/web02\nget weight web/web01", 0,
			"1 (initial 1)\n\n10 (initial 10)\n\n", "", "", nil},
		{"empty stdin", []string{"SOCK"}, "", 0, "", "", "", nil},
		{"the words go as one line, not stdin", []string{"SOCK", "show", "info"}, "disable server web/web01\n", 0, "", "Name: fjord\n", "",
			func(t *testing.T) {
				if backends["web"].Server("web01").Admin() != balancer.Ready {
					t.Error("stdin was sent")
				}
			}},
		{"show stat json", []string{"SOCK", "show", "stat", "json"}, "", 0, "", `"svname":"web02"`, "", nil},
		{"an answer that is an error still exits 0", []string{"SOCK", "frobnicate"}, "", 0, "", "Unknown command: 'frobnicate'", "", nil},
		{"a line too long", []string{"SOCK", strings.Repeat("x", 5000)}, "", 1, "Line too long: at most 4096 bytes per command line.\n\n", "",
			`line 1 of the input (5000 bytes) was refused ("Line too long: at most 4096 bytes per command line."): it and the lines after it were not run`, nil},
		{"a line too long among others", []string{"SOCK"}, "get weight web/web01\r\n" + strings.Repeat("x", 4097) + "\r\nget weight web/web02\n", 1,
			"10 (initial 10)\n\nLine too long: at most 4096 bytes per command line.\n\n", "", "line 2 of the input (4097 bytes) was refused", nil},
		{"a line at the limit is no refusal", []string{"SOCK"}, "get weight web/web01" + strings.Repeat(" ", 4096-20) + "\r\n", 0,
			"10 (initial 10)\n\n", "", "", nil},
		{"too many commands", []string{"SOCK"}, strings.Repeat("get weight web/web02\n", 10001), 1, "",
			"1 (initial 1)\n\nToo many commands on one connection (at most 10000): connect again.\n\n",
			`the rest of the input was refused ("Too many commands on one connection (at most 10000): connect again."): the commands from there on were not run; send them in parts`, nil},
		{"no socket", nil, "", 2, "", "", "usage: fjord cli SOCKET", nil},
		{"help", []string{"-h"}, "", 0, "", "", "usage: fjord cli SOCKET", nil},
		{"a socket that does not exist", []string{"/nonexistent/fjord.sock", "show", "info"}, "", 1, "", "",
			"cannot connect to the runtime API at /nonexistent/fjord.sock: ", nil},
		{"a file that is not a socket", []string{notSocket, "show", "info"}, "", 1, "", "", "cannot connect to the runtime API at " + notSocket, nil},
		{"a file that is not a socket is named so", []string{notSocket}, "", 1, "", "", ": not a socket", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := make([]string, len(tt.args))
			for i, a := range tt.args {
				args[i] = strings.ReplaceAll(a, "SOCK", path)
			}
			var stdout, stderr bytes.Buffer
			code := runCLI(args, strings.NewReader(tt.stdin), &stdout, &stderr)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr %q", code, tt.code, stderr.String())
			}
			if tt.stdout != "" && stdout.String() != tt.stdout {
				t.Errorf("stdout %q, want %q", stdout.String(), tt.stdout)
			}
			if tt.stdout == "" && tt.stdoutHas == "" && stdout.Len() != 0 {
				t.Errorf("stdout %q, want nothing", stdout.String())
			}
			if !strings.Contains(stdout.String(), tt.stdoutHas) {
				t.Errorf("stdout %q lacks %q", stdout.String(), tt.stdoutHas)
			}
			if !strings.Contains(stderr.String(), tt.stderrHas) || (tt.stderrHas == "" && stderr.Len() != 0) {
				t.Errorf("stderr %q, want %q", stderr.String(), tt.stderrHas)
			}
			if tt.afterwards != nil {
				tt.afterwards(t)
			}
		})
	}
}

// 'fjord cli' is wired as a subcommand of the binary.
func TestCLIFromTheCommandLine(t *testing.T) {
	path, _ := cliSocket(t, 0)
	var stdout, stderr bytes.Buffer
	if code := run([]string{"cli", path, "get", "weight", "web/web01"}, &stdout, &stderr); code != 0 || stdout.String() != "10 (initial 10)\n\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
	stdout.Reset()
	stderr.Reset()
	if code := run([]string{"-h"}, &stdout, &stderr); code != 0 || !strings.Contains(stderr.String(), "fjord cli SOCKET [COMMAND...]") {
		t.Fatalf("fjord -h: exit %d, %q", code, stderr.String())
	}
}

// notifyBuffer is a bytes.Buffer safe for one writer and one reader that
// lets the reader wait until what was written satisfies a condition.
type notifyBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	written chan struct{}
}

func newNotifyBuffer() *notifyBuffer { return &notifyBuffer{written: make(chan struct{}, 1)} }

func (n *notifyBuffer) Write(p []byte) (int, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	select {
	case n.written <- struct{}{}:
	default:
	}
	return n.b.Write(p)
}

func (n *notifyBuffer) String() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.b.String()
}

// waitFor waits until the buffer satisfies ok, or fails the test after a
// bound only a hung client reaches.
func (n *notifyBuffer) waitFor(t *testing.T, what string, ok func(string) bool) {
	t.Helper()
	limit := time.After(30 * time.Second)
	for !ok(n.String()) {
		select {
		case <-n.written:
		case <-limit:
			t.Fatalf("waiting for %s; have %q", what, n.String())
		}
	}
}

// At a terminal, the cli enters prompt mode: commands typed one by one
// are answered one by one, each answer followed by the prompt, until
// "quit", the end of input, or the server closes the connection.
func TestCLIInteractive(t *testing.T) {
	for _, tt := range []struct {
		name         string
		statsTimeout time.Duration
		end          func(w io.WriteCloser) // after the exchange; nil: let the server time out
		wantErr      string
		wantTail     string
	}{
		{"quit ends it", time.Hour, func(w io.WriteCloser) { io.WriteString(w, "quit\n") }, "", "> \n"},
		{"the end of input ends it", time.Hour, func(w io.WriteCloser) { w.Close() }, "", "> \n"},
		{"a server that times out is reported", 50 * time.Millisecond, nil, "stats timeout", "\n"},
		{"a refused line is reported", time.Hour, func(w io.WriteCloser) { io.WriteString(w, strings.Repeat("x", 5000)+"\n") },
			`a line was refused ("Line too long: at most 4096 bytes per command line."): it and the lines after it were not run`,
			"> Line too long: at most 4096 bytes per command line.\n\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path, backends := cliSocket(t, tt.statsTimeout)
			c, err := dialAPI(path)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			stdinR, stdinW := io.Pipe()
			defer stdinW.Close()
			out := newNotifyBuffer()
			done := make(chan error, 1)
			go func() { done <- cliInteractive(c, stdinR, out) }()

			out.waitFor(t, "the first prompt", func(s string) bool { return strings.HasPrefix(s, "\n> ") })
			if tt.end != nil {
				for _, w := range []string{"7", "8"} {
					io.WriteString(stdinW, "set weight web/web01 "+w+";get weight web/web01\n")
					want := "\n> " + w + " (initial 10)\n\n> "
					out.waitFor(t, "the answer for weight "+w, func(s string) bool { return strings.HasSuffix(s, want) })
				}
				tt.end(stdinW)
			}
			var err2 error
			select {
			case err2 = <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("the cli did not end")
			}
			if tt.wantErr == "" && err2 != nil || tt.wantErr != "" && (err2 == nil || !strings.Contains(err2.Error(), tt.wantErr)) {
				t.Fatalf("error %v, want %q", err2, tt.wantErr)
			}
			if !strings.HasSuffix(out.String(), tt.wantTail) {
				t.Errorf("output %q does not end with %q", out.String(), tt.wantTail)
			}
			if tt.end != nil {
				if w := backends["web"].Server("web01").Weight(); w != 8 {
					t.Errorf("weight %d, want 8", w)
				}
			}
		})
	}
}

func TestCLIDialErrorsSayWhy(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, "stale.sock")
	ln, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close() // the file stays, nothing serves it
	for _, tt := range []struct {
		name, path, want string
	}{
		{"missing", filepath.Join(dir, "none.sock"), "is fjord running with 'stats socket " + filepath.Join(dir, "none.sock") + "' in its global section?"},
		{"nothing serves it", stale, "nothing serves it"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := dialAPI(tt.path)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), tt.path) {
				t.Fatalf("%v, want the path and %q", err, tt.want)
			}
		})
	}
}

// openPTY opens a pseudo-terminal pair, or skips the test where the
// system has none.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Skipf("unlocking the pseudo-terminal: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Skipf("naming the pseudo-terminal: %v", err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("opening the pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return m, s
}

func TestIsTerminal(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	_, pty := openPTY(t)
	for _, tt := range []struct {
		name string
		in   io.Reader
		want bool
	}{
		{"a reader", strings.NewReader("show stat\n"), false},
		{"a pipe", r, false},
		{"a terminal", pty, true},
	} {
		if got := isTerminal(tt.in); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

// Only a last answer that is one of the server's refusals is an error,
// however the answers arrive and however long they are.
func TestCLIRecognisesRefusals(t *testing.T) {
	tooLong := "Line too long: at most 4096 bytes per command line.\n\n"
	tooMany := "Too many commands on one connection (at most 10000): connect again.\n\n"
	for _, tt := range []struct {
		name    string
		answers string
		refused bool
	}{
		{"no answer", "", false},
		{"an ordinary error", "Unknown command: 'frobnicate'. Please enter one of the following commands only :\n  help\n\n", false},
		{"an error that quotes the words", "Unknown command: 'Line too long:'\n\n", false},
		{"a refusal alone", tooLong, true},
		{"a refusal after answers longer than the tail", strings.Repeat("web,web01,0,0\n", 1000) + "\n" + tooMany, true},
		{"an answer longer than the tail", strings.Repeat("web,web01,0,0\n", 1000) + "\n", false},
		{"a refusal at the prompt", "\n> 10 (initial 10)\n\n> " + tooLong, true},
		{"a refusal then a prompt is no last answer", tooLong + "> ", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, chunk := range []int{1, 7, 4096} {
				w := &tailWriter{w: io.Discard}
				for rest := tt.answers; rest != ""; {
					n := min(chunk, len(rest))
					w.Write([]byte(rest[:n]))
					rest = rest[n:]
				}
				if err := w.refusal(""); (err != nil) != tt.refused {
					t.Errorf("in writes of %d bytes: %v, want refused %v", chunk, err, tt.refused)
				}
			}
		})
	}
}

// A server that closes before it has read every command (fjord does when
// the rest comes later than its grace) did not run the rest: the cli
// says so and fails, unless the input asked to quit. The server here
// answers the first line and closes, whatever follows: leaving the rest
// unread (the client is reset, as fjord does) or discarding what came
// before the close (the client's later writes fail, and it reads an end
// of file).
func TestCLIServerClosingEarlyIsAnError(t *testing.T) {
	more := strings.Repeat("get weight web/web01\n", 200000) // more than the socket buffers hold
	for _, tt := range []struct {
		name, input string
		discard     bool
		wantErr     string
	}{
		{"commands not read", "show info\n" + more, false, "those after the last answer were not run"},
		{"commands discarded", "show info\n" + more, true, "those after the last answer were not run"},
		{"commands after quit", "quit\n" + more, false, ""},
		{"commands after quit among others", "show info;quit\n" + more, false, ""},
		{"commands after quit, discarded", "quit\n" + more, true, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "early.sock")
			ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			go func() {
				c, err := ln.AcceptUnix()
				if err != nil {
					return
				}
				defer c.Close()
				if _, err := bufio.NewReader(c).ReadString('\n'); err == nil {
					io.WriteString(c, "answer\n\n")
				}
				c.CloseRead()
				if tt.discard {
					io.Copy(io.Discard, c) // what came before the shutdown
				}
			}()
			c, err := dialAPI(path)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			var stdout bytes.Buffer
			err = cliExchange(c, tt.input, &stdout)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
			if stdout.String() != "answer\n\n" {
				t.Errorf("stdout %q", stdout.String())
			}
		})
	}
}
