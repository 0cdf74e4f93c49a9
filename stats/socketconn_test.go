package stats

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fjordlb/fjord/balancer"
	"github.com/fjordlb/fjord/config"
)

// dialAPI connects to the runtime API at path, with a deadline that only
// a server that never answers or never closes reaches.
func dialAPI(t *testing.T, path string) *net.UnixConn {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(30 * time.Second))
	return c.(*net.UnixConn)
}

// exchange sends input in one write, half-closes when asked, and reads
// until the server closes.
func exchange(t *testing.T, path, input string, halfClose bool) string {
	t.Helper()
	c := dialAPI(t, path)
	if _, err := io.WriteString(c, input); err != nil {
		t.Fatal(err)
	}
	if halfClose {
		c.CloseWrite()
	}
	out, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("%q: %v after %q", input, err, out)
	}
	return string(out)
}

func TestSocketConnection(t *testing.T) {
	tests := []struct {
		name      string
		input     string
		halfClose bool // without it, the server must close by itself
		want      string
		check     func(t *testing.T, src *Sources)
	}{
		{"several lines run in order", "disable server web/web01\ndisable server web/web02\n", true, "\n\n",
			func(t *testing.T, src *Sources) {
				for _, s := range src.Backends["web"].Servers {
					if s.Admin() != balancer.Maint {
						t.Errorf("%s is %v", s.Name, s.Admin())
					}
				}
			}},
		{"several lines, closed after the answers without a half-close", "set weight web/web01 20\nget weight web/web01\n", false, "\n20 (initial 10)\n\n", nil},
		// Lines of 32 bytes: every read of the server's 4096-byte reader
		// ends at the end of a line, so that the server must look at the
		// socket, not its reader, to see that more lines wait.
		{"more lines than the server's reader holds", strings.Repeat("get weight web/web01"+strings.Repeat(" ", 11)+"\n", 1000), false,
			strings.Repeat("10 (initial 10)\n\n", 1000), nil},
		{"lines and ';' together", "get weight web/web01;set weight web/web01 20\nget weight web/web01;get weight web/web02\n", false,
			"10 (initial 10)\n\n\n20 (initial 10)\n\n1 (initial 1)\n\n", nil},
		{"CRLF lines", "get weight web/web01\r\nget weight web/web02\r\n", false, "10 (initial 10)\n\n1 (initial 1)\n\n", nil},
		{"a last line without a newline runs at the end of input", "get weight web/web01\nget weight web/web02", true,
			"10 (initial 10)\n\n1 (initial 1)\n\n", nil},
		{"blank lines between commands are skipped", "\nget weight web/web01\n\n\nget weight web/web02\n", false,
			"10 (initial 10)\n\n1 (initial 1)\n\n", nil},
		{"quit ends the line and the connection", "get weight web/web01;quit;set weight web/web01 1\nset weight web/web01 2\n", false,
			"10 (initial 10)\n\n", func(t *testing.T, src *Sources) {
				if w := src.Backends["web"].Server("web01").Weight(); w != 10 {
					t.Errorf("web01 weight %d after quit, want 10", w)
				}
			}},
		{"prompt mode prompts after every answer", "prompt\nget weight web/web01\nset weight web/web01 3;get weight web/web01\nquit\n", false,
			"\n> 10 (initial 10)\n\n> \n> 3 (initial 10)\n\n> ", nil},
		{"prompt mode prompts again after a blank line", "prompt\n\n  \nquit\n", false, "\n> \n> \n> ", nil},
		{"prompt mode ends at the end of input", "prompt;get weight web/web01", true, "\n> 10 (initial 10)\n\n> ", nil},
		{"prompt again leaves prompt mode and closes after its line", "prompt\nprompt;get weight web/web01\n", false,
			"\n> \n10 (initial 10)\n\n", nil},
		{"prompt and quit are in help", "help\n", false, "", func(t *testing.T, src *Sources) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A long idle deadline: a connection left open fails the
			// test at dialAPI's deadline instead of closing quietly.
			path, src := startSocket(t, config.LevelAdmin, time.Hour)
			got := exchange(t, path, tt.input, tt.halfClose)
			if tt.want != "" && got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if tt.want == "" && (!strings.Contains(got, "  prompt ") || !strings.Contains(got, "  quit ")) {
				t.Errorf("help: %q", got)
			}
			if tt.check != nil {
				tt.check(t, src)
			}
		})
	}
}

// readUntil reads from br until what it read ends with suffix.
func readUntil(t *testing.T, br *bufio.Reader, suffix string) string {
	t.Helper()
	var b strings.Builder
	for !strings.HasSuffix(b.String(), suffix) {
		c, err := br.ReadByte()
		if err != nil {
			t.Fatalf("waiting for %q: %v after %q", suffix, err, b.String())
		}
		b.WriteByte(c)
	}
	return b.String()
}

// clientReader reads a connection's answers until it ends, and lets the
// test wait until what was read satisfies a condition.
type clientReader struct {
	mu      sync.Mutex
	out     []byte
	err     error // how the reading ended: io.EOF for an end of file
	done    bool
	changed chan struct{}
}

func readAnswers(c net.Conn) *clientReader {
	r := &clientReader{changed: make(chan struct{}, 1)}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			r.mu.Lock()
			r.out = append(r.out, buf[:n]...)
			if err != nil {
				r.err, r.done = err, true
			}
			r.mu.Unlock()
			select {
			case r.changed <- struct{}{}:
			default:
			}
			if err != nil {
				return
			}
		}
	}()
	return r
}

// waitFor waits until ok holds for what was read and whether reading has
// ended, or fails the test after a bound only a hung server reaches.
func (r *clientReader) waitFor(t *testing.T, what string, ok func(out string, done bool) bool) {
	t.Helper()
	limit := time.After(30 * time.Second)
	for {
		r.mu.Lock()
		out, done := string(r.out), r.done
		r.mu.Unlock()
		if ok(out, done) {
			return
		}
		select {
		case <-r.changed:
		case <-limit:
			t.Fatalf("waiting for %s; have %q", what, out)
		}
	}
}

func (r *clientReader) result(t *testing.T) (string, error) {
	t.Helper()
	r.waitFor(t, "the end of the connection", func(_ string, done bool) bool { return done })
	r.mu.Lock()
	defer r.mu.Unlock()
	return string(r.out), r.err
}

// Without prompt mode, a line that arrives once the server has answered
// everything before it is never lost silently: it runs, or the client
// sees an error (its write fails, or it reads the answers and then a
// reset instead of an end of file), and the server logs what it did not
// run. The client is a script that does not half-close (nc -U) unless
// the case says. Which of the two happens depends on timing unless the
// case sets the grace to make it certain; that one of them does, does
// not.
func TestSocketLateLinesRunOrFail(t *testing.T) {
	lines := []string{"set weight web/web01 1\n", "set weight web/web01 2\n", "set weight web/web01 3\n", "get weight web/web01\n"}
	answers := []string{"\n", "\n", "\n", "3 (initial 10)\n\n"}
	paced := func(*testing.T, *clientReader, int) {
		// The pause is the scenario, a producer slower than the
		// server; nothing waits on it and no assertion depends on it.
		<-time.After(2 * time.Millisecond)
	}
	afterAnswer := func(t *testing.T, r *clientReader, i int) {
		r.waitFor(t, fmt.Sprintf("answer %d or the end", i), func(out string, done bool) bool {
			return done || out == strings.Join(answers[:i], "")
		})
	}
	tests := []struct {
		name  string
		grace time.Duration
		// before waits before line i (i > 0) is sent.
		before    func(t *testing.T, r *clientReader, i int)
		halfClose bool // after the last line
		wantRun   int  // how many lines must run; 0: any
	}{
		{"lines 2 ms apart", lateInputGrace, paced, false, 0},
		{"each line once the previous one is answered", lateInputGrace, afterAnswer, false, 0},
		{"a line within the grace runs, and the end of input ends the wait", time.Hour, afterAnswer, true, len(lines)},
		// The server reads nothing more once it has answered.
		{"without a grace, as in HAProxy, a late line fails visibly", 0, afterAnswer, false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func(g time.Duration) { lateInputGrace = g }(lateInputGrace)
			lateInputGrace = tt.grace // read once, by ListenSocket
			path, src, log := startSocketLogged(t, config.LevelAdmin, time.Hour)
			c := dialAPI(t, path)
			r := readAnswers(c)
			var writeErr error
			for i, line := range lines {
				if i > 0 {
					tt.before(t, r, i)
				}
				if _, writeErr = io.WriteString(c, line); writeErr != nil {
					break
				}
			}
			if tt.halfClose && writeErr == nil {
				writeErr = c.CloseWrite()
			}
			out, readErr := r.result(t)
			ran := 0
			for ran < len(answers) && strings.HasPrefix(out, strings.Join(answers[:ran+1], "")) {
				ran++
			}
			if out != strings.Join(answers[:ran], "") {
				t.Fatalf("answers %q are not whole answers to the lines in order", out)
			}
			if w := src.Backends["web"].Server("web01").Weight(); ran > 0 && w != min(ran, 3) {
				t.Errorf("weight %d after %d answers: a line ran without its answer, or the other way round", w, ran)
			}
			if tt.wantRun != 0 && ran != tt.wantRun {
				t.Fatalf("%d lines ran, want %d (write %v, read %v)", ran, tt.wantRun, writeErr, readErr)
			}
			reset := errors.Is(readErr, syscall.ECONNRESET)
			if ran == len(lines) {
				if readErr != io.EOF || writeErr != nil {
					t.Errorf("every line ran, yet the client saw write %v, read %v", writeErr, readErr)
				}
				return
			}
			if !reset && !errors.Is(writeErr, syscall.EPIPE) && !errors.Is(writeErr, syscall.ECONNRESET) {
				t.Fatalf("%d of %d lines ran and the client saw no error (write %v, read %v)", ran, len(lines), writeErr, readErr)
			}
			if reset && !strings.Contains(log.String(), " bytes arrived after the last answer and were not run") {
				t.Errorf("the client was reset, and the log does not say why: %q", log.String())
			}
		})
	}
}

// Input the server has not read when it closes is not run, and the
// client learns it: it reads the answers, then a reset instead of an end
// of file, and the server logs how much. One write of more than the
// server's reader holds leaves the rest in the socket, deterministically.
func TestSocketUnreadInputAtCloseResetsTheClient(t *testing.T) {
	path, src, log := startSocketLogged(t, config.LevelAdmin, time.Hour)
	c := dialAPI(t, path)
	input := "get weight web/web01;quit\n" + strings.Repeat("set weight web/web01 1\n", 400)
	if _, err := io.WriteString(c, input); err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(c)
	if string(out) != "10 (initial 10)\n\n" || !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("read %q, %v; want the answer, then a reset", out, err)
	}
	if w := src.Backends["web"].Server("web01").Weight(); w != 10 {
		t.Errorf("weight %d: a line after quit ran", w)
	}
	want := fmt.Sprintf(" %d bytes followed 'quit' and were not run", len(input)-MaxCommandLine)
	if !strings.Contains(log.String(), want) {
		t.Errorf("log %q, want %q", log.String(), want)
	}
}

// In prompt mode the connection waits for the next command, however long
// the client takes within the idle deadline, as a person typing does.
func TestSocketPromptWaitsForTheNextCommand(t *testing.T) {
	path, src := startSocket(t, config.LevelAdmin, time.Hour)
	c := dialAPI(t, path)
	br := bufio.NewReader(c)
	io.WriteString(c, "prompt\n")
	if got := readUntil(t, br, "> "); got != "\n> " {
		t.Fatalf("first prompt %q", got)
	}
	for _, w := range []string{"7", "8", "9"} {
		// Each command is sent only once the previous answer is read:
		// nothing is pending, and the connection must stay open.
		io.WriteString(c, "set weight web/web01 "+w+"\nget weight web/web01\n")
		if got, want := readUntil(t, br, w+" (initial 10)\n\n> "), "\n> "+w+" (initial 10)\n\n> "; got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	io.WriteString(c, "quit\n")
	if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
		t.Fatalf("after quit: %q, %v", rest, err)
	}
	if w := src.Backends["web"].Server("web01").Weight(); w != 9 {
		t.Errorf("weight %d, want 9", w)
	}
}

// A line the idle deadline cuts is not run: its end may be missing.
func TestSocketHalfLineAtTimeoutIsNotRun(t *testing.T) {
	path, src := startSocket(t, config.LevelAdmin, 20*time.Millisecond)
	c := dialAPI(t, path)
	io.WriteString(c, "set weight web/web01 1") // "00" never comes
	if got, err := io.ReadAll(c); err != nil || len(got) != 0 {
		t.Fatalf("read %q, %v; want an end of file", got, err)
	}
	if w := src.Backends["web"].Server("web01").Weight(); w != 10 {
		t.Fatalf("weight %d: the cut line ran", w)
	}
}

// A connection runs at most socketMaxCommands commands, then says so and
// is closed. (Prompt mode keeps the connection open however the client's
// writes arrive; "prompt" is a command too.)
func TestSocketCommandsPerConnectionAreBounded(t *testing.T) {
	path, _ := startSocket(t, config.LevelAdmin, time.Hour)
	c := dialAPI(t, path)
	const perLine = 100
	line := strings.Repeat("get weight web/web01;", perLine-1) + "get weight web/web01\n"
	sent := make(chan error, 1)
	go func() {
		_, err := io.WriteString(c, "prompt\n")
		for n := 0; n <= socketMaxCommands && err == nil; n += perLine {
			_, err = io.WriteString(c, line)
		}
		sent <- err
	}()
	out, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	answer := "10 (initial 10)\n\n> "
	tooMany := "Too many commands on one connection (at most 10000): connect again.\n\n"
	if want := "\n> " + strings.Repeat(answer, socketMaxCommands-1) + tooMany; string(out) != want {
		t.Fatalf("%d bytes, %d answers, ending %q", len(out), strings.Count(string(out), answer), out[max(0, len(out)-100):])
	}
	<-sent // the server may have closed while the client still sent: any error
}

// Lines without a command count against the bound too, without prompt
// mode as with it: a client streaming them cannot hold its connection,
// and a 'stats maxconn' slot, for as long as it sends.
func TestSocketEveryLineCountsAgainstTheBound(t *testing.T) {
	tooMany := "Too many commands on one connection (at most 10000): connect again.\n\n"
	for _, tt := range []struct {
		name  string
		first string // sent once, before the lines
		line  string
		want  string
	}{
		{"blank lines", "", "\n", tooMany},
		{"bare ';'", "", ";\n", tooMany},
		{"only spaces and ';'", "", " ; \t;\r\n", tooMany},
		{"commands and blank lines", "", "\nget weight web/web01\n", strings.Repeat("10 (initial 10)\n\n", socketMaxCommands/2) + tooMany},
		{"blank lines at the prompt", "prompt\n", "\n", "\n> " + strings.Repeat("\n> ", socketMaxCommands-1) + tooMany},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path, _ := startSocket(t, config.LevelAdmin, time.Hour)
			c := dialAPI(t, path)
			sent := make(chan error, 1)
			go func() {
				// More lines than the bound, and then some: the
				// server must close however many more come.
				_, err := io.WriteString(c, tt.first+strings.Repeat(tt.line, socketMaxCommands+100))
				sent <- err
			}()
			out, err := io.ReadAll(c)
			if err != nil {
				t.Fatalf("%v after %d bytes", err, len(out))
			}
			if string(out) != tt.want {
				t.Fatalf("%d bytes, ending %q; want %d bytes, ending %q", len(out), out[max(0, len(out)-100):], len(tt.want), tt.want[max(0, len(tt.want)-100):])
			}
			<-sent // the server may have closed while the client still sent: any error
		})
	}
}

// FuzzReadLine: lines are never longer than the limit, and without a
// line over the limit, the lines joined by "\n" are the input with its
// "\r\n" made "\n".
func FuzzReadLine(f *testing.F) {
	for _, s := range []string{"", "\n", "a\nb", "a\r\nb\r\n", "a\r", "\r\r\n", strings.Repeat("x", MaxCommandLine) + "\r\n", strings.Repeat("x", MaxCommandLine+1)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, input string) {
		br := bufio.NewReaderSize(strings.NewReader(input), 512)
		var lines []string
		for {
			line, err := readLine(br)
			if errors.Is(err, errLineTooLong) {
				return
			}
			if len(line) > MaxCommandLine {
				t.Fatalf("a line of %d bytes", len(line))
			}
			lines = append(lines, line)
			if err != nil {
				break
			}
		}
		if got, want := strings.Join(lines, "\n"), strings.ReplaceAll(input, "\r\n", "\n"); got != want {
			t.Fatalf("lines %q join to %q, want %q", lines, got, want)
		}
	})
}

// FuzzExec: no command, however malformed, panics or answers with an
// empty line inside (which would break the socket's framing).
func FuzzExec(f *testing.F) {
	for _, s := range []string{"help", "show stat", "show info", "get weight web/web01", "set weight web/web01 50%",
		"set server web/web01 state drain", "show servers state web", "prompt", "quit", "\x00", "set weight / 1",
		"show stat typed", "show stat json up", "show stat web 4 -1 typed", "show stat domain proxy -1 -1 -1 no-maint"} {
		f.Add(s)
	}
	api := &API{Src: testSources(f), Level: config.LevelAdmin}
	f.Fuzz(func(t *testing.T, cmd string) {
		a := api.Exec(cmd)
		if a != "" && (!strings.HasSuffix(a, "\n") || strings.HasPrefix(a, "\n") || strings.Contains(a, "\n\n")) {
			t.Fatalf("Exec(%q) = %q", cmd, a)
		}
	})
}

// Closing the socket (a stop, a reload) ends the connections still open,
// a prompt-mode one included, instead of waiting for their idle deadline.
func TestSocketCloseEndsOpenConnections(t *testing.T) {
	src := testSources(t)
	src.Config.Global.StatsTimeout = time.Hour
	s, err := ListenSocket(src, config.StatsSocket{Path: filepath.Join(t.TempDir(), "api.sock"), Level: config.LevelAdmin}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := dialAPI(t, s.conf.Path)
	br := bufio.NewReader(c)
	io.WriteString(c, "prompt\n")
	readUntil(t, br, "\n> ")
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
		t.Errorf("after Close: %q, %v; want an end of file", rest, err)
	}
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Close waits for the open connection")
	}
}
