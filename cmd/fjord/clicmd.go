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
1 if SOCKET cannot be reached or the connection fails, 2 for a usage
error. Typing at a prompt needs a longer 'stats timeout' than the 10 s
default, which closes a silent connection.
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
// sent, and neither side must wait for the other to read.
func cliExchange(c *net.UnixConn, input string, stdout io.Writer) error {
	sent := make(chan error, 1)
	go func() {
		_, err := io.WriteString(c, input)
		if err == nil {
			err = c.CloseWrite()
		}
		sent <- err
	}()
	_, err := io.Copy(stdout, c)
	if err != nil {
		return fmt.Errorf("reading the answers: %w", err)
	}
	// The server may close before reading everything (after "quit", or
	// a line too long, whose answer says so): that is not an error here.
	if err := <-sent; err != nil && !errors.Is(err, syscall.EPIPE) && !errors.Is(err, syscall.ECONNRESET) {
		return fmt.Errorf("sending the commands: %w", err)
	}
	return nil
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
	out := &lastByteWriter{w: stdout, last: '\n'}
	_, err := io.Copy(out, c)
	if out.last != '\n' {
		fmt.Fprintln(stdout) // the last prompt: leave the shell's on a line of its own
	}
	if err != nil {
		return fmt.Errorf("reading the answers: %w", err)
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

// lastByteWriter remembers the last byte written through it.
type lastByteWriter struct {
	w    io.Writer
	last byte
}

func (l *lastByteWriter) Write(p []byte) (int, error) {
	n, err := l.w.Write(p)
	if n > 0 {
		l.last = p[n-1]
	}
	return n, err
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
