package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fjordlb/fjord/stats"
)

const cliUsage = `usage: fjord cli SOCKET [COMMAND...]

Talks to fjord's runtime API on SOCKET (a 'stats socket' of the global
section), so that a machine without socat can use it.

  fjord cli SOCKET COMMAND...   send the words as one line ("show stat",
                                "show info;show stat") and print the answers
  fjord cli SOCKET              at a terminal: prompt mode; type commands,
                                end with 'quit' or Ctrl-D
  ... | fjord cli SOCKET        otherwise: send standard input's lines at
                                once and print every answer, as
                                'socat stdio unix:SOCKET' does

Each answer ends with an empty line. Exit 0 once the answers are printed,
even when one is an error ("Unknown command"), as with socat; 1 if SOCKET
cannot be reached, the connection fails, fjord refused part of the input
("Line too long", "Too many commands": what it refused and what follows
were not run), or it closed before reading every command (unless the
input asked to quit); 2 for a usage error. Typing at a prompt needs a
longer 'stats timeout' than the 10 s default, which closes a silent
connection.
`

// cliMaxInput bounds what is read from standard input before sending it.
// It is what fjord's socket discards at most after refusing a line, and
// far more than the 10000 commands a connection may run.
const cliMaxInput = 16 << 20

// cliDialTimeout bounds connecting: a Unix socket answers at once unless
// its accept queue is full.
const cliDialTimeout = 10 * time.Second

// runCLI is 'fjord cli ...'; args follow the word cli.
func runCLI(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
		fmt.Fprint(stderr, cliUsage)
		return 0
	}
	if len(args) == 0 || args[0] == "" {
		fmt.Fprintln(stderr, "fjord cli: say which socket (the path of a 'stats socket')")
		fmt.Fprint(stderr, cliUsage)
		return 2
	}
	path, words := args[0], args[1:]
	var input string
	interactive := false
	switch {
	case len(words) > 0:
		input = strings.Join(words, " ") + "\n"
	case isTerminal(stdin):
		interactive = true
	default:
		b, err := io.ReadAll(io.LimitReader(stdin, cliMaxInput+1))
		if err != nil {
			fmt.Fprintf(stderr, "fjord cli: reading standard input: %v\n", err)
			return 1
		}
		if len(b) > cliMaxInput {
			fmt.Fprintf(stderr, "fjord cli: standard input holds more than %d MiB of commands; send them in parts\n", cliMaxInput>>20)
			return 1
		}
		input = string(b)
	}
	c, err := dialAPI(path)
	if err != nil {
		fmt.Fprintf(stderr, "fjord cli: %v\n", err)
		return 1
	}
	defer c.Close()
	if interactive {
		err = cliInteractive(c, stdin, stdout)
	} else {
		err = cliExchange(c, input, stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "fjord cli: %s: %v\n", path, err)
		return 1
	}
	return 0
}

// dialAPI connects to the runtime API at path; its error names the
// socket and says what usually causes it.
func dialAPI(path string) (*net.UnixConn, error) {
	c, err := net.DialTimeout("unix", path, cliDialTimeout)
	if err == nil {
		return c.(*net.UnixConn), nil
	}
	hint := ""
	fi, serr := os.Stat(path)
	switch {
	case serr == nil && fi.Mode()&os.ModeSocket == 0:
		hint = ": not a socket; give the path of a 'stats socket'"
	case errors.Is(err, syscall.ENOENT):
		hint = ": no such socket; is fjord running with 'stats socket " + path + "' in its global section?"
	case errors.Is(err, syscall.ECONNREFUSED):
		hint = ": nothing serves it (is fjord running, or is this a socket a stopped process left?)"
	case errors.Is(err, syscall.EACCES):
		hint = ": permission denied; the socket's 'mode' and owner decide who may use it (run as fjord's user, or root)"
	}
	return nil, fmt.Errorf("cannot connect to the runtime API at %s: %w%s", path, err, hint)
}

// cliExchange sends input, tells the server it is all (half-close), and
// copies the answers to stdout until the server closes. It writes while
// it reads: an input with many commands gets answers before it is all
// sent, and neither side must wait for the other to read. An answer that
// refuses part of the input is an error.
func cliExchange(c *net.UnixConn, input string, stdout io.Writer) error {
	sent := make(chan error, 1)
	go func() {
		_, err := io.WriteString(c, input)
		if err == nil {
			err = c.CloseWrite()
		}
		sent <- err
	}()
	out := &tailWriter{w: stdout}
	_, readErr := io.Copy(out, c)
	// A server that closes without reading everything resets the
	// connection (ECONNRESET after the answers) or fails the writes that
	// follow (EPIPE). After a refusal or "quit", that is expected, and
	// the refusal is reported; otherwise the commands after the last
	// answer were not run, and the user must know.
	closedEarly := errors.Is(readErr, syscall.ECONNRESET)
	if readErr != nil && !closedEarly {
		return fmt.Errorf("reading the answers: %w", readErr)
	}
	sendErr := <-sent
	if errors.Is(sendErr, syscall.EPIPE) || errors.Is(sendErr, syscall.ECONNRESET) {
		closedEarly, sendErr = true, nil
	}
	if sendErr != nil {
		return fmt.Errorf("sending the commands: %w", sendErr)
	}
	if err := out.refusal(input); err != nil {
		return err
	}
	if closedEarly && !sendsQuit(input) {
		return errors.New("the runtime API closed the connection before it had read every command: those after the last answer were not run (its log says how many bytes)")
	}
	return nil
}

// sendsQuit reports whether input holds a "quit" command, after which
// the server closes without running the rest.
func sendsQuit(input string) bool {
	for _, line := range strings.Split(input, "\n") {
		for _, cmd := range strings.Split(line, ";") {
			if f := strings.Fields(cmd); len(f) > 0 && f[0] == "quit" {
				return true
			}
		}
	}
	return false
}

// cliInteractive enters prompt mode and copies lines from stdin to the
// server and everything the server sends to stdout, until the server
// closes: after "quit", or once stdin's end was passed on.
func cliInteractive(c *net.UnixConn, stdin io.Reader, stdout io.Writer) error {
	if _, err := io.WriteString(c, "prompt\n"); err != nil {
		return fmt.Errorf("entering prompt mode: %w", err)
	}
	var ended atomic.Bool // the user asked for the end: quit, prompt, end of input
	go func() {
		br := bufio.NewReader(stdin)
		for {
			line, err := br.ReadString('\n')
			if asksToEnd(line) {
				ended.Store(true)
			}
			if line != "" {
				if _, werr := io.WriteString(c, line); werr != nil {
					return
				}
			}
			if err != nil {
				ended.Store(true)
				c.CloseWrite()
				return
			}
		}
	}()
	out := &tailWriter{w: stdout}
	_, err := io.Copy(out, c)
	if t := out.tail; len(t) > 0 && t[len(t)-1] != '\n' {
		fmt.Fprintln(stdout) // the last prompt: leave the shell's on a line of its own
	}
	if err != nil {
		return fmt.Errorf("reading the answers: %w", err)
	}
	if err := out.refusal(""); err != nil {
		return err
	}
	if !ended.Load() {
		return errors.New("the runtime API closed the connection (after 'stats timeout' without a command? raise it in the global section to type at a prompt)")
	}
	return nil
}

// asksToEnd reports whether a line holds "quit" or "prompt", after which
// the server closes the connection.
func asksToEnd(line string) bool {
	for _, cmd := range strings.Split(line, ";") {
		if f := strings.Fields(cmd); len(f) > 0 && (f[0] == "quit" || f[0] == "prompt") {
			return true
		}
	}
	return false
}

// cliTail is how much of the answers tailWriter keeps: more than the
// server's refusals, which are one short line.
const cliTail = 512

// tailWriter passes writes on and keeps the last cliTail bytes.
type tailWriter struct {
	w     io.Writer
	tail  []byte
	total int64 // bytes written
}

func (t *tailWriter) Write(p []byte) (int, error) {
	n, err := t.w.Write(p)
	t.total += int64(n)
	t.tail = append(t.tail, p[:n]...)
	if len(t.tail) > cliTail {
		t.tail = append(t.tail[:0], t.tail[len(t.tail)-cliTail:]...)
	}
	return n, err
}

// refusal returns an error when the last answer refuses input, after
// which the server closes, naming what it refused; nil otherwise. input
// is what was sent, when known, to name the line refused. Ordinary
// errors ("Unknown command") are not refusals: the lines after them ran.
func (t *tailWriter) refusal(input string) error {
	last := strings.TrimSuffix(string(t.tail), "\n")
	if i := strings.LastIndex(last, "\n\n"); i >= 0 {
		last = last[i+2:]
	} else if t.total > int64(len(t.tail)) {
		return nil // one answer longer than the tail: not a refusal
	}
	last = strings.TrimPrefix(last, "> ") // the prompt before it
	answer, _, _ := strings.Cut(last, "\n")
	switch {
	case strings.HasPrefix(answer, stats.AnswerLineTooLong):
		what := "a line"
		if n, size := firstLongLine(input); n > 0 {
			what = fmt.Sprintf("line %d of the input (%d bytes)", n, size)
		}
		return fmt.Errorf("%s was refused (%q): it and the lines after it were not run", what, answer)
	case strings.HasPrefix(answer, stats.AnswerTooManyCommands):
		return fmt.Errorf("the rest of the input was refused (%q): the commands from there on were not run; send them in parts", answer)
	}
	return nil
}

// firstLongLine returns the number and size of input's first line over
// the runtime API's limit, as the server counts it (without "\n" or
// "\r\n"), or 0.
func firstLongLine(input string) (n, size int) {
	for i, line := range strings.Split(input, "\n") {
		if l := len(strings.TrimSuffix(line, "\r")); l > stats.MaxCommandLine {
			return i + 1, l
		}
	}
	return 0, 0
}

// isTerminal reports whether r is a terminal.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
